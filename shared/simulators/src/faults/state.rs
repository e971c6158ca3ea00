//! One simulator's fault state: the plan, its seeded rng, the queue of one-off faults and the counters.
//! The API layer and the webhook sender draw from the same rng, so one seed fixes every decision.

use super::plan::{FaultPlan, FaultPlanError};
use super::rate_limit::TokenBucket;
use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One failure to answer the next API call with instead of the real response (queued by
/// [`Faults::inject`], ahead of any plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedFault {
    /// 429, 503, …
    pub status: u16,
    /// The `Retry-After` header to send, in seconds.
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
}

/// What the faults did so far (`GET /_sim/fault-stats`). Kept across plan changes; one-off faults are
/// counted as server errors (5xx) or rate limits (429) too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultStats {
    /// API calls served, faulted or not (control calls excluded).
    pub api_calls: u64,
    /// API calls that met a fault plan (the base the plan's rates apply to).
    #[serde(default)]
    pub calls_under_plan: u64,
    pub server_errors: u64,
    /// 429s of every origin: drawn, queued and quota refusals.
    pub rate_limited: u64,
    /// 429s given because the call found no token in the plan's `rate_limit` bucket.
    #[serde(default)]
    pub rate_limit_refusals: u64,
    /// Calls answered 504 after the hold, processed or not.
    pub timeouts: u64,
    /// Timed-out calls whose change was made (before the answer was lost, or after it).
    pub timeouts_processed: u64,
    /// Of those, the calls made only after their 504 went out (a gateway gave up on a server that
    /// went on with the request).
    #[serde(default)]
    pub timeouts_processed_late: u64,
    pub injected_latency_ms: u64,
    pub webhooks_dropped: u64,
    /// Deliveries sent more than once (each counted once, whatever the number of copies).
    pub webhooks_duplicated: u64,
    /// Deliveries held back for a non-zero part of the reorder window.
    pub webhooks_delayed: u64,
    /// Wall time spent handling API calls, injected latency and holds included: benchmarks subtract it
    /// from their end-to-end time to get tandem's own.
    pub handler_busy_micros: u64,
    /// Create calls answered 429 by the plan's `create_throttle_rate` (also counted in `rate_limited`).
    #[serde(default)]
    pub create_throttles: u64,
    /// Edits a person made after the service account read an item (`meddle_rate`).
    #[serde(default)]
    pub meddles: u64,
}

/// An error answer the fault layer gives in place of the simulator's own; the simulator words it in its
/// vendor's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultAnswer {
    pub status: StatusCode,
    pub retry_after_seconds: Option<u64>,
}

/// Whether and when a timed-out call is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Processed {
    Never,
    /// Before the hold: the change is made and its answer lost.
    BeforeTheAnswer,
    /// A hold after the 504 went out, as a server behind a gateway that gave up goes on with the
    /// request: the change appears after the caller was told the call failed.
    AfterTheAnswer,
}

/// What happens to one API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CallFate {
    pub latency: Duration,
    pub fault: Option<CallFault>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallFault {
    /// Answered at once with an error; the call is not processed.
    Answer(FaultAnswer),
    /// Beyond the plan's quota: answered 429 at once, not processed.
    OverQuota { retry_after_seconds: u64 },
    /// Answered 504 after `hold`; processed as `processed` says.
    Timeout { hold: Duration, processed: Processed },
    /// A create call throttled by the plan: answered 429 at once, not processed.
    CreateThrottled { retry_after_seconds: u64 },
}

/// What happens to one webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryFate {
    Dropped,
    /// Sent `copies` times at once (1 unless duplicated), after `delay`.
    Deliver {
        copies: u32,
        delay: Duration,
    },
}

impl DeliveryFate {
    pub(crate) const UNTOUCHED: DeliveryFate = DeliveryFate::Deliver { copies: 1, delay: Duration::ZERO };
}

/// The statuses a plan's server errors are drawn from.
const SERVER_ERRORS: [StatusCode; 3] =
    [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY, StatusCode::SERVICE_UNAVAILABLE];

