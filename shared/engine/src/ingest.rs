//! Webhook deliveries: verified by the connector's receiver before they get here, de-duplicated by the
//! sender's delivery id, echoes of the integration's own writes dropped, then each item synced from its
//! current state. A change that fails is recorded for the poller; nothing is lost.
//!
//! Not even when the worker dies mid-way: once the delivery id is recorded a repeat of it is dropped,
//! so before recording it the engine notes each change in the failure log (due once the claim lease
//! ends), and removes the note when the sync is done. A worker killed in between leaves the note, and
//! the poller's retries finish the change. The note is removed only by a sync that began reading after
//! the last change noted on it: a sync that read earlier may have missed that change.
//!
//! Replays cost little: a delivery seen before (a sender's retry, or a replay of a signed body, whose
//! delivery id is the body's digest) is dropped before any read, a notice older than the delivery
//! memory is ignored, and notices for an item whose sync is already waiting to read ride on that sync.

use crate::crash::Step;
use crate::engine::{Engine, SyncOutcome};
use crate::error::SyncError;
use crate::ports::{FailureRecord, Noted};
use tandem_model::{ChangeKind, ChangeNotice, Delivery, ItemId, Side, Timestamp};
use tokio::time::Instant;
use tracing::{debug, info, instrument, warn};

/// How long a delivery id is remembered. Senders retry for hours at most (Jira: a few retries within
/// minutes); a week leaves a wide margin and the records expire on their own. A notice older than this
/// could be a replay whose id is forgotten: it is ignored (the poller has long since seen the change).
const DELIVERY_MEMORY: chrono::Duration = chrono::Duration::days(7);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryOutcome {
    /// The same delivery was processed before: nothing was done.
    pub duplicate: bool,
    /// Items synced.
    pub synced: usize,
    /// Notices caused by the integration's own writes, dropped.
    pub echoes: usize,
    /// Notices tandem does not act on (item deletions are not propagated; notices older than the
    /// delivery memory).
    pub ignored: usize,
    /// Items outside the integration's scope (another project or item type, or restricted), read once
    /// and left alone.
    pub out_of_scope: usize,
    /// Items whose sync failed; each is recorded as a failure the poller retries.
    pub failed: usize,
}

impl DeliveryOutcome {
    /// Whether the delivery was about nothing the integration syncs: every notice was out of scope or
    /// ignored.
    pub fn nothing_in_scope(&self) -> bool {
        !self.duplicate && self.synced + self.echoes + self.failed == 0 && self.out_of_scope + self.ignored > 0
    }
}

/// A notice that calls for a sync, and how its change was noted in the failure log: `Some(at)` when
/// this delivery made the note (at that instant), `None` when it moved an existing record's `noted_at`.
struct Change<'a> {
    item: &'a ItemId,
    noted: Result<Option<Timestamp>, SyncError>,
}

impl Engine {
    pub async fn receive_delivery(&self, side: Side, delivery: &Delivery) -> Result<DeliveryOutcome, SyncError> {
        self.receive_delivery_until(side, delivery, None).await
    }

