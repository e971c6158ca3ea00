//! Comments both ways: each comment is copied once, with an attribution line because the copy's author
//! is the service account, and later edits of the original are carried to the copy.
//!
//! "Once" holds across workers and crashes the same way item creation does: a worker claims the copying
//! of a comment before posting it (another worker holding the claim means "not now"), and a worker that
//! takes over a claim whose holder never linked its copy first looks on the target for a copy the
//! integration posted with exactly the text it would post, and adopts it instead of posting again.
//!
//! Confidential comments stay where they are: a comment its system restricts (to a role, a group, or as
//! an internal note) is not copied, and when a copied comment is later restricted, or deleted, its copy
//! is removed. Each pair remembers which side holds the original, so removing a copy never touches an
//! original, and a copy a person deleted is neither posted again nor edited.

use crate::compare::fingerprint;
use crate::crash::Step;
use crate::engine::{index, Engine};
use crate::error::SyncError;
use crate::history;
use crate::images::attachments_of;
use crate::parts::{part_claim, NotNow, HOLD_PART_TO_SEND};
use crate::ports::{CommentLink, ConnectorError, Link};
use std::borrow::Cow;
use std::collections::BTreeMap;
use tandem_model::{Attachment, Comment, CommentId, Item, Restriction, RichText, Side, Timestamp};
use tracing::{info, warn};

/// What syncing one comment did.
enum CommentSync {
    Written,
    Nothing,
    HeldElsewhere { until: Timestamp },
}

/// Both sides' comments, as listed at the start of a sync, and the files of both items (which images in
/// comments may show).
struct Listed<'a> {
    comments: [Cow<'a, [Comment]>; 2],
    attachments: [&'a [Attachment]; 2],
}

impl Listed<'_> {
    fn on(&self, side: Side) -> &[Comment] {
        &self.comments[index(side)]
    }

    fn has(&self, side: Side, id: &CommentId) -> bool {
        self.on(side).iter().any(|comment| &comment.id == id)
    }
}

impl Engine {
    /// Copies new comments and edits in the directions the configuration allows, and removes the copies
    /// of comments that were deleted or restricted since; returns how many comments it wrote. Skipped
    /// entirely (no API calls) when comments are off both ways.
    ///
    /// A restricted comment (a Jira comment visible to one role or group, an internal note) is never
    /// copied unless the side's `confidential.comments` names its restriction: the copy would show it to
    /// everyone who reads the other item.
    pub(crate) async fn sync_comments(&self, link: &mut Link, items: [&Item; 2]) -> Result<usize, SyncError> {
        let settings = &self.config.comments;
        if !settings.enabled(Side::One) && !settings.enabled(Side::Two) {
            return Ok(0);
        }
        let mut listed =
            Listed { comments: [Cow::Borrowed(&[]), Cow::Borrowed(&[])], attachments: attachments_of(items) };
        for side in Side::BOTH {
            let item = items[index(side)];
            listed.comments[index(side)] = match &item.comments {
                // The read showed them all: listing them again would cost a call and show nothing newer.
                Some(comments) => Cow::Borrowed(comments.as_slice()),
                None => Cow::Owned(
                    self.connector(side).list_comments(&item.item.id).await.map_err(SyncError::connector(side))?,
                ),
            };
        }
        let mut written = 0;
        let mut held_elsewhere: Option<Timestamp> = None;
        for from in Side::BOTH {
            if !settings.enabled(from) {
                continue;
            }
            written += self.withdraw_copies(link, from, &listed).await?;
            written += self.remove_surplus_copies(link, from, &listed).await?;
            for comment in listed.on(from) {
                // The integration's own comments are copies (or its own notes): never copied back, and
                // their edits are not carried over either, so an original is never overwritten by its copy.
                if self.is_service_account(from, comment.author.as_ref()).await? {
                    continue;
                }
                match self.sync_comment(link, from, comment, &listed).await? {
                    CommentSync::Written => written += 1,
                    CommentSync::Nothing => {}
                    CommentSync::HeldElsewhere { until } => held_elsewhere = held_elsewhere.max(Some(until)),
                }
            }
        }
        match held_elsewhere {
            // The change is recorded for a retry once that worker's lease ends, in case it dies.
            Some(until) => Err(SyncError::CreationInProgress { until }),
            None => Ok(written),
        }
    }

