//! The simulated org's objects and fields, as describe reports them: Case, CaseComment, Account,
//! Contact, User and Group (queues), with the standard fields a Case sync touches (their types, lengths
//! and access as in the recorded describes of `../shared/contracts/salesforce/describe/`, which a test
//! compares) and two custom Case fields an integration is set up with: an External ID for upserts and a
//! URL pointing at the linked issue.

use serde_json::{json, Value};

/// A field's type as describe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Id,
    Boolean,
    String,
    TextArea,
    Picklist,
    Reference,
    DateTime,
    Email,
    Phone,
    Url,
}

impl FieldType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Boolean => "boolean",
            FieldType::String => "string",
            FieldType::TextArea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::Reference => "reference",
            FieldType::DateTime => "datetime",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
        }
    }

    /// Whether values are text (and limited by length).
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::TextArea
                | FieldType::Picklist
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldType,
    /// Characters (for text); `byte_length` bytes.
    pub length: usize,
    pub byte_length: usize,
    pub createable: bool,
    pub updateable: bool,
    pub nillable: bool,
    pub reference_to: &'static [&'static str],
    pub relationship_name: Option<&'static str>,
    pub external_id: bool,
    pub unique: bool,
    pub picklist: &'static [&'static str],
    /// The picklist value a create that leaves the field out gets (describe's `defaultValue`).
    pub default: Option<&'static str>,
    /// The org fills the field in on create when it is left out (the owner: the creating user).
    pub filled_on_create: bool,
    /// The API version the field appeared in (0: every version served).
    pub since: u32,
    pub custom: bool,
}

const fn field(name: &'static str, label: &'static str, kind: FieldType) -> Field {
    Field {
        name,
        label,
        kind,
        length: 0,
        byte_length: 0,
        createable: false,
        updateable: false,
        nillable: false,
        reference_to: &[],
        relationship_name: None,
        external_id: false,
        unique: false,
        picklist: &[],
        default: None,
        filled_on_create: false,
        since: 0,
        custom: false,
    }
}

impl Field {
    /// Whether the field exists in this API version (`64.0`).
    pub(crate) fn exists_in(&self, version: &str) -> bool {
        major(version) >= self.since
    }

    /// Describe's `defaultedOnCreate`: the org gives the field a value when a create leaves it out,
    /// as it does for what it computes, for booleans, for picklists with a default and for the owner.
    fn defaulted_on_create(&self) -> bool {
        let computed = !self.createable && !self.nillable;
        let boolean = self.kind == FieldType::Boolean && !self.nillable;
        computed || boolean || self.default.is_some() || self.filled_on_create
    }

    const fn text(mut self, length: usize, bytes_per_character: usize) -> Field {
        self.length = length;
        self.byte_length = length * bytes_per_character;
        self
    }

    /// Createable, updateable and nillable: what a person may set and clear.
    const fn editable(mut self) -> Field {
        self.createable = true;
        self.updateable = true;
        self.nillable = true;
        self
    }

    const fn required(mut self) -> Field {
        self.nillable = false;
        self
    }

    const fn refers(mut self, to: &'static [&'static str], relationship: &'static str) -> Field {
        self.length = 18;
        self.byte_length = 18;
        self.reference_to = to;
        self.relationship_name = Some(relationship);
        self
    }

    const fn values(mut self, values: &'static [&'static str]) -> Field {
        self.picklist = values;
        self
    }

    /// The picklist value a create that leaves the field out gets.
    const fn defaulting_to(mut self, value: &'static str) -> Field {
        self.default = Some(value);
        self
    }

    /// The org fills the field in on create when it is left out.
    const fn filled_on_create(mut self) -> Field {
        self.filled_on_create = true;
        self
    }

    /// The field exists from this API version on.
    const fn since(mut self, major: u32) -> Field {
        self.since = major;
        self
    }

    const fn nillable(mut self) -> Field {
        self.nillable = true;
        self
    }

    const fn custom_external_id(mut self) -> Field {
        self.custom = true;
        self.external_id = true;
        self.unique = true;
        self
    }
}

/// An object: its name, key prefix and fields.
#[derive(Debug)]
pub(crate) struct Object {
    pub name: &'static str,
    pub label: &'static str,
    pub key_prefix: &'static str,
    pub fields: Vec<Field>,
    /// Child relationships the object's records can be queried with (`CaseComments` on Case).
    pub children: &'static [(&'static str, &'static str, &'static str)],
}

impl Object {
    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// The reference field of a relationship (`Account` → `AccountId`).
    pub(crate) fn relationship(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|field| field.relationship_name.is_some_and(|relationship| relationship.eq_ignore_ascii_case(name)))
    }

    /// The child object and its field pointing back, of a child relationship (`CaseComments`).
    pub(crate) fn child(&self, relationship: &str) -> Option<(&'static str, &'static str)> {
        self.children
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(relationship))
            .map(|(_, object, field)| (*object, *field))
    }
}

