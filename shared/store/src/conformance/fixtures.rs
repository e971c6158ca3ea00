//! Records the checks write: fixed instants (so a check never depends on the wall clock) and links,
//! conflicts and failures with every field filled in, so a store that drops a field is caught.

use super::Store;
use chrono::{DateTime, Duration};
use std::collections::BTreeMap;
use tandem_engine::history::{FieldWrite, HistoryEntry, Trigger};
use tandem_engine::ports::{
    Announcer, AttachmentLink, ClaimOutcome, ClaimRequest, CommentLink, ConflictRecord, FailureRecord, FieldSnapshot,
    Link, PendingWrite, SeenVersions, SendUpdate, SendWindow, SendingFile,
};
use tandem_model::{
    AttachmentId, CommentId, FieldValue, ItemId, ItemRef, ItemVersion, RichText, Side, Timestamp, UserRef,
};

/// An integration name no other check and no earlier run used.
pub fn unique_integration(label: &str) -> String {
    format!("conformance-{label}-{}", uuid::Uuid::new_v4().simple())
}

/// `seconds` after a fixed instant (2030-01-01T00:00:00Z).
pub fn at(seconds: i64) -> Timestamp {
    const BASE: i64 = 1_893_456_000;
    DateTime::from_timestamp(BASE, 0).expect("the base instant is valid") + Duration::seconds(seconds)
}

pub fn item(id: &str) -> ItemId {
    ItemId::new(id)
}

/// A link of `side1` (a Jira issue) and `side2` (an Azure DevOps work item), not yet stored.
pub fn link(integration: &str, side1: &str, side2: &str) -> Link {
    let mut fields = BTreeMap::new();
    fields.insert(
        "summary".to_owned(),
        FieldSnapshot::new(
            FieldValue::Text(format!("Summary of {side1}")),
            FieldValue::Text(format!("Summary of {side2}")),
        ),
    );
    fields.insert(
        "description".to_owned(),
        FieldSnapshot::new(
            FieldValue::RichText(RichText::Adf(serde_json::json!({
                "type": "doc", "version": 1, "content": []
            }))),
            FieldValue::RichText(RichText::Html("<p>Description</p>".to_owned())),
        ),
    );
    fields.insert(
        "assignee".to_owned(),
        FieldSnapshot::new(
            FieldValue::User(UserRef {
                id: "5b10a2844c20165700ede21g".to_owned(),
                email: Some("dev@example.com".to_owned()),
                display_name: Some("Dev".to_owned()),
            }),
            FieldValue::Empty,
        ),
    );
    Link {
        integration: integration.to_owned(),
        side1: ItemRef {
            id: item(side1),
            key: Some(format!("OPS-{side1}")),
            url: Some(format!("https://example.atlassian.net/browse/OPS-{side1}")),
        },
        side2: ItemRef::new(item(side2)),
        fields,
        comments: vec![CommentLink {
            side1: CommentId(format!("{side1}-c1")),
            side2: CommentId(format!("{side2}-c1")),
            side1_fingerprint: "f1".to_owned(),
            side2_fingerprint: "f2".to_owned(),
            origin: Some(Side::One),
        }],
        // A copied file and one recorded as not copied: stores keep both.
        attachments: vec![
            AttachmentLink {
                origin: Side::One,
                original: AttachmentId::new(format!("{side1}-a1")),
                copy: Some(AttachmentId::new(format!("{side2}-a1"))),
                sending: None,
                inline: false,
            },
            AttachmentLink {
                origin: Side::Two,
                original: AttachmentId::new(format!("{side2}-a2")),
                copy: None,
                sending: Some(SendingFile { name: "trace.txt".into(), size: Some(42) }),
                inline: true,
            },
        ],
        // A write a dead worker announced: stores must keep it as they keep the snapshots.
        pending_writes: BTreeMap::from([(
            "summary".to_owned(),
            PendingWrite {
                to: Side::Two,
                before: Some(FieldSnapshot::new(FieldValue::Text("Old".to_owned()), FieldValue::Empty)),
            },
        )]),
        announced_by: Some(Announcer { worker: "a-dead-worker".to_owned(), until: at(2) }),
        seen: SeenVersions {
            side1: Some(ItemVersion { updated: at(1), revision: None }),
            side2: Some(ItemVersion { updated: at(1), revision: Some(7) }),
        },
        // Marks the engine keeps in the link: stores keep them as the rest.
        deliveries: vec!["0123456789abcdef".to_owned()],
        failure_recorded: true,
        created_at: at(0),
        synced_at: at(1),
        version: 0,
    }
}

