//! The work item fields the simulator knows, and the rules Azure DevOps applies to their values.

use serde_json::Value;

use super::error::ApiError;
use super::patch::PatchContext;

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

/// A field by reference name or friendly name (`System.AssignedTo` or `Assigned To`), as the fields API
/// takes either.
pub fn by_either_name(name: &str) -> Option<&'static FieldDefinition> {
    definition(name).or_else(|| DEFINITIONS.iter().find(|definition| definition.name.eq_ignore_ascii_case(name)))
}

/// The field's `type` as the fields API shows it; identity fields are strings marked `isIdentity`
/// (as in the vendor's example).
pub fn wire_type(definition: &FieldDefinition) -> &'static str {
    match (definition.reference_name, definition.kind) {
        (TAGS, _) => "plainText",
        (HISTORY, _) => "history",
        (_, FieldKind::String | FieldKind::Identity) => "string",
        (_, FieldKind::Html) => "html",
        (_, FieldKind::Integer) => "integer",
        (_, FieldKind::DateTime) => "dateTime",
        (_, FieldKind::TreePath) => "treePath",
    }
}

/// The WIQL operators a field of this `type` supports, as `(reference name suffix, friendly name)`.
pub fn supported_operations(wire_type: &str) -> &'static [(&'static str, &'static str)] {
    const COMPARISONS: &[(&str, &str)] = &[
        ("Equals", "="),
        ("NotEquals", "<>"),
        ("GreaterThan", ">"),
        ("LessThan", "<"),
        ("GreaterThanEquals", ">="),
        ("LessThanEquals", "<="),
        ("In", "In"),
        ("EqualsField", "= [Field]"),
        ("NotEqualsField", "<> [Field]"),
        ("GreaterThanField", "> [Field]"),
        ("LessThanField", "< [Field]"),
        ("GreaterThanEqualsField", ">= [Field]"),
        ("LessThanEqualsField", "<= [Field]"),
    ];
    const STRINGS: &[(&str, &str)] = &[
        ("Equals", "="),
        ("NotEquals", "<>"),
        ("GreaterThan", ">"),
        ("LessThan", "<"),
        ("GreaterThanEquals", ">="),
        ("LessThanEquals", "<="),
        ("Contains", "Contains"),
        ("NotContains", "Does Not Contain"),
        ("In", "In"),
        ("InGroup", "In Group"),
        ("NotInGroup", "Not In Group"),
        ("Ever", "Was Ever"),
        ("EqualsField", "= [Field]"),
        ("NotEqualsField", "<> [Field]"),
        ("GreaterThanField", "> [Field]"),
        ("LessThanField", "< [Field]"),
        ("GreaterThanEqualsField", ">= [Field]"),
        ("LessThanEqualsField", "<= [Field]"),
    ];
    const TREE_PATHS: &[(&str, &str)] =
        &[("Under", "Under"), ("NotUnder", "Not Under"), ("Equals", "="), ("NotEquals", "<>"), ("In", "In")];
    const TEXTS: &[(&str, &str)] = &[("Contains", "Contains"), ("NotContains", "Does Not Contain")];
    match wire_type {
        "string" => STRINGS,
        "treePath" => TREE_PATHS,
        "plainText" | "html" | "history" => TEXTS,
        _ => COMPARISONS,
    }
}

/// Checks and normalises a value written to a field: what the service would store, or its refusal.
/// Area and iteration paths must lie inside the work item's project.
pub fn validate(definition: &FieldDefinition, value: &Value, context: &PatchContext<'_>) -> Result<Value, ApiError> {
    let project = context.project;
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
        FieldKind::Identity => identity_value(definition, value, context),
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

/// An identity field takes a person as text (`Name <e-mail>`, the e-mail, the display name or the id) or
/// as the `IdentityRef` the service itself answers with (found by its `id`, `uniqueName` or
/// `descriptor`), and keeps the person's id. Text naming no one is refused, unless `bypassRules` asks to
/// keep it as written (the vendor's bypassRules example stores "Invalid Value" so).
fn identity_value(definition: &FieldDefinition, value: &Value, context: &PatchContext<'_>) -> Result<Value, ApiError> {
    let (found, text) = match value {
        Value::String(text) => {
            (context.identities.iter().find(|identity| identity.is_named_by(text)), text.trim().to_string())
        }
        Value::Object(reference) => {
            let named = |key: &str| reference.get(key).and_then(Value::as_str).map(str::trim);
            let found = context.identities.iter().find(|identity| {
                named("id").is_some_and(|id| id.eq_ignore_ascii_case(&identity.id.to_string()))
                    || named("uniqueName").is_some_and(|name| identity.is_named_by(name))
                    || named("descriptor").is_some_and(|descriptor| descriptor == identity.descriptor())
            });
            let text = ["uniqueName", "displayName", "id", "descriptor"]
                .into_iter()
                .find_map(|key| named(key).filter(|text| !text.is_empty()))
                .unwrap_or_default()
                .to_string();
            (found, text)
        }
        Value::Null => return Ok(Value::Null),
        _ => return Err(ApiError::rule(definition.name, "InvalidType")),
    };
    match found {
        Some(identity) => Ok(Value::String(identity.id.to_string())),
        None if text.is_empty() => Ok(Value::Null),
        None if context.bypass_rules => Ok(Value::String(text)),
        None => Err(ApiError::bad_request(
            "WorkItemFieldInvalidIdentityException",
            format!("The identity value '{text}' for field '{}' is an unknown identity.", definition.name),
        )),
    }
}

/// Tags are kept as Azure DevOps shows them: trimmed, without empties, joined by `"; "`.
fn normalise_tags(text: &str) -> String {
    text.split(';').map(str::trim).filter(|tag| !tag.is_empty()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_devops::identity::{SimIdentity, SimUser};
    use serde_json::json;

    fn check(reference_name: &str, value: Value) -> Result<Value, ApiError> {
        let alice = SimIdentity::new(SimUser::new("Alice", "alice@example.com", "pat"));
        let attachments = std::collections::BTreeMap::new();
        let context = PatchContext {
            rev: 1,
            project: "Fabrikam",
            identities: std::slice::from_ref(&alice),
            attachments: &attachments,
            bypass_rules: false,
        };
        validate(definition(reference_name).expect("known field"), &value, &context)
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
