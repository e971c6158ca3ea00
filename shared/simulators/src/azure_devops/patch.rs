//! JSON Patch documents applied to a work item, as Azure DevOps interprets them.

use axum::http::{StatusCode, Uri};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

use super::error::ApiError;
use super::fields::{self, FieldKind};
use super::identity::SimIdentity;
use super::state::StoredAttachment;
use uuid::Uuid;

/// One operation of a JSON Patch document (`application/json-patch+json`).
#[derive(Debug, Clone, Deserialize)]
pub struct PatchOperation {
    pub op: String,
    pub path: String,
    #[serde(default)]
    pub value: Option<Value>,
}

/// The parts of a work item a patch can change.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub fields: BTreeMap<String, Value>,
    pub relations: Vec<Value>,
}

/// What a patch is applied against: the current revision and who may be named in identity fields.
pub struct PatchContext<'a> {
    pub rev: u32,
    pub project: &'a str,
    pub identities: &'a [SimIdentity],
    /// What an `AttachedFile` relation may point at.
    pub attachments: &'a BTreeMap<Uuid, StoredAttachment>,
    /// `bypassRules=true`: keep values the work item type's rules would refuse.
    pub bypass_rules: bool,
}

/// Whether `operation` sets the field `reference_name` (`add` or `replace` of `/fields/{name}`).
pub fn is_field(operation: &PatchOperation, reference_name: &str) -> bool {
    let sets = operation.op.eq_ignore_ascii_case("add") || operation.op.eq_ignore_ascii_case("replace");
    sets && strip_prefix_ignore_case(&operation.path, "/fields/")
        .is_some_and(|name| name.eq_ignore_ascii_case(reference_name))
}

/// Splits an update's operations into those that move the work item — to another project
/// (`System.TeamProject`) or type (`System.WorkItemType`), which the service allows on an update though
/// neither field can be written otherwise — and the rest.
pub fn split_moves(operations: &[PatchOperation]) -> (Vec<PatchOperation>, Vec<PatchOperation>) {
    operations
        .iter()
        .cloned()
        .partition(|operation| is_field(operation, fields::TEAM_PROJECT) || is_field(operation, fields::WORK_ITEM_TYPE))
}

/// Parses a request body as a JSON Patch document.
pub fn parse(body: &Value) -> Result<Vec<PatchOperation>, ApiError> {
    let operations: Vec<PatchOperation> = serde_json::from_value(body.clone()).map_err(|error| {
        ApiError::bad_request(
            "VssPropertyValidationException",
            format!("You must pass a valid patch document in the body of the request: {error}"),
        )
    })?;
    if operations.is_empty() {
        return Err(ApiError::bad_request(
            "VssPropertyValidationException",
            "You must pass a valid patch document in the body of the request.",
        ));
    }
    Ok(operations)
}

/// Applies every operation in order; the first refusal aborts the whole document, like the service.
pub fn apply(draft: &mut Draft, operations: &[PatchOperation], context: &PatchContext<'_>) -> Result<(), ApiError> {
    for operation in operations {
        apply_one(draft, operation, context)?;
    }
    Ok(())
}

fn apply_one(draft: &mut Draft, operation: &PatchOperation, context: &PatchContext<'_>) -> Result<(), ApiError> {
    let op = operation.op.to_ascii_lowercase();
    if operation.path.eq_ignore_ascii_case("/rev") {
        return match op.as_str() {
            "test" => test_rev(operation.value.as_ref(), context.rev),
            _ => Err(invalid_path(&operation.path)),
        };
    }
    if let Some(reference_name) = strip_prefix_ignore_case(&operation.path, "/fields/") {
        let definition = fields::definition(reference_name).ok_or_else(|| ApiError::unknown_field(reference_name))?;
        let key = definition.reference_name.to_string();
        return match op.as_str() {
            "add" | "replace" => {
                let value = operation.value.as_ref().ok_or_else(|| missing_value(&operation.path))?;
                let stored = fields::validate(definition, value, context)?;
                if stored.is_null() {
                    draft.fields.remove(&key);
                } else {
                    draft.fields.insert(key, stored);
                }
                Ok(())
            }
            "remove" if definition.read_only => Err(ApiError::rule(definition.name, "ReadOnly")),
            "remove" if definition.reference_name == fields::TITLE || definition.reference_name == fields::STATE => {
                Err(ApiError::rule(definition.name, "Required, InvalidEmpty"))
            }
            "remove" => {
                draft.fields.remove(&key);
                Ok(())
            }
            "test" => {
                let expected = operation.value.as_ref().ok_or_else(|| missing_value(&operation.path))?;
                test_field(definition, draft.fields.get(&key), expected, context.identities)
            }
            _ => Err(unsupported(&op)),
        };
    }
    if let Some(position) = strip_prefix_ignore_case(&operation.path, "/relations/") {
        if let Some((index, name)) = position.split_once('/') {
            return apply_to_attribute(draft, operation, &op, index, name);
        }
        return match op.as_str() {
            "add" => {
                let mut relation = operation.value.clone().ok_or_else(|| missing_value(&operation.path))?;
                check_relation(&relation)?;
                describe_attached_file(&mut relation, context.attachments)?;
                draft.relations.push(relation);
                Ok(())
            }
            "remove" => {
                let index = relation_index(draft, position, &operation.path)?;
                draft.relations.remove(index);
                Ok(())
            }
            _ => Err(unsupported(&op)),
        };
    }
    Err(invalid_path(&operation.path))
}

