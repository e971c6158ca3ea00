//! Comments on the site's issues: who may add, edit, delete and see them, their visibility (a project
//! role or a group) and their entity properties (`sd.public.comment` makes a Service Management comment
//! internal).

use super::{check_property_key, entity_properties, ApiError, IssueRecord, Site, SiteEvent, Timestamp};
use crate::jira::visibility::{can_see, Visibility};
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;

/// The comment property Jira Service Management keeps a comment's audience in.
const PUBLIC_COMMENT_PROPERTY: &str = "sd.public.comment";

/// The longest property value Jira stores, in characters of its JSON.
const MAX_PROPERTY_VALUE: usize = 32768;

/// A comment a request adds, checked before anything changes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComment {
    body: Value,
    visibility: Option<Visibility>,
    properties: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommentRecord {
    pub id: u64,
    pub author: String,
    pub update_author: String,
    pub body: Value,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Who may see the comment; everyone who sees the issue when `None`.
    pub visibility: Option<Visibility>,
    /// Entity properties, by key.
    pub properties: BTreeMap<String, Value>,
}

impl CommentRecord {
    /// Whether Service Management shows the comment to customers (`jsdPublic`): not when its
    /// `sd.public.comment` property says `{"internal": true}`.
    pub fn is_public(&self) -> bool {
        let internal = self.properties.get(PUBLIC_COMMENT_PROPERTY).and_then(|value| value.get("internal"));
        internal != Some(&Value::Bool(true))
    }
}

impl Site {
    /// `POST /issue/{key}/comment`: `body` (ADF), optional `visibility` and `properties`.
    pub fn add_comment(&mut self, actor: &str, id_or_key: &str, body: &Value) -> Result<(u64, SiteEvent), ApiError> {
        let id = self.issue_id(id_or_key)?;
        let comment = self.new_comment(actor, body)?;
        self.push_comment(actor, id, comment)
    }

    /// A comment request by `actor` (who needs *Add comments*), checked: the same whether it comes to
    /// `POST /issue/{key}/comment` or as an `add` of an edit's or a transition's `update.comment`.
    fn new_comment(&self, actor: &str, body: &Value) -> Result<NewComment, ApiError> {
        self.require(actor, "ADD_COMMENTS")?;
        Ok(NewComment {
            body: self.comment_body(body)?,
            visibility: self.comment_visibility(actor, body)?.flatten(),
            properties: entity_properties(body)?,
        })
    }

    /// `update: {"comment": [{"add": {"body": …, "visibility": …, "properties": …}}]}`: the comments to add
    /// (Jira supports no other comment operation there).
    pub(super) fn comment_operations(&self, actor: &str, operations: &Value) -> Result<Vec<NewComment>, ApiError> {
        let operations =
            operations.as_array().ok_or_else(|| ApiError::field("comment", "Update operations must be an array"))?;
        operations
            .iter()
            .map(|operation| match operation.get("add") {
                Some(added) if operation.as_object().is_some_and(|object| object.len() == 1) => {
                    self.new_comment(actor, added)
                }
                _ => Err(ApiError::field("comment", "Unsupported update operation on 'comment'")),
            })
            .collect()
    }

    /// Adds checked comments to issue `id`, in order, each with its event.
    pub(super) fn add_comments(
        &mut self,
        actor: &str,
        id: u64,
        comments: Vec<NewComment>,
    ) -> Result<Vec<SiteEvent>, ApiError> {
        comments.into_iter().map(|comment| Ok(self.push_comment(actor, id, comment)?.1)).collect()
    }

    fn push_comment(&mut self, actor: &str, id: u64, comment: NewComment) -> Result<(u64, SiteEvent), ApiError> {
        let mut issue = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let now = self.tick();
        let comment_id = self.next_comment_id;
        self.next_comment_id += 1;
        issue.comments.push(CommentRecord {
            id: comment_id,
            author: actor.to_string(),
            update_author: actor.to_string(),
            body: comment.body,
            created: now,
            updated: now,
            visibility: comment.visibility,
            properties: comment.properties,
        });
        // Jira counts a new comment as a change of the issue.
        issue.updated = now;
        self.store(issue);
        Ok((comment_id, SiteEvent::CommentCreated { issue: id, comment: comment_id }))
    }

