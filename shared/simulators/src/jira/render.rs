//! How the simulated site shows its state: the JSON of REST v3 (ADF rich text) and of REST v2 (plain
//! text, what webhooks carry), in Jira's shapes and timestamp format.

use super::security::level_json;
use super::site::{AttachmentRecord, ChangeItem, CommentRecord, History, IssueRecord, ProjectRecord, Site, Timestamp};
use super::workflow::{IssueType, Priority, Status, StatusCategory, Transition, ISSUE_TYPES};
use super::SimUser;
use serde_json::{json, Map, Value};

/// The REST API version a representation belongs to: it decides link paths and rich-text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/rest/api/3/`: rich text as ADF.
    V3,
    /// `/rest/api/2/`: rich text as plain (wiki) text; webhooks use it.
    V2,
}

impl ApiVersion {
    fn prefix(self) -> &'static str {
        match self {
            ApiVersion::V3 => "rest/api/3",
            ApiVersion::V2 => "rest/api/2",
        }
    }
}

/// Jira's timestamp format: `2024-01-31T10:20:30.123+0000`.
pub fn jira_time(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// The site's custom fields, `(id, name)`: single-line text fields, as an admin adds them to show a
/// support case's customer on the issue.
pub const CUSTOM_TEXT_FIELDS: [(&str, &str); 2] =
    [("customfield_10070", "Customer account"), ("customfield_10071", "Customer contact")];

/// The fields every issue has, in the order Jira lists them (the custom ones last).
pub const ISSUE_FIELDS: [&str; 17] = [
    "summary",
    "description",
    "priority",
    "status",
    "assignee",
    "reporter",
    "creator",
    "labels",
    "created",
    "updated",
    "issuetype",
    "project",
    "security",
    "attachment",
    "comment",
    CUSTOM_TEXT_FIELDS[0].0,
    CUSTOM_TEXT_FIELDS[1].0,
];

/// Which fields a caller asked for (`fields=summary,status`, `*all`, `*navigable`, `-description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelection {
    fields: Vec<&'static str>,
}

impl FieldSelection {
    pub fn all() -> Self {
        FieldSelection { fields: ISSUE_FIELDS.to_vec() }
    }

    pub fn none() -> Self {
        FieldSelection { fields: Vec::new() }
    }

    /// Parses `fields` values (each possibly comma-separated); `default` applies when there are none.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>, default: FieldSelection) -> Self {
        let tokens: Vec<&str> = values
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .collect();
        if tokens.is_empty() {
            return default;
        }
        let mut selected: Vec<&'static str> = Vec::new();
        if tokens.iter().all(|token| token.starts_with('-')) {
            selected = ISSUE_FIELDS.to_vec();
        }
        for token in &tokens {
            match *token {
                "*all" | "*navigable" => selected = ISSUE_FIELDS.to_vec(),
                excluded if excluded.starts_with('-') => selected.retain(|field| *field != &excluded[1..]),
                named => {
                    if let Some(field) = ISSUE_FIELDS.iter().find(|field| **field == named) {
                        if !selected.contains(field) {
                            selected.push(field);
                        }
                    }
                }
            }
        }
        FieldSelection { fields: selected }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

pub fn user_json(base: &str, user: &SimUser, api: ApiVersion) -> Value {
    json!({
        "self": format!("{base}/{}/user?accountId={}", api.prefix(), user.account_id),
        "accountId": user.account_id,
        "accountType": "atlassian",
        "emailAddress": user.email,
        "avatarUrls": avatar_urls(base, &user.account_id),
        "displayName": user.display_name,
        "active": true,
        "timeZone": user.time_zone(),
    })
}

fn avatar_urls(base: &str, id: &str) -> Value {
    let url = |size: u32| format!("{base}/secure/useravatar?size={size}&ownerId={id}");
    json!({ "48x48": url(48), "24x24": url(24), "16x16": url(16), "32x32": url(32) })
}

pub fn status_json(base: &str, status: Status) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/status/{}", status.id),
        "description": "",
        "iconUrl": format!("{base}/images/icons/statuses/generic.png"),
        "name": status.name,
        "id": status.id,
        "statusCategory": status_category_json(base, status.category),
    })
}

pub fn status_category_json(base: &str, category: StatusCategory) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/statuscategory/{}", category.id),
        "id": category.id,
        "key": category.key,
        "colorName": category.color_name,
        "name": category.name,
    })
}

