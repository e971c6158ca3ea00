//! The one HTTP transport every connector sends through, and its one retry policy.
//!
//! Retrying answers two questions kept apart: whether an error is worth another attempt
//! ([`ConnectorError::is_retryable`], narrowed by [`Repeat`] for requests that must not be made twice)
//! and how long to wait (jittered exponential backoff, or the system's `Retry-After` up to a cap). The
//! waits of one call are capped in total, so [`RetryPolicy::longest_call`] bounds a call, and the claim
//! lease the engine derives from it outlasts any request a claim covers. A wait the work's deadline
//! would cut is not started ([`ConnectorError::CutShort`]).

use crate::{read_body, redirect_refusal, MAX_RESPONSE_BODY};
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tandem_engine::ports::ConnectorError;
use tandem_model::SystemKind;

/// How often and how patiently a failed call is tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    /// The first backoff; it doubles (with jitter) up to `max_delay`.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the call (the engine tries the change again
    /// once the wait is over) rather than being cut short, which the system would answer with another
    /// 429.
    pub max_retry_after: Duration,
    /// The most time spent waiting between attempts of one call, `Retry-After` included: it bounds a
    /// call's duration, and so the claim lease that must outlast a create.
    pub max_total_wait: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Millisecond backoffs, for tests against local simulators; `Retry-After` is still honoured up to
    /// `max_retry_after`.
    pub fn fast() -> Self {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
            max_total_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }

    /// One attempt, no retry.
    pub fn never() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The longest one call may take: every attempt running into its timeout, plus every wait.
    pub fn longest_call(&self) -> Duration {
        let attempts = u32::try_from(self.max_attempts.max(1)).unwrap_or(u32::MAX);
        self.timeout.saturating_mul(attempts).saturating_add(self.max_total_wait)
    }

    /// The wait before the next attempt, given the error, the backoff's proposal (`None`: attempts used
    /// up) and the time waited so far; `None` ends the call.
    fn wait(&self, error: &ConnectorError, backoff: Option<Duration>, waited: Duration) -> Option<Duration> {
        let wait = match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => return None,
            Some(asked) => backoff.map(|_| asked),
            None => backoff,
        }?;
        (waited + wait <= self.max_total_wait).then_some(wait)
    }
}

/// Whether sending a request twice is harmless. A create, a new comment or a transition sent twice is
/// not, so those are repeated only when the system said it did not process them (429, 503), never after
/// a timeout or another 5xx, after which the change may exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Safe,
    Unsafe,
}

impl Repeat {
    pub fn allows(self, error: &ConnectorError) -> bool {
        match self {
            Repeat::Safe => error.is_retryable(),
            Repeat::Unsafe => {
                matches!(error, ConnectorError::RateLimited { .. } | ConnectorError::Http { status: 503, .. })
            }
        }
    }
}

/// An answer as received: status, headers and the whole body (read within [`MAX_RESPONSE_BODY`]).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// One system's HTTP client: no redirects, bounded answers, one retry policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Transport {
    http: reqwest::Client,
    system: SystemKind,
    policy: RetryPolicy,
}

