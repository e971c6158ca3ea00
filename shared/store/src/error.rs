//! How redb and JSON failures become the engine's `StoreError`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tandem_engine::ports::StoreError;

/// Maps any redb failure to `StoreError`, naming what the store was doing. A corrupt file is `Corrupt`
/// (retrying will not help); everything else (I/O, a second process holding the file) is `Unavailable`
/// with the redb error kept as the source.
pub(crate) trait OrUnavailable<T> {
    fn or_unavailable(self, doing: &str) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> OrUnavailable<T> for Result<T, E> {
    fn or_unavailable(self, doing: &str) -> Result<T, StoreError> {
        self.map_err(|error| from_redb(doing, error.into()))
    }
}

fn from_redb(doing: &str, error: redb::Error) -> StoreError {
    match error {
        redb::Error::Corrupted(detail) => {
            StoreError::Corrupt { message: format!("{doing}: the store file is damaged: {detail}") }
        }
        other => StoreError::Unavailable { message: format!("{doing}: {other}"), source: Some(Box::new(other)) },
    }
}

/// The store's blocking work ran on a worker thread that panicked or was cancelled.
pub(crate) fn worker_failed(doing: &str, error: tokio::task::JoinError) -> StoreError {
    StoreError::Unavailable {
        message: format!("{doing}: the store's worker thread failed"),
        source: Some(Box::new(error)),
    }
}

pub(crate) fn encode<T: Serialize>(record: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|error| StoreError::Corrupt { message: format!("{what} cannot be written as JSON: {error}") })
}

pub(crate) fn decode<T: DeserializeOwned>(json: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|error| StoreError::Corrupt { message: format!("stored {what} is not valid: {error}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_failures_are_retryable_and_keep_the_redb_error() {
        let failed: Result<(), redb::StorageError> = Err(redb::StorageError::Io(std::io::Error::other("disk gone")));
        let error = failed.or_unavailable("reading links").unwrap_err();
        assert!(error.is_retryable());
        assert!(error.to_string().contains("reading links"), "{error}");
        assert!(error.source().is_some_and(|source| source.to_string().contains("disk gone")));
    }

    #[test]
    fn a_damaged_file_is_corrupt_and_not_retryable() {
        let failed: Result<(), redb::StorageError> = Err(redb::StorageError::Corrupted("bad page".into()));
        let error = failed.or_unavailable("reading links").unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        assert!(!error.is_retryable());
    }

    #[test]
    fn undecodable_records_are_corrupt_and_say_which_record() {
        let error = decode::<u64>("{not json", "watermark").unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }));
        assert!(error.to_string().contains("watermark"), "{error}");
    }
}
