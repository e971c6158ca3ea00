use crate::wiring::WiringError;
use tandem_engine::ports::StoreError;
use tandem_engine::SyncError;

/// Why the runtime could not start or could not bring up an integration.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("environment variable {name} is not set ({meaning})")]
    MissingSetting { name: &'static str, meaning: &'static str },
    #[error("reading the integration registry")]
    Registry(#[source] StoreError),
    #[error("integration `{integration}`: wiring its sides")]
    Wiring {
        integration: String,
        #[source]
        source: WiringError,
    },
    #[error("integration `{integration}`: starting its sync engine (identifying the service accounts)")]
    Engine {
        integration: String,
        #[source]
        source: SyncError,
    },
}

impl RuntimeError {
    /// Whether the same call may succeed later without anyone changing the deployment.
    pub fn is_retryable(&self) -> bool {
        match self {
            RuntimeError::MissingSetting { .. } => false,
            RuntimeError::Registry(source) => source.is_retryable(),
            RuntimeError::Wiring { source, .. } => source.is_retryable(),
            RuntimeError::Engine { source, .. } => source.is_retryable(),
        }
    }
}
