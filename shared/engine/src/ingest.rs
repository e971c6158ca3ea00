//! Webhook deliveries: verified by the connector's receiver before they get here, de-duplicated by the
//! sender's delivery id, echoes of the integration's own writes dropped, then each item synced from its
//! current state. A change that fails is recorded for the poller; nothing is lost.

use crate::crash::Step;
use crate::engine::Engine;
use crate::error::SyncError;
use tandem_model::{ChangeKind, Delivery, Side};
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
        let now = self.clock.now();
        let first = self
            .stores
            .deliveries
            .record_delivery(&self.config.name, side, &delivery.id, now, now + DELIVERY_MEMORY)
            .await?;
        if !first {
            info!("repeated delivery dropped");
            return Ok(DeliveryOutcome { duplicate: true, ..DeliveryOutcome::default() });
        }
        self.crash_point(Step::DeliveryRecorded);
        let mut outcome = DeliveryOutcome::default();
        for notice in &delivery.notices {
            if notice.kind == ChangeKind::ItemDeleted {
                outcome.ignored += 1;
                continue;
            }
            let synced = match self.is_service_account(side, notice.actor.as_ref()).await {
                Ok(true) => {
                    outcome.echoes += 1;
                    continue;
                }
                Ok(false) => match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, self.sync_item(side, &notice.item))
                        .await
                        .unwrap_or(Err(SyncError::DeadlineReached)),
                    None => self.sync_item(side, &notice.item).await,
                },
                Err(error) => Err(error),
            };
            match synced {
                Ok(_) => outcome.synced += 1,
                Err(error) => {
                    warn!(item = %notice.item, %error, "sync failed; recorded for retry");
                    self.record_failure(side, &notice.item, &error).await?;
                    outcome.failed += 1;
                }
            }
        }
        Ok(outcome)
    }
}