pub fn transition_json(base: &str, transition: &Transition) -> Value {
    json!({
        "id": transition.id,
        "name": transition.name,
        "to": status_json(base, transition.to),
        "hasScreen": false,
        "isGlobal": false,
        "isInitial": false,
        "isAvailable": true,
        "isConditional": false,
    })
}

/// A priority as an issue's `priority` field shows it.
fn priority_json(base: &str, priority: Priority) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/priority/{}", priority.id),
        "iconUrl": format!("{base}/images/icons/priorities/{}.svg", priority.name.to_lowercase()),
        "name": priority.name,
        "id": priority.id,
    })
}

/// A priority as `GET /priority` shows it: with its description and colour.
pub fn priority_details_json(base: &str, priority: Priority) -> Value {
    let mut shown = priority_json(base, priority);
    shown["description"] = json!(priority.description);
    shown["statusColor"] = json!(priority.status_color);
    shown
}

pub fn issue_type_json(base: &str, kind: IssueType) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/issuetype/{}", kind.id),
        "id": kind.id,
        "description": kind.description,
        "iconUrl": format!("{base}/images/icons/issuetypes/{}.svg", kind.name.to_lowercase()),
        "name": kind.name,
        "subtask": false,
        "hierarchyLevel": 0,
    })
}

fn project_reference(base: &str, project: &ProjectRecord) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/project/{}", project.project.id),
        "id": project.project.id,
        "key": project.project.key,
        "name": project.project.name,
        "projectTypeKey": "software",
        "simplified": false,
        "avatarUrls": avatar_urls(base, &project.project.id),
    })
}

/// `GET /project/{key}`: the project with its description, issue types and lead.
pub fn project_json(site: &Site, project: &ProjectRecord) -> Value {
    project_json_expanded(site, project, |_| true)
}

/// A project with the parts `expands` names (`description`, `issueTypes`, `lead`), as
/// `GET /project/search?expand=…` shows it.
pub fn project_json_expanded(site: &Site, project: &ProjectRecord, expands: impl Fn(&str) -> bool) -> Value {
    let base = &site.base_url;
    let mut value = project_reference(base, project);
    if let Some(object) = value.as_object_mut() {
        if expands("description") {
            object.insert("description".into(), json!(""));
        }
        if expands("issueTypes") {
            object.insert("issueTypes".into(), ISSUE_TYPES.iter().map(|kind| issue_type_json(base, *kind)).collect());
        }
        object.insert("assigneeType".into(), json!("UNASSIGNED"));
        object.insert("isPrivate".into(), json!(false));
        object.insert("style".into(), json!("classic"));
        if let Some(lead) = site.users.first().filter(|_| expands("lead")) {
            object.insert("lead".into(), user_json(base, lead, ApiVersion::V3));
        }
    }
    value
}

fn account_json(site: &Site, account: Option<&str>, api: ApiVersion) -> Value {
    account.and_then(|id| site.user(id)).map_or(Value::Null, |user| user_json(&site.base_url, user, api))
}

fn field_json(site: &Site, issue: &IssueRecord, field: &str, api: ApiVersion, viewer: &str) -> Value {
    let base = &site.base_url;
    match field {
        "comment" => comment_page_json(site, issue, api, viewer),
        "summary" => json!(issue.summary),
        "description" => match (&issue.description, api) {
            (None, _) => Value::Null,
            (Some(document), ApiVersion::V3) => document.clone(),
            (Some(document), ApiVersion::V2) => json!(adf_to_text(document)),
        },
        "priority" => priority_json(base, issue.priority),
        "status" => status_json(base, issue.status),
        "assignee" => account_json(site, issue.assignee.as_deref(), api),
        "reporter" => account_json(site, issue.reporter.as_deref(), api),
        "creator" => account_json(site, Some(&issue.creator), api),
        "labels" => json!(issue.labels),
        "created" => json!(jira_time(issue.created)),
        "updated" => json!(jira_time(issue.updated)),
        "issuetype" => issue_type_json(base, issue.issue_type),
        "project" => site.project(&issue.project_key).map_or(Value::Null, |project| project_reference(base, project)),
        "security" => issue.security.as_ref().map_or(Value::Null, |level| level_json(base, level)),
        "attachment" => {
            Value::Array(issue.attachments.iter().map(|attachment| attachment_json(site, attachment)).collect())
        }
        custom => issue.custom.get(custom).map_or(Value::Null, |text| json!(text)),
    }
}

