//! Jira's JSON ↔ tandem's item model.
//!
//! Reading: summary → Text, description → RichText::Adf, priority/status/issuetype → Text (the name),
//! assignee/reporter → User, labels → List, dates → DateTime; other fields best effort.
//! Writing: the reverse, with `status` kept apart because Jira changes it only through a transition.

use crate::config::ValidJiraConfig;
use crate::error::invalid_response;
use crate::wire;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tandem_engine::ports::ConnectorError;
use tandem_model::{
    Attachment, AttachmentId, Comment, CommentId, FieldMap, FieldValue, Item, ItemId, ItemPlace, ItemRef, RichText,
    Timestamp, UserRef, Visibility,
};

/// Jira's timestamp format: `2024-01-31T10:20:30.123+0000` (RFC 3339 accepted too).
pub fn parse_jira_time(text: &str) -> Result<Timestamp, chrono::ParseError> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .map(|at| at.with_timezone(&Utc))
}

/// Formats an instant as Jira writes date-time fields.
pub fn format_jira_time(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

pub fn user_ref(user: &wire::User) -> UserRef {
    UserRef { id: user.account_id.clone(), email: user.email_address.clone(), display_name: user.display_name.clone() }
}

/// A timestamp field of an issue; an issue without it, or with an unreadable one, is an invalid answer.
pub(crate) fn time_field(issue: &wire::Issue, name: &str) -> Result<Timestamp, ConnectorError> {
    let text = issue
        .fields
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_response(format!("issue {} has no `{name}` timestamp", issue.id), None))?;
    parse_jira_time(text).map_err(|error| {
        invalid_response(
            format!("issue {}: `{name}` = `{text}` is not a Jira timestamp", issue.id),
            Some(Box::new(error)),
        )
    })
}

/// An issue read through REST v3 as a tandem item.
pub fn item_from_wire(issue: &wire::Issue, config: &ValidJiraConfig) -> Result<Item, ConnectorError> {
    let updated = time_field(issue, "updated")?;
    let mut fields = FieldMap::new();
    for (name, value) in issue.fields.iter().filter(|(name, _)| *name != COMMENT_FIELD) {
        fields.insert(name.clone(), field_from_wire(name, value)?);
    }
    Ok(Item {
        item: ItemRef {
            id: ItemId::new(issue.id.clone()),
            key: issue.key.clone(),
            url: issue.key.as_deref().map(|key| config.browse_url(key)),
        },
        updated,
        updated_by: None,
        created_by: match fields.get("creator") {
            Some(FieldValue::User(user)) => Some(user.clone()),
            _ => None,
        },
        revision: None,
        place: place_of(issue),
        visibility: security_of(issue),
        attachments: attachments_of(issue, config)?,
        comments: comments_of(issue)?,
        fields,
    })
}

/// The issue field that holds its comments (a page of them, as `GET /issue/{id}/comment` answers).
const COMMENT_FIELD: &str = "comment";

/// The issue's comments from its `comment` field, when the read asked for it and it holds all of them
/// (Jira pages long threads: then they are listed on their own).
fn comments_of(issue: &wire::Issue) -> Result<Option<Vec<Comment>>, ConnectorError> {
    let Some(page) = issue.fields.get(COMMENT_FIELD).filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let page: wire::CommentPage = serde_json::from_value(page.clone()).map_err(|error| {
        invalid_response(format!("issue {}: `comment` is not a page of comments", issue.id), Some(Box::new(error)))
    })?;
    if page.start_at != 0 || (page.comments.len() as u64) < page.total {
        return Ok(None);
    }
    page.comments.iter().map(comment_from_wire).collect::<Result<_, _>>().map(Some)
}

/// The issue's attachments (its `attachment` field; none when the read did not ask for it).
fn attachments_of(issue: &wire::Issue, config: &ValidJiraConfig) -> Result<Vec<Attachment>, ConnectorError> {
    let Some(listed) = issue.fields.get("attachment").filter(|value| !value.is_null()) else {
        return Ok(Vec::new());
    };
    let listed: Vec<wire::Attachment> = serde_json::from_value(listed.clone()).map_err(|error| {
        invalid_response(
            format!("issue {}: `attachment` is not a list of attachments", issue.id),
            Some(Box::new(error)),
        )
    })?;
    Ok(listed.iter().map(|attachment| attachment_from_wire(attachment, issue.key.as_deref(), config)).collect())
}

