//! Where polling resumes, one item per integration side, which also holds the side's running tally of
//! poll outcomes as number attributes (added to in the write that moves the watermark).

use crate::keys::{Key, RECORD};
use crate::record::{decode, encode};
use crate::store::DynamoStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use tandem_engine::ports::{StoreError, WatermarkStore};
use tandem_engine::tally::PollTally;
use tandem_model::{Side, Timestamp};

/// The tally's counts, by attribute name.
fn counts(tally: &PollTally) -> [(&'static str, u64); 5] {
    [
        ("created", tally.created),
        ("updated", tally.updated),
        ("unchanged", tally.unchanged),
        ("skipped", tally.skipped),
        ("failed", tally.failed),
    ]
}

#[async_trait]
impl WatermarkStore for DynamoStore {
    async fn get_watermark(&self, integration: &str, side: Side) -> Result<Option<Timestamp>, StoreError> {
        self.get(&Key::watermark(integration, side), "reading a watermark")
            .await?
            .map(|item| decode(&item, "watermark"))
            .transpose()
    }

    async fn set_watermark(&self, integration: &str, side: Side, at: Timestamp) -> Result<(), StoreError> {
        // An update, not a put: the tally beside the watermark stays.
        let request = self.watermark_update(integration, side, at)?.update_expression("SET #record = :at");
        request.send().await.map_err(|error| self.failed("writing a watermark", error))?;
        Ok(())
    }

    async fn advance_watermark(
        &self,
        integration: &str,
        side: Side,
        at: Timestamp,
        counted: &PollTally,
    ) -> Result<(), StoreError> {
        let mut request = self.watermark_update(integration, side, at)?;
        let mut additions = Vec::new();
        for (name, count) in counts(counted) {
            additions.push(format!("#{name} :{name}"));
            request = request
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), AttributeValue::N(count.to_string()));
        }
        let request = request.update_expression(format!("SET #record = :at ADD {}", additions.join(", ")));
        request.send().await.map_err(|error| self.failed("advancing a watermark", error))?;
        Ok(())
    }

    async fn poll_tally(&self, integration: &str, side: Side) -> Result<PollTally, StoreError> {
        let item = self.get(&Key::watermark(integration, side), "reading a poll tally").await?.unwrap_or_default();
        let count = |name: &str| read_count(&item, name);
        Ok(PollTally {
            created: count("created")?,
            updated: count("updated")?,
            unchanged: count("unchanged")?,
            skipped: count("skipped")?,
            failed: count("failed")?,
        })
    }
}

impl DynamoStore {
    /// An update of a side's watermark item that sets its watermark to `at` (the expression is the caller's).
    fn watermark_update(
        &self,
        integration: &str,
        side: Side,
        at: Timestamp,
    ) -> Result<UpdateItemFluentBuilder, StoreError> {
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::watermark(integration, side).attributes()))
            .expression_attribute_names("#record", RECORD)
            .expression_attribute_values(":at", encode(&at, "watermark")?))
    }
}

fn read_count(item: &HashMap<String, AttributeValue>, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        None => Ok(0),
        Some(AttributeValue::N(number)) => number
            .parse()
            .map_err(|_| StoreError::Corrupt { message: format!("poll tally `{name}` is not a count: {number}") }),
        Some(_) => Err(StoreError::Corrupt { message: format!("poll tally `{name}` is not a number") }),
    }
}
