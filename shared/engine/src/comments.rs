//! Comments both ways: each comment is copied once, with an attribution line because the copy's author
//! is the service account, and later edits of the original are carried to the copy.
//!
//! "Once" holds across workers and crashes the same way item creation does: a worker claims the copying
//! of a comment before posting it (another worker holding the claim means "not now"), and a worker that
//! takes over a claim whose holder never linked its copy first looks on the target for a copy the
//! integration posted with exactly the text it would post, and adopts it instead of posting again.

use crate::compare::fingerprint;
use crate::crash::Step;
use crate::engine::{index, Engine};
use crate::error::SyncError;
use crate::ports::{ClaimOutcome, CommentLink, Link};
use tandem_model::{Comment, CommentId, Item, ItemId, RichText, RichTextFormat, Side, Timestamp};
use tracing::{info, warn};

/// What to do about a comment the link does not know yet.
enum NewComment {
    /// Post a copy; `look_for_earlier` when an earlier attempt may have posted one already. `fresh` is
    /// the link as read after the claim (what "unlinked" and the next link update must go by).
    Copy { look_for_earlier: bool, fresh: Option<Box<Link>> },
    /// Another worker is copying it now.
    HeldElsewhere { until: Timestamp },
    /// Someone copied it meanwhile: the link (re-read) knows it.
    Known(Box<Link>),
}

impl Engine {
    /// Copies new comments and edits in the directions the configuration allows; returns how many
    /// comments it wrote. Skipped entirely (no API calls) when comments are off both ways.
    pub(crate) async fn sync_comments(&self, mut link: Link, items: [&Item; 2]) -> Result<usize, SyncError> {
        let settings = &self.config.comments;
        if !settings.enabled(Side::One) && !settings.enabled(Side::Two) {
            return Ok(0);
        }
        let mut comments: [Vec<Comment>; 2] = [Vec::new(), Vec::new()];
        for side in Side::BOTH {
            comments[index(side)] = self
                .connector(side)
                .list_comments(&items[index(side)].item.id)
                .await
                .map_err(SyncError::connector(side))?;
        }
        let mut written = 0;
        let mut held_elsewhere: Option<Timestamp> = None;
        for from in Side::BOTH {
            if !settings.enabled(from) {
                continue;
            }
            let to = from.other();
            for comment in &comments[index(from)] {
                // The integration's own comments are copies (or its own notes): never copied back, and
                // their edits are not carried over either, so an original is never overwritten by its copy.
                if self.is_service_account(from, comment.author.as_ref()).await? {
                    continue;
                }
                let known = link.comments.iter().position(|pair| pair.id(from) == &comment.id);
                let body_fingerprint = fingerprint(&comment.body);
                match known {
                    None => {
                        let look_for_earlier = match self.claim_comment(&link, from, &comment.id).await? {
                            NewComment::Copy { look_for_earlier, fresh } => {
                                if let Some(fresh) = fresh {
                                    link = *fresh;
                                }
                                look_for_earlier
                            }
                            NewComment::HeldElsewhere { until } => {
                                held_elsewhere = held_elsewhere.max(Some(until));
                                continue;
                            }
                            NewComment::Known(fresh) => {
                                link = *fresh;
                                continue;
                            }
                        };
                        let body = self.comment_copy_body(from, comment).await?;
                        let earlier = match look_for_earlier {
                            // Listed again: the earlier attempt may have posted after this sync's list.
                            true => {
                                let target_comments = self
                                    .connector(to)
                                    .list_comments(&link.item(to).id)
                                    .await
                                    .map_err(SyncError::connector(to))?;
                                self.earlier_copy(&link, to, &target_comments, &body).await?
                            }
                            false => None,
                        };
                        // Building the body may have outlasted the lease: renew it, or give way.
                        if earlier.is_none() {
                            if let Some(until) = self.renew_comment_claim(&link, from, &comment.id).await? {
                                held_elsewhere = held_elsewhere.max(Some(until));
                                continue;
                            }
                        }
                        let copy = match earlier {
                            Some(copy) => {
                                info!(from = %from, item = %link.item(to).label(), comment = %comment.id, copy = %copy.id, "adopted a comment copy an earlier attempt posted");
                                copy
                            }
                            None => {
                                let copy = self
                                    .connector(to)
                                    .add_comment(&link.item(to).id, &body)
                                    .await
                                    .map_err(SyncError::connector(to))?;
                                self.crash_point(Step::CommentCopied);
                                copy
                            }
                        };
                        let copy_fingerprint = fingerprint(&copy.body);
                        let copy_id = copy.id.clone();
                        let (side1, side2, side1_fingerprint, side2_fingerprint) = match from {
                            Side::One => (comment.id.clone(), copy.id, body_fingerprint, copy_fingerprint),
                            Side::Two => (copy.id, comment.id.clone(), copy_fingerprint, body_fingerprint),
                        };
                        link.comments.push(CommentLink { side1, side2, side1_fingerprint, side2_fingerprint });
                        // Stored after every copy, so a crash between two comments never posts one twice.
                        link = self.stores.links.update_link(&link).await?;
                        self.release_comment_claim(&link, from, &comment.id).await;
                        written += 1;
                        info!(from = %from, item = %link.item(to).label(), comment = %comment.id, copy = %copy_id, "copied comment");
                    }
                    Some(position) if link.comments[position].fingerprint(from) != body_fingerprint => {
                        let copy_id = link.comments[position].id(to).clone();
                        let body = self.comment_copy_body(from, comment).await?;
                        let copy = self
                            .connector(to)
                            .update_comment(&link.item(to).id, &copy_id, &body)
                            .await
                            .map_err(SyncError::connector(to))?;
                        let pair = &mut link.comments[position];
                        pair.set_fingerprint(from, body_fingerprint);
                        pair.set_fingerprint(to, fingerprint(&copy.body));
                        link = self.stores.links.update_link(&link).await?;
                        written += 1;
                        info!(from = %from, item = %link.item(to).label(), "carried a comment edit");
                    }
                    Some(_) => {}
                }
            }
        }
        match held_elsewhere {
            // The change is recorded for a retry once that worker's lease ends, in case it dies.
            Some(until) => Err(SyncError::CreationInProgress { until }),
            None => Ok(written),
        }
    }

