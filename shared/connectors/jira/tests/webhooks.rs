//! Webhook verification and parsing, with real deliveries from the simulator to a small local receiver,
//! and a hand-written payload in the documented shape.

mod common;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use chrono::TimeZone;
use common::*;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tandem_engine::ports::{Connector, WebhookError, WebhookReceiver, WebhookRequest};
use tandem_jira::{JiraWebhookReceiver, Repeat};
use tandem_model::{ChangeKind, SecretString};
use tandem_simulators::jira::{JiraSimConfig, RunningJira, SimProject, SimUser};

const SECRET: &str = "webhook-s3cret";

type Inbox = Arc<Mutex<Vec<WebhookRequest>>>;

/// A receiver that keeps every request as the engine would get it: lower-cased headers and the raw body.
async fn inbox() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let kept = Arc::clone(&inbox);
    let app = axum::Router::new().route(
        "/webhooks/jira",
        post(move |headers: HeaderMap, body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                let headers = headers
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
                    .collect();
                kept.lock().unwrap().push(WebhookRequest::new(headers, body.to_vec()));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/webhooks/jira"), inbox)
}

async fn subscribed(config: JiraSimConfig) -> (RunningJira, Inbox) {
    let sim = simulator_with(config).await;
    let (url, inbox) = inbox().await;
    sim.subscribe_webhook(&url, Some(SECRET));
    (sim, inbox)
}

async fn delivered(sim: &RunningJira, inbox: &Inbox) -> Vec<WebhookRequest> {
    sim.webhooks().settled().await;
    std::mem::take(&mut *inbox.lock().unwrap())
}

fn receiver() -> JiraWebhookReceiver {
    JiraWebhookReceiver::new(SecretString::new(SECRET), "OPS")
}

#[tokio::test]
async fn a_persons_edit_arrives_verified_with_that_person_as_actor() {
    let (sim, inbox) = subscribed(JiraSimConfig::default()).await;
    let item = connector(&sim).create_item(&fields(&[("summary", text("before"))]), None).await.unwrap();
    let created = delivered(&sim, &inbox).await;
    assert_eq!(created.len(), 1);
    let delivery = receiver().receive(&created[0]).unwrap();
    assert_eq!(delivery.notices[0].kind, ChangeKind::ItemCreated);
    assert_eq!(
        delivery.notices[0].actor.as_ref().map(|actor| actor.id.clone()),
        Some(SimUser::service_account().account_id)
    );

    let alice = SimUser::alice();
    let path = format!("/rest/api/3/issue/{}", item.item.id);
    person(&sim, &alice)
        .send_without_answer(reqwest::Method::PUT, &path, &json!({"fields": {"summary": "after"}}), Repeat::Safe)
        .await
        .unwrap();
    let updated = delivered(&sim, &inbox).await;
    assert_eq!(updated.len(), 1);
    let request = &updated[0];
    let delivery = receiver().receive(request).unwrap();
    assert!(delivery.id.starts_with("sha256:"), "the delivery id is the signed body's digest: {}", delivery.id);
    assert_ne!(delivery.id, receiver().receive(&created[0]).unwrap().id);
    let notice = &delivery.notices[0];
    assert_eq!(notice.item, item.item.id);
    assert_eq!(notice.kind, ChangeKind::ItemUpdated);
    let actor = notice.actor.as_ref().expect("the actor is named");
    assert_eq!((actor.id.as_str(), actor.email.as_deref()), (alice.account_id.as_str(), Some("alice@example.com")));
    assert!(notice.occurred_at.is_some());
    // The webhook's issue is the v2 representation, as Jira sends it.
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert!(body["issue"]["self"].as_str().unwrap().contains("/rest/api/2/issue/"), "{body}");
    assert_eq!(body["changelog"]["items"][0]["toString"], "after");
    assert_no_violations(&sim);
}

#[tokio::test]
async fn comment_events_name_the_comment_and_its_author() {
    let (sim, inbox) = subscribed(JiraSimConfig::default()).await;
    let item = connector(&sim).create_item(&fields(&[("summary", text("talk"))]), None).await.unwrap();
    delivered(&sim, &inbox).await;
    let bob = SimUser::bob();
    let path = format!("/rest/api/3/issue/{}/comment", item.item.id);
    let comment: serde_json::Value = person(&sim, &bob)
        .send(reqwest::Method::POST, &path, &json!({"body": adf("hello")}), Repeat::Unsafe)
        .await
        .unwrap();
    let requests = delivered(&sim, &inbox).await;
    let delivery = receiver().receive(&requests[0]).unwrap();
    let comment_id = comment["id"].as_str().unwrap().to_string();
    assert_eq!(delivery.notices[0].kind, ChangeKind::CommentCreated(tandem_model::CommentId(comment_id)));
    assert_eq!(delivery.notices[0].actor.as_ref().map(|actor| actor.id.clone()), Some(bob.account_id));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn forged_unsigned_and_wrongly_keyed_deliveries_are_unauthorized() {
    let (sim, inbox) = subscribed(JiraSimConfig::default()).await;
    connector(&sim).create_item(&fields(&[("summary", text("x"))]), None).await.unwrap();
    let genuine = delivered(&sim, &inbox).await.remove(0);
    assert!(receiver().receive(&genuine).is_ok());

    let mut forged = genuine.clone();
    let position = forged.body.iter().position(|byte| *byte == b'x').expect("the summary is in the body");
    forged.body[position] = b'y';
    assert!(matches!(receiver().receive(&forged), Err(WebhookError::Unauthorized(_))));

    let mut unsigned = genuine.clone();
    unsigned.headers.retain(|(name, _)| name != "x-hub-signature");
    assert!(matches!(receiver().receive(&unsigned), Err(WebhookError::Unauthorized(_))));

    let other_key = JiraWebhookReceiver::new(SecretString::new("another secret"), "OPS");
    assert!(matches!(other_key.receive(&genuine), Err(WebhookError::Unauthorized(_))));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn an_authentic_but_unreadable_body_is_malformed() {
    let body = b"{\"webhookEvent\": 42".to_vec();
    let signature = format!("sha256={}", tandem_simulators::webhooks::hmac_sha256_hex(SECRET.as_bytes(), &body));
    let request = WebhookRequest::new(vec![("x-hub-signature".into(), signature)], body);
    assert!(matches!(receiver().receive(&request), Err(WebhookError::Malformed(_))));
}

#[tokio::test]
async fn events_of_another_project_are_ignored() {
    let config = JiraSimConfig {
        projects: vec![SimProject::new("10000", "OPS", "Operations"), SimProject::new("10001", "SUP", "Support")],
        ..JiraSimConfig::default()
    };
    let (sim, inbox) = subscribed(config).await;
    let other = json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "summary": "elsewhere"}});
    let _: serde_json::Value = person(&sim, &SimUser::alice())
        .send(reqwest::Method::POST, "/rest/api/3/issue", &other, Repeat::Unsafe)
        .await
        .unwrap();
    let requests = delivered(&sim, &inbox).await;
    assert!(matches!(receiver().receive(&requests[0]), Err(WebhookError::Ignored(_))));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn paused_webhooks_are_dropped_and_counted() {
    let (sim, inbox) = subscribed(JiraSimConfig::default()).await;
    sim.webhooks().pause();
    connector(&sim).create_item(&fields(&[("summary", text("missed"))]), None).await.unwrap();
    assert!(delivered(&sim, &inbox).await.is_empty());
    assert_eq!(sim.stats().webhooks.dropped, 1);
    assert_no_violations(&sim);
}

#[test]
fn parses_a_documented_issue_updated_payload() {
    let body = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/issue_updated.json")).unwrap();
    let signature = format!("sha256={}", tandem_simulators::webhooks::hmac_sha256_hex(SECRET.as_bytes(), &body));
    let headers = vec![
        ("x-hub-signature".into(), signature),
        ("x-atlassian-webhook-identifier".into(), "a1b2c3d4-0000-4000-8000-000000000042".into()),
        ("x-atlassian-webhook-retry".into(), "1".into()),
    ];
    let request = WebhookRequest::new(headers, body);
    let delivery = receiver().receive(&request).unwrap();
    // A replay of the signed body under a new identifier is the same delivery.
    let mut replay = request.clone();
    replay.headers[1].1 = "ffffffff-0000-4000-8000-000000000099".into();
    assert_eq!(receiver().receive(&replay).unwrap().id, delivery.id);
    let notice = &delivery.notices[0];
    assert_eq!(notice.item.as_str(), "10042");
    assert_eq!(notice.kind, ChangeKind::ItemUpdated);
    assert_eq!(notice.actor.as_ref().and_then(|actor| actor.display_name.as_deref()), Some("Alice Example"));
    assert_eq!(notice.actor.as_ref().and_then(|actor| actor.email.as_deref()), None, "privacy hides the e-mail");
    let expected = chrono::Utc.with_ymd_and_hms(2024, 1, 31, 10, 20, 30).unwrap() + chrono::Duration::milliseconds(123);
    assert_eq!(notice.occurred_at, Some(expected));
}
