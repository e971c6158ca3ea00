//! Images in texts (descriptions, comments) are re-hosted: an image that shows a file its system stores
//! is shown on the other side from the copy of that file, attached to the other item. The file travels
//! as an attachment does (once, under a claim, as the same kind of pair), so an image of a file that is
//! also an attachment costs nothing more; a file shown only in a text (an image pasted into Azure
//! DevOps) is a pair of its own, kept while the link lives.
//!
//! On the way back an image of a copy is recognised as that copy and points at the original again, and
//! where the target's text already shows the same file its image is kept as it is, so a round trip
//! leaves both texts unchanged. An image from anywhere else (an address on the web) is left as it is:
//! tandem never fetches a URL found in content. An image whose file could not be copied (too large, or
//! files not copied that way) becomes a line naming it rather than a broken image.

use crate::attachments::{AttachmentSync, Placement};
use crate::engine::{index, Engine};
use crate::error::SyncError;
use crate::ports::{AttachmentLink, Link};
use tandem_model::{Attachment, AttachmentId, FieldValue, Image, ImageSource, Item, RichText, Side, Timestamp};

impl Engine {
    /// Whether images from `from` are re-hosted: when its files are copied to the other side.
    pub(crate) fn rehosts_images(&self, from: Side) -> bool {
        self.config.attachments.enabled(from) && Side::BOTH.iter().all(|side| self.connector(*side).keeps_attachments())
    }

    /// The texts of `item` (on `from`) that the mapping copies to the other side.
    pub(crate) fn field_texts<'a>(&self, from: Side, item: &'a Item) -> Vec<&'a RichText> {
        let flowing = self.config.fields.iter().filter(|mapping| mapping.flows_from(from));
        let values = flowing.filter_map(|mapping| mapping.field(from)).map(|field| item.field(field));
        values
            .filter_map(|value| match value {
                FieldValue::RichText(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    /// Copies the files that images in `texts` (on `from`) show and the link has no settled pair for;
    /// returns how many it copied (or adopted). Nothing is called for texts without such images.
    pub(crate) async fn copy_image_files(
        &self,
        link: &mut Link,
        from: Side,
        texts: &[&RichText],
        attachments: &[Attachment],
    ) -> Result<usize, SyncError> {
        if !self.rehosts_images(from) {
            return Ok(0);
        }
        let mut written = 0;
        let mut held_elsewhere: Option<Timestamp> = None;
        for image in texts.iter().flat_map(|text| tandem_rich_text::images(text)) {
            let Some(file) = self.connector(from).image_file(&image, attachments) else {
                continue;
            };
            if link.attachments.iter().any(|pair| pair.id(from) == Some(&file.id) && pair.settled()) {
                continue;
            }
            let placement = match attachments.iter().any(|attachment| attachment.id == file.id) {
                true if self.is_integrations_attachment(from, &file).await? => continue,
                true => Placement::Attached,
                false => Placement::Inline,
            };
            match self.sync_new_attachment(link, from, &file, placement).await? {
                AttachmentSync::Written => written += 1,
                outcome => held_elsewhere = held_elsewhere.max(outcome.held_until()),
            }
        }
        match held_elsewhere {
            Some(until) => Err(SyncError::CreationInProgress { until }),
            None => Ok(written),
        }
    }

    /// `text`, a value from `from` on its way to the other side (in either format), with each image of
    /// a file of `from` showing that file's copy as `pairs` (the link's) know it; `attachments` are both
    /// items', and `target_now` the target's current text, whose image of the same file is kept as it is.
    pub(crate) fn repoint_images(
        &self,
        pairs: &[AttachmentLink],
        from: Side,
        text: &RichText,
        attachments: [&[Attachment]; 2],
        target_now: Option<&RichText>,
    ) -> RichText {
        let to = from.other();
        let (source, target) = (self.connector(from), self.connector(to));
        let shown_now: Vec<(AttachmentId, Image)> = target_now
            .map(tandem_rich_text::images)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|image| Some((target.image_file(&image, attachments[index(to)])?.id, image)))
            .collect();
        let rehosted = |image: &Image| {
            let Some(file) = source.image_file(image, attachments[index(from)]) else {
                // Not a file of this system: an address is shown as it is, a stored file nowhere else.
                return matches!(image.source, ImageSource::Url(_)).then(|| image.clone());
            };
            let pair = pairs.iter().find(|pair| pair.id(from) == Some(&file.id) && pair.settled())?;
            let copy = pair.id(to)?;
            if let Some((_, image)) = shown_now.iter().find(|(id, _)| id == copy) {
                return Some(image.clone());
            }
            let name = if image.alt.is_empty() { &file.name } else { &image.alt };
            let copy = match attachments[index(to)].iter().find(|attachment| &attachment.id == copy) {
                Some(attachment) => attachment.clone(),
                None => Attachment::known_by_id(copy.clone(), name),
            };
            Some(Image { source: target.image_source(&copy), alt: name.clone() })
        };
        tandem_rich_text::map_images(text, &rehosted)
    }

    /// A field value from `from` as the target should hold it: [`Engine::translate`], then its images
    /// re-hosted (see [`Engine::repoint_images`]).
    pub(crate) fn with_images_repointed(
        &self,
        pairs: &[AttachmentLink],
        from: Side,
        value: FieldValue,
        attachments: [&[Attachment]; 2],
        target_now: &FieldValue,
    ) -> FieldValue {
        let FieldValue::RichText(text) = &value else {
            return value;
        };
        let now = match target_now {
            FieldValue::RichText(now) => Some(now),
            _ => None,
        };
        FieldValue::RichText(self.repoint_images(pairs, from, text, attachments, now))
    }
}

/// Both items' attachments, side 1 first.
pub(crate) fn attachments_of(items: [&Item; 2]) -> [&[Attachment]; 2] {
    items.map(|item| item.attachments.as_slice())
}
