//! The Azure DevOps simulator as people call it, following the vendor's documented examples: comments
//! read by id and their @mentions, people assigned by the `IdentityRef` the service answers with,
//! `bypassRules`, a link's comment edited in place, a new Bug's defaults, and the metadata reads
//! (work item types, their states, fields, tags).

mod common;

use common::AdoAs;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, RunningAzureDevops};

async fn start() -> RunningAzureDevops {
    AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the simulator starts")
}

fn id_of(work_item: &Value) -> u64 {
    work_item["id"].as_u64().expect("a work item id")
}

/// Every exchange so far matched the vendor's contract.
fn assert_no_violations(ado: &RunningAzureDevops) {
    let violations = ado.violations();
    assert!(violations.is_empty(), "{violations:#?}");
}

#[tokio::test]
async fn comments_asked_for_by_id_are_the_only_ones_answered() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let id = id_of(&service.create("Fabrikam", "Task", "Three comments").await);
    let mut comment_ids = Vec::new();
    for text in ["first", "second", "third"] {
        comment_ids.push(service.comment(id, text).await["id"].as_u64().expect("a comment id"));
    }

    let wanted = format!("{},{}", comment_ids[2], comment_ids[1]);
    let path = format!("Fabrikam/_apis/wit/workItems/{id}/comments?ids={wanted}&api-version=7.1-preview.4");
    let read = service.get(&path).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let texts: Vec<&str> =
        read.body["comments"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect();
    assert_eq!(texts, ["third", "second"], "the comments asked for, in the order asked");
    assert_eq!((read.body["count"].as_u64(), read.body["totalCount"].as_u64()), (Some(2), Some(2)));
    assert_no_violations(&ado);
}

#[tokio::test]
async fn a_mention_in_a_comment_is_listed_with_the_person_it_names() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let alice = ado.identity("alice@fabrikam.example").expect("Alice is a member");
    let id = id_of(&service.create("Fabrikam", "Task", "Needs Alice").await);

    let text =
        format!("<div><a href=\"#\" data-vss-mention=\"version:2.0,{}\">@Alice Doe</a> can you look?</div>", alice.id);
    let added = service.comment(id, &text).await;
    let expected = json!([{
        "artifactId": alice.id.to_string(),
        "artifactType": "Person",
        "commentId": added["id"],
        "targetId": alice.id.to_string(),
    }]);
    assert_eq!(added["mentions"], expected, "{added}");
    let path = format!("Fabrikam/_apis/wit/workItems/{id}/comments/{}?api-version=7.1-preview.4", added["id"]);
    assert_eq!(service.get(&path).await.body["mentions"], expected, "reads show it too");

    let plain = service.comment(id, "<p>no one in particular</p>").await;
    assert_eq!(plain["mentions"], json!([]));
    assert_no_violations(&ado);
}

#[tokio::test]
async fn assigned_to_takes_the_identity_ref_the_service_answers_with() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let alice = ado.identity("alice@fabrikam.example").expect("Alice is a member");
    let bob = ado.identity("bob@fabrikam.example").expect("Bob is a member");
    let id = id_of(&service.create("Fabrikam", "Task", "Hand over").await);

    // As the vendor's example sends it: the whole IdentityRef, after a rev test.
    let reference = json!({
        "displayName": alice.display_name,
        "id": alice.id.to_string(),
        "uniqueName": alice.email,
        "descriptor": alice.descriptor(),
    });
    let assign = json!([
        {"op": "test", "path": "/rev", "value": 1},
        {"op": "add", "path": "/fields/System.AssignedTo", "value": reference},
    ]);
    let assigned = service.update(id, "", &assign).await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    assert_eq!(assigned.body["fields"]["System.AssignedTo"]["uniqueName"], json!(alice.email));

    let by_descriptor =
        json!([{"op": "add", "path": "/fields/System.AssignedTo", "value": {"descriptor": bob.descriptor()}}]);
    let reassigned = service.update(id, "", &by_descriptor).await;
    assert_eq!(reassigned.body["fields"]["System.AssignedTo"]["id"], json!(bob.id.to_string()), "{}", reassigned.body);

    let stranger =
        json!([{"op": "add", "path": "/fields/System.AssignedTo", "value": {"uniqueName": "zoe@elsewhere.example"}}]);
    let refused = service.update(id, "", &stranger).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_no_violations(&ado);
}

#[tokio::test]
async fn bypass_rules_keeps_an_assigned_to_that_names_no_one() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let id = id_of(&service.create("Fabrikam", "Task", "Imported").await);
    let invalid = json!([{"op": "add", "path": "/fields/System.AssignedTo", "value": "Invalid Value"}]);

    let refused = service.update(id, "", &invalid).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "the rules refuse an unknown identity");
    let kept = service.update(id, "&bypassRules=true", &invalid).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert_eq!(kept.body["fields"]["System.AssignedTo"], json!("Invalid Value"), "as the vendor's example shows");
    assert_eq!(kept.body["rev"], 2);

    let bad_state = json!([{"op": "add", "path": "/fields/System.State", "value": "Doing"}]);
    let still_refused = service.update(id, "&bypassRules=true", &bad_state).await;
    assert_eq!(still_refused.status, StatusCode::BAD_REQUEST, "other checks still hold: {}", still_refused.body);
    assert_no_violations(&ado);
}

