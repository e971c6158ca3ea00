//! People editing work items between a reader's read and its write: the one-shot edits a test queues
//! with `RunningAzureDevops::change_after`, and the meddling the fault plan's `meddle_rate` draws after
//! the service account reads a work item. Either edit is made as that person would make it through the
//! API (a JSON Patch document), service hook included, once the triggering call is answered.

use super::api::hook_event;
use super::identity::SimIdentity;
use super::patch;
use super::state::WriteOptions;
use super::{fields, Shared};
use crate::meddling::meddled_title;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// An edit a person makes to one work item, as through `PATCH …/_apis/wit/workitems/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItemEdit {
    pub id: u32,
    /// A JSON Patch document: an array of `{"op", "path", "value"}`.
    pub operations: Value,
    /// The e-mail of the person editing.
    pub email: String,
}

impl WorkItemEdit {
    pub fn new(id: u32, operations: Value, email: impl Into<String>) -> Self {
        WorkItemEdit { id, operations, email: email.into() }
    }
}

/// Called once a call is answered: makes the edits waiting for it, and maybe a meddle.
pub(super) fn after_answer(shared: &Shared, method: &Method, path: &str, reader: &SimIdentity, status: StatusCode) {
    for edit in shared.change_after.take_matching(method.as_str(), path) {
        make_person_edit(shared, &edit);
    }
    if reader.id == shared.service_account && status == StatusCode::OK {
        if let Some(id) = read_work_item(method, path) {
            maybe_meddle(shared, id);
        }
    }
}

/// The work item a `GET {org}/{project}/_apis/wit/workitems/{id}` read.
fn read_work_item(method: &Method, path: &str) -> Option<u32> {
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    match segments.as_slice() {
        [_, _, apis, wit, workitems, id]
            if method == Method::GET
                && apis.eq_ignore_ascii_case("_apis")
                && wit.eq_ignore_ascii_case("wit")
                && workitems.eq_ignore_ascii_case("workitems") =>
        {
            id.parse().ok()
        }
        _ => None,
    }
}

/// Makes `edit` as its person, service hook included; a refused edit is logged, as a person would give
/// up.
fn make_person_edit(shared: &Shared, edit: &WorkItemEdit) {
    if let Err(message) = try_person_edit(shared, edit) {
        tracing::warn!(work_item = edit.id, %message, "a simulated person's edit was refused");
    }
}

fn try_person_edit(shared: &Shared, edit: &WorkItemEdit) -> Result<(), String> {
    let operations = patch::parse(&edit.operations).map_err(|error| error.message)?;
    let mut organization = shared.organization();
    let person = organization
        .identities
        .iter()
        .find(|identity| identity.email.eq_ignore_ascii_case(&edit.email))
        .cloned()
        .ok_or_else(|| format!("nobody has the e-mail {}", edit.email))?;
    let project = organization.items.get(&edit.id).map(|item| item.project.clone()).ok_or("no such work item")?;
    let (item, change) = organization
        .update(&project, edit.id, &operations, &person, WriteOptions::default())
        .map_err(|error| error.message)?;
    if let Some(change) = change {
        shared.publish(&hook_event(shared, &organization, &change, &item));
    }
    Ok(())
}

/// With the plan's `meddle_rate`, the meddling person retitles the work item just read.
fn maybe_meddle(shared: &Shared, id: u32) {
    let Some(meddler) = shared.meddler.clone() else {
        return;
    };
    let Some(number) = shared.faults.draw_meddle() else {
        return;
    };
    let title = {
        let organization = shared.organization();
        let title = organization.items.get(&id).and_then(|item| item.fields.get(fields::TITLE)).and_then(Value::as_str);
        title.unwrap_or_default().to_string()
    };
    let operations =
        json!([{"op": "add", "path": format!("/fields/{}", fields::TITLE), "value": meddled_title(&title, number)}]);
    make_person_edit(shared, &WorkItemEdit::new(id, operations, meddler));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_read_of_one_work_item_is_meddled_with() {
        assert_eq!(read_work_item(&Method::GET, "/fabrikam/Fabrikam/_apis/wit/workItems/7"), Some(7));
        assert_eq!(read_work_item(&Method::GET, "/fabrikam/Fabrikam/_apis/wit/workitems/7/comments"), None);
        assert_eq!(read_work_item(&Method::PATCH, "/fabrikam/Fabrikam/_apis/wit/workitems/7"), None);
        assert_eq!(read_work_item(&Method::GET, "/fabrikam/Fabrikam/_apis/wit/workitems/$Bug"), None);
    }
}
