//! "Are these two items in sync?", asked of a link from outside the sync path: by operators checking an
//! integration, and by the convergence harness counting lost updates and duplicate comments.
//!
//! An audit only reads. A field agrees when the value on one side, translated as a sync would write
//! it, is the value on the other side; several-to-one value maps make that hold in one direction only,
//! so either direction the mapping allows is enough.

use crate::compare::same_value;
use crate::engine::{index, Engine};
use crate::error::SyncError;
use crate::images::attachments_of;
use crate::ports::{ConnectorError, Link};
use serde::Serialize;
use tandem_model::{Comment, Item, RichText, Side};

/// What an audit of one link found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkAudit {
    /// Mapped fields whose two sides disagree, with both values.
    pub differing_fields: Vec<FieldDifference>,
    /// Comments (not the integration's own) that have no copy on the other side.
    pub comments_without_copy: usize,
    /// Comments the integration posted that copy no comment, or copy one already copied.
    pub surplus_comment_copies: usize,
    /// Files attached by people (not recorded as too large to copy) with no copy on the other side.
    pub attachments_without_copy: usize,
    /// Files the integration attached beyond one per original still attached.
    pub surplus_attachment_copies: usize,
    /// Images in comment copies that are not shown from a file of the copy's own system although their
    /// file was copied (a broken image, or a line naming it).
    pub images_not_rehosted: usize,
    /// The integration's comments the link does not know ("side 2, item 7, comment 12"): where to look
    /// first for a surplus copy.
    pub unlinked_copies: Vec<String>,
    /// An item of the link is gone (deleted or no longer visible).
    pub missing_item: bool,
}

