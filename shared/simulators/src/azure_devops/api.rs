//! The REST API: authentication, `api-version`, routing, and one handler per operation.
//!
//! Azure DevOps matches its routes without regard to case (`workItems` and `workitems` are the same), so
//! the API is one handler that splits the path itself rather than an axum route table. Once a call is
//! answered, the edits people make meanwhile (see `people`) are made.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

use super::error::ApiError;
use super::fields;
use super::hooks::{event_for, HookEvent};
use super::identity::SimIdentity;
use super::patch;
use super::people;
use super::render::Expand;
use super::state::{self, format_instant, Change, Organization, WorkItem, WriteOptions};
use super::wiql;
use super::Shared;
use crate::recording::AuthenticatedUser;

const API_VERSION: &str = "7.1";
const COMMENTS_API_VERSION: &str = "7.1-preview.4";
const JSON_PATCH: &str = "application/json-patch+json";
/// The service refuses to read more work items than this in one call.
const MAX_IDS: usize = 200;
/// The largest file one upload takes ("On accounts with higher attachment upload limits (>130MB), you
/// will need to use chunked upload").
pub(crate) const MAX_UPLOAD_BYTES: usize = 130 * 1024 * 1024;
/// The service refuses WIQL results larger than this (VS402337).
const MAX_QUERY_RESULTS: usize = 20_000;

/// One API request, decoded.
struct Call {
    method: Method,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    /// The `api-version` an `Accept` header names (`application/json; api-version=7.1`), which the
    /// service takes in place of the query parameter.
    accepted_version: Option<String>,
    body: Bytes,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            ApiError::bad_request("VssRequestContentException", format!("The request body is not valid JSON: {error}"))
        })
    }

    fn require_content_type(&self, expected: &str) -> Result<(), ApiError> {
        let sent = self.content_type.as_deref().unwrap_or_default();
        let essence = sent.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "VssRequestContentTypeNotSupportedException",
                format!("The request indicated a Content-Type of \"{sent}\" for method type \"{}\" which is not supported. Valid content types for this method are: {expected}.", self.method),
            ))
        }
    }

    /// The service serves every released version up to its own (7.1, and 7.2 in preview); a preview
    /// resource needs the `-preview` flag, with or without its resource version (`7.1-preview`,
    /// `7.1-preview.4`).
    fn require_api_version(&self, expected: &str) -> Result<(), ApiError> {
        let version = self.param("api-version").or(self.accepted_version.as_deref());
        match version {
            Some(version) if version == expected => Ok(()),
            Some(version)
                if is_served(version)
                    && (version.contains("-preview") || !expected.contains("preview")) =>
            {
                Ok(())
            }
            None => Err(ApiError::bad_request(
                "VssVersionNotSpecifiedException",
                format!("VS800006: No api-version was supplied for the \"{}\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. \"?api-version=1.0\").", self.method),
            )),
            Some(version) if expected.contains("preview") && !version.contains("preview") => Err(ApiError::bad_request(
                "VssInvalidPreviewVersionException",
                format!("VS800069: The requested version \"{version}\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: \"{expected}\""),
            )),
            Some(version) => Err(ApiError::bad_request(
                "VssVersionOutOfRangeException",
                format!("VS800003: The requested REST API version of {version} is out of range for this server. This simulator serves {expected}."),
            )),
        }
    }
}

/// Whether `version` (`7.1`, `6.0`, `7.1-preview`, `7.1-preview.3`, `7.2-preview.1`) is one the service
/// serves: 1.0 to 7.1, and 7.2 only in preview.
fn is_served(version: &str) -> bool {
    let (number, preview) = match version.split_once("-preview") {
        Some((number, resource)) => {
            let resource_ok = resource.is_empty()
                || resource.strip_prefix('.').is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 1));
            if !resource_ok {
                return false;
            }
            (number, true)
        }
        None => (version, false),
    };
    let Some((major, minor)) = number.split_once('.') else {
        return false;
    };
    match (major.parse::<u32>(), minor.parse::<u32>()) {
        (Ok(major), Ok(minor)) => {
            (1..=7).contains(&major) && ((major, minor) <= (7, 1) || (preview && (major, minor) == (7, 2)))
        }
        _ => false,
    }
}

/// The `api-version` parameter of an `Accept` header, if it names one.
fn accepted_version(headers: &HeaderMap) -> Option<String> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    accept
        .split([';', ','])
        .filter_map(|part| part.trim().split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("api-version"))
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
}