/// A claim request of `owner` at `now` until `until` (seconds, see [`at`]), sending nothing.
pub fn request(owner: &str, now: i64, until: i64) -> ClaimRequest<'_> {
    ClaimRequest {
        owner,
        now: at(now),
        lease_until: at(until),
        send: SendUpdate::Nothing,
        search_lag: chrono::Duration::zero(),
    }
}

/// As [`request`], recording a create sent at `now` whose copy a search shows from `visible_by`.
pub fn sending(owner: &str, now: i64, until: i64, visible_by: i64) -> ClaimRequest<'_> {
    ClaimRequest {
        send: SendUpdate::Started(SendWindow { first_sent: at(now), visible_by: at(visible_by) }),
        ..request(owner, now, until)
    }
}

/// As [`sending`], unless an earlier holder of the claim sent (then its window is kept as it is).
pub fn sending_unless_sent(owner: &str, now: i64, until: i64, visible_by: i64) -> ClaimRequest<'_> {
    ClaimRequest {
        send: SendUpdate::StartedUnlessSent(SendWindow { first_sent: at(now), visible_by: at(visible_by) }),
        ..request(owner, now, until)
    }
}

/// Inserts `link` the way the engine does: under a claim on its side-1 item.
pub async fn insert_claimed<S: Store>(store: &S, link: &Link) -> Result<Link, tandem_engine::ports::StoreError> {
    const OWNER: &str = "linking-worker";
    match store.claim_creation(&link.integration, Side::One, &link.side1.id, &request(OWNER, 0, 30)).await? {
        ClaimOutcome::Claimed { .. } => store.insert_link(link, Side::One, OWNER).await,
        ClaimOutcome::Linked(_) => Err(tandem_engine::ports::StoreError::AlreadyExists {
            what: format!("a link of item {} on side 1", link.side1.id),
        }),
        ClaimOutcome::HeldElsewhere { .. } => {
            panic!("the fixture's claim on {} is held by another worker", link.side1.id)
        }
    }
}

/// `link` as the store returns it at `version`.
pub fn versioned(link: Link, version: u64) -> Link {
    Link { version, ..link }
}

pub fn conflict(integration: &str, field: &str, seconds: i64) -> ConflictRecord {
    ConflictRecord {
        integration: integration.to_owned(),
        field: field.to_owned(),
        side1: ItemRef::new(item("10001")),
        side2: ItemRef::new(item("42")),
        side1_value: FieldValue::Text("High".to_owned()),
        side2_value: FieldValue::Number(2.0),
        winner: Side::Two,
        policy: "last-writer-wins".to_owned(),
        at: at(seconds),
    }
}

pub fn failure(integration: &str, side: Side, item_id: &str, attempts: u32) -> FailureRecord {
    FailureRecord {
        integration: integration.to_owned(),
        side,
        item: item(item_id),
        error: format!("target answered 503 (attempt {attempts})"),
        retryable: true,
        attempts,
        first_failed_at: at(10),
        last_failed_at: at(10 + i64::from(attempts)),
        last_attempt_began: Some(at(10 + i64::from(attempts))),
        next_attempt_at: Some(at(100)),
        parked: false,
        noted_at: at(10),
    }
}

/// A history entry of an update, at `seconds` and kept `keep` seconds.
pub fn history_entry(integration: &str, side: Side, item_id: &str, seconds: i64, keep: i64) -> HistoryEntry {
    HistoryEntry {
        integration: integration.to_string(),
        side,
        item: item(item_id),
        copy: Some(item("42")),
        at: at(seconds),
        expires_at: at(seconds + keep),
        trigger: Trigger::Webhook { delivery: format!("delivery-{seconds}") },
        worker: "worker-1".to_string(),
        outcome: "updated (1 written)".to_string(),
        writes: vec![FieldWrite { to: side.other(), field: "summary".into(), old: "Old".into(), new: "New".into() }],
        conflicts: Vec::new(),
        comments: Vec::new(),
        attachments: Vec::new(),
        omitted: 0,
        error: None,
    }
}
