//! The convergence harness: proves, with figures, that tandem neither duplicates, nor loses, nor
//! loops, under the faults real systems have.
//!
//! One run: the Jira and Azure DevOps simulators with a seeded fault plan (latency, 5xx, 429 with
//! Retry-After, timeouts whose write may or may not have happened, webhooks dropped, duplicated and
//! reordered); several workers on one store (embedded or DynamoDB) that die at random step
//! boundaries; people making N random changes on both sides, several at a time; a poller running
//! throughout. Then the faults stop and the system settles through polls alone, and the harness
//! checks both systems: duplicates, lost updates, echo writes after quiescence, conflicts recorded,
//! changes parked, and how many poll cycles convergence took.

pub mod cluster;
pub mod flaky_store;
pub mod hazard_checks;
pub mod report;
pub mod verdict;
pub mod workload;

use anyhow::{bail, Context, Result};
use cluster::{Cluster, RandomCrashes, WorkerSettings};
use flaky_store::{FlakyStore, StoreFaults};
use indicatif::{ProgressBar, ProgressStyle};
use report::{Figures, Report};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector};
use tandem_cli::local::LocalEnvironment;
use tandem_cli::wiring::{self, ConnectorTuning};
use tandem_engine::ports::Connector;
use tandem_engine::{EngineStores, RetryPolicy};
use tandem_jira::{JiraConfig, JiraConnector};
use tandem_mapping::IntegrationConfig;
use tandem_model::{Credentials, SecretString, Side, UserRef};
use tandem_simulators::azure_devops::RunningAzureDevops;
use tandem_simulators::faults::{FaultPlan, LatencyRange};
use tandem_simulators::jira::{RunningJira, SimUser};
use tandem_store::intercept::Intercepted;
use verdict::{check_links, Creations};
use workload::{JiraAccess, People, Workload};

/// Where the workers keep links, watermarks and failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// redb in a temporary folder.
    Embedded,
    /// DynamoDB (or a compatible server at `AWS_ENDPOINT_URL`): a table made for this run.
    Dynamodb { table: String },
}

/// The faults the simulators inject while people make changes, as fractions of calls or deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRates {
    pub server_errors: f64,
    pub rate_limits: f64,
    pub timeouts: f64,
    pub webhooks_dropped: f64,
    /// Every delivery arrives this many times in all (1: no duplicates).
    pub webhook_copies: u32,
    pub reorder_window_ms: u64,
    pub latency_ms: LatencyRange,
    /// How long a change takes to show in searches (Jira JQL, Azure DevOps WIQL), per change.
    pub search_lag_ms: LatencyRange,
    /// Share of creates throttled with a Retry-After longer than a claim's lease.
    pub create_throttle_rate: f64,
    pub create_retry_after_seconds: u64,
    /// Share of tandem's reads of an item after which a person edits that item at once.
    pub meddle_rate: f64,
    /// The most issues a Jira search page holds (Jira may return fewer than asked for).
    pub search_page_limit: Option<usize>,
}

impl FaultRates {
    /// The issue's target run: 20% 5xx, 10% 429, 5% timeouts, 10% of webhooks dropped, each delivered
    /// three times, reordered within 200 ms, 5–20 ms of API latency.
    pub fn storm() -> Self {
        FaultRates {
            server_errors: 0.20,
            rate_limits: 0.10,
            timeouts: 0.05,
            webhooks_dropped: 0.10,
            webhook_copies: 3,
            reorder_window_ms: 200,
            latency_ms: LatencyRange { min: 5, max: 20 },
            search_lag_ms: LatencyRange::default(),
            create_throttle_rate: 0.0,
            create_retry_after_seconds: 0,
            meddle_rate: 0.0,
            search_page_limit: None,
        }
    }

