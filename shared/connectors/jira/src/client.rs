//! The HTTP client: Basic authentication with an API token, a base-URL override (for simulators), JSON in
//! and out, and retries of retryable failures with bounded, jittered exponential backoff that honours
//! `Retry-After`.

use crate::error::{from_status, invalid_response, unreachable, unreadable_body};
use backon::{ExponentialBuilder, Retryable};
use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use tandem_engine::ports::ConnectorError;
use tandem_model::{SecretString, SystemKind};

/// How failed calls are retried. Tests use [`RetryPolicy::fast`] so they do not sleep for long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    /// The first backoff; doubled (with jitter) for each further retry.
    pub min_delay: Duration,
    /// The longest backoff between two attempts.
    pub max_delay: Duration,
    /// The most time spent waiting between attempts of one call, `Retry-After` included; a longer wait
    /// is left to the caller (the engine's failure retries).
    pub max_total_wait: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The longest one call may take: every attempt running into its timeout, plus every wait.
    pub fn longest_call(&self) -> Duration {
        let attempts = u32::try_from(self.max_attempts.max(1)).unwrap_or(u32::MAX);
        self.timeout.saturating_mul(attempts).saturating_add(self.max_total_wait)
    }

    /// Millisecond backoffs, for tests against local simulators.
    pub fn fast() -> Self {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_total_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }

    /// One attempt, no retry.
    pub fn never() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }
}

/// Whether sending a request twice is harmless. A create or a transition sent twice is not, so those
/// are retried only when Jira said it did not process them (429, 503), never after a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Safe,
    Unsafe,
}

impl Repeat {
    fn allows(self, error: &ConnectorError) -> bool {
        match self {
            Repeat::Safe => error.is_retryable(),
            Repeat::Unsafe => {
                matches!(error, ConnectorError::RateLimited { .. } | ConnectorError::Http { status: 503, .. })
            }
        }
    }
}

/// A Jira Cloud REST client for one site and account.
#[derive(Clone)]
pub struct JiraClient {
    http: reqwest::Client,
    site: String,
    authorization: HeaderValue,
    retry: RetryPolicy,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient").field("site", &self.site).field("retry", &self.retry).finish_non_exhaustive()
    }
}

impl JiraClient {
    /// `site` is the base URL (`https://acme.atlassian.net`, or a simulator's); paths are appended to it.
    pub fn new(site: &str, email: &str, api_token: &SecretString, retry: RetryPolicy) -> Result<Self, ConnectorError> {
        let invalid = |message: String| ConnectorError::Invalid { system: SystemKind::Jira, message };
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{}", api_token.expose()));
        let mut authorization = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| invalid("the Jira e-mail or API token contains characters a header cannot carry".into()))?;
        authorization.set_sensitive(true);
        let http = tandem_http::client(retry.timeout, concat!("tandem-jira/", env!("CARGO_PKG_VERSION")))
            .map_err(|error| invalid(format!("the HTTP client could not be built: {error}")))?;
        Ok(JiraClient { http, site: site.trim_end_matches('/').to_string(), authorization, retry })
    }

    pub fn site(&self) -> &str {
        &self.site
    }

    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, ConnectorError> {
        let body = self.call(Method::GET, path, query, None, Repeat::Safe).await?;
        decode(path, &body)
    }

    /// Sends `body` and reads the JSON answer.
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        repeat: Repeat,
    ) -> Result<T, ConnectorError> {
        let body = self.call(method, path, &[], Some(to_json(body)?), repeat).await?;
        decode(path, &body)
    }

    /// Sends `body` to an operation that answers without content (204).
    pub async fn send_without_answer<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        repeat: Repeat,
    ) -> Result<(), ConnectorError> {
        self.call(method, path, &[], Some(to_json(body)?), repeat).await.map(drop)
    }

    /// `DELETE path`, answered without content.
    pub async fn delete(&self, path: &str) -> Result<(), ConnectorError> {
        self.call(Method::DELETE, path, &[], None, Repeat::Safe).await.map(drop)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        repeat: Repeat,
    ) -> Result<Vec<u8>, ConnectorError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_attempts.saturating_sub(1))
            .with_jitter();
        let mut waited = Duration::ZERO;
        let max_total_wait = self.retry.max_total_wait;
        let cut_short = std::sync::atomic::AtomicBool::new(false);
        let answer = (|| self.attempt(method.clone(), path, query, body.as_ref()))
            .retry(backoff)
            .when(|error| repeat.allows(error))
            .adjust(|error, backoff| {
                // Jira's Retry-After wins over our backoff; either way the total wait stays bounded.
                // No backoff left means the attempts are used up, whatever Jira asked for. A wait the
                // work's deadline would cut is not started: the answer in hand is returned.
                let wait = error.retry_after().unwrap_or(backoff?);
                waited += wait;
                if !tandem_engine::deadline::fits(wait) {
                    cut_short.store(true, std::sync::atomic::Ordering::Relaxed);
                    return None;
                }
                (waited <= max_total_wait).then_some(wait)
            })
            .notify(|error, wait| tracing::debug!(%error, ?wait, path, "retrying a Jira call"))
            .await;
        match answer {
            Err(error) if cut_short.into_inner() => Err(error.cut_short(SystemKind::Jira)),
            answer => answer,
        }
    }

    async fn attempt(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Vec<u8>, ConnectorError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.site))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| unreachable(method.as_str(), path, error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = tandem_http::read_body(response, tandem_http::MAX_RESPONSE_BODY)
            .await
            .map_err(|error| unreadable_body(method.as_str(), path, error))?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(from_status(status.as_u16(), method.as_str(), path, &headers, &bytes))
        }
    }
}

fn to_json<B: Serialize>(body: &B) -> Result<Value, ConnectorError> {
    serde_json::to_value(body).map_err(|error| ConnectorError::Invalid {
        system: SystemKind::Jira,
        message: format!("a request body could not be serialised: {error}"),
    })
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, ConnectorError> {
    serde_json::from_slice(body).map_err(|error| {
        invalid_response(format!("the answer to {path} is not the expected JSON: {error}"), Some(Box::new(error)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_requests_are_repeated_only_when_jira_refused_them() {
        let limited = ConnectorError::RateLimited { system: SystemKind::Jira, status: 429, retry_after: None };
        let timeout = ConnectorError::Unreachable { system: SystemKind::Jira, message: "timeout".into(), source: None };
        let http = |status| ConnectorError::Http {
            system: SystemKind::Jira,
            status,
            method: "POST".into(),
            path: "/".into(),
            message: String::new(),
            retry_after: None,
        };
        assert!(Repeat::Unsafe.allows(&limited));
        assert!(Repeat::Unsafe.allows(&http(503)));
        assert!(!Repeat::Unsafe.allows(&timeout));
        assert!(!Repeat::Unsafe.allows(&http(500)));
        assert!(Repeat::Safe.allows(&timeout));
        assert!(Repeat::Safe.allows(&http(500)));
        assert!(!Repeat::Safe.allows(&http(400)));
    }

    #[test]
    fn debug_does_not_show_the_credentials() {
        let client =
            JiraClient::new("http://jira.test/", "a@example.com", &SecretString::new("tok-123"), RetryPolicy::fast())
                .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("tok-123") && !shown.contains("Basic"), "{shown}");
        assert_eq!(client.site(), "http://jira.test");
    }
}
