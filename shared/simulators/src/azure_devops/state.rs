//! The simulated organization's state: projects, people, work items with their revisions and comments,
//! and what lagging WIQL queries see of them.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

use super::error::ApiError;
use super::fields;
use super::identity::{SimIdentity, SimUser};
use super::patch::{self, Draft, PatchContext, PatchOperation};
use crate::faults::{Faults, SearchLag};

/// `2024-01-31T10:20:30.123Z`: how the service writes instants (UTC, milliseconds).
pub fn format_instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct StoredComment {
    pub id: u32,
    pub version: u32,
    pub text: String,
    pub created_by: Uuid,
    pub created: DateTime<Utc>,
    pub modified_by: Uuid,
    pub modified: DateTime<Utc>,
    /// Deleted comments are kept, shown only to reads that ask for them (`includeDeleted`).
    pub is_deleted: bool,
}

/// A work item: its current fields (identity fields hold identity ids), relations, every revision's
/// fields, and its comments.
#[derive(Debug, Clone)]
pub struct WorkItem {
    pub id: u32,
    pub rev: u32,
    pub project: String,
    pub fields: BTreeMap<String, Value>,
    pub relations: Vec<Value>,
    /// `revisions[n]` holds the fields of revision `n + 1`.
    pub revisions: Vec<BTreeMap<String, Value>>,
    pub comments: Vec<StoredComment>,
    pub changed: DateTime<Utc>,
}

impl WorkItem {
    pub fn work_item_type(&self) -> &str {
        self.fields.get(fields::WORK_ITEM_TYPE).and_then(Value::as_str).unwrap_or_default()
    }

    /// The work item as it stood at `at`: its latest revision changed by then (relations and comments as
    /// they are now); `None` before it was created.
    pub fn as_of(&self, at: DateTime<Utc>) -> Option<WorkItem> {
        let changed_by_then = |revision: &&BTreeMap<String, Value>| {
            let changed = revision.get(fields::CHANGED_DATE).and_then(Value::as_str);
            changed.and_then(|text| DateTime::parse_from_rfc3339(text).ok()).is_some_and(|changed| changed <= at)
        };
        let (index, fields) =
            self.revisions.iter().enumerate().rev().find(|(_, revision)| changed_by_then(revision))?;
        let rev = u32::try_from(index + 1).ok()?;
        Some(WorkItem { rev, fields: fields.clone(), ..self.clone() })
    }

    /// The comments not deleted, oldest first.
    pub fn live_comments(&self) -> impl Iterator<Item = &StoredComment> {
        self.comments.iter().filter(|comment| !comment.is_deleted)
    }

    /// Sets `System.CommentCount` to the live comments, in the fields and in the latest revision: adding
    /// or deleting a comment does not make a revision of its own.
    fn count_comments(&mut self) {
        let count = Value::from(self.live_comments().count());
        self.fields.insert(fields::COMMENT_COUNT.into(), count.clone());
        if let Some(revision) = self.revisions.last_mut() {
            revision.insert(fields::COMMENT_COUNT.into(), count);
        }
    }
}

/// What a successful write changed, for the service hooks (the work item itself travels alongside).
#[derive(Debug, Clone)]
pub enum Change {
    Created,
    /// `previous` holds the fields of the revision before this one.
    Updated {
        previous: BTreeMap<String, Value>,
    },
    Commented {
        comment: u32,
    },
    CommentEdited {
        comment: u32,
        previous: BTreeMap<String, Value>,
    },
    /// The work item went to the recycle bin.
    Deleted,
}

/// A file uploaded with `POST …/_apis/wit/attachments`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAttachment {
    pub file_name: String,
    pub content: std::sync::Arc<Vec<u8>>,
}

/// A tag a project's work items have carried (the tags API lists them; a tag stays once made).
#[derive(Debug, Clone)]
pub struct TagDefinition {
    pub id: Uuid,
    pub project: String,
    pub name: String,
    pub last_updated: DateTime<Utc>,
}

