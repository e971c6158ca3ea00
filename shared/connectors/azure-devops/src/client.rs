//! HTTP transport: Basic authentication with the PAT, `api-version`, error mapping, and retries.
//!
//! Retrying answers two separate questions: whether an error is worth retrying
//! ([`ConnectorError::is_retryable`]) and how long to wait (exponential backoff with jitter, or the
//! service's `Retry-After` when it gives one, capped).

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use tandem_engine::ports::ConnectorError;
use tandem_model::{SecretString, SystemKind};
use url::Url;

const SYSTEM: SystemKind = SystemKind::AzureDevops;

/// `api-version` of the work item tracking and identities calls.
pub const API_VERSION: &str = "7.1";
/// `api-version` of the comments calls.
pub const COMMENTS_API_VERSION: &str = "7.1-preview.4";
/// `api-version` of `connectionData`, which has no released 7.1 version.
pub const CONNECTION_DATA_API_VERSION: &str = "7.1-preview.1";

const JSON_PATCH: &str = "application/json-patch+json";

/// The `typeKey`s of a 412 that mean "changed since you read it": a failed `test` of the revision.
const CHANGED_SINCE_READ: [&str; 2] = ["WorkItemTestOperationFailedException", "WorkItemRevisionMismatchException"];

/// How often and how patiently failed calls are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    /// The first backoff; it doubles (with jitter) up to `max_delay`.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the call (the engine tries the change again
    /// once the wait is over) rather than being cut short, which the service would answer with another
    /// 429.
    pub max_retry_after: Duration,
    /// The most time spent waiting between attempts of one call, `Retry-After` included: it bounds a
    /// call's duration, and so the claim lease that must outlast a create.
    pub max_total_wait: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Millisecond backoffs for tests; `Retry-After` is still honoured up to `max_retry_after`.
    pub fn fast() -> Self {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
            max_total_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }

    /// The longest one call may take: every attempt running into its timeout, plus every wait.
    pub fn longest_call(&self) -> Duration {
        let attempts = u32::try_from(self.max_attempts.max(1)).unwrap_or(u32::MAX);
        self.timeout.saturating_mul(attempts).saturating_add(self.max_total_wait)
    }
}

/// What a request carries.
#[derive(Debug)]
pub enum Payload<'a, B: Serialize> {
    Empty,
    Json(&'a B),
    /// A JSON Patch document (`application/json-patch+json`).
    JsonPatch(&'a B),
}

// Derived impls would demand `B: Copy`; a payload only holds a reference.
impl<B: Serialize> Clone for Payload<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: Serialize> Copy for Payload<'_, B> {}

/// An authenticated Azure DevOps HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct AzureDevopsClient {
    http: reqwest::Client,
    pat: SecretString,
    retry: RetryPolicy,
}

impl std::fmt::Debug for AzureDevopsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureDevopsClient").field("retry", &self.retry).finish_non_exhaustive()
    }
}

