//! The axum middlewares that apply a simulator's [`Faults`] to its API calls and time them. Control
//! paths (`/_sim/…`) pass through both untouched.

use super::rate_limit::name_quota_reason;
use super::state::{CallFault, FaultAnswer, Faults, Processed};
use crate::recording::CONTROL_PREFIX;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Words an injected answer in the vendor's error shape for the path called (an OAuth endpoint answers
/// in another shape than the REST API behind it).
pub(crate) type RenderFault = fn(&str, FaultAnswer) -> Response;

/// Whether a call (method, path) creates an item, for the plan's throttling of creates.
pub(crate) type IsCreate = fn(&str, &str) -> bool;

/// Injects faults into the API calls it wraps. Where a simulator puts it decides whether its recorder
/// sees the injected answers.
#[derive(Clone)]
pub(crate) struct FaultLayer {
    faults: Faults,
    render: RenderFault,
    is_create: IsCreate,
}

impl FaultLayer {
    pub(crate) fn new(faults: Faults, render: RenderFault, is_create: IsCreate) -> Self {
        FaultLayer { faults, render, is_create }
    }

    /// `router.layer(axum::middleware::from_fn_with_state(layer, FaultLayer::inject))`.
    pub(crate) async fn inject(State(layer): State<FaultLayer>, request: Request, next: Next) -> Response {
        if is_control(&request) {
            return next.run(request).await;
        }
        let path = request.uri().path().to_string();
        let creates = (layer.is_create)(request.method().as_str(), &path);
        let fate = layer.faults.next_call(creates);
        if !fate.latency.is_zero() {
            tokio::time::sleep(fate.latency).await;
        }
        match fate.fault {
            None => next.run(request).await,
            Some(CallFault::Answer(answer)) => (layer.render)(&path, answer),
            Some(CallFault::CreateThrottled { retry_after_seconds }) => (layer.render)(
                &path,
                FaultAnswer { status: StatusCode::TOO_MANY_REQUESTS, retry_after_seconds: Some(retry_after_seconds) },
            ),
            Some(CallFault::OverQuota { retry_after_seconds }) => {
                let answer = FaultAnswer {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    retry_after_seconds: Some(retry_after_seconds),
                };
                let mut response = (layer.render)(&path, answer);
                name_quota_reason(&mut response);
                response
            }
            Some(CallFault::Timeout { hold, processed: Processed::AfterTheAnswer }) => {
                // The gateway gives up first; the server behind it makes the change a hold later.
                tokio::spawn(async move {
                    tokio::time::sleep(hold).await;
                    next.run(request).await
                });
                tokio::time::sleep(hold).await;
                (layer.render)(&path, FaultAnswer { status: StatusCode::GATEWAY_TIMEOUT, retry_after_seconds: None })
            }
            Some(CallFault::Timeout { hold, processed }) => {
                // The change is made and its answer thrown away, as when a gateway gives up on a slow
                // backend; who made it stays on the answer so that a recorder outside still counts it.
                let processed_extensions = if processed == Processed::BeforeTheAnswer {
                    let (mut parts, _) = next.run(request).await.into_parts();
                    parts.extensions.insert(crate::recording::LostAnswer(parts.status.as_u16()));
                    Some(parts.extensions)
                } else {
                    None
                };
                tokio::time::sleep(hold).await;
                let mut response = (layer.render)(
                    &path,
                    FaultAnswer { status: StatusCode::GATEWAY_TIMEOUT, retry_after_seconds: None },
                );
                if let Some(extensions) = processed_extensions {
                    response.extensions_mut().extend(extensions);
                }
                response
            }
        }
    }
}

/// Counts API calls and the wall time spent on them (`router.layer(axum::middleware::from_fn_with_state(
/// faults, measure))`, outermost so that everything the simulator does is inside).
pub(crate) async fn measure(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    if is_control(&request) {
        return next.run(request).await;
    }
    let _busy = BusyTimer::start(faults);
    next.run(request).await
}

/// Records the call when dropped, so a call whose client went away mid-hold is still counted.
struct BusyTimer {
    faults: Faults,
    started: Instant,
    _wall: WallSpan,
}

impl BusyTimer {
    fn start(faults: Faults) -> Self {
        BusyTimer { faults, started: Instant::now(), _wall: WallSpan::start() }
    }
}

impl Drop for BusyTimer {
    fn drop(&mut self) {
        self.faults.record_call(self.started.elapsed());
    }
}

/// A stretch of wall time spent answering a call, on the clock [`wall_busy_micros`] reads: a
/// simulator's API call, or another dependency a benchmark stands in for (a relay to moto).
#[must_use = "the span ends when dropped"]
pub struct WallSpan(());

impl WallSpan {
    pub fn start() -> WallSpan {
        let mut wall = wall();
        if wall.in_flight == 0 {
            wall.since = Some(Instant::now());
        }
        wall.in_flight += 1;
        WallSpan(())
    }
}

impl Drop for WallSpan {
    fn drop(&mut self) {
        let mut wall = wall();
        wall.in_flight = wall.in_flight.saturating_sub(1);
        if wall.in_flight == 0 {
            if let Some(since) = wall.since.take() {
                wall.busy += since.elapsed();
            }
        }
    }
}

/// The wall time during which any simulator of this process handled an API call.
#[derive(Debug, Default)]
struct WallClock {
    in_flight: usize,
    since: Option<Instant>,
    busy: std::time::Duration,
}

static WALL: std::sync::Mutex<WallClock> =
    std::sync::Mutex::new(WallClock { in_flight: 0, since: None, busy: std::time::Duration::ZERO });

fn wall() -> std::sync::MutexGuard<'static, WallClock> {
    WALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Microseconds of wall time during which at least one simulator in this process was handling an API
/// call, or a [`WallSpan`] was open (calls made at once count once): what a benchmark subtracts from its end-to-end time, where
/// the simulators' own `handler_busy_micros` would add overlapping calls up to more than they took.
pub fn wall_busy_micros() -> u64 {
    let wall = wall();
    let running = wall.since.map_or(std::time::Duration::ZERO, |since| since.elapsed());
    u64::try_from((wall.busy + running).as_micros()).unwrap_or(u64::MAX)
}

fn is_control(request: &Request) -> bool {
    request.uri().path().starts_with(CONTROL_PREFIX)
}
