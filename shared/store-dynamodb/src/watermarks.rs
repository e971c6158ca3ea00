//! Where polling resumes, one item per integration side.

use crate::error::{decode, encode};
use crate::keys::{Key, RECORD};
use crate::store::{item_at, DynamoStore};
use async_trait::async_trait;
use tandem_engine::ports::{StoreError, WatermarkStore};
use tandem_model::{Side, Timestamp};

#[async_trait]
impl WatermarkStore for DynamoStore {
    async fn get_watermark(&self, integration: &str, side: Side) -> Result<Option<Timestamp>, StoreError> {
        self.get(&Key::watermark(integration, side), "reading a watermark")
            .await?
            .map(|item| decode(&item, "watermark"))
            .transpose()
    }

    async fn set_watermark(&self, integration: &str, side: Side, at: Timestamp) -> Result<(), StoreError> {
        let item = item_at(&Key::watermark(integration, side), [(RECORD, encode(&at, "watermark")?)]);
        self.put(item, "writing a watermark").await
    }
}