/// An issue as `GET /issue/{key}` and the search show it to `viewer` (an account id: the comments
/// restricted to a role or group they are not in are left out of the `comment` field, as the comment
/// list leaves them out). A webhook has no viewer and carries no `comment` field.
pub fn issue_json(
    site: &Site,
    issue: &IssueRecord,
    selection: &FieldSelection,
    api: ApiVersion,
    viewer: Option<&str>,
) -> Value {
    let fields: Map<String, Value> = selection
        .fields
        .iter()
        .filter_map(|field| match (*field, viewer) {
            ("comment", None) => None,
            (field, viewer) => {
                Some((field.to_string(), field_json(site, issue, field, api, viewer.unwrap_or_default())))
            }
        })
        .collect();
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": issue.id.to_string(),
        "self": format!("{}/{}/issue/{}", site.base_url, api.prefix(), issue.id),
        "key": issue.key,
        "fields": fields,
    })
}

/// The issue's `comment` field: every comment `viewer` may see, oldest first, as one page of
/// `GET /issue/{key}/comment`.
fn comment_page_json(site: &Site, issue: &IssueRecord, api: ApiVersion, viewer: &str) -> Value {
    let comments: Vec<Value> =
        site.comments_seen_by(viewer, issue).map(|comment| comment_json(site, issue, comment, api, false)).collect();
    json!({
        "comments": comments,
        "self": format!("{}/{}/issue/{}/comment", site.base_url, api.prefix(), issue.id),
        "maxResults": comments.len(),
        "total": comments.len(),
        "startAt": 0,
    })
}

/// An attachment as `GET /attachment/{id}` and the issue's `attachment` field show it.
pub fn attachment_json(site: &Site, attachment: &AttachmentRecord) -> Value {
    let base = &site.base_url;
    json!({
        "self": format!("{base}/rest/api/3/attachment/{}", attachment.id),
        "id": attachment.id.to_string(),
        "filename": attachment.filename,
        "author": account_json(site, Some(&attachment.author), ApiVersion::V3),
        "created": jira_time(attachment.created),
        "size": attachment.content.len(),
        "mimeType": attachment.mime_type,
        "content": format!("{base}/rest/api/3/attachment/content/{}", attachment.id),
    })
}

/// The issue properties a search asked for (`IssueBean.properties`): key → value, those the issue has.
pub fn properties_json(issue: &IssueRecord, keys: &[&str]) -> Value {
    let shown: Map<String, Value> = keys
        .iter()
        .filter_map(|key| issue.properties.get(*key).map(|value| (key.to_string(), value.clone())))
        .collect();
    Value::Object(shown)
}

/// A comment; its entity properties only when the request asked for them (`expand=properties`).
pub fn comment_json(
    site: &Site,
    issue: &IssueRecord,
    comment: &CommentRecord,
    api: ApiVersion,
    with_properties: bool,
) -> Value {
    let body = match api {
        ApiVersion::V3 => comment.body.clone(),
        ApiVersion::V2 => json!(adf_to_text(&comment.body)),
    };
    let mut shown = json!({
        "self": format!("{}/{}/issue/{}/comment/{}", site.base_url, api.prefix(), issue.id, comment.id),
        "id": comment.id.to_string(),
        "author": account_json(site, Some(&comment.author), api),
        "body": body,
        "updateAuthor": account_json(site, Some(&comment.update_author), api),
        "created": jira_time(comment.created),
        "updated": jira_time(comment.updated),
        "jsdPublic": comment.is_public(),
    });
    if let Some(visibility) = &comment.visibility {
        shown["visibility"] = visibility.to_json();
    }
    if with_properties {
        let properties: Vec<Value> =
            comment.properties.iter().map(|(key, value)| json!({ "key": key, "value": value })).collect();
        shown["properties"] = Value::Array(properties);
    }
    shown
}

/// One change of an issue's history, as `GET /issue/{key}/changelog` lists it.
pub fn history_json(site: &Site, history: &History) -> Value {
    json!({
        "id": history.id.to_string(),
        "author": account_json(site, Some(&history.author), ApiVersion::V3),
        "created": jira_time(history.created),
        // Atlassian's schema types `from`, `to` and their strings as strings: an empty side is left out
        // (a reader indexing it still finds nothing), where webhooks carry it as `null`.
        "items": history.items.iter().map(|item| without_nulls(change_item_json(item))).collect::<Vec<_>>(),
    })
}

