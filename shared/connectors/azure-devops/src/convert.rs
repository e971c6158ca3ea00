//! Between Azure DevOps' wire values and tandem's item model.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use tandem_model::{
    Attachment, AttachmentId, Comment, CommentId, FieldMap, FieldValue, Item, ItemId, ItemPlace, ItemRef, RichText,
    Timestamp, UserRef, Visibility,
};

use crate::wire;

pub const TITLE: &str = "System.Title";
pub const STATE: &str = "System.State";
pub const TAGS: &str = "System.Tags";
pub const TEAM_PROJECT: &str = "System.TeamProject";
pub const WORK_ITEM_TYPE: &str = "System.WorkItemType";
pub const CHANGED_DATE: &str = "System.ChangedDate";
pub const CHANGED_BY: &str = "System.ChangedBy";
pub const CREATED_DATE: &str = "System.CreatedDate";

/// Fields whose text is HTML.
const HTML_FIELDS: &[&str] = &[
    "System.Description",
    "System.History",
    "Microsoft.VSTS.TCM.ReproSteps",
    "Microsoft.VSTS.TCM.SystemInfo",
    "Microsoft.VSTS.Common.AcceptanceCriteria",
];

/// Fields that hold a person, which older answers spell as `Name <e-mail>` text.
const IDENTITY_FIELDS: &[&str] = &[
    "System.AssignedTo",
    "System.CreatedBy",
    "System.ChangedBy",
    "System.AuthorizedAs",
    "Microsoft.VSTS.Common.ActivatedBy",
    "Microsoft.VSTS.Common.ResolvedBy",
    "Microsoft.VSTS.Common.ClosedBy",
];

/// Why a wire value cannot become (or be made from) tandem's model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConvertError {
    #[error("work item {id} has no readable System.ChangedDate")]
    MissingChangedDate { id: u32 },
    #[error("field `{field}` takes HTML in Azure DevOps; convert other formats before writing it")]
    NotHtml { field: String },
    #[error("comments in Azure DevOps are HTML; convert other formats before writing one")]
    CommentNotHtml,
    #[error("field `{field}`: {value} is not a finite number")]
    NotFinite { field: String, value: f64 },
}

/// A person from an `IdentityRef`: identity id, e-mail (`uniqueName` when it is one), display name.
pub fn user_from_identity_ref(identity: &wire::IdentityRef) -> Option<UserRef> {
    let email = identity.unique_name.clone().filter(|name| name.contains('@'));
    let id = identity.id.clone().or_else(|| email.clone())?;
    Some(UserRef { id, email, display_name: identity.display_name.clone() })
}

/// A person from the identities API.
pub fn user_from_identity(identity: &wire::Identity) -> UserRef {
    UserRef {
        id: identity.id.clone(),
        email: identity.email().map(str::to_string),
        display_name: identity.display_name().map(str::to_string),
    }
}

/// `Name <e-mail>` or a bare e-mail, as older answers spell identity fields. Without an identity id, the
/// e-mail stands in for it.
fn user_from_text(text: &str) -> Option<UserRef> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match (text.rfind('<'), text.strip_suffix('>')) {
        (Some(start), Some(_)) => {
            let email = text[start + 1..text.len() - 1].trim().to_string();
            let name = text[..start].trim();
            Some(UserRef {
                id: email.clone(),
                email: Some(email),
                display_name: (!name.is_empty()).then(|| name.to_string()),
            })
        }
        _ if text.contains('@') => {
            Some(UserRef { id: text.to_string(), email: Some(text.to_string()), display_name: None })
        }
        _ => Some(UserRef { id: text.to_string(), email: None, display_name: Some(text.to_string()) }),
    }
}

/// An instant as the service writes it; zone-less text (seen in service hook samples) is taken as UTC.
pub fn parse_instant(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|at| at.and_utc()))
}

