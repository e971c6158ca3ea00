//! The simulated Jira site's state and the rules of changing it: issues, their fields and workflow,
//! comments (in `comments`), properties, users and their permissions, and what lagging searches see.

mod attachments;
mod comments;

pub use attachments::{AttachmentRecord, Upload, MAX_ATTACHMENT_BYTES};
pub use comments::{property_not_found, CommentRecord};

use comments::NewComment;

use super::error::ApiError;
use super::security::{self, SimSecurityLevel};
use super::workflow::{self, IssueType, Priority, Status};
use super::{SimProject, SimUser};
use crate::faults::{Faults, SearchLag};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone)]
pub struct ProjectRecord {
    pub project: SimProject,
    next_number: u64,
}

impl ProjectRecord {
    /// A project without issues yet.
    pub fn new(project: SimProject) -> Self {
        ProjectRecord { project, next_number: 1 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssueRecord {
    pub id: u64,
    pub key: String,
    pub project_key: String,
    pub issue_type: IssueType,
    pub summary: String,
    pub description: Option<Value>,
    pub priority: Priority,
    pub status: Status,
    pub assignee: Option<String>,
    pub reporter: Option<String>,
    /// Who created the issue; unlike the reporter it never changes.
    pub creator: String,
    pub labels: Vec<String>,
    /// The issue security level, one of the project's.
    pub security: Option<SimSecurityLevel>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub properties: BTreeMap<String, Value>,
    pub comments: Vec<CommentRecord>,
    pub attachments: Vec<AttachmentRecord>,
    /// The values of the site's custom text fields, by field id.
    pub custom: BTreeMap<String, String>,
    /// Every change made since creation, oldest first (`GET /issue/{key}/changelog`).
    pub changelog: Vec<History>,
}

/// One change of an issue: who changed which fields when, as the changelog lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub id: u64,
    pub author: String,
    pub created: Timestamp,
    pub items: Vec<ChangeItem>,
}

/// One changed field, as a webhook's `changelog.items` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeItem {
    pub field: String,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// What an API call changed, for the webhook it triggers.
#[derive(Debug, Clone, PartialEq)]
pub enum SiteEvent {
    IssueCreated {
        issue: u64,
    },
    IssueUpdated {
        issue: u64,
        changelog_id: u64,
        items: Vec<ChangeItem>,
        transition: bool,
    },
    CommentCreated {
        issue: u64,
        comment: u64,
    },
    CommentUpdated {
        issue: u64,
        comment: u64,
    },
    /// The comment as it was before it was deleted.
    CommentDeleted {
        issue: u64,
        comment: Box<CommentRecord>,
    },
    /// The issue as it was before it was deleted.
    IssueDeleted {
        issue: Box<IssueRecord>,
    },
}

/// Validates an ADF document; the caller decides which schema (the simulator uses the official one).
pub type AdfCheck = fn(&Value) -> Result<(), String>;

pub struct Site {
    pub base_url: String,
    pub projects: Vec<ProjectRecord>,
    pub users: Vec<SimUser>,
    pub issues: BTreeMap<u64, IssueRecord>,
    adf_check: AdfCheck,
    /// What searches see: changes show after the fault plan's `search_lag_ms`.
    search_lag: SearchLag<IssueRecord>,
    next_issue_id: u64,
    next_comment_id: u64,
    next_changelog_id: u64,
    next_attachment_id: u64,
    last_instant: Timestamp,
    /// Links from issues to objects elsewhere.
    pub remote_links: super::remote_links::RemoteLinks,
}

impl Site {
    pub fn new(base_url: String, projects: Vec<SimProject>, users: Vec<SimUser>, adf_check: AdfCheck) -> Self {
        Site {
            base_url,
            projects: projects.into_iter().map(ProjectRecord::new).collect(),
            users,
            issues: BTreeMap::new(),
            adf_check,
            search_lag: SearchLag::default(),
            next_issue_id: 10000,
            next_comment_id: 10000,
            next_changelog_id: 10000,
            next_attachment_id: 10000,
            last_instant: DateTime::<Utc>::MIN_UTC,
            remote_links: Default::default(),
        }
    }

    /// Searches lag behind changes as the plan of `faults` says.
    #[must_use]
    pub fn lagging_with(mut self, faults: Faults) -> Self {
        self.search_lag = SearchLag::new(faults);
        self
    }

    /// Brings what searches see up to now.
    pub fn settle_search_view(&mut self) {
        self.search_lag.settle_now();
    }

    /// The issues as searches see them, as of the last [`settle_search_view`](Self::settle_search_view).
    pub fn search_view(&self) -> impl Iterator<Item = &IssueRecord> {
        self.search_lag.visible(self.issues.values().map(|issue| (issue.id, issue)))
    }

    /// The current instant at Jira's millisecond precision, strictly later than any instant handed out
    /// before, so every change gets its own `updated`.
    pub fn tick(&mut self) -> Timestamp {
        let now = Utc::now().duration_trunc(Duration::milliseconds(1)).unwrap_or_else(|_| Utc::now());
        let next = if now > self.last_instant { now } else { self.last_instant + Duration::milliseconds(1) };
        self.last_instant = next;
        next
    }

    pub fn authenticate(&self, email: &str, api_token: &str) -> Option<&SimUser> {
        self.users.iter().find(|user| user.email.eq_ignore_ascii_case(email) && user.api_token == api_token)
    }

    pub fn user(&self, account_id: &str) -> Option<&SimUser> {
        self.users.iter().find(|user| user.account_id == account_id)
    }

    /// Adds a user, or replaces the one with the same accountId.
    pub fn upsert_user(&mut self, user: SimUser) {
        match self.users.iter_mut().find(|existing| existing.account_id == user.account_id) {
            Some(existing) => *existing = user,
            None => self.users.push(user),
        }
    }

    pub fn require(&self, account_id: &str, permission: &str) -> Result<(), ApiError> {
        match self.user(account_id) {
            Some(user) if user.permissions.contains(permission) => Ok(()),
            _ => Err(ApiError::forbidden(permission)),
        }
    }

    pub fn project(&self, id_or_key: &str) -> Option<&ProjectRecord> {
        self.projects
            .iter()
            .find(|record| record.project.id == id_or_key || record.project.key.eq_ignore_ascii_case(id_or_key))
    }

    pub fn issue(&self, id_or_key: &str) -> Result<&IssueRecord, ApiError> {
        let id = self.issue_id(id_or_key)?;
        self.issues.get(&id).ok_or_else(ApiError::issue_not_found)
    }

    fn issue_id(&self, id_or_key: &str) -> Result<u64, ApiError> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            return Ok(id);
        }
        self.issues
            .values()
            .find(|issue| issue.key.eq_ignore_ascii_case(id_or_key))
            .map(|issue| issue.id)
            .ok_or_else(ApiError::issue_not_found)
    }

