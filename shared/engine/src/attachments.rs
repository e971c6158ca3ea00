//! Attachments both ways: each file attached to an item is copied once to its copy (downloaded from
//! its own system with that side's service account, uploaded to the other), and removed from the copy
//! when the original is removed. A copy a person deleted is not attached again.
//!
//! "Once" holds across workers and crashes as for comments — a claim on copying each file — and one
//! step more, because a file can be removed while its copy is on the way: the pair is stored as
//! *sending* (with the file's name and size) before the upload, and settled with the copy's id after.
//! A later sync that finds a pair still sending looks on the other item for the copy the attempt may
//! have made: it adopts it while the original is there, and removes it once the original is gone.
//!
//! A file larger than `attachments.max_bytes`, or one the target refuses for its size, is not copied:
//! the pair is recorded without a copy (so it is not tried again at every sync) and the item's history
//! says why, with the address of the original. Copies are known by their author, the service account,
//! or where the system keeps a note with an attachment (Azure DevOps), by the note the integration
//! leaves, so they are never copied back.

use crate::crash::Step;
use crate::engine::{index, Engine};
use crate::error::SyncError;
use crate::history::{self, AttachmentAction};
use crate::parts::{part_claim, NotNow, HOLD_PART};
use crate::ports::{AttachmentLink, ConnectorError, Link, SendingFile};
use tandem_model::{readable_size, Attachment, AttachmentId, Item, ItemId, Side, Timestamp};
use tracing::{info, warn};

/// How the integration's note on a copy begins (`tandem: copy of jira attachment 10001`).
const COPY_NOTE: &str = "tandem: copy of";

/// Where the file to copy is shown: attached to the item, or only in a text (an image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    Attached,
    Inline,
}

/// What syncing one attachment did.
pub(crate) enum AttachmentSync {
    /// Copied, adopted, or an abandoned copy removed: the target changed.
    Written,
    /// Recorded as not copied, or an abandoned send found to have made nothing: only the link changed.
    Recorded,
    Nothing,
    HeldElsewhere {
        until: Timestamp,
    },
}

impl AttachmentSync {
    pub(crate) fn held_until(&self) -> Option<Timestamp> {
        match self {
            AttachmentSync::HeldElsewhere { until } => Some(*until),
            _ => None,
        }
    }
}

impl From<NotNow> for AttachmentSync {
    fn from(not_now: NotNow) -> Self {
        match not_now {
            NotNow::HeldElsewhere { until } => AttachmentSync::HeldElsewhere { until },
            NotNow::Known => AttachmentSync::Nothing,
        }
    }
}

/// What became of a new attachment.
enum Copied {
    Copy { copy: Attachment, adopted: bool },
    NotCopied { reason: String },
}

impl Engine {
    /// Copies new attachments in the directions the configuration allows and removes the copies of
    /// removed ones; returns how many attachments it wrote. Costs no call when neither item has any.
    pub(crate) async fn sync_attachments(&self, link: &mut Link, items: [&Item; 2]) -> Result<usize, SyncError> {
        let settings = self.config.attachments;
        let kept = Side::BOTH.iter().all(|side| self.connector(*side).keeps_attachments());
        if !kept || !Side::BOTH.iter().any(|side| settings.enabled(*side)) {
            return Ok(0);
        }
        let mut written = 0;
        let mut held_elsewhere: Option<Timestamp> = None;
        for from in Side::BOTH.into_iter().filter(|side| settings.enabled(*side)) {
            written += self.withdraw_attachment_copies(link, from, items).await?;
            let mut outcomes = Vec::new();
            for pair in abandoned(link, from, items[index(from)]) {
                outcomes.push(self.settle_abandoned_send(link, from, &pair).await?);
            }
            for attachment in &items[index(from)].attachments {
                let settled =
                    link.attachments.iter().any(|pair| pair.id(from) == Some(&attachment.id) && pair.settled());
                if settled || self.is_integrations_attachment(from, attachment).await? {
                    continue;
                }
                outcomes.push(self.sync_new_attachment(link, from, attachment, Placement::Attached).await?);
            }
            written += outcomes.iter().filter(|outcome| matches!(outcome, AttachmentSync::Written)).count();
            held_elsewhere = held_elsewhere.max(outcomes.iter().filter_map(AttachmentSync::held_until).max());
        }
        match held_elsewhere {
            // The change is recorded for a retry once that worker's lease ends, in case it dies.
            Some(until) => Err(SyncError::CreationInProgress { until }),
            None => Ok(written),
        }
    }

