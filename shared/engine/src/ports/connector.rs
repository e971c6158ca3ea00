use async_trait::async_trait;
use std::time::Duration;
use tandem_model::{
    Attachment, AttachmentContent, Comment, CommentId, Delivery, FieldMap, Image, ImageSource, Item, ItemId, ItemRef,
    ItemVersion, RelatedRecord, RichText, Side, SystemKind, Timestamp, UserRef,
};

/// Whether retrying the same call can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Network failure, timeout, 5xx, 429: try again (after `retry_after` when the system said so).
    Retryable,
    /// Bad request, missing permission, no workflow transition, unknown item: retrying cannot help.
    Permanent,
}

/// A failure talking to a work-item system. Every variant says whether it is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{system} did not answer: {message}")]
    Unreachable {
        system: SystemKind,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("{system} is rate limiting (HTTP {status}); retry after {retry_after:?}")]
    RateLimited { system: SystemKind, status: u16, retry_after: Option<Duration> },
    #[error("{system} answered HTTP {status} to {method} {path}: {message}")]
    Http {
        system: SystemKind,
        status: u16,
        method: String,
        path: String,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{system} rejected the service account's credentials (HTTP {status})")]
    Unauthorized { system: SystemKind, status: u16 },
    #[error("{system} item {item} does not exist or is not visible to the service account")]
    NotFound { system: SystemKind, item: String },
    #[error("{system} item {item}: no workflow transition leads from `{from}` to `{to}`")]
    NoTransition { system: SystemKind, item: String, from: String, to: String },
    #[error("{system} sent a response tandem cannot read: {message}")]
    InvalidResponse {
        system: SystemKind,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("{system}: {message}")]
    Invalid { system: SystemKind, message: String },
    /// One field's value the system does not take (longer than the field holds, not one it accepts),
    /// and nothing else: nothing was made, and the other fields can be written without it. `field` is
    /// the field's name as it was written.
    #[error("{system}: {message}")]
    FieldRefused { system: SystemKind, field: String, message: String },
    /// A file is larger than what may be copied: the integration's limit, or the target's own.
    #[error("{system}: {what} is {size} bytes, more than the {limit} allowed")]
    TooLarge { system: SystemKind, what: String, size: u64, limit: u64 },
    /// The system does not keep what was asked of it (attachments on a system whose files are not
    /// synced): nothing was sent.
    #[error("{system} does not support {what}")]
    Unsupported { system: SystemKind, what: String },
    /// A conditional write found the item changed since it was read (Azure DevOps' `test` of the
    /// revision): nothing was written. Read the item again and merge anew.
    #[error("{system} item {item} changed since it was read; nothing was written")]
    Changed { system: SystemKind, item: String },
    /// The system's shared allowance of API requests (a Salesforce org's daily requests) is used up to
    /// the share the integration may take: tandem holds back so the org's other clients keep theirs,
    /// and resumes by itself as the allowance frees up.
    #[error("{system}: {used} of the {allocation} API requests allowed are used, past the integration's share ({share}%); holding back until they free up")]
    ShareUsedUp { system: SystemKind, used: u64, allocation: u64, share: u8 },
    /// The call stopped retrying because the work's deadline would have cut the next wait (see
    /// [`crate::deadline`]): the last answer is the source. Nothing is wrong with the item; the next run
    /// may finish it.
    #[error("{system}: stopped before the deadline: {source}")]
    CutShort {
        system: SystemKind,
        #[source]
        source: Box<ConnectorError>,
    },
    /// The request was made, and a call that follows it failed (a create's transition to its status,
    /// the read of what it made): what the request made exists.
    #[error("{system}: {done}, then {source}")]
    Incomplete {
        system: SystemKind,
        done: String,
        #[source]
        source: Box<ConnectorError>,
    },
}

