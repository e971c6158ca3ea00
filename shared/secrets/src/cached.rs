//! A time-limited cache in front of a secret source, so a sync does not read the secret store on every
//! request, and rotated credentials are picked up after the TTL or at once on `invalidate`.

use async_trait::async_trait;
use chrono::TimeDelta;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tandem_engine::ports::{Clock, SecretError, SecretSource, SystemClock};
use tandem_model::{Credentials, Timestamp};

pub struct CachedSecrets<S> {
    source: S,
    ttl: TimeDelta,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    credentials: Credentials,
    fresh_until: Timestamp,
}

impl<S: SecretSource> CachedSecrets<S> {
    /// Caches what `source` returns for `ttl`, by the system clock.
    pub fn new(source: S, ttl: Duration) -> CachedSecrets<S> {
        CachedSecrets::with_clock(source, ttl, Arc::new(SystemClock))
    }

    pub fn with_clock(source: S, ttl: Duration, clock: Arc<dyn Clock>) -> CachedSecrets<S> {
        CachedSecrets {
            source,
            // A TTL beyond chrono's range means "never expires" in practice.
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX),
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached credentials of `name`, so the next read asks the source: for when a target
    /// answers 401 because the credentials were rotated.
    pub fn invalidate(&self, name: &str) {
        self.entries().remove(name);
    }

    /// The cache stays usable after a panic elsewhere: every entry is complete on its own.
    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl<S: SecretSource> SecretSource for CachedSecrets<S> {
    /// Errors are not cached: a secret created or a store recovered is seen on the next read. Two
    /// concurrent misses may both read the source; both get the same answer.
    async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        let now = self.clock.now();
        if let Some(entry) = self.entries().get(name).filter(|entry| entry.fresh_until > now) {
            return Ok(entry.credentials.clone());
        }
        let credentials = self.source.credentials(name).await?;
        self.keep(name, credentials.clone(), now);
        Ok(credentials)
    }

    /// Reads the names not cached (or no longer fresh) ahead, together, and keeps what was read.
    async fn read_ahead(&self, names: &[String]) -> Vec<(String, Credentials)> {
        let now = self.clock.now();
        let missing: Vec<String> = {
            let entries = self.entries();
            let fresh = |name: &String| entries.get(name).is_some_and(|entry| entry.fresh_until > now);
            names.iter().filter(|name| !fresh(name)).cloned().collect()
        };
        if missing.is_empty() {
            return Vec::new();
        }
        let read = self.source.read_ahead(&missing).await;
        for (name, credentials) in &read {
            self.keep(name, credentials.clone(), now);
        }
        read
    }
}

impl<S> CachedSecrets<S> {
    fn keep(&self, name: &str, credentials: Credentials, read_at: Timestamp) {
        let fresh_until = read_at.checked_add_signed(self.ttl).unwrap_or(Timestamp::MAX_UTC);
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), Entry { credentials, fresh_until });
    }
}

