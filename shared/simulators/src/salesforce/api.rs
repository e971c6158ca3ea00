//! The REST endpoints: `/services/oauth2/token`, and under `/services/data/vXX.X/`: `limits`,
//! `sobjects` (describe global), `sobjects/{Object}/describe`, record create, read, update and delete,
//! upsert and read by an External ID, `query`, `queryAll` and the next batches of a query.

use super::auth::{self, OAuthError};
use super::org::{ApiError, Upserted};
use super::{schema, Shared};
use crate::faults::FaultAnswer;
use crate::meddling::meddled_title;
use crate::recording::AuthenticatedUser;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

type Shared_ = Arc<Shared>;

pub(crate) fn router(shared: Shared_) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/data", get(versions))
        .route("/services/data/{version}", get(resources_by_version))
        .route("/services/data/{version}/limits", get(limits))
        .route("/services/data/{version}/sobjects", get(describe_global))
        .route("/services/data/{version}/sobjects/{object}", get(basic_information).post(create))
        .route("/services/data/{version}/sobjects/{object}/describe", get(describe))
        .route("/services/data/{version}/sobjects/{object}/{id}", get(read).patch(update).delete(delete))
        .route("/services/data/{version}/sobjects/{object}/{field}/{value}", get(read_by_external_id).patch(upsert))
        .route("/services/data/{version}/query", get(query))
        .route("/services/data/{version}/queryAll", get(query_all))
        .route("/services/data/{version}/query/{locator}", get(next_batch))
        .with_state(shared)
}

/// The oldest and the newest API version the org serves (every release between them too).
const OLDEST_VERSION: u32 = 46;
const NEWEST_VERSION: u32 = 64;

/// Salesforce takes an address with or without a trailing slash, and its docs print both
/// (`/services/data/`, `…/query/?q=…`, `…/sobjects/`): the slash is dropped before the call is routed.
pub(crate) async fn without_trailing_slash(mut request: axum::extract::Request) -> axum::extract::Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let mended = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = mended.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The API version a `vXX.X` path segment names, if the org serves it.
fn served_version(segment: &str) -> Option<&str> {
    let number = segment.strip_prefix('v')?;
    let (major, minor) = number.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    ((OLDEST_VERSION..=NEWEST_VERSION).contains(&major) && minor == "0").then_some(number)
}

fn error(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(error.body())).into_response()
}

fn oauth_error(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(error.body())).into_response()
}

/// An authenticated API call: who makes it, and the version path it was made on.
struct Caller {
    user: String,
    version: String,
    usage: String,
}

impl Caller {
    /// The answer, with the allowance used so far and who called (for the recorder).
    fn answer(&self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        if let Ok(usage) = HeaderValue::from_str(&self.usage) {
            response.headers_mut().insert("sforce-limit-info", usage);
        }
        response.extensions_mut().insert(AuthenticatedUser(self.user.clone()));
        response
    }

    fn failed(&self, failure: &ApiError) -> Response {
        self.answer(error(failure))
    }
}

/// The caller of an admitted call, or the handler answers with the refusal.
macro_rules! admitted {
    ($shared:expr, $headers:expr, $version:expr) => {
        match admit($shared, $headers, $version) {
            Ok(caller) => caller,
            Err(refused) => return *refused,
        }
    };
}

/// Admits a call: a known version, a live session, and room in the org's allowance (the call is counted).
fn admit(shared: &Shared, headers: &HeaderMap, version: &str) -> Result<Caller, Box<Response>> {
    let Some(version) = served_version(version) else {
        return Err(Box::new(error(&ApiError::new(404, "NOT_FOUND", "The requested resource does not exist"))));
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("OAuth ")))
        .unwrap_or_default();
    let user = shared.sessions().user(token.trim()).map(str::to_string);
    let user = user.filter(|user| !shared.credentials.refuses(user == shared.integration_user()));
    let Some(user) = user else {
        return Err(Box::new(error(&ApiError::new(401, "INVALID_SESSION_ID", "Session expired or invalid"))));
    };
    let allowance = shared.api_allowance.load(Ordering::SeqCst);
    let used = shared.api_used.load(Ordering::SeqCst);
    let usage = |used: u64| format!("api-usage={used}/{allowance}");
    if used >= allowance {
        let refusal = ApiError::new(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
        let caller = Caller { user, version: version.to_string(), usage: usage(used) };
        return Err(Box::new(caller.failed(&refusal)));
    }
    let used = shared.api_used.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(Caller { user, version: version.to_string(), usage: usage(used) })
}

