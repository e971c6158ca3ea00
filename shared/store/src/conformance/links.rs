//! `LinkStore`: claims, conditional inserts, versioned updates, listings.

use super::fixtures::{
    at, insert_claimed, item, link, request, sending, sending_unless_sent, unique_integration, versioned,
};
use super::Store;
use std::sync::Arc;
use tandem_engine::ports::{ClaimOutcome, ClaimRequest, EarlierAttempt, SendUpdate, SendWindow, StoreError};
use tandem_model::{ItemId, Side};
use tokio::task::JoinSet;

/// The creation path: claim, insert, then both items resolve to the stored link.
pub async fn claim_then_link<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("claim-then-link");
    let source = item("10001");
    let claimed =
        store.claim_creation(&integration, Side::One, &source, &request("worker-a", 0, 30)).await.expect("claim");
    assert_eq!(claimed, FRESH);
    assert_eq!(store.get_link(&integration, Side::One, &source).await.expect("get"), None);
    // Someone about to copy the copy back (its item unlinked yet) holds a claim on it meanwhile.
    let copy_claim = request("worker-c", 1, 31);
    let copy = item("42");
    assert_eq!(store.claim_creation(&integration, Side::Two, &copy, &copy_claim).await.expect("claim"), FRESH);
    assert_eq!(store.get_link(&integration, Side::Two, &copy).await.expect("get"), None);
    assert_eq!(store.side1_of(&integration, &copy).await.expect("side 1"), None);
    assert!(store.list_links(&integration).await.expect("list").is_empty(), "claimed items are not linked");

    let inserted = store.insert_link(&link(&integration, "10001", "42"), Side::One, "worker-a").await.expect("insert");
    assert_eq!(inserted.version, 1, "a new link has version 1");
    assert_eq!(inserted, versioned(link(&integration, "10001", "42"), 1));

    for (side, id) in [(Side::One, "10001"), (Side::Two, "42")] {
        let found = store.get_link(&integration, side, &item(id)).await.expect("get");
        assert_eq!(found.as_ref(), Some(&inserted), "the link is found from item {id} on side {side}");
    }
    assert_eq!(
        store.get_link(&integration, Side::Two, &item("10001")).await.expect("get"),
        None,
        "an item id is linked on its own side only"
    );

    // The claim went with the insert: anyone asking now is told to update instead.
    for (side, id) in [(Side::One, "10001"), (Side::Two, "42")] {
        let outcome =
            store.claim_creation(&integration, side, &item(id), &request("worker-b", 5, 35)).await.expect("claim");
        assert_eq!(outcome, ClaimOutcome::Linked(Box::new(inserted.clone())));
    }
    // The claim on the copy cannot be renewed into a second copy either.
    let renewed = store.claim_creation(&integration, Side::Two, &copy, &copy_claim).await.expect("renew");
    assert_eq!(renewed, ClaimOutcome::Linked(Box::new(inserted.clone())));
    assert_eq!(store.list_links(&integration).await.expect("list"), vec![inserted]);
}

/// No item is ever linked twice, whichever side the second link shares.
pub async fn inserting_refuses_items_already_linked<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("insert-twice");
    insert_claimed(store.as_ref(), &link(&integration, "10001", "42")).await.expect("insert");

    for (side1, side2) in [("10001", "42"), ("10001", "43"), ("10002", "42")] {
        let error = insert_claimed(store.as_ref(), &link(&integration, side1, side2)).await.expect_err("second link");
        assert!(matches!(error, StoreError::AlreadyExists { .. }), "linking {side1}↔{side2}: {error:?}");
    }
    // A refused insert leaves nothing behind.
    assert_eq!(store.get_link(&integration, Side::Two, &item("43")).await.expect("get"), None);
    assert_eq!(store.get_link(&integration, Side::One, &item("10002")).await.expect("get"), None);
    assert_eq!(store.list_links(&integration).await.expect("list").len(), 1);

    // The same ids in another integration are unrelated.
    let other = unique_integration("insert-twice-other");
    insert_claimed(store.as_ref(), &link(&other, "10001", "42")).await.expect("insert in another integration");
}

