//! Corrections where a vendor's description disagrees with what its service does on the wire.
//!
//! Each correction is keyed on the exact name the vendor uses, so it does nothing to other files,
//! and each makes the description describe the real service more precisely, never accept more
//! than the service would.

use std::sync::LazyLock;

use jsonschema::{Draft, Validator};
use regex::Regex;
use serde_json::{json, Map, Value};

use crate::description::{escape, Description};
use crate::path_key::{PathKey, Section};

pub(crate) fn apply(document: &mut Value) {
    if is_jira(document) {
        remote_links_listed(document);
        unassign_with_null(document);
    }
    if !is_azure_devops(document) {
        return;
    }
    if let Some(definitions) = document.get_mut("definitions") {
        json_patch_document(definitions);
        any_dotnet_object(definitions);
    }
    for responses in operation_responses(document) {
        wrap_collections(responses);
        declare_error_classes(responses);
    }
    pin_api_versions(document);
}

/// `GET …/issue/{issueIdOrKey}/remotelink` is declared to answer one `RemoteIssueLink`, but answers
/// the issue's links as an array, as the operation's own example and description show ("otherwise all
/// remote issue links are returned"); one link only when a `globalId` is asked for.
fn remote_links_listed(document: &mut Value) {
    let pointer =
        "/paths/~1rest~1api~13~1issue~1{issueIdOrKey}~1remotelink/get/responses/200/content/application~1json/schema";
    if let Some(schema) = document.pointer_mut(pointer) {
        let one = schema.clone();
        *schema = json!({ "anyOf": [one.clone(), { "type": "array", "items": one }] });
    }
}

/// `PUT …/issue/{issueIdOrKey}/assignee` takes a `User` whose `accountId` is declared a string, but the
/// operation's own description says `"accountId": null` unassigns the issue (and `"-1"` picks the
/// default assignee): the body's `accountId` may be null, there and nowhere else.
fn unassign_with_null(document: &mut Value) {
    let pointer =
        "/paths/~1rest~1api~13~1issue~1{issueIdOrKey}~1assignee/put/requestBody/content/application~1json/schema";
    if let Some(schema) = document.pointer_mut(pointer) {
        let user = schema.clone();
        let unassign = json!({
            "type": "object",
            "properties": { "accountId": { "type": "null" } },
            "required": ["accountId"]
        });
        *schema = json!({ "anyOf": [user, unassign] });
    }
}

/// A string format the validator checks differently for one vendor's description.
pub(crate) type FormatCheck = fn(&str) -> bool;

/// Formats to check in place of the validator's own, for schemas inside `document`.
pub(crate) fn formats(document: &Value) -> Vec<(&'static str, FormatCheck)> {
    if is_jira(document) {
        vec![("date-time", jira_date_time)]
    } else {
        Vec::new()
    }
}

/// Atlassian's OpenAPI 3 files, whose servers are a site under `atlassian.net`.
fn is_jira(document: &Value) -> bool {
    document.get("openapi").and_then(Value::as_str).is_some_and(|version| version.starts_with("3."))
        && document.get("servers").and_then(Value::as_array).is_some_and(|servers| {
            servers
                .iter()
                .filter_map(|server| server.get("url").and_then(Value::as_str))
                .any(|url| url.trim_end_matches('/').ends_with(".atlassian.net"))
        })
}

/// Jira declares its timestamps (`Comment.created`, …) as RFC 3339 `date-time`, but sends and
/// exemplifies Java's `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (`2024-01-31T10:20:30.123+0000`), whose offset
/// has no colon. Accept RFC 3339 or exactly that form, with the same range checks on both.
fn jira_date_time(value: &str) -> bool {
    static JIRA_FORM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2})(\d{2})$")
            .expect("a constant pattern compiles")
    });
    if rfc3339(value) {
        return true;
    }
    JIRA_FORM.captures(value).is_some_and(|parts| rfc3339(&format!("{}:{}", &parts[1], &parts[2])))
}

/// The validator's own `date-time` check, so a Jira timestamp meets the same calendar and clock
/// ranges as any RFC 3339 one.
fn rfc3339(value: &str) -> bool {
    static DATE_TIME: LazyLock<Validator> = LazyLock::new(|| {
        jsonschema::options()
            .with_draft(Draft::Draft4)
            .should_validate_formats(true)
            .build(&json!({"format": "date-time"}))
            .expect("a constant schema compiles")
    });
    DATE_TIME.is_valid(&Value::String(value.to_owned()))
}

/// Microsoft's generated Swagger 2 files, served from `dev.azure.com` or `vssps.dev.azure.com`.
fn is_azure_devops(document: &Value) -> bool {
    document.get("swagger").and_then(Value::as_str) == Some("2.0")
        && document
            .get("host")
            .and_then(Value::as_str)
            .is_some_and(|host| host == "dev.azure.com" || host.ends_with(".dev.azure.com"))
}