    /// The storm, in a world as harsh as the real one: searches that lag behind writes by up to 1.5 s
    /// and return pages of at most 40 issues, 2% of creates throttled for 15 s (longer than a lease),
    /// and 5% of tandem's reads followed at once by a person's edit of the item read.
    pub fn harsh() -> Self {
        FaultRates {
            search_lag_ms: LatencyRange { min: 0, max: 1_500 },
            create_throttle_rate: 0.02,
            create_retry_after_seconds: 15,
            meddle_rate: 0.05,
            search_page_limit: Some(40),
            ..FaultRates::storm()
        }
    }

    /// No faults at all.
    pub fn calm() -> Self {
        FaultRates {
            server_errors: 0.0,
            rate_limits: 0.0,
            timeouts: 0.0,
            webhooks_dropped: 0.0,
            webhook_copies: 1,
            reorder_window_ms: 0,
            latency_ms: LatencyRange { min: 0, max: 0 },
            search_lag_ms: LatencyRange::default(),
            create_throttle_rate: 0.0,
            create_retry_after_seconds: 0,
            meddle_rate: 0.0,
            search_page_limit: None,
        }
    }

    fn plan(&self, seed: u64, timeout_hold: Duration) -> FaultPlan {
        FaultPlan {
            seed,
            latency_ms: self.latency_ms,
            server_error_rate: self.server_errors,
            rate_limit_rate: self.rate_limits,
            retry_after_seconds: 1,
            timeout_rate: self.timeouts,
            timeout_hold_ms: u64::try_from(timeout_hold.as_millis()).unwrap_or(u64::MAX),
            webhook_drop_rate: self.webhooks_dropped,
            webhook_duplicate_rate: if self.webhook_copies > 1 { 1.0 } else { 0.0 },
            webhook_duplicate_copies: self.webhook_copies.saturating_sub(1).max(1),
            webhook_reorder_window_ms: self.reorder_window_ms,
            search_lag_ms: self.search_lag_ms,
            create_throttle_rate: self.create_throttle_rate,
            create_retry_after_seconds: self.create_retry_after_seconds,
            meddle_rate: self.meddle_rate,
            search_page_limit: self.search_page_limit,
            ..FaultPlan::none()
        }
    }
}

/// The hazards besides the simulators' faults: people doing what the integration must leave alone, a
/// store that conflicts and stalls, credentials that expire for a while, and function deadlines.
#[derive(Debug, Clone, Serialize)]
pub struct Hazards {
    /// People also make items of other projects and types, post restricted Jira comments, and restrict
    /// comments already copied.
    pub people_out_of_scope: bool,
    pub store: StoreFaults,
    /// Each side's service-account credentials expire this long, once, during the storm.
    pub credential_outage: Option<Duration>,
    /// Share of webhook deliveries and polls cut short by a function deadline (10–300 ms).
    pub deadline_rate: f64,
}

impl Hazards {
    pub fn none() -> Self {
        Hazards { people_out_of_scope: false, store: StoreFaults::none(), credential_outage: None, deadline_rate: 0.0 }
    }