/// A claim on an item nobody claimed before.
const FRESH: ClaimOutcome = ClaimOutcome::Claimed { earlier_attempt: None };

/// A claim keeps others out until its lease ends; then anyone may take it over.
pub async fn claims_are_held_until_their_lease_ends<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("lease");
    let source = item("10001");
    let claim = |owner: &'static str, now: i64, until: i64| {
        let (store, integration, source) = (Arc::clone(store), integration.clone(), source.clone());
        async move {
            store.claim_creation(&integration, Side::One, &source, &request(owner, now, until)).await.expect("claim")
        }
    };

    assert_eq!(claim("worker-a", 0, 30).await, FRESH);
    assert_eq!(claim("worker-b", 10, 40).await, ClaimOutcome::HeldElsewhere { until: at(30) });
    assert_eq!(
        claim("worker-a", 20, 50).await,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(30), sent: None }) },
        "the owner may renew its claim, and learns of its earlier attempt"
    );
    assert_eq!(claim("worker-b", 40, 70).await, ClaimOutcome::HeldElsewhere { until: at(50) });
    assert_eq!(
        claim("worker-b", 50, 80).await,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(50), sent: None }) },
        "an ended lease is taken over, and the earlier attempt is reported"
    );
    assert_eq!(claim("worker-a", 60, 90).await, ClaimOutcome::HeldElsewhere { until: at(80) });

    // A claim is per item and side.
    let other_side =
        store.claim_creation(&integration, Side::Two, &source, &request("worker-a", 60, 90)).await.expect("claim");
    assert_eq!(other_side, FRESH);
}

/// A claim of a part of an item (a comment's copy, a file's), which no link names, is held, renewed,
/// taken over and released as an item's is, and remembers its sends.
pub async fn part_claims_are_held_like_item_claims<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("part-claims");
    let part = item("10001#comment:c-1");
    let claim = |request: ClaimRequest<'static>| {
        let (store, integration, part) = (Arc::clone(store), integration.clone(), part.clone());
        async move {
            // The key says it is a part's claim (`is_part_claim`).
            store.claim_creation(&integration, Side::One, &part, &request).await.expect("claim")
        }
    };
    assert_eq!(claim(request("worker-a", 0, 30)).await, FRESH);
    assert_eq!(claim(request("worker-b", 10, 40)).await, ClaimOutcome::HeldElsewhere { until: at(30) });
    assert_eq!(
        claim(sending("worker-a", 20, 50, 45)).await,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(30), sent: None }) },
        "the owner renews its claim right before the send"
    );
    let window = Some(SendWindow { first_sent: at(20), visible_by: at(45) });
    assert_eq!(
        claim(request("worker-b", 60, 90)).await,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(50), sent: window }) },
        "an ended lease is taken over, with the send its holder made"
    );
    assert_eq!(claim(request("worker-a", 70, 100)).await, ClaimOutcome::HeldElsewhere { until: at(90) });
    store.release_claim(&integration, Side::One, &part, "worker-b").await.expect("release");
    assert_eq!(claim(request("worker-a", 71, 101)).await, FRESH, "released");
}

