//! The HTTP client: a signed-in session (asked for on first use, renewed once when a call is answered
//! `INVALID_SESSION_ID`), calls to the session's instance under `/services/data/vXX.X/`, and
//! Salesforce's errors (a JSON array of `{message, errorCode, fields}`), sent through the shared
//! transport (its retry policy, no redirects, bounded answers).

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tandem_engine::ports::ConnectorError;
use tandem_http::{Answer, Repeat, RetryPolicy, Transport};
use tandem_model::Timestamp;
use tokio::sync::Mutex;

use crate::auth::{self, Grant, Session};
use crate::SALESFORCE as SYSTEM;

/// Tags tandem's writes, so that an org's change events and audit trail name the client.
const CALL_OPTIONS: &str = "client=tandem";
/// How long a change waits when the org's daily allowance is used up before it is tried again.
const ALLOWANCE_WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// The wait after the org's other limits (concurrent long-running requests) or a record lock held by
/// another transaction: both free up within seconds.
const CONTENTION_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// Records per query batch asked for (Salesforce answers 200 to 2,000).
const QUERY_BATCH: &str = "batchSize=200";

/// Where a request goes on the session's instance.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Under `/services/data/vXX.X/`: `sobjects/Case/500…`, with query pairs.
    Api(&'a str, &'a [(&'a str, &'a str)]),
    /// A path Salesforce gave (a query's `nextRecordsUrl`).
    Path(&'a str),
}

/// An authenticated Salesforce client. Cheap to share.
pub struct SalesforceClient {
    transport: Transport,
    my_domain: String,
    api_version: String,
    grant: Grant,
    session: Mutex<Option<Arc<Session>>>,
    /// The org's API usage as last reported (`Sforce-Limit-Info: api-usage=used/allocation`).
    api_used: AtomicU64,
    api_allocation: AtomicU64,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("my_domain", &self.my_domain)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

/// One entry of Salesforce's error array.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default, alias = "statusCode")]
    error_code: String,
}

impl SalesforceClient {
    pub(crate) fn new(
        my_domain: &str,
        api_version: &str,
        grant: Grant,
        retry: RetryPolicy,
    ) -> Result<SalesforceClient, ConnectorError> {
        Ok(SalesforceClient {
            transport: Transport::new(SYSTEM, retry)?,
            my_domain: my_domain.trim_end_matches('/').to_string(),
            api_version: api_version.to_string(),
            grant,
            session: Mutex::new(None),
            api_used: AtomicU64::new(0),
            api_allocation: AtomicU64::new(0),
        })
    }

    pub fn retry(&self) -> &RetryPolicy {
        self.transport.policy()
    }

    /// The org's API usage as last reported: `(used, allocation)` over the rolling 24 hours.
    pub fn api_usage(&self) -> Option<(u64, u64)> {
        let allocation = self.api_allocation.load(Ordering::Relaxed);
        (allocation > 0).then(|| (self.api_used.load(Ordering::Relaxed), allocation))
    }

    /// The current session, signing in when there is none.
    pub(crate) async fn session(&self) -> Result<Arc<Session>, ConnectorError> {
        self.session_other_than(None).await
    }

    /// The current session unless it is `stale` (or there is none): then a new one. A session another
    /// call renewed meanwhile is taken as it is.
    async fn session_other_than(&self, stale: Option<&Session>) -> Result<Arc<Session>, ConnectorError> {
        let mut session = self.session.lock().await;
        if let Some(current) = session.as_ref() {
            if stale.is_none_or(|stale| current.access_token != stale.access_token) {
                return Ok(Arc::clone(current));
            }
        }
        let fresh = Arc::new(auth::sign_in(&self.transport, &self.my_domain, &self.grant).await?);
        *session = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    /// Sends the request, retrying what the transport's policy allows, and once more with a new
    /// session when the session expired. `what` names the record for a 404 ("Case 500…").
    pub async fn send(
        &self,
        method: Method,
        target: Target<'_>,
        body: Option<&Value>,
        repeat: Repeat,
        what: &str,
    ) -> Result<Answer, ConnectorError> {
        self.send_request(&Request { method: &method, target, body, repeat, what, unmodified_since: None }).await
    }

    /// Updates a record (`PATCH`) only if it has not changed since `read` (`If-Unmodified-Since`,
    /// compared with its `LastModifiedDate` to the second); a record changed since is
    /// [`ConnectorError::Changed`], and nothing is written.
    pub async fn update_unless_changed(
        &self,
        target: Target<'_>,
        body: &Value,
        read: Timestamp,
        what: &str,
    ) -> Result<Answer, ConnectorError> {
        let since = read.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let (method, body, repeat) = (Method::PATCH, Some(body), Repeat::Safe);
        self.send_request(&Request { method: &method, target, body, repeat, what, unmodified_since: Some(&since) })
            .await
    }

    async fn send_request(&self, request: &Request<'_>) -> Result<Answer, ConnectorError> {
        let session = self.session().await?;
        match self.send_as(&session, request).await {
            Err(ConnectorError::Unauthorized { status: 401, .. }) => {
                let renewed = self.session_other_than(Some(&session)).await?;
                self.send_as(&renewed, request).await
            }
            answer => answer,
        }
    }

    /// As [`SalesforceClient::send`], decoding the JSON answer (an empty one reads as `null`).
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        target: Target<'_>,
        body: Option<&Value>,
        repeat: Repeat,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let answer = self.send(method.clone(), target, body, repeat, what).await?;
        let bytes = if answer.body.is_empty() { b"null".as_slice() } else { answer.body.as_slice() };
        serde_json::from_slice(bytes).map_err(|error| ConnectorError::InvalidResponse {
            system: SYSTEM,
            message: format!("{method} {what}: {error}"),
            source: Some(Box::new(error)),
        })
    }

