//! Work item attachments: an upload (`POST {project}/_apis/wit/attachments?fileName=…`, the file as
//! `application/octet-stream`) linked to the work item by an `AttachedFile` relation, whose `comment`
//! attribute keeps the integration's note. Downloads go to the organization's own attachments
//! endpoint by the upload's id, never to a URL as found; removing one removes its relation.

use crate::client::{AzureDevopsClient, Payload, API_VERSION};
use crate::connector::AzureDevopsConnector;
use crate::convert::{attachment_of, ATTACHED_FILE};
use crate::wire::{self, PatchOp, PatchOperation};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use tandem_engine::ports::ConnectorError;
use tandem_http::Repeat;
use tandem_model::{Attachment, AttachmentContent, AttachmentId, Image, ImageSource, ItemId, SystemKind};
use url::Url;

const SYSTEM: SystemKind = crate::AZURE_DEVOPS;

/// `AttachmentReference`: what an upload answers.
#[derive(Debug, Deserialize)]
struct AttachmentReference {
    url: String,
}

/// What a download is called when the file's type is not known (Azure DevOps keeps none).
const UNKNOWN_TYPE: &str = "application/octet-stream";

impl AzureDevopsConnector {
    pub(crate) async fn download(
        &self,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<AttachmentContent, ConnectorError> {
        ConnectorError::unless_within(SYSTEM, attachment, attachment.size, max_bytes)?;
        let segments = ["_apis", "wit", "attachments", attachment.id.0.as_str()];
        let url = AzureDevopsClient::url(self.config().organization_url(), &segments, &[], API_VERSION);
        let bytes = self.client.get_file(url, &format!("attachment {}", attachment.id)).await?;
        ConnectorError::unless_within(SYSTEM, attachment, Some(bytes.len() as u64), max_bytes)?;
        let content_type = mime_guess::from_path(&attachment.name).first_raw().unwrap_or(UNKNOWN_TYPE).to_string();
        Ok(AttachmentContent { name: attachment.name.clone(), content_type, bytes: bytes.into() })
    }

    /// An image in a work item's HTML shows an upload of this organization by its address,
    /// `{organization}[/{project}]/_apis/wit/attachments/{id}?fileName=…` (what the editor writes for a
    /// pasted image, which is not linked to the work item as an attachment).
    pub(crate) fn image_file(&self, image: &Image, attachments: &[Attachment]) -> Option<Attachment> {
        let ImageSource::Url(address) = &image.source else {
            return None;
        };
        let (id, file_name) = upload_in(self.config().organization_url(), address)?;
        let found = attachments.iter().find(|attachment| attachment.id.0.eq_ignore_ascii_case(&id)).cloned();
        let name = file_name.unwrap_or_else(|| image.alt.clone());
        Some(found.unwrap_or_else(|| Attachment::known_by_id(AttachmentId::new(id), &name)))
    }

    /// The address the editor writes for an upload, on the organization itself.
    pub(crate) fn image_source(&self, file: &Attachment) -> ImageSource {
        let mut address = self.config().organization_url().clone();
        if let Ok(mut path) = address.path_segments_mut() {
            path.pop_if_empty().extend(["_apis", "wit", "attachments", file.id.0.as_str()]);
        }
        address.query_pairs_mut().append_pair("fileName", &file.name);
        ImageSource::Url(address.to_string())
    }

    /// Uploads the file, then links it to the work item with `note` as the relation's comment.
    pub(crate) async fn upload(
        &self,
        item: &ItemId,
        content: &AttachmentContent,
        note: &str,
    ) -> Result<Attachment, ConnectorError> {
        let url = self.project_url(&["_apis", "wit", "attachments"], &[("fileName", &content.name)], API_VERSION);
        let what = format!("attachment `{}`", content.name);
        let uploaded: AttachmentReference =
            self.client.send_unrepeatable(Method::POST, url, Payload::<()>::File(&content.bytes), &what).await?;
        let relation = json!({ "rel": ATTACHED_FILE, "url": uploaded.url, "attributes": { "comment": note } });
        let operations = [PatchOperation::add_relation(relation)];
        let written =
            self.patch(item, &operations, Repeat::Unsafe).await.map_err(|error| ConnectorError::Incomplete {
                system: SYSTEM,
                done: format!("`{}` was uploaded", content.name),
                source: Box::new(error),
            })?;
        written.relations.iter().filter(|relation| relation.url == uploaded.url).find_map(attachment_of).ok_or_else(
            || ConnectorError::InvalidResponse {
                system: SYSTEM,
                message: format!("work item {item} does not show the attachment `{}` just linked", content.name),
                source: None,
            },
        )
    }

    /// Removes the attachment's relations (every one, should it be linked twice), tested against the
    /// revision they were found in: a relation is removed by its position, which a concurrent change
    /// could shift.
    pub(crate) async fn remove(&self, item: &ItemId, attachment: &Attachment) -> Result<(), ConnectorError> {
        let work_item = match self.read_with_relations(item).await {
            Ok(work_item) => work_item,
            Err(ConnectorError::NotFound { .. }) => return Ok(()),
            Err(error) => return Err(error),
        };
        let holds =
            |relation: &wire::WorkItemRelation| attachment_of(relation).is_some_and(|found| found.id == attachment.id);
        let positions: Vec<usize> =
            work_item.relations.iter().enumerate().filter(|(_, relation)| holds(relation)).map(|(at, _)| at).collect();
        if positions.is_empty() {
            return Ok(());
        }
        // The last first, so that each position still names the relation it was read at.
        let removals = positions.iter().rev().map(|at| PatchOperation {
            op: PatchOp::Remove,
            path: format!("/relations/{at}"),
            value: None,
        });
        let operations: Vec<PatchOperation> =
            work_item.rev.map(PatchOperation::test_revision).into_iter().chain(removals).collect();
        self.patch(item, &operations, Repeat::Safe).await.map(drop)
    }

    /// `repeat`: a removal under a revision test may be sent again; adding a relation may not (a
    /// timeout after it was made, sent again, would link the file twice).
    async fn patch(
        &self,
        item: &ItemId,
        operations: &[PatchOperation],
        repeat: Repeat,
    ) -> Result<wire::WorkItem, ConnectorError> {
        let url =
            self.project_url(&["_apis", "wit", "workitems", item.as_str()], &[("$expand", "relations")], API_VERSION);
        let (payload, what) = (Payload::JsonPatch(&operations), format!("work item {item}"));
        match repeat {
            Repeat::Safe => self.client.send(Method::PATCH, url, payload, &what).await,
            Repeat::Unsafe => self.client.send_unrepeatable(Method::PATCH, url, payload, &what).await,
        }
    }
}

/// The upload id (and file name) an address of this organization shows, if it shows one.
fn upload_in(organization: &Url, address: &str) -> Option<(String, Option<String>)> {
    let address = Url::parse(address).ok()?;
    let within = address.origin() == organization.origin()
        && address.path().starts_with(organization.path().trim_end_matches('/'));
    if !within {
        return None;
    }
    let segments: Vec<&str> = address.path_segments()?.collect();
    let at = segments.windows(3).position(|window| window == ["_apis", "wit", "attachments"])?;
    let id = segments.get(at + 3).filter(|id| !id.is_empty() && segments.len() == at + 4)?;
    let file_name = address.query_pairs().find(|(name, _)| name.eq_ignore_ascii_case("fileName"));
    Some((id.to_string(), file_name.map(|(_, value)| value.into_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_shows_an_upload_only_in_this_organization() {
        let organization = Url::parse("https://dev.azure.com/fabrikam").unwrap();
        let id = "5f1c2d3e-0000-4000-8000-00000000000a";
        let shown = |address: &str| upload_in(&organization, address);
        assert_eq!(
            shown(&format!("https://dev.azure.com/fabrikam/0a1b/_apis/wit/attachments/{id}?fileName=shot.png")),
            Some((id.to_string(), Some("shot.png".to_string())))
        );
        assert_eq!(
            shown(&format!("https://dev.azure.com/fabrikam/_apis/wit/attachments/{id}")),
            Some((id.into(), None))
        );
        assert_eq!(shown(&format!("https://dev.azure.com/other/_apis/wit/attachments/{id}")), None);
        assert_eq!(shown(&format!("https://evil.example/fabrikam/_apis/wit/attachments/{id}")), None);
        assert_eq!(shown("https://dev.azure.com/fabrikam/_apis/wit/workitems/1"), None);
    }
}