/// A part's claim whose part is linked: a store that says it remembers parts' claims keeps it, so no
/// later claim of the part finds it unclaimed (the engine then skips reading the link again after a
/// claim that did); any other store frees it.
pub async fn a_fulfilled_part_claim_is_kept_where_the_store_remembers_claims<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("fulfilled-part-claims");
    let part = item("10001#comment:c-2");
    let claim = |request: ClaimRequest<'static>| {
        let (store, integration, part) = (Arc::clone(store), integration.clone(), part.clone());
        async move { store.claim_creation(&integration, Side::One, &part, &request).await.expect("claim") }
    };
    assert_eq!(claim(sending_unless_sent("worker-a", 0, 30, 25)).await, FRESH);
    store.part_claim_fulfilled(&integration, Side::One, &part, "worker-a").await.expect("fulfilled");
    if !store.remembers_part_claims() {
        assert_eq!(claim(request("worker-b", 10, 40)).await, FRESH, "freed once its part is linked");
        return;
    }
    assert_eq!(claim(request("worker-b", 10, 40)).await, ClaimOutcome::HeldElsewhere { until: at(30) });
    let window = Some(SendWindow { first_sent: at(0), visible_by: at(25) });
    assert_eq!(
        claim(request("worker-b", 31, 61)).await,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(30), sent: window }) },
        "taken over with the copier's send, never found unclaimed"
    );
}

/// Releasing frees the claim at once, but only the owner's release counts.
pub async fn only_the_owner_releases_a_claim<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("release");
    let source = item("10001");
    let outcome =
        store.claim_creation(&integration, Side::One, &source, &request("worker-a", 0, 30)).await.expect("claim");
    assert_eq!(outcome, FRESH);

    store.release_claim(&integration, Side::One, &source, "worker-b").await.expect("release by another");
    let outcome =
        store.claim_creation(&integration, Side::One, &source, &request("worker-b", 5, 35)).await.expect("claim");
    assert_eq!(outcome, ClaimOutcome::HeldElsewhere { until: at(30) }, "another worker cannot release it");

    store.release_claim(&integration, Side::One, &source, "worker-a").await.expect("release by owner");
    let outcome =
        store.claim_creation(&integration, Side::One, &source, &request("worker-b", 6, 36)).await.expect("claim");
    assert_eq!(outcome, FRESH, "a released claim is free before its lease ends, with no earlier attempt");

    // Releasing what is not claimed is harmless.
    store.release_claim(&integration, Side::Two, &item("7"), "worker-a").await.expect("release unclaimed");
}

/// 16 workers claim the same item at the same moment: exactly one may create the copy.
pub async fn concurrent_claims_have_one_winner<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("concurrent-claims");
    let mut workers = JoinSet::new();
    for worker in 0..16 {
        let (store, integration) = (Arc::clone(store), integration.clone());
        workers.spawn(async move {
            store
                .claim_creation(&integration, Side::Two, &item("42"), &request(&format!("worker-{worker}"), 0, 30))
                .await
        });
    }
    let outcomes: Vec<ClaimOutcome> =
        workers.join_all().await.into_iter().map(|outcome| outcome.expect("claim")).collect();
    let claimed = outcomes.iter().filter(|outcome| **outcome == FRESH).count();
    let held = outcomes.iter().filter(|outcome| **outcome == ClaimOutcome::HeldElsewhere { until: at(30) }).count();
    assert_eq!((claimed, held), (1, 15), "{outcomes:?}");
}

/// An update succeeds only on the stored version and returns the next one.
pub async fn updates_are_versioned<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("versions");
    let inserted = insert_claimed(store.as_ref(), &link(&integration, "10001", "42")).await.expect("insert");

    let mut changed = inserted.clone();
    changed.synced_at = at(60);
    changed.comments.clear();
    let updated = store.update_link(&changed).await.expect("update");
    assert_eq!(updated, versioned(changed.clone(), 2));
    assert_eq!(store.get_link(&integration, Side::Two, &item("42")).await.expect("get"), Some(updated.clone()));

    let stale = store.update_link(&changed).await.expect_err("update from a stale version");
    assert!(matches!(stale, StoreError::Conflict { .. }), "{stale:?}");
    assert!(stale.is_retryable());
    assert_eq!(
        store.get_link(&integration, Side::One, &item("10001")).await.expect("get"),
        Some(updated.clone()),
        "a refused update changes nothing"
    );

    let again = store.update_link(&updated).await.expect("update from the current version");
    assert_eq!(again.version, 3);
}

