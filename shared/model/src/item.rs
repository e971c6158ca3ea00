use crate::attachment::Attachment;
use crate::{Timestamp, Visibility};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A system's own, stable identifier of a work item: Jira's numeric issue id (not the key, which changes
/// when an issue moves), Azure DevOps' work item id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(pub String);

impl ItemId {
    pub fn new(id: impl Into<String>) -> Self {
        ItemId(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How to find and show an item: its id, plus the human key (Jira `OPS-12`) and browser URL when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRef {
    pub id: ItemId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A record an item refers to (a Salesforce Case's Account or Contact), which the item linked with it
/// may show: what kind of record it is, what people call it, and where it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedRecord {
    pub kind: String,
    pub title: String,
    pub url: String,
}

impl ItemRef {
    pub fn new(id: ItemId) -> Self {
        ItemRef { id, key: None, url: None }
    }

    /// The key when there is one, else the id: what a person recognises.
    pub fn label(&self) -> &str {
        self.key.as_deref().unwrap_or(self.id.as_str())
    }
}

/// A person in one system. Connectors fill in what their system exposes; e-mail may be hidden by
/// privacy settings, which is why user mapping falls back to an explicit table and a default user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserRef {
    /// The system's id: Jira `accountId`, Azure DevOps identity id (a GUID).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Rich text in the form its system stores it: Atlassian Document Format (Jira), HTML (Azure DevOps),
/// or plain text (Salesforce's comments and text areas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", content = "body", rename_all = "lowercase")]
pub enum RichText {
    Adf(serde_json::Value),
    Html(String),
    Plain(String),
}

impl RichText {
    /// The format this text is in.
    pub fn format(&self) -> crate::RichTextFormat {
        match self {
            RichText::Adf(_) => crate::RichTextFormat::Adf,
            RichText::Html(_) => crate::RichTextFormat::Html,
            RichText::Plain(_) => crate::RichTextFormat::PlainText,
        }
    }
}

/// A field's value, in tandem's terms. Look-up fields (priority, status, state) are `Text` holding the
/// option's name or value as the system shows it; value maps translate them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", content = "value", rename_all = "kebab-case")]
pub enum FieldValue {
    #[default]
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    DateTime(Timestamp),
    User(UserRef),
    RichText(RichText),
    List(Vec<String>),
}

impl FieldValue {
    pub fn is_empty(&self) -> bool {
        match self {
            FieldValue::Empty => true,
            FieldValue::Text(text) => text.is_empty(),
            FieldValue::List(values) => values.is_empty(),
            _ => false,
        }
    }

    /// The value as text for filters and value maps: numbers without a needless ".0", users by e-mail
    /// (else display name, else id).
    pub fn as_text(&self) -> Option<String> {
        match self {
            FieldValue::Empty => None,
            FieldValue::Text(text) => Some(text.clone()),
            FieldValue::Number(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
                Some(format!("{}", *number as i64))
            }
            FieldValue::Number(number) => Some(number.to_string()),
            FieldValue::Bool(flag) => Some(flag.to_string()),
            FieldValue::DateTime(at) => Some(at.to_rfc3339()),
            FieldValue::User(user) => {
                Some(user.email.clone().or_else(|| user.display_name.clone()).unwrap_or_else(|| user.id.clone()))
            }
            FieldValue::RichText(_) => None,
            FieldValue::List(values) => Some(values.join(", ")),
        }
    }
}

/// Field values keyed by the system's own field id (`priority`, `Microsoft.VSTS.Common.Priority`, …).
pub type FieldMap = BTreeMap<String, FieldValue>;

/// A work item as read from its system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub item: ItemRef,
    /// When the item last changed, by the system's clock.
    pub updated: Timestamp,
    /// Who made the last change, when the system says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<UserRef>,
    /// Who created the item, when the system says (an item the integration created is a copy, never
    /// an original to copy back, even before its link is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserRef>,
    /// The system's revision counter where it has one (Azure DevOps `rev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// The project and type the item belongs to, as its system says now.
    pub place: ItemPlace,
    /// Who may read the item in its system (a Jira security level restricts it).
    #[serde(default)]
    pub visibility: Visibility,
    pub fields: FieldMap,
    /// The files attached to it, where the system has attachments and the read shows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// All of its comments the reader may see, oldest first, when the read showed every one of them
    /// (Jira's `comment` field); `None` when they must be listed. A sync uses them instead of listing
    /// the comments again: the read is as recent as that list would be, and costs no call of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<Vec<Comment>>,
}

impl Item {
    pub fn field(&self, name: &str) -> &FieldValue {
        const EMPTY: FieldValue = FieldValue::Empty;
        self.fields.get(name).unwrap_or(&EMPTY)
    }

    /// Which state of the item this read saw.
    pub fn version(&self) -> ItemVersion {
        ItemVersion { updated: self.updated, revision: self.revision }
    }
}

/// Where an item lives in its system: the project (Jira project key, Azure DevOps project name) and the
/// item type (Jira issue type, Azure DevOps work item type), as the system names them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ItemPlace {
    pub project: String,
    pub item_type: String,
}

impl ItemPlace {
    pub fn new(project: impl Into<String>, item_type: impl Into<String>) -> Self {
        ItemPlace { project: project.into(), item_type: item_type.into() }
    }

    /// Whether this is the place `project` and `item_type` name; systems compare these names without
    /// regard to case.
    pub fn is(&self, project: &str, item_type: &str) -> bool {
        self.project.eq_ignore_ascii_case(project) && self.item_type.eq_ignore_ascii_case(item_type)
    }
}

impl fmt::Display for ItemPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in project {}", self.item_type, self.project)
    }
}

/// One state of an item: its revision where the system counts them (Azure DevOps), else its last-changed
/// instant (Jira). Reads of the same item compare by it, so a read older than one already synced is
/// recognised as stale and never written over newer values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemVersion {
    pub updated: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

impl ItemVersion {
    /// No particular state: a write made "as read" with it overwrites whatever the item holds, as a
    /// person editing by hand does.
    pub const UNCHECKED: ItemVersion = ItemVersion { updated: Timestamp::UNIX_EPOCH, revision: None };

    /// Whether this state came after `other`: by revision when both have one, else by instant.
    pub fn is_after(&self, other: &ItemVersion) -> bool {
        match (self.revision, other.revision) {
            (Some(mine), Some(theirs)) => mine > theirs,
            _ => self.updated > other.updated,
        }
    }
}

/// A system's id of a comment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommentId(pub String);

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A comment on a work item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub author: Option<UserRef>,
    pub body: RichText,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Who may read the comment in its system (a Jira role or group, an internal note).
    #[serde(default)]
    pub visibility: Visibility,
}
