//! Measurements of tandem's AWS Lambda functions on one machine: the size of their release binaries,
//! their cold start (exec to the first answer) and their peak memory, run as Lambda runs a custom
//! runtime — a new process polling an emulated Runtime API — against moto's DynamoDB and Secrets
//! Manager and the Jira and Azure DevOps simulators.
//!
//! The `function-bench` binary runs the scenarios; see the crate's README for how.

pub mod aws_relay;
pub mod backfill_memory;
pub mod emulator;
mod error;
pub mod events;
pub mod figures;
pub mod function;
pub mod sync;
pub mod targets;
pub mod world;

pub use error::BenchError;