/// The fault state of one simulator. Cheap to clone; clones share the state.
#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

struct State {
    plan: Option<FaultPlan>,
    quota: Option<TokenBucket>,
    rng: StdRng,
    queued: VecDeque<InjectedFault>,
    injected: u64,
    stats: FaultStats,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").field("plan", &self.plan()).finish_non_exhaustive()
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            plan: None,
            quota: None,
            rng: StdRng::seed_from_u64(0),
            queued: VecDeque::new(),
            injected: 0,
            stats: FaultStats::default(),
        }
    }
}

impl Faults {
    /// Validates `plan`, then applies it from the next call on, with the rng reseeded from `plan.seed`.
    pub fn set_plan(&self, plan: FaultPlan) -> Result<(), FaultPlanError> {
        plan.validate()?;
        let mut state = self.state();
        state.rng = StdRng::seed_from_u64(plan.seed);
        state.quota = plan.rate_limit.map(|limit| TokenBucket::new(limit, Instant::now()));
        state.plan = Some(plan);
        Ok(())
    }

    /// Back to no latency and no drawn faults; queued one-off faults and the counters stay.
    pub fn clear_plan(&self) {
        let mut state = self.state();
        state.plan = None;
        state.quota = None;
    }

    pub fn plan(&self) -> Option<FaultPlan> {
        self.state().plan.clone()
    }

    pub fn stats(&self) -> FaultStats {
        self.state().stats
    }

    /// The next `count` API calls fail with `fault`, after those already queued.
    pub fn inject(&self, fault: InjectedFault, count: usize) {
        self.state().queued.extend(std::iter::repeat_n(fault, count));
    }

    /// Drops the queued faults, then queues `count` of `fault`.
    pub fn replace_injected(&self, fault: InjectedFault, count: usize) {
        let mut state = self.state();
        state.queued.clear();
        state.queued.extend(std::iter::repeat_n(fault, count));
    }

    /// How many API calls were answered with an injected fault (queued or drawn from the plan).
    pub fn injected(&self) -> u64 {
        self.state().injected
    }

    /// Decides the fate of the next API call (`creates` when it creates an item). A queued fault comes
    /// first and draws nothing from the rng, then the quota, then the plan's drawn faults, then the
    /// throttling of creates; the plan's latency applies to every call.
    pub(crate) fn next_call(&self, creates: bool) -> CallFate {
        self.next_call_at(Instant::now(), creates)
    }

    fn next_call_at(&self, now: Instant, creates: bool) -> CallFate {
        let mut guard = self.state();
        let State { plan, quota, rng, queued, injected, stats } = &mut *guard;
        let latency_ms = plan.as_ref().map_or(0, |plan| rng.random_range(plan.latency_ms.min..=plan.latency_ms.max));
        stats.calls_under_plan += u64::from(plan.is_some());
        stats.injected_latency_ms += latency_ms;
        let fault = match (queued.pop_front(), plan.as_ref()) {
            (Some(fault), _) => {
                let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                Some(CallFault::Answer(FaultAnswer { status, retry_after_seconds: fault.retry_after_seconds }))
            }
            (None, Some(plan)) => match quota.as_mut().map(|bucket| bucket.take(now)) {
                Some(Err(retry_after_seconds)) => Some(CallFault::OverQuota { retry_after_seconds }),
                Some(Ok(())) | None => draw_call_fault(plan, rng, creates)
                    .or_else(|| creates.then(|| draw_create_throttle(plan, rng)).flatten()),
            },
            (None, None) => None,
        };
        if let Some(fault) = fault {
            *injected += 1;
            count_call_fault(stats, fault);
        }
        CallFate { latency: Duration::from_millis(latency_ms), fault }
    }

