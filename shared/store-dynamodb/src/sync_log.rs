//! Conflicts (sorted by when they happened) and failures (one per integration, side and item).

use crate::error::{decode, encode};
use crate::keys::{self, Key, Kind, RECORD};
use crate::store::{item_at, DynamoStore};
use async_trait::async_trait;
use tandem_engine::ports::{ConflictRecord, FailureRecord, StoreError, SyncLog};
use tandem_model::{ItemId, Side};

impl DynamoStore {
    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        kind: Kind,
        integration: &str,
        what: &str,
        doing: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.query(keys::partition(kind, integration), None, doing)
            .await?
            .iter()
            .map(|item| decode(item, what))
            .collect()
    }
}

#[async_trait]
impl SyncLog for DynamoStore {
    async fn record_conflict(&self, conflict: &ConflictRecord) -> Result<(), StoreError> {
        // Every conflict is kept, even two of one field at one instant: a random suffix keeps them apart.
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let key = Key::conflict(&conflict.integration, conflict.at, &unique);
        let item = item_at(&key, [(RECORD, encode(conflict, "conflict")?)]);
        self.put(item, "recording a conflict").await
    }

    async fn list_conflicts(&self, integration: &str) -> Result<Vec<ConflictRecord>, StoreError> {
        self.list(Kind::Conflict, integration, "conflict", "listing conflicts").await
    }

    async fn record_failure(&self, failure: &FailureRecord) -> Result<(), StoreError> {
        let key = Key::failure(&failure.integration, failure.side, &failure.item);
        let item = item_at(&key, [(RECORD, encode(failure, "failure")?)]);
        self.put(item, "recording a failure").await
    }

    async fn get_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
    ) -> Result<Option<FailureRecord>, StoreError> {
        self.get(&Key::failure(integration, side, item), "reading a failure")
            .await?
            .map(|item| decode(&item, "failure"))
            .transpose()
    }

    async fn clear_failure(&self, integration: &str, side: Side, item: &ItemId) -> Result<(), StoreError> {
        self.delete(&Key::failure(integration, side, item), "clearing a failure").await
    }

    async fn list_failures(&self, integration: &str) -> Result<Vec<FailureRecord>, StoreError> {
        self.list(Kind::Failure, integration, "failure", "listing failures").await
    }
}
