//! What a person configuring an integration looks up first: the projects (`GET /project/search`), the
//! issue types (`GET /issuetype`), the fields (`GET /field`), a project's issue security levels
//! (`GET /project/{key}/securitylevel`), and the values of priorities and statuses (`GET /priority`,
//! `GET /status`, `GET /statuscategory`, each also one by one, so that the `self` links of an issue's
//! fields resolve).

use super::api::{json_response, page_params, param, params_named, ApiResult, Caller, Params, Shared};
use super::error::ApiError;
use super::render::{self, project_json_expanded};
use super::security::level_json;
use super::site::{ProjectRecord, Site};
use super::workflow::{self, ISSUE_TYPES, PRIORITIES, STATUSES, STATUS_CATEGORIES};
use super::Sim;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::sync::Arc;

/// The most projects one page holds, as Jira documents.
const MAX_PAGE: usize = 100;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/rest/api/3/project/search", get(project_search))
        .route("/rest/api/3/project/{project}/securitylevel", get(security_levels))
        .route("/rest/api/3/issuetype", get(issue_types))
        .route("/rest/api/3/field", get(fields))
        .route("/rest/api/3/priority", get(priorities))
        .route("/rest/api/3/priority/{id}", get(priority))
        .route("/rest/api/3/status", get(statuses))
        .route("/rest/api/3/status/{status}", get(status))
        .route("/rest/api/3/statuscategory", get(status_categories))
        .route("/rest/api/3/statuscategory/{category}", get(status_category))
}

/// Paged by `startAt`/`maxResults`, filtered by `keys`, `id` and `query` (key or name, any case), ordered
/// by `orderBy` (`key`, `name` or `id`, `-` for descending).
async fn project_search(State(sim): Shared, Extension(caller): Extension<Caller>, Query(params): Params) -> ApiResult {
    let site = sim.site();
    let (start_at, max_results) = page_params(&params, 50, MAX_PAGE)?;
    let order = ProjectOrder::parse(param(&params, "orderBy").unwrap_or("key"))?;
    let filter = ProjectFilter::from_params(&params);
    let mut found: Vec<&ProjectRecord> = if site.require(&caller.account_id, "BROWSE_PROJECTS").is_ok() {
        site.projects.iter().filter(|project| filter.keeps(project)).collect()
    } else {
        Vec::new()
    };
    found.sort_by(|left, right| order.compare(left, right));
    let expanded: Vec<&str> =
        params_named(&params, "expand").flat_map(|value| value.split(',')).map(str::trim).collect();
    let values: Vec<Value> = found
        .iter()
        .skip(start_at)
        .take(max_results)
        .map(|project| project_json_expanded(&site, project, |part| expanded.contains(&part)))
        .collect();
    let is_last = start_at + values.len() >= found.len();
    let mut page = json!({
        "self": page_url(&site, start_at, max_results),
        "maxResults": max_results,
        "startAt": start_at,
        "total": found.len(),
        "isLast": is_last,
        "values": values,
    });
    if !is_last {
        page["nextPage"] = json!(page_url(&site, start_at + max_results, max_results));
    }
    Ok(json_response(StatusCode::OK, page))
}

fn page_url(site: &Site, start_at: usize, max_results: usize) -> String {
    format!("{}/rest/api/3/project/search?startAt={start_at}&maxResults={max_results}", site.base_url)
}

/// The `keys`, `id` and `query` filters of a project search (each list may repeat or be comma-separated).
struct ProjectFilter {
    keys: Vec<String>,
    ids: Vec<String>,
    query: Option<String>,
}

impl ProjectFilter {
    fn from_params(params: &[(String, String)]) -> Self {
        let listed = |name| -> Vec<String> {
            params_named(params, name)
                .flat_map(|value| value.split(','))
                .map(|item| item.trim().to_string())
                .filter(|item| !item.is_empty())
                .collect()
        };
        let query = param(params, "query").map(str::to_lowercase).filter(|query| !query.is_empty());
        ProjectFilter { keys: listed("keys"), ids: listed("id"), query }
    }

