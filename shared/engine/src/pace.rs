//! How many items a poll syncs at once. The poll starts at a few, grows by one each time as many items
//! as it allows have finished without a system asking to slow down, and halves when one does (a 429,
//! or the system's own way of saying it): additive increase, multiplicative decrease, as TCP paces a
//! connection. A backfill so fills what the systems allow without leaning on their rate limits, where
//! every refused call is a wasted call and a `Retry-After` wait.
//!
//! The transport says when a system asked to slow down ([`slow_down_asked`]); the poll that made the
//! call hears it through a task-local (a poll's items run in its task), so a webhook's sync, which no
//! pace governs, is untouched. One halving per round: items already in flight when the pace halved
//! met the same pressure, and halving again for each of them would collapse the pace to one. And no
//! item starts before the wait the system asked for is over: the refused call waits that long anyway,
//! and a new item's calls would only be refused in turn.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Items a poll starts with (or the most allowed, if fewer).
pub const STARTING_PACE: usize = 4;
/// The longest a poll holds back new items for a system's asked-for wait: a longer one (Salesforce's
/// daily allowance spent) is not waited out; the calls fail at once and their items are retried on
/// their own schedule, as the transport leaves them.
const LONGEST_HOLD: Duration = Duration::from_secs(60);

tokio::task_local! {
    static PACE: Arc<Pace>;
}

/// Tells the poll under way, if any, that a system asked to slow down, for `wait` if it said.
pub fn slow_down_asked(wait: Option<Duration>) {
    let _ = PACE.try_with(|pace| {
        pace.slow_downs.fetch_add(1, Ordering::Relaxed);
        if let Some(wait) = wait {
            let mut state = pace.state();
            state.resume_at = state.resume_at.max(Some(Instant::now() + wait.min(LONGEST_HOLD)));
        }
    });
}

/// What a poll's pace came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaceReport {
    /// Items synced at once when the poll ended.
    pub reached: usize,
    /// The most at once during the poll.
    pub highest: usize,
    /// Calls the systems answered with "slow down".
    pub slow_downs: u64,
}

/// One poll's pace: permits for the items in flight, as many as the pace allows.
#[derive(Debug)]
pub(crate) struct Pace {
    permits: Semaphore,
    slow_downs: AtomicU64,
    most: usize,
    state: Mutex<PaceState>,
}

#[derive(Debug)]
struct PaceState {
    allowed: usize,
    highest: usize,
    /// Items finished without a slow-down since the pace last changed.
    finished_clean: usize,
    /// Counts the halvings: an item halves the pace only if it started after the last one.
    round: u64,
    /// Permits still to take back after a halving, as items in flight finish.
    to_withdraw: usize,
    /// No item starts before this: the wait a system asked for.
    resume_at: Option<Instant>,
}

/// An item's turn to sync: its permit, and what it saw when it started.
pub(crate) struct Turn<'a> {
    pace: &'a Pace,
    permit: Option<SemaphorePermit<'a>>,
    round: u64,
    slow_downs: u64,
}

impl Pace {
    /// A pace starting at [`STARTING_PACE`] items at once, never above `most` (at least one).
    pub(crate) fn new(most: usize) -> Pace {
        let most = most.max(1);
        let allowed = STARTING_PACE.min(most);
        Pace {
            permits: Semaphore::new(allowed),
            slow_downs: AtomicU64::new(0),
            most,
            state: Mutex::new(PaceState {
                allowed,
                highest: allowed,
                finished_clean: 0,
                round: 0,
                to_withdraw: 0,
                resume_at: None,
            }),
        }
    }

    /// Runs `poll` with this pace told of the slow-downs its calls meet.
    pub(crate) async fn governing<F: Future>(self: &Arc<Self>, poll: F) -> F::Output {
        PACE.scope(self.clone(), poll).await
    }