    /// Decides the fate of the next webhook delivery.
    pub(crate) fn next_delivery(&self) -> DeliveryFate {
        let mut guard = self.state();
        let State { plan, rng, stats, .. } = &mut *guard;
        let Some(plan) = plan.as_ref() else {
            return DeliveryFate::UNTOUCHED;
        };
        if rng.random_bool(plan.webhook_drop_rate) {
            stats.webhooks_dropped += 1;
            return DeliveryFate::Dropped;
        }
        let copies = if rng.random_bool(plan.webhook_duplicate_rate) {
            stats.webhooks_duplicated += 1;
            1 + plan.webhook_duplicate_copies
        } else {
            1
        };
        let reordered_ms =
            if plan.webhook_reorder_window_ms > 0 { rng.random_range(0..plan.webhook_reorder_window_ms) } else { 0 };
        if reordered_ms > 0 {
            stats.webhooks_delayed += 1;
        }
        DeliveryFate::Deliver { copies, delay: Duration::from_millis(plan.webhook_delay_ms + reordered_ms) }
    }

    /// The plan's cap on search pages, if any.
    pub(crate) fn search_page_limit(&self) -> Option<usize> {
        self.state().plan.as_ref().and_then(|plan| plan.search_page_limit)
    }

    /// Whether the plan makes searches lag behind writes.
    pub(crate) fn lags_searches(&self) -> bool {
        self.state().plan.as_ref().is_some_and(FaultPlan::lags_searches)
    }

    /// How long the change being made takes to show in searches, drawn from `search_lag_ms`; `None` when
    /// searches do not lag (no rng draw then, so plans without a lag keep their sequences).
    pub(crate) fn draw_search_lag(&self) -> Option<Duration> {
        let mut guard = self.state();
        let State { plan, rng, .. } = &mut *guard;
        let range = plan.as_ref().filter(|plan| plan.lags_searches())?.search_lag_ms;
        Some(Duration::from_millis(rng.random_range(range.min..=range.max)))
    }

    /// Whether a person edits the item the service account just read (`meddle_rate`); when so, the
    /// meddle's number (1 for the first), counted in the stats.
    pub(crate) fn draw_meddle(&self) -> Option<u64> {
        let mut guard = self.state();
        let State { plan, rng, stats, .. } = &mut *guard;
        let rate = plan.as_ref().map_or(0.0, |plan| plan.meddle_rate);
        if rate <= 0.0 || !rng.random_bool(rate) {
            return None;
        }
        stats.meddles += 1;
        Some(stats.meddles)
    }