/// The index of an existing relation, as the path names it.
fn relation_index(draft: &Draft, position: &str, path: &str) -> Result<usize, ApiError> {
    position.parse::<usize>().ok().filter(|index| *index < draft.relations.len()).ok_or_else(|| invalid_path(path))
}

/// `/relations/{n}/attributes/{name}`: sets (`add`, `replace`) or clears (`remove`) one attribute of an
/// existing relation, such as its `comment` (the vendor's example edits a link's comment so).
fn apply_to_attribute(
    draft: &mut Draft,
    operation: &PatchOperation,
    op: &str,
    position: &str,
    rest: &str,
) -> Result<(), ApiError> {
    let name = strip_prefix_ignore_case(rest, "attributes/")
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .ok_or_else(|| invalid_path(&operation.path))?;
    let index = relation_index(draft, position, &operation.path)?;
    let relation = draft.relations[index].as_object_mut().ok_or_else(|| invalid_path(&operation.path))?;
    let attributes = relation.entry("attributes").or_insert_with(|| Value::Object(Default::default()));
    let attributes = attributes.as_object_mut().ok_or_else(|| invalid_path(&operation.path))?;
    match op {
        "add" | "replace" => {
            let value = operation.value.clone().ok_or_else(|| missing_value(&operation.path))?;
            attributes.insert(name.to_string(), value);
        }
        "remove" => {
            attributes.remove(name);
        }
        _ => return Err(unsupported(op)),
    }
    Ok(())
}

/// An `AttachedFile` relation must point at an uploaded attachment; the service adds the file's name and
/// size to its attributes.
fn describe_attached_file(
    relation: &mut Value,
    attachments: &BTreeMap<Uuid, StoredAttachment>,
) -> Result<(), ApiError> {
    if relation.get("rel").and_then(Value::as_str) != Some("AttachedFile") {
        return Ok(());
    }
    let url = relation.get("url").and_then(Value::as_str).unwrap_or_default();
    let id = url.split('?').next().and_then(|path| path.rsplit('/').next()).and_then(|id| Uuid::parse_str(id).ok());
    let Some(attachment) = id.and_then(|id| attachments.get(&id)) else {
        return Err(ApiError::bad_request(
            "WorkItemLinkInvalidException",
            format!(
                "TF401031: The attachment at {url} was not found: upload it first with POST _apis/wit/attachments."
            ),
        ));
    };
    let attributes = relation.as_object_mut().and_then(|relation| {
        relation.entry("attributes").or_insert_with(|| Value::Object(Default::default())).as_object_mut()
    });
    if let Some(attributes) = attributes {
        attributes.insert("name".into(), Value::String(attachment.file_name.clone()));
        attributes.insert("resourceSize".into(), Value::from(attachment.content.len()));
    }
    Ok(())
}

/// A relation is `{rel, url, attributes?}`; the service refuses a link whose URL is not absolute (a
/// hyperlink to `example.com` without a scheme, say) and attributes that are not an object.
fn check_relation(relation: &Value) -> Result<(), ApiError> {
    let invalid = |message: String| ApiError::bad_request("WorkItemLinkInvalidException", message);
    let (Some(_), Some(url)) =
        (relation.get("rel").and_then(Value::as_str), relation.get("url").and_then(Value::as_str))
    else {
        return Err(invalid("A relation needs `rel` and `url` strings.".into()));
    };
    let absolute = url.parse::<Uri>().is_ok_and(|uri| uri.scheme().is_some() && uri.authority().is_some());
    if !absolute {
        return Err(invalid(format!("The relation URL `{url}` is not a valid absolute URL.")));
    }
    if relation.get("attributes").is_some_and(|attributes| !attributes.is_object()) {
        return Err(invalid("A relation's `attributes` must be an object.".into()));
    }
    Ok(())
}

