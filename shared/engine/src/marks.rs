//! What a sync carries in the links it writes besides the pair's state, so that neither costs a store
//! request of its own:
//!
//! - **the webhook deliveries finished.** The last write of a merge that finished — the link's update
//!   after the fields, the files and the comments — names the delivery it acted on (short digests of
//!   the newest few, so the link stays small: a link over 1 KB costs a write unit more per KB). A
//!   repeat of it (a sender's retry, a replay) is dropped when the link is read, before any call to a
//!   system. No earlier write names it: a worker that died mid-way leaves a link that does not, and the
//!   sender's retry syncs again. A delivery whose sync wrote nothing is not remembered: a repeat of it
//!   reads the items again and, finding them in agreement, writes nothing either.
//! - **a failure recorded for the pair.** The failure log is a record of its own; a sync that succeeds
//!   clears it only when its link says there is one, instead of a delete on every sync.

use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::future::Future;
use tandem_model::ItemId;

use crate::ports::Link;

/// How many deliveries a link remembers: a sender's retries of one change come within minutes, while
/// the item changes rarely more than a few times in that while.
const DELIVERIES_REMEMBERED: usize = 4;

/// The running sync's marks.
#[derive(Debug, Default)]
struct Marks {
    /// The digest of the delivery the sync acts on, if a webhook started it.
    delivery: Option<String>,
    /// The side-1 item of a link the sync read with a failure recorded for it.
    failure_recorded: Option<ItemId>,
}

tokio::task_local! {
    static MARKS: RefCell<Marks>;
}

/// Runs a sync acting on `delivery` (if a webhook's), and returns its result with the side-1 item of
/// a link it found a failure recorded for.
pub(crate) async fn acting_on<F: Future>(delivery: Option<&str>, sync: F) -> (F::Output, Option<ItemId>) {
    let marks = Marks { delivery: delivery.map(digest), failure_recorded: None };
    MARKS
        .scope(RefCell::new(marks), async {
            let output = sync.await;
            (output, MARKS.with(|marks| marks.borrow_mut().failure_recorded.take()))
        })
        .await
}

/// Whether `link`'s last write finished a sync of the delivery the running sync acts on.
pub(crate) fn names_this_delivery(link: &Link) -> bool {
    MARKS
        .try_with(|marks| marks.borrow().delivery.as_ref().is_some_and(|delivery| link.deliveries.contains(delivery)))
        .unwrap_or(false)
}

/// Notes what the running sync must know of the link it read.
pub(crate) fn read(link: &Link) {
    if link.failure_recorded {
        let _ = MARKS.try_with(|marks| marks.borrow_mut().failure_recorded = Some(link.side1.id.clone()));
    }
}

/// Marks `link`, about to be written as the running sync's last write, with the delivery it finished.
pub(crate) fn stamp(link: &mut Link) {
    let _ = MARKS.try_with(|marks| {
        let Some(delivery) = &marks.borrow().delivery else {
            return;
        };
        if !link.deliveries.contains(delivery) {
            link.deliveries.push(delivery.clone());
            let excess = link.deliveries.len().saturating_sub(DELIVERIES_REMEMBERED);
            link.deliveries.drain(..excess);
        }
    });
}

/// 64 bits of the delivery id's SHA-256: ids are up to a body digest long, and a link keeps a few.
fn digest(delivery: &str) -> String {
    hex::encode(&Sha256::digest(delivery.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        serde_json::from_value(serde_json::json!({
            "integration": "i", "side1": {"id": "1"}, "side2": {"id": "2"}, "fields": {}, "comments": [],
            "created_at": "2026-12-05T10:00:00Z", "synced_at": "2026-12-05T10:00:00Z", "version": 1,
        }))
        .expect("a link")
    }

    #[tokio::test]
    async fn a_delivery_is_a_repeat_only_for_a_link_its_sync_wrote() {
        let mut written = link();
        acting_on(Some("delivery-1"), async { stamp(&mut written) }).await;
        let (repeat, _) = acting_on(Some("delivery-1"), async { names_this_delivery(&written) }).await;
        assert!(repeat);
        let (other, _) = acting_on(Some("delivery-2"), async { names_this_delivery(&written) }).await;
        assert!(!other);
        let (poll, _) = acting_on(None, async { names_this_delivery(&written) }).await;
        assert!(!poll, "a poll is never a repeat");
        assert!(!names_this_delivery(&written), "nor is anything outside a sync");
    }

    #[tokio::test]
    async fn a_link_remembers_the_newest_deliveries_in_a_few_bytes() {
        let mut written = link();
        for number in 0..10 {
            acting_on(Some(&format!("{:064}", number)), async { stamp(&mut written) }).await;
        }
        assert_eq!(written.deliveries.len(), DELIVERIES_REMEMBERED);
        assert_eq!(written.deliveries.last(), Some(&digest(&format!("{:064}", 9))));
        let stored = serde_json::to_string(&written.deliveries).expect("serialises");
        assert!(stored.len() < 100, "{stored}");
    }

    #[tokio::test]
    async fn a_recorded_failure_is_reported_once_the_sync_is_done() {
        let mut flagged = link();
        flagged.failure_recorded = true;
        let ((), found) = acting_on(None, async { read(&flagged) }).await;
        assert_eq!(found, Some(ItemId::new("1")));
        let ((), none) = acting_on(None, async { read(&link()) }).await;
        assert_eq!(none, None);
    }
}
