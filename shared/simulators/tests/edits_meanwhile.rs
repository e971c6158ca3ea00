//! People editing between a reader's read and its write, on both simulators: the fault plan's
//! `meddle_rate` (the first person retitles what the service account just read) and the one-shot
//! `change_after` hook, each made as that person would, webhook or service hook included.

mod common;

use common::{bodies_where, receiver, AdoAs, JiraAs};
use reqwest::StatusCode;
use serde_json::json;
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, HookTarget, WorkItemEdit};
use tandem_simulators::faults::FaultPlan;
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, PersonEdit, SimUser};

fn meddling_plan() -> FaultPlan {
    FaultPlan { seed: 4, meddle_rate: 1.0, ..FaultPlan::none() }
}

#[tokio::test]
async fn in_jira_alice_retitles_what_the_service_account_just_read() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.unwrap();
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let (service, alice) = (JiraAs::new(&jira, &SimUser::service_account()), JiraAs::new(&jira, &SimUser::alice()));
    let key = service.create_issue("OPS", "Task", "Rotate keys").await;
    let issue = format!("/rest/api/3/issue/{key}?fields=summary");
    jira.set_fault_plan(meddling_plan()).unwrap();

    assert_eq!(service.get(&issue).await.body["fields"]["summary"], "Rotate keys", "the read is answered first");
    assert_eq!(alice.get(&issue).await.body["fields"]["summary"], "Rotate keys (edited meanwhile 1)");
    assert_eq!(service.get(&issue).await.body["fields"]["summary"], "Rotate keys (edited meanwhile 1)");
    assert_eq!(alice.get(&issue).await.body["fields"]["summary"], "Rotate keys (edited meanwhile 2)", "renumbered");
    service.get(&format!("/rest/api/3/issue/{key}/comment")).await;
    assert_eq!(jira.fault_stats().meddles, 2, "only reads of the issue itself, by the service account");

    jira.clear_fault_plan();
    jira.webhooks().settled().await;
    let updates = bodies_where(&received, "webhookEvent", "jira:issue_updated");
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|update| update["user"]["accountId"] == SimUser::alice().account_id.as_str()));
    assert_eq!(updates[1]["changelog"]["items"][0]["toString"], "Rotate keys (edited meanwhile 2)");
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn in_jira_a_queued_edit_is_made_once_after_the_matching_request() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.unwrap();
    let (url, received) = receiver().await;
    jira.subscribe_webhook(&url, None);
    let service = JiraAs::new(&jira, &SimUser::service_account());
    let key = service.create_issue("OPS", "Bug", "Slow page").await;
    let bob = SimUser::bob().account_id;
    let edit = PersonEdit::new(
        &key,
        json!({"fields": {"summary": "Slow page (Bob)"}, "update": {"labels": [{"add": "perf"}]}}),
        &bob,
    );
    jira.change_after("POST", "/rest/api/3/search/jql", edit);

    let found = service.search(&format!("key = {key}")).await;
    assert_eq!(found[0]["fields"]["summary"], "Slow page", "the search is answered before the edit");
    let read = service.get(&format!("/rest/api/3/issue/{key}?fields=summary,labels")).await;
    assert_eq!(read.body["fields"]["summary"], "Slow page (Bob)");
    assert_eq!(read.body["fields"]["labels"], json!(["perf"]));

    service.put(&format!("/rest/api/3/issue/{key}"), &json!({"fields": {"summary": "Slow page"}})).await;
    service.search(&format!("key = {key}")).await;
    let again = service.get(&format!("/rest/api/3/issue/{key}?fields=summary")).await;
    assert_eq!(again.body["fields"]["summary"], "Slow page", "the edit is made once");

    jira.webhooks().settled().await;
    let updates = bodies_where(&received, "webhookEvent", "jira:issue_updated");
    assert_eq!(updates[0]["user"]["accountId"], bob.as_str());
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn in_azure_devops_people_edit_between_the_reads_and_the_writes() {
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.unwrap();
    let (url, received) = receiver().await;
    ado.subscribe_hook(HookTarget { url, username: None, password: None, headers: Default::default() });
    let service = AdoAs::service(&ado);
    let id = service.create("Fabrikam", "Bug", "Crash on save").await["id"].as_u64().unwrap();

    ado.set_fault_plan(meddling_plan()).unwrap();
    assert_eq!(service.title(id).await, "Crash on save");
    assert_eq!(AdoAs::new(&ado, "alice-pat").title(id).await, "Crash on save (edited meanwhile 1)");
    let stale = json!([{"op": "test", "path": "/rev", "value": 1}, {"op": "add", "path": "/fields/System.Title", "value": "x"}]);
    let refused = service.patch(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1"), &stale).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED, "the write based on the read is stale");
    ado.clear_fault_plan();
    assert_eq!(ado.fault_stats().meddles, 1);
    assert_eq!(service.retitle(id, "x").await.status, StatusCode::OK);

    let edit = WorkItemEdit::new(
        u32::try_from(id).unwrap(),
        json!([{"op": "add", "path": "/fields/System.Title", "value": "Changed by Bob"}]),
        "bob@fabrikam.example",
    );
    ado.change_after("post", "/_apis/wit/WIQL", edit);
    let (found, _) = service.wiql("SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'x'").await;
    assert_eq!(found, [id], "the query is answered before the edit");
    assert_eq!(service.title(id).await, "Changed by Bob");
    service.wiql("SELECT [System.Id] FROM WorkItems").await;
    assert_eq!(service.retitle(id, "y").await.status, StatusCode::OK);
    service.wiql("SELECT [System.Id] FROM WorkItems").await;
    assert_eq!(service.title(id).await, "y", "the edit is made once");

    ado.hooks_settled().await;
    let updates = bodies_where(&received, "eventType", "workitem.updated");
    let changed_by: Vec<&str> = updates
        .iter()
        .map(|update| update["resource"]["revision"]["fields"]["System.ChangedBy"]["uniqueName"].as_str().unwrap())
        .collect();
    assert_eq!(changed_by[0], "alice@fabrikam.example", "{changed_by:?}");
    assert!(changed_by.contains(&"bob@fabrikam.example"), "{changed_by:?}");
    assert!(ado.violations().is_empty(), "{:#?}", ado.violations());
}