    /// Whether the integration attached this file (a copy, or an earlier attempt's copy to adopt).
    pub(crate) async fn is_integrations_attachment(
        &self,
        side: Side,
        attachment: &Attachment,
    ) -> Result<bool, SyncError> {
        if attachment.note.as_deref().is_some_and(|note| note.starts_with(COPY_NOTE)) {
            return Ok(true);
        }
        self.is_service_account(side, attachment.author.as_ref()).await
    }

    /// The note a copy of the original `original` (attached on `from`) carries: the same for every attempt.
    fn copy_note(&self, from: Side, original: &AttachmentId) -> String {
        format!("{COPY_NOTE} {} attachment {original}", self.config.side(from).system.slug())
    }

    /// Removes the copies of attachments removed from `from` since, and forgets the settled pairs whose
    /// original is gone; returns how many copies it removed. The copy is removed by its id even where
    /// the read of the other item does not show it (a read from before it was attached).
    async fn withdraw_attachment_copies(
        &self,
        link: &mut Link,
        from: Side,
        items: [&Item; 2],
    ) -> Result<usize, SyncError> {
        let to = from.other();
        let gone = |pair: &AttachmentLink| {
            pair.origin == from && !pair.inline && pair.settled() && !holds(items[index(from)], &pair.original)
        };
        if !link.attachments.iter().any(gone) {
            return Ok(0);
        }
        let mut removed = 0;
        for pair in link.attachments.iter().filter(|pair| gone(pair)) {
            let Some(copy_id) = &pair.copy else { continue };
            let copy = find(items[index(to)], copy_id)
                .cloned()
                .unwrap_or_else(|| Attachment::known_by_id(copy_id.clone(), ""));
            match self.connector(to).delete_attachment(&link.item(to).id, &copy).await {
                Ok(()) | Err(ConnectorError::NotFound { .. }) => {}
                Err(error) => return Err(SyncError::Connector { side: to, source: error }),
            }
            removed += 1;
            info!(from = %from, item = %link.item(to).label(), original = %pair.original, copy = %copy.id, "removed the copy of a removed attachment");
            let reason = Some("the original was removed".to_string());
            note(to, "removed", &copy.name, &pair.original, Some(&copy.id), reason);
        }
        link.attachments.retain(|pair| !gone(pair));
        *link = self.stores.links.update_link(link).await?;
        Ok(removed)
    }

    /// A pair left sending whose original is gone: the copy the attempt may have attached is removed
    /// (once its upload cannot land any more), and the pair forgotten.
    async fn settle_abandoned_send(
        &self,
        link: &mut Link,
        from: Side,
        pair: &AttachmentLink,
    ) -> Result<AttachmentSync, SyncError> {
        let to = from.other();
        // Only pairs left sending are abandoned: each knows the file it was sending.
        let Some(file) = &pair.sending else {
            return Ok(AttachmentSync::Nothing);
        };
        let claim = part_claim(link, from, "attachment", &pair.original.0);
        let still_sending = |fresh: &Link| fresh.attachments.iter().any(|found| found == pair);
        if let Err(not_now) =
            self.claim_part(link, from, &claim, HOLD_PART, |fresh| !still_sending(fresh)).await?.go_on()
        {
            return Ok(not_now.into());
        }
        let note_text = self.copy_note(from, &pair.original);
        let copy = self.earlier_attachment_copy(link, to, file, &note_text).await?;
        if let Some(copy) = &copy {
            match self.connector(to).delete_attachment(&link.item(to).id, copy).await {
                Ok(()) | Err(ConnectorError::NotFound { .. }) => {}
                Err(error) => return Err(SyncError::Connector { side: to, source: error }),
            }
            info!(from = %from, item = %link.item(to).label(), original = %pair.original, copy = %copy.id, "removed a copy attached while its original was being removed");
            let reason = Some("the original was removed while its copy was being attached".to_string());
            note(to, "removed", &copy.name, &pair.original, Some(&copy.id), reason);
        }
        link.attachments.retain(|found| found != pair);
        *link = self.stores.links.update_link(link).await?;
        self.release_part_claim(from, &claim).await;
        Ok(if copy.is_some() { AttachmentSync::Written } else { AttachmentSync::Recorded })
    }

