//! The convergence harness: proves, with figures, that tandem neither duplicates, nor loses, nor
//! loops, under the faults real systems have.
//!
//! One run: two simulated systems (Jira and Azure DevOps, or Jira and Salesforce) with a seeded fault plan (latency, 5xx, 429 with
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
pub mod systems;
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
use systems::{Desk, Field, Simulated};
use tandem_cli::local::LocalEnvironment;
use tandem_cli::wiring::{self, ConnectorTuning};
use tandem_engine::ports::Connector;
use tandem_engine::{EngineStores, RetryPolicy};
use tandem_mapping::{IntegrationConfig, SideConfig};
use tandem_model::Side;
use tandem_simulators::faults::{FaultPlan, LatencyRange};
use tandem_store::intercept::Intercepted;
use verdict::{check_links, Creations};
use workload::{People, Workload};

/// The two systems a run joins, each as its local example configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Pair {
    /// `examples/local.yaml`.
    JiraAzureDevops,
    /// `examples/local-salesforce.yaml`.
    JiraSalesforce,
}

impl Pair {
    fn example(self) -> &'static str {
        match self {
            Pair::JiraAzureDevops => "local.yaml",
            Pair::JiraSalesforce => "local-salesforce.yaml",
        }
    }
}

impl std::str::FromStr for Pair {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "jira-azure-devops" => Ok(Pair::JiraAzureDevops),
            "jira-salesforce" => Ok(Pair::JiraSalesforce),
            other => bail!("the pairs are `jira-azure-devops` and `jira-salesforce`, not `{other}`"),
        }
    }
}

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
    /// The target run: 20% 5xx, 10% 429, 5% timeouts, 10% of webhooks dropped, each delivered
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
    pub pair: Pair,
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
    let config = Arc::new(local_example(settings.pair, &settings.faults)?);
    let environment = LocalEnvironment::prepare(&config, None).await?;
    let systems = [systems::simulated(&environment, Side::One)?, systems::simulated(&environment, Side::Two)?];
    let both = [systems[0].as_ref(), systems[1].as_ref()];
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
    let people = people(&config, &environment, both)?;
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
    for (n, system) in (0u64..).zip(both) {
        system.controls().set_fault_plan(settings.faults.plan(settings.seed.wrapping_add(n), TIMEOUT_HOLD))?;
    }
    let started = Instant::now();
    let outages = make_changes(settings, &workload, &cluster, both).await;
    let events_took = started.elapsed();

    // The storm ends: no more faults, nobody dies. What is left is settled by polls alone.
    crashes.disarm();
    flaky.disarm();
    cluster.end_deadlines();
    for system in both {
        system.controls().clear_fault_plan();
    }
    let settle_started = Instant::now();
    notices_settled(both).await;
    let gap = claim_lease.max(RETRY.max_delay) + Duration::from_millis(200);
    let titles = both.map(|system| system.desk().ok().and_then(|desk| desk.field(Field::Title)).unwrap_or("title"));
    let mut cycles = None;
    let mut links = Default::default();
    for cycle in 1..=settings.max_settle_cycles {
        tokio::time::sleep(gap).await;
        cluster.poll_once().await;
        notices_settled(both).await;
        links = check_links(cluster.worker(0), titles).await?;
        if links.in_sync() {
            cycles = Some(cycle);
            break;
        }
    }
    let settle_took = settle_started.elapsed();
    if !links.in_sync() {
        name_item_histories(both, &links.out_of_sync_links.clone(), &mut links.examples);
    }

    // Quiescence: more cycles, and every notice they cause, must write nothing at all.
    let before = integration_writes(both);
    let logged_before = both.map(|system| system.exchanges().len());
    for _ in 0..2 {
        tokio::time::sleep(gap).await;
        cluster.poll_once().await;
        notices_settled(both).await;
    }
    let echo_writes = integration_writes(both) - before;
    if echo_writes > 0 {
        name_echo_writes(both, logged_before, &mut links.examples);
    }

    let made = workload.made().clone();
    let hazards = hazard_checks::check(
        cluster.worker(0),
        &stores.links.list_links(&config.name).await?,
        &made,
        both,
        &outages,
        &links.out_of_sync_items,
    )
    .await?;
    let creations = both.map(|system| {
        let recording = system.recording();
        Creations::count(&recording.creations_by_user, &recording.requests_by_user, &system.person())
    });
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
        systems: both.map(|system| system.name().to_string()),
        events_took,
        settle_took,
        workload: &workload.counters,
        cluster: &cluster.counters,
        crashes: crashes.crashes(),
        faults: both.map(|system| system.controls().fault_stats()),
        store_faults: flaky.stats(),
        outages: outages.iter().map(|(start, end)| end.duration_since(*start)).collect(),
        webhooks: both.map(|system| system.notices()),
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
    drop(systems);
    environment.stop().await;
    Ok(report)
}

