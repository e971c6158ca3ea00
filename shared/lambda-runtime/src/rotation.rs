//! Credentials rotated while a function is warm: a connector that gets 401 re-reads its secret,
//! rebuilds itself and tries the call once more; a receiver that cannot verify a delivery re-reads its
//! webhook secret (at most once a minute, so forged requests cannot run up Secrets Manager calls).
//!
//! This sits under the engine rather than around it because the engine records a failed sync for
//! the poller instead of returning it: only the connector sees the 401 while the change can still be
//! completed.

use crate::wiring::{self, Endpoints, WiringError};
use async_trait::async_trait;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tandem_engine::ports::{
    AccessCheck, AccessNeeds, ChangedPage, Connector, ConnectorError, CopyOrigin, LinkedItem, PageToken, SecretSource,
    WebhookError, WebhookReceiver, WebhookReply, WebhookRequest,
};
use tandem_mapping::IntegrationConfig;
use tandem_model::{
    Attachment, AttachmentContent, Comment, CommentId, Delivery, FieldMap, FieldValue, Image, ImageSource, Item,
    ItemId, ItemRef, ItemVersion, RelatedRecord, RichText, Side, SystemKind, Timestamp, UserRef,
};
use tandem_secrets::CachedSecrets;
use tokio::time::Instant;
use tracing::{info, warn};

/// How often a receiver may re-read its webhook secret because a delivery failed verification.
const RECEIVER_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// A secret source whose cached entries can be dropped, so the next read gets the rotated value.
pub trait SecretCache: SecretSource {
    fn invalidate(&self, name: &str);
}

impl<S: SecretSource> SecretCache for CachedSecrets<S> {
    fn invalidate(&self, name: &str) {
        CachedSecrets::invalidate(self, name);
    }
}

/// One side's connector, rebuilt with freshly read credentials when the system answers 401.
pub struct RotatingConnector {
    config: Arc<IntegrationConfig>,
    side: Side,
    endpoints: Endpoints,
    secrets: Arc<dyn SecretCache>,
    system: SystemKind,
    current: RwLock<Arc<dyn Connector>>,
}

impl RotatingConnector {
    pub async fn build(
        config: Arc<IntegrationConfig>,
        side: Side,
        endpoints: Endpoints,
        secrets: Arc<dyn SecretCache>,
    ) -> Result<RotatingConnector, WiringError> {
        let current = wiring::connector(&config, side, &endpoints, secrets.as_ref()).await?;
        Ok(RotatingConnector {
            system: config.side(side).system,
            config,
            side,
            endpoints,
            secrets,
            current: RwLock::new(current),
        })
    }

    fn current(&self) -> Arc<dyn Connector> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Re-reads the secret and swaps the connector; false (logged) when that is not possible.
    async fn refresh(&self) -> bool {
        let secret = &self.config.side(self.side).secret;
        self.secrets.invalidate(secret);
        match wiring::connector(&self.config, self.side, &self.endpoints, self.secrets.as_ref()).await {
            Ok(fresh) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = fresh;
                info!(integration = %self.config.name, side = %self.side, %secret, "re-read rotated credentials");
                true
            }
            Err(error) => {
                warn!(integration = %self.config.name, side = %self.side, %error, "could not re-read credentials");
                false
            }
        }
    }

    /// Runs `operation`; on 401 refreshes the credentials and runs it once more.
    async fn call<T, F, Fut>(&self, operation: F) -> Result<T, ConnectorError>
    where
        F: Fn(Arc<dyn Connector>) -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        match operation(self.current()).await {
            Err(ConnectorError::Unauthorized { .. }) if self.refresh().await => operation(self.current()).await,
            other => other,
        }
    }
}

#[async_trait]
impl Connector for RotatingConnector {
    fn system(&self) -> SystemKind {
        self.system
    }

    async fn service_account(&self) -> Result<UserRef, ConnectorError> {
        self.call(|connector| async move { connector.service_account().await }).await
    }

    async fn get_item(&self, id: &ItemId) -> Result<Item, ConnectorError> {
        self.call(|connector| async move { connector.get_item(id).await }).await
    }

    async fn changed_page(&self, since: Timestamp, page: Option<&PageToken>) -> Result<ChangedPage, ConnectorError> {
        self.call(|connector| async move { connector.changed_page(since, page).await }).await
    }

    fn max_call_duration(&self) -> Duration {
        self.current().max_call_duration()
    }

    async fn project_last_updated(&self) -> Result<Option<Timestamp>, ConnectorError> {
        self.call(|connector| async move { connector.project_last_updated().await }).await
    }

    async fn create_item(&self, fields: &FieldMap, origin: Option<&CopyOrigin>) -> Result<Item, ConnectorError> {
        // A 401 is answered before anything is created, so creating again after it cannot duplicate.
        self.call(|connector| async move { connector.create_item(fields, origin).await }).await
    }

    async fn find_copy(&self, origin: &CopyOrigin, created_since: Timestamp) -> Result<Option<Item>, ConnectorError> {
        self.call(|connector| async move { connector.find_copy(origin, created_since).await }).await
    }

    async fn update_item(
        &self,
        id: &ItemId,
        fields: &FieldMap,
        read: &ItemVersion,
    ) -> Result<Option<ItemVersion>, ConnectorError> {
        self.call(|connector| async move { connector.update_item(id, fields, read).await }).await
    }

