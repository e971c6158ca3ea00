//! The Azure DevOps simulator's API rules, exercised over HTTP as a client would.

mod common;

use common::AdoAs;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, Fault, RunningAzureDevops};

const PATCH: &str = "application/json-patch+json";

async fn start() -> RunningAzureDevops {
    AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the simulator starts")
}

fn url(simulator: &RunningAzureDevops, path: &str) -> String {
    format!("{}/Fabrikam/_apis/{path}", simulator.organization_url())
}

fn client() -> Client {
    Client::new()
}

/// A request authenticated as the service account (any user name, the PAT as password).
fn as_service(simulator: &RunningAzureDevops, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.basic_auth("anything", Some(&simulator.service_account().pat))
}

async fn create(simulator: &RunningAzureDevops, title: &str) -> Value {
    let response = as_service(simulator, client().post(url(simulator, "wit/workitems/$Bug?api-version=7.1")))
        .header("content-type", PATCH)
        .body(json!([{"op": "add", "path": "/fields/System.Title", "value": title}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn wiql(simulator: &RunningAzureDevops, query: &str, time_precision: bool) -> reqwest::Response {
    let precision = if time_precision { "&timePrecision=true" } else { "" };
    as_service(simulator, client().post(url(simulator, &format!("wit/wiql?api-version=7.1{precision}"))))
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap()
}

async fn message(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn authentication_and_api_versions_are_enforced() {
    let simulator = start().await;
    let item = url(&simulator, "wit/workitems/1?api-version=7.1");
    assert_eq!(client().get(&item).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let wrong = client().get(&item).basic_auth("", Some("wrong")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    create(&simulator, "T").await;
    let missing = as_service(&simulator, client().get(url(&simulator, "wit/workitems/1"))).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(message(missing).await.starts_with("VS800006"));

    let comments = url(&simulator, "wit/workItems/1/comments?api-version=7.1");
    let unpreviewed = as_service(&simulator, client().get(comments)).send().await.unwrap();
    assert_eq!(unpreviewed.status(), StatusCode::BAD_REQUEST);
    assert!(message(unpreviewed).await.contains("-preview"));

    let plain_json = as_service(&simulator, client().patch(url(&simulator, "wit/workitems/1?api-version=7.1")))
        .json(&json!([{"op": "add", "path": "/fields/System.Title", "value": "x"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(plain_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn work_items_keep_revisions_and_refuse_stale_writes() {
    let simulator = start().await;
    let created = create(&simulator, "T").await;
    assert_eq!(created["id"], 1);
    assert_eq!(created["rev"], 1);
    let changed = created["fields"]["System.ChangedDate"].as_str().unwrap();
    assert_eq!(changed.len(), "2024-01-31T10:20:30.123Z".len(), "{changed}");
    assert_eq!(created["fields"]["System.CreatedBy"]["uniqueName"], simulator.service_account().email.as_str());

    let stale = as_service(&simulator, client().patch(url(&simulator, "wit/workitems/1?api-version=7.1")))
        .header("content-type", PATCH)
        .body(json!([{"op": "test", "path": "/rev", "value": 0}, {"op": "add", "path": "/fields/System.Title", "value": "x"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert!(message(stale).await.starts_with("TF26071"));

    let both = as_service(
        &simulator,
        client().get(url(&simulator, "wit/workitems/1?api-version=7.1&fields=System.Title&$expand=all")),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);

    let ids: Vec<String> = (1..=201).map(|id| id.to_string()).collect();
    let too_many = as_service(
        &simulator,
        client().get(url(&simulator, &format!("wit/workitems?api-version=7.1&ids={}", ids.join(",")))),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);

    let listed: Value = as_service(
        &simulator,
        client().get(url(&simulator, "wit/workitems?api-version=7.1&ids=1&fields=System.Title")),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["value"][0]["fields"], json!({"System.Title": "T"}));
}

#[tokio::test]
async fn wiql_compares_dates_by_day_unless_time_precision_is_asked_for() {
    let simulator = start().await;
    let first = create(&simulator, "First").await;
    create(&simulator, "Second").await;
    let changed = first["fields"]["System.ChangedDate"].as_str().unwrap().to_string();
    let after_first = {
        let at = chrono::DateTime::parse_from_rfc3339(&changed).unwrap() + chrono::Duration::milliseconds(1);
        at.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    };
    let query = |date: &str| {
        format!("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] = 'Bug' AND [System.ChangedDate] >= '{date}' ORDER BY [System.ChangedDate] ASC")
    };

    let refused = wiql(&simulator, &query(&changed), false).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(message(refused).await.contains("date precision"));

    let ids = |body: Value| {
        body["workItems"].as_array().unwrap().iter().map(|item| item["id"].as_u64().unwrap()).collect::<Vec<_>>()
    };
    let exact: Value = wiql(&simulator, &query(&changed), true).await.json().await.unwrap();
    assert_eq!(ids(exact), vec![1, 2], "`>=` includes the instant itself");
    let later: Value = wiql(&simulator, &query(&after_first), true).await.json().await.unwrap();
    assert_eq!(ids(later), vec![2]);
    let today: Value = wiql(&simulator, &query(&changed[..10]), false).await.json().await.unwrap();
    assert_eq!(ids(today), vec![1, 2], "day precision compares dates only");

    let top: Value = as_service(&simulator, client().post(url(&simulator, "wit/wiql?api-version=7.1&$top=1")))
        .json(&json!({"query": "SELECT [System.Id] FROM WorkItems ORDER BY [System.ChangedDate] DESC"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(top), vec![2]);
}

#[tokio::test]
async fn faults_answer_with_retry_after_then_stop_and_stats_count_writes_per_user() {
    let simulator = start().await;
    simulator.inject_fault(Fault { status: 429, remaining: 1, retry_after_seconds: Some(7) });
    let throttled = as_service(&simulator, client().get(url(&simulator, "wit/workitemtypes/Bug?api-version=7.1")))
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "7");
    let served = as_service(&simulator, client().get(url(&simulator, "wit/workitemtypes/Bug?api-version=7.1")))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);

    create(&simulator, "T").await;
    let stats: Value =
        client().get(format!("{}/_sim/stats", simulator.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["writes_by_email"][simulator.service_account().email.as_str()], 1);
    assert_eq!(stats["work_items"], 1);
    let identities: Value =
        client().get(format!("{}/_sim/identities", simulator.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(identities.as_array().unwrap().len(), 3);
    assert!(identities[0].get("pat").is_none(), "the control API never shows a PAT");
}

#[tokio::test]
async fn a_deleted_comment_is_left_out_unless_deleted_ones_are_asked_for() {
    let simulator = start().await;
    let service = AdoAs::service(&simulator);
    let id = service.create("Fabrikam", "Task", "Talk").await["id"].as_u64().unwrap();
    let comments = format!("Fabrikam/_apis/wit/workItems/{id}/comments");
    let list = format!("{comments}?api-version=7.1-preview.4");
    let kept = service.post(&list, &json!({"text": "<p>kept</p>"})).await.body["id"].as_u64().unwrap();
    let doomed = service.post(&list, &json!({"text": "<p>doomed</p>"})).await.body["id"].as_u64().unwrap();
    let one = |comment: u64, query: &str| format!("{comments}/{comment}?api-version=7.1-preview.4{query}");

    let deleted = service.call(reqwest::Method::DELETE, &one(doomed, ""), "application/json", None).await;
    assert_eq!(deleted.status, StatusCode::OK, "the contract declares 200: {}", deleted.body);
    assert_eq!((deleted.body["id"].as_u64(), deleted.body["isDeleted"].clone()), (Some(doomed), json!(true)));

    let listed = service.get(&list).await;
    assert_eq!(listed.body["totalCount"], 1);
    assert_eq!(listed.body["comments"][0]["id"].as_u64(), Some(kept));
    let with_deleted = service.get(&format!("{list}&includeDeleted=true")).await;
    assert_eq!(with_deleted.body["totalCount"], 2);
    assert_eq!(with_deleted.body["comments"][1]["isDeleted"], true);
    assert_eq!(service.get(&one(doomed, "")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(service.get(&one(doomed, "&includeDeleted=true")).await.body["isDeleted"], true);
    let again = service.call(reqwest::Method::DELETE, &one(doomed, ""), "application/json", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let item = service.get(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1")).await;
    assert_eq!(item.body["fields"]["System.CommentCount"], 1);
    assert!(simulator.violations().is_empty(), "{:#?}", simulator.violations());
}

#[tokio::test]
async fn a_task_can_be_created_in_the_second_project() {
    let simulator = start().await;
    let task = AdoAs::service(&simulator).create("Contoso", "Task", "Order chairs").await;
    assert_eq!(task["fields"]["System.WorkItemType"], "Task");
    assert_eq!(task["fields"]["System.TeamProject"], "Contoso");
    assert_eq!(task["fields"]["System.AreaPath"], "Contoso");
    let read =
        AdoAs::service(&simulator).get(&format!("Contoso/_apis/wit/workitems/{}?api-version=7.1", task["id"])).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(simulator.violations().is_empty(), "{:#?}", simulator.violations());
}
