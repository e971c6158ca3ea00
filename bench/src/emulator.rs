//! A local stand-in for the AWS Lambda Runtime API (`/2018-06-01/runtime/...`), the HTTP interface a
//! custom runtime such as `lambda_runtime` polls for events and posts answers to.
//!
//! Events are queued by the bench; `GET invocation/next` hands out the oldest one and, like Lambda,
//! holds the request open while the queue is empty. Answers (`response`, `error`) and initialisation
//! failures (`init/error`) are recorded with the instant they arrived, which is what cold starts are
//! measured to.

use crate::error::BenchError;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Lambda accepts synchronous responses up to 6 MB; axum's default limit (2 MB) is lower.
const MAX_ANSWER_BYTES: usize = 6 * 1024 * 1024;

/// One event waiting to be handed to the function.
#[derive(Debug, Clone)]
struct Invocation {
    request_id: String,
    deadline_ms: u64,
    function_arn: String,
    trace_id: String,
    payload: Bytes,
}

/// How the function answered an invocation, or why it could not start.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST invocation/{id}/response`: the handler's result.
    Response(Bytes),
    /// `POST invocation/{id}/error`: the handler failed; `error_type` is the
    /// `Lambda-Runtime-Function-Error-Type` header when sent.
    Error { error_type: Option<String>, body: Bytes },
}

impl Answer {
    /// The answer in a line of at most `limit` characters: a webhook's HTTP status and body (API
    /// Gateway's response JSON), the poller's summary, or the error the function reported.
    pub fn summary(&self, limit: usize) -> String {
        let text = match self {
            Answer::Response(body) => match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(response) => match (response.get("statusCode"), response.get("body").and_then(|body| body.as_str()))
                {
                    (Some(status), Some(body)) => format!("{status} {body}"),
                    _ => response.to_string(),
                },
                Err(_) => String::from_utf8_lossy(body).into_owned(),
            },
            Answer::Error { error_type, body } => {
                format!("error {}: {}", error_type.as_deref().unwrap_or("(no type)"), String::from_utf8_lossy(body))
            }
        };
        match text.char_indices().nth(limit) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    }
}

/// An answer, when it arrived, and when its event was handed out: what came before that is the
/// runtime's initialisation (Lambda's "Init Duration").
#[derive(Debug, Clone)]
pub struct Recorded {
    pub answer: Answer,
    pub handed_at: Instant,
    pub at: Instant,
}

/// `POST init/error`: the runtime reported it could not initialise.
#[derive(Debug, Clone)]
pub struct InitError {
    pub error_type: Option<String>,
    pub body: Bytes,
    pub at: Instant,
}

#[derive(Default)]
struct Queues {
    waiting: VecDeque<Invocation>,
    /// Handed out and not answered yet: the only ids an answer is accepted for.
    in_flight: HashMap<String, Instant>,
    answers: HashMap<String, Recorded>,
    init_errors: Vec<InitError>,
}

struct Shared {
    queues: Mutex<Queues>,
    /// Wakes `next` requests held open on an empty queue.
    queued: Notify,
    /// Bumped when the bench stops a process: a `next` request held open since before belongs to a
    /// process that is gone (its connection is not noticed closed while the answer is pending), and
    /// must not take the next process's event.
    generation: AtomicU64,
    /// Bumped on every recorded answer or init error, for [`RuntimeApi::answer`] to wait on.
    recorded: watch::Sender<u64>,
}

impl Shared {
    fn queues(&self) -> MutexGuard<'_, Queues> {
        // Every change is a single insert or remove, so a poisoned lock still holds consistent queues.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.recorded.send_modify(|count| *count += 1);
    }
}

