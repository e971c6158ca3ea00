//! Turning Jira's HTTP answers and transport failures into the engine's [`ConnectorError`], which says
//! whether a retry can help.

use crate::wire::ErrorCollection;
use crate::JIRA;
use reqwest::header::HeaderMap;
use tandem_engine::ports::ConnectorError;

type Source = Option<Box<dyn std::error::Error + Send + Sync>>;

pub fn invalid_response(message: impl Into<String>, source: Source) -> ConnectorError {
    ConnectorError::InvalidResponse { system: JIRA, message: message.into(), source }
}

/// The error for a non-2xx answer: 401/403 → Unauthorized, 404 → NotFound (of `path`), 429 → RateLimited,
/// anything else → Http with Jira's own messages.
pub fn from_status(status: u16, method: &str, path: &str, headers: &HeaderMap, body: &[u8]) -> ConnectorError {
    let system = JIRA;
    let retry_after = tandem_http::retry_after(headers);
    match status {
        401 | 403 => ConnectorError::Unauthorized { system, status },
        404 => ConnectorError::NotFound { system, item: path.to_string() },
        429 => ConnectorError::RateLimited { system, status, retry_after },
        _ => {
            let collection = serde_json::from_slice::<ErrorCollection>(body).ok();
            // One field's value refused, and nothing else: the write can go without it.
            if let Some(field) = collection.as_ref().filter(|_| status == 400).and_then(ErrorCollection::sole_field) {
                let message = collection.as_ref().map(ErrorCollection::summary).unwrap_or_default();
                return ConnectorError::FieldRefused { system, field: field.to_string(), message };
            }
            let message = collection
                .map(|errors| errors.summary())
                .filter(|summary| !summary.is_empty())
                .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned());
            ConnectorError::Http {
                system,
                status,
                method: method.to_string(),
                path: path.to_string(),
                message,
                retry_after,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::RETRY_AFTER;
    use std::time::Duration;

    #[test]
    fn statuses_map_to_the_engines_classes() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        let limited = from_status(429, "GET", "/x", &headers, b"");
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        let unavailable = from_status(503, "GET", "/x", &headers, b"");
        assert!(unavailable.is_retryable());
        assert_eq!(unavailable.retry_after(), Some(Duration::from_secs(7)));
        assert!(matches!(
            from_status(403, "GET", "/x", &HeaderMap::new(), b""),
            ConnectorError::Unauthorized { status: 403, .. }
        ));
        assert!(matches!(from_status(404, "GET", "/x", &HeaderMap::new(), b""), ConnectorError::NotFound { .. }));
    }

    #[test]
    fn a_bad_request_naming_one_field_only_is_that_fields_refusal() {
        let body = br#"{"errorMessages":[],"errors":{"customfield_10070":"Value too long."}}"#;
        match from_status(400, "POST", "/rest/api/3/issue", &HeaderMap::new(), body) {
            ConnectorError::FieldRefused { field, message, .. } => {
                assert_eq!(
                    (field.as_str(), message.as_str()),
                    ("customfield_10070", "customfield_10070: Value too long.")
                );
            }
            other => panic!("{other:?}"),
        }
        let two = br#"{"errorMessages":[],"errors":{"summary":"Required.","priority":"Unknown."}}"#;
        assert!(matches!(from_status(400, "POST", "/x", &HeaderMap::new(), two), ConnectorError::Http { .. }));
    }

    #[test]
    fn a_bad_request_carries_jiras_messages() {
        let body = br#"{"errorMessages":["Nope."],"errors":{"summary":"Too long"}}"#;
        let error = from_status(400, "PUT", "/rest/api/3/issue/1", &HeaderMap::new(), body);
        assert!(!error.is_retryable());
        assert!(error.to_string().contains("Nope.; summary: Too long"), "{error}");
    }
}