/// The fallback handler that serves every API path.
pub async fn serve(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| percent_decode_str(segment).decode_utf8_lossy().into_owned())
        .collect();
    let query = Query::<Vec<(String, String)>>::try_from_uri(&uri).map(|query| query.0).unwrap_or_default();
    let call = Call {
        method,
        segments,
        query,
        content_type: headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_string),
        accepted_version: accepted_version(&headers),
        body,
    };
    let actor = match authenticate(&shared, &headers) {
        Ok(actor) => actor,
        Err(refusal) => return refusal.into_response(),
    };
    let mut response = match route(&shared, &call, &actor) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    people::after_answer(&shared, &call.method, uri.path(), &actor, response.status());
    response.extensions_mut().insert(AuthenticatedUser(actor.id.to_string()));
    response
}

/// `GET /{organization}/_apis/connectionData`: who the credentials belong to. Not part of the published
/// contracts, so it is served outside the recorder.
pub async fn connection_data(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let actor = match authenticate(&shared, &headers) {
        Ok(actor) => actor,
        Err(refusal) => return refusal.into_response(),
    };
    let user = json!({
        "id": actor.id.to_string(),
        "descriptor": format!("Microsoft.IdentityModel.Claims.ClaimsIdentity;{}\\{}", actor.id, actor.email),
        "subjectDescriptor": actor.descriptor(),
        "providerDisplayName": actor.display_name,
        "isActive": true,
        "properties": {"Account": {"$type": "System.String", "$value": actor.email}},
        "resourceVersion": 2,
        "metaTypeId": 0,
    });
    Json(json!({
        "authenticatedUser": user,
        "authorizedUser": user,
        "instanceId": Uuid::nil().to_string(),
        "deploymentType": "hosted",
        "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7"},
    }))
    .into_response()
}

/// Why a call was not authenticated.
enum Refusal {
    UnknownCredentials,
    /// The service account's PAT, while it is expired.
    ExpiredPat,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::UnknownCredentials => {
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic realm=\"https://dev.azure.com/\"")])
                    .into_response()
            }
            Refusal::ExpiredPat => super::error::expired_pat_response(),
        }
    }
}

/// Basic authentication with any user name and a personal access token as the password.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<SimIdentity, Refusal> {
    let actor = identify(shared, headers).ok_or(Refusal::UnknownCredentials)?;
    if shared.credentials.refuses(actor.id == shared.service_account) {
        return Err(Refusal::ExpiredPat);
    }
    Ok(actor)
}

fn identify(shared: &Shared, headers: &HeaderMap) -> Option<SimIdentity> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (_, pat) = decoded.split_once(':')?;
    shared.organization().identity_by_pat(pat).cloned()
}

fn is(segment: &str, literal: &str) -> bool {
    segment.eq_ignore_ascii_case(literal)
}

fn route(shared: &Shared, call: &Call, actor: &SimIdentity) -> Result<Response, ApiError> {
    let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "ApiNotFound", "The requested resource does not exist.");
    let Some((organization, rest)) = segments.split_first() else {
        return Err(not_found());
    };
    if !organization.eq_ignore_ascii_case(&shared.organization().name) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "AccountNotFound",
            format!("TF400813: Organization {organization} was not found."),
        ));
    }
    let method = &call.method;
    match rest {
        ["_apis", identities] if is(identities, "identities") && method == Method::GET => identities_read(shared, call),
        ["_apis", wit, rest @ ..] if is(wit, "wit") => {
            organization_wit_route(shared, call, actor, rest).unwrap_or_else(|| Err(not_found()))
        }
        [project, "_apis", wit, rest @ ..] if is(wit, "wit") => {
            wit_route(shared, call, actor, project, rest).unwrap_or_else(|| Err(not_found()))
        }
        // WIQL may be addressed to a team; the simulator does not model teams.
        [project, _team, "_apis", wit, wiql] if is(wit, "wit") && is(wiql, "wiql") && method == Method::POST => {
            query_by_wiql(shared, call, actor, Some(project))
        }
        _ => Err(not_found()),
    }
}

/// The work item routes without a project, where the service takes them so: the URLs it answers with
/// (a work item's `url` and `_links`, a comment's, an upload's, WIQL's) name none. A work item is found
/// by its id in whichever project holds it; a read of several items, a query and an upload span the
/// organization.
fn organization_wit_route(
    shared: &Shared,
    call: &Call,
    actor: &SimIdentity,
    rest: &[&str],
) -> Option<Result<Response, ApiError>> {
    let method = &call.method;
    let result = match rest {
        [workitems] if is(workitems, "workitems") && method == Method::GET => list_work_items(shared, call, None),
        [batch] if is(batch, "workitemsbatch") && method == Method::POST => work_items_batch(shared, call, None),
        [wiql] if is(wiql, "wiql") && method == Method::POST => query_by_wiql(shared, call, actor, None),
        [attachments] if is(attachments, "attachments") && method == Method::POST => {
            upload_attachment(shared, call, None)
        }
        [attachments, id] if is(attachments, "attachments") && method == Method::GET => {
            download_attachment(shared, call, id)
        }
        [fields] if is(fields, "fields") && method == Method::GET => list_fields(shared, call, None),
        [fields, name] if is(fields, "fields") && method == Method::GET => get_field(shared, call, None, name),
        [workitems, id, ..] if is(workitems, "workitems") && !id.starts_with('$') => {
            let project =
                parse_id(id).and_then(|id| Ok(shared.organization().item_in_any_project(id)?.project.clone()));
            return match project {
                Ok(project) => wit_route(shared, call, actor, &project, rest),
                Err(error) => Some(Err(error)),
            };
        }
        _ => return None,
    };
    Some(result)
}

