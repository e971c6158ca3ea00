//! The state a function container keeps between invocations: the store, the cached secrets, and an
//! engine per integration, built on first use and kept while its configuration is unchanged.
//!
//! The registry is read on every invocation (one GetItem or Query), so activating, deactivating or
//! replacing an integration takes effect at once in warm containers too.

use crate::error::RuntimeError;
use crate::rotation::{RotatingConnector, RotatingReceiver, SecretCache};
use crate::wiring::Endpoints;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tandem_engine::ports::{Connector, SystemClock};
use tandem_engine::RetryPolicy;
use tandem_engine::{Engine, EngineStores};
use tandem_mapping::IntegrationConfig;
use tandem_model::Side;
use tandem_secrets::CachedSecrets;
use tandem_secrets_aws::SecretsManagerSource;
use tandem_store_dynamodb::{DynamoStore, StoredIntegration};
use tracing::info;

/// How long a secret read from Secrets Manager is used before it is read again.
pub const SECRET_TTL: Duration = Duration::from_secs(300);
/// The DynamoDB table of links, watermarks, deliveries, failures and the integration registry.
pub const TABLE_VARIABLE: &str = "TANDEM_TABLE";
/// The prefix every secret name in a configuration must start with (`tandem/`): the functions' IAM
/// policy allows only secrets under it, so a configuration naming another secret is refused up front
/// with a clear message rather than failing later with AccessDenied. Names are used as written.
pub const SECRET_PREFIX_VARIABLE: &str = "TANDEM_SECRET_PREFIX";
/// Attempts before a failing change is parked for an operator (template parameter
/// `MaxAttemptsBeforeParking`).
pub const MAX_ATTEMPTS_VARIABLE: &str = "TANDEM_MAX_ATTEMPTS";
/// Days each sync is kept in its item's history; 0 keeps none.
pub const HISTORY_DAYS_VARIABLE: &str = "TANDEM_HISTORY_DAYS";

/// An integration ready to sync: its engine and its two webhook receivers.
pub struct ServedIntegration {
    pub engine: Arc<Engine>,
    receivers: [RotatingReceiver; 2],
    /// The configuration text this was built from; a different text in the registry rebuilds it.
    yaml: String,
}

impl ServedIntegration {
    pub fn config(&self) -> &IntegrationConfig {
        self.engine.config()
    }

    pub fn receiver(&self, side: Side) -> &RotatingReceiver {
        &self.receivers[usize::from(side.number() - 1)]
    }
}

/// Why an integration is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unserved {
    Unknown,
    Inactive,
}

pub struct Runtime {
    store: Arc<DynamoStore>,
    secrets: Arc<dyn SecretCache>,
    secret_prefix: String,
    retry_policy: RetryPolicy,
    history_retention: Duration,
    served: Mutex<HashMap<String, Arc<ServedIntegration>>>,
}

impl Runtime {
    pub fn new(store: DynamoStore, secrets: Arc<dyn SecretCache>) -> Runtime {
        Runtime {
            store: Arc::new(store),
            secrets,
            secret_prefix: String::new(),
            retry_policy: RetryPolicy::default(),
            history_retention: tandem_engine::history::DEFAULT_HISTORY_RETENTION,
            served: Mutex::default(),
        }
    }

