use crate::history::HistoryEntry;
use crate::tally::PollTally;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tandem_model::{
    AttachmentId, CommentId, FieldValue, InstantPrecision, ItemId, ItemRef, ItemVersion, Side, Timestamp,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: someone else created or changed the record first. Re-read and retry.
    #[error("{what} was changed concurrently")]
    Conflict { what: String },
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    #[error("store unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("stored record is corrupt: {message}")]
    Corrupt { message: String },
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict { .. } | StoreError::Unavailable { .. })
    }
}

/// Rich text longer than this (bytes, as stored) is kept in a snapshot as a fingerprint only.
pub const LARGE_SNAPSHOT_BYTES: usize = 8 * 1024;

/// A mapped field's values on both sides as of the last sync, each in its own side's form. Comparing a
/// side's current value with its own snapshot tells whether that side changed since (three-way merge).
///
/// Large rich text is kept as a fingerprint of its canonical form instead of the value: that is all a
/// comparison needs, and a link must stay well under a DynamoDB item's 400 KB whatever the descriptions
/// hold (a 1 MB description once made a copy that could never be linked).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FieldSnapshot {
    side1: FieldValue,
    side2: FieldValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    side1_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    side2_fingerprint: Option<String>,
}

impl FieldSnapshot {
    pub fn new(side1: FieldValue, side2: FieldValue) -> Self {
        let mut snapshot = FieldSnapshot::default();
        snapshot.set(Side::One, side1);
        snapshot.set(Side::Two, side2);
        snapshot
    }

    pub fn set(&mut self, side: Side, value: FieldValue) {
        let (slot, fingerprint) = match side {
            Side::One => (&mut self.side1, &mut self.side1_fingerprint),
            Side::Two => (&mut self.side2, &mut self.side2_fingerprint),
        };
        match &value {
            FieldValue::RichText(text) if rich_text_bytes(text) > LARGE_SNAPSHOT_BYTES => {
                *fingerprint = Some(crate::compare::fingerprint(text));
                *slot = FieldValue::Empty;
            }
            _ => {
                *fingerprint = None;
                *slot = value;
            }
        }
    }

    /// Whether `current` is, by meaning, the value this snapshot holds for `side`.
    pub fn holds(&self, side: Side, current: &FieldValue) -> bool {
        let (value, fingerprint) = match side {
            Side::One => (&self.side1, &self.side1_fingerprint),
            Side::Two => (&self.side2, &self.side2_fingerprint),
        };
        match fingerprint {
            Some(fingerprint) => {
                matches!(current, FieldValue::RichText(text) if crate::compare::fingerprint(text) == *fingerprint)
            }
            None => crate::compare::same_value(current, value),
        }
    }
}

fn rich_text_bytes(text: &tandem_model::RichText) -> usize {
    tandem_rich_text::stored_size(text)
}

/// A comment and its copy on the other side, with a fingerprint of each body as last synced, so an
/// edit on either side is noticed and a copy is never posted twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentLink {
    pub side1: CommentId,
    pub side2: CommentId,
    pub side1_fingerprint: String,
    pub side2_fingerprint: String,
    /// The side of the original (the other holds the copy); `None` in links stored before it was kept,
    /// where the copy is told by its author, the service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Side>,
}

impl CommentLink {
    pub fn id(&self, side: Side) -> &CommentId {
        match side {
            Side::One => &self.side1,
            Side::Two => &self.side2,
        }
    }

    pub fn fingerprint(&self, side: Side) -> &str {
        match side {
            Side::One => &self.side1_fingerprint,
            Side::Two => &self.side2_fingerprint,
        }
    }

    pub fn set_fingerprint(&mut self, side: Side, fingerprint: String) {
        match side {
            Side::One => self.side1_fingerprint = fingerprint,
            Side::Two => self.side2_fingerprint = fingerprint,
        }
    }
}

/// An attachment and its copy on the other item. A pair without a copy records a file that was not
/// copied (too large, or refused by the target) so that it is neither tried again at every sync nor
/// taken for new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentLink {
    /// The side the original was attached on.
    pub origin: Side,
    pub original: AttachmentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<AttachmentId>,
    /// Set while the copy is being attached (stored before the upload, cleared with the copy's id):
    /// what a later sync looks for on the other item when the attempt died or lost its answer — to
    /// adopt the copy, or to remove it when the original is gone by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending: Option<SendingFile>,
    /// A file an image in a text shows that is not attached to the item (an image pasted into Azure
    /// DevOps, a Jira address of another issue's file): its copy stays while texts may show it, since
    /// its original never appears among the item's attachments.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
}