fn wit_route(
    shared: &Shared,
    call: &Call,
    actor: &SimIdentity,
    project: &str,
    rest: &[&str],
) -> Option<Result<Response, ApiError>> {
    let method = &call.method;
    let result = match rest {
        [workitems] if is(workitems, "workitems") && method == Method::GET => {
            list_work_items(shared, call, Some(project))
        }
        [batch] if is(batch, "workitemsbatch") && method == Method::POST => {
            work_items_batch(shared, call, Some(project))
        }
        [wiql] if is(wiql, "wiql") && method == Method::POST => query_by_wiql(shared, call, actor, Some(project)),
        [attachments] if is(attachments, "attachments") && method == Method::POST => {
            upload_attachment(shared, call, Some(project))
        }
        [attachments, id] if is(attachments, "attachments") && method == Method::GET => {
            // The project is checked under a lock released before the download takes it again.
            let known = shared.organization().project(project).map(|_| ());
            known.and_then(|()| download_attachment(shared, call, id))
        }
        [types] if is(types, "workitemtypes") && method == Method::GET => work_item_types(shared, call, project),
        [types, name] if is(types, "workitemtypes") && method == Method::GET => {
            work_item_type(shared, call, project, name)
        }
        [types, name, states] if is(types, "workitemtypes") && is(states, "states") && method == Method::GET => {
            work_item_type_states(shared, call, project, name)
        }
        [fields] if is(fields, "fields") && method == Method::GET => list_fields(shared, call, Some(project)),
        [fields, name] if is(fields, "fields") && method == Method::GET => get_field(shared, call, Some(project), name),
        [tags] if is(tags, "tags") && method == Method::GET => list_tags(shared, call, project),
        [tags, name] if is(tags, "tags") && method == Method::GET => get_tag(shared, call, project, name),
        [workitems, target] if is(workitems, "workitems") => match target.strip_prefix('$') {
            Some(work_item_type) if method == Method::POST => {
                create_work_item(shared, call, actor, project, work_item_type)
            }
            None if method == Method::GET => get_work_item(shared, call, project, target),
            None if method == Method::PATCH => update_work_item(shared, call, actor, project, target),
            None if method == Method::DELETE => delete_work_item(shared, call, actor, project, target),
            _ => return None,
        },
        [workitems, id, kind] if is(workitems, "workitems") && History::of(kind).is_some() && method == Method::GET => {
            item_history(shared, call, project, id, History::of(kind)?, None)
        }
        [workitems, id, kind, number]
            if is(workitems, "workitems") && History::of(kind).is_some() && method == Method::GET =>
        {
            item_history(shared, call, project, id, History::of(kind)?, Some(number))
        }
        [workitems, id, comments] if is(workitems, "workitems") && is(comments, "comments") => match *method {
            Method::GET => list_comments(shared, call, project, id),
            Method::POST => add_comment(shared, call, actor, project, id),
            _ => return None,
        },
        [workitems, work_item, comments, comment] if is(workitems, "workitems") && is(comments, "comments") => {
            let path = CommentPath { project, work_item, comment };
            match *method {
                Method::GET => get_comment(shared, call, &path),
                Method::PATCH => edit_comment(shared, call, actor, &path),
                Method::DELETE => delete_comment(shared, call, actor, &path),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(result)
}

/// A work item's history as the service lists it: each revision whole, or what each changed.
#[derive(Clone, Copy)]
enum History {
    Revisions,
    Updates,
}

impl History {
    fn of(segment: &str) -> Option<History> {
        match segment.to_ascii_lowercase().as_str() {
            "revisions" => Some(History::Revisions),
            "updates" => Some(History::Updates),
            _ => None,
        }
    }
}

/// `GET workItems/{id}/revisions[/{n}]` and `GET workItems/{id}/updates[/{n}]` (`$top`, `$skip`).
fn item_history(
    shared: &Shared,
    call: &Call,
    project: &str,
    id: &str,
    history: History,
    number: Option<&str>,
) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let item = organization.item(&project, parse_id(id)?)?;
    let renderer = shared.renderer(&organization);
    let render = |rev: usize| match history {
        History::Revisions => renderer.revision(item, rev),
        History::Updates => renderer.update(item, rev),
    };
    let revisions = item.revisions.len();
    let Some(number) = number else {
        let skip = count_param(call, "$skip")?.unwrap_or(0);
        let top = count_param(call, "$top")?.unwrap_or(usize::MAX);
        return Ok(collection((1..=revisions).skip(skip).take(top).map(render).collect()));
    };
    match number.parse::<usize>() {
        Ok(rev) if (1..=revisions).contains(&rev) => Ok(Json(render(rev)).into_response()),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "WorkItemRevisionNotFoundException",
            format!("TF401238: The revision {number} of work item {} does not exist.", item.id),
        )),
    }
}

