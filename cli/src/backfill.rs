//! `tandem backfill` (and `integrations activate --backfill`): sync the items that existed before an
//! integration was active. The watermarks move back to `--since`; the poller (the deployed one, or
//! `tandem serve`'s) then works through everything changed since, as it would through any backlog. On
//! a deployed table the command follows it, a bar per side, until each side's watermark has passed
//! the newest change the side had when the backfill began.

use crate::state::StatePlace;
use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::time::Duration;
use tandem_engine::backfill::{rewind_watermark, BackfillProgress, Rewound};
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

/// Moves the watermarks of the request's sides back to its start, saying what changed.
pub async fn rewind(place: &StatePlace, request: &BackfillRequest) -> Result<()> {
    let stores = place.open().await?;
    for &side in &request.sides {
        let name = &request.integration;
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
    Ok(())
}

/// Follows the deployed poller through a backfill until every side has caught up, looking `every` so
/// often. Each look is one read of a watermark and one of the failures (no call to either system).
pub async fn follow(table: &str, request: &BackfillRequest, every: Duration) -> Result<()> {
    let engine = deployed_engine(table, &request.integration).await?;
    let mut sides = Vec::new();
    for &side in &request.sides {
        let target =
            engine.newest_change(side).await.with_context(|| format!("reading side {side}'s newest change"))?;
        sides.push((side, target));
    }
    println!(
        "the poller works through the backlog on its schedule (PollIntervalMinutes); Ctrl-C stops watching, not the backfill"
    );
    watch(engine.stores(), request, &sides, every, ProgressDrawTarget::stderr()).await
}

/// Shows a side's progress until each is done: how far its watermark has come between the start and
/// its target, and how many items are recorded as failing (see `tandem failures`).
pub async fn watch(
    stores: &EngineStores,
    request: &BackfillRequest,
    targets: &[(Side, Option<Timestamp>)],
    every: Duration,
    draw: ProgressDrawTarget,
) -> Result<()> {
    let bars = MultiProgress::with_draw_target(draw);
    let style = ProgressStyle::with_template("side {prefix}: [{bar:30}] {percent:>3}% eta {eta} {msg}")
        .context("progress style")?
        .progress_chars("=> ");
    // Off a terminal the bars draw nothing: a line per side whenever its watermark moves instead.
    let plain = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut shown: Vec<Option<Timestamp>> = vec![None; targets.len()];
    let linked_before = stores.links.list_links(&request.integration).await?.len();
    let lines: Vec<ProgressBar> = targets
        .iter()
        .map(|(side, _)| bars.add(ProgressBar::new(1).with_style(style.clone()).with_prefix(side.to_string())))
        .collect();
    loop {
        let failing = stores.log.list_failures(&request.integration).await?.len();
        let mut all_done = true;
        for (((side, target), line), last) in targets.iter().zip(&lines).zip(shown.iter_mut()) {
            let watermark =
                stores.watermarks.get_watermark(&request.integration, *side).await?.unwrap_or(request.since);
            let progress = BackfillProgress { side: *side, since: request.since, target: *target, watermark };
            let (covered, total) = progress.covered_of_total();
            if plain && *last != Some(watermark) {
                *last = Some(watermark);
                let percent = covered * 100 / total;
                eprintln!("side {side}: {percent}% (up to {}, {failing} failing)", watermark.to_rfc3339());
            }
            line.set_length(total);
            line.set_position(covered);
            line.set_message(format!("up to {} · {failing} failing", watermark.format("%Y-%m-%d %H:%M")));
            all_done &= progress.done();
        }
        if all_done {
            break;
        }
        tokio::time::sleep(every).await;
    }
    for line in lines {
        line.finish();
    }
    let failing = stores.log.list_failures(&request.integration).await?.len();
    let linked = stores.links.list_links(&request.integration).await?.len();
    println!(
        "{}: backfill caught up on side(s) {}; {} copy(ies) created ({linked} pairs linked, {linked_before} before); \
         {failing} item(s) recorded as failing (`tandem failures`)",
        request.integration,
        request.sides.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and "),
        linked.saturating_sub(linked_before)
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