    /// How recorded failures are retried and when they are parked.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Runtime {
        self.retry_policy = policy;
        self
    }

    /// How long each sync stays in its item's history; zero keeps none.
    pub fn with_history_retention(mut self, keep: Duration) -> Runtime {
        self.history_retention = keep;
        self
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry_policy
    }

    /// Refuses configurations whose secret names do not start with `prefix`.
    pub fn with_secret_prefix(mut self, prefix: impl Into<String>) -> Runtime {
        self.secret_prefix = prefix.into();
        self
    }

    /// The runtime of a function container: the table named by `TANDEM_TABLE`, secrets from Secrets
    /// Manager (names must start with `TANDEM_SECRET_PREFIX` when it is set), cached for [`SECRET_TTL`]. AWS clients are
    /// configured from the environment (the Lambda role, `AWS_REGION`, `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> Result<Runtime, RuntimeError> {
        let table = std::env::var(TABLE_VARIABLE).ok().filter(|table| !table.is_empty()).ok_or(
            RuntimeError::MissingSetting {
                name: TABLE_VARIABLE,
                meaning: "the DynamoDB table tandem keeps its state in",
            },
        )?;
        let prefix = std::env::var(SECRET_PREFIX_VARIABLE).unwrap_or_default();
        let source = SecretsManagerSource::from_env().await;
        let secrets = Arc::new(CachedSecrets::new(source, SECRET_TTL));
        let mut retry_policy = RetryPolicy::default();
        if let Ok(text) = std::env::var(MAX_ATTEMPTS_VARIABLE) {
            retry_policy.max_attempts =
                text.trim().parse().ok().filter(|attempts| *attempts > 0).ok_or(RuntimeError::MissingSetting {
                    name: MAX_ATTEMPTS_VARIABLE,
                    meaning: "a whole number of attempts (1 or more) before a failing change is parked",
                })?;
        }
        let mut history_retention = tandem_engine::history::DEFAULT_HISTORY_RETENTION;
        if let Ok(text) = std::env::var(HISTORY_DAYS_VARIABLE) {
            let days: u64 = text.trim().parse().map_err(|_| RuntimeError::MissingSetting {
                name: HISTORY_DAYS_VARIABLE,
                meaning: "a whole number of days (0 keeps no history)",
            })?;
            history_retention = Duration::from_secs(days * 24 * 3600);
        }
        Ok(Runtime::new(DynamoStore::from_env(table).await, secrets)
            .with_secret_prefix(prefix)
            .with_retry_policy(retry_policy)
            .with_history_retention(history_retention))
    }

    pub fn store(&self) -> &DynamoStore {
        &self.store
    }

    /// The integration named `name`, if it is stored and active; an active one whose configuration
    /// cannot be used is a [`RuntimeError::InvalidConfiguration`].
    pub async fn integration(&self, name: &str) -> Result<Result<Arc<ServedIntegration>, Unserved>, RuntimeError> {
        match self.store.get_integration(name).await.map_err(RuntimeError::Registry)? {
            None => Ok(Err(Unserved::Unknown)),
            Some(stored) => self.serve(&stored).await,
        }
    }

    /// The engine of the integration stored as `name`, active or not, built as the functions build it
    /// but not served (for dry runs and commands); `None` when no integration has the name.
    pub async fn stored_engine(&self, name: &str) -> Result<Option<Arc<Engine>>, RuntimeError> {
        let Some(stored) = self.store.get_integration(name).await.map_err(RuntimeError::Registry)? else {
            return Ok(None);
        };
        let config = parse(&stored, &self.secret_prefix)
            .map_err(|problems| RuntimeError::InvalidConfiguration { integration: stored.name.clone(), problems })?;
        Ok(Some(self.build(Arc::new(config), stored.yaml).await?.engine))
    }

    /// Every active integration, by name: ready, or why it could not be brought up (an invalid
    /// configuration, a secret unavailable). Inactive ones are left out.
    pub async fn active_integrations(
        &self,
    ) -> Result<Vec<(String, Result<Arc<ServedIntegration>, RuntimeError>)>, RuntimeError> {
        let stored = self.store.list_integrations().await.map_err(RuntimeError::Registry)?;
        let mut active = Vec::new();
        for integration in stored {
            match self.serve(&integration).await {
                Ok(Ok(served)) => active.push((integration.name, Ok(served))),
                Ok(Err(_unserved)) => {}
                Err(error) => active.push((integration.name, Err(error))),
            }
        }
        Ok(active)
    }

    async fn serve(
        &self,
        stored: &StoredIntegration,
    ) -> Result<Result<Arc<ServedIntegration>, Unserved>, RuntimeError> {
        if !stored.active {
            // A deactivated integration's engine goes too, so nothing of it stays alive.
            self.cache().remove(&stored.name);
            return Ok(Err(Unserved::Inactive));
        }
        if let Some(served) = self.cache().get(&stored.name).filter(|served| served.yaml == stored.yaml) {
            return Ok(Ok(served.clone()));
        }
        let config = match parse(stored, &self.secret_prefix) {
            Ok(config) => config,
            Err(problems) => {
                self.cache().remove(&stored.name);
                return Err(RuntimeError::InvalidConfiguration { integration: stored.name.clone(), problems });
            }
        };
        // Built outside the lock: two cold invocations may both build; either result is right.
        let served = Arc::new(self.build(Arc::new(config), stored.yaml.clone()).await?);
        self.cache().insert(stored.name.clone(), served.clone());
        info!(integration = %stored.name, "integration ready");
        Ok(Ok(served))
    }

    async fn build(&self, config: Arc<IntegrationConfig>, yaml: String) -> Result<ServedIntegration, RuntimeError> {
        let integration = config.name.clone();
        let endpoints = Endpoints::from_config(&config)
            .map_err(|source| RuntimeError::Wiring { integration: integration.clone(), source })?;
        // Both sides' credentials and webhook secrets in one read (Secrets Manager bills by the call),
        // which the sides below then find cached.
        let names: Vec<String> = secret_names(&config).cloned().collect();
        self.secrets.read_ahead(&names).await;
        let (connector1, receiver1) = self.side(&config, Side::One, &endpoints).await?;
        let (connector2, receiver2) = self.side(&config, Side::Two, &endpoints).await?;
        let stores = EngineStores::from_one(self.store.clone());
        let engine = Engine::new(config, [connector1, connector2], stores, Arc::new(SystemClock))
            .with_retry_policy(self.retry_policy)
            .with_history_retention(self.history_retention);
        Ok(ServedIntegration { engine: Arc::new(engine), receivers: [receiver1, receiver2], yaml })
    }

    async fn side(
        &self,
        config: &Arc<IntegrationConfig>,
        side: Side,
        endpoints: &Endpoints,
    ) -> Result<(Arc<dyn Connector>, RotatingReceiver), RuntimeError> {
        let wiring = |source| RuntimeError::Wiring { integration: config.name.clone(), source };
        let connector = RotatingConnector::build(config.clone(), side, endpoints.clone(), self.secrets.clone())
            .await
            .map_err(wiring)?;
        let receiver = RotatingReceiver::build(config.clone(), side, self.secrets.clone()).await.map_err(wiring)?;
        Ok((Arc::new(connector), receiver))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ServedIntegration>>> {
        self.served.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every secret an integration names: each side's credentials and webhook secret.
fn secret_names(config: &IntegrationConfig) -> impl Iterator<Item = &String> {
    Side::BOTH.into_iter().flat_map(move |side| [&config.side(side).secret, &config.side(side).webhook_secret])
}

/// The stored configuration, validated; `None` (its problems logged) when it fails validation or
/// names another integration than the one it is stored as.
/// The stored configuration, or what is wrong with it.
fn parse(stored: &StoredIntegration, secret_prefix: &str) -> Result<IntegrationConfig, Vec<String>> {
    // A stored configuration has no folder: users must be mapped inline, not by `map_file`.
    let shown = format!("registry:{}", stored.name);
    let config = tandem_systems::load_str(&stored.yaml, &shown, Path::new("."))
        .map_err(|errors| errors.problems.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    if config.name != stored.name {
        return Err(vec![format!("it is registered as `{}` but names itself `{}`", stored.name, config.name)]);
    }
    let outside: Vec<String> = secret_names(&config)
        .filter(|name| !name.starts_with(secret_prefix))
        .map(|name| format!("secret `{name}` is outside the prefix `{secret_prefix}` the functions may read"))
        .collect();
    if outside.is_empty() {
        Ok(config)
    } else {
        Err(outside)
    }
}