/// A whole-number query parameter such as `$top`.
fn count_param(call: &Call, name: &str) -> Result<Option<usize>, ApiError> {
    call.param(name)
        .map(|text| {
            text.parse::<usize>()
                .map_err(|_| ApiError::bad_request("ArgumentException", format!("`{text}` is not a valid {name}.")))
        })
        .transpose()
}

/// The instant an `asOf` parameter names: reads show each work item as it stood then.
fn as_of(text: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    text.map(|text| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&chrono::Utc))
            .map_err(|_| ApiError::bad_request("ArgumentException", format!("`{text}` is not a valid asOf date.")))
    })
    .transpose()
}

/// `item` as `asOf` asks for it: as it stood then (not found before it was created), or as it is.
fn as_it_stood(
    item: &WorkItem,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<std::borrow::Cow<'_, WorkItem>, ApiError> {
    match at {
        None => Ok(std::borrow::Cow::Borrowed(item)),
        Some(at) => item
            .as_of(at)
            .map(std::borrow::Cow::Owned)
            .ok_or_else(|| ApiError::work_item_not_found(&item.id.to_string())),
    }
}

/// `POST {project}/_apis/wit/attachments?fileName=…`: the body is the file (`application/octet-stream`);
/// the answer is its id and the URL an `AttachedFile` relation points at.
fn upload_attachment(shared: &Shared, call: &Call, project: Option<&str>) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let sent_as = call.content_type.as_deref().unwrap_or_default();
    if !sent_as.starts_with("application/octet-stream") {
        return Err(ApiError::bad_request(
            "InvalidContentTypeException",
            format!("The attachment must be sent as application/octet-stream, not `{sent_as}`."),
        ));
    }
    if call.body.len() > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "VssRequestContentTooLargeException",
            format!(
                "The file is {} bytes; one upload takes at most 130 MB (larger files are uploaded in chunks).",
                call.body.len()
            ),
        ));
    }
    let file_name = call.param("fileName").filter(|name| !name.trim().is_empty()).unwrap_or("attachment").to_string();
    let id = Uuid::new_v4();
    let mut organization = shared.organization();
    if let Some(project) = project {
        organization.project(project)?;
    }
    let stored = state::StoredAttachment { file_name: file_name.clone(), content: Arc::new(call.body.to_vec()) };
    organization.attachments.insert(id, stored);
    let encoded: String = url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
    let url = format!("{}/_apis/wit/attachments/{id}?fileName={encoded}", shared.organization_url);
    Ok((StatusCode::OK, Json(json!({ "id": id, "url": url }))).into_response())
}

/// `GET …/_apis/wit/attachments/{id}`: the file as uploaded. The address an upload answers (and the one
/// the editor puts in an `<img>`) carries no `api-version`, and a browser showing the image sends none.
fn download_attachment(shared: &Shared, call: &Call, id: &str) -> Result<Response, ApiError> {
    if call.param("api-version").is_some() {
        call.require_api_version(API_VERSION)?;
    }
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "AttachmentNotFoundException",
            format!("TF401005: The attachment {id} was not found."),
        )
    };
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let organization = shared.organization();
    let attachment = organization.attachments.get(&id).ok_or_else(not_found)?;
    let name = call.param("fileName").unwrap_or(&attachment.file_name).replace('"', "");
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
    ];
    Ok((StatusCode::OK, headers, attachment.content.as_ref().clone()).into_response())
}

fn parse_id(text: &str) -> Result<u32, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::bad_request("ArgumentException", format!("`{text}` is not a work item id.")))
}

fn parse_expand(call: &Call) -> Result<Expand, ApiError> {
    let expand = match call.param("$expand") {
        None => Expand::None,
        Some(text) => Expand::parse(text).ok_or_else(|| {
            ApiError::bad_request("ArgumentException", format!("`{text}` is not a valid $expand value."))
        })?,
    };
    if expand != Expand::None && call.param("fields").is_some() {
        return Err(ApiError::bad_request(
            "ConflictingParametersException",
            "The expand parameter can not be used with the fields parameter.",
        ));
    }
    Ok(expand)
}

fn field_list(text: Option<&str>) -> Option<Vec<String>> {
    text.map(|text| text.split(',').map(|name| name.trim().to_string()).filter(|name| !name.is_empty()).collect())
}

