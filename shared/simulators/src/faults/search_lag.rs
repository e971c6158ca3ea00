//! Searches that lag behind writes (the plan's `search_lag_ms`): Jira documents that "recent updates
//! might not be immediately visible" to JQL search, and Azure DevOps' WIQL runs against an index that
//! catches up the same way.
//!
//! Each change of an item is recorded as a version that becomes visible to searches at its own instant.
//! A search sees, of each item, the newest version already visible: the current state when that is the
//! newest version, nothing when even the item's creation is not visible yet. Reads of one item never go
//! through here; they stay current.
//!
//! Memory stays bounded: versions older than the newest visible one are dropped, and an item whose
//! newest version is visible needs no entry at all (searches see its current state).

use super::Faults;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// What a search sees of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen<'a, V> {
    /// The item as it is now.
    Current,
    /// An older state of the item.
    Version(&'a V),
    /// Nothing: the item's creation is not visible yet.
    Absent,
}

/// One state of an item and when searches may see it; `None` is "the item did not exist yet".
#[derive(Debug, Clone)]
struct Version<V> {
    visible_at: Instant,
    value: Option<V>,
}

/// The versions of items, keyed by item id, that searches do not all see yet, and the faults whose plan
/// draws each change's delay.
#[derive(Debug, Clone)]
pub(crate) struct SearchLag<V> {
    faults: Faults,
    pending: BTreeMap<u64, VecDeque<Version<V>>>,
}

impl<V> Default for SearchLag<V> {
    /// Never lags (a plan is never set on these faults).
    fn default() -> Self {
        SearchLag::new(Faults::default())
    }
}

impl<V: Clone> SearchLag<V> {
    /// Keeps `current` as the state of item `key` in `items`: under a plan with a search lag, searches see
    /// the change after a drawn delay; without one, they see everything at once.
    pub(crate) fn store<K: Copy + Ord + Into<u64>>(&mut self, items: &mut BTreeMap<K, V>, key: K, current: V) {
        match self.faults.draw_search_lag() {
            Some(delay) => {
                let previous = items.insert(key, current.clone());
                self.record(key.into(), previous, current, Instant::now(), delay);
            }
            None => {
                self.clear();
                items.insert(key, current);
            }
        }
    }

    /// Brings what searches see up to now; without a search lag in the plan, everything is visible.
    pub(crate) fn settle_now(&mut self) {
        if self.faults.lags_searches() {
            self.settle(Instant::now());
        } else {
            self.clear();
        }
    }

    /// The `items` (id and current state) as searches see them, as of the last settling: each in the
    /// newest version already visible, without those whose creation is not visible yet.
    pub(crate) fn visible<'a>(
        &'a self,
        items: impl Iterator<Item = (u64, &'a V)> + 'a,
    ) -> impl Iterator<Item = &'a V> + 'a {
        items.filter_map(|(key, current)| match self.seen(key) {
            Seen::Current => Some(current),
            Seen::Version(version) => Some(version),
            Seen::Absent => None,
        })
    }
}

impl<V> SearchLag<V> {
    pub(crate) fn new(faults: Faults) -> Self {
        SearchLag { faults, pending: BTreeMap::new() }
    }

    /// Records that item `key` changed from `previous` (`None` when it was just created) to `current` at
    /// `now`, a change searches see after `delay`. Until then they see the state before it, which was
    /// visible already.
    fn record(&mut self, key: u64, previous: Option<V>, current: V, now: Instant, delay: Duration) {
        let versions =
            self.pending.entry(key).or_insert_with(|| VecDeque::from([Version { visible_at: now, value: previous }]));
        versions.push_back(Version { visible_at: now + delay, value: Some(current) });
        settle_versions(versions, now);
    }

    /// Makes every change visible at once (the plan no longer lags).
    fn clear(&mut self) {
        self.pending.clear();
    }