    /// As [`Engine::receive_delivery`], but syncing stops at `deadline` (a webhook sender's answer limit,
    /// a Lambda's remaining time): every notice not finished by then is recorded as a failure that is
    /// due at once, so the poller completes it and the sender still gets its answer in time.
    #[instrument(skip(self, delivery, deadline), fields(integration = %self.config.name, delivery = %delivery.id))]
    pub async fn receive_delivery_until(
        &self,
        side: Side,
        delivery: &Delivery,
        deadline: Option<Instant>,
    ) -> Result<DeliveryOutcome, SyncError> {
        // Notes first, delivery id second: a worker that dies after recording the id (so that a repeat
        // is dropped) has already left a note for every change it was to sync.
        let mut outcome = DeliveryOutcome::default();
        let mut changes = Vec::new();
        for notice in &delivery.notices {
            if notice.kind == ChangeKind::ItemDeleted || self.is_too_old(notice) {
                outcome.ignored += 1;
                continue;
            }
            match self.is_service_account(side, notice.actor.as_ref()).await {
                Ok(true) => outcome.echoes += 1,
                Ok(false) => {
                    changes.push(Change { item: &notice.item, noted: Ok(self.note_change(side, &notice.item).await?) })
                }
                Err(error) => changes.push(Change { item: &notice.item, noted: Err(error) }),
            }
        }
        // Nothing to sync (the integration's own echoes, deletions, replays too old to trust): a repeat
        // of this delivery would do nothing either, so its id is not worth a store write.
        if changes.is_empty() {
            return Ok(outcome);
        }
        let now = self.clock.now();
        let first = self
            .stores
            .deliveries
            .record_delivery(&self.config.name, side, &delivery.id, now, now + DELIVERY_MEMORY)
            .await?;
        if !first {
            self.withdraw_notes(side, &changes).await?;
            info!("repeated delivery dropped");
            return Ok(DeliveryOutcome { duplicate: true, ..DeliveryOutcome::default() });
        }
        self.crash_point(Step::DeliveryRecorded);
        for change in changes {
            let read_from = self.clock.now();
            let synced = match change.noted {
                Ok(_) => self.sync_until(side, change.item, &delivery.id, deadline).await,
                Err(error) => Err(error),
            };
            match synced {
                Ok(SyncOutcome::OutOfScope { .. }) => {
                    self.clear_failure(side, change.item, read_from).await?;
                    outcome.out_of_scope += 1;
                }
                // Another sync of the item is waiting to read: it covers this notice, and clears the note.
                Ok(SyncOutcome::Coalesced) => outcome.synced += 1,
                Ok(_) => {
                    // Done with: the note, or (when there was no note) the failure recorded earlier.
                    self.clear_failure(side, change.item, read_from).await?;
                    outcome.synced += 1;
                }
                Err(error) => {
                    warn!(item = %change.item, %error, "sync failed; recorded for retry");
                    let recorded = self.record_failure(side, change.item, &error, read_from).await?;
                    // A linked item's failure is recorded under its link; the note is not needed then.
                    if (recorded.side, &recorded.item) != (side, change.item) {
                        self.clear_failure(side, change.item, read_from).await?;
                    }
                    outcome.failed += 1;
                }
            }
        }
        Ok(outcome)
    }

    async fn sync_until(
        &self,
        side: Side,
        item: &ItemId,
        delivery: &str,
        deadline: Option<Instant>,
    ) -> Result<SyncOutcome, SyncError> {
        let sync = self.sync_notice(side, item, delivery);
        crate::deadline::before(deadline, sync).await.unwrap_or(Err(SyncError::DeadlineReached))
    }

    /// A notice older than the delivery memory may be a replay whose delivery id is forgotten.
    fn is_too_old(&self, notice: &ChangeNotice) -> bool {
        notice.occurred_at.is_some_and(|at| at < self.clock.now() - DELIVERY_MEMORY)
    }

    /// Notes a notice's change in the failure log, due when a dead worker's claims have ended.
    async fn note_change(&self, side: Side, item: &ItemId) -> Result<Option<Timestamp>, SyncError> {
        let now = self.clock.now();
        let why = "interrupted: the worker syncing this change stopped before it finished";
        let note = FailureRecord::note(&self.config.name, side, item, why, now, now + self.claim_lease);
        Ok(match self.stores.log.note_change(&note).await? {
            Noted::Created => Some(now),
            Noted::Touched => None,
        })
    }

    /// A repeated delivery's notes are removed again, where this delivery made them and nobody noted a
    /// change on them since; a record that was there before stays.
    async fn withdraw_notes(&self, side: Side, changes: &[Change<'_>]) -> Result<(), SyncError> {
        for change in changes {
            if let Ok(Some(noted_at)) = &change.noted {
                self.clear_failure(side, change.item, *noted_at).await?;
            }
        }
        Ok(())
    }

    /// Clears the record of (side, item) unless a change was noted on it after `read_from`.
    pub(crate) async fn clear_failure(&self, side: Side, item: &ItemId, read_from: Timestamp) -> Result<(), SyncError> {
        let cleared = self.stores.log.clear_failure(&self.config.name, side, item, read_from).await?;
        if !cleared {
            debug!(item = %item, "a change was noted after this sync began to read; its record stays for a retry");
        }
        Ok(())
    }
}