    /// Counts one API call that took `busy` to handle.
    pub(crate) fn record_call(&self, busy: Duration) {
        let mut state = self.state();
        state.stats.api_calls += 1;
        state.stats.handler_busy_micros += u64::try_from(busy.as_micros()).unwrap_or(u64::MAX);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update is a few plain assignments, so a poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One roll against the three per-call rates, laid end to end in `[0, 1)`. Only a create is made
/// after its answer: an edit landing late could undo a newer one, which no client of a system without
/// conditional edits (Jira) can prevent, while a late copy is one a client can wait for.
fn draw_call_fault(plan: &FaultPlan, rng: &mut StdRng, creates: bool) -> Option<CallFault> {
    let roll: f64 = rng.random();
    if roll < plan.server_error_rate {
        let status = SERVER_ERRORS[rng.random_range(0..SERVER_ERRORS.len())];
        return Some(CallFault::Answer(FaultAnswer { status, retry_after_seconds: None }));
    }
    if roll < plan.server_error_rate + plan.rate_limit_rate {
        let answer =
            FaultAnswer { status: StatusCode::TOO_MANY_REQUESTS, retry_after_seconds: Some(plan.retry_after_seconds) };
        return Some(CallFault::Answer(answer));
    }
    if roll < plan.server_error_rate + plan.rate_limit_rate + plan.timeout_rate {
        let processed = match rng.random_range(0..4) {
            0 | 1 => Processed::Never,
            3 if creates => Processed::AfterTheAnswer,
            _ => Processed::BeforeTheAnswer,
        };
        return Some(CallFault::Timeout { hold: Duration::from_millis(plan.timeout_hold_ms), processed });
    }
    None
}

/// Throttles a create call at the plan's `create_throttle_rate` (no draw when the rate is 0).
fn draw_create_throttle(plan: &FaultPlan, rng: &mut StdRng) -> Option<CallFault> {
    let throttled = plan.create_throttle_rate > 0.0 && rng.random_bool(plan.create_throttle_rate);
    throttled.then_some(CallFault::CreateThrottled { retry_after_seconds: plan.create_retry_after_seconds })
}

fn count_call_fault(stats: &mut FaultStats, fault: CallFault) {
    match fault {
        CallFault::Answer(FaultAnswer { status: StatusCode::TOO_MANY_REQUESTS, .. }) => stats.rate_limited += 1,
        CallFault::Answer(answer) if answer.status.is_server_error() => stats.server_errors += 1,
        // A one-off fault with another status (a 4xx) is only counted in `injected`.
        CallFault::Answer(_) => {}
        CallFault::OverQuota { .. } => {
            stats.rate_limited += 1;
            stats.rate_limit_refusals += 1;
        }
        CallFault::Timeout { processed, .. } => {
            stats.timeouts += 1;
            stats.timeouts_processed += u64::from(processed != Processed::Never);
            stats.timeouts_processed_late += u64::from(processed == Processed::AfterTheAnswer);
        }
        CallFault::CreateThrottled { .. } => {
            stats.rate_limited += 1;
            stats.create_throttles += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(faults: &Faults, calls: usize) -> Vec<Option<CallFault>> {
        (0..calls).map(|_| faults.next_call(false).fault).collect()
    }

    #[test]
    fn the_same_seed_makes_the_same_decisions() {
        let plan = FaultPlan {
            seed: 42,
            server_error_rate: 0.2,
            rate_limit_rate: 0.2,
            timeout_rate: 0.2,
            latency_ms: crate::faults::LatencyRange { min: 0, max: 5 },
            ..FaultPlan::none()
        };
        let first = Faults::default();
        first.set_plan(plan.clone()).unwrap();
        let second = Faults::default();
        second.set_plan(plan.clone()).unwrap();
        let drawn = statuses(&first, 200);
        assert_eq!(drawn, statuses(&second, 200));
        assert_eq!(first.stats(), second.stats());
        let other = Faults::default();
        other.set_plan(FaultPlan { seed: 43, ..plan }).unwrap();
        assert_ne!(drawn, statuses(&other, 200));
    }

    #[test]
    fn queued_faults_come_first_and_replacing_drops_the_rest() {
        let faults = Faults::default();
        faults.inject(InjectedFault { status: 429, retry_after_seconds: Some(3) }, 2);
        faults.replace_injected(InjectedFault { status: 503, retry_after_seconds: None }, 1);
        faults.set_plan(FaultPlan { rate_limit_rate: 1.0, ..FaultPlan::none() }).unwrap();
        let answer = |status, retry_after_seconds| Some(CallFault::Answer(FaultAnswer { status, retry_after_seconds }));
        assert_eq!(
            statuses(&faults, 2),
            [answer(StatusCode::SERVICE_UNAVAILABLE, None), answer(StatusCode::TOO_MANY_REQUESTS, Some(1))]
        );
        faults.clear_plan();
        assert_eq!(statuses(&faults, 1), [None]);
        assert_eq!(faults.injected(), 2);
        let stats = faults.stats();
        assert_eq!((stats.server_errors, stats.rate_limited), (1, 1));
    }

    #[test]
    fn calls_beyond_the_quota_are_refused_and_counted_apart() {
        let faults = Faults::default();
        let quota = crate::faults::RateLimit { requests_per_second: 1.0, burst: 2 };
        faults.set_plan(FaultPlan { rate_limit: Some(quota), ..FaultPlan::none() }).unwrap();
        let now = Instant::now();
        let fates: Vec<_> = (0..3).map(|_| faults.next_call_at(now, false).fault).collect();
        assert_eq!(fates, [None, None, Some(CallFault::OverQuota { retry_after_seconds: 1 })]);
        faults.inject(InjectedFault { status: 429, retry_after_seconds: None }, 1);
        assert!(
            matches!(faults.next_call_at(now, false).fault, Some(CallFault::Answer(_))),
            "a queued fault comes first"
        );
        let stats = faults.stats();
        assert_eq!((stats.rate_limited, stats.rate_limit_refusals), (2, 1));
        faults.clear_plan();
        assert_eq!(faults.next_call_at(now, false).fault, None, "the quota goes with its plan");
    }

    #[test]
    fn only_creates_are_throttled_and_a_rate_of_zero_draws_nothing() {
        let throttling = Faults::default();
        throttling
            .set_plan(FaultPlan { create_throttle_rate: 1.0, create_retry_after_seconds: 90, ..FaultPlan::none() })
            .unwrap();
        assert_eq!(throttling.next_call(false).fault, None);
        assert_eq!(throttling.next_call(true).fault, Some(CallFault::CreateThrottled { retry_after_seconds: 90 }));
        let stats = throttling.stats();
        assert_eq!((stats.create_throttles, stats.rate_limited), (1, 1));

        let plan = FaultPlan { seed: 8, server_error_rate: 0.3, ..FaultPlan::none() };
        let (plain, with_zero_rates) = (Faults::default(), Faults::default());
        plain.set_plan(plan.clone()).unwrap();
        with_zero_rates.set_plan(plan).unwrap();
        let drawn: Vec<_> = (0..50).map(|_| plain.next_call(false).fault).collect();
        let with_creates: Vec<_> = (0..50)
            .map(|_| {
                assert_eq!(with_zero_rates.draw_meddle(), None);
                assert_eq!(with_zero_rates.draw_search_lag(), None);
                with_zero_rates.next_call(true).fault
            })
            .collect();
        assert_eq!(drawn, with_creates, "rates of 0 leave the seeded sequence alone");
    }

    #[test]
    fn meddles_and_search_lags_are_drawn_from_the_plan() {
        let faults = Faults::default();
        assert!(!faults.lags_searches());
        let lag = crate::faults::LatencyRange { min: 20, max: 40 };
        faults.set_plan(FaultPlan { meddle_rate: 1.0, search_lag_ms: lag, ..FaultPlan::none() }).unwrap();
        assert!(faults.lags_searches());
        assert_eq!((faults.draw_meddle(), faults.draw_meddle()), (Some(1), Some(2)));
        let delay = faults.draw_search_lag().unwrap();
        assert!((Duration::from_millis(20)..=Duration::from_millis(40)).contains(&delay), "{delay:?}");
        assert_eq!(faults.stats().meddles, 2);
    }

    #[test]
    fn without_a_plan_deliveries_are_untouched() {
        let faults = Faults::default();
        assert_eq!(faults.next_delivery(), DeliveryFate::UNTOUCHED);
        faults.set_plan(FaultPlan { webhook_drop_rate: 1.0, ..FaultPlan::none() }).unwrap();
        assert_eq!(faults.next_delivery(), DeliveryFate::Dropped);
        faults
            .set_plan(FaultPlan { webhook_duplicate_rate: 1.0, webhook_duplicate_copies: 2, ..FaultPlan::none() })
            .unwrap();
        assert_eq!(faults.next_delivery(), DeliveryFate::Deliver { copies: 3, delay: Duration::ZERO });
        let stats = faults.stats();
        assert_eq!((stats.webhooks_dropped, stats.webhooks_duplicated), (1, 1));
    }

    #[test]
    fn an_invalid_plan_leaves_the_current_one() {
        let faults = Faults::default();
        let plan = FaultPlan { rate_limit_rate: 0.5, ..FaultPlan::none() };
        faults.set_plan(plan.clone()).unwrap();
        assert!(faults.set_plan(FaultPlan { rate_limit_rate: 2.0, ..FaultPlan::none() }).is_err());
        assert_eq!(faults.plan(), Some(plan));
    }
}
