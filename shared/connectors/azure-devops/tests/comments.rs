//! Comments through the connector: add, edit, list (HTML, comments API 7.1-preview.4).

mod common;

use common::{assert_no_violations, connector, connector_as, fields, simulator, text};
use tandem_engine::ports::Connector;
use tandem_model::{CommentId, RichText};

#[tokio::test]
async fn adds_edits_and_lists_comments_and_each_bumps_the_item() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let item = connector.create_item(&fields(&[("System.Title", text("T"))]), None).await.unwrap();
    let id = item.item.id.clone();

    let first = connector.add_comment(&id, &RichText::Html("<p>First</p>".into())).await.unwrap();
    assert_eq!(first.body, RichText::Html("<p>First</p>".into()));
    assert_eq!(first.author.as_ref().map(|user| user.id.clone()), Some(simulator.service_account().id.to_string()));
    let alice = connector_as(&simulator, "alice-pat");
    let second = alice.add_comment(&id, &RichText::Html("<p>From Alice</p>".into())).await.unwrap();

    let edited =
        connector.update_comment(&id, &first.id, &RichText::Html("<p>First, edited</p>".into())).await.unwrap();
    assert_eq!(edited.id, first.id);
    assert!(edited.updated > first.updated);
    assert_eq!(edited.created, first.created);

    let listed = connector.list_comments(&id).await.unwrap();
    assert_eq!(
        listed.iter().map(|comment| comment.id.clone()).collect::<Vec<_>>(),
        vec![first.id.clone(), second.id.clone()]
    );
    assert_eq!(listed[0].body, RichText::Html("<p>First, edited</p>".into()));
    assert_eq!(listed[1].author.as_ref().and_then(|user| user.email.as_deref()), Some("alice@fabrikam.example"));

    // Like the service, every comment write is a revision of the work item.
    let reread = connector.get_item(&id).await.unwrap();
    assert_eq!(reread.revision, Some(4));
    assert!(reread.updated >= edited.updated);
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn lists_comments_across_pages() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let item = connector.create_item(&fields(&[("System.Title", text("Chatty"))]), None).await.unwrap();
    for number in 0..205 {
        connector.add_comment(&item.item.id, &RichText::Html(format!("<p>{number}</p>"))).await.unwrap();
    }
    let listed = connector.list_comments(&item.item.id).await.unwrap();
    assert_eq!(listed.len(), 205);
    assert_eq!(listed[204].body, RichText::Html("<p>204</p>".into()));
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn adf_bodies_and_foreign_edits_are_refused() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let item = connector.create_item(&fields(&[("System.Title", text("T"))]), None).await.unwrap();
    let adf = RichText::Adf(serde_json::json!({"type": "doc", "version": 1, "content": []}));
    assert!(connector.add_comment(&item.item.id, &adf).await.is_err());

    let alice = connector_as(&simulator, "alice-pat");
    let theirs = alice.add_comment(&item.item.id, &RichText::Html("<p>mine</p>".into())).await.unwrap();
    let refused = connector.update_comment(&item.item.id, &theirs.id, &RichText::Html("x".into())).await.unwrap_err();
    assert!(!refused.is_retryable());
    let missing = connector.update_comment(&item.item.id, &CommentId("999".into()), &RichText::Html("x".into())).await;
    assert!(missing.is_err());
    common::assert_only_undeclared_error_statuses(&simulator);
}
