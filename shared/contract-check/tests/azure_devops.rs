//! Real Azure DevOps requests and responses against Microsoft's 7.1 descriptions, including the
//! vendor's own HTTP examples.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use tandem_contract_check::{contracts_dir, Contract, RecordedRequest, Violation};

const JSON_PATCH: &str = "application/json-patch+json";

fn azure_devops() -> &'static Contract {
    Contract::azure_devops().expect("the Azure DevOps descriptions load")
}

fn messages(violations: &[Violation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

fn update_work_item(body: Value) -> RecordedRequest {
    RecordedRequest::new("PATCH", "/fabrikam/Fabrikam-Fiber/_apis/wit/workitems/42")
        .with_query("api-version", "7.1")
        .with_body(JSON_PATCH, body)
}

fn title_patch() -> Value {
    json!([
        {"op": "test", "path": "/rev", "value": 3},
        {"op": "add", "path": "/fields/System.Title", "value": "Checkout fails"},
        {"op": "add", "path": "/fields/System.Tags", "value": "sync; tandem"},
        {"op": "add", "path": "/fields/Microsoft.VSTS.Scheduling.RemainingWork", "value": 4.5}
    ])
}

#[test]
fn a_json_patch_update_passes() {
    let operation = azure_devops()
        .check_request(&update_work_item(title_patch()))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "PATCH /{organization}/{project}/_apis/wit/workitems/{id}");
}

#[test]
fn a_missing_api_version_fails() {
    let mut request = update_work_item(title_patch());
    request.query.clear();
    let violations = azure_devops().check_request(&request).expect_err("every call needs api-version");
    assert_eq!(
        messages(&violations),
        "PATCH /fabrikam/Fabrikam-Fiber/_apis/wit/workitems/42: query.api-version: required parameter is missing"
    );
}

#[test]
fn a_preview_api_needs_its_preview_version() {
    let add_comment = |version: &str| {
        RecordedRequest::new("POST", "/fabrikam/Fabrikam-Fiber/_apis/wit/workItems/42/comments")
            .with_query("api-version", version)
            .with_body("application/json", json!({"text": "Moved to <b>Done</b>"}))
    };
    azure_devops()
        .check_request(&add_comment("7.1-preview.4"))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    let violations = azure_devops().check_request(&add_comment("7.1")).expect_err("comments are a preview API");
    assert!(messages(&violations).contains("query.api-version: "));
}

#[test]
fn a_patch_that_is_not_an_array_fails() {
    let violations = azure_devops()
        .check_request(&update_work_item(json!({"System.Title": "Checkout fails"})))
        .expect_err("a JSON Patch document is an array");
    assert!(messages(&violations).contains(": body: "));
}

#[test]
fn a_patch_operation_without_op_or_path_fails() {
    let violations = azure_devops()
        .check_request(&update_work_item(json!([
            {"path": "/fields/System.Title", "value": "x"},
            {"op": "add", "value": "y"},
            {"op": "upsert", "path": "/fields/System.State", "value": "Done"}
        ])))
        .expect_err("op and path are required, op from a fixed list");
    let text = messages(&violations);
    assert!(text.contains("body[0]: "), "{text}");
    assert!(text.contains("body[1]: "), "{text}");
    assert!(text.contains("body[2].op: "), "{text}");
}

#[test]
fn a_patch_sent_as_plain_json_fails() {
    let request = RecordedRequest::new("PATCH", "/fabrikam/Fabrikam-Fiber/_apis/wit/workitems/42")
        .with_query("api-version", "7.1")
        .with_body("application/json", title_patch());
    let violations =
        azure_devops().check_request(&request).expect_err("work item updates take application/json-patch+json");
    assert!(messages(&violations).contains("is not accepted"));
}

#[test]
fn a_non_numeric_work_item_id_fails() {
    let request = RecordedRequest::new("GET", "/fabrikam/Fabrikam-Fiber/_apis/wit/workitems/PROJ-1")
        .with_query("api-version", "7.1");
    let violations = azure_devops().check_request(&request).expect_err("ids are integers");
    assert!(messages(&violations).contains("path.id: "));
}

#[test]
fn creating_by_type_matches_the_dollar_route() {
    let request = RecordedRequest::new("POST", "/fabrikam/Fabrikam%20Fiber/_apis/wit/workitems/$User%20Story")
        .with_query("api-version", "7.1")
        .with_body(JSON_PATCH, json!([{"op": "add", "path": "/fields/System.Title", "value": "New"}]));
    let operation =
        azure_devops().check_request(&request).unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "POST /{organization}/{project}/_apis/wit/workitems/${type}");
}