async fn token(State(shared): State<Shared_>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, secret)| (id.to_string(), secret.to_string())));
    let user =
        match auth::authenticate(&form, basic, &shared.app, &shared.base_url, &shared.users, shared.integration_user())
        {
            Ok(user) if shared.credentials.refuses(user == shared.integration_user()) => {
                return oauth_error(&OAuthError::expired());
            }
            Ok(user) => user,
            Err(refusal) => return oauth_error(&refusal),
        };
    let access_token = shared.sessions().open(&shared.org_id, &user);
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let id = format!("{}/id/{}/{user}", shared.base_url, shared.org_id);
    let signature = base64::engine::general_purpose::STANDARD.encode(format!("{id}{issued_at}").as_bytes());
    let mut response = Json(json!({
        "access_token": access_token,
        "signature": signature,
        "scope": "api",
        "instance_url": shared.base_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }))
    .into_response();
    response.extensions_mut().insert(AuthenticatedUser(user));
    response
}

/// `GET /services/data`: every version the org serves, labelled with its release as Salesforce does.
async fn versions(State(_shared): State<Shared_>) -> Response {
    let listed: Vec<Value> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|major| {
            let version = format!("{major}.0");
            json!({"label": release_name(major), "url": format!("/services/data/v{version}"), "version": version})
        })
        .collect();
    Json(Value::Array(listed)).into_response()
}

/// The release an API version came with: three a year, v46.0 with Summer '19.
fn release_name(major: u32) -> String {
    let since = major.saturating_sub(46);
    let season = ["Summer", "Winter", "Spring"][(since % 3) as usize];
    format!("{season} '{}", 19 + since.div_ceil(3))
}

/// `GET /services/data/vXX.X`: the resources the version has (those the org serves).
async fn resources_by_version(
    State(shared): State<Shared_>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let base = format!("/services/data/v{}", caller.version);
    let resources: Map<String, Value> = ["sobjects", "query", "queryAll", "limits"]
        .into_iter()
        .map(|name| (name.to_string(), Value::from(format!("{base}/{name}"))))
        .collect();
    caller.answer(Json(resources))
}

async fn limits(State(shared): State<Shared_>, Path(version): Path<String>, headers: HeaderMap) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let allowance = shared.api_allowance.load(Ordering::SeqCst);
    let used = shared.api_used.load(Ordering::SeqCst);
    caller.answer(Json(json!({
        "DailyApiRequests": { "Max": allowance, "Remaining": allowance.saturating_sub(used) },
        "DataStorageMB": { "Max": 5, "Remaining": 5 },
    })))
}

async fn describe_global(State(shared): State<Shared_>, Path(version): Path<String>, headers: HeaderMap) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let org = shared.org();
    let objects: Vec<Value> = org.objects.iter().map(|object| object_summary(object, &caller.version)).collect();
    caller.answer(Json(json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects })))
}

/// An object as Describe Global and sObject Basic Information show it.
fn object_summary(object: &schema::Object, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    json!({
        "name": object.name, "label": object.label, "keyPrefix": object.key_prefix, "custom": false,
        "createable": true, "updateable": true, "deletable": true, "queryable": true,
        "urls": { "sobject": base, "describe": format!("{base}/describe"), "rowTemplate": format!("{base}/{{ID}}") }
    })
}

/// `GET /services/data/vXX.X/sobjects/{Object}`: sObject Basic Information (the org keeps no recent
/// items for the API).
async fn basic_information(
    State(shared): State<Shared_>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let org = shared.org();
    match org.object(&object) {
        Ok(object) => {
            caller.answer(Json(json!({"objectDescribe": object_summary(object, &caller.version), "recentItems": []})))
        }
        Err(failure) => caller.failed(&failure),
    }
}

async fn describe(
    State(shared): State<Shared_>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let org = shared.org();
    match org.object(&object) {
        Ok(object) => caller.answer(Json(schema::describe(object, &caller.version))),
        Err(failure) => caller.failed(&failure),
    }
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(values)) => Ok(values),
        Ok(_) => Err(ApiError::new(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")),
        Err(error) => Err(ApiError::new(400, "JSON_PARSER_ERROR", format!("Unexpected character: {error}"))),
    }
}

