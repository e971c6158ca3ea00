//! Comments: add, edit, list (oldest first, across pages), with ADF bodies.

mod common;

use common::*;
use tandem_engine::ports::{Connector, ConnectorError};
use tandem_model::{CommentId, ItemId, RichText};
use tandem_simulators::jira::SimUser;

#[tokio::test]
async fn adds_edits_and_lists_comments() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let item = jira.create_item(&fields(&[("summary", text("talk"))]), None).await.unwrap();
    let id = &item.item.id;

    let first = jira.add_comment(id, &rich("first")).await.unwrap();
    let second = jira.add_comment(id, &rich("second")).await.unwrap();
    assert_eq!(
        first.author.as_ref().map(|author| author.id.as_str()),
        Some(SimUser::service_account().account_id.as_str())
    );
    assert_eq!(first.created, first.updated);

    let edited = jira.update_comment(id, &first.id, &rich("first, edited")).await.unwrap();
    assert_eq!(edited.id, first.id);
    assert!(edited.updated > first.updated);

    let listed = jira.list_comments(id).await.unwrap();
    assert_eq!(
        listed.iter().map(|comment| comment.id.clone()).collect::<Vec<_>>(),
        [first.id.clone(), second.id.clone()]
    );
    assert_eq!(listed[0].body, RichText::Adf(adf("first, edited")));
    // A comment changes the issue, so polling sees it.
    assert!(jira.get_item(id).await.unwrap().updated >= edited.updated);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn lists_more_comments_than_one_page() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let item = jira.create_item(&fields(&[("summary", text("chatty"))]), None).await.unwrap();
    for number in 0..103 {
        jira.add_comment(&item.item.id, &rich(&format!("comment {number}"))).await.unwrap();
    }
    let listed = jira.list_comments(&item.item.id).await.unwrap();
    assert_eq!(listed.len(), 103);
    assert_eq!(listed[102].body, RichText::Adf(adf("comment 102")));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn invalid_bodies_and_unknown_comments_are_refused() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let item = jira.create_item(&fields(&[("summary", text("x"))]), None).await.unwrap();
    let html = jira.add_comment(&item.item.id, &RichText::Html("<p>hi</p>".into())).await.unwrap_err();
    assert!(matches!(html, ConnectorError::Invalid { .. }), "{html:?}");
    let not_adf = RichText::Adf(serde_json::json!({"type": "paragraph"}));
    let refused = jira.add_comment(&item.item.id, &not_adf).await.unwrap_err();
    assert!(matches!(&refused, ConnectorError::FieldRefused { field, .. } if field == "comment"), "{refused:?}");
    let missing = jira.update_comment(&item.item.id, &CommentId("1".into()), &rich("x")).await.unwrap_err();
    assert!(matches!(missing, ConnectorError::NotFound { .. }), "{missing:?}");
    let no_issue = jira.list_comments(&ItemId::new("424242")).await.unwrap_err();
    assert!(matches!(no_issue, ConnectorError::NotFound { .. }), "{no_issue:?}");
    assert_no_violations(&sim);
}