    /// `POST /issue`: `fields` must name a project and an issue type and carry a summary; `update`
    /// operations apply as on an edit (a creation has no changelog, so they report no change).
    pub fn create_issue(&mut self, actor: &str, body: &Value) -> Result<(u64, Vec<SiteEvent>), ApiError> {
        let fields = fields_object(body)?;
        let project_key = {
            let project =
                fields.get("project").ok_or_else(|| ApiError::field("project", "Specify a valid project ID or key"))?;
            let wanted = reference(project, "key").or_else(|| reference(project, "id")).unwrap_or_default();
            self.project(&wanted)
                .ok_or_else(|| ApiError::field("project", "Specify a valid project ID or key"))?
                .project
                .key
                .clone()
        };
        self.require(actor, "CREATE_ISSUES")?;
        let issue_type = fields
            .get("issuetype")
            .and_then(|kind| {
                workflow::find_issue_type(
                    kind.get("id").and_then(Value::as_str),
                    kind.get("name").and_then(Value::as_str),
                )
            })
            .ok_or_else(|| ApiError::field("issuetype", "Specify an issue type"))?;
        if fields.get("summary").and_then(Value::as_str).is_none_or(|summary| summary.trim().is_empty()) {
            return Err(ApiError::field("summary", "You must specify a summary of the issue."));
        }
        let properties = entity_properties(body)?;
        let now = self.tick();
        let mut issue = IssueRecord {
            id: self.next_issue_id,
            key: String::new(),
            project_key: project_key.clone(),
            issue_type,
            summary: String::new(),
            description: None,
            priority: workflow::DEFAULT_PRIORITY,
            status: workflow::INITIAL_STATUS,
            assignee: None,
            reporter: Some(actor.to_string()),
            creator: actor.to_string(),
            labels: Vec::new(),
            security: None,
            created: now,
            updated: now,
            properties,
            comments: Vec::new(),
            attachments: Vec::new(),
            custom: BTreeMap::new(),
            changelog: Vec::new(),
        };
        for (name, value) in fields.iter().filter(|(name, _)| !matches!(name.as_str(), "project" | "issuetype")) {
            self.apply_field(&mut issue, name, value)?;
        }
        let (_, comments) = self.apply_updates(actor, &mut issue, body)?;
        let project = self
            .projects
            .iter_mut()
            .find(|record| record.project.key == project_key)
            .ok_or_else(|| ApiError::field("project", "Specify a valid project ID or key"))?;
        issue.key = format!("{}-{}", project.project.key, project.next_number);
        project.next_number += 1;
        self.next_issue_id += 1;
        let id = issue.id;
        self.store(issue);
        let mut events = vec![SiteEvent::IssueCreated { issue: id }];
        events.extend(self.add_comments(actor, id, comments)?);
        Ok((id, events))
    }