    async fn send_as(&self, session: &Session, request: &Request<'_>) -> Result<Answer, ConnectorError> {
        let Request { method, target, body, repeat, what, unmodified_since } = *request;
        let mut url = session.instance_url.clone();
        match target {
            Target::Api(path, query) => {
                url.set_path(&format!("/services/data/v{}/{path}", self.api_version));
                if !query.is_empty() {
                    url.query_pairs_mut().extend_pairs(query.iter().copied());
                }
            }
            Target::Path(path) => {
                let (path, query) = path.split_once('?').unwrap_or((path, ""));
                url.set_path(path);
                url.set_query((!query.is_empty()).then_some(query));
            }
        }
        let bytes = body.map(serde_json::to_vec).transpose().map_err(|error| ConnectorError::Invalid {
            system: SYSTEM,
            message: format!("request body could not be encoded: {error}"),
        })?;
        let path = url.path().to_string();
        let build = |http: &reqwest::Client| {
            let mut request = http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", session.access_token.expose()))
                .header("Sforce-Call-Options", CALL_OPTIONS)
                .header("Sforce-Query-Options", QUERY_BATCH);
            if let Some(since) = unmodified_since {
                request = request.header("If-Unmodified-Since", since);
            }
            match &bytes {
                // Assignment rules would otherwise move a synced record to another owner on each write.
                Some(bytes) => request
                    .header(CONTENT_TYPE, "application/json")
                    .header("Sforce-Auto-Assign", "FALSE")
                    .body(bytes.clone()),
                None => request,
            }
        };
        let refusal = |answer: &Answer| error_for(answer, method, &path, what);
        let answer = self.transport.send(repeat, build, refusal).await?;
        self.note_usage(&answer.headers);
        Ok(answer)
    }

    fn note_usage(&self, headers: &HeaderMap) {
        let Some((used, allocation)) =
            headers.get("sforce-limit-info").and_then(|value| value.to_str().ok()).and_then(api_usage)
        else {
            return;
        };
        self.api_used.store(used, Ordering::Relaxed);
        self.api_allocation.store(allocation, Ordering::Relaxed);
        if used * 10 >= allocation * 9 {
            tracing::warn!(used, allocation, "the Salesforce org has used 90% of its daily API allocation");
        }
    }

    /// The org's API usage as `GET /limits` reports it now (`DailyApiRequests`), kept as the last heard.
    pub async fn refresh_api_usage(&self) -> Result<Option<(u64, u64)>, ConnectorError> {
        let limits: Value = self.json(Method::GET, Target::Api("limits", &[]), None, Repeat::Safe, "limits").await?;
        let daily = &limits["DailyApiRequests"];
        let (Some(allocation), Some(remaining)) = (daily["Max"].as_u64(), daily["Remaining"].as_u64()) else {
            return Ok(self.api_usage());
        };
        let used = allocation.saturating_sub(remaining);
        self.api_used.store(used, Ordering::Relaxed);
        self.api_allocation.store(allocation, Ordering::Relaxed);
        Ok(Some((used, allocation)))
    }

    /// Every record a SOQL query selects, batch after batch.
    pub async fn query(&self, soql: &str) -> Result<Vec<Value>, ConnectorError> {
        self.query_at("query", soql).await
    }

    /// As [`SalesforceClient::query`], deleted records included (in the recycle bin; `IsDeleted` true),
    /// in child subqueries too.
    pub async fn query_all(&self, soql: &str) -> Result<Vec<Value>, ConnectorError> {
        self.query_at("queryAll", soql).await
    }

