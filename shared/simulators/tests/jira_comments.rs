//! Jira comments over HTTP: visibility restricted to a role or group, internal (Service Management)
//! comments and their properties, and the `comment_deleted` webhook.

mod common;

use common::{adf, bodies_where, receiver, JiraAs};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimUser};

/// Carol holds only the "Users" role and is in "jira-software-users" only.
fn carol() -> SimUser {
    SimUser::new("712020:carol", "carol@example.com", "Carol Example", "carol-token")
        .with_project_roles(["Users"])
        .with_groups(["jira-software-users"])
}

async fn start() -> RunningJira {
    let mut config = JiraSimConfig::default();
    config.users.push(carol());
    JiraSimulator::start(config).await.expect("the Jira simulator starts")
}

fn comment_ids(page: &Value) -> Vec<String> {
    page["comments"].as_array().unwrap().iter().map(|comment| comment["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn comments_restricted_to_a_role_or_group_are_hidden_from_others() {
    let jira = start().await;
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let (service, alice, carol) = (
        JiraAs::new(&jira, &SimUser::service_account()),
        JiraAs::new(&jira, &SimUser::alice()),
        JiraAs::new(&jira, &carol()),
    );
    let key = service.create_issue("OPS", "Task", "Restricted talk").await;
    let comments = format!("/rest/api/3/issue/{key}/comment");

    let by_role = json!({"body": adf("developers only"), "visibility": {"type": "role", "value": "Developers"}});
    let restricted = service.post(&comments, &by_role).await;
    assert_eq!(restricted.status, StatusCode::CREATED, "{}", restricted.body);
    assert_eq!(
        restricted.body["visibility"],
        json!({"type": "role", "value": "Developers", "identifier": "Developers"})
    );
    let restricted_id = restricted.body["id"].as_str().unwrap().to_string();
    let public = service.post(&comments, &json!({"body": adf("everyone")})).await;
    assert!(public.body.get("visibility").is_none(), "{}", public.body);
    let by_group = json!({"body": adf("admins"), "visibility": {"type": "group", "value": "jira-administrators"}});
    let group = service.post(&comments, &by_group).await;
    assert_eq!(group.body["visibility"]["type"], "group");
    assert!(group.body["visibility"]["identifier"].is_string());

    let seen_by_alice = alice.get(&comments).await;
    assert_eq!(seen_by_alice.body["total"], 3);
    let seen_by_carol = carol.get(&comments).await;
    assert_eq!(seen_by_carol.body["total"], 1, "{}", seen_by_carol.body);
    assert_eq!(comment_ids(&seen_by_carol.body), [public.body["id"].as_str().unwrap()]);
    let one = format!("{comments}/{restricted_id}");
    assert_eq!(carol.get(&one).await.status, StatusCode::NOT_FOUND);
    assert_eq!(alice.get(&one).await.body["visibility"]["value"], "Developers");

    let unknown = json!({"body": adf("x"), "visibility": {"type": "role", "value": "Wizards"}});
    let refused = service.post(&comments, &unknown).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["errors"]["commentLevel"], "Project role: Wizards does not exist.");
    let unknown_group = json!({"body": adf("x"), "visibility": {"type": "group", "value": "nobody-group"}});
    assert_eq!(service.post(&comments, &unknown_group).await.status, StatusCode::BAD_REQUEST);

    let kept = service.put(&one, &json!({"body": adf("still developers only")})).await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_eq!(kept.body["visibility"]["value"], "Developers", "a PUT without visibility keeps it");
    assert_eq!(carol.get(&one).await.status, StatusCode::NOT_FOUND);
    let lifted = service.put(&one, &json!({"body": adf("now for everyone"), "visibility": {}})).await;
    assert!(lifted.body.get("visibility").is_none(), "{}", lifted.body);
    assert_eq!(carol.get(&one).await.status, StatusCode::OK);
    let to_group =
        json!({"body": adf("admins again"), "visibility": {"type": "group", "value": "jira-administrators"}});
    assert_eq!(service.put(&one, &to_group).await.body["visibility"]["value"], "jira-administrators");
    assert_eq!(carol.get(&comments).await.body["total"], 1);
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());

    // People also lift a restriction with `null`, which Atlassian's schema does not declare: it works,
    // and the recorder reports the request (and nothing else) as outside the contract.
    let with_null = service.put(&one, &json!({"body": adf("for everyone again"), "visibility": null})).await;
    assert_eq!(with_null.status, StatusCode::OK);
    assert_eq!(carol.get(&one).await.status, StatusCode::OK);
    let violations = jira.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].phase, "request");
    assert!(violations[0].violation.to_string().contains("visibility"), "{violations:#?}");

    jira.webhooks().settled().await;
    let created = bodies_where(&received, "webhookEvent", "comment_created");
    assert_eq!(created[0]["comment"]["visibility"]["value"], "Developers", "{:#}", created[0]);
    let updated = bodies_where(&received, "webhookEvent", "comment_updated");
    assert!(updated.iter().any(|event| event["comment"]["visibility"]["value"] == "jira-administrators"));
}

