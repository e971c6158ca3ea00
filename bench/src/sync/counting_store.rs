//! A store decorator that counts the engine's store calls and the time spent in each, per method, and
//! otherwise hands every call to the store it wraps unchanged. It tells how many store round trips one
//! synced change costs and how much of tandem's time is spent waiting on the store.

use async_trait::async_trait;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem_engine::ports::{
    ClaimOutcome, ClaimRequest, ConflictRecord, DeliveryStore, FailureRecord, Link, LinkStore, Noted, StoreError,
    SyncLog, WatermarkStore,
};
use tandem_model::{ItemId, Side, Timestamp};

/// Calls of one store method and the wall time they took, errors included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MethodTally {
    pub calls: u64,
    pub micros: u64,
}

/// Store calls per method name (`get_link`, `record_delivery`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreTally {
    pub methods: BTreeMap<&'static str, MethodTally>,
}

impl StoreTally {
    pub fn calls(&self) -> u64 {
        self.methods.values().map(|method| method.calls).sum()
    }

    pub fn time(&self) -> Duration {
        Duration::from_micros(self.methods.values().map(|method| method.micros).sum())
    }

    /// What happened after `earlier` was taken (methods with no calls in between are left out).
    pub fn since(&self, earlier: &StoreTally) -> StoreTally {
        let methods = self
            .methods
            .iter()
            .filter_map(|(name, now)| {
                let before = earlier.methods.get(name).copied().unwrap_or_default();
                let calls = now.calls.saturating_sub(before.calls);
                (calls > 0).then(|| (*name, MethodTally { calls, micros: now.micros.saturating_sub(before.micros) }))
            })
            .collect();
        StoreTally { methods }
    }
}

/// The engine's four store traits on `inner`, counted. Cheap to clone; clones share the counters.
pub struct CountingStore<S> {
    inner: Arc<S>,
    tally: Arc<Mutex<StoreTally>>,
}

impl<S> Clone for CountingStore<S> {
    fn clone(&self) -> Self {
        CountingStore { inner: self.inner.clone(), tally: self.tally.clone() }
    }
}

impl<S> CountingStore<S> {
    pub fn new(inner: Arc<S>) -> Self {
        CountingStore { inner, tally: Arc::default() }
    }

    /// Everything counted so far.
    pub fn tally(&self) -> StoreTally {
        self.lock().clone()
    }

