//! Where polling resumes, per integration side.

use crate::error::{decode, encode, OrUnavailable};
use crate::store::EmbeddedStore;
use crate::tables::{side_key, WATERMARKS};
use async_trait::async_trait;
use tandem_engine::ports::{StoreError, WatermarkStore};
use tandem_model::{Side, Timestamp};

#[async_trait]
impl WatermarkStore for EmbeddedStore {
    async fn get_watermark(&self, integration: &str, side: Side) -> Result<Option<Timestamp>, StoreError> {
        let integration = integration.to_owned();
        self.read("reading a watermark", move |transaction| {
            let watermarks = transaction.open_table(WATERMARKS).or_unavailable("opening the watermarks")?;
            watermarks
                .get((integration.as_str(), side_key(side)))
                .or_unavailable("reading a watermark")?
                .map(|json| decode(json.value(), "watermark"))
                .transpose()
        })
        .await
    }

    async fn set_watermark(&self, integration: &str, side: Side, at: Timestamp) -> Result<(), StoreError> {
        let integration = integration.to_owned();
        self.write("writing a watermark", move |transaction| {
            let mut watermarks = transaction.open_table(WATERMARKS).or_unavailable("opening the watermarks")?;
            watermarks
                .insert((integration.as_str(), side_key(side)), encode(&at, "watermark")?.as_str())
                .or_unavailable("writing a watermark")?;
            Ok(())
        })
        .await
    }
}