/// Azure DevOps declares `JsonPatchDocument` as an object with an `allOf` holding an array, which
/// no value satisfies; the service takes a JSON array of operations, each with `op` and `path`.
fn json_patch_document(definitions: &mut Value) {
    if let Some(document) = definitions.get_mut("JsonPatchDocument") {
        let description = document.get("description").cloned();
        *document = json!({
            "type": "array",
            "items": {"$ref": "#/definitions/JsonPatchOperation"},
        });
        if let Some(description) = description {
            document["description"] = description;
        }
    }
    if let Some(operation) = definitions.get_mut("JsonPatchOperation") {
        operation["required"] = json!(["op", "path"]);
    }
}

/// Microsoft's generator writes a .NET `object` (a field value, `JsonPatchOperation.value`,
/// `oldValue`/`newValue`) as a bare `{"type": "object"}`, though it carries strings, numbers and
/// arrays on the wire: such a schema constrains nothing, so drop its `type`.
fn any_dotnet_object(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let is_bare_object = object.get("type").and_then(Value::as_str) == Some("object")
                && !["properties", "additionalProperties", "allOf", "$ref", "items"]
                    .iter()
                    .any(|key| object.contains_key(*key));
            if is_bare_object {
                object.remove("type");
            }
            object.values_mut().for_each(any_dotnet_object);
        }
        Value::Array(items) => items.iter_mut().for_each(any_dotnet_object),
        _ => {}
    }
}

/// The `responses` of every operation, under `paths` and `x-ms-paths` alike.
fn operation_responses(document: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    document
        .as_object_mut()
        .into_iter()
        .flat_map(|document| document.iter_mut())
        .filter(|(member, _)| Section::ALL.iter().any(|section| section.member() == member.as_str()))
        .filter_map(|(_, items)| items.as_object_mut())
        .flat_map(|items| items.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(Value::as_object_mut)
}

/// Azure DevOps answers a list as `{"count": n, "value": [...]}` where the description declares
/// a bare array response.
fn wrap_collections(responses: &mut Map<String, Value>) {
    for response in responses.values_mut() {
        let Some(schema) = response.get_mut("schema") else {
            continue;
        };
        if schema.get("type").and_then(Value::as_str) == Some("array") {
            let list = schema.take();
            *schema = json!({
                "type": "object",
                "required": ["count", "value"],
                "properties": {"count": {"type": "integer"}, "value": list},
            });
        }
    }
}

/// Microsoft's generator declares only the success response, yet the service answers 400, 401,
/// 404, 409, 429, 503 and more. Declare the two error classes without a schema (the files
/// describe no error body), so that an error passes while an undeclared 2xx or 3xx is still
/// reported.
fn declare_error_classes(responses: &mut Map<String, Value>) {
    for class in ["4XX", "5XX"] {
        let covered = responses.keys().any(|key| key.eq_ignore_ascii_case(class) || key == "default");
        if !covered {
            responses.insert(
                class.to_owned(),
                json!({"description": "An Azure DevOps error; Microsoft's file describes none."}),
            );
        }
    }
}

/// Azure DevOps states the one accepted `api-version` only in prose ("should be set to '7.1'"),
/// and answers any other value with an error; turn that sentence into an `enum`.
fn pin_api_versions(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let is_api_version = object.get("name").and_then(Value::as_str) == Some("api-version")
                && object.get("in").and_then(Value::as_str) == Some("query")
                && !object.contains_key("enum");
            if is_api_version {
                let stated = object.get("description").and_then(Value::as_str).and_then(stated_version);
                if let Some(version) = stated {
                    object.insert("enum".into(), json!([version]));
                }
            }
            object.values_mut().for_each(pin_api_versions);
        }
        Value::Array(items) => items.iter_mut().for_each(pin_api_versions),
        _ => {}
    }
}

/// Other shapes of `template` that reach the same operations: Azure DevOps marks path parameters it
/// can do without (`project`, `team`) with `x-ms-required: false`, and its own examples omit them
/// (`/fabrikam/_apis/wit/workitems/299`).
pub(crate) fn shorter_shapes(description: &Description, key: &PathKey) -> Vec<String> {
    let template = key.path.as_str();
    let item_pointer = key.item_pointer();
    let Some(item) = description.document.pointer(&item_pointer).and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut optional: Vec<&str> = Vec::new();
    for (method, operation) in item {
        let count = operation.get("parameters").and_then(Value::as_array).map_or(0, Vec::len);
        for index in 0..count {
            let pointer = format!("{item_pointer}/{}/parameters/{index}", escape(method));
            let Some((_, parameter)) = description.follow(&pointer) else {
                continue;
            };
            let is_optional_segment = parameter.get("in").and_then(Value::as_str) == Some("path")
                && parameter.get("x-ms-required") == Some(&Value::Bool(false));
            if let Some(name) = parameter.get("name").and_then(Value::as_str) {
                if is_optional_segment && !optional.contains(&name) {
                    optional.push(name);
                }
            }
        }
    }
    // Every combination of left-out segments (at most a handful: `project`, `team`).
    let mut shapes = vec![template.to_owned()];
    for name in optional {
        let segment = format!("/{{{name}}}");
        let shorter: Vec<String> = shapes
            .iter()
            .filter(|shape| shape.contains(&segment))
            .map(|shape| shape.replacen(&segment, "", 1))
            .collect();
        shapes.extend(shorter);
    }
    shapes.retain(|shape| shape != template);
    shapes
}