#[test]
fn routes_of_the_merged_identity_and_hooks_files_are_found() {
    let identities = RecordedRequest::new("GET", "/fabrikam/_apis/identities")
        .with_query("searchFilter", "General")
        .with_query("filterValue", "jamal@fabrikam.example")
        .with_query("api-version", "7.1");
    let operation =
        azure_devops().check_request(&identities).unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "GET /{organization}/_apis/identities");

    let subscriptions =
        RecordedRequest::new("GET", "/fabrikam/_apis/hooks/subscriptions").with_query("api-version", "7.1");
    assert!(azure_devops().check_request(&subscriptions).is_ok());
}

#[test]
fn a_wiql_query_passes_with_and_without_the_optional_project() {
    for path in ["/fabrikam/_apis/wit/wiql", "/fabrikam/Fabrikam-Fiber/_apis/wit/wiql"] {
        let request =
            RecordedRequest::new("POST", path).with_query("api-version", "7.1").with_query("$top", "200").with_body(
                "application/json",
                json!({"query": "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= @Today - 1"}),
            );
        azure_devops().check_request(&request).unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    }
}

/// One of Microsoft's HTTP examples, with the operation that cites it in `x-ms-examples`.
struct Example {
    file: String,
    contents: Value,
    method: String,
    template: String,
    /// The `api-version` the citing operation declares (the examples predate 7.1).
    api_version: String,
    content_type: String,
}

/// Operations citing an example (under `paths` or `x-ms-paths`), by the example's file name in
/// `wit-7.1-examples/`
/// (`<area>__<file>`, flattened from the spec's `./httpExamples/<area>/<file>`).
fn citations(spec: &Value) -> BTreeMap<String, Vec<(String, String, Value)>> {
    let mut cited: BTreeMap<String, Vec<_>> = BTreeMap::new();
    let items = ["paths", "x-ms-paths"].iter().filter_map(|member| spec[member].as_object()).flatten();
    for (template, item) in items {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(examples) = operation.get("x-ms-examples").and_then(Value::as_object) else {
                continue;
            };
            for example in examples.values() {
                let reference = example["$ref"].as_str().expect("example reference");
                let mut parts = reference.rsplit('/');
                let file = parts.next().expect("file name");
                let area = parts.next().expect("area folder");
                cited.entry(format!("{area}__{file}")).or_default().push((
                    method.to_ascii_uppercase(),
                    template.clone(),
                    operation.clone(),
                ));
            }
        }
    }
    cited
}

/// The vendor's examples that an operation of the 7.1 description cites (the folder also holds
/// a few older ones that none cites).
fn cited_examples() -> Vec<Example> {
    let dir = contracts_dir().expect("contracts folder").join("azure-devops");
    let cited = citations(&read(dir.join("wit-7.1-workItemTracking.json")));
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir.join("wit-7.1-examples")).expect("examples folder") {
        let path = entry.expect("directory entry").path();
        let file = path.file_name().expect("file name").to_string_lossy().into_owned();
        let Some(citing) = cited.get(&file) else {
            continue;
        };
        let contents = read(path);
        // Where two operations cite one example (GET and HEAD), the example's own method wins.
        let stated = contents["x-ms-vss-request-method"].as_str().map(str::to_owned);
        let (method, template, operation) = citing
            .iter()
            .find(|(method, _, _)| stated.as_deref() == Some(method.as_str()) || file.contains(&format!("__{method}_")))
            .unwrap_or(&citing[0]);
        let version_suffix = operation["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|parameter| parameter["$ref"].as_str())
            .find_map(|reference| reference.strip_prefix("#/parameters/api-Version"))
            .expect("api-version parameter");
        found.push(Example {
            file,
            contents,
            method: method.clone(),
            template: template.clone(),
            api_version: format!("7.1{version_suffix}"),
            content_type: operation["consumes"][0].as_str().unwrap_or("application/json").to_owned(),
        });
    }
    found.sort_by(|left, right| left.file.cmp(&right.file));
    found
}

