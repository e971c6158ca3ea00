//! Backfill: syncing the items that existed before an integration was first activated. A first poll
//! starts at the project's last update, so older items sync only once someone edits them; a backfill
//! moves a side's watermark back instead, and the ordinary poll then works through everything changed
//! since, page by page, saving the watermark as it goes (items already linked cost no write). Progress is
//! how far that watermark has come towards the side's newest change when the backfill began.

use crate::engine::Engine;
use crate::error::SyncError;
use crate::ports::WatermarkStore;
use tandem_model::{Side, Timestamp};

/// What moving a side's watermark back did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewound {
    /// The watermark now stands at the backfill's start; it was at `from` (none: never polled).
    Moved { from: Option<Timestamp> },
    /// The watermark was already at or before the start, and stays: moving it forward would skip changes.
    AlreadyEarlier(Timestamp),
}

/// Moves the watermark of `side` back to `since`, never forward. Needs only the store, so an operator's
/// command can do it without reaching either system; the next poll does the syncing.
pub async fn rewind_watermark(
    watermarks: &dyn WatermarkStore,
    integration: &str,
    side: Side,
    since: Timestamp,
) -> Result<Rewound, SyncError> {
    let from = watermarks.get_watermark(integration, side).await?;
    if let Some(at) = from.filter(|at| *at <= since) {
        return Ok(Rewound::AlreadyEarlier(at));
    }
    watermarks.set_watermark(integration, side, since).await?;
    Ok(Rewound::Moved { from })
}

/// How far a side's backfill has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillProgress {
    pub side: Side,
    pub since: Timestamp,
    /// The side's newest change when the backfill began (none: the project had no items).
    pub target: Option<Timestamp>,
    /// Where the side's polls have reached.
    pub watermark: Timestamp,
}

impl BackfillProgress {
    /// Every item changed up to the target has been dealt with (synced, or recorded as a failure).
    pub fn done(&self) -> bool {
        self.target.is_none_or(|target| self.watermark >= target)
    }

    /// Seconds of the backfill's span covered so far, and the span's length (for a progress bar).
    pub fn covered_of_total(&self) -> (u64, u64) {
        let Some(target) = self.target else { return (1, 1) };
        let seconds = |from: Timestamp, to: Timestamp| u64::try_from((to - from).num_seconds()).unwrap_or(0);
        let total = seconds(self.since, target).max(1);
        (seconds(self.since, self.watermark.min(target)).min(total), total)
    }
}

impl Engine {
    /// The newest change in the side's project (what a backfill is done at), read from the system.
    pub async fn newest_change(&self, side: Side) -> Result<Option<Timestamp>, SyncError> {
        self.connector(side).project_last_updated().await.map_err(SyncError::connector(side))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(hour: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 20, hour, 0, 0).single().expect("a valid instant")
    }

    #[test]
    fn progress_is_the_share_of_the_span_the_watermark_has_covered() {
        let progress = |watermark, target| BackfillProgress { side: Side::One, since: at(0), target, watermark };
        assert_eq!(progress(at(0), Some(at(10))).covered_of_total(), (0, 36_000));
        assert_eq!(progress(at(5), Some(at(10))).covered_of_total(), (18_000, 36_000));
        assert!(!progress(at(5), Some(at(10))).done());
        assert!(progress(at(10), Some(at(10))).done());
        assert_eq!(progress(at(12), Some(at(10))).covered_of_total(), (36_000, 36_000));
        assert!(progress(at(0), None).done(), "an empty project has nothing to backfill");
    }
}
