//! The errors the simulated service answers with, in Azure DevOps' own shape.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::faults::FaultAnswer;

/// An error response: HTTP status, Azure DevOps' `typeKey` and its message (with the `TF…`/`VS…` code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub type_key: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (throttling, unavailability).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, type_key: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, type_key, message: message.into(), retry_after: None }
    }

    pub fn bad_request(type_key: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, type_key, message)
    }

    /// TF401320: the work item rules refused a field's value.
    pub fn rule(field_name: &str, codes: &str) -> Self {
        ApiError::bad_request(
            "RuleValidationException",
            format!("TF401320: Rule Error for field {field_name}. Error code: {codes}."),
        )
    }

    pub fn unknown_field(reference_name: &str) -> Self {
        ApiError::bad_request("WorkItemFieldInvalidException", format!("TF51535: Cannot find field {reference_name}."))
    }

    pub fn work_item_not_found(id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "WorkItemUnauthorizedAccessException",
            format!("TF401232: Work item {id} does not exist, or you do not have permissions to read it."),
        )
    }

    pub fn project_not_found(project: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ProjectDoesNotExistWithNameException",
            format!("TF200016: The following project does not exist: {project}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "$id": "1",
            "innerException": null,
            "message": self.message,
            "typeName": format!("Microsoft.TeamFoundation.WorkItemTracking.Server.{}, Microsoft.TeamFoundation.WorkItemTracking.Server", self.type_key),
            "typeKey": self.type_key,
            "errorCode": 0,
            "eventId": 3200,
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Azure DevOps' answer to a call made with an expired personal access token: 401 with an
/// `AccessCheckException`, its message repeated (URL-encoded) in `X-TFS-ServiceError`.
pub fn expired_pat_response() -> Response {
    let body = json!({
        "$id": "1",
        "customProperties": {
            "Descriptor": null,
            "IdentityDisplayName": null,
            "Token": null,
            "RequestedPermissions": 0,
            "NamespaceId": "00000000-0000-0000-0000-000000000000",
        },
        "innerException": null,
        "message": "Access Denied: The Personal Access Token used has expired.",
        "typeName": "Microsoft.VisualStudio.Services.Security.AccessCheckException, Microsoft.VisualStudio.Services.WebApi",
        "typeKey": "AccessCheckException",
        "errorCode": 0,
        "eventId": 3000,
    });
    let headers = [
        (header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"https://dev.azure.com/\"")),
        (
            header::HeaderName::from_static("x-tfs-serviceerror"),
            HeaderValue::from_static("Access%20Denied%3A%20The%20Personal%20Access%20Token%20used%20has%20expired."),
        ),
    ];
    (StatusCode::UNAUTHORIZED, headers, Json(body)).into_response()
}

/// An injected failure in Azure DevOps' words. Statuses the service does not use for failures of its own
/// are answered as unavailability, as one-off faults always were.
pub fn fault_response(_path: &str, answer: FaultAnswer) -> Response {
    let (status, type_key, message) = match answer.status {
        StatusCode::TOO_MANY_REQUESTS => (
            StatusCode::TOO_MANY_REQUESTS,
            "RequestBlockedException",
            "TF400733: The request has been throttled. Retry after the delay given in Retry-After.",
        ),
        StatusCode::INTERNAL_SERVER_ERROR => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "VssServiceException",
            "An unexpected error occurred while processing the request. Retry later.",
        ),
        StatusCode::BAD_GATEWAY => (
            StatusCode::BAD_GATEWAY,
            "VssServiceResponseException",
            "Bad gateway: the service behind the front door did not answer. Retry later.",
        ),
        StatusCode::GATEWAY_TIMEOUT => (
            StatusCode::GATEWAY_TIMEOUT,
            "VssServiceResponseException",
            "The request timed out before the service answered. Retry later.",
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "TF400898: The service is temporarily unavailable. Retry later.",
        ),
    };
    let retry_after = answer.retry_after_seconds.map(|seconds| u32::try_from(seconds).unwrap_or(u32::MAX));
    ApiError { retry_after, ..ApiError::new(status, type_key, message) }.into_response()
}
