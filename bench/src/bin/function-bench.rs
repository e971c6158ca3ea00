//! `function-bench`: sizes, cold starts and peak memory of the webhook and poller Lambda functions.
//! See the crate's README for how to run it.

use clap::Parser;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tandem_bench::backfill_memory::{self, BackfillMemorySettings};
use tandem_bench::emulator::RuntimeApi;
use tandem_bench::events::{
    adf_document, api_gateway_request, description_for_body, jira_description_updated, scheduled_event, JiraIssue,
};
use tandem_bench::figures::{tally, BinaryFigures, Report, ScenarioFigures, Spread, MIB};
use tandem_bench::function::{ColdRun, Function};
use tandem_bench::world::{World, LARGEST_FILE_BYTES};
use tandem_bench::BenchError;
use tandem_lambda_runtime::MAX_WEBHOOK_BODY;
use tandem_model::Item;
use tandem_simulators::jira::SimUser;

/// Body size of the small webhook: a description edit of a few paragraphs.
const SMALL_BODY_BYTES: usize = 4_000;
/// Answers are shown up to this many characters.
const ANSWER_SHOWN: usize = 240;

#[derive(Debug, Parser)]
#[command(
    name = "function-bench",
    about = "Measures tandem's Lambda functions: release binary size, cold start (exec to the first answer) and \
             peak RSS, against an emulated Lambda Runtime API, moto (AWS_ENDPOINT_URL) and the simulators."
)]
struct Args {
    /// The webhook function's release binary (built beforehand; the bench does not run cargo).
    #[arg(long, default_value = "target/release/webhook")]
    webhook: PathBuf,
    /// The poller function's release binary.
    #[arg(long, default_value = "target/release/poller")]
    poller: PathBuf,
    /// Measured cold starts per scenario (each scenario first runs once unmeasured, see the README).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Measured runs of the large-webhook scenario.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    large_runs: u32,
    /// Measured runs of the largest-file scenario (a 30 MB file copied).
    #[arg(long, default_value_t = 2)]
    file_runs: u32,
    /// Body size of the large webhook, at most what the function accepts.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..=MAX_WEBHOOK_BODY as u64))]
    large_body_bytes: u64,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep each function run's output (JSON logs) in this folder.
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Also measure the memory of `tandem serve` backfilling this many existing Jira bugs (0: not
    /// measured; the target is set at 100000, which takes several minutes).
    #[arg(long, default_value_t = 0)]
    backfill_items: u32,
    /// The `tandem` binary the backfill runs (built beforehand, like the functions).
    #[arg(long, default_value = "target/release/tandem")]
    tandem: PathBuf,
    /// The backfill is followed this long at most; the figures then say how many bugs were copied.
    #[arg(long, default_value_t = 3600)]
    backfill_limit_secs: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = format!("function-bench: {error}");
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

async fn run(args: Args) -> Result<(), BenchError> {
    // Memory and timeouts as template.yaml deploys the functions.
    let webhook = Function {
        name: "webhook".into(),
        binary: args.webhook.clone(),
        memory_mb: 256,
        timeout: Duration::from_secs(15),
    };
    let poller = Function {
        name: "poller".into(),
        binary: args.poller.clone(),
        memory_mb: 512,
        timeout: Duration::from_secs(300),
    };
    let binaries = [&webhook, &poller].into_iter().map(binary_figures).collect::<Result<Vec<_>, _>>()?;
    if let Some(folder) = &args.logs {
        std::fs::create_dir_all(folder).map_err(|source| BenchError::Write { path: folder.clone(), source })?;
    }
    let world = World::start().await?;
    let measured = measure(&world, &args, &webhook, &poller).await;
    let backfill = match (&measured, args.backfill_items) {
        (Ok(_), items @ 1..) => Some(backfill_memory::measure(&world, &backfill_settings(&args, items)).await),
        _ => None,
    };
    world.stop().await;
    let report = Report { binaries, scenarios: measured?, backfill_memory: backfill.transpose()? };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json =
            serde_json::to_string_pretty(&report).map_err(|source| BenchError::Json { what: "the figures", source })?;
        std::fs::write(path, json + "\n").map_err(|source| BenchError::Write { path: path.clone(), source })?;
        println!("\nfigures written to {}", path.display());
    }
    Ok(())
}

fn backfill_settings(args: &Args, items: u32) -> BackfillMemorySettings {
    BackfillMemorySettings {
        tandem: args.tandem.clone(),
        items: items as usize,
        seed_concurrency: 32,
        limit: Duration::from_secs(args.backfill_limit_secs),
        log: args.logs.as_ref().map(|folder| folder.join("backfill-serve.log")),
    }
}

fn binary_figures(function: &Function) -> Result<BinaryFigures, BenchError> {
    let metadata = std::fs::metadata(&function.binary)
        .map_err(|source| BenchError::Binary { path: function.binary.clone(), source })?;
    Ok(BinaryFigures {
        function: function.name.clone(),
        path: function.binary.display().to_string(),
        bytes: metadata.len(),
    })
}

async fn measure(
    world: &World,
    args: &Args,
    webhook: &Function,
    poller: &Function,
) -> Result<Vec<ScenarioFigures>, BenchError> {
    let api = RuntimeApi::start().await?;
    let relay = world.aws_relay().await?;
    let environment = world.function_environment(&relay);
    let bench = Bench { api: &api, environment: &environment, logs: args.logs.as_deref() };

    let small = description_for_body(SMALL_BODY_BYTES);
    let small_bug = world.file_bug("Export drops rows with tabs", Some(adf_document(&small))).await?;
    let small_text = small.join("\n\n");
    let small_event = || webhook_event(world, &small_bug, &small_text);
    let webhook_cold = bench
        .scenario(
            webhook,
            "webhook-cold",
            "a signed Jira `jira:issue_updated` (description edit) for a bug with a short description".into(),
            args.runs,
            small_event,
        )
        .await?;

    let poll = bench
        .scenario(
            poller,
            "poller-cold",
            "EventBridge's scheduled event: poll both sides of the integration, retry due failures".into(),
            args.runs,
            || scheduled_event().to_string().into_bytes(),
        )
        .await?;

    let large = description_for_body(usize::try_from(args.large_body_bytes).unwrap_or(MAX_WEBHOOK_BODY));
    let large_text = large.join("\n\n");
    // A bug of its own per run (the unmeasured one included): every run then does the whole sync of
    // a new item — read it, convert the description, create the copy, link — instead of meeting
    // what the run before left behind.
    let mut large_bugs = Vec::new();
    for _ in 0..=args.large_runs {
        let summary = "Export drops rows with tabs (full log)";
        large_bugs.push(world.file_bug(summary, Some(adf_document(&large))).await?);
    }
    let next_bug = Cell::new(0);
    let large_event = || {
        let bug = &large_bugs[next_bug.get() % large_bugs.len()];
        next_bug.set(next_bug.get() + 1);
        webhook_event(world, bug, &large_text)
    };
    let webhook_large = bench
        .scenario(
            webhook,
            "webhook-large-body",
            format!(
                "a signed Jira `jira:issue_updated` whose body holds a {} B description twice (fields and \
                 changelog), each run for a new bug with that description",
                large_text.len()
            ),
            args.large_runs,
            large_event,
        )
        .await?;
    let webhook_file = largest_file_scenario(world, &bench, webhook, args.file_runs).await?;
    Ok(vec![webhook_cold, poll, webhook_large, webhook_file])
}

/// The most memory a delivery can take: a new bug with the largest file an integration may copy, whose
/// copy is created and the file copied, each run for a bug of its own.
async fn largest_file_scenario(
    world: &World,
    bench: &Bench<'_>,
    webhook: &Function,
    runs: u32,
) -> Result<ScenarioFigures, BenchError> {
    let text = description_for_body(SMALL_BODY_BYTES);
    let mut bugs = Vec::new();
    for _ in 0..=runs {
        let bug = world.file_bug("Capture of the dropped rows attached", Some(adf_document(&text))).await?;
        world.attach_file(&bug, LARGEST_FILE_BYTES).await?;
        bugs.push(bug);
    }
    let text = text.join("\n\n");
    let next_bug = Cell::new(0);
    let event = || {
        let bug = &bugs[next_bug.get() % bugs.len()];
        next_bug.set(next_bug.get() + 1);
        webhook_event(world, bug, &text)
    };
    let description = format!(
        "a signed Jira `jira:issue_updated` for a new bug with a {LARGEST_FILE_BYTES} B file attached (the most \
         `attachments.max_bytes` allows): the copy is created and the file copied"
    );
    bench.scenario(webhook, "webhook-largest-file", description, runs, event).await
}

/// A fresh delivery (its own identifier, so the engine never treats it as a repeat) of a description
/// edit of `bug`, as API Gateway hands it to the webhook function.
fn webhook_event(world: &World, bug: &Item, description: &str) -> Vec<u8> {
    let issue = JiraIssue { id: bug.item.id.as_str(), key: bug.item.label(), site: world.jira.base_url() };
    let delivery = uuid::Uuid::new_v4().to_string();
    let post =
        jira_description_updated(&issue, &SimUser::alice().account_id, description, &world.webhook_secret, &delivery);
    api_gateway_request(&world.integration, "jira", &post).to_string().into_bytes()
}

struct Bench<'a> {
    api: &'a RuntimeApi,
    environment: &'a [(String, String)],
    logs: Option<&'a Path>,
}

