//! Issue security levels: the levels a project offers, the `security` field that names one, and how
//! Jira shows a level.

use super::error::ApiError;
use serde_json::{json, Value};

/// An issue security level of a project (`GET /project/{key}/securitylevel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSecurityLevel {
    pub id: String,
    pub name: String,
    pub description: String,
}

impl SimSecurityLevel {
    pub fn new(id: impl Into<String>, name: impl Into<String>, description: impl Into<String>) -> Self {
        SimSecurityLevel { id: id.into(), name: name.into(), description: description.into() }
    }

    /// The levels every project of the default configuration offers: "Internal" and "Confidential".
    pub fn defaults() -> Vec<SimSecurityLevel> {
        vec![
            SimSecurityLevel::new("10100", "Internal", "Staff only"),
            SimSecurityLevel::new("10101", "Confidential", "Named people only"),
        ]
    }
}

/// The level a `security` field value names: `{"id": …}` or `{"name": …}` (names in any case), `null`
/// for none; a level the project does not offer is refused as a field error.
pub(super) fn find(levels: &[SimSecurityLevel], value: &Value) -> Result<Option<SimSecurityLevel>, ApiError> {
    if value.is_null() {
        return Ok(None);
    }
    let id = match value.get("id") {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    };
    let name = value.get("name").and_then(Value::as_str);
    let found = levels.iter().find(|level| {
        id.as_deref().is_some_and(|id| id == level.id)
            || name.is_some_and(|name| name.eq_ignore_ascii_case(&level.name))
    });
    let wanted = id.or_else(|| name.map(str::to_string)).unwrap_or_else(|| value.to_string());
    found
        .cloned()
        .map(Some)
        .ok_or_else(|| ApiError::field("security", format!("Security level '{wanted}' is not valid for this project.")))
}

/// A level as the `security` field and the project's level list show it.
pub(super) fn level_json(base: &str, level: &SimSecurityLevel) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/securitylevel/{}", level.id),
        "id": level.id,
        "name": level.name,
        "description": level.description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_found_by_id_or_name_and_unknown_ones_refused() {
        let levels = SimSecurityLevel::defaults();
        assert_eq!(
            find(&levels, &json!({"id": "10101"})).unwrap().map(|level| level.name),
            Some("Confidential".into())
        );
        assert_eq!(find(&levels, &json!({"id": 10100})).unwrap().map(|level| level.name), Some("Internal".into()));
        assert_eq!(find(&levels, &json!({"name": "internal"})).unwrap().map(|level| level.id), Some("10100".into()));
        assert_eq!(find(&levels, &Value::Null).unwrap(), None);
        let refused = find(&levels, &json!({"name": "Secret"})).unwrap_err();
        assert!(refused.errors["security"].contains("Secret"), "{refused:?}");
    }
}