    /// Claims the copying of a new comment, then re-reads the link: a worker that copied the comment
    /// between this worker's read of the link and its claim has linked it by now.
    async fn claim_comment(&self, link: &Link, from: Side, comment: &CommentId) -> Result<NewComment, SyncError> {
        let integration = &self.config.name;
        let look_for_earlier = match self.claim(from, &comment_claim(link, from, comment)).await? {
            ClaimOutcome::Claimed { earlier_attempt } => earlier_attempt.is_some(),
            ClaimOutcome::HeldElsewhere { until } => return Ok(NewComment::HeldElsewhere { until }),
            // Claims of comments are never linked themselves; treat it as a fresh claim.
            ClaimOutcome::Linked(_) => false,
        };
        let fresh = self.stores.links.get_link(integration, from, &link.item(from).id).await?;
        match fresh {
            Some(fresh) if fresh.comments.iter().any(|pair| pair.id(from) == comment) => {
                self.release_comment_claim(&fresh, from, comment).await;
                Ok(NewComment::Known(Box::new(fresh)))
            }
            fresh => Ok(NewComment::Copy { look_for_earlier, fresh: fresh.map(Box::new) }),
        }
    }

    /// A copy an earlier attempt posted and never linked: on the target, by the service account, not
    /// linked to any comment, and with exactly the text this attempt would post (attribution line
    /// included, so a copy of another author's comment with the same words is not taken).
    async fn earlier_copy(
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

    /// Renews this worker's claim on copying a comment; the lease end of whoever holds it instead.
    async fn renew_comment_claim(
        &self,
        link: &Link,
        from: Side,
        comment: &CommentId,
    ) -> Result<Option<Timestamp>, SyncError> {
        Ok(match self.claim(from, &comment_claim(link, from, comment)).await? {
            ClaimOutcome::HeldElsewhere { until } => Some(until),
            ClaimOutcome::Claimed { .. } | ClaimOutcome::Linked(_) => None,
        })
    }

    async fn release_comment_claim(&self, link: &Link, from: Side, comment: &CommentId) {
        let claim = comment_claim(link, from, comment);
        if let Err(error) = self.stores.links.release_claim(&self.config.name, from, &claim, &self.worker).await {
            warn!(%error, "could not release a comment claim; it expires with its lease");
        }
    }

    /// The copy's body: "‹author› commented in ‹system›:" then the original, in the target's format.
    /// The same comment always gives the same body, which is what lets a retry recognise its copy.
    async fn comment_copy_body(&self, from: Side, comment: &Comment) -> Result<RichText, SyncError> {
        let author = comment
            .author
            .as_ref()
            .and_then(|user| user.display_name.clone().or_else(|| user.email.clone()))
            .unwrap_or_else(|| "Someone".to_string());
        let attribution = self.config.comments.attribution(&author, self.config.side(from).system);
        let body = self.repoint_mentions(from, &comment.body).await?;
        let body = match (body, self.config.side(from.other()).system.rich_text_format()) {
            (RichText::Adf(document), RichTextFormat::Html) => {
                RichText::Html(tandem_rich_text::adf_to_html(&document)?)
            }
            (RichText::Html(html), RichTextFormat::Adf) => RichText::Adf(tandem_rich_text::html_to_adf(&html)?),
            (body, _) => body,
        };
        Ok(match body {
            RichText::Adf(document) => RichText::Adf(tandem_rich_text::prepend_paragraph_adf(&document, &attribution)),
            RichText::Html(html) => RichText::Html(tandem_rich_text::prepend_paragraph_html(&html, &attribution)),
        })
    }
}

/// The claim key of copying one comment: in the claims of the item it was made on, under a name no
/// item id can have.
fn comment_claim(link: &Link, from: Side, comment: &CommentId) -> ItemId {
    ItemId::new(format!("{}#comment:{}", link.item(from).id, comment))
}

fn plain_text(body: &RichText) -> String {
    let text = match body {
        RichText::Adf(document) => tandem_rich_text::adf_to_plain_text(document),
        RichText::Html(html) => tandem_rich_text::html_to_plain_text(html),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
