//! Exactly-once creation: a copy carries its origin from the create request on, and `find_copy` finds
//! it again (after a crash between creating it and storing the link) without mistaking anything else for it.

mod common;

use chrono::{TimeDelta, Utc};
use common::{assert_no_violations, connector, connector_as, fields, simulator, text};
use tandem_azure_devops::copy::HYPERLINK;
use tandem_engine::ports::{Connector, CopyOrigin};
use tandem_model::{ItemId, Side};

fn origin(item: &str) -> CopyOrigin {
    CopyOrigin {
        integration: "ops-sync".into(),
        side: Side::One,
        item: ItemId::new(item),
        url: Some(format!("https://acme.atlassian.net/browse/{item}")),
    }
}

#[tokio::test]
async fn a_copy_is_found_by_its_origin_and_nothing_else_is() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let before = Utc::now();
    let plain = connector.create_item(&fields(&[("System.Title", text("No origin"))]), None).await.unwrap();
    let copy =
        connector.create_item(&fields(&[("System.Title", text("Copied"))]), Some(&origin("OPS-7"))).await.unwrap();
    assert_eq!(copy.revision, Some(1), "the origin is written by the create request itself");

    let found = connector.find_copy(&origin("OPS-7"), before).await.unwrap().expect("the copy is found");
    assert_eq!(found.item.id, copy.item.id);
    assert_eq!(found.field("System.Title"), &text("Copied"));
    assert_eq!(found.item.url, copy.item.url);
    assert_eq!(connector.find_copy(&origin("OPS-8"), before).await.unwrap(), None);
    let other_side = CopyOrigin { side: Side::Two, ..origin("OPS-7") };
    assert_eq!(connector.find_copy(&other_side, before).await.unwrap(), None);

    // The create request carried the hyperlink; the one without an origin carried no relation.
    let creates: Vec<_> = simulator
        .exchanges()
        .into_iter()
        .filter(|exchange| exchange.method == "POST" && exchange.path.ends_with("/workitems/$Bug"))
        .collect();
    assert_eq!(creates.len(), 2);
    let relations = |index: usize| -> Vec<serde_json::Value> {
        creates[index].request_body.as_ref().and_then(|body| body.as_array()).map_or_else(Vec::new, |operations| {
            operations.iter().filter(|operation| operation["path"] == "/relations/-").cloned().collect()
        })
    };
    assert!(relations(0).is_empty(), "item {} was created without an origin", plain.item.id);
    let stamped = relations(1);
    assert_eq!(stamped.len(), 1);
    assert_eq!(stamped[0]["value"]["rel"], HYPERLINK);
    assert_eq!(stamped[0]["value"]["url"], "https://acme.atlassian.net/browse/OPS-7");
    assert_eq!(stamped[0]["value"]["attributes"]["comment"], origin("OPS-7").marker());
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn a_work_item_someone_else_created_with_the_marker_is_not_a_copy() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let alice = connector_as(&simulator, "alice-pat");
    let before = Utc::now();
    alice.create_item(&fields(&[("System.Title", text("Alice's"))]), Some(&origin("OPS-7"))).await.unwrap();
    assert_eq!(connector.find_copy(&origin("OPS-7"), before).await.unwrap(), None);
    assert!(alice.find_copy(&origin("OPS-7"), before).await.unwrap().is_some(), "Alice finds her own");
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn a_copy_created_before_the_window_is_not_found() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let without_url = CopyOrigin { url: None, ..origin("OPS-7") };
    let copy = connector.create_item(&fields(&[("System.Title", text("Old"))]), Some(&without_url)).await.unwrap();
    // The window opens a minute before `created_since` to allow for clock skew; start well after that.
    let later = copy.updated + TimeDelta::minutes(5);
    assert_eq!(connector.find_copy(&without_url, later).await.unwrap(), None);
    let found = connector.find_copy(&without_url, copy.updated + TimeDelta::seconds(30)).await.unwrap();
    assert_eq!(found.map(|item| item.item.id), Some(copy.item.id), "a skew of seconds is tolerated");
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn finding_a_copy_pages_through_many_created_work_items() {
    let simulator = simulator().await;
    let connector = connector(&simulator).with_query_page(3);
    let before = Utc::now();
    for number in 0..7 {
        connector.create_item(&fields(&[("System.Title", text(&format!("Item {number}")))]), None).await.unwrap();
    }
    let copy = connector.create_item(&fields(&[("System.Title", text("Copy"))]), Some(&origin("OPS-9"))).await.unwrap();
    let found = connector.find_copy(&origin("OPS-9"), before).await.unwrap();
    assert_eq!(found.map(|item| item.item.id), Some(copy.item.id));
    assert_no_violations(&simulator);
}
