//! tandem's sync engine.
pub mod ports;