#[tokio::test]
async fn a_link_comment_is_replaced_through_its_attribute_path() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let task = id_of(&service.create("Fabrikam", "Task", "Depends on the other").await);
    let other = service.create("Fabrikam", "Task", "The other").await;
    let link = json!([{"op": "add", "path": "/relations/-", "value": {
        "rel": "System.LinkTypes.Dependency-Forward", "url": other["url"], "attributes": {"comment": "first thoughts"}
    }}]);
    assert_eq!(service.update(task, "", &link).await.status, StatusCode::OK);

    let recomment = json!([
        {"op": "test", "path": "/rev", "value": 2},
        {"op": "replace", "path": "/relations/0/attributes/comment", "value": "Adding traceability to dependencies"},
    ]);
    let replaced = service.update(task, "", &recomment).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    let relation = &replaced.body["relations"][0];
    assert_eq!(relation["attributes"]["comment"], "Adding traceability to dependencies");
    assert_eq!(relation["url"], other["url"], "the link itself is unchanged");

    let beyond = json!([{"op": "replace", "path": "/relations/5/attributes/comment", "value": "x"}]);
    assert_eq!(service.update(task, "", &beyond).await.status, StatusCode::BAD_REQUEST);
    assert_no_violations(&ado);
}

#[tokio::test]
async fn a_new_bug_has_medium_severity_and_no_empty_relations() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let bug = service.create("Fabrikam", "Bug", "First bug").await;
    assert_eq!(bug["fields"]["Microsoft.VSTS.Common.Severity"], "3 - Medium");
    assert!(bug.get("relations").is_none(), "no relations, no member: {bug}");
    let task = service.create("Fabrikam", "Task", "A task").await;
    assert!(task["fields"].get("Microsoft.VSTS.Common.Severity").is_none(), "only bugs have a severity");

    let read =
        service.get(&format!("Fabrikam/_apis/wit/workitems/{}?$expand=relations&api-version=7.1", id_of(&bug))).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.body.get("relations").is_none(), "{}", read.body);
    assert_no_violations(&ado);
}

#[tokio::test]
async fn work_item_types_their_states_and_fields_are_listed() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let types = service.get("Fabrikam/_apis/wit/workitemtypes?api-version=7.1").await;
    assert_eq!(types.status, StatusCode::OK, "{}", types.body);
    let names: Vec<&str> = types.body["value"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["Bug", "Task"]);
    assert_eq!(types.body["count"], 2);

    let states = service.get("Fabrikam/_apis/wit/workitemtypes/Bug/states?api-version=7.1").await;
    let states: Vec<(&str, &str)> = states.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|state| (state["name"].as_str().unwrap(), state["category"].as_str().unwrap()))
        .collect();
    assert_eq!(states[0], ("New", "Proposed"));
    assert_eq!(states.last(), Some(&("Closed", "Completed")));
    let unknown = service.get("Fabrikam/_apis/wit/workitemtypes/Epic/states?api-version=7.1").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let fields = service.get("_apis/wit/fields?api-version=7.1").await;
    assert!(fields.body["value"].as_array().unwrap().iter().any(|field| field["referenceName"] == "System.Title"));
    let assigned_to = service.get("Fabrikam/_apis/wit/fields/System.AssignedTo?api-version=7.1").await;
    assert_eq!(
        (assigned_to.body["name"].as_str(), assigned_to.body["isIdentity"].as_bool()),
        (Some("Assigned To"), Some(true))
    );
    let by_name = service.get("_apis/wit/fields/Iteration%20Path?api-version=7.1").await;
    assert_eq!(by_name.body["type"], "treePath", "{}", by_name.body);
    let missing = service.get("_apis/wit/fields/Custom.Nope?api-version=7.1").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_no_violations(&ado);
}

#[tokio::test]
async fn the_tags_work_items_carry_are_the_projects_tags() {
    let ado = start().await;
    let service = AdoAs::service(&ado);
    let id = id_of(&service.create("Fabrikam", "Task", "Tagged").await);
    let tag = json!([{"op": "add", "path": "/fields/System.Tags", "value": "ui; Backend"}]);
    assert_eq!(service.update(id, "", &tag).await.status, StatusCode::OK);

    let tags = service.get("Fabrikam/_apis/wit/tags?api-version=7.1").await;
    assert_eq!(tags.status, StatusCode::OK, "{}", tags.body);
    let names: Vec<&str> = tags.body["value"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["ui", "Backend"]);
    let contoso = service.get("Contoso/_apis/wit/tags?api-version=7.1").await;
    assert_eq!(contoso.body["count"], 0, "tags belong to a project");

    let backend = service.get("Fabrikam/_apis/wit/tags/backend?api-version=7.1").await;
    assert_eq!(backend.body["name"], "Backend");
    let by_id =
        service.get(&format!("Fabrikam/_apis/wit/tags/{}?api-version=7.1", backend.body["id"].as_str().unwrap())).await;
    assert_eq!(by_id.body["name"], "Backend");
    assert_eq!(service.get("Fabrikam/_apis/wit/tags/nope?api-version=7.1").await.status, StatusCode::NOT_FOUND);
    assert_no_violations(&ado);
}
