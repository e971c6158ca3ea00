use async_trait::async_trait;
use tandem_model::Credentials;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret `{name}` does not exist")]
    NotFound { name: String },
    #[error("secret `{name}` is not valid credentials JSON: {reason}")]
    Malformed { name: String, reason: String },
    #[error("secret store unavailable while reading `{name}`")]
    Unavailable {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl SecretError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SecretError::Unavailable { .. })
    }
}

/// Reads a service account's credentials by secret name (a local file, AWS Secrets Manager, …).
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn credentials(&self, name: &str) -> Result<Credentials, SecretError>;

    /// Reads several secrets at once where the source can (one call instead of one each), for a cache
    /// to keep: the credentials it could read, by name. Best effort: a secret it could not read is
    /// left out, and reading it alone with [`SecretSource::credentials`] says why. By default nothing
    /// is read ahead.
    async fn read_ahead(&self, names: &[String]) -> Vec<(String, Credentials)> {
        let _ = names;
        Vec::new()
    }
}