impl ConnectorError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::Incomplete { source, .. } | ConnectorError::CutShort { source, .. } => source.class(),
            ConnectorError::Unreachable { .. }
            | ConnectorError::RateLimited { .. }
            | ConnectorError::ShareUsedUp { .. }
            | ConnectorError::Changed { .. } => ErrorClass::Retryable,
            ConnectorError::Http { status, .. } if *status >= 500 || *status == 429 || *status == 408 => {
                ErrorClass::Retryable
            }
            _ => ErrorClass::Permanent,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// The service account's credentials were refused (401: expired, revoked, rotated): every call fails
    /// alike until they are renewed, so this says nothing about the item being synced. A 403 is a
    /// missing permission, which may concern one item only.
    pub fn is_credential_problem(&self) -> bool {
        match self {
            ConnectorError::Unauthorized { status: 401, .. } => true,
            ConnectorError::CutShort { source, .. } => source.is_credential_problem(),
            _ => false,
        }
    }

    /// The system, or the integration's share of it, takes no more requests for now (429, a used-up
    /// allowance): not a failure of the item, and every call fails alike until it frees up.
    pub fn is_rate_limited(&self) -> bool {
        match self {
            ConnectorError::RateLimited { .. } | ConnectorError::ShareUsedUp { .. } => true,
            ConnectorError::CutShort { source, .. } | ConnectorError::Incomplete { source, .. } => {
                source.is_rate_limited()
            }
            _ => false,
        }
    }
    /// `TooLarge` when `size` (of `attachment`, as the system says or as downloaded) is over `limit`.
    pub fn unless_within(
        system: SystemKind,
        attachment: &Attachment,
        size: Option<u64>,
        limit: u64,
    ) -> Result<(), Self> {
        match size.filter(|size| *size > limit) {
            Some(size) => {
                Err(ConnectorError::TooLarge { system, what: format!("attachment `{}`", attachment.name), size, limit })
            }
            None => Ok(()),
        }
    }

    /// Marks the answer of a call that stopped retrying at the work's deadline.
    pub fn cut_short(self, system: SystemKind) -> ConnectorError {
        ConnectorError::CutShort { system, source: Box::new(self) }
    }

    /// The wait the system asked for (Retry-After), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectorError::RateLimited { retry_after, .. } | ConnectorError::Http { retry_after, .. } => *retry_after,
            ConnectorError::Incomplete { source, .. } | ConnectorError::CutShort { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// Whether the system said it made nothing of the request: it refused it (4xx other than a request
    /// timeout), was not accepting requests (429, 503), or it was never sent (invalid before sending).
    /// A timeout, a dropped connection or another 5xx leave open whether it was made.
    pub fn made_nothing(&self) -> bool {
        match self {
            ConnectorError::RateLimited { .. }
            | ConnectorError::ShareUsedUp { .. }
            | ConnectorError::Unauthorized { .. }
            | ConnectorError::NotFound { .. }
            | ConnectorError::Invalid { .. }
            | ConnectorError::FieldRefused { .. }
            | ConnectorError::TooLarge { .. }
            | ConnectorError::Unsupported { .. }
            | ConnectorError::Changed { .. } => true,
            ConnectorError::Http { status, .. } => *status == 503 || ((400..500).contains(status) && *status != 408),
            ConnectorError::CutShort { source, .. } => source.made_nothing(),
            ConnectorError::Unreachable { .. }
            | ConnectorError::NoTransition { .. }
            | ConnectorError::InvalidResponse { .. }
            | ConnectorError::Incomplete { .. } => false,
        }
    }

    /// Whether the request may still be processed after this error came back: no answer came (the
    /// client gave up waiting, or the connection dropped), or a gateway gave up on the server behind it
    /// (504). A server that answered otherwise is done with the request, whatever it made of it.
    pub fn may_still_be_processed(&self) -> bool {
        match self {
            ConnectorError::Unreachable { .. } => true,
            ConnectorError::Http { status, .. } => *status == 504,
            ConnectorError::CutShort { source, .. } => source.may_still_be_processed(),
            _ => false,
        }
    }
}

/// Which item a copy was made from. Connectors stamp it on the copy (a Jira issue property, an Azure
/// DevOps hyperlink relation) in the create request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOrigin {
    pub integration: String,
    pub side: Side,
    pub item: ItemId,
    /// The source item's browser URL, when known (Azure DevOps shows it as the hyperlink).
    pub url: Option<String>,
}

impl CopyOrigin {
    /// The marker value: unique per integration, side and item, stable across attempts.
    pub fn marker(&self) -> String {
        format!("tandem:{}:{}:{}", self.integration, self.side, self.item)
    }
}

/// Where a poll's reading of changed items continues; what it holds is the connector's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken(pub String);

/// One page of changed items, oldest change first.
#[derive(Debug, Clone)]
pub struct ChangedPage {
    pub items: Vec<Item>,
    /// Every item changed before this instant (and at or after the `since` asked for) is in this page
    /// or an earlier one: a poll's watermark may move up to here once the page is done, never further.
    /// Items changed while the pages were read may come with later instants; they are synced, but the
    /// watermark does not pass what the pages have not covered yet.
    pub complete_before: Timestamp,
    /// `None` on the last page.
    pub next: Option<PageToken>,
    /// When the items were read from the system's records (not from a search, whose answers may lag
    /// behind): they are then as good as a fresh read made at this instant. `None` for a search's.
    pub read_at: Option<Timestamp>,
}

