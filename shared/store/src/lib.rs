//! Embedded, file-backed store implementing the engine's store traits (`LinkStore`, `WatermarkStore`,
//! `SyncLog`) on one redb file, for `tandem serve` and tests.
//!
//! With the `conformance` feature, [`conformance`] holds the checks every store implementation must
//! pass; the DynamoDB store runs the same ones.

mod error;
pub mod intercept;
mod links;
mod store;
mod sync_log;
mod tables;
mod watermarks;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use store::EmbeddedStore;
