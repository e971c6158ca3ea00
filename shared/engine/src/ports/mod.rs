//! The small capabilities the engine needs from the outside world. Adapters implement them in their own
//! crates (connectors, stores, secret sources); the engine never imports an AWS or HTTP crate.

mod clock;
mod connector;
mod secrets;
mod store;

pub use clock::{Clock, SystemClock};
pub use connector::{
    AccessCheck, AccessNeeds, ChangedPage, Connector, ConnectorError, CopyOrigin, ErrorClass, LinkedItem, PageToken,
    WebhookError, WebhookReceiver, WebhookReply, WebhookRequest,
};
pub use secrets::{SecretError, SecretSource};
pub use store::{
    is_part_claim, part_claim_key, Announcer, AttachmentLink, ClaimOutcome, ClaimRequest, CommentLink, ConflictRecord,
    EarlierAttempt, FailureRecord, FieldSnapshot, Link, LinkStore, News, Noted, PendingWrite, SeenVersions, SendUpdate,
    SendWindow, SendingFile, SentRecord, StoreError, SyncLog, WatermarkStore,
};
