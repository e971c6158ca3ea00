//! Translation of OpenAPI 3.0's `nullable: true` into plain JSON Schema.
//!
//! JSON Schema validators do not know `nullable`, so without this a spec-conformant `null` (Jira
//! and GitHub send many) would be reported as a violation.

use serde_json::{Map, Value};

/// Keywords that describe a schema without constraining values.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "externalDocs",
    "xml",
    "discriminator",
];

/// Rewrites every schema object in an OpenAPI 3 document that carries `nullable: true`.
pub(crate) fn translate(document: &mut Value) {
    walk(document, Position::Plain);
}

/// Where an object sits, which decides how its keys and `nullable` are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    Plain,
    /// A member of `oneOf`/`anyOf`.
    Alternative,
    /// A map from names to schemas (`properties`, `schemas`, …): every key is a name, even
    /// `example`.
    NamedSchemas,
}

fn walk(value: &mut Value, position: Position) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                // Examples are data, not schemas: a `nullable` key in them must stay as written.
                if position != Position::NamedSchemas && (key == "example" || key == "examples") {
                    continue;
                }
                match (key.as_str(), child) {
                    ("oneOf" | "anyOf", Value::Array(items)) => {
                        items.iter_mut().for_each(|item| walk(item, Position::Alternative));
                    }
                    ("properties" | "patternProperties" | "schemas" | "definitions", child) => {
                        walk(child, Position::NamedSchemas)
                    }
                    (_, child) => walk(child, Position::Plain),
                }
            }
            if position != Position::NamedSchemas && object.get("nullable") == Some(&Value::Bool(true)) {
                object.remove("nullable");
                let translated = allow_null(std::mem::take(object), position == Position::Alternative);
                *value = translated;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| walk(item, Position::Plain)),
        _ => {}
    }
}

fn allow_null(mut schema: Map<String, Value>, is_alternative: bool) -> Value {
    if let Some(kind) = schema.get_mut("type") {
        if let Value::String(name) = kind {
            *kind = Value::Array(vec![Value::String(name.clone()), "null".into()]);
        }
        if let Some(Value::Array(allowed)) = schema.get_mut("enum") {
            if !allowed.contains(&Value::Null) {
                allowed.push(Value::Null);
            }
        }
        return Value::Object(schema);
    }
    let constrains = schema.keys().any(|key| !ANNOTATIONS.contains(&key.as_str()) && !key.starts_with("x-"));
    if !constrains && is_alternative {
        // A bare `{nullable: true}` among `oneOf` alternatives is the vendor's way of writing "or
        // null"; read literally it accepts everything and makes every `oneOf` fail.
        let mut null = Map::new();
        null.insert("type".into(), "null".into());
        return Value::Object(null);
    }
    if !constrains {
        return Value::Object(schema);
    }
    // Without a `type`, the constraint sits in `$ref`/`allOf`/`oneOf`/…: allow null beside it.
    let mut wrapper = Map::new();
    wrapper.insert("anyOf".into(), Value::Array(vec![serde_json::json!({"type": "null"}), Value::Object(schema)]));
    Value::Object(wrapper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn translated(mut schema: Value) -> Value {
        translate(&mut schema);
        schema
    }

    #[test]
    fn a_typed_schema_gains_null_as_a_type() {
        assert_eq!(translated(json!({"type": "string", "nullable": true})), json!({"type": ["string", "null"]}));
    }

    #[test]
    fn an_enum_gains_null_as_a_value() {
        assert_eq!(
            translated(json!({"type": "string", "enum": ["a"], "nullable": true})),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn a_reference_is_wrapped_in_any_of() {
        assert_eq!(
            translated(json!({"allOf": [{"$ref": "#/x"}], "nullable": true})),
            json!({"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "#/x"}]}]})
        );
    }

    #[test]
    fn a_bare_nullable_alternative_means_null() {
        assert_eq!(
            translated(json!({"oneOf": [{"type": "integer"}, {"nullable": true}]})),
            json!({"oneOf": [{"type": "integer"}, {"type": "null"}]})
        );
    }

    #[test]
    fn nested_schemas_are_translated_and_examples_left_alone() {
        assert_eq!(
            translated(json!({
                "properties": {"a": {"type": "integer", "nullable": true}},
                "example": {"nullable": true}
            })),
            json!({
                "properties": {"a": {"type": ["integer", "null"]}},
                "example": {"nullable": true}
            })
        );
    }
}
