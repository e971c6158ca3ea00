//! `DeliveryStore`: webhook de-duplication until a delivery expires.

use super::fixtures::{at, unique_integration};
use super::Store;
use std::sync::Arc;
use tandem_model::Side;

pub async fn deliveries_are_new_once_until_they_expire<S: Store>(store: &Arc<S>) {
    let ops = unique_integration("deliveries-ops");
    let support = unique_integration("deliveries-support");
    let record = |integration: &str, side: Side, delivery: &'static str, now: i64, until: i64| {
        let (store, integration) = (Arc::clone(store), integration.to_owned());
        async move {
            store.record_delivery(&integration, side, delivery, at(now), at(until)).await.expect("record delivery")
        }
    };

    assert!(record(&ops, Side::One, "d-1", 0, 600).await, "first sight");
    assert!(!record(&ops, Side::One, "d-1", 10, 610).await, "a redelivery");
    assert!(!record(&ops, Side::One, "d-1", 599, 1199).await, "still within the first expiry");
    assert!(record(&ops, Side::Two, "d-1", 20, 620).await, "the same id from the other side");
    assert!(record(&support, Side::One, "d-1", 20, 620).await, "the same id in another integration");
    assert!(record(&ops, Side::One, "d-2", 30, 630).await, "another id");

    assert!(record(&ops, Side::One, "d-1", 600, 1200).await, "new again once expired");
    assert!(!record(&ops, Side::One, "d-2", 601, 1201).await, "expiring d-1 did not expire d-2");
    assert!(!record(&ops, Side::One, "d-1", 700, 1300).await, "d-1 is seen again until its new expiry");
    assert!(record(&ops, Side::One, "d-2", 700, 1300).await, "d-2 expired at 630");
}
