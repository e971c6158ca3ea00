//! `tandem backfill` (and `integrations activate --backfill`): sync the items that existed before an
//! integration was active. The watermarks move back to `--since`; the poller (the deployed one, or
//! `tandem serve`'s) then works through everything changed since, as it would through any backlog. On
//! a deployed table the command follows it, a bar per side, until each side's watermark has passed
//! the newest change the side had when the backfill began.

use crate::state::StatePlace;
use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tandem_engine::backfill::{rewind_watermark, BackfillProgress, Rewound};
use tandem_engine::tally::PollTally;
use tandem_engine::{Engine, EngineStores};
use tandem_lambda_runtime::{Runtime, Unserved, SECRET_TTL};
use tandem_model::{Side, Timestamp};
use tandem_secrets::CachedSecrets;
use tandem_secrets_aws::SecretsManagerSource;
use tandem_store_dynamodb::DynamoStore;

/// What a backfill covers.
#[derive(Debug, Clone)]
pub struct BackfillRequest {
    pub integration: String,
    pub sides: Vec<Side>,
    pub since: Timestamp,
}

/// Each side's poll tally as the backfill began, read before its watermark moved back: what the polls
/// count from then on is the backfill's.
#[derive(Debug, Clone)]
pub struct TalliesBefore(Vec<(Side, PollTally)>);

impl TalliesBefore {
    fn of(&self, side: Side) -> PollTally {
        self.0.iter().find(|(of, _)| *of == side).map(|(_, tally)| *tally).unwrap_or_default()
    }
}

/// Moves the watermarks of the request's sides back to its start, saying what changed.
pub async fn rewind(place: &StatePlace, request: &BackfillRequest) -> Result<TalliesBefore> {
    let stores = place.open().await?;
    let mut before = Vec::new();
    for &side in &request.sides {
        let name = &request.integration;
        before.push((side, stores.watermarks.poll_tally(name, side).await?));
        match rewind_watermark(stores.watermarks.as_ref(), name, side, request.since).await? {
            Rewound::Moved { from: Some(from) } => {
                println!(
                    "{name} side {side}: watermark moved back from {} to {}",
                    from.to_rfc3339(),
                    request.since.to_rfc3339()
                )
            }
            Rewound::Moved { from: None } => {
                println!("{name} side {side}: polls start at {}", request.since.to_rfc3339())
            }
            Rewound::AlreadyEarlier(at) => {
                println!(
                    "{name} side {side}: watermark already at {}, earlier than the backfill; kept",
                    at.to_rfc3339()
                )
            }
        }
    }
    Ok(TalliesBefore(before))
}

/// Follows the deployed poller through a backfill until every side has caught up, looking `every` so
/// often. Each look is one read of each side's watermark and tally and one of the failures (no call
/// to either system).
pub async fn follow(table: &str, request: &BackfillRequest, before: &TalliesBefore, every: Duration) -> Result<()> {
    let engine = deployed_engine(table, &request.integration).await?;
    let mut sides = Vec::new();
    for &side in &request.sides {
        let target =
            engine.newest_change(side).await.with_context(|| format!("reading side {side}'s newest change"))?;
        sides.push(FollowedSide { side, target, before: before.of(side) });
    }
    println!(
        "the poller works through the backlog on its schedule (PollIntervalMinutes); Ctrl-C stops watching, not the backfill"
    );
    watch(engine.stores(), request, &sides, every, ProgressDrawTarget::stderr()).await
}

/// A side a backfill is followed on: the newest change it had when the backfill began, and its tally then.
#[derive(Debug, Clone)]
pub struct FollowedSide {
    pub side: Side,
    pub target: Option<Timestamp>,
    pub before: PollTally,
}

/// Shows a side's progress until each is done: how far its watermark has come between the start and
/// its target, what the polls made of its items so far and at what rate, and how many items are
/// recorded as failing (see `tandem failures`). Ends with the backfill's counts.
pub async fn watch(
    stores: &EngineStores,
    request: &BackfillRequest,
    sides: &[FollowedSide],
    every: Duration,
    draw: ProgressDrawTarget,
) -> Result<()> {
    let bars = MultiProgress::with_draw_target(draw);
    let style = ProgressStyle::with_template("side {prefix}: [{bar:30}] {percent:>3}% eta {eta} {msg}")
        .context("progress style")?
        .progress_chars("=> ");
    // Off a terminal the bars draw nothing: a line per side whenever its watermark moves instead.
    let plain = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut shown: Vec<Option<Timestamp>> = vec![None; sides.len()];
    let linked_before = stores.links.list_links(&request.integration).await?.len();
    let began = Instant::now();
    let lines: Vec<ProgressBar> = sides
        .iter()
        .map(|followed| bars.add(ProgressBar::new(1).with_style(style.clone()).with_prefix(followed.side.to_string())))
        .collect();
    let counted = loop {
        let failing = stores.log.list_failures(&request.integration).await?.len();
        let mut all_done = true;
        let mut counted = PollTally::default();
        for ((followed, line), last) in sides.iter().zip(&lines).zip(shown.iter_mut()) {
            let side = followed.side;
            let watermark = stores.watermarks.get_watermark(&request.integration, side).await?.unwrap_or(request.since);
            let tally = stores.watermarks.poll_tally(&request.integration, side).await?.since(&followed.before);
            counted.add(&tally);
            let progress = BackfillProgress { side, since: request.since, target: followed.target, watermark };
            let (covered, total) = progress.covered_of_total();
            let rate = tally.items() as f64 / began.elapsed().as_secs_f64().max(0.001);
            let done = format!("{} items, {rate:.1}/s", tally.items());
            if plain && *last != Some(watermark) {
                *last = Some(watermark);
                let percent = covered * 100 / total;
                eprintln!("side {side}: {percent}% (up to {}, {done}, {failing} failing)", watermark.to_rfc3339());
            }
            line.set_length(total);
            line.set_position(covered);
            line.set_message(format!("up to {} · {done} · {failing} failing", watermark.format("%Y-%m-%d %H:%M")));
            all_done &= progress.done();
        }
        if all_done {
            break counted;
        }
        tokio::time::sleep(every).await;
    };
    for line in lines {
        line.finish();
    }
    let failing = stores.log.list_failures(&request.integration).await?.len();
    let linked = stores.links.list_links(&request.integration).await?.len();
    println!(
        "{}: backfill caught up on side(s) {}: {counted} ({linked} pairs linked, {linked_before} before); \
         {failing} item(s) recorded as failing (`tandem failures`)",
        request.integration,
        request.sides.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and "),
    );
    Ok(())
}

/// The deployed functions' runtime on `table` (secrets from Secrets Manager), for commands.
pub async fn deployed_runtime(table: &str) -> Runtime {
    let secrets = Arc::new(CachedSecrets::new(SecretsManagerSource::from_env().await, SECRET_TTL));
    Runtime::new(DynamoStore::from_env(table).await, secrets)
}

/// The integration's engine as the deployed functions build it (secrets from Secrets Manager).
pub async fn deployed_engine(table: &str, integration: &str) -> Result<Arc<Engine>> {
    let runtime = deployed_runtime(table).await;
    match runtime.integration(integration).await? {
        Ok(served) => Ok(served.engine.clone()),
        Err(Unserved::Unknown) => bail!("no integration named `{integration}` in table {table}"),
        Err(Unserved::Inactive) => bail!(
            "`{integration}` is not active, so no poller works on it: `tandem integrations activate {integration}` \
             (the watermarks are already moved back)"
        ),
    }
}
