//! Webhook deliveries: verified by the connector's receiver before they get here, echoes of the
//! integration's own writes dropped, then each item synced from its current state. A change that fails
//! is recorded for the poller; nothing is lost.
//!
//! Not even when the worker dies mid-way: nothing is recorded before the sync, so the sender's retry
//! of a delivery that got no answer syncs it again, and the poller finds every change after its
//! watermark that a sync did not write into its link. A delivery costs no store request of its own.
//!
//! Replays cost little: a delivery whose merge finished is named by the link's last write, and a repeat
//! of it (a sender's retry, a replay of a signed body, whose delivery id is the body's digest) is dropped
//! once the link is read, before any call to a system; a notice older than a week is ignored; notices
//! for an item whose sync is already waiting to read ride on that sync. A repeat of a delivery whose
//! sync wrote nothing reads the items again, and writes nothing either.

use crate::crash::Step;
use crate::engine::{Engine, SyncOutcome};
use crate::error::SyncError;
use tandem_model::{ChangeKind, ChangeNotice, Delivery, ItemId, Side, Timestamp};
use tokio::time::Instant;
use tracing::{debug, info, instrument, warn};

/// How old a notice may be. Senders retry for hours at most (Jira: a few retries within minutes); a
/// notice older than a week is a replay, and the poller has long since seen its change: it is ignored.
const NOTICE_AGE_LIMIT: chrono::Duration = chrono::Duration::days(7);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryOutcome {
    /// Every notice of the delivery was acted on before (the links its syncs wrote say so): nothing was
    /// done.
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
        self.crash_point(Step::DeliveryTaken);
        let mut outcome = DeliveryOutcome::default();
        let mut repeats = 0;
        for notice in &delivery.notices {
            if notice.kind == ChangeKind::ItemDeleted || self.is_too_old(notice) {
                outcome.ignored += 1;
                continue;
            }
            let read_from = self.clock.now();
            let synced = match self.is_service_account(side, notice.actor.as_ref()).await {
                Ok(true) => {
                    outcome.echoes += 1;
                    continue;
                }
                Ok(false) => self.sync_until(side, &notice.item, &delivery.id, deadline).await,
                Err(error) => Err(error),
            };
            match synced {
                Ok(SyncOutcome::OutOfScope { .. }) => {
                    // An item moved out of scope after its sync failed: its record goes too.
                    self.clear_failure_if_recorded(side, &notice.item, read_from).await?;
                    outcome.out_of_scope += 1;
                }
                Ok(SyncOutcome::Repeated) => repeats += 1,
                Ok(SyncOutcome::Created { .. }) => {
                    // A failure recorded before the item was linked is under the item's own id.
                    self.clear_failure_if_recorded(side, &notice.item, read_from).await?;
                    outcome.synced += 1;
                }
                // A failure recorded for a linked pair is cleared by the sync itself (its link says so).
                Ok(_) => outcome.synced += 1,
                Err(error) => {
                    warn!(item = %notice.item, %error, "sync failed; recorded for retry");
                    self.record_failure(side, &notice.item, &error, read_from).await?;
                    outcome.failed += 1;
                }
            }
        }
        if repeats > 0 && repeats == delivery.notices.len() {
            info!("repeated delivery dropped");
            return Ok(DeliveryOutcome { duplicate: true, ..DeliveryOutcome::default() });
        }
        outcome.synced += repeats;
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
        notice.occurred_at.is_some_and(|at| at < self.clock.now() - NOTICE_AGE_LIMIT)
    }

    /// As [`Engine::clear_failure`], for an item that seldom has a record (one just copied, one out of
    /// scope): looked for first, since a store may bill removing nothing as a write (DynamoDB bills a
    /// write unit for it, five times a strongly consistent read). A record written after the look is
    /// left to the poller's retry, which clears it.
    async fn clear_failure_if_recorded(
        &self,
        side: Side,
        item: &ItemId,
        read_from: Timestamp,
    ) -> Result<(), SyncError> {
        match self.stores.log.get_failure(&self.config.name, side, item).await? {
            Some(_) => self.clear_failure(side, item, read_from).await,
            None => Ok(()),
        }
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
