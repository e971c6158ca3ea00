//! Where polling resumes, per integration side, and what its polls made of the items they went through.

use crate::error::{decode, encode, OrUnavailable};
use crate::store::EmbeddedStore;
use crate::tables::{side_key, POLL_TALLIES, WATERMARKS};
use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};
use tandem_engine::ports::{StoreError, WatermarkStore};
use tandem_engine::tally::PollTally;
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
        self.write("writing a watermark", move |transaction| put_watermark(transaction, &integration, side, at)).await
    }

    async fn advance_watermark(
        &self,
        integration: &str,
        side: Side,
        at: Timestamp,
        counted: &PollTally,
    ) -> Result<(), StoreError> {
        let (integration, counted) = (integration.to_owned(), *counted);
        self.write("advancing a watermark", move |transaction| {
            put_watermark(transaction, &integration, side, at)?;
            let mut tallies = transaction.open_table(POLL_TALLIES).or_unavailable("opening the poll tallies")?;
            let key = (integration.as_str(), side_key(side));
            let mut tally: PollTally = match tallies.get(key).or_unavailable("reading a poll tally")? {
                Some(json) => decode(json.value(), "poll tally")?,
                None => PollTally::default(),
            };
            tally.add(&counted);
            tallies.insert(key, encode(&tally, "poll tally")?.as_str()).or_unavailable("writing a poll tally")?;
            Ok(())
        })
        .await
    }

    async fn poll_tally(&self, integration: &str, side: Side) -> Result<PollTally, StoreError> {
        let integration = integration.to_owned();
        self.read("reading a poll tally", move |transaction| {
            let tallies = transaction.open_table(POLL_TALLIES).or_unavailable("opening the poll tallies")?;
            let found = tallies.get((integration.as_str(), side_key(side))).or_unavailable("reading a poll tally")?;
            found.map_or(Ok(PollTally::default()), |json| decode(json.value(), "poll tally"))
        })
        .await
    }
}

fn put_watermark(
    transaction: &WriteTransaction,
    integration: &str,
    side: Side,
    at: Timestamp,
) -> Result<(), StoreError> {
    let mut watermarks = transaction.open_table(WATERMARKS).or_unavailable("opening the watermarks")?;
    watermarks
        .insert((integration, side_key(side)), encode(&at, "watermark")?.as_str())
        .or_unavailable("writing a watermark")?;
    Ok(())
}
