//! `SyncLog`: conflicts and failures, listed per integration.

use super::fixtures::{at, conflict, failure, item, unique_integration};
use super::Store;
use std::sync::Arc;
use tandem_model::Side;

pub async fn conflicts_are_listed_per_integration<S: Store>(store: &Arc<S>) {
    let ops = unique_integration("conflicts-ops");
    let support = unique_integration("conflicts-support");
    assert_eq!(store.list_conflicts(&ops).await.expect("list"), Vec::new());

    let expected = vec![conflict(&ops, "priority", 1), conflict(&ops, "priority", 2), conflict(&ops, "status", 3)];
    for record in &expected {
        store.record_conflict(record).await.expect("record");
    }
    store.record_conflict(&conflict(&support, "priority", 4)).await.expect("record");

    let mut listed = store.list_conflicts(&ops).await.expect("list");
    listed.sort_by_key(|record| record.at);
    assert_eq!(listed, expected, "every conflict is kept, even two of the same field");
    assert_eq!(store.list_conflicts(&support).await.expect("list"), vec![conflict(&support, "priority", 4)]);
}

pub async fn failures_are_kept_per_integration_side_and_item<S: Store>(store: &Arc<S>) {
    let ops = unique_integration("failures-ops");
    let support = unique_integration("failures-support");
    assert_eq!(store.get_failure(&ops, Side::One, &item("10001")).await.expect("get"), None);

    store.record_failure(&failure(&ops, Side::One, "10001", 1)).await.expect("record");
    store.record_failure(&failure(&ops, Side::Two, "10001", 1)).await.expect("record");
    store.record_failure(&failure(&ops, Side::One, "10002", 1)).await.expect("record");
    store.record_failure(&failure(&support, Side::One, "10001", 1)).await.expect("record");

    let mut parked = failure(&ops, Side::One, "10001", 5);
    parked.retryable = false;
    parked.parked = true;
    parked.next_attempt_at = None;
    parked.last_failed_at = at(500);
    store.record_failure(&parked).await.expect("replace");
    assert_eq!(
        store.get_failure(&ops, Side::One, &item("10001")).await.expect("get"),
        Some(parked.clone()),
        "recording again replaces the failure"
    );
    assert_eq!(
        store.get_failure(&ops, Side::Two, &item("10001")).await.expect("get"),
        Some(failure(&ops, Side::Two, "10001", 1)),
        "the same id on the other side is its own failure"
    );

    let mut listed = store.list_failures(&ops).await.expect("list");
    listed.sort_by(|a, b| (a.side, &a.item).cmp(&(b.side, &b.item)));
    assert_eq!(listed, vec![parked, failure(&ops, Side::One, "10002", 1), failure(&ops, Side::Two, "10001", 1)]);

    store.clear_failure(&ops, Side::One, &item("10001")).await.expect("clear");
    assert_eq!(store.get_failure(&ops, Side::One, &item("10001")).await.expect("get"), None);
    assert_eq!(store.list_failures(&ops).await.expect("list").len(), 2);
    assert_eq!(store.list_failures(&support).await.expect("list"), vec![failure(&support, Side::One, "10001", 1)]);
    store.clear_failure(&ops, Side::One, &item("10001")).await.expect("clearing twice is harmless");
}