/// A field's wire value in tandem's terms.
pub fn field_value(name: &str, value: &Value) -> FieldValue {
    let is_identity = IDENTITY_FIELDS.contains(&name);
    match value {
        Value::Null => FieldValue::Empty,
        Value::Bool(flag) => FieldValue::Bool(*flag),
        Value::Number(number) => number.as_f64().map_or(FieldValue::Empty, FieldValue::Number),
        Value::Object(_) => serde_json::from_value::<wire::IdentityRef>(value.clone())
            .ok()
            .and_then(|identity| user_from_identity_ref(&identity))
            .map_or_else(|| FieldValue::Text(value.to_string()), FieldValue::User),
        Value::Array(values) => FieldValue::List(
            values.iter().map(|value| value.as_str().map_or_else(|| value.to_string(), str::to_string)).collect(),
        ),
        Value::String(text) if is_identity => user_from_text(text).map_or(FieldValue::Empty, FieldValue::User),
        Value::String(text) if HTML_FIELDS.contains(&name) => FieldValue::RichText(RichText::Html(text.clone())),
        Value::String(text) if name == TAGS => {
            FieldValue::List(text.split(';').map(str::trim).filter(|tag| !tag.is_empty()).map(str::to_string).collect())
        }
        Value::String(text) => match name.ends_with("Date").then(|| parse_instant(text)).flatten() {
            Some(at) => FieldValue::DateTime(at),
            None => FieldValue::Text(text.clone()),
        },
    }
}

/// A field value as Azure DevOps takes it in a JSON Patch `add`; `None` means the field is cleared.
pub fn patch_value(name: &str, value: &FieldValue) -> Result<Option<Value>, ConvertError> {
    Ok(Some(match value {
        FieldValue::Empty => return Ok(None),
        // Plain text in an HTML field is text, not markup: `<b>` must show as written.
        FieldValue::Text(text) if HTML_FIELDS.contains(&name) => Value::String(escape_html(text)),
        FieldValue::Text(text) => Value::String(text.clone()),
        FieldValue::Number(number) if !number.is_finite() => {
            return Err(ConvertError::NotFinite { field: name.to_string(), value: *number })
        }
        // Integer fields (Priority) refuse `2.0`; whole numbers go as integers.
        FieldValue::Number(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => Value::from(*number as i64),
        FieldValue::Number(number) => Value::from(*number),
        FieldValue::Bool(flag) => Value::Bool(*flag),
        FieldValue::DateTime(at) => Value::String(format_instant(*at)),
        FieldValue::User(user) => {
            Value::String(user.email.clone().or_else(|| user.display_name.clone()).unwrap_or_else(|| user.id.clone()))
        }
        FieldValue::RichText(RichText::Html(html)) => Value::String(html.clone()),
        FieldValue::RichText(RichText::Adf(_) | RichText::Plain(_)) => {
            return Err(ConvertError::NotHtml { field: name.to_string() })
        }
        FieldValue::List(values) => Value::String(values.join("; ")),
    }))
}

/// `text` with HTML's special characters as entities, and its lines as lines.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\n' => escaped.push_str("<br>"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `2024-01-31T10:20:30.123Z`: how WIQL date literals and date fields are written.
pub fn format_instant(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A work item as a tandem item; `browse_base` is `{organization_url}/{project}` for its browser URL.
pub fn item_from_wire(work_item: &wire::WorkItem, browse_base: &str) -> Result<Item, ConvertError> {
    let updated = work_item
        .fields
        .get(CHANGED_DATE)
        .and_then(Value::as_str)
        .and_then(parse_instant)
        .ok_or(ConvertError::MissingChangedDate { id: work_item.id })?;
    let user = |field: &str| match field_value(field, work_item.fields.get(field).unwrap_or(&Value::Null)) {
        FieldValue::User(user) => Some(user),
        _ => None,
    };
    let (updated_by, created_by) = (user(CHANGED_BY), user("System.CreatedBy"));
    let fields: FieldMap =
        work_item.fields.iter().map(|(name, value)| (name.clone(), field_value(name, value))).collect();
    let id = ItemId::new(work_item.id.to_string());
    Ok(Item {
        item: ItemRef { id, key: None, url: Some(format!("{browse_base}/_workitems/edit/{}", work_item.id)) },
        updated,
        updated_by,
        created_by,
        revision: work_item.rev,
        place: ItemPlace::new(text_field(work_item, TEAM_PROJECT), text_field(work_item, WORK_ITEM_TYPE)),
        // Azure DevOps restricts whole area paths, which the service account either reads or does not.
        visibility: Visibility::Everyone,
        attachments: work_item.relations.iter().filter_map(attachment_of).collect(),
        // The comments have an API of their own; a work item that counts none has none to list.
        comments: (work_item.fields.get(COMMENT_COUNT).and_then(Value::as_u64) == Some(0)).then(Vec::new),
        fields,
    })
}

/// How many comments the work item has (deleted ones not counted).
const COMMENT_COUNT: &str = "System.CommentCount";

/// The relation name of a work item's attached file.
pub const ATTACHED_FILE: &str = "AttachedFile";

/// An `AttachedFile` relation as an attachment: the id is the upload's GUID, the last segment of the
/// relation's URL (`…/_apis/wit/attachments/{id}?fileName=…`).
pub fn attachment_of(relation: &wire::WorkItemRelation) -> Option<Attachment> {
    if relation.rel != ATTACHED_FILE {
        return None;
    }
    let path = relation.url.split(['?', '#']).next().unwrap_or_default();
    let id = path.rsplit('/').next().filter(|id| !id.is_empty())?;
    let attribute = |name: &str| relation.attributes.get(name);
    let name = attribute("name").and_then(Value::as_str).map(str::to_owned);
    Some(Attachment {
        id: AttachmentId::new(id),
        name: name.unwrap_or_else(|| "attachment".to_string()),
        size: attribute("resourceSize").and_then(Value::as_u64),
        content_type: None,
        author: None,
        note: attribute("comment").and_then(Value::as_str).map(str::to_owned),
        url: Some(relation.url.clone()),
    })
}

fn text_field<'a>(work_item: &'a wire::WorkItem, name: &str) -> &'a str {
    work_item.fields.get(name).and_then(Value::as_str).unwrap_or_default()
}

