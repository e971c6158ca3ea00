//! Conflicts and failures, for operators and for the poller's retries.

use crate::error::{decode, encode, OrUnavailable};
use crate::store::EmbeddedStore;
use crate::tables::{collect_while, side_key, CONFLICTS, FAILURES};
use async_trait::async_trait;
use redb::ReadableTable;
use tandem_engine::ports::{ConflictRecord, FailureRecord, StoreError, SyncLog};
use tandem_model::{ItemId, Side};

#[async_trait]
impl SyncLog for EmbeddedStore {
    async fn record_conflict(&self, conflict: &ConflictRecord) -> Result<(), StoreError> {
        let conflict = conflict.clone();
        self.write("recording a conflict", move |transaction| {
            let mut conflicts = transaction.open_table(CONFLICTS).or_unavailable("opening the conflicts")?;
            let integration = conflict.integration.as_str();
            let last = conflicts
                .range((integration, 0)..=(integration, u64::MAX))
                .or_unavailable("reading the conflicts")?
                .next_back()
                .transpose()
                .or_unavailable("reading the conflicts")?
                .map(|(key, _)| key.value().1);
            let sequence = last.map_or(0, |last| last + 1);
            conflicts
                .insert((integration, sequence), encode(&conflict, "conflict")?.as_str())
                .or_unavailable("writing a conflict")?;
            Ok(())
        })
        .await
    }

    async fn list_conflicts(&self, integration: &str) -> Result<Vec<ConflictRecord>, StoreError> {
        let integration = integration.to_owned();
        self.read("listing conflicts", move |transaction| {
            let conflicts = transaction.open_table(CONFLICTS).or_unavailable("opening the conflicts")?;
            collect_while(&conflicts, (integration.as_str(), 0), |key: (&str, u64)| key.0 == integration, "conflict")
        })
        .await
    }

    async fn record_failure(&self, failure: &FailureRecord) -> Result<(), StoreError> {
        let failure = failure.clone();
        self.write("recording a failure", move |transaction| {
            let mut failures = transaction.open_table(FAILURES).or_unavailable("opening the failures")?;
            let key = (failure.integration.as_str(), side_key(failure.side), failure.item.as_str());
            failures.insert(key, encode(&failure, "failure")?.as_str()).or_unavailable("writing a failure")?;
            Ok(())
        })
        .await
    }

    async fn get_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
    ) -> Result<Option<FailureRecord>, StoreError> {
        let (integration, item) = (integration.to_owned(), item.as_str().to_owned());
        self.read("reading a failure", move |transaction| {
            let failures = transaction.open_table(FAILURES).or_unavailable("opening the failures")?;
            failures
                .get((integration.as_str(), side_key(side), item.as_str()))
                .or_unavailable("reading a failure")?
                .map(|json| decode(json.value(), "failure"))
                .transpose()
        })
        .await
    }

    async fn clear_failure(&self, integration: &str, side: Side, item: &ItemId) -> Result<(), StoreError> {
        let (integration, item) = (integration.to_owned(), item.as_str().to_owned());
        self.write("clearing a failure", move |transaction| {
            let mut failures = transaction.open_table(FAILURES).or_unavailable("opening the failures")?;
            failures
                .remove((integration.as_str(), side_key(side), item.as_str()))
                .or_unavailable("removing a failure")?;
            Ok(())
        })
        .await
    }

    async fn list_failures(&self, integration: &str) -> Result<Vec<FailureRecord>, StoreError> {
        let integration = integration.to_owned();
        self.read("listing failures", move |transaction| {
            let failures = transaction.open_table(FAILURES).or_unavailable("opening the failures")?;
            collect_while(
                &failures,
                (integration.as_str(), 0, ""),
                |key: (&str, u8, &str)| key.0 == integration,
                "failure",
            )
        })
        .await
    }
}