    /// Copies (or adopts, or records as not copied) an attachment the link has not settled.
    pub(crate) async fn sync_new_attachment(
        &self,
        link: &mut Link,
        from: Side,
        attachment: &Attachment,
        placement: Placement,
    ) -> Result<AttachmentSync, SyncError> {
        let inline = placement == Placement::Inline;
        let to = from.other();
        let claim = part_claim(link, from, "attachment", &attachment.id.0);
        let settled =
            |fresh: &Link| fresh.attachments.iter().any(|pair| pair.id(from) == Some(&attachment.id) && pair.settled());
        let look_for_earlier = match self.claim_part(link, from, &claim, HOLD_PART, settled).await?.go_on() {
            Ok(copying) => copying.look_for_earlier,
            Err(not_now) => return Ok(not_now.into()),
        };
        // A pair left sending: an attempt may have attached the copy, whatever the claim remembers.
        let left_sending = link.attachments.iter().any(|pair| pair.origin == from && pair.original == attachment.id);
        let note_text = self.copy_note(from, &attachment.id);
        let file = SendingFile { name: attachment.name.clone(), size: attachment.size };
        let earlier = match look_for_earlier || left_sending {
            true => self.earlier_attachment_copy(link, to, &file, &note_text).await?,
            false => None,
        };
        let copied = match earlier {
            Some(copy) => Copied::Copy { copy, adopted: true },
            None => match self.send_attachment_copy(link, from, attachment, &claim, &note_text, inline).await? {
                Ok(copied) => copied,
                Err(until) => return Ok(AttachmentSync::HeldElsewhere { until }),
            },
        };
        let (copy, action, reason) = match copied {
            Copied::Copy { copy, adopted } => (Some(copy.id), if adopted { "adopted" } else { "copied" }, None),
            Copied::NotCopied { reason } => {
                warn!(from = %from, item = %link.item(from).label(), attachment = %attachment.name, %reason, "an attachment was not copied");
                (None, "not copied", Some(reason))
            }
        };
        link.attachments.retain(|pair| !(pair.origin == from && pair.original == attachment.id));
        let settled_pair =
            AttachmentLink { origin: from, original: attachment.id.clone(), copy: copy.clone(), sending: None, inline };
        link.attachments.push(settled_pair);
        // Stored after every file, so a crash between two never attaches one twice.
        *link = self.stores.links.update_link(link).await?;
        self.part_claim_fulfilled(from, &claim).await;
        info!(from = %from, item = %link.item(to).label(), attachment = %attachment.id, copy = ?copy, action, "attachment");
        note(to, action, &attachment.name, &attachment.id, copy.as_ref(), reason);
        Ok(if copy.is_some() { AttachmentSync::Written } else { AttachmentSync::Recorded })
    }

