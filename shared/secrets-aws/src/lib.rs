//! Credentials from AWS Secrets Manager, for the Lambda functions.
//!
//! Each secret's `SecretString` holds one credentials JSON, the same shape as an entry of the local
//! secrets file (`{"kind": "azure-devops-pat", "pat": "…"}`). [`SecretsManagerSource::with_prefix`]
//! puts a fixed prefix (`tandem/`) before every name, so the functions' IAM policy can allow
//! `secretsmanager:GetSecretValue` on `arn:…:secret:tandem/*` only.
//!
//! The Lambda functions read credentials through
//! `tandem_secrets::CachedSecrets<SecretsManagerSource>`, so a warm function does not call Secrets
//! Manager on every request (each call costs money and latency, and counts against the API's rate
//! limit). When a target answers 401, the credentials were probably rotated: the function calls
//! `CachedSecrets::invalidate(name)` and the next read fetches the current version.
//!
//! No secret value reaches `Debug`, `Display`, an error or the SDK's logs: see [`SecretsManagerError`]
//! for why the SDK's errors are safe to keep as sources.

mod error;
mod source;

pub use error::SecretsManagerError;
pub use source::SecretsManagerSource;
