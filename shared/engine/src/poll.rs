//! Polling: the safety net under webhooks. Per side, it reads every item changed since the watermark
//! (inclusive, so an item updated at the watermark instant is never skipped, and reaching back by the
//! search lag, so one that shows up in search late is not either), page by page, syncs each page, and
//! moves the watermark over what it dealt with. It also retries recorded failures with backoff and
//! parks the ones that keep failing for an operator.

use crate::crash::Step;
use crate::deadline::before as within;
use crate::engine::duration;
use crate::engine::{Engine, SyncOutcome};
use crate::error::SyncError;
use crate::history::Trigger;
use crate::pace::{Pace, PaceReport};
use crate::ports::{ChangedPage, FailureRecord, Link, PageToken, StoreError, SyncLog};
use crate::tally::{Counted, PollTally};
use futures_util::future::join;
use futures_util::{stream, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tandem_model::{Item, ItemId, Side, Timestamp};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{error, info, instrument, warn};

/// When no watermark exists and the project has no items, polling starts this far back.
const FIRST_RUN_LOOKBACK: chrono::Duration = chrono::Duration::hours(26);

/// How far another system's clock (and the precision of its instants) may be off tandem's when an
/// item's change instant is compared with tandem's records.
const CLOCK_ALLOWANCE: chrono::Duration = chrono::Duration::seconds(1);

/// How many times a link is read and written again to mark a failure recorded, when other syncs keep
/// writing it first.
const MARKING_ATTEMPTS: u32 = 3;

/// Whether `deadline` has passed.
fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

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

/// What a poll did with one changed item.
enum PollOutcome {
    /// The deadline came before the item was started.
    NotStarted,
    /// A recorded failure holds the item; it is retried on that failure's schedule (the record was
    /// touched, so a sync already under way cannot clear it with an older read).
    Waiting,
    Synced(Result<crate::SyncOutcome, SyncError>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PollReport {
    pub side: Side,
    /// Where this poll began to read: the watermark, less the search lag.
    pub since: Timestamp,
    pub watermark: Timestamp,
    pub items: usize,
    pub synced: usize,
    pub failed: usize,
    /// Pages of changes read (the watermark is saved after each).
    pub pages: usize,
    /// The deadline came before every changed item was synced.
    pub stopped_early: bool,
    /// Why the poll stopped before the end without the deadline: a side's credentials were refused.
    /// The watermark stays before the item it stopped at, so nothing changed meanwhile is skipped.
    pub blocked: Option<String>,
    /// What became of the items this poll dealt with (added to the side's tally page by page).
    pub counted: PollTally,
    /// How many items the poll synced at once, as it paced itself to the systems' rate limits.
    pub pace: PaceReport,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureRetryReport {
    pub retried: usize,
    pub succeeded: usize,
    pub parked: usize,
}

/// The recorded failures of one side, as a poll sees them when it starts.
struct SideFailures {
    /// Items whose failure brings them back later on its own schedule: the poll leaves them to it (and
    /// notes the change on the record). Items whose record is due, or is a note, are synced by the poll.
    waiting: HashSet<ItemId>,
    /// Items whose record is due: a successful sync by the poll clears it.
    due: HashSet<ItemId>,
    /// Parked items, with when their last failed attempt began: a later change of one is tried as it
    /// comes.
    parked: HashMap<ItemId, Timestamp>,
}

impl SideFailures {
    /// Whether the poll leaves `item` to its failure record: a parked item only until it changes again.
    /// A change is left only if it was surely made before the failed attempt began: one made during
    /// the attempt (after its read) was never tried. The system's clock is not tandem's, and its
    /// instants may be cut to the millisecond, hence the allowance.
    fn holds(&self, item: &Item) -> bool {
        self.waiting.contains(&item.item.id)
            || self.parked.get(&item.item.id).is_some_and(|began| item.updated + CLOCK_ALLOWANCE <= *began)
    }
}

/// What comes between a poll's items, in order: the end of a page (whose items are all dealt with
/// once it comes out in turn), or why no further page came.
enum Marker {
    PageEnd {
        complete_before: Timestamp,
        items: usize,
    },
    /// The deadline came before the next page was read.
    CutShort,
    ReadFailed(SyncError),
}

/// What the reading of a poll's pages hands to its syncing: a page, or why there is none.
type NextPage = Result<ChangedPage, Marker>;

/// One step of a poll's work: an item to sync, or a marker passed on in its place.
enum PollWork {
    Item { item: Box<Item>, read_at: Option<Timestamp> },
    Marker(Marker),
}

impl PollWork {
    fn of(read: NextPage) -> Vec<PollWork> {
        let page = match read {
            Ok(page) => page,
            Err(marker) => return vec![PollWork::Marker(marker)],
        };
        let (read_at, complete_before, items) = (page.read_at, page.complete_before, page.items.len());
        let mut work: Vec<PollWork> =
            page.items.into_iter().map(|item| PollWork::Item { item: Box::new(item), read_at }).collect();
        work.push(PollWork::Marker(Marker::PageEnd { complete_before, items }));
        work
    }
}

/// What each item of a poll answers to: the deadline, the poll's halt, and its pace.
#[derive(Clone, Copy)]
struct PollBounds<'a> {
    deadline: Option<Instant>,
    halt: &'a AtomicBool,
    pace: &'a Pace,
}

/// A step of a poll's work, done.
enum PollDone {
    Item { id: ItemId, updated: Timestamp, read_from: Timestamp, outcome: PollOutcome },
    Marker(Marker),
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

    /// As [`Engine::poll_side`], stopping cleanly at `deadline` (a Lambda's remaining time).
    ///
    /// Changes are read page by page, the next page while the items of the one before are synced, so
    /// memory stays bounded whatever the backlog (two pages at most) and the workers neither wait for
    /// a listing nor for a page's slowest item. The watermark is saved as each page is finished: a run
    /// cut short keeps what it did. It never passes an item that was not dealt with: an item not started
    /// before the deadline, or one whose side's credentials were refused, stays ahead of it for the next
    /// run. Syncs still under way at the deadline are cut short and recorded as due, so the next run
    /// finishes them. Searches lag behind writes, so each poll reads `polling.search_lag` back past the
    /// watermark; links skip what they have already seen, without a call.
    #[instrument(skip(self, deadline), fields(integration = %self.config.name))]
    pub async fn poll_side_until(&self, side: Side, deadline: Option<Instant>) -> Result<PollReport, SyncError> {
        let watermark = match self.stores.watermarks.get_watermark(&self.config.name, side).await? {
            Some(watermark) => watermark,
            None => {
                let start = self.initial_watermark(side).await?;
                self.stores.watermarks.set_watermark(&self.config.name, side, start).await?;
                start
            }
        };
        let since = watermark - self.search_lag;
        let failures = self.side_failures(side).await?;
        let mut report = PollReport {
            side,
            since,
            watermark,
            items: 0,
            synced: 0,
            failed: 0,
            pages: 0,
            stopped_early: false,
            blocked: None,
            counted: PollTally::default(),
            pace: PaceReport::default(),
        };
        let halt = AtomicBool::new(false);
        let pace = Arc::new(Pace::new(self.config.polling.concurrency));
        let (pages, read_pages) = mpsc::channel(1);
        let reading = self.read_pages(side, since, deadline, &halt, pages);
        let bounds = PollBounds { deadline, halt: &halt, pace: &pace };
        let syncing = self.sync_pages(side, read_pages, &failures, bounds, &mut report);
        let ((), synced) = pace.governing(join(reading, syncing)).await;
        report.pace = pace.report();
        synced?;
        match &report.blocked {
            Some(problem) => {
                error!(side = %side, %problem, watermark = %report.watermark, "poll stopped: the credentials were refused; nothing after the watermark is skipped")
            }
            None => {
                info!(side = %side, items = report.items, failed = report.failed, counted = %report.counted, watermark = %report.watermark, at_once = report.pace.reached, slow_downs = report.pace.slow_downs, "polled")
            }
        }
        Ok(report)
    }

    /// Reads a poll's pages one after the other into `pages` until the last, the deadline, or `halt`.
    async fn read_pages(
        &self,
        side: Side,
        since: Timestamp,
        deadline: Option<Instant>,
        halt: &AtomicBool,
        pages: mpsc::Sender<NextPage>,
    ) {
        let mut token: Option<PageToken> = None;
        loop {
            // A page is read only once the one before is taken, so no page waits long enough for its
            // reads to stop standing for fresh ones.
            let Ok(slot) = pages.reserve().await else { return };
            if halt.load(Ordering::Relaxed) {
                return;
            }
            let read = match within(deadline, self.connector(side).changed_page(since, token.as_ref())).await {
                Some(Ok(page)) if !past(deadline) => Ok(page),
                Some(Err(error)) => Err(Marker::ReadFailed(SyncError::connector(side)(error))),
                _ => Err(Marker::CutShort),
            };
            let next = read.as_ref().ok().and_then(|page| page.next.clone());
            slot.send(read);
            match next {
                Some(next) => token = Some(next),
                None => return,
            }
        }
    }

    /// Syncs the items of the pages `read_pages` receives, several at once, results taken in order of
    /// change, and saves the watermark as each page is finished. Items already started when the
    /// deadline comes are cut short and recorded as due (as a crash would leave them, but with a
    /// record), so the watermark may pass them.
    async fn sync_pages(
        &self,
        side: Side,
        read_pages: mpsc::Receiver<NextPage>,
        failures: &SideFailures,
        bounds: PollBounds<'_>,
        report: &mut PollReport,
    ) -> Result<(), SyncError> {
        let PollBounds { halt, .. } = bounds;
        let received = stream::unfold(read_pages, |mut pages| async { pages.recv().await.map(|read| (read, pages)) });
        // Items wait for their turn in the pace, so more are taken in than it allows at once.
        let outcomes = received
            .flat_map(|read| stream::iter(PollWork::of(read)))
            .map(|work| self.do_poll_work(side, work, failures, bounds))
            .buffered(self.config.polling.concurrency);
        let mut outcomes = std::pin::pin!(outcomes);
        // Where the poll stopped before the end: the watermark stays before this item's change.
        let mut stopped_before: Option<Timestamp> = None;
        // Whether the page the poll stopped in is finished: the watermark moves no further.
        let mut finished = false;
        // The part of the report's tally already added to the side's (with the watermark it reached).
        let mut saved = PollTally::default();
        while let Some(done) = outcomes.next().await {
            match done {
                PollDone::Item { .. } if stopped_before.is_some() => {}
                PollDone::Item { id, updated, read_from, outcome } => {
                    let stop = self.poll_outcome(side, &id, read_from, outcome, failures, report).await?;
                    if stop {
                        stopped_before = Some(updated);
                        halt.store(true, Ordering::Relaxed);
                    }
                }
                PollDone::Marker(Marker::PageEnd { complete_before, items }) => {
                    report.pages += 1;
                    report.items += items;
                    if finished {
                        // A page read ahead while the poll stopped: none of its items was dealt with.
                        continue;
                    }
                    let reached = stopped_before.map_or(complete_before, |at| complete_before.min(at));
                    // Items a page dealt with are counted even where the watermark stays (a poll's
                    // overlap with the one before, a first poll starting at the newest change).
                    let counted = report.counted.since(&saved);
                    if reached > report.watermark || !counted.is_empty() {
                        report.watermark = reached.max(report.watermark);
                        let name = &self.config.name;
                        self.stores.watermarks.advance_watermark(name, side, report.watermark, &counted).await?;
                        saved = report.counted;
                    }
                    self.crash_point(Step::PollSynced);
                    finished = stopped_before.is_some();
                }
                PollDone::Marker(Marker::CutShort) => report.stopped_early = true,
                PollDone::Marker(Marker::ReadFailed(_)) if stopped_before.is_some() => {}
                PollDone::Marker(Marker::ReadFailed(error)) => return Err(error),
            }
        }
        Ok(())
    }

    /// Syncs one changed item of a page, or passes a page's end on in its place among the items.
    async fn do_poll_work(
        &self,
        side: Side,
        work: PollWork,
        failures: &SideFailures,
        bounds: PollBounds<'_>,
    ) -> PollDone {
        let (item, read_at) = match work {
            PollWork::Item { item, read_at } => (item, read_at),
            PollWork::Marker(marker) => return PollDone::Marker(marker),
        };
        let PollBounds { deadline, halt, pace } = bounds;
        // Waiting for a turn ends at the deadline too; the item is then not started.
        let _turn = within(deadline, pace.turn()).await;
        let (id, updated, read_from) = (item.item.id.clone(), item.updated, self.clock.now());
        let outcome = if past(deadline) || halt.load(Ordering::Relaxed) {
            PollOutcome::NotStarted
        } else if failures.holds(&item) {
            PollOutcome::Waiting
        } else if failures.due.contains(&id) {
            // A due record may hold more than this item's own change (a comment of its copy, a
            // claim to finish): it takes a whole sync from a fresh read, not just the page's news.
            let synced = within(deadline, self.sync_item_for(side, &id, Trigger::Poll)).await;
            PollOutcome::Synced(synced.unwrap_or(Err(SyncError::DeadlineReached)))
        } else {
            let synced = within(deadline, self.sync_read_item(side, *item, read_at)).await;
            PollOutcome::Synced(synced.unwrap_or(Err(SyncError::DeadlineReached)))
        };
        PollDone::Item { id, updated, read_from, outcome }
    }

    /// Records what became of one item; true when the poll must stop before it.
    async fn poll_outcome(
        &self,
        side: Side,
        id: &ItemId,
        read_from: Timestamp,
        outcome: PollOutcome,
        failures: &SideFailures,
        report: &mut PollReport,
    ) -> Result<bool, SyncError> {
        match outcome {
            // Items already started are let finish, but the watermark stays before this one.
            PollOutcome::NotStarted => {
                report.stopped_early = true;
                return Ok(true);
            }
            PollOutcome::Waiting => self.leave_to_record(side, id).await?,
            PollOutcome::Synced(Err(error)) if error.is_credential_problem() => {
                report.blocked = Some(error_chain(&error));
                return Ok(true);
            }
            PollOutcome::Synced(synced) => self.poll_synced(side, id, read_from, synced, failures, report).await?,
        }
        Ok(false)
    }

    /// What a poll records after syncing one item.
    async fn poll_synced(
        &self,
        side: Side,
        id: &ItemId,
        read_from: Timestamp,
        synced: Result<crate::SyncOutcome, SyncError>,
        failures: &SideFailures,
        report: &mut PollReport,
    ) -> Result<(), SyncError> {
        report.counted.count(Counted::of(&synced));
        match synced {
            Ok(outcome)
                if outcome != crate::SyncOutcome::AlreadySynced
                    && (failures.parked.contains_key(id) || failures.due.contains(id)) =>
            {
                info!(item = %id, "a recorded change synced; its record is cleared");
                self.clear_failure(side, id, read_from).await?;
                report.synced += 1;
            }
            Ok(_) => report.synced += 1,
            Err(error) => {
                warn!(item = %id, %error, "sync failed during poll; recorded for retry");
                // The failure record, not the watermark, now holds this change.
                self.record_failure(side, id, &error, read_from).await?;
                report.failed += 1;
            }
        }
        Ok(())
    }

    /// The poll leaves an item to its failure record: the record's `noted_at` moves to now, so that a
    /// sync under way since before (whose read may predate this change) cannot clear it.
    async fn leave_to_record(&self, side: Side, id: &ItemId) -> Result<(), SyncError> {
        let now = self.clock.now();
        let touch = FailureRecord::note(&self.config.name, side, id, "changed while a failure was recorded", now, now);
        self.stores.log.note_change(&touch).await?;
        Ok(())
    }

    async fn side_failures(&self, side: Side) -> Result<SideFailures, SyncError> {
        let now = self.clock.now();
        let (parked, waiting): (Vec<FailureRecord>, Vec<FailureRecord>) = self
            .stores
            .log
            .list_failures(&self.config.name)
            .await?
            .into_iter()
            .filter(|failure| failure.side == side)
            .partition(|failure| failure.parked);
        // A record with no failed attempt is a note of a sync under way (or of a wait): the poll syncs
        // the item itself rather than wait for it. Only failures backing off are left to their schedule.
        let (later, due): (Vec<FailureRecord>, Vec<FailureRecord>) = waiting
            .into_iter()
            .partition(|failure| failure.attempts > 0 && failure.next_attempt_at.is_some_and(|at| at > now));
        Ok(SideFailures {
            waiting: later.into_iter().map(|failure| failure.item).collect(),
            due: due.into_iter().map(|failure| failure.item).collect(),
            parked: parked
                .into_iter()
                .map(|failure| (failure.item, failure.last_attempt_began.unwrap_or(failure.last_failed_at)))
                .collect(),
        })
    }

    /// Sets a side's watermark by hand (the `tandem watermark set` command).
    pub async fn set_watermark(&self, side: Side, at: Timestamp) -> Result<(), SyncError> {
        Ok(self.stores.watermarks.set_watermark(&self.config.name, side, at).await?)
    }

    /// Syncs a recorded failure's item now, as a person's retry: the record is cleared when the sync
    /// succeeds, and updated with the new error when it does not.
    pub async fn retry_now(&self, side: Side, id: &ItemId) -> Result<SyncOutcome, SyncError> {
        let read_from = self.clock.now();
        match self.sync_item_for(side, id, Trigger::Manual).await {
            Ok(outcome) => {
                self.clear_failure(side, id, read_from).await?;
                Ok(outcome)
            }
            Err(error) => {
                self.record_failure(side, id, &error, read_from).await?;
                Err(error)
            }
        }
    }

    /// Retries the recorded failures that are due.
    pub async fn retry_failures(&self) -> Result<FailureRetryReport, SyncError> {
        self.retry_failures_until(None).await
    }

    /// As [`Engine::retry_failures`], leaving what is not reached by `deadline` for the next run. A side
    /// whose credentials are refused is not tried further this run: every call would fail alike.
    pub async fn retry_failures_until(&self, deadline: Option<Instant>) -> Result<FailureRetryReport, SyncError> {
        let now = self.clock.now();
        let mut report = FailureRetryReport::default();
        let mut refused: HashSet<Side> = HashSet::new();
        for failure in self.stores.log.list_failures(&self.config.name).await? {
            if past(deadline) {
                break;
            }
            let due = !failure.parked && failure.next_attempt_at.is_some_and(|at| at <= now);
            if !due || refused.contains(&failure.side) {
                continue;
            }
            report.retried += 1;
            let read_from = self.clock.now();
            let retry = Trigger::Retry { attempt: failure.attempts + 1 };
            let synced = within(deadline, self.sync_item_for(failure.side, &failure.item, retry)).await;
            match synced.unwrap_or(Err(SyncError::DeadlineReached)) {
                Ok(_) => {
                    self.clear_failure(failure.side, &failure.item, read_from).await?;
                    report.succeeded += 1;
                }
                Err(error) => {
                    // Every call to that side would fail alike: the rest wait for the next run.
                    if error.is_credential_problem() || error.is_rate_limited() {
                        refused.insert(failure.side);
                    }
                    if self.record_failure(failure.side, &failure.item, &error, read_from).await?.parked {
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
        began: Timestamp,
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
        // Waiting (for another worker's claim, for a search to catch up, for the next run after a
        // deadline, for a busy store, for credentials to be renewed) is not a failed attempt of the item:
        // counting it would park a healthy item, and a credential outage would park every change made
        // during it.
        let waiting = error.is_waiting();
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
            first_failed_at: previous.as_ref().map_or(now, |failure| failure.first_failed_at),
            last_failed_at: now,
            last_attempt_began: Some(began),
            next_attempt_at: (!parked).then(|| match error {
                // Another worker's claim, or a search catching up: worth trying again as soon as it
                // ends, not later.
                SyncError::CreationInProgress { until }
                | SyncError::CopyNotLinkedYet { until }
                | SyncError::AwaitingSearch { until }
                | SyncError::WritesInProgress { until } => (*until).max(now),
                // Cut short only to answer in time: nothing is wrong, the next run may finish it.
                _ if error.was_cut_short() => now,
                // Soon after the credentials are renewed, however long the outage: no backoff.
                _ if error.is_credential_problem() => now + policy.delay(1),
                // Never sooner than the system asked (a Retry-After longer than the call could wait).
                _ => now + policy.delay(attempts).max(error.retry_after().map_or(chrono::Duration::zero(), duration)),
            }),
            parked,
            // A sync that read before this failure may not have seen what failed: it must not clear it.
            noted_at: previous.as_ref().map_or(now, |failure| failure.noted_at.max(now)),
        };
        self.stores.log.record_failure(&failure).await?;
        if let Some(link) = linked {
            self.say_failure_recorded(link).await?;
        }
        Ok(failure)
    }

    /// Marks a link as having a failure recorded, so that the next merge of the pair that succeeds clears
    /// it (a sync whose link says nothing of the kind spends no store request on it).
    async fn say_failure_recorded(&self, mut link: Link) -> Result<(), SyncError> {
        for _ in 0..MARKING_ATTEMPTS {
            if link.failure_recorded {
                return Ok(());
            }
            link.failure_recorded = true;
            match self.stores.links.update_link(&link).await {
                Err(StoreError::Conflict { .. }) => {}
                written => return written.map(|_| ()).map_err(SyncError::from),
            }
            // Written meanwhile: mark what is stored now.
            match self.stores.links.get_link(&self.config.name, Side::One, &link.side1.id).await? {
                Some(stored) => link = stored,
                None => return Ok(()),
            }
        }
        Err(SyncError::TooMuchContention { attempts: MARKING_ATTEMPTS })
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
