//! What the org says about an object (`GET /sobjects/{Object}/describe`): its fields with their types,
//! lengths and whether the integration user may write them, and its child relationships (a Case's
//! comments). Read once per connector: it changes only when an administrator changes the object.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Describe {
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    pub fields: Vec<FieldDescribe>,
    #[serde(default)]
    pub child_relationships: Vec<ChildRelationship>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldDescribe {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Characters, for text fields.
    #[serde(default)]
    pub length: u64,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub external_id: bool,
    /// The relationship a lookup is followed through in queries (`Account` for `AccountId`).
    #[serde(default)]
    pub relationship_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChildRelationship {
    #[serde(rename = "childSObject")]
    pub child_object: String,
    pub field: String,
    #[serde(default)]
    pub relationship_name: Option<String>,
}

/// The object comments live in, and the field naming their record.
pub(crate) const COMMENT_OBJECT: &str = "CaseComment";

impl Describe {
    /// A field by API name (Salesforce's names are case-insensitive).
    pub(crate) fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields.iter().find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// Whether the object's records have comments (a Case's CaseComments).
    pub(crate) fn has_comments(&self) -> bool {
        self.comments_relationship().is_some()
    }

    /// The relationship a record's comments are queried through (`CaseComments`).
    pub(crate) fn comments_relationship(&self) -> Option<&str> {
        self.child_relationships
            .iter()
            .find(|child| child.child_object == COMMENT_OBJECT && child.field == "ParentId")
            .and_then(|child| child.relationship_name.as_deref())
    }

    /// The field people know a record by (`CaseNumber`, else `Name`), if the object has one.
    pub(crate) fn key_field(&self) -> Option<&str> {
        ["CaseNumber", "Name"].into_iter().find(|name| self.field(name).is_some())
    }
}

/// The related records a record is read with by default, and the fields read of each: a Case's
/// account, contact and owner, as support teams want them beside an issue.
const DEFAULT_RELATED: [(&str, &[&str]); 3] =
    [("Account", &["Name"]), ("Contact", &["Name", "Email"]), ("Owner", &["Name", "Email"])];

impl Describe {
    /// The relationship paths read by default: those of [`DEFAULT_RELATED`] the object has.
    pub(crate) fn default_related(&self) -> Vec<String> {
        let has = |relationship: &str| {
            self.fields.iter().any(|field| field.relationship_name.as_deref() == Some(relationship))
        };
        DEFAULT_RELATED
            .iter()
            .filter(|(relationship, _)| has(relationship))
            .flat_map(|(relationship, fields)| fields.iter().map(move |field| format!("{relationship}.{field}")))
            .collect()
    }
}

impl FieldDescribe {
    /// Whether the field's value is a user (an owner, a creator): a reference to User, possibly also
    /// to a queue (Group).
    pub(crate) fn is_user(&self) -> bool {
        self.kind == "reference" && self.reference_to.iter().any(|object| object == "User")
    }

    /// Whether values are counted in characters against `length` when written.
    pub(crate) fn is_text(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "string" | "textarea" | "picklist" | "multipicklist" | "combobox" | "email" | "phone" | "url"
        )
    }
}
