//! Seeded, configurable fault injection, shared by the simulators: the failures a real Jira or Azure
//! DevOps shows under load, reproducible from a seed, so tests and benchmarks can prove that tandem
//! keeps items in sync exactly once through them.
//!
//! # The fault plan
//!
//! A [`FaultPlan`] is set on a running simulator with `set_fault_plan` or `PUT /_sim/fault-plan` (a JSON
//! plan; fields left out keep the defaults of [`FaultPlan::none`], unknown fields and invalid values are
//! answered 400 with a message naming the field), removed with `clear_fault_plan` or
//! `DELETE /_sim/fault-plan`, and read back with `GET /_sim/fault-plan`. What the faults did is counted in
//! [`FaultStats`] (`fault_stats`, `GET /_sim/fault-stats`).
//!
//! ```json
//! { "seed": 7, "latency_ms": {"min": 5, "max": 40},
//!   "server_error_rate": 0.05, "rate_limit_rate": 0.05, "retry_after_seconds": 1,
//!   "timeout_rate": 0.02, "timeout_hold_ms": 2000,
//!   "webhook_drop_rate": 0.1, "webhook_duplicate_rate": 0.1, "webhook_duplicate_copies": 2,
//!   "webhook_reorder_window_ms": 300,
//!   "rate_limit": {"requests_per_second": 40, "burst": 10},
//!   "create_throttle_rate": 0.1, "create_retry_after_seconds": 60,
//!   "search_lag_ms": {"min": 200, "max": 2000}, "meddle_rate": 0.05 }
//! ```
//!
//! For every vendor API call (never the `/_sim/…` control paths), in this order:
//! - a latency drawn uniformly from `latency_ms` is added;
//! - with a `rate_limit`, a token bucket (full at `burst`, refilled at `requests_per_second`) decides
//!   whether the call is within the quota; a call without a token is answered 429 without being
//!   processed, with `Retry-After` set to the whole seconds until the next token (at least 1), and counted
//!   in both `rate_limited` and `rate_limit_refusals`. Jira's refusal says `RateLimit-Reason:
//!   jira-quota-global-based`. The bucket is refilled by wall time, so it is the one decision a seed does
//!   not fix;
//! - one roll decides between a server error (`server_error_rate`: 500, 502 or 503, drawn), a rate limit
//!   (`rate_limit_rate`: 429 with `Retry-After: retry_after_seconds`), a timeout (`timeout_rate`) and a
//!   normal answer. Server errors and rate limits are answered without processing the call. A timeout holds
//!   the answer for `timeout_hold_ms` and then answers 504; half of the timeouts (drawn) are processed
//!   first, so the change was made although its answer was lost, except that half of those creates are
//!   made a hold after the 504 went out, so the copy appears after the caller was told the call failed
//!   — the hardest cases for exactly-once (an edit is never made late: on Jira, which has no
//!   conditional edit, no client could keep it from undoing a newer one);
//! - a create call (Jira `POST /rest/api/3/issue`, Azure DevOps `POST …/workitems/$Type`) that got
//!   through is throttled at `create_throttle_rate`: answered 429 with
//!   `Retry-After: create_retry_after_seconds` (60 by default, as the vendors throttle creation for long),
//!   unprocessed, counted in `rate_limited` and `create_throttles`.
//!
//! Beyond single calls:
//! - `search_lag_ms` makes searches (Jira's `search/jql`, Azure DevOps' WIQL) lag behind writes: each
//!   change of an item becomes visible to them after a delay drawn from the range, and until then they
//!   see the newest version already visible (an item whose creation is not visible yet is absent).
//!   Reads of one item stay current. Clearing the plan makes everything visible at once;
//! - `meddle_rate` is the share of the service account's reads of one item (Jira `GET
//!   /rest/api/3/issue/{key}`, Azure DevOps `GET …/workitems/{id}`) after which the first person (the
//!   user configured after the service account) edits that item's title, as people do between a
//!   reader's read and its write: ` (edited meanwhile N)` is appended (or renumbered), and the edit's
//!   webhook goes out as for any edit. Counted in `meddles`.
//!
//! Errors are worded in the vendor's shape (Jira's `errorMessages`/`errors` with `RateLimit-Reason` on
//! 429; Azure DevOps' `$id`/`message`/`typeKey`).
//!
//! For every webhook delivery (one event to one subscription):
//! - `webhook_drop_rate` of them are never made;
//! - `webhook_duplicate_rate` of them are made `1 + webhook_duplicate_copies` times at once, all with the
//!   same delivery id, as the vendors' retries carry it;
//! - each waits a random `0..webhook_reorder_window_ms` before it is sent, so later events overtake
//!   earlier ones.
//!
//! # Determinism
//!
//! Each simulator has one [`Faults`]: the plan, and one rng (`StdRng`) behind a mutex, reseeded from
//! `seed` whenever a plan is set and drawn from by the API calls, the webhook deliveries, the search lags
//! and the meddles. The same seed and the same order of calls give the same decisions; concurrent calls
//! are ordered by whoever takes the lock first. A rate of 0 (or a search lag of `{0, 0}`) draws nothing,
//! so plans that leave the newer fields out keep their sequences.
//!
//! # One-off faults
//!
//! Besides the plan, a queue of one-off faults ([`InjectedFault`], `Faults::inject`) answers the next calls
//! with a given status; a queued fault comes before the plan (its quota included) and draws nothing from
//! the rng.
//!
//! # Timing
//!
//! Every API call, with or without a plan, adds its wall time (latency and holds included) to
//! `FaultStats::handler_busy_micros`, so a benchmark can subtract the simulators' time from its own.
//!
//! # Recording
//!
//! Jira's contract declares neither 429 nor 5xx for most operations, so Jira's fault layer sits outside its
//! recorder: an injected answer is neither recorded nor checked, and a timed-out call that was processed is
//! recorded with the answer Jira gave before it was lost. Azure DevOps' contract declares every 4xx and
//! 5xx, and its recorder keeps the injected answers, as the exchange log always did.

mod control;
mod layer;
mod plan;
mod rate_limit;
mod search_lag;
mod state;

pub(crate) use control::router as control_router;
pub(crate) use layer::{measure, FaultLayer};
pub use layer::{wall_busy_micros, WallSpan};
pub use plan::{FaultPlan, FaultPlanError, LatencyRange, MAX_DUPLICATE_COPIES};
pub use rate_limit::RateLimit;
pub(crate) use search_lag::SearchLag;
pub(crate) use state::DeliveryFate;
pub use state::{FaultAnswer, FaultStats, Faults, InjectedFault};
