//! GitHub requests against GitHub's own OpenAPI description (13 MB: loaded once per process).

use serde_json::json;
use tandem_contract_check::{Contract, RecordedRequest};

fn github() -> &'static Contract {
    Contract::github().expect("the GitHub description loads")
}

#[test]
fn an_issue_update_passes_and_a_wrong_state_fails() {
    let update = |state: &str| {
        RecordedRequest::new("PATCH", "/repos/tandem-sync/tandem/issues/7").with_body(
            "application/json",
            json!({"title": "Checkout fails", "state": state, "labels": ["bug"], "milestone": null}),
        )
    };
    let operation = github().check_request(&update("closed")).unwrap_or_else(|violations| panic!("{violations:?}"));
    assert_eq!(operation.0, "PATCH /repos/{owner}/{repo}/issues/{issue_number}");
    let violations = github().check_request(&update("resolved")).expect_err("state is open or closed");
    assert!(violations.iter().any(|violation| violation.message.starts_with("body.state: ")));
}

#[test]
fn listing_issues_checks_query_values() {
    let list = |per_page: &str| {
        RecordedRequest::new("GET", "/repos/tandem-sync/tandem/issues")
            .with_query("state", "all")
            .with_query("since", "2025-01-01T00:00:00Z")
            .with_query("per_page", per_page)
    };
    assert!(github().check_request(&list("100")).is_ok());
    assert!(github().check_request(&list("many")).is_err());
}
