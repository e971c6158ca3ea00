//! Checking a query or path parameter's text against its declared type and allowed values.
//!
//! Parameters arrive as text, so only what can be told from text is checked: integers, numbers,
//! booleans, enums, and each item of comma-separated arrays.

use serde_json::Value;

use crate::description::Description;
use crate::route::PathMatching;

/// Why `value` does not fit `schema`, or `None` when it does (or the schema says nothing checkable).
pub(crate) fn misfit(description: &Description, schema: &Value, value: &str, matching: PathMatching) -> Option<String> {
    let schema = resolve(description, schema)?;
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        let items = schema.get("items")?;
        return value.split(',').find_map(|item| misfit(description, items, item, matching));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        let listed = allowed.iter().any(|candidate| match candidate {
            Value::String(text) => matching.same(text, value),
            Value::Null => false,
            other => serde_json::from_str::<Value>(value).is_ok_and(|sent| sent == *other),
        });
        if !listed {
            let names: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return Some(format!("{value:?} is not one of {}", names.join(", ")));
        }
    }
    let fits = match type_names(schema).as_slice() {
        [] => true,
        names => names.iter().any(|name| fits_type(name, value, matching)),
    };
    (!fits).then(|| format!("{value:?} is not of type {}", type_names(schema).join(" or ")))
}

fn resolve<'d>(description: &'d Description, schema: &'d Value) -> Option<&'d Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#')?;
            description.follow(pointer).map(|(_, schema)| schema)
        }
        None => Some(schema),
    }
}

fn type_names(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn fits_type(name: &str, value: &str, matching: PathMatching) -> bool {
    match name {
        "integer" => value.parse::<i64>().is_ok(),
        "number" => value.parse::<f64>().is_ok_and(f64::is_finite),
        "boolean" => ["true", "false"].iter().any(|literal| matching.same(literal, value)),
        // `null` cannot be told apart in text; strings, objects and files take any text.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::contracts_dir;
    use serde_json::json;

    fn description() -> Description {
        let path = contracts_dir().expect("contracts folder").join("azure-devops/ims-7.1-identities.json");
        Description::load(&path, "https://contracts.invalid/ims.json".into()).expect("loads")
    }

    #[test]
    fn integers_booleans_and_enums_are_checked() {
        let description = description();
        let sensitive = PathMatching::CaseSensitive;
        let integer = json!({"type": "integer"});
        assert_eq!(misfit(&description, &integer, "50", sensitive), None);
        assert!(misfit(&description, &integer, "fifty", sensitive).is_some());
        let boolean = json!({"type": "boolean"});
        assert_eq!(misfit(&description, &boolean, "true", sensitive), None);
        assert!(misfit(&description, &boolean, "yes", sensitive).is_some());
        let expand = json!({"type": "string", "enum": ["none", "all"]});
        assert_eq!(misfit(&description, &expand, "all", sensitive), None);
        assert!(misfit(&description, &expand, "All", sensitive).is_some());
        assert_eq!(misfit(&description, &expand, "All", PathMatching::CaseInsensitive), None);
    }

    #[test]
    fn each_item_of_an_array_is_checked() {
        let description = description();
        let ids = json!({"type": "array", "items": {"type": "integer"}});
        let sensitive = PathMatching::CaseSensitive;
        assert_eq!(misfit(&description, &ids, "1,2,3", sensitive), None);
        assert!(misfit(&description, &ids, "1,x", sensitive).is_some());
    }
}
