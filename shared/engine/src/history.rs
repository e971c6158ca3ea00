//! An item's history, for operators (`tandem history`, the status page): what each sync of it did —
//! what started it, which fields it wrote (old → new), the conflicts it decided, the comments and
//! attachments it copied or removed, how it failed — kept for a while (30 days by default) and bounded in size.
//!
//! The sync's steps note what they do in a journal that lives as long as the sync's task (a tokio
//! task-local), so the merge, the creation and the comments need not pass a recorder through every call;
//! outside a sync (tests calling a step directly) noting does nothing. A sync that wrote nothing and did
//! not fail leaves no entry: an echo or a repeated notice costs no store write.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::future::Future;
use tandem_model::{FieldValue, ItemId, RichText, Side, Timestamp};

/// How long entries are kept unless the engine is told otherwise.
pub const DEFAULT_HISTORY_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Values are cut to this many characters: an entry stays small whatever the fields hold.
const VALUE_CHARS: usize = 160;
/// At most this many field writes and comment actions are kept per entry (the count says the rest).
const ACTIONS_KEPT: usize = 40;

/// What started a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Trigger {
    /// A webhook delivery, by the id the sender gave it.
    Webhook { delivery: String },
    /// The poller found the change.
    Poll,
    /// The poller tried a failed sync again.
    Retry { attempt: u32 },
    /// A person asked for it (`tandem resync`, a retry button).
    Manual,
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trigger::Webhook { delivery } => write!(f, "webhook {delivery}"),
            Trigger::Poll => f.write_str("poll"),
            Trigger::Retry { attempt } => write!(f, "retry #{attempt}"),
            Trigger::Manual => f.write_str("manual"),
        }
    }
}

/// One field written to one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldWrite {
    pub to: Side,
    pub field: String,
    pub old: String,
    pub new: String,
}

/// A conflict the sync decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictDecision {
    pub field: String,
    pub winner: Side,
    pub policy: String,
}

/// A comment the sync copied, carried an edit of, or removed the copy of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentAction {
    pub to: Side,
    /// `copied`, `edited`, `removed` or `adopted`.
    pub action: String,
    pub comment: String,
    pub copy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An attachment the sync copied, removed the copy of, or left where it is (with why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentAction {
    pub to: Side,
    /// `copied`, `adopted`, `removed` or `not copied`.
    pub action: String,
    /// The file's name.
    pub name: String,
    pub original: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One sync of an item, as kept in its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub integration: String,
    /// The item the sync started from.
    pub side: Side,
    pub item: ItemId,
    /// Its copy, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<ItemId>,
    pub at: Timestamp,
    /// When the entry may be removed.
    pub expires_at: Timestamp,
    pub trigger: Trigger,
    pub worker: String,
    /// What the sync came to: `created`, `updated`, `failed`, ….
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<FieldWrite>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<ConflictDecision>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<CommentAction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentAction>,
    /// Field writes, comment and attachment actions left out to keep the entry small.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// What a sync noted as it went.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    pub copy: Option<ItemId>,
    pub writes: Vec<FieldWrite>,
    pub conflicts: Vec<ConflictDecision>,
    pub comments: Vec<CommentAction>,
    pub attachments: Vec<AttachmentAction>,
    pub omitted: usize,
}

impl Journal {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.conflicts.is_empty()
            && self.comments.is_empty()
            && self.attachments.is_empty()
            && self.omitted == 0
    }

    /// Whether the entry holds as many actions as it keeps: the next is counted, not kept.
    fn full(&mut self) -> bool {
        let full = self.writes.len() + self.comments.len() + self.attachments.len() >= ACTIONS_KEPT;
        if full {
            self.omitted += 1;
        }
        full
    }

    pub fn wrote(&mut self, to: Side, field: &str, old: &FieldValue, new: &FieldValue) {
        if self.full() {
            return;
        }
        let (old, new) = shown_change(old, new);
        self.writes.push(FieldWrite { to, field: field.to_string(), old, new });
    }

    pub fn comment(&mut self, to: Side, action: &str, comment: &impl ToString, copy: &impl ToString) {
        self.comment_because(to, action, comment, copy, None);
    }

    pub fn comment_because(
        &mut self,
        to: Side,
        action: &str,
        comment: &impl ToString,
        copy: &impl ToString,
        reason: Option<String>,
    ) {
        if self.full() {
            return;
        }
        let (comment, copy) = (comment.to_string(), copy.to_string());
        self.comments.push(CommentAction { to, action: action.to_string(), comment, copy, reason });
    }

    pub fn attachment(&mut self, action: AttachmentAction) {
        if !self.full() {
            self.attachments.push(action);
        }
    }
}

tokio::task_local! {
    static JOURNAL: RefCell<Journal>;
}

