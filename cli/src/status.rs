//! The status page `tandem serve` shows on its own address (localhost by default, `--status`): each
//! integration's health, watermarks and lag, deliveries and syncs over the last hour, open failures
//! and recent conflicts, an item's history a click away, and — only when started with
//! `--status-changes` — a button that retries a failure now.
//!
//! Read-only by default: without `--status-changes` the page offers no button and the retry endpoint
//! answers 403. A retry must come from the page itself (its `Origin`), so another site open in the same
//! browser cannot post one.

use crate::history::item_history;
use crate::resync::parse_target;
use crate::server::ServedIntegration;
use crate::status_page::{self, IntegrationView, SideView};
use axum::extract::{Query, RawForm, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tandem_model::Side;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// Conflicts shown per integration, newest first.
const CONFLICTS_SHOWN: usize = 10;

#[derive(Clone)]
struct PageState {
    integrations: Arc<BTreeMap<String, Arc<ServedIntegration>>>,
    allow_changes: bool,
}

/// The status page's server, stopped with the rest of `serve`.
pub fn start(
    listener: TcpListener,
    integrations: &[Arc<ServedIntegration>],
    allow_changes: bool,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let address = listener.local_addr()?;
    if !address.ip().is_loopback() {
        warn!(%address, "the status page is served beyond this machine: anyone who reaches it sees the integrations' state");
    }
    let integrations =
        integrations.iter().map(|served| (served.engine.integration().to_string(), served.clone())).collect();
    let state = PageState { integrations: Arc::new(integrations), allow_changes };
    let app = Router::new()
        .route("/", get(|| async { Redirect::to("/status") }))
        .route("/status", get(overview))
        .route("/status/history", get(history))
        .route("/status/retry", post(retry))
        .with_state(state);
    let task = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            error!(%error, "status page server failed");
        }
    });
    info!(url = %format!("http://{address}/status"), changes = allow_changes, "status page");
    Ok((address, task))
}

#[derive(serde::Deserialize)]
struct Notice {
    notice: Option<String>,
}

async fn overview(State(state): State<PageState>, Query(notice): Query<Notice>) -> Response {
    let now = chrono::Utc::now();
    let mut views = Vec::new();
    for served in state.integrations.values() {
        match integration_view(served, now).await {
            Ok(view) => views.push(view),
            Err(error) => return failed(&format!("reading {}'s state: {error}", served.engine.integration())),
        }
    }
    Html(status_page::overview(&views, notice.notice.as_deref(), state.allow_changes, now)).into_response()
}

async fn integration_view(served: &ServedIntegration, now: tandem_model::Timestamp) -> anyhow::Result<IntegrationView> {
    let engine = &served.engine;
    let (name, stores) = (engine.integration().to_string(), engine.stores());
    let mut sides = Vec::new();
    for side in Side::BOTH {
        let settings = engine.config().side(side);
        sides.push(SideView {
            side,
            system: settings.system.display_name().to_string(),
            place: format!("{} {}", settings.project, settings.item_type),
            watermark: stores.watermarks.get_watermark(&name, side).await?,
            last_poll: served.activity.last_poll(side),
        });
    }
    let mut conflicts = stores.log.list_conflicts(&name).await?;
    conflicts.sort_by_key(|conflict| std::cmp::Reverse(conflict.at));
    conflicts.truncate(CONFLICTS_SHOWN);
    Ok(IntegrationView {
        failures: stores.log.list_failures(&name).await?,
        minutes: served.activity.minutes(now),
        name,
        sides,
        conflicts,
    })
}

#[derive(serde::Deserialize)]
struct HistoryQuery {
    integration: String,
    item: String,
}

async fn history(State(state): State<PageState>, Query(query): Query<HistoryQuery>) -> Response {
    let Some(served) = state.integrations.get(&query.integration) else {
        return (StatusCode::NOT_FOUND, Html(status_page::message("No such integration", &query.integration)))
            .into_response();
    };
    let (side, item) = match parse_target(&query.item) {
        Ok(target) => target,
        Err(error) => {
            return (StatusCode::BAD_REQUEST, Html(status_page::message("Not an item", &error.to_string())))
                .into_response()
        }
    };
    let stores = served.engine.stores();
    match item_history(stores, &query.integration, side, &item, 50, chrono::Utc::now()).await {
        Ok(history) => Html(status_page::history(&query.integration, &history)).into_response(),
        Err(error) => {
            (StatusCode::NOT_FOUND, Html(status_page::message("No history", &error.to_string()))).into_response()
        }
    }
}

/// `POST /status/retry` with `integration`, `side` and `item`: syncs the item now and goes back to the
/// overview, which says how it went.
async fn retry(State(state): State<PageState>, headers: HeaderMap, RawForm(form): RawForm) -> Response {
    if !state.allow_changes {
        let why = "this status page is read-only: start `tandem serve` with --status-changes to retry from it";
        return (StatusCode::FORBIDDEN, Html(status_page::message("Read-only", why))).into_response();
    }
    if !from_this_page(&headers) {
        let why = "a retry is accepted only from the status page itself";
        return (StatusCode::FORBIDDEN, Html(status_page::message("Refused", why))).into_response();
    }
    let fields: BTreeMap<String, String> = url::form_urlencoded::parse(&form).into_owned().collect();
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let Some(served) = state.integrations.get(field("integration")) else {
        return (StatusCode::NOT_FOUND, Html(status_page::message("No such integration", field("integration"))))
            .into_response();
    };
    let target = format!("{}:{}", field("side"), field("item"));
    let (side, item) = match parse_target(&target) {
        Ok(target) => target,
        Err(error) => {
            return (StatusCode::BAD_REQUEST, Html(status_page::message("Not an item", &error.to_string())))
                .into_response()
        }
    };
    let notice = match served.engine.retry_now(side, &item).await {
        Ok(outcome) => format!("Retried side {side} item {item}: {}", outcome.summary()),
        Err(error) => format!("Retried side {side} item {item}: failed again: {error}"),
    };
    info!(integration = field("integration"), %side, %item, %notice, "retry from the status page");
    let query: String = url::form_urlencoded::Serializer::new(String::new()).append_pair("notice", &notice).finish();
    // 303 See Other: the browser follows with a GET, so a reload does not post the retry again.
    Redirect::to(&format!("/status?{query}")).into_response()
}

/// Whether a form post came from a page of this server: browsers name the page's origin on every
/// cross-site post, and it must be this host's.
fn from_this_page(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|host| host.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|origin| origin.to_str().ok()), host) {
        (Some(origin), Some(host)) => origin == format!("http://{host}"),
        // No Origin: not a browser's cross-site post (curl, a script on this machine).
        (None, _) => true,
        (Some(_), None) => false,
    }
}

fn failed(message: &str) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Html(status_page::message("Store unavailable", message))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_post_from_this_host_or_without_an_origin_is_taken() {
        let headers = |origin: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, "127.0.0.1:8081".parse().unwrap());
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, origin.parse().unwrap());
            }
            headers
        };
        assert!(from_this_page(&headers(Some("http://127.0.0.1:8081"))));
        assert!(from_this_page(&headers(None)));
        assert!(!from_this_page(&headers(Some("https://evil.example"))));
    }
}