/// The fields every object has.
fn audit_fields() -> Vec<Field> {
    use FieldType::*;
    vec![
        field("Id", "Record ID", Id).text(18, 1),
        field("IsDeleted", "Deleted", Boolean),
        field("CreatedDate", "Created Date", DateTime),
        field("CreatedById", "Created By ID", Reference).refers(&["User"], "CreatedBy"),
        field("LastModifiedDate", "Last Modified Date", DateTime),
        field("LastModifiedById", "Last Modified By ID", Reference).refers(&["User"], "LastModifiedBy"),
        field("SystemModstamp", "System Modstamp", DateTime),
    ]
}

/// The custom Case field an integration upserts by (External ID, unique).
pub const CASE_EXTERNAL_ID: &str = "Tandem_Sync_Id__c";
/// The custom Case field that points at the linked issue.
pub const CASE_LINK_URL: &str = "Engineering_Issue__c";

fn case() -> Object {
    use FieldType::*;
    let mut fields = audit_fields();
    fields.extend([
        field("CaseNumber", "Case Number", String).text(30, 3),
        field("ContactId", "Contact ID", Reference).refers(&["Contact"], "Contact").editable(),
        field("AccountId", "Account ID", Reference).refers(&["Account"], "Account").editable(),
        field("ParentId", "Parent Case ID", Reference).refers(&["Case"], "Parent").editable(),
        field("SuppliedName", "Name", String).text(80, 3).editable(),
        field("SuppliedEmail", "Email Address", Email).text(80, 3).editable(),
        field("Type", "Case Type", Picklist).text(40, 3).editable().values(&[
            "Mechanical",
            "Electrical",
            "Electronic",
            "Structural",
            "Other",
        ]),
        field("Status", "Status", Picklist)
            .text(40, 3)
            .editable()
            .values(&["New", "Working", "Escalated", "Closed"])
            .defaulting_to("New"),
        field("Reason", "Case Reason", Picklist).text(40, 3).editable().values(&[
            "Installation",
            "Equipment Complexity",
            "Performance",
            "Breakdown",
            "Equipment Design",
            "Feedback",
            "Other",
        ]),
        field("Origin", "Case Origin", Picklist).text(40, 3).editable().values(&["Phone", "Email", "Web"]),
        field("Subject", "Subject", String).text(255, 3).editable(),
        field("Priority", "Priority", Picklist)
            .text(40, 3)
            .editable()
            .values(&["High", "Medium", "Low"])
            .defaulting_to("Medium"),
        field("Description", "Description", TextArea).text(32000, 3).editable(),
        field("IsClosed", "Closed", Boolean),
        field("ClosedDate", "Closed Date", DateTime).nillable(),
        field("IsEscalated", "Escalated", Boolean).editable().required(),
        field("OwnerId", "Owner ID", Reference)
            .refers(&["Group", "User"], "Owner")
            .editable()
            .required()
            .filled_on_create(),
        field("Comments", "Internal Comments", TextArea).text(4000, 1).editable(),
        field(CASE_EXTERNAL_ID, "Tandem Sync ID", String).text(255, 3).editable().custom_external_id(),
        Field { custom: true, ..field(CASE_LINK_URL, "Engineering Issue", Url).text(255, 3).editable() },
    ]);
    Object {
        name: "Case",
        label: "Case",
        key_prefix: "500",
        fields,
        children: &[("CaseComments", "CaseComment", "ParentId")],
    }
}

fn case_comment() -> Object {
    use FieldType::*;
    let mut fields = audit_fields();
    fields.extend([
        // Not updateable: a comment stays on its Case.
        Field { createable: true, ..field("ParentId", "Parent ID", Reference).refers(&["Case"], "Parent") },
        field("IsPublished", "Published", Boolean).editable().required(),
        // 4,000 bytes, not characters.
        field("CommentBody", "Body", TextArea).text(4000, 1).editable(),
        // From API 63.0 (the 2026 describe has it, the field reference dates it): the HTML body.
        field("CommentBodyRichtext", "Rich-Text Body", TextArea).text(131_072, 1).editable().since(63),
    ]);
    Object { name: "CaseComment", label: "Case Comment", key_prefix: "00a", fields, children: &[] }
}

fn account() -> Object {
    use FieldType::*;
    let mut fields = audit_fields();
    fields.extend([
        field("Name", "Account Name", String).text(255, 3).editable().required(),
        field("AccountNumber", "Account Number", String).text(40, 3).editable(),
        field("Website", "Website", Url).text(255, 3).editable(),
        field("Phone", "Account Phone", Phone).text(40, 3).editable(),
        field("OwnerId", "Owner ID", Reference).refers(&["User"], "Owner").editable().required().filled_on_create(),
    ]);
    Object { name: "Account", label: "Account", key_prefix: "001", fields, children: &[] }
}

