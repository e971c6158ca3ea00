//! Why a measurement could not be taken.

use std::path::PathBuf;
use std::time::Duration;
use tandem_engine::ports::{ConnectorError, StoreError};
use tandem_jira::JiraConfigError;
use tandem_simulators::azure_devops::StartError;
use tandem_simulators::jira::JiraSimError;
use tandem_store_dynamodb::TableError;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the Lambda Runtime API emulator could not listen on 127.0.0.1")]
    EmulatorBind(#[source] std::io::Error),
    #[error("the relay timing moto's answers could not listen on 127.0.0.1")]
    RelayBind(#[source] std::io::Error),
    #[error("no free port on 127.0.0.1 for `tandem serve`")]
    FreePort(#[source] std::io::Error),
    #[error(
        "cannot read the function binary {path}; build it first with `cargo build --release -p \
         tandem-webhook-function -p tandem-poller-function`"
    )]
    Binary {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {path}")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{function} exited ({status}) before answering; {hint}")]
    ExitedEarly { function: String, status: String, hint: String },
    #[error("{function} did not answer within {waited:?}; {hint}")]
    NoAnswer { function: String, waited: Duration, hint: String },
    #[error("cannot watch or stop {function} (pid {pid})")]
    Process {
        function: String,
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the peak memory (VmHWM) of {function} from /proc/{pid}/status")]
    PeakMemory {
        function: String,
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "AWS_ENDPOINT_URL is not set: the functions need moto's DynamoDB and Secrets Manager. Start them with \
         `eval \"$(infra/local-aws.sh)\"` from the repository root"
    )]
    LocalAwsMissing,
    #[error("creating the bench's DynamoDB table {table}")]
    Table {
        table: String,
        #[source]
        source: TableError,
    },
    #[error("registering integration {integration}")]
    Registry {
        integration: String,
        #[source]
        source: StoreError,
    },
    #[error("creating secret {name} in Secrets Manager")]
    Secret {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the Jira simulator did not start")]
    JiraSimulator(#[source] JiraSimError),
    #[error("the Azure DevOps simulator did not start")]
    AzureDevopsSimulator(#[source] StartError),
    #[error("the Jira simulator's settings are invalid")]
    JiraSettings(#[source] JiraConfigError),
    #[error("filing the bench's bug in the Jira simulator")]
    JiraBug(#[source] ConnectorError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise {what} as JSON")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl BenchError {
    /// Whether running the bench again may succeed without changing anything: a port or a local
    /// service that was busy. Missing binaries, settings and a function that fails are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            BenchError::EmulatorBind(_)
            | BenchError::RelayBind(_)
            | BenchError::FreePort(_)
            | BenchError::NoAnswer { .. } => true,
            BenchError::Table { source, .. } => source.is_retryable(),
            BenchError::Registry { source, .. } => source.is_retryable(),
            BenchError::JiraSimulator(source) => source.is_retryable(),
            BenchError::AzureDevopsSimulator(source) => matches!(source, StartError::Bind { .. }),
            BenchError::JiraBug(source) => source.is_retryable(),
            BenchError::Secret { .. } => true,
            BenchError::Binary { .. }
            | BenchError::Spawn { .. }
            | BenchError::ExitedEarly { .. }
            | BenchError::Process { .. }
            | BenchError::PeakMemory { .. }
            | BenchError::LocalAwsMissing
            | BenchError::JiraSettings(_)
            | BenchError::Write { .. }
            | BenchError::Json { .. } => false,
        }
    }
}
