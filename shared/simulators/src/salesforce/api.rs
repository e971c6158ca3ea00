//! The REST endpoints: `/services/oauth2/token`, and under `/services/data/vXX.X/`: `limits`,
//! `sobjects` (describe global), `sobjects/{Object}/describe`, record create, read, update and delete,
//! upsert, read and delete by an External ID, `query`, `queryAll` and the next batches of a query; the
//! identity URL, `/services/oauth2/userinfo` and `/services/oauth2/revoke`. Other methods and addresses
//! are answered as Salesforce answers them: 405 `METHOD_NOT_ALLOWED` and 404 `NOT_FOUND`.

use super::auth::{self, OAuthError};
use super::org::{ApiError, Upserted};
use super::{schema, Shared};
use crate::faults::FaultAnswer;
use crate::meddling::meddled_title;
use crate::recording::AuthenticatedUser;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
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
        .route("/services/oauth2/revoke", post(revoke).get(revoke_by_query))
        .route("/services/oauth2/userinfo", get(userinfo).post(userinfo))
        .route("/id/{org}/{user}", get(identity))
        .route("/services/data", get(versions))
        .route("/services/data/{version}", only(get(resources_by_version), "GET"))
        .route("/services/data/{version}/limits", only(get(limits), "GET"))
        .route("/services/data/{version}/sobjects", only(get(describe_global), "GET"))
        .route("/services/data/{version}/sobjects/{object}", only(get(basic_information).post(create), "GET,POST"))
        .route("/services/data/{version}/sobjects/{object}/describe", only(get(describe), "GET"))
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            only(get(read).patch(update).delete(delete).post(create_by_field), "GET,PATCH,DELETE"),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{field}/{value}",
            only(get(read_by_external_id).patch(upsert).delete(delete_by_external_id), "GET,PATCH,DELETE"),
        )
        .route("/services/data/{version}/query", only(get(query), "GET"))
        .route("/services/data/{version}/queryAll", only(get(query_all), "GET"))
        .route("/services/data/{version}/query/{locator}", only(get(next_batch), "GET"))
        .fallback(no_such_resource)
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
    let signature = auth::signature(&shared.app.consumer_secret, &id, &issued_at);
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

/// `POST /services/oauth2/revoke` with `token=…` (form): ends that session; 200 with no body.
async fn revoke(State(shared): State<Shared_>, body: axum::body::Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    revoked(&shared, form.get("token"))
}

/// `GET /services/oauth2/revoke?token=…`, which Salesforce takes as well.
async fn revoke_by_query(State(shared): State<Shared_>, Query(query): Query<HashMap<String, String>>) -> Response {
    revoked(&shared, query.get("token"))
}

fn revoked(shared: &Shared, token: Option<&String>) -> Response {
    match token {
        Some(token) if shared.sessions().revoke(token.trim()) => StatusCode::OK.into_response(),
        // Salesforce answers every refusal of the revocation endpoint with 400 and an OAuth error.
        _ => oauth_error(&OAuthError { status: 400, error: "invalid_token", description: "Token was invalid".into() }),
    }
}

/// The user of a call to the identity service: the bearer token (or `oauth_token=`); refusals are 403
/// with the identity service's code as plain text.
fn identified(
    shared: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<String, (StatusCode, &'static str)> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("OAuth ")))
        .or_else(|| query.get("oauth_token").map(String::as_str))
        .map(str::trim);
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return Err((StatusCode::FORBIDDEN, "Missing_OAuth_Token"));
    };
    let user = shared.sessions().user(token).map(str::to_string);
    user.filter(|user| !shared.credentials.refuses(user == shared.integration_user()))
        .ok_or((StatusCode::FORBIDDEN, "Bad_OAuth_Token"))
}

/// What the identity URL and userinfo tell of a user: `(identity URL, user, urls)`; `version` fills
/// the URLs' `{version}` (`latest`: the newest), as the identity URL's `version` parameter does.
fn identity_parts<'a>(
    shared: &'a Shared,
    user_id: &str,
    version: Option<&String>,
) -> Option<(String, &'a super::SalesforceUser, Value)> {
    let (id, user) = shared.users.iter().find(|(id, _)| id == user_id)?;
    let base = &shared.base_url;
    let org = &shared.org_id;
    let urls = json!({
        "enterprise": format!("{base}/services/Soap/c/{{version}}/{org}"),
        "metadata": format!("{base}/services/Soap/m/{{version}}/{org}"),
        "partner": format!("{base}/services/Soap/u/{{version}}/{org}"),
        "rest": format!("{base}/services/data/v{{version}}/"),
        "sobjects": format!("{base}/services/data/v{{version}}/sobjects/"),
        "search": format!("{base}/services/data/v{{version}}/search/"),
        "query": format!("{base}/services/data/v{{version}}/query/"),
        "recent": format!("{base}/services/data/v{{version}}/recent/"),
        "tooling_soap": format!("{base}/services/Soap/T/{{version}}/{org}"),
        "tooling_rest": format!("{base}/services/data/v{{version}}/tooling/"),
        "profile": format!("{base}/{id}"),
        "feeds": format!("{base}/services/data/v{{version}}/chatter/feeds"),
        "groups": format!("{base}/services/data/v{{version}}/chatter/groups"),
        "users": format!("{base}/services/data/v{{version}}/chatter/users"),
        "feed_items": format!("{base}/services/data/v{{version}}/chatter/feed-items"),
        "feed_elements": format!("{base}/services/data/v{{version}}/chatter/feed-elements"),
        "custom_domain": base,
    });
    let urls = match version {
        Some(version) => {
            let number = match version.as_str() {
                "latest" => format!("{NEWEST_VERSION}.0"),
                other => other.trim_start_matches('v').to_string(),
            };
            serde_json::from_str(&urls.to_string().replace("{version}", &number)).unwrap_or(urls)
        }
        None => urls,
    };
    Some((format!("{base}/id/{org}/{id}"), user, urls))
}