impl LinkAudit {
    pub fn in_sync(&self) -> bool {
        self.differing_fields.is_empty()
            && self.comments_without_copy == 0
            && self.surplus_comment_copies == 0
            && self.attachments_without_copy == 0
            && self.surplus_attachment_copies == 0
            && self.images_not_rehosted == 0
            && !self.missing_item
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDifference {
    pub field: String,
    pub side1: String,
    pub side2: String,
}

impl Engine {
    /// Reads both items of `link` (and their comments) and reports where they disagree.
    pub async fn audit_link(&self, link: &Link) -> Result<LinkAudit, SyncError> {
        let mut audit = LinkAudit::default();
        let mut items = Vec::with_capacity(2);
        for side in Side::BOTH {
            match self.connector(side).get_item(&link.item(side).id).await {
                Ok(item) => items.push(item),
                Err(ConnectorError::NotFound { .. }) => {
                    audit.missing_item = true;
                    return Ok(audit);
                }
                Err(error) => return Err(SyncError::Connector { side, source: error }),
            }
        }
        let items: [&Item; 2] = [&items[0], &items[1]];
        for mapping in &self.config.fields {
            let (Some(field1), Some(field2)) = (mapping.field(Side::One), mapping.field(Side::Two)) else {
                continue;
            };
            let values = [items[0].field(field1), items[1].field(field2)];
            let mut agree = false;
            for from in Side::BOTH {
                if agree || !mapping.flows_from(from) {
                    continue;
                }
                let written = self.translate(mapping, from, values[index(from)]).await?;
                let to_now = values[index(from.other())];
                let written =
                    self.with_images_repointed(&link.attachments, from, written, attachments_of(items), to_now);
                agree = same_value(&written, values[index(from.other())]);
            }
            if !agree {
                audit.differing_fields.push(FieldDifference {
                    field: mapping.name.clone(),
                    side1: format!("{:?}", values[0]),
                    side2: format!("{:?}", values[1]),
                });
            }
        }
        self.audit_comments(link, items, &mut audit).await?;
        self.audit_attachments(link, items, &mut audit).await?;
        Ok(audit)
    }

    /// Attachments come with the items read: no call of its own.
    async fn audit_attachments(&self, link: &Link, items: [&Item; 2], audit: &mut LinkAudit) -> Result<(), SyncError> {
        let settings = self.config.attachments;
        if !Side::BOTH.iter().all(|side| self.connector(*side).keeps_attachments()) {
            return Ok(());
        }
        for from in Side::BOTH.into_iter().filter(|side| settings.enabled(*side)) {
            let (on_from, on_to) = (&items[index(from)].attachments, &items[index(from.other())].attachments);
            let mut copies_expected = 0;
            for original in on_from {
                let pair = link.attachments.iter().find(|pair| pair.id(from) == Some(&original.id));
                if self.is_integrations_attachment(from, original).await?
                    || pair.is_some_and(|pair| pair.copy.is_none())
                {
                    continue;
                }
                copies_expected += 1;
                let copy = pair.and_then(|pair| pair.copy.as_ref());
                if !copy.is_some_and(|copy| on_to.iter().any(|found| &found.id == copy)) {
                    audit.attachments_without_copy += 1;
                }
            }
            let mut copies_found: usize = 0;
            for found in on_to {
                if !self.is_integrations_attachment(from.other(), found).await? {
                    continue;
                }
                copies_found += 1;
                let pair = link.attachments.iter().find(|pair| pair.id(from.other()) == Some(&found.id));
                // The copy of a file only a text shows: expected while the link lives.
                if pair.is_some_and(|pair| pair.inline && pair.origin == from) {
                    copies_expected += 1;
                    continue;
                }
                let original_there =
                    pair.is_some_and(|pair| on_from.iter().any(|original| original.id == pair.original));
                if !original_there {
                    let (item, why) = (
                        link.item(from.other()).label(),
                        if pair.is_some() { "its original is gone" } else { "no pair" },
                    );
                    audit.unlinked_copies.push(format!(
                        "side {}, item {item}, attachment {} {:?}: {why}",
                        from.other(),
                        found.id,
                        found.name
                    ));
                }
            }
            audit.surplus_attachment_copies += copies_found.saturating_sub(copies_expected);
        }
        Ok(())
    }

    /// How many images of `comment` whose file was copied its `copy` does not show from a file of its
    /// own system.
    fn images_missing(&self, link: &Link, from: Side, comment: &Comment, copy: &Comment, items: [&Item; 2]) -> usize {
        let to = from.other();
        let shown_files = |side: Side, body: &RichText| -> usize {
            let connector = self.connector(side);
            let files = tandem_rich_text::images(body)
                .into_iter()
                .filter_map(|image| connector.image_file(&image, &items[index(side)].attachments));
            files
                .filter(|file| {
                    link.attachments.iter().any(|pair| pair.id(side) == Some(&file.id) && pair.copy.is_some())
                })
                .count()
        };
        shown_files(from, &comment.body).saturating_sub(shown_files(to, &copy.body))
    }

    async fn audit_comments(&self, link: &Link, items: [&Item; 2], audit: &mut LinkAudit) -> Result<(), SyncError> {
        let settings = &self.config.comments;
        if !settings.enabled(Side::One) && !settings.enabled(Side::Two) {
            return Ok(());
        }
        let mut comments: [Vec<Comment>; 2] = [Vec::new(), Vec::new()];
        for side in Side::BOTH {
            comments[index(side)] = self
                .connector(side)
                .list_comments(&items[index(side)].item.id)
                .await
                .map_err(SyncError::connector(side))?;
        }
        for from in Side::BOTH {
            let to = from.other();
            let mut copies_expected = 0;
            for comment in &comments[index(from)] {
                // The integration's own comments, and restricted ones, have no copy by design (a copy
                // of a restricted one is counted as surplus below).
                let paired = link.comments.iter().any(|pair| pair.id(from) == &comment.id);
                let chosen = paired || settings.selects(from, &tandem_rich_text::plain_text(&comment.body));
                if self.is_service_account(from, comment.author.as_ref()).await?
                    || !settings.enabled(from)
                    || !chosen
                    || self.comment_restriction(from, comment).is_some()
                {
                    continue;
                }
                copies_expected += 1;
                let copy = link
                    .comments
                    .iter()
                    .find(|pair| pair.id(from) == &comment.id)
                    .and_then(|pair| comments[index(to)].iter().find(|candidate| &candidate.id == pair.id(to)));
                match copy {
                    Some(copy) => audit.images_not_rehosted += self.images_missing(link, from, comment, copy, items),
                    None => audit.comments_without_copy += 1,
                }
            }
            let mut copies_found: usize = 0;
            for comment in &comments[index(to)] {
                if self.is_service_account(to, comment.author.as_ref()).await? {
                    copies_found += 1;
                    if !link.comments.iter().any(|pair| pair.id(to) == &comment.id) {
                        let item = link.item(to).label();
                        let text = tandem_rich_text::plain_text(&comment.body);
                        let text: String =
                            text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(100).collect();
                        audit.unlinked_copies.push(format!("side {to}, item {item}, comment {}: {text}", comment.id));
                    }
                }
            }
            audit.surplus_comment_copies += copies_found.saturating_sub(copies_expected);
        }
        Ok(())
    }
}