    /// Everything at once: 2% of store writes conflict, 1% of store calls are throttled, calls take up to
    /// 5 ms more, each side's credentials expire for 3 s, and 5% of deliveries and polls meet a deadline.
    pub fn harsh() -> Self {
        Hazards {
            people_out_of_scope: true,
            store: StoreFaults {
                conflict_rate: 0.02,
                unavailable_rate: 0.01,
                latency_ms: LatencyRange { min: 0, max: 5 },
            },
            credential_outage: Some(Duration::from_secs(3)),
            deadline_rate: 0.05,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HarnessSettings {
    pub events: u64,
    pub seed: u64,
    /// People making changes at the same time.
    pub concurrency: usize,
    /// Workers (function containers) sharing the store.
    pub workers: usize,
    pub store: StoreChoice,
    pub faults: FaultRates,
    pub hazards: Hazards,
    /// Chance of dying at each step boundary the engine passes.
    pub crash_rate: f64,
    /// How often the poller runs while people make changes.
    pub poll_every: Duration,
    /// Poll cycles allowed for convergence after the faults stop.
    pub max_settle_cycles: usize,
    pub progress: bool,
}

impl HarnessSettings {
    pub fn validate(&self) -> Result<()> {
        if self.events == 0 || self.concurrency == 0 || self.workers == 0 {
            bail!("events, concurrency and workers must each be at least 1");
        }
        if !(0.0..=1.0).contains(&self.crash_rate) {
            bail!("the crash rate must be between 0 and 1, not {}", self.crash_rate);
        }
        Ok(())
    }
}

/// How patient tandem's connectors are in the harness: a held answer is given up after a second
/// (the simulators hold "timed out" answers longer), and retries are quick.
fn harness_tuning() -> ConnectorTuning {
    let mut retry = tandem_jira::RetryPolicy::fast();
    retry.timeout = Duration::from_secs(1);
    retry.max_retry_after = Duration::from_secs(1);
    retry.max_total_wait = Duration::from_secs(3);
    ConnectorTuning { retry }
}

/// Leases and retries short enough that a dead worker's claims and the failures it left are due
/// again within a poll cycle of the settle phase, and a lease longer than the slowest create or
/// comment call of the harness's connectors (4 attempts of at most 1 s, waits of at most 1 s each).
const CLAIM_LEASE: Duration = Duration::from_secs(10);
/// On DynamoDB's stand-in, which serves one request at a time, a claim call waits its turn behind every
/// other worker's requests for seconds under the storm: a lease that short would mostly be refused as
/// too slow to rely on (`SyncError::SlowClaim`).
const DYNAMODB_CLAIM_LEASE: Duration = Duration::from_secs(30);
const RETRY: RetryPolicy =
    RetryPolicy { base: Duration::from_millis(200), max_delay: Duration::from_secs(2), max_attempts: 12 };
/// How long the simulators hold a "timed out" answer: longer than the connectors wait.
const TIMEOUT_HOLD: Duration = Duration::from_millis(1500);

/// Crash points die by panicking; their deaths are counted, not printed (real bugs still are).
fn quiet_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if tandem_engine::crash::Crash::from_panic(info.payload()).is_none() {
                default(info);
            }
        }));
    });
}