/// A running emulator on 127.0.0.1; dropping it stops the server.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Result<RuntimeApi, BenchError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(BenchError::EmulatorBind)?;
        let address = listener.local_addr().map_err(BenchError::EmulatorBind)?;
        let shared = Arc::new(Shared {
            queues: Mutex::default(),
            queued: Notify::new(),
            generation: AtomicU64::new(0),
            recorded: watch::Sender::new(0),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{request_id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{request_id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .layer(DefaultBodyLimit::max(MAX_ANSWER_BYTES))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("the Lambda Runtime API emulator stopped: {error}");
            }
        });
        Ok(RuntimeApi { address, shared, server })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn endpoint(&self) -> String {
        self.address.to_string()
    }

    /// Queues `payload` for the function `function_arn`, to be answered within `timeout` (the
    /// deadline handed out is counted from now). Returns the request id.
    pub fn enqueue(&self, function_arn: &str, payload: impl Into<Bytes>, timeout: Duration) -> String {
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline = SystemTime::now() + timeout;
        let invocation = Invocation {
            request_id: request_id.clone(),
            deadline_ms: deadline.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64),
            function_arn: function_arn.to_string(),
            trace_id: trace_id(),
            payload: payload.into(),
        };
        self.shared.queues().waiting.push_back(invocation);
        // Every request held open looks: one of a stopped process must not be the only one woken.
        self.shared.queued.notify_waiters();
        request_id
    }

    /// The answer to `request_id` once it is recorded, or `None` when `wait` passes first.
    pub async fn answer(&self, request_id: &str, wait: Duration) -> Option<Recorded> {
        let mut changes = self.shared.recorded.subscribe();
        let recorded = async {
            loop {
                if let Some(recorded) = self.shared.queues().answers.get(request_id) {
                    return Some(recorded.clone());
                }
                // The sender lives as long as `self`; a closed channel cannot happen while we wait.
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(wait, recorded).await.ok().flatten()
    }

    /// Initialisation failures reported so far, oldest first.
    pub fn init_errors(&self) -> Vec<InitError> {
        self.shared.queues().init_errors.clone()
    }

    /// Forgets events nobody took, so a function that died before polling does not leave its event
    /// to the next one.
    pub fn discard_waiting(&self) {
        self.shared.queues().waiting.clear();
    }

    /// Ends the `next` requests held open so far: their process was stopped, and the next event is for
    /// the next one (a request left open would take it and answer a closed connection, leaving the new
    /// process waiting for an event that never comes).
    pub fn end_requests_held_open(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.shared.queued.notify_waiters();
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // `next` requests may be held open forever; a graceful shutdown would wait for them.
        self.server.abort();
    }
}

/// An X-Ray trace header as Lambda sends it: `Root=1-{epoch hex}-{96 random bits}`.
fn trace_id() -> String {
    let epoch = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{epoch:08x}-{};Parent={};Sampled=0", &random[..24], &random[16..32])
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let generation = shared.generation.load(Ordering::SeqCst);
    loop {
        let queued = shared.queued.notified();
        tokio::pin!(queued);
        // Registered before looking, so an event queued in between still wakes this request.
        queued.as_mut().enable();
        if shared.generation.load(Ordering::SeqCst) != generation {
            return problem(StatusCode::GONE, "Runtime.StaleRequest", "the process that asked was stopped");
        }
        if let Some(invocation) = take_next(&shared) {
            return invocation_response(invocation);
        }
        queued.await;
    }
}

fn take_next(shared: &Shared) -> Option<Invocation> {
    let mut queues = shared.queues();
    let invocation = queues.waiting.pop_front()?;
    queues.in_flight.insert(invocation.request_id.clone(), Instant::now());
    Some(invocation)
}

fn invocation_response(invocation: Invocation) -> Response {
    let mut headers = HeaderMap::new();
    let values = [
        ("lambda-runtime-aws-request-id", invocation.request_id),
        ("lambda-runtime-deadline-ms", invocation.deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", invocation.function_arn),
        ("lambda-runtime-trace-id", invocation.trace_id),
        ("content-type", "application/json".to_string()),
    ];
    for (name, value) in values {
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "InvalidHeader", &format!("{name}: {value}")),
        }
    }
    (headers, invocation.payload).into_response()
}

async fn response(State(shared): State<Arc<Shared>>, Path(request_id): Path<String>, body: Bytes) -> Response {
    record(&shared, request_id, Answer::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, request_id, Answer::Error { error_type: error_type(&headers), body })
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let init_error = InitError { error_type: error_type(&headers), body, at: Instant::now() };
    shared.queues().init_errors.push(init_error);
    shared.bump();
    accepted()
}

fn record(shared: &Shared, request_id: String, answer: Answer) -> Response {
    let at = Instant::now();
    {
        let mut queues = shared.queues();
        let Some(handed_at) = queues.in_flight.remove(&request_id) else {
            return problem(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                &format!("request {request_id} was not handed out or is already answered"),
            );
        };
        queues.answers.insert(request_id, Recorded { answer, handed_at, at });
    }
    shared.bump();
    accepted()
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers.get("lambda-runtime-function-error-type").and_then(|value| value.to_str().ok()).map(str::to_string)
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "status": "OK" }))).into_response()
}

