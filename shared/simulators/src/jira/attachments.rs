//! Attachments over HTTP, as Jira Cloud documents them: `POST /issue/{key}/attachments` (multipart, parts
//! named `file`, with `X-Atlassian-Token: no-check` against cross-site requests), `GET /attachment/{id}`
//! (metadata), `GET /attachment/content/{id}` (a 303 to the file unless `redirect=false`) and
//! `DELETE /attachment/{id}`.

use super::api::{json_response, param, visible, ApiResult, Caller, Params, Shared};
use super::error::ApiError;
use super::render;
use super::site::{Upload, MAX_ATTACHMENT_BYTES};
use super::Sim;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;
use std::sync::Arc;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route(
            "/rest/api/3/issue/{issue}/attachments",
            // Several files of up to the limit each may come in one request.
            post(add).layer(DefaultBodyLimit::max(4 * MAX_ATTACHMENT_BYTES)),
        )
        .route("/rest/api/3/attachment/{id}", get(metadata).delete(remove))
        .route("/rest/api/3/attachment/content/{id}", get(content))
}

async fn add(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    let token = headers.get("x-atlassian-token").and_then(|value| value.to_str().ok());
    if !token.is_some_and(|token| token.eq_ignore_ascii_case("no-check")) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "XSRF check failed"));
    }
    let mut multipart = multipart.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let mut uploads = Vec::new();
    while let Some(part) = multipart.next_field().await.map_err(|error| ApiError::bad_request(error.body_text()))? {
        if part.name() != Some("file") {
            continue;
        }
        let filename = part.file_name().unwrap_or("attachment").to_string();
        let mime_type = part.content_type().unwrap_or("application/octet-stream").to_string();
        let content = part.bytes().await.map_err(|error| ApiError::bad_request(error.body_text()))?.to_vec();
        uploads.push(Upload { filename, mime_type, content });
    }
    let added = sim.change(&caller.account_id, true, |site| {
        let (ids, event) = site.add_attachments(&caller.account_id, &key, uploads)?;
        let (issue, _) = site.attachment(&ids[0].to_string())?;
        let shown: Vec<Value> = issue
            .attachments
            .iter()
            .filter(|attachment| ids.contains(&attachment.id))
            .map(|attachment| render::attachment_json(site, attachment))
            .collect();
        Ok((shown, event))
    })?;
    Ok(json_response(StatusCode::OK, Value::Array(added)))
}

async fn metadata(State(sim): Shared, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let (_, attachment) = site.attachment(&id)?;
    // `AttachmentMetadata` gives the id as a number, where the issue's `attachment` field has a string.
    let mut shown = render::attachment_json(&site, attachment);
    shown["id"] = attachment.id.into();
    Ok(json_response(StatusCode::OK, shown))
}

async fn remove(State(sim): Shared, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult {
    sim.change(&caller.account_id, true, |site| Ok(((), site.delete_attachment(&caller.account_id, &id)?)))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn content(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let (_, attachment) = site.attachment(&id)?;
    let redirect = param(&params, "redirect").is_none_or(|value| !value.eq_ignore_ascii_case("false"));
    if redirect {
        let location = format!("{}/rest/api/3/attachment/content/{id}?redirect=false", site.base_url);
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response());
    }
    let disposition = format!("attachment; filename=\"{}\"", attachment.filename.replace('"', ""));
    let headers = [(header::CONTENT_TYPE, attachment.mime_type.clone()), (header::CONTENT_DISPOSITION, disposition)];
    Ok((StatusCode::OK, headers, attachment.content.as_ref().clone()).into_response())
}
