//! `tandem history SIDE:ITEM`: every recorded sync of an item and of its copy, newest first, with the
//! fields written (old → new), conflicts decided, comments copied or removed, and failures; and the
//! item's open failure, if it has one. Read from the store alone: no system is called, so an item named
//! by its key (`OPS-7`) is found through the links, which remember keys.

use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt::Write as _;
use tandem_engine::history::HistoryEntry;
use tandem_engine::ports::{FailureRecord, Link};
use tandem_engine::EngineStores;
use tandem_model::{ItemId, ItemRef, Side, Timestamp};

/// An item's history as shown.
#[derive(Debug, Serialize)]
pub struct ItemHistory {
    pub side: Side,
    pub item: ItemRef,
    /// Its copy on the other side, when linked.
    pub copy: Option<ItemRef>,
    /// Newest first.
    pub entries: Vec<HistoryEntry>,
    /// Failures recorded for the item or its copy and not cleared yet.
    pub open_failures: Vec<FailureRecord>,
}

/// Reads the history of `item` (an id, or a key the links know) on `side`: its entries and its copy's,
/// newest first, `limit` at most.
pub async fn item_history(
    stores: &EngineStores,
    integration: &str,
    side: Side,
    item: &ItemId,
    limit: usize,
    now: Timestamp,
) -> Result<ItemHistory> {
    let link = find_link(stores, integration, side, item).await?;
    let (item, copy) = match &link {
        Some(link) => (link.item(side).clone(), Some(link.item(side.other()).clone())),
        None => (ItemRef { id: item.clone(), key: None, url: None }, None),
    };
    let mut entries = stores.log.list_history(integration, side, &item.id, limit, now).await?;
    let mut open_failures: Vec<FailureRecord> =
        stores.log.get_failure(integration, side, &item.id).await?.into_iter().collect();
    if let Some(copy) = &copy {
        entries.extend(stores.log.list_history(integration, side.other(), &copy.id, limit, now).await?);
        open_failures.extend(stores.log.get_failure(integration, side.other(), &copy.id).await?);
    }
    if link.is_none() && entries.is_empty() && open_failures.is_empty() {
        bail!("nothing is recorded of side {side} item {item_id} in {integration}: it is not linked, and no sync of it is kept (by id or, once linked, by key)", item_id = item.id);
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.at));
    entries.truncate(limit);
    Ok(ItemHistory { side, item, copy, entries, open_failures })
}

/// The item's link, by id, or else by the key a link remembers for it.
pub async fn find_link(stores: &EngineStores, integration: &str, side: Side, item: &ItemId) -> Result<Option<Link>> {
    if let Some(link) = stores.links.get_link(integration, side, item).await? {
        return Ok(Some(link));
    }
    let wanted = item.as_str();
    Ok(stores
        .links
        .list_links(integration)
        .await?
        .into_iter()
        .find(|link| link.item(side).key.as_deref().is_some_and(|key| key.eq_ignore_ascii_case(wanted))))
}

impl std::fmt::Display for ItemHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "side {} {}", self.side, self.item.label())?;
        match &self.copy {
            Some(copy) => writeln!(f, " ↔ side {} {}", self.side.other(), copy.label())?,
            None => writeln!(f, " (not linked)")?,
        }
        for failure in &self.open_failures {
            let state = if failure.parked { "PARKED" } else { "to be retried" };
            writeln!(
                f,
                "open failure on side {} ({state}, {} attempt(s)): {}",
                failure.side, failure.attempts, failure.error
            )?;
        }
        if self.entries.is_empty() {
            writeln!(f, "no syncs kept (entries expire; a sync that wrote nothing leaves none)")?;
        }
        for entry in &self.entries {
            f.write_str(&shown_entry(entry))?;
        }
        Ok(())
    }
}

/// One entry: a heading line, then a line per thing the sync did.
fn shown_entry(entry: &HistoryEntry) -> String {
    let mut text = format!(
        "{}  {}  from side {} item {}  {}  ({})\n",
        entry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        entry.outcome,
        entry.side,
        entry.item,
        entry.trigger,
        entry.worker
    );
    for write in &entry.writes {
        let _ = writeln!(text, "    side {} {}: {:?} → {:?}", write.to, write.field, write.old, write.new);
    }
    for conflict in &entry.conflicts {
        let _ =
            writeln!(text, "    conflict on {}: side {} won ({})", conflict.field, conflict.winner, conflict.policy);
    }
    for comment in &entry.comments {
        let reason = comment.reason.as_deref().map(|reason| format!(": {reason}")).unwrap_or_default();
        let _ = writeln!(
            text,
            "    comment {} {} on side {} (copy {}){reason}",
            comment.comment, comment.action, comment.to, comment.copy
        );
    }
    for attachment in &entry.attachments {
        let reason = attachment.reason.as_deref().map(|reason| format!(": {reason}")).unwrap_or_default();
        let copy = attachment.copy.as_deref().map(|copy| format!(" (copy {copy})")).unwrap_or_default();
        let _ = writeln!(
            text,
            "    attachment {:?} ({}) {} on side {}{copy}{reason}",
            attachment.name, attachment.original, attachment.action, attachment.to
        );
    }
    if entry.omitted > 0 {
        let _ = writeln!(text, "    … and {} more", entry.omitted);
    }
    if let Some(error) = &entry.error {
        let _ = writeln!(text, "    failed: {error}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_engine::history::{AttachmentAction, ConflictDecision, FieldWrite, Trigger};

    #[test]
    fn an_entry_shows_what_started_it_and_each_thing_it_did() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z").unwrap().to_utc();
        let entry = HistoryEntry {
            integration: "ops".into(),
            side: Side::One,
            item: ItemId::new("10001"),
            copy: Some(ItemId::new("42")),
            at,
            expires_at: at,
            trigger: Trigger::Webhook { delivery: "d-7".into() },
            worker: "worker-1".into(),
            outcome: "updated (1 written)".into(),
            writes: vec![FieldWrite {
                to: Side::Two,
                field: "System.Title".into(),
                old: "Old".into(),
                new: "New".into(),
            }],
            conflicts: vec![ConflictDecision {
                field: "priority".into(),
                winner: Side::One,
                policy: "latest-wins".into(),
            }],
            comments: Vec::new(),
            attachments: vec![AttachmentAction {
                to: Side::Two,
                action: "not copied".into(),
                name: "dump.bin".into(),
                original: "10100".into(),
                copy: None,
                reason: Some("12.0 MB, over the 10.0 MB limit".into()),
            }],
            omitted: 0,
            error: None,
        };
        assert_eq!(
            shown_entry(&entry),
            "2026-12-05T10:00:00.000Z  updated (1 written)  from side 1 item 10001  webhook d-7  (worker-1)\n    side 2 System.Title: \"Old\" → \"New\"\n    conflict on priority: side 1 won (latest-wins)\n    attachment \"dump.bin\" (10100) not copied on side 2: 12.0 MB, over the 10.0 MB limit\n"
        );
    }
}
