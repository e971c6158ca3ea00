//! Helpers shared by the integration tests: a webhook receiver, and clients that call the simulators'
//! vendor APIs as one user would.

// Each test file uses its own part of these helpers.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tandem_simulators::azure_devops::RunningAzureDevops;
use tandem_simulators::jira::{RunningJira, SimUser};

/// What a receiver got: each request's headers and JSON body, in arrival order.
pub type Received = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A webhook receiver that answers 200 and keeps every request.
pub async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                kept.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), received)
}

/// The bodies received so far whose `field` is `value` (`webhookEvent`, `eventType`).
pub fn bodies_where(received: &Received, field: &str, value: &str) -> Vec<Value> {
    received.lock().unwrap().iter().map(|(_, body)| body.clone()).filter(|body| body[field] == value).collect()
}

/// A one-paragraph ADF document.
pub fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

/// An answer: its status, headers and JSON body (`null` when there is none).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the simulator answers");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.bytes().await.expect("the answer has a body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Answer { status, headers, body }
}

/// Calls Jira's REST API as one user (HTTP Basic with the e-mail and API token).
pub struct JiraAs {
    http: Client,
    base: String,
    email: String,
    token: String,
}

impl JiraAs {
    pub fn new(jira: &RunningJira, user: &SimUser) -> Self {
        JiraAs {
            http: Client::new(),
            base: jira.base_url().to_string(),
            email: user.email.clone(),
            token: user.api_token.clone(),
        }
    }

    /// `path` starts with `/rest/api/3/`.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).basic_auth(&self.email, Some(&self.token));
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates an issue of `issue_type` in `project` and returns its key.
    pub async fn create_issue(&self, project: &str, issue_type: &str, summary: &str) -> String {
        let body =
            json!({"fields": {"project": {"key": project}, "issuetype": {"name": issue_type}, "summary": summary}});
        let created = self.post("/rest/api/3/issue", &body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["key"].as_str().expect("a key").to_string()
    }

    /// The issues `POST /search/jql` finds for `jql`, with their summaries.
    pub async fn search(&self, jql: &str) -> Vec<Value> {
        let found = self.post("/rest/api/3/search/jql", &json!({"jql": jql, "fields": ["summary", "status"]})).await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        found.body["issues"].as_array().cloned().unwrap_or_default()
    }
}

/// Calls Azure DevOps' API with one PAT.
pub struct AdoAs {
    http: Client,
    organization_url: String,
    pat: String,
}

pub const JSON_PATCH: &str = "application/json-patch+json";

impl AdoAs {
    pub fn new(ado: &RunningAzureDevops, pat: &str) -> Self {
        AdoAs { http: Client::new(), organization_url: ado.organization_url().to_string(), pat: pat.to_string() }
    }

    pub fn service(ado: &RunningAzureDevops) -> Self {
        AdoAs::new(ado, &ado.service_account().pat)
    }

    /// `path` follows the organization URL: `Fabrikam/_apis/wit/…?api-version=…`.
    pub async fn call(&self, method: Method, path: &str, content_type: &str, body: Option<&Value>) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}/{path}", self.organization_url))
            .basic_auth("tandem", Some(&self.pat));
        if let Some(body) = body {
            request = request.header("content-type", content_type).body(body.to_string());
        }
        answer(request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, "application/json", None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, "application/json", Some(body)).await
    }

    pub async fn patch(&self, path: &str, operations: &Value) -> Answer {
        self.call(Method::PATCH, path, JSON_PATCH, Some(operations)).await
    }

    /// Creates a work item of `work_item_type` in `project` and returns it.
    pub async fn create(&self, project: &str, work_item_type: &str, title: &str) -> Value {
        let operations = json!([{"op": "add", "path": "/fields/System.Title", "value": title}]);
        let path = format!("{project}/_apis/wit/workitems/${work_item_type}?api-version=7.1");
        let created = self.call(Method::POST, &path, JSON_PATCH, Some(&operations)).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
        created.body
    }

    /// Applies `operations` to work item `id` of project Fabrikam; `query` is added to the URL
    /// (`&bypassRules=true`, say).
    pub async fn update(&self, id: u64, query: &str, operations: &Value) -> Answer {
        self.patch(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1{query}"), operations).await
    }

    /// Adds a comment to work item `id` of project Fabrikam and returns it.
    pub async fn comment(&self, id: u64, text: &str) -> Value {
        let path = format!("Fabrikam/_apis/wit/workItems/{id}/comments?api-version=7.1-preview.4");
        let added = self.post(&path, &json!({ "text": text })).await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        added.body
    }

    /// Sets a work item's title.
    pub async fn retitle(&self, id: u64, title: &str) -> Answer {
        let operations = json!([{"op": "add", "path": "/fields/System.Title", "value": title}]);
        self.patch(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1"), &operations).await
    }

    /// The ids a WIQL query over project Fabrikam finds, with the whole answer.
    pub async fn wiql(&self, query: &str) -> (Vec<u64>, Value) {
        let found = self.post("Fabrikam/_apis/wit/wiql?api-version=7.1", &json!({"query": query})).await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        let ids = found.body["workItems"].as_array().unwrap().iter().map(|item| item["id"].as_u64().unwrap()).collect();
        (ids, found.body)
    }

    /// A work item's title, read through `GET workitems/{id}`.
    pub async fn title(&self, id: u64) -> String {
        let read = self.get(&format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1")).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        read.body["fields"]["System.Title"].as_str().unwrap_or_default().to_string()
    }
}
