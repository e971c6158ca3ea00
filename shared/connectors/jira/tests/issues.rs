//! Creating, reading, editing and transitioning issues through the connector.

mod common;

use common::*;
use tandem_engine::ports::{Connector, ConnectorError};
use tandem_model::{FieldValue, ItemId, ItemVersion, RichText, UserRef};
use tandem_simulators::jira::SimUser;

#[tokio::test]
async fn creates_an_issue_and_reads_it_back() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let alice = SimUser::alice();
    let created = jira
        .create_item(
            &fields(&[
                ("summary", text("Printer on fire")),
                ("description", FieldValue::RichText(rich("Smoke everywhere"))),
                ("priority", text("High")),
                ("labels", FieldValue::List(vec!["hardware".into(), "urgent".into()])),
                (
                    "assignee",
                    FieldValue::User(UserRef { id: alice.account_id.clone(), email: None, display_name: None }),
                ),
            ]),
            None,
        )
        .await
        .unwrap();

    assert_eq!(created.item.key.as_deref(), Some("OPS-1"));
    assert_eq!(created.item.url, Some(format!("{}/browse/OPS-1", sim.base_url())));
    let read = jira.get_item(&created.item.id).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.field("summary"), &text("Printer on fire"));
    assert_eq!(read.field("description"), &FieldValue::RichText(RichText::Adf(adf("Smoke everywhere"))));
    assert_eq!(read.field("priority"), &text("High"));
    assert_eq!(read.field("status"), &text("To Do"));
    assert_eq!(read.field("labels"), &FieldValue::List(vec!["hardware".into(), "urgent".into()]));
    let FieldValue::User(assignee) = read.field("assignee") else { panic!("no assignee: {read:?}") };
    assert_eq!(assignee.email.as_deref(), Some("alice@example.com"));
    let FieldValue::User(reporter) = read.field("reporter") else { panic!("no reporter: {read:?}") };
    assert_eq!(reporter.id, SimUser::service_account().account_id);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn creating_in_a_status_transitions_after_creation() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let created = jira
        .create_item(&fields(&[("summary", text("Already started")), ("status", text("in progress"))]), None)
        .await
        .unwrap();
    assert_eq!(created.field("status"), &text("In Progress"));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn updates_fields_and_moves_the_status_through_transitions() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let item = jira.create_item(&fields(&[("summary", text("Old"))]), None).await.unwrap();
    let id = &item.item.id;

    jira.update_item(
        id,
        &fields(&[("summary", text("New")), ("priority", text("Lowest")), ("status", text("In Progress"))]),
        &ItemVersion::UNCHECKED,
    )
    .await
    .unwrap();
    let read = jira.get_item(id).await.unwrap();
    assert_eq!(read.field("summary"), &text("New"));
    assert_eq!(read.field("priority"), &text("Lowest"));
    assert_eq!(read.field("status"), &text("In Progress"));
    assert!(read.updated > item.updated);

    jira.update_item(
        id,
        &fields(&[("status", text("DONE")), ("description", FieldValue::Empty), ("labels", FieldValue::Empty)]),
        &ItemVersion::UNCHECKED,
    )
    .await
    .unwrap();
    assert_eq!(jira.get_item(id).await.unwrap().field("status"), &text("Done"));

    // Already there: no transition is needed, and none is made.
    let writes = sim.stats().writes;
    jira.update_item(id, &fields(&[("status", text("Done"))]), &ItemVersion::UNCHECKED).await.unwrap();
    assert_eq!(sim.stats().writes, writes);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn a_status_no_transition_leads_to_is_a_no_transition_error() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let item = jira.create_item(&fields(&[("summary", text("Stuck"))]), None).await.unwrap();
    let error = jira
        .update_item(&item.item.id, &fields(&[("status", text("Won't Fix"))]), &ItemVersion::UNCHECKED)
        .await
        .unwrap_err();
    match &error {
        ConnectorError::NoTransition { from, to, item: named, .. } => {
            assert_eq!((from.as_str(), to.as_str()), ("To Do", "Won't Fix"));
            assert_eq!(named, item.item.id.as_str());
        }
        other => panic!("expected NoTransition, got {other:?}"),
    }
    assert!(!error.is_retryable());
    let after = jira.get_item(&item.item.id).await.unwrap();
    assert_eq!(after.field("status"), &text("To Do"), "a walk that found no way goes back to where it started");
    assert_no_violations(&sim);
}

/// Done has no transition to In Progress in the workflow: the issue is reopened, then started, as a
/// person would move it.
#[tokio::test]
async fn a_status_no_transition_leads_to_straight_is_reached_through_the_workflow() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let item = jira.create_item(&fields(&[("summary", text("Reopened"))]), None).await.unwrap();
    let id = &item.item.id;
    jira.update_item(id, &fields(&[("status", text("Done"))]), &ItemVersion::UNCHECKED).await.unwrap();
    jira.update_item(id, &fields(&[("status", text("In Progress"))]), &ItemVersion::UNCHECKED).await.unwrap();
    assert_eq!(jira.get_item(id).await.unwrap().field("status"), &text("In Progress"));
    assert_no_violations(&sim);
}

#[tokio::test]
async fn an_unknown_issue_is_not_found_and_a_bad_value_is_a_permanent_error() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let missing = jira.get_item(&ItemId::new("99999")).await.unwrap_err();
    assert!(matches!(&missing, ConnectorError::NotFound { item, .. } if item == "99999"), "{missing:?}");

    let item = jira.create_item(&fields(&[("summary", text("x"))]), None).await.unwrap();
    let refused = jira
        .update_item(&item.item.id, &fields(&[("priority", text("Catastrophic"))]), &ItemVersion::UNCHECKED)
        .await
        .unwrap_err();
    assert!(matches!(&refused, ConnectorError::FieldRefused { field, .. } if field == "priority"), "{refused:?}");
    assert!(!refused.is_retryable());
    assert!(refused.to_string().contains("priority"), "{refused}");
    // The simulator answered the bad value with Jira's error shape, which the contract accepts too.
    assert_no_violations(&sim);
}