/// An attachment in tandem's terms; people open it from its issue's page.
pub fn attachment_from_wire(attachment: &wire::Attachment, key: Option<&str>, config: &ValidJiraConfig) -> Attachment {
    Attachment {
        id: AttachmentId::new(attachment.id.clone()),
        name: attachment.filename.clone(),
        size: attachment.size,
        content_type: attachment.mime_type.clone(),
        author: attachment.author.as_ref().map(user_ref),
        note: None,
        url: key.map(|key| config.browse_url(key)),
    }
}

/// The issue's project (by key, which is what integrations name) and issue type. Missing ones stay
/// empty, which no integration's scope matches.
fn place_of(issue: &wire::Issue) -> ItemPlace {
    let member = |field: &str, name: &str| {
        issue.fields.get(field).and_then(|value| value.get(name)).and_then(Value::as_str).unwrap_or_default()
    };
    ItemPlace::new(member("project", "key"), member("issuetype", "name"))
}

/// An issue with a security level is visible only to the level's members.
fn security_of(issue: &wire::Issue) -> Visibility {
    match issue.fields.get("security").filter(|level| !level.is_null()) {
        Some(level) => {
            let name = ["name", "id"].iter().find_map(|key| level.get(*key).and_then(Value::as_str));
            Visibility::restricted("security-level", name.unwrap_or("unnamed"))
        }
        None => Visibility::Everyone,
    }
}

fn field_from_wire(name: &str, value: &Value) -> Result<FieldValue, ConnectorError> {
    if value.is_null() {
        return Ok(FieldValue::Empty);
    }
    let wrong = |expected: &str| invalid_response(format!("field `{name}` is not {expected}: {value}"), None);
    Ok(match name {
        "summary" => FieldValue::Text(value.as_str().ok_or_else(|| wrong("text"))?.to_string()),
        "description" => FieldValue::RichText(RichText::Adf(value.clone())),
        "assignee" | "reporter" | "creator" => {
            let user: wire::User = serde_json::from_value(value.clone()).map_err(|_| wrong("a user"))?;
            FieldValue::User(user_ref(&user))
        }
        "created" | "updated" | "resolutiondate" | "statuscategorychangedate" => {
            let text = value.as_str().ok_or_else(|| wrong("a timestamp"))?;
            FieldValue::DateTime(parse_jira_time(text).map_err(|_| wrong("a Jira timestamp"))?)
        }
        _ => best_effort(value),
    })
}

/// Any other field: look-ups by name (or value), users by accountId, ADF as rich text, arrays of
/// strings or look-ups as lists.
fn best_effort(value: &Value) -> FieldValue {
    match value {
        Value::Null => FieldValue::Empty,
        Value::Bool(flag) => FieldValue::Bool(*flag),
        Value::Number(number) => number.as_f64().map_or(FieldValue::Empty, FieldValue::Number),
        Value::String(text) => match parse_jira_time(text) {
            Ok(at) => FieldValue::DateTime(at),
            Err(_) => FieldValue::Text(text.clone()),
        },
        Value::Array(values) => FieldValue::List(values.iter().filter_map(label_of).collect()),
        Value::Object(object) => {
            if object.get("type").and_then(Value::as_str) == Some("doc") {
                FieldValue::RichText(RichText::Adf(value.clone()))
            } else if let Ok(user) = serde_json::from_value::<wire::User>(value.clone()) {
                FieldValue::User(user_ref(&user))
            } else {
                label_of(value).map_or(FieldValue::Empty, FieldValue::Text)
            }
        }
    }
}

fn label_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Object(object) => ["name", "value", "key", "displayName"]
            .iter()
            .find_map(|member| object.get(*member).and_then(Value::as_str))
            .map(str::to_string),
        _ => None,
    }
}

/// Fields to write: everything for `PUT /issue` and the target status, which needs a transition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldWrites {
    pub fields: Map<String, Value>,
    pub status: Option<String>,
}

/// A value as Jira keeps it once written to `field`: a label holds no spaces (Jira refuses one that
/// does), so each run of spaces in a label is written as `_`, the way people spell one (`Needs_Triage`).
pub fn as_stored(field: &str, value: FieldValue) -> FieldValue {
    match (field, value) {
        ("labels", FieldValue::List(labels)) => FieldValue::List(
            labels
                .iter()
                .map(|label| label.split_whitespace().collect::<Vec<_>>().join("_"))
                .filter(|label| !label.is_empty())
                .collect(),
        ),
        (_, value) => value,
    }
}