/// A file whose copy is being attached: what its copy is recognised by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendingFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl AttachmentLink {
    /// Whether the pair is settled: copied, or recorded as not copied (not being sent).
    pub fn settled(&self) -> bool {
        self.sending.is_none()
    }

    /// The attachment of this pair on `side`, if there is one.
    pub fn id(&self, side: Side) -> Option<&AttachmentId> {
        match side == self.origin {
            true => Some(&self.original),
            false => self.copy.as_ref(),
        }
    }
}

/// An entity link: an item and its copy, and the sync state between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub integration: String,
    pub side1: ItemRef,
    pub side2: ItemRef,
    /// Last-synced values, keyed by the mapping's field name.
    pub fields: BTreeMap<String, FieldSnapshot>,
    pub comments: Vec<CommentLink>,
    /// The attachments copied (or recorded as not copied) between the two items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentLink>,
    /// Field writes announced before they were made, keyed by the mapping's field name. Normally empty:
    /// a sync clears them once its writes are done. Left over, they tell the next sync what the last
    /// one was doing when it died or lost a write's answer (see [`PendingWrite`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_writes: BTreeMap<String, PendingWrite>,
    /// Who announced the pending writes, and until when they may still be under way. Another worker
    /// leaves them alone until then: settling them earlier could see a write not landed yet, make a
    /// newer one, and then have the older write land on top of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced_by: Option<Announcer>,
    /// The state of each item the last stored sync read (or wrote, when its system says which state a
    /// write made). A later read that is not newer shows nothing new on that side: it predates the
    /// values the snapshots hold, and must never be written over them (a stale read).
    #[serde(default, skip_serializing_if = "SeenVersions::is_empty")]
    pub seen: SeenVersions,
    /// Digests of the newest webhook deliveries whose syncs wrote this link: a repeat of one is dropped
    /// once the link is read (see the engine's `marks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<String>,
    /// Whether a failure is recorded in the sync log for this pair: the sync that next succeeds clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failure_recorded: bool,
    pub created_at: Timestamp,
    pub synced_at: Timestamp,
    /// Optimistic-concurrency counter: `update_link` succeeds only if the stored version is this one.
    pub version: u64,
}

impl Link {
    pub fn item(&self, side: Side) -> &ItemRef {
        match side {
            Side::One => &self.side1,
            Side::Two => &self.side2,
        }
    }

    /// What a read of the item on `side` made before this link was loaded can show, compared with
    /// what the link last saw: see [`News`].
    pub fn news_in(&self, side: Side, read: &ItemVersion, instants: InstantPrecision) -> News {
        let Some(seen) = self.seen.get(side) else {
            return News::Newer;
        };
        if read.is_after(seen) {
            News::Newer
        } else if instants == InstantPrecision::Second && read.revision.is_none() && !seen.is_after(read) {
            News::SameInstant
        } else {
            News::Nothing
        }
    }
}

/// Whether an earlier read of an item shows something its link has not seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum News {
    /// A later state than the link saw (or it saw none): syncing from the read undoes nothing.
    Newer,
    /// The instant the link saw, where the system's instants are whole seconds and it keeps no
    /// revision: a later state of that second, or an earlier one that a newer sync has already passed.
    /// Only a read made now tells which.
    SameInstant,
    /// The state the link saw, or an older one.
    Nothing,
}

/// The state of each item of a link as last seen; see [`Link::seen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeenVersions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side1: Option<ItemVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side2: Option<ItemVersion>,
}

impl SeenVersions {
    pub fn get(&self, side: Side) -> Option<&ItemVersion> {
        match side {
            Side::One => self.side1.as_ref(),
            Side::Two => self.side2.as_ref(),
        }
    }

    /// Records `version` for `side` unless a newer one is recorded already.
    pub fn saw(&mut self, side: Side, version: ItemVersion) {
        let slot = match side {
            Side::One => &mut self.side1,
            Side::Two => &mut self.side2,
        };
        if slot.is_none_or(|seen| version.is_after(&seen)) {
            *slot = Some(version);
        }
    }

    /// Forgets the state seen on `side`: the next read of it is news, whatever it shows.
    pub fn forget(&mut self, side: Side) {
        match side {
            Side::One => self.side1 = None,
            Side::Two => self.side2 = None,
        }
    }

    fn is_empty(&self) -> bool {
        self.side1.is_none() && self.side2.is_none()
    }
}

