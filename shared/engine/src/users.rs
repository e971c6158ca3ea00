//! Finding the other side's user for a user on this side: by e-mail (through the explicit table first),
//! falling back to the configured default user. Look-ups are cached per engine because the same few
//! people appear in every change.

use crate::error::SyncError;
use crate::ports::Connector;
use std::collections::HashMap;
use std::sync::Arc;
use tandem_mapping::UserMapping;
use tandem_model::{Side, UserRef};
use tokio::sync::Mutex;

type Lookup = (Side, String);

pub(crate) struct UserResolver {
    connectors: [Arc<dyn Connector>; 2],
    by_email: Mutex<HashMap<Lookup, Option<UserRef>>>,
    by_id: Mutex<HashMap<Lookup, Option<UserRef>>>,
}

impl UserResolver {
    pub(crate) fn new(connectors: [Arc<dyn Connector>; 2]) -> Self {
        UserResolver { connectors, by_email: Mutex::default(), by_id: Mutex::default() }
    }

    fn connector(&self, side: Side) -> &dyn Connector {
        self.connectors[usize::from(side.number() - 1)].as_ref()
    }

    /// The target side's user for `source` (a user on side `from`), or the target's default user.
    ///
    /// Rule (documented in the README): the default user is written when the source has no user, or
    /// when no user on the target side matches.
    pub(crate) async fn resolve(
        &self,
        users: &UserMapping,
        from: Side,
        source: Option<&UserRef>,
    ) -> Result<Option<UserRef>, SyncError> {
        let target = from.other();
        if let Some(source) = source {
            let source = self.with_email(from, source).await?;
            if let Some(email) = users.target_email(from, &source) {
                if let Some(found) = self.find_by_email(target, &email).await? {
                    return Ok(Some(found));
                }
            }
        }
        match users.default_user(target) {
            Some(email) => self.find_by_email(target, email).await,
            None => Ok(None),
        }
    }

    /// Systems that hide e-mails in item payloads (Jira's privacy settings) may still show them on
    /// the user itself; look it up once.
    async fn with_email(&self, side: Side, user: &UserRef) -> Result<UserRef, SyncError> {
        if user.email.is_some() {
            return Ok(user.clone());
        }
        let key = (side, user.id.clone());
        if let Some(cached) = self.by_id.lock().await.get(&key) {
            return Ok(cached.clone().unwrap_or_else(|| user.clone()));
        }
        let found = self.connector(side).get_user(&user.id).await.map_err(SyncError::connector(side))?;
        self.by_id.lock().await.insert(key, found.clone());
        Ok(found.unwrap_or_else(|| user.clone()))
    }

    pub(crate) async fn find_by_email(&self, side: Side, email: &str) -> Result<Option<UserRef>, SyncError> {
        let key = (side, email.to_ascii_lowercase());
        if let Some(cached) = self.by_email.lock().await.get(&key) {
            return Ok(cached.clone());
        }
        let found = self.connector(side).find_user_by_email(email).await.map_err(SyncError::connector(side))?;
        self.by_email.lock().await.insert(key, found.clone());
        Ok(found)
    }

    /// The user with this id on `side`, with its e-mail when the system shows it (for mentions).
    pub(crate) async fn user_by_id(&self, side: Side, id: &str) -> Result<UserRef, SyncError> {
        self.with_email(side, &UserRef { id: id.to_string(), email: None, display_name: None }).await
    }
}
