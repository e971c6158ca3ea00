//! `sync-bench`: what tandem costs per synced change, how fast a webhook reaches the other side, and
//! how fast a backfill runs under a vendor's quota, measured against the Jira and Azure DevOps
//! simulators with the local example integration (`examples/local.yaml`).
//!
//! - [`per_change`]: API, store and DynamoDB calls per change kind and direction, next to the minimum;
//! - [`latency`]: delivery arrival to target written, split into HTTP, store and engine time;
//! - [`backfill`]: items per second of a poll-driven backfill, and its share of a quota's ceiling;
//! - [`cost`]: dollars per million changes from those figures and list prices.
//!
//! The engine runs on a [`counting_store::CountingStore`] (over redb, or over DynamoDB whose client
//! carries a [`dynamo_calls::DynamoCalls`] interceptor), and webhooks reach it through the bench's
//! timed [`endpoint`].

pub mod backfill;
pub mod cost;
pub mod counting_store;
pub mod dynamo_calls;
pub mod endpoint;
mod error;
pub mod latency;
pub mod log_bytes;
pub mod people;
pub mod per_change;
pub mod report;
pub mod stats;
pub mod world;

pub use error::SyncBenchError;
