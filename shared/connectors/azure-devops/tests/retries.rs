//! Throttling and unavailability: retried with backoff, honouring Retry-After, and given up in time.

mod common;

use common::{assert_only_undeclared_error_statuses, connector, fields, simulator, text};
use std::time::{Duration, Instant};
use tandem_engine::ports::{Connector, ConnectorError};
use tandem_simulators::azure_devops::Fault;

#[tokio::test]
async fn throttling_is_retried_after_the_retry_after_delay() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let item = connector.create_item(&fields(&[("System.Title", text("T"))]), None).await.unwrap();
    simulator.inject_fault(Fault { status: 429, remaining: 2, retry_after_seconds: Some(1) });
    let started = Instant::now();
    let read = connector.get_item(&item.item.id).await.unwrap();
    assert_eq!(read.item.id, item.item.id);
    assert!(started.elapsed() >= Duration::from_secs(2), "two Retry-After waits of 1 s, took {:?}", started.elapsed());
    let statuses: Vec<u16> = simulator.exchanges().iter().map(|exchange| exchange.status).collect();
    assert_eq!(statuses, vec![200, 429, 429, 200]);
    assert_only_undeclared_error_statuses(&simulator);
}

#[tokio::test]
async fn unavailability_is_retried_with_backoff() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    simulator.inject_fault(Fault { status: 503, remaining: 3, retry_after_seconds: None });
    let created = connector.create_item(&fields(&[("System.Title", text("After an outage"))]), None).await.unwrap();
    assert_eq!(created.field("System.Title"), &text("After an outage"));
    assert_eq!(simulator.work_item_count(), 1, "the failed attempts created nothing");
    assert_only_undeclared_error_statuses(&simulator);
}

#[tokio::test]
async fn gives_up_after_four_attempts_with_a_retryable_error() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    simulator.inject_fault(Fault { status: 503, remaining: 10, retry_after_seconds: None });
    let failed = connector.changed_since(chrono::Utc::now()).await.unwrap_err();
    assert!(failed.is_retryable(), "{failed}");
    assert!(matches!(failed, ConnectorError::Http { status: 503, .. }), "{failed}");
    assert_eq!(simulator.exchanges().len(), 4);
    assert_only_undeclared_error_statuses(&simulator);
}
