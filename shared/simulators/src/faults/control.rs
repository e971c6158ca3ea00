//! The control endpoints of the fault plan, the same on every simulator: `PUT`/`GET`/`DELETE
//! /_sim/fault-plan` and `GET /_sim/fault-stats`.

use super::plan::FaultPlan;
use super::state::{FaultStats, Faults};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::json;

pub(crate) fn router(faults: Faults) -> Router {
    Router::new()
        .route("/_sim/fault-plan", put(set_plan).get(plan).delete(clear_plan))
        .route("/_sim/fault-stats", get(stats))
        .with_state(faults)
}

/// Reads the body itself so that a malformed or misspelt plan gets a 400 with serde's message (which
/// names the field), like a plan that fails validation.
async fn set_plan(State(faults): State<Faults>, body: Bytes) -> Response {
    let plan: FaultPlan = match serde_json::from_slice(&body) {
        Ok(plan) => plan,
        Err(error) => {
            let message = format!("the fault plan is not valid: {error}");
            return (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response();
        }
    };
    match faults.set_plan(plan) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => {
            let body = json!({ "message": error.to_string(), "field": error.field() });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

async fn plan(State(faults): State<Faults>) -> Json<Option<FaultPlan>> {
    Json(faults.plan())
}

async fn clear_plan(State(faults): State<Faults>) -> StatusCode {
    faults.clear_plan();
    StatusCode::NO_CONTENT
}

async fn stats(State(faults): State<Faults>) -> Json<FaultStats> {
    Json(faults.stats())
}
