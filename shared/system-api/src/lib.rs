//! What a work-item system provides to plug into tandem, in one trait: [`System`].
//!
//! A system is one crate (its connector, webhook receiver, configuration rules and, for local runs, its
//! simulator) that implements [`System`] once; the systems' registry lists the implementations, and the
//! CLI, the Lambda functions and the configuration loader iterate over that list. Nothing else names a
//! system, so the next one is a crate and a line in the registry.

use async_trait::async_trait;
use std::sync::Arc;
use tandem_engine::ports::{Connector, ConnectorError, WebhookReceiver};
use tandem_mapping::{SideConfig, SystemRules};
use tandem_model::{Credentials, FieldMap, SystemKind};

pub use tandem_http::RetryPolicy;

/// Why a side's connector or receiver could not be built from its settings and secrets.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The side's settings cannot be used (the configuration has to change).
    #[error("{0}")]
    Settings(String),
    /// The secret holds another kind of credentials than the system takes.
    #[error("the secret holds `{found}` credentials; {system} takes `{expected}`")]
    WrongCredentials { system: &'static str, expected: &'static str, found: &'static str },
    #[error(transparent)]
    Connector(Box<ConnectorError>),
}

impl From<ConnectorError> for BuildError {
    fn from(error: ConnectorError) -> Self {
        BuildError::Connector(Box::new(error))
    }
}

impl BuildError {
    /// Only a connector that could not reach its system may build next time as it is.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BuildError::Connector(error) if error.is_retryable())
    }
}

/// One kind of work-item system, as tandem runs it.
pub trait System: SystemRules {
    /// The connector of a side, authenticated as its service account. `base_url` is where the system
    /// answers: the configured `base_url`, or the address of the simulator a local run started.
    fn connector(
        &self,
        side: &SideConfig,
        base_url: &str,
        credentials: &Credentials,
        retry: RetryPolicy,
    ) -> Result<Arc<dyn Connector>, BuildError>;

    /// The receiver of a side's webhooks, verifying each delivery against `secret` (which the caller has
    /// checked is not empty).
    fn receiver(&self, side: &SideConfig, secret: Credentials) -> Result<Arc<dyn WebhookReceiver>, BuildError>;

    /// Whether the system's webhook sender delivers a notice again after this answer status, as its
    /// documentation says. Any other answer but a 2xx loses the notice or counts against the
    /// subscription (Azure DevOps puts it on probation, then disables it), so tandem asks for a retry
    /// only with a status every system retries.
    fn sender_retries(&self, status: u16) -> bool;

    /// The bundled simulator local runs start for a side with `simulator: true`; `None` in builds
    /// without simulators (the Lambda functions).
    fn local_simulator(&self) -> Option<&dyn LocalSimulator> {
        None
    }
}

/// A system's own check of a side, as the side's problems: none, or the one at the key the error
/// concerns.
pub fn side_problems<E: std::fmt::Display>(
    checked: Result<impl Sized, E>,
    key_of: impl FnOnce(&E) -> &'static str,
) -> Vec<tandem_mapping::SideProblem> {
    match checked {
        Ok(_) => Vec::new(),
        Err(error) => vec![tandem_mapping::SideProblem::new(key_of(&error), error.to_string())],
    }
}

/// Refuses credentials of another kind than the `expected` one.
pub fn expect_credentials(
    system: SystemKind,
    expected: &'static str,
    credentials: &Credentials,
) -> Result<(), BuildError> {
    match credentials_kind(credentials) == expected {
        true => Ok(()),
        false => Err(wrong_credentials(system, expected, credentials)),
    }
}

/// The refusal of `found` credentials where the system takes the `expected` kind.
pub fn wrong_credentials(system: SystemKind, expected: &'static str, found: &Credentials) -> BuildError {
    BuildError::WrongCredentials { system: system.display_name(), expected, found: credentials_kind(found) }
}

/// The `kind` of a secret's credentials, as written in the secret's JSON.
pub fn credentials_kind(credentials: &Credentials) -> &'static str {
    match credentials {
        Credentials::JiraApiToken { .. } => "jira-api-token",
        Credentials::AzureDevopsPat { .. } => "azure-devops-pat",
        Credentials::WebhookHmac { .. } => "webhook-hmac",
        Credentials::WebhookBasic { .. } => "webhook-basic",
        Credentials::SalesforceJwtBearer { .. } => "salesforce-jwt-bearer",
        Credentials::SalesforceClientCredentials { .. } => "salesforce-client-credentials",
        Credentials::WebhookUrlToken { .. } => "webhook-url-token",
    }
}

/// A failure to start a simulator.
pub type SimulatorError = Box<dyn std::error::Error + Send + Sync>;

/// Starts a system's bundled simulator for a local run.
#[async_trait]
pub trait LocalSimulator: Send + Sync {
    /// A simulator holding the side's project (and another one, whose items the integration must leave
    /// alone), with the side's item type.
    async fn start(&self, side: &SideConfig) -> Result<Box<dyn RunningSimulator>, SimulatorError>;

    /// The project and item type of the simulator's sample data (as `examples/local.yaml` has them).
    fn sample_place(&self) -> (&'static str, &'static str);
}

/// A simulator started for one side of a local run.
#[async_trait]
pub trait RunningSimulator: Send + Sync {
    /// Where the connector reaches it.
    fn base_url(&self) -> String;

    /// The running simulator itself (a type of the simulators crate), for tests and benchmarks that
    /// drive it directly: its faults, its people, its clock.
    fn as_any(&self) -> &dyn std::any::Any;

    /// The credentials of its service account, which the side's connector uses.
    fn service_credentials(&self) -> Credentials;

    /// The credentials of a person working in it (the demo acts as them).
    fn person_credentials(&self) -> Credentials;

    /// The side's settings a person's own client uses instead of the integration's, as `(key, value)`
    /// (a support agent publishes the Case comments they write; the integration does not).
    fn person_settings(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// The webhook secret, in this system's kind, for a shared `secret` generated by the local run.
    fn webhook_credentials(&self, secret: &str) -> Credentials;

    /// Sends its webhooks to `url`, authenticated with the shared `secret`.
    fn subscribe_webhooks(&self, url: &str, secret: &str);

    /// The fields of a sample item a person would create (the demo creates it), in the system's ids.
    fn sample_item(&self) -> FieldMap;

    /// The requests and answers so far that left the vendor's contract, described.
    fn contract_violations(&self) -> Vec<String>;

    async fn stop(self: Box<Self>);
}