    async fn list_comments(&self, item: &ItemId) -> Result<Vec<Comment>, ConnectorError> {
        self.call(|connector| async move { connector.list_comments(item).await }).await
    }

    async fn add_comment(&self, item: &ItemId, body: &RichText) -> Result<Comment, ConnectorError> {
        self.call(|connector| async move { connector.add_comment(item, body).await }).await
    }

    async fn update_comment(
        &self,
        item: &ItemId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment, ConnectorError> {
        self.call(|connector| async move { connector.update_comment(item, comment, body).await }).await
    }

    async fn delete_comment(&self, item: &ItemId, comment: &CommentId) -> Result<(), ConnectorError> {
        self.call(|connector| async move { connector.delete_comment(item, comment).await }).await
    }

    fn as_stored(&self, field: &str, value: FieldValue) -> FieldValue {
        self.current().as_stored(field, value)
    }

    fn keeps_attachments(&self) -> bool {
        self.current().keeps_attachments()
    }

    async fn download_attachment(
        &self,
        item: &ItemId,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<AttachmentContent, ConnectorError> {
        self.call(|connector| async move { connector.download_attachment(item, attachment, max_bytes).await }).await
    }

    async fn upload_attachment(
        &self,
        item: &ItemId,
        content: &AttachmentContent,
        note: &str,
    ) -> Result<Attachment, ConnectorError> {
        // A 401 is answered before the file is stored, so sending it again cannot attach it twice.
        self.call(|connector| async move { connector.upload_attachment(item, content, note).await }).await
    }

    async fn delete_attachment(&self, item: &ItemId, attachment: &Attachment) -> Result<(), ConnectorError> {
        self.call(|connector| async move { connector.delete_attachment(item, attachment).await }).await
    }

    fn image_file(&self, image: &Image, attachments: &[Attachment]) -> Option<Attachment> {
        self.current().image_file(image, attachments)
    }

    fn image_source(&self, file: &Attachment) -> ImageSource {
        self.current().image_source(file)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRef>, ConnectorError> {
        self.call(|connector| async move { connector.find_user_by_email(email).await }).await
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRef>, ConnectorError> {
        self.call(|connector| async move { connector.get_user(id).await }).await
    }

    async fn check_access(&self, needs: &AccessNeeds) -> Result<AccessCheck, ConnectorError> {
        self.call(|connector| async move { connector.check_access(needs).await }).await
    }

    fn item_ref(&self, item: &Item) -> ItemRef {
        self.current().item_ref(item)
    }

    fn related_records(&self, item: &Item) -> Vec<RelatedRecord> {
        self.current().related_records(item)
    }

    async fn point_to_linked(&self, item: &ItemId, linked: &LinkedItem) -> Result<(), ConnectorError> {
        self.call(|connector| async move { connector.point_to_linked(item, linked).await }).await
    }
}

/// One side's webhook receiver, rebuilt from the re-read webhook secret when a delivery fails
/// verification (the sender may already sign with a rotated secret).
pub struct RotatingReceiver {
    config: Arc<IntegrationConfig>,
    side: Side,
    secrets: Arc<dyn SecretCache>,
    current: RwLock<Arc<dyn WebhookReceiver>>,
    refreshed_at: Mutex<Instant>,
}

impl RotatingReceiver {
    pub async fn build(
        config: Arc<IntegrationConfig>,
        side: Side,
        secrets: Arc<dyn SecretCache>,
    ) -> Result<RotatingReceiver, WiringError> {
        let current = wiring::receiver(&config, side, secrets.as_ref()).await?;
        Ok(RotatingReceiver {
            config,
            side,
            secrets,
            current: RwLock::new(current),
            refreshed_at: Mutex::new(Instant::now()),
        })
    }

    fn current(&self) -> Arc<dyn WebhookReceiver> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Verifies and parses a delivery, re-reading the webhook secret once when verification fails.
    pub async fn receive(&self, request: &WebhookRequest) -> Result<Delivery, WebhookError> {
        match self.current().receive(request) {
            Err(WebhookError::Unauthorized(reason)) => {
                if self.refresh_allowed() && self.refresh().await {
                    self.current().receive(request)
                } else {
                    Err(WebhookError::Unauthorized(reason))
                }
            }
            other => other,
        }
    }

    /// The answer in the system's own form, if it has one (see [`WebhookReceiver::reply`]).
    pub fn reply(&self, status: u16) -> Option<WebhookReply> {
        self.current().reply(status)
    }

    fn refresh_allowed(&self) -> bool {
        let mut refreshed_at = self.refreshed_at.lock().unwrap_or_else(PoisonError::into_inner);
        if refreshed_at.elapsed() < RECEIVER_REFRESH_INTERVAL {
            return false;
        }
        *refreshed_at = Instant::now();
        true
    }

    async fn refresh(&self) -> bool {
        let secret = &self.config.side(self.side).webhook_secret;
        self.secrets.invalidate(secret);
        match wiring::receiver(&self.config, self.side, self.secrets.as_ref()).await {
            Ok(fresh) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = fresh;
                true
            }
            Err(error) => {
                warn!(integration = %self.config.name, side = %self.side, %error, "could not re-read the webhook secret");
                false
            }
        }
    }
}
