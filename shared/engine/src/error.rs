use crate::ports::{ConnectorError, StoreError};
use tandem_model::Side;

/// Why a change could not be synced. Each variant says whether a later retry can succeed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("side {side}: {source}")]
    Connector {
        side: Side,
        #[source]
        source: ConnectorError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("field `{field}`: {source}")]
    Mapping {
        field: String,
        #[source]
        source: tandem_mapping::MappingError,
    },
    /// The target refused one field's value (no workflow transition to it, a value the field does not
    /// allow). The sync's other fields were written.
    #[error("side {side} refused the value of `{field}` (the other fields were written): {source}")]
    FieldRefused {
        side: Side,
        field: String,
        #[source]
        source: ConnectorError,
    },
    #[error("rich text: {0}")]
    RichText(#[from] tandem_rich_text::RichTextError),
    #[error("another worker is creating the copy of this item (claim held until {until})")]
    CreationInProgress { until: tandem_model::Timestamp },
    /// A copy whose link is not stored yet changed, not by the integration: its creator is still linking
    /// it (or died doing so, and the retry of its original's change adopts it). The change is synced
    /// once the link is there, tried again from `until`; dropping it would lose it, since the link
    /// starts from the copy as its creator read it.
    #[error("this copy changed before its link was stored; it is synced once the link is (tried again from {until})")]
    CopyNotLinkedYet { until: tandem_model::Timestamp },
    /// An earlier attempt sent a create whose copy a search may not show yet (searches lag behind
    /// writes): looking now and finding nothing could make a second copy.
    #[error("an earlier attempt may have made the copy; a search can be relied on to find it from {until}")]
    AwaitingSearch { until: tandem_model::Timestamp },
    /// Another worker announced writes to this pair and may still be making them: settling them now
    /// could let its older write land on top of a newer one.
    #[error("another worker is writing this pair (until {until} at the latest)")]
    WritesInProgress { until: tandem_model::Timestamp },
    /// The system answered with a state older than one already synced (a lagging replica).
    #[error("side {side} answered with an older state of the item than one already synced")]
    StaleRead { side: Side },
    /// The store answered a claim so slowly that too little of its lease was left to rely on.
    #[error("the store took {took:?} to record a creation claim, too long to rely on its lease; tried again later")]
    SlowClaim { took: std::time::Duration },
    #[error("stopped before the sync finished, to answer in time; the poller completes it")]
    DeadlineReached,
    #[error("the link kept changing under concurrent updates; giving up after {attempts} attempts")]
    TooMuchContention { attempts: u32 },
}

impl SyncError {
    pub fn connector(side: Side) -> impl FnOnce(ConnectorError) -> SyncError {
        move |source| SyncError::Connector { side, source }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Connector { source, .. } => source.is_retryable(),
            SyncError::Store(source) => source.is_retryable(),
            SyncError::Mapping { .. } | SyncError::RichText(_) | SyncError::FieldRefused { .. } => false,
            SyncError::CreationInProgress { .. }
            | SyncError::CopyNotLinkedYet { .. }
            | SyncError::AwaitingSearch { .. }
            | SyncError::WritesInProgress { .. }
            | SyncError::StaleRead { .. }
            | SyncError::TooMuchContention { .. }
            | SyncError::DeadlineReached
            | SyncError::SlowClaim { .. } => true,
        }
    }

    /// Whether the sync should start over at once from a fresh read: the link changed under it (a store
    /// conflict), a conditional write found the item changed, or a read was older than what is synced.
    pub(crate) fn calls_for_a_fresh_read(&self) -> bool {
        matches!(
            self,
            SyncError::Store(StoreError::Conflict { .. })
                | SyncError::Connector { source: ConnectorError::Changed { .. }, .. }
                | SyncError::StaleRead { .. }
        )
    }

    /// When the sync can be tried again, if it is a wait rather than a failure: another worker's claim,
    /// a search that cannot be trusted yet, a deadline, a busy store, credentials being renewed, or a
    /// system that takes no more requests for now (a used-up daily allowance would otherwise park
    /// every change made while it lasts).
    /// Waiting is not a failed attempt of the item: counting it would park a healthy item.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(
            self,
            SyncError::CreationInProgress { .. }
                | SyncError::CopyNotLinkedYet { .. }
                | SyncError::AwaitingSearch { .. }
                | SyncError::WritesInProgress { .. }
                | SyncError::DeadlineReached
                | SyncError::SlowClaim { .. }
                // A store throttling or out of reach fails every item alike until it answers again.
                | SyncError::Store(StoreError::Unavailable { .. })
        ) || self.is_credential_problem()
            || self.is_rate_limited()
            || self.was_cut_short()
    }

    /// The sync was stopped (or a call stopped retrying) to end before a deadline.
    pub(crate) fn was_cut_short(&self) -> bool {
        matches!(
            self,
            SyncError::DeadlineReached | SyncError::Connector { source: ConnectorError::CutShort { .. }, .. }
        )
    }

    /// A side's credentials were refused: nothing about the item, and everything on that side fails
    /// alike until they are renewed.
    pub fn is_credential_problem(&self) -> bool {
        matches!(self, SyncError::Connector { source, .. } if source.is_credential_problem())
    }

    /// A side takes no more requests for now (see [`ConnectorError::is_rate_limited`]).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, SyncError::Connector { source, .. } if source.is_rate_limited())
    }

    /// The wait a system asked for (Retry-After), if any.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SyncError::Connector { source, .. } | SyncError::FieldRefused { source, .. } => source.retry_after(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_store_is_a_wait_not_a_failed_attempt_of_the_item() {
        let throttled = SyncError::Store(StoreError::Unavailable { message: "throttled".into(), source: None });
        assert!(throttled.is_waiting(), "counting it would park a healthy item while the store is busy");
        let corrupt = SyncError::Store(StoreError::Corrupt { message: "bad record".into() });
        assert!(!corrupt.is_waiting());
    }
}