/// How a create or update is made: `validateOnly` checks without saving; `bypassRules` keeps what the
/// work item type's rules would refuse (see [`fields::validate`] for which).
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    pub validate_only: bool,
    pub bypass_rules: bool,
}

/// The organization behind one simulator.
#[derive(Debug)]
pub struct Organization {
    pub name: String,
    pub projects: Vec<Project>,
    pub work_item_types: Vec<String>,
    pub identities: Vec<SimIdentity>,
    pub items: BTreeMap<u32, WorkItem>,
    /// Uploaded attachments, by id; a work item holds one through an `AttachedFile` relation to its URL.
    pub attachments: BTreeMap<Uuid, StoredAttachment>,
    /// The tags work items have carried, in the order they were first used.
    pub tags: Vec<TagDefinition>,
    /// What WIQL sees: changes show after the fault plan's `search_lag_ms`.
    search_lag: SearchLag<WorkItem>,
    next_item_id: u32,
    next_comment_id: u32,
    last_instant: DateTime<Utc>,
}

impl Organization {
    pub fn new(name: String, projects: &[String], work_item_types: Vec<String>, users: Vec<SimUser>) -> Self {
        Organization {
            name,
            projects: projects.iter().map(|name| Project { id: Uuid::new_v4(), name: name.clone() }).collect(),
            work_item_types,
            identities: users.into_iter().map(SimIdentity::new).collect(),
            items: BTreeMap::new(),
            attachments: BTreeMap::new(),
            tags: Vec::new(),
            search_lag: SearchLag::default(),
            next_item_id: 1,
            next_comment_id: 1,
            last_instant: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// WIQL lags behind changes as the plan of `faults` says.
    #[must_use]
    pub fn lagging_with(mut self, faults: Faults) -> Self {
        self.search_lag = SearchLag::new(faults);
        self
    }

    /// Keeps `item` as the work item's current state (WIQL may see the change later).
    fn store(&mut self, item: WorkItem) {
        self.register_tags(&item);
        self.search_lag.store(&mut self.items, item.id, item);
    }

    /// Makes each tag the work item carries a tag of its project, as the service does when a work item
    /// is saved with a new tag.
    fn register_tags(&mut self, item: &WorkItem) {
        let tags = item.fields.get(fields::TAGS).and_then(Value::as_str).unwrap_or_default();
        for name in tags.split(';').map(str::trim).filter(|name| !name.is_empty()) {
            let known = self.tags.iter().any(|tag| tag.project == item.project && tag.name.eq_ignore_ascii_case(name));
            if !known {
                let tag = TagDefinition {
                    id: Uuid::new_v4(),
                    project: item.project.clone(),
                    name: name.to_string(),
                    last_updated: item.changed,
                };
                self.tags.push(tag);
            }
        }
    }

    /// A project's tag by id or name.
    pub fn tag(&self, project: &str, id_or_name: &str) -> Result<&TagDefinition, ApiError> {
        self.tags
            .iter()
            .filter(|tag| tag.project == project)
            .find(|tag| {
                tag.name.eq_ignore_ascii_case(id_or_name) || tag.id.to_string().eq_ignore_ascii_case(id_or_name)
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "WorkItemTagNotFoundException",
                    format!("The tag {id_or_name} does not exist in project {project}."),
                )
            })
    }

    /// A strictly increasing instant with millisecond precision, so that every change has its own
    /// `ChangedDate` and watermarks compare exactly.
    pub fn next_instant(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let now = now.duration_trunc(Duration::milliseconds(1)).unwrap_or(now);
        let next = if now > self.last_instant { now } else { self.last_instant + Duration::milliseconds(1) };
        self.last_instant = next;
        next
    }

    /// The organization's time now: never before a change it has stamped (changes faster than one a
    /// millisecond get instants ahead of the clock, and a query's `asOf` must not predate them).
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now().max(self.last_instant)
    }