fn contact() -> Object {
    use FieldType::*;
    let mut fields = audit_fields();
    fields.extend([
        field("AccountId", "Account ID", Reference).refers(&["Account"], "Account").editable(),
        field("LastName", "Last Name", String).text(80, 3).editable().required(),
        field("FirstName", "First Name", String).text(40, 3).editable(),
        field("Name", "Full Name", String).text(121, 3),
        field("Email", "Email", Email).text(80, 3).editable(),
        field("Phone", "Business Phone", Phone).text(40, 3).editable(),
        field("Title", "Title", String).text(128, 3).editable(),
        field("OwnerId", "Owner ID", Reference).refers(&["User"], "Owner").editable().required().filled_on_create(),
    ]);
    Object { name: "Contact", label: "Contact", key_prefix: "003", fields, children: &[] }
}

fn user() -> Object {
    use FieldType::*;
    let mut fields = audit_fields();
    fields.extend([
        field("Username", "Username", String).text(80, 3),
        field("FirstName", "First Name", String).text(40, 3).nillable(),
        field("LastName", "Last Name", String).text(80, 3),
        field("Name", "Full Name", String).text(121, 3),
        field("Email", "Email", Email).text(128, 3),
        field("Alias", "Alias", String).text(8, 3),
        field("IsActive", "Active", Boolean),
    ]);
    Object { name: "User", label: "User", key_prefix: "005", fields, children: &[] }
}

fn group() -> Object {
    use FieldType::*;
    let mut fields = audit_fields();
    fields.extend([
        field("Name", "Name", String).text(40, 3),
        field("Type", "Type", Picklist).text(40, 3).values(&["Queue", "Regular"]),
        field("Email", "Email", Email).text(255, 3).nillable(),
    ]);
    Object { name: "Group", label: "Group", key_prefix: "00G", fields, children: &[] }
}

/// The fields of the polymorphic `Name` entity a reference to several objects reads through
/// (`Owner.Name`, `Owner.Email`).
pub(crate) const NAME_ENTITY_FIELDS: &[&str] =
    &["Id", "Name", "Email", "FirstName", "LastName", "Username", "Alias", "Type", "IsActive"];

/// Every object of the org.
pub(crate) fn objects() -> Vec<Object> {
    vec![case(), case_comment(), account(), contact(), user(), group()]
}

/// `GET /sobjects/{Object}/describe`, in the recorded shape (the keys a connector reads).
pub(crate) fn describe(object: &Object, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    let fields: Vec<Value> =
        object.fields.iter().filter(|field| field.exists_in(version)).map(describe_field).collect();
    let children: Vec<Value> = object
        .children
        .iter()
        .map(|(relationship, child, field)| {
            json!({
                "cascadeDelete": true, "childSObject": child, "deprecatedAndHidden": false, "field": field,
                "junctionIdListNames": [], "junctionReferenceTo": [], "relationshipName": relationship,
                "restrictedDelete": false
            })
        })
        .collect();
    json!({
        "name": object.name,
        "label": object.label,
        "labelPlural": format!("{}s", object.label),
        "keyPrefix": object.key_prefix,
        "custom": false,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "retrieveable": true,
        "searchable": true,
        "triggerable": true,
        "undeletable": true,
        "feedEnabled": false,
        "childRelationships": children,
        "fields": fields,
        "recordTypeInfos": [],
        "urls": {
            "compactLayouts": format!("{base}/describe/compactLayouts"),
            "rowTemplate": format!("{base}/{{ID}}"),
            "describe": format!("{base}/describe"),
            "sobject": base,
        }
    })
}

fn describe_field(field: &Field) -> Value {
    let picklist: Vec<Value> = field
        .picklist
        .iter()
        .map(|value| {
            let default = field.default == Some(*value);
            json!({"active": true, "defaultValue": default, "label": value, "validFor": null, "value": value})
        })
        .collect();
    // A boolean's default is false; a picklist's is its default value; other fields have none.
    let default_value = match (field.kind, field.default) {
        (FieldType::Boolean, _) => json!(false),
        (_, Some(value)) => json!(value),
        _ => Value::Null,
    };
    json!({
        "name": field.name,
        "label": field.label,
        "type": field.kind.name(),
        "length": if field.kind.is_text() || matches!(field.kind, FieldType::Id | FieldType::Reference) { field.length } else { 0 },
        "byteLength": field.byte_length,
        "createable": field.createable,
        "updateable": field.updateable,
        "nillable": field.nillable,
        "custom": field.custom,
        "externalId": field.external_id,
        "unique": field.unique,
        "idLookup": field.kind == FieldType::Id || field.external_id,
        "filterable": field.kind != FieldType::TextArea,
        "sortable": field.kind != FieldType::TextArea,
        "defaultValue": default_value,
        "defaultedOnCreate": field.defaulted_on_create(),
        "referenceTo": field.reference_to,
        "relationshipName": field.relationship_name,
        "polymorphicForeignKey": field.reference_to.len() > 1,
        "picklistValues": picklist,
        "soapType": soap_type(field.kind),
    })
}

/// The major number of an API version (`64.0` → 64).
pub(crate) fn major(version: &str) -> u32 {
    version.split('.').next().and_then(|major| major.parse().ok()).unwrap_or(0)
}

fn soap_type(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Id | FieldType::Reference => "tns:ID",
        FieldType::Boolean => "xsd:boolean",
        FieldType::DateTime => "xsd:dateTime",
        _ => "xsd:string",
    }
}
