//! The calls people make every day, as Jira Cloud documents them: assigning with
//! `PUT /issue/{key}/assignee` (and unassigning with `accountId: null`), and searching with the JQL they
//! type (text search, lists, emptiness, OR and parentheses).

mod common;

use common::{bodies_where, receiver, JiraAs};
use reqwest::StatusCode;
use serde_json::json;
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, SimUser};

#[tokio::test]
async fn an_issue_is_assigned_unassigned_and_the_webhook_says_so() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts");
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let (alice, bob) = (JiraAs::new(&jira, &SimUser::alice()), SimUser::bob());
    let key = alice.create_issue("OPS", "Bug", "Login fails on Safari").await;

    let assigned =
        alice.put(&format!("/rest/api/3/issue/{key}/assignee"), &json!({ "accountId": bob.account_id })).await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT, "{}", assigned.body);
    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=assignee")).await;
    assert_eq!(issue.body["fields"]["assignee"]["accountId"], bob.account_id.as_str());
    assert_eq!(alice.search("assignee = 'bob@example.com'").await.len(), 1);

    let unassigned = alice.put(&format!("/rest/api/3/issue/{key}/assignee"), &json!({ "accountId": null })).await;
    assert_eq!(unassigned.status, StatusCode::NO_CONTENT);
    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=assignee")).await;
    assert!(issue.body["fields"]["assignee"].is_null(), "{}", issue.body);
    assert_eq!(alice.search("project = OPS AND assignee is EMPTY").await.len(), 1);

    let nobody =
        alice.put(&format!("/rest/api/3/issue/{key}/assignee"), &json!({ "accountId": "712020:nobody" })).await;
    assert_eq!(nobody.status, StatusCode::BAD_REQUEST, "{}", nobody.body);
    let missing = alice.put("/rest/api/3/issue/OPS-999/assignee", &json!({ "accountId": bob.account_id })).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let updates = bodies_where(&received, "webhookEvent", "jira:issue_updated");
    let assignee_changes: Vec<_> = updates
        .iter()
        .flat_map(|body| body["changelog"]["items"].as_array().cloned().unwrap_or_default())
        .filter(|item| item["field"] == "assignee")
        .collect();
    assert_eq!(assignee_changes.len(), 2, "{updates:#?}");
    assert_eq!(assignee_changes[0]["to"], bob.account_id.as_str());
    assert!(assignee_changes[1]["to"].is_null());
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn searches_people_type_find_the_issues_they_mean() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts");
    let alice = JiraAs::new(&jira, &SimUser::alice());
    alice.create_issue("OPS", "Bug", "Login fails on Safari").await;
    alice.create_issue("OPS", "Task", "Rotate the signing keys").await;
    alice.create_issue("WEB", "Bug", "Typo on the invoices page").await;

    let summaries = |found: Vec<serde_json::Value>| -> Vec<String> {
        let mut summaries: Vec<String> =
            found.iter().map(|issue| issue["fields"]["summary"].as_str().unwrap_or_default().to_string()).collect();
        summaries.sort();
        summaries
    };
    assert_eq!(
        summaries(alice.search(r#"project = OPS AND summary ~ "safari login""#).await),
        ["Login fails on Safari"]
    );
    assert_eq!(summaries(alice.search(r#"text ~ "invoice""#).await), ["Typo on the invoices page"]);
    assert_eq!(
        summaries(alice.search("issuetype in (Task, Story) OR (project = WEB AND status = 'To Do')").await),
        ["Rotate the signing keys", "Typo on the invoices page"]
    );
    assert_eq!(summaries(alice.search("project = OPS AND summary !~ login ORDER BY created DESC").await).len(), 1);
    let wrong = alice.post("/rest/api/3/search/jql", &json!({ "jql": "summary = login" })).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}