async fn create(
    State(shared): State<Shared_>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let created = body_object(&body).and_then(|values| shared.org().create(&object, &values, &caller.user));
    match created {
        Ok(id) => {
            shared.notify(&object, &id);
            let location = format!("/services/data/v{}/sobjects/{object}/{id}", caller.version);
            caller.answer((
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(json!({"id": id, "success": true, "errors": []})),
            ))
        }
        Err(failure) => caller.failed(&failure),
    }
}

/// `?fields=A,B`: the fields asked for.
fn fields_asked(query: &HashMap<String, String>) -> Option<Vec<String>> {
    query.get("fields").map(|fields| fields.split(',').map(|field| field.trim().to_string()).collect())
}

async fn read(
    State(shared): State<Shared_>,
    Path((version, object, id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let org = shared.org();
    let rendered = org.object(&object).and_then(|meta| {
        let record = org.record(meta.name, &id)?;
        let fields = fields_asked(&query);
        if let Some(unknown) = fields.iter().flatten().find(|name| meta.field(name).is_none()) {
            return Err(ApiError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{unknown}' on sobject of type {}", meta.name),
            ));
        }
        Ok(org.render(meta, record, fields.as_deref(), &caller.version))
    });
    match rendered {
        Ok(record) => caller.answer(Json(record)),
        Err(failure) => caller.failed(&failure),
    }
}

async fn update(
    State(shared): State<Shared_>,
    Path((version, object, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let updated = body_object(&body).and_then(|values| {
        let mut org = shared.org();
        unmodified_since(&headers, org.record(&object, &id)?)?;
        org.update(&object, &id, &values, &caller.user)
    });
    match updated {
        Ok(()) => {
            shared.notify(&object, &id);
            caller.answer(StatusCode::NO_CONTENT)
        }
        Err(failure) => caller.failed(&failure),
    }
}

async fn delete(
    State(shared): State<Shared_>,
    Path((version, object, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let deleted = shared.org().delete(&object, &id, &caller.user);
    match deleted {
        Ok(()) => caller.answer(StatusCode::NO_CONTENT),
        Err(failure) => caller.failed(&failure),
    }
}

async fn read_by_external_id(
    State(shared): State<Shared_>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let org = shared.org();
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    let found = org.object(&object).and_then(|meta| {
        let key = meta.field(&field).filter(|key| key.external_id).ok_or_else(|| {
            ApiError::new(
                404,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            )
        })?;
        let rows = org.query(
            &format!("SELECT Id FROM {} WHERE {} = '{escaped}'", meta.name, key.name),
            &caller.version,
            false,
        )?;
        let id = rows
            .rows
            .first()
            .and_then(|row| row["Id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| ApiError::new(404, "NOT_FOUND", "The requested resource does not exist"))?;
        Ok(org.render(meta, org.record(meta.name, &id)?, None, &caller.version))
    });
    match found {
        Ok(record) => caller.answer(Json(record)),
        Err(failure) => caller.failed(&failure),
    }
}

async fn upsert(
    State(shared): State<Shared_>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let update_only = query.get("updateOnly").is_some_and(|flag| flag == "true");
    let outcome = body_object(&body)
        .and_then(|values| shared.org().upsert(&object, (&field, &value), &values, update_only, &caller.user));
    match outcome {
        Ok(Upserted::Created(id)) => {
            shared.notify(&object, &id);
            caller
                .answer((StatusCode::CREATED, Json(json!({"id": id, "success": true, "errors": [], "created": true}))))
        }
        Ok(Upserted::Updated(id)) => {
            shared.notify(&object, &id);
            caller.answer((StatusCode::OK, Json(json!({"id": id, "success": true, "errors": [], "created": false}))))
        }
        Ok(Upserted::Ambiguous(ids)) => {
            let urls: Vec<String> =
                ids.iter().map(|id| format!("/services/data/v{}/sobjects/{object}/{id}", caller.version)).collect();
            caller.answer((StatusCode::MULTIPLE_CHOICES, Json(json!(urls))))
        }
        Err(failure) => caller.failed(&failure),
    }
}

async fn query(
    State(shared): State<Shared_>,
    Path(version): Path<String>,
    Query(parameters): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run_query(&shared, &version, &parameters, &headers, false)
}

async fn query_all(
    State(shared): State<Shared_>,
    Path(version): Path<String>,
    Query(parameters): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run_query(&shared, &version, &parameters, &headers, true)
}

/// The batch size asked with `Sforce-Query-Options: batchSize=N` (200 to 2,000; 2,000 by default).
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|value| value.to_str().ok())
        .and_then(|options| options.split(',').find_map(|option| option.trim().strip_prefix("batchSize=")))
        .and_then(|size| size.trim().parse::<usize>().ok())
        .map_or(2000, |size| size.clamp(200, 2000))
}

fn run_query(
    shared: &Shared,
    version: &str,
    parameters: &HashMap<String, String>,
    headers: &HeaderMap,
    all_rows: bool,
) -> Response {
    let caller = admitted!(shared, headers, version);
    let Some(text) = parameters.get("q") else {
        return caller.failed(&ApiError::new(400, "MALFORMED_QUERY", "A query string has to be specified"));
    };
    let rows = shared.org().query(text, &caller.version, all_rows);
    match rows {
        Ok(rows) => {
            if caller.user == shared.integration_user() {
                maybe_meddle(shared, &rows.rows);
            }
            let locator = shared.cursors.open(rows.rows, rows.total);
            caller.answer(Json(shared.cursors.batch(&locator, 0, batch_size(headers), &caller.version)))
        }
        Err(failure) => caller.failed(&failure),
    }
}

async fn next_batch(
    State(shared): State<Shared_>,
    Path((version, locator)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let Some((cursor, offset)) =
        locator.rsplit_once('-').and_then(|(cursor, offset)| Some((cursor, offset.parse::<usize>().ok()?)))
    else {
        return caller.failed(&ApiError::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator"));
    };
    if !shared.cursors.knows(cursor) {
        return caller.failed(&ApiError::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator"));
    }
    caller.answer(Json(shared.cursors.batch(cursor, offset, batch_size(&headers), &caller.version)))
}

/// `If-Unmodified-Since`: the record must not have been modified (`LastModifiedDate`, to the second)
/// after the date given; a value that is no HTTP date is a bad request.
fn unmodified_since(headers: &HeaderMap, record: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::IF_UNMODIFIED_SINCE) else { return Ok(()) };
    let since = value
        .to_str()
        .ok()
        .and_then(|text| chrono::DateTime::parse_from_rfc2822(text).ok())
        .ok_or_else(|| ApiError::new(400, "INVALID_HEADER_VALUE", "If-Unmodified-Since is not an HTTP date"))?;
    let modified = record["LastModifiedDate"].as_str().and_then(super::soql::parse_datetime);
    match modified {
        Some(modified) if modified > since => Err(ApiError::new(
            412,
            "PRECONDITION_FAILED",
            "The requested resource has been modified since the If-Unmodified-Since date.",
        )),
        _ => Ok(()),
    }
}

/// With the plan's `meddle_rate`, the second user retitles the one Case the integration user just read,
/// as a person does between a reader's read and its write.
fn maybe_meddle(shared: &Shared, rows: &[Value]) {
    let [row] = rows else { return };
    let is_case = row.pointer("/attributes/type").and_then(Value::as_str) == Some("Case");
    let (Some(id), Some(meddler)) = (row["Id"].as_str().filter(|_| is_case), shared.meddler()) else { return };
    let Some(number) = shared.faults.draw_meddle() else { return };
    let edited = {
        let mut org = shared.org();
        let subject = org.record("Case", id).ok().and_then(|case| case["Subject"].as_str().map(str::to_string));
        let values =
            Map::from_iter([("Subject".to_string(), json!(meddled_title(&subject.unwrap_or_default(), number)))]);
        org.update("Case", id, &values, meddler)
    };
    if edited.is_ok() {
        shared.notify("Case", id);
    }
}

/// An injected fault in Salesforce's words: the concurrent-request limit for a rate limit, and the
/// errors its servers give when they fail or time out. The token endpoint answers in OAuth's shape.
pub(crate) fn fault_response(path: &str, answer: FaultAnswer) -> Response {
    if path.ends_with("/oauth2/token") {
        return oauth_error(&OAuthError::fault(answer.status.as_u16()));
    }
    let (status, code, message) = match answer.status.as_u16() {
        429 => (403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
        500 => (
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-123456789)",
        ),
        504 => (504, "SERVER_UNAVAILABLE", "The server did not answer in time."),
        other => (other, "SERVER_UNAVAILABLE", "Server is unavailable, please try again later."),
    };
    error(&ApiError::new(status, code, message))
}
