//! Service hooks end to end: the simulator delivers real `workitem.*` events to a small local receiver,
//! and the connector's receiver verifies and parses them.

mod common;

use axum::http::HeaderMap;
use axum::routing::post;
use common::{assert_no_violations, connector, connector_as, connector_for, fields, simulator, text};
use std::collections::BTreeMap;
use std::time::Duration;
use tandem_azure_devops::AzureDevopsWebhookReceiver;
use tandem_engine::ports::{Connector, WebhookError, WebhookReceiver, WebhookRequest};
use tandem_model::{ChangeKind, ItemId, ItemVersion, RichText, SecretString};
use tandem_simulators::azure_devops::HookTarget;
use tokio::sync::mpsc;

/// Starts a receiver that answers 200 and hands over every request it gets.
async fn hook_endpoint() -> (String, mpsc::UnboundedReceiver<WebhookRequest>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hooks/azure-devops",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sender = sender.clone();
            async move {
                let headers = headers
                    .iter()
                    .filter_map(|(name, value)| {
                        Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_string()))
                    })
                    .collect();
                let _ = sender.send(WebhookRequest::new(headers, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hooks/azure-devops"), receiver)
}

async fn next(requests: &mut mpsc::UnboundedReceiver<WebhookRequest>) -> WebhookRequest {
    tokio::time::timeout(Duration::from_secs(5), requests.recv())
        .await
        .expect("a delivery arrives in time")
        .expect("the receiver runs")
}

fn target(url: &str, username: Option<&str>, password: Option<&str>) -> HookTarget {
    HookTarget {
        url: url.into(),
        username: username.map(str::to_string),
        password: password.map(str::to_string),
        headers: BTreeMap::new(),
    }
}

fn verifier() -> AzureDevopsWebhookReceiver {
    AzureDevopsWebhookReceiver::new("tandem-hooks", SecretString::new("s3cret"), "Fabrikam")
}

#[tokio::test]
async fn real_deliveries_verify_and_parse_into_notices() {
    let simulator = simulator().await;
    let (url, mut requests) = hook_endpoint().await;
    let subscription = simulator.subscribe_hook(target(&url, Some("tandem-hooks"), Some("s3cret")));
    let connector = connector(&simulator);
    let alice = connector_as(&simulator, "alice-pat");

    let item = connector.create_item(&fields(&[("System.Title", text("Hooked"))]), None).await.unwrap();
    let created = verifier().receive(&next(&mut requests).await).unwrap();
    assert_eq!(created.id, format!("{subscription}:1"));
    assert_eq!(created.notices[0].item, item.item.id);
    assert_eq!(created.notices[0].kind, ChangeKind::ItemCreated);
    assert_eq!(
        created.notices[0].actor.as_ref().map(|user| user.id.clone()),
        Some(simulator.service_account().id.to_string())
    );
    assert_eq!(created.notices[0].occurred_at, Some(item.updated));

    alice
        .update_item(&item.item.id, &fields(&[("System.State", text("Active"))]), &ItemVersion::UNCHECKED)
        .await
        .unwrap();
    let updated = verifier().receive(&next(&mut requests).await).unwrap();
    assert_eq!(updated.id, format!("{subscription}:2"));
    assert_eq!(updated.notices[0].kind, ChangeKind::ItemUpdated);
    assert_eq!(
        updated.notices[0].actor.as_ref().and_then(|user| user.email.as_deref()),
        Some("alice@fabrikam.example")
    );

    let comment = alice.add_comment(&item.item.id, &RichText::Html("<p>hi</p>".into())).await.unwrap();
    let commented = verifier().receive(&next(&mut requests).await).unwrap();
    assert_eq!(commented.notices[0].kind, ChangeKind::CommentCreated(comment.id));
    assert_eq!(commented.notices[0].item, ItemId::new(item.item.id.as_str()));
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn wrong_missing_malformed_and_foreign_deliveries_are_told_apart() {
    let simulator = simulator().await;
    let (url, mut requests) = hook_endpoint().await;
    let pat = simulator.service_account().pat.clone();

    simulator.subscribe_hook(target(&url, Some("tandem-hooks"), Some("guessed")));
    connector(&simulator).create_item(&fields(&[("System.Title", text("A"))]), None).await.unwrap();
    let wrong = verifier().receive(&next(&mut requests).await).unwrap_err();
    assert!(matches!(wrong, WebhookError::Unauthorized(_)), "{wrong}");

    let simulator = common::simulator().await;
    simulator.subscribe_hook(target(&url, None, None));
    connector(&simulator).create_item(&fields(&[("System.Title", text("B"))]), None).await.unwrap();
    let missing = verifier().receive(&next(&mut requests).await).unwrap_err();
    assert!(matches!(missing, WebhookError::Unauthorized(_)), "{missing}");

    let simulator = common::simulator().await;
    simulator.subscribe_hook(target(&url, Some("tandem-hooks"), Some("s3cret")));
    connector_for(&simulator, "Contoso", "Bug", &pat)
        .create_item(&fields(&[("System.Title", text("C"))]), None)
        .await
        .unwrap();
    let foreign = next(&mut requests).await;
    assert!(matches!(verifier().receive(&foreign), Err(WebhookError::Ignored(_))));

    let mut truncated = foreign.clone();
    truncated.body.truncate(truncated.body.len() / 2);
    assert!(matches!(verifier().receive(&truncated), Err(WebhookError::Malformed(_))));
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn paused_hooks_drop_events() {
    let simulator = simulator().await;
    let (url, mut requests) = hook_endpoint().await;
    simulator.subscribe_hook(target(&url, Some("tandem-hooks"), Some("s3cret")));
    simulator.pause_hooks();
    connector(&simulator).create_item(&fields(&[("System.Title", text("Missed"))]), None).await.unwrap();
    simulator.resume_hooks();
    connector(&simulator).create_item(&fields(&[("System.Title", text("Seen"))]), None).await.unwrap();
    simulator.hooks_settled().await;
    let delivered = verifier().receive(&next(&mut requests).await).unwrap();
    assert_eq!(delivered.notices[0].item, ItemId::new("2"));
    assert!(requests.try_recv().is_err());
    assert_eq!(simulator.stats().webhooks.dropped, 1);
    assert_no_violations(&simulator);
}
