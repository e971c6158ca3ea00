//! Issue attachments: listed in the issue's `attachment` field (read with the issue), downloaded from
//! the site itself (`GET /attachment/content/{id}?redirect=false`: Jira answers with the file instead of
//! a redirect to its media host, so the credentials never leave the site), uploaded as multipart
//! (`POST /issue/{id}/attachments`) and deleted (`DELETE /attachment/{id}`).

use crate::connector::{encode, JiraConnector};
use crate::convert::attachment_from_wire;
use crate::wire;
use crate::JIRA;
use tandem_engine::ports::ConnectorError;
use tandem_model::{Attachment, AttachmentContent, AttachmentId, Image, ImageSource, ItemId};
use url::Url;

/// What a download is called when the file's type is not known.
const UNKNOWN_TYPE: &str = "application/octet-stream";

impl JiraConnector {
    pub(crate) async fn download(
        &self,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<AttachmentContent, ConnectorError> {
        ConnectorError::unless_within(JIRA, attachment, attachment.size, max_bytes)?;
        let path = format!("/rest/api/3/attachment/content/{}", encode(&attachment.id.0));
        let bytes = self.client.get_file(&path, &[("redirect", "false")]).await?;
        ConnectorError::unless_within(JIRA, attachment, Some(bytes.len() as u64), max_bytes)?;
        // A file known only by its id (an image's address) has no recorded type: its name tells.
        let guessed = || mime_guess::from_path(&attachment.name).first_raw().unwrap_or(UNKNOWN_TYPE).to_string();
        let content_type = attachment.content_type.clone().unwrap_or_else(guessed);
        Ok(AttachmentContent { name: attachment.name.clone(), content_type, bytes: bytes.into() })
    }

    /// Jira keeps no note with an attachment: its copies are known by their author, the service account.
    pub(crate) async fn upload(
        &self,
        item: &ItemId,
        content: &AttachmentContent,
    ) -> Result<Attachment, ConnectorError> {
        let path = format!("/rest/api/3/issue/{}/attachments", encode(item.as_str()));
        let added: Vec<wire::Attachment> = self.client.post_file(&path, content).await?;
        let added = added.first().ok_or_else(|| ConnectorError::InvalidResponse {
            system: JIRA,
            message: format!("the upload of `{}` answered no attachment", content.name),
            source: None,
        })?;
        Ok(attachment_from_wire(added, None, self.config()))
    }

    /// An image in an issue's text shows one of its attachments: a media node names the file by its
    /// media id, which Jira's REST API does not give for an attachment, so by its name (the `alt` Jira's
    /// editor writes), the latest of that name; an address names it by id (the REST content or
    /// thumbnail address, or the pages' `/secure/attachment/{id}/…`) and must be on this site.
    pub(crate) fn image_file(&self, image: &Image, attachments: &[Attachment]) -> Option<Attachment> {
        match &image.source {
            ImageSource::Stored { id, .. } => attachments
                .iter()
                .find(|attachment| &attachment.id.0 == id)
                .or_else(|| {
                    attachments.iter().rev().find(|attachment| !image.alt.is_empty() && attachment.name == image.alt)
                })
                .cloned(),
            ImageSource::Url(url) => {
                let id = attachment_id_in(self.config().base_url(), url)?;
                let found = attachments.iter().find(|attachment| attachment.id.0 == id).cloned();
                Some(found.unwrap_or_else(|| Attachment::known_by_id(AttachmentId::new(id), &image.alt)))
            }
        }
    }

    /// Jira's editor shows a file it stores as a media node; one written through the API points at the
    /// file's REST address on this site, which shows it to everyone who may see the issue.
    pub(crate) fn image_source(&self, file: &Attachment) -> ImageSource {
        ImageSource::Url(format!("{}/rest/api/3/attachment/content/{}", self.config().site(), encode(&file.id.0)))
    }

    pub(crate) async fn remove(&self, attachment: &Attachment) -> Result<(), ConnectorError> {
        match self.client.delete(&format!("/rest/api/3/attachment/{}", encode(&attachment.id.0))).await {
            Ok(()) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// The id of the attachment an address on this site shows, if it shows one.
fn attachment_id_in(site: &Url, address: &str) -> Option<String> {
    let address = Url::parse(address).ok()?;
    if address.origin() != site.origin() {
        return None;
    }
    let path = address.path().strip_prefix(site.path().trim_end_matches('/'))?;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let id = match segments.as_slice() {
        ["rest", "api", "2" | "3", "attachment", "content" | "thumbnail", id] => *id,
        ["secure", "attachment" | "thumbnail", id, ..] => *id,
        _ => return None,
    };
    (!id.is_empty() && id.bytes().all(|byte| byte.is_ascii_digit())).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_shows_an_attachment_only_on_this_site() {
        let site = Url::parse("https://acme.atlassian.net").unwrap();
        for (address, id) in [
            ("https://acme.atlassian.net/rest/api/3/attachment/content/10001", Some("10001")),
            ("https://acme.atlassian.net/rest/api/2/attachment/thumbnail/7", Some("7")),
            ("https://acme.atlassian.net/secure/attachment/10002/shot%20one.png", Some("10002")),
            ("https://evil.example/rest/api/3/attachment/content/10001", None),
            ("http://acme.atlassian.net/rest/api/3/attachment/content/10001", None),
            ("https://acme.atlassian.net/rest/api/3/attachment/content/../../x", None),
            ("https://acme.atlassian.net/browse/OPS-1", None),
        ] {
            assert_eq!(attachment_id_in(&site, address).as_deref(), id, "{address}");
        }
    }
}
