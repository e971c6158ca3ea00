//! Jira's JSON, as `serde` types: only what tandem reads or writes, unknown members ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// An Atlassian account (`User` / `UserDetails` in the OpenAPI file). E-mail may be hidden by privacy settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// An attachment as an issue's `attachment` field and `POST /issue/{key}/attachments` give it
/// (`Attachment` / `AttachmentMetadata`: the id is a string in one and a number in the other).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(deserialize_with = "text_or_number")]
    pub id: String,
    pub filename: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub mime_type: Option<String>,
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!("an id is text or a number, not {other}"))),
    }
}

/// A look-up value such as a priority, status or issue type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
}

/// An issue (`IssueBean`). `fields` holds only what was asked for; system fields tandem understands are
/// typed, everything else stays JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Issue {
    pub id: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// The issue properties a search asked for, by key.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

/// `POST /issue` and `PUT /issue/{id}` body (`IssueUpdateDetails`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueUpdate {
    pub fields: serde_json::Map<String, Value>,
    /// Issue properties written with the issue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<EntityProperty>,
}

/// An issue property (`EntityProperty`): a key and any JSON value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityProperty {
    pub key: String,
    pub value: Value,
}

/// `POST /issue` answer (`CreatedIssue`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Transitions {
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Transition {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub to: Named,
}

/// `POST /issue/{id}/transitions` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoTransition {
    pub transition: TransitionRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionRef {
    pub id: String,
}

/// `POST /search/jql` body (`SearchAndReconcileRequestBean`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    pub jql: String,
    pub max_results: u32,
    pub fields: Vec<String>,
    /// Issue property keys to return with each issue (at most 5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
}

/// One page of `POST /search/jql` (`SearchAndReconcileResults`): no `total`; `isLast` ends the pages.
/// tandem never asks for the next page by its token (an offset into an answer that shifts between two
/// requests): it asks again from where it stopped, so the token only says whether more follow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    #[serde(default)]
    pub issues: Vec<Issue>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub is_last: Option<bool>,
}

impl SearchPage {
    /// Whether more issues follow this answer. An empty answer is the end, whatever it says: asking
    /// again from where it stopped would get the same.
    pub fn goes_on(&self) -> bool {
        !self.issues.is_empty() && self.next_page_token.is_some() && self.is_last != Some(true)
    }
}

/// `POST /issue/bulkfetch` body (`BulkFetchIssueRequestBean`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkFetchRequest {
    pub issue_ids_or_keys: Vec<String>,
    pub fields: Vec<String>,
}

/// `POST /issue/bulkfetch` answer (`BulkIssueResults`): issues in ascending id order; those that do not
/// exist or may not be seen are left out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkFetchResults {
    #[serde(default)]
    pub issues: Vec<Issue>,
}

/// A comment; `body` is ADF in REST v3 (and plain text in webhooks, which use v2).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub update_author: Option<User>,
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    /// The role or group the comment is restricted to.
    #[serde(default)]
    pub visibility: Option<CommentVisibility>,
    /// False for a Service Management internal comment (not shown to customers).
    #[serde(default)]
    pub jsd_public: Option<bool>,
}

/// A comment's restriction (`Visibility`): a group or role name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CommentVisibility {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub identifier: Option<String>,
}

/// `POST`/`PUT` comment body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommentBody<'a> {
    pub body: &'a Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentPage {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub issue_types: Vec<Named>,
}

/// `GET /mypermissions` (`Permissions`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Permissions {
    #[serde(default)]
    pub permissions: BTreeMap<String, Permission>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub have_permission: bool,
}

/// Jira's error answer (`ErrorCollection`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCollection {
    #[serde(default)]
    pub error_messages: Vec<String>,
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

impl ErrorCollection {
    /// Every message in one line: general messages first, then `field: message`.
    pub fn summary(&self) -> String {
        self.error_messages
            .iter()
            .cloned()
            .chain(self.errors.iter().map(|(field, message)| format!("{field}: {message}")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The one field refused, when the answer names one field and says nothing else.
    pub fn sole_field(&self) -> Option<&str> {
        match (self.error_messages.as_slice(), self.errors.len()) {
            ([], 1) => self.errors.keys().next().map(String::as_str),
            _ => None,
        }
    }
}

/// An admin webhook's body. `issue` is the REST v2 representation (links to `/rest/api/2/`, rich text as
/// plain text), so it is never used as the item's state: the engine re-reads the item through v3.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    #[serde(default)]
    pub timestamp: Option<i64>,
    pub webhook_event: String,
    #[serde(default, rename = "issue_event_type_name")]
    pub issue_event_type_name: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub issue: Option<WebhookIssue>,
    #[serde(default)]
    pub comment: Option<Comment>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookIssue {
    pub id: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub fields: Option<WebhookIssueFields>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookIssueFields {
    #[serde(default)]
    pub project: Option<ProjectRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProjectRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
}
