//! YAML scalars that keep their type (`2` stays a number, `"2"` a string) and tables of them in file
//! order: the raw material of value maps and defaults.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use tandem_model::FieldValue;

/// A string, number or boolean written in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Scalar {
    pub(crate) fn to_field_value(&self) -> FieldValue {
        match self {
            Scalar::Text(text) => FieldValue::Text(text.clone()),
            Scalar::Number(number) => FieldValue::Number(*number),
            Scalar::Bool(flag) => FieldValue::Bool(*flag),
        }
    }

    /// The text a field value is compared by (`FieldValue::as_text`), so `2` matches a `Number(2.0)`.
    pub(crate) fn text(&self) -> String {
        match self {
            Scalar::Text(text) => text.clone(),
            other => other.to_field_value().as_text().unwrap_or_default(),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string, number or boolean")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(value as f64))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(value as f64))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(value.to_string()))
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A string, number or boolean; its type is kept when it is written to a field.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// A YAML mapping of scalars to scalars, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ScalarTable(pub Vec<(Scalar, Scalar)>);

impl<'de> Deserialize<'de> for ScalarTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TableVisitor)
    }
}

struct TableVisitor;

impl<'de> Visitor<'de> for TableVisitor {
    type Value = ScalarTable;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a mapping of values to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScalarTable, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<Scalar, Scalar>()? {
            entries.push(entry);
        }
        Ok(ScalarTable(entries))
    }
}

impl JsonSchema for ScalarTable {
    fn schema_name() -> Cow<'static, str> {
        "ValueTable".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<Scalar>()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_their_type_and_compare_as_field_text() {
        let table: ScalarTable = serde_yaml_ng::from_str("High: 2\n4: Low\n'3': x\nok: true\n").unwrap();
        assert_eq!(table.0[0], (Scalar::Text("High".into()), Scalar::Number(2.0)));
        assert_eq!(table.0[1].0.text(), "4");
        assert_eq!(table.0[1].0.to_field_value(), FieldValue::Number(4.0));
        assert_eq!(table.0[2].0, Scalar::Text("3".into()));
        assert_eq!(table.0[3].1, Scalar::Bool(true));
    }
}
