//! Webhook delivery de-duplication: one item per delivery id, replaced once it has expired, and
//! removed by DynamoDB's time to live some time after that.

use crate::keys::{self, Key, UNTIL_MICROS};
use crate::store::{item_at, DynamoStore};
use async_trait::async_trait;
use tandem_engine::ports::{DeliveryStore, StoreError};
use tandem_model::{Side, Timestamp};

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn record_delivery(
        &self,
        integration: &str,
        side: Side,
        delivery: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let item = item_at(
            &Key::delivery(integration, side, delivery),
            [(UNTIL_MICROS, keys::micros(expires_at)), (keys::EXPIRES_AT, keys::expires_at(expires_at))],
        );
        // Time to live removes items late (up to days), so an expired delivery may still be there:
        // the condition, not the item's presence, decides whether it was seen.
        let recorded = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #until <= :now")
            .expression_attribute_names("#until", UNTIL_MICROS)
            .expression_attribute_values(":now", keys::micros(now))
            .send()
            .await;
        self.written_if(recorded, "recording a delivery")
    }
}
