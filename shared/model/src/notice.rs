use crate::{CommentId, ItemId, Timestamp, UserRef};
use serde::{Deserialize, Serialize};

/// What a webhook said happened. A notice is never trusted as the item's state: the engine re-reads
/// the item, so stale, repeated or reordered deliveries cannot overwrite newer data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    ItemCreated,
    ItemUpdated,
    ItemDeleted,
    CommentCreated(CommentId),
    CommentUpdated(CommentId),
    CommentDeleted(CommentId),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeNotice {
    pub item: ItemId,
    pub kind: ChangeKind,
    /// Who made the change, as the webhook reports it; used to drop the integration's own echoes early.
    pub actor: Option<UserRef>,
    pub occurred_at: Option<Timestamp>,
}

/// One verified webhook delivery: the sender's delivery id (the same across the sender's retries) and
/// what it reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub notices: Vec<ChangeNotice>,
}
