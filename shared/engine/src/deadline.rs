//! The deadline of the work under way (a webhook sender's answer limit, a function's remaining time),
//! known to every call made for it: a connector does not start a retry wait that would outlast it, and
//! returns the answer it has instead (often a definite "not processed", which lets the next attempt go
//! ahead at once rather than wait for a call that might still land).

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` until `deadline`, with the deadline known to the calls it makes; `None` when the deadline
/// came first (the work is dropped where it was, as a crash would leave it).
pub async fn before<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Option<T> {
    match deadline {
        Some(deadline) => DEADLINE.scope(deadline, tokio::time::timeout_at(deadline, work)).await.ok(),
        None => Some(work.await),
    }
}

/// How long the work under way may still take, when it has a deadline.
pub fn time_left() -> Option<Duration> {
    DEADLINE.try_with(|deadline| deadline.saturating_duration_since(Instant::now())).ok()
}

/// Whether a wait of `wait` fits in the time left (always, without a deadline).
pub fn fits(wait: Duration) -> bool {
    time_left().is_none_or(|left| wait < left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_made_for_the_work_know_its_deadline() {
        assert_eq!(time_left(), None);
        assert!(fits(Duration::from_secs(3600)));
        let deadline = Instant::now() + Duration::from_secs(2);
        let seen = before(Some(deadline), async { (time_left(), fits(Duration::from_secs(5))) }).await;
        let (left, fits_five) = seen.expect("finished in time");
        assert!(left.is_some_and(|left| left <= Duration::from_secs(2)));
        assert!(!fits_five, "a wait longer than the time left does not fit");
        let late = before(Some(Instant::now()), std::future::pending::<()>()).await;
        assert_eq!(late, None, "work past the deadline is cut");
    }
}