    /// Waits for an item's turn: items start in the order they asked, as many at once as allowed, and
    /// none while a system's asked-for wait lasts.
    pub(crate) async fn turn(&self) -> Turn<'_> {
        let permit = self.permits.acquire().await.ok();
        loop {
            let resume_at = self.state().resume_at;
            match resume_at {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => break,
            }
        }
        let round = self.state().round;
        Turn { pace: self, permit, round, slow_downs: self.slow_downs.load(Ordering::Relaxed) }
    }

    pub(crate) fn report(&self) -> PaceReport {
        let state = self.state();
        PaceReport {
            reached: state.allowed,
            highest: state.highest,
            slow_downs: self.slow_downs.load(Ordering::Relaxed),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adjusts the pace as an item finishes, and returns its permit (or keeps it, to slow down).
    fn finished(&self, turn: &mut Turn<'_>) {
        let slowed = self.slow_downs.load(Ordering::Relaxed) > turn.slow_downs;
        let mut state = self.state();
        if slowed && turn.round == state.round {
            let halved = (state.allowed / 2).max(1);
            state.to_withdraw += state.allowed - halved;
            state.allowed = halved;
            state.round += 1;
            state.finished_clean = 0;
        } else if !slowed {
            state.finished_clean += 1;
            if state.finished_clean >= state.allowed && state.allowed < self.most {
                state.allowed += 1;
                state.highest = state.highest.max(state.allowed);
                state.finished_clean = 0;
                self.give_one(&mut state);
            }
        }
        self.withdraw(&mut state, turn.permit.take());
    }

    /// One more item may start: a permit not yet taken back stays, or a new one is added.
    fn give_one(&self, state: &mut PaceState) {
        match state.to_withdraw {
            0 => self.permits.add_permits(1),
            _ => state.to_withdraw -= 1,
        }
    }

    /// Takes back the permits a halving owes: the finishing item's own, then any nobody holds.
    fn withdraw(&self, state: &mut PaceState, returned: Option<SemaphorePermit<'_>>) {
        if let Some(permit) = returned {
            match state.to_withdraw {
                0 => drop(permit),
                _ => {
                    permit.forget();
                    state.to_withdraw -= 1;
                }
            }
        }
        while state.to_withdraw > 0 {
            let Ok(idle) = self.permits.try_acquire() else { break };
            idle.forget();
            state.to_withdraw -= 1;
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let pace = self.pace;
        pace.finished(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `items` one after the other through `pace`, each meeting `slow_downs` slow-downs.
    async fn finish(pace: &Arc<Pace>, items: usize, slow_downs: usize) {
        for _ in 0..items {
            pace.governing(async {
                let _turn = pace.turn().await;
                (0..slow_downs).for_each(|_| slow_down_asked(None));
            })
            .await;
        }
    }

    fn idle_permits(pace: &Pace) -> usize {
        pace.permits.available_permits()
    }

    #[tokio::test]
    async fn the_pace_grows_by_one_each_time_as_many_items_as_it_allows_finished() {
        let pace = Arc::new(Pace::new(6));
        assert_eq!(pace.report().reached, STARTING_PACE);
        finish(&pace, 4, 0).await;
        assert_eq!(pace.report().reached, 5);
        finish(&pace, 5, 0).await;
        assert_eq!(pace.report().reached, 6);
        finish(&pace, 100, 0).await;
        assert_eq!(pace.report(), PaceReport { reached: 6, highest: 6, slow_downs: 0 }, "never above the most");
        assert_eq!(idle_permits(&pace), 6);
    }

    #[tokio::test]
    async fn a_slow_down_halves_the_pace_down_to_one() {
        let pace = Arc::new(Pace::new(16));
        finish(&pace, 1, 1).await;
        assert_eq!(pace.report().reached, 2);
        finish(&pace, 1, 2).await;
        finish(&pace, 1, 1).await;
        assert_eq!(pace.report(), PaceReport { reached: 1, highest: 4, slow_downs: 4 });
        assert_eq!(idle_permits(&pace), 1, "the permits owed are taken back");
    }

    #[tokio::test]
    async fn items_in_flight_when_the_pace_halved_do_not_halve_it_again() {
        let pace = Arc::new(Pace::new(16));
        let in_flight: Vec<_> = futures_util::future::join_all((0..4).map(|_| pace.turn())).await;
        assert_eq!(idle_permits(&pace), 0);
        pace.governing(async { slow_down_asked(None) }).await;
        drop(in_flight);
        assert_eq!(pace.report().reached, 2, "four items met one slow-down: one halving");
        assert_eq!(idle_permits(&pace), 2);
        finish(&pace, 1, 1).await;
        assert_eq!(pace.report().reached, 1, "an item started after the halving halves again");
    }

    #[tokio::test]
    async fn a_pace_held_to_fewer_than_it_starts_with_never_exceeds_them() {
        let pace = Arc::new(Pace::new(2));
        assert_eq!(idle_permits(&pace), 2);
        finish(&pace, 50, 0).await;
        assert_eq!(pace.report().reached, 2);
    }

    #[tokio::test]
    async fn slow_downs_outside_a_poll_are_ignored() {
        slow_down_asked(None);
        let pace = Arc::new(Pace::new(8));
        let turn = pace.turn().await;
        slow_down_asked(Some(Duration::from_secs(60)));
        drop(turn);
        assert_eq!(pace.report().slow_downs, 0);
        assert_eq!(pace.report().reached, STARTING_PACE, "one clean item does not grow it yet");
    }

    #[tokio::test]
    async fn no_item_starts_before_the_wait_a_system_asked_for_is_over() {
        let pace = Arc::new(Pace::new(8));
        let asked_at = Instant::now();
        pace.governing(async {
            let _refused = pace.turn().await;
            slow_down_asked(Some(Duration::from_millis(300)));
        })
        .await;
        let _next = pace.turn().await;
        assert!(asked_at.elapsed() >= Duration::from_millis(300), "started after {:?}", asked_at.elapsed());
    }
}
