//! The polling function: an EventBridge schedule runs [`tandem_lambda_runtime::run_poll`] until just
//! before the invocation's timeout.

pub mod handler;
