//! The REST v3 endpoints: Basic authentication, then one handler per operation.

use super::error::{ApiError, JiraJson};
use super::jql::{Jql, JqlContext};
use super::render::{self, ApiVersion, FieldSelection};
use super::site::{Site, SiteEvent};
use super::workflow::{self, PERMISSIONS};
use super::Sim;
use crate::recording::AuthenticatedUser;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use chrono::{FixedOffset, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) type Shared = State<Arc<Sim>>;
pub(super) type Params = Query<Vec<(String, String)>>;
pub(super) type ApiResult = Result<Response, ApiError>;

/// Who is calling, once authenticated.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub offset: FixedOffset,
}

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/3/project/{project}", get(project))
        .route("/rest/api/3/mypermissions", get(my_permissions))
        .route("/rest/api/3/issue", axum::routing::post(create_issue))
        .route("/rest/api/3/issue/{issue}", get(get_issue).put(edit_issue).delete(delete_issue))
        .route("/rest/api/3/issue/{issue}/transitions", get(transitions).post(do_transition))
        .route("/rest/api/3/issue/{issue}/changelog", get(changelog))
        .route("/rest/api/3/issue/{issue}/assignee", axum::routing::put(assign_issue))
        .route("/rest/api/3/search/jql", get(search_get).post(search_post))
        .route("/rest/api/3/issue/bulkfetch", axum::routing::post(bulk_fetch))
        .route("/rest/api/3/issue/{issue}/comment", get(comments).post(add_comment))
        .route("/rest/api/3/issue/{issue}/remotelink", get(remote_links).post(put_remote_link))
        .route("/rest/api/3/issue/{issue}/remotelink/{link}", get(remote_link).delete(delete_remote_link))
        .route(
            "/rest/api/3/issue/{issue}/comment/{comment}",
            get(get_comment).put(update_comment).delete(delete_comment),
        )
        .route("/rest/api/3/user/search", get(user_search))
        .route("/rest/api/3/user", get(user))
        .route("/rest/api/3/issue/{issue}/properties/{property}", get(get_property).put(set_property))
        .merge(super::discovery::routes())
        .merge(super::attachments::routes())
        .merge(super::comment_properties::routes())
        .route_layer(axum::middleware::from_fn_with_state(Arc::clone(&sim), authenticate))
        .with_state(sim)
}

/// HTTP Basic with the account's e-mail and API token, as Jira Cloud accepts it. While the service
/// account's credentials are expired, its calls are refused as Jira refuses a revoked API token.
async fn authenticate(State(sim): Shared, mut request: Request, next: Next) -> Response {
    let caller = basic_credentials(request.headers()).and_then(|(email, token)| {
        let site = sim.site();
        site.authenticate(&email, &token).map(|user| Caller {
            account_id: user.account_id.clone(),
            offset: FixedOffset::east_opt(i32::from(user.utc_offset_hours) * 3600)
                .unwrap_or(FixedOffset::east_opt(0).expect("UTC is a valid offset")),
        })
    });
    let Some(caller) = caller else {
        return ApiError::unauthorized().into_response();
    };
    if sim.credentials.refuses(sim.is_service_account(&caller.account_id)) {
        return super::error::authentication_failed_response();
    }
    let account_id = caller.account_id.clone();
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(AuthenticatedUser(account_id));
    response
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (email, token) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((email.to_string(), token.to_string()))
}

pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

pub(super) fn params_named<'a>(params: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    params.iter().filter(move |(key, _)| key == name).map(|(_, value)| value.as_str())
}

pub(super) fn number_param(params: &[(String, String)], name: &str, default: usize) -> Result<usize, ApiError> {
    param(params, name).map_or(Ok(default), |value| {
        value.parse().map_err(|_| ApiError::bad_request(format!("The value '{value}' of `{name}` is not a number.")))
    })
}

/// A page's `startAt` and `maxResults`: `maxResults` defaults to `default` and is kept within 1..=`most`,
/// as Jira caps what one page holds.
pub(super) fn page_params(
    params: &[(String, String)],
    default: usize,
    most: usize,
) -> Result<(usize, usize), ApiError> {
    Ok((number_param(params, "startAt", 0)?, number_param(params, "maxResults", default)?.clamp(1, most)))
}

pub(super) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// Issues are visible to callers who may browse the project; others get Jira's "does not exist".
pub(super) fn visible(site: &Site, account_id: &str) -> Result<(), ApiError> {
    site.require(account_id, "BROWSE_PROJECTS").map_err(|_| ApiError::issue_not_found())
}

