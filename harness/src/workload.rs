//! The people using both systems: random edits, seeded, made through the vendors' APIs as Alice
//! (never as the integration's service account, whose changes tandem ignores by design).
//!
//! An event is one change a person makes: a new bug in either system, or an edit of a field, or a
//! comment, on either item of a pair. Status is only changed in Jira, where a workflow decides which
//! moves are allowed; Azure DevOps' State follows through tandem (an ADO-side state change Jira's
//! workflow cannot make is a recorded, parked failure by design, not a sync defect).

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tandem_engine::ports::{Connector, LinkStore};
use tandem_model::{FieldMap, FieldValue, ItemId, ItemVersion, RichText, Side, UserRef};

const WORDS: [&str; 12] = [
    "checkout", "cart", "login", "invoice", "export", "search", "upload", "refund", "report", "sync", "alert", "theme",
];
const JIRA_PRIORITIES: [&str; 5] = ["Highest", "High", "Medium", "Low", "Lowest"];
const JIRA_STATUSES: [&str; 3] = ["To Do", "In Progress", "Done"];

/// Alice, with an account in each system, and the people she may assign bugs to.
pub struct People {
    pub connectors: [Arc<dyn Connector>; 2],
    pub assignees: [Vec<UserRef>; 2],
    /// The same account for projects and item types the integration does not sync, per side.
    pub elsewhere: [Vec<Arc<dyn Connector>>; 2],
    /// Alice's own REST access to Jira, for what tandem's connectors never send (restricted comments).
    pub jira: JiraAccess,
}

/// A person's Basic credentials on a Jira site.
pub struct JiraAccess {
    pub base_url: String,
    pub email: String,
    pub api_token: String,
}

/// What the people did, as counted by the workload.
#[derive(Debug, Default)]
pub struct WorkloadCounters {
    pub events: AtomicU64,
    pub creates: AtomicU64,
    pub field_edits: AtomicU64,
    pub comments: AtomicU64,
    /// Items made in another project or of another type than the integration syncs.
    pub out_of_scope_creates: AtomicU64,
    /// Jira comments restricted to a role or a group, or internal, when they were posted.
    pub restricted_comments: AtomicU64,
    /// Public Jira comments restricted after they were posted (and, by then, copied).
    pub later_restrictions: AtomicU64,
    /// Changes the person's own call failed to make (the simulators' faults hit people too).
    pub failed: AtomicU64,
}

/// What the people made that the verdict checks against: every title with when it was being set, and
/// what must never be copied.
#[derive(Debug, Default, Clone)]
pub struct Made {
    /// Title-setting event → when the person's call started and ended.
    pub titles: BTreeMap<u64, (Instant, Instant)>,
    /// Items made outside the integration's scope, per side.
    pub out_of_scope: Vec<(Side, ItemId)>,
    /// Edits of items, with when they were made: `(side, item, at)`.
    pub edits: Vec<(Side, ItemId, Instant)>,
}

pub struct Workload {
    people: People,
    links: Arc<dyn LinkStore>,
    integration: String,
    /// People also make out-of-scope items and restricted comments.
    hazards: bool,
    rng: Mutex<StdRng>,
    /// Items people created, with the side they were created on.
    items: Mutex<Vec<(Side, ItemId)>>,
    /// Public Jira comments people posted: `(issue, comment id, text)`.
    public_comments: Mutex<Vec<(ItemId, String, String)>>,
    made: Mutex<Made>,
    http: reqwest::Client,
    pub counters: WorkloadCounters,
}

enum Change {
    Create(Side),
    Fields(FieldMap),
    Comment(String),
    /// An item of another project or type on this side.
    OutOfScope(Side),
    RestrictedComment(String),
    RestrictLater,
}

impl Workload {
    pub fn new(people: People, links: Arc<dyn LinkStore>, integration: String, seed: u64, hazards: bool) -> Self {
        Workload {
            people,
            links,
            integration,
            hazards,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            items: Mutex::default(),
            public_comments: Mutex::default(),
            made: Mutex::default(),
            http: reqwest::Client::new(),
            counters: WorkloadCounters::default(),
        }
    }

