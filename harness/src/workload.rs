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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
}

/// What the people did, as counted by the workload.
#[derive(Debug, Default)]
pub struct WorkloadCounters {
    pub events: AtomicU64,
    pub creates: AtomicU64,
    pub field_edits: AtomicU64,
    pub comments: AtomicU64,
    /// Changes the person's own call failed to make (the simulators' faults hit people too).
    pub failed: AtomicU64,
}

pub struct Workload {
    people: People,
    links: Arc<dyn LinkStore>,
    integration: String,
    rng: Mutex<StdRng>,
    /// Items people created, with the side they were created on.
    items: Mutex<Vec<(Side, ItemId)>>,
    pub counters: WorkloadCounters,
}

enum Change {
    Create(Side),
    Fields(FieldMap),
    Comment(String),
}

impl Workload {
    pub fn new(people: People, links: Arc<dyn LinkStore>, integration: String, seed: u64) -> Self {
        Workload {
            people,
            links,
            integration,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            items: Mutex::default(),
            counters: WorkloadCounters::default(),
        }
    }

    /// One person's change; `number` names it in titles and comments so a lost one can be traced.
    pub async fn event(&self, number: u64) {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        let (target, change) = self.choose(number);
        let made = match (target, change) {
            (_, Change::Create(side)) => self.create(side, number).await,
            (Some(target), Change::Fields(fields)) => self.edit(target, fields).await,
            (Some(target), Change::Comment(words)) => self.comment(target, words).await,
            (None, _) => self.create(Side::One, number).await,
        };
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
            Side::One => RichText::Adf(json!({
                "version": 1, "type": "doc",
                "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": words }] }]
            })),
            Side::Two => RichText::Html(format!("<p>{words}</p>")),
        };
        self.people.connectors[index(side)].add_comment(&id, &body).await?;
        self.counters.comments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
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
