//! Field mappings: which field on each side, which way values flow, and the value map that translates
//! option values.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use tandem_model::{FieldValue, Side, SystemKind};

/// Which way a field's values flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum Direction {
    /// From side 1 to side 2 only.
    #[serde(rename = "1->2")]
    OneToTwo,
    /// From side 2 to side 1 only.
    #[serde(rename = "2->1")]
    TwoToOne,
    /// Both ways (the default).
    #[default]
    #[serde(rename = "both")]
    Both,
}

impl Direction {
    /// Whether values read on `side` are written to the other side.
    pub fn flows_from(self, side: Side) -> bool {
        matches!(
            (self, side),
            (Direction::Both, _) | (Direction::OneToTwo, Side::One) | (Direction::TwoToOne, Side::Two)
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Direction::OneToTwo => "1->2",
            Direction::TwoToOne => "2->1",
            Direction::Both => "both",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of value a field holds, which decides how it is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// Plain text (the default). Rich text arriving here is reduced to its plain text.
    #[default]
    Text,
    /// A number; text that reads as a number is converted.
    Number,
    /// One value of a fixed set (priority, status, state); may have a value map.
    Option,
    /// Formatted text, converted between Jira's Atlassian Document Format and Azure DevOps' HTML.
    /// Plain text arriving here becomes paragraphs.
    RichText,
    /// A user, mapped by the `users` settings.
    User,
    /// A list of strings (Jira labels, Azure DevOps tags); text is split at `;`.
    List,
}

impl FieldKind {
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Option => "option",
            FieldKind::RichText => "rich-text",
            FieldKind::User => "user",
            FieldKind::List => "list",
        }
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value map, both ways: source value text → target value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ValueMap {
    pub to_side2: BTreeMap<String, FieldValue>,
    pub to_side1: BTreeMap<String, FieldValue>,
}

impl ValueMap {
    /// The target value for a source value read on `from`: an exact match, else the one entry that
    /// matches ignoring case (systems differ in how they capitalise option names).
    pub(crate) fn lookup(&self, from: Side, source: &str) -> Option<&FieldValue> {
        let table = match from {
            Side::One => &self.to_side2,
            Side::Two => &self.to_side1,
        };
        if let Some(target) = table.get(source) {
            return Some(target);
        }
        let mut folded = table.iter().filter(|(key, _)| key.to_lowercase() == source.to_lowercase());
        match (folded.next(), folded.next()) {
            (Some((_, target)), None) => Some(target),
            _ => None,
        }
    }
}

/// One field mapping of an integration.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    /// The mapping's name, unique in the integration.
    pub name: String,
    pub kind: FieldKind,
    pub direction: Direction,
    /// The field id on each side; `None` where the file says `none`.
    pub(crate) fields: [Option<String>; 2],
    /// The system of each side, which decides the rich-text format written there.
    pub(crate) systems: [SystemKind; 2],
    pub(crate) value_map: Option<ValueMap>,
    /// The default of each side, already in the form that side stores.
    pub(crate) defaults: [Option<FieldValue>; 2],
}

impl FieldMapping {
    /// This side's field id; `None` when the side has no such field.
    pub fn field(&self, side: Side) -> Option<&str> {
        self.fields[index(side)].as_deref()
    }

    /// Whether values read on `side` are written to the other side.
    pub fn flows_from(&self, side: Side) -> bool {
        self.direction.flows_from(side) && self.field(side).is_some()
    }

    /// Whether values are written to `side`'s field.
    pub fn flows_to(&self, side: Side) -> bool {
        self.flows_from(side.other()) && self.field(side).is_some()
    }

    /// The value written on `side` when the source has no value or no value-map entry, and, when the
    /// other side is `none`, on create.
    pub fn default_for(&self, side: Side) -> Option<FieldValue> {
        self.defaults[index(side)].clone()
    }

    /// Whether this mapping translates values through a value map.
    pub fn has_value_map(&self) -> bool {
        self.value_map.is_some()
    }
}

pub(crate) fn index(side: Side) -> usize {
    match side {
        Side::One => 0,
        Side::Two => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_say_which_side_is_read() {
        assert!(Direction::Both.flows_from(Side::One) && Direction::Both.flows_from(Side::Two));
        assert!(Direction::OneToTwo.flows_from(Side::One) && !Direction::OneToTwo.flows_from(Side::Two));
        assert!(Direction::TwoToOne.flows_from(Side::Two) && !Direction::TwoToOne.flows_from(Side::One));
    }

    #[test]
    fn value_map_lookup_prefers_exact_then_unique_case_insensitive() {
        let mut map = ValueMap::default();
        map.to_side2.insert("High".into(), FieldValue::Number(2.0));
        map.to_side2.insert("low".into(), FieldValue::Number(4.0));
        map.to_side2.insert("LOW".into(), FieldValue::Number(5.0));
        assert_eq!(map.lookup(Side::One, "High"), Some(&FieldValue::Number(2.0)));
        assert_eq!(map.lookup(Side::One, "high"), Some(&FieldValue::Number(2.0)));
        assert_eq!(map.lookup(Side::One, "LOW"), Some(&FieldValue::Number(5.0)));
        assert_eq!(map.lookup(Side::One, "Low"), None, "ambiguous without exact match");
        assert_eq!(map.lookup(Side::Two, "2"), None);
    }
}