    pub fn identity_by_pat(&self, pat: &str) -> Option<&SimIdentity> {
        self.identities.iter().find(|identity| identity.pat == pat)
    }

    pub fn identity(&self, id: &str) -> Option<&SimIdentity> {
        self.identities.iter().find(|identity| identity.id.to_string().eq_ignore_ascii_case(id))
    }

    /// Adds a person (or replaces the one with the same e-mail) and returns the identity.
    pub fn add_identity(&mut self, user: SimUser) -> SimIdentity {
        let identity = SimIdentity::new(user);
        self.identities.retain(|known| !known.email.eq_ignore_ascii_case(&identity.email));
        self.identities.push(identity.clone());
        identity
    }

    /// The project's canonical name, found case-insensitively by name or id.
    pub fn project(&self, name_or_id: &str) -> Result<&Project, ApiError> {
        self.projects
            .iter()
            .find(|project| project.name.eq_ignore_ascii_case(name_or_id) || project.id.to_string() == name_or_id)
            .ok_or_else(|| ApiError::project_not_found(name_or_id))
    }

    pub fn work_item_type(&self, name: &str) -> Result<&str, ApiError> {
        self.work_item_types.iter().find(|known| known.eq_ignore_ascii_case(name)).map(String::as_str).ok_or_else(
            || {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "WorkItemTypeNotFoundException",
                    format!("VS402323: Work item type {name} does not exist."),
                )
            },
        )
    }

    /// The work item with this id in this project.
    pub fn item(&self, project: &str, id: u32) -> Result<&WorkItem, ApiError> {
        self.items
            .get(&id)
            .filter(|item| item.project == project)
            .ok_or_else(|| ApiError::work_item_not_found(&id.to_string()))
    }

    /// A work item by id in whichever project holds it (a URL without a project addresses it so).
    pub fn item_in_any_project(&self, id: u32) -> Result<&WorkItem, ApiError> {
        self.items.get(&id).ok_or_else(|| ApiError::work_item_not_found(&id.to_string()))
    }

    /// Brings what WIQL sees up to now.
    pub fn settle_query_view(&mut self) {
        self.search_lag.settle_now();
    }

    /// The work items as WIQL sees them, as of the last [`settle_query_view`](Self::settle_query_view).
    pub fn query_view(&self) -> impl Iterator<Item = &WorkItem> {
        self.search_lag.visible(self.items.values().map(|item| (u64::from(item.id), item)))
    }

    /// Creates a work item from a JSON Patch document. With `validate_only` nothing is stored and the
    /// returned item has id 0.
    pub fn create(
        &mut self,
        project: &str,
        work_item_type: &str,
        operations: &[PatchOperation],
        actor: &SimIdentity,
        options: WriteOptions,
    ) -> Result<(WorkItem, Option<Change>), ApiError> {
        let project = self.project(project)?.name.clone();
        let work_item_type = self.work_item_type(work_item_type)?.to_string();
        refuse_read_only(actor)?;
        let mut draft = Draft { fields: BTreeMap::new(), relations: Vec::new() };
        let context = PatchContext {
            rev: 0,
            project: &project,
            identities: &self.identities,
            attachments: &self.attachments,
            bypass_rules: options.bypass_rules,
        };
        patch::apply(&mut draft, operations, &context)?;
        if !draft.fields.contains_key(fields::TITLE) {
            return Err(ApiError::rule("Title", "Required, InvalidEmpty"));
        }
        let defaults = [
            (fields::STATE, Value::from(fields::STATES[0])),
            (fields::REASON, Value::from("New")),
            (fields::AREA_PATH, Value::from(project.as_str())),
            (fields::ITERATION_PATH, Value::from(project.as_str())),
            (fields::PRIORITY, Value::from(2)),
        ];
        for (name, value) in defaults {
            draft.fields.entry(name.to_string()).or_insert(value);
        }
        // The Agile process gives a new Bug its default severity (the vendor's Bug examples show it).
        if work_item_type.eq_ignore_ascii_case("Bug") {
            draft.fields.entry(fields::SEVERITY.to_string()).or_insert_with(|| Value::from(fields::SEVERITIES[2]));
        }
        let id = if options.validate_only { 0 } else { self.next_item_id };
        let at = self.next_instant();
        let mut item = WorkItem {
            id,
            rev: 0,
            project: project.clone(),
            fields: BTreeMap::new(),
            relations: Vec::new(),
            revisions: Vec::new(),
            comments: Vec::new(),
            changed: at,
        };
        draft.fields.insert(fields::ID.into(), Value::from(id));
        draft.fields.insert(fields::TEAM_PROJECT.into(), Value::from(project));
        draft.fields.insert(fields::WORK_ITEM_TYPE.into(), Value::from(work_item_type));
        draft.fields.insert(fields::CREATED_DATE.into(), Value::from(format_instant(at)));
        draft.fields.insert(fields::CREATED_BY.into(), Value::from(actor.id.to_string()));
        draft.fields.insert(fields::COMMENT_COUNT.into(), Value::from(0));
        let history = draft.fields.get(fields::HISTORY).and_then(Value::as_str).map(str::to_string);
        commit(&mut item, draft, at, actor);
        if options.validate_only {
            return Ok((item, None));
        }
        if let Some(text) = history {
            self.attach_history_comment(&mut item, text, actor, at);
        }
        self.next_item_id += 1;
        self.store(item.clone());
        Ok((item, Some(Change::Created)))
    }

    /// Applies a JSON Patch document to a work item. A document that changes nothing makes no revision.
    /// `DELETE …/workitems/{id}`: the work item goes to the recycle bin; reads and queries no longer
    /// find it.
    pub fn delete(&mut self, project: &str, id: u32, actor: &SimIdentity) -> Result<WorkItem, ApiError> {
        let project = self.project(project)?.name.clone();
        self.item(&project, id)?;
        refuse_read_only(actor)?;
        self.items.remove(&id).ok_or_else(|| ApiError::work_item_not_found(&id.to_string()))
    }

    pub fn update(
        &mut self,
        project: &str,
        id: u32,
        operations: &[PatchOperation],
        actor: &SimIdentity,
        options: WriteOptions,
    ) -> Result<(WorkItem, Option<Change>), ApiError> {
        let project = self.project(project)?.name.clone();
        let current = self.item(&project, id)?.clone();
        refuse_read_only(actor)?;
        // History belongs to the revision that wrote it; the next revision starts without it.
        let mut before = current.fields.clone();
        before.remove(fields::HISTORY);
        let mut draft = Draft { fields: before.clone(), relations: current.relations.clone() };
        let (moves, operations) = patch::split_moves(operations);
        let destination = self.apply_moves(&mut draft, &moves, &project)?;
        let context = PatchContext {
            rev: current.rev,
            project: &destination,
            identities: &self.identities,
            attachments: &self.attachments,
            bypass_rules: options.bypass_rules,
        };
        patch::apply(&mut draft, &operations, &context)?;
        if destination != project {
            keep_paths_in(&mut draft, &destination);
        }
        if options.validate_only || (draft.fields == before && draft.relations == current.relations) {
            return Ok((current, None));
        }
        let at = self.next_instant();
        let history = draft.fields.get(fields::HISTORY).and_then(Value::as_str).map(str::to_string);
        let mut item = current.clone();
        item.project = destination;
        commit(&mut item, draft, at, actor);
        if let Some(text) = history {
            self.attach_history_comment(&mut item, text, actor, at);
        }
        self.store(item.clone());
        Ok((item, Some(Change::Updated { previous: current.fields })))
    }

    /// Adds a comment: a new revision whose `System.History` is the comment, like the service.
    pub fn add_comment(
        &mut self,
        project: &str,
        id: u32,
        text: String,
        actor: &SimIdentity,
    ) -> Result<(WorkItem, u32, Change), ApiError> {
        let project = self.project(project)?.name.clone();
        let mut item = self.item(&project, id)?.clone();
        refuse_read_only(actor)?;
        let at = self.next_instant();
        let mut draft = Draft { fields: item.fields.clone(), relations: item.relations.clone() };
        draft.fields.insert(fields::HISTORY.into(), Value::from(text.clone()));
        commit(&mut item, draft, at, actor);
        let comment = self.attach_history_comment(&mut item, text, actor, at);
        self.store(item.clone());
        Ok((item, comment, Change::Commented { comment }))
    }

    /// Edits a comment's text; only its author may, and the work item gets a new revision.
    pub fn edit_comment(
        &mut self,
        project: &str,
        id: u32,
        comment: u32,
        text: String,
        actor: &SimIdentity,
    ) -> Result<(WorkItem, Change), ApiError> {
        let project = self.project(project)?.name.clone();
        let mut item = self.item(&project, id)?.clone();
        let position = item
            .comments
            .iter()
            .position(|stored| stored.id == comment && !stored.is_deleted)
            .ok_or_else(|| comment_not_found(comment))?;
        if item.comments[position].created_by != actor.id {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "CommentUpdateUnauthorizedException",
                "VS403443: Only the author of a comment can edit it.",
            ));
        }
        let previous = item.fields.clone();
        let at = self.next_instant();
        let mut draft = Draft { fields: item.fields.clone(), relations: item.relations.clone() };
        draft.fields.remove(fields::HISTORY);
        commit(&mut item, draft, at, actor);
        let stored = &mut item.comments[position];
        stored.text = text;
        stored.version += 1;
        stored.modified = at;
        stored.modified_by = actor.id;
        self.store(item.clone());
        Ok((item, Change::CommentEdited { comment, previous }))
    }

    /// Deletes a comment (anyone who may save the work item may): it is kept as deleted, left out of reads
    /// that do not ask for deleted comments.
    pub fn delete_comment(
        &mut self,
        project: &str,
        id: u32,
        comment: u32,
        actor: &SimIdentity,
    ) -> Result<WorkItem, ApiError> {
        let project = self.project(project)?.name.clone();
        let mut item = self.item(&project, id)?.clone();
        refuse_read_only(actor)?;
        let at = self.next_instant();
        let stored = item
            .comments
            .iter_mut()
            .find(|stored| stored.id == comment && !stored.is_deleted)
            .ok_or_else(|| comment_not_found(comment))?;
        stored.is_deleted = true;
        stored.version += 1;
        stored.modified = at;
        stored.modified_by = actor.id;
        item.count_comments();
        self.store(item.clone());
        Ok(item)
    }

    /// A comment of the work item; a deleted one only when `include_deleted`.
    pub fn comment<'a>(
        &self,
        item: &'a WorkItem,
        comment: u32,
        include_deleted: bool,
    ) -> Result<&'a StoredComment, ApiError> {
        item.comments
            .iter()
            .find(|stored| stored.id == comment && (include_deleted || !stored.is_deleted))
            .ok_or_else(|| comment_not_found(comment))
    }

    fn attach_history_comment(
        &mut self,
        item: &mut WorkItem,
        text: String,
        actor: &SimIdentity,
        at: DateTime<Utc>,
    ) -> u32 {
        let id = self.next_comment_id;
        self.next_comment_id += 1;
        item.comments.push(StoredComment {
            id,
            version: 1,
            text,
            created_by: actor.id,
            created: at,
            modified_by: actor.id,
            modified: at,
            is_deleted: false,
        });
        item.count_comments();
        id
    }
}