fn stated_version(description: &str) -> Option<String> {
    let (_, rest) = description.split_once("set to '")?;
    let (version, _) = rest.split_once('\'')?;
    (!version.is_empty()).then(|| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_sentence_becomes_an_enum() {
        let mut document = json!({"swagger": "2.0", "host": "dev.azure.com", "parameters": {"api-Version-preview.4": {
            "name": "api-version", "in": "query", "type": "string",
            "description": "Version of the API to use.  This should be set to '7.1-preview.4' to use this version of the api."
        }}});
        apply(&mut document);
        assert_eq!(document["parameters"]["api-Version-preview.4"]["enum"], json!(["7.1-preview.4"]));
    }

    #[test]
    fn jira_timestamps_pass_in_rfc_3339_and_in_jiras_own_form() {
        for value in ["2024-01-31T10:20:30.123+0000", "2021-01-17T12:34:00.000-0530", "2024-01-31T10:20:30.123+00:00"] {
            assert!(jira_date_time(value), "{value}");
        }
        for value in [
            "2024-13-45T99:00",
            "2024-13-31T10:20:30.123+0000",
            "2024-01-31T10:20:30.123+2400",
            "2024-01-31T10:20:30+0000",
            "2024-01-31 10:20:30.123+0000",
            "yesterday",
        ] {
            assert!(!jira_date_time(value), "{value}");
        }
    }

    #[test]
    fn only_atlassians_description_gets_the_jira_date_time() {
        let jira = json!({"openapi": "3.0.1", "servers": [{"url": "https://your-domain.atlassian.net"}], "paths": {}});
        assert_eq!(formats(&jira).iter().map(|(name, _)| *name).collect::<Vec<_>>(), ["date-time"]);
        let azure_devops = json!({"swagger": "2.0", "host": "dev.azure.com", "paths": {}});
        assert!(formats(&azure_devops).is_empty());
        let github = json!({"openapi": "3.0.3", "servers": [{"url": "https://api.github.com"}], "paths": {}});
        assert!(formats(&github).is_empty());
    }

    #[test]
    fn other_vendors_files_are_left_alone() {
        let original = json!({"openapi": "3.0.1", "paths": {}, "definitions": {
            "JsonPatchDocument": {"type": "object"}
        }});
        let mut document = original.clone();
        apply(&mut document);
        assert_eq!(document, original);
    }

    #[test]
    fn list_responses_are_wrapped_in_count_and_value() {
        let mut document = json!({"swagger": "2.0", "host": "dev.azure.com", "paths": {"/x": {"get": {
            "responses": {"200": {"schema": {"type": "array", "items": {"type": "string"}}}}
        }}}});
        apply(&mut document);
        assert_eq!(
            document["paths"]["/x"]["get"]["responses"]["200"]["schema"],
            json!({"type": "object", "required": ["count", "value"], "properties": {
                "count": {"type": "integer"},
                "value": {"type": "array", "items": {"type": "string"}}
            }})
        );
    }

    #[test]
    fn error_classes_are_declared_under_both_path_members() {
        let mut document = json!({"swagger": "2.0", "host": "dev.azure.com",
            "paths": {"/x": {"get": {"responses": {"200": {}}}}},
            "x-ms-paths": {"/x?": {"get": {"responses": {"200": {}, "4XX": {"description": "kept"}}}}}
        });
        apply(&mut document);
        let keys = |responses: &Value| responses.as_object().expect("responses").keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&document["paths"]["/x"]["get"]["responses"]), ["200", "4XX", "5XX"]);
        let extension = &document["x-ms-paths"]["/x?"]["get"]["responses"];
        assert_eq!(keys(extension), ["200", "4XX", "5XX"]);
        assert_eq!(extension["4XX"]["description"], "kept");
    }

    #[test]
    fn json_patch_document_becomes_an_array_of_operations() {
        let mut document = json!({"swagger": "2.0", "host": "dev.azure.com", "definitions": {
            "JsonPatchDocument": {"type": "object", "allOf": [{"type": "array"}], "properties": {}},
            "JsonPatchOperation": {"type": "object", "properties": {
                "op": {"enum": ["add"]}, "path": {"type": "string"}, "value": {"type": "object"}
            }}
        }});
        apply(&mut document);
        assert_eq!(
            document["definitions"]["JsonPatchDocument"],
            json!({"type": "array", "items": {"$ref": "#/definitions/JsonPatchOperation"}})
        );
        assert_eq!(document["definitions"]["JsonPatchOperation"]["required"], json!(["op", "path"]));
        assert_eq!(document["definitions"]["JsonPatchOperation"]["properties"]["value"], json!({}));
    }
}
