//! Work items through the connector: create, read, update, state changes, WIQL paging and watermarks.

mod common;

use common::{assert_no_violations, connector, connector_as, connector_for, fields, simulator, text};
use serde_json::json;
use tandem_engine::ports::{Connector, ConnectorError};
use tandem_model::{FieldValue, ItemId, ItemVersion, RichText};
use tandem_simulators::azure_devops::WorkItemEdit;

#[tokio::test]
async fn creates_reads_and_updates_a_work_item() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let alice = simulator.identity("alice@fabrikam.example").expect("alice is configured");

    let created = connector
        .create_item(
            &fields(&[
                ("System.Title", text("Login fails")),
                ("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0)),
                ("System.Description", FieldValue::RichText(RichText::Html("<p>Steps</p>".into()))),
                ("System.Tags", FieldValue::List(vec!["sync".into(), "ui".into()])),
                (
                    "System.AssignedTo",
                    FieldValue::User(tandem_model::UserRef {
                        id: "ignored-on-write".into(),
                        email: Some(alice.email.clone()),
                        display_name: None,
                    }),
                ),
            ]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(created.revision, Some(1));
    assert_eq!(created.field("System.State"), &text("New"));
    assert_eq!(
        created.updated_by.as_ref().map(|user| user.id.clone()),
        Some(simulator.service_account().id.to_string())
    );

    let read = connector.get_item(&created.item.id).await.unwrap();
    assert_eq!(read.field("System.Title"), &text("Login fails"));
    assert_eq!(read.field("Microsoft.VSTS.Common.Priority"), &FieldValue::Number(1.0));
    assert_eq!(read.field("System.Tags"), &FieldValue::List(vec!["sync".into(), "ui".into()]));
    assert_eq!(read.field("System.Description"), &FieldValue::RichText(RichText::Html("<p>Steps</p>".into())));
    match read.field("System.AssignedTo") {
        FieldValue::User(user) => {
            assert_eq!(user.id, alice.id.to_string());
            assert_eq!(user.email.as_deref(), Some(alice.email.as_str()));
            assert_eq!(user.display_name.as_deref(), Some(alice.display_name.as_str()));
        }
        other => panic!("AssignedTo should be a user, got {other:?}"),
    }
    assert!(read
        .item
        .url
        .as_deref()
        .is_some_and(|url| url.ends_with(&format!("/Fabrikam/_workitems/edit/{}", read.item.id))));

    connector
        .update_item(
            &read.item.id,
            &fields(&[("System.State", text("Active")), ("System.Tags", FieldValue::Empty)]),
            &ItemVersion::UNCHECKED,
        )
        .await
        .unwrap();
    let updated = connector.get_item(&read.item.id).await.unwrap();
    assert_eq!(updated.field("System.State"), &text("Active"));
    assert_eq!(updated.field("System.Tags"), &FieldValue::Empty);
    assert_eq!(updated.field("System.Title"), &text("Login fails"), "fields not given stay as they were");
    assert_eq!(updated.revision, Some(2));
    assert!(updated.updated > read.updated);
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn refusals_are_permanent_errors_that_keep_the_service_message() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let created = connector.create_item(&fields(&[("System.Title", text("T"))]), None).await.unwrap();

    let refused = connector
        .update_item(&created.item.id, &fields(&[("System.State", text("Doing"))]), &ItemVersion::UNCHECKED)
        .await
        .unwrap_err();
    assert!(!refused.is_retryable());
    assert!(refused.to_string().contains("TF401320"), "{refused}");

    let unknown_user = fields(&[("System.AssignedTo", text("nobody@elsewhere.example"))]);
    let refused = connector.update_item(&created.item.id, &unknown_user, &ItemVersion::UNCHECKED).await.unwrap_err();
    assert!(refused.to_string().contains("unknown identity"), "{refused}");

    let missing = connector.get_item(&ItemId::new("999")).await.unwrap_err();
    assert!(matches!(missing, ConnectorError::NotFound { .. }), "{missing}");

    let wrong_pat = connector_as(&simulator, "not-a-pat");
    assert!(matches!(
        wrong_pat.get_item(&created.item.id).await,
        Err(ConnectorError::Unauthorized { status: 401, .. })
    ));
    common::assert_only_undeclared_error_statuses(&simulator);
}

#[tokio::test]
async fn a_human_edit_is_attributed_to_the_human() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let alice = connector_as(&simulator, "alice-pat");
    let created = connector.create_item(&fields(&[("System.Title", text("T"))]), None).await.unwrap();
    alice
        .update_item(&created.item.id, &fields(&[("System.Title", text("Edited by Alice"))]), &ItemVersion::UNCHECKED)
        .await
        .unwrap();
    let read = connector.get_item(&created.item.id).await.unwrap();
    assert_eq!(read.updated_by.and_then(|user| user.email).as_deref(), Some("alice@fabrikam.example"));
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn changed_since_pages_beyond_200_ids_and_includes_the_watermark_instant() {
    let simulator = simulator().await;
    let connector = connector(&simulator).with_query_page(90);
    let start = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut created = Vec::new();
    for number in 0..230 {
        created.push(
            connector.create_item(&fields(&[("System.Title", text(&format!("Item {number}")))]), None).await.unwrap(),
        );
    }
    // A Task in the same project and a Bug in another project are outside the connector's scope.
    let pat = simulator.service_account().pat.clone();
    connector_for(&simulator, "Fabrikam", "Task", &pat)
        .create_item(&fields(&[("System.Title", text("A task"))]), None)
        .await
        .unwrap();
    connector_for(&simulator, "Contoso", "Bug", &pat)
        .create_item(&fields(&[("System.Title", text("Elsewhere"))]), None)
        .await
        .unwrap();

    let all = connector.changed_since(start).await.unwrap();
    assert_eq!(all.len(), 230);
    assert!(all.windows(2).all(|pair| pair[0].updated <= pair[1].updated), "oldest first");
    let ids: std::collections::BTreeSet<_> = all.iter().map(|item| item.item.id.clone()).collect();
    assert_eq!(ids.len(), 230, "no duplicates across pages");

    // The watermark is inclusive: an item changed exactly at the watermark instant comes back.
    let watermark = created[150].updated;
    let since = connector.changed_since(watermark).await.unwrap();
    assert_eq!(since.first().map(|item| item.item.id.clone()), Some(created[150].item.id.clone()));
    assert_eq!(since.len(), 80);

    assert_eq!(connector.project_last_updated().await.unwrap(), Some(created[229].updated));
    assert_no_violations(&simulator);
}

/// A page is one batch read (200 work items) however many the query lists, so a poll holds a batch:
/// the next page's query lists the rest again, and nothing is returned twice or passed over.
#[tokio::test]
async fn a_page_holds_one_batch_read_however_many_the_query_lists() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let start = chrono::Utc::now() - chrono::Duration::seconds(1);
    for number in 0..230 {
        connector.create_item(&fields(&[("System.Title", text(&format!("Item {number}")))]), None).await.unwrap();
    }
    let (mut token, mut sizes, mut ids) = (None, Vec::new(), std::collections::BTreeSet::new());
    loop {
        let page = connector.changed_page(start, token.as_ref()).await.unwrap();
        sizes.push(page.items.len());
        ids.extend(page.items.iter().map(|item| item.item.id.clone()));
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert!(sizes.iter().all(|size| *size <= 200), "{sizes:?}");
    assert_eq!((sizes.iter().sum::<usize>(), ids.len()), (230, 230), "{sizes:?}");
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn an_empty_project_has_no_last_update() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    assert_eq!(connector.project_last_updated().await.unwrap(), None);
    assert!(connector.changed_since(chrono::Utc::now()).await.unwrap().is_empty());
    assert_no_violations(&simulator);
}

/// A work item changed between a WIQL query and the read of its page comes back with a later
/// `ChangedDate` than the query ordered it by. Starting the next page there would skip every item
/// between; the next page starts at the newest date of the items that did not change.
#[tokio::test]
async fn an_item_changed_during_a_page_read_makes_no_other_item_be_skipped() {
    let simulator = simulator().await;
    let connector = connector(&simulator).with_query_page(10);
    let start = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut created = Vec::new();
    for number in 0..25 {
        created.push(
            connector.create_item(&fields(&[("System.Title", text(&format!("Item {number}")))]), None).await.unwrap(),
        );
    }
    // Right after the first query, Alice edits the first item: the read that follows sees it changed now.
    let first: u32 = created[0].item.id.as_str().parse().unwrap();
    let retitle = json!([{"op": "add", "path": "/fields/System.Title", "value": "Item 0, edited meanwhile"}]);
    simulator.change_after("POST", "/_apis/wit/wiql", WorkItemEdit::new(first, retitle, "alice@fabrikam.example"));

    let read = connector.changed_since(start).await.unwrap();
    let ids: std::collections::BTreeSet<_> = read.iter().map(|item| item.item.id.clone()).collect();
    assert_eq!(ids.len(), 25, "every item was read: {} of 25", ids.len());
    assert_no_violations(&simulator);
}

/// A write carries a `test` of the revision it was computed from: a person's edit made in between is
/// not overwritten, and the refusal says the item changed (nothing was written).
#[tokio::test]
async fn a_write_made_from_an_older_revision_is_refused_and_changes_nothing() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let alice = connector_as(&simulator, "alice-pat");
    let created = connector.create_item(&fields(&[("System.Title", text("T"))]), None).await.unwrap();
    let read = connector.get_item(&created.item.id).await.unwrap();
    alice
        .update_item(&created.item.id, &fields(&[("System.Title", text("Alice's title"))]), &ItemVersion::UNCHECKED)
        .await
        .unwrap();

    let refused = connector
        .update_item(&created.item.id, &fields(&[("System.Title", text("tandem's title"))]), &read.version())
        .await
        .unwrap_err();
    assert!(matches!(refused, ConnectorError::Changed { .. }), "{refused:?}");
    assert!(refused.is_retryable());
    let now = connector.get_item(&created.item.id).await.unwrap();
    assert_eq!(now.field("System.Title"), &text("Alice's title"), "the person's edit stands");

    let written = connector
        .update_item(&created.item.id, &fields(&[("System.Title", text("tandem's title"))]), &now.version())
        .await
        .unwrap()
        .expect("the service answers with the written work item");
    assert!(written.is_after(&now.version()), "the write made a newer revision");
    common::assert_only_undeclared_error_statuses(&simulator);
}
