//! Why a contract could not be found, read or prepared.

use std::path::PathBuf;
use std::sync::Arc;

/// A problem with the vendors' contract files themselves (not with a checked request).
///
/// None of these is retryable: the files are local and read-only, so trying again gives the same
/// answer until someone fixes the checkout or `TANDEM_CONTRACTS_DIR`.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error(
        "the contracts folder was not found: set TANDEM_CONTRACTS_DIR or run inside a checkout \
         whose ancestor holds shared/contracts/README.md (searched from {searched:?})"
    )]
    ContractsDirNotFound { searched: Vec<PathBuf> },

    #[error("TANDEM_CONTRACTS_DIR={path:?} does not hold README.md")]
    ContractsDirOverrideInvalid { path: PathBuf },

    #[error("could not read contract file {path:?}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("contract file {path:?} is not valid JSON")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("contract file {path:?} is neither OpenAPI 3 nor Swagger 2: {reason}")]
    UnknownDialect { path: PathBuf, reason: String },

    #[error("contract file {path:?} has a path template that cannot be matched: {reason}")]
    InvalidPathTemplate { path: PathBuf, reason: String },

    #[error("contract file {path:?} could not be registered for `$ref` resolution")]
    Register {
        path: PathBuf,
        #[source]
        source: Box<jsonschema::ReferencingError>,
    },

    #[error("JSON Schema {path:?} does not compile: {message}")]
    SchemaCompile { path: PathBuf, message: String },

    /// Loading a shared contract failed; the failure is kept for the rest of the process because
    /// the files do not change while it runs.
    #[error("the contract could not be loaded")]
    Load {
        #[source]
        source: Arc<ContractError>,
    },
}

impl ContractError {
    /// Contract files are local and immutable during a run, so no failure goes away on retry.
    pub fn is_retryable(&self) -> bool {
        false
    }
}
