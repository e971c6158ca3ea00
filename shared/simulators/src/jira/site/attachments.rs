//! Attachments on the site's issues: added by upload (`Create attachments`), listed in the issue's
//! `attachment` field, read back as metadata and content, deleted by their author (`Delete own
//! attachments`) or anyone with `Delete all attachments`. Each addition or removal is an issue change whose
//! changelog names the file (field `Attachment`), as Jira's webhooks show it.

use super::{ApiError, ChangeItem, IssueRecord, Site, SiteEvent, Timestamp};
use axum::http::StatusCode;
use std::sync::Arc;

/// Jira Cloud's default attachment size limit: 1 GB a file (an administrator may raise it to 2 GB).
/// (The simulators hold what they are sent in memory: their recorder refuses bodies over 140 MB first.)
pub const MAX_ATTACHMENT_BYTES: usize = 1024 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentRecord {
    pub id: u64,
    pub filename: String,
    pub mime_type: String,
    pub author: String,
    pub created: Timestamp,
    pub content: Arc<Vec<u8>>,
}

/// One file of an upload.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("The attachment with id '{id}' does not exist"))
}

impl Site {
    /// Adds `uploads` to the issue (all or none), returning the new attachments' ids.
    pub fn add_attachments(
        &mut self,
        actor: &str,
        id_or_key: &str,
        uploads: Vec<Upload>,
    ) -> Result<(Vec<u64>, Option<SiteEvent>), ApiError> {
        let id = self.issue_id(id_or_key)?;
        self.require(actor, "CREATE_ATTACHMENTS")?;
        if uploads.is_empty() {
            return Err(ApiError::bad_request("No file was attached: send the files as multipart parts named `file`."));
        }
        if let Some(large) = uploads.iter().find(|upload| upload.content.len() > MAX_ATTACHMENT_BYTES) {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The file '{}' is larger than the attachment size limit of 1 GB.", large.filename),
            ));
        }
        let mut staged = self.issues.get(&id).cloned().ok_or_else(ApiError::issue_not_found)?;
        let now = self.tick();
        let mut added = Vec::new();
        let mut items = Vec::new();
        for upload in uploads {
            let attachment = AttachmentRecord {
                id: self.next_attachment_id,
                filename: upload.filename,
                mime_type: upload.mime_type,
                author: actor.to_string(),
                created: now,
                content: Arc::new(upload.content),
            };
            self.next_attachment_id += 1;
            items.push(ChangeItem {
                field: "Attachment".into(),
                from: None,
                from_string: None,
                to: Some(attachment.id.to_string()),
                to_string: Some(attachment.filename.clone()),
            });
            added.push(attachment.id);
            staged.attachments.push(attachment);
        }
        Ok((added, self.commit(actor, staged, items, false)))
    }

    /// The attachment with `id` and the issue it is on, if the viewer may browse it.
    pub fn attachment(&self, id: &str) -> Result<(&IssueRecord, &AttachmentRecord), ApiError> {
        self.issues
            .values()
            .find_map(|issue| {
                issue.attachments.iter().find(|attachment| attachment.id.to_string() == id).map(|found| (issue, found))
            })
            .ok_or_else(|| not_found(id))
    }

    pub fn delete_attachment(&mut self, actor: &str, id: &str) -> Result<Option<SiteEvent>, ApiError> {
        let (issue, attachment) = self.attachment(id)?;
        let own = attachment.author == actor;
        self.require(actor, if own { "DELETE_OWN_ATTACHMENTS" } else { "DELETE_ALL_ATTACHMENTS" })?;
        let mut staged = issue.clone();
        let position =
            staged.attachments.iter().position(|record| record.id.to_string() == id).ok_or_else(|| not_found(id))?;
        let removed = staged.attachments.remove(position);
        let item = ChangeItem {
            field: "Attachment".into(),
            from: Some(removed.id.to_string()),
            from_string: Some(removed.filename),
            to: None,
            to_string: None,
        };
        Ok(self.commit(actor, staged, vec![item], false))
    }
}