    /// Drops what no search can see any more at `now`: call before [`seen`](Self::seen).
    fn settle(&mut self, now: Instant) {
        self.pending.retain(|_, versions| {
            settle_versions(versions, now);
            !is_current(versions)
        });
    }

    /// What a search sees of item `key`, as of the last [`settle`](Self::settle).
    fn seen(&self, key: u64) -> Seen<'_, V> {
        match self.pending.get(&key).and_then(VecDeque::front) {
            None => Seen::Current,
            Some(Version { value: Some(value), .. }) => Seen::Version(value),
            Some(Version { value: None, .. }) => Seen::Absent,
        }
    }

    /// How many versions are kept (for tests of the memory bound).
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.pending.values().map(VecDeque::len).sum()
    }
}

/// Drops the versions older than the newest one visible at `now`, which then comes first. Delays are
/// drawn per change, so a later change may become visible before an earlier one; the earlier one is then
/// never seen.
fn settle_versions<V>(versions: &mut VecDeque<Version<V>>, now: Instant) {
    if let Some(newest_visible) = versions.iter().rposition(|version| version.visible_at <= now) {
        versions.drain(..newest_visible);
    }
}

/// A single visible version that is the newest is the current state: the entry can go.
fn is_current<V>(versions: &VecDeque<Version<V>>) -> bool {
    versions.len() == 1 && versions.front().is_some_and(|version| version.value.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_new_item_is_absent_until_its_creation_is_visible() {
        let start = Instant::now();
        let mut lag = SearchLag::default();
        lag.record(1, None, "created", start, 10 * MS);
        lag.settle(start + 5 * MS);
        assert_eq!(lag.seen(1), Seen::Absent);
        assert_eq!(lag.seen(2), Seen::Current, "an item never recorded is seen as it is");
        lag.settle(start + 10 * MS);
        assert_eq!(lag.seen(1), Seen::Current);
        assert_eq!(lag.kept(), 0);
    }

    #[test]
    fn a_change_shows_the_state_before_it_until_it_is_visible() {
        let start = Instant::now();
        let mut lag = SearchLag::default();
        lag.record(1, Some("v1"), "v2", start, 10 * MS);
        lag.record(1, Some("v2"), "v3", start + MS, 30 * MS);
        lag.settle(start + 2 * MS);
        assert_eq!(lag.seen(1), Seen::Version(&"v1"));
        lag.settle(start + 15 * MS);
        assert_eq!(lag.seen(1), Seen::Version(&"v2"));
        assert_eq!(lag.kept(), 2, "v1 is dropped once v2 is visible");
        lag.settle(start + 40 * MS);
        assert_eq!(lag.seen(1), Seen::Current);
    }

    #[test]
    fn without_a_lagging_plan_every_change_is_visible_at_once() {
        let faults = Faults::default();
        let mut lag = SearchLag::new(faults.clone());
        let plan = crate::faults::FaultPlan {
            search_lag_ms: crate::faults::LatencyRange { min: 60_000, max: 60_000 },
            ..crate::faults::FaultPlan::none()
        };
        faults.set_plan(plan).unwrap();
        let mut items = BTreeMap::new();
        lag.store(&mut items, 1u64, "new");
        lag.settle_now();
        assert_eq!(lag.visible([(1, &"new")].into_iter()).count(), 0);
        faults.clear_plan();
        lag.settle_now();
        assert_eq!(lag.visible([(1, &"new")].into_iter()).collect::<Vec<_>>(), [&"new"]);
    }

    #[test]
    fn a_later_change_visible_first_hides_the_earlier_one() {
        let start = Instant::now();
        let mut lag = SearchLag::default();
        lag.record(1, Some("v1"), "v2", start, 50 * MS);
        lag.record(1, Some("v2"), "v3", start, 5 * MS);
        lag.settle(start + 10 * MS);
        assert_eq!(lag.seen(1), Seen::Current);
        lag.record(2, None, "new", start, 50 * MS);
        lag.clear();
        assert_eq!(lag.seen(2), Seen::Current);
    }
}
