//! Updating a linked pair: the three-way merge of every mapped field, then the writes it calls for.
//!
//! Writes are announced in the link before they are sent (write-ahead). A worker that dies after a
//! write, or whose write's answer is lost, leaves the announcement behind, and the next sync tells from
//! the target's value whether the write landed. Without it the link would still hold the values from
//! before a write that did land, and a later edit on the written side would look like a conflict with
//! the change already delivered, which the conflict policy could then let win: a lost update.
//!
//! A field the target refuses (no workflow transition to the value, a value the field does not allow)
//! does not hold back the other fields: they are written one by one, the refused field keeps its old
//! snapshot so that later syncs try it again, and the refusal is the sync's error, recorded for an
//! operator like any other failure.

use crate::compare::same_value;
use crate::crash::Step;
use crate::engine::{index, Engine, SyncOutcome};
use crate::error::SyncError;
use crate::history::{self, ConflictDecision};
use crate::images::attachments_of;
use crate::marks;
use crate::merge::{decide, FieldAction, FieldState};
use crate::ports::{Announcer, ConflictRecord, ConnectorError, Link, PendingWrite};
use std::collections::BTreeMap;
use tandem_mapping::{FieldKind, FieldMapping};
use tandem_model::{FieldMap, FieldValue, Item, ItemId, ItemVersion, Side, Timestamp};
use tracing::{info, warn};

/// What the merge decided to write, per target side.
#[derive(Default)]
struct Plan {
    /// Target field id → value, per side.
    writes: [FieldMap; 2],
    /// Target field id → the mapping's field name, per side (to put a refused field's snapshot back).
    mapping_names: [BTreeMap<String, String>; 2],
    conflicts: Vec<ConflictRecord>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.writes.iter().all(FieldMap::is_empty)
    }
}

impl Engine {
    pub(crate) async fn merge(&self, side: Side, item: &Item, link: Link) -> Result<SyncOutcome, SyncError> {
        let other = side.other();
        match self.read(other, &link.item(other).id).await? {
            Some(other_item) => self.merge_both(side, item, other_item, link).await,
            None => Ok(self.copy_gone(side, &link)),
        }
    }

