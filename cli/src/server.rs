//! `tandem serve`: webhook endpoints (`POST /hooks/{integration}/{side}`, the side as `1`/`2` or its system) and the poller, in one process
//! on the embedded store.

use crate::activity::Activity;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tandem_engine::ports::{WebhookReceiver, WebhookRequest};
use tandem_engine::Engine;
use tandem_lambda_runtime::{side_named, WebhookAnswer};
use tandem_model::Side;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

pub use tandem_lambda_runtime::MAX_WEBHOOK_BODY;

/// One integration as the server runs it.
pub struct ServedIntegration {
    pub engine: Arc<Engine>,
    pub receivers: [Arc<dyn WebhookReceiver>; 2],
    /// `None`: no background poller (the caller polls with [`poll_once`]).
    pub poll_interval: Option<Duration>,
    /// What this process did lately, for the status page.
    pub activity: Arc<Activity>,
}

#[derive(Clone)]
struct AppState {
    integrations: Arc<HashMap<String, Arc<ServedIntegration>>>,
}

/// A running server: its address and a way to stop it.
pub struct RunningServer {
    pub address: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    integrations: Vec<Arc<ServedIntegration>>,
}

impl RunningServer {
    pub fn webhook_url(&self, integration: &str, side: Side) -> String {
        format!("http://{}/hooks/{integration}/{side}", self.address)
    }

    /// Serves the status page (see [`crate::status`]) on `listener` until the server stops; its address.
    pub fn serve_status(&mut self, listener: TcpListener, allow_changes: bool) -> std::io::Result<SocketAddr> {
        let stop = self.shutdown.subscribe();
        let (address, task) = crate::status::start(listener, &self.integrations, allow_changes, stop)?;
        self.tasks.push(task);
        Ok(address)
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Waits until the process is asked to stop (Ctrl-C / SIGTERM), then stops.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        info!("stopping");
        self.stop().await;
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Binds `listener` and serves the integrations' webhooks; starts one poller per integration.
pub fn start(listener: TcpListener, integrations: Vec<Arc<ServedIntegration>>) -> std::io::Result<RunningServer> {
    let address = listener.local_addr()?;
    let (shutdown, signal) = watch::channel(false);
    let state = AppState {
        integrations: Arc::new(
            integrations.iter().map(|served| (served.engine.integration().to_string(), served.clone())).collect(),
        ),
    };
    let app = Router::new()
        .route("/hooks/{integration}/{side}", post(receive))
        .route("/health", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .with_state(state);
    let mut server_signal = signal.clone();
    let mut tasks = vec![tokio::spawn(async move {
        let stopped = async move {
            let _ = server_signal.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            error!(%error, "webhook server failed");
        }
    })];
    for served in &integrations {
        if let Some(interval) = served.poll_interval {
            tasks.push(tokio::spawn(poll_forever(served.clone(), interval, signal.clone())));
        }
    }
    info!(%address, "serving webhooks");
    Ok(RunningServer { address, shutdown, tasks, integrations })
}

/// Polls each side, then retries due failures, every interval, until shutdown. A failed cycle is logged
/// and the next one tries again: the watermark only moves past what was done.
async fn poll_forever(served: Arc<ServedIntegration>, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        poll_once_noted(&served.engine, &served.activity).await;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// One poll cycle: both sides, then the due failures.
pub async fn poll_once(engine: &Engine) {
    poll_once_noted(engine, &Activity::default()).await;
}

/// [`poll_once`], noting each side's poll in `activity`.
async fn poll_once_noted(engine: &Engine, activity: &Activity) {
    for side in Side::BOTH {
        let polled = engine.poll_side(side).await;
        activity.polled(side, chrono::Utc::now(), &polled);
        if let Err(error) = polled {
            warn!(integration = engine.integration(), side = %side, %error, "poll failed; will retry next cycle");
        }
    }
    if let Err(error) = engine.retry_failures().await {
        warn!(integration = engine.integration(), %error, "retrying failures failed");
    }
}

async fn receive(
    State(state): State<AppState>,
    Path((integration, side)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(served) = state.integrations.get(&integration) else {
        return respond(WebhookAnswer::not_acted_on(
            &integration,
            format!("no active integration named `{integration}`"),
        ));
    };
    let side = match side_named(served.engine.config(), &side) {
        Ok(side) => side,
        Err(message) => return respond(WebhookAnswer::not_acted_on(&integration, message)),
    };
    let request = webhook_request(&headers, query.as_deref(), &body);
    let receiver = &served.receivers[usize::from(side.number() - 1)];
    let answer = match receiver.receive(&request) {
        Ok(delivery) => {
            let outcome = served.engine.receive_delivery(side, &delivery).await;
            served.activity.delivered(chrono::Utc::now(), &outcome);
            WebhookAnswer::delivered(&integration, outcome)
        }
        Err(refusal) => WebhookAnswer::refused(&integration, side, &refusal),
    };
    respond(answer.replied_by(|status| receiver.reply(status)))
}

/// A delivery as the receivers take it: header names and values as text, the URL's query decoded.
pub fn webhook_request(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> WebhookRequest {
    let headers =
        headers.iter().filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())));
    let query = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    WebhookRequest::new(headers.collect(), body.to_vec()).with_query(query)
}

/// An answer as the sender expects it (JSON, or the system's own reply such as a SOAP acknowledgement).
pub fn respond(answer: WebhookAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(CONTENT_TYPE, answer.content_type().to_string())], answer.body_text()).into_response()
}
