//! Exactly-once copies: a copy is created with the origin marker as an issue property in the create
//! request itself, and `find_copy` finds it again among the service account's recent issues only.

mod common;

use chrono::{Duration, Utc};
use common::*;
use serde_json::{json, Value};
use tandem_engine::ports::{Connector, CopyOrigin};
use tandem_jira::{Repeat, ORIGIN_PROPERTY};
use tandem_model::{ItemId, Side};
use tandem_simulators::jira::SimUser;

fn origin(item: &str) -> CopyOrigin {
    CopyOrigin {
        integration: "ops-sync".into(),
        side: Side::One,
        item: ItemId::new(item),
        url: Some(format!("https://dev.azure.com/acme/ops/_workitems/edit/{item}")),
    }
}

#[tokio::test]
async fn a_copy_is_stamped_in_its_create_request_and_found_again() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let since = Utc::now() - Duration::seconds(1);
    let copy = jira.create_item(&fields(&[("summary", text("copied"))]), Some(&origin("42"))).await.unwrap();

    let creates: Vec<_> = sim.exchanges().into_iter().filter(|exchange| exchange.path == "/rest/api/3/issue").collect();
    assert_eq!(creates.len(), 1);
    let sent = creates[0].request_body.as_ref().and_then(|body| body.get("properties")).cloned();
    assert_eq!(
        sent,
        Some(json!([{"key": "tandem.origin", "value": {
            "marker": origin("42").marker(), "integration": "ops-sync", "side": "1", "item": "42"
        }}]))
    );
    assert!(
        !sim.exchanges().iter().any(|exchange| exchange.path.contains("/properties/")),
        "the marker must not need a second request"
    );

    let found = jira.find_copy(&origin("42"), since).await.unwrap().expect("the copy is found");
    assert_eq!(found.item.id, copy.item.id);
    assert_eq!(found.field("summary"), &text("copied"));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn another_origin_or_an_unmarked_issue_is_not_a_copy() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let since = Utc::now() - Duration::seconds(1);
    jira.create_item(&fields(&[("summary", text("copy of 42"))]), Some(&origin("42"))).await.unwrap();
    let plain = jira.create_item(&fields(&[("summary", text("no origin"))]), None).await.unwrap();

    assert_eq!(jira.find_copy(&origin("43"), since).await.unwrap(), None);
    let other_integration = CopyOrigin { integration: "other".into(), ..origin("42") };
    assert_eq!(jira.find_copy(&other_integration, since).await.unwrap(), None);
    let create = sim.exchanges().into_iter().find(|exchange| {
        exchange.request_body.as_ref().and_then(|body| body.pointer("/fields/summary")) == Some(&json!("no origin"))
    });
    assert_eq!(
        create.and_then(|exchange| exchange.request_body).and_then(|body| body.get("properties").cloned()),
        None
    );
    let path = format!("/rest/api/3/issue/{}/properties/{ORIGIN_PROPERTY}", plain.item.id);
    let missing = person(&sim, &SimUser::service_account()).get::<Value>(&path, &[]).await;
    assert!(missing.is_err(), "an issue created without origin has no marker: {missing:?}");
    assert_no_violations(&sim);
}

#[tokio::test]
async fn an_issue_someone_else_created_with_the_marker_is_not_adopted() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let since = Utc::now() - Duration::seconds(1);
    let alice = person(&sim, &SimUser::alice());
    let body = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "look-alike"}});
    let created: Value = alice.send(reqwest::Method::POST, "/rest/api/3/issue", &body, Repeat::Unsafe).await.unwrap();
    let id = created["id"].as_str().expect("Jira answers with the new issue's id");
    let marker = json!({"marker": origin("42").marker(), "integration": "ops-sync", "side": "1", "item": "42"});
    alice
        .send_without_answer(
            reqwest::Method::PUT,
            &format!("/rest/api/3/issue/{id}/properties/{ORIGIN_PROPERTY}"),
            &marker,
            Repeat::Safe,
        )
        .await
        .unwrap();

    assert_eq!(jira.find_copy(&origin("42"), since).await.unwrap(), None);
    // The same issue counts once the service account is its creator: the filter, not the marker, excluded it.
    let mine = jira.create_item(&fields(&[("summary", text("real copy"))]), Some(&origin("42"))).await.unwrap();
    assert_eq!(jira.find_copy(&origin("42"), since).await.unwrap().map(|item| item.item.id), Some(mine.item.id));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn a_copy_created_before_the_window_is_not_found() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let copy = jira.create_item(&fields(&[("summary", text("old copy"))]), Some(&origin("42"))).await.unwrap();
    let created = copy.updated;

    assert_eq!(jira.find_copy(&origin("42"), created + Duration::minutes(2)).await.unwrap(), None);
    assert!(jira.find_copy(&origin("42"), created).await.unwrap().is_some());
    assert_no_violations(&sim);
}

#[tokio::test]
async fn the_search_pages_through_the_service_accounts_recent_issues() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let since = Utc::now() - Duration::seconds(1);
    for number in 0..100 {
        jira.create_item(&fields(&[("summary", text(&format!("issue {number}")))]), None).await.unwrap();
    }
    let copy = jira.create_item(&fields(&[("summary", text("the copy"))]), Some(&origin("42"))).await.unwrap();

    let found = jira.find_copy(&origin("42"), since).await.unwrap();
    assert_eq!(found.map(|item| item.item.id), Some(copy.item.id));
    let searches: Vec<_> =
        sim.exchanges().into_iter().filter(|exchange| exchange.path == "/rest/api/3/search/jql").collect();
    assert_eq!(searches.len(), 2, "the copy is the 101st issue, on the second page");
    let second = searches[1].request_body.as_ref().expect("a search body");
    assert!(second.get("nextPageToken").is_none(), "pages go by key, not by Jira's offset tokens: {second}");
    assert!(second["jql"].as_str().is_some_and(|jql| jql.contains("key > ")), "{second}");
    assert_no_violations(&sim);
}