    /// `PUT /issue/{key}`: sets the fields in `fields` and applies `update` operations (comments they add
    /// included); no events when nothing changed (no new `updated`, no webhook).
    pub fn edit_issue(&mut self, actor: &str, id_or_key: &str, body: &Value) -> Result<Vec<SiteEvent>, ApiError> {
        let id = self.issue_id(id_or_key)?;
        self.require(actor, "EDIT_ISSUES")?;
        let mut staged = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let mut items = self.apply_fields(&mut staged, body)?;
        let (updated, comments) = self.apply_updates(actor, &mut staged, body)?;
        items.extend(updated);
        self.commit_with_comments(actor, staged, items, false, comments)
    }

    /// The request's `fields`, set on a staged issue.
    fn apply_fields(&self, staged: &mut IssueRecord, body: &Value) -> Result<Vec<ChangeItem>, ApiError> {
        let Some(fields) = body.get("fields") else {
            return Ok(Vec::new());
        };
        let fields = fields.as_object().ok_or_else(|| ApiError::bad_request("`fields` must be an object"))?;
        let mut items = Vec::new();
        for (name, value) in fields {
            items.extend(self.apply_field(staged, name, value)?);
        }
        Ok(items)
    }

    /// The request's `update` operations, applied to a staged issue. The comments they add come back
    /// apart: checked now, so that a bad one refuses the whole request, they are added once the issue's
    /// own changes are stored (each with its `comment_created`, as Jira sends).
    fn apply_updates(
        &self,
        actor: &str,
        staged: &mut IssueRecord,
        body: &Value,
    ) -> Result<(Vec<ChangeItem>, Vec<NewComment>), ApiError> {
        let Some(update) = body.get("update") else {
            return Ok((Vec::new(), Vec::new()));
        };
        let update = update.as_object().ok_or_else(|| ApiError::bad_request("`update` must be an object"))?;
        let (mut items, mut comments) = (Vec::new(), Vec::new());
        for (name, operations) in update {
            if name == "comment" {
                comments.extend(self.comment_operations(actor, operations)?);
            } else {
                items.extend(self.apply_operations(staged, name, operations)?);
            }
        }
        Ok((items, comments))
    }

    /// Commits a staged issue, then adds the comments the request carried.
    fn commit_with_comments(
        &mut self,
        actor: &str,
        staged: IssueRecord,
        items: Vec<ChangeItem>,
        transition: bool,
        comments: Vec<NewComment>,
    ) -> Result<Vec<SiteEvent>, ApiError> {
        let id = staged.id;
        let mut events: Vec<SiteEvent> = self.commit(actor, staged, items, transition).into_iter().collect();
        events.extend(self.add_comments(actor, id, comments)?);
        Ok(events)
    }

    /// `DELETE /issue/{key}`: the issue is gone for good (Jira Cloud has no recycle bin for issues).
    pub fn delete_issue(&mut self, actor: &str, id_or_key: &str) -> Result<SiteEvent, ApiError> {
        let id = self.issue_id(id_or_key)?;
        self.require(actor, "DELETE_ISSUES")?;
        let issue = self.issues.remove(&id).ok_or_else(ApiError::issue_not_found)?;
        Ok(SiteEvent::IssueDeleted { issue: Box::new(issue) })
    }

