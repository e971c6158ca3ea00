//! One bench world: the local example integration (`examples/local.yaml`) with its bundled Jira and
//! Azure DevOps simulators, the engine on a counted store (embedded, or DynamoDB with its calls
//! counted too), Alice, and — when asked — the webhook endpoint the simulators deliver to.

use super::counting_store::{counting, StoreCounters};
use super::dynamo_calls::DynamoCalls;
use super::endpoint::{Endpoint, Probes};
use super::error::SyncBenchError;
use super::people::Alice;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tandem_cli::local::LocalEnvironment;
use tandem_cli::wiring::{self, ConnectorTuning};
use tandem_engine::ports::SystemClock;
use tandem_engine::{Engine, EngineStores};
use tandem_mapping::IntegrationConfig;
use tandem_model::Side;
use tandem_simulators::azure_devops::RunningAzureDevops;
use tandem_simulators::jira::RunningJira;
use tokio::task::JoinHandle;

/// A change, its sync and its echo take a few rounds; more means deliveries keep causing writes.
const SETTLE_ROUNDS: usize = 20;
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// Where the engine keeps links, watermarks, deliveries and failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// redb in a temporary folder, as `tandem serve` runs.
    Embedded,
    /// DynamoDB at `AWS_ENDPOINT_URL` (moto locally), in a table made for this world.
    Dynamodb { table: String },
}

#[derive(Debug, Clone)]
pub struct WorldSettings {
    pub store: StoreKind,
    /// The most items one poll syncs at once (`polling.concurrency`).
    pub poll_concurrency: usize,
    /// Whether the simulators deliver webhooks to the bench's endpoint.
    pub webhooks: bool,
}

/// Both simulators of a world.
#[derive(Clone, Copy)]
pub struct Simulators<'a> {
    pub jira: &'a RunningJira,
    pub ado: &'a RunningAzureDevops,
}

impl Simulators<'_> {
    /// Waits until neither simulator has a webhook delivery in flight; bounded, so that a delivery
    /// stuck in the sender's retries fails the measurement instead of hanging it.
    pub async fn webhooks_settled(&self, limit: Duration) -> Result<(), SyncBenchError> {
        tokio::time::timeout(limit, async {
            self.jira.webhooks().settled().await;
            self.ado.hooks_settled().await;
        })
        .await
        .map_err(|_| SyncBenchError::NotSynced { what: "a webhook delivery".into(), waited: limit })
    }
}

pub struct SyncWorld {
    pub config: Arc<IntegrationConfig>,
    environment: Arc<LocalEnvironment>,
    pub engine: Arc<Engine>,
    pub store: Arc<dyn StoreCounters>,
    pub dynamo: Option<DynamoCalls>,
    pub alice: Alice,
    pub endpoint: Option<Arc<Endpoint>>,
    server: Option<JoinHandle<()>>,
    _store_dir: Option<tempfile::TempDir>,
}

impl SyncWorld {
    pub async fn start(settings: &WorldSettings) -> Result<SyncWorld, SyncBenchError> {
        let mut config = local_example()?;
        config.polling.concurrency = settings.poll_concurrency;
        let config = Arc::new(config);
        let environment = Arc::new(
            LocalEnvironment::prepare(&config, None).await.map_err(SyncBenchError::local("starting the simulators"))?,
        );
        let simulators = simulators(&environment)?;
        let (stores, store, dynamo, store_dir) = open_store(&settings.store).await?;
        let secrets = environment.secrets();
        let tuning = ConnectorTuning::default();
        let connectors = [
            wiring::tuned_connector(&config, Side::One, environment.endpoints(), secrets.as_ref(), &tuning)
                .await
                .map_err(SyncBenchError::wiring)?,
            wiring::tuned_connector(&config, Side::Two, environment.endpoints(), secrets.as_ref(), &tuning)
                .await
                .map_err(SyncBenchError::wiring)?,
        ];
        let engine = Arc::new(Engine::new(config.clone(), connectors, stores, Arc::new(SystemClock)));
        let alice = Alice::new(&config, simulators.jira, simulators.ado)?;
        let mut world = SyncWorld {
            config,
            environment,
            engine,
            store,
            dynamo,
            alice,
            endpoint: None,
            server: None,
            _store_dir: store_dir,
        };
        if settings.webhooks {
            world.serve_webhooks().await?;
        }
        Ok(world)
    }

