//! The embedded store's handle: one redb file, opened once per process.

use crate::error::{worker_failed, OrUnavailable};
use crate::tables::{CLAIMS, CONFLICTS, FAILURES, HISTORY, LINKS, LINK_INDEX, POLL_TALLIES, WATERMARKS};
use redb::{Builder, Database, Durability, ReadTransaction, ReadableDatabase, WriteTransaction};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tandem_engine::ports::StoreError;

/// The pages of the file kept in memory. redb's default (1 GiB) would let the cache grow with the
/// file, a backfill's links and history with it; reads that miss still come from the operating
/// system's page cache, not the disk.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Links, watermarks, conflicts, failures and history in one local file. Every write is one redb
/// transaction, committed durably before the call returns, so a killed and restarted `tandem serve`
/// finds exactly what it had acknowledged; an item's history, which only operators read, is flushed
/// with the next durable commit instead (a process killed in between loses that entry). redb admits one write transaction at a time, which is what
/// makes the conditional writes (claims, versioned updates, noted changes) atomic.
///
/// Cloning is cheap: clones share the open database.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    database: Database,
    path: PathBuf,
    /// The folder of a throw-away store, deleted when the last clone is dropped.
    #[cfg(feature = "conformance")]
    _temporary_folder: Option<tempfile::TempDir>,
}

impl EmbeddedStore {
    /// Opens the store file at `path`, creating it (and its folder) when missing. Blocks on file I/O:
    /// call it at start-up, before serving. Fails with `Unavailable` when another process has the file
    /// open.
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        let doing = format!("opening the store file {}", path.display());
        if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|error| StoreError::Unavailable {
                message: format!("{doing}: cannot create its folder: {error}"),
                source: Some(Box::new(error)),
            })?;
        }
        let database = Builder::new().set_cache_size(CACHE_BYTES).create(path).or_unavailable(&doing)?;
        create_tables(&database).or_unavailable(&doing)?;
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                database,
                path: path.to_path_buf(),
                #[cfg(feature = "conformance")]
                _temporary_folder: None,
            }),
        })
    }

    /// A store in a new temporary folder, deleted with the store: for tests.
    #[cfg(feature = "conformance")]
    pub fn in_temp_dir() -> Result<EmbeddedStore, StoreError> {
        let folder = tempfile::tempdir().map_err(|error| StoreError::Unavailable {
            message: format!("creating a temporary folder for a store: {error}"),
            source: Some(Box::new(error)),
        })?;
        let opened = EmbeddedStore::open(&folder.path().join("tandem.redb"))?;
        let inner = Arc::try_unwrap(opened.inner).map_err(|_| StoreError::Unavailable {
            message: "a store just opened is shared already".to_owned(),
            source: None,
        })?;
        Ok(EmbeddedStore { inner: Arc::new(Inner { _temporary_folder: Some(folder), ..inner }) })
    }

    /// The database itself, for tests that damage records on purpose.
    #[cfg(test)]
    pub(crate) fn database(&self) -> &Database {
        &self.inner.database
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work`, a read of a few records by key, in a read transaction (a consistent snapshot) where
    /// it is asked. It comes from the store's cache or the operating system's page cache in microseconds
    /// and never waits for a writer (redb's readers see the last commit): handing it to a blocking thread
    /// would cost more than the read, many times more on a busy machine, where waking that thread waits
    /// for a core.
    pub(crate) async fn read<T, F>(&self, doing: &'static str, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    {
        let transaction = self.inner.database.begin_read().or_unavailable(doing)?;
        work(&transaction)
    }

    /// Runs `work`, a listing that may read many records, in a read transaction on a blocking thread, so
    /// the async workers are not held while it reads.
    pub(crate) async fn scan<T, F>(&self, doing: &'static str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let transaction = inner.database.begin_read().or_unavailable(doing)?;
            work(&transaction)
        })
        .await
        .map_err(|error| worker_failed(doing, error))?
    }

    /// Runs `work` in a write transaction on a blocking thread and commits it durably when `work`
    /// succeeds. An error from `work` aborts the transaction, so a refused conditional write leaves no
    /// trace.
    pub(crate) async fn write<T, F>(&self, doing: &'static str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        self.commit(doing, Durability::Immediate, work).await
    }

    /// As [`write`](Self::write), for records only operators read (an item's history): the commit is
    /// not flushed to the disk by itself but with the next durable one, which a sync's next link write
    /// makes, so a sync pays one flush less. A process killed in between loses that entry, never a link.
    pub(crate) async fn write_for_operators<T, F>(&self, doing: &'static str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        self.commit(doing, Durability::None, work).await
    }

    /// Commits on the calling thread when the runtime has others to take over its tasks meanwhile
    /// (`block_in_place`: no other thread to wake for a commit of a fraction of a millisecond), on a
    /// blocking thread otherwise.
    async fn commit<T, F>(&self, doing: &'static str, durability: Durability, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let commit = move || {
            let mut transaction = inner.database.begin_write().or_unavailable(doing)?;
            transaction.set_durability(durability).or_unavailable(doing)?;
            let outcome = work(&transaction)?;
            transaction.commit().or_unavailable(doing)?;
            Ok(outcome)
        };
        if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            return tokio::task::block_in_place(commit);
        }
        tokio::task::spawn_blocking(commit).await.map_err(|error| worker_failed(doing, error))?
    }
}

/// Read transactions cannot open a table that was never created, so a new file gets all of them.
fn create_tables(database: &Database) -> Result<(), redb::Error> {
    let transaction = database.begin_write()?;
    transaction.open_table(LINKS)?;
    transaction.open_table(LINK_INDEX)?;
    transaction.open_table(CLAIMS)?;
    transaction.open_table(WATERMARKS)?;
    transaction.open_table(POLL_TALLIES)?;
    transaction.open_table(CONFLICTS)?;
    transaction.open_table(FAILURES)?;
    transaction.open_table(HISTORY)?;
    transaction.commit()?;
    Ok(())
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore").field("path", &self.inner.path).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_of_the_same_file_is_refused_and_names_the_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("nested").join("tandem.redb");
        let first = EmbeddedStore::open(&path).unwrap();
        let error = EmbeddedStore::open(&path).unwrap_err();
        assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
        assert!(error.to_string().contains("tandem.redb"), "{error}");
        drop(first);
        EmbeddedStore::open(&path).unwrap();
    }
}