fn collection(values: Vec<Value>) -> Response {
    Json(json!({"count": values.len(), "value": values})).into_response()
}

fn get_work_item(shared: &Shared, call: &Call, project: &str, id: &str) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let expand = parse_expand(call)?;
    let only = field_list(call.param("fields"));
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let item = organization.item(&project, parse_id(id)?)?;
    let item = as_it_stood(item, as_of(call.param("asOf"))?)?;
    let renderer = shared.renderer(&organization);
    let mut body = renderer.work_item(&item, only.as_deref(), expand);
    body["_links"] = renderer.work_item_links(&item);
    Ok(Json(body).into_response())
}

/// Reads work items by id, for `GET workitems?ids=` and `POST workitemsbatch`.
/// What a read of several work items asks for besides their ids.
struct ManyRead<'a> {
    only: Option<&'a [String]>,
    expand: Expand,
    omit_missing: bool,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
}

fn read_many(shared: &Shared, project: Option<&str>, ids: &[u32], read: ManyRead<'_>) -> Result<Response, ApiError> {
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(
            "WorkItemTrackingArgumentException",
            format!("VS402335: The number of work items requested ({}) must be between 1 and {MAX_IDS}.", ids.len()),
        ));
    }
    let organization = shared.organization();
    let project = project.map(|project| organization.project(project).map(|found| found.name.clone())).transpose()?;
    let renderer = shared.renderer(&organization);
    let mut values = Vec::with_capacity(ids.len());
    for id in ids {
        let found = match &project {
            Some(project) => organization.item(project, *id),
            None => organization.item_in_any_project(*id),
        };
        match found.and_then(|item| as_it_stood(item, read.as_of)) {
            Ok(item) => values.push(renderer.work_item(&item, read.only, read.expand)),
            Err(_) if read.omit_missing => values.push(Value::Null),
            Err(error) => return Err(error),
        }
    }
    Ok(collection(values))
}

fn list_work_items(shared: &Shared, call: &Call, project: Option<&str>) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let expand = parse_expand(call)?;
    let ids = call
        .param("ids")
        .ok_or_else(|| ApiError::bad_request("ArgumentNullException", "The ids parameter is required."))?
        .split(',')
        .map(parse_id)
        .collect::<Result<Vec<_>, _>>()?;
    let omit_missing = call.param("errorPolicy").is_some_and(|policy| policy.eq_ignore_ascii_case("omit"));
    let only = field_list(call.param("fields"));
    let read = ManyRead { only: only.as_deref(), expand, omit_missing, as_of: as_of(call.param("asOf"))? };
    read_many(shared, project, &ids, read)
}

fn work_items_batch(shared: &Shared, call: &Call, project: Option<&str>) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    call.require_content_type("application/json")?;
    let body = call.json_body()?;
    let ids: Vec<u32> = body
        .get("ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_u64).filter_map(|id| u32::try_from(id).ok()).collect())
        .unwrap_or_default();
    let only: Option<Vec<String>> = body
        .get("fields")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_string).collect());
    let expand = match body.get("$expand").and_then(Value::as_str) {
        None => Expand::None,
        Some(text) => Expand::parse(text).ok_or_else(|| {
            ApiError::bad_request("ArgumentException", format!("`{text}` is not a valid $expand value."))
        })?,
    };
    let omit_missing =
        body.get("errorPolicy").and_then(Value::as_str).is_some_and(|policy| policy.eq_ignore_ascii_case("omit"));
    let as_of = as_of(body.get("asOf").and_then(Value::as_str))?;
    read_many(shared, project, &ids, ManyRead { only: only.as_deref(), expand, omit_missing, as_of })
}

fn patch_operations(call: &Call) -> Result<Vec<patch::PatchOperation>, ApiError> {
    call.require_api_version(API_VERSION)?;
    call.require_content_type(JSON_PATCH)?;
    patch::parse(&call.json_body()?)
}

