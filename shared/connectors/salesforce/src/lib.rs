//! Salesforce connector: one sObject type (`Case` by default) of one org as a side of an integration,
//! through the REST API, authenticated as a dedicated integration user with OAuth 2.0 (JWT bearer or
//! client credentials). Records are read whole (`GET /sobjects/{Object}/{Id}`), polled by
//! `SystemModstamp` with SOQL, created idempotently by upsert on an External ID field that carries the
//! copy's origin, and their comments (CaseComment) synced with `IsPublished` as their visibility.
//! Outbound Messages (SOAP) are the webhooks.

mod auth;
pub mod client;
pub mod config;
pub mod connector;
pub mod convert;
mod describe;
#[cfg(feature = "simulator")]
mod local;
mod soql;
mod system;
pub mod webhook;

pub use client::SalesforceClient;
pub use config::{SalesforceConfig, SalesforceConfigError, ValidSalesforceConfig};
pub use connector::SalesforceConnector;
pub use system::SalesforceSystem;
pub use webhook::OutboundMessageReceiver;

use tandem_model::{InstantPrecision, RichTextFormat, SystemInfo, SystemKind};

/// Salesforce: its kind of system, as the engine and the mapping know it. Text areas are plain text;
/// change instants (`SystemModstamp`) are whole seconds.
pub const SALESFORCE: SystemKind = SystemKind::new(&SystemInfo {
    slug: "salesforce",
    display_name: "Salesforce",
    rich_text_format: RichTextFormat::PlainText,
    comment_format: RichTextFormat::Html,
    change_instants: InstantPrecision::Second,
});