/// What the integration needs of a side's service account, for `tandem check`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessNeeds {
    /// The fields it writes there.
    pub fields: Vec<String>,
    /// Whether files are attached (copies) and removed there.
    pub attachments: bool,
}

/// What `tandem check` reports for one side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessCheck {
    /// The authenticated service account.
    pub account: Option<UserRef>,
    /// What was verified, in words ("project OPS is readable", "issue type Bug exists").
    pub passed: Vec<String>,
    /// What is missing ("permission TRANSITION_ISSUES", "item type `Bug` not found").
    pub problems: Vec<String>,
}

/// One work-item system's project and item type, as seen by its service account.
///
/// Field maps use the system's own field ids. Rich text is in the system's own format
/// (ADF for Jira, HTML for Azure DevOps); the engine converts between them.
#[async_trait]
pub trait Connector: Send + Sync {
    fn system(&self) -> SystemKind;

    /// The service account this connector authenticates as (its changes are never synced back).
    async fn service_account(&self) -> Result<UserRef, ConnectorError>;

    /// The item's current state, with every field the connector knows how to read.
    async fn get_item(&self, id: &ItemId) -> Result<Item, ConnectorError>;

    /// One page of the items of the configured project and type changed at or after `since` (inclusive:
    /// items updated at the watermark instant are not skipped), oldest change first; `page` is the
    /// previous page's `next`. Paging must not skip an item when others change while it reads; an item
    /// that changes again after a page returned it may come again, or be left to the next poll, which
    /// starts no later than the last `complete_before`.
    async fn changed_page(&self, since: Timestamp, page: Option<&PageToken>) -> Result<ChangedPage, ConnectorError>;