/// Translates tandem field values into Jira's edit format.
pub fn fields_to_wire(fields: &FieldMap) -> Result<FieldWrites, ConnectorError> {
    let mut writes = FieldWrites::default();
    for (name, value) in fields {
        let invalid = |reason: &str| ConnectorError::Invalid {
            system: crate::JIRA,
            message: format!("field `{name}` cannot be written: {reason}"),
        };
        if name == "status" {
            match value {
                FieldValue::Text(status) if !status.is_empty() => writes.status = Some(status.clone()),
                _ => return Err(invalid("a status must be a status name")),
            }
            continue;
        }
        let wire = match (name.as_str(), value) {
            (_, FieldValue::Empty) if name == "summary" => return Err(invalid("the summary cannot be empty")),
            (_, FieldValue::Empty) if name == "labels" => json!([]),
            (_, FieldValue::Empty) => Value::Null,
            ("priority" | "issuetype", FieldValue::Text(option)) => json!({ "name": option }),
            (_, FieldValue::User(user)) => json!({ "accountId": user.id }),
            (_, FieldValue::RichText(RichText::Adf(document))) => document.clone(),
            // Plain text written to Jira's rich-text field goes as a paragraph, not as markup.
            ("description", FieldValue::Text(text)) => adf_paragraphs(text),
            (_, FieldValue::RichText(RichText::Html(_) | RichText::Plain(_))) => {
                return Err(invalid("Jira keeps rich text as ADF; convert the HTML first"))
            }
            (_, FieldValue::Text(text)) => json!(text),
            (_, FieldValue::Number(number)) => json!(number),
            (_, FieldValue::Bool(flag)) => json!(flag),
            (_, FieldValue::DateTime(at)) => json!(format_jira_time(*at)),
            ("labels", FieldValue::List(_)) => match as_stored(name, value.clone()) {
                FieldValue::List(labels) => json!(labels),
                _ => json!([]),
            },
            (_, FieldValue::List(values)) => json!(values),
        };
        writes.fields.insert(name.clone(), wire);
    }
    Ok(writes)
}

/// Plain text as an ADF document: one paragraph per line, no marks.
fn adf_paragraphs(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .lines()
        .map(|line| match line.is_empty() {
            true => json!({ "type": "paragraph" }),
            false => json!({ "type": "paragraph", "content": [{ "type": "text", "text": line }] }),
        })
        .collect();
    json!({ "type": "doc", "version": 1, "content": paragraphs })
}

pub fn comment_from_wire(comment: &wire::Comment) -> Result<Comment, ConnectorError> {
    let time = |text: &Option<String>, name: &str| {
        let text =
            text.as_deref().ok_or_else(|| invalid_response(format!("comment {} has no `{name}`", comment.id), None))?;
        parse_jira_time(text).map_err(|error| {
            invalid_response(format!("comment {}: `{name}` is not a Jira timestamp", comment.id), Some(Box::new(error)))
        })
    };
    Ok(Comment {
        id: CommentId(comment.id.clone()),
        author: comment.author.as_ref().map(user_ref),
        body: RichText::Adf(comment.body.clone()),
        created: time(&comment.created, "created")?,
        updated: time(&comment.updated, "updated")?,
        visibility: comment_visibility(comment),
    })
}

/// A comment restricted to a role or group, or a Service Management internal note, is visible to
/// fewer people than the issue.
fn comment_visibility(comment: &wire::Comment) -> Visibility {
    if let Some(restriction) = &comment.visibility {
        let name = restriction.value.as_deref().or(restriction.identifier.as_deref()).unwrap_or("unnamed");
        return Visibility::restricted(restriction.kind.as_deref().unwrap_or("group"), name);
    }
    match comment.jsd_public {
        Some(false) => Visibility::restricted("internal", "Service Management internal note"),
        _ => Visibility::Everyone,
    }
}

