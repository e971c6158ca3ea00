//! Jira Cloud REST v3 connector: client, config, wire models, conversion, webhook verification.
//!
//! [`JiraConnector`] implements the engine's [`Connector`](tandem_engine::ports::Connector) port for one
//! project and issue type; [`JiraWebhookReceiver`] implements
//! [`WebhookReceiver`](tandem_engine::ports::WebhookReceiver) for Jira's admin webhooks.

mod attachments;
mod changes;
mod client;
mod config;
mod connector;
mod convert;
mod error;
#[cfg(feature = "simulator")]
mod local;
mod origin;
mod system;
mod webhook;
pub mod wire;

pub use client::JiraClient;
pub use config::{JiraConfig, JiraConfigError, ValidJiraConfig};
pub use connector::JiraConnector;
pub use convert::{fields_to_wire, item_from_wire, parse_jira_time, FieldWrites};
pub use origin::ORIGIN_PROPERTY;
pub use system::JiraSystem;
pub use tandem_http::{Repeat, RetryPolicy};
pub use webhook::JiraWebhookReceiver;

use tandem_model::{RichTextFormat, SystemInfo, SystemKind};

/// Jira Cloud: its kind of system, as the engine and the mapping know it.
pub const JIRA: SystemKind = SystemKind::new(&SystemInfo {
    slug: "jira",
    display_name: "Jira",
    rich_text_format: RichTextFormat::Adf,
    comment_format: RichTextFormat::Adf,
    change_instants: tandem_model::InstantPrecision::Millisecond,
});