    /// As [`Engine::merge`], with the other item read already.
    pub(crate) async fn merge_both(
        &self,
        side: Side,
        item: &Item,
        other_item: Item,
        mut link: Link,
    ) -> Result<SyncOutcome, SyncError> {
        history::note(|journal| journal.copy = Some(link.item(side.other()).id.clone()));
        let items: [&Item; 2] = match side {
            Side::One => [item, &other_item],
            Side::Two => [&other_item, item],
        };
        // A pair whose item left the scope (moved, retyped, restricted) stays linked and is left alone
        // both ways until it is back: its changes are never copied out, and nothing is written into it.
        if let Some(reason) = Side::BOTH.into_iter().find_map(|side| self.out_of_scope(side, items[index(side)])) {
            info!(%reason, item1 = %link.side1.label(), item2 = %link.side2.label(), "a linked item is out of scope; the pair is not synced while it is");
            return Ok(SyncOutcome::OutOfScope { reason });
        }
        if let Some(until) = self.writes_in_progress_until(&link) {
            return Err(SyncError::WritesInProgress { until });
        }
        // A fresh read older than what the link has seen is a lagging answer: writing from it would undo
        // what was synced since.
        if let Some(stale) = Side::BOTH.into_iter().find(|&side| is_older(&link, side, items[index(side)])) {
            return Err(SyncError::StaleRead { side: stale });
        }
        // Files that images in the texts show are copied first, so the texts written point at them.
        if self.copy_field_image_files(&mut link, items).await? > 0 {
            // Attaching them changed the items: merge from a fresh read (which copies nothing more).
            return Box::pin(self.merge_read_again(side, &item.item.id, link)).await;
        }
        let stored = (link.fields.clone(), link.pending_writes.clone());
        self.settle_pending_writes(&mut link, items);
        let plan = self.plan_writes(&mut link, items).await?;
        for side in Side::BOTH {
            link.seen.saw(side, items[index(side)].version());
        }
        let announced = !plan.is_empty();
        if announced {
            link.announced_by =
                Some(Announcer { worker: self.worker.clone(), until: self.clock.now() + self.claim_lease });
            link = self.stores.links.update_link(&link).await?;
            self.crash_point(Step::WritesAnnounced);
        }
        let mut written = 0;
        let mut refusal = None;
        for to in Side::BOTH {
            let fields = &plan.writes[index(to)];
            if fields.is_empty() {
                continue;
            }
            let outcome = match self.write_fields(to, &link.item(to).id, fields, items[index(to)].version()).await {
                Ok(outcome) => outcome,
                Err(error) => return Err(self.withdraw_announcement(link, to, error).await),
            };
            if let Some(version) = outcome.version {
                link.seen.saw(to, version);
            }
            history::note(|journal| {
                let refused = |field: &String| outcome.refused.iter().any(|(refused, _)| refused == field);
                for (field, value) in fields.iter().filter(|(field, _)| !refused(field)) {
                    journal.wrote(to, field, items[index(to)].field(field), value);
                }
            });
            written += fields.len() - outcome.refused.len();
            for (field, error) in outcome.refused {
                let name = &plan.mapping_names[index(to)][&field];
                warn!(to = %to, item = %link.item(to).label(), field = %name, %error, "the target refused a field; the others are written");
                // Its snapshot goes back to before this sync, so the change is still seen and tried again.
                restore_before(&mut link, name);
                refusal.get_or_insert(SyncError::FieldRefused { side: to, field: name.clone(), source: error });
            }
            info!(to = %to, item = %link.item(to).label(), fields = ?fields.keys().collect::<Vec<_>>(), "updated");
            self.crash_point(Step::TargetUpdated);
        }
        for conflict in &plan.conflicts {
            warn!(field = %conflict.field, winner = %conflict.winner, "both sides changed a field; policy decided");
            history::note(|journal| {
                let (field, winner, policy) = (conflict.field.clone(), conflict.winner, conflict.policy.clone());
                journal.conflicts.push(ConflictDecision { field, winner, policy });
            });
            self.stores.log.record_conflict(conflict).await?;
        }
        // Files and comments come before the link's update, so that the update is the sync's last write
        // and may say which delivery it finished (see `marks`). Their writes carry this merge's state;
        // a link another worker wrote meanwhile sends the whole sync back to a fresh read.
        let parts = self.sync_parts(&mut link, items).await;
        link.pending_writes.clear();
        link.announced_by = None;
        // An echo or a repeated notice changes nothing: leave the stored link alone (no store write).
        if announced || (&link.fields, &link.pending_writes) != (&stored.0, &stored.1) {
            link.synced_at = self.clock.now();
            if parts.is_ok() && refusal.is_none() {
                marks::stamp(&mut link);
            }
            self.stores.links.update_link(&link).await?;
            self.crash_point(Step::LinkUpdated);
        }
        written += parts?;
        match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(SyncOutcome::Updated { writes: written }),
        }
    }

    /// Copies the pair's new files and comments (and removes the copies of those gone); how many it wrote.
    async fn sync_parts(&self, link: &mut Link, items: [&Item; 2]) -> Result<usize, SyncError> {
        Ok(self.sync_attachments(link, items).await? + self.sync_comments(link, items).await?)
    }

    /// Until when another worker's announced writes may still be landing, if they may: a sync waits for
    /// them (or their lease) first.
    pub(crate) fn writes_in_progress_until(&self, link: &Link) -> Option<Timestamp> {
        link.announced_by
            .as_ref()
            .filter(|announcer| !link.pending_writes.is_empty() && announcer.worker != self.worker)
            .map(|announcer| announcer.until)
            .filter(|until| *until > self.clock.now())
    }

    /// Copies the files shown by images in the texts each side's fields copy to the other; returns how
    /// many it copied.
    async fn copy_field_image_files(&self, link: &mut Link, items: [&Item; 2]) -> Result<usize, SyncError> {
        let mut copied = 0;
        for from in Side::BOTH {
            let item = items[index(from)];
            copied += self.copy_image_files(link, from, &self.field_texts(from, item), &item.attachments).await?;
        }
        Ok(copied)
    }

    /// A write to `to` failed. When the target refused it because the item changed since it was read
    /// (nothing was written), its announcements are withdrawn, so that the next merge sees the person's
    /// edit and this sync's change side by side (a conflict, decided by the policy) rather than taking
    /// the edit for a change made after this write. The returned error is the write's.
    async fn withdraw_announcement(&self, mut link: Link, to: Side, error: SyncError) -> SyncError {
        if !matches!(&error, SyncError::Connector { source: ConnectorError::Changed { .. }, .. }) {
            return error;
        }
        let names: Vec<String> =
            link.pending_writes.iter().filter(|(_, pending)| pending.to == to).map(|(name, _)| name.clone()).collect();
        for name in &names {
            restore_before(&mut link, name);
        }
        if link.pending_writes.is_empty() {
            link.announced_by = None;
        }
        info!(to = %to, item = %link.item(to).label(), fields = ?names, "the item changed since it was read; nothing was written, merging again");
        match self.stores.links.update_link(&link).await {
            Ok(_) => error,
            Err(store) => SyncError::Store(store),
        }
    }

    /// Settles the writes a previous sync announced and never confirmed. A target that still holds the
    /// value from before such a write never got it: the field is merged from the snapshot before it.
    /// A target holding anything else got it (and may have been edited since, which the merge sees as
    /// a change, as it is).
    fn settle_pending_writes(&self, link: &mut Link, items: [&Item; 2]) {
        for (name, pending) in std::mem::take(&mut link.pending_writes) {
            let Some(field) = self.config.fields.iter().find(|mapping| mapping.name == name) else {
                continue;
            };
            let Some(target_field) = field.field(pending.to) else {
                continue;
            };
            let current = items[index(pending.to)].field(target_field);
            let landed = link.fields.get(&name).is_some_and(|snapshot| snapshot.holds(pending.to, current));
            let unchanged = match &pending.before {
                Some(before) => before.holds(pending.to, current),
                None => current.is_empty(),
            };
            if !landed && unchanged {
                info!(item = %link.item(pending.to).label(), field = %name, "an announced write never landed; it is made again");
                match pending.before {
                    Some(before) => link.fields.insert(name, before),
                    None => link.fields.remove(&name),
                };
            }
        }
    }

    /// Decides every mapped field and updates the link's snapshots (and announcements) to match; the
    /// returned plan holds the writes that are needed.
    async fn plan_writes(&self, link: &mut Link, items: [&Item; 2]) -> Result<Plan, SyncError> {
        let mut plan = Plan::default();
        for mapping in &self.config.fields {
            let current = |side: Side| {
                mapping.field(side).map(|field| items[index(side)].field(field).clone()).unwrap_or_default()
            };
            let (value1, value2) = (current(Side::One), current(Side::Two));
            let state = FieldState { snapshot: link.fields.get(&mapping.name), side1: &value1, side2: &value2 };
            let action = decide(mapping, &state, self.config.conflicts, [items[0].updated, items[1].updated]);
            let before = link.fields.get(&mapping.name).cloned();
            let from = match action {
                FieldAction::Unchanged => continue,
                FieldAction::Accept { side } => {
                    let snapshot = link.fields.entry(mapping.name.clone()).or_default();
                    snapshot.set(side, if side == Side::One { value1 } else { value2 });
                    continue;
                }
                FieldAction::Propagate { from } => from,
                FieldAction::Conflict { winner } => {
                    plan.conflicts.push(ConflictRecord {
                        integration: self.config.name.clone(),
                        field: mapping.name.clone(),
                        side1: link.side1.clone(),
                        side2: link.side2.clone(),
                        side1_value: value1.clone(),
                        side2_value: value2.clone(),
                        winner,
                        policy: self.config.conflicts.name().to_string(),
                        at: self.clock.now(),
                    });
                    winner
                }
            };
            let to = from.other();
            let (source, target_now) = match from {
                Side::One => (value1, value2),
                Side::Two => (value2, value1),
            };
            let value = keep_unmapped_mentions(self.translate(mapping, from, &source).await?, &target_now);
            let value = self.with_images_repointed(&link.attachments, from, value, attachments_of(items), &target_now);
            let Some(target_field) = mapping.field(to) else {
                continue;
            };
            let value = self.connector(to).as_stored(target_field, value);
            let value = match mapping.kind == FieldKind::List {
                true => self.in_target_spelling(mapping, from, value, &target_now),
                false => value,
            };
            let snapshot = link.fields.entry(mapping.name.clone()).or_default();
            snapshot.set(from, source);
            if same_value(&value, &target_now) {
                // Already equal (the same edit made on both sides, or an echo): never send a no-op write.
                snapshot.set(to, target_now);
                plan.conflicts.retain(|conflict| conflict.field != mapping.name);
            } else {
                snapshot.set(to, value.clone());
                plan.writes[index(to)].insert(target_field.to_string(), value);
                plan.mapping_names[index(to)].insert(target_field.to_string(), mapping.name.clone());
                link.pending_writes.insert(mapping.name.clone(), PendingWrite { to, before });
            }
        }
        Ok(plan)
    }

    /// A list written to the other side keeps that side's spelling of each item the source holds in its
    /// own form: an Azure DevOps tag `Needs Triage` is the Jira label `Needs_Triage`, and Jira's list
    /// written back must not rename the tag. The lists stay the same items, so the pair converges.
    fn in_target_spelling(
        &self,
        mapping: &FieldMapping,
        from: Side,
        value: FieldValue,
        target_now: &FieldValue,
    ) -> FieldValue {
        let (Some(source_field), FieldValue::List(items), FieldValue::List(current)) =
            (mapping.field(from), &value, target_now)
        else {
            return value;
        };
        let source = self.connector(from);
        let as_source_keeps = |item: &String| source.as_stored(source_field, FieldValue::List(vec![item.clone()]));
        let spelled = items.iter().map(|item| {
            let same = FieldValue::List(vec![item.clone()]);
            current.iter().find(|kept| as_source_keeps(kept) == same).cloned().unwrap_or_else(|| item.clone())
        });
        FieldValue::List(spelled.collect())
    }

    /// Writes `fields` to the item read at `read`. Only refusals of a value are taken field by field;
    /// anything else (the system down, the item gone or changed meanwhile) fails the whole write.
    async fn write_fields(
        &self,
        to: Side,
        id: &ItemId,
        fields: &FieldMap,
        read: ItemVersion,
    ) -> Result<WriteOutcome, SyncError> {
        let connector = self.connector(to);
        let refusal = match connector.update_item(id, fields, &read).await {
            Ok(version) => return Ok(WriteOutcome { refused: Vec::new(), version }),
            Err(error) if is_refusal(&error) => error,
            Err(error) => return Err(SyncError::Connector { side: to, source: error }),
        };
        if fields.len() == 1 {
            let field = fields.keys().next().cloned().unwrap_or_default();
            return Ok(WriteOutcome { refused: vec![(field, refusal)], version: None });
        }
        // Which one? Each on its own, so that the others are not held back by the one refused. Each
        // write is conditional on the state the one before it made, when the system tells it.
        let mut outcome = WriteOutcome { refused: Vec::new(), version: None };
        let mut state = read;
        for (field, value) in fields {
            let single = FieldMap::from([(field.clone(), value.clone())]);
            match connector.update_item(id, &single, &state).await {
                Ok(Some(version)) => {
                    state = version;
                    outcome.version = Some(version);
                }
                Ok(None) => {}
                Err(error) if is_refusal(&error) => outcome.refused.push((field.clone(), error)),
                Err(error) => return Err(SyncError::Connector { side: to, source: error }),
            }
        }
        Ok(outcome)
    }
}

