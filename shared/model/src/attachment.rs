//! Files attached to work items: what a read of an item says about each, and a file's content on its
//! way from one system to the other.

use crate::item::UserRef;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A system's id of an attachment (Jira's attachment id, the GUID of an Azure DevOps upload).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttachmentId(pub String);

impl AttachmentId {
    pub fn new(id: impl Into<String>) -> Self {
        AttachmentId(id.into())
    }
}

impl fmt::Display for AttachmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file attached to an item, as the item's read shows it (the content is fetched on its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    /// The file name people see.
    pub name: String,
    /// Bytes, where the system says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Who attached it, where the system says (Jira does; Azure DevOps does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<UserRef>,
    /// The note kept with the attachment, where the system keeps one (an Azure DevOps relation's
    /// comment): the integration notes its copies there, so a copy is known where no author is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where a person opens it in the system's own pages, if the system gives an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Attachment {
    /// A file known only by its id (and the name it is shown under, if any): what an image in a text,
    /// or a copy a read did not show, tells of it; enough to fetch or remove it.
    pub fn known_by_id(id: AttachmentId, name: &str) -> Self {
        let name = if name.trim().is_empty() { id.to_string() } else { name.to_string() };
        Attachment { id, name, size: None, content_type: None, author: None, note: None, url: None }
    }
}

/// An image shown in rich text, as the text refers to it: what the sync re-hosts, so that the copy's
/// text shows the image from the copy's own system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Image {
    pub source: ImageSource,
    /// The text shown in its place (Jira's editor puts the file's name there).
    pub alt: String,
}

/// Where an image's content is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageSource {
    /// An address (`<img src>`, an external media node).
    Url(String),
    /// A file the system stores, known by its id in a collection (Atlassian media), which only that
    /// system can resolve.
    Stored { id: String, collection: String },
}

/// A file's content, downloaded from one system to be attached in the other. The bytes are shared,
/// not copied, by every attempt to send them: a file of tens of megabytes is held once.
#[derive(Clone, PartialEq)]
pub struct AttachmentContent {
    pub name: String,
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

impl fmt::Debug for AttachmentContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentContent")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A size in bytes as people read it ("12.3 MB", "512 bytes").
pub fn readable_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(readable_size(512), "512 bytes");
        assert_eq!(readable_size(10 * 1024 * 1024), "10.0 MB");
        assert_eq!(readable_size(1536), "1.5 KB");
    }

    #[test]
    fn content_is_never_printed() {
        let content = AttachmentContent {
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            bytes: b"secret".as_slice().into(),
        };
        assert!(!format!("{content:?}").contains("secret"));
    }
}
