//! Request recording and contract checks, shared by the simulators.
//!
//! [`Recorder`] is an axum middleware: it buffers each API request and response, keeps them in a log of
//! [`RecordedExchange`]s, counts requests and writes (per authenticated user, for the write-budget
//! benchmarks) and — when given the vendor's [`Contract`] — checks the request and the response against it,
//! keeping every [`Violation`] so tests can assert there are none. Control endpoints (`/_sim/…`) are the
//! simulator's own and pass through untouched.
//!
//! Authentication is the simulator's business; a handler reports who called by putting an
//! [`AuthenticatedUser`] into the response's extensions.

use axum::body::{to_bytes, Body};
use axum::extract::{Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tandem_contract_check::{Contract, RecordedRequest, Violation};

/// The prefix of a simulator's control endpoints, which are neither recorded nor checked.
pub const CONTROL_PREFIX: &str = "/_sim/";

/// Bodies above this size are refused: the simulators hold what they are sent in memory. Azure DevOps's
/// largest single upload (130 MB) fits, with room for its envelope.
const MAX_BODY_BYTES: usize = 140 * 1024 * 1024;

/// Who made a request, as the simulator's authentication decided (Jira accountId, Azure DevOps identity id).
/// Handlers insert it into the response's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser(pub String);

/// One API call as it went over the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedExchange {
    pub method: String,
    pub path: String,
    /// Query parameters in the order sent, percent-decoded.
    pub query: Vec<(String, String)>,
    pub content_type: Option<String>,
    /// The request body when it was JSON.
    pub request_body: Option<Value>,
    pub status: u16,
    /// The response body when it was JSON.
    pub response_body: Option<Value>,
    /// The authenticated caller, when authentication succeeded.
    pub user: Option<String>,
}

impl RecordedExchange {
    fn request(&self) -> RecordedRequest {
        RecordedRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            content_type: self.content_type.clone(),
            body: self.request_body.clone(),
        }
    }
}

/// Checks an exchange against what the vendor documents: its departures, if any.
pub trait ExchangeCheck: Send + Sync {
    fn check(&self, exchange: &RecordedExchange) -> Vec<RecordedViolation>;
}

/// The check against a vendor's OpenAPI / Swagger description.
struct OpenApiCheck(&'static Contract);

impl ExchangeCheck for OpenApiCheck {
    fn check(&self, exchange: &RecordedExchange) -> Vec<RecordedViolation> {
        let request = exchange.request();
        let tag = |phase: &'static str| {
            move |violation: Violation| RecordedViolation { phase, status: exchange.status, violation }
        };
        let mut found: Vec<RecordedViolation> = match self.0.check_request(&request) {
            Ok(_) => Vec::new(),
            Err(violations) => violations.into_iter().map(tag("request")).collect(),
        };
        if let Err(violations) = self.0.check_response(&request, exchange.status, exchange.response_body.as_ref()) {
            found.extend(violations.into_iter().map(tag("response")));
        }
        found
    }
}

/// A departure from the vendor's contract, with the status of the exchange it was found in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedViolation {
    /// `request` or `response`.
    pub phase: &'static str,
    pub status: u16,
    pub violation: Violation,
}

impl std::fmt::Display for RecordedViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}): {}", self.phase, self.status, self.violation)
    }
}

/// Request and write counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordingStats {
    /// API requests (control endpoints excluded).
    pub requests: u64,
    /// Mutating API requests, whatever their answer.
    pub writes: u64,
    /// Mutating API requests per authenticated user.
    pub writes_by_user: BTreeMap<String, u64>,
    /// API requests per authenticated user, whatever their answer.
    pub requests_by_user: BTreeMap<String, u64>,
    /// Items created (successful create calls, as the simulator's creation rule says) per user.
    pub creations_by_user: BTreeMap<String, u64>,
}

/// The status a request was really answered with when that answer was lost on the way (an injected
/// timeout after the change was made): what the change did counts, not what the caller saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostAnswer(pub u16);

/// Decides whether an answered request created an item, given its method, path and status.
pub type CreationRule = Arc<dyn Fn(&str, &str, u16) -> bool + Send + Sync>;

/// Decides whether a `POST` only reads (search, WIQL, batch reads), given its path.
pub type ReadOnlyPost = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Exchanges a simulator keeps by default: enough for a test to look back over, few enough that a
/// long run's pages of search results do not fill the memory.
pub const DEFAULT_RECORDED_EXCHANGES: usize = 10_000;

