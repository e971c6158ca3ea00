//! Every outage class the template has an alarm for, brought about for real against the simulators and
//! the DynamoDB stand-in: the metric its alarm watches is in what the functions print. And every
//! `Tandem` metric an alarm of the template watches is one the functions emit.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{invoke_poller, invoke_webhook, ApiRequest, World};
use tandem_engine::ports::WatermarkStore;
use tandem_lambda_runtime::metrics::delivery_metric_line;
use tandem_lambda_runtime::PollSummary;
use tandem_model::Side;
use tandem_simulators::faults::FaultPlan;

const POLL: Duration = Duration::from_secs(60);

/// The poller's metric line, as CloudWatch reads it.
fn metrics(summary: &PollSummary) -> Value {
    serde_json::from_str(&summary.metric_line(chrono::Utc::now())).expect("a JSON line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_secret_makes_an_unavailable_integration_and_every_run_counts_itself() {
    let world = World::start().await;
    world.put_secret_value(&world.secret_name("ado"), &json!({ "kind": "azure-devops-pat", "pat": "" })).await;
    let summary = invoke_poller(&world.container().await, POLL).await;
    let line = metrics(&summary);
    assert_eq!(line["UnavailableIntegrations"], 1, "{line}");
    assert_eq!(line["PollerRuns"], 1, "a run that found trouble still counts as run: {line}");
    assert!(line["PollErrors"].as_u64() >= Some(1), "{line}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_on_a_polled_side_is_that_sides_authentication_failure_and_lag_grows() {
    let world = World::start().await;
    let container = world.container().await;
    invoke_poller(&container, POLL).await;
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    world.store().await.set_watermark(&world.name, Side::Two, two_hours_ago).await.expect("a watermark");
    world.ado.expire_credentials();
    let line = metrics(&invoke_poller(&container, POLL).await);
    assert_eq!(line["AuthenticationFailuresSide2"], 1, "{line}");
    assert_eq!(line["AuthenticationFailuresSide1"], 0, "{line}");
    assert!(line["PollLagSeconds"].as_u64() >= Some(7200), "the watermark stays behind: {line}");
    world.ado.renew_credentials();
    let line = metrics(&invoke_poller(&container, POLL).await);
    assert_eq!(line["AuthenticationFailuresSide2"], 0, "{line}");
    assert_eq!(line["PollLagSeconds"], 0, "polled to the end, nothing waits: {line}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_that_fails_every_call_makes_poll_errors() {
    let world = World::start().await;
    let container = world.container().await;
    invoke_poller(&container, POLL).await;
    world.ado.controls().set_fault_plan(FaultPlan { server_error_rate: 1.0, ..FaultPlan::none() }).expect("a plan");
    let line = metrics(&invoke_poller(&container, POLL).await);
    assert!(line["PollErrors"].as_u64() >= Some(1), "{line}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_the_store_cannot_take_is_counted_as_not_recorded() {
    let world = World::start().await;
    let container = World::container_on_a_missing_table().await;
    let request = ApiRequest::post("well-formed-name", "jira", "{}".into());
    let (status, _) = invoke_webhook(&container, request.event(Duration::from_secs(15))).await;
    assert_eq!(status, 503);
    let line: Value = serde_json::from_str(&delivery_metric_line(status).expect("a metric")).expect("JSON");
    assert_eq!(line["DeliveriesNotRecorded"], 1, "{line}");
    assert!(delivery_metric_line(202).is_none(), "an acknowledged notice is no outage");
    world.stop().await;
}

/// The `Tandem` metrics the template's alarms watch, read from `template.yaml`.
fn alarmed_metrics() -> Vec<String> {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).expect("template");
    let lines: Vec<&str> = template.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|pair| pair[0] == "Namespace: Tandem")
        .filter_map(|pair| pair[1].strip_prefix("MetricName: ").map(str::to_string))
        .collect()
}

#[test]
fn every_metric_an_alarm_watches_is_emitted() {
    let poller = metrics(&PollSummary::default());
    let webhook: Value = serde_json::from_str(&delivery_metric_line(503).expect("a metric")).expect("JSON");
    let alarmed = alarmed_metrics();
    assert!(alarmed.len() >= 8, "{alarmed:?}");
    for metric in alarmed {
        assert!(
            poller.get(&metric).is_some() || webhook.get(&metric).is_some(),
            "the template alarms on Tandem/{metric}, which no function emits"
        );
    }
}

/// The `Tandem` metrics the template's dashboard shows: `["Tandem", "Name"…` entries and the names its
/// searches look for.
fn dashboard_metrics() -> Vec<String> {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).expect("template");
    let mut names = Vec::new();
    for piece in template.split("[\"Tandem\", \"").skip(1) {
        names.extend(piece.split('"').next().map(str::to_string));
    }
    for piece in template.split("MetricName=\\\"").skip(1) {
        names.extend(piece.split('\\').next().map(str::to_string));
    }
    names
}

#[test]
fn every_metric_the_dashboard_shows_is_emitted() {
    let poller = metrics(&PollSummary::default());
    let webhook: Value = serde_json::from_str(&delivery_metric_line(503).expect("a metric")).expect("JSON");
    // A call counted by the shared transport comes out as a line per system.
    tandem_http::take_call_counts();
    let jira = tandem_jira::JiraConnector::new(
        tandem_jira::JiraConfig {
            base_url: "http://127.0.0.1:9".into(),
            project_key: "OPS".into(),
            issue_type: "Bug".into(),
        }
        .validate()
        .expect("settings"),
        &tandem_model::Credentials::JiraApiToken {
            email: "a@b.c".into(),
            api_token: tandem_model::SecretString::new("t"),
        },
        tandem_jira::RetryPolicy::never(),
    )
    .expect("a connector");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let _unreachable = runtime.block_on(tandem_engine::ports::Connector::service_account(&jira));
    let calls = tandem_lambda_runtime::metrics::api_call_lines(chrono::Utc::now());
    let calls: Vec<Value> = calls.iter().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    assert!(calls.iter().any(|line| line["System"] == "jira" && line["ApiCalls"].as_u64() >= Some(1)), "{calls:?}");
    let shown = dashboard_metrics();
    assert!(shown.len() >= 15, "{shown:?}");
    for metric in shown {
        let emitted = poller.get(&metric).is_some()
            || webhook.get(&metric).is_some()
            || calls.iter().any(|line| line.get(&metric).is_some());
        assert!(emitted, "the dashboard shows Tandem/{metric}, which no function emits");
    }
}
