//! No secret value may reach a log or printed output while credentials are read from Secrets
//! Manager (the local one `eval "$(infra/local-aws.sh)"` starts).
//!
//! This test is its own binary because `tracing` caches per call site whether anyone listens: a test
//! running alongside without a subscriber can make a call site look silent to this test's scoped
//! subscriber, and the capture would miss lines.

mod common;

use common::*;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tandem_engine::ports::SecretSource;
use tandem_secrets::CachedSecrets;
use tandem_secrets_aws::SecretsManagerSource;
use tracing::instrument::WithSubscriber;

/// Every value any test stores; none may ever be printed.
const VALUES: [&str; 8] = [JIRA_TOKEN, ADO_PAT, ROTATED_PAT, HMAC, BASIC_PASSWORD, BARE_TOKEN, NUMERIC_PIN, BINARY];

/// Everything `tracing` writes while it is the subscriber.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// A subscriber recording every level of every target (the SDK's own trace logs included).
    fn dispatch(&self) -> tracing::Dispatch {
        let writer = self.clone();
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish(),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
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

/// Reads `name` with `logs` capturing, and returns how the result prints.
async fn read_shown(source: &dyn SecretSource, name: &str, logs: &tracing::Dispatch) -> String {
    match source.credentials(name).with_subscriber(logs.clone()).await {
        Ok(credentials) => format!("{credentials:?}\n"),
        Err(error) => shown_error(&error),
    }
}

#[tokio::test]
async fn no_secret_value_reaches_the_logs_or_printed_output() {
    let admin = admin().await;
    let prefix = unique_prefix();
    for (name, text, _) in every_kind() {
        create_secret(&admin, &format!("{prefix}{name}"), &text).await;
    }
    for (name, text, _) in malformed() {
        create_secret(&admin, &format!("{prefix}{name}"), &text).await;
    }
    create_binary_secret(&admin, &format!("{prefix}binary")).await;

    let logs = CapturedLogs::default();
    let dispatch = logs.dispatch();
    let source = SecretsManagerSource::from_env().await.with_prefix(&prefix);
    let cached = CachedSecrets::new(source.clone(), Duration::from_secs(300));
    let mut shown = format!("{source:?}\n");
    let names = every_kind()
        .map(|(name, ..)| name)
        .into_iter()
        .chain(malformed().map(|(name, ..)| name))
        .chain(["binary", "missing"]);
    let all: Vec<String> = names.clone().map(String::from).collect();
    let read_ahead = source.read_ahead(&all).with_subscriber(dispatch.clone()).await;
    shown += &format!("{read_ahead:?}\n");
    for name in names {
        shown += &read_shown(&cached, name, &dispatch).await;
    }
    rotate(&admin, &format!("{prefix}ado"), &ado(ROTATED_PAT)).await;
    shown += &read_shown(&cached, "ado", &dispatch).await;
    cached.invalidate("ado");
    shown += &read_shown(&cached, "ado", &dispatch).await;
    shown += &read_shown(&unreachable_source().await, "ado", &dispatch).await;
    shown += &format!("{cached:?}\n");

    let logs = logs.text();
    assert!(
        logs.contains(&format!("{prefix}jira")) && logs.contains("GetSecretValue"),
        "the capture saw the reads and the SDK's own logs: {logs}"
    );
    assert!(
        shown.contains("SecretString(***)") && shown.contains("dispatch failure"),
        "the reads succeeded and failed as planned: {shown}"
    );
    for value in VALUES {
        assert!(!logs.contains(value), "`{value}` was logged: {logs}");
        assert!(!shown.contains(value), "`{value}` was printed: {shown}");
    }
}
