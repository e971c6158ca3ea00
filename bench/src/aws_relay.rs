//! A relay in front of moto (`AWS_ENDPOINT_URL`) that times every request on the simulators' wall
//! clock ([`tandem_simulators::faults::WallSpan`]). The functions run in processes of their own, so
//! the bench cannot see their store and secret calls; through the relay it knows how much of a cold
//! start was spent waiting for the dependencies, which are not what is measured (moto serves one
//! request at a time, in Python, where DynamoDB answers in single-digit milliseconds).

use crate::error::BenchError;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tandem_simulators::faults::WallSpan;
use tokio::task::JoinHandle;

/// Headers about the connection rather than the request: the relay's client sets its own.
const HOP_HEADERS: [&str; 4] = ["content-length", "transfer-encoding", "connection", "host"];

struct Upstream {
    base: String,
    client: reqwest::Client,
}

/// A running relay on 127.0.0.1; dropping it stops the server.
pub struct AwsRelay {
    address: SocketAddr,
    server: JoinHandle<()>,
}

impl AwsRelay {
    /// Relays to `upstream` (moto's address) from a free port of 127.0.0.1.
    pub async fn start(upstream: &str) -> Result<AwsRelay, BenchError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(BenchError::RelayBind)?;
        let address = listener.local_addr().map_err(BenchError::RelayBind)?;
        let upstream =
            Arc::new(Upstream { base: upstream.trim_end_matches('/').to_string(), client: reqwest::Client::new() });
        let app = Router::new().fallback(relay).with_state(upstream);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(AwsRelay { address, server })
    }

    /// What a function's `AWS_ENDPOINT_URL` is set to.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for AwsRelay {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn relay(
    axum::extract::State(upstream): axum::extract::State<Arc<Upstream>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _busy = WallSpan::start();
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let mut request = upstream.client.request(method, format!("{}{path}", upstream.base)).body(body);
    for (name, value) in headers.iter().filter(|(name, _)| !HOP_HEADERS.contains(&name.as_str())) {
        request = request.header(name, value);
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, format!("moto did not answer: {error}")).into_response(),
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    HOP_HEADERS.iter().for_each(|name| {
        headers.remove(*name);
    });
    match answer.bytes().await {
        Ok(body) => (status, headers, body).into_response(),
        Err(error) => (StatusCode::BAD_GATEWAY, format!("moto's answer broke off: {error}")).into_response(),
    }
}
