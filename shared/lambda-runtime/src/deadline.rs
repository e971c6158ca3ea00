//! When a function must stop working: before the Lambda timeout (with a margin to log and answer),
//! and for webhooks also within the senders' answer limit.

use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Webhook senders give up after 10 s (Jira, Azure DevOps); 8 s leaves time to answer.
pub const WEBHOOK_WORK_LIMIT: Duration = Duration::from_secs(8);
/// Kept back from the Lambda timeout for writing the answer and the logs.
pub const INVOCATION_MARGIN: Duration = Duration::from_secs(1);

/// The instant to stop at, given the invocation's deadline (the Lambda context's, `None` when it has
/// none) and an optional cap on the work.
pub fn deadline(invocation_deadline: Option<SystemTime>, cap: Option<Duration>) -> Instant {
    let remaining = invocation_deadline.map(|deadline| {
        deadline.duration_since(SystemTime::now()).unwrap_or_default().saturating_sub(INVOCATION_MARGIN)
    });
    let work = match (remaining, cap) {
        (Some(remaining), Some(cap)) => remaining.min(cap),
        (Some(remaining), None) => remaining,
        (None, Some(cap)) => cap,
        // No deadline and no cap cannot happen in Lambda; the webhook limit is a safe bound anyway.
        (None, None) => WEBHOOK_WORK_LIMIT,
    };
    Instant::now() + work
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left(deadline: Instant) -> Duration {
        deadline.saturating_duration_since(Instant::now())
    }

    #[test]
    fn the_cap_bounds_a_long_invocation() {
        let at = deadline(Some(SystemTime::now() + Duration::from_secs(30)), Some(WEBHOOK_WORK_LIMIT));
        assert!(left(at) <= WEBHOOK_WORK_LIMIT && left(at) > Duration::from_secs(7), "{:?}", left(at));
    }

    #[test]
    fn a_short_invocation_keeps_its_margin() {
        let at = deadline(Some(SystemTime::now() + Duration::from_secs(3)), Some(WEBHOOK_WORK_LIMIT));
        assert!(left(at) <= Duration::from_secs(2) && left(at) > Duration::from_millis(1500), "{:?}", left(at));
        let passed = deadline(Some(SystemTime::now() - Duration::from_secs(1)), None);
        assert_eq!(left(passed), Duration::ZERO, "an invocation already out of time stops at once");
    }
}
