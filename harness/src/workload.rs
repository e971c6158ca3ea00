//! The people using both systems: random edits, seeded, made through the vendors' APIs as Alice
//! (never as the integration's service account, whose changes tandem ignores by design).
//!
//! An event is one change a person makes: a new bug in either system, or an edit of a field, or a
//! comment, on either item of a pair. Status is only changed in Jira, where a workflow decides which
//! moves are allowed; Azure DevOps' State follows through tandem (an ADO-side state change Jira's
//! workflow cannot make is a recorded, parked failure by design, not a sync defect).

use crate::systems::{Desk, Field};
use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tandem_engine::ports::{Connector, LinkStore};
use tandem_model::{Attachment, AttachmentContent, FieldMap, FieldValue, Image, ItemId, ItemVersion, RichText, Side};

const WORDS: [&str; 12] = [
    "checkout", "cart", "login", "invoice", "export", "search", "upload", "refund", "report", "sync", "alert", "theme",
];

/// How many times a person tries a change the system refused before giving up on it.
const PERSISTENCE: u32 = 4;

/// Alice, with an account in each system, and how she works in each.
pub struct People {
    pub connectors: [Arc<dyn Connector>; 2],
    /// The same account for projects and item types the integration does not sync, per side.
    pub elsewhere: [Vec<Arc<dyn Connector>>; 2],
    /// Field names, values and restricted comments, per side.
    pub desks: [Arc<dyn Desk>; 2],
}

