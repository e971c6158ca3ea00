//! Reading one secret's credentials from AWS Secrets Manager.

use crate::error::secret_error;
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use std::fmt;
use tandem_engine::ports::{SecretError, SecretSource};
use tandem_model::Credentials;
use tandem_secrets::credentials_from_text;

/// Credentials from the `SecretString` of Secrets Manager secrets (the `AWSCURRENT` version).
///
/// Errors name the secret as Secrets Manager knows it, prefix included, so an operator can see
/// exactly which secret to create or fix.
#[derive(Clone)]
pub struct SecretsManagerSource {
    client: Client,
    prefix: String,
}

impl SecretsManagerSource {
    pub fn new(client: Client) -> SecretsManagerSource {
        SecretsManagerSource { client, prefix: String::new() }
    }

    /// A client configured the way every AWS SDK is: region, credentials and endpoint from the
    /// environment (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, …), the Lambda execution
    /// role, or the shared config files; each attempt of a read limited to
    /// `tandem_aws_config::ATTEMPT_TIMEOUT` (a stalled read would otherwise hold a function to its end).
    pub async fn from_env() -> SecretsManagerSource {
        let config = tandem_aws_config::from_env().await;
        SecretsManagerSource::new(Client::new(&config))
    }

    /// Reads the secret `<prefix><name>` for `name`, so IAM can limit the functions to secrets
    /// under the prefix (`tandem/`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> SecretsManagerSource {
        self.prefix = prefix.into();
        self
    }

    /// The Secrets Manager name of the secret read for `name`.
    pub fn secret_id(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        let secret_id = self.secret_id(name);
        tracing::debug!(secret = %secret_id, "reading credentials from Secrets Manager");
        let answer = self
            .client
            .get_secret_value()
            .secret_id(&secret_id)
            .send()
            .await
            .map_err(|error| secret_error(&secret_id, error))?;
        let malformed = |reason: String| SecretError::Malformed { name: secret_id.clone(), reason };
        let Some(text) = answer.secret_string() else {
            return Err(malformed("the secret holds binary data; credentials are read from its SecretString".into()));
        };
        credentials_from_text(text).map_err(malformed)
    }

    /// One BatchGetSecretValue per 20 names (its most). A secret it reports an error for, or one whose
    /// text is not credentials, is left out, as is every secret of a call that failed: read alone, it
    /// says why. Only names and error codes are logged, never a value.
    async fn read_ahead(&self, names: &[String]) -> Vec<(String, Credentials)> {
        let mut read = Vec::new();
        for chunk in names.chunks(BATCH_GET_MOST) {
            let ids: Vec<String> = chunk.iter().map(|name| self.secret_id(name)).collect();
            let answer = match self.client.batch_get_secret_value().set_secret_id_list(Some(ids.clone())).send().await {
                Ok(answer) => answer,
                Err(error) => {
                    let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&error).unwrap_or("no answer");
                    tracing::debug!(secrets = ?ids, code, "reading secrets together failed; each is read alone");
                    continue;
                }
            };
            for failed in answer.errors() {
                tracing::debug!(secret = ?failed.secret_id(), code = ?failed.error_code(), "a secret read together failed; it is read alone");
            }
            for entry in answer.secret_values() {
                let named = chunk.iter().zip(&ids).find(|(_, id)| entry.name() == Some(id.as_str()));
                if let (Some((name, _)), Some(text)) = (named, entry.secret_string()) {
                    if let Ok(credentials) = credentials_from_text(text) {
                        read.push((name.clone(), credentials));
                    }
                }
            }
        }
        read
    }
}

/// The most secrets one BatchGetSecretValue reads by name.
const BATCH_GET_MOST: usize = 20;

impl fmt::Debug for SecretsManagerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerSource")
            .field("region", &self.client.config().region())
            .field("prefix", &self.prefix)
            .finish()
    }
}
