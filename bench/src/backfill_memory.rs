//! The memory of a large backfill, in a process of its own: Alice files many Jira bugs in the bench's
//! simulators before the integration runs, `tandem backfill --no-follow` moves the watermarks back
//! before them, and `tandem serve` (the local main job, the same engine and poll as the poller
//! function) works through them on its embedded store until every bug has its Azure DevOps copy. The
//! simulators hold every item in the bench's process, so the figure is the serving process's alone.

use crate::error::BenchError;
use crate::function::{output_to, Running};
use crate::world::World;
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How often the bench looks at the copies made and the process's memory.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long the bugs age before the backfill starts.
const SETTLE: Duration = Duration::from_secs(65);
/// Progress is printed this often.
const REPORT_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct BackfillMemorySettings {
    /// The `tandem` binary (built beforehand).
    pub tandem: PathBuf,
    pub items: usize,
    /// Bugs Alice files at once.
    pub seed_concurrency: usize,
    /// Stops waiting then, with the figures of what was copied.
    pub limit: Duration,
    /// Where `tandem serve`'s output goes, if kept.
    pub log: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillMemoryFigures {
    pub items: usize,
    /// Copies made, all of them unless the limit came first.
    pub copied: usize,
    pub seeding_s: f64,
    /// `tandem serve` started to the last copy made.
    pub wall_s: f64,
    pub items_per_s: f64,
    /// VmHWM of `tandem serve` once every copy was made.
    pub peak_rss_mib: f64,
    /// VmRSS at each quarter of the copies, to show whether memory grows with the backlog.
    pub rss_by_quarter_mib: Vec<f64>,
}

/// Files the bugs, runs the backfill in a `tandem serve` process, and reads its memory.
pub async fn measure(world: &World, settings: &BackfillMemorySettings) -> Result<BackfillMemoryFigures, BenchError> {
    let folder = tempfile::tempdir().map_err(|source| BenchError::Write { path: std::env::temp_dir(), source })?;
    // Just before the bugs: the backfill leaves what the bench's other scenarios filed where it is.
    let before_the_bugs = chrono::Utc::now() - chrono::Duration::seconds(1);
    let seeding = Instant::now();
    file_bugs(world, settings).await?;
    let seeding_s = seeding.elapsed().as_secs_f64();
    // A backfill's items are older than the poll: a poll never claims complete what changed in the
    // minute before it began (JQL dates have minute precision) and reads that again on its next run.
    tokio::time::sleep(SETTLE).await;
    // Work items the bench's other scenarios made.
    let copies_before = world.ado.work_item_count();
    let files = Files::write(world, folder.path())?;
    let serving = Files::serving()?;
    files.rewind(settings, before_the_bugs, &serving).await?;

    let mut serve = files.tandem(settings, &serving);
    output_to(&mut serve, settings.log.as_deref())?;
    let started = Instant::now();
    let mut process = Running::spawn(&mut serve, &settings.tandem, "tandem serve")?;
    let (copied, rss_by_quarter_mib) = follow(world, &mut process, settings, (started, copies_before)).await?;
    let wall_s = started.elapsed().as_secs_f64();
    let peak_rss_mib = process.peak_rss_kib()? as f64 / 1024.0;
    process.stop()?;
    Ok(BackfillMemoryFigures {
        items: settings.items,
        copied,
        seeding_s,
        wall_s,
        items_per_s: copied as f64 / wall_s,
        peak_rss_mib,
        rss_by_quarter_mib,
    })
}

async fn file_bugs(world: &World, settings: &BackfillMemorySettings) -> Result<(), BenchError> {
    eprintln!("backfill-memory: Alice files {} Jira bugs", settings.items);
    stream::iter(0..settings.items)
        .map(|number| async move { world.file_bug(&format!("Backfill bug {number}"), None).await })
        .buffer_unordered(settings.seed_concurrency.max(1))
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// Waits until every bug has its copy, or the limit, noting the memory at each quarter and printing
/// progress; returns the copies made.
async fn follow(
    world: &World,
    process: &mut Running,
    settings: &BackfillMemorySettings,
    (started, copies_before): (Instant, usize),
) -> Result<(usize, Vec<f64>), BenchError> {
    let mut quarters = Vec::new();
    let mut reported = Instant::now();
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        if let Some(status) = process.exited()? {
            let hint = "run again with --logs DIR to keep its output".into();
            return Err(BenchError::ExitedEarly { function: "tandem serve".into(), status, hint });
        }
        let copies = world.ado.work_item_count().saturating_sub(copies_before);
        while quarters.len() < 4 && copies * 4 >= settings.items * (quarters.len() + 1) {
            quarters.push(process.rss_kib()? as f64 / 1024.0);
        }
        if reported.elapsed() >= REPORT_EVERY {
            let per_second = copies as f64 / started.elapsed().as_secs_f64();
            eprintln!("backfill-memory: {copies} of {} copied ({per_second:.0}/s)", settings.items);
            reported = Instant::now();
        }
        if copies >= settings.items || started.elapsed() > settings.limit {
            return Ok((copies, quarters));
        }
    }
}

/// The integration file and the secrets file `tandem` is given, and its store.
struct Files {
    config: PathBuf,
    secrets: PathBuf,
    store: PathBuf,
}

impl Files {
    fn write(world: &World, folder: &Path) -> Result<Files, BenchError> {
        let files = Files {
            config: folder.join("integration.yaml"),
            secrets: folder.join("secrets.json"),
            store: folder.join("tandem.redb"),
        };
        // Polled every second (`--poll-seconds`); the simulators' searches show a change at once.
        let config = world.config_yaml() + "polling:\n  search_lag: 0s\n";
        write(&files.config, config.as_bytes())?;
        let secrets: serde_json::Map<String, serde_json::Value> = world.secrets().into_iter().collect();
        let secrets = serde_json::to_vec_pretty(&secrets)
            .map_err(|source| BenchError::Json { what: "the secrets file", source })?;
        write(&files.secrets, &secrets)?;
        Ok(files)
    }

    /// The arguments of `tandem serve`: polls every second, no status page, webhooks on a free port
    /// (none come).
    fn serving() -> Result<Vec<String>, BenchError> {
        let listen = format!("127.0.0.1:{}", free_port()?);
        Ok(["serve", "--status", "off", "--listen", &listen, "--poll-seconds", "1"].map(String::from).into())
    }

    /// As an operator does it locally: `tandem serve` once makes the store, then, with serve stopped
    /// (it holds the store), `tandem backfill --no-follow` moves the watermarks back to `since`.
    async fn rewind(
        &self,
        settings: &BackfillMemorySettings,
        since: chrono::DateTime<chrono::Utc>,
        serving: &[String],
    ) -> Result<(), BenchError> {
        let mut first = self.tandem(settings, serving);
        output_to(&mut first, None)?;
        let mut first = Running::spawn(&mut first, &settings.tandem, "tandem serve")?;
        while !self.store.exists() && first.exited()?.is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        first.stop()?;
        let arguments = ["backfill", "--no-follow", "--since", &since.to_rfc3339()].map(String::from);
        let rewound = self
            .tandem(settings, &arguments)
            .status()
            .map_err(|source| BenchError::Spawn { path: settings.tandem.clone(), source })?;
        match rewound.success() {
            true => Ok(()),
            false => Err(BenchError::ExitedEarly {
                function: "tandem backfill".into(),
                status: rewound.to_string(),
                hint: "run it by hand with the same files to see why".into(),
            }),
        }
    }

    /// `tandem` on these files: `arguments` after the store and before the files.
    fn tandem(&self, settings: &BackfillMemorySettings, arguments: &[String]) -> Command {
        let mut command = Command::new(&settings.tandem);
        command.arg("--store").arg(&self.store).args(arguments).arg("--config").arg(&self.config);
        if arguments.first().is_some_and(|command| command == "serve") {
            command.arg("--secrets").arg(&self.secrets);
        }
        command.env_remove("AWS_ENDPOINT_URL");
        command
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BenchError> {
    std::fs::write(path, bytes).map_err(|source| BenchError::Write { path: path.to_path_buf(), source })
}

/// A port nobody listens on now, for `tandem serve`'s webhook endpoints (no webhook comes).
fn free_port() -> Result<u16, BenchError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(BenchError::FreePort)?;
    listener.local_addr().map(|address| address.port()).map_err(BenchError::FreePort)
}

impl BackfillMemoryFigures {
    /// The figures as text, the peak beside its target.
    pub fn table(&self) -> String {
        let quarters: Vec<String> = self.rss_by_quarter_mib.iter().map(|mib| format!("{mib:.1}")).collect();
        let peak = crate::targets::beside(self.peak_rss_mib, crate::targets::BACKFILL_PEAK_RSS_MIB, "MiB", true);
        let unfinished = match self.copied < self.items {
            true => format!(" (the wait ended with {} of {} copied)", self.copied, self.items),
            false => String::new(),
        };
        format!(
            "Backfill of {} existing Jira bugs by `tandem serve` (embedded store, zero-latency simulators in the \
             bench's process)\n  filed in {:.1} s; {} copied in {:.1} s, {:.1} items/s{unfinished}\n  resident \
             memory at each quarter of the copies: {} MiB\n  peak RSS: {peak}\n",
            self.items,
            self.seeding_s,
            self.copied,
            self.wall_s,
            self.items_per_s,
            quarters.join(" / ")
        )
    }
}
