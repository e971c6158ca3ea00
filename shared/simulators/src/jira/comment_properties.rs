//! Comment entity properties over HTTP, as Jira Cloud documents them: `GET /comment/{id}/properties` (the
//! keys), `GET`, `PUT` (200 when updated, 201 when created) and `DELETE` of
//! `/comment/{id}/properties/{key}`. Setting `sd.public.comment` to `{"internal": true}` this way makes
//! the comment internal, as giving that property when adding the comment does.

use super::api::{json_response, visible, ApiResult, Caller, Shared};
use super::error::JiraJson;
use super::site::{property_not_found, Site};
use super::Sim;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/rest/api/3/comment/{comment}/properties", get(keys))
        .route("/rest/api/3/comment/{comment}/properties/{property}", get(value).put(set).delete(remove))
}

fn property_url(site: &Site, comment: &str, key: &str) -> String {
    format!("{}/rest/api/3/comment/{comment}/properties/{key}", site.base_url)
}

/// The keys of a comment the caller may see (one restricted to a role or group they are not in is 404).
async fn keys(State(sim): Shared, Extension(caller): Extension<Caller>, Path(comment): Path<String>) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let (_, record) = site.find_comment_seen_by(&caller.account_id, &comment)?;
    let keys: Vec<Value> =
        record.properties.keys().map(|key| json!({ "self": property_url(&site, &comment, key), "key": key })).collect();
    Ok(json_response(StatusCode::OK, json!({ "keys": keys })))
}

async fn value(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((comment, key)): Path<(String, String)>,
) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let (_, record) = site.find_comment_seen_by(&caller.account_id, &comment)?;
    let value = record.properties.get(&key).ok_or_else(|| property_not_found(&key))?;
    Ok(json_response(StatusCode::OK, json!({ "key": key, "value": value })))
}

/// The body is the value itself.
async fn set(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((comment, key)): Path<(String, String)>,
    JiraJson(value): JiraJson<Value>,
) -> ApiResult {
    let created = sim.change(&caller.account_id, true, |site| {
        let (created, event) = site.set_comment_property(&caller.account_id, &comment, &key, value)?;
        Ok((created, Some(event)))
    })?;
    // The contract declares a JSON body (of any shape) for both answers; an empty object is one.
    Ok(json_response(if created { StatusCode::CREATED } else { StatusCode::OK }, json!({})))
}

async fn remove(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((comment, key)): Path<(String, String)>,
) -> ApiResult {
    sim.change(&caller.account_id, true, |site| {
        Ok(((), Some(site.delete_comment_property(&caller.account_id, &comment, &key)?)))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