/// Records one simulator's API traffic. Cheap to clone; clones share the log.
#[derive(Clone)]
pub struct Recorder {
    contract: Option<Arc<dyn ExchangeCheck>>,
    read_only_post: ReadOnlyPost,
    creation: Option<CreationRule>,
    capacity: usize,
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Log {
    exchanges: VecDeque<RecordedExchange>,
    violations: Vec<RecordedViolation>,
    stats: RecordingStats,
}

impl Recorder {
    /// A recorder that checks against `contract` when given one and treats `POST`s for which
    /// `read_only_post(path)` holds as reads. It keeps the last 10,000 exchanges.
    pub fn new(
        contract: Option<&'static Contract>,
        read_only_post: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        let contract = contract.map(|contract| Arc::new(OpenApiCheck(contract)) as Arc<dyn ExchangeCheck>);
        Recorder::checking(contract, read_only_post)
    }

    /// A recorder that checks exchanges with `check` (a vendor without an API description).
    pub fn with_check(
        check: Option<impl ExchangeCheck + 'static>,
        read_only_post: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Recorder::checking(check.map(|check| Arc::new(check) as Arc<dyn ExchangeCheck>), read_only_post)
    }

    fn checking(
        contract: Option<Arc<dyn ExchangeCheck>>,
        read_only_post: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Recorder {
            contract,
            read_only_post: Arc::new(read_only_post),
            creation: None,
            capacity: DEFAULT_RECORDED_EXCHANGES,
            log: Arc::default(),
        }
    }

    /// Counts, per user, the requests `rule(method, path, status)` says created an item: the log of
    /// exchanges is capped, these counters are not, so long runs can tell who made how many items.
    #[must_use]
    pub fn with_creation_rule(mut self, rule: impl Fn(&str, &str, u16) -> bool + Send + Sync + 'static) -> Self {
        self.creation = Some(Arc::new(rule));
        self
    }

    /// Keeps at most `capacity` exchanges (the oldest go first); counters and violations are kept in full.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    pub fn exchanges(&self) -> Vec<RecordedExchange> {
        self.log().exchanges.iter().cloned().collect()
    }

    pub fn violations(&self) -> Vec<RecordedViolation> {
        self.log().violations.clone()
    }

    pub fn stats(&self) -> RecordingStats {
        self.log().stats.clone()
    }

    /// Forgets exchanges, violations and counters (between benchmark phases).
    pub fn reset(&self) {
        *self.log() = Log::default();
    }

    /// Whether a request with this method and path changes state.
    pub fn is_write(&self, method: &Method, path: &str) -> bool {
        match *method {
            Method::POST => !(self.read_only_post)(path),
            Method::PUT | Method::PATCH | Method::DELETE => true,
            _ => false,
        }
    }

