//! Conflicts (sorted by when they happened) and failures (one per integration, side and item).

use crate::error::Item;
use crate::keys::{self, Key, Kind, NOTED_MICROS, RECORD};
use crate::record::{decode, encode, encode_packed};
use crate::store::{is_condition_failure, item_at, DynamoStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tandem_engine::history::HistoryEntry;
use tandem_engine::ports::{ConflictRecord, FailureRecord, Noted, StoreError, SyncLog};
use tandem_model::{ItemId, Side, Timestamp};

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
        // A change noted meanwhile stays noted: the write is conditional on the stored `noted` being no
        // later than this record's, and takes the stored one over when it is.
        let mut failure = failure.clone();
        for _ in 0..NOTED_RACES {
            match self.put_failure_unless_noted_later(&failure).await? {
                None => return Ok(()),
                Some(later) => failure.noted_at = later,
            }
        }
        Err(StoreError::Conflict { what: format!("the failure of item {} (changes kept being noted)", failure.item) })
    }

    async fn note_change(&self, note: &FailureRecord) -> Result<Noted, StoreError> {
        let key = Key::failure(&note.integration, note.side, &note.item);
        let noted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .update_expression("SET #noted = :noted, #record = if_not_exists(#record, :note)")
            .condition_expression("attribute_not_exists(#noted) OR #noted < :noted")
            .expression_attribute_names("#noted", NOTED_MICROS)
            .expression_attribute_names("#record", RECORD)
            .expression_attribute_values(":noted", keys::micros(note.noted_at))
            .expression_attribute_values(":note", encode(note, "failure")?)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match noted {
            Ok(output) => Ok(if output.attributes.is_some_and(|old| old.contains_key(RECORD)) {
                Noted::Touched
            } else {
                Noted::Created
            }),
            // Noted later already: nothing to move.
            Err(error) if is_condition_failure(&error) => Ok(Noted::Touched),
            Err(error) => Err(self.failed("noting a change", error)),
        }
    }

    async fn get_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
    ) -> Result<Option<FailureRecord>, StoreError> {
        self.get(&Key::failure(integration, side, item), "reading a failure")
            .await?
            .map(|item| decode_failure(&item))
            .transpose()
    }

    async fn clear_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        read_from: Timestamp,
    ) -> Result<bool, StoreError> {
        let cleared = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::failure(integration, side, item).attributes()))
            .condition_expression("attribute_not_exists(#noted) OR #noted <= :read_from")
            .expression_attribute_names("#noted", NOTED_MICROS)
            .expression_attribute_values(":read_from", keys::micros(read_from))
            .send()
            .await;
        self.written_if(cleared, "clearing a failure")
    }

    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let key = Key::history(&entry.integration, entry.side, &entry.item, entry.at, &unique[..8]);
        let attributes =
            [(RECORD, encode_packed(entry, "history entry")?), (keys::EXPIRES_AT, keys::expires_at(entry.expires_at))];
        self.put(item_at(&key, attributes), "recording an item's history").await
    }

    async fn list_history(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let doing = "reading an item's history";
        // Newest first, one page: time-to-live removes expired entries within days, not at once.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::partition(Kind::History, integration)))
            .expression_attribute_values(":prefix", AttributeValue::S(keys::history_prefix(side, item)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|error| self.failed(doing, error))?;
        let mut entries = Vec::new();
        for stored in output.items() {
            let entry: HistoryEntry = decode(stored, "history entry")?;
            if entry.expires_at > now {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    async fn list_failures(&self, integration: &str) -> Result<Vec<FailureRecord>, StoreError> {
        self.query(keys::partition(Kind::Failure, integration), None, "listing failures")
            .await?
            .iter()
            .map(decode_failure)
            .collect()
    }
}

/// How often a failure is written again when changes keep being noted on it meanwhile.
const NOTED_RACES: usize = 8;

impl DynamoStore {
    /// Writes `failure` unless the stored record's `noted` is later; then returns that instant.
    async fn put_failure_unless_noted_later(&self, failure: &FailureRecord) -> Result<Option<Timestamp>, StoreError> {
        let key = Key::failure(&failure.integration, failure.side, &failure.item);
        let item =
            item_at(&key, [(RECORD, encode(failure, "failure")?), (NOTED_MICROS, keys::micros(failure.noted_at))]);
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#noted) OR #noted <= :noted")
            .expression_attribute_names("#noted", NOTED_MICROS)
            .expression_attribute_values(":noted", keys::micros(failure.noted_at))
            .send()
            .await;
        match written {
            Ok(_) => Ok(None),
            Err(error) if is_condition_failure(&error) => {
                let stored = self.get(&key, "reading a failure").await?;
                Ok(Some(
                    stored.as_ref().map(decode_failure).transpose()?.map_or(failure.noted_at, |stored| stored.noted_at),
                ))
            }
            Err(error) => Err(self.failed("recording a failure", error)),
        }
    }
}

/// A failure record; its `noted_at` is the `noted` attribute's, which notes move without rewriting it.
fn decode_failure(item: &Item) -> Result<FailureRecord, StoreError> {
    let mut failure: FailureRecord = decode(item, "failure")?;
    if let Some(noted) = item.get(NOTED_MICROS).and_then(keys::instant_of_micros) {
        failure.noted_at = noted;
    }
    Ok(failure)
}
