use crate::wiring::WiringError;
use tandem_engine::ports::StoreError;

/// Why the runtime could not start or could not bring up an integration.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("environment variable {name} is not set ({meaning})")]
    MissingSetting { name: &'static str, meaning: &'static str },
    #[error("reading the integration registry")]
    Registry(#[source] StoreError),
    /// An active integration whose stored configuration fails validation, names another
    /// integration, or names secrets outside the stack's prefix: nothing syncs until it is fixed.
    #[error("integration `{integration}`: its stored configuration cannot be used: {}", problems.join("; "))]
    InvalidConfiguration { integration: String, problems: Vec<String> },
    #[error("integration `{integration}`: wiring its sides")]
    Wiring {
        integration: String,
        #[source]
        source: WiringError,
    },
}

impl RuntimeError {
    /// Whether the same call may succeed later without anyone changing the deployment.
    pub fn is_retryable(&self) -> bool {
        match self {
            RuntimeError::MissingSetting { .. } | RuntimeError::InvalidConfiguration { .. } => false,
            RuntimeError::Registry(source) => source.is_retryable(),
            RuntimeError::Wiring { source, .. } => source.is_retryable(),
        }
    }
}