    async fn query_at(&self, resource: &str, soql: &str) -> Result<Vec<Value>, ConnectorError> {
        let mut page: QueryPage =
            self.json(Method::GET, Target::Api(resource, &[("q", soql)]), None, Repeat::Safe, "query").await?;
        let mut records = std::mem::take(&mut page.records);
        while let Some(next) = page.next_records_url.take() {
            page = self.json(Method::GET, Target::Path(&next), None, Repeat::Safe, "query").await?;
            records.append(&mut page.records);
        }
        Ok(records)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    records: Vec<Value>,
    #[serde(default)]
    next_records_url: Option<String>,
}

/// `api-usage=used/allocation` of a `Sforce-Limit-Info` header (other `;`-separated parts ignored).
fn api_usage(header: &str) -> Option<(u64, u64)> {
    let usage = header.split(';').find_map(|part| part.trim().strip_prefix("api-usage="))?;
    let (used, allocation) = usage.split_once('/')?;
    Some((used.trim().parse().ok()?, allocation.trim().parse().ok()?))
}

/// One request, as [`SalesforceClient::send_as`] makes it.
#[derive(Clone, Copy)]
struct Request<'a> {
    method: &'a Method,
    target: Target<'a>,
    body: Option<&'a Value>,
    repeat: Repeat,
    what: &'a str,
    /// `If-Unmodified-Since`, an HTTP date.
    unmodified_since: Option<&'a str>,
}

/// Maps a failed answer to the engine's error, keeping Salesforce's code and message.
pub(crate) fn error_for(answer: &Answer, method: &Method, path: &str, what: &str) -> ConnectorError {
    let status = answer.status.as_u16();
    let errors: Vec<ApiError> = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = errors.first().map(|error| error.error_code.as_str()).unwrap_or_default();
    let message = match errors.first() {
        Some(error) => format!("{}: {}", error.error_code, error.message),
        None => String::from_utf8_lossy(&answer.body).chars().take(300).collect(),
    };
    match (status, code) {
        (401, _) => ConnectorError::Unauthorized { system: SYSTEM, status },
        // The org's allocation is used up. REST says so with a 403 and no Retry-After; the allocation
        // is a rolling 24-hour window, so it frees up over minutes, not within a call's retries: the
        // wait given here is longer than a call waits, so the call stops at once and the change waits
        // in the failure log (never parked) for the next try.
        (403, "REQUEST_LIMIT_EXCEEDED") if message.contains("TotalRequests") => {
            ConnectorError::RateLimited { system: SYSTEM, status, retry_after: Some(ALLOWANCE_WAIT) }
        }
        // Too many concurrent long requests, or another transaction holds the record's lock
        // (`UNABLE_TO_LOCK_ROW`, answered 400): nothing was done, and the same request succeeds shortly.
        (403, "REQUEST_LIMIT_EXCEEDED") | (_, "UNABLE_TO_LOCK_ROW") => {
            ConnectorError::RateLimited { system: SYSTEM, status, retry_after: Some(CONTENTION_WAIT) }
        }
        (404, _) | (400, "ENTITY_IS_DELETED") => ConnectorError::NotFound { system: SYSTEM, item: what.to_string() },
        (412, _) => ConnectorError::Changed { system: SYSTEM, item: what.to_string() },
        _ => ConnectorError::Http {
            system: SYSTEM,
            status,
            method: method.to_string(),
            path: path.to_string(),
            message,
            retry_after: tandem_http::retry_after(&answer.headers),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, body: &str) -> ConnectorError {
        error_for(&answer(status, body), &Method::PATCH, "/services/data/v64.0/sobjects/Case/x", "Case x")
    }

    #[test]
    fn the_daily_allocation_used_up_is_rate_limiting_and_retryable() {
        let limited =
            error(403, r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#);
        assert!(matches!(limited, ConnectorError::RateLimited { status: 403, .. }), "{limited:?}");
        assert!(limited.is_retryable());
    }

    #[test]
    fn concurrency_limits_and_record_locks_are_short_waits() {
        let concurrent = error(
            403,
            r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        let locked = error(
            400,
            r#"[{"message":"unable to obtain exclusive access to this record or 1 records","errorCode":"UNABLE_TO_LOCK_ROW"}]"#,
        );
        for error in [concurrent, locked] {
            assert!(
                matches!(error, ConnectorError::RateLimited { retry_after: Some(wait), .. } if wait == CONTENTION_WAIT),
                "{error:?}"
            );
            // Nothing was made: even a create may be sent again.
            assert!(tandem_http::Repeat::Unsafe.allows(&error));
        }
    }

    #[test]
    fn refusals_keep_salesforce_code_and_message() {
        let body =
            r#"[{"message":"Subject: data value too large","errorCode":"STRING_TOO_LONG","fields":["Subject"]}]"#;
        let refused = error(400, body);
        assert!(!refused.is_retryable());
        assert!(refused.to_string().contains("STRING_TOO_LONG: Subject: data value too large"), "{refused}");
        assert!(matches!(
            error(404, r#"[{"message":"gone","errorCode":"NOT_FOUND"}]"#),
            ConnectorError::NotFound { .. }
        ));
        assert!(matches!(
            error(401, r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#),
            ConnectorError::Unauthorized { status: 401, .. }
        ));
        assert!(error(503, "").is_retryable());
    }

    #[test]
    fn usage_is_read_from_the_limit_header() {
        assert_eq!(api_usage("api-usage=10018/100000"), Some((10018, 100000)));
        assert_eq!(api_usage("api-usage=18/15000; per-app-api-usage=17/250(appName=sample)"), Some((18, 15000)));
        assert_eq!(api_usage("garbage"), None);
    }
}