async fn myself(State(sim): Shared, Extension(caller): Extension<Caller>) -> ApiResult {
    let site = sim.site();
    let user = site.user(&caller.account_id).ok_or_else(ApiError::unauthorized)?;
    Ok(json_response(StatusCode::OK, render::user_json(&site.base_url, user, ApiVersion::V3)))
}

async fn project(State(sim): Shared, Extension(caller): Extension<Caller>, Path(key): Path<String>) -> ApiResult {
    let site = sim.site();
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("No project could be found with key '{key}'."));
    site.require(&caller.account_id, "BROWSE_PROJECTS").map_err(|_| not_found())?;
    let project = site.project(&key).ok_or_else(not_found)?;
    Ok(json_response(StatusCode::OK, render::project_json(&site, project)))
}

async fn my_permissions(State(sim): Shared, Extension(caller): Extension<Caller>, Query(params): Params) -> ApiResult {
    let site = sim.site();
    if let Some(key) = param(&params, "projectKey").or_else(|| param(&params, "projectId")) {
        if site.project(key).is_none() {
            return Err(ApiError::new(StatusCode::NOT_FOUND, format!("No project could be found with key '{key}'.")));
        }
    }
    let wanted = param(&params, "permissions")
        .ok_or_else(|| ApiError::bad_request("The permissions query parameter is required."))?;
    let user = site.user(&caller.account_id).ok_or_else(ApiError::unauthorized)?;
    let mut permissions = serde_json::Map::new();
    for key in wanted.split(',').map(str::trim).filter(|key| !key.is_empty()) {
        let (id, key, name) = PERMISSIONS
            .iter()
            .find(|(_, known, _)| *known == key)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid permission key: {key}")))?;
        permissions.insert(
            key.to_string(),
            json!({
                "id": id, "key": key, "name": name, "type": "PROJECT",
                "description": format!("Ability to {}.", name.to_lowercase()),
                "havePermission": user.permissions.contains(*key),
            }),
        );
    }
    Ok(json_response(StatusCode::OK, json!({ "permissions": permissions })))
}

async fn create_issue(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    JiraJson(body): JiraJson<Value>,
) -> ApiResult {
    let created = sim.change(&caller.account_id, false, |site| {
        let (id, events) = site.create_issue(&caller.account_id, &body)?;
        let issue = site.issue(&id.to_string())?;
        let created = json!({
            "id": id.to_string(),
            "key": issue.key,
            "self": format!("{}/rest/api/3/issue/{id}", site.base_url),
        });
        Ok((created, events))
    })?;
    Ok(json_response(StatusCode::CREATED, created))
}

async fn get_issue(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Query(params): Params,
) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let issue = site.issue(&key)?;
    let selection = FieldSelection::parse(params_named(&params, "fields"), FieldSelection::all());
    let mut shown = render::issue_json(&site, issue, &selection, ApiVersion::V3, Some(&caller.account_id));
    if expands(&params, "changelog") {
        // `PageOfChangelogs`: the whole history in one page.
        let histories: Vec<Value> =
            issue.changelog.iter().map(|history| render::history_json(&site, history)).collect();
        shown["changelog"] =
            json!({ "startAt": 0, "maxResults": histories.len(), "total": histories.len(), "histories": histories });
    }
    Ok(json_response(StatusCode::OK, shown))
}

/// `GET /issue/{key}/changelog`: the issue's changes, oldest first, paged by `startAt`/`maxResults`.
async fn changelog(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Query(params): Params,
) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let issue = site.issue(&key)?;
    let (start_at, max_results) = page_params(&params, 100, 100)?;
    let values: Vec<Value> = issue
        .changelog
        .iter()
        .skip(start_at)
        .take(max_results)
        .map(|history| render::history_json(&site, history))
        .collect();
    let total = issue.changelog.len();
    let is_last = start_at + values.len() >= total;
    let page_url = |start_at: usize| {
        format!(
            "{}/rest/api/3/issue/{}/changelog?startAt={start_at}&maxResults={max_results}",
            site.base_url, issue.key
        )
    };
    let mut page = json!({
        "self": page_url(start_at),
        "maxResults": max_results,
        "startAt": start_at,
        "total": total,
        "isLast": is_last,
        "values": values,
    });
    if !is_last {
        page["nextPage"] = json!(page_url(start_at + max_results));
    }
    Ok(json_response(StatusCode::OK, page))
}

