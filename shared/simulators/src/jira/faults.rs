//! Injected failures: the next N API calls answer 429 or 5xx, as a rate-limited or struggling Jira does,
//! so tests can prove that connectors retry and honour `Retry-After`.
//!
//! The layer sits outside the recorder: a rate-limited call never reaches the site, so it is neither
//! recorded nor counted as a write, only counted here.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// One failure to answer instead of the real response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct InjectedFault {
    /// 429, 503, …
    pub status: u16,
    /// The `Retry-After` header to send, in seconds.
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
}

#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

#[derive(Default)]
struct FaultState {
    pending: VecDeque<InjectedFault>,
    injected: u64,
}

impl Faults {
    /// The next `count` API calls fail with `fault`.
    pub fn inject(&self, fault: InjectedFault, count: usize) {
        self.state().pending.extend(std::iter::repeat_n(fault, count));
    }

    /// How many calls have been failed so far.
    pub fn injected(&self) -> u64 {
        self.state().injected
    }

    fn take(&self) -> Option<InjectedFault> {
        let mut state = self.state();
        let fault = state.pending.pop_front()?;
        state.injected += 1;
        Some(fault)
    }

    fn state(&self) -> MutexGuard<'_, FaultState> {
        // Updates are single assignments, so a poisoned lock still holds consistent counters.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub async fn middleware(State(faults): State<Faults>, request: Request, next: Next) -> Response {
        if request.uri().path().starts_with(crate::recording::CONTROL_PREFIX) {
            return next.run(request).await;
        }
        let Some(fault) = faults.take() else {
            return next.run(request).await;
        };
        let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let message =
            if status == StatusCode::TOO_MANY_REQUESTS { "Rate limit exceeded." } else { "Service unavailable." };
        let mut response =
            (status, Json(serde_json::json!({ "errorMessages": [message], "errors": {} }))).into_response();
        if let Some(seconds) = fault.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert("RateLimit-Reason", HeaderValue::from_static("jira-burst-based"));
        }
        response
    }
}
