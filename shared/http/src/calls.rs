//! How many calls each system was sent, and how many it answered "slow down" (a 429, or the system's own
//! way of saying it), since the counts were last taken. The functions report them as metrics per
//! system; counting costs a lock per call, nothing on the wire.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// Calls to one system, and how many of them were refused for its rate limit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CallCounts {
    pub calls: u64,
    pub rate_limited: u64,
}

static COUNTS: Mutex<BTreeMap<&'static str, CallCounts>> = Mutex::new(BTreeMap::new());

/// Counts one call to `system` (by its slug).
pub(crate) fn record(system: &'static str, rate_limited: bool) {
    let mut counts = COUNTS.lock().unwrap_or_else(PoisonError::into_inner);
    let count = counts.entry(system).or_default();
    count.calls += 1;
    count.rate_limited += u64::from(rate_limited);
}

/// The counts per system slug since they were last taken; counting starts again from zero.
pub fn take_call_counts() -> BTreeMap<&'static str, CallCounts> {
    std::mem::take(&mut *COUNTS.lock().unwrap_or_else(PoisonError::into_inner))
}
