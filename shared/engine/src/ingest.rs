//! Webhook deliveries: verified by the connector's receiver before they get here, de-duplicated by the
//! sender's delivery id, echoes of the integration's own writes dropped, then each item synced from its
//! current state. A change that fails is recorded for the poller; nothing is lost.

use crate::engine::Engine;
use crate::error::SyncError;
use tandem_model::{ChangeKind, Delivery, Side};
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
    #[instrument(skip(self, delivery), fields(integration = %self.config.name, delivery = %delivery.id))]
    pub async fn receive_delivery(&self, side: Side, delivery: &Delivery) -> Result<DeliveryOutcome, SyncError> {
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
        let mut outcome = DeliveryOutcome::default();
        for notice in &delivery.notices {
            if notice.kind == ChangeKind::ItemDeleted {
                outcome.ignored += 1;
                continue;
            }
            if self.is_service_account(side, notice.actor.as_ref()) {
                outcome.echoes += 1;
                continue;
            }
            match self.sync_item(side, &notice.item).await {
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
