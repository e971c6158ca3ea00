//! Secrets from a local JSON file, with per-secret overrides from environment variables.

use crate::parse::{credentials_from_text, credentials_from_value};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use tandem_engine::ports::{SecretError, SecretSource};
use tandem_model::{Credentials, SecretString};

/// Environment variables with this prefix override secrets: `TANDEM_SECRET_TANDEM_OPS_JIRA` holds the
/// credentials JSON of the secret `tandem/ops/jira`.
pub const OVERRIDE_PREFIX: &str = "TANDEM_SECRET_";

/// Why the secrets file could not be loaded. No variant carries a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum LocalSecretsError {
    #[error("cannot read the secrets file {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the secrets file {} is not a JSON object mapping secret names to credentials: {reason}", .path.display())]
    NotAnObject {
        path: PathBuf,
        reason: String,
        /// Only for syntax errors, whose messages name a position and never the content.
        #[source]
        source: Option<serde_json::Error>,
    },
    #[error("secret `{name}` in the secrets file {} is not valid credentials JSON: {reason}", .path.display())]
    Malformed { path: PathBuf, name: String, reason: String },
}

impl LocalSecretsError {
    /// Only a read that may succeed on a second try (interrupted, timed out) is worth retrying; a
    /// missing or malformed file needs an operator.
    pub fn is_retryable(&self) -> bool {
        match self {
            LocalSecretsError::Read { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ),
            LocalSecretsError::NotAnObject { .. } | LocalSecretsError::Malformed { .. } => false,
        }
    }
}

/// Credentials by secret name, loaded once at start: every secret of the file is checked then, so a
/// malformed secret stops start-up instead of failing the first sync that needs it.
#[derive(Clone)]
pub struct LocalSecrets {
    secrets: BTreeMap<String, Credentials>,
    /// The file the secrets came from, for messages; `None` when built from a map.
    file: Option<PathBuf>,
    /// Override variable name → its raw value (credentials JSON, checked when the secret is read).
    overrides: BTreeMap<String, SecretString>,
}

impl LocalSecrets {
    /// Loads the secrets file (`{"<secret name>": <credentials JSON>, …}`) and takes the overrides
    /// among the process's environment variables.
    pub fn from_file(path: &Path) -> Result<LocalSecrets, LocalSecretsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| LocalSecretsError::Read { path: path.to_path_buf(), source })?;
        let secrets = parse_file(path, &text)?;
        let environment = std::env::vars_os()
            .filter_map(|(variable, value)| Some((variable.into_string().ok()?, value.into_string().ok()?)));
        Ok(LocalSecrets { secrets, file: Some(path.to_path_buf()), overrides: BTreeMap::new() }
            .with_overrides(environment))
    }

    /// Secrets given directly (the local run with simulators); no environment overrides.
    pub fn from_map(secrets: impl IntoIterator<Item = (String, Credentials)>) -> LocalSecrets {
        LocalSecrets { secrets: secrets.into_iter().collect(), file: None, overrides: BTreeMap::new() }
    }

    /// Adds the overrides among `variables` (name, value); variables without [`OVERRIDE_PREFIX`] are
    /// ignored. Later ones replace earlier ones of the same name.
    pub fn with_overrides(mut self, variables: impl IntoIterator<Item = (String, String)>) -> LocalSecrets {
        self.overrides.extend(
            variables
                .into_iter()
                .filter(|(variable, _)| variable.starts_with(OVERRIDE_PREFIX))
                .map(|(variable, value)| (variable, SecretString::new(value))),
        );
        self
    }

    /// The environment variable that overrides secret `name`: the prefix, then the name in upper
    /// case with everything but letters and digits turned into `_`.
    pub fn override_variable(name: &str) -> String {
        let suffix: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        format!("{OVERRIDE_PREFIX}{suffix}")
    }

    /// The names of the secrets in the file or map (not the overrides).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.secrets.keys().map(String::as_str)
    }

    /// Whether reading `name` would find it (in the file or map, or an override), without reading it.
    pub fn holds(&self, name: &str) -> bool {
        self.secrets.contains_key(name) || self.overrides.contains_key(&LocalSecrets::override_variable(name))
    }

    fn describe_origin(&self) -> String {
        match &self.file {
            Some(path) => format!("the secrets file {}", path.display()),
            None => "the configured secrets".to_owned(),
        }
    }
}

fn parse_file(path: &Path, text: &str) -> Result<BTreeMap<String, Credentials>, LocalSecretsError> {
    let not_an_object = |reason: String, source: Option<serde_json::Error>| LocalSecretsError::NotAnObject {
        path: path.to_path_buf(),
        reason,
        source,
    };
    // A BOM is how some Windows editors save JSON; it is not part of the content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Value::Object(entries) =
        serde_json::from_str::<Value>(text).map_err(|error| not_an_object(error.to_string(), Some(error)))?
    else {
        return Err(not_an_object("the top level is not an object".to_owned(), None));
    };
    entries
        .into_iter()
        .map(|(name, value)| match credentials_from_value(&value) {
            Ok(credentials) => Ok((name, credentials)),
            Err(reason) => Err(LocalSecretsError::Malformed { path: path.to_path_buf(), name, reason }),
        })
        .collect()
}