/// Notes something in the running sync's journal; nothing outside a sync.
pub(crate) fn note(write: impl FnOnce(&mut Journal)) {
    let _ = JOURNAL.try_with(|journal| write(&mut journal.borrow_mut()));
}

/// Runs a sync with a journal of its own, and returns the journal with the sync's result.
pub(crate) async fn journaled<F: Future>(sync: F) -> (F::Output, Journal) {
    JOURNAL
        .scope(RefCell::new(Journal::default()), async {
            let output = sync.await;
            (output, JOURNAL.with(RefCell::take))
        })
        .await
}

/// Old and new as a person reads them: plain values whole (cut short), rich text as its words around
/// the change, so that a one-word edit of a long description shows as that word.
fn shown_change(old: &FieldValue, new: &FieldValue) -> (String, String) {
    match (old, new) {
        (FieldValue::RichText(old), FieldValue::RichText(new)) => word_change(&plain(old), &plain(new)),
        (FieldValue::RichText(old), new) => (cut(&plain(old)), cut(&shown(new))),
        (old, FieldValue::RichText(new)) => (cut(&shown(old)), cut(&plain(new))),
        (old, new) => (cut(&shown(old)), cut(&shown(new))),
    }
}

fn plain(text: &RichText) -> String {
    tandem_rich_text::plain_text(text)
}

/// A value as text: `—` for none.
pub fn shown(value: &FieldValue) -> String {
    match value {
        FieldValue::Empty => "—".to_string(),
        FieldValue::Text(text) => text.clone(),
        FieldValue::Number(number) => number.to_string(),
        FieldValue::Bool(flag) => flag.to_string(),
        FieldValue::DateTime(at) => at.to_rfc3339(),
        FieldValue::User(user) => {
            user.email.clone().or_else(|| user.display_name.clone()).unwrap_or_else(|| user.id.clone())
        }
        FieldValue::RichText(text) => plain(text),
        FieldValue::List(values) => values.join(", "),
    }
}

/// The words that differ between two texts, with a few words of context either side and `…` where
/// words were left out.
fn word_change(old: &str, new: &str) -> (String, String) {
    const CONTEXT: usize = 3;
    let (old_words, new_words): (Vec<&str>, Vec<&str>) =
        (old.split_whitespace().collect(), new.split_whitespace().collect());
    let prefix = old_words.iter().zip(&new_words).take_while(|(a, b)| a == b).count();
    let suffix =
        old_words[prefix..].iter().rev().zip(new_words[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let excerpt = |words: &[&str]| {
        let start = prefix.saturating_sub(CONTEXT);
        let end = (words.len() - suffix + CONTEXT).min(words.len());
        let mut text = words[start..end].join(" ");
        if start > 0 {
            text.insert_str(0, "… ");
        }
        if end < words.len() {
            text.push_str(" …");
        }
        cut(&text)
    };
    (excerpt(&old_words), excerpt(&new_words))
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_word_edit_of_a_long_text_shows_as_that_word_in_context() {
        let old = "The checkout page fails when the cart is empty and the user clicks pay twice quickly";
        let new = "The checkout page fails when the basket is empty and the user clicks pay twice quickly";
        let (before, after) = word_change(old, new);
        assert_eq!(before, "… fails when the cart is empty and …");
        assert_eq!(after, "… fails when the basket is empty and …");
    }

    #[test]
    fn an_edit_at_either_end_needs_no_ellipsis_there() {
        assert_eq!(word_change("one two", "zero one two"), ("one two".into(), "zero one two".into()));
        assert_eq!(word_change("", "first words"), (String::new(), "first words".into()));
    }

    #[test]
    fn values_are_cut_short() {
        let long = "x".repeat(500);
        let (old, new) = shown_change(&FieldValue::Empty, &FieldValue::Text(long));
        assert_eq!(old, "—");
        assert_eq!(new.chars().count(), VALUE_CHARS + 1);
    }

    #[test]
    fn a_journal_keeps_a_bounded_number_of_actions_and_counts_the_rest() {
        let mut journal = Journal::default();
        for n in 0..ACTIONS_KEPT + 5 {
            journal.wrote(Side::One, &format!("field {n}"), &FieldValue::Empty, &FieldValue::Number(n as f64));
        }
        assert_eq!(journal.writes.len(), ACTIONS_KEPT);
        assert_eq!(journal.omitted, 5);
    }

    #[tokio::test]
    async fn notes_reach_the_journal_of_the_sync_they_are_made_in_and_nowhere_else() {
        note(|journal| journal.comment(Side::Two, "copied", &"1", &"2"));
        let ((), journal) = journaled(async { note(|journal| journal.comment(Side::Two, "copied", &"3", &"4")) }).await;
        assert_eq!(journal.comments.len(), 1);
        assert_eq!(journal.comments[0].comment, "3");
    }
}