pub async fn run(settings: &HarnessSettings) -> Result<Report> {
    settings.validate()?;
    quiet_crashes();
    let config = Arc::new(local_example(&settings.faults)?);
    let environment = LocalEnvironment::prepare(&config, None).await?;
    let (jira, ado) = simulators(&environment)?;
    let flaky = Arc::new(FlakyStore::new(settings.hazards.store, settings.seed ^ 0x5702e));
    let (stores, _store_dir) = open_stores(&settings.store, flaky.clone()).await?;
    let crashes = Arc::new(RandomCrashes::new(settings.crash_rate, settings.seed));
    let claim_lease = match settings.store {
        StoreChoice::Embedded => CLAIM_LEASE,
        StoreChoice::Dynamodb { .. } => DYNAMODB_CLAIM_LEASE,
    };
    let worker_settings = WorkerSettings {
        workers: settings.workers,
        claim_lease,
        retry: RETRY,
        tuning: harness_tuning(),
        deadline_rate: settings.hazards.deadline_rate,
    };
    let cluster =
        Cluster::start(config.clone(), &environment, stores.clone(), &worker_settings, crashes.clone(), settings.seed)
            .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the webhook endpoint")?;
    let (address, server) = cluster.serve(listener)?;
    environment.register_webhooks(&config, address);
    let people = people(&config, jira, ado).await?;
    let workload = Arc::new(Workload::new(
        people,
        stores.links.clone(),
        config.name.clone(),
        settings.seed,
        settings.hazards.people_out_of_scope,
    ));

    // The integration is running before people start work: the first poll sets the watermarks
    // (a first poll starts at the project's last change, and would treat earlier changes as history).
    cluster.poll_once().await;
    jira.set_fault_plan(settings.faults.plan(settings.seed, TIMEOUT_HOLD))?;
    ado.set_fault_plan(settings.faults.plan(settings.seed.wrapping_add(1), TIMEOUT_HOLD))?;
    let started = Instant::now();
    let credentials: [&dyn ServiceCredentials; 2] = [jira, ado];
    let outages = make_changes(settings, &workload, &cluster, credentials).await;
    let events_took = started.elapsed();

    // The storm ends: no more faults, nobody dies. What is left is settled by polls alone.
    crashes.disarm();
    flaky.disarm();
    cluster.end_deadlines();
    jira.clear_fault_plan();
    ado.clear_fault_plan();
    let settle_started = Instant::now();
    webhooks_settled(jira, ado).await;
    let gap = claim_lease.max(RETRY.max_delay) + Duration::from_millis(200);
    let mut cycles = None;
    let mut links = Default::default();
    for cycle in 1..=settings.max_settle_cycles {
        tokio::time::sleep(gap).await;
        cluster.poll_once().await;
        webhooks_settled(jira, ado).await;
        links = check_links(cluster.worker(0)).await?;
        if links.in_sync() {
            cycles = Some(cycle);
            break;
        }
    }
    let settle_took = settle_started.elapsed();
    if !links.in_sync() {
        name_item_histories(jira, ado, &links.out_of_sync_links.clone(), &mut links.examples);
    }

    // Quiescence: more cycles, and every webhook they cause, must write nothing at all.
    let before = integration_writes(jira, ado);
    let logged_before = [jira.exchanges().len(), ado.exchanges().len()];
    for _ in 0..2 {
        tokio::time::sleep(gap).await;
        cluster.poll_once().await;
        webhooks_settled(jira, ado).await;
    }
    let echo_writes = integration_writes(jira, ado) - before;
    if echo_writes > 0 {
        name_echo_writes(jira, ado, logged_before, &mut links.examples);
    }

    let made = workload.made().clone();
    let hazards = hazard_checks::check(
        cluster.worker(0),
        &stores.links.list_links(&config.name).await?,
        &made,
        [jira.exchanges(), ado.exchanges()],
        service_accounts(jira, ado),
        &outages,
        &links.out_of_sync_items,
    )
    .await?;
    let creations = creations(jira, ado);
    let log = &stores.log;
    let failures = log.list_failures(&config.name).await?;
    let conflicts = log.list_conflicts(&config.name).await?;
    for failure in failures.iter().take(5) {
        links.examples.push(format!(
            "failure side {} item {} ({} attempts{}): {}",
            failure.side,
            failure.item,
            failure.attempts,
            if failure.parked { ", parked" } else { "" },
            failure.error
        ));
    }
    let report = Report::new(Figures {
        settings: settings.clone(),
        events_took,
        settle_took,
        workload: &workload.counters,
        cluster: &cluster.counters,
        crashes: crashes.crashes(),
        faults: [jira.fault_stats(), ado.fault_stats()],
        store_faults: flaky.stats(),
        outages: outages.iter().map(|(start, end)| end.duration_since(*start)).collect(),
        webhooks: [jira.webhooks().stats(), ado.stats().webhooks],
        creations,
        links,
        hazards,
        echo_writes,
        conflicts: conflicts.len() as u64,
        parked: failures.iter().filter(|failure| failure.parked).count() as u64,
        failures_open: failures.len() as u64,
        poll_cycles_to_converge: cycles,
    });
    server.abort();
    environment.stop().await;
    Ok(report)
}

/// The first writes made after quiescence began, for whoever has to find out why.
fn name_echo_writes(
    jira: &RunningJira,
    ado: &RunningAzureDevops,
    logged_before: [usize; 2],
    examples: &mut Vec<String>,
) {
    for (system, exchanges, from) in
        [("Jira", jira.exchanges(), logged_before[0]), ("Azure DevOps", ado.exchanges(), logged_before[1])]
    {
        let writes = exchanges.iter().skip(from).filter(|exchange| {
            exchange.method != "GET" && !exchange.path.contains("search") && !exchange.path.ends_with("wiql")
        });
        for exchange in writes.take(5) {
            examples.push(format!(
                "echo write to {system}: {} {} -> {} {}",
                exchange.method,
                exchange.path,
                exchange.status,
                exchange.request_body.as_ref().map(ToString::to_string).unwrap_or_default()
            ));
        }
    }
}