fn read(path: PathBuf) -> Value {
    let bytes = std::fs::read(&path).expect("readable");
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(text).expect("JSON")
}

/// The example's request: its URL and body, with the `api-version` 7.1 requires.
fn request_of(example: &Example) -> RecordedRequest {
    let url = example.contents["x-ms-vss-request-url"].as_str().expect("request URL").trim();
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = &after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..];
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut request = RecordedRequest::new(example.method.clone(), path.replace(' ', "%20"));
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != "api-version" {
            request = request.with_query(name, value);
        }
    }
    request = request.with_query("api-version", example.api_version.clone());
    match &example.contents["parameters"]["body"] {
        Value::Null => request,
        body => request.with_body(example.content_type.clone(), body.clone()),
    }
}

/// Vendor examples that contradict the 7.1 description: (file, expected violation, why).
/// The checker keeps reporting them; the test proves it still does.
const KNOWN_REQUEST_ERRORS: &[(&str, &str, &str)] = &[
    (
        "fields__POST_wit_field.json",
        "body.url: null is not of type \"string\"",
        "sends `url: null`; WorkItemField.url is a string (the .NET service ignores the null)",
    ),
    (
        "workItems__POST__wit_workitems_create.json",
        "body[0].from: null is not of type \"string\"",
        "sends `from: null` in every patch operation; JsonPatchOperation.from is a string",
    ),
];

const KNOWN_RESPONSE_ERRORS: &[(&str, &str, &str)] = &[
    (
        "workItems__DELETE__wit_workitems_id_.json",
        "response status 204 is not declared",
        "recorded with api-version 4.0, which answered 204; 7.1 answers 200 with a WorkItemDelete",
    ),
    (
        "workItemTypes__GET__wit_workItemTypes.json",
        "transitions[\"\"][0].actions: null is not of type \"array\"",
        "answers `actions: null`; WorkItemStateTransition.actions is an array",
    ),
    (
        "workItemTypes__GET__wit_workItemTypes_Bug.json",
        "transitions[\"\"][0].actions: null is not of type \"array\"",
        "answers `actions: null`; WorkItemStateTransition.actions is an array",
    ),
];

fn known<'k>(list: &'k [(&str, &str, &str)], file: &str) -> Option<&'k (&'k str, &'k str, &'k str)> {
    list.iter().find(|(known, _, _)| *known == file)
}

#[test]
fn the_vendors_example_requests_pass_except_known_vendor_errors() {
    let examples = cited_examples();
    let with_body = examples.iter().filter(|example| !example.contents["parameters"]["body"].is_null()).count();
    let mut passed = Vec::new();
    for example in &examples {
        let request = request_of(example);
        let outcome = azure_devops().check_request(&request);
        match (known(KNOWN_REQUEST_ERRORS, &example.file), outcome) {
            (None, Ok(operation)) => {
                assert_eq!(
                    operation.0,
                    format!("{} {}", example.method, example.template),
                    "{} matched another operation than the one citing it",
                    example.file
                );
                passed.push(example.file.as_str());
            }
            (None, Err(violations)) => panic!("{}: {}", example.file, messages(&violations)),
            (Some((_, _, why)), Ok(_)) => {
                panic!("{} now passes; drop it from the known errors ({why})", example.file)
            }
            (Some((_, expected, _)), Err(violations)) => {
                assert!(messages(&violations).contains(expected), "{}", messages(&violations))
            }
        }
    }
    eprintln!(
        "{} of {} cited examples pass ({} carry a body); known vendor errors: {}",
        passed.len(),
        examples.len(),
        with_body,
        KNOWN_REQUEST_ERRORS.len()
    );
    assert!(with_body >= 20, "only {with_body} examples with a body were found");
    assert_eq!(passed.len() + KNOWN_REQUEST_ERRORS.len(), examples.len());
}