    async fn counted<T>(&self, method: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let answer = call.await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut tally = self.lock();
        let method = tally.methods.entry(method).or_default();
        method.calls += 1;
        method.micros += micros;
        answer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreTally> {
        // Counters are plain additions: a poisoned lock still holds consistent figures.
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A handle that reads the counters of a [`CountingStore`] whatever store it wraps.
pub trait StoreCounters: Send + Sync {
    fn tally(&self) -> StoreTally;
}

impl<S: Send + Sync> StoreCounters for CountingStore<S> {
    fn tally(&self) -> StoreTally {
        CountingStore::tally(self)
    }
}

#[async_trait]
impl<S: LinkStore> LinkStore for CountingStore<S> {
    async fn get_link(&self, integration: &str, side: Side, item: &ItemId) -> Result<Option<Link>, StoreError> {
        self.counted("get_link", self.inner.get_link(integration, side, item)).await
    }

    async fn claim_creation(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        request: &ClaimRequest<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.counted("claim_creation", self.inner.claim_creation(integration, side, item, request)).await
    }

    async fn release_claim(&self, integration: &str, side: Side, item: &ItemId, owner: &str) -> Result<(), StoreError> {
        self.counted("release_claim", self.inner.release_claim(integration, side, item, owner)).await
    }

    async fn insert_link(&self, link: &Link, claimed_side: Side, owner: &str) -> Result<Link, StoreError> {
        self.counted("insert_link", self.inner.insert_link(link, claimed_side, owner)).await
    }

    async fn update_link(&self, link: &Link) -> Result<Link, StoreError> {
        self.counted("update_link", self.inner.update_link(link)).await
    }

    async fn list_links(&self, integration: &str) -> Result<Vec<Link>, StoreError> {
        self.counted("list_links", self.inner.list_links(integration)).await
    }
}

#[async_trait]
impl<S: WatermarkStore> WatermarkStore for CountingStore<S> {
    async fn get_watermark(&self, integration: &str, side: Side) -> Result<Option<Timestamp>, StoreError> {
        self.counted("get_watermark", self.inner.get_watermark(integration, side)).await
    }

    async fn set_watermark(&self, integration: &str, side: Side, at: Timestamp) -> Result<(), StoreError> {
        self.counted("set_watermark", self.inner.set_watermark(integration, side, at)).await
    }
}

#[async_trait]
impl<S: DeliveryStore> DeliveryStore for CountingStore<S> {
    async fn record_delivery(
        &self,
        integration: &str,
        side: Side,
        delivery: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.counted("record_delivery", self.inner.record_delivery(integration, side, delivery, now, expires_at)).await
    }
}

#[async_trait]
impl<S: SyncLog> SyncLog for CountingStore<S> {
    async fn record_conflict(&self, conflict: &ConflictRecord) -> Result<(), StoreError> {
        self.counted("record_conflict", self.inner.record_conflict(conflict)).await
    }

    async fn list_conflicts(&self, integration: &str) -> Result<Vec<ConflictRecord>, StoreError> {
        self.counted("list_conflicts", self.inner.list_conflicts(integration)).await
    }

    async fn record_failure(&self, failure: &FailureRecord) -> Result<(), StoreError> {
        self.counted("record_failure", self.inner.record_failure(failure)).await
    }

    async fn get_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
    ) -> Result<Option<FailureRecord>, StoreError> {
        self.counted("get_failure", self.inner.get_failure(integration, side, item)).await
    }

    async fn note_change(&self, note: &FailureRecord) -> Result<Noted, StoreError> {
        self.counted("note_change", self.inner.note_change(note)).await
    }

    async fn clear_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        read_from: Timestamp,
    ) -> Result<bool, StoreError> {
        self.counted("clear_failure", self.inner.clear_failure(integration, side, item, read_from)).await
    }

    async fn list_failures(&self, integration: &str) -> Result<Vec<FailureRecord>, StoreError> {
        self.counted("list_failures", self.inner.list_failures(integration)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::ItemRef;

    /// A store whose answers are recognisable, so a test can tell the decorator handed the call on and
    /// returned the inner store's answer unchanged.
    #[derive(Default)]
    struct Scripted {
        seen: Mutex<Vec<String>>,
    }

    impl Scripted {
        fn saw(&self, call: String) {
            self.seen.lock().unwrap().push(call);
        }
    }

    fn watermark() -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[async_trait]
    impl LinkStore for Scripted {
        async fn get_link(&self, integration: &str, side: Side, item: &ItemId) -> Result<Option<Link>, StoreError> {
            self.saw(format!("get_link {integration} {side} {item}"));
            Ok(None)
        }
        async fn claim_creation(
            &self,
            _: &str,
            _: Side,
            item: &ItemId,
            request: &ClaimRequest<'_>,
        ) -> Result<ClaimOutcome, StoreError> {
            self.saw(format!("claim_creation {item} {}", request.owner));
            Ok(ClaimOutcome::HeldElsewhere { until: watermark() })
        }
        async fn release_claim(&self, _: &str, _: Side, item: &ItemId, _: &str) -> Result<(), StoreError> {
            self.saw(format!("release_claim {item}"));
            Ok(())
        }
        async fn insert_link(&self, link: &Link, _: Side, _: &str) -> Result<Link, StoreError> {
            self.saw(format!("insert_link {}", link.side1.id));
            Err(StoreError::AlreadyExists { what: "the link".into() })
        }
        async fn update_link(&self, link: &Link) -> Result<Link, StoreError> {
            self.saw(format!("update_link {}", link.version));
            Ok(Link { version: link.version + 1, ..link.clone() })
        }
        async fn list_links(&self, integration: &str) -> Result<Vec<Link>, StoreError> {
            self.saw(format!("list_links {integration}"));
            Ok(Vec::new())
        }
    }

    #[async_trait]
    impl WatermarkStore for Scripted {
        async fn get_watermark(&self, _: &str, side: Side) -> Result<Option<Timestamp>, StoreError> {
            self.saw(format!("get_watermark {side}"));
            Ok(Some(watermark()))
        }
        async fn set_watermark(&self, _: &str, side: Side, at: Timestamp) -> Result<(), StoreError> {
            self.saw(format!("set_watermark {side} {}", at.timestamp()));
            Ok(())
        }
    }

    #[async_trait]
    impl DeliveryStore for Scripted {
        async fn record_delivery(
            &self,
            _: &str,
            _: Side,
            delivery: &str,
            _: Timestamp,
            _: Timestamp,
        ) -> Result<bool, StoreError> {
            self.saw(format!("record_delivery {delivery}"));
            Ok(delivery == "first")
        }
    }

    #[async_trait]
    impl SyncLog for Scripted {
        async fn record_conflict(&self, conflict: &ConflictRecord) -> Result<(), StoreError> {
            self.saw(format!("record_conflict {}", conflict.field));
            Ok(())
        }
        async fn list_conflicts(&self, _: &str) -> Result<Vec<ConflictRecord>, StoreError> {
            self.saw("list_conflicts".into());
            Ok(Vec::new())
        }
        async fn record_failure(&self, failure: &FailureRecord) -> Result<(), StoreError> {
            self.saw(format!("record_failure {}", failure.item));
            Ok(())
        }
        async fn get_failure(&self, _: &str, _: Side, item: &ItemId) -> Result<Option<FailureRecord>, StoreError> {
            self.saw(format!("get_failure {item}"));
            Ok(None)
        }
        async fn note_change(&self, note: &FailureRecord) -> Result<Noted, StoreError> {
            self.saw(format!("note_change {}", note.item));
            Ok(Noted::Created)
        }
        async fn clear_failure(&self, _: &str, _: Side, item: &ItemId, _: Timestamp) -> Result<bool, StoreError> {
            self.saw(format!("clear_failure {item}"));
            Err(StoreError::Unavailable { message: "down".into(), source: None })
        }
        async fn list_failures(&self, _: &str) -> Result<Vec<FailureRecord>, StoreError> {
            self.saw("list_failures".into());
            Ok(Vec::new())
        }
    }

    fn link() -> Link {
        let item = |id: &str| ItemRef { id: ItemId::new(id), key: None, url: None };
        Link {
            integration: "demo".into(),
            side1: item("OPS-1"),
            side2: item("7"),
            fields: BTreeMap::new(),
            comments: Vec::new(),
            pending_writes: BTreeMap::new(),
            seen: Default::default(),
            created_at: watermark(),
            synced_at: watermark(),
            version: 3,
        }
    }

    fn failure() -> FailureRecord {
        FailureRecord {
            integration: "demo".into(),
            side: Side::One,
            item: ItemId::new("OPS-1"),
            error: "boom".into(),
            retryable: true,
            attempts: 1,
            first_failed_at: watermark(),
            last_failed_at: watermark(),
            next_attempt_at: None,
            parked: false,
            noted_at: watermark(),
        }
    }

    #[tokio::test]
    async fn every_call_reaches_the_inner_store_and_its_answer_comes_back() {
        let inner = Arc::new(Scripted::default());
        let store = CountingStore::new(inner.clone());
        let id = ItemId::new("OPS-1");
        assert_eq!(store.get_link("demo", Side::One, &id).await.unwrap(), None);
        assert!(matches!(
            store
                .claim_creation(
                    "demo",
                    Side::One,
                    &id,
                    &ClaimRequest {
                        owner: "me",
                        now: watermark(),
                        lease_until: watermark(),
                        sending: None,
                        settled: None,
                        search_lag: chrono::Duration::zero(),
                    }
                )
                .await
                .unwrap(),
            ClaimOutcome::HeldElsewhere { .. }
        ));
        store.release_claim("demo", Side::One, &id, "me").await.unwrap();
        assert!(matches!(store.insert_link(&link(), Side::One, "me").await, Err(StoreError::AlreadyExists { .. })));
        assert_eq!(store.update_link(&link()).await.unwrap().version, 4);
        assert!(store.list_links("demo").await.unwrap().is_empty());
        assert_eq!(store.get_watermark("demo", Side::Two).await.unwrap(), Some(watermark()));
        store.set_watermark("demo", Side::Two, watermark()).await.unwrap();
        assert!(store.record_delivery("demo", Side::One, "first", watermark(), watermark()).await.unwrap());
        assert!(!store.record_delivery("demo", Side::One, "again", watermark(), watermark()).await.unwrap());
        store.record_failure(&failure()).await.unwrap();
        assert_eq!(store.get_failure("demo", Side::One, &id).await.unwrap(), None);
        assert_eq!(store.note_change(&failure()).await.unwrap(), Noted::Created);
        assert!(store.clear_failure("demo", Side::One, &id, watermark()).await.unwrap_err().is_retryable());
        assert!(store.list_failures("demo").await.unwrap().is_empty());
        assert!(store.list_conflicts("demo").await.unwrap().is_empty());

        let seen = inner.seen.lock().unwrap().clone();
        assert_eq!(seen[0], "get_link demo 1 OPS-1");
        assert_eq!(seen[7], "set_watermark 2 1700000000");
        assert_eq!(seen.len(), 16, "{seen:?}");

        let tally = store.tally();
        assert_eq!(tally.calls(), 16);
        assert_eq!(tally.methods["record_delivery"].calls, 2);
        assert_eq!(tally.methods["clear_failure"].calls, 1, "failed calls are counted too");
        assert!(!tally.methods.contains_key("record_conflict"));
    }

    #[tokio::test]
    async fn a_later_tally_minus_an_earlier_one_is_what_happened_in_between() {
        let store = CountingStore::new(Arc::new(Scripted::default()));
        let id = ItemId::new("OPS-2");
        store.get_link("demo", Side::One, &id).await.unwrap();
        let before = store.tally();
        store.get_link("demo", Side::One, &id).await.unwrap();
        store.update_link(&link()).await.unwrap();
        store.update_link(&link()).await.unwrap();
        let between = store.tally().since(&before);
        assert_eq!(between.calls(), 3);
        assert_eq!(between.methods["get_link"].calls, 1);
        assert_eq!(between.methods["update_link"].calls, 2);
        assert_eq!(store.tally().since(&store.tally()), StoreTally::default());
        // A clone shares the counters, as the engine's four store handles must.
        let clone = store.clone();
        clone.list_links("demo").await.unwrap();
        assert_eq!(store.tally().methods["list_links"].calls, 1);
    }
}