impl Bench<'_> {
    /// One unmeasured run first, so that every measured run meets the same state (the first
    /// delivery for a bug creates its Azure DevOps copy, the first poll sets the watermarks), then
    /// `runs` measured ones, each in a new process.
    async fn scenario(
        &self,
        function: &Function,
        name: &str,
        description: String,
        runs: u32,
        event: impl Fn() -> Vec<u8>,
    ) -> Result<ScenarioFigures, BenchError> {
        let prime = event();
        let event_bytes = prime.len();
        eprintln!("{name}: 1 unmeasured run, then {runs} measured ({event_bytes} B event)");
        self.invoke(function, name, "prime", prime).await?;
        let mut measured = Vec::new();
        for run in 1..=runs {
            measured.push(self.invoke(function, name, &run.to_string(), event()).await?);
        }
        let milliseconds = |time: fn(&ColdRun) -> Duration| {
            let values: Vec<f64> = measured.iter().map(|run| time(run).as_secs_f64() * 1000.0).collect();
            Spread::of(&values).unwrap_or(Spread { p50: 0.0, max: 0.0 })
        };
        let peak_rss_mib: Vec<f64> = measured.iter().map(|run| run.peak_rss_kib as f64 * 1024.0 / MIB).collect();
        let none = Spread { p50: 0.0, max: 0.0 };
        Ok(ScenarioFigures {
            name: name.to_string(),
            function: function.name.clone(),
            description,
            event_bytes,
            runs: measured.len(),
            cold_start_ms: milliseconds(|run| run.cold_start),
            init_ms: milliseconds(|run| run.init),
            dependencies_ms: milliseconds(|run| run.dependencies),
            own_cold_start_ms: milliseconds(|run| run.cold_start.saturating_sub(run.dependencies)),
            peak_rss_mib: Spread::of(&peak_rss_mib).unwrap_or(none),
            answers: tally(measured.iter().map(|run| run.answer.summary(ANSWER_SHOWN))),
        })
    }

    async fn invoke(&self, function: &Function, name: &str, run: &str, event: Vec<u8>) -> Result<ColdRun, BenchError> {
        let log = self.logs.map(|folder| folder.join(format!("{name}-{run}.log")));
        function.invoke_cold(self.api, self.environment, event, log.as_deref()).await
    }
}