/// The Runtime API's error body.
fn problem(status: StatusCode, error_type: &str, message: &str) -> Response {
    (status, Json(json!({ "errorType": error_type, "errorMessage": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:tandem-bench-webhook";

    fn url(api: &RuntimeApi, path: &str) -> String {
        format!("http://{}/2018-06-01/runtime/{path}", api.endpoint())
    }

    fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
        response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    #[tokio::test]
    async fn hands_out_events_in_order_with_lambda_headers_and_records_answers() {
        let api = RuntimeApi::start().await.unwrap();
        let client = reqwest::Client::new();
        let first = api.enqueue(ARN, r#"{"n":1}"#, Duration::from_secs(15));
        let second = api.enqueue(ARN, r#"{"n":2}"#, Duration::from_secs(15));

        let handed = client.get(url(&api, "invocation/next")).send().await.unwrap();
        assert_eq!(handed.status(), 200);
        assert_eq!(header(&handed, "lambda-runtime-aws-request-id"), first);
        assert_eq!(header(&handed, "lambda-runtime-invoked-function-arn"), ARN);
        assert!(header(&handed, "lambda-runtime-trace-id").starts_with("Root=1-"));
        let deadline: u64 = header(&handed, "lambda-runtime-deadline-ms").parse().unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        assert!(deadline > now + 14_000 && deadline <= now + 15_000, "deadline {deadline}, now {now}");
        assert_eq!(handed.text().await.unwrap(), r#"{"n":1}"#);

        let posted = client.post(url(&api, &format!("invocation/{first}/response"))).body("done").send().await.unwrap();
        assert_eq!(posted.status(), 202);
        let recorded = api.answer(&first, Duration::from_secs(1)).await.unwrap();
        assert_eq!(recorded.answer, Answer::Response(Bytes::from_static(b"done")));

        let handed = client.get(url(&api, "invocation/next")).send().await.unwrap();
        assert_eq!(header(&handed, "lambda-runtime-aws-request-id"), second);
        let failed = client
            .post(url(&api, &format!("invocation/{second}/error")))
            .header("lambda-runtime-function-error-type", "Runtime.Unhandled")
            .body(r#"{"errorMessage":"boom"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), 202);
        let recorded = api.answer(&second, Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            recorded.answer,
            Answer::Error {
                error_type: Some("Runtime.Unhandled".into()),
                body: Bytes::from_static(br#"{"errorMessage":"boom"}"#)
            }
        );
    }

    /// A process the bench stopped leaves its `next` request open (the connection's close is not noticed
    /// while the answer is pending): that request must not take the next process's event.
    #[tokio::test]
    async fn a_request_held_open_by_a_stopped_process_does_not_take_the_next_event() {
        let api = RuntimeApi::start().await.unwrap();
        let client = reqwest::Client::new();
        let stale = tokio::spawn(client.get(url(&api, "invocation/next")).send());
        tokio::time::sleep(Duration::from_millis(100)).await;
        api.end_requests_held_open();
        let ended = stale.await.unwrap().unwrap();
        assert_eq!(ended.status(), 410);
        let event = api.enqueue(ARN, r#"{"n":1}"#, Duration::from_secs(15));
        let handed = client.get(url(&api, "invocation/next")).send().await.unwrap();
        assert_eq!(header(&handed, "lambda-runtime-aws-request-id"), event, "the live process gets the event");
    }

    #[tokio::test]
    async fn next_waits_for_an_event_queued_later() {
        let api = RuntimeApi::start().await.unwrap();
        let client = reqwest::Client::new();
        let waiting = tokio::spawn(client.get(url(&api, "invocation/next")).send());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "an empty queue holds the request open");
        let request_id = api.enqueue(ARN, "{}", Duration::from_secs(5));
        let handed = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap().unwrap();
        assert_eq!(header(&handed, "lambda-runtime-aws-request-id"), request_id);
    }

    #[tokio::test]
    async fn answers_only_invocations_handed_out_once() {
        let api = RuntimeApi::start().await.unwrap();
        let client = reqwest::Client::new();
        let queued = api.enqueue(ARN, "{}", Duration::from_secs(5));
        let early = client.post(url(&api, &format!("invocation/{queued}/response"))).body("x").send().await.unwrap();
        assert_eq!(early.status(), 400, "not handed out yet");
        client.get(url(&api, "invocation/next")).send().await.unwrap();
        let first = client.post(url(&api, &format!("invocation/{queued}/response"))).body("x").send().await.unwrap();
        assert_eq!(first.status(), 202);
        let again = client.post(url(&api, &format!("invocation/{queued}/response"))).body("y").send().await.unwrap();
        assert_eq!(again.status(), 400, "already answered");
        let recorded = api.answer(&queued, Duration::from_secs(1)).await.unwrap();
        assert_eq!(recorded.answer, Answer::Response(Bytes::from_static(b"x")), "the first answer stands");
        assert!(api.answer("unknown", Duration::from_millis(50)).await.is_none());
    }

    #[test]
    fn summaries_show_http_status_and_body_or_the_error() {
        let webhook =
            Answer::Response(Bytes::from_static(br#"{"statusCode":200,"headers":{},"body":"{\"synced\":1}"}"#));
        assert_eq!(webhook.summary(100), r#"200 {"synced":1}"#);
        let poll = Answer::Response(Bytes::from_static(br#"{"integrations":1}"#));
        assert_eq!(poll.summary(100), r#"{"integrations":1}"#);
        let failed = Answer::Error { error_type: Some("Runtime.Unhandled".into()), body: Bytes::from_static(b"boom") };
        assert_eq!(failed.summary(100), "error Runtime.Unhandled: boom");
        assert_eq!(failed.summary(5), "error…");
    }

    #[tokio::test]
    async fn records_init_errors() {
        let api = RuntimeApi::start().await.unwrap();
        let reported = reqwest::Client::new()
            .post(url(&api, "init/error"))
            .header("lambda-runtime-function-error-type", "Runtime.InitError")
            .body(r#"{"errorMessage":"TANDEM_TABLE is not set"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(reported.status(), 202);
        let errors = api.init_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].error_type.as_deref(), Some("Runtime.InitError"));
        assert!(String::from_utf8_lossy(&errors[0].body).contains("TANDEM_TABLE"));
    }
}