/// Every write each system answered for the items of links left out of sync, in order, with who made
/// it: what a person changed, and what tandem wrote, for whoever has to find out why.
fn name_item_histories(
    jira: &RunningJira,
    ado: &RunningAzureDevops,
    links: &[[tandem_model::ItemRef; 2]],
    examples: &mut Vec<String>,
) {
    for [item1, item2] in links.iter().take(2) {
        for (system, exchanges, item) in [("Jira", jira.exchanges(), item1), ("Azure DevOps", ado.exchanges(), item2)] {
            let names: Vec<&str> = [Some(item.id.as_str()), item.key.as_deref()].into_iter().flatten().collect();
            let touches = |exchange: &&tandem_simulators::recording::RecordedExchange| {
                exchange.path.split('/').any(|segment| names.contains(&segment))
            };
            for (n, exchange) in exchanges.iter().enumerate().filter(|(_, exchange)| touches(exchange)) {
                let body = exchange.request_body.as_ref().map(ToString::to_string).unwrap_or_default();
                let version = exchange.response_body.as_ref().and_then(|body| {
                    body.pointer("/fields/updated").or_else(|| body.pointer("/rev")).map(ToString::to_string)
                });
                examples.push(format!(
                    "history of {system} {}: #{n} {} {} -> {} by {} {} {}",
                    item.label(),
                    exchange.method,
                    exchange.path,
                    exchange.status,
                    exchange.user.as_deref().unwrap_or("?"),
                    body.chars().take(160).collect::<String>(),
                    version.unwrap_or_default()
                ));
            }
        }
    }
}

/// The integration's service accounts as each simulator records its callers.
fn service_accounts(_jira: &RunningJira, ado: &RunningAzureDevops) -> [String; 2] {
    [SimUser::service_account().account_id, ado.service_account().id.to_string()]
}

/// People make `settings.events` changes, `concurrency` at a time, while the poller runs. With
/// credential outages switched on, Azure DevOps' and then Jira's service-account credentials expire for
/// a while (a third and two thirds of the way through); the windows are returned.
async fn make_changes(
    settings: &HarnessSettings,
    workload: &Arc<Workload>,
    cluster: &Arc<Cluster>,
    credentials: [&dyn ServiceCredentials; 2],
) -> Vec<(Instant, Instant)> {
    let progress = if settings.progress { ProgressBar::new(settings.events) } else { ProgressBar::hidden() };
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} changes ({per_sec}, {eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next = Arc::new(AtomicU64::new(0));
    let poller = {
        let cluster = cluster.clone();
        let every = settings.poll_every;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                cluster.poll_once().await;
            }
        })
    };
    let mut people = tokio::task::JoinSet::new();
    for _ in 0..settings.concurrency {
        let (workload, next, progress, events) = (workload.clone(), next.clone(), progress.clone(), settings.events);
        people.spawn(async move {
            loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                if number >= events {
                    return;
                }
                workload.event(number).await;
                progress.inc(1);
            }
        });
    }
    let outages = async {
        let Some(outage) = settings.hazards.credential_outage else {
            return Vec::new();
        };
        let mut windows = Vec::new();
        // Azure DevOps first (side 2), then Jira.
        for (share, side) in [(1, credentials[1]), (2, credentials[0])] {
            while next.load(Ordering::Relaxed) < settings.events * share / 3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let start = Instant::now();
            side.expire();
            tokio::time::sleep(outage).await;
            side.renew();
            windows.push((start, Instant::now()));
        }
        windows
    };
    let (windows, ()) = tokio::join!(outages, async { while people.join_next().await.is_some() {} });
    poller.abort();
    progress.finish_with_message("settling");
    windows
}

/// A simulator's service-account credentials, which the harness makes expire and then renews.
pub trait ServiceCredentials: Send + Sync {
    fn expire(&self);
    fn renew(&self);
}