    /// Downloads the file and attaches it to the copy, under a renewed claim, with the pair stored as
    /// sending first. A file over the limit (known before or found while downloading) or refused by the
    /// target for its size is not copied; `Err` is the lease end of a worker that took the claim over.
    async fn send_attachment_copy(
        &self,
        link: &mut Link,
        from: Side,
        attachment: &Attachment,
        claim: &ItemId,
        note_text: &str,
        inline: bool,
    ) -> Result<Result<Copied, Timestamp>, SyncError> {
        let to = from.other();
        let limit = self.config.attachments.max_bytes();
        let not_copied = |size: u64| {
            let (size, limit, place) = (readable_size(size), readable_size(limit), where_original(attachment));
            Ok(Copied::NotCopied { reason: format!("{size} is over the {limit} limit (attachments.max_bytes){place}") })
        };
        if let Some(size) = attachment.size.filter(|size| *size > limit) {
            return Ok(not_copied(size));
        }
        let most = self.config.attachments.max_files();
        let copied = link.attachments.iter().filter(|pair| pair.origin == from && pair.copy.is_some()).count();
        if copied >= most as usize {
            let place = where_original(attachment);
            let reason = format!("{copied} files of this item are copied, the limit (attachments.max_files){place}");
            return Ok(Ok(Copied::NotCopied { reason }));
        }
        let content = match self.connector(from).download_attachment(&link.item(from).id, attachment, limit).await {
            Ok(content) => content,
            Err(ConnectorError::TooLarge { size, .. }) => return Ok(not_copied(size)),
            Err(error) => return Err(SyncError::Connector { side: from, source: error }),
        };
        // A file only a text shows is copied to be shown as an image, and only as one.
        if inline && !content.content_type.starts_with("image/") {
            let reason = format!("a text shows it as an image but it is `{}`", content.content_type);
            return Ok(Ok(Copied::NotCopied { reason }));
        }
        let before = match self.renew_part_claim(from, claim).await? {
            Ok(before) => before,
            Err(until) => return Ok(Err(until)),
        };
        if !link.attachments.iter().any(|pair| pair.origin == from && pair.original == attachment.id) {
            let sending = Some(SendingFile { name: attachment.name.clone(), size: attachment.size });
            link.attachments.push(AttachmentLink {
                origin: from,
                original: attachment.id.clone(),
                copy: None,
                sending,
                inline,
            });
            *link = self.stores.links.update_link(link).await?;
        }
        match self.connector(to).upload_attachment(&link.item(to).id, &content, note_text).await {
            Ok(copy) => {
                self.crash_point(Step::AttachmentCopied);
                Ok(Ok(Copied::Copy { copy, adopted: false }))
            }
            Err(error) => {
                self.part_send_failed(from, claim, &error, before).await;
                match error {
                    ConnectorError::TooLarge { .. } | ConnectorError::Http { status: 413, .. } => {
                        let (system, place) = (self.config.side(to).system, where_original(attachment));
                        let reason = format!("{system} refused it as too large ({error}){place}");
                        Ok(Ok(Copied::NotCopied { reason }))
                    }
                    error => Err(SyncError::Connector { side: to, source: error }),
                }
            }
        }
    }

    /// A copy an earlier attempt attached and never settled: on the target item as it is now, attached
    /// by the integration (its note, or the service account), in no settled pair, with the file's name
    /// and size.
    async fn earlier_attachment_copy(
        &self,
        link: &Link,
        to: Side,
        file: &SendingFile,
        note_text: &str,
    ) -> Result<Option<Attachment>, SyncError> {
        let target = self.connector(to).get_item(&link.item(to).id).await.map_err(SyncError::connector(to))?;
        for candidate in target.attachments {
            let unlinked = !link.attachments.iter().any(|pair| pair.id(to) == Some(&candidate.id));
            let same_file = candidate.name == file.name
                && (candidate.size.is_none() || file.size.is_none() || candidate.size == file.size);
            let ours = match candidate.note.as_deref() {
                Some(note) => note == note_text,
                None => self.is_service_account(to, candidate.author.as_ref()).await?,
            };
            if unlinked && same_file && ours {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }
}

/// The pairs of `from` left sending whose original `item` no longer holds.
fn abandoned(link: &Link, from: Side, item: &Item) -> Vec<AttachmentLink> {
    let gone =
        |pair: &&AttachmentLink| pair.origin == from && !pair.inline && !pair.settled() && !holds(item, &pair.original);
    link.attachments.iter().filter(gone).cloned().collect()
}

/// Where people find the original, for a record of a file not copied.
fn where_original(attachment: &Attachment) -> String {
    attachment.url.as_deref().map(|url| format!("; the original is at {url}")).unwrap_or_default()
}

fn holds(item: &Item, id: &AttachmentId) -> bool {
    item.attachments.iter().any(|attachment| &attachment.id == id)
}

fn find<'a>(item: &'a Item, id: &AttachmentId) -> Option<&'a Attachment> {
    item.attachments.iter().find(|attachment| &attachment.id == id)
}

/// Notes an attachment action in the sync's history entry.
fn note(
    to: Side,
    action: &str,
    name: &str,
    original: &AttachmentId,
    copy: Option<&AttachmentId>,
    reason: Option<String>,
) {
    history::note(|journal| {
        journal.attachment(AttachmentAction {
            to,
            action: action.to_string(),
            name: name.to_string(),
            original: original.to_string(),
            copy: copy.map(ToString::to_string),
            reason,
        })
    });
}
