//! Jira projects over HTTP: the two default projects and how people discover them, issue types, issue
//! security levels, and `PUT /issue/{key}?returnIssue=true`.

mod common;

use common::{bodies_where, receiver, JiraAs};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimProject, SimSecurityLevel, SimUser};

async fn start() -> RunningJira {
    JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts")
}

fn keys(page: &Value) -> Vec<&str> {
    page["values"].as_array().unwrap().iter().map(|project| project["key"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_two_default_projects_and_their_issue_types_can_be_discovered_and_used() {
    let jira = start().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());

    let all = alice.get("/rest/api/3/project/search").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(keys(&all.body), ["OPS", "WEB"]);
    assert_eq!((all.body["total"].clone(), all.body["isLast"].clone()), (json!(2), json!(true)));
    let first = alice.get("/rest/api/3/project/search?maxResults=1").await;
    assert_eq!((keys(&first.body), first.body["isLast"].clone()), (vec!["OPS"], json!(false)));
    assert!(first.body["nextPage"].as_str().unwrap().contains("startAt=1"), "{}", first.body);
    let second = alice.get("/rest/api/3/project/search?startAt=1&maxResults=1").await;
    assert_eq!((keys(&second.body), second.body["isLast"].clone()), (vec!["WEB"], json!(true)));
    assert_eq!(keys(&alice.get("/rest/api/3/project/search?query=site").await.body), ["WEB"]);
    assert_eq!(keys(&alice.get("/rest/api/3/project/search?orderBy=-key").await.body), ["WEB", "OPS"]);
    let expanded = alice.get("/rest/api/3/project/search?keys=WEB&expand=issueTypes,lead").await;
    assert_eq!(expanded.body["values"][0]["issueTypes"].as_array().unwrap().len(), 3);
    assert_eq!(expanded.body["values"][0]["lead"]["accountId"], SimUser::service_account().account_id.as_str());

    let types = alice.get("/rest/api/3/issuetype").await;
    let names: Vec<&str> = types.body.as_array().unwrap().iter().map(|kind| kind["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Task", "Bug", "Story"]);

    assert_eq!(alice.create_issue("WEB", "Story", "A landing page").await, "WEB-1");
    assert_eq!(alice.create_issue("WEB", "Bug", "Broken link").await, "WEB-2");
    assert_eq!(alice.create_issue("OPS", "Task", "Rotate keys").await, "OPS-1");
    assert_eq!(alice.search("project = WEB AND issuetype = Story").await.len(), 1);
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn security_levels_are_listed_set_shown_and_reported_in_webhooks() {
    let mut config = JiraSimConfig::default();
    let secret = SimSecurityLevel::new("10200", "Secret", "Two people");
    config.projects[1] = SimProject::new("10001", "WEB", "Website").with_security_levels(vec![secret]);
    let jira = JiraSimulator::start(config).await.unwrap();
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let alice = JiraAs::new(&jira, &SimUser::alice());

    let levels = alice.get("/rest/api/3/project/OPS/securitylevel").await;
    assert_eq!(levels.status, StatusCode::OK);
    let names: Vec<&str> =
        levels.body["levels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Internal", "Confidential"]);
    assert_eq!(alice.get("/rest/api/3/project/10001/securitylevel").await.body["levels"][0]["name"], "Secret");
    assert_eq!(alice.get("/rest/api/3/project/NOPE/securitylevel").await.status, StatusCode::NOT_FOUND);

    let create = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "Leak",
                                   "security": {"name": "Internal"}}});
    let key = alice.post("/rest/api/3/issue", &create).await.body["key"].as_str().unwrap().to_string();
    let issue = alice.get(&format!("/rest/api/3/issue/{key}")).await;
    let expected = json!({"self": format!("{}/rest/api/3/securitylevel/10100", jira.base_url()),
                          "id": "10100", "name": "Internal", "description": "Staff only"});
    assert_eq!(issue.body["fields"]["security"], expected);
    let plain = alice.create_issue("OPS", "Task", "Nothing secret").await;
    assert_eq!(
        alice.get(&format!("/rest/api/3/issue/{plain}?fields=*all")).await.body["fields"]["security"],
        Value::Null
    );

    let edit = format!("/rest/api/3/issue/{key}");
    assert_eq!(
        alice.put(&edit, &json!({"fields": {"security": {"id": "10101"}}})).await.status,
        StatusCode::NO_CONTENT
    );
    let refused = alice.put(&edit, &json!({"fields": {"security": {"name": "Secret"}}})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "Secret is WEB's level, not OPS'");
    assert!(refused.body["errors"]["security"].is_string(), "{}", refused.body);
    let jql = json!({"jql": format!("key = {key}"), "fields": ["security"]});
    let found = alice.post("/rest/api/3/search/jql", &jql).await;
    assert_eq!(found.body["issues"][0]["fields"]["security"]["name"], "Confidential", "{}", found.body);
    let all = alice.get(&format!("/rest/api/3/search/jql?jql=key%3D{key}&fields=*all")).await;
    assert_eq!(all.body["issues"][0]["fields"]["security"]["id"], "10101", "{}", all.body);
    assert_eq!(alice.put(&edit, &json!({"fields": {"security": null}})).await.status, StatusCode::NO_CONTENT);

    jira.webhooks().settled().await;
    let updates = bodies_where(&received, "webhookEvent", "jira:issue_updated");
    assert_eq!(updates.len(), 2, "{updates:#?}");
    let raised = &updates[0];
    assert_eq!(
        raised["changelog"]["items"][0],
        json!({"field": "security", "fieldtype": "jira", "fieldId": "security", "from": "10100", "fromString": "Internal",
               "to": "10101", "toString": "Confidential"})
    );
    assert_eq!(raised["issue"]["fields"]["security"]["name"], "Confidential", "the v2 issue carries the level");
    assert_eq!(updates[1]["changelog"]["items"][0]["to"], Value::Null);
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn an_edit_asked_to_return_the_issue_answers_with_it() {
    let jira = start().await;
    let alice = JiraAs::new(&jira, &SimUser::alice());
    let key = alice.create_issue("OPS", "Task", "Before").await;
    let returned =
        alice.put(&format!("/rest/api/3/issue/{key}?returnIssue=true"), &json!({"fields": {"summary": "After"}})).await;
    assert_eq!(returned.status, StatusCode::OK);
    let edit = format!("/rest/api/3/issue/{key}?returnIssue=true");
    assert_eq!(returned.body["fields"]["summary"], "After");
    assert_eq!(returned.body, alice.get(&format!("/rest/api/3/issue/{key}")).await.body, "as GET shows it");
    let unchanged = alice.put(&edit, &json!({"fields": {"summary": "After"}})).await;
    assert_eq!((unchanged.status, unchanged.body["key"].clone()), (StatusCode::OK, json!(key)));
    let plain = alice.put(&format!("/rest/api/3/issue/{key}"), &json!({"fields": {"summary": "Again"}})).await;
    assert_eq!((plain.status, plain.body), (StatusCode::NO_CONTENT, Value::Null));
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}
