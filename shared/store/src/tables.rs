//! The store's tables and their key conventions. Every key starts with the integration, so one
//! integration's records are contiguous and a listing is one range scan. Sides are stored as their
//! number (1, 2). Values are JSON, so the file stays readable with generic tools and tolerant of
//! added optional fields.

use crate::error::{decode, OrUnavailable};
use redb::{Key, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use tandem_engine::ports::StoreError;
use tandem_model::Side;

/// (integration, side-1 item id) → `Link`. A link is filed under its side-1 item, which never changes
/// for the life of the link.
pub(crate) const LINKS: TableDefinition<(&str, &str), &str> = TableDefinition::new("links");

/// (integration, side, item id) → the side-1 item id under which the item's link is filed. Both items
/// of every link are indexed, which is what makes "either item is linked already" one look-up each.
pub(crate) const LINK_INDEX: TableDefinition<(&str, u8, &str), &str> = TableDefinition::new("link_index");

/// (integration, side, item id) → `Claim` on creating the item's copy.
pub(crate) const CLAIMS: TableDefinition<(&str, u8, &str), &str> = TableDefinition::new("creation_claims");

/// (integration, side) → the timestamp polling resumes from.
pub(crate) const WATERMARKS: TableDefinition<(&str, u8), &str> = TableDefinition::new("watermarks");

/// (integration, side) → `PollTally`: what the side's polls made of the items they went through.
pub(crate) const POLL_TALLIES: TableDefinition<(&str, u8), &str> = TableDefinition::new("poll_tallies");

/// (integration, sequence number) → `ConflictRecord`, in the order recorded.
pub(crate) const CONFLICTS: TableDefinition<(&str, u64), &str> = TableDefinition::new("conflicts");

/// (integration, side, item id) → `FailureRecord`.
pub(crate) const FAILURES: TableDefinition<(&str, u8, &str), &str> = TableDefinition::new("failures");

/// (integration, side, item id, microseconds since the epoch) → `HistoryEntry`: an item's history in
/// the order it happened (two entries of one microsecond take the next free one).
pub(crate) const HISTORY: TableDefinition<(&str, u8, &str, i64), &str> = TableDefinition::new("history");

pub(crate) fn side_key(side: Side) -> u8 {
    side.number()
}

/// Decodes the JSON values from `start` on for as long as `same_integration` accepts the key.
pub(crate) fn collect_while<'s, K, T>(
    table: &impl ReadableTable<K, &'static str>,
    start: K::SelfType<'s>,
    same_integration: impl for<'k> Fn(K::SelfType<'k>) -> bool,
    what: &str,
) -> Result<Vec<T>, StoreError>
where
    K: Key + 'static,
    T: DeserializeOwned,
{
    let doing = format!("listing {what}s");
    let mut records = Vec::new();
    for entry in table.range(start..).or_unavailable(&doing)? {
        let (key, value) = entry.or_unavailable(&doing)?;
        if !same_integration(key.value()) {
            break;
        }
        records.push(decode(value.value(), what)?);
    }
    Ok(records)
}
