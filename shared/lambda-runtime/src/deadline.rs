//! When a function must stop working: before the Lambda timeout (with a margin to log and answer),
//! and for webhooks also within the senders' answer limit.

use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Webhook senders give up after 10 s (Jira, Azure DevOps); 8 s leaves time to answer.
pub const WEBHOOK_WORK_LIMIT: Duration = Duration::from_secs(8);
/// Kept back from the Lambda timeout for writing the answer and the logs.
pub const INVOCATION_MARGIN: Duration = Duration::from_secs(1);
/// Kept back by a poll: the syncs under way when it stops are recorded as due (a few store writes each,
/// several items at once, on a store that may be slow) and the watermark is saved, before the timeout.
pub const POLL_MARGIN: Duration = Duration::from_secs(10);

/// The instant to stop at, given the invocation's deadline (the Lambda context's, `None` when it has
/// none) and an optional cap on the work.
pub fn deadline(invocation_deadline: Option<SystemTime>, cap: Option<Duration>) -> Instant {
    deadline_with_margin(invocation_deadline, cap, INVOCATION_MARGIN)
}

/// The instant a scheduled poll stops starting work at: [`POLL_MARGIN`] before the invocation's end.
pub fn poll_deadline(invocation_deadline: Option<SystemTime>) -> Instant {
    deadline_with_margin(invocation_deadline, None, POLL_MARGIN)
}

fn deadline_with_margin(invocation_deadline: Option<SystemTime>, cap: Option<Duration>, margin: Duration) -> Instant {
    let remaining = invocation_deadline
        .map(|deadline| deadline.duration_since(SystemTime::now()).unwrap_or_default().saturating_sub(margin));
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
    fn a_poll_keeps_room_to_record_where_it_stopped() {
        let at = poll_deadline(Some(SystemTime::now() + Duration::from_secs(300)));
        assert!(left(at) <= Duration::from_secs(290) && left(at) > Duration::from_secs(289), "{:?}", left(at));
    }

    #[test]
    fn a_short_invocation_keeps_its_margin() {
        let at = deadline(Some(SystemTime::now() + Duration::from_secs(3)), Some(WEBHOOK_WORK_LIMIT));
        assert!(left(at) <= Duration::from_secs(2) && left(at) > Duration::from_millis(1500), "{:?}", left(at));
        let passed = deadline(Some(SystemTime::now() - Duration::from_secs(1)), None);
        assert_eq!(left(passed), Duration::ZERO, "an invocation already out of time stops at once");
    }
}
