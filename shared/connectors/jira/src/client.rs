//! The HTTP client: Basic authentication with an API token, a base-URL override (for simulators), JSON in
//! and out, sent through the shared transport (its retry policy, no redirects, bounded answers).

use crate::error::{from_status, invalid_response};
use crate::JIRA;
use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tandem_engine::ports::ConnectorError;
use tandem_http::{Repeat, RetryPolicy, Transport};
use tandem_model::{AttachmentContent, SecretString};

/// A Jira Cloud REST client for one site and account.
#[derive(Clone)]
pub struct JiraClient {
    transport: Transport,
    site: String,
    authorization: HeaderValue,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient")
            .field("site", &self.site)
            .field("retry", self.transport.policy())
            .finish_non_exhaustive()
    }
}

impl JiraClient {
    /// `site` is the base URL (`https://acme.atlassian.net`, or a simulator's); paths are appended to it.
    pub fn new(site: &str, email: &str, api_token: &SecretString, retry: RetryPolicy) -> Result<Self, ConnectorError> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{}", api_token.expose()));
        let mut authorization =
            HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| ConnectorError::Invalid {
                system: JIRA,
                message: "the Jira e-mail or API token contains characters a header cannot carry".into(),
            })?;
        authorization.set_sensitive(true);
        let transport = Transport::new(JIRA, retry)?;
        Ok(JiraClient { transport, site: site.trim_end_matches('/').to_string(), authorization })
    }

    pub fn site(&self) -> &str {
        &self.site
    }

    pub fn retry(&self) -> &RetryPolicy {
        self.transport.policy()
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, ConnectorError> {
        let body = self.call(Method::GET, path, query, Body::Empty, Repeat::Safe).await?;
        decode(path, &body)
    }

    /// `GET path` answered with a file: its bytes as sent.
    pub async fn get_file(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, ConnectorError> {
        self.call(Method::GET, path, query, Body::Empty, Repeat::Safe).await
    }

    /// Posts a file as the multipart part `file`, with the `X-Atlassian-Token: no-check` header Jira
    /// requires of uploads (its guard against cross-site requests), and reads the JSON answer. Sent
    /// again only after an answer that says nothing was stored.
    pub async fn post_file<T: DeserializeOwned>(
        &self,
        path: &str,
        file: &AttachmentContent,
    ) -> Result<T, ConnectorError> {
        let body = self.call(Method::POST, path, &[], Body::File(file), Repeat::Unsafe).await?;
        decode(path, &body)
    }

    /// Sends `body` and reads the JSON answer.
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        repeat: Repeat,
    ) -> Result<T, ConnectorError> {
        let body = self.call(method, path, &[], Body::Json(to_json(body)?), repeat).await?;
        decode(path, &body)
    }

    /// Sends `body` to an operation that answers without content (204).
    pub async fn send_without_answer<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        repeat: Repeat,
    ) -> Result<(), ConnectorError> {
        self.call(method, path, &[], Body::Json(to_json(body)?), repeat).await.map(drop)
    }

    /// `DELETE path`, answered without content.
    pub async fn delete(&self, path: &str) -> Result<(), ConnectorError> {
        self.call(Method::DELETE, path, &[], Body::Empty, Repeat::Safe).await.map(drop)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Body<'_>,
        repeat: Repeat,
    ) -> Result<Vec<u8>, ConnectorError> {
        let url = format!("{}{path}", self.site);
        let build = |http: &reqwest::Client| {
            let mut request = http
                .request(method.clone(), &url)
                .header(AUTHORIZATION, self.authorization.clone())
                .header(ACCEPT, "application/json");
            if !query.is_empty() {
                request = request.query(query);
            }
            match &body {
                Body::Empty => request,
                Body::Json(body) => request.json(body),
                Body::File(file) => request.header("X-Atlassian-Token", "no-check").multipart(file_form(file)),
            }
        };
        let refusal = |answer: &tandem_http::Answer| {
            from_status(answer.status.as_u16(), method.as_str(), path, &answer.headers, &answer.body)
        };
        self.transport.send(repeat, build, refusal).await.map(|answer| answer.body)
    }
}

/// What a request carries.
enum Body<'a> {
    Empty,
    Json(Value),
    File(&'a AttachmentContent),
}

/// A multipart form of one part, `file`, as Jira's upload takes it (made afresh for each attempt, on
/// the file's bytes as they are held: never a copy).
fn file_form(file: &AttachmentContent) -> reqwest::multipart::Form {
    let part = || {
        let length = file.bytes.len() as u64;
        reqwest::multipart::Part::stream_with_length(file.bytes.clone(), length).file_name(file.name.clone())
    };
    // A content type that does not parse is left out: Jira then guesses it from the name.
    let part = part().mime_str(&file.content_type).unwrap_or_else(|_| part());
    reqwest::multipart::Form::new().part("file", part)
}

fn to_json<B: Serialize>(body: &B) -> Result<Value, ConnectorError> {
    serde_json::to_value(body).map_err(|error| ConnectorError::Invalid {
        system: JIRA,
        message: format!("a request body could not be serialised: {error}"),
    })
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, ConnectorError> {
    serde_json::from_slice(body).map_err(|error| {
        invalid_response(format!("the answer to {path} is not the expected JSON: {error}"), Some(Box::new(error)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_credentials() {
        let client =
            JiraClient::new("http://jira.test/", "a@example.com", &SecretString::new("tok-123"), RetryPolicy::fast())
                .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("tok-123") && !shown.contains("Basic"), "{shown}");
        assert_eq!(client.site(), "http://jira.test");
    }
}
