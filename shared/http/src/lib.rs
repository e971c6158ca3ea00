//! What every connector's HTTP client shares, so that no connector can forget it:
//!
//! - **No redirects.** A redirect would carry the service account's `Authorization` header to
//!   wherever the answer points. A 3xx answer is returned as it is, and [`redirect_refusal`] says why
//!   it is an error.
//! - **Bounded answers.** [`read_body`] stops reading past a limit, so an answer that never ends (a
//!   broken proxy, a hostile endpoint) cannot exhaust a function's memory.
//! - **`Retry-After`** read one way ([`retry_after`]).
//! - **One retry policy** ([`Transport`], [`RetryPolicy`]): what is retried, how long to wait, and a total
//!   cap that bounds a call.

mod calls;
mod transport;

pub use calls::{take_call_counts, CallCounts};
pub use transport::{Answer, Repeat, RetryPolicy, Transport};

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use std::time::Duration;

/// The largest answer read: far above any page the connectors ask for (a search page of 100 issues
/// with all their fields is a few MB), far below a function's memory.
pub const MAX_RESPONSE_BODY: usize = 32 * 1024 * 1024;

/// An HTTP client that never follows redirects, with a per-request timeout.
pub(crate) fn client(timeout: Duration, user_agent: &str) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(user_agent)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Why an answer's body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is longer than {limit} bytes; tandem reads no more")]
    TooLarge { limit: usize },
    #[error("the answer was cut off")]
    Cut(#[source] reqwest::Error),
}

impl BodyError {
    /// A cut-off answer may come whole next time; one too large will not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BodyError::Cut(_))
    }
}

/// The body of `response`, refused once it passes `limit` bytes (read chunk by chunk, never more).
pub(crate) async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    // Sized once when the length is known: growing by doubling would hold a large file up to twice over.
    let mut body = Vec::with_capacity(announced.map_or(0, |length| length as usize));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Cut)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` in seconds (the systems send seconds; an HTTP date is not worth honouring precisely).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The message for a redirect answer, which tandem never follows: the credentials would go along.
pub(crate) fn redirect_refusal(status: u16, headers: &HeaderMap) -> Option<String> {
    (300..400).contains(&status).then(|| {
        let target = headers.get(LOCATION).and_then(|location| location.to_str().ok()).unwrap_or("elsewhere");
        format!(
            "the system redirected the request to {target}; tandem does not follow redirects, which would carry the service account's credentials along: check the configured base_url"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}")
    }

    /// Every call is counted for its system, a refusal for the rate limit as such, retries included.
    #[tokio::test]
    async fn calls_and_rate_limits_are_counted_per_system() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use tandem_model::{RichTextFormat, SystemInfo, SystemKind};
        // A slug of its own: other tests in this process count their calls too.
        const COUNTED: SystemKind = SystemKind::new(&SystemInfo {
            slug: "counted",
            display_name: "Counted",
            rich_text_format: RichTextFormat::Html,
            comment_format: RichTextFormat::Html,
            change_instants: tandem_model::InstantPrecision::Millisecond,
        });
        let limited_once = Arc::new(AtomicBool::new(false));
        let base = serve(axum::Router::new().route(
            "/busy",
            get(move || {
                let limited_once = limited_once.clone();
                async move {
                    match limited_once.swap(true, Ordering::SeqCst) {
                        false => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "0")]).into_response(),
                        true => StatusCode::OK.into_response(),
                    }
                }
            }),
        ))
        .await;
        let transport = Transport::new(COUNTED, RetryPolicy::fast()).unwrap();
        let refusal = |answer: &Answer| match answer.status.as_u16() {
            429 => {
                tandem_engine::ports::ConnectorError::RateLimited { system: COUNTED, status: 429, retry_after: None }
            }
            status => tandem_engine::ports::ConnectorError::Invalid { system: COUNTED, message: status.to_string() },
        };
        let answer = transport.send(Repeat::Safe, |http| http.get(format!("{base}/busy")), refusal).await;
        assert!(answer.is_ok(), "{answer:?}");
        let counts = take_call_counts();
        assert_eq!(counts.get("counted"), Some(&CallCounts { calls: 2, rate_limited: 1 }));
        assert_eq!(take_call_counts().get("counted"), None, "taking the counts starts them again");
    }

    #[tokio::test]
    async fn redirects_are_not_followed_and_say_why() {
        let base = serve(axum::Router::new().route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "http://evil.test/steal")]).into_response() }),
        ))
        .await;
        let client = client(Duration::from_secs(5), "tandem-test").unwrap();
        let answer =
            client.get(format!("{base}/moved")).header("authorization", "Basic c2VjcmV0").send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::FOUND, "the redirect is returned, not followed");
        let refusal = redirect_refusal(answer.status().as_u16(), answer.headers()).unwrap();
        assert!(refusal.contains("http://evil.test/steal") && refusal.contains("base_url"), "{refusal}");
        assert_eq!(redirect_refusal(200, &HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn an_answer_past_the_limit_is_refused() {
        let base = serve(
            axum::Router::new()
                .route("/big", get(|| async { "x".repeat(10_000) }))
                .route("/small", get(|| async { "x".repeat(100) })),
        )
        .await;
        let client = client(Duration::from_secs(5), "tandem-test").unwrap();
        let big = client.get(format!("{base}/big")).send().await.unwrap();
        assert!(matches!(read_body(big, 1_000).await, Err(BodyError::TooLarge { limit: 1_000 })));
        let small = client.get(format!("{base}/small")).send().await.unwrap();
        assert_eq!(read_body(small, 1_000).await.unwrap().len(), 100);
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, " 7 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
