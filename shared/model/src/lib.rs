//! tandem's domain model: plain data shared by the mapping, the sync engine, the connectors and the stores.
//!
//! Nothing here performs I/O. Connectors translate their vendor's wire format into these types, the
//! mapping turns one side's values into the other side's, and the engine compares and stores them.

mod attachment;
mod item;
mod notice;
mod secret;
mod system;
mod visibility;

pub use attachment::{readable_size, Attachment, AttachmentContent, AttachmentId, Image, ImageSource};
pub use item::{
    Comment, CommentId, FieldMap, FieldValue, Item, ItemId, ItemPlace, ItemRef, ItemVersion, RelatedRecord, RichText,
    UserRef,
};
pub use notice::{ChangeKind, ChangeNotice, Delivery};
pub use secret::{Credentials, SecretString};
pub use system::{InstantPrecision, RichTextFormat, Side, SystemInfo, SystemKind};
pub use visibility::{Restriction, Visibility};

/// Timestamps everywhere are UTC instants.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
