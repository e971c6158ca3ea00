//! tandem's sync engine: one engine for webhooks and polling, for every pair of systems.
//!
//! It depends only on the small traits in [`ports`]; connectors, stores and secret sources are
//! adapters in their own crates, and the binaries (`tandem`, the Lambda functions) wire them together.
//!
//! How a change is synced (see [`Engine::sync_item`]): the engine reads the item's current state (a
//! webhook is a notice, never the truth), finds its link, and either creates the copy (claiming the
//! creation first so concurrent workers cannot both create it) or merges three ways: each side's current
//! value is compared with the value it had at the last sync, only fields that changed are written, a
//! field changed on both sides goes to the conflict policy, and a write that would change nothing is
//! never sent. That comparison is what stops loops: the integration's own writes leave both sides equal
//! to their snapshots, so the echo they cause finds nothing to do.

mod attachments;
mod audit;
pub mod backfill;
mod comments;
mod compare;
pub mod crash;
pub mod deadline;
mod engine;
mod error;
pub mod history;
mod images;
mod ingest;
mod marks;
mod merge;
pub mod pace;
mod parts;
pub mod plan;
mod poll;
pub mod ports;
pub mod tally;
mod update;
mod users;

pub use audit::{FieldDifference, LinkAudit};
pub use engine::{Engine, EngineStores, SyncOutcome};
pub use error::SyncError;
pub use ingest::DeliveryOutcome;
pub use poll::{unpark_failure, FailureRetryReport, PollReport, RetryPolicy};
