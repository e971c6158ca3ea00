//! A store as slow and contended as DynamoDB gets under load: writes that fail with a transaction
//! conflict or a throttling error before they are made, and calls that take their time. Seeded, and
//! switched off for the settling phase like every other fault.

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tandem_engine::ports::StoreError;
use tandem_simulators::faults::LatencyRange;
use tandem_store::intercept::{Interceptor, StoreCall, Work};

/// How often the store misbehaves, as shares of calls.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StoreFaults {
    /// Writes refused as a conflicting transaction (nothing written; the engine reads again and retries).
    pub conflict_rate: f64,
    /// Calls refused as unavailable (throttled, a 5xx), before anything was done.
    pub unavailable_rate: f64,
    /// Added to every call.
    pub latency_ms: LatencyRange,
}

impl StoreFaults {
    pub fn none() -> Self {
        StoreFaults { conflict_rate: 0.0, unavailable_rate: 0.0, latency_ms: LatencyRange::default() }
    }
}

/// What the store's faults did.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StoreFaultStats {
    pub calls: u64,
    pub conflicts: u64,
    pub unavailable: u64,
}

/// The interceptor that injects [`StoreFaults`].
pub struct FlakyStore {
    faults: StoreFaults,
    armed: AtomicBool,
    rng: Mutex<StdRng>,
    calls: AtomicU64,
    conflicts: AtomicU64,
    unavailable: AtomicU64,
}

/// What one call meets.
enum Fate {
    Conflict,
    Unavailable,
    Served { delay: Duration },
}

impl FlakyStore {
    pub fn new(faults: StoreFaults, seed: u64) -> Self {
        FlakyStore {
            faults,
            armed: AtomicBool::new(true),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            calls: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
        }
    }

    /// From now on every call is served at once.
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    pub fn stats(&self) -> StoreFaultStats {
        StoreFaultStats {
            calls: self.calls.load(Ordering::Relaxed),
            conflicts: self.conflicts.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
        }
    }

    fn fate(&self, call: StoreCall) -> Fate {
        if !self.armed.load(Ordering::SeqCst) {
            return Fate::Served { delay: Duration::ZERO };
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut rng = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let roll: f64 = rng.random();
        if call.writes && roll < self.faults.conflict_rate {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
            return Fate::Conflict;
        }
        if roll < self.faults.conflict_rate + self.faults.unavailable_rate {
            self.unavailable.fetch_add(1, Ordering::Relaxed);
            return Fate::Unavailable;
        }
        let LatencyRange { min, max } = self.faults.latency_ms;
        Fate::Served { delay: Duration::from_millis(rng.random_range(min..=max.max(min))) }
    }
}

#[async_trait]
impl Interceptor for FlakyStore {
    async fn around<'a, T: Send + 'a>(&self, call: StoreCall, work: Work<'a, T>) -> Result<T, StoreError> {
        match self.fate(call) {
            Fate::Conflict => {
                Err(StoreError::Conflict { what: format!("{} (an injected transaction conflict)", call.name) })
            }
            Fate::Unavailable => Err(StoreError::Unavailable {
                message: format!("{} (an injected throttling error)", call.name),
                source: None,
            }),
            Fate::Served { delay } => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                work.await
            }
        }
    }
}