impl Organization {
    /// Moves the draft to another project or changes its type, as `moves` (the operations on
    /// `System.TeamProject` and `System.WorkItemType`) ask; returns the project it is in then.
    fn apply_moves(&self, draft: &mut Draft, moves: &[PatchOperation], project: &str) -> Result<String, ApiError> {
        let mut destination = project.to_string();
        for operation in moves {
            let value = operation.value.as_ref().and_then(Value::as_str).unwrap_or_default();
            if patch::is_field(operation, fields::TEAM_PROJECT) {
                destination = self.project(value)?.name.clone();
                draft.fields.insert(fields::TEAM_PROJECT.into(), Value::from(destination.clone()));
            } else {
                let work_item_type = self.work_item_type(value)?.to_string();
                draft.fields.insert(fields::WORK_ITEM_TYPE.into(), Value::from(work_item_type));
            }
        }
        Ok(destination)
    }
}

/// A work item moved to another project keeps area and iteration paths only inside it: a path left in
/// the old project becomes the new project's root, where the service files a moved item not given one.
fn keep_paths_in(draft: &mut Draft, project: &str) {
    for path in [fields::AREA_PATH, fields::ITERATION_PATH] {
        let inside = draft
            .fields
            .get(path)
            .and_then(Value::as_str)
            .is_some_and(|value| value.split('\\').next().is_some_and(|root| root.eq_ignore_ascii_case(project)));
        if !inside {
            draft.fields.insert(path.into(), Value::from(project));
        }
    }
}

