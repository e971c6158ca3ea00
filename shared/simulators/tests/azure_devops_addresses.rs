//! Azure DevOps as people address it: the URLs its answers carry (which name no project), the API
//! versions it serves besides its own, and a work item's history (revisions, updates, `asOf`).

mod common;

use common::AdoAs;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, RunningAzureDevops};

async fn start() -> RunningAzureDevops {
    AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the simulator starts")
}

/// The path after the organization URL of an absolute URL the simulator answered with.
fn relative<'a>(ado: &RunningAzureDevops, url: &'a str) -> &'a str {
    url.strip_prefix(ado.organization_url()).and_then(|path| path.strip_prefix('/')).expect("an organization URL")
}

#[tokio::test]
async fn the_urls_answers_carry_resolve_without_a_project() {
    let ado = start().await;
    let alice = AdoAs::service(&ado);
    let created = alice.create("Fabrikam", "Bug", "Printing fails").await;
    let id = created["id"].as_u64().unwrap();
    let own = created["url"].as_str().unwrap();
    assert!(!own.contains("Fabrikam"), "the service's URL names no project: {own}");

    let read = alice.get(&format!("{}?api-version=7.1", relative(&ado, own))).await;
    assert_eq!((read.status, read.body["fields"]["System.Title"].clone()), (StatusCode::OK, json!("Printing fails")));
    let comments = read.body["_links"]["workItemComments"]["href"].as_str().unwrap().to_string();
    let posted = alice
        .post(
            &format!("{}?api-version=7.1-preview.4", relative(&ado, &comments)),
            &json!({"text": "<p>Seen on Linux too</p>"}),
        )
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let retitled = alice
        .patch(
            &format!("_apis/wit/workitems/{id}?api-version=7.1"),
            &json!([{"op": "add", "path": "/fields/System.Title", "value": "Printing fails on Linux"}]),
        )
        .await;
    assert_eq!(retitled.status, StatusCode::OK, "{}", retitled.body);

    let listed = alice.get(&format!("_apis/wit/workitems?ids={id}&fields=System.Title&api-version=7.1")).await;
    assert_eq!(listed.body["value"][0]["fields"]["System.Title"], json!("Printing fails on Linux"));
    let query = json!({"query": "SELECT [System.Id] FROM WorkItems WHERE [System.Title] CONTAINS 'Printing'"});
    let found = alice.post("_apis/wit/wiql?api-version=7.1", &query).await;
    assert_eq!(found.body["workItems"][0]["id"].as_u64(), Some(id), "{}", found.body);
    let scoped = json!({"query": "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"});
    let refused = alice.post("_apis/wit/wiql?api-version=7.1", &scoped).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "@project needs a project: {}", refused.body);

    let missing = alice.get("_apis/wit/workitems/999?api-version=7.1").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body["message"].as_str().unwrap().starts_with("TF401232"), "{}", missing.body);
    assert!(ado.violations().is_empty(), "{:#?}", ado.violations());
}