/// 204, or with `returnIssue=true` 200 and the issue as `GET /issue/{key}` shows it (changed or not).
async fn edit_issue(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Query(params): Params,
    JiraJson(body): JiraJson<Value>,
) -> ApiResult {
    let return_issue = param(&params, "returnIssue").is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let issue = sim.change(&caller.account_id, true, |site| {
        let events = site.edit_issue(&caller.account_id, &key, &body)?;
        let shown = return_issue
            .then(|| {
                site.issue(&key).map(|issue| {
                    render::issue_json(site, issue, &FieldSelection::all(), ApiVersion::V3, Some(&caller.account_id))
                })
            })
            .transpose()?;
        Ok((shown, events))
    })?;
    Ok(match issue {
        Some(issue) => json_response(StatusCode::OK, issue),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `DELETE /issue/{key}`: an issue with subtasks needs `deleteSubtasks=true` in Jira; the simulator's
/// issues have none.
async fn delete_issue(State(sim): Shared, Extension(caller): Extension<Caller>, Path(key): Path<String>) -> ApiResult {
    sim.change(&caller.account_id, true, |site| Ok(((), Some(site.delete_issue(&caller.account_id, &key)?))))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn assign_issue(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    JiraJson(body): JiraJson<Value>,
) -> ApiResult {
    sim.change(&caller.account_id, true, |site| Ok(((), site.assign(&caller.account_id, &key, &body)?)))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn transitions(State(sim): Shared, Extension(caller): Extension<Caller>, Path(key): Path<String>) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let issue = site.issue(&key)?;
    let transitions: Vec<Value> = workflow::transitions_from(issue.status)
        .map(|transition| render::transition_json(&site.base_url, transition))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "expand": "transitions", "transitions": transitions })))
}

async fn do_transition(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    JiraJson(body): JiraJson<Value>,
) -> ApiResult {
    sim.change(&caller.account_id, true, |site| Ok(((), site.transition(&caller.account_id, &key, &body)?)))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `POST /search/jql` (the same names as the `GET` form's query parameters).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    #[serde(default)]
    jql: Option<String>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    max_results: Option<usize>,
    #[serde(default)]
    fields: Vec<String>,
    /// Issue property keys to show with each issue.
    #[serde(default)]
    properties: Vec<String>,
}

/// The most issues one page holds, whatever the caller asks for.
const MAX_PAGE: usize = 100;
/// The most issues one page holds when only `id` or `key` is asked for, as Jira documents.
const MAX_ID_PAGE: usize = 5000;
/// The most issues one bulk fetch may name.
const MAX_BULK_FETCH: usize = 100;
/// The most issue properties one search may ask for, as Jira documents.
const MAX_PROPERTIES: usize = 5;

async fn search_get(State(sim): Shared, Extension(caller): Extension<Caller>, Query(params): Params) -> ApiResult {
    let request = SearchRequest {
        jql: param(&params, "jql").map(str::to_string),
        next_page_token: param(&params, "nextPageToken").map(str::to_string),
        max_results: Some(number_param(&params, "maxResults", 50)?),
        fields: params_named(&params, "fields").map(str::to_string).collect(),
        properties: params_named(&params, "properties").map(str::to_string).collect(),
    };
    search(&sim, &caller, request)
}

async fn search_post(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    JiraJson(request): JiraJson<SearchRequest>,
) -> ApiResult {
    search(&sim, &caller, request)
}

/// Paged by an opaque `nextPageToken` (the next offset); `isLast` ends the pages; there is no `total`.
fn search(sim: &Sim, caller: &Caller, request: SearchRequest) -> ApiResult {
    let mut site = sim.site();
    let jql = Jql::parse(request.jql.as_deref().unwrap_or_default())
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    jql.check(&site).map_err(|error| ApiError::bad_request(error.to_string()))?;
    let offset = match &request.next_page_token {
        None => 0,
        Some(token) => decode_page_token(token)
            .ok_or_else(|| ApiError::bad_request("The provided next page token is invalid or expired."))?,
    };
    let ids_only = !request.fields.is_empty()
        && request.fields.iter().flat_map(|field| field.split(',')).all(|field| matches!(field.trim(), "id" | "key"))
        && request.properties.is_empty();
    let keys_asked = request.fields.iter().flat_map(|field| field.split(',')).any(|field| field.trim() == "key");
    let most = sim.faults.search_page_limit().map_or(usize::MAX, |limit| limit.max(1));
    let page_size = request.max_results.unwrap_or(50).clamp(1, if ids_only { MAX_ID_PAGE } else { MAX_PAGE }).min(most);
    let selection = FieldSelection::parse(request.fields.iter().map(String::as_str), FieldSelection::none());
    let properties: Vec<&str> = request
        .properties
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .collect();
    if properties.len() > MAX_PROPERTIES {
        return Err(ApiError::bad_request(format!("A search can return at most {MAX_PROPERTIES} issue properties.")));
    }
    let context = JqlContext { now: Utc::now(), offset: caller.offset, account_id: &caller.account_id };
    // Under a search lag, the search sees each issue as it was when its newest visible change was made.
    site.settle_search_view();
    let site = &*site;
    let mut found: Vec<_> = if site.require(&caller.account_id, "BROWSE_PROJECTS").is_ok() {
        site.search_view().filter(|issue| jql.matches(site, issue, &context)).collect()
    } else {
        Vec::new()
    };
    found.sort_by(|left, right| jql.compare(left, right));
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|issue| {
            let mut shown = if selection.is_empty() {
                // `id` returns ids only; `key` the keys with them.
                let mut shown = json!({ "id": issue.id.to_string() });
                if keys_asked {
                    shown["key"] = json!(issue.key);
                }
                shown
            } else {
                render::issue_json(site, issue, &selection, ApiVersion::V3, Some(&caller.account_id))
            };
            if !properties.is_empty() {
                shown["properties"] = render::properties_json(issue, &properties);
            }
            shown
        })
        .collect();
    let next = offset + page.len();
    let mut body = json!({ "issues": page, "isLast": next >= found.len() });
    if next < found.len() {
        body["nextPageToken"] = json!(encode_page_token(next));
    }
    Ok(json_response(StatusCode::OK, body))
}

