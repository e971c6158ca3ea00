//! Secrets Manager set-up shared by the test binaries: every test makes its own uniquely named
//! secrets in the local Secrets Manager that `eval "$(infra/local-aws.sh)"` points the SDK at.

use aws_config::retry::RetryConfig;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::Client;
use tandem_model::{Credentials, SecretString};
use tandem_secrets_aws::SecretsManagerSource;

pub const JIRA_TOKEN: &str = "ATATT3xFfGF0-aws-jira-token";
pub const ADO_PAT: &str = "aws-ado-pat-52-chars-of-base32";
pub const ROTATED_PAT: &str = "aws-ado-pat-after-rotation";
pub const HMAC: &str = "aws-hmac-secret-0042";
pub const BASIC_PASSWORD: &str = "aws-basic-hook-password";
pub const BARE_TOKEN: &str = "aws-bare-token-without-json";
pub const NUMERIC_PIN: &str = "827364519";
pub const BINARY: &str = "aws-binary-secret-bytes";

/// The SDK configured from the environment, which must point at the local Secrets Manager.
pub async fn sdk_config() -> aws_config::SdkConfig {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need the local Secrets Manager; \
         run `eval \"$(infra/local-aws.sh)\"` first"
    );
    tandem_aws_config::from_env().await
}

/// A client for setting up secrets (tests write them; tandem only reads).
pub async fn admin() -> Client {
    Client::new(&sdk_config().await)
}

/// A folder of secret names no other test (or earlier run) uses.
pub fn unique_prefix() -> String {
    format!("tandem-test/{}/", uuid::Uuid::new_v4())
}

pub async fn create_secret(admin: &Client, id: &str, text: &str) {
    admin
        .create_secret()
        .name(id)
        .secret_string(text)
        .send()
        .await
        .unwrap_or_else(|error| panic!("create secret {id}: {error:?}"));
}

pub async fn create_binary_secret(admin: &Client, id: &str) {
    admin
        .create_secret()
        .name(id)
        .secret_binary(Blob::new(BINARY.as_bytes()))
        .send()
        .await
        .unwrap_or_else(|error| panic!("create secret {id}: {error:?}"));
}

pub async fn rotate(admin: &Client, id: &str, text: &str) {
    admin
        .put_secret_value()
        .secret_id(id)
        .secret_string(text)
        .send()
        .await
        .unwrap_or_else(|error| panic!("rotate secret {id}: {error:?}"));
}

pub fn ado(pat: &str) -> String {
    format!(r#"{{"kind": "azure-devops-pat", "pat": "{pat}"}}"#)
}

pub fn pat(value: &str) -> Credentials {
    Credentials::AzureDevopsPat { pat: SecretString::new(value) }
}

/// One secret of each kind of credentials: name, stored JSON, what it reads as.
pub fn every_kind() -> [(&'static str, String, Credentials); 4] {
    [
        (
            "jira",
            format!(r#"{{"kind": "jira-api-token", "email": "svc@example.com", "api_token": "{JIRA_TOKEN}"}}"#),
            Credentials::JiraApiToken { email: "svc@example.com".into(), api_token: SecretString::new(JIRA_TOKEN) },
        ),
        ("ado", ado(ADO_PAT), pat(ADO_PAT)),
        (
            "jira-webhook",
            format!(r#"{{"kind": "webhook-hmac", "secret": "{HMAC}"}}"#),
            Credentials::WebhookHmac { secret: SecretString::new(HMAC), previous: None },
        ),
        (
            "ado-webhook",
            format!(r#"{{"kind": "webhook-basic", "username": "ado-hook", "password": "{BASIC_PASSWORD}"}}"#),
            Credentials::WebhookBasic {
                username: "ado-hook".into(),
                password: SecretString::new(BASIC_PASSWORD),
                previous: None,
            },
        ),
    ]
}

/// Secrets that are not credentials JSON: name, stored text, the value it must not repeat.
pub fn malformed() -> [(&'static str, String, &'static str); 3] {
    [
        ("bare", BARE_TOKEN.to_owned(), BARE_TOKEN),
        ("number", format!(r#"{{"kind": "azure-devops-pat", "pat": {NUMERIC_PIN}}}"#), NUMERIC_PIN),
        ("missing-email", format!(r#"{{"kind": "jira-api-token", "api_token": "{JIRA_TOKEN}"}}"#), JIRA_TOKEN),
    ]
}

/// A source whose Secrets Manager does not answer: its endpoint is a port just freed, and the SDK
/// does not retry, so the failure comes at once.
pub async fn unreachable_source() -> SecretsManagerSource {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port");
    let config = aws_sdk_secretsmanager::config::Builder::from(&sdk_config().await)
        .endpoint_url(format!("http://{closed}"))
        .retry_config(RetryConfig::disabled())
        .build();
    SecretsManagerSource::new(Client::from_conf(config))
}