#[test]
fn the_vendors_example_responses_fit_except_known_vendor_errors() {
    let mut checked = 0;
    for example in cited_examples() {
        if known(KNOWN_REQUEST_ERRORS, &example.file).is_some() {
            continue;
        }
        let request = request_of(&example);
        let responses = example.contents["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let status: u16 = status.parse().expect("numeric status");
            let body = response.get("body").filter(|body| !body.is_null());
            let outcome = azure_devops().check_response(&request, status, body);
            match (known(KNOWN_RESPONSE_ERRORS, &example.file), outcome) {
                (None, Ok(())) => checked += 1,
                (None, Err(violations)) => panic!("{}: {}", example.file, messages(&violations)),
                (Some((_, _, why)), Ok(())) => {
                    panic!("{} now passes; drop it from the known errors ({why})", example.file)
                }
                (Some((_, expected, _)), Err(violations)) => {
                    assert!(messages(&violations).contains(expected), "{}", messages(&violations))
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} example responses were checked");
}

#[test]
fn a_work_item_response_is_checked_against_its_schema() {
    let request =
        RecordedRequest::new("GET", "/fabrikam/Fabrikam-Fiber/_apis/wit/workitems/42").with_query("api-version", "7.1");
    let item = json!({
        "id": 42, "rev": 3, "url": "https://dev.azure.com/fabrikam/_apis/wit/workItems/42",
        "fields": {"System.Title": "Checkout fails", "Microsoft.VSTS.Common.Priority": 2,
                   "System.AssignedTo": {"displayName": "Jamal Hartnett", "uniqueName": "jamal@fabrikam.example"}}
    });
    azure_devops()
        .check_response(&request, 200, Some(&item))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    let wrong = json!({"id": "42", "rev": 3, "fields": {}});
    let violations = azure_devops().check_response(&request, 200, Some(&wrong)).expect_err("id is an integer");
    assert!(messages(&violations).contains("response 200 body.id: "));
}

#[test]
fn a_list_response_must_be_wrapped_in_count_and_value() {
    let request = RecordedRequest::new("GET", "/fabrikam/_apis/wit/workitems")
        .with_query("ids", "1,2")
        .with_query("api-version", "7.1");
    let items = json!([{"id": 1, "rev": 1, "fields": {}}, {"id": 2, "rev": 1, "fields": {}}]);
    assert!(azure_devops().check_response(&request, 200, Some(&items)).is_err());
    let wrapped = json!({"count": 2, "value": items});
    azure_devops()
        .check_response(&request, 200, Some(&wrapped))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
}

const COMMENTS: &str = "/fabrikam/Fabrikam-Fiber/_apis/wit/workItems/42/comments";

fn list_comments(query: &[(&str, &str)]) -> RecordedRequest {
    query.iter().fold(RecordedRequest::new("GET", COMMENTS), |request, (name, value)| request.with_query(*name, *value))
}

#[test]
fn listing_comments_page_by_page_selects_the_x_ms_paths_operation() {
    for query in [
        vec![("$top", "2"), ("api-version", "7.1-preview.4")],
        vec![
            ("continuationToken", "DFkODYtNTYxYS03ZDdiLWJj"),
            ("$top", "200"),
            ("includeDeleted", "true"),
            ("$expand", "renderedText"),
            ("order", "desc"),
            ("api-version", "7.1-preview.4"),
        ],
        vec![("api-version", "7.1-preview.4")],
    ] {
        let operation = azure_devops()
            .check_request(&list_comments(&query))
            .unwrap_or_else(|violations| panic!("{query:?}: {}", messages(&violations)));
        assert_eq!(operation.0, "GET /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments?");
    }
}

#[test]
fn fetching_comments_by_id_selects_the_batch_operation() {
    let operation = azure_devops()
        .check_request(&list_comments(&[
            ("ids", "50,51"),
            ("includeDeleted", "false"),
            ("api-version", "7.1-preview.4"),
        ]))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "GET /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments");
}

#[test]
fn an_undeclared_comment_parameter_is_reported_against_the_closest_operation() {
    let violations = azure_devops()
        .check_request(&list_comments(&[
            ("continuationToken", "abc"),
            ("pageSize", "20"),
            ("api-version", "7.1-preview.4"),
        ]))
        .expect_err("neither comment listing declares pageSize");
    // Against the batch operation, `ids` would be missing and `continuationToken` undeclared too.
    assert_eq!(messages(&violations), format!("GET {COMMENTS}: query.pageSize: not a declared parameter"));

    let violations = azure_devops()
        .check_request(&list_comments(&[("order", "newest"), ("api-version", "7.1-preview.4")]))
        .expect_err("order is asc or desc");
    assert_eq!(
        messages(&violations),
        format!("GET {COMMENTS}: query.order: \"newest\" is not one of \"asc\", \"desc\"")
    );
}

#[test]
fn a_comment_in_a_named_format_selects_the_operation_that_declares_format() {
    let add_comment = |format: &str| {
        RecordedRequest::new("POST", COMMENTS)
            .with_query("format", format)
            .with_query("api-version", "7.1-preview.4")
            .with_body("application/json", json!({"text": "Moved to **Done**"}))
    };
    let operation = azure_devops()
        .check_request(&add_comment("markdown"))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "POST /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments?format={format}");
    let violations = azure_devops().check_request(&add_comment("rtf")).expect_err("format is markdown or html");
    assert!(messages(&violations).contains("query.format: \"rtf\" is not one of"));
}

#[test]
fn the_x_ms_paths_operations_are_listed() {
    let operations: Vec<String> = azure_devops().operations().into_iter().map(|operation| operation.0).collect();
    for listed in [
        "GET /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments",
        "GET /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments?",
        "PATCH /{organization}/{project}/_apis/wit/workItems/{workItemId}/comments/{commentId}?format={format}",
    ] {
        assert!(operations.iter().any(|operation| operation == listed), "{listed}");
    }
    let mut unique = operations.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), operations.len(), "an operation is listed twice");
}