fn test_rev(expected: Option<&Value>, rev: u32) -> Result<(), ApiError> {
    let expected = expected.and_then(|value| match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    });
    if expected == Some(u64::from(rev)) {
        Ok(())
    } else {
        Err(changed_by_someone_else())
    }
}

fn test_field(
    definition: &fields::FieldDefinition,
    current: Option<&Value>,
    expected: &Value,
    identities: &[SimIdentity],
) -> Result<(), ApiError> {
    let matches = match (definition.kind, current) {
        (FieldKind::Identity, Some(Value::String(id))) => identities
            .iter()
            .find(|identity| identity.id.to_string() == *id)
            .zip(expected.as_str())
            .is_some_and(|(identity, text)| identity.is_named_by(text)),
        (_, Some(current)) => {
            current == expected || current.to_string().trim_matches('"') == expected.to_string().trim_matches('"')
        }
        (_, None) => expected.is_null() || expected.as_str() == Some(""),
    };
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "WorkItemTestOperationFailedException",
            format!("The test operation for field {} failed: the current value differs.", definition.reference_name),
        ))
    }
}

fn changed_by_someone_else() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "WorkItemRevisionMismatchException",
        "TF26071: This work item has been changed by someone else since you opened it. You will need to refresh it and discard your changes.",
    )
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn invalid_path(path: &str) -> ApiError {
    ApiError::bad_request("VssPropertyValidationException", format!("The path `{path}` is not valid for a work item."))
}

fn missing_value(path: &str) -> ApiError {
    ApiError::bad_request("VssPropertyValidationException", format!("The operation on `{path}` needs a value."))
}

fn unsupported(op: &str) -> ApiError {
    ApiError::bad_request("VssPropertyValidationException", format!("The operation `{op}` is not supported here."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_devops::identity::SimUser;
    use serde_json::json;

    fn run(draft: &mut Draft, body: Value) -> Result<(), ApiError> {
        let alice = SimIdentity::new(SimUser::new("Alice", "alice@example.com", "pat"));
        let attachments = BTreeMap::new();
        let context = PatchContext {
            rev: 3,
            project: "Fabrikam",
            identities: std::slice::from_ref(&alice),
            attachments: &attachments,
            bypass_rules: false,
        };
        apply(draft, &parse(&body)?, &context)
    }

    fn empty() -> Draft {
        Draft { fields: BTreeMap::new(), relations: Vec::new() }
    }

    #[test]
    fn adds_replaces_and_removes_fields() {
        let mut draft = empty();
        run(
            &mut draft,
            json!([
                {"op": "add", "path": "/fields/System.Title", "value": "First"},
                {"op": "replace", "path": "/fields/system.title", "value": "Second"},
                {"op": "add", "path": "/fields/System.Tags", "value": "x"},
                {"op": "remove", "path": "/fields/System.Tags"},
                {"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": "https://example.com"}},
            ]),
        )
        .unwrap();
        assert_eq!(draft.fields, BTreeMap::from([(fields::TITLE.to_string(), json!("Second"))]));
        assert_eq!(draft.relations.len(), 1);
    }

    #[test]
    fn relations_need_an_absolute_url_and_object_attributes() {
        let hyperlink = |url: &str, attributes: Value| json!([{"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": url, "attributes": attributes}}]);
        let mut draft = empty();
        run(&mut draft, hyperlink("https://tandem.invalid/origin/a/1/X-1", json!({"comment": "tandem:a:1:X-1"})))
            .unwrap();
        assert_eq!(draft.relations[0]["attributes"]["comment"], "tandem:a:1:X-1");
        for refused in [hyperlink("example.com/x", json!({})), hyperlink("https://x.example", json!("comment"))] {
            let error = run(&mut empty(), refused).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{}", error.message);
        }
        let missing_url = json!([{"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink"}}]);
        assert!(run(&mut empty(), missing_url).is_err());
    }

    #[test]
    fn a_stale_rev_test_fails_with_tf26071_and_412() {
        let refused = run(&mut empty(), json!([{"op": "test", "path": "/rev", "value": 2}])).unwrap_err();
        assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
        assert!(refused.message.starts_with("TF26071"));
        run(&mut empty(), json!([{"op": "test", "path": "/rev", "value": 3}])).unwrap();
    }

    #[test]
    fn unknown_fields_and_malformed_documents_are_refused() {
        let refused = run(&mut empty(), json!([{"op": "add", "path": "/fields/Custom.Nope", "value": 1}])).unwrap_err();
        assert!(refused.message.starts_with("TF51535"));
        assert!(run(&mut empty(), json!({"op": "add"})).is_err());
        assert!(run(&mut empty(), json!([])).is_err());
    }
}
