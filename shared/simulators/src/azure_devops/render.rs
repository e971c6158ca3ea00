//! How the service shows its resources on the wire (work items, comments, work item types).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::fields::{self, FieldKind};
use super::identity::SimIdentity;
use super::mentions;
use super::state::{format_instant, Organization, StoredComment, TagDefinition, WorkItem};

/// What a read asks for: all fields or some, and which extras (`$expand`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expand {
    #[default]
    None,
    Relations,
    Fields,
    Links,
    All,
}

impl Expand {
    pub fn parse(text: &str) -> Option<Expand> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Some(Expand::None),
            "relations" => Some(Expand::Relations),
            "fields" => Some(Expand::Fields),
            "links" => Some(Expand::Links),
            "all" => Some(Expand::All),
            _ => None,
        }
    }
}

/// Where the organization's resources live, e.g. `http://127.0.0.1:8080/fabrikam`.
pub struct Renderer<'a> {
    pub organization: &'a Organization,
    pub organization_url: &'a str,
}

impl Renderer<'_> {
    pub fn work_item_url(&self, id: u32) -> String {
        format!("{}/_apis/wit/workItems/{id}", self.organization_url)
    }

    /// Where a work item's comments are: under its project's id, as the service's comment URLs are (the
    /// comments API takes no address without a project).
    pub fn comments_url(&self, item: &WorkItem) -> String {
        let project = self.organization.project(&item.project).map(|project| project.id.to_string());
        format!("{}/{}/_apis/wit/workItems/{}/comments", self.organization_url, project.unwrap_or_default(), item.id)
    }

    /// A field map for the wire: identity fields become `IdentityRef`s, optionally limited to `only`.
    pub fn fields(&self, stored: &BTreeMap<String, Value>, only: Option<&[String]>) -> Map<String, Value> {
        stored
            .iter()
            .filter(|(name, _)| only.is_none_or(|wanted| wanted.iter().any(|want| want.eq_ignore_ascii_case(name))))
            .map(|(name, value)| (name.clone(), self.field_value(name, value)))
            .collect()
    }

    fn field_value(&self, name: &str, value: &Value) -> Value {
        let is_identity = fields::definition(name).is_some_and(|definition| definition.kind == FieldKind::Identity);
        match (is_identity, value.as_str().and_then(|id| self.organization.identity(id))) {
            (true, Some(identity)) => self.identity_ref(identity),
            _ => value.clone(),
        }
    }

    pub fn identity_ref(&self, identity: &SimIdentity) -> Value {
        identity.identity_ref(self.organization_url)
    }

    pub fn work_item(&self, item: &WorkItem, only: Option<&[String]>, expand: Expand) -> Value {
        let mut body = json!({
            "id": item.id,
            "rev": item.rev,
            "fields": self.fields(&item.fields, only),
            "url": self.work_item_url(item.id),
        });
        // The service leaves `relations` out when there are none, even when asked to expand them.
        if matches!(expand, Expand::Relations | Expand::All) && !item.relations.is_empty() {
            body["relations"] = Value::Array(item.relations.clone());
        }
        if matches!(expand, Expand::Links | Expand::All) {
            body["_links"] = self.work_item_links(item);
        }
        body
    }

    /// Revision `rev` (from 1) of a work item, as `GET workItems/{id}/revisions/{rev}` shows it.
    pub fn revision(&self, item: &WorkItem, rev: usize) -> Value {
        json!({
            "id": item.id,
            "rev": rev,
            "fields": self.fields(&item.revisions[rev - 1], None),
            "url": format!("{}/revisions/{rev}", self.work_item_url(item.id)),
        })
    }

    /// What revision `rev` (from 1) changed, as `GET workItems/{id}/updates/{rev}` shows it: each field
    /// it set, changed or cleared, with its old and new value; who made it; and until when it was the
    /// latest (`revisedDate`, the far future for the latest).
    pub fn update(&self, item: &WorkItem, rev: usize) -> Value {
        let after = &item.revisions[rev - 1];
        let before = rev.checked_sub(2).map(|index| &item.revisions[index]);
        let names: std::collections::BTreeSet<&String> =
            after.keys().chain(before.into_iter().flat_map(|b| b.keys())).collect();
        let mut changes = Map::new();
        for name in names {
            let (old, new) = (before.and_then(|before| before.get(name)), after.get(name));
            if old == new {
                continue;
            }
            let mut change = Map::new();
            if let Some(old) = old {
                change.insert("oldValue".into(), self.field_value(name, old));
            }
            if let Some(new) = new {
                change.insert("newValue".into(), self.field_value(name, new));
            }
            changes.insert(name.clone(), Value::Object(change));
        }
        let revised_by =
            after.get(fields::CHANGED_BY).map_or(Value::Null, |by| self.field_value(fields::CHANGED_BY, by));
        let revised_date = item
            .revisions
            .get(rev)
            .and_then(|next| next.get(fields::CHANGED_DATE).cloned())
            .unwrap_or_else(|| Value::from("9999-01-01T00:00:00Z"));
        json!({
            "id": rev,
            "workItemId": item.id,
            "rev": rev,
            "revisedBy": revised_by,
            "revisedDate": revised_date,
            "fields": changes,
            "url": format!("{}/updates/{rev}", self.work_item_url(item.id)),
        })
    }

    pub fn work_item_links(&self, item: &WorkItem) -> Value {
        let url = self.work_item_url(item.id);
        json!({
            "self": {"href": url},
            "workItemUpdates": {"href": format!("{url}/updates")},
            "workItemRevisions": {"href": format!("{url}/revisions")},
            "workItemComments": {"href": self.comments_url(item)},
            "html": {"href": format!("{}/{}/_workitems/edit/{}", self.organization_url, item.project, item.id)},
            "workItemType": {"href": format!("{}/{}/_apis/wit/workItemTypes/{}", self.organization_url, item.project, item.work_item_type())},
            "fields": {"href": format!("{}/_apis/wit/fields", self.organization_url)},
        })
    }

    pub fn comment(&self, item: &WorkItem, comment: &StoredComment) -> Value {
        let person = |id: &uuid::Uuid| {
            self.organization
                .identity(&id.to_string())
                .map(|identity| self.identity_ref(identity))
                .unwrap_or(Value::Null)
        };
        json!({
            "workItemId": item.id,
            "id": comment.id,
            "version": comment.version,
            "text": comment.text,
            "renderedText": comment.text,
            "format": "html",
            "createdBy": person(&comment.created_by),
            "createdDate": format_instant(comment.created),
            "modifiedBy": person(&comment.modified_by),
            "modifiedDate": format_instant(comment.modified),
            "isDeleted": comment.is_deleted,
            "mentions": self.mentions(comment),
            "url": format!("{}/{}", self.comments_url(item), comment.id),
        })
    }

    /// The people a comment mentions, as `CommentMention`s: the id as the text gives it
    /// (`artifactId`), and the identity it resolves to (`targetId`, a person's id).
    fn mentions(&self, comment: &StoredComment) -> Vec<Value> {
        mentions::mentioned_ids(&comment.text)
            .into_iter()
            .map(|id| {
                let target = self.organization.identity(&id).map_or_else(|| id.clone(), |person| person.id.to_string());
                json!({"artifactId": id, "artifactType": "Person", "commentId": comment.id, "targetId": target})
            })
            .collect()
    }

    /// A work item type's states as `WorkItemStateColor`s, with the Agile process's colors and
    /// categories.
    pub fn states(&self) -> Vec<Value> {
        fields::STATES
            .iter()
            .zip(["b2b2b2", "007acc", "ff9d00", "339933"])
            .zip(["Proposed", "InProgress", "Resolved", "Completed"])
            .map(|((state, color), category)| json!({"name": state, "color": color, "category": category}))
            .collect()
    }

    /// A field as the fields API shows it (`WorkItemField2`).
    pub fn field(&self, definition: &fields::FieldDefinition) -> Value {
        let wire_type = fields::wire_type(definition);
        let operations: Vec<Value> = fields::supported_operations(wire_type)
            .iter()
            .map(|(reference, name)| json!({"referenceName": format!("SupportedOperations.{reference}"), "name": name}))
            .collect();
        let mut body = json!({
            "name": definition.name,
            "referenceName": definition.reference_name,
            "type": wire_type,
            "usage": "workItem",
            "readOnly": definition.read_only,
            "canSortBy": wire_type != "html" && wire_type != "history" && wire_type != "plainText",
            "isQueryable": true,
            "supportedOperations": operations,
            "isPicklist": false,
            "isPicklistSuggested": false,
            "isLocked": false,
            "url": format!("{}/_apis/wit/fields/{}", self.organization_url, definition.reference_name),
        });
        if definition.kind == FieldKind::Identity {
            body["isIdentity"] = Value::Bool(true);
        }
        body
    }

    /// A tag of the project (`WorkItemTagDefinition`).
    pub fn tag(&self, tag: &TagDefinition) -> Value {
        let project = self.organization.project(&tag.project).map(|project| project.id.to_string());
        json!({
            "id": tag.id,
            "name": tag.name,
            "lastUpdated": format_instant(tag.last_updated),
            "url": format!("{}/{}/_apis/wit/tags/{}", self.organization_url, project.unwrap_or_default(), tag.id),
        })
    }

    pub fn work_item_type(&self, project: &str, name: &str) -> Value {
        let states = self.states();
        let (color, icon) = type_look(name);
        let field_list: Vec<Value> = fields::DEFINITIONS
            .iter()
            .map(|definition| {
                json!({
                    "referenceName": definition.reference_name,
                    "name": definition.name,
                    "alwaysRequired": definition.reference_name == fields::TITLE,
                    "url": format!("{}/_apis/wit/fields/{}", self.organization_url, definition.reference_name),
                })
            })
            .collect();
        let transitions: Map<String, Value> = fields::STATES
            .iter()
            .map(|from| {
                let targets: Vec<Value> =
                    fields::STATES.iter().filter(|to| *to != from).map(|to| json!({"to": to, "actions": []})).collect();
                (from.to_string(), Value::Array(targets))
            })
            .collect();
        json!({
            "name": name,
            "referenceName": format!("Microsoft.VSTS.WorkItemTypes.{}", name.replace(' ', "")),
            "description": format!("Tracks a {name}."),
            "color": color,
            "icon": {"id": icon, "url": format!("{}/_apis/wit/workItemIcons/{icon}?color={color}&v=2", self.organization_url)},
            "isDisabled": false,
            "states": states,
            "fields": field_list.clone(),
            "fieldInstances": field_list,
            "transitions": transitions,
            "url": format!("{}/{project}/_apis/wit/workItemTypes/{name}", self.organization_url),
        })
    }
}

/// The color and icon the Agile process gives a work item type.
fn type_look(name: &str) -> (&'static str, &'static str) {
    match name.to_ascii_lowercase().as_str() {
        "bug" => ("CC293D", "icon_insect"),
        "task" => ("F2CB1D", "icon_clipboard"),
        "user story" => ("009CCC", "icon_book"),
        "feature" => ("773B93", "icon_trophy"),
        "epic" => ("FF7B00", "icon_crown"),
        "issue" => ("B4009E", "icon_traffic_cone"),
        _ => ("B2B2B2", "icon_clipboard"),
    }
}