    /// What the people made, for the verdict.
    pub fn made(&self) -> std::sync::MutexGuard<'_, Made> {
        self.made.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One person's change; `number` names it in titles and comments so a lost one can be traced.
    pub async fn event(&self, number: u64) {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        let (target, change) = self.choose(number);
        let started = Instant::now();
        let sets_title = matches!(&change, Change::Create(_))
            || matches!(&change, Change::Fields(fields) if fields.keys().any(|name| name == "summary" || name == "System.Title"));
        let made = match (target, change) {
            (_, Change::Create(side)) => self.create(side, number).await,
            (_, Change::OutOfScope(side)) => self.create_elsewhere(side, number).await,
            (_, Change::RestrictLater) => self.restrict_a_comment().await,
            (Some(target), Change::Fields(fields)) => self.edit(target, fields).await,
            (Some(target), Change::Comment(words)) => self.comment(target, words).await,
            (Some(target), Change::RestrictedComment(words)) => self.restricted_comment(target, words).await,
            (None, _) => self.create(Side::One, number).await,
        };
        if sets_title {
            // Timed whatever the answer: a call that failed may still have set the title.
            self.made().titles.insert(number, (started, Instant::now()));
        }
        if made.is_err() {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Decides the change with the lock held, so the same seed gives the same choices in order.
    fn choose(&self, number: u64) -> (Option<(Side, ItemId, Side)>, Change) {
        let mut rng = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let items = self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let target = items.choose(&mut *rng).cloned();
        let roll = rng.random_range(0..100);
        if items.is_empty() || roll < 15 {
            let side = if rng.random_bool(0.6) { Side::One } else { Side::Two };
            return (None, Change::Create(side));
        }
        let target = target.map(|(origin, id)| {
            // Either item of the pair: the edit lands on its copy when the person works in the other system.
            let edit_side = if rng.random_bool(0.5) { Side::One } else { Side::Two };
            ((origin, id), edit_side)
        });
        let Some(((origin, id), edit_side)) = target else {
            return (None, Change::Create(Side::One));
        };
        let word = *WORDS.choose(&mut *rng).unwrap_or(&"bug");
        let change = match roll {
            15..=39 => Change::Fields(one_field(
                edit_side,
                "title",
                FieldValue::Text(format!("{word} fails (event {number})")),
            )),
            40..=51 => Change::Fields(match edit_side {
                Side::One => {
                    one_field(edit_side, "priority", text(JIRA_PRIORITIES.choose(&mut *rng).unwrap_or(&"Medium")))
                }
                Side::Two => one_field(edit_side, "priority", FieldValue::Number(f64::from(rng.random_range(1..=4)))),
            }),
            52..=61 => Change::Fields(one_field(
                Side::One,
                "status",
                text(JIRA_STATUSES.choose(&mut *rng).unwrap_or(&"To Do")),
            )),
            62..=71 => {
                let people = &self.people.assignees[index(edit_side)];
                match people.choose(&mut *rng) {
                    Some(person) => Change::Fields(one_field(edit_side, "assignee", FieldValue::User(person.clone()))),
                    None => Change::Comment(format!("event {number}: nobody to assign")),
                }
            }
            72..=79 => Change::Fields(one_field(
                edit_side,
                "labels",
                FieldValue::List(vec![word.to_string(), format!("e{}", number % 7)]),
            )),
            80..=85 => Change::Fields(one_field(edit_side, "description", description(edit_side, word, number))),
            92..=94 if self.hazards => Change::RestrictedComment(format!("Private note on {word} (event {number})")),
            95..=96 if self.hazards => Change::RestrictLater,
            97..=99 if self.hazards => Change::OutOfScope(edit_side),
            _ => Change::Comment(format!("Seen again with {word} (event {number})")),
        };
        let side_of_change = match &change {
            Change::Fields(fields) if fields.contains_key(field_name(Side::One, "status")) => Side::One,
            _ => edit_side,
        };
        (Some((origin, id, side_of_change)), change)
    }

    async fn create(&self, side: Side, number: u64) -> Result<()> {
        let word = WORDS[usize::try_from(number).unwrap_or_default() % WORDS.len()];
        let fields: FieldMap =
            [(field_name(side, "title").to_string(), text(&format!("New {word} bug (event {number})")))]
                .into_iter()
                .collect();
        let created = self.people.connectors[index(side)].create_item(&fields, None).await?;
        self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((side, created.item.id));
        self.counters.creates.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The item on `side` of the pair an item (created on `origin`) belongs to, when it is linked.
    async fn item_on(&self, origin: Side, id: &ItemId, side: Side) -> Result<Option<ItemId>> {
        if side == origin {
            return Ok(Some(id.clone()));
        }
        let link = self.links.get_link(&self.integration, origin, id).await.context("reading a link")?;
        Ok(link.map(|link| link.item(side).id.clone()))
    }

    async fn edit(&self, (origin, id, side): (Side, ItemId, Side), fields: FieldMap) -> Result<()> {
        let (side, id, fields) = match self.item_on(origin, &id, side).await? {
            Some(target) => (side, target, fields),
            // Not linked yet: the person edits the original instead, in its own system's terms.
            None if side == Side::One || !fields.keys().any(|name| name == "System.State") => {
                (origin, id, translate_names(fields, side, origin))
            }
            None => return Ok(()),
        };
        if fields.is_empty() {
            return Ok(());
        }
        self.made().edits.push((side, id.clone(), Instant::now()));
        self.people.connectors[index(side)].update_item(&id, &fields, &ItemVersion::UNCHECKED).await?;
        self.counters.field_edits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn comment(&self, (origin, id, side): (Side, ItemId, Side), words: String) -> Result<()> {
        let (side, id) = match self.item_on(origin, &id, side).await? {
            Some(target) => (side, target),
            None => (origin, id),
        };
        let body = match side {
            Side::One => RichText::Adf(adf(&words)),
            Side::Two => RichText::Html(format!("<p>{words}</p>")),
        };
        let posted = self.people.connectors[index(side)].add_comment(&id, &body).await?;
        if side == Side::One {
            self.public_comments.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((id, posted.id.0, words));
        }
        self.counters.comments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// An item of another project or item type, made on `side`.
    async fn create_elsewhere(&self, side: Side, number: u64) -> Result<()> {
        let connectors = &self.people.elsewhere[index(side)];
        let Some(connector) = connectors.get(usize::try_from(number).unwrap_or_default() % connectors.len().max(1))
        else {
            return Ok(());
        };
        let fields = [(field_name(side, "title").to_string(), text(&format!("Not ours (event {number})")))];
        let created = connector.create_item(&fields.into_iter().collect(), None).await?;
        self.made().out_of_scope.push((side, created.item.id));
        self.counters.out_of_scope_creates.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A Jira comment only some people may read: restricted to a role or a group, or an internal note.
    async fn restricted_comment(&self, (origin, id, _): (Side, ItemId, Side), words: String) -> Result<()> {
        let Some(issue) = self.item_on(origin, &id, Side::One).await? else {
            return Ok(());
        };
        let restriction = restriction(words.len());
        let mut body = json!({ "body": adf(&words) });
        if let (Some(object), Some(extra)) = (body.as_object_mut(), restriction.as_object()) {
            object.extend(extra.clone());
        }
        self.jira(reqwest::Method::POST, &format!("/rest/api/3/issue/{issue}/comment"), &body).await?;
        self.counters.restricted_comments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A public Jira comment posted earlier is restricted to a group (its copy must go).
    async fn restrict_a_comment(&self) -> Result<()> {
        let chosen = {
            let mut comments = self.public_comments.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let position =
                self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).random_range(0..comments.len().max(1));
            (position < comments.len()).then(|| comments.swap_remove(position))
        };
        let Some((issue, comment, words)) = chosen else {
            return Ok(());
        };
        let body = json!({ "body": adf(&words), "visibility": { "type": "group", "value": "jira-administrators" } });
        self.jira(reqwest::Method::PUT, &format!("/rest/api/3/issue/{issue}/comment/{comment}"), &body).await?;
        self.counters.later_restrictions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn jira(&self, method: reqwest::Method, path: &str, body: &serde_json::Value) -> Result<()> {
        let access = &self.people.jira;
        let answer = self
            .http
            .request(method, format!("{}{path}", access.base_url))
            .basic_auth(&access.email, Some(&access.api_token))
            .json(body)
            .send()
            .await?;
        anyhow::ensure!(answer.status().is_success(), "Jira answered {} to {path}", answer.status());
        Ok(())
    }
}

/// One of the ways Jira restricts a comment, picked by `seed`.
fn restriction(seed: usize) -> serde_json::Value {
    match seed % 3 {
        0 => json!({ "visibility": { "type": "role", "value": "Administrators" } }),
        1 => json!({ "visibility": { "type": "group", "value": "jira-administrators" } }),
        _ => json!({ "properties": [{ "key": "sd.public.comment", "value": { "internal": true } }] }),
    }
}

fn adf(words: &str) -> serde_json::Value {
    json!({
        "version": 1, "type": "doc",
        "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": words }] }]
    })
}

fn index(side: Side) -> usize {
    usize::from(side.number() - 1)
}

fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.to_string())
}

/// The system field behind a mapping name of the local example, on one side.
fn field_name(side: Side, mapping: &str) -> &'static str {
    match (side, mapping) {
        (Side::One, "title") => "summary",
        (Side::Two, "title") => "System.Title",
        (Side::One, "priority") => "priority",
        (Side::Two, "priority") => "Microsoft.VSTS.Common.Priority",
        (Side::One, "status") => "status",
        (Side::Two, "status") => "System.State",
        (Side::One, "assignee") => "assignee",
        (Side::Two, "assignee") => "System.AssignedTo",
        (Side::One, "labels") => "labels",
        (Side::Two, "labels") => "System.Tags",
        (Side::One, _) => "description",
        (Side::Two, _) => "System.Description",
    }
}

