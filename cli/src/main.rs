//! The `tandem` command.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use tandem_cli::backfill::{self, BackfillRequest};
use tandem_cli::state::StatePlace;
use tandem_cli::{local, server, wiring};
use tandem_model::Side;

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "Two-way sync of work items between two systems (Jira Cloud, Azure DevOps, …)"
)]
struct Cli {
    /// The deployed stack's DynamoDB table (its `TableName` output) that the state commands
    /// (`integrations`, `backfill`, `resync`, `history`, `watermark`, `failures`, `conflicts`) work on; without it (or
    /// --stack) they work on the local store. Accepted before or after the command. AWS credentials and
    /// region come from the environment (AWS_PROFILE, AWS_REGION).
    #[arg(long, global = true, env = "TANDEM_TABLE")]
    table: Option<String>,
    /// The deployed stack (`sam deploy`'s stack name) whose table the state commands work on, found
    /// through its `TableName` output; instead of --table.
    #[arg(long, global = true, env = "TANDEM_STACK", conflicts_with = "table")]
    stack: Option<String>,
    /// The embedded store's file: `serve` keeps its state there (created if missing, kept across
    /// restarts), and the state commands read it when no table is given.
    #[arg(long, global = true, default_value = ".tandem/state.redb", env = "TANDEM_STORE")]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

/// Which integration a state command is about: named, or the one an integration file describes.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct Which {
    /// The integration file (its `name` is used).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The integration's name, as stored (`tandem integrations list`).
    #[arg(long)]
    integration: Option<String>,
}

