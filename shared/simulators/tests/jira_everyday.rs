//! The calls people make every day, as Jira Cloud documents them: assigning with
//! `PUT /issue/{key}/assignee` (and unassigning with `accountId: null`), and searching with the JQL they
//! type (text search, lists, emptiness, OR and parentheses), and attaching files.

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

/// A multipart body as `curl -F file=@NAME` sends it: one part named `file` per file.
fn multipart(files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "------------------------tandemsim42";
    let mut body = Vec::new();
    for (name, mime, content) in files {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n").as_bytes());
        body.extend(*content);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn files_are_attached_listed_downloaded_and_deleted() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts");
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let alice_user = SimUser::alice();
    let alice = JiraAs::new(&jira, &alice_user);
    let key = alice.create_issue("OPS", "Bug", "Screenshot attached").await;
    let png: &[u8] = b"\x89PNG\r\n\x1a\n not really an image";
    let (content_type, body) = multipart(&[("screen.png", "image/png", png), ("notes.txt", "text/plain", b"steps")]);
    let http = reqwest::Client::new();
    let upload = |with_token: bool| {
        let mut request = http
            .post(format!("{}/rest/api/3/issue/{key}/attachments", jira.base_url()))
            .basic_auth(&alice_user.email, Some(&alice_user.api_token))
            .header("content-type", &content_type)
            .body(body.clone());
        if with_token {
            request = request.header("X-Atlassian-Token", "no-check");
        }
        request.send()
    };
    assert_eq!(upload(false).await.expect("an answer").status(), StatusCode::FORBIDDEN, "the XSRF header is required");
    let uploaded = upload(true).await.expect("an answer");
    assert_eq!(uploaded.status(), StatusCode::OK);
    let added: serde_json::Value = uploaded.json().await.expect("JSON");
    assert_eq!(added.as_array().map(Vec::len), Some(2), "{added}");
    assert_eq!((added[0]["filename"].as_str(), added[0]["mimeType"].as_str()), (Some("screen.png"), Some("image/png")));
    assert_eq!(added[0]["size"], png.len());

    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=attachment")).await;
    assert_eq!(issue.body["fields"]["attachment"].as_array().map(Vec::len), Some(2), "{}", issue.body);
    let id = added[0]["id"].as_str().expect("an id").to_string();
    let metadata = alice.get(&format!("/rest/api/3/attachment/{id}")).await;
    assert_eq!(metadata.body["filename"], "screen.png");
    let downloaded = http
        .get(added[0]["content"].as_str().expect("a content URL"))
        .basic_auth(&alice_user.email, Some(&alice_user.api_token))
        .send()
        .await
        .expect("an answer");
    assert_eq!(downloaded.status(), StatusCode::OK, "the 303 is followed to the file");
    assert_eq!(downloaded.bytes().await.expect("the file").as_ref(), png);

    assert_eq!(alice.delete(&format!("/rest/api/3/attachment/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(alice.get(&format!("/rest/api/3/attachment/{id}")).await.status, StatusCode::NOT_FOUND);
    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=attachment")).await;
    assert_eq!(issue.body["fields"]["attachment"].as_array().map(Vec::len), Some(1));

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let changes: Vec<serde_json::Value> = bodies_where(&received, "webhookEvent", "jira:issue_updated")
        .iter()
        .flat_map(|body| body["changelog"]["items"].as_array().cloned().unwrap_or_default())
        .filter(|item| item["field"] == "Attachment")
        .collect();
    assert_eq!(changes.len(), 3, "two added, one removed: {changes:#?}");
    assert_eq!(changes[2]["fromString"], "screen.png");
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn a_deleted_issue_is_gone_and_the_webhook_says_so() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts");
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let key = alice.create_issue("OPS", "Bug", "Filed by mistake").await;
    assert_eq!(alice.delete(&format!("/rest/api/3/issue/{key}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(alice.get(&format!("/rest/api/3/issue/{key}")).await.status, StatusCode::NOT_FOUND);
    assert!(alice.search("project = OPS").await.is_empty());
    assert_eq!(alice.delete(&format!("/rest/api/3/issue/{key}")).await.status, StatusCode::NOT_FOUND);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let deleted = bodies_where(&received, "webhookEvent", "jira:issue_deleted");
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["issue"]["key"], key.as_str());
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}
