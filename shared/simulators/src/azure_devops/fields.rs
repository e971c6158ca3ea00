//! The work item fields the simulator knows, and the rules Azure DevOps applies to their values.

use serde_json::Value;

use super::error::ApiError;
use super::identity::SimIdentity;

pub const ID: &str = "System.Id";
pub const REV: &str = "System.Rev";
pub const TITLE: &str = "System.Title";
pub const STATE: &str = "System.State";
pub const REASON: &str = "System.Reason";
pub const WORK_ITEM_TYPE: &str = "System.WorkItemType";
pub const TEAM_PROJECT: &str = "System.TeamProject";
pub const AREA_PATH: &str = "System.AreaPath";
pub const ITERATION_PATH: &str = "System.IterationPath";
pub const ASSIGNED_TO: &str = "System.AssignedTo";
pub const CREATED_DATE: &str = "System.CreatedDate";
pub const CREATED_BY: &str = "System.CreatedBy";
pub const CHANGED_DATE: &str = "System.ChangedDate";
pub const CHANGED_BY: &str = "System.ChangedBy";
pub const PRIORITY: &str = "Microsoft.VSTS.Common.Priority";
pub const SEVERITY: &str = "Microsoft.VSTS.Common.Severity";
pub const DESCRIPTION: &str = "System.Description";
pub const TAGS: &str = "System.Tags";
pub const HISTORY: &str = "System.History";
pub const COMMENT_COUNT: &str = "System.CommentCount";

/// The states every simulated work item type allows, in workflow order.
pub const STATES: [&str; 4] = ["New", "Active", "Resolved", "Closed"];

/// Severity values of the Agile and CMMI processes.
pub const SEVERITIES: [&str; 4] = ["1 - Critical", "2 - High", "3 - Medium", "4 - Low"];

/// How a field's value is kept and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Plain text up to 255 characters.
    String,
    /// HTML of any length.
    Html,
    Integer,
    DateTime,
    /// An identity; stored as the identity id, shown as an `IdentityRef`.
    Identity,
    TreePath,
}

/// One field definition: reference name, friendly name, kind, and whether only the service sets it.
#[derive(Debug, Clone, Copy)]
pub struct FieldDefinition {
    pub reference_name: &'static str,
    pub name: &'static str,
    pub kind: FieldKind,
    pub read_only: bool,
}

const fn field(reference_name: &'static str, name: &'static str, kind: FieldKind, read_only: bool) -> FieldDefinition {
    FieldDefinition { reference_name, name, kind, read_only }
}

pub const DEFINITIONS: &[FieldDefinition] = &[
    field(ID, "ID", FieldKind::Integer, true),
    field(REV, "Rev", FieldKind::Integer, true),
    field(TITLE, "Title", FieldKind::String, false),
    field(STATE, "State", FieldKind::String, false),
    field(REASON, "Reason", FieldKind::String, false),
    field(WORK_ITEM_TYPE, "Work Item Type", FieldKind::String, true),
    field(TEAM_PROJECT, "Team Project", FieldKind::String, true),
    field(AREA_PATH, "Area Path", FieldKind::TreePath, false),
    field(ITERATION_PATH, "Iteration Path", FieldKind::TreePath, false),
    field(ASSIGNED_TO, "Assigned To", FieldKind::Identity, false),
    field(CREATED_DATE, "Created Date", FieldKind::DateTime, true),
    field(CREATED_BY, "Created By", FieldKind::Identity, true),
    field(CHANGED_DATE, "Changed Date", FieldKind::DateTime, true),
    field(CHANGED_BY, "Changed By", FieldKind::Identity, true),
    field(PRIORITY, "Priority", FieldKind::Integer, false),
    field(SEVERITY, "Severity", FieldKind::String, false),
    field(DESCRIPTION, "Description", FieldKind::Html, false),
    field(TAGS, "Tags", FieldKind::String, false),
    field(HISTORY, "History", FieldKind::Html, false),
    field(COMMENT_COUNT, "Comment Count", FieldKind::Integer, true),
];

/// The definition of a field by reference name (case-insensitive, like the service).
pub fn definition(reference_name: &str) -> Option<&'static FieldDefinition> {
    DEFINITIONS.iter().find(|definition| definition.reference_name.eq_ignore_ascii_case(reference_name))
}