    /// `PUT /issue/{key}/comment/{id}`: a new `body`; `visibility` left out keeps it, `null` lifts it;
    /// `properties` given are set, the others kept.
    pub fn update_comment(
        &mut self,
        actor: &str,
        id_or_key: &str,
        comment: &str,
        body: &Value,
    ) -> Result<(u64, SiteEvent), ApiError> {
        let id = self.issue_id(id_or_key)?;
        let document = self.comment_body(body)?;
        let author = self.comment_seen_by(actor, id, comment)?.author.clone();
        self.require(actor, if author == actor { "EDIT_OWN_COMMENTS" } else { "EDIT_ALL_COMMENTS" })?;
        let visibility = self.comment_visibility(actor, body)?;
        let properties = entity_properties(body)?;
        let mut issue = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let now = self.tick();
        let record = issue.comments.iter_mut().find(|record| record.id.to_string() == comment).ok_or_else(not_found)?;
        record.body = document;
        record.update_author = actor.to_string();
        record.updated = now;
        if let Some(visibility) = visibility {
            record.visibility = visibility;
        }
        record.properties.extend(properties);
        let comment = record.id;
        issue.updated = now;
        self.store(issue);
        Ok((comment, SiteEvent::CommentUpdated { issue: id, comment }))
    }

    /// `DELETE /issue/{key}/comment/{id}`: the event carries the comment as it was.
    pub fn delete_comment(&mut self, actor: &str, id_or_key: &str, comment: &str) -> Result<SiteEvent, ApiError> {
        let id = self.issue_id(id_or_key)?;
        let author = self.comment_seen_by(actor, id, comment)?.author.clone();
        self.require(actor, if author == actor { "DELETE_OWN_COMMENTS" } else { "DELETE_ALL_COMMENTS" })?;
        let mut issue = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let position =
            issue.comments.iter().position(|record| record.id.to_string() == comment).ok_or_else(not_found)?;
        let deleted = issue.comments.remove(position);
        issue.updated = self.tick();
        self.store(issue);
        Ok(SiteEvent::CommentDeleted { issue: id, comment: Box::new(deleted) })
    }

    /// `PUT /comment/{id}/properties/{key}`: whether the property is new. Needs the permission to edit the
    /// comment, as Jira documents.
    ///
    /// Jira does not document a webhook for comment properties; the simulator sends `comment_updated`,
    /// since `sd.public.comment` decides who sees the comment and a sync must notice that change.
    pub fn set_comment_property(
        &mut self,
        actor: &str,
        comment: &str,
        key: &str,
        value: Value,
    ) -> Result<(bool, SiteEvent), ApiError> {
        check_property_key(key)?;
        if value.to_string().chars().count() > MAX_PROPERTY_VALUE {
            return Err(ApiError::bad_request(format!(
                "The property value is too long: it must be at most {MAX_PROPERTY_VALUE} characters."
            )));
        }
        self.edit_comment_properties(actor, comment, |properties| {
            Ok(properties.insert(key.to_string(), value).is_none())
        })
    }

    /// `DELETE /comment/{id}/properties/{key}`: sends `comment_updated` as setting one does.
    pub fn delete_comment_property(&mut self, actor: &str, comment: &str, key: &str) -> Result<SiteEvent, ApiError> {
        let (_, event) = self.edit_comment_properties(actor, comment, |properties| {
            properties.remove(key).map(|_| ()).ok_or_else(|| property_not_found(key))
        })?;
        Ok(event)
    }

    fn edit_comment_properties<T>(
        &mut self,
        actor: &str,
        comment: &str,
        edit: impl FnOnce(&mut BTreeMap<String, Value>) -> Result<T, ApiError>,
    ) -> Result<(T, SiteEvent), ApiError> {
        let (id, record) = self.find_comment_seen_by(actor, comment)?;
        self.require(actor, if record.author == actor { "EDIT_OWN_COMMENTS" } else { "EDIT_ALL_COMMENTS" })?;
        let mut issue = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let record = issue.comments.iter_mut().find(|record| record.id.to_string() == comment).ok_or_else(not_found)?;
        let answer = edit(&mut record.properties)?;
        let comment = record.id;
        self.store(issue);
        Ok((answer, SiteEvent::CommentUpdated { issue: id, comment }))
    }

    /// A comment found by its id alone (comment ids are unique on the site), as `viewer` may see it, with
    /// its issue's id.
    pub fn find_comment_seen_by(&self, viewer: &str, comment: &str) -> Result<(u64, &CommentRecord), ApiError> {
        let issue = self
            .issues
            .values()
            .find(|issue| issue.comments.iter().any(|record| record.id.to_string() == comment))
            .ok_or_else(not_found)?;
        Ok((issue.id, self.comment_seen_by(viewer, issue.id, comment)?))
    }

    /// A comment, whoever may see it (for webhooks, which Jira sends whatever the visibility).
    pub fn comment(&self, issue: u64, comment: &str) -> Result<&CommentRecord, ApiError> {
        self.issues
            .get(&issue)
            .ok_or_else(ApiError::issue_not_found)?
            .comments
            .iter()
            .find(|record| record.id.to_string() == comment)
            .ok_or_else(not_found)
    }

