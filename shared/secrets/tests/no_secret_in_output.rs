//! No secret value may reach a log or an error message: every way these types can be printed is
//! collected and searched for the values.

use std::time::Duration;
use tandem_engine::ports::{SecretError, SecretSource};
use tandem_secrets::{CachedSecrets, LocalSecrets, LocalSecretsError};

const JIRA_TOKEN: &str = "ATATT3xFfGF0-jira-token-value";
const ADO_PAT: &str = "ado-pat-52-chars-of-base32-value";
const HMAC: &str = "hmac-secret-value-0042";
const NUMERIC_PIN: &str = "918273645";
const BARE_TOKEN: &str = "bare-token-pasted-without-json";
const ENV_TOKEN: &str = "env-token-value-77";
const VALUES: [&str; 6] = [JIRA_TOKEN, ADO_PAT, HMAC, NUMERIC_PIN, BARE_TOKEN, ENV_TOKEN];

fn assert_hidden(shown: &str) {
    for value in VALUES {
        assert!(!shown.contains(value), "a secret value was printed: {shown}");
    }
}

/// `{}` and `{:?}` of an error and of every error in its source chain.
fn shown_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut shown = String::new();
    let mut next = Some(error);
    while let Some(error) = next {
        shown.push_str(&format!("{error}\n{error:?}\n"));
        next = error.source();
    }
    shown
}

fn write_secrets(folder: &tempfile::TempDir, name: &str, json: &str) -> std::path::PathBuf {
    let path = folder.path().join(name);
    std::fs::write(&path, json).expect("write the secrets file");
    path
}

#[tokio::test]
async fn loaded_secrets_and_their_errors_never_show_a_value() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = write_secrets(
        &folder,
        "secrets.json",
        &format!(
            r#"{{
                "tandem/ops/jira": {{"kind": "jira-api-token", "email": "svc@example.com", "api_token": "{JIRA_TOKEN}"}},
                "tandem/ops/ado": {{"kind": "azure-devops-pat", "pat": "{ADO_PAT}"}},
                "tandem/ops/jira-webhook": {{"kind": "webhook-hmac", "secret": "{HMAC}"}}
            }}"#
        ),
    );
    let secrets = LocalSecrets::from_file(&path).expect("load").with_overrides([
        (
            "TANDEM_SECRET_TANDEM_OPS_BROKEN".to_owned(),
            format!(r#"{{"kind": "azure-devops-pat", "pat": {NUMERIC_PIN}}}"#),
        ),
        ("TANDEM_SECRET_TANDEM_OPS_BARE".to_owned(), ENV_TOKEN.to_owned()),
    ]);

    let mut shown = format!("{secrets:?}\n");
    for name in ["tandem/ops/jira", "tandem/ops/ado", "tandem/ops/jira-webhook"] {
        let credentials = secrets.credentials(name).await.expect("credentials");
        shown.push_str(&format!("{credentials:?}\n"));
    }
    let mut errors: Vec<SecretError> = Vec::new();
    for name in ["tandem/ops/missing", "tandem/ops/broken", "tandem/ops/bare"] {
        errors.push(secrets.credentials(name).await.expect_err(name));
    }
    assert!(matches!(errors[0], SecretError::NotFound { .. }), "{:?}", errors[0]);
    assert!(matches!(errors[1], SecretError::Malformed { .. }), "{:?}", errors[1]);
    assert!(matches!(errors[2], SecretError::Malformed { .. }), "{:?}", errors[2]);

    let cached = CachedSecrets::new(secrets.clone(), Duration::from_secs(60));
    cached.credentials("tandem/ops/jira").await.expect("cached credentials");
    errors.push(cached.credentials("tandem/ops/broken").await.expect_err("cached malformed"));
    shown.push_str(&format!("{cached:?}\n"));

    for error in &errors {
        shown.push_str(&shown_error(error));
    }
    assert!(shown.contains("tandem/ops/broken") && shown.contains("svc@example.com"), "{shown}");
    assert_hidden(&shown);
}

#[test]
fn malformed_files_never_show_a_value() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let files = [
        format!(r#"{{"tandem/ops/ado": "{BARE_TOKEN}"}}"#),
        format!(r#"{{"tandem/ops/ado": {{"kind": "azure-devops-pat", "pat": {NUMERIC_PIN}}}}}"#),
        format!(r#"{{"tandem/ops/jira": {{"kind": "jira-api-token", "api_token": "{JIRA_TOKEN}"}}}}"#),
        format!(r#"{{"tandem/ops/hook": {{"kind": "webhook-hmac", "secret": ["{HMAC}"]}}}}"#),
        format!(r#""{BARE_TOKEN}""#),
        format!(r#"{{"tandem/ops/ado": {{"kind": "azure-devops-pat", "pat": "{ADO_PAT}"#),
    ];
    for (number, json) in files.iter().enumerate() {
        let path = write_secrets(&folder, &format!("secrets-{number}.json"), json);
        let error: LocalSecretsError = LocalSecrets::from_file(&path).expect_err(json);
        let shown = shown_error(&error);
        assert!(shown.contains(&format!("secrets-{number}.json")), "the file is named: {shown}");
        assert_hidden(&shown);
    }

    let missing = LocalSecrets::from_file(&folder.path().join("absent.json")).expect_err("missing file");
    assert!(matches!(missing, LocalSecretsError::Read { .. }), "{missing:?}");
}

#[tokio::test]
async fn an_error_from_the_cached_source_is_passed_through_unchanged() {
    let secrets = LocalSecrets::from_map([]);
    let cached = CachedSecrets::new(secrets, Duration::from_secs(60));
    let error = cached.credentials("tandem/ops/jira").await.expect_err("missing");
    assert!(matches!(&error, SecretError::NotFound { name } if name == "tandem/ops/jira"), "{error:?}");
}