#[async_trait]
impl SecretSource for LocalSecrets {
    async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        let variable = LocalSecrets::override_variable(name);
        if let Some(raw) = self.overrides.get(&variable) {
            return credentials_from_text(raw.expose()).map_err(|reason| SecretError::Malformed {
                name: name.to_owned(),
                reason: format!("environment variable {variable}: {reason}"),
            });
        }
        match self.secrets.get(name) {
            Some(credentials) => Ok(credentials.clone()),
            None => {
                // The port's NotFound carries only the name; say here where it was looked for.
                tracing::warn!(
                    secret = name,
                    "secret not found in {} nor in environment variable {variable}",
                    self.describe_origin()
                );
                Err(SecretError::NotFound { name: name.to_owned() })
            }
        }
    }
}

impl fmt::Debug for LocalSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSecrets")
            .field("file", &self.file)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("overrides", &self.overrides.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(value: &str) -> Credentials {
        Credentials::AzureDevopsPat { pat: SecretString::new(value) }
    }

    fn secrets() -> LocalSecrets {
        LocalSecrets::from_map([("tandem/ops/ado".to_owned(), pat("from-map"))])
    }

    #[tokio::test]
    async fn secrets_are_found_by_name() {
        assert_eq!(secrets().credentials("tandem/ops/ado").await.unwrap(), pat("from-map"));
        let missing = secrets().credentials("tandem/ops/jira").await.unwrap_err();
        assert!(matches!(&missing, SecretError::NotFound { name } if name == "tandem/ops/jira"), "{missing:?}");
        assert!(!missing.is_retryable());
    }

    #[test]
    fn override_variables_are_derived_from_secret_names() {
        assert_eq!(LocalSecrets::override_variable("tandem/ops/jira"), "TANDEM_SECRET_TANDEM_OPS_JIRA");
        assert_eq!(LocalSecrets::override_variable("ado-pat.2"), "TANDEM_SECRET_ADO_PAT_2");
    }

    #[tokio::test]
    async fn an_override_replaces_the_secret_and_unrelated_variables_are_ignored() {
        let secrets = secrets().with_overrides([
            ("TANDEM_SECRET_TANDEM_OPS_ADO".to_owned(), r#"{"kind":"azure-devops-pat","pat":"from-env"}"#.to_owned()),
            ("TANDEM_OPS_ADO".to_owned(), "not an override".to_owned()),
        ]);
        assert_eq!(secrets.credentials("tandem/ops/ado").await.unwrap(), pat("from-env"));
        let shown = format!("{secrets:?}");
        assert!(shown.contains(r#"overrides: ["TANDEM_SECRET_TANDEM_OPS_ADO"]"#), "{shown}");
    }

    #[tokio::test]
    async fn a_malformed_override_names_the_secret_and_the_variable() {
        let secrets = secrets().with_overrides([("TANDEM_SECRET_TANDEM_OPS_ADO".to_owned(), "env-token".to_owned())]);
        let error = secrets.credentials("tandem/ops/ado").await.unwrap_err();
        let SecretError::Malformed { name, reason } = &error else {
            panic!("expected Malformed, got {error:?}");
        };
        assert_eq!(name, "tandem/ops/ado");
        assert!(reason.contains("TANDEM_SECRET_TANDEM_OPS_ADO"), "{reason}");
    }

    #[test]
    fn the_file_must_be_an_object_of_credentials() {
        let path = Path::new("secrets.json");
        let not_object = parse_file(path, "[]").unwrap_err();
        assert!(matches!(not_object, LocalSecretsError::NotAnObject { .. }), "{not_object:?}");
        let broken = parse_file(path, "{\"a\": ").unwrap_err();
        assert!(broken.to_string().contains("secrets.json"), "{broken}");
        let malformed =
            parse_file(path, r#"{"ok": {"kind":"webhook-hmac","secret":"s"}, "bad": {"kind":"webhook-hmac"}}"#)
                .unwrap_err();
        assert!(
            matches!(&malformed, LocalSecretsError::Malformed { name, reason, .. } if name == "bad" && reason.contains("secret")),
            "{malformed:?}"
        );
        assert!(!malformed.is_retryable());
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let parsed =
            parse_file(Path::new("s.json"), "\u{feff}{\"a\": {\"kind\":\"azure-devops-pat\",\"pat\":\"p\"}}").unwrap();
        assert_eq!(parsed.get("a"), Some(&pat("p")));
    }
}
