//! Webhook deliveries: verified by the connector's receiver before they get here, de-duplicated by the
//! sender's delivery id, echoes of the integration's own writes dropped, then each item synced from its
//! current state. A change that fails is recorded for the poller; nothing is lost.
//!
//! Not even when the worker dies mid-way: once the delivery id is recorded a repeat of it is dropped,
//! so before recording it the engine notes each change in the failure log as interrupted, due once the
//! claim lease ends, and removes the note when the sync is done. A worker killed in between leaves the
//! note, and the poller's retries finish the change.

use crate::crash::Step;
use crate::engine::Engine;
use crate::error::SyncError;
use crate::ports::FailureRecord;
use tandem_model::{ChangeKind, Delivery, ItemId, Side};
use tokio::time::Instant;
use tracing::{info, instrument, warn};

/// How long a delivery id is remembered. Senders retry for hours at most (Jira: a few retries within
/// minutes); a week leaves a wide margin and the records expire on their own.
const DELIVERY_MEMORY: chrono::Duration = chrono::Duration::days(7);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryOutcome {
    /// The same delivery was processed before: nothing was done.
    pub duplicate: bool,
    /// Items synced.
    pub synced: usize,
    /// Notices caused by the integration's own writes, dropped.
    pub echoes: usize,
    /// Notices tandem does not act on (deletions are not propagated).
    pub ignored: usize,
    /// Items whose sync failed; each is recorded as a failure the poller retries.
    pub failed: usize,
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
            if notice.kind == ChangeKind::ItemDeleted {
                outcome.ignored += 1;
                continue;
            }
            match self.is_service_account(side, notice.actor.as_ref()).await {
                Ok(true) => outcome.echoes += 1,
                Ok(false) => changes.push((&notice.item, self.note_in_progress(side, &notice.item).await?, Ok(()))),
                Err(error) => changes.push((&notice.item, false, Err(error))),
            }
        }
        let now = self.clock.now();
        let first = self
            .stores
            .deliveries
            .record_delivery(&self.config.name, side, &delivery.id, now, now + DELIVERY_MEMORY)
            .await?;
        if !first {
            for (item, noted, _) in &changes {
                if *noted {
                    self.stores.log.clear_failure(&self.config.name, side, item).await?;
                }
            }
            info!("repeated delivery dropped");
            return Ok(DeliveryOutcome { duplicate: true, ..DeliveryOutcome::default() });
        }
        self.crash_point(Step::DeliveryRecorded);
        for (item, noted, ready) in changes {
            let synced = match ready {
                Ok(()) => match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, self.sync_item(side, item))
                        .await
                        .unwrap_or(Err(SyncError::DeadlineReached)),
                    None => self.sync_item(side, item).await,
                },
                Err(error) => Err(error),
            };
            match synced {
                Ok(_) => {
                    // Done with: the note, or (when there was no note) the failure recorded earlier.
                    self.stores.log.clear_failure(&self.config.name, side, item).await?;
                    outcome.synced += 1;
                }
                Err(error) => {
                    warn!(item = %item, %error, "sync failed; recorded for retry");
                    let recorded = self.record_failure(side, item, &error).await?;
                    // A linked item's failure is recorded under its link; the note is not needed then.
                    if noted && (recorded.side, &recorded.item) != (side, item) {
                        self.stores.log.clear_failure(&self.config.name, side, item).await?;
                    }
                    outcome.failed += 1;
                }
            }
        }
        Ok(outcome)
    }

    /// Notes `item` in the failure log as interrupted, due when a dead worker's claims have ended;
    /// false when a failure is already recorded for it (that record already brings it back).
    async fn note_in_progress(&self, side: Side, item: &ItemId) -> Result<bool, SyncError> {
        let integration = &self.config.name;
        if self.stores.log.get_failure(integration, side, item).await?.is_some() {
            return Ok(false);
        }
        let now = self.clock.now();
        let note = FailureRecord {
            integration: integration.clone(),
            side,
            item: item.clone(),
            error: "interrupted: the worker syncing this change stopped before it finished".to_string(),
            retryable: true,
            attempts: 0,
            first_failed_at: now,
            last_failed_at: now,
            next_attempt_at: Some(now + self.claim_lease),
            parked: false,
        };
        self.stores.log.record_failure(&note).await?;
        Ok(true)
    }
}