#[tokio::test]
async fn released_and_preview_versions_are_served_by_query_or_accept_header() {
    let ado = start().await;
    let alice = AdoAs::service(&ado);
    let id = alice.create("Fabrikam", "Bug", "Versions").await["id"].as_u64().unwrap();
    let alice = &alice;
    let read = |version: &str| {
        let path = format!("Fabrikam/_apis/wit/workitems/{id}?api-version={version}");
        async move { alice.get(&path).await }
    };
    for version in ["7.1", "7.0", "6.0", "7.1-preview", "7.1-preview.3", "7.2-preview.3"] {
        assert_eq!(read(version).await.status, StatusCode::OK, "api-version={version}");
    }
    for version in ["7.2", "8.0", "7.1-preview.x", "latest"] {
        let refused = read(version).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "api-version={version}");
        assert!(refused.body["message"].as_str().unwrap().starts_with("VS800003"), "{}", refused.body);
    }
    let comments = |version: &str| {
        let path = format!("Fabrikam/_apis/wit/workItems/{id}/comments?api-version={version}");
        async move { alice.get(&path).await }
    };
    assert_eq!(comments("7.1-preview").await.status, StatusCode::OK);
    assert_eq!(comments("7.0-preview.3").await.status, StatusCode::OK);
    assert_eq!(comments("7.1").await.status, StatusCode::BAD_REQUEST, "a preview resource needs -preview");

    let by_header = reqwest::Client::new()
        .get(format!("{}/Fabrikam/_apis/wit/workitems/{id}", ado.organization_url()))
        .basic_auth("", Some(&ado.service_account().pat))
        .header("accept", "application/json; api-version=7.1")
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_work_item_shows_its_revisions_its_updates_and_how_it_stood() {
    let ado = start().await;
    let alice = AdoAs::service(&ado);
    let id = alice.create("Fabrikam", "Bug", "First title").await["id"].as_u64().unwrap();
    let first = alice.get(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1")).await.body;
    let first_changed = first["fields"]["System.ChangedDate"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(alice.retitle(id, "Second title").await.status, StatusCode::OK);

    let revisions = alice.get(&format!("Fabrikam/_apis/wit/workItems/{id}/revisions?api-version=7.1")).await;
    assert_eq!(revisions.body["count"], json!(2), "{}", revisions.body);
    let titles: Vec<&Value> =
        revisions.body["value"].as_array().unwrap().iter().map(|r| &r["fields"]["System.Title"]).collect();
    assert_eq!(titles, [&json!("First title"), &json!("Second title")]);
    let second = alice.get(&format!("_apis/wit/workItems/{id}/revisions/2?api-version=7.1")).await;
    assert_eq!(second.body["rev"], json!(2));
    assert_eq!(
        alice.get(&format!("_apis/wit/workItems/{id}/revisions/3?api-version=7.1")).await.status,
        StatusCode::NOT_FOUND
    );

    let updates = alice.get(&format!("Fabrikam/_apis/wit/workItems/{id}/updates?$skip=1&api-version=7.1")).await;
    let update = &updates.body["value"][0];
    assert_eq!(update["rev"], json!(2), "{}", updates.body);
    assert_eq!(update["fields"]["System.Title"], json!({"oldValue": "First title", "newValue": "Second title"}));
    assert!(update["fields"].get("System.CreatedDate").is_none(), "only what changed: {update}");
    assert_eq!(update["revisedBy"]["uniqueName"], json!(ado.service_account().email), "{update}");
    assert_eq!(update["revisedDate"], json!("9999-01-01T00:00:00Z"));

    let stood = alice.get(&format!("Fabrikam/_apis/wit/workitems/{id}?asOf={first_changed}&api-version=7.1")).await;
    assert_eq!(
        (stood.body["rev"].clone(), stood.body["fields"]["System.Title"].clone()),
        (json!(1), json!("First title"))
    );
    let batch = json!({"ids": [id], "fields": ["System.Title"], "asOf": first_changed});
    let batched =
        alice.call(Method::POST, "_apis/wit/workitemsbatch?api-version=7.1", "application/json", Some(&batch)).await;
    assert_eq!(batched.body["value"][0]["fields"]["System.Title"], json!("First title"), "{}", batched.body);
    let before =
        alice.get(&format!("Fabrikam/_apis/wit/workitems/{id}?asOf=2000-01-01T00:00:00Z&api-version=7.1")).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND, "not created yet then");
    assert!(ado.violations().is_empty(), "{:#?}", ado.violations());
}

#[tokio::test]
async fn an_update_may_move_a_work_item_to_another_project_or_type() {
    let ado = start().await;
    let alice = AdoAs::service(&ado);
    let id = alice.create("Fabrikam", "Bug", "Moves").await["id"].as_u64().unwrap();
    let set = |field: &str, value: &str| json!([{"op": "add", "path": format!("/fields/{field}"), "value": value}]);

    let retyped =
        alice.patch(&format!("_apis/wit/workitems/{id}?api-version=7.1"), &set("System.WorkItemType", "task")).await;
    assert_eq!(retyped.status, StatusCode::OK, "{}", retyped.body);
    assert_eq!(retyped.body["fields"]["System.WorkItemType"], json!("Task"));
    let unknown =
        alice.patch(&format!("_apis/wit/workitems/{id}?api-version=7.1"), &set("System.WorkItemType", "Epic")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);

    let moved = alice
        .patch(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1"), &set("System.TeamProject", "Contoso"))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["fields"]["System.TeamProject"], json!("Contoso"));
    assert_eq!(moved.body["fields"]["System.AreaPath"], json!("Contoso"), "filed at the new project's root");
    let old_address = alice.get(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1")).await;
    assert_eq!(old_address.status, StatusCode::NOT_FOUND, "no longer in Fabrikam");
    let new_address = alice.get(&format!("Contoso/_apis/wit/workitems/{id}?api-version=7.1")).await;
    assert_eq!(new_address.body["fields"]["System.WorkItemType"], json!("Task"));
    let update = alice.get(&format!("_apis/wit/workItems/{id}/updates/3?api-version=7.1")).await;
    assert_eq!(update.body["fields"]["System.TeamProject"], json!({"oldValue": "Fabrikam", "newValue": "Contoso"}));
    assert!(ado.violations().is_empty(), "{:#?}", ado.violations());
}