fn one_field(side: Side, mapping: &str, value: FieldValue) -> FieldMap {
    [(field_name(side, mapping).to_string(), value)].into_iter().collect()
}

/// The same edit addressed to the other system: only fields whose value means the same there move
/// (titles, labels, descriptions); look-ups and users are dropped rather than guessed.
fn translate_names(fields: FieldMap, from: Side, to: Side) -> FieldMap {
    fields
        .into_iter()
        .filter_map(|(name, value)| {
            let mapping =
                ["title", "labels", "description"].into_iter().find(|mapping| field_name(from, mapping) == name)?;
            let value = match (mapping, value) {
                ("description", FieldValue::RichText(_)) => return None,
                (_, value) => value,
            };
            Some((field_name(to, mapping).to_string(), value))
        })
        .collect()
}

fn description(side: Side, word: &str, number: u64) -> FieldValue {
    FieldValue::RichText(match side {
        Side::One => RichText::Adf(json!({
            "version": 1, "type": "doc",
            "content": [
                { "type": "paragraph", "content": [
                    { "type": "text", "text": "Steps for " },
                    { "type": "text", "text": word, "marks": [{ "type": "strong" }] },
                    { "type": "text", "text": format!(" (event {number})") }
                ]},
                { "type": "bulletList", "content": [
                    { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "open the page" }] }] },
                    { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "watch it fail" }] }] }
                ]}
            ]
        })),
        Side::Two => RichText::Html(format!(
            "<p>Steps for <b>{word}</b> (event {number})</p><ul><li>open the page</li><li>watch it fail</li></ul>"
        )),
    })
}