fn is_true(call: &Call, name: &str) -> bool {
    call.param(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// `validateOnly` and `bypassRules`, as a create or update sends them.
fn write_options(call: &Call) -> WriteOptions {
    WriteOptions { validate_only: is_true(call, "validateOnly"), bypass_rules: is_true(call, "bypassRules") }
}

fn create_work_item(
    shared: &Shared,
    call: &Call,
    actor: &SimIdentity,
    project: &str,
    work_item_type: &str,
) -> Result<Response, ApiError> {
    let operations = patch_operations(call)?;
    let mut organization = shared.organization();
    let (item, change) = organization.create(project, work_item_type, &operations, actor, write_options(call))?;
    Ok(respond_with_item(shared, &organization, item, change))
}

fn update_work_item(
    shared: &Shared,
    call: &Call,
    actor: &SimIdentity,
    project: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let id = parse_id(id)?;
    let operations = patch_operations(call)?;
    let mut organization = shared.organization();
    let (item, change) = organization.update(project, id, &operations, actor, write_options(call))?;
    Ok(respond_with_item(shared, &organization, item, change))
}

/// `DELETE …/workitems/{id}`: to the recycle bin (`destroy=true`, a permanent delete, is answered the
/// same way, as the item is gone for every caller either way); answers a `WorkItemDelete`.
fn delete_work_item(
    shared: &Shared,
    call: &Call,
    actor: &SimIdentity,
    project: &str,
    id: &str,
) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let id = parse_id(id)?;
    let mut organization = shared.organization();
    let deleted = organization.delete(project, id, actor)?;
    let project_id = organization.project(project)?.id;
    shared.publish(&hook_event(shared, &organization, &Change::Deleted, &deleted));
    let title = deleted.fields.get(fields::TITLE).and_then(Value::as_str).unwrap_or_default();
    let answer = json!({
        "id": deleted.id,
        "code": 200,
        "type": deleted.work_item_type(),
        "name": title,
        "project": deleted.project,
        "deletedDate": format_instant(chrono::Utc::now()),
        "deletedBy": actor.display_with_email(),
        "url": format!("{}/{}/_apis/wit/recyclebin/{}", shared.organization_url, project_id, deleted.id),
    });
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// Answers with the work item (relations and links included, like the service after a write) and
/// announces the change to the service hooks.
fn respond_with_item(shared: &Shared, organization: &Organization, item: WorkItem, change: Option<Change>) -> Response {
    let renderer = shared.renderer(organization);
    let body = renderer.work_item(&item, None, Expand::All);
    if let Some(change) = change {
        shared.publish(&hook_event(shared, organization, &change, &item));
    }
    Json(body).into_response()
}

pub(super) fn hook_event(shared: &Shared, organization: &Organization, change: &Change, item: &WorkItem) -> HookEvent {
    let project_id = organization.project(&item.project).map(|project| project.id).unwrap_or_default();
    event_for(&shared.renderer(organization), change, item, project_id)
}

fn comment_text(call: &Call) -> Result<String, ApiError> {
    call.require_api_version(COMMENTS_API_VERSION)?;
    call.require_content_type("application/json")?;
    call.json_body()?
        .get("text")
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("ArgumentException", "The comment text must not be empty."))
}

fn add_comment(
    shared: &Shared,
    call: &Call,
    actor: &SimIdentity,
    project: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let id = parse_id(id)?;
    let text = comment_text(call)?;
    let mut organization = shared.organization();
    let (item, comment, change) = organization.add_comment(project, id, text, actor)?;
    shared.publish(&hook_event(shared, &organization, &change, &item));
    let stored = organization.comment(&item, comment, false)?;
    Ok(Json(shared.renderer(&organization).comment(&item, stored)).into_response())
}

/// `{project}/_apis/wit/workItems/{workItem}/comments/{comment}`.
struct CommentPath<'a> {
    project: &'a str,
    work_item: &'a str,
    comment: &'a str,
}

impl CommentPath<'_> {
    /// The work item's and the comment's ids.
    fn ids(&self) -> Result<(u32, u32), ApiError> {
        Ok((parse_id(self.work_item)?, parse_id(self.comment)?))
    }
}

fn edit_comment(shared: &Shared, call: &Call, actor: &SimIdentity, path: &CommentPath) -> Result<Response, ApiError> {
    let (id, comment) = path.ids()?;
    let text = comment_text(call)?;
    let mut organization = shared.organization();
    let (item, change) = organization.edit_comment(path.project, id, comment, text, actor)?;
    shared.publish(&hook_event(shared, &organization, &change, &item));
    let stored = organization.comment(&item, comment, false)?;
    Ok(Json(shared.renderer(&organization).comment(&item, stored)).into_response())
}

/// A deleted comment answers 404 unless `includeDeleted=true`.
fn get_comment(shared: &Shared, call: &Call, path: &CommentPath) -> Result<Response, ApiError> {
    call.require_api_version(COMMENTS_API_VERSION)?;
    let (id, comment) = path.ids()?;
    let organization = shared.organization();
    let project = organization.project(path.project)?.name.clone();
    let item = organization.item(&project, id)?;
    let stored = organization.comment(item, comment, is_true(call, "includeDeleted"))?;
    Ok(Json(shared.renderer(&organization).comment(item, stored)).into_response())
}

/// Answered 200, as the contract declares, with the deleted comment (`isDeleted: true`) as in the
/// vendor's example.
fn delete_comment(shared: &Shared, call: &Call, actor: &SimIdentity, path: &CommentPath) -> Result<Response, ApiError> {
    call.require_api_version(COMMENTS_API_VERSION)?;
    let (id, comment) = path.ids()?;
    let mut organization = shared.organization();
    let item = organization.delete_comment(path.project, id, comment, actor)?;
    let stored = organization.comment(&item, comment, true)?;
    Ok(Json(shared.renderer(&organization).comment(&item, stored)).into_response())
}

