//! Jira Cloud REST v3 connector: client, config, wire models, conversion, webhook verification.
//!
//! [`JiraConnector`] implements the engine's [`Connector`](tandem_engine::ports::Connector) port for one
//! project and issue type; [`JiraWebhookReceiver`] implements
//! [`WebhookReceiver`](tandem_engine::ports::WebhookReceiver) for Jira's admin webhooks.

mod changes;
mod client;
mod config;
mod connector;
mod convert;
mod error;
mod origin;
mod webhook;
pub mod wire;

pub use client::{JiraClient, Repeat, RetryPolicy};
pub use config::{JiraConfig, JiraConfigError, ValidJiraConfig};
pub use connector::JiraConnector;
pub use convert::{fields_to_wire, item_from_wire, parse_jira_time, FieldWrites};
pub use origin::ORIGIN_PROPERTY;
pub use webhook::JiraWebhookReceiver;