impl<S: fmt::Debug> fmt::Debug for CachedSecrets<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cached: Vec<String> =
            self.entries.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        cached.sort();
        f.debug_struct("CachedSecrets")
            .field("source", &self.source)
            .field("ttl", &self.ttl)
            .field("cached", &cached)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tandem_model::SecretString;

    /// A source whose current PAT can be rotated and which counts its reads (one secret each) and its
    /// reads ahead (several at once; a secret named `unreadable` is always left out of them).
    #[derive(Default)]
    struct RotatingSource {
        pat: Mutex<Option<String>>,
        reads: AtomicUsize,
        reads_ahead: Mutex<Vec<Vec<String>>>,
    }

    impl RotatingSource {
        fn rotate(&self, pat: &str) {
            *self.pat.lock().unwrap() = Some(pat.to_owned());
        }
    }

    #[async_trait]
    impl SecretSource for RotatingSource {
        async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            match self.pat.lock().unwrap().as_deref() {
                Some(pat) => Ok(Credentials::AzureDevopsPat { pat: SecretString::new(pat) }),
                None => Err(SecretError::NotFound { name: name.to_owned() }),
            }
        }

        async fn read_ahead(&self, names: &[String]) -> Vec<(String, Credentials)> {
            self.reads_ahead.lock().unwrap().push(names.to_vec());
            let pat = self.pat.lock().unwrap().clone();
            names
                .iter()
                .filter(|name| *name != "unreadable")
                .filter_map(|name| {
                    Some((name.clone(), Credentials::AzureDevopsPat { pat: SecretString::new(pat.as_deref()?) }))
                })
                .collect()
        }
    }

    struct ManualClock(Mutex<Timestamp>);

    impl ManualClock {
        fn advance(&self, seconds: i64) {
            *self.0.lock().unwrap() += TimeDelta::seconds(seconds);
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().unwrap()
        }
    }

    fn pat(value: &str) -> Credentials {
        Credentials::AzureDevopsPat { pat: SecretString::new(value) }
    }

    fn cache() -> (CachedSecrets<RotatingSource>, Arc<ManualClock>) {
        let source = RotatingSource::default();
        source.rotate("pat-1");
        let clock = Arc::new(ManualClock(Mutex::new(chrono::Utc::now())));
        let cached = CachedSecrets::with_clock(source, Duration::from_secs(300), clock.clone());
        (cached, clock)
    }

    #[tokio::test]
    async fn reads_within_the_ttl_are_served_from_the_cache() {
        let (cached, clock) = cache();
        let source = &cached.source;
        assert_eq!(cached.credentials("ado").await.unwrap(), pat("pat-1"));
        source.rotate("pat-2");
        clock.advance(299);
        assert_eq!(cached.credentials("ado").await.unwrap(), pat("pat-1"));
        assert_eq!(source.reads.load(Ordering::SeqCst), 1);

        clock.advance(1);
        assert_eq!(cached.credentials("ado").await.unwrap(), pat("pat-2"), "expired entries are re-read");
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn invalidating_picks_up_rotated_credentials_at_once() {
        let (cached, _clock) = cache();
        let source = &cached.source;
        cached.credentials("ado").await.unwrap();
        cached.credentials("other").await.unwrap();
        source.rotate("pat-2");
        cached.invalidate("ado");
        assert_eq!(cached.credentials("ado").await.unwrap(), pat("pat-2"));
        assert_eq!(cached.credentials("other").await.unwrap(), pat("pat-1"), "other names stay cached");
        assert_eq!(source.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let (cached, _clock) = cache();
        let source = &cached.source;
        *source.pat.lock().unwrap() = None;
        let missing = cached.credentials("ado").await.unwrap_err();
        assert!(matches!(missing, SecretError::NotFound { .. }), "{missing:?}");
        source.rotate("pat-3");
        assert_eq!(cached.credentials("ado").await.unwrap(), pat("pat-3"));
    }

    #[tokio::test]
    async fn secrets_read_ahead_together_are_served_from_the_cache() {
        let (cached, clock) = cache();
        let source = &cached.source;
        cached.credentials("jira").await.unwrap();
        let names: Vec<String> = ["jira", "ado", "unreadable"].map(String::from).to_vec();
        let read = cached.read_ahead(&names).await;
        assert_eq!(read.len(), 1, "what was read ahead: {:?}", read.iter().map(|(name, _)| name).collect::<Vec<_>>());
        assert_eq!(
            *source.reads_ahead.lock().unwrap(),
            [["ado", "unreadable"]],
            "only what the cache lacks, in one read"
        );
        assert_eq!(cached.credentials("ado").await.unwrap(), pat("pat-1"));
        assert_eq!(source.reads.load(Ordering::SeqCst), 1, "read ahead, not again");
        assert_eq!(cached.credentials("unreadable").await.unwrap(), pat("pat-1"), "left out, then read alone");
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);

        assert!(cached.read_ahead(&names).await.is_empty(), "everything is fresh");
        assert_eq!(source.reads_ahead.lock().unwrap().len(), 1);
        clock.advance(300);
        cached.read_ahead(&names).await;
        assert_eq!(source.reads_ahead.lock().unwrap().len(), 2, "expired entries are read ahead again");
    }

    #[test]
    fn a_huge_ttl_never_expires_instead_of_overflowing() {
        let cached = CachedSecrets::new(RotatingSource::default(), Duration::MAX);
        assert_eq!(cached.ttl, TimeDelta::MAX);
    }
}
