//! What tandem's AWS Lambda functions share, so their handlers stay thin.
//!
//! A [`Runtime`] is built once per container (cold start): the DynamoDB store, secrets from Secrets
//! Manager behind a TTL cache, and one engine per active integration of the registry, built on first
//! use. [`handle_webhook`] answers one webhook delivery, [`run_poll`] runs one scheduled poll; both
//! stop at a deadline and leave what they could not finish recorded for the next poll.
//!
//! [`wiring`] and [`WebhookAnswer`] are shared with `tandem serve`, so the local run and the functions
//! build connectors and answer senders the same way.

mod answer;
mod deadline;
mod error;
mod logs;
pub mod metrics;
mod poll;
mod process;
mod rotation;
mod runtime;
mod webhook;
pub mod wiring;

pub use answer::{WebhookAnswer, MAX_WEBHOOK_BODY};
pub use deadline::{deadline, poll_deadline, INVOCATION_MARGIN, POLL_MARGIN, WEBHOOK_WORK_LIMIT};
pub use error::RuntimeError;
pub use logs::{init_json_logs, json_lines};
pub use poll::{run_poll, PollSummary};
pub use process::run_main;
pub use rotation::{RotatingConnector, RotatingReceiver, SecretCache};
pub use runtime::{Runtime, ServedIntegration, Unserved, SECRET_PREFIX_VARIABLE, SECRET_TTL, TABLE_VARIABLE};
pub use tandem_engine::ports::WebhookRequest;
pub use webhook::{handle_webhook, side_named};
