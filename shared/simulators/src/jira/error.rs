//! Jira's error answers: an `ErrorCollection` (`errorMessages` and per-field `errors`) with a status.

use crate::faults::FaultAnswer;
use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub messages: Vec<String>,
    pub errors: BTreeMap<String, String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, messages: vec![message.into()], errors: BTreeMap::new() }
    }

    /// A 400 about one field, as Jira reports validation failures.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            messages: Vec::new(),
            errors: BTreeMap::from([(field.into(), message.into())]),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn issue_not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Issue does not exist or you do not have permission to see it.")
    }

    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "Client must be authenticated to access this resource.")
    }

    pub fn forbidden(permission: &str) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, format!("You do not have the permission {permission} in this project."))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "errorMessages": self.messages, "errors": self.errors });
        (self.status, Json(body)).into_response()
    }
}

/// A JSON request body; one that is not JSON, or not sent as `application/json`, is refused with an
/// `ErrorCollection` as Jira refuses it, not with axum's plain-text answer.
#[derive(Debug, FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct JiraJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // Jira answers 400 to any body it cannot read, where axum tells syntax (400) from shape (422).
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, rejection.body_text())
    }
}

/// Jira's answer to a call made with a revoked or expired API token: 401, and Seraph's reason header.
pub fn authentication_failed_response() -> Response {
    let mut response = ApiError::unauthorized().into_response();
    response.headers_mut().insert("X-Seraph-LoginReason", HeaderValue::from_static("AUTHENTICATED_FAILED"));
    response
}

/// An injected failure in Jira's words; a 429 says why, as Jira's `RateLimit-Reason` does.
pub fn fault_response(_path: &str, answer: FaultAnswer) -> Response {
    let message = match answer.status {
        StatusCode::TOO_MANY_REQUESTS => "Rate limit exceeded.",
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable.",
        StatusCode::GATEWAY_TIMEOUT => "The request timed out before Jira answered.",
        status => status.canonical_reason().unwrap_or("Unexpected error."),
    };
    let mut response = ApiError::new(answer.status, message).into_response();
    if let Some(seconds) = answer.retry_after_seconds {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if answer.status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert("RateLimit-Reason", HeaderValue::from_static("jira-burst-based"));
    }
    response
}
