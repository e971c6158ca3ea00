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
use tandem_model::{Attachment, AttachmentContent, ItemId, SystemKind};

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
        let too_large = |size: u64| ConnectorError::TooLarge {
            system: SYSTEM,
            what: format!("attachment `{}`", attachment.name),
            size,
            limit: max_bytes,
        };
        if let Some(size) = attachment.size.filter(|size| *size > max_bytes) {
            return Err(too_large(size));
        }
        let segments = ["_apis", "wit", "attachments", attachment.id.0.as_str()];
        let url = AzureDevopsClient::url(self.config().organization_url(), &segments, &[], API_VERSION);
        let bytes = self.client.get_file(url, &format!("attachment {}", attachment.id)).await?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large(bytes.len() as u64));
        }
        let content_type = mime_guess::from_path(&attachment.name).first_raw().unwrap_or(UNKNOWN_TYPE).to_string();
        Ok(AttachmentContent { name: attachment.name.clone(), content_type, bytes })
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
        let written = self.patch(item, &operations).await.map_err(|error| ConnectorError::Incomplete {
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

    /// Removes the attachment's relation, tested against the revision it was found in (a relation is
    /// removed by its position, which a concurrent change could shift).
    pub(crate) async fn remove(&self, item: &ItemId, attachment: &Attachment) -> Result<(), ConnectorError> {
        let work_item = match self.read_with_relations(item).await {
            Ok(work_item) => work_item,
            Err(ConnectorError::NotFound { .. }) => return Ok(()),
            Err(error) => return Err(error),
        };
        let Some(position) = work_item
            .relations
            .iter()
            .position(|relation| attachment_of(relation).is_some_and(|found| found.id == attachment.id))
        else {
            return Ok(());
        };
        let remove = PatchOperation { op: PatchOp::Remove, path: format!("/relations/{position}"), value: None };
        let operations: Vec<PatchOperation> =
            work_item.rev.map(PatchOperation::test_revision).into_iter().chain([remove]).collect();
        self.patch(item, &operations).await.map(drop)
    }

    async fn patch(&self, item: &ItemId, operations: &[PatchOperation]) -> Result<wire::WorkItem, ConnectorError> {
        let url =
            self.project_url(&["_apis", "wit", "workitems", item.as_str()], &[("$expand", "relations")], API_VERSION);
        self.client.send(Method::PATCH, url, Payload::JsonPatch(&operations), &format!("work item {item}")).await
    }
}