/// Comments, oldest first unless `order=desc`, in pages of `$top` (at most 200) with a continuation token;
/// deleted ones only with `includeDeleted=true`. With `ids` it is the contract's other operation, "Get
/// Comments Batch": just those comments.
fn list_comments(shared: &Shared, call: &Call, project: &str, id: &str) -> Result<Response, ApiError> {
    call.require_api_version(COMMENTS_API_VERSION)?;
    if let Some(ids) = call.param("ids") {
        return comments_by_ids(shared, call, project, id, ids);
    }
    let top = match call.param("$top") {
        None => MAX_IDS,
        Some(text) => text.parse::<usize>().ok().filter(|top| (1..=MAX_IDS).contains(top)).ok_or_else(|| {
            ApiError::bad_request("ArgumentOutOfRangeException", format!("$top must be between 1 and {MAX_IDS}."))
        })?,
    };
    let start = match call.param("continuationToken") {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request("ArgumentException", "The continuation token is not valid."))?,
    };
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let item = organization.item(&project, parse_id(id)?)?;
    let renderer = shared.renderer(&organization);
    let include_deleted = is_true(call, "includeDeleted");
    let mut comments: Vec<_> = item.comments.iter().filter(|stored| include_deleted || !stored.is_deleted).collect();
    if call.param("order").is_some_and(|order| order.eq_ignore_ascii_case("desc")) {
        comments.reverse();
    }
    let page: Vec<Value> = comments.iter().skip(start).take(top).map(|stored| renderer.comment(item, stored)).collect();
    let url = renderer.comments_url(item);
    let mut body = json!({"totalCount": comments.len(), "count": page.len(), "comments": page, "url": url});
    if start + top < comments.len() {
        let token = (start + top).to_string();
        body["nextPage"] =
            Value::from(format!("{url}?continuationToken={token}&$top={top}&api-version={COMMENTS_API_VERSION}"));
        body["continuationToken"] = Value::from(token);
    }
    Ok(Json(body).into_response())
}

/// `GET …/comments?ids=2,3`: the comments asked for, in the order asked; an id the work item has no
/// (live) comment under is left out, as the vendor's batch reads leave out what they do not find.
fn comments_by_ids(shared: &Shared, call: &Call, project: &str, id: &str, ids: &str) -> Result<Response, ApiError> {
    let wanted =
        ids.split(',')
            .map(|comment| {
                comment.trim().parse::<u32>().map_err(|_| {
                    ApiError::bad_request("ArgumentException", format!("`{comment}` is not a comment id."))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let item = organization.item(&project, parse_id(id)?)?;
    let renderer = shared.renderer(&organization);
    let include_deleted = is_true(call, "includeDeleted");
    let found: Vec<Value> = wanted
        .iter()
        .filter_map(|comment| organization.comment(item, *comment, include_deleted).ok())
        .map(|stored| renderer.comment(item, stored))
        .collect();
    let body =
        json!({"totalCount": found.len(), "count": found.len(), "comments": found, "url": renderer.comments_url(item)});
    Ok(Json(body).into_response())
}

fn work_item_type(shared: &Shared, call: &Call, project: &str, name: &str) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let name = organization.work_item_type(name)?;
    Ok(Json(shared.renderer(&organization).work_item_type(&project, name)).into_response())
}

/// `GET {project}/_apis/wit/workitemtypes`: every work item type of the project's process.
fn work_item_types(shared: &Shared, call: &Call, project: &str) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let renderer = shared.renderer(&organization);
    Ok(collection(organization.work_item_types.iter().map(|name| renderer.work_item_type(&project, name)).collect()))
}

/// `GET {project}/_apis/wit/workitemtypes/{type}/states`.
fn work_item_type_states(shared: &Shared, call: &Call, project: &str, name: &str) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    organization.project(project)?;
    organization.work_item_type(name)?;
    Ok(collection(shared.renderer(&organization).states()))
}

/// `GET [{project}/]_apis/wit/fields`: the fields the organization's work items have.
fn list_fields(shared: &Shared, call: &Call, project: Option<&str>) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    if let Some(project) = project {
        organization.project(project)?;
    }
    let renderer = shared.renderer(&organization);
    Ok(collection(fields::DEFINITIONS.iter().map(|definition| renderer.field(definition)).collect()))
}

/// `GET [{project}/]_apis/wit/fields/{fieldNameOrRefName}`.
fn get_field(shared: &Shared, call: &Call, project: Option<&str>, name: &str) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    if let Some(project) = project {
        organization.project(project)?;
    }
    let definition = fields::by_either_name(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "WorkItemTrackingFieldDefinitionNotFoundException",
            format!("TF51535: Cannot find field {name}."),
        )
    })?;
    Ok(Json(shared.renderer(&organization).field(definition)).into_response())
}