fn without_nulls(mut object: Value) -> Value {
    if let Some(members) = object.as_object_mut() {
        members.retain(|_, value| !value.is_null());
    }
    object
}

/// One changed field, as changelogs (listed, expanded or in webhooks) show it.
pub fn change_item_json(item: &ChangeItem) -> Value {
    json!({
        "field": item.field,
        "fieldtype": "jira",
        "fieldId": item.field,
        "from": item.from,
        "fromString": item.from_string,
        "to": item.to,
        "toString": item.to_string,
    })
}

/// The plain text of an ADF document, as REST v2 shows rich text: blocks on their own lines, mentions
/// by their text, hard breaks as newlines.
pub fn adf_to_text(document: &Value) -> String {
    fn walk(node: &Value, out: &mut String) {
        match node.get("type").and_then(Value::as_str) {
            Some("text") => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or_default()),
            Some("hardBreak") => out.push('\n'),
            Some("mention") | Some("emoji") => {
                out.push_str(node.pointer("/attrs/text").and_then(Value::as_str).unwrap_or_default())
            }
            _ => {
                let children = node.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                for child in children {
                    let block =
                        child.get("content").is_some() && child.get("type").and_then(Value::as_str) != Some("text");
                    walk(child, out);
                    if block && !out.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
        }
    }
    let mut text = String::new();
    walk(document, &mut text);
    text.trim_end_matches('\n').to_string()
}

/// `GET /field`: the system fields people map, then the custom ones, as `FieldDetails`.
pub fn fields_json() -> Value {
    let system = [
        ("summary", "Summary", "string"),
        ("description", "Description", "string"),
        ("priority", "Priority", "priority"),
        ("status", "Status", "status"),
        ("assignee", "Assignee", "user"),
        ("reporter", "Reporter", "user"),
        ("labels", "Labels", "array"),
        ("security", "Security Level", "securitylevel"),
    ];
    let mut fields: Vec<Value> = system
        .iter()
        .map(|(id, name, kind)| {
            json!({
                "id": id, "key": id, "name": name, "custom": false, "orderable": true, "navigable": true,
                "searchable": true, "clauseNames": [id], "schema": { "type": kind, "system": id }
            })
        })
        .collect();
    for (id, name) in CUSTOM_TEXT_FIELDS {
        let number: i64 = id.trim_start_matches("customfield_").parse().unwrap_or_default();
        fields.push(json!({
            "id": id, "key": id, "name": name, "custom": true, "orderable": true, "navigable": true,
            "searchable": true, "clauseNames": [format!("cf[{number}]"), name],
            "schema": {
                "type": "string",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
                "customId": number
            }
        }));
    }
    Value::Array(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_use_jiras_format_with_milliseconds() {
        let at = chrono::Utc.with_ymd_and_hms(2024, 1, 31, 10, 20, 30).unwrap() + chrono::Duration::milliseconds(123);
        assert_eq!(jira_time(at), "2024-01-31T10:20:30.123+0000");
    }

    #[test]
    fn field_selection_understands_lists_wildcards_and_exclusions() {
        let names = |selection: FieldSelection| selection.fields;
        assert_eq!(
            names(FieldSelection::parse(["summary,status", "labels"], FieldSelection::none())),
            ["summary", "status", "labels"]
        );
        assert_eq!(names(FieldSelection::parse([], FieldSelection::none())), Vec::<&str>::new());
        assert_eq!(names(FieldSelection::parse(["id"], FieldSelection::all())), Vec::<&str>::new());
        let without = names(FieldSelection::parse(["*all,-description"], FieldSelection::none()));
        assert_eq!(without.len(), ISSUE_FIELDS.len() - 1);
        assert!(!without.contains(&"description"));
        assert!(!names(FieldSelection::parse(["-labels"], FieldSelection::none())).contains(&"labels"));
    }

    #[test]
    fn adf_becomes_plain_text_with_mentions_and_lines() {
        let document = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Hi "},
                {"type": "mention", "attrs": {"id": "abc", "text": "@Alice"}},
                {"type": "hardBreak"},
                {"type": "text", "text": "next", "marks": [{"type": "strong"}]}
            ]},
            {"type": "paragraph", "content": [{"type": "text", "text": "second"}]}
        ]});
        assert_eq!(adf_to_text(&document), "Hi @Alice\nnext\nsecond");
    }
}