    /// A comment as `viewer` may see it: one restricted to a role or group they are not in does not exist
    /// for them.
    pub fn comment_seen_by(&self, viewer: &str, issue: u64, comment: &str) -> Result<&CommentRecord, ApiError> {
        let record = self.comment(issue, comment)?;
        if can_see(record.visibility.as_ref(), self.user(viewer)) {
            Ok(record)
        } else {
            Err(not_found())
        }
    }

    /// The issue's comments `viewer` may see, oldest first.
    pub fn comments_seen_by<'a>(
        &'a self,
        viewer: &str,
        issue: &'a IssueRecord,
    ) -> impl Iterator<Item = &'a CommentRecord> + 'a {
        let user = self.user(viewer);
        issue.comments.iter().filter(move |record| can_see(record.visibility.as_ref(), user))
    }

    fn comment_body(&self, body: &Value) -> Result<Value, ApiError> {
        let document = body.get("body").ok_or_else(|| ApiError::field("comment", "Comment body can not be empty!"))?;
        (self.adf_check)(document).map_err(|reason| {
            ApiError::field("comment", format!("Comment body must be an Atlassian Document: {reason}"))
        })?;
        Ok(document.clone())
    }

    /// The `visibility` of a comment request: `None` when left out, `Some(None)` when `null`.
    fn comment_visibility(&self, actor: &str, body: &Value) -> Result<Option<Option<Visibility>>, ApiError> {
        let Some(value) = body.get("visibility") else {
            return Ok(None);
        };
        let user = self.user(actor).ok_or_else(ApiError::unauthorized)?;
        Visibility::parse(value, &self.users, user).map(Some)
    }
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Can not find a comment for the id.")
}

pub fn property_not_found(key: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("The property with key '{key}' does not exist."))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{create, site};
    use super::*;
    use crate::jira::SimUser;
    use serde_json::json;

    fn document() -> Value {
        json!({"type": "doc", "version": 1, "content": []})
    }

    #[test]
    fn comments_change_the_issue_and_only_their_author_may_edit_without_edit_all() {
        let mut site = site();
        let id = create(&mut site).to_string();
        let service = SimUser::service_account().account_id;
        let (comment, _) = site.add_comment(&service, &id, &json!({"body": document()})).unwrap();
        assert_eq!(site.issue(&id).unwrap().updated, site.issue(&id).unwrap().comments[0].created);
        let alice = SimUser::alice().without_permission("EDIT_ALL_COMMENTS");
        site.upsert_user(alice.clone());
        let refused =
            site.update_comment(&alice.account_id, &id, &comment.to_string(), &json!({"body": {}})).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_restricted_comment_is_hidden_from_outsiders_and_its_restriction_can_be_lifted() {
        let mut site = site();
        let id = create(&mut site).to_string();
        let issue = site.issue(&id).unwrap().id;
        let service = SimUser::service_account().account_id;
        let outsider = SimUser::bob().with_project_roles(["Users"]);
        site.upsert_user(outsider.clone());
        let restricted = json!({"body": document(), "visibility": {"type": "role", "value": "Developers"}});
        let (comment, _) = site.add_comment(&service, &id, &restricted).unwrap();
        let comment = comment.to_string();
        assert!(site.comment_seen_by(&outsider.account_id, issue, &comment).is_err());
        assert_eq!(site.comments_seen_by(&outsider.account_id, site.issue(&id).unwrap()).count(), 0);

        site.update_comment(&service, &id, &comment, &json!({"body": document()})).unwrap();
        assert!(site.comment(issue, &comment).unwrap().visibility.is_some(), "left out keeps the restriction");
        site.update_comment(&service, &id, &comment, &json!({"body": document(), "visibility": null})).unwrap();
        assert!(site.comment_seen_by(&outsider.account_id, issue, &comment).is_ok());
    }

    #[test]
    fn the_public_comment_property_makes_a_comment_internal_and_deletion_keeps_what_was_deleted() {
        let mut site = site();
        let id = create(&mut site).to_string();
        let service = SimUser::service_account().account_id;
        let internal =
            json!({"body": document(), "properties": [{"key": "sd.public.comment", "value": {"internal": true}}]});
        let (comment, _) = site.add_comment(&service, &id, &internal).unwrap();
        let issue = site.issue(&id).unwrap().id;
        assert!(!site.comment(issue, &comment.to_string()).unwrap().is_public());
        let public =
            json!({"body": document(), "properties": [{"key": "sd.public.comment", "value": {"internal": false}}]});
        site.update_comment(&service, &id, &comment.to_string(), &public).unwrap();
        assert!(site.comment(issue, &comment.to_string()).unwrap().is_public());

        let event = site.delete_comment(&service, &id, &comment.to_string()).unwrap();
        let SiteEvent::CommentDeleted { comment: deleted, .. } = event else { panic!("{event:?}") };
        assert_eq!(deleted.id, comment);
        assert!(site.issue(&id).unwrap().comments.is_empty());
    }
}
