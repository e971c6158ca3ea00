//! Where each record lives in the table: its `pk`/`sk` pair and the attribute names the store reads
//! and writes. The layout is described in the crate documentation.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::SecondsFormat;
use std::collections::HashMap;
use tandem_model::{ItemId, Side, Timestamp};

/// Partition key: `{KIND}#{integration}`.
pub(crate) const PK: &str = "pk";
/// Sort key: the record within its kind and integration.
pub(crate) const SK: &str = "sk";
/// The record as JSON (text, or deflated), the source of truth for everything read back.
pub(crate) const RECORD: &str = "record";
/// A link copy's optimistic-concurrency counter.
pub(crate) const VERSION: &str = "version";
/// The id of the item on the other side of a link copy, so an update cannot re-pair a link.
pub(crate) const PARTNER: &str = "partner";
/// Who holds a creation claim: a record with it is a claim (an item's claim is kept at its link's key).
pub(crate) const OWNER: &str = "owner";
/// Until when a claim is held, in microseconds since the epoch.
pub(crate) const UNTIL_MICROS: &str = "until_us";
/// When a change of a failure record's item was last noted, in microseconds since the epoch: clears
/// and rewrites are conditional on it.
pub(crate) const NOTED_MICROS: &str = "noted_us";
/// DynamoDB's time-to-live attribute: whole seconds since the epoch, after which the item may go.
pub(crate) const EXPIRES_AT: &str = "expires_at";

/// The kinds of record, each in partitions of its own per integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Link,
    Claim,
    Watermark,
    Conflict,
    Failure,
    History,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Link => "LINK",
            Kind::Claim => "CLAIM",
            Kind::Watermark => "WATERMARK",
            Kind::Conflict => "CONFLICT",
            Kind::Failure => "FAILURE",
            Kind::History => "HISTORY",
        }
    }
}

/// The partition holding every record of `kind` in `integration`. The integration name is the whole
/// remainder after a fixed prefix, so any name (even one containing `#`) maps to its own partition.
pub(crate) fn partition(kind: Kind, integration: &str) -> String {
    format!("{}#{integration}", kind.prefix())
}

/// The sort key of a per-item record: the side, then the free-form id last so it needs no escaping.
fn item_sort_key(side: Side, id: &str) -> String {
    format!("{side}#{id}")
}

/// The sort-key prefix of one side's per-item records.
pub(crate) fn side_prefix(side: Side) -> String {
    format!("{side}#")
}