/// `GET {project}/_apis/wit/tags`: the tags the project's work items have carried.
fn list_tags(shared: &Shared, call: &Call, project: &str) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let renderer = shared.renderer(&organization);
    let tags = organization.tags.iter().filter(|tag| tag.project == project).map(|tag| renderer.tag(tag)).collect();
    Ok(collection(tags))
}

/// `GET {project}/_apis/wit/tags/{tagIdOrName}`.
fn get_tag(shared: &Shared, call: &Call, project: &str, id_or_name: &str) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    let project = organization.project(project)?.name.clone();
    let tag = organization.tag(&project, id_or_name)?;
    Ok(Json(shared.renderer(&organization).tag(tag)).into_response())
}

fn query_by_wiql(
    shared: &Shared,
    call: &Call,
    actor: &SimIdentity,
    project: Option<&str>,
) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    call.require_content_type("application/json")?;
    let text = call
        .json_body()?
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("ArgumentNullException", "The query text is required."))?;
    let top = match call.param("$top") {
        None => None,
        Some(text) => Some(
            text.parse::<usize>()
                .map_err(|_| ApiError::bad_request("ArgumentException", format!("`{text}` is not a valid $top.")))?,
        ),
    };
    let query = wiql::parse(&text)?;
    let mut organization = shared.organization();
    let project = match project {
        Some(project) => organization.project(project)?.name.clone(),
        None if text.to_lowercase().contains("@project") => return Err(ApiError::bad_request(
            "WorkItemTrackingQueryException",
            "TF51011: The @project macro needs a project: post the query to {organization}/{project}/_apis/wit/wiql.",
        )),
        None => String::new(),
    };
    let me = actor.id.to_string();
    let identities = organization.identities.clone();
    let context = wiql::Context {
        project: &project,
        me: &me,
        time_precision: is_true(call, "timePrecision"),
        now: chrono::Utc::now(),
        identities: &identities,
    };
    wiql::check(&query, &context)?;
    // Under a search lag, the query sees each work item in its newest revision already visible.
    organization.settle_query_view();
    let organization = &*organization;
    let mut found: Vec<&WorkItem> =
        organization.query_view().filter(|item| wiql::matches(&query, item, &context)).collect();
    if top.is_none() && found.len() > MAX_QUERY_RESULTS {
        return Err(ApiError::bad_request(
            "WorkItemTrackingQueryResultSizeLimitExceededException",
            format!("VS402337: The number of work items returned exceeds the size limit of {MAX_QUERY_RESULTS}. Change the query to return fewer items."),
        ));
    }
    wiql::sort(&query, &mut found);
    found.truncate(top.unwrap_or(MAX_QUERY_RESULTS));
    let renderer = shared.renderer(organization);
    let field_reference = |name: &String| {
        let friendly = fields::definition(name).map_or(name.as_str(), |definition| definition.name);
        json!({"referenceName": name, "name": friendly, "url": format!("{}/_apis/wit/fields/{name}", renderer.organization_url)})
    };
    let body = json!({
        "queryType": "flat",
        "queryResultType": "workItem",
        "asOf": format_instant(organization.now()),
        "columns": query.columns.iter().map(field_reference).collect::<Vec<_>>(),
        "sortColumns": query.order.iter().map(|(name, descending)| json!({"field": field_reference(name), "descending": descending})).collect::<Vec<_>>(),
        "workItems": found.iter().map(|item| json!({"id": item.id, "url": renderer.work_item_url(item.id)})).collect::<Vec<_>>(),
    });
    Ok(Json(body).into_response())
}

/// `GET /{organization}/_apis/identities?searchFilter=General&filterValue=…` or `?identityIds=…`.
fn identities_read(shared: &Shared, call: &Call) -> Result<Response, ApiError> {
    call.require_api_version(API_VERSION)?;
    let organization = shared.organization();
    let found: Vec<Value> = match (call.param("searchFilter"), call.param("filterValue"), call.param("identityIds")) {
        (Some(filter), Some(value), None)
            if ["general", "mailaddress", "accountname"].contains(&filter.to_ascii_lowercase().as_str()) =>
        {
            organization
                .identities
                .iter()
                .filter(|identity| {
                    identity.email.eq_ignore_ascii_case(value) || identity.display_name.eq_ignore_ascii_case(value)
                })
                .map(SimIdentity::ims_identity)
                .collect()
        }
        (None, None, Some(ids)) => {
            ids.split(',').filter_map(|id| organization.identity(id.trim())).map(SimIdentity::ims_identity).collect()
        }
        _ => {
            return Err(ApiError::bad_request(
                "InvalidQueryException",
                "Give either searchFilter with filterValue, or identityIds.",
            ))
        }
    };
    Ok(collection(found))
}
