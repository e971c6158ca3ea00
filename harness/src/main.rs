//! `tandem-harness`: the convergence harness from the README's "Guarantees and figures".

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;
use tandem_harness::{FaultRates, HarnessSettings, Hazards, Pair, StoreChoice};

/// Drives random changes on both sides of a local example integration, with faults and worker
/// crashes, lets tandem settle, and prints what it found: duplicates, lost updates, echo writes,
/// conflicts, parked changes and the poll cycles convergence took.
#[derive(Debug, Parser)]
#[command(name = "tandem-harness", version)]
struct Arguments {
    /// The systems joined: `jira-azure-devops` (examples/local.yaml) or `jira-salesforce`
    /// (examples/local-salesforce.yaml).
    #[arg(long, default_value = "jira-azure-devops")]
    pair: Pair,
    /// Changes people make (creates, field edits, comments, on both sides).
    #[arg(long, default_value_t = 1000)]
    events: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// People making changes at the same time.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Workers (function containers) sharing the store.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// `embedded`, or `dynamodb` (a fresh table on the server at AWS_ENDPOINT_URL).
    #[arg(long, default_value = "embedded")]
    store: String,
    /// No injected faults: a healthy network (workers still die at `--crash-rate`).
    #[arg(long)]
    calm: bool,
    /// The storm without the harsher world: no search lag, throttled creates, edits between read and
    /// write, store faults, credential outages, deadlines, or out-of-scope and restricted content.
    #[arg(long)]
    no_hazards: bool,
    /// Chance of a worker dying at each step boundary.
    #[arg(long, default_value_t = 0.02)]
    crash_rate: f64,
    /// Seconds between polls while changes are made.
    #[arg(long, default_value_t = 2)]
    poll_seconds: u64,
    /// Writes the figures as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| "error".into()))
        .with_writer(std::io::stderr)
        .init();
    let arguments = Arguments::parse();
    // Workers die by panicking at crash points and are caught unwinding; a build whose panics abort
    // (the release profile, made for Lambda) would end the whole run at the first crash, unexplained.
    if cfg!(panic = "abort") {
        anyhow::bail!(
            "the harness simulates crashes by unwinding: run it from the dev profile (`cargo run -p tandem-harness`)"
        );
    }
    let store = match arguments.store.as_str() {
        "embedded" => StoreChoice::Embedded,
        "dynamodb" => StoreChoice::Dynamodb { table: format!("tandem-harness-{}", uuid::Uuid::new_v4().simple()) },
        other => anyhow::bail!("--store is `embedded` or `dynamodb`, not `{other}`"),
    };
    let settings = HarnessSettings {
        pair: arguments.pair,
        events: arguments.events,
        seed: arguments.seed,
        concurrency: arguments.concurrency,
        workers: arguments.workers,
        store,
        faults: match (arguments.calm, arguments.no_hazards) {
            (true, _) => FaultRates::calm(),
            (false, true) => FaultRates::storm(),
            (false, false) => FaultRates::harsh(),
        },
        hazards: if arguments.calm || arguments.no_hazards { Hazards::none() } else { Hazards::harsh() },
        crash_rate: arguments.crash_rate,
        poll_every: Duration::from_secs(arguments.poll_seconds.max(1)),
        max_settle_cycles: 10,
        progress: true,
    };
    let report = tandem_harness::run(&settings).await?;
    println!("{report}");
    if let Some(path) = &arguments.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if !report.verdict.kept() {
        std::process::exit(1);
    }
    Ok(())
}