    /// `PUT /issue/{key}/assignee`: assigns the issue to `{"accountId": …}`, or to nobody with
    /// `{"accountId": null}`; `"-1"` picks the project's default assignee (here: nobody, the projects
    /// having no lead). Needs *Assign issues*, not *Edit issues*, as in Jira.
    pub fn assign(&mut self, actor: &str, id_or_key: &str, body: &Value) -> Result<Option<SiteEvent>, ApiError> {
        let id = self.issue_id(id_or_key)?;
        self.require(actor, "ASSIGN_ISSUES")?;
        let mut staged = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let account = match body.get("accountId") {
            Some(Value::Null) => Value::Null,
            Some(Value::String(account)) if account == "-1" => Value::Null,
            Some(Value::String(account)) => serde_json::json!({ "accountId": account }),
            _ => return Err(ApiError::bad_request("accountId must be specified (a string, or null to unassign)")),
        };
        let items = self.apply_field(&mut staged, "assignee", &account)?.into_iter().collect();
        Ok(self.commit(actor, staged, items, false))
    }

    /// `POST /issue/{key}/transitions`: moves the issue along the workflow, setting its `fields` and applying
    /// its `update` operations (comments they add included); a transition not available from its status
    /// is rejected as Jira does.
    pub fn transition(&mut self, actor: &str, id_or_key: &str, body: &Value) -> Result<Vec<SiteEvent>, ApiError> {
        let id = self.issue_id(id_or_key)?;
        self.require(actor, "TRANSITION_ISSUES")?;
        let mut staged = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let wanted = body
            .get("transition")
            .and_then(|transition| reference(transition, "id"))
            .ok_or_else(|| ApiError::bad_request("Missing transition id."))?;
        let transition = workflow::transitions_from(staged.status)
            .find(|transition| transition.id == wanted)
            .ok_or_else(|| ApiError::bad_request(format!("Transition id '{wanted}' is not valid for this issue.")))?;
        let mut items = vec![ChangeItem {
            field: "status".into(),
            from: Some(staged.status.id.into()),
            from_string: Some(staged.status.name.into()),
            to: Some(transition.to.id.into()),
            to_string: Some(transition.to.name.into()),
        }];
        staged.status = transition.to;
        items.extend(self.apply_fields(&mut staged, body)?);
        let (updated, comments) = self.apply_updates(actor, &mut staged, body)?;
        items.extend(updated);
        self.commit_with_comments(actor, staged, items, true, comments)
    }

    /// Stores a staged issue changed by `actor`, its changes kept in its changelog; nothing when no field
    /// changed.
    fn commit(
        &mut self,
        actor: &str,
        mut staged: IssueRecord,
        items: Vec<ChangeItem>,
        transition: bool,
    ) -> Option<SiteEvent> {
        if items.is_empty() {
            return None;
        }
        staged.updated = self.tick();
        let changelog_id = self.next_changelog_id;
        self.next_changelog_id += 1;
        staged.changelog.push(History {
            id: changelog_id,
            author: actor.to_string(),
            created: staged.updated,
            items: items.clone(),
        });
        let issue = staged.id;
        self.store(staged);
        Some(SiteEvent::IssueUpdated { issue, changelog_id, items, transition })
    }

    /// Keeps `issue` as the issue's current state (searches may see the change later).
    fn store(&mut self, issue: IssueRecord) {
        self.search_lag.store(&mut self.issues, issue.id, issue);
    }

