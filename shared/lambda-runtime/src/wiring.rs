//! Turns a validated integration configuration and a secret source into running parts: each side's
//! connector and webhook receiver. Shared by `tandem serve` and the Lambda functions, so both talk to
//! the systems the same way.

use std::sync::Arc;
use tandem_engine::ports::{Connector, SecretError, SecretSource, WebhookReceiver};
use tandem_mapping::IntegrationConfig;
use tandem_model::{Side, SystemKind};
use tandem_system_api::{BuildError, RetryPolicy, System};

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
    #[error("side {side}: tandem is built without {system}")]
    UnknownSystem { side: Side, system: SystemKind },
    #[error("side {side}: cannot build the connector")]
    Connector {
        side: Side,
        #[source]
        source: BuildError,
    },
    #[error("side {side}: secret `{name}` cannot verify webhooks")]
    WebhookSecret {
        side: Side,
        name: String,
        #[source]
        source: BuildError,
    },
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

/// How patient the connectors are: retries and timeouts.
#[derive(Debug, Clone, Default)]
pub struct ConnectorTuning {
    pub retry: RetryPolicy,
}

/// The system on `side`: one tandem is built with, since the configuration was loaded with them.
fn system(config: &IntegrationConfig, side: Side) -> Result<&'static dyn System, WiringError> {
    let kind = config.side(side).system;
    tandem_systems::of(kind).ok_or(WiringError::UnknownSystem { side, system: kind })
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
    system(config, side)?
        .connector(settings, endpoints.base_url(side), &credentials, tuning.retry.clone())
        .map_err(|source| WiringError::Connector { side, source })
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
    system(config, side)?.receiver(settings, secret).map_err(|source| WiringError::WebhookSecret {
        side,
        name: name.clone(),
        source,
    })
}