impl Transport {
    pub fn new(system: SystemKind, policy: RetryPolicy) -> Result<Transport, ConnectorError> {
        let agent = format!("tandem-{}/{}", system.slug(), env!("CARGO_PKG_VERSION"));
        let http = crate::client(policy.timeout, &agent).map_err(|error| ConnectorError::Invalid {
            system,
            message: format!("the HTTP client could not be built: {error}"),
        })?;
        Ok(Transport { http, system, policy })
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn system(&self) -> SystemKind {
        self.system
    }

    /// Sends the request `build` makes, again after each failure `repeat` allows, within the policy. A
    /// success comes back whole; any other answer becomes the error `refusal` makes of it (a redirect,
    /// never followed, is refused here).
    pub async fn send(
        &self,
        repeat: Repeat,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        refusal: impl Fn(&Answer) -> ConnectorError,
    ) -> Result<Answer, ConnectorError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_attempts.saturating_sub(1))
            .with_jitter();
        let mut waited = Duration::ZERO;
        let cut_short = AtomicBool::new(false);
        let answer = (|| self.attempt(&build, &refusal))
            .retry(backoff)
            .when(|error| repeat.allows(error))
            .adjust(|error: &ConnectorError, backoff: Option<Duration>| {
                let wait = self.policy.wait(error, backoff, waited)?;
                if !tandem_engine::deadline::fits(wait) {
                    cut_short.store(true, Ordering::Relaxed);
                    return None;
                }
                waited += wait;
                Some(wait)
            })
            .notify(|error: &ConnectorError, wait: Duration| {
                tracing::debug!(system = self.system.slug(), %error, ?wait, "retrying a call");
            })
            .await;
        match answer {
            Err(error) if cut_short.into_inner() => Err(error.cut_short(self.system)),
            answer => answer,
        }
    }

    /// One call, counted (see [`crate::take_call_counts`]) unless it could not even be built.
    async fn attempt(
        &self,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        refusal: &impl Fn(&Answer) -> ConnectorError,
    ) -> Result<Answer, ConnectorError> {
        let outcome = self.call(build, refusal).await;
        match &outcome {
            Err(ConnectorError::Invalid { .. }) => {}
            Err(error @ ConnectorError::RateLimited { .. }) => {
                crate::calls::record(self.system.slug(), true);
                tandem_engine::pace::slow_down_asked(error.retry_after());
            }
            _ => crate::calls::record(self.system.slug(), false),
        }
        outcome
    }

    async fn call(
        &self,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        refusal: &impl Fn(&Answer) -> ConnectorError,
    ) -> Result<Answer, ConnectorError> {
        let request = build(&self.http).build().map_err(|error| ConnectorError::Invalid {
            system: self.system,
            message: format!("the request could not be built: {error}"),
        })?;
        let (method, path) = (request.method().clone(), request.url().path().to_string());
        let response = self.http.execute(request).await.map_err(|error| ConnectorError::Unreachable {
            system: self.system,
            message: format!("{method} {path}: {error}"),
            source: Some(Box::new(error)),
        })?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = read_body(response, MAX_RESPONSE_BODY).await.map_err(|error| {
            let message = format!("{method} {path}: {error}");
            match error.is_retryable() {
                true => ConnectorError::Unreachable { system: self.system, message, source: Some(Box::new(error)) },
                false => {
                    ConnectorError::InvalidResponse { system: self.system, message, source: Some(Box::new(error)) }
                }
            }
        })?;
        if let Some(message) = redirect_refusal(status.as_u16(), &headers) {
            let (method, path) = (method.to_string(), path);
            return Err(ConnectorError::Http {
                system: self.system,
                status: status.as_u16(),
                method,
                path,
                message,
                retry_after: None,
            });
        }
        let answer = Answer { status, headers, body };
        match status.is_success() {
            true => Ok(answer),
            false => Err(refusal(&answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM: SystemKind = SystemKind::UNKNOWN;

    fn http(status: u16, retry_after: Option<Duration>) -> ConnectorError {
        let (method, path, message) = ("POST".into(), "/".into(), String::new());
        ConnectorError::Http { system: SYSTEM, status, method, path, message, retry_after }
    }

    #[test]
    fn unsafe_requests_are_repeated_only_when_the_system_refused_them() {
        let limited = ConnectorError::RateLimited { system: SYSTEM, status: 429, retry_after: None };
        let timeout = ConnectorError::Unreachable { system: SYSTEM, message: "timeout".into(), source: None };
        assert!(Repeat::Unsafe.allows(&limited));
        assert!(Repeat::Unsafe.allows(&http(503, None)));
        assert!(!Repeat::Unsafe.allows(&timeout));
        assert!(!Repeat::Unsafe.allows(&http(500, None)));
        assert!(Repeat::Safe.allows(&timeout));
        assert!(Repeat::Safe.allows(&http(500, None)));
        assert!(!Repeat::Safe.allows(&http(400, None)));
    }

    #[test]
    fn waits_honour_retry_after_up_to_its_cap_and_the_total() {
        let policy = RetryPolicy::default();
        let backoff = Some(Duration::from_secs(1));
        let asked = |seconds| http(503, Some(Duration::from_secs(seconds)));
        assert_eq!(policy.wait(&asked(7), backoff, Duration::ZERO), Some(Duration::from_secs(7)));
        assert_eq!(policy.wait(&asked(61), backoff, Duration::ZERO), None, "past the Retry-After cap");
        assert_eq!(policy.wait(&asked(30), backoff, Duration::from_secs(31)), None, "past the total");
        assert_eq!(policy.wait(&asked(7), None, Duration::ZERO), None, "attempts used up");
        assert_eq!(policy.wait(&http(500, None), backoff, Duration::ZERO), backoff);
        assert_eq!(policy.longest_call(), Duration::from_secs(4 * 30 + 60));
    }
}