/// A record's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    /// The copy of a link filed under its item on `side`.
    pub fn link(integration: &str, side: Side, item: &ItemId) -> Key {
        Key { pk: partition(Kind::Link, integration), sk: item_sort_key(side, item.as_str()) }
    }

    /// Where the creation claim of `item` (or of a part of one) is kept. An item's claim is kept where
    /// its link (or pointer) will be, so one conditional write both claims the item and finds it not
    /// linked, and the link replaces the claim when it is written; a part's, which no link names, in
    /// the claims' own partition.
    pub fn claim(integration: &str, side: Side, item: &ItemId) -> Key {
        match tandem_engine::ports::is_part_claim(item) {
            true => Key { pk: partition(Kind::Claim, integration), sk: item_sort_key(side, item.as_str()) },
            false => Key::link(integration, side, item),
        }
    }

    pub fn watermark(integration: &str, side: Side) -> Key {
        Key { pk: partition(Kind::Watermark, integration), sk: side.to_string() }
    }

    /// A conflict, sorted by when it happened; `unique` keeps two conflicts of the same instant apart.
    pub fn conflict(integration: &str, at: Timestamp, unique: &str) -> Key {
        Key { pk: partition(Kind::Conflict, integration), sk: format!("{}#{unique}", sortable(at)) }
    }

    pub fn failure(integration: &str, side: Side, item: &ItemId) -> Key {
        Key { pk: partition(Kind::Failure, integration), sk: item_sort_key(side, item.as_str()) }
    }

    /// An entry of an item's history, sorted by when it happened; `unique` keeps two entries of the same
    /// instant apart.
    pub fn history(integration: &str, side: Side, item: &ItemId, at: Timestamp, unique: &str) -> Key {
        Key {
            pk: partition(Kind::History, integration),
            sk: format!("{}{}#{unique}", history_prefix(side, item), sortable(at)),
        }
    }

    /// The key as the attribute map GetItem, DeleteItem and condition checks take.
    pub fn attributes(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

/// Whether a stored record is a creation claim (at a link's key: the item is claimed, not linked).
pub(crate) fn is_claim(item: &HashMap<String, AttributeValue>) -> bool {
    item.contains_key(OWNER)
}

/// The sort-key prefix of one item's history: the id's length first, so that no id's prefix is
/// another id's (`1` and `1#2`).
pub(crate) fn history_prefix(side: Side, item: &ItemId) -> String {
    format!("{side}#{}:{}#", item.as_str().len(), item.as_str())
}

/// RFC 3339 in UTC with nanoseconds: fixed width for years 0–9999, so text order is time order.
fn sortable(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A number attribute holding microseconds since the epoch, what conditions compare.
pub(crate) fn micros(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.timestamp_micros().to_string())
}

/// The instant a [`micros`] attribute holds; `None` when it holds something else.
pub(crate) fn instant_of_micros(value: &AttributeValue) -> Option<Timestamp> {
    value.as_n().ok()?.parse::<i64>().ok().and_then(Timestamp::from_timestamp_micros)
}

/// A time-to-live attribute for `until`: whole seconds rounded up, so DynamoDB never removes an item
/// before `until` has passed.
pub(crate) fn expires_at(until: Timestamp) -> AttributeValue {
    let seconds = if until.timestamp_subsec_nanos() == 0 { until.timestamp() } else { until.timestamp() + 1 };
    AttributeValue::N(seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};

    fn instant(seconds: i64, nanos: u32) -> Timestamp {
        DateTime::from_timestamp(seconds, nanos).unwrap()
    }

    #[test]
    fn integration_names_with_the_separator_stay_apart() {
        let plain = Key::link("ops", Side::One, &ItemId::new("1#x"));
        let tricky = Key::link("ops#1", Side::One, &ItemId::new("x"));
        assert_ne!(plain, tricky);
        assert_ne!(partition(Kind::Link, "ops"), partition(Kind::Claim, "ops"), "kinds never share a partition");
    }

    #[test]
    fn the_same_id_on_each_side_has_its_own_key() {
        let item = ItemId::new("42");
        assert_ne!(Key::failure("ops", Side::One, &item), Key::failure("ops", Side::Two, &item));
        assert!(Key::link("ops", Side::Two, &item).sk.starts_with(&side_prefix(Side::Two)));
    }

    #[test]
    fn one_items_history_never_shares_a_prefix_with_anothers() {
        let at = instant(1_893_456_000, 0);
        let entry = Key::history("ops", Side::One, &ItemId::new("1#2"), at, "u");
        assert!(!entry.sk.starts_with(&history_prefix(Side::One, &ItemId::new("1"))));
        assert!(entry.sk.starts_with(&history_prefix(Side::One, &ItemId::new("1#2"))));
    }

    #[test]
    fn conflict_keys_sort_by_time() {
        let earlier = instant(1_893_456_000, 999_999_999);
        let later = earlier + Duration::nanoseconds(1);
        let much_later = earlier + Duration::days(400);
        let keys: Vec<String> =
            [earlier, later, much_later].into_iter().map(|at| Key::conflict("ops", at, "u").sk).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn time_to_live_never_ends_before_the_instant() {
        assert_eq!(expires_at(instant(100, 0)), AttributeValue::N("100".into()));
        assert_eq!(expires_at(instant(100, 1)), AttributeValue::N("101".into()));
        assert_eq!(micros(instant(100, 1_500)), AttributeValue::N("100000001".into()));
    }
}