/// What the people did, as counted by the workload.
#[derive(Debug, Default)]
pub struct WorkloadCounters {
    pub events: AtomicU64,
    pub creates: AtomicU64,
    pub field_edits: AtomicU64,
    pub comments: AtomicU64,
    /// Files attached, and attachments removed, by people.
    pub attachments: AtomicU64,
    pub detachments: AtomicU64,
    /// Screenshots attached and pasted into a description or a comment.
    pub screenshots: AtomicU64,
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
    /// Public comments people posted: `(side, item, comment id, text)`.
    public_comments: Mutex<Vec<(Side, ItemId, String, String)>>,
    /// Files people attached: `(side, item, attachment)`.
    attached: Mutex<Vec<(Side, ItemId, Attachment)>>,
    made: Mutex<Made>,
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
    /// A file attached to the item on this side.
    Attach(String),
    /// A file a person attached earlier is removed.
    Detach,
    /// A line added at the top of the item's description on this side, the rest left as it is.
    ExtendDescription(String),
    /// A screenshot attached to the item on this side and pasted at the end of its description.
    PasteScreenshot(String),
    /// A screenshot attached to the item on this side and shown in a new comment.
    CommentWithScreenshot(String),
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
            attached: Mutex::default(),
            made: Mutex::default(),
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
        let sets_title = match &change {
            Change::Create(_) => true,
            Change::Fields(fields) => fields.keys().any(|name| self.is_title(name)),
            _ => false,
        };
        let made = match (target, change) {
            (_, Change::Create(side)) => self.create(side, number).await,
            (_, Change::OutOfScope(side)) => self.create_elsewhere(side, number).await,
            (_, Change::RestrictLater) => self.restrict_a_comment().await,
            (_, Change::Detach) => self.detach().await,
            (Some(target), Change::Attach(name)) => self.attach(target, name, number).await,
            (Some(target), Change::ExtendDescription(line)) => self.extend_description(target, line).await,
            (Some(target), Change::PasteScreenshot(name)) => self.paste_screenshot(target, name, number).await,
            (Some(target), Change::CommentWithScreenshot(name)) => {
                self.comment_with_screenshot(target, name, number).await
            }
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

    fn desk(&self, side: Side) -> &dyn Desk {
        self.people.desks[index(side)].as_ref()
    }

    fn is_title(&self, name: &str) -> bool {
        Side::BOTH.into_iter().any(|side| self.desk(side).field(Field::Title) == Some(name))
    }

    /// Decides the change with the lock held, so the same seed gives the same choices in order.
    fn choose(&self, number: u64) -> (Option<(Side, ItemId, Side)>, Change) {
        let mut rng = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let items = self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let target = items.choose(&mut *rng).cloned();
        let roll = rng.random_range(0..110);
        if items.is_empty() || roll < 15 {
            let side = if rng.random_bool(0.6) { Side::One } else { Side::Two };
            return (None, Change::Create(side));
        }
        let Some((origin, id)) = target else {
            return (None, Change::Create(Side::One));
        };
        // Either item of the pair: the edit lands on its copy when the person works in the other system.
        let mut side = if rng.random_bool(0.5) { Side::One } else { Side::Two };
        let desk = self.desk(side);
        let word = *WORDS.choose(&mut *rng).unwrap_or(&"bug");
        let change = match roll {
            15..=39 => self.one_field(side, Field::Title, FieldValue::Text(format!("{word} fails (event {number})"))),
            40..=51 => self.one_field(side, Field::Priority, desk.priority(&mut rng)),
            // Status moves where the workflow is (one side); it follows on the other through tandem.
            52..=61 => Side::BOTH.into_iter().find(|candidate| !self.desk(*candidate).statuses().is_empty()).and_then(
                |workflow| {
                    side = workflow;
                    let status = self.desk(workflow).statuses().choose(&mut *rng).copied().unwrap_or_default();
                    self.one_field(workflow, Field::Status, FieldValue::Text(status.to_string()))
                },
            ),
            62..=71 => desk
                .assignees()
                .choose(&mut *rng)
                .and_then(|person| self.one_field(side, Field::Assignee, FieldValue::User(person.clone()))),
            72..=79 => self.one_field(
                side,
                Field::Labels,
                FieldValue::List(vec![word.to_string(), format!("e{}", number % 7)]),
            ),
            80..=82 => self.one_field(side, Field::Description, desk.description(word, number)),
            83..=85 => {
                desk.field(Field::Description).map(|_| Change::ExtendDescription(format!("Update (event {number})")))
            }
            86..=88 if self.keeps_attachments() => Some(Change::Attach(format!("{word}-{number}.txt"))),
            89..=90 if self.keeps_attachments() => Some(Change::Detach),
            91 if self.keeps_attachments() => {
                desk.field(Field::Description).map(|_| Change::PasteScreenshot(format!("{word}-{number}.png")))
            }
            92..=94 if self.hazards => {
                Some(Change::RestrictedComment(format!("Private note on {word} (event {number})")))
            }
            95..=96 if self.hazards => Some(Change::RestrictLater),
            97..=99 if self.hazards => Some(Change::OutOfScope(side)),
            105..=106 if self.keeps_attachments() => {
                Some(Change::CommentWithScreenshot(format!("{word}-{number}.png")))
            }
            _ => None,
        };
        // Comments are the rest, and stand in for a field the integration does not map on that side.
        let change = change.unwrap_or_else(|| Change::Comment(format!("Seen again with {word} (event {number})")));
        (Some((origin, id, side)), change)
    }

    /// A change of one field on `side`; `None` where the integration does not map the field there.
    fn one_field(&self, side: Side, field: Field, value: FieldValue) -> Option<Change> {
        let name = self.desk(side).field(field)?;
        Some(Change::Fields([(name.to_string(), value)].into_iter().collect()))
    }

    async fn create(&self, side: Side, number: u64) -> Result<()> {
        let word = WORDS[usize::try_from(number).unwrap_or_default() % WORDS.len()];
        let title = self.desk(side).field(Field::Title).context("every system has a title")?;
        let fields: FieldMap =
            [(title.to_string(), text(&format!("New {word} bug (event {number})")))].into_iter().collect();
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
            None => (origin, id, self.translate_names(fields, side, origin)),
        };
        if fields.is_empty() {
            return Ok(());
        }
        self.made().edits.push((side, id.clone(), Instant::now()));
        self.people.connectors[index(side)].update_item(&id, &fields, &ItemVersion::UNCHECKED).await?;
        self.counters.field_edits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The same edit addressed to the other system: only fields whose value means the same there move
    /// (titles, labels); look-ups, users, statuses and rich text are dropped rather than guessed.
    fn translate_names(&self, fields: FieldMap, from: Side, to: Side) -> FieldMap {
        if from == to {
            return fields;
        }
        fields
            .into_iter()
            .filter_map(|(name, value)| {
                let field = [Field::Title, Field::Labels]
                    .into_iter()
                    .find(|field| self.desk(from).field(*field) == Some(name.as_str()))?;
                Some((self.desk(to).field(field)?.to_string(), value))
            })
            .collect()
    }

    async fn comment(&self, (origin, id, side): (Side, ItemId, Side), words: String) -> Result<()> {
        let (side, id) = match self.item_on(origin, &id, side).await? {
            Some(target) => (side, target),
            None => (origin, id),
        };
        let connector = &self.people.connectors[index(side)];
        let body = tandem_rich_text::from_plain_text(connector.system().comment_format(), &words);
        let posted = connector.add_comment(&id, &body).await?;
        self.public_comments.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((
            side,
            id,
            posted.id.0,
            words,
        ));
        self.counters.comments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Adds `line` at the top of the description of the pair's item on `side` (its original where not
    /// linked yet), keeping the rest: mentions in it that travelled as names come back as they are.
    async fn extend_description(&self, (origin, id, side): (Side, ItemId, Side), line: String) -> Result<()> {
        let (side, id) = match self.item_on(origin, &id, side).await? {
            Some(target) => (side, target),
            None => (origin, id),
        };
        if self.edit_description(side, &id, |current| tandem_rich_text::prepend_paragraph(current, &line)).await? {
            self.counters.field_edits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Reads the description of `id` on `side` and writes back what `edit` makes of it, as a person edits
    /// the text in front of them (the write is conditional on the state read); `false` where the side
    /// maps no description.
    async fn edit_description(
        &self,
        side: Side,
        id: &ItemId,
        edit: impl FnOnce(&RichText) -> RichText,
    ) -> Result<bool> {
        let Some(field) = self.desk(side).field(Field::Description) else {
            return Ok(false);
        };
        let connector = &self.people.connectors[index(side)];
        let item = connector.get_item(id).await?;
        let current = match item.field(field) {
            FieldValue::RichText(text) => text.clone(),
            _ => tandem_rich_text::from_plain_text(connector.system().rich_text_format(), ""),
        };
        let edited = FieldValue::RichText(edit(&current));
        self.made().edits.push((side, id.clone(), Instant::now()));
        connector.update_item(id, &[(field.to_string(), edited)].into_iter().collect(), &item.version()).await?;
        Ok(true)
    }

    /// Whether both systems have attachments tandem copies.
    fn keeps_attachments(&self) -> bool {
        self.people.connectors.iter().all(|connector| connector.keeps_attachments())
    }

    /// A small file attached to the pair's item on `side` (its original where not linked yet).
    async fn attach(&self, (origin, id, side): (Side, ItemId, Side), name: String, number: u64) -> Result<()> {
        let (side, id) = match self.item_on(origin, &id, side).await? {
            Some(target) => (side, target),
            None => (origin, id),
        };
        let bytes =
            format!("log of event {number}\n").repeat(usize::try_from(number % 40).unwrap_or(1) + 1).into_bytes();
        let content = AttachmentContent { name, content_type: "text/plain".into(), bytes: bytes.into() };
        let attached = self.people.connectors[index(side)].upload_attachment(&id, &content, "").await?;
        self.attached.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((side, id, attached));
        self.counters.attachments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A screenshot attached to the pair's item on `side` and shown at the end of its description, as a
    /// person pastes one; it is not among the files people remove later (a removed file's image would
    /// break in its own system too).
    async fn paste_screenshot(&self, target: (Side, ItemId, Side), name: String, number: u64) -> Result<()> {
        let Some((side, id, image)) = self.screenshot(target, name, number).await? else {
            return Ok(());
        };
        if self.edit_description(side, &id, |current| tandem_rich_text::append_image(current, &image)).await? {
            self.counters.screenshots.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A screenshot attached to the pair's item on `side` and shown in a new public comment.
    async fn comment_with_screenshot(&self, target: (Side, ItemId, Side), name: String, number: u64) -> Result<()> {
        let Some((side, id, image)) = self.screenshot(target, name, number).await? else {
            return Ok(());
        };
        let connector = &self.people.connectors[index(side)];
        let words = format!("Screenshot of it (event {number})");
        let body = tandem_rich_text::from_plain_text(connector.system().comment_format(), &words);
        let posted = connector.add_comment(&id, &tandem_rich_text::append_image(&body, &image)).await?;
        let mut comments = self.public_comments.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        comments.push((side, id, posted.id.0, words));
        self.counters.comments.fetch_add(1, Ordering::Relaxed);
        self.counters.screenshots.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A screenshot attached to the pair's item on `side` (its original where not linked yet), and the
    /// image that shows it in that system's texts; `None` where that item has no description to show it.
    async fn screenshot(
        &self,
        (origin, id, side): (Side, ItemId, Side),
        name: String,
        number: u64,
    ) -> Result<Option<(Side, ItemId, Image)>> {
        let (side, id) = match self.item_on(origin, &id, side).await? {
            Some(target) => (side, target),
            None => (origin, id),
        };
        if self.desk(side).field(Field::Description).is_none() {
            return Ok(None);
        }
        let connector = &self.people.connectors[index(side)];
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend(format!("screenshot of event {number}").into_bytes());
        let content = AttachmentContent { name: name.clone(), content_type: "image/png".into(), bytes: bytes.into() };
        let attached = connector.upload_attachment(&id, &content, "").await?;
        Ok(Some((side, id, Image { source: connector.image_source(&attached), alt: name })))
    }

    /// A file a person attached earlier is removed (its copy must go).
    async fn detach(&self) -> Result<()> {
        let chosen = {
            let mut attached = self.attached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let position =
                self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).random_range(0..attached.len().max(1));
            (position < attached.len()).then(|| attached.swap_remove(position))
        };
        let Some((side, item, attachment)) = chosen else {
            return Ok(());
        };
        self.people.connectors[index(side)].delete_attachment(&item, &attachment).await?;
        self.counters.detachments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// An item of another project or item type, made on `side` (or the other side, where `side` has none).
    async fn create_elsewhere(&self, side: Side, number: u64) -> Result<()> {
        let side = if self.people.elsewhere[index(side)].is_empty() { side.other() } else { side };
        let connectors = &self.people.elsewhere[index(side)];
        let Some(connector) = connectors.get(usize::try_from(number).unwrap_or_default() % connectors.len().max(1))
        else {
            return Ok(());
        };
        let title = self.desk(side).field(Field::Title).context("every system has a title")?;
        let fields = [(title.to_string(), text(&format!("Not ours (event {number})")))];
        let created = connector.create_item(&fields.into_iter().collect(), None).await?;
        self.made().out_of_scope.push((side, created.item.id));
        self.counters.out_of_scope_creates.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A comment only some people may read, on the pair's item in the system of `side`, or in the other
    /// one where that system restricts no comments. A person whose post failed tries again, as people do
    /// when the page shows an error: the storm's faults would otherwise leave a short run without any
    /// private comment, and then without the hazard it is there to test.
    async fn restricted_comment(&self, target: (Side, ItemId, Side), words: String) -> Result<()> {
        let mut attempt = 1;
        loop {
            match self.post_restricted_comment(&target, &words).await {
                Err(_) if attempt < PERSISTENCE => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    async fn post_restricted_comment(&self, (origin, id, side): &(Side, ItemId, Side), words: &str) -> Result<()> {
        for side in [*side, side.other()] {
            let Some(item) = self.item_on(*origin, id, side).await? else {
                continue;
            };
            if self.desk(side).restricted_comment(&item, words, words.len()).await? {
                self.counters.restricted_comments.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        Ok(())
    }

    /// A public comment posted earlier is restricted (its copy must go).
    async fn restrict_a_comment(&self) -> Result<()> {
        let chosen = {
            let mut comments = self.public_comments.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let position =
                self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).random_range(0..comments.len().max(1));
            (position < comments.len()).then(|| comments.swap_remove(position))
        };
        let Some((side, item, comment, words)) = chosen else {
            return Ok(());
        };
        if self.desk(side).restrict_comment(&item, &comment, &words).await? {
            self.counters.later_restrictions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn index(side: Side) -> usize {
    usize::from(side.number() - 1)
}

fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.to_string())
}