#[tokio::test]
async fn internal_comments_are_not_public_and_show_their_properties_on_request() {
    let jira = start().await;
    let service = JiraAs::new(&jira, &SimUser::service_account());
    let key = service.create_issue("OPS", "Bug", "Customer problem").await;
    let comments = format!("/rest/api/3/issue/{key}/comment");
    let internal_property = json!([{"key": "sd.public.comment", "value": {"internal": true}}]);

    let internal = service.post(&comments, &json!({"body": adf("staff note"), "properties": internal_property})).await;
    assert_eq!(internal.status, StatusCode::CREATED, "{}", internal.body);
    assert_eq!(internal.body["jsdPublic"], false);
    assert!(internal.body.get("properties").is_none(), "properties only with expand=properties");
    let id = internal.body["id"].as_str().unwrap().to_string();
    let public = service.post(&format!("{comments}?expand=properties"), &json!({"body": adf("reply")})).await;
    assert_eq!(public.body["jsdPublic"], true);
    assert_eq!(public.body["properties"], json!([]));

    let one = format!("{comments}/{id}");
    assert!(service.get(&one).await.body.get("properties").is_none());
    let expanded = service.get(&format!("{one}?expand=properties")).await;
    assert_eq!(expanded.body["properties"], internal_property);
    let listed = service.get(&format!("{comments}?expand=renderedBody,properties")).await;
    assert_eq!(listed.body["comments"][0]["properties"], internal_property);
    assert_eq!(listed.body["comments"][0]["jsdPublic"], false);

    let made_public =
        json!({"body": adf("staff note"), "properties": [{"key": "sd.public.comment", "value": {"internal": false}}]});
    assert_eq!(service.put(&one, &made_public).await.body["jsdPublic"], true);
    let untouched = service.put(&format!("{one}?expand=properties"), &json!({"body": adf("edited")})).await;
    assert_eq!(untouched.body["properties"][0]["value"], json!({"internal": false}), "properties left out are kept");
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn deleting_a_comment_sends_comment_deleted_and_changes_the_issue() {
    let jira = start().await;
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let key = alice.create_issue("WEB", "Task", "Typo on the home page").await;
    let added = alice.post(&format!("/rest/api/3/issue/{key}/comment"), &json!({"body": adf("fixed soon")})).await;
    let id = added.body["id"].as_str().unwrap().to_string();
    let before = alice.get(&format!("/rest/api/3/issue/{key}?fields=updated")).await.body["fields"]["updated"].clone();

    let deleted = alice.delete(&format!("/rest/api/3/issue/{key}/comment/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let after = alice.get(&format!("/rest/api/3/issue/{key}?fields=updated")).await.body["fields"]["updated"].clone();
    assert!(after.as_str().unwrap() > before.as_str().unwrap(), "{before} → {after}");
    assert_eq!(alice.get(&format!("/rest/api/3/issue/{key}/comment/{id}")).await.status, StatusCode::NOT_FOUND);

    jira.webhooks().settled().await;
    let events = bodies_where(&received, "webhookEvent", "comment_deleted");
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["comment"]["id"], id.as_str());
    assert_eq!(events[0]["comment"]["body"], "fixed soon", "the v2 comment, as the other comment events");
    assert_eq!(events[0]["issue"]["key"], key.as_str());
    assert!(events[0]["timestamp"].is_i64());
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}
