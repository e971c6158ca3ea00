//! `tandem serve`: webhook endpoints (`POST /hooks/{integration}/{side}`) and the poller, in one process
//! on the embedded store.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_engine::{Engine, RetryPolicy};
use tandem_model::Side;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// Webhook bodies above this are refused (413) before any parsing: real payloads are a few KB.
pub const MAX_WEBHOOK_BODY: usize = 1024 * 1024;

/// One integration as the server runs it.
pub struct ServedIntegration {
    pub engine: Arc<Engine>,
    pub receivers: [Arc<dyn WebhookReceiver>; 2],
    pub poll_interval: Duration,
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
}

impl RunningServer {
    pub fn webhook_url(&self, integration: &str, side: Side) -> String {
        format!("http://{}/hooks/{integration}/{side}", self.address)
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
    for served in integrations {
        tasks.push(tokio::spawn(poll_forever(served, signal.clone())));
    }
    info!(%address, "serving webhooks");
    Ok(RunningServer { address, shutdown, tasks })
}

/// Polls each side, then retries due failures, every interval, until shutdown. A failed cycle is logged
/// and the next one tries again: the watermark only moves past what was done.
async fn poll_forever(served: Arc<ServedIntegration>, mut stop: watch::Receiver<bool>) {
    loop {
        poll_once(&served.engine).await;
        tokio::select! {
            _ = tokio::time::sleep(served.poll_interval) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// One poll cycle: both sides, then the due failures.
pub async fn poll_once(engine: &Engine) {
    for side in Side::BOTH {
        if let Err(error) = engine.poll_side(side).await {
            warn!(integration = engine.integration(), side = %side, %error, "poll failed; will retry next cycle");
        }
    }
    if let Err(error) = engine.retry_failures(RetryPolicy::default()).await {
        warn!(integration = engine.integration(), %error, "retrying failures failed");
    }
}

async fn receive(
    State(state): State<AppState>,
    Path((integration, side)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(served) = state.integrations.get(&integration) else {
        return problem(StatusCode::NOT_FOUND, format!("no integration named `{integration}`"));
    };
    let side = match side.as_str() {
        "1" => Side::One,
        "2" => Side::Two,
        other => return problem(StatusCode::NOT_FOUND, format!("no side `{other}`: use 1 or 2")),
    };
    let request = WebhookRequest {
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let delivery = match served.receivers[usize::from(side.number() - 1)].receive(&request) {
        Ok(delivery) => delivery,
        Err(WebhookError::Unauthorized(reason)) => {
            warn!(%integration, side = %side, %reason, "webhook rejected");
            return problem(StatusCode::UNAUTHORIZED, "signature or credentials missing or wrong".into());
        }
        Err(WebhookError::Malformed(reason)) => {
            warn!(%integration, side = %side, %reason, "malformed webhook");
            return problem(StatusCode::BAD_REQUEST, reason);
        }
        Err(WebhookError::Ignored(reason)) => {
            return (StatusCode::ACCEPTED, Json(serde_json::json!({ "ignored": reason }))).into_response();
        }
    };
    match served.engine.receive_delivery(side, &delivery).await {
        Ok(outcome) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "duplicate": outcome.duplicate,
                "synced": outcome.synced,
                "echoes": outcome.echoes,
                "failed": outcome.failed,
            })),
        )
            .into_response(),
        Err(error) => {
            // Only the store failing lands here (sync failures are recorded, not returned): ask the
            // sender to retry.
            error!(%integration, %error, "could not record the delivery");
            problem(StatusCode::SERVICE_UNAVAILABLE, "temporarily unable to record the delivery".into())
        }
    }
}

fn problem(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
