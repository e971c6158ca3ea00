//! What polls made of the items they went through, counted per integration side: a backfill (or an
//! operator) reads the running counts before and after to say how many items were created, updated,
//! left unchanged or failed, and at what rate — without a call to either system.

use crate::{SyncError, SyncOutcome};
use serde::{Deserialize, Serialize};

/// Running counts of poll outcomes. Kept beside the side's watermark and added to as it moves, so the
/// counts cost no store request of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollTally {
    /// Copies created on the other side.
    pub created: u64,
    /// Linked pairs where something was written.
    pub updated: u64,
    /// Items read and found in agreement with their copy (or the integration's own change).
    pub unchanged: u64,
    /// Items a filter or the configured scope leaves alone, or that are gone.
    pub skipped: u64,
    /// Items whose sync failed (each is recorded; see `tandem failures`).
    pub failed: u64,
}

/// How one sync counts in a tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Failed,
}

impl Counted {
    pub fn of(outcome: &Result<SyncOutcome, SyncError>) -> Counted {
        match outcome {
            Ok(SyncOutcome::Created { .. }) => Counted::Created,
            Ok(SyncOutcome::Updated { writes }) if *writes > 0 => Counted::Updated,
            // A state the link has already synced (a backfill going over linked items, or a poll's
            // overlap with the one before) is an item found in agreement too.
            Ok(
                SyncOutcome::Updated { .. }
                | SyncOutcome::Coalesced
                | SyncOutcome::Repeated
                | SyncOutcome::OwnEcho
                | SyncOutcome::AlreadySynced,
            ) => Counted::Unchanged,
            Ok(
                SyncOutcome::FilteredOut
                | SyncOutcome::OutOfScope { .. }
                | SyncOutcome::Gone
                | SyncOutcome::CopyGone { .. },
            ) => Counted::Skipped,
            Err(_) => Counted::Failed,
        }
    }

    /// The word a summary uses.
    pub fn name(self) -> &'static str {
        match self {
            Counted::Created => "created",
            Counted::Updated => "updated",
            Counted::Unchanged => "unchanged",
            Counted::Skipped => "skipped",
            Counted::Failed => "failed",
        }
    }
}

impl PollTally {
    pub fn count(&mut self, counted: Counted) {
        match counted {
            Counted::Created => self.created += 1,
            Counted::Updated => self.updated += 1,
            Counted::Unchanged => self.unchanged += 1,
            Counted::Skipped => self.skipped += 1,
            Counted::Failed => self.failed += 1,
        }
    }

    /// Items dealt with, whatever became of them.
    pub fn items(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.skipped + self.failed
    }

    pub fn is_empty(&self) -> bool {
        self.items() == 0
    }

    /// Adds another tally's counts to this one.
    pub fn add(&mut self, other: &PollTally) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.failed += other.failed;
    }

    /// What was counted since `earlier` (a tally read before); counts never go back, but a side whose
    /// record was replaced meanwhile reads as nothing rather than as a negative count.
    pub fn since(&self, earlier: &PollTally) -> PollTally {
        PollTally {
            created: self.created.saturating_sub(earlier.created),
            updated: self.updated.saturating_sub(earlier.updated),
            unchanged: self.unchanged.saturating_sub(earlier.unchanged),
            skipped: self.skipped.saturating_sub(earlier.skipped),
            failed: self.failed.saturating_sub(earlier.failed),
        }
    }
}

impl std::fmt::Display for PollTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} unchanged, {} skipped, {} failed",
            self.created, self.updated, self.unchanged, self.skipped, self.failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_count_as_a_summary_names_them() {
        let mut tally = PollTally::default();
        let outcomes = [
            Ok(SyncOutcome::Created { copy: tandem_model::ItemId::new("7") }),
            Ok(SyncOutcome::Updated { writes: 2 }),
            Ok(SyncOutcome::Updated { writes: 0 }),
            Ok(SyncOutcome::OwnEcho),
            Ok(SyncOutcome::FilteredOut),
            Ok(SyncOutcome::AlreadySynced),
            Err(SyncError::DeadlineReached),
        ];
        for outcome in &outcomes {
            tally.count(Counted::of(outcome));
        }
        let expected = PollTally { created: 1, updated: 1, unchanged: 3, skipped: 1, failed: 1 };
        assert_eq!(tally, expected);
        assert_eq!(tally.items(), 7);
        assert_eq!(tally.to_string(), "1 created, 1 updated, 3 unchanged, 1 skipped, 1 failed");
    }

    #[test]
    fn counts_since_an_earlier_read_never_go_negative() {
        let earlier = PollTally { created: 3, updated: 5, unchanged: 1, skipped: 0, failed: 2 };
        let now = PollTally { created: 4, updated: 9, unchanged: 1, skipped: 2, failed: 2 };
        assert_eq!(now.since(&earlier), PollTally { created: 1, updated: 4, unchanged: 0, skipped: 2, failed: 0 });
        assert_eq!(PollTally::default().since(&earlier), PollTally::default());
    }
}