impl Which {
    fn name(&self) -> Result<String> {
        match (&self.integration, &self.config) {
            (Some(name), _) => Ok(name.clone()),
            (None, Some(config)) => Ok(load(config)?.name.clone()),
            (None, None) => bail!("name the integration with --config FILE or --integration NAME"),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the webhook endpoints and the poller locally, on the embedded store. Sides configured with
    /// `simulator: true` get a bundled simulator started in-process.
    Serve {
        #[arg(long, short)]
        config: PathBuf,
        /// Where the webhook endpoints listen.
        #[arg(long, default_value = "127.0.0.1:8080", env = "TANDEM_LISTEN")]
        listen: String,
        /// A JSON file of secrets (name → credentials) for sides that talk to real systems.
        #[arg(long, env = "TANDEM_SECRETS")]
        secrets: Option<PathBuf>,
        /// Seconds between polls (overrides the configuration's `polling.interval`).
        #[arg(long)]
        poll_seconds: Option<u64>,
        /// Seconds a creation claim keeps other workers off; after a crash, the next attempt waits this
        /// long, then adopts the copy the crashed attempt may have created instead of creating another.
        /// By default, longer than the slowest call the connectors may make (Retry-After waits included).
        #[arg(long)]
        claim_lease_seconds: Option<u64>,
        /// With simulators: create a sample Jira bug and an Azure DevOps comment so the sync can be watched.
        #[arg(long)]
        demo: bool,
        /// Where the status page listens (`off` for none): each integration's health, watermarks and
        /// lag, activity, failures, conflicts and item histories. Keep it on this machine.
        #[arg(long, default_value = "127.0.0.1:8081", env = "TANDEM_STATUS")]
        status: String,
        /// Let the status page change state: its failures get a "Retry now" button.
        #[arg(long)]
        status_changes: bool,
    },
    /// Check an integration file and report every problem with file:line:column.
    Validate { file: PathBuf },
    /// Print the JSON Schema of integration files (for editors).
    Schema,
    /// Test each side's service account: authenticate, read the project and item type, report missing permissions.
    Check {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long, env = "TANDEM_SECRETS")]
        secrets: Option<PathBuf>,
    },
    /// Show or set a side's polling watermark.
    Watermark {
        #[command(flatten)]
        which: Which,
        /// Side 1 or 2.
        #[arg(long)]
        side: u8,
        /// New watermark (RFC 3339, e.g. 2026-11-20T08:00:00Z); omit to show the current one.
        #[arg(long)]
        set: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List recorded sync failures, or make a parked one due again.
    Failures {
        #[command(flatten)]
        which: Which,
        /// Retry this item (`1:10001` = side 1, item 10001) at the next poll.
        #[arg(long)]
        retry: Option<String>,
    },
    /// Store, activate, deactivate or list the integrations the deployed Lambda functions run (in the
    /// stack's DynamoDB table, given with --table or TANDEM_TABLE).
    Integrations {
        #[command(subcommand)]
        action: IntegrationAction,
    },
    /// List recorded conflicts (fields changed on both sides) and what the policy chose.
    Conflicts {
        #[command(flatten)]
        which: Which,
    },
    /// Sync the named items now, from their current state, as a webhook would (nothing is written
    /// where both sides agree), with progress and a summary. On a deployed table the secrets come
    /// from Secrets Manager; locally, from the integration file (--config) and --secrets, on the
    /// local store (stop `tandem serve` first: it holds the store).
    Resync {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        options: ResyncOptions,
    },
    /// Show what the syncs of an item and its copy did, newest first: what started each (webhook
    /// delivery, poll, retry, manual), the fields written (old → new), conflicts and how the policy
    /// decided, comments copied or removed, failures; and the item's open failure.
    History {
        #[command(flatten)]
        which: Which,
        /// The item, as SIDE:ITEM (`1:OPS-7` by key or id, `2:42`).
        item: String,
        /// At most this many syncs.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The users table (`users.map_file`).
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Show what a changed integration file would do before it is in force, writing nothing: for
    /// linked pairs, each field it would write otherwise than the configuration in force (from the
    /// items as they are now), and which items not linked a changed filter would start or stop
    /// copying. On a deployed table the stored configuration is in force, and the plan is recorded so
    /// that `integrations put` accepts the change; locally, name the file in force with --current.
    Plan {
        /// The changed integration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Locally: the integration file in force (what `tandem serve` runs).
        #[arg(long)]
        current: Option<PathBuf>,
        /// Only these linked items (SIDE:ITEM, by key or id); by default the first --items links.
        targets: Vec<String>,
        /// How many linked pairs, and unlinked items per side whose filter changed, to look at.
        #[arg(long, default_value_t = 20)]
        items: usize,
        /// Locally: a JSON file of secrets for sides that talk to real systems (as `serve` takes it).
        #[arg(long, env = "TANDEM_SECRETS")]
        secrets: Option<PathBuf>,
        /// Print JSON (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Sync the items that existed before the integration was active: moves the watermarks back to
    /// --since, so the poller works through everything changed since (items already linked cost no
    /// write); on a deployed table, follows it until each side has caught up.
    Backfill {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        backfill: BackfillOptions,
        /// Only this side (1 or 2); both by default.
        #[arg(long)]
        side: Option<u8>,
    },
}

impl Command {
    /// Whether the command reads or changes an integration's state (and so needs to know where it is).
    fn works_on_state(&self) -> bool {
        !matches!(self, Command::Serve { .. } | Command::Validate { .. } | Command::Schema | Command::Check { .. })
    }
}

#[derive(Subcommand)]
enum UsersAction {
    /// Write a users sheet to start from: the people seen on each side (in items changed since
    /// --since), pairs by e-mail filled in, the rest left empty for a person to fill.
    Template {
        #[command(flatten)]
        which: Which,
        /// The sheet to write: .xlsx (names as cell notes) or .csv.
        #[arg(long, short, default_value = "users.xlsx")]
        output: PathBuf,
        /// Look at items changed since (RFC 3339); the last 90 days by default.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        /// Locally: a JSON file of secrets for sides that talk to real systems (as `serve` takes it).
        #[arg(long, env = "TANDEM_SECRETS")]
        secrets: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct ResyncOptions {
    /// The items, as SIDE:ITEM (`1:OPS-7` by key or id, `2:42`).
    #[arg(required = true)]
    items: Vec<String>,
    /// Locally: a JSON file of secrets for sides that talk to real systems (as `serve` takes it).
    #[arg(long, env = "TANDEM_SECRETS")]
    secrets: Option<PathBuf>,
}

#[derive(clap::Args)]
struct BackfillOptions {
    /// Where the backfill starts (RFC 3339): items changed since then are synced.
    #[arg(long, default_value = "2000-01-01T00:00:00Z")]
    since: chrono::DateTime<chrono::Utc>,
    /// Move the watermarks and return, without following the poller.
    #[arg(long)]
    no_follow: bool,
    /// Seconds between looks at the poller's progress.
    #[arg(long, default_value_t = 15)]
    every: u64,
}

#[derive(Subcommand)]
enum IntegrationAction {
    /// Validate an integration file and store it (a new integration starts inactive). The pairs of its
    /// `users.map_file` are stored with it, inline. Changing a stored configuration needs its plan
    /// shown first (`tandem plan`), or --force.
    Put {
        #[arg(long, short)]
        config: PathBuf,
        /// Activate it too.
        #[arg(long)]
        activate: bool,
        /// With --activate: sync the items that exist already (see `tandem backfill`).
        #[arg(long, requires = "activate")]
        backfill: bool,
        /// Store a changed configuration whose plan (`tandem plan`) was not shown.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        options: BackfillOptions,
    },
    Activate {
        name: String,
        /// Sync the items that exist already (see `tandem backfill`).
        #[arg(long)]
        backfill: bool,
        #[command(flatten)]
        options: BackfillOptions,
    },
    /// A deactivated integration syncs nothing; its links and state are kept.
    Deactivate {
        name: String,
    },
    List,
}

fn main() -> Result<()> {
    tandem_lambda_runtime::run_main(run())?
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let mut place = StatePlace::choose(cli.table.clone(), cli.store.clone());
    if let Some(stack) = cli.stack.as_deref().filter(|stack| !stack.trim().is_empty()) {
        if cli.command.works_on_state() {
            place = StatePlace::of_stack(stack).await?;
        }
    }
    match cli.command {
        Command::Validate { file } => match tandem_systems::load_file(&file) {
            Ok(config) => {
                println!(
                    "{}: valid integration `{}` ({} field mappings)",
                    file.display(),
                    config.name,
                    config.fields.len()
                );
                Ok(())
            }
            Err(problems) => {
                eprintln!("{problems}");
                bail!("{} problem(s) in {}", problems.problems.len(), file.display())
            }
        },
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&tandem_systems::json_schema())?);
            Ok(())
        }
        Command::Serve { config, listen, secrets, poll_seconds, claim_lease_seconds, demo, status, status_changes } => {
            // `serve` runs the file it is given on its own embedded store, whatever table is named.
            let store = cli.store;
            let config = load(&config)?;
            local::reset_store_for_simulators(&config, &store)?;
            let store = wiring::open_store(&store)?;
            let environment = local::LocalEnvironment::prepare(&config, secrets.as_deref()).await?;
            let listener =
                tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
            let address = listener.local_addr()?;
            let poll = poll_seconds.map(std::time::Duration::from_secs).unwrap_or(config.polling.interval);
            let settings = wiring::ServeSettings {
                poll_interval: Some(poll),
                claim_lease: claim_lease_seconds.map(std::time::Duration::from_secs),
            };
            let served = wiring::serve_integration(
                config.clone(),
                environment.endpoints(),
                environment.secrets().as_ref(),
                store,
                settings,
            )
            .await?;
            let mut running = server::start(listener, vec![served.clone()])?;
            environment.register_webhooks(&config, address);
            println!("tandem is serving `{}` on http://{address}", config.name);
            if status != "off" {
                let listener = tokio::net::TcpListener::bind(&status).await.with_context(|| {
                    format!("cannot listen on {status} for the status page (--status ADDR for another address, --status off for none)")
                })?;
                let address = running.serve_status(listener, status_changes)?;
                let mode = if status_changes { "retries allowed" } else { "read-only" };
                println!("  status page: http://{address}/status ({mode})");
            }
            for side in Side::BOTH {
                println!(
                    "  side {side} ({}): webhook URL {}",
                    config.side(side).system,
                    running.webhook_url(&config.name, side)
                );
            }
            if demo {
                environment.run_demo(&served.engine).await?;
            }
            running.run_until_signal().await;
            environment.stop().await;
            Ok(())
        }
        Command::Check { config, secrets } => {
            let config = load(&config)?;
            let environment = local::LocalEnvironment::prepare(&config, secrets.as_deref()).await?;
            let healthy = wiring::check(&config, environment.endpoints(), environment.secrets().as_ref()).await?;
            environment.stop().await;
            if healthy {
                Ok(())
            } else {
                bail!("the service accounts lack what the mapping needs (see above)")
            }
        }
        Command::Watermark { which, side, set } => {
            let (name, side) = (which.name()?, parse_side(side)?);
            let store = place.open().await?.watermarks;
            if let Some(at) = set {
                store.set_watermark(&name, side, at).await?;
                println!("{name} side {side}: watermark set to {} in {place}", at.to_rfc3339());
            } else {
                match store.get_watermark(&name, side).await? {
                    Some(at) => println!("{name} side {side}: {} ({place})", at.to_rfc3339()),
                    None => println!(
                        "{name} side {side}: no watermark yet in {place} (the first poll starts at the project's last update)"
                    ),
                }
            }
            Ok(())
        }
        Command::Failures { which, retry } => failures(&place, &which.name()?, retry).await,
        Command::Integrations { action } => integrations(&place, action).await,
        Command::Conflicts { which } => conflicts(&place, &which.name()?).await,
        Command::Resync { which, options } => resync(&place, &which, &options).await,
        Command::Users { action: UsersAction::Template { which, output, since, force, secrets } } => {
            if output.exists() && !force {
                bail!("{} exists: pass --force to replace it", output.display());
            }
            let (engine, environment) = engine_of(&place, &which, secrets.as_deref()).await?;
            let since = since.unwrap_or_else(|| chrono::Utc::now() - chrono::Duration::days(90));
            let template = tandem_cli::users_template::build(&engine, since).await;
            if let Some(environment) = environment {
                environment.stop().await;
            }
            let template = template?;
            tandem_cli::users_template::write(&template, &output)?;
            println!("{}: {template}", output.display());
            println!("fill in the empty cells, then name the sheet in `users.map_file`");
            Ok(())
        }
        Command::Plan { config, current, targets, items, secrets, json } => {
            let request = PlanRequest { config, current, targets, items, secrets, json };
            plan(&place, &request).await
        }
        Command::History { which, item, limit, json } => {
            let (side, item) = tandem_cli::resync::parse_target(&item)?;
            let stores = place.open().await?;
            let now = chrono::Utc::now();
            let history = tandem_cli::history::item_history(&stores, &which.name()?, side, &item, limit, now).await?;
            match json {
                true => println!("{}", serde_json::to_string_pretty(&history)?),
                false => print!("{history}"),
            }
            Ok(())
        }
        Command::Backfill { which, backfill: options, side } => {
            let sides = match side {
                Some(side) => vec![parse_side(side)?],
                None => Side::BOTH.to_vec(),
            };
            let request = BackfillRequest { integration: which.name()?, sides, since: options.since };
            let before = backfill::rewind(&place, &request).await?;
            follow_backfill(&place, &request, &before, &options).await
        }
    }
}

async fn resync(place: &StatePlace, which: &Which, options: &ResyncOptions) -> Result<()> {
    let targets =
        options.items.iter().map(|item| tandem_cli::resync::parse_target(item)).collect::<Result<Vec<_>>>()?;
    let name = which.name()?;
    let (engine, environment) = engine_of(place, which, options.secrets.as_deref()).await?;
    let summary = tandem_cli::resync::resync(&engine, &targets).await;
    if let Some(environment) = environment {
        environment.stop().await;
    }
    println!("{name}: {summary}");
    if !summary.failures.is_empty() {
        bail!(
            "{} item(s) could not be synced (see above; `tandem failures` lists what is retried)",
            summary.failures.len()
        );
    }
    Ok(())
}

/// An integration file's text as stored: a stored integration has no folder, so the users sheet goes
/// in with it, as inline pairs; with notes of what was inlined.
fn storable_file(config: &std::path::Path) -> Result<(String, Vec<String>)> {
    let yaml = std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let folder = config.parent().unwrap_or(std::path::Path::new("."));
    tandem_mapping::storable_text(&yaml, folder).map_err(|problem| anyhow::anyhow!("{}: {problem}", config.display()))
}

/// An integration's engine: the deployed one on a table (secrets from Secrets Manager), or on the local
/// store from the integration file, with the local environment (simulators) it calls, to stop after.
async fn engine_of(
    place: &StatePlace,
    which: &Which,
    secrets: Option<&std::path::Path>,
) -> Result<(Arc<tandem_engine::Engine>, Option<local::LocalEnvironment>)> {
    match place {
        StatePlace::Table(table) => Ok((backfill::deployed_engine(table, &which.name()?).await?, None)),
        StatePlace::Local(store) => {
            let file = which
                .config
                .as_ref()
                .context("locally, name the integration file with --config: its sides say which systems to call")?;
            let config = load(file)?;
            let environment = local::LocalEnvironment::prepare(&config, secrets).await?;
            Ok((local_engine(store, config, &environment).await?, Some(environment)))
        }
    }
}

/// An integration's engine on the local store, calling the systems `environment` reaches.
async fn local_engine(
    store: &std::path::Path,
    config: Arc<tandem_mapping::IntegrationConfig>,
    environment: &local::LocalEnvironment,
) -> Result<Arc<tandem_engine::Engine>> {
    if !store.exists() {
        bail!("there is no local store at {} (`tandem serve` keeps one there)", store.display());
    }
    let settings = wiring::ServeSettings { poll_interval: None, claim_lease: None };
    let secrets = environment.secrets();
    let served = wiring::serve_integration(
        config,
        environment.endpoints(),
        secrets.as_ref(),
        wiring::open_store(store)?,
        settings,
    )
    .await?;
    Ok(served.engine.clone())
}

struct PlanRequest {
    config: PathBuf,
    current: Option<PathBuf>,
    targets: Vec<String>,
    items: usize,
    secrets: Option<PathBuf>,
    json: bool,
}

async fn plan(place: &StatePlace, request: &PlanRequest) -> Result<()> {
    let planned_config = load(&request.config)?;
    let name = planned_config.name.clone();
    let mut recorder = None;
    let (in_force, environment) = match place {
        StatePlace::Table(table) => {
            let runtime = backfill::deployed_runtime(table).await;
            let in_force = runtime
                .stored_engine(&name)
                .await?
                .with_context(|| format!("no integration named `{name}` in table {table}: nothing is in force to compare with (`tandem integrations put` stores it)"))?;
            recorder = Some(runtime);
            (in_force, None)
        }
        StatePlace::Local(store) => {
            let current = request
                .current
                .as_ref()
                .context("locally, name the integration file in force (what `tandem serve` runs) with --current")?;
            let environment = local::LocalEnvironment::prepare(&planned_config, request.secrets.as_deref()).await?;
            (local_engine(store, load(current)?, &environment).await?, Some(environment))
        }
    };
    let planned = in_force.reconfigured(planned_config)?;
    let links = plan_links(&planned, &request.targets, request.items).await?;
    let since = chrono::Utc::now() - chrono::Duration::days(365);
    let report = tandem_cli::plan::plan(&planned, &in_force, &links, request.items, since).await;
    if let Some(environment) = environment {
        environment.stop().await;
    }
    let report = report?;
    match request.json {
        true => println!("{}", serde_json::to_string_pretty(&report)?),
        false => print!("{report}"),
    }
    if let Some(runtime) = recorder {
        let (text, _) = storable_file(&request.config)?;
        runtime.store().record_plan(&name, &text).await?;
        println!("plan recorded: `tandem integrations put --config {}` accepts this change", request.config.display());
    }
    Ok(())
}

/// The links a plan looks at: those of the named items, or the first `items`.
async fn plan_links(
    engine: &tandem_engine::Engine,
    targets: &[String],
    items: usize,
) -> Result<Vec<tandem_engine::ports::Link>> {
    let links = &engine.stores().links;
    let integration = &engine.config().name;
    if targets.is_empty() {
        return Ok(links.list_links(integration).await?.into_iter().take(items).collect());
    }
    let mut chosen = Vec::new();
    for target in targets {
        let (side, item) = tandem_cli::resync::parse_target(target)?;
        let link = tandem_cli::history::find_link(engine.stores(), integration, side, &item)
            .await?
            .with_context(|| format!("{target} is not linked: a plan compares what linked pairs would be written"))?;
        chosen.push(link);
    }
    Ok(chosen)
}

/// After the watermarks moved back: follows the deployed poller, or says how the local one is started.
async fn follow_backfill(
    place: &StatePlace,
    request: &BackfillRequest,
    before: &backfill::TalliesBefore,
    options: &BackfillOptions,
) -> Result<()> {
    match place {
        _ if options.no_follow => Ok(()),
        StatePlace::Table(table) => {
            let every = std::time::Duration::from_secs(options.every.max(1));
            backfill::follow(table, request, before, every).await
        }
        StatePlace::Local(_) => {
            println!("`tandem serve` works through them on its next poll (its log shows each page)");
            Ok(())
        }
    }
}

async fn failures(place: &StatePlace, name: &str, retry: Option<String>) -> Result<()> {
    let store = place.open().await?.log;
    if let Some(target) = retry {
        let (side, item) = target.split_once(':').context("--retry takes SIDE:ITEM, e.g. 1:10001")?;
        let side = parse_side(side.parse().context("side must be 1 or 2")?)?;
        let item = tandem_model::ItemId::new(item);
        if !tandem_engine::unpark_failure(store.as_ref(), name, side, &item, chrono::Utc::now()).await? {
            bail!("no failure recorded for {name} side {side} item {item} in {place}");
        }
        println!("side {side} item {item} will be retried at the next poll");
        return Ok(());
    }
    let failures = store.list_failures(name).await?;
    if failures.is_empty() {
        println!("no failures recorded for {name} in {place}");
    }
    for failure in failures {
        println!(
            "side {} item {}: {} attempt(s), {}{}\n    {}",
            failure.side,
            failure.item,
            failure.attempts,
            if failure.parked { "PARKED" } else { "retrying" },
            failure.next_attempt_at.map(|at| format!(" at {}", at.to_rfc3339())).unwrap_or_default(),
            failure.error
        );
    }
    Ok(())
}

async fn conflicts(place: &StatePlace, name: &str) -> Result<()> {
    let conflicts = place.open().await?.log.list_conflicts(name).await?;
    if conflicts.is_empty() {
        println!("no conflicts recorded for {name} in {place}");
    }
    for conflict in conflicts {
        println!(
            "{} {} ↔ {} field `{}`: side 1 {:?}, side 2 {:?} → side {} won ({})",
            conflict.at.to_rfc3339(),
            conflict.side1.label(),
            conflict.side2.label(),
            conflict.field,
            conflict.side1_value.as_text().unwrap_or_default(),
            conflict.side2_value.as_text().unwrap_or_default(),
            conflict.winner,
            conflict.policy
        );
    }
    Ok(())
}

fn load(path: &std::path::Path) -> Result<Arc<tandem_mapping::IntegrationConfig>> {
    tandem_systems::load_file(path).map(Arc::new).map_err(|problems| anyhow::anyhow!("{problems}"))
}

fn parse_side(side: u8) -> Result<Side> {
    match side {
        1 => Ok(Side::One),
        2 => Ok(Side::Two),
        other => bail!("side must be 1 or 2, not {other}"),
    }
}

async fn integrations(place: &StatePlace, action: IntegrationAction) -> Result<()> {
    let table = place.table()?;
    let store = tandem_store_dynamodb::DynamoStore::from_env(table).await;
    let set_active = |name: String, active: bool| {
        let store = store.clone();
        async move {
            if !store.set_active(&name, active).await? {
                bail!("no integration named `{name}` in table {table}: store it with `tandem integrations put`");
            }
            println!("{name}: {}", if active { "active" } else { "inactive" });
            Ok(())
        }
    };
    match action {
        IntegrationAction::Put { config, activate, backfill, force, options } => {
            let parsed = load(&config)?;
            let (yaml, notes) = storable_file(&config)?;
            for note in notes {
                eprintln!("note: {note}");
            }
            let stored = store.get_integration(&parsed.name).await?;
            if stored.is_some_and(|stored| stored.needs_plan_for(&yaml)) && !force {
                bail!(
                    "this changes the configuration of `{name}`: see what it would write first with `tandem plan \
                     --config {file}` (on this table), then put it again; or pass --force to store it unplanned",
                    name = parsed.name,
                    file = config.display()
                );
            }
            store.put_integration(&parsed.name, &yaml).await?;
            println!("{}: stored in {table}", parsed.name);
            if activate {
                activate_with(place, parsed.name.clone(), backfill, &options, set_active).await?;
            }
            Ok(())
        }
        IntegrationAction::Activate { name, backfill, options } => {
            activate_with(place, name, backfill, &options, set_active).await
        }
        IntegrationAction::Deactivate { name } => set_active(name, false).await,
        IntegrationAction::List => {
            let stored = store.list_integrations().await?;
            if stored.is_empty() {
                println!("no integrations stored in {table}");
            }
            for integration in stored {
                let state = if integration.active { "active" } else { "inactive" };
                println!("{}: {state} (updated {})", integration.name, integration.updated_at.to_rfc3339());
            }
            Ok(())
        }
    }
}

/// Activates an integration; with a backfill, its watermarks move back first, so that its first poll
/// already starts there, and the backfill is followed once it is active.
async fn activate_with<F, A>(
    place: &StatePlace,
    name: String,
    backfill: bool,
    options: &BackfillOptions,
    set_active: F,
) -> Result<()>
where
    F: Fn(String, bool) -> A,
    A: std::future::Future<Output = Result<()>>,
{
    if !backfill {
        return set_active(name, true).await;
    }
    let request = BackfillRequest { integration: name.clone(), sides: Side::BOTH.to_vec(), since: options.since };
    let before = backfill::rewind(place, &request).await?;
    set_active(name, true).await?;
    follow_backfill(place, &request, &before, options).await
}
