//! Records as the engine sees them, and back: each field by its describe type (text areas are plain
//! rich text, numbers, booleans, date-times, multi-select picklists as lists, users by id); writes
//! checked against the field's length with a clear error; Salesforce's date-times
//! (`2024-01-01T00:00:00.000+0000`) read and written.

use serde_json::{Map, Value};
use tandem_model::{FieldValue, RichText, Timestamp, UserRef};

use crate::describe::{Describe, FieldDescribe};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("no field `{0}` the integration user can see")]
    UnknownField(String),
    #[error("{field} holds at most {length} characters; the value has {actual}")]
    TooLong { field: String, length: u64, actual: usize },
    #[error("{field} cannot hold {value}")]
    Unfit { field: String, value: String },
    #[error("`{0}` cannot be written: only a field of a record one lookup away (`Account.Name`) sets that lookup")]
    Related(String),
}

/// A Salesforce date-time, in any of the forms it writes (`+0000`, `Z`, `+00:00`).
pub fn parse_datetime(text: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|at| at.with_timezone(&chrono::Utc))
}

/// A date-time as Salesforce writes it in records.
pub fn format_datetime(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// A date-time as a SOQL literal (unquoted, UTC).
pub fn soql_datetime(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A record field's value as the engine holds it.
pub(crate) fn read_value(field: &FieldDescribe, value: &Value) -> FieldValue {
    match (field.kind.as_str(), value) {
        (_, Value::Null) => FieldValue::Empty,
        ("textarea", Value::String(text)) => FieldValue::RichText(RichText::Plain(text.clone())),
        ("multipicklist", Value::String(text)) => {
            FieldValue::List(text.split(';').filter(|part| !part.is_empty()).map(str::to_string).collect())
        }
        ("datetime", Value::String(text)) => {
            parse_datetime(text).map_or(FieldValue::Text(text.clone()), FieldValue::DateTime)
        }
        (_, Value::String(id)) if field.is_user() => {
            FieldValue::User(UserRef { id: id.clone(), email: None, display_name: None })
        }
        (_, Value::String(text)) => FieldValue::Text(text.clone()),
        (_, Value::Bool(flag)) => FieldValue::Bool(*flag),
        (_, Value::Number(number)) => number.as_f64().map_or(FieldValue::Empty, FieldValue::Number),
        (_, other) => FieldValue::Text(other.to_string()),
    }
}

/// Every field of a record the describe knows, and the `related` paths (`Account.Name`), as the engine
/// holds them.
pub(crate) fn read_fields(
    describe: &Describe,
    related: &[String],
    record: &Map<String, Value>,
) -> tandem_model::FieldMap {
    let mut fields: tandem_model::FieldMap = record
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), read_value(describe.field(name)?, value))))
        .collect();
    for path in related {
        let mut parts = path.split('.');
        let first = parts.next().and_then(|part| record.get(part));
        let value = parts.try_fold(first, |at, part| Some(at?.get(part))).flatten();
        let value = match value {
            None | Some(Value::Null) => FieldValue::Empty,
            Some(Value::String(text)) => FieldValue::Text(text.clone()),
            Some(Value::Bool(flag)) => FieldValue::Bool(*flag),
            Some(Value::Number(number)) => number.as_f64().map_or(FieldValue::Empty, FieldValue::Number),
            Some(other) => FieldValue::Text(other.to_string()),
        };
        fields.insert(path.clone(), value);
    }
    fields
}

/// A value as the field takes it in a write.
pub(crate) fn write_value(field: &FieldDescribe, value: &FieldValue) -> Result<Value, ConvertError> {
    let json = match value {
        FieldValue::Empty => Value::Null,
        FieldValue::Text(text) => Value::String(text.clone()),
        FieldValue::RichText(text) => Value::String(tandem_rich_text::plain_text(text)),
        FieldValue::Number(number) if matches!(field.kind.as_str(), "int" | "long") && number.fract() == 0.0 => {
            Value::from(*number as i64)
        }
        FieldValue::Number(number) if field.is_text() => {
            Value::String(FieldValue::Number(*number).as_text().unwrap_or_default())
        }
        FieldValue::Number(number) => {
            serde_json::Number::from_f64(*number).map(Value::Number).ok_or_else(|| unfit(field, value))?
        }
        FieldValue::Bool(flag) => Value::Bool(*flag),
        FieldValue::DateTime(at) => Value::String(format_datetime(*at)),
        FieldValue::User(user) => Value::String(user.id.clone()),
        FieldValue::List(values) if field.kind == "multipicklist" => Value::String(values.join(";")),
        FieldValue::List(values) => Value::String(values.join(", ")),
    };
    check_length(field, &json)?;
    Ok(json)
}

fn unfit(field: &FieldDescribe, value: &FieldValue) -> ConvertError {
    ConvertError::Unfit { field: field.name.clone(), value: format!("{value:?}") }
}

fn check_length(field: &FieldDescribe, value: &Value) -> Result<(), ConvertError> {
    let Value::String(text) = value else { return Ok(()) };
    let actual = text.chars().count();
    if field.is_text() && field.length > 0 && actual as u64 > field.length {
        return Err(ConvertError::TooLong { field: field.name.clone(), length: field.length, actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(kind: &str, length: u64) -> FieldDescribe {
        serde_json::from_value(json!({ "name": "F", "type": kind, "length": length, "referenceTo": ["Group", "User"] }))
            .unwrap()
    }

    #[test]
    fn salesforce_date_times_read_in_every_form_it_writes() {
        let at = parse_datetime("2024-01-01T10:00:00.000+0000").unwrap();
        assert_eq!(parse_datetime("2024-01-01T10:00:00.000Z"), Some(at));
        assert_eq!(parse_datetime("2024-01-01T12:00:00.000+0200"), Some(at));
        assert_eq!(format_datetime(at), "2024-01-01T10:00:00.000+0000");
        assert_eq!(soql_datetime(at), "2024-01-01T10:00:00.000Z");
    }

    #[test]
    fn values_read_by_their_type_and_written_back_alike() {
        let cases = [
            (
                field("textarea", 32000),
                json!("line 1\nline 2"),
                FieldValue::RichText(RichText::Plain("line 1\nline 2".into())),
            ),
            (field("multipicklist", 4099), json!("a;b"), FieldValue::List(vec!["a".into(), "b".into()])),
            (field("picklist", 40), json!("High"), FieldValue::Text("High".into())),
            (field("boolean", 0), json!(true), FieldValue::Bool(true)),
            (field("double", 0), json!(2.5), FieldValue::Number(2.5)),
            (
                field("reference", 18),
                json!("005000000000001AAA"),
                FieldValue::User(UserRef { id: "005000000000001AAA".into(), email: None, display_name: None }),
            ),
        ];
        for (field, json, value) in cases {
            assert_eq!(read_value(&field, &json), value, "{}", field.kind);
            assert_eq!(write_value(&field, &value).unwrap(), json, "{}", field.kind);
        }
        assert_eq!(read_value(&field("string", 255), &Value::Null), FieldValue::Empty);
    }

    #[test]
    fn a_value_longer_than_its_field_is_refused_with_the_limit() {
        let subject = FieldDescribe { name: "Subject".into(), ..field("string", 5) };
        let error = write_value(&subject, &FieldValue::Text("ünïcödé".into())).unwrap_err();
        assert_eq!(error.to_string(), "Subject holds at most 5 characters; the value has 7");
        assert!(write_value(&subject, &FieldValue::Text("fünf!".into())).is_ok());
    }
}
