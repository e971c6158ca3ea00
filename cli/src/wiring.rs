//! Turns a validated integration file and a secret source into running parts for `tandem serve`: the
//! embedded store and the engine. Connectors and webhook receivers are built by the wiring shared with
//! the Lambda functions (`tandem_lambda_runtime::wiring`), so both runs talk to the systems alike.

use crate::server::ServedIntegration;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tandem_engine::ports::{AccessNeeds, SecretSource, SystemClock};
use tandem_engine::{Engine, EngineStores};
use tandem_mapping::IntegrationConfig;
use tandem_model::Side;
use tandem_store::EmbeddedStore;

pub use tandem_lambda_runtime::wiring::{connector, receiver, tuned_connector, ConnectorTuning, Endpoints};

pub fn open_store(path: &Path) -> Result<Arc<EmbeddedStore>> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Ok(Arc::new(EmbeddedStore::open(path).with_context(|| format!("cannot open the store {}", path.display()))?))
}

/// How `serve` runs an integration.
#[derive(Debug, Clone, Copy)]
pub struct ServeSettings {
    /// How often the background poller runs; `None`: no background poller, the caller polls (tests
    /// that must know exactly who syncs what, and when).
    pub poll_interval: Option<Duration>,
    /// How long a creation claim keeps other workers off (see the engine's exactly-once creation);
    /// `None`: the engine's own, which outlasts the connectors' slowest call.
    pub claim_lease: Option<Duration>,
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
    let mut engine = Engine::new(config, connectors, EngineStores::from_one(store), Arc::new(SystemClock));
    if let Some(lease) = settings.claim_lease {
        engine = engine.with_claim_lease(lease);
    }
    let activity = Arc::default();
    Ok(Arc::new(ServedIntegration {
        engine: Arc::new(engine),
        receivers,
        poll_interval: settings.poll_interval,
        activity,
    }))
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
                println!("  ✗ {:#}", anyhow::Error::new(error));
                healthy = false;
                continue;
            }
        };
        let needs = AccessNeeds {
            fields: config.written_fields(side),
            attachments: config.attachments.enabled(side.other()) && connector.keeps_attachments(),
        };
        match connector.check_access(&needs).await {
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
                println!("  ✗ {:#}", anyhow::Error::new(error));
                healthy = false;
            }
        }
    }
    Ok(healthy)
}
