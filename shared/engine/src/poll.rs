//! Polling: the safety net under webhooks. Per side, it reads every item changed since the watermark
//! (inclusive, so an item updated at the watermark instant is never skipped), syncs it, and moves the
//! watermark to the newest change it saw. It also retries recorded failures with backoff and parks the
//! ones that keep failing for an operator.

use crate::crash::Step;
use crate::engine::Engine;
use crate::error::SyncError;
use crate::ports::{FailureRecord, SyncLog};
use futures_util::{stream, StreamExt};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tandem_model::{ItemId, Side, Timestamp};
use tokio::time::Instant;
use tracing::{info, instrument, warn};

/// When no watermark exists and the project has no items, polling starts this far back.
const FIRST_RUN_LOOKBACK: chrono::Duration = chrono::Duration::hours(26);

/// Backoff for recorded failures: `base · 2^(attempts-1)`, capped, parked after `max_attempts`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(30), max_delay: Duration::from_secs(3600), max_attempts: 8 }
    }
}

impl RetryPolicy {
    fn delay(&self, attempts: u32) -> chrono::Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        let delay = self.base.saturating_mul(factor).min(self.max_delay);
        chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1))
    }
}

enum PollOutcome {
    /// The deadline came before the item was started.
    NotStarted,
    /// A recorded failure holds the item; it is retried on that failure's schedule.
    Waiting,
    Synced(Result<crate::SyncOutcome, SyncError>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PollReport {
    pub side: Side,
    pub since: Timestamp,
    pub watermark: Timestamp,
    pub items: usize,
    pub synced: usize,
    pub failed: usize,
    /// The deadline came before every changed item was synced.
    pub stopped_early: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureRetryReport {
    pub retried: usize,
    pub succeeded: usize,
    pub parked: usize,
}

impl Engine {
    /// The watermark a side starts from on its first poll: the project's last update, or now − 26 h
    /// when the project has no items.
    pub async fn initial_watermark(&self, side: Side) -> Result<Timestamp, SyncError> {
        let last = self.connector(side).project_last_updated().await.map_err(SyncError::connector(side))?;
        Ok(last.unwrap_or_else(|| self.clock.now() - FIRST_RUN_LOOKBACK))
    }

    pub async fn poll_side(&self, side: Side) -> Result<PollReport, SyncError> {
        self.poll_side_until(side, None).await
    }

    /// As [`Engine::poll_side`], stopping cleanly at `deadline` (a Lambda's remaining time): the
    /// watermark moves only past the items synced, so the next run continues where this one stopped.
    #[instrument(skip(self, deadline), fields(integration = %self.config.name))]
    pub async fn poll_side_until(&self, side: Side, deadline: Option<Instant>) -> Result<PollReport, SyncError> {
        let integration = &self.config.name;
        let since = match self.stores.watermarks.get_watermark(integration, side).await? {
            Some(watermark) => watermark,
            None => {
                let start = self.initial_watermark(side).await?;
                self.stores.watermarks.set_watermark(integration, side, start).await?;
                start
            }
        };
        let mut items = self.connector(side).changed_since(since).await.map_err(SyncError::connector(side))?;
        items.sort_by_key(|item| item.updated);
        let mut report = PollReport {
            side,
            since,
            watermark: since,
            items: items.len(),
            synced: 0,
            failed: 0,
            stopped_early: false,
        };
        // Items with a recorded failure are retried on the failure's schedule, not on every poll. A
        // parked one waits for an operator, unless it changed after it last failed: that change is
        // tried as it comes (it may well sync, say once the value a workflow refused is changed).
        let (parked, waiting): (Vec<FailureRecord>, Vec<FailureRecord>) = self
            .stores
            .log
            .list_failures(integration)
            .await?
            .into_iter()
            .filter(|failure| failure.side == side)
            .partition(|failure| failure.parked);
        let waiting: HashSet<ItemId> = waiting.into_iter().map(|failure| failure.item).collect();
        let parked: HashMap<ItemId, Timestamp> =
            parked.into_iter().map(|failure| (failure.item, failure.last_failed_at)).collect();
        // Several items at once, results taken in order of change: the watermark moves over a
        // contiguous run of items that were dealt with, never past one that was not started.
        let (waiting, parked) = (&waiting, &parked);
        let mut outcomes = stream::iter(items.into_iter().map(|item| async move {
            let (id, updated) = (item.item.id.clone(), item.updated);
            let outcome = if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                PollOutcome::NotStarted
            } else if waiting.contains(&id) || parked.get(&id).is_some_and(|failed| updated <= *failed) {
                PollOutcome::Waiting
            } else {
                PollOutcome::Synced(self.sync_read_item(side, item).await)
            };
            (id, updated, outcome)
        }))
        .buffered(self.poll_concurrency);
        while let Some((id, updated, outcome)) = outcomes.next().await {
            let synced = match outcome {
                // Items already started are let finish (dropping them would be a crash), but the
                // watermark stays before the first item this poll did not start.
                PollOutcome::NotStarted => {
                    report.stopped_early = true;
                    continue;
                }
                _ if report.stopped_early => continue,
                PollOutcome::Waiting => None,
                PollOutcome::Synced(synced) => Some(synced),
            };
            report.watermark = report.watermark.max(updated);
            match synced {
                Some(Ok(_)) if parked.contains_key(&id) => {
                    info!(item = %id, "a parked change synced; its failure is cleared");
                    self.stores.log.clear_failure(integration, side, &id).await?;
                    report.synced += 1;
                }
                None | Some(Ok(_)) => report.synced += usize::from(synced.is_some()),
                Some(Err(error)) => {
                    warn!(item = %id, %error, "sync failed during poll; recorded for retry");
                    // The failure record, not the watermark, now holds this change.
                    self.record_failure(side, &id, &error).await?;
                    report.failed += 1;
                }
            }
        }
        self.crash_point(Step::PollSynced);
        if report.watermark > since {
            self.stores.watermarks.set_watermark(integration, side, report.watermark).await?;
        }
        info!(side = %side, items = report.items, failed = report.failed, watermark = %report.watermark, "polled");
        Ok(report)
    }

    /// Sets a side's watermark by hand (the `tandem watermark set` command).
    pub async fn set_watermark(&self, side: Side, at: Timestamp) -> Result<(), SyncError> {
        Ok(self.stores.watermarks.set_watermark(&self.config.name, side, at).await?)
    }

    /// Retries the recorded failures that are due.
    pub async fn retry_failures(&self) -> Result<FailureRetryReport, SyncError> {
        self.retry_failures_until(None).await
    }

    /// As [`Engine::retry_failures`], leaving what is not reached by `deadline` for the next run.
    pub async fn retry_failures_until(&self, deadline: Option<Instant>) -> Result<FailureRetryReport, SyncError> {
        let now = self.clock.now();
        let mut report = FailureRetryReport::default();
        for failure in self.stores.log.list_failures(&self.config.name).await? {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                break;
            }
            let due = !failure.parked && failure.next_attempt_at.is_some_and(|at| at <= now);
            if !due {
                continue;
            }
            report.retried += 1;
            match self.sync_item(failure.side, &failure.item).await {
                Ok(_) => {
                    self.stores.log.clear_failure(&self.config.name, failure.side, &failure.item).await?;
                    report.succeeded += 1;
                }
                Err(error) => {
                    if self.record_failure(failure.side, &failure.item, &error).await?.parked {
                        report.parked += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Makes a parked failure due again (the `tandem failures --retry` command).
    pub async fn unpark_failure(&self, side: Side, item: &ItemId) -> Result<bool, SyncError> {
        unpark_failure(self.stores.log.as_ref(), &self.config.name, side, item, self.clock.now()).await
    }

    /// Records (or updates) the failure of an item's sync, with its next attempt per the engine's
    /// retry policy, parking it once the policy's attempts are used up.
    pub(crate) async fn record_failure(
        &self,
        side: Side,
        item: &ItemId,
        error: &SyncError,
    ) -> Result<FailureRecord, SyncError> {
        let policy = self.retry_policy;
        let now = self.clock.now();
        // One record per link, whichever side's notice or poll hit the problem, so an operator sees
        // each problem once; an unlinked item's failure is its own.
        let linked = self.stores.links.get_link(&self.config.name, side, item).await?;
        let (side, item) = match &linked {
            Some(link) => (Side::One, &link.side1.id),
            None => (side, item),
        };
        let previous = self.stores.log.get_failure(&self.config.name, side, item).await?;
        // Waiting for another worker's claim, for the next run after a deadline, or for a store slow to
        // record a claim, is not a failed attempt of the item: counting it would park a healthy item
        // that many deliveries arrived for at once, or that met a busy store.
        let waiting = matches!(
            error,
            SyncError::CreationInProgress { .. } | SyncError::DeadlineReached | SyncError::SlowClaim { .. }
        );
        let attempts = previous.as_ref().map_or(0, |failure| failure.attempts) + u32::from(!waiting);
        let retryable = error.is_retryable();
        // A permanent error (bad mapping, missing transition) is still retried a few times: the
        // configuration or the workflow may be fixed meanwhile; it parks sooner.
        let limit = if retryable { policy.max_attempts } else { policy.max_attempts.min(3) };
        let parked = !waiting && attempts >= limit;
        let failure = FailureRecord {
            integration: self.config.name.clone(),
            side,
            item: item.clone(),
            error: error_chain(error),
            retryable,
            attempts,
            first_failed_at: previous.map_or(now, |failure| failure.first_failed_at),
            last_failed_at: now,
            next_attempt_at: (!parked).then(|| match error {
                // Another worker's claim: worth trying again as soon as its lease ends, not later.
                SyncError::CreationInProgress { until } => (*until).max(now),
                // Cut short only to answer in time: nothing is wrong, the next run may finish it.
                SyncError::DeadlineReached => now,
                _ => now + policy.delay(attempts),
            }),
            parked,
        };
        self.stores.log.record_failure(&failure).await?;
        Ok(failure)
    }
}

/// Makes a recorded failure due at `now` with its attempts reset; false when none is recorded. Needs
/// only the sync log, so an operator's command can do it without reaching either system.
pub async fn unpark_failure(
    log: &dyn SyncLog,
    integration: &str,
    side: Side,
    item: &ItemId,
    now: Timestamp,
) -> Result<bool, SyncError> {
    let Some(mut failure) = log.get_failure(integration, side, item).await? else {
        return Ok(false);
    };
    failure.parked = false;
    failure.attempts = 0;
    failure.next_attempt_at = Some(now);
    log.record_failure(&failure).await?;
    Ok(true)
}

/// The error with its causes, for operators reading `tandem failures list`.
fn error_chain(error: &SyncError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
