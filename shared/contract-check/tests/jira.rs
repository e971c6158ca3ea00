//! Real Jira requests and responses against Atlassian's platform v3 description.

use std::time::Instant;

use serde_json::json;
use tandem_contract_check::{Contract, RecordedRequest, Violation};

fn jira() -> &'static Contract {
    Contract::jira().expect("the Jira description loads")
}

fn messages(violations: &[Violation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

fn create_issue(body: serde_json::Value) -> RecordedRequest {
    RecordedRequest::new("POST", "/rest/api/3/issue").with_body("application/json", body)
}

fn valid_issue() -> serde_json::Value {
    json!({
        "fields": {
            "project": {"key": "PROJ"},
            "issuetype": {"name": "Bug"},
            "summary": "Checkout fails",
            "description": {"version": 1, "type": "doc", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Steps"}]}
            ]},
            "labels": ["sync"]
        },
        "update": {"labels": [{"add": "tandem"}]}
    })
}

#[test]
fn loading_and_the_first_check_take_bounded_time() {
    // Kept as a regression guard for startup cost: the file is 2.4 MB and every test process
    // pays for it once. The bound is generous for a debug build on a busy two-core machine.
    let started = Instant::now();
    let outcome = jira().check_request(&create_issue(valid_issue()));
    let elapsed = started.elapsed();
    eprintln!("Jira load + first check: {elapsed:?}");
    assert!(outcome.is_ok(), "{:?}", outcome.err());
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
}

#[test]
fn a_correct_create_issue_request_passes() {
    let operation = jira()
        .check_request(&create_issue(valid_issue()).with_query("updateHistory", "true"))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "POST /rest/api/3/issue");
    assert!(jira().exercised_operations().contains(&operation));
}

#[test]
fn a_wrong_typed_create_issue_field_fails_with_its_location() {
    let mut body = valid_issue();
    body["update"]["labels"] = json!({"add": "tandem"});
    let violations =
        jira().check_request(&create_issue(body)).expect_err("`update.labels` must be an array of operations");
    let text = messages(&violations);
    assert!(text.starts_with("POST /rest/api/3/issue: body.update.labels: "), "{text}");
}

#[test]
fn fields_given_as_text_fail() {
    let violations = jira()
        .check_request(&create_issue(json!({"fields": "summary=Checkout fails"})))
        .expect_err("`fields` is an object");
    assert!(messages(&violations).contains("body.fields: "));
}

#[test]
fn a_query_parameter_of_the_wrong_type_fails() {
    let request = create_issue(valid_issue()).with_query("updateHistory", "often");
    let violations = jira().check_request(&request).expect_err("updateHistory is boolean");
    assert!(messages(&violations).contains("query.updateHistory: "));
}

#[test]
fn a_missing_required_body_fails() {
    let violations = jira()
        .check_request(&RecordedRequest::new("POST", "/rest/api/3/issue"))
        .expect_err("creating an issue needs a body");
    assert!(messages(&violations).contains("body: required"));
}

#[test]
fn a_body_in_the_wrong_content_type_fails() {
    let request =
        RecordedRequest::new("POST", "/rest/api/3/issue").with_body("application/x-www-form-urlencoded", valid_issue());
    let violations = jira().check_request(&request).expect_err("JSON only");
    assert!(messages(&violations).contains("is not accepted"));
}

#[test]
fn search_by_jql_with_a_page_token_passes() {
    let request = RecordedRequest::new("POST", "/rest/api/3/search/jql").with_body(
        "application/json; charset=utf-8",
        json!({
            "jql": "project = PROJ AND updated >= \"2025-01-01 00:00\" ORDER BY updated ASC",
            "nextPageToken": "CAEaAggD",
            "maxResults": 100,
            "fields": ["summary", "status", "updated"]
        }),
    );
    let operation = jira().check_request(&request).unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "POST /rest/api/3/search/jql");
}

#[test]
fn search_by_jql_with_an_undeclared_body_property_fails() {
    let request = RecordedRequest::new("POST", "/rest/api/3/search/jql")
        .with_body("application/json", json!({"jql": "project = PROJ", "startAt": 50}));
    let violations = jira().check_request(&request).expect_err("search/jql pages by token, not startAt");
    assert!(messages(&violations).contains("body: "));
}

#[test]
fn an_undeclared_query_parameter_fails() {
    let request = RecordedRequest::new("GET", "/rest/api/3/search/jql")
        .with_query("jql", "project = PROJ")
        .with_query("startAt", "50");
    let violations = jira().check_request(&request).expect_err("startAt is not a parameter of search/jql");
    assert_eq!(messages(&violations), "GET /rest/api/3/search/jql: query.startAt: not a declared parameter");
}

#[test]
fn the_deprecated_search_endpoint_is_reported() {
    let request = RecordedRequest::new("GET", "/rest/api/3/search").with_query("jql", "project = PROJ");
    let violations = jira().check_request(&request).expect_err("/rest/api/3/search is deprecated");
    assert!(messages(&violations).contains("deprecated"));
}

#[test]
fn unknown_paths_and_methods_fail() {
    let unknown_path = RecordedRequest::new("GET", "/rest/api/3/issues/PROJ-1");
    assert!(jira().check_request(&unknown_path).is_err());
    let unknown_method = RecordedRequest::new("PATCH", "/rest/api/3/issue/PROJ-1");
    let violations = jira().check_request(&unknown_method).expect_err("no PATCH");
    assert!(messages(&violations).contains("does not take method PATCH"));
}

