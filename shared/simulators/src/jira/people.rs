//! People editing issues between a reader's read and its write: the one-shot edits a test queues with
//! `RunningJira::change_after`, and the meddling the fault plan's `meddle_rate` draws after the service
//! account reads an issue. Either edit is made as that person would make it through the API, webhook
//! included, once the triggering request is answered.

use super::Sim;
use crate::meddling::meddled_title;
use crate::recording::AuthenticatedUser;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};
use std::sync::Arc;

/// An edit a person makes to one issue, as through `PUT /rest/api/3/issue/{key}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonEdit {
    /// The issue's key or id.
    pub issue: String,
    /// A body as for `PUT /rest/api/3/issue/{key}`: `fields` and/or `update`.
    pub body: Value,
    /// The accountId of the person editing.
    pub account_id: String,
}

impl PersonEdit {
    pub fn new(issue: impl Into<String>, body: Value, account_id: impl Into<String>) -> Self {
        PersonEdit { issue: issue.into(), body, account_id: account_id.into() }
    }
}

/// The path of `GET /rest/api/3/issue/{issueIdOrKey}`, up to the key.
const ISSUE_PATH: &str = "/rest/api/3/issue/";

/// The middleware around the API: answers the request, then makes the edits it triggers.
pub(super) async fn after_answer(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    for edit in sim.change_after.take_matching(method.as_str(), &path) {
        sim.make_person_edit(&edit);
    }
    let reader = response.extensions().get::<AuthenticatedUser>().map(|user| user.0.as_str());
    if let Some(issue) = read_issue(&method, &path, response.status()) {
        if reader.is_some_and(|reader| sim.is_service_account(reader)) {
            sim.maybe_meddle(issue);
        }
    }
    response
}

/// The issue a successful `GET /rest/api/3/issue/{key}` read.
fn read_issue<'a>(method: &Method, path: &'a str, status: StatusCode) -> Option<&'a str> {
    let issue = path.strip_prefix(ISSUE_PATH)?;
    (method == Method::GET && status == StatusCode::OK && !issue.is_empty() && !issue.contains('/')).then_some(issue)
}

impl Sim {
    /// Makes `edit` as its person, webhook included; a refused edit is logged, as a person would give up.
    fn make_person_edit(&self, edit: &PersonEdit) {
        let made = self.change(&edit.account_id, true, |site| {
            Ok(((), site.edit_issue(&edit.account_id, &edit.issue, &edit.body)?))
        });
        if let Err(error) = made {
            tracing::warn!(issue = %edit.issue, ?error, "a simulated person's edit was refused");
        }
    }

    /// With the plan's `meddle_rate`, the meddling person retitles the issue just read.
    fn maybe_meddle(&self, issue: &str) {
        let Some(meddler) = self.meddler.clone() else {
            return;
        };
        let Some(number) = self.faults.draw_meddle() else {
            return;
        };
        let summary = match self.site().issue(issue) {
            Ok(record) => record.summary.clone(),
            Err(_) => return,
        };
        let body = json!({ "fields": { "summary": meddled_title(&summary, number) } });
        self.make_person_edit(&PersonEdit::new(issue, body, meddler));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_successful_read_of_one_issue_is_meddled_with() {
        let read = |method: Method, path, status| read_issue(&method, path, status);
        assert_eq!(read(Method::GET, "/rest/api/3/issue/OPS-1", StatusCode::OK), Some("OPS-1"));
        assert_eq!(read(Method::GET, "/rest/api/3/issue/OPS-1/comment", StatusCode::OK), None);
        assert_eq!(read(Method::GET, "/rest/api/3/issue/OPS-9", StatusCode::NOT_FOUND), None);
        assert_eq!(read(Method::PUT, "/rest/api/3/issue/OPS-1", StatusCode::OK), None);
    }
}