/// The worker whose writes a link's announcements are, and how long they may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcer {
    pub worker: String,
    pub until: Timestamp,
}

/// A field write announced in the link before it is sent. The field's snapshot already holds the
/// written value; `before` is the snapshot as it was. If the target still holds `before`'s value when
/// the next sync looks, the write never landed and `before` is the state to merge from; if it holds the
/// written value, the write landed even though nobody stored that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingWrite {
    /// The side written to.
    pub to: Side,
    /// The field's snapshot before the write; `None` when the field had none (new to the mapping).
    pub before: Option<FieldSnapshot>,
}

/// When the holders of a claim sent the create (or the comment) the claim is about: from the first such
/// request to the instant by which whatever any of them created shows in the target's search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendWindow {
    pub first_sent: Timestamp,
    /// The last request may still be processed until its call gives up, and a search may lag behind
    /// the write: before this instant, not finding a copy proves nothing.
    pub visible_by: Timestamp,
}

impl SendWindow {
    /// The window covering both.
    pub fn merge(self, other: SendWindow) -> SendWindow {
        SendWindow {
            first_sent: self.first_sent.min(other.first_sent),
            visible_by: self.visible_by.max(other.visible_by),
        }
    }
}

/// How a claim record keeps its holders' send window (the stores persist it in this form).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    /// Whether the record keeps its window: claims stored before it was kept do not, and their holders
    /// may have sent a create at any time before their lease ended.
    #[serde(default)]
    pub tracks_sends: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<SendWindow>,
}

/// How far back from its lease end a legacy claim's create may have been sent.
const LEGACY_SEND_LOOKBACK: chrono::Duration = chrono::Duration::days(7);

impl SentRecord {
    /// The record of a claim nobody held before, as `request` takes it.
    pub fn fresh(request: &ClaimRequest<'_>) -> SentRecord {
        SentRecord { tracks_sends: true, sent: None }.updated(request.send)
    }

    /// The record of a claim renewed or taken over from one whose lease ends at `lease_end`, by `request`.
    pub fn renewed(self, lease_end: Timestamp, request: &ClaimRequest<'_>) -> SentRecord {
        let ended = |window: SendWindow| match lease_end <= request.now {
            true => SendWindow { visible_by: window.visible_by.min(lease_end + request.search_lag), ..window },
            false => window,
        };
        SentRecord { tracks_sends: true, sent: self.window(lease_end).map(ended) }.updated(request.send)
    }

    fn updated(self, send: SendUpdate) -> SentRecord {
        let sent = match (self.sent, send) {
            (sent, SendUpdate::Nothing) => sent,
            (Some(earlier), SendUpdate::Started(now)) => Some(earlier.merge(now)),
            (None, SendUpdate::Started(now) | SendUpdate::StartedUnlessSent(now)) => Some(now),
            (Some(earlier), SendUpdate::StartedUnlessSent(_)) => Some(earlier),
            (Some(window), SendUpdate::Ended { visible_by }) => Some(SendWindow { visible_by, ..window }),
            (None, SendUpdate::Ended { .. }) => None,
            (_, SendUpdate::Withdrawn { before }) => before,
        };
        SentRecord { tracks_sends: true, sent }
    }

    /// The window of the record's claim, whose lease ends at `lease_end`.
    pub fn window(&self, lease_end: Timestamp) -> Option<SendWindow> {
        match self.tracks_sends {
            true => self.sent,
            false => Some(SendWindow { first_sent: lease_end - LEGACY_SEND_LOOKBACK, visible_by: lease_end }),
        }
    }
}

/// An earlier claim on an item that never became a link: a worker that died, or this worker's own
/// failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlierAttempt {
    /// When its lease ended (or ends, for this worker's own claim).
    pub lease_end: Timestamp,
    /// When it sent a create; `None`: it never did, so there is no copy to look for.
    pub sent: Option<SendWindow>,
}

impl EarlierAttempt {
    /// From when a search (lagging `lag` behind writes) shows whatever the attempt may have created, at
    /// `now`; `None` when it sent nothing. An ended lease outlasted its holder's calls, so a copy was
    /// made by then if at all.
    pub fn copy_visible_from(&self, now: Timestamp, lag: chrono::Duration) -> Option<Timestamp> {
        let sent = self.sent?;
        Some(match self.lease_end <= now {
            true => sent.visible_by.min(self.lease_end + lag),
            false => sent.visible_by,
        })
    }
}