#[test]
fn a_literal_path_wins_over_a_parameter() {
    let request = RecordedRequest::new("POST", "/rest/api/3/issue/bulk")
        .with_body("application/json", json!({"issueUpdates": [valid_issue()]}));
    let operation = jira().check_request(&request).unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert_eq!(operation.0, "POST /rest/api/3/issue/bulk");
}

#[test]
fn transitions_are_listed_and_performed() {
    let list = RecordedRequest::new("GET", "/rest/api/3/issue/PROJ-7/transitions");
    assert!(jira().check_request(&list).is_ok());
    let perform = RecordedRequest::new("POST", "/rest/api/3/issue/10001/transitions")
        .with_body("application/json", json!({"transition": {"id": "31"}}));
    assert!(jira().check_request(&perform).is_ok());
}

#[test]
fn the_search_response_is_checked_against_its_schema() {
    let request = RecordedRequest::new("POST", "/rest/api/3/search/jql")
        .with_body("application/json", json!({"jql": "project = PROJ"}));
    let page = json!({
        "issues": [{"id": "10001", "key": "PROJ-1", "self": "https://example.atlassian.net/rest/api/3/issue/10001",
                    "fields": {"summary": "Checkout fails"}}],
        "nextPageToken": "CAEaAggD",
        "isLast": false
    });
    jira().check_response(&request, 200, Some(&page)).unwrap_or_else(|violations| panic!("{}", messages(&violations)));

    let wrong = json!({"issues": "none", "isLast": "no"});
    let violations =
        jira().check_response(&request, 200, Some(&wrong)).expect_err("issues is an array, isLast a boolean");
    let text = messages(&violations);
    assert!(text.contains("response 200 body.issues: "), "{text}");
    assert!(text.contains("response 200 body.isLast: "), "{text}");
}

#[test]
fn an_undeclared_status_fails() {
    let request = create_issue(valid_issue());
    let violations =
        jira().check_response(&request, 200, Some(&json!({"id": "10001"}))).expect_err("creating answers 201, not 200");
    assert!(messages(&violations).contains("response status 200 is not declared"));
}

#[test]
fn a_created_issue_response_is_checked() {
    let request = create_issue(valid_issue());
    let created =
        json!({"id": "10000", "key": "PROJ-24", "self": "https://example.atlassian.net/rest/api/3/issue/10000"});
    assert!(jira().check_response(&request, 201, Some(&created)).is_ok());
    let wrong = json!({"id": 10000, "key": "PROJ-24"});
    assert!(jira().check_response(&request, 201, Some(&wrong)).is_err());
}

#[test]
fn null_is_accepted_only_where_the_description_says_nullable() {
    let mappings = |default_workflow: serde_json::Value, id: serde_json::Value| {
        RecordedRequest::new("POST", "/rest/api/3/workflowscheme/update/mappings").with_body(
            "application/json",
            json!({"id": id, "workflowsForIssueTypes": [], "defaultWorkflowId": default_workflow}),
        )
    };
    jira()
        .check_request(&mappings(serde_json::Value::Null, json!("10001")))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    assert!(jira().check_request(&mappings(json!(5), json!("10001"))).is_err());
    let violations =
        jira().check_request(&mappings(json!("jira"), serde_json::Value::Null)).expect_err("`id` is not nullable");
    assert!(messages(&violations).contains("body.id: null"));
}

#[test]
fn error_statuses_are_held_to_what_jira_declares() {
    let request = create_issue(valid_issue());
    let errors = json!({"errorMessages": ["Field 'priority' is required"], "errors": {}});
    jira()
        .check_response(&request, 400, Some(&errors))
        .unwrap_or_else(|violations| panic!("{}", messages(&violations)));
    let violations = jira()
        .check_response(&request, 400, Some(&json!({"errorMessages": "not a list"})))
        .expect_err("a declared error body is checked against its schema");
    assert!(messages(&violations).contains("response 400 body.errorMessages: "));
    for status in [404, 500, 503] {
        let violations =
            jira().check_response(&request, status, None).expect_err("creating an issue does not declare this status");
        assert!(
            messages(&violations).contains(&format!("response status {status} is not declared")),
            "{}",
            messages(&violations)
        );
    }
}

fn comment(created: &str) -> serde_json::Value {
    json!({
        "id": "10000", "self": "https://example.atlassian.net/rest/api/3/issue/10010/comment/10000",
        "body": {"version": 1, "type": "doc", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Looks fixed"}]}
        ]},
        "created": created, "updated": "2024-01-31T10:20:30.123+0000"
    })
}

#[test]
fn comment_timestamps_in_jiras_own_form_pass_and_malformed_ones_fail() {
    let request = RecordedRequest::new("GET", "/rest/api/3/issue/PROJ-1/comment/10000");
    for created in ["2024-01-31T10:20:30.123+0000", "2024-01-31T10:20:30.123-05:30"] {
        jira()
            .check_response(&request, 200, Some(&comment(created)))
            .unwrap_or_else(|violations| panic!("{created}: {}", messages(&violations)));
    }
    let violations = jira()
        .check_response(&request, 200, Some(&comment("2024-13-45T99:00")))
        .expect_err("neither RFC 3339 nor Jira's form");
    let text = messages(&violations);
    assert!(text.contains("response 200 body.created: "), "{text}");
    assert!(!text.contains("body.updated"), "{text}");
}