/// The ADF document of a rich-text value; Jira takes nothing else.
pub fn adf_body(body: &RichText) -> Result<&Value, ConnectorError> {
    match body {
        RichText::Adf(document) => Ok(document),
        RichText::Html(_) | RichText::Plain(_) => Err(ConnectorError::Invalid {
            system: crate::JIRA,
            message: "Jira comments are ADF; convert other formats first".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JiraConfig;
    use chrono::TimeZone;

    fn config() -> ValidJiraConfig {
        JiraConfig {
            base_url: "https://acme.atlassian.net".into(),
            project_key: "OPS".into(),
            issue_type: "Bug".into(),
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn parses_jiras_timestamps_to_the_millisecond() {
        let expected = Utc.with_ymd_and_hms(2024, 1, 31, 9, 20, 30).unwrap() + chrono::Duration::milliseconds(123);
        assert_eq!(parse_jira_time("2024-01-31T10:20:30.123+0100").unwrap(), expected);
        assert_eq!(parse_jira_time("2024-01-31T09:20:30.123Z").unwrap(), expected);
        assert!(parse_jira_time("31/01/2024").is_err());
        assert_eq!(format_jira_time(expected), "2024-01-31T09:20:30.123+0000");
    }

    #[test]
    fn reads_an_issue_into_an_item() {
        let issue: wire::Issue = serde_json::from_value(json!({
            "id": "10001", "key": "OPS-2",
            "fields": {
                "summary": "Broken", "description": {"type": "doc", "version": 1, "content": []},
                "priority": {"id": "2", "name": "High"}, "status": {"id": "3", "name": "In Progress"},
                "assignee": {"accountId": "a-1", "emailAddress": "a@example.com", "displayName": "A"},
                "reporter": null, "labels": ["x", "y"], "updated": "2024-01-31T10:20:30.123+0000",
                "customfield_10010": 3.5, "customfield_10011": {"value": "Blue"}
            }
        }))
        .unwrap();
        let item = item_from_wire(&issue, &config()).unwrap();
        assert_eq!(item.item.url.as_deref(), Some("https://acme.atlassian.net/browse/OPS-2"));
        assert_eq!(item.field("summary"), &FieldValue::Text("Broken".into()));
        assert_eq!(item.field("priority"), &FieldValue::Text("High".into()));
        assert_eq!(item.field("status"), &FieldValue::Text("In Progress".into()));
        assert_eq!(item.field("reporter"), &FieldValue::Empty);
        assert_eq!(item.field("labels"), &FieldValue::List(vec!["x".into(), "y".into()]));
        assert_eq!(item.field("customfield_10010"), &FieldValue::Number(3.5));
        assert_eq!(item.field("customfield_10011"), &FieldValue::Text("Blue".into()));
        let FieldValue::User(assignee) = item.field("assignee") else { panic!("assignee is not a user") };
        assert_eq!(assignee.email.as_deref(), Some("a@example.com"));
    }

    #[test]
    fn the_comment_field_stands_for_the_list_only_when_it_holds_every_comment() {
        let comment = |id: &str| {
            json!({"id": id, "author": {"accountId": "a-1"}, "body": {"type": "doc", "version": 1, "content": []},
                   "created": "2024-01-31T10:20:30.123+0000", "updated": "2024-01-31T10:20:30.123+0000"})
        };
        let issue = |page: Value| -> wire::Issue {
            serde_json::from_value(
                json!({"id": "1", "fields": {"updated": "2024-01-31T10:20:30.123+0000", "comment": page}}),
            )
            .unwrap()
        };
        let whole = issue(json!({"comments": [comment("7"), comment("9")], "maxResults": 2, "total": 2, "startAt": 0}));
        let item = item_from_wire(&whole, &config()).unwrap();
        let ids: Vec<&str> = item.comments.iter().flatten().map(|comment| comment.id.0.as_str()).collect();
        assert_eq!(ids, ["7", "9"]);
        assert_eq!(item.field("comment"), &FieldValue::Empty, "not a field to map");
        let partial = issue(json!({"comments": [comment("7")], "maxResults": 1, "total": 2, "startAt": 0}));
        assert_eq!(item_from_wire(&partial, &config()).unwrap().comments, None, "a long thread is listed on its own");
        let unasked = issue(Value::Null);
        assert_eq!(item_from_wire(&unasked, &config()).unwrap().comments, None);
    }

    #[test]
    fn an_issue_without_updated_is_an_invalid_response() {
        let issue: wire::Issue = serde_json::from_value(json!({"id": "1", "fields": {}})).unwrap();
        assert!(matches!(item_from_wire(&issue, &config()), Err(ConnectorError::InvalidResponse { .. })));
    }

    #[test]
    fn writes_split_the_status_and_use_jiras_shapes() {
        let fields = FieldMap::from([
            ("status".to_string(), FieldValue::Text("Done".into())),
            ("priority".to_string(), FieldValue::Text("Low".into())),
            ("assignee".to_string(), FieldValue::User(UserRef { id: "a-1".into(), email: None, display_name: None })),
            ("labels".to_string(), FieldValue::Empty),
            ("description".to_string(), FieldValue::Empty),
        ]);
        let writes = fields_to_wire(&fields).unwrap();
        assert_eq!(writes.status.as_deref(), Some("Done"));
        assert_eq!(
            Value::Object(writes.fields),
            json!({"priority": {"name": "Low"}, "assignee": {"accountId": "a-1"}, "labels": [], "description": null})
        );
        let html = FieldMap::from([("description".to_string(), FieldValue::RichText(RichText::Html("<p/>".into())))]);
        assert!(matches!(fields_to_wire(&html), Err(ConnectorError::Invalid { .. })));
    }
}
