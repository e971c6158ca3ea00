//! Turns a validated integration configuration and a secret source into running parts: each side's
//! connector and webhook receiver. Shared by `tandem serve` and the Lambda functions, so both talk to
//! the systems the same way.

use std::sync::Arc;
use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector, AzureDevopsWebhookReceiver};
use tandem_engine::ports::{Connector, ConnectorError, SecretError, SecretSource, WebhookReceiver};
use tandem_jira::{JiraConfig, JiraConnector, JiraWebhookReceiver};
use tandem_mapping::IntegrationConfig;
use tandem_model::{Credentials, Side, SystemKind};

/// Why a side's connector or receiver could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("side {side} has no base_url")]
    NoBaseUrl { side: Side },
    #[error("side {side}: reading secret `{name}`")]
    Secret {
        side: Side,
        name: String,
        #[source]
        source: SecretError,
    },
    #[error("side {side}: {message}")]
    InvalidSettings { side: Side, message: String },
    #[error("side {side}: cannot build the connector")]
    Connector {
        side: Side,
        #[source]
        source: ConnectorError,
    },
    #[error(
        "side {side}: secret `{name}` has the wrong kind for {system} webhooks (Jira: webhook-hmac; Azure DevOps: webhook-basic)"
    )]
    WrongWebhookSecret { side: Side, name: String, system: SystemKind },
    #[error("side {side}: secret `{name}`: {part} is empty")]
    EmptySecret { side: Side, name: String, part: &'static str },
}

impl WiringError {
    /// Only an unavailable secret store can heal by itself; everything else needs the configuration
    /// or the secret fixed.
    pub fn is_retryable(&self) -> bool {
        match self {
            WiringError::Secret { source, .. } => source.is_retryable(),
            WiringError::Connector { source, .. } => source.is_retryable(),
            _ => false,
        }
    }
}

/// Where each side's system answers: the configured base URL, or the simulator started for it.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub base_urls: [String; 2],
}

impl Endpoints {
    /// The configured base URLs; a side without one must be a simulator side resolved by the local run.
    pub fn from_config(config: &IntegrationConfig) -> Result<Endpoints, WiringError> {
        let url = |side: Side| {
            config
                .side(side)
                .base_url
                .as_ref()
                .map(|url| url.as_str().trim_end_matches('/').to_string())
                .ok_or(WiringError::NoBaseUrl { side })
        };
        Ok(Endpoints { base_urls: [url(Side::One)?, url(Side::Two)?] })
    }

    pub fn base_url(&self, side: Side) -> &str {
        &self.base_urls[usize::from(side.number() - 1)]
    }
}

/// How patient each system's connector is: retries and timeouts.
#[derive(Debug, Clone, Default)]
pub struct ConnectorTuning {
    pub jira: tandem_jira::RetryPolicy,
    pub azure_devops: tandem_azure_devops::RetryPolicy,
}

/// The connector of one side, authenticated with its service account's secret.
pub async fn connector(
    config: &IntegrationConfig,
    side: Side,
    endpoints: &Endpoints,
    secrets: &dyn SecretSource,
) -> Result<Arc<dyn Connector>, WiringError> {
    tuned_connector(config, side, endpoints, secrets, &ConnectorTuning::default()).await
}

/// As [`connector`], with other retries and timeouts (the convergence harness, whose simulators hold
/// answers back on purpose).
pub async fn tuned_connector(
    config: &IntegrationConfig,
    side: Side,
    endpoints: &Endpoints,
    secrets: &dyn SecretSource,
    tuning: &ConnectorTuning,
) -> Result<Arc<dyn Connector>, WiringError> {
    let settings = config.side(side);
    let credentials = secrets.credentials(&settings.secret).await.map_err(|source| WiringError::Secret {
        side,
        name: settings.secret.clone(),
        source,
    })?;
    let base_url = endpoints.base_url(side).to_string();
    let invalid = |message: String| WiringError::InvalidSettings { side, message };
    let built = |source| WiringError::Connector { side, source };
    Ok(match settings.system {
        SystemKind::Jira => {
            let valid =
                JiraConfig { base_url, project_key: settings.project.clone(), issue_type: settings.item_type.clone() }
                    .validate()
                    .map_err(|error| invalid(error.to_string()))?;
            Arc::new(JiraConnector::new(valid, &credentials, tuning.jira.clone()).map_err(built)?)
        }
        SystemKind::AzureDevops => {
            let valid = AzureDevopsConfig {
                organization_url: base_url,
                project: settings.project.clone(),
                work_item_type: settings.item_type.clone(),
                identities_url: settings.identities_url.clone(),
            }
            .validate()
            .map_err(|error| invalid(error.to_string()))?;
            Arc::new(AzureDevopsConnector::new(valid, &credentials, tuning.azure_devops.clone()).map_err(built)?)
        }
    })
}

/// The webhook receiver of one side, with the webhook secret it verifies deliveries against.
pub async fn receiver(
    config: &IntegrationConfig,
    side: Side,
    secrets: &dyn SecretSource,
) -> Result<Arc<dyn WebhookReceiver>, WiringError> {
    let settings = config.side(side);
    let name = &settings.webhook_secret;
    let secret =
        secrets.credentials(name).await.map_err(|source| WiringError::Secret { side, name: name.clone(), source })?;
    // Whatever the source: an empty key would let anyone sign or authenticate a delivery.
    if let Some(part) = secret.empty_part() {
        return Err(WiringError::EmptySecret { side, name: name.clone(), part });
    }
    Ok(match (settings.system, secret) {
        (SystemKind::Jira, Credentials::WebhookHmac { secret }) => {
            Arc::new(JiraWebhookReceiver::new(secret, settings.project.clone()))
        }
        (SystemKind::AzureDevops, Credentials::WebhookBasic { username, password }) => {
            Arc::new(AzureDevopsWebhookReceiver::new(username, password, settings.project.clone()))
        }
        (system, _) => return Err(WiringError::WrongWebhookSecret { side, name: name.clone(), system }),
    })
}
