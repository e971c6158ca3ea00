//! Calls people make that go beyond the everyday ones, as Jira Cloud documents them: comments added by a
//! transition's or an edit's `update`, comment properties (`sd.public.comment` makes a comment internal),
//! `update` operations on creation, changing an issue's type, the changelog, the lists of priorities,
//! statuses and status categories, user search by accountId, and Jira's answers to bodies it cannot read.

mod common;

use common::{adf, bodies_where, receiver, JiraAs, Received};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimUser};

async fn start() -> RunningJira {
    JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts")
}

/// A simulator whose webhooks go to a fresh receiver.
async fn start_with_webhooks() -> (RunningJira, Received) {
    let jira = start().await;
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    (jira, received)
}

fn assert_no_violations(jira: &RunningJira) {
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

/// The changelog items the received `jira:issue_updated` webhooks carry for `field`.
fn changes_of(received: &Received, field: &str) -> Vec<Value> {
    bodies_where(received, "webhookEvent", "jira:issue_updated")
        .iter()
        .flat_map(|body| body["changelog"]["items"].as_array().cloned().unwrap_or_default())
        .filter(|item| item["field"] == field)
        .collect()
}

#[tokio::test]
async fn a_transition_adds_the_comment_its_update_carries() {
    let (jira, received) = start_with_webhooks().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let key = alice.create_issue("OPS", "Bug", "Login fails on Safari").await;
    let transitions = format!("/rest/api/3/issue/{key}/transitions");

    let unknown_role = json!({"body": adf("x"), "visibility": {"type": "role", "value": "Wizards"}});
    let refused = alice
        .post(&transitions, &json!({"transition": {"id": "11"}, "update": {"comment": [{"add": unknown_role}]}}))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=status")).await;
    assert_eq!(issue.body["fields"]["status"]["name"], "To Do", "a refused comment refuses the transition");

    let comment = json!({
        "body": adf("Bug has been fixed"),
        "visibility": {"type": "role", "value": "Developers"},
        "properties": [{"key": "sd.public.comment", "value": {"internal": true}}],
    });
    let moved =
        alice.post(&transitions, &json!({"transition": {"id": "51"}, "update": {"comment": [{"add": comment}]}})).await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{}", moved.body);
    let comments = alice.get(&format!("/rest/api/3/issue/{key}/comment?expand=properties")).await;
    assert_eq!(comments.body["total"], 1, "{}", comments.body);
    let added = &comments.body["comments"][0];
    assert_eq!(added["body"], adf("Bug has been fixed"));
    assert_eq!(added["author"]["accountId"], SimUser::alice().account_id.as_str());
    assert_eq!(added["visibility"]["value"], "Developers");
    assert_eq!(added["jsdPublic"], false);
    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=status")).await;
    assert_eq!(issue.body["fields"]["status"]["name"], "Done");

    jira.webhooks().settled().await;
    let created = bodies_where(&received, "webhookEvent", "comment_created");
    assert_eq!(created.len(), 1, "{created:#?}");
    assert_eq!(created[0]["comment"]["body"], "Bug has been fixed");
    assert_eq!(created[0]["issue"]["key"], key.as_str());
    assert_eq!(changes_of(&received, "status")[0]["toString"], "Done");
    assert_no_violations(&jira);
}

#[tokio::test]
async fn an_edit_adds_the_comment_its_update_carries() {
    let (jira, received) = start_with_webhooks().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let key = alice.create_issue("WEB", "Task", "Typo on the home page").await;
    let issue = format!("/rest/api/3/issue/{key}");

    let only_comment = alice.put(&issue, &json!({"update": {"comment": [{"add": {"body": adf("On it")}}]}})).await;
    assert_eq!(only_comment.status, StatusCode::NO_CONTENT, "{}", only_comment.body);
    let with_fields = json!({
        "fields": {"summary": "Typo on the home page footer"},
        "update": {"comment": [{"add": {"body": adf("Narrowed down")}}], "labels": [{"add": "frontend"}]},
    });
    assert_eq!(alice.put(&issue, &with_fields).await.status, StatusCode::NO_CONTENT);
    let unsupported = alice.put(&issue, &json!({"update": {"comment": [{"remove": {"id": "1"}}]}})).await;
    assert_eq!(unsupported.status, StatusCode::BAD_REQUEST, "{}", unsupported.body);

    let comments = alice.get(&format!("{issue}/comment")).await;
    let texts: Vec<&Value> = comments.body["comments"].as_array().unwrap().iter().map(|c| &c["body"]).collect();
    assert_eq!(texts, [&adf("On it"), &adf("Narrowed down")]);
    let read = alice.get(&format!("{issue}?fields=summary,labels")).await;
    assert_eq!(read.body["fields"]["summary"], "Typo on the home page footer");
    assert_eq!(read.body["fields"]["labels"], json!(["frontend"]));

    jira.webhooks().settled().await;
    assert_eq!(bodies_where(&received, "webhookEvent", "comment_created").len(), 2);
    assert_eq!(changes_of(&received, "summary").len(), 1);
    assert_no_violations(&jira);
}

#[tokio::test]
async fn comment_properties_are_set_read_deleted_and_make_a_comment_internal() {
    let (jira, received) = start_with_webhooks().await;
    let service = JiraAs::new(&jira, &SimUser::service_account());
    let key = service.create_issue("OPS", "Bug", "Customer problem").await;
    let added = service.post(&format!("/rest/api/3/issue/{key}/comment"), &json!({"body": adf("note")})).await;
    assert_eq!(added.body["jsdPublic"], true);
    let id = added.body["id"].as_str().unwrap().to_string();
    let comment = format!("/rest/api/3/issue/{key}/comment/{id}");
    let properties = format!("/rest/api/3/comment/{id}/properties");
    let internal = format!("{properties}/sd.public.comment");

    let created = service.put(&internal, &json!({"internal": true})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(service.get(&comment).await.body["jsdPublic"], false);
    assert_eq!(service.put(&internal, &json!({"internal": true})).await.status, StatusCode::OK);
    let listed = service.get(&properties).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        listed.body,
        json!({"keys": [{"key": "sd.public.comment", "self": format!("{}{internal}", jira.base_url())}]})
    );
    let read = service.get(&internal).await;
    assert_eq!(read.body, json!({"key": "sd.public.comment", "value": {"internal": true}}));
    let expanded = service.get(&format!("{comment}?expand=properties")).await;
    assert_eq!(expanded.body["properties"], json!([{"key": "sd.public.comment", "value": {"internal": true}}]));

    assert_eq!(service.delete(&internal).await.status, StatusCode::NO_CONTENT);
    assert_eq!(service.get(&comment).await.body["jsdPublic"], true);
    assert_eq!(service.get(&internal).await.status, StatusCode::NOT_FOUND);
    assert_eq!(service.delete(&internal).await.status, StatusCode::NOT_FOUND);
    assert_eq!(service.get("/rest/api/3/comment/99999/properties").await.status, StatusCode::NOT_FOUND);

    let developers_only = json!({"body": adf("dev"), "visibility": {"type": "role", "value": "Developers"}});
    let restricted = service.post(&format!("/rest/api/3/issue/{key}/comment"), &developers_only).await;
    let outsider =
        SimUser::new("712020:carol", "carol@example.com", "Carol", "carol-token").with_project_roles(["Users"]);
    jira.add_user(outsider.clone());
    let hidden = format!("/rest/api/3/comment/{}/properties", restricted.body["id"].as_str().unwrap());
    assert_eq!(JiraAs::new(&jira, &outsider).get(&hidden).await.status, StatusCode::NOT_FOUND);

    jira.webhooks().settled().await;
    let updated = bodies_where(&received, "webhookEvent", "comment_updated");
    assert_eq!(updated.len(), 3, "set, set again, deleted: {updated:#?}");
    assert_eq!(updated[0]["comment"]["jsdPublic"], false);
    assert_eq!(updated[2]["comment"]["jsdPublic"], true);
    assert_no_violations(&jira);
}

#[tokio::test]
async fn a_creation_applies_its_update_operations() {
    let jira = start().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let body = json!({
        "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Rotate keys"},
        "update": {"labels": [{"add": "security"}, {"add": "ops"}], "comment": [{"add": {"body": adf("Due Friday")}}]},
    });
    let created = alice.post("/rest/api/3/issue", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = created.body["key"].as_str().unwrap();
    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=labels,comment")).await;
    assert_eq!(issue.body["fields"]["labels"], json!(["security", "ops"]));
    assert_eq!(issue.body["fields"]["comment"]["total"], 1);
    assert_eq!(alice.search("labels = security").await.len(), 1);
    let changelog = alice.get(&format!("/rest/api/3/issue/{key}/changelog")).await;
    assert_eq!(changelog.body["total"], 0, "a creation is no change: {}", changelog.body);
    assert_no_violations(&jira);
}

#[tokio::test]
async fn an_edit_changes_the_issue_type_and_reports_it() {
    let (jira, received) = start_with_webhooks().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let key = alice.create_issue("OPS", "Bug", "Not really a bug").await;
    let issue = format!("/rest/api/3/issue/{key}");

    assert_eq!(
        alice.put(&issue, &json!({"fields": {"issuetype": {"name": "Task"}}})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(alice.get(&format!("{issue}?fields=issuetype")).await.body["fields"]["issuetype"]["name"], "Task");
    assert_eq!(
        alice.put(&issue, &json!({"fields": {"issuetype": {"id": "10002"}}})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(alice.search("issuetype = Story").await.len(), 1);
    let refused = alice.put(&issue, &json!({"fields": {"issuetype": {"name": "Epic"}}})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body["errors"]["issuetype"].is_string(), "{}", refused.body);

    jira.webhooks().settled().await;
    let changes = changes_of(&received, "issuetype");
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!((changes[0]["fromString"].as_str(), changes[0]["toString"].as_str()), (Some("Bug"), Some("Task")));
    assert_eq!((changes[1]["from"].as_str(), changes[1]["to"].as_str()), (Some("10001"), Some("10002")));
    assert_no_violations(&jira);
}

#[tokio::test]
async fn the_changelog_lists_who_changed_what_oldest_first() {
    let jira = start().await;
    let (alice, bob) = (JiraAs::new(&jira, &SimUser::alice()), JiraAs::new(&jira, &SimUser::bob()));
    let key = alice.create_issue("OPS", "Bug", "Broken").await;
    let issue = format!("/rest/api/3/issue/{key}");
    alice.put(&issue, &json!({"fields": {"summary": "Broken login", "priority": {"name": "High"}}})).await;
    bob.post(&format!("{issue}/transitions"), &json!({"transition": {"id": "11"}})).await;
    bob.put(&issue, &json!({"fields": {"summary": "Broken login"}})).await;

    let changelog = alice.get(&format!("{issue}/changelog")).await;
    assert_eq!(changelog.status, StatusCode::OK);
    assert_eq!((changelog.body["total"].as_u64(), changelog.body["isLast"].as_bool()), (Some(2), Some(true)));
    let first = &changelog.body["values"][0];
    assert_eq!(first["author"]["accountId"], SimUser::alice().account_id.as_str());
    let mut changed: Vec<(&str, &str)> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["field"].as_str().unwrap(), item["toString"].as_str().unwrap()))
        .collect();
    changed.sort();
    assert_eq!(changed, [("priority", "High"), ("summary", "Broken login")]);
    let second = &changelog.body["values"][1];
    assert_eq!(second["author"]["accountId"], SimUser::bob().account_id.as_str());
    assert_eq!(
        (second["items"][0]["field"].as_str(), second["items"][0]["toString"].as_str()),
        (Some("status"), Some("In Progress"))
    );

    let paged = alice.get(&format!("{issue}/changelog?startAt=0&maxResults=1")).await;
    assert_eq!((paged.body["values"].as_array().map(Vec::len), paged.body["isLast"].as_bool()), (Some(1), Some(false)));
    assert!(paged.body["nextPage"].as_str().unwrap().contains("startAt=1"), "{}", paged.body);
    let expanded = alice.get(&format!("{issue}?expand=changelog")).await;
    assert_eq!(expanded.body["changelog"]["total"], 2);
    assert_eq!(expanded.body["changelog"]["histories"][1], changelog.body["values"][1]);
    assert!(alice.get(&issue).await.body.get("changelog").is_none());
    assert_eq!(alice.get("/rest/api/3/issue/OPS-999/changelog").await.status, StatusCode::NOT_FOUND);
    assert_no_violations(&jira);
}

#[tokio::test]
async fn priorities_statuses_and_categories_are_listed_and_an_issues_links_resolve() {
    let jira = start().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let priorities = alice.get("/rest/api/3/priority").await;
    assert_eq!(priorities.status, StatusCode::OK);
    let names: Vec<&str> = priorities.body.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Highest", "High", "Medium", "Low", "Lowest"]);
    for field in ["self", "id", "iconUrl", "statusColor", "description"] {
        assert!(priorities.body[0][field].is_string(), "{field}: {}", priorities.body[0]);
    }
    let statuses = alice.get("/rest/api/3/status").await;
    let names: Vec<&str> = statuses.body.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["To Do", "In Progress", "Done"]);
    let categories = alice.get("/rest/api/3/statuscategory").await;
    let keys: Vec<&str> = categories.body.as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["undefined", "new", "done", "indeterminate"]);
    assert_eq!(alice.get("/rest/api/3/status/in%20progress").await.body["id"], "3");
    assert_eq!(alice.get("/rest/api/3/statuscategory/done").await.body["id"], 3);
    assert_eq!(alice.get("/rest/api/3/priority/42").await.status, StatusCode::NOT_FOUND);
    // Atlassian deprecates `GET /priority` (for `GET /priority/search`, deprecated too), and people still
    // call it: the recorder notes the deprecation, and only that.
    let violations = jira.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].violation.to_string().contains("deprecated"), "{violations:#?}");
    jira.recorder().reset();

    let key = alice.create_issue("OPS", "Bug", "Linked values").await;
    let issue = alice.get(&format!("/rest/api/3/issue/{key}?fields=priority,status")).await;
    let fields = &issue.body["fields"];
    for link in [&fields["priority"]["self"], &fields["status"]["self"], &fields["status"]["statusCategory"]["self"]] {
        let path = link.as_str().unwrap().strip_prefix(jira.base_url()).unwrap();
        let resolved = alice.get(path).await;
        assert_eq!(resolved.status, StatusCode::OK, "{path}");
        assert_eq!(resolved.body["self"], *link);
    }
    assert_no_violations(&jira);
}

