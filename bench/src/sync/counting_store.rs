//! A store interceptor that counts the engine's store calls and the time spent in each, per method, and
//! otherwise hands every call to the store it wraps unchanged. It tells how many store round trips one
//! synced change costs and how much of tandem's time is spent waiting on the store.

use async_trait::async_trait;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem_engine::ports::StoreError;
use tandem_store::intercept::{Intercepted, Interceptor, StoreCall, Work};

/// Calls of one store method and the wall time they took, errors included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MethodTally {
    pub calls: u64,
    pub micros: u64,
}

/// Store calls per method name (`get_link`, `update_link`, …).
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

/// Counts the store calls passing through it and the time each took, per method.
#[derive(Debug, Clone, Default)]
pub struct Counter {
    tally: Arc<Mutex<StoreTally>>,
}

impl Counter {
    /// Everything counted so far.
    pub fn tally(&self) -> StoreTally {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreTally> {
        // Counters are plain additions: a poisoned lock still holds consistent figures.
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Interceptor for Counter {
    async fn around<'a, T: Send + 'a>(&self, call: StoreCall, work: Work<'a, T>) -> Result<T, StoreError> {
        let started = Instant::now();
        let answer = work.await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut tally = self.lock();
        let method = tally.methods.entry(call.name).or_default();
        method.calls += 1;
        method.micros += micros;
        answer
    }
}

/// The engine's four store traits on a store, counted.
pub type CountingStore<S> = Intercepted<S, Counter>;

/// `inner`, counted.
pub fn counting<S>(inner: Arc<S>) -> CountingStore<S> {
    Intercepted::new(inner, Counter::default())
}

/// A handle that reads the counters of a [`CountingStore`] whatever store it wraps.
pub trait StoreCounters: Send + Sync {
    fn tally(&self) -> StoreTally;
}

impl<S: Send + Sync> StoreCounters for CountingStore<S> {
    fn tally(&self) -> StoreTally {
        self.interceptor().tally()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_engine::ports::{LinkStore, WatermarkStore};
    use tandem_model::{ItemId, Side};

    #[tokio::test]
    async fn calls_are_counted_per_method_failed_ones_too_and_tallies_subtract() {
        let folder = tempfile::tempdir().unwrap();
        let embedded = Arc::new(tandem_store::EmbeddedStore::open(&folder.path().join("bench.redb")).unwrap());
        let store = counting(embedded);
        let id = ItemId::new("OPS-1");
        assert_eq!(store.get_link("demo", Side::One, &id).await.unwrap(), None);
        let before = store.tally();
        store.get_link("demo", Side::One, &id).await.unwrap();
        store.set_watermark("demo", Side::Two, chrono::DateTime::UNIX_EPOCH).await.unwrap();
        let failed = store.insert_link(&unclaimed_link(), Side::One, "nobody").await;
        assert!(failed.is_err(), "a link nobody claimed is refused");
        let between = store.tally().since(&before);
        assert_eq!(between.calls(), 3);
        assert_eq!(between.methods["get_link"].calls, 1);
        assert_eq!(between.methods["insert_link"].calls, 1, "failed calls are counted too");
        assert_eq!(store.tally().calls(), 4);
        assert_eq!(store.tally().since(&store.tally()), StoreTally::default());
    }

    fn unclaimed_link() -> tandem_engine::ports::Link {
        let item = |id: &str| tandem_model::ItemRef::new(ItemId::new(id));
        let at = chrono::DateTime::UNIX_EPOCH;
        tandem_engine::ports::Link {
            integration: "demo".into(),
            side1: item("OPS-1"),
            side2: item("7"),
            fields: Default::default(),
            comments: Vec::new(),
            attachments: Vec::new(),
            pending_writes: Default::default(),
            announced_by: None,
            seen: Default::default(),
            deliveries: Vec::new(),
            failure_recorded: false,
            created_at: at,
            synced_at: at,
            version: 0,
        }
    }
}
