//! The copy marker: an issue property naming the item an issue was copied from. It is written in the
//! create request itself, so a copy whose link was never stored (the process died in between) can be
//! found again instead of being created twice.

use crate::wire;
use serde::Serialize;
use serde_json::Value;
use tandem_engine::ports::CopyOrigin;
use tandem_model::{ItemId, Side};

/// The issue property key; app-specific keys are namespaced so they do not clash with other apps'.
pub const ORIGIN_PROPERTY: &str = "tandem.origin";

/// The property's value: the marker tandem searches by, and its parts for a person reading the issue.
#[derive(Debug, Serialize)]
struct OriginValue<'a> {
    marker: String,
    integration: &'a str,
    side: Side,
    item: &'a ItemId,
}

/// The property to create a copy of `origin` with.
pub fn origin_property(origin: &CopyOrigin) -> Result<wire::EntityProperty, serde_json::Error> {
    let value = OriginValue {
        marker: origin.marker(),
        integration: &origin.integration,
        side: origin.side,
        item: &origin.item,
    };
    Ok(wire::EntityProperty { key: ORIGIN_PROPERTY.to_string(), value: serde_json::to_value(value)? })
}

/// Whether a searched issue carries `origin`'s marker. A property of another shape (someone else wrote
/// the key) is simply not a match.
pub fn is_copy_of(issue: &wire::Issue, origin: &CopyOrigin) -> bool {
    issue
        .properties
        .get(ORIGIN_PROPERTY)
        .and_then(|property| property.get("marker"))
        .and_then(Value::as_str)
        .is_some_and(|marker| marker == origin.marker())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin(item: &str) -> CopyOrigin {
        CopyOrigin { integration: "ops-sync".into(), side: Side::Two, item: ItemId::new(item), url: None }
    }

    fn issue_with(property: Value) -> wire::Issue {
        serde_json::from_value(json!({"id": "10000", "properties": {ORIGIN_PROPERTY: property}})).unwrap()
    }

    #[test]
    fn the_property_carries_the_marker_and_its_parts() {
        let property = origin_property(&origin("42")).unwrap();
        assert_eq!(property.key, "tandem.origin");
        assert_eq!(
            property.value,
            json!({"marker": origin("42").marker(), "integration": "ops-sync", "side": "2", "item": "42"})
        );
        assert!(is_copy_of(&issue_with(property.value), &origin("42")));
    }

    #[test]
    fn another_marker_or_shape_is_not_a_copy() {
        let other = origin_property(&origin("43")).unwrap().value;
        assert!(!is_copy_of(&issue_with(other), &origin("42")));
        assert!(!is_copy_of(&issue_with(json!("tandem:ops-sync:2:42")), &origin("42")));
        let bare: wire::Issue = serde_json::from_value(json!({"id": "10000"})).unwrap();
        assert!(!is_copy_of(&bare, &origin("42")));
    }
}
