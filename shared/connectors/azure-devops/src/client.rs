//! The HTTP client: Basic authentication with the PAT, `api-version`, JSON and JSON Patch bodies, and
//! Azure DevOps' errors, sent through the shared transport (its retry policy, no redirects, bounded
//! answers).

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tandem_engine::ports::ConnectorError;
use tandem_http::{Answer, Repeat, RetryPolicy, Transport};
use tandem_model::SecretString;
use url::Url;

use crate::AZURE_DEVOPS as SYSTEM;

/// `api-version` of the work item tracking and identities calls.
pub const API_VERSION: &str = "7.1";
/// `api-version` of the comments calls.
pub const COMMENTS_API_VERSION: &str = "7.1-preview.4";
/// `api-version` of `connectionData`, which has no released 7.1 version.
pub const CONNECTION_DATA_API_VERSION: &str = "7.1-preview.1";

const JSON_PATCH: &str = "application/json-patch+json";

/// The `typeKey`s of a 412 that mean "changed since you read it": a failed `test` of the revision.
const CHANGED_SINCE_READ: [&str; 2] = ["WorkItemTestOperationFailedException", "WorkItemRevisionMismatchException"];

/// What a request carries.
#[derive(Debug)]
pub enum Payload<'a, B: Serialize> {
    Empty,
    Json(&'a B),
    /// A JSON Patch document (`application/json-patch+json`).
    JsonPatch(&'a B),
    /// A file's bytes (`application/octet-stream`), as an attachment upload takes them: shared with
    /// every attempt, never copied.
    File(&'a bytes::Bytes),
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
    transport: Transport,
    pat: SecretString,
}

impl std::fmt::Debug for AzureDevopsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureDevopsClient").field("retry", self.transport.policy()).finish_non_exhaustive()
    }
}

impl AzureDevopsClient {
    pub fn new(pat: SecretString, retry: RetryPolicy) -> Result<Self, ConnectorError> {
        Ok(AzureDevopsClient { transport: Transport::new(SYSTEM, retry)?, pat })
    }

    pub fn retry(&self) -> &RetryPolicy {
        self.transport.policy()
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
        self.send_retrying(method, url, payload, what, Repeat::Safe).await
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
        self.send_retrying(method, url, payload, what, Repeat::Unsafe).await
    }

    async fn send_retrying<T, B>(
        &self,
        method: Method,
        url: Url,
        payload: Payload<'_, B>,
        what: &str,
        repeat: Repeat,
    ) -> Result<T, ConnectorError>
    where
        T: DeserializeOwned,
        B: Serialize,
    {
        let path = url.path().to_string();
        let body = self.exchange(method.clone(), url, payload, what, repeat).await?;
        // An answer without content (a deletion's 204) reads as JSON `null`.
        let bytes = if body.is_empty() { b"null".as_slice() } else { body.as_slice() };
        serde_json::from_slice(bytes).map_err(|error| ConnectorError::InvalidResponse {
            system: SYSTEM,
            message: format!("{method} {path}: {error}"),
            source: Some(Box::new(error)),
        })
    }

    /// `GET url` answered with a file: its bytes as sent.
    pub async fn get_file(&self, url: Url, what: &str) -> Result<Vec<u8>, ConnectorError> {
        self.exchange::<()>(Method::GET, url, Payload::Empty, what, Repeat::Safe).await
    }

    /// One request, retried as `repeat` allows; the answer's body as received.
    async fn exchange<B: Serialize>(
        &self,
        method: Method,
        url: Url,
        payload: Payload<'_, B>,
        what: &str,
        repeat: Repeat,
    ) -> Result<Vec<u8>, ConnectorError> {
        let body = match payload {
            Payload::Empty => None,
            Payload::Json(body) => Some(("application/json", encode(body)?.into())),
            Payload::JsonPatch(body) => Some((JSON_PATCH, encode(body)?.into())),
            Payload::File(bytes) => Some(("application/octet-stream", bytes::Bytes::clone(bytes))),
        };
        let path = url.path().to_string();
        let build = |http: &reqwest::Client| {
            let request = http.request(method.clone(), url.clone()).basic_auth("", Some(self.pat.expose()));
            match &body {
                Some((content_type, bytes)) => request.header(CONTENT_TYPE, *content_type).body(bytes.clone()),
                None => request,
            }
        };
        let refusal = |answer: &Answer| error_for(answer.status, &answer.headers, &answer.body, &method, &path, what);
        Ok(self.transport.send(repeat, build, refusal).await?.body)
    }
}

fn encode<B: Serialize>(body: &B) -> Result<Vec<u8>, ConnectorError> {
    serde_json::to_vec(body).map_err(|error| ConnectorError::Invalid {
        system: SYSTEM,
        message: format!("request body could not be encoded: {error}"),
    })
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
    let message = member("message").unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
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
    use std::time::Duration;

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
