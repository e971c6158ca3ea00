//! The simulator's own control endpoints under `/_sim/`: webhook subscriptions and their pause switch,
//! users (with their roles and groups), one-off faults, counters and the recorded traffic. They need no
//! authentication and are not recorded. The fault plan's endpoints and the service account's
//! `/_sim/credentials/expire|renew` are common to the simulators (`crate::faults`, `crate::credentials`).

use super::{events, render, Sim, SimUser};
use crate::faults::InjectedFault;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

type Shared = State<Arc<Sim>>;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/_sim/webhooks", post(subscribe).delete(unsubscribe_all))
        .route("/_sim/webhooks/pause", post(pause))
        .route("/_sim/webhooks/resume", post(resume))
        .route("/_sim/stats", get(stats))
        .route("/_sim/exchanges", get(exchanges).delete(forget))
        .route("/_sim/violations", get(violations))
        .route("/_sim/users", post(add_user))
        .route("/_sim/faults", post(inject_faults))
        .with_state(sim)
}

#[derive(Debug, Deserialize)]
struct Subscription {
    url: String,
    #[serde(default)]
    secret: Option<String>,
}

async fn subscribe(State(sim): Shared, Json(subscription): Json<Subscription>) -> Response {
    sim.webhooks.subscribe(events::subscription(&subscription.url, subscription.secret));
    (StatusCode::CREATED, Json(json!({ "subscriptions": sim.webhooks.subscription_count() }))).into_response()
}

async fn unsubscribe_all(State(sim): Shared) -> StatusCode {
    sim.webhooks.clear();
    StatusCode::NO_CONTENT
}

async fn pause(State(sim): Shared) -> StatusCode {
    sim.webhooks.pause();
    StatusCode::NO_CONTENT
}

async fn resume(State(sim): Shared) -> StatusCode {
    sim.webhooks.resume();
    StatusCode::NO_CONTENT
}

async fn stats(State(sim): Shared) -> Json<super::JiraSimStats> {
    Json(sim.stats())
}

async fn exchanges(State(sim): Shared) -> Response {
    Json(sim.recorder.exchanges()).into_response()
}

async fn forget(State(sim): Shared) -> StatusCode {
    sim.recorder.reset();
    StatusCode::NO_CONTENT
}

async fn violations(State(sim): Shared) -> Response {
    Json(sim.recorder.violations()).into_response()
}

#[derive(Debug, Deserialize)]
struct NewUser {
    account_id: String,
    email: String,
    display_name: String,
    api_token: String,
    /// Granted project permissions; all of them when absent.
    #[serde(default)]
    permissions: Option<BTreeSet<String>>,
    #[serde(default)]
    utc_offset_hours: i8,
    /// Project roles held; the defaults when absent.
    #[serde(default)]
    project_roles: Option<BTreeSet<String>>,
    /// Groups; the defaults when absent.
    #[serde(default)]
    groups: Option<BTreeSet<String>>,
}

async fn add_user(State(sim): Shared, Json(new): Json<NewUser>) -> Response {
    let mut user = SimUser::new(new.account_id, new.email, new.display_name, new.api_token)
        .with_utc_offset_hours(new.utc_offset_hours);
    if let Some(permissions) = new.permissions {
        user.permissions = permissions;
    }
    if let Some(roles) = new.project_roles {
        user.project_roles = roles;
    }
    if let Some(groups) = new.groups {
        user.groups = groups;
    }
    let mut site = sim.site();
    let shown = render::user_json(&site.base_url, &user, render::ApiVersion::V3);
    site.upsert_user(user);
    (StatusCode::CREATED, Json(shown)).into_response()
}

#[derive(Debug, Deserialize)]
struct FaultRequest {
    #[serde(flatten)]
    fault: InjectedFault,
    count: usize,
}

async fn inject_faults(State(sim): Shared, Json(request): Json<FaultRequest>) -> StatusCode {
    sim.faults.inject(request.fault, request.count);
    StatusCode::NO_CONTENT
}