/// The first writes made after quiescence began, for whoever has to find out why.
fn name_echo_writes(systems: [&dyn Simulated; 2], logged_before: [usize; 2], examples: &mut Vec<String>) {
    for (system, from) in systems.into_iter().zip(logged_before) {
        for exchange in system.exchanges().iter().skip(from).filter(|exchange| systems::is_write(exchange)).take(5) {
            examples.push(format!(
                "echo write to {}: {} {} -> {} {}",
                system.name(),
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
fn name_item_histories(systems: [&dyn Simulated; 2], links: &[[tandem_model::ItemRef; 2]], examples: &mut Vec<String>) {
    for pair in links.iter().take(2) {
        for (system, item) in systems.into_iter().zip(pair) {
            let names: Vec<&str> = [Some(item.id.as_str()), item.key.as_deref()].into_iter().flatten().collect();
            let touches = |exchange: &&tandem_simulators::recording::RecordedExchange| {
                exchange.path.split('/').any(|segment| names.contains(&segment))
                    || exchange.query.iter().any(|(_, value)| names.iter().any(|name| value.contains(name)))
            };
            for (n, exchange) in system.exchanges().iter().enumerate().filter(|(_, exchange)| touches(exchange)) {
                let body = exchange.request_body.as_ref().map(ToString::to_string).unwrap_or_default();
                let version = exchange.response_body.as_ref().and_then(|body| system.version_in(body));
                examples.push(format!(
                    "history of {} {}: #{n} {} {} -> {} by {} {} {}",
                    system.name(),
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

/// People make `settings.events` changes, `concurrency` at a time, while the poller runs. With
/// credential outages switched on, side 2's and then side 1's service-account credentials expire for
/// a while (a third and two thirds of the way through); the windows are returned.
async fn make_changes(
    settings: &HarnessSettings,
    workload: &Arc<Workload>,
    cluster: &Arc<Cluster>,
    systems: [&dyn Simulated; 2],
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
        for (share, system) in [(1, systems[1]), (2, systems[0])] {
            while next.load(Ordering::Relaxed) < settings.events * share / 3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let start = Instant::now();
            system.controls().expire_credentials();
            tokio::time::sleep(outage).await;
            system.controls().renew_credentials();
            windows.push((start, Instant::now()));
        }
        windows
    };
    let (windows, ()) = tokio::join!(outages, async { while people.join_next().await.is_some() {} });
    poller.abort();
    progress.finish_with_message("settling");
    windows
}

async fn notices_settled(systems: [&dyn Simulated; 2]) {
    // Bounded: a notice stuck in retries must not hang the harness; polls cover what it carried.
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        for system in systems {
            system.notices_settled().await;
        }
    })
    .await;
}

/// Writes the integration's service accounts have made, both systems together (everyone's but the
/// person's: the simulators' meddling edits are the person's too).
fn integration_writes(systems: [&dyn Simulated; 2]) -> u64 {
    systems
        .into_iter()
        .map(|system| {
            let person = system.person();
            let writes = system.recording().writes_by_user;
            writes.iter().filter(|(user, _)| **user != person).map(|(_, n)| n).sum::<u64>()
        })
        .sum()
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("examples")
}

/// The pair's local example integration: every kind of field, comments both ways. Its search lag
/// covers the simulators' when they lag.
fn local_example(pair: Pair, faults: &FaultRates) -> Result<IntegrationConfig> {
    let path = examples_dir().join(pair.example());
    let lag = match faults.search_lag_ms.max {
        0 => "0s".to_string(),
        most => format!("{}ms", most + 1_000),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let text = text.replacen("search_lag: 0s", &format!("search_lag: {lag}"), 1);
    tandem_systems::load_str(&text, pair.example(), &examples_dir())
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

/// Alice's accounts in both systems: her connectors (as the integration's sides, and for the places
/// the integration leaves alone), and how she works in each.
fn people(config: &IntegrationConfig, environment: &LocalEnvironment, systems: [&dyn Simulated; 2]) -> Result<People> {
    let desks = [systems[0].desk()?, systems[1].desk()?];
    let connector = |side: Side, place: Option<(&str, &str)>| -> Result<Arc<dyn Connector>> {
        let mut settings: SideConfig = config.side(side).clone();
        if let Some((project, item_type)) = place {
            (settings.project, settings.item_type) = (project.to_string(), item_type.to_string());
        }
        // People retry like a browser does: a few times, then give up on that change.
        environment.person_connector(side, &settings, harness_tuning().retry)
    };
    let elsewhere = |side: Side, desk: &Arc<dyn Desk>| -> Result<Vec<Arc<dyn Connector>>> {
        desk.elsewhere().into_iter().map(|place| connector(side, Some(place))).collect()
    };
    Ok(People {
        connectors: [connector(Side::One, None)?, connector(Side::Two, None)?],
        elsewhere: [elsewhere(Side::One, &desks[0])?, elsewhere(Side::Two, &desks[1])?],
        desks,
    })
}
