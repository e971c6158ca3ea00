//! The webhook and poller functions' handlers, end to end: API Gateway and EventBridge events as
//! JSON, moto's DynamoDB and Secrets Manager, the Jira and Azure DevOps simulators as targets.

mod support;

use std::time::{Duration, Instant};
use support::{invoke_poller, invoke_webhook, ApiRequest, World};
use tandem_engine::ports::SyncLog;
use tandem_engine::RetryPolicy;
use tandem_simulators::azure_devops::Fault;

/// A Lambda invocation with the webhook function's usual timeout.
const INVOCATION: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_jira_event_creates_one_copy_and_repeats_write_nothing() {
    let world = World::start().await;
    let container = world.container().await;
    let bug = world.create_jira_bug("Checkout fails on empty cart").await;
    let event = world.jira_issue_created(&bug, "delivery-1", &world.webhook_secret);

    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!((status, &answer["synced"]), (200, &serde_json::json!(1)), "{answer}");
    assert_eq!(world.ado_copies(), 1);

    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!((status, &answer["duplicate"]), (200, &serde_json::json!(true)), "{answer}");
    assert_eq!(world.ado_copies(), 1, "a repeated delivery writes nothing");

    // Two containers receive events about a new bug at once (Jira sends created and updated).
    let second_bug = world.create_jira_bug("Logo blurry").await;
    let other_container = world.container().await;
    let (first, second) = tokio::join!(
        invoke_webhook(
            &container,
            world.jira_issue_created(&second_bug, "delivery-2", &world.webhook_secret).event(INVOCATION)
        ),
        invoke_webhook(
            &other_container,
            world.jira_issue_created(&second_bug, "delivery-3", &world.webhook_secret).event(INVOCATION)
        ),
    );
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    assert_eq!(world.ado_copies(), 2, "concurrent invocations create one copy: {first:?} {second:?}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_through_the_function_url_is_addressed_by_its_path() {
    let world = World::start().await;
    let container = world.container().await;
    let bug = world.create_jira_bug("Checkout fails on empty cart").await;
    let event = world.jira_issue_created(&bug, "delivery-url-1", &world.webhook_secret).via_function_url();
    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!((status, &answer["synced"]), (200, &serde_json::json!(1)), "{answer}");
    assert_eq!(world.ado_copies(), 1);
    // A path that names no integration and system is answered, not acted on.
    let stray = ApiRequest::post(&world.name, "", "{}".into()).via_function_url();
    let (status, answer) = invoke_webhook(&container, stray.event(INVOCATION)).await;
    assert_eq!(status, 202, "{answer}");
    assert!(answer.to_string().contains("/hooks/{integration}/{system}"), "{answer}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_event_syncs_a_change_whose_webhook_never_came() {
    let world = World::start().await;
    let container = world.container().await;
    world.create_jira_bug("Nobody told the webhook").await;

    let summary = invoke_poller(&container, Duration::from_secs(60)).await;
    assert_eq!(summary.integrations, 1, "{summary:?}");
    assert!(summary.synced >= 1 && summary.errors == 0 && !summary.stopped_early, "{summary:?}");
    assert_eq!(world.ado_copies(), 1);

    let again = invoke_poller(&container, Duration::from_secs(60)).await;
    assert_eq!(world.ado_copies(), 1, "polling again creates nothing: {again:?}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_is_answered_in_time_and_the_poll_completes_the_change() {
    let world = World::start().await;
    // A cold container: nothing was asked of Azure DevOps before it started failing, so even the
    // service account cannot be looked up there. Jira's side must still be received and recorded.
    let container = world.container().await;
    world.ado.inject_fault(Fault { status: 503, remaining: 10_000, retry_after_seconds: None });
    let bug = world.create_jira_bug("Target is down").await;

    let started = Instant::now();
    let remaining = Duration::from_secs(4);
    let (status, answer) = invoke_webhook(
        &container,
        world.jira_issue_created(&bug, "delivery-slow", &world.webhook_secret).event(remaining),
    )
    .await;
    assert!(started.elapsed() < remaining, "answered after {:?}", started.elapsed());
    assert_eq!((status, &answer["failed"]), (200, &serde_json::json!(1)), "{answer}");
    let failures = world.store().await.list_failures(&world.name).await.expect("failures");
    assert_eq!(failures.len(), 1, "the change is recorded: {failures:?}");
    assert_eq!(failures[0].item, bug.item.id);
    assert_eq!(world.ado_copies(), 0);

    world.ado.inject_fault(Fault { status: 503, remaining: 0, retry_after_seconds: None });
    let summary = invoke_poller(&container, Duration::from_secs(60)).await;
    // The recorded change is due at once (the delivery was cut short, nothing was wrong): the poll that
    // finds the item completes it.
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert!(summary.synced + summary.retry_succeeded >= 1, "{summary:?}");
    assert_eq!(world.ado_copies(), 1);
    assert!(world.store().await.list_failures(&world.name).await.expect("failures").is_empty());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_and_a_poll_of_the_same_change_at_once_write_one_copy() {
    let world = World::start().await;
    let (webhook_container, poller_container) = (world.container().await, world.container().await);
    let bug = world.create_jira_bug("Seen by both functions").await;
    let event = world.jira_issue_created(&bug, "delivery-raced", &world.webhook_secret);

    let ((status, answer), summary) = tokio::join!(
        invoke_webhook(&webhook_container, event.event(INVOCATION)),
        invoke_poller(&poller_container, Duration::from_secs(60)),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert_eq!(world.ado_copies(), 1, "one copy: {answer} {summary:?}");
    // Whichever lost the race may have recorded the change for a retry; the retry must find the link.
    invoke_poller(&poller_container, Duration::from_secs(60)).await;
    let writes = world.ado.stats().recording.writes;

    let repeated = world.jira_issue_created(&bug, "delivery-raced-again", &world.webhook_secret);
    let ((status, answer), summary) = tokio::join!(
        invoke_webhook(&webhook_container, repeated.event(INVOCATION)),
        invoke_poller(&poller_container, Duration::from_secs(60)),
    );
    assert_eq!((status, &answer["failed"]), (200, &serde_json::json!(0)), "{answer}");
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(world.ado.stats().recording.writes, writes, "nothing more is written to Azure DevOps");
    assert_eq!(world.ado_copies(), 1);
    let failures = world.store().await.list_failures(&world.name).await.expect("failures");
    assert!(failures.is_empty(), "{failures:?}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_keeps_failing_is_parked_listed_and_retried_once_the_fault_clears() {
    let world = World::start().await;
    let policy = RetryPolicy { base: Duration::ZERO, max_delay: Duration::ZERO, max_attempts: 3 };
    let container = world.container().await.with_retry_policy(policy);
    world.ado.inject_fault(Fault { status: 503, remaining: 100_000, retry_after_seconds: None });
    let bug = world.create_jira_bug("Azure DevOps keeps refusing").await;
    let event = world.jira_issue_created(&bug, "delivery-parked", &world.webhook_secret);
    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!((status, &answer["failed"]), (200, &serde_json::json!(1)), "{answer}");

    let mut polls = 0;
    let parked = loop {
        let summary = invoke_poller(&container, Duration::from_secs(60)).await;
        polls += 1;
        if summary.parked_now == 1 {
            break summary;
        }
        assert!(polls < 5, "parked after at most 3 attempts: {summary:?}");
    };
    let failures = world.store().await.list_failures(&world.name).await.expect("failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let failure = &failures[0];
    assert!(failure.parked && failure.attempts == 3, "{failure:?}");
    assert_eq!(failure.item, bug.item.id);
    assert!(failure.error.contains("503"), "the operator sees why: {}", failure.error);

    world.ado.inject_fault(Fault { status: 503, remaining: 0, retry_after_seconds: None });
    let after_clearing = invoke_poller(&container, Duration::from_secs(60)).await;
    assert_eq!((after_clearing.retried, world.ado_copies()), (0, 0), "a parked change waits for the operator");
    assert_eq!(after_clearing.parked_now, parked.parked_now);

    let store = world.store().await;
    let unparked = tandem_engine::unpark_failure(&store, &world.name, failure.side, &failure.item, chrono::Utc::now())
        .await
        .expect("unpark");
    assert!(unparked);
    let retried = invoke_poller(&container, Duration::from_secs(60)).await;
    // The unparked change is due: the poll that finds the item syncs it whole and clears its record.
    assert_eq!((retried.failed, retried.parked_now), (0, 0), "{retried:?}");
    assert!(retried.synced + retried.retry_succeeded >= 1, "{retried:?}");
    assert_eq!(world.ado_copies(), 1);
    assert!(store.list_failures(&world.name).await.expect("failures").is_empty());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_gets_401_and_nothing_is_stored() {
    let world = World::start().await;
    let container = world.container().await;
    let bug = world.create_jira_bug("Real bug").await;

    let forged = world.jira_issue_created(&bug, "delivery-forged", "not-the-secret");
    let (status, _) = invoke_webhook(&container, forged.event(INVOCATION)).await;
    assert_eq!(status, 401);
    let unsigned = ApiRequest::post(&world.name, "jira", r#"{"webhookEvent":"jira:issue_created"}"#.into())
        .header("x-atlassian-webhook-identifier", "delivery-forged");
    assert_eq!(invoke_webhook(&container, unsigned.event(INVOCATION)).await.0, 401);
    assert_eq!(world.ado_copies(), 0);
    assert!(world.store().await.list_failures(&world.name).await.expect("failures").is_empty());

    // The forged delivery's id was not remembered: the genuine delivery with it is processed.
    let genuine = world.jira_issue_created(&bug, "delivery-forged", &world.webhook_secret);
    let (status, answer) = invoke_webhook(&container, genuine.event(INVOCATION)).await;
    assert_eq!((status, &answer["duplicate"]), (200, &serde_json::json!(false)), "{answer}");
    assert_eq!(world.ado_copies(), 1);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_integration_syncs_nothing() {
    let world = World::start().await;
    let container = world.container().await;
    // Warm: the container built the engine while the integration was active.
    invoke_poller(&container, Duration::from_secs(60)).await;
    assert!(world.store().await.set_active(&world.name, false).await.expect("deactivate"));
    let bug = world.create_jira_bug("Should stay put").await;

    let event = world.jira_issue_created(&bug, "delivery-inactive", &world.webhook_secret);
    let (status, _) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!(status, 202, "acknowledged, so that the sender keeps the subscription");
    let summary = invoke_poller(&container, Duration::from_secs(60)).await;
    assert_eq!(summary.integrations, 0, "{summary:?}");
    assert_eq!(world.ado_copies(), 0);
    world.stop().await;
}

/// Notices tandem will not act on are acknowledged, never answered with a 4xx a sender counts against
/// the subscription (Azure DevOps disables one that keeps answering 404 or 413), and nothing syncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_misaddressed_notices_are_acknowledged_and_not_acted_on() {
    let world = World::start().await;
    let container = world.container().await;
    let huge = ApiRequest::post(&world.name, "jira", "x".repeat(tandem_lambda_runtime::MAX_WEBHOOK_BODY + 1));
    let unknown_system = ApiRequest::post(&world.name, "github", "{}".into());
    let unknown_integration = ApiRequest::post("no-such-integration", "jira", "{}".into());
    for request in [huge, unknown_system, unknown_integration] {
        let (status, body) = invoke_webhook(&container, request.event(INVOCATION)).await;
        assert_eq!(status, 202, "{body}");
        assert!(body.get("ignored").is_some(), "{body}");
    }
    assert_eq!(world.ado_copies(), 0);
    world.stop().await;
}

/// Anyone can send any URL. A name no integration can have (too long, other characters) is answered
/// before it reaches the store: a container whose table is missing acknowledges it, where a well-formed
/// name needs the store (and gets 503 from a missing table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_integration_name_is_answered_before_any_store_call() {
    let world = World::start().await;
    let container = World::container_on_a_missing_table().await;
    for forged in ["x".repeat(10_000), "Ops".to_string(), "ops%2F..".to_string()] {
        let request = ApiRequest::post(&forged, "jira", "{}".into());
        assert_eq!(invoke_webhook(&container, request.event(INVOCATION)).await.0, 202, "{forged:.20}");
    }
    let well_formed = ApiRequest::post("well-formed-name", "jira", "{}".into());
    assert_eq!(invoke_webhook(&container, well_formed.event(INVOCATION)).await.0, 503, "this one needed the store");
    world.stop().await;
}