    fn keeps(&self, record: &ProjectRecord) -> bool {
        let project = &record.project;
        let key_listed = self.keys.is_empty() || self.keys.iter().any(|key| key.eq_ignore_ascii_case(&project.key));
        let id_listed = self.ids.is_empty() || self.ids.contains(&project.id);
        let matches_query = self.query.as_ref().is_none_or(|query| {
            project.key.to_lowercase().contains(query) || project.name.to_lowercase().contains(query)
        });
        key_listed && id_listed && matches_query
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProjectField {
    Key,
    Name,
    Id,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProjectOrder {
    field: ProjectField,
    descending: bool,
}

impl ProjectOrder {
    fn parse(text: &str) -> Result<Self, ApiError> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let field = match name {
            "key" => ProjectField::Key,
            "name" => ProjectField::Name,
            "id" => ProjectField::Id,
            _ => return Err(ApiError::bad_request(format!("Ordering by '{text}' is not supported."))),
        };
        Ok(ProjectOrder { field, descending })
    }

    fn compare(self, left: &ProjectRecord, right: &ProjectRecord) -> Ordering {
        let (left, right) = (&left.project, &right.project);
        let ordering = match self.field {
            ProjectField::Key => left.key.cmp(&right.key),
            ProjectField::Name => left.name.to_lowercase().cmp(&right.name.to_lowercase()),
            ProjectField::Id => numeric(&left.id).cmp(&numeric(&right.id)),
        };
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}

/// Project ids are numbers in strings; a malformed one sorts last.
fn numeric(id: &str) -> u64 {
    id.parse().unwrap_or(u64::MAX)
}

/// Every issue type of the site; they are available in every project.
async fn issue_types(State(sim): Shared) -> ApiResult {
    let site = sim.site();
    let types: Vec<Value> = ISSUE_TYPES.iter().map(|kind| render::issue_type_json(&site.base_url, *kind)).collect();
    Ok(json_response(StatusCode::OK, Value::Array(types)))
}

/// The fields people can map: the system ones, then the site's custom fields.
async fn fields() -> ApiResult {
    Ok(json_response(StatusCode::OK, render::fields_json()))
}

async fn priorities(State(sim): Shared) -> ApiResult {
    let base = &sim.site().base_url;
    let shown: Vec<Value> = PRIORITIES.iter().map(|priority| render::priority_details_json(base, *priority)).collect();
    Ok(json_response(StatusCode::OK, Value::Array(shown)))
}

async fn priority(State(sim): Shared, Path(id): Path<String>) -> ApiResult {
    let priority = workflow::find_priority(Some(&id), None)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("The priority with ID {id} does not exist.")))?;
    Ok(json_response(StatusCode::OK, render::priority_details_json(&sim.site().base_url, priority)))
}

async fn statuses(State(sim): Shared) -> ApiResult {
    let base = &sim.site().base_url;
    let shown: Vec<Value> = STATUSES.iter().map(|status| render::status_json(base, *status)).collect();
    Ok(json_response(StatusCode::OK, Value::Array(shown)))
}

/// By id or by name.
async fn status(State(sim): Shared, Path(wanted): Path<String>) -> ApiResult {
    let status = workflow::find_status(&wanted)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("The status with ID {wanted} does not exist.")))?;
    Ok(json_response(StatusCode::OK, render::status_json(&sim.site().base_url, status)))
}

async fn status_categories(State(sim): Shared) -> ApiResult {
    let base = &sim.site().base_url;
    let shown: Vec<Value> =
        STATUS_CATEGORIES.iter().map(|category| render::status_category_json(base, *category)).collect();
    Ok(json_response(StatusCode::OK, Value::Array(shown)))
}

/// By id or by key.
async fn status_category(State(sim): Shared, Path(wanted): Path<String>) -> ApiResult {
    let category = workflow::find_status_category(&wanted).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, format!("The status category with ID {wanted} does not exist."))
    })?;
    Ok(json_response(StatusCode::OK, render::status_category_json(&sim.site().base_url, category)))
}

async fn security_levels(
    State(sim): Shared,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> ApiResult {
    let site = sim.site();
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("No project could be found with key '{key}'."));
    site.require(&caller.account_id, "BROWSE_PROJECTS").map_err(|_| not_found())?;
    let project = site.project(&key).ok_or_else(not_found)?;
    let levels: Vec<Value> =
        project.project.security_levels.iter().map(|level| level_json(&site.base_url, level)).collect();
    Ok(json_response(StatusCode::OK, json!({ "levels": levels })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::SimProject;

    fn record(id: &str, key: &str, name: &str) -> ProjectRecord {
        ProjectRecord::new(SimProject::new(id, key, name))
    }

    #[test]
    fn projects_are_ordered_and_filtered_as_asked() {
        let (ops, web) = (record("10000", "OPS", "Operations"), record("10001", "WEB", "Website"));
        assert_eq!(ProjectOrder::parse("key").unwrap().compare(&ops, &web), Ordering::Less);
        assert_eq!(ProjectOrder::parse("-id").unwrap().compare(&ops, &web), Ordering::Greater);
        assert_eq!(ProjectOrder::parse("+name").unwrap().compare(&web, &ops), Ordering::Greater);
        assert!(ProjectOrder::parse("issueCount").is_err());
        let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
        };
        let by_query = ProjectFilter::from_params(&params(&[("query", "site")]));
        assert!(by_query.keeps(&web) && !by_query.keeps(&ops));
        let by_keys = ProjectFilter::from_params(&params(&[("keys", "ops"), ("id", "10000,10001")]));
        assert!(by_keys.keeps(&ops) && !by_keys.keeps(&web));
    }
}