    /// Sets one field on a staged issue; the change item when the value changed.
    fn apply_field(&self, issue: &mut IssueRecord, name: &str, value: &Value) -> Result<Option<ChangeItem>, ApiError> {
        match name {
            "summary" => {
                let summary = value
                    .as_str()
                    .filter(|summary| !summary.trim().is_empty())
                    .ok_or_else(|| ApiError::field("summary", "You must specify a summary of the issue."))?;
                if summary.chars().count() > 255 {
                    return Err(ApiError::field("summary", "Summary must be less than 255 characters."));
                }
                let old = std::mem::replace(&mut issue.summary, summary.to_string());
                Ok(change(name, None, Some(old), None, Some(summary.to_string())))
            }
            "description" => {
                let description = match value {
                    Value::Null => None,
                    doc => {
                        (self.adf_check)(doc).map_err(|reason| {
                            ApiError::field(
                                "description",
                                format!("Operation value must be an Atlassian Document: {reason}"),
                            )
                        })?;
                        Some(doc.clone())
                    }
                };
                let old = std::mem::replace(&mut issue.description, description.clone());
                if old == description {
                    return Ok(None);
                }
                let text = |doc: &Option<Value>| doc.as_ref().map(super::render::adf_to_text);
                Ok(Some(ChangeItem {
                    field: name.into(),
                    from: None,
                    from_string: text(&old),
                    to: None,
                    to_string: text(&description),
                }))
            }
            "priority" => {
                let priority = workflow::find_priority(
                    value.get("id").and_then(Value::as_str),
                    value.get("name").and_then(Value::as_str),
                )
                .ok_or_else(|| {
                    ApiError::field("priority", "Specify the Priority (id or name) in the correct format")
                })?;
                let old = std::mem::replace(&mut issue.priority, priority);
                Ok(change(
                    name,
                    Some(old.id.into()),
                    Some(old.name.into()),
                    Some(priority.id.into()),
                    Some(priority.name.into()),
                ))
            }
            "assignee" | "reporter" => {
                let account = match value {
                    Value::Null => None,
                    user => {
                        let account = reference(user, "accountId")
                            .ok_or_else(|| ApiError::field(name, "Specify a user by accountId"))?;
                        if self.user(&account).is_none() {
                            return Err(ApiError::field(name, format!("User '{account}' cannot be assigned issues.")));
                        }
                        Some(account)
                    }
                };
                let slot = if name == "assignee" { &mut issue.assignee } else { &mut issue.reporter };
                let old = std::mem::replace(slot, account.clone());
                let display = |account: &Option<String>| {
                    account.as_deref().and_then(|id| self.user(id)).map(|user| user.display_name.clone())
                };
                Ok(change(name, old.clone(), display(&old), account.clone(), display(&account)))
            }
            "labels" => {
                let labels = value
                    .as_array()
                    .ok_or_else(|| ApiError::field("labels", "Labels must be an array of strings"))?
                    .iter()
                    .map(|label| match label.as_str() {
                        Some(label) if label.is_empty() || label.contains(char::is_whitespace) => Err(ApiError::field(
                            "labels",
                            format!("The label '{label}' contains spaces which is invalid."),
                        )),
                        Some(label) => Ok(label.to_string()),
                        None => Err(ApiError::field("labels", "Labels must be an array of strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(self.set_labels(issue, labels))
            }
            "security" => {
                let levels = self.project(&issue.project_key).map(|project| project.project.security_levels.as_slice());
                let level = security::find(levels.unwrap_or_default(), value)?;
                let old = std::mem::replace(&mut issue.security, level.clone());
                let level_id = |level: &Option<SimSecurityLevel>| level.as_ref().map(|level| level.id.clone());
                let level_name = |level: &Option<SimSecurityLevel>| level.as_ref().map(|level| level.name.clone());
                Ok(change(name, level_id(&old), level_name(&old), level_id(&level), level_name(&level)))
            }
            // Jira Cloud lets an edit change the type when both types share the workflow and the field
            // configuration, as the site's types all do (a move to another project is another matter).
            "issuetype" => {
                let kind = workflow::find_issue_type(
                    reference(value, "id").as_deref(),
                    value.get("name").and_then(Value::as_str),
                )
                .ok_or_else(|| ApiError::field("issuetype", "The issue type selected is invalid."))?;
                let old = std::mem::replace(&mut issue.issue_type, kind);
                Ok(change(
                    name,
                    Some(old.id.into()),
                    Some(old.name.into()),
                    Some(kind.id.into()),
                    Some(kind.name.into()),
                ))
            }
            "status" => Err(ApiError::field(
                "status",
                "Field 'status' cannot be set. It is not on the appropriate screen, or unknown.",
            )),
            custom if super::render::CUSTOM_TEXT_FIELDS.iter().any(|(id, _)| *id == custom) => {
                let text = match value {
                    Value::Null => None,
                    Value::String(text) if text.chars().count() <= 255 => Some(text.clone()),
                    Value::String(_) => {
                        return Err(ApiError::field(
                            custom,
                            "The entered text is too long. It exceeds the allowed limit of 255 characters.",
                        ))
                    }
                    _ => return Err(ApiError::field(custom, "Operation value must be a string")),
                };
                let old = match &text {
                    Some(text) => issue.custom.insert(custom.to_string(), text.clone()),
                    None => issue.custom.remove(custom),
                };
                Ok(change(custom, None, old, None, text))
            }
            other => Err(ApiError::field(
                other,
                format!("Field '{other}' cannot be set. It is not on the appropriate screen, or unknown."),
            )),
        }
    }

    /// `update: {"labels": [{"add": "x"}, {"remove": "y"}], "summary": [{"set": "…"}]}`.
    fn apply_operations(
        &self,
        issue: &mut IssueRecord,
        name: &str,
        operations: &Value,
    ) -> Result<Vec<ChangeItem>, ApiError> {
        let operations =
            operations.as_array().ok_or_else(|| ApiError::field(name, "Update operations must be an array"))?;
        let mut items = Vec::new();
        for operation in operations {
            match (name, operation.get("set"), operation.get("add"), operation.get("remove")) {
                (_, Some(value), None, None) => items.extend(self.apply_field(issue, name, value)?),
                ("labels", None, Some(Value::String(label)), None) => {
                    let mut labels = issue.labels.clone();
                    if !labels.contains(label) {
                        labels.push(label.clone());
                    }
                    items.extend(self.apply_field(issue, name, &serde_json::json!(labels))?);
                }
                ("labels", None, None, Some(Value::String(label))) => {
                    let labels: Vec<String> =
                        issue.labels.iter().filter(|existing| *existing != label).cloned().collect();
                    items.extend(self.set_labels(issue, labels));
                }
                _ => return Err(ApiError::field(name, format!("Unsupported update operation on '{name}'"))),
            }
        }
        Ok(items)
    }

    fn set_labels(&self, issue: &mut IssueRecord, labels: Vec<String>) -> Option<ChangeItem> {
        let old = std::mem::replace(&mut issue.labels, labels.clone());
        change("labels", None, Some(old.join(" ")), None, Some(labels.join(" ")))
    }

    pub fn set_property(&mut self, actor: &str, id_or_key: &str, key: &str, value: Value) -> Result<bool, ApiError> {
        let id = self.issue_id(id_or_key)?;
        self.require(actor, "EDIT_ISSUES")?;
        check_property_key(key)?;
        let mut issue = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let created = issue.properties.insert(key.to_string(), value).is_none();
        self.store(issue);
        Ok(created)
    }
}

fn fields_object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.get("fields")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::bad_request("The request must carry a `fields` object."))
}

fn check_property_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::bad_request("The property key must be between 1 and 255 characters."));
    }
    Ok(())
}