    /// Every page of [`Connector::changed_page`] at once (audits and tests; polls go page by page).
    async fn changed_since(&self, since: Timestamp) -> Result<Vec<Item>, ConnectorError> {
        let mut items = Vec::new();
        let mut page: Option<PageToken> = None;
        loop {
            let read = self.changed_page(since, page.as_ref()).await?;
            items.extend(read.items);
            match read.next {
                Some(next) => page = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// The longest one call may take, retries and waits included: a request may be processed until its
    /// call gives up, so a claim's lease must outlast it, and a copy may appear that late.
    fn max_call_duration(&self) -> Duration;

    /// When anything in the project last changed; `None` when it has no items.
    async fn project_last_updated(&self) -> Result<Option<Timestamp>, ConnectorError>;

    /// Creates an item of the configured type with these fields and returns it as stored. When
    /// `origin` is given (the engine creating a copy), the new item carries it as a marker written in
    /// the same request, so that [`Connector::find_copy`] can find it after a crash.
    async fn create_item(&self, fields: &FieldMap, origin: Option<&CopyOrigin>) -> Result<Item, ConnectorError>;

    /// The copy created for `origin` at or after `created_since`, if one exists: a previous attempt may
    /// have created it and died before the link was stored. Searches only items the service account
    /// created in that window.
    async fn find_copy(&self, origin: &CopyOrigin, created_since: Timestamp) -> Result<Option<Item>, ConnectorError>;

    /// Writes these fields to the item whose state `read` was read. A system with conditional writes
    /// refuses the write when the item changed since (`ConnectorError::Changed`), so a person's edit
    /// made meanwhile is never overwritten unseen. A status field in a workflow system goes through a
    /// transition. Returns the state the write made, when the system says.
    async fn update_item(
        &self,
        id: &ItemId,
        fields: &FieldMap,
        read: &ItemVersion,
    ) -> Result<Option<ItemVersion>, ConnectorError>;

    async fn list_comments(&self, item: &ItemId) -> Result<Vec<Comment>, ConnectorError>;
    async fn add_comment(&self, item: &ItemId, body: &RichText) -> Result<Comment, ConnectorError>;
    async fn update_comment(
        &self,
        item: &ItemId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment, ConnectorError>;

    /// Deletes a comment the service account posted (a copy whose original was deleted or restricted);
    /// one that is gone already is not an error.
    async fn delete_comment(&self, item: &ItemId, comment: &CommentId) -> Result<(), ConnectorError>;

    /// `value` as the system keeps it once written to `field`. A system that cannot hold some values as
    /// they are (a Jira label holds no spaces) writes them in a form it can and says which here, so that
    /// the snapshot is what the next read shows, and the stored form is not taken for a person's edit.
    /// No default, like the calls below: a connector wrapping another must not drop it by omission.
    fn as_stored(&self, field: &str, value: tandem_model::FieldValue) -> tandem_model::FieldValue;

    /// Whether this connector reads its items' attachments (`Item::attachments`) and writes them. No
    /// default, like the calls below: a connector wrapping another must not drop them by omission.
    fn keeps_attachments(&self) -> bool;

    /// The content of one of `item`'s attachments, fetched from the system's own address with the
    /// service account's credentials (never from an address found in content, never through a
    /// redirect); `TooLarge` past `max_bytes`.
    async fn download_attachment(
        &self,
        item: &ItemId,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<AttachmentContent, ConnectorError>;

    /// Attaches a file to `item`, keeping `note` with it where the system keeps a note with an
    /// attachment (see [`Attachment::note`]); returns the attachment as the item's reads will show it.
    async fn upload_attachment(
        &self,
        item: &ItemId,
        content: &AttachmentContent,
        note: &str,
    ) -> Result<Attachment, ConnectorError>;

    /// Removes an attachment from `item`; one that is gone already is not an error.
    async fn delete_attachment(&self, item: &ItemId, attachment: &Attachment) -> Result<(), ConnectorError>;

    /// The file an image in this system's rich text shows, when the system stores it: one of the item's
    /// `attachments`, or a file known by its id that [`Connector::download_attachment`] fetches from the
    /// system's own address. `None` for an image from anywhere else: tandem never fetches those.
    fn image_file(&self, image: &Image, attachments: &[Attachment]) -> Option<Attachment>;

    /// How this system's rich text shows one of its files as an image.
    fn image_source(&self, file: &Attachment) -> ImageSource;

    /// The user with this e-mail, if the system has one visible to the service account.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRef>, ConnectorError>;

    /// The user with this id (Jira accountId, Azure DevOps identity id), e.g. to map a mention.
    async fn get_user(&self, id: &str) -> Result<Option<UserRef>, ConnectorError>;

    /// Checks that the service account can do what the integration needs of it.
    async fn check_access(&self, needs: &AccessNeeds) -> Result<AccessCheck, ConnectorError>;

    /// A browser URL for an item, for attribution lines and links.
    fn item_ref(&self, item: &Item) -> ItemRef {
        item.item.clone()
    }
    /// The records an item refers to that the item linked with it may show (a Case's Account and
    /// Contact). No default, so that a connector wrapping another cannot drop them by omission.
    fn related_records(&self, item: &Item) -> Vec<RelatedRecord>;

    /// Records on `item` where the item linked with it lives (a URL field the configuration names, a
    /// remote link), and the records that one refers to, for the people who read it, in systems that
    /// keep such pointers (others do nothing). Called for both items once a copy is linked; a failure is
    /// logged, never the sync's. No default, for the same reason.
    async fn point_to_linked(&self, item: &ItemId, linked: &LinkedItem) -> Result<(), ConnectorError>;
}

/// The item linked with another, as that other's system may point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedItem {
    pub item: ItemRef,
    pub system: SystemKind,
    /// The records the linked item refers to ([`Connector::related_records`]).
    pub related: Vec<RelatedRecord>,
}

/// A webhook request as received, before any parsing: header names lower-cased, the URL's query
/// parameters (decoded), the raw body.
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    pub fn new(headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        WebhookRequest { headers, query: Vec::new(), body }
    }

    /// With the URL's query parameters, for senders that can authenticate only in the URL.
    pub fn with_query(mut self, query: Vec<(String, String)>) -> Self {
        self.query = query;
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    pub fn query_parameter(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature / credentials: answer 401 and record nothing.
    #[error("webhook rejected: {0}")]
    Unauthorized(String),
    /// Authentic but unreadable: answer 400.
    #[error("webhook body is malformed: {0}")]
    Malformed(String),
    /// Authentic, readable, and about something tandem does not sync (another project, an event type
    /// it ignores): answer 202 and do nothing.
    #[error("webhook ignored: {0}")]
    Ignored(String),
}

/// An answer in a system's own form, for senders that expect one: Salesforce's Outbound Messages are
/// acknowledged in SOAP, where the other systems read tandem's JSON answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReply {
    pub content_type: String,
    pub body: String,
}

/// Verifies and parses one system's webhook deliveries, and answers their sender.
pub trait WebhookReceiver: Send + Sync {
    fn receive(&self, request: &WebhookRequest) -> Result<Delivery, WebhookError>;

    /// The answer to a delivery that ended with HTTP `status`, in the system's own form; `None` (the
    /// default): tandem's JSON answer. A sender that reads an acknowledgement as "recorded, do not send
    /// again" must get one only with a 2xx status.
    fn reply(&self, status: u16) -> Option<WebhookReply> {
        let _ = status;
        None
    }
}
