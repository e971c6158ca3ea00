//! What is checked (a request as it went over the wire) and what a check reports.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One HTTP request as sent by a connector or received by a simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, … (any case).
    pub method: String,
    /// The URL path as sent, without scheme, host or query; segments may be percent-encoded.
    pub path: String,
    /// Query parameters in the order sent, already percent-decoded.
    pub query: Vec<(String, String)>,
    /// The `Content-Type` header, parameters such as `charset` included.
    pub content_type: Option<String>,
    /// The JSON body, if the request had one.
    pub body: Option<serde_json::Value>,
}

impl RecordedRequest {
    /// A request without query, content type or body.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self { method: method.into(), path: path.into(), query: Vec::new(), content_type: None, body: None }
    }

    /// Adds one query parameter.
    #[must_use]
    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body with its content type.
    #[must_use]
    pub fn with_body(mut self, content_type: impl Into<String>, body: serde_json::Value) -> Self {
        self.content_type = Some(content_type.into());
        self.body = Some(body);
        self
    }

    /// `METHOD /path`, the prefix of every violation about this request.
    pub fn label(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }
}

/// The operation a request matched: the spec's `operationId` when it has one, else
/// `METHOD /path/{template}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OperationId(pub String);

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One way in which a request or response departs from the vendor's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// `METHOD /path` of the request concerned.
    pub request: String,
    /// What is wrong, starting with where (`query.maxResults`, `body.fields.summary`, …).
    pub message: String,
}

impl Violation {
    pub(crate) fn new(request: &RecordedRequest, message: impl Into<String>) -> Self {
        Self { request: request.label(), message: message.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.request, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_names_the_request_then_the_problem() {
        let request = RecordedRequest::new("post", "/rest/api/3/issue");
        let violation = Violation::new(&request, "body.fields.summary: expected string");
        assert_eq!(violation.to_string(), "POST /rest/api/3/issue: body.fields.summary: expected string");
    }
}