    /// The restriction that keeps `comment` (made on `from`) from being copied, if any.
    pub(crate) fn comment_restriction<'a>(&self, from: Side, comment: &'a Comment) -> Option<&'a Restriction> {
        comment.visibility.unless_allowed(&self.config.side(from).confidential.comments)
    }

    async fn sync_comment(
        &self,
        link: &mut Link,
        from: Side,
        comment: &Comment,
        listed: &Listed<'_>,
    ) -> Result<CommentSync, SyncError> {
        let to = from.other();
        let restricted = self.comment_restriction(from, comment).is_some();
        let Some(position) = link.comments.iter().position(|pair| pair.id(from) == &comment.id) else {
            if restricted {
                return self.remove_unlinked_copy(link, from, comment, listed).await;
            }
            // Where people choose what is copied (`marked`), a comment without the marker stays; once
            // copied, its edits follow like any other's.
            if !self.config.comments.selects(from, &tandem_rich_text::plain_text(&comment.body)) {
                return Ok(CommentSync::Nothing);
            }
            self.copy_image_files(link, from, &[&comment.body], listed.attachments[index(from)]).await?;
            return self.copy_comment(link, from, comment, listed).await;
        };
        let pair = &link.comments[position];
        // A copy a person deleted is not posted again, and not edited either.
        if restricted || !listed.has(to, pair.id(to)) || pair.fingerprint(from) == fingerprint(&comment.body) {
            return Ok(CommentSync::Nothing);
        }
        let copy_id = pair.id(to).clone();
        self.copy_image_files(link, from, &[&comment.body], listed.attachments[index(from)]).await?;
        let body = self.comment_copy_body(link, from, comment, listed).await?;
        let copy = self
            .connector(to)
            .update_comment(&link.item(to).id, &copy_id, &body)
            .await
            .map_err(SyncError::connector(to))?;
        let pair = &mut link.comments[position];
        pair.set_fingerprint(from, fingerprint(&comment.body));
        pair.set_fingerprint(to, fingerprint(&copy.body));
        *link = self.stores.links.update_link(link).await?;
        info!(from = %from, item = %link.item(to).label(), comment = %comment.id, "carried a comment edit");
        history::note(|journal| journal.comment(to, "edited", &comment.id, &copy_id));
        Ok(CommentSync::Written)
    }

    /// Posts the copy of a comment the link does not know, exactly once across workers and crashes.
    async fn copy_comment(
        &self,
        link: &mut Link,
        from: Side,
        comment: &Comment,
        listed: &Listed<'_>,
    ) -> Result<CommentSync, SyncError> {
        let to = from.other();
        // Made ready first, so that one write claims the comment and records the post right after.
        let body = self.comment_copy_body(link, from, comment, listed).await?;
        let claim = part_claim(link, from, "comment", &comment.id.0);
        let known = |fresh: &Link| fresh.comments.iter().any(|pair| pair.id(from) == &comment.id);
        let copying = match self.claim_part(link, from, &claim, HOLD_PART_TO_SEND, known).await?.go_on() {
            Ok(copying) => copying,
            Err(NotNow::HeldElsewhere { until }) => return Ok(CommentSync::HeldElsewhere { until }),
            Err(NotNow::Known) => return Ok(CommentSync::Nothing),
        };
        let earlier = match copying.look_for_earlier {
            // Listed again: the earlier attempt may have posted after this sync's list.
            true => {
                let target_comments =
                    self.connector(to).list_comments(&link.item(to).id).await.map_err(SyncError::connector(to))?;
                self.earlier_comment_copy(link, to, &target_comments, &body).await?
            }
            false => None,
        };
        let copy = match earlier {
            Some(copy) => {
                info!(from = %from, item = %link.item(to).label(), comment = %comment.id, copy = %copy.id, "adopted a comment copy an earlier attempt posted");
                copy
            }
            None => {
                let before = match self.ready_part_send(from, &claim, copying).await? {
                    Ok(before) => before,
                    Err(until) => return Ok(CommentSync::HeldElsewhere { until }),
                };
                let copy = match self.connector(to).add_comment(&link.item(to).id, &body).await {
                    Ok(copy) => copy,
                    Err(error) => {
                        self.part_send_failed(from, &claim, &error, before).await;
                        return Err(SyncError::Connector { side: to, source: error });
                    }
                };
                self.crash_point(Step::CommentCopied);
                copy
            }
        };
        let (side1, side2, side1_fingerprint, side2_fingerprint) = match from {
            Side::One => (comment.id.clone(), copy.id.clone(), fingerprint(&comment.body), fingerprint(&copy.body)),
            Side::Two => (copy.id.clone(), comment.id.clone(), fingerprint(&copy.body), fingerprint(&comment.body)),
        };
        link.comments.push(CommentLink { side1, side2, side1_fingerprint, side2_fingerprint, origin: Some(from) });
        // Stored after every copy, so a crash between two comments never posts one twice.
        *link = self.stores.links.update_link(link).await?;
        self.part_claim_fulfilled(from, &claim).await;
        info!(from = %from, item = %link.item(to).label(), comment = %comment.id, copy = %copy.id, "copied comment");
        history::note(|journal| journal.comment(to, "copied", &comment.id, &copy.id));
        Ok(CommentSync::Written)
    }

    /// Removes the copies (on the other side) of comments made on `from` that are gone from `from` or
    /// restricted now: a comment deleted, restricted to a role or group, made internal, or no longer
    /// visible to the service account. Each removal is logged for operators; returns how many.
    async fn withdraw_copies(&self, link: &mut Link, from: Side, listed: &Listed<'_>) -> Result<usize, SyncError> {
        let to = from.other();
        let mut removed = 0;
        let mut position = 0;
        while position < link.comments.len() {
            let pair = &link.comments[position];
            if !self.is_original(pair, from, listed).await? {
                position += 1;
                continue;
            }
            let reason = match listed.on(from).iter().find(|comment| &comment.id == pair.id(from)) {
                None => "the original was deleted or is no longer visible to the service account".to_string(),
                Some(original) => match self.comment_restriction(from, original) {
                    Some(restriction) => format!("the original is restricted to {restriction}"),
                    None => {
                        position += 1;
                        continue;
                    }
                },
            };
            let (original, copy) = (pair.id(from).clone(), pair.id(to).clone());
            match self.connector(to).delete_comment(&link.item(to).id, &copy).await {
                Ok(()) | Err(ConnectorError::NotFound { .. }) => {}
                Err(error) => return Err(SyncError::Connector { side: to, source: error }),
            }
            link.comments.remove(position);
            *link = self.stores.links.update_link(link).await?;
            removed += 1;
            info!(
                from = %from, item = %link.item(from).label(), comment = %original, copy_item = %link.item(to).label(),
                copy = %copy, %reason, "removed the copy of a comment"
            );
            history::note(|journal| journal.comment_because(to, "removed", &original, &copy, Some(reason)));
        }
        Ok(removed)
    }

    /// Removes second copies of `from`'s comments: a comment by the service account on the other side
    /// that the link does not know, with exactly the text of the copy of a comment the link has copied
    /// already, while every comment of that text is copied. A worker whose post landed after its claim
    /// passed to another (its process stalled, or the post was answered after the lease) leaves one;
    /// nothing else would remove it. While a comment of that text is not copied yet, an unlinked copy
    /// may be its copy on the way (or an earlier attempt's to adopt), and is left alone. Returns how
    /// many it removed; costs nothing when the other side has no unlinked comment of the service account.
    async fn remove_surplus_copies(&self, link: &Link, from: Side, listed: &Listed<'_>) -> Result<usize, SyncError> {
        let to = from.other();
        let mut unlinked = Vec::new();
        for comment in listed.on(to) {
            let linked = link.comments.iter().any(|pair| pair.id(to) == &comment.id);
            if !linked && self.is_service_account(to, comment.author.as_ref()).await? {
                unlinked.push(comment);
            }
        }
        if unlinked.is_empty() {
            return Ok(0);
        }
        // Each copy text, and whether every comment that gives it is copied.
        let mut all_copied: BTreeMap<String, bool> = BTreeMap::new();
        for original in listed.on(from) {
            if self.is_service_account(from, original.author.as_ref()).await? {
                continue;
            }
            let copied = link.comments.iter().any(|pair| pair.id(from) == &original.id);
            let text = plain_text(&self.comment_copy_body(link, from, original, listed).await?);
            *all_copied.entry(text).or_insert(true) &= copied;
        }
        let mut removed = 0;
        for surplus in unlinked.into_iter().filter(|copy| all_copied.get(&plain_text(&copy.body)) == Some(&true)) {
            match self.connector(to).delete_comment(&link.item(to).id, &surplus.id).await {
                Ok(()) | Err(ConnectorError::NotFound { .. }) => {}
                Err(error) => return Err(SyncError::Connector { side: to, source: error }),
            }
            removed += 1;
            warn!(
                from = %from, item = %link.item(to).label(), copy = %surplus.id,
                "removed a second copy of a comment already copied (a post that landed after its claim passed on)"
            );
            let reason = Some("a second copy of a comment already copied".to_string());
            history::note(|journal| journal.comment_because(to, "removed", &"", &surplus.id, reason));
        }
        Ok(removed)
    }

    /// A restricted comment the link does not know may still have a copy: an attempt that posted it
    /// while the comment was public, and died (or lost its link update) before linking it. That copy is
    /// recognised as any earlier attempt's is, by its exact text from the service account, and removed.
    async fn remove_unlinked_copy(
        &self,
        link: &Link,
        from: Side,
        comment: &Comment,
        listed: &Listed<'_>,
    ) -> Result<CommentSync, SyncError> {
        let to = from.other();
        let body = self.comment_copy_body(link, from, comment, listed).await?;
        let Some(copy) = self.earlier_comment_copy(link, to, listed.on(to), &body).await? else {
            return Ok(CommentSync::Nothing);
        };
        match self.connector(to).delete_comment(&link.item(to).id, &copy.id).await {
            Ok(()) | Err(ConnectorError::NotFound { .. }) => {}
            Err(error) => return Err(SyncError::Connector { side: to, source: error }),
        }
        info!(
            from = %from, item = %link.item(from).label(), comment = %comment.id, copy_item = %link.item(to).label(),
            copy = %copy.id, "removed an unlinked copy of a comment that is restricted now"
        );
        let reason = Some("the original is restricted".to_string());
        history::note(|journal| journal.comment_because(to, "removed", &comment.id, &copy.id, reason));
        Ok(CommentSync::Written)
    }

    /// Whether the comment of `pair` on `from` is the original (the other one being its copy). Links
    /// stored before the origin was kept tell it by the copy's author, the service account, when the
    /// comment on the other side is still there to ask.
    async fn is_original(&self, pair: &CommentLink, from: Side, listed: &Listed<'_>) -> Result<bool, SyncError> {
        if let Some(origin) = pair.origin {
            return Ok(origin == from);
        }
        let to = from.other();
        match listed.on(to).iter().find(|comment| &comment.id == pair.id(to)) {
            Some(other) => self.is_service_account(to, other.author.as_ref()).await,
            None => Ok(false),
        }
    }

    /// A copy an earlier attempt posted and never linked: on the target, by the service account, not
    /// linked to any comment, and with exactly the text this attempt would post (attribution line
    /// included, so a copy of another author's comment with the same words is not taken).
    async fn earlier_comment_copy(
        &self,
        link: &Link,
        to: Side,
        target_comments: &[Comment],
        body: &RichText,
    ) -> Result<Option<Comment>, SyncError> {
        let wanted = plain_text(body);
        for candidate in target_comments {
            let unlinked = !link.comments.iter().any(|pair| pair.id(to) == &candidate.id);
            if unlinked
                && plain_text(&candidate.body) == wanted
                && self.is_service_account(to, candidate.author.as_ref()).await?
            {
                return Ok(Some(candidate.clone()));
            }
        }
        Ok(None)
    }

    /// The copy's body: "‹author› commented in ‹system›:" then the original, in the target's format.
    /// The same comment always gives the same body, which is what lets a retry recognise its copy.
    ///
    /// Its images show the copies of their files as the link knows them; a file not copied yet shows
    /// as a line naming it (the sync copies the files of a comment's images before posting it).
    async fn comment_copy_body(
        &self,
        link: &Link,
        from: Side,
        comment: &Comment,
        listed: &Listed<'_>,
    ) -> Result<RichText, SyncError> {
        let author = comment
            .author
            .as_ref()
            .and_then(|user| user.display_name.clone().or_else(|| user.email.clone()))
            .unwrap_or_else(|| "Someone".to_string());
        let attribution = self.config.comments.attribution(&author, self.config.side(from).system);
        let mut body = self.repoint_mentions(from, &comment.body).await?;
        // The marker people type to have a comment copied is theirs, not the copy's.
        if let Some(marker) = self.config.comments.marker_of(from) {
            body = tandem_rich_text::remove_words(&body, marker);
        }
        let body = self.repoint_images(&link.attachments, from, &body, listed.attachments, None);
        let body = tandem_rich_text::convert(&body, self.config.side(from.other()).system.comment_format())?;
        Ok(tandem_rich_text::prepend_paragraph(&body, &attribution))
    }
}

fn plain_text(body: &RichText) -> String {
    tandem_rich_text::plain_text(body).split_whitespace().collect::<Vec<_>>().join(" ")
}