pub fn comment_from_wire(comment: &wire::Comment) -> Comment {
    Comment {
        id: CommentId(comment.id.to_string()),
        author: comment.created_by.as_ref().and_then(user_from_identity_ref),
        body: RichText::Html(comment.text.clone()),
        created: comment.created_date,
        updated: comment.modified_date.unwrap_or(comment.created_date),
        // Every reader of the work item reads its discussion.
        visibility: Visibility::Everyone,
    }
}

/// A comment body as Azure DevOps takes it.
pub fn comment_html(body: &RichText) -> Result<String, ConvertError> {
    match body {
        RichText::Html(html) => Ok(html.clone()),
        RichText::Adf(_) | RichText::Plain(_) => Err(ConvertError::CommentNotHtml),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_each_kind_of_field() {
        let identity = json!({"id": "d291b0c4", "displayName": "Jamal Hartnett", "uniqueName": "jamal@example.com"});
        assert_eq!(
            field_value("System.AssignedTo", &identity),
            FieldValue::User(UserRef {
                id: "d291b0c4".into(),
                email: Some("jamal@example.com".into()),
                display_name: Some("Jamal Hartnett".into())
            })
        );
        assert_eq!(
            field_value("System.AssignedTo", &json!("Johnnie McLeod <johnnie@example.com>")),
            FieldValue::User(UserRef {
                id: "johnnie@example.com".into(),
                email: Some("johnnie@example.com".into()),
                display_name: Some("Johnnie McLeod".into())
            })
        );
        assert_eq!(
            field_value("System.Tags", &json!("client; sample;  teamservices")),
            FieldValue::List(vec!["client".into(), "sample".into(), "teamservices".into()])
        );
        assert_eq!(
            field_value("System.Description", &json!("<p>x</p>")),
            FieldValue::RichText(RichText::Html("<p>x</p>".into()))
        );
        assert_eq!(field_value("Microsoft.VSTS.Common.Priority", &json!(2)), FieldValue::Number(2.0));
        assert_eq!(field_value("System.State", &json!("Active")), FieldValue::Text("Active".into()));
        assert!(matches!(
            field_value("System.CreatedDate", &json!("2017-09-04T06:11:59.05Z")),
            FieldValue::DateTime(_)
        ));
    }

    #[test]
    fn writes_values_the_way_azure_devops_takes_them() {
        let user =
            UserRef { id: "guid".into(), email: Some("alice@example.com".into()), display_name: Some("Alice".into()) };
        assert_eq!(
            patch_value("System.AssignedTo", &FieldValue::User(user)).unwrap(),
            Some(json!("alice@example.com"))
        );
        assert_eq!(
            patch_value("System.Tags", &FieldValue::List(vec!["a".into(), "b".into()])).unwrap(),
            Some(json!("a; b"))
        );
        assert_eq!(patch_value("Microsoft.VSTS.Common.Priority", &FieldValue::Number(3.0)).unwrap(), Some(json!(3)));
        assert_eq!(patch_value("System.Title", &FieldValue::Empty).unwrap(), None);
        assert!(patch_value("System.Description", &FieldValue::RichText(RichText::Adf(json!({})))).is_err());
        assert!(patch_value("X", &FieldValue::Number(f64::NAN)).is_err());
    }

    #[test]
    fn plain_text_written_to_an_html_field_is_escaped() {
        let text = FieldValue::Text("a <b>bold</b> & \"quoted\"\nnext".into());
        assert_eq!(
            patch_value("System.Description", &text).unwrap(),
            Some(json!("a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;<br>next"))
        );
        assert_eq!(patch_value("System.Title", &text).unwrap(), Some(json!("a <b>bold</b> & \"quoted\"\nnext")));
    }

    #[test]
    fn an_item_needs_its_changed_date() {
        let wire: wire::WorkItem =
            serde_json::from_value(json!({"id": 7, "rev": 2, "fields": {"System.Title": "T"}})).unwrap();
        assert_eq!(item_from_wire(&wire, "https://x/P").unwrap_err(), ConvertError::MissingChangedDate { id: 7 });
        let wire: wire::WorkItem = serde_json::from_value(json!({"id": 7, "rev": 2, "fields": {
            "System.Title": "T", "System.ChangedDate": "2024-01-31T10:20:30.123Z",
            "System.ChangedBy": {"id": "g", "displayName": "Bob", "uniqueName": "bob@example.com"}
        }}))
        .unwrap();
        let item = item_from_wire(&wire, "https://x/P").unwrap();
        assert_eq!(item.revision, Some(2));
        assert_eq!(item.updated_by.unwrap().email.as_deref(), Some("bob@example.com"));
        assert_eq!(item.item.url.as_deref(), Some("https://x/P/_workitems/edit/7"));
        assert_eq!(format_instant(item.updated), "2024-01-31T10:20:30.123Z");
    }

    #[test]
    fn a_work_item_that_counts_no_comment_has_none_to_list() {
        let read = |count: Value| {
            let wire: wire::WorkItem = serde_json::from_value(json!({"id": 7, "rev": 2, "fields": {
                "System.ChangedDate": "2024-01-31T10:20:30.123Z", "System.CommentCount": count
            }}))
            .unwrap();
            item_from_wire(&wire, "https://x/P").unwrap().comments
        };
        assert_eq!(read(json!(0)), Some(Vec::new()));
        assert_eq!(read(json!(2)), None, "listed on their own");
        assert_eq!(read(Value::Null), None, "not read");
    }
}