/// Makes the draft the item's next revision, stamped with the instant and the actor.
fn commit(item: &mut WorkItem, draft: Draft, at: DateTime<Utc>, actor: &SimIdentity) {
    item.rev += 1;
    item.fields = draft.fields;
    item.relations = draft.relations;
    item.changed = at;
    item.fields.insert(fields::REV.into(), Value::from(item.rev));
    item.fields.insert(fields::CHANGED_DATE.into(), Value::from(format_instant(at)));
    item.fields.insert(fields::CHANGED_BY.into(), Value::from(actor.id.to_string()));
    item.revisions.push(item.fields.clone());
}

fn refuse_read_only(actor: &SimIdentity) -> Result<(), ApiError> {
    if actor.read_only {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "WorkItemUnauthorizedAccessException",
            "TF237111: The current user does not have permissions to save work items under the specified area path.",
        ))
    } else {
        Ok(())
    }
}

fn comment_not_found(comment: u32) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "CommentNotFoundException",
        format!("VS403421: Comment {comment} does not exist."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_devops::wiql;
    use serde_json::json;

    fn organization() -> Organization {
        Organization::new(
            "fabrikam".into(),
            &["Fabrikam".to_string()],
            vec!["Bug".into(), "Task".into()],
            vec![SimUser::new("Alice", "alice@example.com", "pat-a")],
        )
    }

    fn ops(body: Value) -> Vec<PatchOperation> {
        patch::parse(&body).unwrap()
    }

    #[test]
    fn every_change_gets_a_new_rev_and_a_later_changed_date_and_no_op_patches_none() {
        let mut org = organization();
        let alice = org.identities[0].clone();
        let (created, _) = org
            .create(
                "fabrikam",
                "bug",
                &ops(json!([{"op": "add", "path": "/fields/System.Title", "value": "T"}])),
                &alice,
                WriteOptions::default(),
            )
            .unwrap();
        assert_eq!((created.id, created.rev), (1, 1));
        assert_eq!(created.fields[fields::STATE], json!("New"));
        let retitle = ops(json!([{"op": "add", "path": "/fields/System.Title", "value": "U"}]));
        let (updated, change) = org.update("Fabrikam", 1, &retitle, &alice, WriteOptions::default()).unwrap();
        assert_eq!(updated.rev, 2);
        assert!(updated.changed > created.changed);
        assert!(matches!(change, Some(Change::Updated { .. })));
        let (again, change) = org.update("Fabrikam", 1, &retitle, &alice, WriteOptions::default()).unwrap();
        assert_eq!(again.rev, 2);
        assert!(change.is_none());
    }

    #[test]
    fn a_relation_change_is_a_revision_and_an_unchanged_one_is_not() {
        let mut org = organization();
        let alice = org.identities[0].clone();
        let title = ops(json!([{"op": "add", "path": "/fields/System.Title", "value": "T"}]));
        org.create("Fabrikam", "Bug", &title, &alice, WriteOptions::default()).unwrap();
        let link = ops(
            json!([{"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": "https://x.example/1"}}]),
        );
        let (linked, change) = org.update("Fabrikam", 1, &link, &alice, WriteOptions::default()).unwrap();
        assert_eq!((linked.rev, linked.relations.len()), (2, 1));
        assert!(matches!(change, Some(Change::Updated { .. })));
        let unlink = ops(json!([{"op": "remove", "path": "/relations/0"}]));
        let (unlinked, _) = org.update("Fabrikam", 1, &unlink, &alice, WriteOptions::default()).unwrap();
        assert_eq!((unlinked.rev, unlinked.relations.len()), (3, 0));
    }

    #[test]
    fn wiql_finds_what_the_caller_created_since_an_instant() {
        let mut org = organization();
        let alice = org.identities[0].clone();
        let bob = org.add_identity(SimUser::new("Bob", "bob@example.com", "pat-b"));
        let title = ops(json!([{"op": "add", "path": "/fields/System.Title", "value": "T"}]));
        let (early, _) = org.create("Fabrikam", "Bug", &title, &alice, WriteOptions::default()).unwrap();
        let (late, _) = org.create("Fabrikam", "Bug", &title, &alice, WriteOptions::default()).unwrap();
        org.create("Fabrikam", "Bug", &title, &bob, WriteOptions::default()).unwrap();
        let query = wiql::parse(&format!(
            "SELECT [System.Id] FROM WorkItems WHERE [System.CreatedBy] = @me AND [System.CreatedDate] >= '{}'",
            format_instant(late.changed)
        ))
        .unwrap();
        let me = alice.id.to_string();
        let identities = org.identities.clone();
        let context = wiql::Context {
            project: "Fabrikam",
            me: &me,
            time_precision: true,
            now: Utc::now(),
            identities: &identities,
        };
        wiql::check(&query, &context).unwrap();
        let found: Vec<u32> =
            org.items.values().filter(|item| wiql::matches(&query, item, &context)).map(|item| item.id).collect();
        assert!(early.changed < late.changed);
        assert_eq!(found, vec![late.id]);
    }

    #[test]
    fn comments_bump_the_rev_and_only_their_author_edits_them() {
        let mut org = organization();
        let alice = org.identities[0].clone();
        let bob = org.add_identity(SimUser::new("Bob", "bob@example.com", "pat-b"));
        org.create(
            "Fabrikam",
            "Task",
            &ops(json!([{"op": "add", "path": "/fields/System.Title", "value": "T"}])),
            &alice,
            WriteOptions::default(),
        )
        .unwrap();
        let (item, comment, _) = org.add_comment("Fabrikam", 1, "<p>hi</p>".into(), &alice).unwrap();
        assert_eq!(item.rev, 2);
        assert_eq!(item.fields[fields::COMMENT_COUNT], json!(1));
        assert!(org.edit_comment("Fabrikam", 1, comment, "x".into(), &bob).is_err());
        let (item, _) = org.edit_comment("Fabrikam", 1, comment, "<p>edited</p>".into(), &alice).unwrap();
        assert_eq!(item.comments[0].version, 2);
        assert_eq!(item.rev, 3);
    }

    #[test]
    fn validate_only_stores_nothing_and_read_only_users_cannot_save() {
        let mut org = organization();
        let reader = org.add_identity(SimUser { read_only: true, ..SimUser::new("R", "r@example.com", "pat-r") });
        let alice = org.identities[0].clone();
        let title = ops(json!([{"op": "add", "path": "/fields/System.Title", "value": "T"}]));
        let (item, change) = org
            .create("Fabrikam", "Bug", &title, &alice, WriteOptions { validate_only: true, ..WriteOptions::default() })
            .unwrap();
        assert_eq!(item.id, 0);
        assert!(change.is_none());
        assert!(org.items.is_empty());
        let refused = org.create("Fabrikam", "Bug", &title, &reader, WriteOptions::default()).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
}