/// 8 workers update the same version at once: exactly one wins, the others must re-read.
pub async fn concurrent_updates_of_one_version_have_one_winner<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("concurrent-updates");
    let inserted = insert_claimed(store.as_ref(), &link(&integration, "10001", "42")).await.expect("insert");
    let mut workers = JoinSet::new();
    for worker in 0..8 {
        let store = Arc::clone(store);
        let mut changed = inserted.clone();
        changed.synced_at = at(100 + worker);
        workers.spawn(async move { (worker, store.update_link(&changed).await) });
    }
    let mut winners = Vec::new();
    for (worker, outcome) in workers.join_all().await {
        match outcome {
            Ok(updated) => winners.push((worker, updated)),
            Err(StoreError::Conflict { .. }) => {}
            Err(other) => panic!("worker {worker}: expected success or Conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let (worker, updated) = &winners[0];
    assert_eq!(updated.version, 2);
    assert_eq!(updated.synced_at, at(100 + worker));
    assert_eq!(
        store.get_link(&integration, Side::One, &item("10001")).await.expect("get").as_ref(),
        Some(updated),
        "the stored link is the winner's"
    );
}

pub async fn updating_a_link_never_inserted_conflicts<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("update-unknown");
    let error = store
        .update_link(&versioned(link(&integration, "10001", "42"), 1))
        .await
        .expect_err("update of a link never inserted");
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(store.list_links(&integration).await.expect("list"), Vec::new());
}

pub async fn links_are_listed_per_integration<S: Store>(store: &Arc<S>) {
    let ops = unique_integration("list-ops");
    let support = unique_integration("list-support");
    let mut expected = Vec::new();
    for (side1, side2) in [("10001", "41"), ("10002", "42"), ("10003", "43")] {
        expected.push(insert_claimed(store.as_ref(), &link(&ops, side1, side2)).await.expect("insert"));
    }
    insert_claimed(store.as_ref(), &link(&support, "20001", "51")).await.expect("insert");

    let mut listed = store.list_links(&ops).await.expect("list");
    listed.sort_by(|a, b| a.side1.id.cmp(&b.side1.id));
    assert_eq!(listed, expected);
    assert_eq!(store.list_links(&support).await.expect("list").len(), 1);
    assert_eq!(store.list_links(&unique_integration("list-none")).await.expect("list"), Vec::new());
}

/// A link is stored only by the worker that still holds the claim on the copied item: one whose lease
/// ran out and was taken over must not link its copy.
pub async fn only_the_claims_holder_links<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("holder-links");
    let source = item("10001");
    store.claim_creation(&integration, Side::One, &source, &request("slow-worker", 0, 30)).await.expect("claim");
    store.claim_creation(&integration, Side::One, &source, &request("taker", 40, 70)).await.expect("take over");

    let late = store.insert_link(&link(&integration, "10001", "42"), Side::One, "slow-worker").await;
    assert!(matches!(late, Err(StoreError::Conflict { .. })), "the slow worker's insert: {late:?}");
    assert_eq!(store.get_link(&integration, Side::Two, &item("42")).await.expect("get"), None, "nothing was linked");

    let inserted = store.insert_link(&link(&integration, "10001", "43"), Side::One, "taker").await.expect("insert");
    assert_eq!(store.get_link(&integration, Side::One, &source).await.expect("get"), Some(inserted));
    let unclaimed = store.insert_link(&link(&integration, "10009", "49"), Side::One, "taker").await;
    assert!(matches!(unclaimed, Err(StoreError::Conflict { .. })), "an insert without a claim: {unclaimed:?}");
}

/// The claims of one side-1 item, each taken as its request asks (the store must answer).
struct ItemClaims<'a, S> {
    store: &'a Arc<S>,
    integration: &'a str,
    item: ItemId,
}

