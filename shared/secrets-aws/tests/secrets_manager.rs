//! `SecretsManagerSource` against a real local Secrets Manager (moto). Start one and point the SDK
//! at it with `eval "$(infra/local-aws.sh)"`; every test makes its own uniquely named secrets.

mod common;

use async_trait::async_trait;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tandem_engine::ports::{SecretError, SecretSource};
use tandem_model::Credentials;
use tandem_secrets::CachedSecrets;
use tandem_secrets_aws::SecretsManagerSource;

/// A source whose every read is counted, so a test can see which reads reached Secrets Manager.
struct Counting<S> {
    inner: S,
    reads: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    fn new(inner: S) -> (Counting<S>, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let counting = Counting { inner, reads: reads.clone() };
        (counting, reads)
    }
}

#[async_trait]
impl<S: SecretSource> SecretSource for Counting<S> {
    async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.credentials(name).await
    }
}

/// An integration's secrets are read in one call; those that cannot be read (missing, not credentials)
/// are left to be read alone, which says why.
#[tokio::test]
async fn secrets_are_read_ahead_together_and_the_unreadable_left_out() {
    let admin = admin().await;
    let prefix = unique_prefix();
    for (name, text, _) in every_kind() {
        create_secret(&admin, &format!("{prefix}{name}"), &text).await;
    }
    let (bad, text, _) = &malformed()[0];
    create_secret(&admin, &format!("{prefix}{bad}"), text).await;
    let source = SecretsManagerSource::from_env().await.with_prefix(&prefix);
    let names: Vec<String> =
        every_kind().iter().map(|(name, ..)| name.to_string()).chain([bad.to_string(), "missing".into()]).collect();
    let mut read = source.read_ahead(&names).await;
    read.sort_by(|left, right| left.0.cmp(&right.0));
    let mut expected: Vec<(String, Credentials)> =
        every_kind().into_iter().map(|(name, _, credentials)| (name.to_string(), credentials)).collect();
    expected.sort_by(|left, right| left.0.cmp(&right.0));
    assert_eq!(read, expected);
}

#[tokio::test]
async fn every_kind_of_credentials_is_read() {
    let admin = admin().await;
    let prefix = unique_prefix();
    let source = SecretsManagerSource::from_env().await;
    for (name, text, credentials) in every_kind() {
        let id = format!("{prefix}{name}");
        create_secret(&admin, &id, &text).await;
        assert_eq!(source.credentials(&id).await.unwrap(), credentials, "{id}");
    }
}

#[tokio::test]
async fn a_missing_secret_is_not_found_by_its_name() {
    let id = format!("{}nothing-here", unique_prefix());
    let source = SecretsManagerSource::new(admin().await);
    let error = source.credentials(&id).await.unwrap_err();
    assert!(matches!(&error, SecretError::NotFound { name } if *name == id), "{error:?}");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains(&id), "{error}");
}

#[tokio::test]
async fn a_malformed_secret_is_refused_without_its_value() {
    let admin = admin().await;
    let prefix = unique_prefix();
    let source = SecretsManagerSource::new(admin.clone()).with_prefix(&prefix);
    for (name, text, value) in malformed() {
        create_secret(&admin, &format!("{prefix}{name}"), &text).await;
        let error = source.credentials(name).await.unwrap_err();
        let SecretError::Malformed { name: id, reason } = &error else {
            panic!("{name}: expected Malformed, got {error:?}");
        };
        assert_eq!(*id, format!("{prefix}{name}"));
        assert!(!format!("{error} {error:?}").contains(value), "{error:?}");
        assert!(!error.is_retryable());
        if name == "missing-email" {
            assert!(reason.contains("email"), "the reason names the field: {reason}");
        }
    }
}

#[tokio::test]
async fn a_binary_secret_is_refused_as_not_credentials_json() {
    let admin = admin().await;
    let id = format!("{}binary", unique_prefix());
    create_binary_secret(&admin, &id).await;
    let error = SecretsManagerSource::new(admin).credentials(&id).await.unwrap_err();
    assert!(matches!(&error, SecretError::Malformed { reason, .. } if reason.contains("binary")), "{error:?}");
}

#[tokio::test]
async fn the_prefix_is_put_before_every_name() {
    let admin = admin().await;
    let prefix = unique_prefix();
    create_secret(&admin, &format!("{prefix}ado"), &ado(ADO_PAT)).await;
    let source = SecretsManagerSource::new(admin.clone()).with_prefix(&prefix);
    assert_eq!(source.secret_id("ado"), format!("{prefix}ado"));
    assert_eq!(source.credentials("ado").await.unwrap(), pat(ADO_PAT));

    let unprefixed = SecretsManagerSource::new(admin).credentials("ado").await;
    assert!(
        matches!(&unprefixed, Err(SecretError::NotFound { name }) if name == "ado"),
        "without a prefix the name is read as is: {unprefixed:?}"
    );
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable_and_worth_retrying() {
    let error = unreachable_source().await.credentials("tandem/ops/ado").await.unwrap_err();
    assert!(matches!(&error, SecretError::Unavailable { name, .. } if name == "tandem/ops/ado"), "{error:?}");
    assert!(error.is_retryable());
    let cause = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(
        cause.as_deref(),
        Some("GetSecretValue failed: dispatch failure"),
        "the SDK's error is kept as the source"
    );
}

#[tokio::test]
async fn the_cache_spares_reads_until_invalidated_after_a_rotation() {
    let admin = admin().await;
    let prefix = unique_prefix();
    let id = format!("{prefix}ado");
    create_secret(&admin, &id, &ado(ADO_PAT)).await;
    let (counting, reads) = Counting::new(SecretsManagerSource::new(admin.clone()).with_prefix(&prefix));
    let cached = CachedSecrets::new(counting, Duration::from_secs(300));

    assert_eq!(cached.credentials("ado").await.unwrap(), pat(ADO_PAT));
    assert_eq!(cached.credentials("ado").await.unwrap(), pat(ADO_PAT));
    assert_eq!(reads.load(Ordering::SeqCst), 1, "the second read is cached");

    rotate(&admin, &id, &ado(ROTATED_PAT)).await;
    assert_eq!(
        cached.credentials("ado").await.unwrap(),
        pat(ADO_PAT),
        "within the TTL the cached credentials are served"
    );
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    cached.invalidate("ado");
    assert_eq!(cached.credentials("ado").await.unwrap(), pat(ROTATED_PAT));
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}