    pub fn simulators(&self) -> Result<Simulators<'_>, SyncBenchError> {
        simulators(&self.environment)
    }

    async fn serve_webhooks(&mut self) -> Result<(), SyncBenchError> {
        let secrets = self.environment.secrets();
        let receivers = [
            wiring::receiver(&self.config, Side::One, secrets.as_ref()).await.map_err(SyncBenchError::wiring)?,
            wiring::receiver(&self.config, Side::Two, secrets.as_ref()).await.map_err(SyncBenchError::wiring)?,
        ];
        let probes = Probes {
            // The simulators' wall time, so that calls made at once (a pair's two reads) count once.
            simulators_busy_micros: Box::new(tandem_simulators::faults::wall_busy_micros),
            store: self.store.clone(),
            dynamo: self.dynamo.clone(),
        };
        let endpoint = Endpoint::new(self.engine.clone(), receivers, probes);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(SyncBenchError::Bind)?;
        let (address, server) = endpoint.serve(listener).map_err(SyncBenchError::Bind)?;
        self.environment.register_webhooks(&self.config, address);
        self.endpoint = Some(endpoint);
        self.server = Some(server);
        Ok(())
    }

    /// Waits until every change has gone around: each simulator's deliveries were handled, the writes
    /// they caused delivered their echoes, and a further round changed nothing.
    pub async fn settle(&self) -> Result<(), SyncBenchError> {
        let sims = self.simulators()?;
        let seen = || {
            let handled = self.endpoint.as_ref().map_or(0, |endpoint| endpoint.pending());
            (sims.jira.exchanges().len(), sims.ado.exchanges().len(), handled)
        };
        for _ in 0..SETTLE_ROUNDS {
            let before = seen();
            sims.webhooks_settled(SETTLE_LIMIT).await?;
            if seen() == before {
                return Ok(());
            }
        }
        Err(SyncBenchError::NotSynced { what: "the last change and its echoes".into(), waited: SETTLE_LIMIT })
    }

    /// Stops the endpoint and the simulators.
    pub async fn stop(self) {
        if let Some(server) = self.server {
            server.abort();
        }
        // The endpoint's probe holds the other reference; without it the simulators stop on drop.
        drop(self.endpoint);
        if let Ok(environment) = Arc::try_unwrap(self.environment) {
            environment.stop().await;
        }
    }
}

fn simulators(environment: &LocalEnvironment) -> Result<Simulators<'_>, SyncBenchError> {
    match (environment.running(Side::One), environment.running(Side::Two)) {
        (Some(jira), Some(ado)) => Ok(Simulators { jira, ado }),
        _ => Err(SyncBenchError::NotTheLocalExample),
    }
}

/// `examples/local.yaml` of the repository the bench is built from.
fn local_example() -> Result<IntegrationConfig, SyncBenchError> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("examples").join("local.yaml");
    tandem_systems::load_file(&path)
        .map_err(|problems| SyncBenchError::Example { path: path.clone(), problems: problems.to_string() })
}

type OpenedStore = (EngineStores, Arc<dyn StoreCounters>, Option<DynamoCalls>, Option<tempfile::TempDir>);

async fn open_store(kind: &StoreKind) -> Result<OpenedStore, SyncBenchError> {
    match kind {
        StoreKind::Embedded => {
            let dir = tempfile::tempdir().map_err(|error| SyncBenchError::Local {
                doing: "making a folder for the store",
                source: error.into(),
            })?;
            let embedded = wiring::open_store(&dir.path().join("bench.redb"))
                .map_err(SyncBenchError::local("opening the embedded store"))?;
            let counted = Arc::new(counting(embedded));
            Ok((EngineStores::from_one(counted.clone()), counted, None, Some(dir)))
        }
        StoreKind::Dynamodb { table } => {
            if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
                return Err(SyncBenchError::LocalAwsMissing);
            }
            let calls = DynamoCalls::default();
            let shared = tandem_aws_config::from_env().await;
            let client_config = aws_sdk_dynamodb::config::Builder::from(&shared).interceptor(calls.clone()).build();
            let dynamo =
                tandem_store_dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(client_config), table);
            dynamo
                .create_table()
                .await
                .map_err(|source| SyncBenchError::Table { table: table.clone(), source: Box::new(source) })?;
            let counted = Arc::new(counting(Arc::new(dynamo)));
            Ok((EngineStores::from_one(counted.clone()), counted, Some(calls), None))
        }
    }
}
