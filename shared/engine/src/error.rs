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
            | SyncError::TooMuchContention { .. }
            | SyncError::DeadlineReached
            | SyncError::SlowClaim { .. } => true,
        }
    }
}
