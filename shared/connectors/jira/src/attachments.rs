//! Issue attachments: listed in the issue's `attachment` field (read with the issue), downloaded from
//! the site itself (`GET /attachment/content/{id}?redirect=false`: Jira answers with the file instead of
//! a redirect to its media host, so the credentials never leave the site), uploaded as multipart
//! (`POST /issue/{id}/attachments`) and deleted (`DELETE /attachment/{id}`).

use crate::connector::{encode, JiraConnector};
use crate::convert::attachment_from_wire;
use crate::wire;
use crate::JIRA;
use tandem_engine::ports::ConnectorError;
use tandem_model::{Attachment, AttachmentContent, ItemId};

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
        let content_type = attachment.content_type.clone().unwrap_or_else(|| UNKNOWN_TYPE.to_string());
        Ok(AttachmentContent { name: attachment.name.clone(), content_type, bytes })
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

    pub(crate) async fn remove(&self, attachment: &Attachment) -> Result<(), ConnectorError> {
        match self.client.delete(&format!("/rest/api/3/attachment/{}", encode(&attachment.id.0))).await {
            Ok(()) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}