/// The `properties` of a create request (`EntityProperty` list): each needs a key and a value.
fn entity_properties(body: &Value) -> Result<BTreeMap<String, Value>, ApiError> {
    let Some(listed) = body.get("properties") else {
        return Ok(BTreeMap::new());
    };
    let listed = listed.as_array().ok_or_else(|| ApiError::bad_request("`properties` must be an array"))?;
    let mut properties = BTreeMap::new();
    for property in listed {
        let key = property
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request("Every issue property needs a `key`."))?;
        check_property_key(key)?;
        let value =
            property.get("value").ok_or_else(|| ApiError::bad_request(format!("Property '{key}' has no value.")))?;
        properties.insert(key.to_string(), value.clone());
    }
    Ok(properties)
}

/// A reference such as `{"key": "OPS"}` or `{"id": "10000"}` (ids may come as numbers).
fn reference(value: &Value, name: &str) -> Option<String> {
    match value.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn change(
    field: &str,
    from: Option<String>,
    from_string: Option<String>,
    to: Option<String>,
    to_string: Option<String>,
) -> Option<ChangeItem> {
    (from != to || from_string != to_string).then(|| ChangeItem {
        field: field.into(),
        from,
        from_string,
        to,
        to_string,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use serde_json::json;

    pub(super) fn site() -> Site {
        let users = vec![SimUser::service_account(), SimUser::alice().without_permission("TRANSITION_ISSUES")];
        Site::new("http://jira.test".into(), vec![SimProject::new("10000", "OPS", "Operations")], users, |_| Ok(()))
    }

    pub(super) fn create(site: &mut Site) -> u64 {
        let body = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "Broken"}});
        site.create_issue(&SimUser::service_account().account_id, &body).unwrap().0
    }

    #[test]
    fn properties_given_at_creation_are_stored_and_the_creator_is_kept_apart_from_the_reporter() {
        let mut site = site();
        let actor = SimUser::service_account().account_id;
        let body = json!({
            "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "Copied"},
            "properties": [{"key": "tandem.origin", "value": {"marker": "m"}}],
        });
        let (id, _) = site.create_issue(&actor, &body).unwrap();
        site.edit_issue(
            &actor,
            &id.to_string(),
            &json!({"fields": {"reporter": {"accountId": SimUser::alice().account_id}}}),
        )
        .unwrap();
        let issue = site.issue(&id.to_string()).unwrap();
        assert_eq!(issue.properties["tandem.origin"], json!({"marker": "m"}));
        assert_eq!(
            (issue.creator.as_str(), issue.reporter.clone()),
            (actor.as_str(), Some(SimUser::alice().account_id))
        );
        let keyless = json!({
            "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "x"},
            "properties": [{"value": 1}],
        });
        assert_eq!(site.create_issue(&actor, &keyless).unwrap_err().status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn ticks_are_strictly_increasing_milliseconds() {
        let mut site = site();
        let instants: Vec<_> = (0..50).map(|_| site.tick()).collect();
        assert!(instants.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(instants.iter().all(|at| at.timestamp_subsec_nanos() % 1_000_000 == 0));
    }

    #[test]
    fn creation_numbers_keys_per_project_and_defaults_status_and_priority() {
        let mut site = site();
        let first = create(&mut site);
        let second = create(&mut site);
        assert_eq!((first, second), (10000, 10001));
        let issue = site.issue("OPS-2").unwrap();
        assert_eq!(issue.id, 10001);
        assert_eq!(issue.status, workflow::TO_DO);
        assert_eq!(issue.priority.name, "Medium");
    }

    #[test]
    fn an_edit_reports_only_changed_fields_and_rejects_status() {
        let mut site = site();
        let id = create(&mut site).to_string();
        let actor = SimUser::service_account().account_id;
        let before = site.issue(&id).unwrap().updated;
        let events = site
            .edit_issue(&actor, &id, &json!({"fields": {"summary": "Broken", "priority": {"name": "High"}}}))
            .unwrap();
        let [SiteEvent::IssueUpdated { items, .. }] = events.as_slice() else {
            panic!("expected an update, got {events:?}")
        };
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].to_string.as_deref(), Some("High"));
        assert!(site.issue(&id).unwrap().updated > before);
        assert_eq!(site.edit_issue(&actor, &id, &json!({"fields": {"summary": "Broken"}})).unwrap(), []);
        let refused = site.edit_issue(&actor, &id, &json!({"fields": {"status": {"name": "Done"}}})).unwrap_err();
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.errors.contains_key("status"));
    }

    #[test]
    fn transitions_follow_the_workflow_and_need_the_permission() {
        let mut site = site();
        let id = create(&mut site).to_string();
        let actor = SimUser::service_account().account_id;
        let refused = site.transition(&actor, &id, &json!({"transition": {"id": "21"}})).unwrap_err();
        assert_eq!(refused.messages, ["Transition id '21' is not valid for this issue."]);
        site.transition(&actor, &id, &json!({"transition": {"id": "11"}})).unwrap();
        assert_eq!(site.issue(&id).unwrap().status, workflow::IN_PROGRESS);
        let forbidden =
            site.transition(&SimUser::alice().account_id, &id, &json!({"transition": {"id": "21"}})).unwrap_err();
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn labels_with_spaces_are_refused_and_update_operations_apply() {
        let mut site = site();
        let id = create(&mut site).to_string();
        let actor = SimUser::service_account().account_id;
        assert!(site.edit_issue(&actor, &id, &json!({"fields": {"labels": ["a b"]}})).is_err());
        site.edit_issue(&actor, &id, &json!({"update": {"labels": [{"add": "x"}, {"add": "y"}, {"remove": "x"}]}}))
            .unwrap();
        assert_eq!(site.issue(&id).unwrap().labels, ["y"]);
    }
}
