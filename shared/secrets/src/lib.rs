//! Credential sources: a local JSON file of secrets, and a TTL cache in front of any source (AWS
//! Secrets Manager comes with the Lambda functions). Secret values never appear in `Debug`, `Display`
//! or error output.

mod cached;
mod local;
mod parse;

pub use cached::CachedSecrets;
pub use local::{LocalSecrets, LocalSecretsError, OVERRIDE_PREFIX};
/// Parses a secret's text into credentials; failure reasons never repeat any value (shared with
/// the AWS Secrets Manager source).
pub use parse::credentials_from_text;