/// The body of `POST /issue/bulkfetch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkFetchRequest {
    issue_ids_or_keys: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
}

/// Up to 100 issues by id or key, in ascending id order. As Jira documents, issues that do not exist or
/// that the caller may not see are left out without an error.
async fn bulk_fetch(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    JiraJson(request): JiraJson<BulkFetchRequest>,
) -> ApiResult {
    if request.issue_ids_or_keys.is_empty() || request.issue_ids_or_keys.len() > MAX_BULK_FETCH {
        return Err(ApiError::bad_request(format!("Provide between 1 and {MAX_BULK_FETCH} issue ids or keys.")));
    }
    let site = sim.site();
    let selection = FieldSelection::parse(request.fields.iter().map(String::as_str), FieldSelection::all());
    let mut issues: Vec<_> = if visible(&site, &caller.account_id).is_ok() {
        request.issue_ids_or_keys.iter().filter_map(|wanted| site.issue(wanted).ok()).collect()
    } else {
        Vec::new()
    };
    issues.sort_by_key(|issue| issue.id);
    issues.dedup_by_key(|issue| issue.id);
    let rendered: Vec<Value> = issues
        .iter()
        .map(|issue| render::issue_json(&site, issue, &selection, ApiVersion::V3, Some(&caller.account_id)))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "issues": rendered, "issueErrors": [] })))
}

fn encode_page_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_page_token(token: &str) -> Option<usize> {
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    std::str::from_utf8(&decoded).ok()?.strip_prefix("offset:")?.parse().ok()
}

async fn comments(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Query(params): Params,
) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let issue = site.issue(&key)?;
    let (start_at, max_results) = page_params(&params, 100, 5000)?;
    let with_properties = expands_properties(&params);
    // Comments restricted to a role or group the caller is not in are neither listed nor counted.
    let mut ordered: Vec<_> = site.comments_seen_by(&caller.account_id, issue).collect();
    if param(&params, "orderBy") == Some("-created") {
        ordered.reverse();
    }
    let page: Vec<Value> = ordered
        .iter()
        .skip(start_at)
        .take(max_results)
        .map(|comment| render::comment_json(&site, issue, comment, ApiVersion::V3, with_properties))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "startAt": start_at, "maxResults": max_results, "total": ordered.len(), "comments": page }),
    ))
}

/// `expand=properties` (among others, comma-separated): show comments' entity properties.
fn expands_properties(params: &[(String, String)]) -> bool {
    expands(params, "properties")
}