#[tokio::test]
async fn user_search_by_account_id_is_exact_and_needs_a_criterion() {
    let jira = start().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let bob = SimUser::bob();
    let found = alice.get(&format!("/rest/api/3/user/search?accountId={}", bob.account_id)).await;
    assert_eq!(found.status, StatusCode::OK);
    let ids: Vec<&str> = found.body.as_array().unwrap().iter().map(|u| u["accountId"].as_str().unwrap()).collect();
    assert_eq!(ids, [bob.account_id.as_str()]);
    let partial = alice.get("/rest/api/3/user/search?accountId=712020").await;
    assert_eq!(partial.body, json!([]), "no prefix match on account ids");
    assert_eq!(alice.get("/rest/api/3/user/search?query=bob").await.body.as_array().map(Vec::len), Some(1));

    let nothing = alice.get("/rest/api/3/user/search").await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
    assert!(nothing.body["errorMessages"][0].is_string(), "{}", nothing.body);
    let both = alice.get(&format!("/rest/api/3/user/search?query=bob&accountId={}", bob.account_id)).await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_no_violations(&jira);
}

#[tokio::test]
async fn bodies_jira_cannot_read_are_refused_in_jiras_words() {
    let jira = start().await;
    let alice = SimUser::alice();
    let http = reqwest::Client::new();
    let send = |content_type: Option<&'static str>, body: &'static str| {
        let mut request = http
            .post(format!("{}/rest/api/3/issue", jira.base_url()))
            .basic_auth(&alice.email, Some(&alice.api_token))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        async move {
            let response = request.send().await.expect("an answer");
            let status = response.status();
            let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
            (status, content_type, response.json::<Value>().await.expect("a JSON body"))
        }
    };
    for (content_type, body, status) in [
        (Some("application/json"), "{\"fields\": {", StatusCode::BAD_REQUEST),
        (Some("application/json"), "[1, 2]", StatusCode::BAD_REQUEST),
        (None, "{\"fields\": {}}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        let (answered, answered_type, answer) = send(content_type, body).await;
        assert_eq!(answered, status, "{body}: {answer}");
        assert!(answered_type.starts_with("application/json"), "{answered_type}");
        assert!(answer["errorMessages"][0].is_string(), "{answer}");
        assert_eq!(answer["errors"], json!({}));
    }
}