/// Checks and normalises a value written to a field: what the service would store, or its refusal.
/// `project` is the work item's project (area and iteration paths must lie inside it).
pub fn validate(
    definition: &FieldDefinition,
    value: &Value,
    project: &str,
    identities: &[SimIdentity],
) -> Result<Value, ApiError> {
    if definition.read_only {
        return Err(ApiError::rule(definition.name, "ReadOnly"));
    }
    let invalid = || ApiError::rule(definition.name, "InvalidType");
    let text = || match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(invalid()),
    };
    match definition.kind {
        FieldKind::Integer => {
            let number = match value {
                Value::Number(number) => number.as_i64(),
                Value::String(text) => text.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(invalid)?;
            if definition.reference_name == PRIORITY && !(1..=4).contains(&number) {
                return Err(ApiError::rule(definition.name, "LimitedToValues, AllowsOldValue, InvalidListValue"));
            }
            Ok(Value::from(number))
        }
        FieldKind::Identity => {
            let text = text()?;
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            identities
                .iter()
                .find(|identity| identity.is_named_by(&text))
                .map(|identity| Value::String(identity.id.to_string()))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "WorkItemFieldInvalidIdentityException",
                        format!("The identity value '{text}' for field '{}' is an unknown identity.", definition.name),
                    )
                })
        }
        FieldKind::TreePath => {
            let path = text()?;
            let inside = path == project || path.starts_with(&format!("{project}\\"));
            if inside {
                Ok(Value::String(path))
            } else {
                Err(ApiError::rule(definition.name, "InvalidTreePath"))
            }
        }
        FieldKind::Html => Ok(Value::String(text()?)),
        FieldKind::DateTime => Err(invalid()),
        FieldKind::String => {
            let text = text()?;
            match definition.reference_name {
                TITLE if text.trim().is_empty() => Err(ApiError::rule(definition.name, "Required, InvalidEmpty")),
                STATE if !STATES.contains(&text.as_str()) => {
                    Err(ApiError::rule(definition.name, "InvalidListValue, LimitedToValues, AllowsOldValue"))
                }
                SEVERITY if !SEVERITIES.contains(&text.as_str()) => {
                    Err(ApiError::rule(definition.name, "InvalidListValue, LimitedToValues, AllowsOldValue"))
                }
                TAGS => Ok(Value::String(normalise_tags(&text))),
                _ if text.chars().count() > 255 => Err(ApiError::rule(definition.name, "InvalidTooLong")),
                _ => Ok(Value::String(text)),
            }
        }
    }
}

/// Tags are kept as Azure DevOps shows them: trimmed, without empties, joined by `"; "`.
fn normalise_tags(text: &str) -> String {
    text.split(';').map(str::trim).filter(|tag| !tag.is_empty()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_devops::identity::SimUser;
    use serde_json::json;

    fn check(reference_name: &str, value: Value) -> Result<Value, ApiError> {
        let alice = SimIdentity::new(SimUser::new("Alice", "alice@example.com", "pat"));
        validate(definition(reference_name).expect("known field"), &value, "Fabrikam", &[alice])
    }

    #[test]
    fn states_and_priorities_outside_the_rules_are_refused_with_tf401320() {
        let refused = check(STATE, json!("Doing")).unwrap_err();
        assert!(refused.message.starts_with("TF401320: Rule Error for field State."), "{}", refused.message);
        assert_eq!(check(STATE, json!("Active")).unwrap(), json!("Active"));
        assert!(check(PRIORITY, json!(5)).is_err());
        assert_eq!(check(PRIORITY, json!("3")).unwrap(), json!(3));
    }

    #[test]
    fn identities_resolve_by_email_and_unknown_ones_are_refused() {
        assert!(check(ASSIGNED_TO, json!("Alice <alice@example.com>")).unwrap().is_string());
        assert_eq!(check(ASSIGNED_TO, json!("")).unwrap(), Value::Null);
        let refused = check(ASSIGNED_TO, json!("nobody@example.com")).unwrap_err();
        assert!(refused.message.contains("unknown identity"));
    }

    #[test]
    fn tags_are_normalised_and_read_only_fields_refused() {
        assert_eq!(check(TAGS, json!(" a ;b;; c ")).unwrap(), json!("a; b; c"));
        assert!(check(CHANGED_DATE, json!("2024-01-01T00:00:00Z")).is_err());
        assert!(check(AREA_PATH, json!("Other\\Team")).is_err());
        assert_eq!(check(AREA_PATH, json!("Fabrikam\\Web")).unwrap(), json!("Fabrikam\\Web"));
    }
}