/// Whether `expand` (comma-separated, possibly repeated) names `part`.
fn expands(params: &[(String, String)], part: &str) -> bool {
    params_named(params, "expand").flat_map(|value| value.split(',')).any(|item| item.trim() == part)
}

/// A comment restricted to a role or group the caller is not in answers 404, as if it did not exist.
async fn get_comment(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((key, comment)): Path<(String, String)>,
    Query(params): Params,
) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let issue = site.issue(&key)?;
    let record = site.comment_seen_by(&caller.account_id, issue.id, &comment)?;
    let shown = render::comment_json(&site, issue, record, ApiVersion::V3, expands_properties(&params));
    Ok(json_response(StatusCode::OK, shown))
}

async fn add_comment(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Query(params): Params,
    JiraJson(body): JiraJson<Value>,
) -> ApiResult {
    let comment = sim.change(&caller.account_id, true, |site| {
        let (comment, event) = site.add_comment(&caller.account_id, &key, &body)?;
        Ok((comment_body(site, &key, comment, expands_properties(&params))?, Some(event)))
    })?;
    Ok(json_response(StatusCode::CREATED, comment))
}

async fn update_comment(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((key, comment)): Path<(String, String)>,
    Query(params): Params,
    JiraJson(body): JiraJson<Value>,
) -> ApiResult {
    let comment = sim.change(&caller.account_id, true, |site| {
        let (comment, event) = site.update_comment(&caller.account_id, &key, &comment, &body)?;
        Ok((comment_body(site, &key, comment, expands_properties(&params))?, Some(event)))
    })?;
    Ok(json_response(StatusCode::OK, comment))
}

fn comment_body(site: &Site, key: &str, comment: u64, with_properties: bool) -> Result<Value, ApiError> {
    let issue = site.issue(key)?;
    let record = site.comment(issue.id, &comment.to_string())?;
    Ok(render::comment_json(site, issue, record, ApiVersion::V3, with_properties))
}

async fn delete_comment(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((key, comment)): Path<(String, String)>,
) -> ApiResult {
    sim.change(&caller.account_id, true, |site| {
        Ok(((), Some(site.delete_comment(&caller.account_id, &key, &comment)?)))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `accountId` finds that account only; `query` matches the start of the e-mail address or of any word
/// of the display name, case-insensitively. One of them (or `property`, which no simulated user has)
/// must be given, and not both, as Jira documents.
async fn user_search(State(sim): Shared, Query(params): Params) -> ApiResult {
    let site = sim.site();
    let given = |name| param(&params, name).filter(|value| !value.trim().is_empty());
    let (account_id, query) = (given("accountId"), given("query").map(str::to_lowercase));
    if account_id.is_none() && query.is_none() && given("property").is_none() {
        return Err(ApiError::bad_request("One of 'accountId', 'query' or 'property' must be provided."));
    }
    if account_id.is_some() && query.is_some() {
        return Err(ApiError::bad_request("The 'query' and 'accountId' parameters cannot be provided together."));
    }
    let (start_at, max_results) = page_params(&params, 50, 1000)?;
    let found: Vec<Value> = site
        .users
        .iter()
        .filter(|user| match (account_id, &query) {
            (Some(account_id), _) => user.account_id == account_id,
            (None, Some(query)) => {
                user.email.to_lowercase().starts_with(query)
                    || user.display_name.to_lowercase().starts_with(query)
                    || user.display_name.to_lowercase().split_whitespace().any(|word| word.starts_with(query))
            }
            (None, None) => false,
        })
        .skip(start_at)
        .take(max_results)
        .map(|user| render::user_json(&site.base_url, user, ApiVersion::V3))
        .collect();
    Ok(json_response(StatusCode::OK, Value::Array(found)))
}

async fn user(State(sim): Shared, Query(params): Params) -> ApiResult {
    let site = sim.site();
    let account_id = param(&params, "accountId")
        .ok_or_else(|| ApiError::bad_request("The accountId query parameter needs to be provided."))?;
    let user = site.user(account_id).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "Specified user does not exist or you do not have required permissions")
    })?;
    Ok(json_response(StatusCode::OK, render::user_json(&site.base_url, user, ApiVersion::V3)))
}

async fn get_property(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((key, property)): Path<(String, String)>,
) -> ApiResult {
    let site = sim.site();
    visible(&site, &caller.account_id)?;
    let issue = site.issue(&key)?;
    let value = issue.properties.get(&property).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, format!("The property with key '{property}' does not exist."))
    })?;
    Ok(json_response(StatusCode::OK, json!({ "key": property, "value": value })))
}

