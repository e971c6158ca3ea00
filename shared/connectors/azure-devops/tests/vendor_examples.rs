//! The vendor's own HTTP examples parse into the connector's wire models.

use serde_json::Value;
use std::path::PathBuf;
use tandem_azure_devops::{convert, wire};

fn examples_dir() -> PathBuf {
    tandem_contract_check::contracts_dir()
        .expect("the contracts folder is found")
        .join("azure-devops")
        .join("wit-7.1-examples")
}

/// Every example file whose name starts with `prefix`, as `(name, document)`; the files start with a BOM.
fn examples(prefix: &str) -> Vec<(String, Value)> {
    let mut found: Vec<(String, Value)> = std::fs::read_dir(examples_dir())
        .expect("the examples folder is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(prefix)))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("an example is readable");
            let document = serde_json::from_str(text.trim_start_matches('\u{feff}')).expect("an example is JSON");
            (path.file_name().unwrap().to_string_lossy().into_owned(), document)
        })
        .collect();
    found.sort_by(|left, right| left.0.cmp(&right.0));
    assert!(!found.is_empty(), "no examples start with {prefix}");
    found
}

fn ok_body(document: &Value) -> Option<&Value> {
    document.pointer("/responses/200/body").filter(|body| !body.is_null())
}

#[test]
fn every_work_item_get_and_patch_response_parses() {
    let mut parsed = 0;
    for prefix in [
        "workItems__GET__wit_WorkItems_id.",
        "workItems__GET__wit_WorkItems_id__",
        "workItems__PATCH_",
        "workItems__POST_",
    ] {
        for (name, document) in examples(prefix) {
            let body = ok_body(&document).unwrap_or_else(|| panic!("{name} has a 200 body"));
            let work_item: wire::WorkItem =
                serde_json::from_value(body.clone()).unwrap_or_else(|error| panic!("{name}: {error}"));
            if work_item.fields.contains_key(convert::CHANGED_DATE) {
                convert::item_from_wire(&work_item, "https://dev.azure.com/fabrikam/P")
                    .unwrap_or_else(|error| panic!("{name}: {error}"));
            }
            parsed += 1;
        }
    }
    for (name, document) in examples("workItems__GET__wit_WorkItems_ids") {
        let body = ok_body(&document).unwrap_or_else(|| panic!("{name} has a 200 body"));
        let list: wire::Collection<Option<wire::WorkItem>> =
            serde_json::from_value(body.clone()).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(!list.value.is_empty(), "{name}");
        parsed += 1;
    }
    assert!(parsed >= 20, "only {parsed} examples parsed");
}

#[test]
fn every_comments_api_response_parses() {
    let mut parsed = 0;
    for (name, document) in examples("comments__") {
        let Some(body) = ok_body(&document) else {
            continue;
        };
        // The `…__taskId__comments…` files show the retired revision-comments API (`revision`, `revisedBy`,
        // api-version 3.0-preview); the connector uses the comments API, whose answers have `text` and
        // `createdDate` and a comment id.
        if body.get("revision").is_some() || body.get("value").is_some() {
            assert!(name.contains("taskId__comments"), "{name} looks like the revision-comments API");
            continue;
        }
        if body.get("comments").is_some() {
            let list: wire::CommentList =
                serde_json::from_value(body.clone()).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert!(!list.comments.is_empty(), "{name}");
            list.comments.iter().map(convert::comment_from_wire).for_each(drop);
        } else {
            let comment: wire::Comment =
                serde_json::from_value(body.clone()).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert!(!comment.text.is_empty(), "{name}");
            assert!(comment.created_by.is_some(), "{name}");
        }
        parsed += 1;
    }
    assert!(parsed >= 6, "only {parsed} comment examples parsed");
}

#[test]
fn the_wiql_and_batch_examples_parse() {
    for (name, document) in examples("wiql__GET__wit_get_id_workitems") {
        let result: wire::WorkItemQueryResult = serde_json::from_value(ok_body(&document).unwrap().clone())
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(!result.work_items.is_empty(), "{name}");
    }
    for (name, document) in examples("workItemsBatch__") {
        let list: wire::Collection<Option<wire::WorkItem>> =
            serde_json::from_value(ok_body(&document).unwrap().clone())
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(!list.value.is_empty(), "{name}");
    }
    for (name, document) in examples("workItemTypes__GET__wit_workItemTypes_Bug") {
        let work_item_type: wire::WorkItemType = serde_json::from_value(ok_body(&document).unwrap().clone())
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(work_item_type.name, "Bug");
    }
}