/// The answer to "may I create the copy of this item?".
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// You hold the claim until the lease ends: create the copy, then insert the link. When an earlier
    /// attempt sent a create, it may have made the copy: look for it (`Connector::find_copy`, once its
    /// window's `visible_by` has passed) before creating another.
    Claimed { earlier_attempt: Option<EarlierAttempt> },
    /// The item is already linked: update instead.
    Linked(Box<Link>),
    /// Another worker holds an unexpired claim: leave it to them (the poller retries later).
    HeldElsewhere { until: Timestamp },
}

/// What a claim's holder says of the create (or the post) the claim is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendUpdate {
    /// Nothing: it is only taking or renewing the claim.
    Nothing,
    /// It is about to send: the claim remembers the window (merged with those already recorded) for
    /// whoever takes it over.
    Started(SendWindow),
    /// It is about to send unless an earlier holder may have: with no send recorded, as `Started`;
    /// otherwise the recorded window is kept, not widened (ended with its holder's lease, when taken
    /// over, as always): the holder looks for that copy before sending, and says `Started` then. One
    /// write both takes the claim and records the send that follows at once.
    StartedUnlessSent(SendWindow),
    /// Its send came back failed: nothing it sent can appear later, so what it made shows in a search
    /// from `visible_by`.
    Ended { visible_by: Timestamp },
    /// Its send came back refused (the system said it made nothing): the window goes back to `before`,
    /// what it was before this send.
    Withdrawn { before: Option<SendWindow> },
}

/// What separates an item's id from the part in a part's claim key: no system's item ids have it.
const PART_SEPARATOR: char = '#';

/// The claim key of copying one part of `item` (`kind` names what it is: a comment, a file), under a
/// name no item id can have.
pub fn part_claim_key(item: &ItemId, kind: &str, part: &str) -> ItemId {
    ItemId::new(format!("{item}{PART_SEPARATOR}{kind}:{part}"))
}

/// Whether a claim key is a part's (see [`part_claim_key`]) rather than an item's: a store may keep
/// an item's claim where its link will be, which no part has.
pub fn is_part_claim(claim: &ItemId) -> bool {
    claim.as_str().contains(PART_SEPARATOR)
}

/// A claim (or its renewal) as a worker asks for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimRequest<'a> {
    pub owner: &'a str,
    pub now: Timestamp,
    pub lease_until: Timestamp,
    /// What this claim's holder says of its create (or post).
    pub send: SendUpdate,
    /// How long after a create ends a search may still not show its copy: a claim taken over after its
    /// lease ended (its holder's calls ended by then) has its window end moved up to the lease end plus
    /// this.
    pub search_lag: chrono::Duration,
}

/// Entity links and their sync state. Every write is conditional so two workers syncing the same item
/// cannot both create a copy or overwrite each other's state.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// The link of the item with this id on this side.
    async fn get_link(&self, integration: &str, side: Side, item: &ItemId) -> Result<Option<Link>, StoreError>;

    /// The side-1 item linked with this side-2 item, if any: what both items' syncs in one process
    /// queue on. Only a hint (every write is conditional on what is stored), so a store may answer
    /// from memory what it read before.
    async fn side1_of(&self, integration: &str, item: &ItemId) -> Result<Option<ItemId>, StoreError> {
        Ok(self.get_link(integration, Side::Two, item).await?.map(|link| link.side1.id))
    }

    /// Claims the right to create the copy of `item` (from `side`), or renews this owner's claim. A
    /// claim whose lease has ended may be taken over. Returns `Linked` when a link exists.
    async fn claim_creation(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        request: &ClaimRequest<'_>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Gives a claim up (the creation failed before anything was written).
    async fn release_claim(&self, integration: &str, side: Side, item: &ItemId, owner: &str) -> Result<(), StoreError>;

    /// The part a claim was taken for (a comment, a file; see [`is_part_claim`]) is linked now: no
    /// worker claims it again, and the claim is not needed. Released by default; a store whose claims
    /// expire on their own may leave it to that instead of paying a write.
    async fn part_claim_fulfilled(
        &self,
        integration: &str,
        side: Side,
        claim: &ItemId,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.release_claim(integration, side, claim, owner).await
    }

    /// Whether a part's claim outlives its part's linking (left to a time to live far past its lease, as
    /// [`LinkStore::part_claim_fulfilled`] may): then a claim that found no earlier claim of the part
    /// proves that no worker has copied it lately, for every copy is made under a claim.
    fn remembers_part_claims(&self) -> bool {
        false
    }

    /// Stores a new link (version 1) under both items' ids and removes the creation claims, provided
    /// `owner` still holds the claim on the item of `claimed_side` (a worker whose lease ran out and was
    /// taken over must not link its copy: `Conflict`). `AlreadyExists` when either item is linked already.
    async fn insert_link(&self, link: &Link, claimed_side: Side, owner: &str) -> Result<Link, StoreError>;

    /// Replaces a link if its stored version is `link.version`; returns it with the version increased.
    /// `Conflict` when someone else updated it first.
    async fn update_link(&self, link: &Link) -> Result<Link, StoreError>;

    /// Every link of an integration (operators' listings, tests, the convergence harness).
    async fn list_links(&self, integration: &str) -> Result<Vec<Link>, StoreError>;
}

