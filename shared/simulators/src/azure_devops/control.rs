//! The simulator's own control endpoints (`/_sim/…`): counters, the exchange log, contract violations,
//! service hook subscriptions, identities and one-off faults. The fault plan's endpoints and the service
//! account's `/_sim/credentials/expire|renew` are common to the simulators (`crate::faults`,
//! `crate::credentials`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::hooks::HookTarget;
use super::identity::{SimIdentity, SimUser};
use super::Shared;
use crate::faults::InjectedFault;
use crate::recording::{RecordedExchange, RecordedViolation, RecordingStats};
use crate::webhooks::WebhookStats;

/// A failure the next calls answer with, to test retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// 429 (throttled) or 503 (unavailable).
    pub status: u16,
    /// How many calls fail.
    pub remaining: u32,
    /// Sent as `Retry-After`, in seconds.
    #[serde(default)]
    pub retry_after_seconds: Option<u32>,
}

/// Queues `fault.remaining` copies of the fault in place of those still pending.
pub(crate) fn inject(shared: &Shared, fault: &Fault) {
    let injected =
        InjectedFault { status: fault.status, retry_after_seconds: fault.retry_after_seconds.map(u64::from) };
    // `remaining` is a u32, which fits a usize on every platform tokio runs on.
    shared.faults.replace_injected(injected, usize::try_from(fault.remaining).unwrap_or(usize::MAX));
}

/// Counters of one simulator run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AzureDevopsSimStats {
    /// API requests and writes, writes per identity id.
    pub recording: RecordingStats,
    /// Writes per e-mail, for readable benchmark output.
    pub writes_by_email: BTreeMap<String, u64>,
    pub webhooks: WebhookStats,
    pub work_items: usize,
    pub violations: usize,
    /// Calls made with the service account's PAT answered 401 because it was expired.
    pub expired_credential_refusals: u64,
}

pub(crate) fn stats(shared: &Shared) -> AzureDevopsSimStats {
    let recording = shared.recorder.stats();
    let organization = shared.organization();
    let writes_by_email = recording
        .writes_by_user
        .iter()
        .map(|(id, writes)| {
            (organization.identity(id).map_or_else(|| id.clone(), |identity| identity.email.clone()), *writes)
        })
        .collect();
    AzureDevopsSimStats {
        writes_by_email,
        webhooks: shared.hooks.stats(),
        work_items: organization.items.len(),
        violations: shared.recorder.violations().len(),
        expired_credential_refusals: shared.credentials.refusals(),
        recording,
    }
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/stats", get(|State(shared): State<Arc<Shared>>| async move { Json(stats(&shared)) }))
        .route("/_sim/exchanges", get(exchanges))
        .route("/_sim/violations", get(violations))
        .route("/_sim/hooks", post(subscribe))
        .route(
            "/_sim/hooks/pause",
            post(|State(shared): State<Arc<Shared>>| async move {
                shared.hooks.pause();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_sim/hooks/resume",
            post(|State(shared): State<Arc<Shared>>| async move {
                shared.hooks.resume();
                StatusCode::NO_CONTENT
            }),
        )
        .route("/_sim/identities", get(identities).post(add_identity))
        .route("/_sim/faults", post(inject_fault))
}

async fn exchanges(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedExchange>> {
    Json(shared.recorder.exchanges())
}

async fn violations(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedViolation>> {
    Json(shared.recorder.violations())
}

async fn subscribe(State(shared): State<Arc<Shared>>, Json(target): Json<HookTarget>) -> Json<Value> {
    Json(json!({"id": shared.hooks.subscribe(target)}))
}

async fn identities(State(shared): State<Arc<Shared>>) -> Json<Vec<SimIdentity>> {
    Json(shared.organization().identities.clone())
}

async fn add_identity(State(shared): State<Arc<Shared>>, Json(user): Json<SimUser>) -> Json<SimIdentity> {
    Json(shared.organization().add_identity(user))
}

async fn inject_fault(
    State(shared): State<Arc<Shared>>,
    Json(fault): Json<Fault>,
) -> Result<StatusCode, (StatusCode, String)> {
    if ![429, 503].contains(&fault.status) {
        return Err((StatusCode::BAD_REQUEST, format!("fault status must be 429 or 503, not {}", fault.status)));
    }
    inject(&shared, &fault);
    Ok(StatusCode::NO_CONTENT)
}
