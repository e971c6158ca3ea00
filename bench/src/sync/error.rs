//! Why a sync measurement could not be taken.

use std::path::PathBuf;
use std::time::Duration;
use tandem_engine::ports::{ConnectorError, StoreError};
use tandem_engine::SyncError;
use tandem_lambda_runtime::wiring::WiringError;
use tandem_store_dynamodb::TableError;

/// The local run's helpers (`tandem_cli`) answer with `anyhow`; kept whole as the source.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SyncBenchError {
    #[error("cannot read the local example integration {path}: {problems}")]
    Example { path: PathBuf, problems: String },
    #[error("the local example must simulate Jira on side 1 and Azure DevOps on side 2")]
    NotTheLocalExample,
    #[error("{doing}")]
    Local {
        doing: &'static str,
        #[source]
        source: Cause,
    },
    #[error("building the integration's connectors and webhook receivers")]
    Wiring(#[source] Box<WiringError>),
    #[error("the webhook endpoint could not listen on 127.0.0.1")]
    Bind(#[source] std::io::Error),
    #[error("Alice's change failed: {doing}")]
    PersonChange {
        doing: String,
        #[source]
        source: Box<ConnectorError>,
    },
    #[error("the engine failed: {doing}")]
    Sync {
        doing: String,
        /// Boxed: the engine's error is large, and every bench result carries this enum.
        #[source]
        source: Box<SyncError>,
    },
    #[error("the store failed: {doing}")]
    Store {
        doing: String,
        #[source]
        source: StoreError,
    },
    #[error("{what} was not synced within {waited:?}")]
    NotSynced { what: String, waited: Duration },
    #[error("the simulators found {count} contract violations in tandem's calls, the first: {first}")]
    ContractViolations { count: usize, first: String },
    #[error("{what}: the simulator keeps only its last {capacity} calls; measure fewer changes at once")]
    RecorderFull { what: String, capacity: usize },
    #[error(
        "AWS_ENDPOINT_URL is not set: --dynamodb needs a DynamoDB endpoint. Start moto with \
         `eval \"$(infra/local-aws.sh)\"` from the repository root"
    )]
    LocalAwsMissing,
    #[error("creating the bench's DynamoDB table {table}")]
    Table {
        table: String,
        #[source]
        source: Box<TableError>,
    },
    #[error("the fault plan was refused")]
    FaultPlan(#[source] tandem_simulators::faults::FaultPlanError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the figures as JSON")]
    Json(#[source] serde_json::Error),
}

impl SyncBenchError {
    /// Whether the same run may pass when tried again: a busy port or service, a slow machine. Settings,
    /// contract breaks and programming errors fail again.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncBenchError::Bind(_) | SyncBenchError::NotSynced { .. } => true,
            SyncBenchError::PersonChange { source, .. } => source.is_retryable(),
            SyncBenchError::Sync { source, .. } => source.is_retryable(),
            SyncBenchError::Store { source, .. } => source.is_retryable(),
            SyncBenchError::Wiring(source) => source.is_retryable(),
            SyncBenchError::Table { source, .. } => source.is_retryable(),
            SyncBenchError::Example { .. }
            | SyncBenchError::NotTheLocalExample
            | SyncBenchError::Local { .. }
            | SyncBenchError::ContractViolations { .. }
            | SyncBenchError::RecorderFull { .. }
            | SyncBenchError::LocalAwsMissing
            | SyncBenchError::FaultPlan(_)
            | SyncBenchError::Write { .. }
            | SyncBenchError::Json(_) => false,
        }
    }

    pub(crate) fn sync(doing: impl Into<String>) -> impl FnOnce(SyncError) -> SyncBenchError {
        let doing = doing.into();
        move |source| SyncBenchError::Sync { doing, source: Box::new(source) }
    }

    pub(crate) fn wiring(source: WiringError) -> SyncBenchError {
        SyncBenchError::Wiring(Box::new(source))
    }

    pub(crate) fn local(doing: &'static str) -> impl FnOnce(anyhow::Error) -> SyncBenchError {
        move |error| SyncBenchError::Local { doing, source: error.into() }
    }
}