fn get_work_item() -> RecordedRequest {
    RecordedRequest::new("GET", "/fabrikam/Fabrikam-Fiber/_apis/wit/workitems/999").with_query("api-version", "7.1")
}

#[test]
fn undeclared_error_statuses_are_accepted() {
    let not_found = json!({
        "$id": "1", "innerException": null,
        "message": "TF401232: Work item 999 does not exist, or you do not have permissions to read it.",
        "typeName": "Microsoft.TeamFoundation.WorkItemTracking.Server.WorkItemUnauthorizedAccessException, Microsoft.TeamFoundation.WorkItemTracking.Server",
        "typeKey": "WorkItemUnauthorizedAccessException", "errorCode": 0, "eventId": 3200
    });
    azure_devops()
        .check_response(&get_work_item(), 404, Some(&not_found))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    for status in [400, 401, 403, 409, 429, 500, 503] {
        azure_devops()
            .check_response(&get_work_item(), status, None)
            .unwrap_or_else(|violations| panic!("{status}: {}", messages(&violations)));
    }
}

#[test]
fn undeclared_success_and_redirect_statuses_still_fail() {
    for status in [201, 204, 302] {
        let violations = azure_devops()
            .check_response(&get_work_item(), status, None)
            .expect_err("only 200 is declared among 2xx and 3xx");
        assert_eq!(
            messages(&violations),
            format!(
                "GET /fabrikam/Fabrikam-Fiber/_apis/wit/workitems/999: response status {status} \
                 is not declared (declared: 200, 4XX, 5XX)"
            )
        );
    }
}

#[test]
fn a_date_time_in_jiras_form_still_fails_for_azure_devops() {
    let request = RecordedRequest::new("GET", "/fabrikam/Fabrikam-Fiber/_apis/wit/workItems/42/comments/50")
        .with_query("api-version", "7.1-preview.4");
    let comment = |created: &str| json!({"id": 50, "workItemId": 42, "text": "Looks fixed", "createdDate": created});
    azure_devops()
        .check_response(&request, 200, Some(&comment("2024-01-31T10:20:30.123Z")))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    let violations = azure_devops()
        .check_response(&request, 200, Some(&comment("2024-01-31T10:20:30.123+0000")))
        .expect_err("Azure DevOps is held to RFC 3339");
    assert!(messages(&violations).contains("response 200 body.createdDate: "), "{}", messages(&violations));
}