/// Where polling resumes, per integration side.
#[async_trait]
pub trait WatermarkStore: Send + Sync {
    async fn get_watermark(&self, integration: &str, side: Side) -> Result<Option<Timestamp>, StoreError>;
    /// Puts the watermark at `at` (a first poll, a backfill's rewind); the side's tally is kept.
    async fn set_watermark(&self, integration: &str, side: Side, at: Timestamp) -> Result<(), StoreError>;

    /// Moves the watermark to `at` as a poll finishes a page and adds what the poll made of the page's
    /// items to the side's running tally, in the one write.
    async fn advance_watermark(
        &self,
        integration: &str,
        side: Side,
        at: Timestamp,
        counted: &PollTally,
    ) -> Result<(), StoreError>;

    /// The side's running tally of poll outcomes (all zero before its first poll).
    async fn poll_tally(&self, integration: &str, side: Side) -> Result<PollTally, StoreError>;
}

/// Both sides changed the same field since the last sync; what the policy chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictRecord {
    pub integration: String,
    pub field: String,
    pub side1: ItemRef,
    pub side2: ItemRef,
    pub side1_value: FieldValue,
    pub side2_value: FieldValue,
    pub winner: Side,
    pub policy: String,
    pub at: Timestamp,
}

/// A change that could not be synced: kept so the poller retries it and an operator can see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub integration: String,
    pub side: Side,
    pub item: ItemId,
    pub error: String,
    pub retryable: bool,
    pub attempts: u32,
    pub first_failed_at: Timestamp,
    pub last_failed_at: Timestamp,
    /// When the last failed attempt began, before it read anything: a change made after that may be
    /// one the attempt never saw. `None` for notes and for records written before this was kept.
    #[serde(default)]
    pub last_attempt_began: Option<Timestamp>,
    /// When the poller may try again; `None` once parked (needs an operator).
    pub next_attempt_at: Option<Timestamp>,
    pub parked: bool,
    /// When a change of the item was last noted (a webhook's notice, a poll that left the item to this
    /// record). Only a sync whose read began after it may clear the record: one that read before would
    /// take the record, and with it the change, away unsynced.
    #[serde(default = "the_epoch")]
    pub noted_at: Timestamp,
}

fn the_epoch() -> Timestamp {
    Timestamp::UNIX_EPOCH
}

impl FailureRecord {
    /// A note of a change of (integration, side, item) at `now`, not a failed attempt: why it is there,
    /// and when it is due if nobody clears it.
    pub fn note(integration: &str, side: Side, item: &ItemId, why: &str, now: Timestamp, due: Timestamp) -> Self {
        FailureRecord {
            integration: integration.to_string(),
            side,
            item: item.clone(),
            error: why.to_string(),
            retryable: true,
            attempts: 0,
            first_failed_at: now,
            last_failed_at: now,
            last_attempt_began: None,
            next_attempt_at: Some(due),
            parked: false,
            noted_at: now,
        }
    }
}

/// What noting a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noted {
    /// No record existed: the note was stored as given.
    Created,
    /// A record existed: its `noted_at` was moved to the note's (unless already later).
    Touched,
}

