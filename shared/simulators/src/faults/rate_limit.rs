//! The vendors' request quota: a token bucket over a simulator's API calls. Unlike `rate_limit_rate`,
//! which refuses a drawn share of calls whatever their pace, the bucket refuses only what goes faster
//! than the quota, so a client that honours `Retry-After` can be measured against the ceiling.

use axum::http::{HeaderValue, Response};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// A quota of `requests_per_second` with room for `burst` calls at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests_per_second: f64,
    pub burst: u32,
}

/// Tokens refill continuously at the quota's rate up to `burst`; each answered call takes one. The bucket
/// starts full, as a fresh quota window does.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit, now: Instant) -> Self {
        TokenBucket { limit, tokens: f64::from(limit.burst), refilled_at: now }
    }

    /// Takes a token for a call arriving at `now`, or says how many whole seconds (at least 1) until the
    /// next token: what the refusal's `Retry-After` carries. A refused call takes nothing.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), u64> {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * self.limit.requests_per_second).min(f64::from(self.limit.burst));
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((1.0 - self.tokens) / self.limit.requests_per_second);
        // `Retry-After` is whole seconds: rounding down would send the client back before the token.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Err(seconds.max(1))
    }
}

/// Jira explains every 429 with `RateLimit-Reason`; a refusal by the quota is the global quota, not a
/// burst. Vendors that give no reason (Azure DevOps) are left as they are.
pub(crate) fn name_quota_reason<B>(response: &mut Response<B>) {
    if let Some(reason) = response.headers_mut().get_mut(QUOTA_REASON_HEADER) {
        *reason = HeaderValue::from_static("jira-quota-global-based");
    }
}

const QUOTA_REASON_HEADER: &str = "ratelimit-reason";

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(requests_per_second: f64, burst: u32) -> (TokenBucket, Instant) {
        let start = Instant::now();
        (TokenBucket::new(RateLimit { requests_per_second, burst }, start), start)
    }

    #[test]
    fn a_full_bucket_answers_a_burst_then_refuses() {
        let (mut bucket, start) = bucket(2.0, 3);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Ok(()));
        }
        // Half a second per token at 2 per second: the refusal still says at least one whole second.
        assert_eq!(bucket.take(start), Err(1));
        assert_eq!(bucket.take(start + Duration::from_millis(499)), Err(1));
        assert_eq!(bucket.take(start + Duration::from_millis(500)), Ok(()));
    }

    #[test]
    fn retry_after_rounds_the_wait_up_to_whole_seconds() {
        let (mut bucket, start) = bucket(0.4, 1);
        assert_eq!(bucket.take(start), Ok(()));
        // 2.5 s until the next token.
        assert_eq!(bucket.take(start), Err(3));
        assert_eq!(bucket.take(start + Duration::from_millis(1500)), Err(1));
        assert_eq!(bucket.take(start + Duration::from_millis(2500)), Ok(()));
    }

    #[test]
    fn idle_time_refills_no_more_than_the_burst() {
        let (mut bucket, start) = bucket(10.0, 2);
        let later = start + Duration::from_secs(60);
        assert_eq!(bucket.take(later), Ok(()));
        assert_eq!(bucket.take(later), Ok(()));
        assert_eq!(bucket.take(later), Err(1));
    }

    #[test]
    fn over_time_calls_are_held_to_the_rate() {
        let (mut bucket, start) = bucket(20.0, 5);
        // 60 calls a second for 2 s: 5 from the burst and 20 a second after that.
        let answered =
            (0..120).filter(|call| bucket.take(start + Duration::from_micros(call * 1_000_000 / 60)).is_ok()).count();
        assert!((43..=45).contains(&answered), "{answered}");
    }

    #[test]
    fn only_a_reason_already_given_is_renamed() {
        let mut jira = Response::builder().header("RateLimit-Reason", "jira-burst-based").body(()).unwrap();
        name_quota_reason(&mut jira);
        assert_eq!(jira.headers()["ratelimit-reason"], "jira-quota-global-based");
        let mut ado = Response::builder().header("Retry-After", "1").body(()).unwrap();
        name_quota_reason(&mut ado);
        assert!(!ado.headers().contains_key("ratelimit-reason"));
    }
}
