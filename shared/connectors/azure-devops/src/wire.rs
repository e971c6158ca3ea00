//! Azure DevOps' JSON, as `serde` types: what tandem sends and the parts of the answers it reads.
//!
//! Readers are lenient where the service (or its own examples) varies: optional members default, and
//! unknown members are ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `{count, value}`: how the service wraps every list it answers with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Collection<T> {
    #[serde(default)]
    pub count: Option<u64>,
    pub value: Vec<T>,
}

/// A person as work item fields and comments show them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The sign-in name, an e-mail for Entra ID users.
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub descriptor: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A work item relation (parent link, hyperlink, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItemRelation {
    pub rel: String,
    pub url: String,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// A work item. Field values stay JSON: their type depends on the field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WorkItem {
    pub id: u32,
    #[serde(default)]
    pub rev: Option<u64>,
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    #[serde(default)]
    pub relations: Vec<WorkItemRelation>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, rename = "_links")]
    pub links: Option<Value>,
    #[serde(default, rename = "commentVersionRef")]
    pub comment_version_ref: Option<CommentVersionRef>,
}

/// Which comment (and which version of it) a revision added or edited.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentVersionRef {
    pub comment_id: u64,
    #[serde(default)]
    pub version: Option<u64>,
}

/// One operation of a JSON Patch document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Remove,
    Test,
}

impl PatchOperation {
    pub fn add_field(name: &str, value: Value) -> Self {
        PatchOperation { op: PatchOp::Add, path: format!("/fields/{name}"), value: Some(value) }
    }

    pub fn remove_field(name: &str) -> Self {
        PatchOperation { op: PatchOp::Remove, path: format!("/fields/{name}"), value: None }
    }

    /// Refuses the whole patch unless the work item is still at revision `rev` (412 otherwise).
    pub fn test_revision(rev: u64) -> Self {
        PatchOperation { op: PatchOp::Test, path: "/rev".into(), value: Some(Value::from(rev)) }
    }

    /// Appends a relation (`{rel, url, attributes}`) to the work item's relations.
    pub fn add_relation(relation: Value) -> Self {
        PatchOperation { op: PatchOp::Add, path: "/relations/-".into(), value: Some(relation) }
    }
}

/// `POST …/wiql` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wiql {
    pub query: String,
}

/// `POST …/wiql` answer (flat queries).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemQueryResult {
    #[serde(default)]
    pub as_of: Option<DateTime<Utc>>,
    #[serde(default)]
    pub work_items: Vec<WorkItemReference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WorkItemReference {
    pub id: u32,
    #[serde(default)]
    pub url: Option<String>,
}

/// `POST …/workitemsbatch` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemBatchGetRequest {
    pub ids: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// Extras to read with each work item; the service refuses it together with `fields`.
    #[serde(rename = "$expand", skip_serializing_if = "Option::is_none")]
    pub expand: Option<WorkItemExpand>,
    /// `omit` answers `null` for work items deleted since they were queried, instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_policy: Option<String>,
}

/// `WorkItemExpand`: what a read adds to each work item's fields (tandem only ever needs relations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkItemExpand {
    Relations,
}

/// A comment (comments API 7.1-preview.4). Older answers call the id `commentId`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    #[serde(alias = "commentId")]
    pub id: u64,
    #[serde(default)]
    pub work_item_id: Option<u64>,
    #[serde(default)]
    pub version: Option<u64>,
    /// HTML.
    pub text: String,
    #[serde(default)]
    pub created_by: Option<IdentityRef>,
    pub created_date: DateTime<Utc>,
    #[serde(default)]
    pub modified_by: Option<IdentityRef>,
    #[serde(default)]
    pub modified_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub url: Option<String>,
}

/// One page of a work item's comments.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentList {
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub comments: Vec<Comment>,
    #[serde(default)]
    pub continuation_token: Option<String>,
}

/// `POST`/`PATCH` comment body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommentText {
    pub text: String,
}

/// An identity from the identities API (vssps) or `connectionData`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: String,
    #[serde(default)]
    pub provider_display_name: Option<String>,
    #[serde(default)]
    pub custom_display_name: Option<String>,
    #[serde(default)]
    pub subject_descriptor: Option<String>,
    /// A property bag: `{"Mail": {"$type": "System.String", "$value": "…"}, …}`.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl Identity {
    fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)?.get("$value")?.as_str().filter(|value| !value.is_empty())
    }

    /// The e-mail: `Mail`, else the `Account` when it looks like one.
    pub fn email(&self) -> Option<&str> {
        self.property("Mail").or_else(|| self.property("Account").filter(|account| account.contains('@')))
    }

    pub fn display_name(&self) -> Option<&str> {
        self.custom_display_name.as_deref().or(self.provider_display_name.as_deref())
    }
}

/// `GET /_apis/connectionData`: who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionData {
    pub authenticated_user: Identity,
}

/// A work item type, with the fields and states it has.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemType {
    pub name: String,
    #[serde(default)]
    pub fields: Vec<WorkItemTypeField>,
    #[serde(default)]
    pub states: Vec<WorkItemState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemTypeField {
    pub reference_name: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WorkItemState {
    pub name: String,
}

/// A service hook notification (Web Hooks consumer). `resource` depends on the event type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHookEvent {
    pub subscription_id: String,
    pub notification_id: u64,
    pub event_type: String,
    #[serde(default)]
    pub resource: Value,
    #[serde(default)]
    pub created_date: Option<String>,
}

/// `workitem.updated`'s resource: one update (`id` is the update number) and the revision it made.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemUpdate {
    pub id: u64,
    pub work_item_id: u32,
    #[serde(default)]
    pub rev: Option<u64>,
    #[serde(default)]
    pub revised_by: Option<IdentityRef>,
    /// Kept as text: the service's samples carry dates without a zone (`0001-01-01T00:00:00`).
    #[serde(default)]
    pub revised_date: Option<String>,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub revision: Option<WorkItem>,
}