impl ServiceCredentials for RunningJira {
    fn expire(&self) {
        self.expire_credentials();
    }
    fn renew(&self) {
        self.renew_credentials();
    }
}

impl ServiceCredentials for RunningAzureDevops {
    fn expire(&self) {
        self.expire_credentials();
    }
    fn renew(&self) {
        self.renew_credentials();
    }
}

async fn webhooks_settled(jira: &RunningJira, ado: &RunningAzureDevops) {
    // Bounded: a delivery stuck in retries must not hang the harness; polls cover what it carried.
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        jira.webhooks().settled().await;
        ado.hooks_settled().await;
    })
    .await;
}

fn creations(jira: &RunningJira, ado: &RunningAzureDevops) -> [Creations; 2] {
    let alice_in_ado =
        ado.identity("alice@fabrikam.example").map(|identity| identity.id.to_string()).unwrap_or_default();
    let (jira, ado) = (jira.stats(), ado.stats().recording);
    [
        Creations::count(&jira.creations_by_user, &jira.requests_by_user, &SimUser::alice().account_id),
        Creations::count(&ado.creations_by_user, &ado.requests_by_user, &alice_in_ado),
    ]
}

/// Writes the integration's service accounts have made, both systems together.
fn integration_writes(jira: &RunningJira, ado: &RunningAzureDevops) -> u64 {
    let alice = SimUser::alice().account_id;
    let alice_in_ado =
        ado.identity("alice@fabrikam.example").map(|identity| identity.id.to_string()).unwrap_or_default();
    let jira_writes: u64 = jira.stats().writes_by_user.iter().filter(|(user, _)| **user != alice).map(|(_, n)| n).sum();
    let ado_writes: u64 =
        ado.stats().recording.writes_by_user.iter().filter(|(user, _)| **user != alice_in_ado).map(|(_, n)| n).sum();
    jira_writes + ado_writes
}

fn simulators(environment: &LocalEnvironment) -> Result<(&RunningJira, &RunningAzureDevops)> {
    match (environment.running(Side::One), environment.running(Side::Two)) {
        (Some(jira), Some(ado)) => Ok((jira, ado)),
        _ => bail!("the harness runs the local example: a simulated Jira on side 1, Azure DevOps on side 2"),
    }
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("examples")
}

