//! Comments both ways: each comment is copied once, with an attribution line because the copy's author
//! is the service account, and later edits of the original are carried to the copy.

use crate::compare::fingerprint;
use crate::engine::{index, Engine};
use crate::error::SyncError;
use crate::ports::{CommentLink, Link};
use tandem_model::{Comment, Item, RichText, RichTextFormat, Side};
use tracing::info;

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
        for from in Side::BOTH {
            if !settings.enabled(from) {
                continue;
            }
            let to = from.other();
            for comment in &comments[index(from)] {
                // The integration's own comments are copies (or its own notes): never copied back, and
                // their edits are not carried over either, so an original is never overwritten by its copy.
                if self.is_service_account(from, comment.author.as_ref()) {
                    continue;
                }
                let known = link.comments.iter().position(|pair| pair.id(from) == &comment.id);
                let body_fingerprint = fingerprint(&comment.body);
                match known {
                    None => {
                        let body = self.comment_copy_body(from, comment).await?;
                        let copy = self
                            .connector(to)
                            .add_comment(&link.item(to).id, &body)
                            .await
                            .map_err(SyncError::connector(to))?;
                        let copy_fingerprint = fingerprint(&copy.body);
                        let (side1, side2, side1_fingerprint, side2_fingerprint) = match from {
                            Side::One => (comment.id.clone(), copy.id, body_fingerprint, copy_fingerprint),
                            Side::Two => (copy.id, comment.id.clone(), copy_fingerprint, body_fingerprint),
                        };
                        link.comments.push(CommentLink { side1, side2, side1_fingerprint, side2_fingerprint });
                        // Stored after every copy, so a crash between two comments never posts one twice.
                        link = self.stores.links.update_link(&link).await?;
                        written += 1;
                        info!(from = %from, item = %link.item(to).label(), "copied comment");
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
        Ok(written)
    }

    /// The copy's body: "‹author› commented in ‹system›:" then the original, in the target's format.
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
