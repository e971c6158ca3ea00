//! What `tandem serve` did lately for one integration, for the status page: webhook deliveries, items
//! synced and failed per minute over the last hour, and each side's last poll. Kept in memory: it is
//! this process's own account, gone with it (the store keeps what must last: failures, history).

use std::collections::VecDeque;
use std::sync::Mutex;
use tandem_engine::{DeliveryOutcome, PollReport, SyncError};
use tandem_model::{Side, Timestamp};

/// Minutes kept.
pub const MINUTES: usize = 60;

/// One minute's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minute {
    /// Minutes since the epoch.
    pub start: i64,
    pub deliveries: u32,
    pub synced: u32,
    pub failed: u32,
}

/// A side's last poll as seen by this process.
#[derive(Debug, Clone, PartialEq)]
pub struct PollSeen {
    pub at: Timestamp,
    pub synced: usize,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct Counts {
    minutes: VecDeque<Minute>,
    polls: [Option<PollSeen>; 2],
}

/// An integration's recent activity; cheap to share, safe to update from any task.
#[derive(Debug, Default)]
pub struct Activity {
    counts: Mutex<Counts>,
}

impl Activity {
    /// A webhook delivery was handled with `outcome`.
    pub fn delivered(&self, at: Timestamp, outcome: &Result<DeliveryOutcome, SyncError>) {
        let (synced, failed) = match outcome {
            Ok(outcome) => (outcome.synced, outcome.failed),
            Err(_) => (0, 1),
        };
        self.count(at, |minute| {
            minute.deliveries += 1;
            minute.synced += count(synced);
            minute.failed += count(failed);
        });
    }

    /// A poll of `side` ended with `report`.
    pub fn polled(&self, side: Side, at: Timestamp, report: &Result<PollReport, SyncError>) {
        let seen = match report {
            Ok(report) => {
                self.count(at, |minute| {
                    minute.synced += count(report.synced);
                    minute.failed += count(report.failed);
                });
                PollSeen { at, synced: report.synced, error: None }
            }
            Err(error) => PollSeen { at, synced: 0, error: Some(error.to_string()) },
        };
        self.lock().polls[usize::from(side.number() - 1)] = Some(seen);
    }

    /// The last [`MINUTES`] minutes up to `now`, oldest first, minutes without activity included.
    pub fn minutes(&self, now: Timestamp) -> Vec<Minute> {
        let counts = self.lock();
        let last = minute_of(now);
        (last - MINUTES as i64 + 1..=last)
            .map(|start| {
                counts
                    .minutes
                    .iter()
                    .find(|minute| minute.start == start)
                    .copied()
                    .unwrap_or(Minute { start, ..Minute::default() })
            })
            .collect()
    }

    pub fn last_poll(&self, side: Side) -> Option<PollSeen> {
        self.lock().polls[usize::from(side.number() - 1)].clone()
    }

    fn count(&self, at: Timestamp, add: impl FnOnce(&mut Minute)) {
        let mut counts = self.lock();
        let start = minute_of(at);
        if counts.minutes.back().is_none_or(|minute| minute.start != start) {
            counts.minutes.push_back(Minute { start, ..Minute::default() });
        }
        if let Some(minute) = counts.minutes.back_mut() {
            add(minute);
        }
        while counts.minutes.front().is_some_and(|minute| minute.start <= start - MINUTES as i64) {
            counts.minutes.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn minute_of(at: Timestamp) -> i64 {
    at.timestamp().div_euclid(60)
}

fn count(items: usize) -> u32 {
    u32::try_from(items).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64, seconds: i64) -> Timestamp {
        Timestamp::from_timestamp(minutes * 60 + seconds, 0).unwrap()
    }

    #[test]
    fn deliveries_and_syncs_are_counted_per_minute_for_the_last_hour() {
        let activity = Activity::default();
        let synced = Ok(DeliveryOutcome { synced: 2, ..DeliveryOutcome::default() });
        activity.delivered(at(1_000, 5), &synced);
        activity.delivered(at(1_000, 50), &Err(SyncError::DeadlineReached));
        activity.delivered(at(1_002, 0), &synced);
        let minutes = activity.minutes(at(1_002, 30));
        assert_eq!(minutes.len(), MINUTES);
        assert_eq!(minutes[MINUTES - 3], Minute { start: 1_000, deliveries: 2, synced: 2, failed: 1 });
        assert_eq!(minutes[MINUTES - 2], Minute { start: 1_001, ..Minute::default() });
        assert_eq!(minutes[MINUTES - 1].deliveries, 1);
        let an_hour_later = activity.minutes(at(1_062, 0));
        assert!(an_hour_later.iter().all(|minute| minute.deliveries == 0), "older than an hour is gone");
    }
}