/// The local example integration (`examples/local.yaml`): every kind of field, comments both ways. Its
/// search lag covers the simulators' when they lag.
fn local_example(faults: &FaultRates) -> Result<IntegrationConfig> {
    let path = examples_dir().join("local.yaml");
    let lag = match faults.search_lag_ms.max {
        0 => "0s".to_string(),
        most => format!("{}ms", most + 1_000),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let text = text.replacen("search_lag: 0s", &format!("search_lag: {lag}"), 1);
    tandem_systems::load_str(&text, "local.yaml", &examples_dir())
        .map_err(|errors| anyhow::anyhow!("{}: {errors}", path.display()))
}

/// The store the workers share, behind the store faults of `flaky`.
async fn open_stores(
    choice: &StoreChoice,
    flaky: Arc<FlakyStore>,
) -> Result<(EngineStores, Option<tempfile::TempDir>)> {
    match choice {
        StoreChoice::Embedded => {
            let dir = tempfile::tempdir().context("a folder for the embedded store")?;
            let store = wiring::open_store(&dir.path().join("harness.redb"))?;
            Ok((EngineStores::from_one(Arc::new(Intercepted::new(store, flaky))), Some(dir)))
        }
        StoreChoice::Dynamodb { table } => {
            if std::env::var_os("AWS_ENDPOINT_URL").is_none() && std::env::var_os("AWS_REGION").is_none() {
                bail!("--store dynamodb needs AWS_ENDPOINT_URL (a local server: eval \"$(infra/local-aws.sh)\") or real AWS settings");
            }
            let store = tandem_store_dynamodb::DynamoStore::from_env(table.clone()).await;
            store.create_table().await.with_context(|| format!("creating the table {table}"))?;
            Ok((EngineStores::from_one(Arc::new(Intercepted::new(Arc::new(store), flaky))), None))
        }
    }
}

/// Alice's accounts in both systems, and whom she may assign bugs to there.
async fn people(config: &IntegrationConfig, jira: &RunningJira, ado: &RunningAzureDevops) -> Result<People> {
    // People retry like a browser does: a few times, then give up on that change.
    let alice = SimUser::alice();
    let jira_alice = JiraConnector::new(
        JiraConfig {
            base_url: jira.base_url().to_string(),
            project_key: config.side(Side::One).project.clone(),
            issue_type: config.side(Side::One).item_type.clone(),
        }
        .validate()?,
        &Credentials::JiraApiToken {
            email: alice.email.clone(),
            api_token: SecretString::new(alice.api_token.clone()),
        },
        harness_tuning().retry,
    )?;
    let ado_alice_identity = ado.identity("alice@fabrikam.example").context("the ADO simulator has Alice")?;
    let ado_alice = AzureDevopsConnector::new(
        AzureDevopsConfig {
            organization_url: ado.organization_url().to_string(),
            project: config.side(Side::Two).project.clone(),
            work_item_type: config.side(Side::Two).item_type.clone(),
            identities_url: None,
        }
        .validate()?,
        &Credentials::AzureDevopsPat { pat: SecretString::new(ado_alice_identity.pat.clone()) },
        harness_tuning().retry,
    )?;
    let jira_people = [SimUser::alice(), SimUser::bob()]
        .into_iter()
        .map(|user| UserRef { id: user.account_id, email: Some(user.email), display_name: Some(user.display_name) })
        .collect();
    let ado_people = ["alice@fabrikam.example", "bob@fabrikam.example"]
        .into_iter()
        .filter_map(|email| ado.identity(email))
        .map(|identity| UserRef {
            id: identity.id.to_string(),
            email: Some(identity.email),
            display_name: Some(identity.display_name),
        })
        .collect();
    let connectors: [Arc<dyn Connector>; 2] = [Arc::new(jira_alice), Arc::new(ado_alice)];
    let elsewhere = [
        vec![jira_as(jira, &alice, "OPS", "Task")?, jira_as(jira, &alice, "WEB", "Bug")?],
        vec![
            ado_as(ado, &ado_alice_identity.pat, "Fabrikam", "Task")?,
            ado_as(ado, &ado_alice_identity.pat, "Contoso", "Bug")?,
        ],
    ];
    let jira_access = JiraAccess {
        base_url: jira.base_url().to_string(),
        email: alice.email.clone(),
        api_token: alice.api_token.clone(),
    };
    Ok(People { connectors, assignees: [jira_people, ado_people], elsewhere, jira: jira_access })
}

/// Alice's Jira connector for a project and issue type the integration does not sync.
fn jira_as(jira: &RunningJira, alice: &SimUser, project: &str, issue_type: &str) -> Result<Arc<dyn Connector>> {
    let config = JiraConfig {
        base_url: jira.base_url().to_string(),
        project_key: project.into(),
        issue_type: issue_type.into(),
    };
    let credentials =
        Credentials::JiraApiToken { email: alice.email.clone(), api_token: SecretString::new(alice.api_token.clone()) };
    Ok(Arc::new(JiraConnector::new(config.validate()?, &credentials, harness_tuning().retry)?))
}

/// Alice's Azure DevOps connector for a project and work item type the integration does not sync.
fn ado_as(ado: &RunningAzureDevops, pat: &str, project: &str, work_item_type: &str) -> Result<Arc<dyn Connector>> {
    let config = AzureDevopsConfig {
        organization_url: ado.organization_url().to_string(),
        project: project.into(),
        work_item_type: work_item_type.into(),
        identities_url: None,
    };
    let credentials = Credentials::AzureDevopsPat { pat: SecretString::new(pat.to_string()) };
    Ok(Arc::new(AzureDevopsConnector::new(config.validate()?, &credentials, harness_tuning().retry)?))
}
