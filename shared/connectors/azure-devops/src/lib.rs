//! Azure DevOps work item tracking 7.1 connector: client, config, wire models, conversion, service hook
//! verification.
//!
//! ```no_run
//! # fn build() -> Result<(), Box<dyn std::error::Error>> {
//! use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector, RetryPolicy};
//! use tandem_model::{Credentials, SecretString};
//!
//! let config = AzureDevopsConfig {
//!     organization_url: "https://dev.azure.com/fabrikam".into(),
//!     project: "Fabrikam".into(),
//!     work_item_type: "Bug".into(),
//!     identities_url: None,
//! }
//! .validate()?;
//! let credentials = Credentials::AzureDevopsPat { pat: SecretString::new("…") };
//! let connector = AzureDevopsConnector::new(config, &credentials, RetryPolicy::default())?;
//! # Ok(()) }
//! ```

mod attachments;
pub mod client;
pub mod config;
pub mod connector;
pub mod convert;
pub mod copy;
#[cfg(feature = "simulator")]
mod local;
mod system;
pub mod webhook;
pub mod wire;

pub use client::AzureDevopsClient;
pub use config::{AzureDevopsConfig, ConfigError, ValidAzureDevopsConfig};
pub use connector::AzureDevopsConnector;
pub use convert::ConvertError;
pub use system::AzureDevopsSystem;
pub use tandem_http::{Repeat, RetryPolicy};
pub use webhook::AzureDevopsWebhookReceiver;

use tandem_model::{RichTextFormat, SystemInfo, SystemKind};

/// Azure DevOps Services: its kind of system, as the engine and the mapping know it.
pub const AZURE_DEVOPS: SystemKind = SystemKind::new(&SystemInfo {
    slug: "azure-devops",
    display_name: "Azure DevOps",
    rich_text_format: RichTextFormat::Html,
    comment_format: RichTextFormat::Html,
    change_instants: tandem_model::InstantPrecision::Millisecond,
});
