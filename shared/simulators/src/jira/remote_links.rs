//! Remote issue links (`/rest/api/3/issue/{issueIdOrKey}/remotelink`): links from an issue to an object
//! elsewhere (a Salesforce Case, a page), kept per issue. A link posted with a `globalId` the issue
//! already has replaces that link, as Jira documents ("if a link with the globalId exists it is
//! updated"), so a client may post the same link again.

use super::error::ApiError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteLink {
    pub id: u64,
    pub global_id: Option<String>,
    pub relationship: Option<String>,
    pub application: Option<Value>,
    /// `url` and `title` at least; `summary`, `icon`, `status` as posted.
    pub object: Value,
}

#[derive(Debug, Clone)]
pub struct RemoteLinks {
    by_issue: BTreeMap<u64, Vec<RemoteLink>>,
    next_id: u64,
}

impl Default for RemoteLinks {
    fn default() -> Self {
        RemoteLinks { by_issue: BTreeMap::new(), next_id: 10000 }
    }
}

impl RemoteLinks {
    pub fn of(&self, issue: u64) -> &[RemoteLink] {
        self.by_issue.get(&issue).map_or(&[], Vec::as_slice)
    }

    /// Adds the link `body` describes, or replaces the issue's link with its `globalId`: its id, and
    /// whether it is new.
    pub fn put(&mut self, issue: u64, body: &Value) -> Result<(u64, bool), ApiError> {
        let object = body.get("object").and_then(Value::as_object).ok_or_else(|| missing("object"))?;
        for field in ["url", "title"] {
            if object.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(missing(&format!("object.{field}")));
            }
        }
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        let links = self.by_issue.entry(issue).or_default();
        let global_id = text("globalId");
        let existing =
            global_id.as_ref().and_then(|global| links.iter().position(|link| link.global_id.as_ref() == Some(global)));
        let id = existing.map_or(self.next_id, |index| links[index].id);
        let link = RemoteLink {
            id,
            global_id,
            relationship: text("relationship"),
            application: body.get("application").filter(|value| value.is_object()).cloned(),
            object: Value::Object(object.clone()),
        };
        match existing {
            Some(index) => links[index] = link,
            None => {
                links.push(link);
                self.next_id += 1;
            }
        }
        Ok((id, existing.is_none()))
    }

    pub fn delete(&mut self, issue: u64, id: u64) -> Result<(), ApiError> {
        let links = self.by_issue.entry(issue).or_default();
        let before = links.len();
        links.retain(|link| link.id != id);
        match links.len() < before {
            true => Ok(()),
            false => Err(not_found()),
        }
    }

    pub fn get(&self, issue: u64, id: u64) -> Result<&RemoteLink, ApiError> {
        self.of(issue).iter().find(|link| link.id == id).ok_or_else(not_found)
    }
}

fn missing(field: &str) -> ApiError {
    ApiError::bad_request(format!("The remote link's `{field}` is required."))
}

fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "No remote link with this id exists on the issue.")
}

/// `self` of a link: `{base}/rest/api/3/issue/{issue}/remotelink/{id}`.
pub fn link_self(base_url: &str, issue: u64, id: u64) -> String {
    format!("{base_url}/rest/api/3/issue/{issue}/remotelink/{id}")
}

/// A link as `GET …/remotelink` answers it (`RemoteIssueLink`).
pub fn link_json(base_url: &str, issue: u64, link: &RemoteLink) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(link.id));
    out.insert("self".into(), json!(link_self(base_url, issue, link.id)));
    if let Some(global) = &link.global_id {
        out.insert("globalId".into(), json!(global));
    }
    if let Some(application) = &link.application {
        out.insert("application".into(), application.clone());
    }
    if let Some(relationship) = &link.relationship {
        out.insert("relationship".into(), json!(relationship));
    }
    out.insert("object".into(), link.object.clone());
    Value::Object(out)
}
