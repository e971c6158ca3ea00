//! Conflicts and failures, for operators and for the poller's retries.

use crate::error::{decode, encode, OrUnavailable};
use crate::store::EmbeddedStore;
use crate::tables::{collect_while, side_key, CONFLICTS, FAILURES, HISTORY};
use async_trait::async_trait;
use redb::ReadableTable;
use tandem_engine::history::HistoryEntry;
use tandem_engine::ports::{ConflictRecord, FailureRecord, Noted, StoreError, SyncLog};
use tandem_model::{ItemId, Side, Timestamp};

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
        self.scan("listing conflicts", move |transaction| {
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
            let stored = stored_failure(&failures, key)?;
            // A change noted meanwhile stays noted.
            let noted_at = stored.map_or(failure.noted_at, |stored| stored.noted_at.max(failure.noted_at));
            let failure = FailureRecord { noted_at, ..failure.clone() };
            failures.insert(key, encode(&failure, "failure")?.as_str()).or_unavailable("writing a failure")?;
            Ok(())
        })
        .await
    }

    async fn note_change(&self, note: &FailureRecord) -> Result<Noted, StoreError> {
        let note = note.clone();
        self.write("noting a change", move |transaction| {
            let mut failures = transaction.open_table(FAILURES).or_unavailable("opening the failures")?;
            let key = (note.integration.as_str(), side_key(note.side), note.item.as_str());
            let (record, noted) = match stored_failure(&failures, key)? {
                Some(stored) => {
                    let noted_at = stored.noted_at.max(note.noted_at);
                    (FailureRecord { noted_at, ..stored }, Noted::Touched)
                }
                None => (note.clone(), Noted::Created),
            };
            failures.insert(key, encode(&record, "failure")?.as_str()).or_unavailable("writing a failure")?;
            Ok(noted)
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

    async fn clear_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        read_from: Timestamp,
    ) -> Result<bool, StoreError> {
        let (integration, item) = (integration.to_owned(), item.as_str().to_owned());
        self.write("clearing a failure", move |transaction| {
            let mut failures = transaction.open_table(FAILURES).or_unavailable("opening the failures")?;
            let key = (integration.as_str(), side_key(side), item.as_str());
            if stored_failure(&failures, key)?.is_some_and(|stored| stored.noted_at > read_from) {
                return Ok(false);
            }
            failures.remove(key).or_unavailable("removing a failure")?;
            Ok(true)
        })
        .await
    }

    async fn list_failures(&self, integration: &str) -> Result<Vec<FailureRecord>, StoreError> {
        let integration = integration.to_owned();
        self.scan("listing failures", move |transaction| {
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

    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.write_for_operators("recording an item's history", move |transaction| {
            let mut history = transaction.open_table(HISTORY).or_unavailable("opening the history")?;
            let (integration, side, item) = (entry.integration.as_str(), side_key(entry.side), entry.item.as_str());
            let mut at = entry.at.timestamp_micros();
            while history.get((integration, side, item, at)).or_unavailable("reading the history")?.is_some() {
                at += 1;
            }
            history
                .insert((integration, side, item, at), encode(&entry, "history entry")?.as_str())
                .or_unavailable("writing the history")?;
            let kept: Vec<i64> = history
                .range((integration, side, item, i64::MIN)..=(integration, side, item, i64::MAX))
                .or_unavailable("reading the history")?
                .map(|entry| entry.map(|(key, _)| key.value().3))
                .collect::<Result<_, _>>()
                .or_unavailable("reading the history")?;
            for oldest in kept.iter().take(kept.len().saturating_sub(HISTORY_PER_ITEM)) {
                history.remove((integration, side, item, *oldest)).or_unavailable("trimming the history")?;
            }
            Ok(())
        })
        .await
    }

    async fn list_history(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let (integration, item) = (integration.to_owned(), item.as_str().to_owned());
        self.scan("reading an item's history", move |transaction| {
            let history = transaction.open_table(HISTORY).or_unavailable("opening the history")?;
            let (integration, item) = (integration.as_str(), item.as_str());
            let mut entries = Vec::new();
            let range = (integration, side_key(side), item, i64::MIN)..=(integration, side_key(side), item, i64::MAX);
            for stored in history.range(range).or_unavailable("reading the history")?.rev() {
                let (_, json) = stored.or_unavailable("reading the history")?;
                let entry: HistoryEntry = decode(json.value(), "history entry")?;
                if entry.expires_at > now {
                    entries.push(entry);
                }
                if entries.len() == limit {
                    break;
                }
            }
            Ok(entries)
        })
        .await
    }
}

/// The most entries kept of one item's history; the oldest go first.
const HISTORY_PER_ITEM: usize = 200;

fn stored_failure(
    failures: &impl ReadableTable<(&'static str, u8, &'static str), &'static str>,
    key: (&str, u8, &str),
) -> Result<Option<FailureRecord>, StoreError> {
    failures.get(key).or_unavailable("reading a failure")?.map(|json| decode(json.value(), "failure")).transpose()
}
