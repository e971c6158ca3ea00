//! Searches that lag behind writes (the fault plan's `search_lag_ms`), on both simulators: Jira's JQL
//! search and Azure DevOps' WIQL see each change only after its delay, reads of one item stay current,
//! and clearing the plan makes everything visible at once.

mod common;

use common::{AdoAs, JiraAs};
use reqwest::StatusCode;
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, Instant};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator};
use tandem_simulators::faults::{FaultPlan, LatencyRange};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, SimUser};

/// Long enough that the checks made right after a write run before it shows, on a slow machine too.
const LAG_MS: u64 = 800;

fn lagging_plan() -> FaultPlan {
    FaultPlan { seed: 11, search_lag_ms: LatencyRange { min: LAG_MS, max: LAG_MS }, ..FaultPlan::none() }
}

/// Polls `check` until it holds (or fails after a few seconds); returns how long that took.
async fn eventually<F: Future<Output = bool>>(mut check: impl FnMut() -> F) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "the change never became visible");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

fn summaries(issues: &[Value]) -> Vec<String> {
    issues.iter().map(|issue| issue["fields"]["summary"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn jql_search_sees_changes_after_the_lag_and_reads_stay_current() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.unwrap();
    let alice = JiraAs::new(&jira, &SimUser::alice());
    jira.set_fault_plan(lagging_plan()).unwrap();

    let key = alice.create_issue("OPS", "Task", "first").await;
    assert!(alice.search("project = OPS").await.is_empty(), "a new issue is not found yet");
    assert_eq!(alice.get(&format!("/rest/api/3/issue/{key}")).await.status, StatusCode::OK, "but it can be read");
    let waited = eventually(|| async { summaries(&alice.search("project = OPS").await) == ["first"] }).await;
    assert!(waited >= Duration::from_millis(LAG_MS / 2), "visible after {waited:?}");

    alice.put(&format!("/rest/api/3/issue/{key}"), &serde_json::json!({"fields": {"summary": "second"}})).await;
    alice.post(&format!("/rest/api/3/issue/{key}/transitions"), &serde_json::json!({"transition": {"id": "11"}})).await;
    assert_eq!(summaries(&alice.search("project = OPS").await), ["first"], "the search renders the visible version");
    assert!(alice.search("status = \"In Progress\"").await.is_empty(), "and evaluates the JQL against it");
    let by_get = alice.get("/rest/api/3/search/jql?jql=status%20%3D%20%22To%20Do%22&fields=summary").await;
    assert_eq!(summaries(by_get.body["issues"].as_array().unwrap()), ["first"], "GET searches lag too");
    let read = alice.get(&format!("/rest/api/3/issue/{key}?fields=summary,status")).await;
    assert_eq!(read.body["fields"]["summary"], "second");
    assert_eq!(read.body["fields"]["status"]["name"], "In Progress");
    eventually(|| async { summaries(&alice.search("status = \"In Progress\"").await) == ["second"] }).await;

    alice.put(&format!("/rest/api/3/issue/{key}"), &serde_json::json!({"fields": {"summary": "third"}})).await;
    alice.create_issue("WEB", "Bug", "elsewhere").await;
    jira.clear_fault_plan();
    assert_eq!(summaries(&alice.search("").await), ["elsewhere", "third"], "no plan, no lag");
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn wiql_sees_changes_after_the_lag_and_reads_stay_current() {
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.unwrap();
    let service = AdoAs::service(&ado);
    ado.set_fault_plan(lagging_plan()).unwrap();
    let titled = |title: &str| {
        format!(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Title] = '{title}'"
        )
    };

    let id = service.create("Fabrikam", "Bug", "first").await["id"].as_u64().unwrap();
    let (found, answer) = service.wiql(&titled("first")).await;
    assert!(found.is_empty(), "a new work item is not found yet");
    let as_of = chrono::DateTime::parse_from_rfc3339(answer["asOf"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - as_of.with_timezone(&chrono::Utc)).num_seconds().abs() < 5, "asOf is the query time");
    assert_eq!(service.title(id).await, "first", "but it can be read");
    eventually(|| async { service.wiql(&titled("first")).await.0 == [id] }).await;

    assert_eq!(service.retitle(id, "second").await.status, StatusCode::OK);
    assert_eq!(service.wiql(&titled("first")).await.0, [id], "WIQL sees the visible revision");
    assert!(service.wiql(&titled("second")).await.0.is_empty());
    assert_eq!(service.title(id).await, "second");
    let batch = service
        .post(
            "Fabrikam/_apis/wit/workitemsbatch?api-version=7.1",
            &serde_json::json!({"ids": [id], "fields": ["System.Title"]}),
        )
        .await;
    assert_eq!(batch.body["value"][0]["fields"]["System.Title"], "second", "batch reads stay current");
    eventually(|| async { service.wiql(&titled("second")).await.0 == [id] }).await;

    service.retitle(id, "third").await;
    ado.clear_fault_plan();
    assert_eq!(service.wiql(&titled("third")).await.0, [id], "no plan, no lag");
    assert!(ado.violations().is_empty(), "{:#?}", ado.violations());
}