impl AzureDevopsClient {
    pub fn new(pat: SecretString, retry: RetryPolicy) -> Result<Self, ConnectorError> {
        let http =
            tandem_http::client(retry.timeout, concat!("tandem/", env!("CARGO_PKG_VERSION"))).map_err(|error| {
                ConnectorError::Invalid { system: SYSTEM, message: format!("HTTP client could not be built: {error}") }
            })?;
        Ok(AzureDevopsClient { http, pat, retry })
    }

    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `base` + path segments (each percent-encoded) + query + `api-version`.
    pub fn url(base: &Url, segments: &[&str], query: &[(&str, &str)], api_version: &str) -> Url {
        let mut url = base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
            pairs.append_pair("api-version", api_version);
        }
        url
    }

    /// Sends the request, retrying retryable failures, and decodes the JSON answer. `what` names the
    /// resource for a 404 ("work item 12").
    pub async fn send<T, B>(
        &self,
        method: Method,
        url: Url,
        payload: Payload<'_, B>,
        what: &str,
    ) -> Result<T, ConnectorError>
    where
        T: DeserializeOwned,
        B: Serialize,
    {
        self.send_retrying(method, url, payload, what, ConnectorError::is_retryable).await
    }

    /// As [`AzureDevopsClient::send`], for a request that must not be made twice (a create, a new
    /// comment): retried only when Azure DevOps said it did not process it (429, 503), never after a
    /// timeout or another 5xx, after which the change may exist.
    pub async fn send_unrepeatable<T, B>(
        &self,
        method: Method,
        url: Url,
        payload: Payload<'_, B>,
        what: &str,
    ) -> Result<T, ConnectorError>
    where
        T: DeserializeOwned,
        B: Serialize,
    {
        let unprocessed = |error: &ConnectorError| {
            matches!(error, ConnectorError::RateLimited { .. } | ConnectorError::Http { status: 503, .. })
        };
        self.send_retrying(method, url, payload, what, unprocessed).await
    }

    async fn send_retrying<T, B>(
        &self,
        method: Method,
        url: Url,
        payload: Payload<'_, B>,
        what: &str,
        worth_retrying: impl Fn(&ConnectorError) -> bool,
    ) -> Result<T, ConnectorError>
    where
        T: DeserializeOwned,
        B: Serialize,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_attempts.saturating_sub(1))
            .with_jitter();
        let (cap, max_total_wait) = (self.retry.max_retry_after, self.retry.max_total_wait);
        let mut waited = Duration::ZERO;
        let cut_short = std::sync::atomic::AtomicBool::new(false);
        let answer = (|| self.send_once(method.clone(), url.clone(), payload, what))
            .retry(backoff)
            .when(worth_retrying)
            .adjust(|error: &ConnectorError, backoff: Option<Duration>| {
                // No backoff left means the attempts are used up. A wait longer than the service's
                // Retry-After cap, or than what is left of the call's total, ends the call instead.
                let wait = match error.retry_after() {
                    Some(asked) if asked > cap => return None,
                    Some(asked) => backoff.map(|_| asked),
                    None => backoff,
                }?;
                waited += wait;
                // A wait the work's deadline would cut is not started: the answer in hand is returned.
                if !tandem_engine::deadline::fits(wait) {
                    cut_short.store(true, std::sync::atomic::Ordering::Relaxed);
                    return None;
                }
                (waited <= max_total_wait).then_some(wait)
            })
            .notify(|error: &ConnectorError, delay: Duration| {
                tracing::debug!(%error, ?delay, "retrying Azure DevOps call");
            })
            .await;
        match answer {
            Err(error) if cut_short.into_inner() => Err(error.cut_short(SYSTEM)),
            answer => answer,
        }
    }

    async fn send_once<T, B>(
        &self,
        method: Method,
        url: Url,
        payload: Payload<'_, B>,
        what: &str,
    ) -> Result<T, ConnectorError>
    where
        T: DeserializeOwned,
        B: Serialize,
    {
        let path = url.path().to_string();
        let mut request = self.http.request(method.clone(), url).basic_auth("", Some(self.pat.expose()));
        request = match payload {
            Payload::Empty => request,
            Payload::Json(body) => request.json(body),
            Payload::JsonPatch(body) => {
                let bytes = serde_json::to_vec(body).map_err(|error| ConnectorError::Invalid {
                    system: SYSTEM,
                    message: format!("request body could not be encoded: {error}"),
                })?;
                request.header(CONTENT_TYPE, JSON_PATCH).body(bytes)
            }
        };
        let response = request.send().await.map_err(|error| ConnectorError::Unreachable {
            system: SYSTEM,
            message: format!("{method} {path}: {error}"),
            source: Some(Box::new(error)),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = tandem_http::read_body(response, tandem_http::MAX_RESPONSE_BODY).await.map_err(|error| {
            let message = format!("{method} {path}: {error}");
            match error.is_retryable() {
                true => ConnectorError::Unreachable { system: SYSTEM, message, source: Some(Box::new(error)) },
                false => ConnectorError::InvalidResponse { system: SYSTEM, message, source: Some(Box::new(error)) },
            }
        })?;
        if !status.is_success() {
            return Err(error_for(status, &headers, &bytes, &method, &path, what));
        }
        // An answer without content (a deletion's 204) reads as JSON `null`.
        let bytes = if bytes.is_empty() { b"null".to_vec() } else { bytes };
        serde_json::from_slice(&bytes).map_err(|error| ConnectorError::InvalidResponse {
            system: SYSTEM,
            message: format!("{method} {path}: {error}"),
            source: Some(Box::new(error)),
        })
    }
}

/// Maps a failed answer to the engine's error, keeping the service's own message.
fn error_for(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    method: &Method,
    path: &str,
    what: &str,
) -> ConnectorError {
    let retry_after = tandem_http::retry_after(headers);
    let answer = serde_json::from_slice::<serde_json::Value>(body).ok();
    let member = |name: &str| {
        answer.as_ref().and_then(|body| body.get(name).and_then(|value| value.as_str()).map(str::to_string))
    };
    let message = tandem_http::redirect_refusal(status.as_u16(), headers)
        .or_else(|| member("message"))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
    match status.as_u16() {
        401 | 403 => ConnectorError::Unauthorized { system: SYSTEM, status: status.as_u16() },
        404 => ConnectorError::NotFound { system: SYSTEM, item: what.to_string() },
        429 => ConnectorError::RateLimited { system: SYSTEM, status: 429, retry_after },
        // A `test` operation of the patch failed: the work item changed since it was read.
        412 if member("typeKey").is_some_and(|key| CHANGED_SINCE_READ.contains(&key.as_str())) => {
            ConnectorError::Changed { system: SYSTEM, item: what.to_string() }
        }
        code => ConnectorError::Http {
            system: SYSTEM,
            status: code,
            method: method.to_string(),
            path: path.to_string(),
            message,
            retry_after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::RETRY_AFTER;

    #[test]
    fn urls_encode_segments_and_always_carry_the_api_version() {
        let base = Url::parse("https://dev.azure.com/fabrikam").unwrap();
        let url = AzureDevopsClient::url(
            &base,
            &["My Project", "_apis", "wit", "workitems", "$Bug"],
            &[("validateOnly", "true")],
            API_VERSION,
        );
        assert_eq!(
            url.as_str(),
            "https://dev.azure.com/fabrikam/My%20Project/_apis/wit/workitems/$Bug?validateOnly=true&api-version=7.1"
        );
    }

    #[test]
    fn throttling_and_unavailability_are_retryable_with_their_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        let throttled = error_for(StatusCode::TOO_MANY_REQUESTS, &headers, b"", &Method::GET, "/x", "x");
        assert!(throttled.is_retryable());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(3)));
        let unavailable = error_for(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), b"{}", &Method::GET, "/x", "x");
        assert!(unavailable.is_retryable());
    }

    #[test]
    fn client_errors_are_permanent_and_keep_the_service_message() {
        let body = br#"{"message":"TF401320: Rule Error for field State."}"#;
        let refused = error_for(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, &Method::PATCH, "/x", "x");
        assert!(!refused.is_retryable());
        assert!(refused.to_string().contains("TF401320"), "{refused}");
        assert!(matches!(
            error_for(StatusCode::UNAUTHORIZED, &HeaderMap::new(), b"", &Method::GET, "/x", "x"),
            ConnectorError::Unauthorized { status: 401, .. }
        ));
        assert!(matches!(
            error_for(StatusCode::NOT_FOUND, &HeaderMap::new(), b"", &Method::GET, "/x", "work item 9"),
            ConnectorError::NotFound { item, .. } if item == "work item 9"
        ));
    }
}