/// `GET /id/{orgId}/{userId}`: the identity URL a token answer's `id` names.
async fn identity(
    State(shared): State<Shared_>,
    Path((org, user_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let caller = match identified(&shared, &headers, &query) {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    if super::ids::normalise(&org).as_deref() != Some(shared.org_id.as_str()) {
        return (StatusCode::FORBIDDEN, "Wrong_Org").into_response();
    }
    let user_id = super::ids::normalise(&user_id).unwrap_or(user_id);
    let Some((id, user, urls)) = identity_parts(&shared, &user_id, query.get("version")) else {
        return (StatusCode::NOT_FOUND, "Bad_Id").into_response();
    };
    let display_name = format!("{} {}", user.first_name, user.last_name);
    let mut response = Json(json!({
        "id": id,
        "asserted_user": caller == user_id,
        "user_id": user_id,
        "organization_id": shared.org_id,
        "username": user.username,
        "nick_name": user.email.split('@').next().unwrap_or_default(),
        "display_name": display_name,
        "email": user.email,
        "email_verified": true,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": "GMT",
        "photos": photos(&shared.base_url),
        "addr_street": null, "addr_city": null, "addr_state": null, "addr_country": null, "addr_zip": null,
        "mobile_phone": null,
        "mobile_phone_verified": false,
        "is_lightning_login_user": false,
        "status": {"created_date": null, "body": null},
        "urls": urls,
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": super::org::timestamp(shared.started),
        "is_app_installed": true,
    }))
    .into_response();
    response.extensions_mut().insert(AuthenticatedUser(caller));
    response
}

fn photos(base: &str) -> Value {
    json!({"picture": format!("{base}/profilephoto/005/F"), "thumbnail": format!("{base}/profilephoto/005/T")})
}

/// `GET` or `POST /services/oauth2/userinfo`: the caller as OpenID Connect's UserInfo endpoint tells.
async fn userinfo(
    State(shared): State<Shared_>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let caller = match identified(&shared, &headers, &query) {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    let Some((id, user, urls)) = identity_parts(&shared, &caller, query.get("version")) else {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    };
    let mut response = Json(json!({
        "sub": id,
        "user_id": caller,
        "organization_id": shared.org_id,
        "preferred_username": user.username,
        "nickname": user.email.split('@').next().unwrap_or_default(),
        "name": format!("{} {}", user.first_name, user.last_name),
        "email": user.email,
        "email_verified": true,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "zoneinfo": "GMT",
        "photos": photos(&shared.base_url),
        "profile": format!("{}/{caller}", shared.base_url),
        "picture": format!("{}/profilephoto/005/F", shared.base_url),
        "address": {},
        "is_salesforce_integration_user": caller == shared.integration_user(),
        "urls": urls,
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "updated_at": shared.started.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }))
    .into_response();
    response.extensions_mut().insert(AuthenticatedUser(caller));
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
    if schema_unchanged_since(&shared, &headers) {
        return caller.answer(StatusCode::NOT_MODIFIED);
    }
    let org = shared.org();
    let objects: Vec<Value> = org.objects.iter().map(|object| object_summary(object, &caller.version)).collect();
    let answer = Json(json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects }));
    caller.answer(([(header::LAST_MODIFIED, http_date(shared.started))], answer))
}

/// `If-Modified-Since` on describe: the org's schema never changes after it started, so it is
/// unchanged since any date from then on (a date that is no HTTP date is ignored, as HTTP says).
fn schema_unchanged_since(shared: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| chrono::DateTime::parse_from_rfc2822(text).ok())
        .is_some_and(|since| since >= shared.started)
}

/// An HTTP date (`Last-Modified`): `Tue, 05 Nov 2024 08:12:31 GMT`.
fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
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
        Ok(_) if schema_unchanged_since(&shared, &headers) => caller.answer(StatusCode::NOT_MODIFIED),
        Ok(object) => caller.answer((
            [(header::LAST_MODIFIED, http_date(shared.started))],
            Json(schema::describe(object, &caller.version)),
        )),
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
    let created =
        body_object(&body).and_then(|values| shared.org().create(&object, &values, &caller.user, &caller.version));
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

/// `POST /sobjects/{Object}/Id` (API 37.0 and later): creates the record, as a POST to the object does,
/// and says so as an upsert would. `POST /sobjects/{Object}/{ExternalIdField}` upserts by the value the
/// body gives that field.
async fn create_by_field(
    State(shared): State<Shared_>,
    Path((version, object, field)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let outcome = body_object(&body).and_then(|mut values| {
        let mut org = shared.org();
        if field.eq_ignore_ascii_case("Id") {
            return org.create(&object, &values, &caller.user, &caller.version).map(Upserted::Created);
        }
        let key = org.object(&object)?.field(&field).filter(|key| key.external_id).map(|key| key.name);
        let value = key.and_then(|key| values.remove(key)).and_then(|value| value.as_str().map(str::to_string));
        let (Some(key), Some(value)) = (key, value) else {
            return Err(ApiError::new(
                405,
                "METHOD_NOT_ALLOWED",
                "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE",
            ));
        };
        org.upsert(&object, (key, &value), &values, false, &caller.user, &caller.version)
    });
    upserted(&shared, &caller, &object, outcome)
}

/// An upsert's answer: 201 created, 200 updated, 300 with the records' addresses when several match.
fn upserted(shared: &Shared, caller: &Caller, object: &str, outcome: Result<Upserted, ApiError>) -> Response {
    match outcome {
        Ok(Upserted::Created(id)) => {
            shared.notify(object, &id);
            caller
                .answer((StatusCode::CREATED, Json(json!({"id": id, "success": true, "errors": [], "created": true}))))
        }
        Ok(Upserted::Updated(id)) => {
            shared.notify(object, &id);
            caller.answer((StatusCode::OK, Json(json!({"id": id, "success": true, "errors": [], "created": false}))))
        }
        Ok(Upserted::Ambiguous(ids)) => ambiguous(caller, object, &ids),
        Err(failure) => caller.failed(&failure),
    }
}

/// 300 Multiple Choices: the addresses of the records an External ID value matches.
fn ambiguous(caller: &Caller, object: &str, ids: &[String]) -> Response {
    let urls: Vec<String> =
        ids.iter().map(|id| format!("/services/data/v{}/sobjects/{object}/{id}", caller.version)).collect();
    caller.answer((StatusCode::MULTIPLE_CHOICES, Json(json!(urls))))
}

/// `DELETE /sobjects/{Object}/{ExternalIdField}/{value}`: deletes the one record holding the value.
async fn delete_by_external_id(
    State(shared): State<Shared_>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = admitted!(&shared, &headers, &version);
    let mut org = shared.org();
    let found = org.by_external_id(&object, &field, &value);
    match found.as_deref() {
        Ok([id]) => match org.delete(&object, id, &caller.user) {
            Ok(()) => caller.answer(StatusCode::NO_CONTENT),
            Err(failure) => caller.failed(&failure),
        },
        Ok([]) => caller.failed(&ApiError::new(404, "NOT_FOUND", "The requested resource does not exist")),
        Ok(several) => ambiguous(&caller, &object, several),
        Err(failure) => caller.failed(failure),
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
        let known = |name: &String| meta.field(name).is_some_and(|field| field.exists_in(&caller.version));
        if let Some(unknown) = fields.iter().flatten().find(|name| !known(name)) {
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
        org.update(&object, &id, &values, &caller.user, &caller.version)
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
    let outcome = body_object(&body).and_then(|values| {
        shared.org().upsert(&object, (&field, &value), &values, update_only, &caller.user, &caller.version)
    });
    upserted(&shared, &caller, &object, outcome)
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
        org.update("Case", id, &values, meddler, super::API_VERSION)
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

/// A resource's methods; any other is answered 405 `METHOD_NOT_ALLOWED`, naming the allowed ones.
fn only(methods: MethodRouter<Shared_>, allowed: &'static str) -> MethodRouter<Shared_> {
    methods.fallback(move |State(shared): State<Shared_>, method: Method, uri: Uri, headers: HeaderMap| async move {
        let caller = admitted!(&shared, &headers, version_segment(&uri));
        let message = format!("HTTP Method '{method}' not allowed. Allowed are {allowed}");
        caller.failed(&ApiError::new(405, "METHOD_NOT_ALLOWED", message))
    })
}

/// The `vXX.X` segment of a `/services/data/vXX.X/…` address.
fn version_segment(uri: &Uri) -> &str {
    uri.path().strip_prefix("/services/data/").and_then(|rest| rest.split('/').next()).unwrap_or_default()
}

/// An address the org has no resource at: 404 `NOT_FOUND` in Salesforce's error array (a call under a
/// version is admitted first, as any other).
async fn no_such_resource(State(shared): State<Shared_>, uri: Uri, headers: HeaderMap) -> Response {
    let missing = ApiError::new(404, "NOT_FOUND", "The requested resource does not exist");
    if !uri.path().starts_with("/services/data/") {
        return error(&missing);
    }
    let caller = admitted!(&shared, &headers, version_segment(&uri));
    caller.failed(&missing)
}