impl<S: Store> ItemClaims<'_, S> {
    async fn take(&self, request: ClaimRequest<'_>) -> ClaimOutcome {
        self.store.claim_creation(self.integration, Side::One, &self.item, &request).await.expect("claim")
    }
}

/// A claim remembers when its holders sent the create, across renewals and takeovers, so whoever takes
/// it over knows whether (and from when) to look for a copy.
pub async fn claims_remember_when_a_create_was_sent<S: Store>(store: &Arc<S>) {
    let integration = unique_integration("sent-window");
    let claim = ItemClaims { store, integration: &integration, item: item("10001") };
    assert_eq!(claim.take(request("worker-a", 0, 30)).await, FRESH);
    let renewed = claim.take(sending("worker-a", 10, 40, 25)).await;
    assert_eq!(
        renewed,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(30), sent: None }) },
        "nothing was sent before this renewal"
    );
    let window = |first: i64, visible: i64| Some(SendWindow { first_sent: at(first), visible_by: at(visible) });
    let taken = claim.take(request("worker-b", 50, 80)).await;
    assert_eq!(
        taken,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(40), sent: window(10, 25) }) }
    );
    claim.take(sending("worker-b", 60, 90, 70)).await;
    let again = claim.take(request("worker-c", 95, 120)).await;
    assert_eq!(
        again,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(90), sent: window(10, 70) }) },
        "windows merge: from the first send to the latest visibility"
    );

    // A create whose call may last long (visible only from 500), taken over once its lease ended (at
    // 140): its call ended by then, so the window ends with the lease, plus the search lag asked for.
    let other = ItemClaims { store, integration: &integration, item: item("10002") };
    other.take(sending("slow", 110, 140, 500)).await;
    let lagging = ClaimRequest { search_lag: chrono::Duration::seconds(5), ..request("taker", 150, 180) };
    other.take(lagging).await;
    let next = other.take(request("taker", 160, 190)).await;
    assert_eq!(
        next,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(180), sent: window(110, 145) }) }
    );
    // The owner whose create came back failed records that it ended: a search shows its copy sooner.
    let ended = ClaimRequest { send: SendUpdate::Ended { visible_by: at(170) }, ..request("taker", 165, 195) };
    other.take(ended).await;
    let last = other.take(request("taker", 166, 196)).await;
    assert_eq!(
        last,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(195), sent: window(110, 170) }) }
    );
    // A send the system refused made nothing: the window goes back to what it was before it.
    other.take(sending("taker", 167, 197, 400)).await;
    let refused =
        ClaimRequest { send: SendUpdate::Withdrawn { before: window(110, 170) }, ..request("taker", 168, 198) };
    other.take(refused).await;
    let after = other.take(request("taker", 169, 199)).await;
    assert_eq!(
        after,
        ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(198), sent: window(110, 170) }) }
    );

    // Taken to send at once: the window is recorded when nobody sent before, and an earlier holder's
    // is kept as it was (not widened by a send that waits until its copy is looked for).
    let third = ItemClaims { store, integration: &integration, item: item("10003") };
    assert_eq!(third.take(sending_unless_sent("first", 200, 230, 260)).await, FRESH);
    let steps = [
        (None, request("first", 201, 231), 230, window(200, 260), "the send was recorded with the claim"),
        (
            Some(sending_unless_sent("first", 202, 232, 290)),
            request("first", 203, 233),
            232,
            window(200, 260),
            "the holder's own window is not widened",
        ),
        (
            Some(sending_unless_sent("next", 240, 270, 300)),
            request("next", 241, 271),
            270,
            window(200, 233),
            "the earlier window stays, ended with its lease",
        ),
    ];
    for (taking, renewing, lease_end, sent, what) in steps {
        if let Some(taking) = taking {
            third.take(taking).await;
        }
        let found = third.take(renewing).await;
        assert_eq!(
            found,
            ClaimOutcome::Claimed { earlier_attempt: Some(EarlierAttempt { lease_end: at(lease_end), sent }) },
            "{what}"
        );
    }
}
