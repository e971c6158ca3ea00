//! `sync-bench`: API and store calls per synced change, webhook-to-write latency, backfill throughput
//! under a quota, and the cost per million changes. See the crate's README for how to run it.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tandem_bench::sync::backfill::{self, BackfillSettings};
use tandem_bench::sync::cost::CostAssumptions;
use tandem_bench::sync::report::{CostReport, LatencyRun, PerChangeRun, SyncReport, DYNAMODB, EMBEDDED};
use tandem_bench::sync::world::{StoreKind, SyncWorld, WorldSettings};
use tandem_bench::sync::{latency, per_change, SyncBenchError};
use tandem_simulators::faults::RateLimit;

#[derive(Debug, Parser)]
#[command(
    name = "sync-bench",
    about = "Measures tandem syncing the local example integration against the Jira and Azure DevOps simulators: \
             calls per change, webhook-to-write latency, backfill throughput under a quota, cost per million \
             changes. With no scenario flag, runs them all."
)]
struct Args {
    /// API, store and DynamoDB calls per synced change (each kind, both directions).
    #[arg(long)]
    per_change: bool,
    /// Webhook received → target written, for one-field Jira edits.
    #[arg(long)]
    latency: bool,
    /// Backfill throughput, without and with a quota on the Azure DevOps simulator.
    #[arg(long)]
    backfill: bool,
    /// Cost per million changes (runs the per-change scenario for its figures).
    #[arg(long)]
    cost: bool,
    /// Measured changes of each kind and direction (after one unmeasured).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    changes: u32,
    /// Sequential one-field edits per latency run.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    edits: u32,
    /// Latency added to every simulator API call in the second latency run and in the backfills.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Existing Jira bugs of the unlimited backfill.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    backfill_items: u32,
    /// Existing Jira bugs of the backfill under the quota (at a few dozen a second, 10,000 take minutes).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    quota_backfill_items: u32,
    /// The most items the backfill's poll syncs at once (`polling.concurrency`; it paces itself below).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    poll_concurrency: u32,
    /// The Azure DevOps simulator's quota in the second backfill, requests per second.
    #[arg(long, default_value_t = 40.0)]
    rate_limit: f64,
    /// The quota's burst (default: one second of the quota).
    #[arg(long)]
    rate_limit_burst: Option<u32>,
    /// Jira bugs Alice files at once before a backfill.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    seed_concurrency: u32,
    /// A backfill that has not linked every bug by then fails.
    #[arg(long, default_value_t = 900)]
    backfill_limit_secs: u64,
    /// Also run the per-change and latency scenarios on DynamoDB at AWS_ENDPOINT_URL, counting its requests.
    #[arg(long)]
    dynamodb: bool,
    /// Prefix of the DynamoDB tables the bench creates (one per run; they are not deleted).
    #[arg(long, default_value = "tandem-sync-bench")]
    table_prefix: String,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl Args {
    fn all(&self) -> bool {
        !(self.per_change || self.latency || self.backfill || self.cost)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Quiet unless asked (RUST_LOG=info shows what the engine does with each delivery); meanwhile what
    // the functions would log is formatted as they format it and counted (the cost of their logs).
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::EnvFilter;
    let shown = EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into());
    let counted = EnvFilter::new(tandem_bench::sync::log_bytes::FILTER);
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(shown))
        .with(tandem_lambda_runtime::json_lines(tandem_bench::sync::log_bytes::Counter).with_filter(counted))
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = format!("sync-bench: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
            if error.is_retryable() {
                message.push_str("\n  (this may pass when run again)");
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), SyncBenchError> {
    let all = args.all();
    let mut report = SyncReport::default();
    let stores: &[&str] = if args.dynamodb { &[EMBEDDED, DYNAMODB] } else { &[EMBEDDED] };
    for &name in stores {
        if all || args.per_change || args.cost {
            eprintln!("sync-bench: per-change scenario on the {name} store");
            let world = world(name, &args.table_prefix).await?;
            let changes = per_change::measure(&world, args.changes as usize).await;
            world.stop().await;
            report.per_change.push(PerChangeRun { store: name.to_string(), changes: changes? });
        }
        if all || args.latency {
            eprintln!("sync-bench: latency scenario on the {name} store ({} edits per run)", args.edits);
            let world = world(name, &args.table_prefix).await?;
            let runs = latency::measure(&world, args.edits as usize, &[0, args.latency_ms]).await;
            world.stop().await;
            report.latency.push(LatencyRun { store: name.to_string(), runs: runs? });
        }
    }
    if all || args.backfill {
        let quota = RateLimit {
            requests_per_second: args.rate_limit,
            burst: args.rate_limit_burst.unwrap_or((args.rate_limit.ceil() as u32).max(1)),
        };
        for (items, rate_limit) in [(args.backfill_items, None), (args.quota_backfill_items, Some(quota))] {
            eprintln!("sync-bench: backfill of {items} bugs, quota {rate_limit:?}");
            let settings = BackfillSettings {
                items: items as usize,
                poll_concurrency: args.poll_concurrency as usize,
                latency_ms: args.latency_ms,
                rate_limit,
                seed_concurrency: args.seed_concurrency as usize,
                limit: Duration::from_secs(args.backfill_limit_secs),
            };
            report.backfill.push(backfill::measure(&settings).await?);
        }
    }
    if all || args.cost {
        report.cost = CostReport::from_runs(&report.per_change, CostAssumptions::default());
    }

    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(SyncBenchError::Json)?;
        std::fs::write(path, json).map_err(|source| SyncBenchError::Write { path: path.clone(), source })?;
    }
    Ok(())
}

/// A world with webhooks on a new store: each world's simulators number their items from 1 again, so
/// a store shared between worlds would hold links to items of the same ids.
async fn world(store: &str, table_prefix: &str) -> Result<SyncWorld, SyncBenchError> {
    let store = match store {
        DYNAMODB => StoreKind::Dynamodb { table: format!("{table_prefix}-{}", uuid::Uuid::new_v4().simple()) },
        _ => StoreKind::Embedded,
    };
    // The poll concurrency only matters to the backfill, which builds its own world.
    SyncWorld::start(&WorldSettings { store, poll_concurrency: 1, webhooks: true }).await
}
