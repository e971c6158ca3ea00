//! Scenario c: the backfill of an existing project. Alice files many Jira bugs before tandem runs (many
//! at once, through the Jira API); then one engine polls side 1 from a watermark before them until
//! every bug is linked to its Azure DevOps copy. With a quota on the Azure DevOps simulator, the
//! throughput is compared with the most the quota allows.

use super::error::SyncBenchError;
use super::world::{StoreKind, SyncWorld, WorldSettings};
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Serialize;
use std::time::{Duration, Instant};
use tandem_engine::pace::PaceReport;
use tandem_model::Side;
use tandem_simulators::faults::{FaultPlan, LatencyRange, RateLimit};

#[derive(Debug, Clone)]
pub struct BackfillSettings {
    pub items: usize,
    /// The most items the poll syncs at once (`polling.concurrency`); it paces itself below.
    pub poll_concurrency: usize,
    /// Latency added to every API call of both simulators while tandem polls.
    pub latency_ms: u64,
    /// The Azure DevOps simulator's quota, if any.
    pub rate_limit: Option<RateLimit>,
    /// Alice's bugs filed at once.
    pub seed_concurrency: usize,
    /// Gives up when the bugs are not all linked by then.
    pub limit: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillFigures {
    pub items: usize,
    pub poll_concurrency: usize,
    pub latency_ms: u64,
    pub seeding_s: f64,
    /// First poll to the last bug linked.
    pub wall_s: f64,
    pub items_per_s: f64,
    pub polls: usize,
    /// The most items the polls synced at once, as they paced themselves.
    pub pace_highest: usize,
    /// Items synced at once when the last poll ended.
    pub pace_reached: usize,
    /// Calls the systems answered "slow down", as the polls heard them.
    pub slow_downs: u64,
    /// Recorded failures the engine retried while the bench waited.
    pub failures_retried: usize,
    pub jira_calls_per_copy: f64,
    /// Azure DevOps calls that were answered (refusals left out) per copy.
    pub ado_calls_per_copy: f64,
    pub quota: Option<QuotaFigures>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuotaFigures {
    pub requests_per_second: f64,
    pub burst: u32,
    pub refusals: u64,
    /// `requests_per_second / ado_calls_per_copy`: the most copies a second the quota allows.
    pub ceiling_items_per_s: f64,
    pub fraction_of_ceiling: f64,
    /// The same against what the quota allowed over the run, the initial burst included:
    /// `copies / ((burst + requests_per_second × wall) / ado_calls_per_copy)`.
    pub fraction_with_burst: f64,
}

impl QuotaFigures {
    pub fn new(limit: RateLimit, refusals: u64, ado_calls_per_copy: f64, copies: f64, wall_s: f64) -> QuotaFigures {
        let calls_per_copy = ado_calls_per_copy.max(f64::MIN_POSITIVE);
        let ceiling_items_per_s = limit.requests_per_second / calls_per_copy;
        let items_per_s = copies / wall_s;
        let allowed_copies = (f64::from(limit.burst) + limit.requests_per_second * wall_s) / calls_per_copy;
        QuotaFigures {
            requests_per_second: limit.requests_per_second,
            burst: limit.burst,
            refusals,
            ceiling_items_per_s,
            fraction_of_ceiling: items_per_s / ceiling_items_per_s,
            fraction_with_burst: copies / allowed_copies,
        }
    }
}

/// Runs one backfill in a world of its own (embedded store, no webhooks).
pub async fn measure(settings: &BackfillSettings) -> Result<BackfillFigures, SyncBenchError> {
    let world = SyncWorld::start(&WorldSettings {
        store: StoreKind::Embedded,
        poll_concurrency: settings.poll_concurrency,
        webhooks: false,
    })
    .await?;
    let figures = backfill(&world, settings).await;
    world.stop().await;
    figures
}

async fn backfill(world: &SyncWorld, settings: &BackfillSettings) -> Result<BackfillFigures, SyncBenchError> {
    let sims = world.simulators()?;
    // Jira's search works in whole minutes; a watermark a minute back is before every bug.
    let before_the_bugs = chrono::Utc::now() - chrono::Duration::minutes(1);
    let seeding = Instant::now();
    stream::iter(0..settings.items)
        .map(|number| async move { world.alice.create(Side::One, &format!("Backfill bug {number}")).await })
        .buffer_unordered(settings.seed_concurrency.max(1))
        .try_for_each(|_| async { Ok(()) })
        .await?;
    let seeding_s = seeding.elapsed().as_secs_f64();

    let latency = LatencyRange { min: settings.latency_ms, max: settings.latency_ms };
    let plan = FaultPlan { latency_ms: latency, ..FaultPlan::none() };
    sims.jira.set_fault_plan(plan.clone()).map_err(SyncBenchError::FaultPlan)?;
    sims.ado
        .set_fault_plan(FaultPlan { rate_limit: settings.rate_limit, ..plan })
        .map_err(SyncBenchError::FaultPlan)?;
    world
        .engine
        .set_watermark(Side::One, before_the_bugs)
        .await
        .map_err(SyncBenchError::sync("setting the watermark before the bugs"))?;
    let (jira_before, ado_before) = (sims.jira.fault_stats(), sims.ado.fault_stats());

    let started = Instant::now();
    let mut polls = 0;
    let mut failures_retried = 0;
    let mut pace = PaceReport::default();
    let linked = loop {
        polls += 1;
        let report =
            world.engine.poll_side(Side::One).await.map_err(SyncBenchError::sync(format!("poll {polls} of side 1")))?;
        pace = PaceReport {
            reached: report.pace.reached,
            highest: pace.highest.max(report.pace.highest),
            slow_downs: pace.slow_downs + report.pace.slow_downs,
        };
        let linked = linked(world).await?;
        if linked >= settings.items {
            break linked;
        }
        if started.elapsed() > settings.limit {
            return Err(SyncBenchError::NotSynced {
                what: format!("the backfill ({linked} of {} bugs linked)", settings.items),
                waited: settings.limit,
            });
        }
        // Failed items wait for their retry time; the bench waits with them, as the scheduled poller
        // would, and retries those that are due.
        tokio::time::sleep(Duration::from_secs(1)).await;
        failures_retried +=
            world.engine.retry_failures().await.map_err(SyncBenchError::sync("retrying failed items"))?.retried;
    };
    let wall = started.elapsed();
    sims.jira.clear_fault_plan();
    sims.ado.clear_fault_plan();

    let (jira_after, ado_after) = (sims.jira.fault_stats(), sims.ado.fault_stats());
    let copies = linked as f64;
    let refusals = ado_after.rate_limit_refusals - ado_before.rate_limit_refusals;
    let ado_answered = (ado_after.api_calls - ado_before.api_calls).saturating_sub(refusals);
    let jira_calls_per_copy = (jira_after.api_calls - jira_before.api_calls) as f64 / copies;
    let ado_calls_per_copy = ado_answered as f64 / copies;
    let items_per_s = copies / wall.as_secs_f64();
    Ok(BackfillFigures {
        items: settings.items,
        poll_concurrency: settings.poll_concurrency,
        latency_ms: settings.latency_ms,
        seeding_s,
        wall_s: wall.as_secs_f64(),
        items_per_s,
        polls,
        pace_highest: pace.highest,
        pace_reached: pace.reached,
        slow_downs: pace.slow_downs,
        failures_retried,
        jira_calls_per_copy,
        ado_calls_per_copy,
        quota: settings
            .rate_limit
            .map(|limit| QuotaFigures::new(limit, refusals, ado_calls_per_copy, copies, wall.as_secs_f64())),
    })
}

/// Bugs of side 1 that have a copy.
async fn linked(world: &SyncWorld) -> Result<usize, SyncBenchError> {
    let links = world
        .engine
        .stores()
        .links
        .list_links(world.engine.integration())
        .await
        .map_err(|source| SyncBenchError::Store { doing: "counting the links".into(), source })?;
    Ok(links.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_is_the_quota_over_the_calls_each_copy_needs() {
        let limit = RateLimit { requests_per_second: 40.0, burst: 40 };
        // 180 copies in 10 s at 2 calls each, under 40 requests a second with a burst of 40.
        let quota = QuotaFigures::new(limit, 12, 2.0, 180.0, 10.0);
        assert_eq!(quota.ceiling_items_per_s, 20.0);
        assert_eq!(quota.fraction_of_ceiling, 0.9);
        // The burst allowed 20 copies more: 440 requests, 220 copies.
        assert!((quota.fraction_with_burst - 180.0 / 220.0).abs() < 1e-12);
        assert_eq!(quota.refusals, 12);
    }
}