/// What writing one target's fields did.
struct WriteOutcome {
    /// The fields the target refused, each with its refusal.
    refused: Vec<(String, ConnectorError)>,
    /// The state the last write made, when the system said.
    version: Option<ItemVersion>,
}

/// Puts a field's snapshot back to what it was before this sync announced a write of it.
fn restore_before(link: &mut Link, name: &str) {
    if let Some(pending) = link.pending_writes.remove(name) {
        match pending.before {
            Some(before) => link.fields.insert(name.to_string(), before),
            None => link.fields.remove(name),
        };
    }
}

/// Whether `item` shows an older state of the item on `side` than the link has seen.
fn is_older(link: &Link, side: Side, item: &Item) -> bool {
    link.seen.get(side).is_some_and(|seen| seen.is_after(&item.version()))
}

/// A target's "no" to a value (as opposed to "not now" or "not you"): retrying the same write cannot
/// help, but writing the other fields can.
fn is_refusal(error: &ConnectorError) -> bool {
    match error {
        ConnectorError::NoTransition { .. } | ConnectorError::Invalid { .. } | ConnectorError::FieldRefused { .. } => {
            true
        }
        ConnectorError::Http { status, .. } => matches!(status, 400 | 409 | 422),
        _ => false,
    }
}

/// A mention in the target's text of someone the source side does not know travelled there as its
/// words (`@Carol`); where the incoming text still holds those words, the mention is kept, so an edit
/// elsewhere in the text does not turn it into plain words.
fn keep_unmapped_mentions(value: FieldValue, target_now: &FieldValue) -> FieldValue {
    let (FieldValue::RichText(incoming), FieldValue::RichText(current)) = (&value, target_now) else {
        return value;
    };
    let arriving = tandem_rich_text::mentions(incoming);
    let mut kept = tandem_rich_text::mentions(current);
    kept.retain(|mention| !arriving.iter().any(|other| other.id == mention.id));
    if kept.is_empty() {
        return value;
    }
    FieldValue::RichText(tandem_rich_text::restore_mentions(incoming, &kept))
}
