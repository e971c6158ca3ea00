//! `SyncLog`: conflicts and failures, listed per integration.

use super::fixtures::{at, conflict, failure, history_entry, item, unique_integration};
use super::Store;
use std::sync::Arc;
use tandem_engine::history::HistoryEntry;
use tandem_engine::ports::{FailureRecord, Noted};
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

    assert!(store.clear_failure(&ops, Side::One, &item("10001"), at(600)).await.expect("clear"));
    assert_eq!(store.get_failure(&ops, Side::One, &item("10001")).await.expect("get"), None);
    assert_eq!(store.list_failures(&ops).await.expect("list").len(), 2);
    assert_eq!(store.list_failures(&support).await.expect("list"), vec![failure(&support, Side::One, "10001", 1)]);
    assert!(
        store.clear_failure(&ops, Side::One, &item("10001"), at(600)).await.expect("clearing twice is harmless"),
        "nothing is left to clear"
    );
}

/// A change noted on an item after a sync began to read it keeps the item's record: only a sync that
/// read after every noted change may clear it, and recording a failure never moves the note back.
pub async fn noted_changes_keep_their_record<S: Store>(store: &Arc<S>) {
    let ops = unique_integration("notes");
    let note = |noted: i64| FailureRecord { noted_at: at(noted), attempts: 0, ..failure(&ops, Side::One, "10001", 0) };
    assert_eq!(store.note_change(&note(20)).await.expect("note"), Noted::Created);
    assert_eq!(store.note_change(&note(40)).await.expect("note again"), Noted::Touched);
    assert_eq!(store.note_change(&note(30)).await.expect("an older note"), Noted::Touched);
    let stored = store.get_failure(&ops, Side::One, &item("10001")).await.expect("get").expect("noted");
    assert_eq!((stored.noted_at, stored.attempts), (at(40), 0), "a note moves noted_at forward only");

    let mut failed = failure(&ops, Side::One, "10001", 3);
    failed.noted_at = at(35);
    store.record_failure(&failed).await.expect("record");
    let stored = store.get_failure(&ops, Side::One, &item("10001")).await.expect("get").expect("recorded");
    assert_eq!((stored.attempts, stored.noted_at), (3, at(40)), "recording a failure keeps the later note");

    assert!(!store.clear_failure(&ops, Side::One, &item("10001"), at(39)).await.expect("clear"), "read too early");
    assert!(store.get_failure(&ops, Side::One, &item("10001")).await.expect("get").is_some());
    assert!(store.clear_failure(&ops, Side::One, &item("10001"), at(40)).await.expect("clear"), "read after the note");
    assert_eq!(store.get_failure(&ops, Side::One, &item("10001")).await.expect("get"), None);
}

pub async fn an_items_history_is_listed_newest_first_without_expired_entries<S: Store>(store: &Arc<S>) {
    let ops = unique_integration("history-ops");
    let now = at(1_000);
    assert_eq!(store.list_history(&ops, Side::One, &item("1"), 10, now).await.expect("list"), Vec::new());

    let expired = history_entry(&ops, Side::One, "1", 100, 50);
    let older = history_entry(&ops, Side::One, "1", 200, 5_000);
    let same_instant = HistoryEntry { worker: "worker-2".into(), ..older.clone() };
    let newest = history_entry(&ops, Side::One, "1", 300, 5_000);
    for entry in [&expired, &older, &same_instant, &newest] {
        store.record_history(entry).await.expect("record");
    }
    // Other items, sides and integrations, including an id that begins with this one's.
    store.record_history(&history_entry(&ops, Side::Two, "1", 400, 5_000)).await.expect("record");
    store.record_history(&history_entry(&ops, Side::One, "1#2", 400, 5_000)).await.expect("record");
    store.record_history(&history_entry(&ops, Side::One, "10", 400, 5_000)).await.expect("record");
    store
        .record_history(&history_entry(&unique_integration("history-support"), Side::One, "1", 400, 5_000))
        .await
        .expect("record");

    let listed = store.list_history(&ops, Side::One, &item("1"), 10, now).await.expect("list");
    assert_eq!(listed.len(), 3, "two of one instant are both kept, the expired one is not listed: {listed:?}");
    assert_eq!(listed[0], newest);
    assert!(listed[1..].contains(&older) && listed[1..].contains(&same_instant));
    let first = store.list_history(&ops, Side::One, &item("1"), 1, now).await.expect("list");
    assert_eq!(first, vec![newest], "the limit keeps the newest");
}
