//! Turns a validated integration file and a secret source into running parts: connectors, webhook
//! receivers, the engine. This is the only place that knows every adapter.

use crate::server::ServedIntegration;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector, AzureDevopsWebhookReceiver};
use tandem_engine::ports::{Connector, SecretSource, SystemClock, WebhookReceiver};
use tandem_engine::{Engine, EngineStores};
use tandem_jira::{JiraConfig, JiraConnector, JiraWebhookReceiver};
use tandem_mapping::IntegrationConfig;
use tandem_model::{Credentials, Side, SystemKind};
use tandem_store::EmbeddedStore;

/// Where each side's system answers: the configured base URL, or the simulator started for it.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub base_urls: [String; 2],
}

impl Endpoints {
    /// The configured base URLs; a side without one must be a simulator side resolved by `local`.
    pub fn from_config(config: &IntegrationConfig) -> Result<Endpoints> {
        let url = |side: Side| -> Result<String> {
            config
                .side(side)
                .base_url
                .as_ref()
                .map(|url| url.as_str().trim_end_matches('/').to_string())
                .with_context(|| format!("side {side} has no base_url"))
        };
        Ok(Endpoints { base_urls: [url(Side::One)?, url(Side::Two)?] })
    }

    pub fn base_url(&self, side: Side) -> &str {
        &self.base_urls[usize::from(side.number() - 1)]
    }
}

pub fn open_store(path: &Path) -> Result<Arc<EmbeddedStore>> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Ok(Arc::new(EmbeddedStore::open(path).with_context(|| format!("cannot open the store {}", path.display()))?))
}

/// The connector of one side, authenticated with its service account's secret.
pub async fn connector(
    config: &IntegrationConfig,
    side: Side,
    endpoints: &Endpoints,
    secrets: &dyn SecretSource,
) -> Result<Arc<dyn Connector>> {
    let settings = config.side(side);
    let credentials = secrets
        .credentials(&settings.secret)
        .await
        .with_context(|| format!("side {side}: reading secret `{}`", settings.secret))?;
    let base_url = endpoints.base_url(side).to_string();
    Ok(match settings.system {
        SystemKind::Jira => {
            let valid =
                JiraConfig { base_url, project_key: settings.project.clone(), issue_type: settings.item_type.clone() }
                    .validate()
                    .with_context(|| format!("side {side}"))?;
            Arc::new(JiraConnector::new(valid, &credentials, tandem_jira::RetryPolicy::default())?)
        }
        SystemKind::AzureDevops => {
            let valid = AzureDevopsConfig {
                organization_url: base_url,
                project: settings.project.clone(),
                work_item_type: settings.item_type.clone(),
                identities_url: settings.identities_url.clone(),
            }
            .validate()
            .with_context(|| format!("side {side}"))?;
            Arc::new(AzureDevopsConnector::new(valid, &credentials, tandem_azure_devops::RetryPolicy::default())?)
        }
    })
}

/// The webhook receiver of one side, with the webhook secret it verifies deliveries against.
pub async fn receiver(
    config: &IntegrationConfig,
    side: Side,
    secrets: &dyn SecretSource,
) -> Result<Arc<dyn WebhookReceiver>> {
    let settings = config.side(side);
    let secret = secrets
        .credentials(&settings.webhook_secret)
        .await
        .with_context(|| format!("side {side}: reading webhook secret `{}`", settings.webhook_secret))?;
    Ok(match (settings.system, secret) {
        (SystemKind::Jira, Credentials::WebhookHmac { secret }) => {
            Arc::new(JiraWebhookReceiver::new(secret, settings.project.clone()))
        }
        (SystemKind::AzureDevops, Credentials::WebhookBasic { username, password }) => {
            Arc::new(AzureDevopsWebhookReceiver::new(username, password, settings.project.clone()))
        }
        (system, _) => bail!(
            "side {side}: secret `{}` has the wrong kind for {system} webhooks (Jira: webhook-hmac; Azure DevOps: webhook-basic)",
            settings.webhook_secret
        ),
    })
}

/// How `serve` runs an integration.
#[derive(Debug, Clone, Copy)]
pub struct ServeSettings {
    pub poll_interval: Duration,
    /// How long a creation claim keeps other workers off (see the engine's exactly-once creation).
    pub claim_lease: Duration,
}

/// Everything `serve` needs for one integration.
pub async fn serve_integration(
    config: Arc<IntegrationConfig>,
    endpoints: &Endpoints,
    secrets: &dyn SecretSource,
    store: Arc<EmbeddedStore>,
    settings: ServeSettings,
) -> Result<Arc<ServedIntegration>> {
    let connectors = [
        connector(&config, Side::One, endpoints, secrets).await?,
        connector(&config, Side::Two, endpoints, secrets).await?,
    ];
    let receivers = [receiver(&config, Side::One, secrets).await?, receiver(&config, Side::Two, secrets).await?];
    let engine = Engine::new(config, connectors, EngineStores::from_one(store), Arc::new(SystemClock))
        .await
        .context("starting the sync engine (could not identify a side's service account)")?
        .with_claim_lease(settings.claim_lease);
    Ok(Arc::new(ServedIntegration { engine: Arc::new(engine), receivers, poll_interval: settings.poll_interval }))
}

/// `tandem check`: prints what each side's service account can and cannot do; true when all is well.
pub async fn check(config: &IntegrationConfig, endpoints: &Endpoints, secrets: &dyn SecretSource) -> Result<bool> {
    let mut healthy = true;
    for side in Side::BOTH {
        let settings = config.side(side);
        println!(
            "side {side}: {} {} ({}, {})",
            settings.system,
            endpoints.base_url(side),
            settings.project,
            settings.item_type
        );
        let connector = match connector(config, side, endpoints, secrets).await {
            Ok(connector) => connector,
            Err(error) => {
                println!("  ✗ {error:#}");
                healthy = false;
                continue;
            }
        };
        match connector.check_access(&config.written_fields(side)).await {
            Ok(report) => {
                if let Some(account) = &report.account {
                    println!(
                        "  ✓ authenticated as {}",
                        account.email.as_deref().or(account.display_name.as_deref()).unwrap_or(&account.id)
                    );
                }
                for passed in &report.passed {
                    println!("  ✓ {passed}");
                }
                for problem in &report.problems {
                    println!("  ✗ {problem}");
                }
                healthy &= report.problems.is_empty();
            }
            Err(error) => {
                println!("  ✗ {error}");
                healthy = false;
            }
        }
        match receiver(config, side, secrets).await {
            Ok(_) => println!("  ✓ webhook secret `{}` is usable", settings.webhook_secret),
            Err(error) => {
                println!("  ✗ {error:#}");
                healthy = false;
            }
        }
    }
    Ok(healthy)
}
