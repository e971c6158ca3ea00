//! Retries: rate limiting (429 with Retry-After) and unavailability (503) are retried within bounds;
//! a create is never repeated after an ambiguous failure.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tandem_engine::ports::{Connector, ConnectorError};
use tandem_simulators::jira::InjectedFault;

#[tokio::test]
async fn retries_rate_limited_calls_and_honours_retry_after() {
    let sim = simulator().await;
    let jira = connector(&sim);
    sim.inject_faults(InjectedFault { status: 429, retry_after_seconds: Some(1) }, 1);
    let started = Instant::now();
    let created = jira.create_item(&fields(&[("summary", text("after a pause"))]), None).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured: {:?}", started.elapsed());
    assert_eq!(created.item.key.as_deref(), Some("OPS-1"), "the create ran once");
    assert_eq!(sim.stats().faults_injected, 1);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn retries_unavailable_calls_with_backoff() {
    let sim = simulator().await;
    let jira = connector(&sim);
    sim.inject_faults(InjectedFault { status: 503, retry_after_seconds: None }, 3);
    assert_eq!(jira.project_last_updated().await.unwrap(), None);
    assert_eq!(sim.stats().faults_injected, 3);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn gives_up_after_the_last_attempt_with_a_retryable_error() {
    let sim = simulator().await;
    let jira = connector(&sim);
    sim.inject_faults(InjectedFault { status: 429, retry_after_seconds: Some(0) }, 10);
    let error = jira.service_account().await.unwrap_err();
    assert!(matches!(error, ConnectorError::RateLimited { status: 429, .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(sim.stats().faults_injected, 4, "four attempts in all");
}

#[tokio::test]
async fn a_retry_after_beyond_the_wait_budget_is_left_to_the_caller() {
    let sim = simulator().await;
    let jira = connector(&sim);
    sim.inject_faults(InjectedFault { status: 429, retry_after_seconds: Some(3600) }, 1);
    let started = Instant::now();
    let error = jira.service_account().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(sim.stats().faults_injected, 1);
}
