//! Restart safety: what one store instance wrote, a new instance on the same storage reads back, and
//! conditional writes keep refusing duplicates. A store's test writes with one instance, closes it,
//! opens another and checks.

use super::fixtures::{at, conflict, failure, insert_claimed, item, link, request, versioned};
use super::Store;
use tandem_engine::ports::{ClaimOutcome, StoreError};
use tandem_model::Side;

/// Writes one record of every kind into `integration`, plus a creation claim held until `at(1000)`.
pub async fn write_sample<S: Store>(store: &S, integration: &str) {
    insert_claimed(store, &link(integration, "10001", "42")).await.expect("insert");
    let mut updated = versioned(link(integration, "10001", "42"), 1);
    updated.synced_at = at(50);
    store.update_link(&updated).await.expect("update");
    let claimed = store
        .claim_creation(integration, Side::One, &item("10002"), &request("worker-before-restart", 0, 1000))
        .await
        .expect("claim");
    assert_eq!(claimed, ClaimOutcome::Claimed { earlier_attempt: None });
    store.set_watermark(integration, Side::Two, at(70)).await.expect("watermark");
    store.record_conflict(&conflict(integration, "priority", 5)).await.expect("conflict");
    store.record_failure(&failure(integration, Side::Two, "42", 2)).await.expect("failure");
}

/// Checks that a store opened after `write_sample` (on another instance) has all of it.
pub async fn assert_sample<S: Store>(store: &S, integration: &str) {
    let mut expected_link = versioned(link(integration, "10001", "42"), 2);
    expected_link.synced_at = at(50);
    assert_eq!(store.get_link(integration, Side::Two, &item("42")).await.expect("get"), Some(expected_link.clone()));
    assert_eq!(store.list_links(integration).await.expect("list"), vec![expected_link.clone()]);

    let duplicate = insert_claimed(store, &link(integration, "10001", "43")).await.expect_err("duplicate");
    assert!(matches!(duplicate, StoreError::AlreadyExists { .. }), "{duplicate:?}");
    let stale = store.update_link(&versioned(link(integration, "10001", "42"), 1)).await.expect_err("stale");
    assert!(matches!(stale, StoreError::Conflict { .. }), "{stale:?}");

    let claim = store
        .claim_creation(integration, Side::One, &item("10002"), &request("worker-after-restart", 100, 200))
        .await
        .expect("claim");
    assert_eq!(claim, ClaimOutcome::HeldElsewhere { until: at(1000) }, "the claim survived");

    assert_eq!(store.get_watermark(integration, Side::Two).await.expect("watermark"), Some(at(70)));
    assert_eq!(store.list_conflicts(integration).await.expect("conflicts"), vec![conflict(integration, "priority", 5)]);
    assert_eq!(
        store.list_failures(integration).await.expect("failures"),
        vec![failure(integration, Side::Two, "42", 2)]
    );
}