    /// The middleware: `router.layer(axum::middleware::from_fn_with_state(recorder, Recorder::middleware))`.
    pub async fn middleware(State(recorder): State<Recorder>, request: Request, next: Next) -> Response {
        if request.uri().path().starts_with(CONTROL_PREFIX) {
            return next.run(request).await;
        }
        let (parts, body) = request.into_parts();
        let request_bytes = match to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => bytes,
            Err(error) => return (StatusCode::PAYLOAD_TOO_LARGE, error.to_string()).into_response(),
        };
        let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|query| query.0).unwrap_or_default();
        let method = parts.method.clone();
        let path = parts.uri.path().to_string();
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_string);
        let request_body = json_body(&request_bytes);

        let response = next.run(Request::from_parts(parts, Body::from(request_bytes))).await;

        let (parts, body) = response.into_parts();
        let response_bytes = match to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => bytes,
            Err(error) => return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
        };
        let exchange = RecordedExchange {
            method: method.as_str().to_string(),
            path,
            query,
            content_type,
            request_body,
            status: parts.status.as_u16(),
            response_body: json_body(&response_bytes),
            user: parts.extensions.get::<AuthenticatedUser>().map(|user| user.0.clone()),
        };
        let write = recorder.is_write(&method, &exchange.path);
        let made_with = parts.extensions.get::<LostAnswer>().map_or(exchange.status, |lost| lost.0);
        recorder.record(exchange, write, made_with);
        Response::from_parts(parts, Body::from(response_bytes))
    }

    /// `made_with`: the status the change was really made with (the caller may have seen another).
    fn record(&self, exchange: RecordedExchange, write: bool, made_with: u16) {
        let violations = self.check(&exchange);
        let mut log = self.log();
        log.stats.requests += 1;
        if let Some(user) = &exchange.user {
            *log.stats.requests_by_user.entry(user.clone()).or_default() += 1;
            let created = self.creation.as_ref().is_some_and(|rule| rule(&exchange.method, &exchange.path, made_with));
            if created {
                *log.stats.creations_by_user.entry(user.clone()).or_default() += 1;
            }
        }
        if write {
            log.stats.writes += 1;
            if let Some(user) = &exchange.user {
                *log.stats.writes_by_user.entry(user.clone()).or_default() += 1;
            }
        }
        for violation in &violations {
            tracing::warn!(%violation.violation, phase = violation.phase, "contract violation");
        }
        log.violations.extend(violations);
        if self.capacity > 0 {
            while log.exchanges.len() >= self.capacity {
                log.exchanges.pop_front();
            }
            log.exchanges.push_back(exchange);
        }
    }

    fn check(&self, exchange: &RecordedExchange) -> Vec<RecordedViolation> {
        self.contract.as_ref().map_or_else(Vec::new, |contract| contract.check(exchange))
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // Every update of the log is a few plain assignments, so a poisoned lock still holds a usable log.
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn json_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use axum::Json;

    fn app(recorder: Recorder) -> axum::Router {
        axum::Router::new()
            .route(
                "/items",
                post(|Json(body): Json<Value>| async move {
                    let mut response = (StatusCode::CREATED, Json(body)).into_response();
                    response.extensions_mut().insert(AuthenticatedUser("alice".into()));
                    response
                }),
            )
            .route("/items/search", post(|| async { Json(serde_json::json!({"items": []})) }))
            .route("/items/{id}", get(|| async { "plain text" }))
            .route("/_sim/stats", get(|| async { "control" }))
            .layer(axum::middleware::from_fn_with_state(recorder, Recorder::middleware))
    }

    async fn serve(recorder: Recorder) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app(recorder)).await.unwrap() });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn records_exchanges_and_counts_writes_per_user_but_not_control_calls() {
        let recorder = Recorder::new(None, |path| path.ends_with("/search"));
        let base = serve(recorder.clone()).await;
        let client = reqwest::Client::new();
        let created = client.post(format!("{base}/items")).json(&serde_json::json!({"a": 1})).send().await.unwrap();
        assert_eq!(created.status(), 201);
        assert_eq!(created.json::<Value>().await.unwrap(), serde_json::json!({"a": 1}));
        client.post(format!("{base}/items/search")).send().await.unwrap();
        let read = client.get(format!("{base}/items/7?x=a%20b&y=2")).send().await.unwrap();
        assert_eq!(read.text().await.unwrap(), "plain text");
        client.get(format!("{base}/_sim/stats")).send().await.unwrap();

        let stats = recorder.stats();
        assert_eq!(stats.requests, 3);
        assert_eq!(stats.writes, 1);
        assert_eq!(stats.writes_by_user, BTreeMap::from([("alice".to_string(), 1)]));
        let exchanges = recorder.exchanges();
        assert_eq!(exchanges.len(), 3);
        assert_eq!(exchanges[0].request_body, Some(serde_json::json!({"a": 1})));
        assert_eq!(exchanges[0].response_body, Some(serde_json::json!({"a": 1})));
        assert_eq!(exchanges[0].user.as_deref(), Some("alice"));
        assert_eq!(exchanges[2].query, vec![("x".to_string(), "a b".to_string()), ("y".to_string(), "2".to_string())]);
        assert_eq!(exchanges[2].response_body, None);
        assert!(recorder.violations().is_empty());
    }

    #[tokio::test]
    async fn keeps_only_the_newest_exchanges_within_capacity() {
        let recorder = Recorder::new(None, |_| false).with_capacity(1);
        let base = serve(recorder.clone()).await;
        for id in [1, 2] {
            reqwest::get(format!("{base}/items/{id}")).await.unwrap();
        }
        let exchanges = recorder.exchanges();
        assert_eq!(exchanges.len(), 1);
        assert_eq!(exchanges[0].path, "/items/2");
        assert_eq!(recorder.stats().requests, 2);
    }

    #[tokio::test]
    async fn checks_traffic_against_the_contract() {
        let contract = Contract::jira().expect("the Jira contract loads");
        let recorder = Recorder::new(Some(contract), |_| false);
        let base = serve(recorder.clone()).await;
        // `/items` is no Jira operation, so both the request and the response are violations.
        reqwest::Client::new().post(format!("{base}/items")).json(&serde_json::json!({})).send().await.unwrap();
        let violations = recorder.violations();
        assert!(violations.iter().any(|violation| violation.phase == "request"), "{violations:?}");
        assert!(violations.iter().all(|violation| violation.status == 201));
    }
}