async fn set_property(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((key, property)): Path<(String, String)>,
    JiraJson(value): JiraJson<Value>,
) -> ApiResult {
    let mut site = sim.site();
    visible(&site, &caller.account_id)?;
    let created = site.set_property(&caller.account_id, &key, &property, value)?;
    // The contract declares a JSON body (of any shape) for both answers; an empty object is one.
    Ok(json_response(if created { StatusCode::CREATED } else { StatusCode::OK }, json!({})))
}

/// The id of the issue `key` names, in a project the caller may browse.
fn visible_issue(site: &Site, account_id: &str, key: &str) -> Result<u64, ApiError> {
    visible(site, account_id)?;
    Ok(site.issue(key)?.id)
}

/// As [`visible_issue`], for a caller who may also link issues.
fn linkable_issue(site: &Site, account_id: &str, key: &str) -> Result<u64, ApiError> {
    let issue = visible_issue(site, account_id, key)?;
    site.require(account_id, "LINK_ISSUES")?;
    Ok(issue)
}

fn link_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::bad_request("The remote link id must be a number."))
}

async fn remote_links(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Query(params): Params,
) -> ApiResult {
    let site = sim.site();
    let issue = visible_issue(&site, &caller.account_id, &key)?;
    let wanted = params.iter().find(|(name, _)| name == "globalId").map(|(_, value)| value);
    let links: Vec<Value> = site
        .remote_links
        .of(issue)
        .iter()
        .filter(|link| wanted.is_none_or(|wanted| link.global_id.as_ref() == Some(wanted)))
        .map(|link| super::remote_links::link_json(&site.base_url, issue, link))
        .collect();
    Ok(json_response(StatusCode::OK, Value::Array(links)))
}

async fn remote_link(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((key, link)): Path<(String, String)>,
) -> ApiResult {
    let site = sim.site();
    let issue = visible_issue(&site, &caller.account_id, &key)?;
    let link = site.remote_links.get(issue, link_id(&link)?)?;
    Ok(json_response(StatusCode::OK, super::remote_links::link_json(&site.base_url, issue, link)))
}

async fn put_remote_link(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    JiraJson(body): JiraJson<Value>,
) -> ApiResult {
    let mut site = sim.site();
    let issue = linkable_issue(&site, &caller.account_id, &key)?;
    let (id, created) = site.remote_links.put(issue, &body)?;
    let answer = json!({ "id": id, "self": super::remote_links::link_self(&site.base_url, issue, id) });
    Ok(json_response(if created { StatusCode::CREATED } else { StatusCode::OK }, answer))
}

async fn delete_remote_link(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path((key, link)): Path<(String, String)>,
) -> ApiResult {
    let mut site = sim.site();
    let issue = linkable_issue(&site, &caller.account_id, &key)?;
    site.remote_links.delete(issue, link_id(&link)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

impl Sim {
    /// Applies one change to the site as `account_id` (who must see the project when `visible_only`),
    /// then sends its webhooks (none, one, or several: an edit may add comments) once the site's lock is
    /// released, so slow receivers never hold up the API.
    pub(super) fn change<T, Events: IntoIterator<Item = SiteEvent>>(
        &self,
        account_id: &str,
        visible_only: bool,
        apply: impl FnOnce(&mut Site) -> Result<(T, Events), ApiError>,
    ) -> Result<T, ApiError> {
        let (answer, bodies) = {
            let mut site = self.site();
            if visible_only {
                visible(&site, account_id)?;
            }
            let (answer, events) = apply(&mut site)?;
            let now = Utc::now();
            let bodies: Vec<Value> = events
                .into_iter()
                .filter_map(|event| super::events::webhook_body(&site, &event, account_id, now))
                .collect();
            (answer, bodies)
        };
        for body in &bodies {
            self.webhooks.send(body);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_page_token(&encode_page_token(150)), Some(150));
        assert_eq!(decode_page_token("not a token"), None);
    }

    #[test]
    fn basic_credentials_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("a@example.com:tok:en");
        headers.insert(header::AUTHORIZATION, format!("Basic {encoded}").parse().unwrap());
        assert_eq!(basic_credentials(&headers), Some(("a@example.com".into(), "tok:en".into())));
        headers.insert(header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(basic_credentials(&headers), None);
    }
}