/// Conflicts and failures, for operators and for the poller's retries.
#[async_trait]
pub trait SyncLog: Send + Sync {
    async fn record_conflict(&self, conflict: &ConflictRecord) -> Result<(), StoreError>;
    async fn list_conflicts(&self, integration: &str) -> Result<Vec<ConflictRecord>, StoreError>;
    /// Inserts or replaces the failure of (integration, side, item), keeping the later of the stored and
    /// the given `noted_at` (a change noted meanwhile stays noted).
    async fn record_failure(&self, failure: &FailureRecord) -> Result<(), StoreError>;
    /// Notes a change of (integration, side, item) at `note.noted_at`: stores `note` when there is no
    /// record, else only moves the record's `noted_at` forward. One conditional write.
    async fn note_change(&self, note: &FailureRecord) -> Result<Noted, StoreError>;
    async fn get_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
    ) -> Result<Option<FailureRecord>, StoreError>;
    /// Removes the record, unless a change was noted after `read_from` (the instant the clearing sync
    /// began to read): true when it is gone.
    async fn clear_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        read_from: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn list_failures(&self, integration: &str) -> Result<Vec<FailureRecord>, StoreError>;
    /// Keeps one sync's entry in the history of its item (`entry.side`, `entry.item`) until
    /// `entry.expires_at`. A store may keep fewer of an item's entries (the newest).
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError>;
    /// The newest entries (at most `limit`, none expired at `now`) of an item's history, newest first.
    async fn list_history(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<HistoryEntry>, StoreError>;
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;
    use tandem_model::RichText;

    fn html(text: &str) -> FieldValue {
        FieldValue::RichText(RichText::Html(text.to_owned()))
    }

    #[test]
    fn a_large_description_is_kept_as_a_fingerprint_and_still_compares() {
        let large = format!("<p>{}</p>", "steps to reproduce ".repeat(50_000));
        let mut snapshot = FieldSnapshot::default();
        snapshot.set(Side::Two, html(&large));
        let stored = serde_json::to_string(&snapshot).expect("serialises");
        assert!(stored.len() < 1024, "a ~1 MB value is stored in {} bytes", stored.len());

        let read: FieldSnapshot = serde_json::from_str(&stored).expect("reads back");
        assert!(read.holds(Side::Two, &html(&large)));
        // Whitespace the system adds is not a change; an edit is.
        assert!(read.holds(Side::Two, &html(&large.replace("<p>", "<p>\n"))));
        assert!(!read.holds(Side::Two, &html(&large.replace("reproduce", "repeat"))));
        assert!(!read.holds(Side::Two, &FieldValue::Empty));
    }

    #[test]
    fn small_values_are_kept_whole_and_old_links_still_read() {
        let snapshot = FieldSnapshot::new(FieldValue::Text("a".into()), html("<p>b</p>"));
        assert!(snapshot.holds(Side::One, &FieldValue::Text("a ".into())));
        assert!(snapshot.holds(Side::Two, &html("<p>b</p>")));
        // Links stored before fingerprints existed have only the two values, and still read.
        let stored = serde_json::to_value(&snapshot).expect("serialises");
        assert_eq!(stored.as_object().map(|fields| fields.len()), Some(2), "{stored}");
        let read: FieldSnapshot = serde_json::from_value(stored).expect("reads back");
        assert_eq!(read, snapshot);
    }
}

#[cfg(test)]
mod seen_tests {
    use super::*;

    fn link_that_saw(updated: &str) -> Link {
        let at: Timestamp = updated.parse().expect("an instant");
        let mut link: Link = serde_json::from_value(serde_json::json!({
            "integration": "i", "side1": {"id": "1"}, "side2": {"id": "2"}, "fields": {}, "comments": [],
            "pending_writes": {}, "created_at": at, "synced_at": at, "version": 1,
        }))
        .expect("a link");
        link.seen.saw(Side::One, ItemVersion { updated: at, revision: None });
        link
    }

    fn read(updated: &str) -> ItemVersion {
        ItemVersion { updated: updated.parse().expect("an instant"), revision: None }
    }

    #[test]
    fn the_same_instant_is_ambiguous_only_where_instants_are_whole_seconds() {
        let link = link_that_saw("2026-12-04T10:00:05Z");
        let same = read("2026-12-04T10:00:05Z");
        assert_eq!(link.news_in(Side::One, &same, InstantPrecision::Millisecond), News::Nothing);
        assert_eq!(link.news_in(Side::One, &same, InstantPrecision::Second), News::SameInstant, "maybe a later state");
        let earlier = read("2026-12-04T10:00:04Z");
        assert_eq!(link.news_in(Side::One, &earlier, InstantPrecision::Second), News::Nothing);
        assert_eq!(link.news_in(Side::One, &read("2026-12-04T10:00:06Z"), InstantPrecision::Millisecond), News::Newer);
        assert_eq!(
            link.news_in(Side::Two, &earlier, InstantPrecision::Millisecond),
            News::Newer,
            "nothing seen on side 2"
        );
    }
}
