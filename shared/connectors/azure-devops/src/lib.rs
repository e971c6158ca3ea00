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

pub mod client;
pub mod config;
pub mod connector;
pub mod convert;
pub mod copy;
pub mod webhook;
pub mod wire;

pub use client::{AzureDevopsClient, RetryPolicy};
pub use config::{AzureDevopsConfig, ConfigError, ValidAzureDevopsConfig};
pub use connector::AzureDevopsConnector;
pub use convert::ConvertError;
pub use webhook::AzureDevopsWebhookReceiver;
