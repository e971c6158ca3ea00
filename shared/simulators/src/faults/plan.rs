//! The fault plan: which failures a simulator injects, how often, and with what seed.

use super::rate_limit::RateLimit;
use serde::{Deserialize, Serialize};

/// What a simulator does to its API calls and webhook deliveries, drawn from one rng seeded with `seed`.
///
/// Every field has a default (that of [`FaultPlan::none`]), so a JSON plan names only what it changes;
/// unknown fields are refused so that a misspelt rate does not silently mean 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Seeds the simulator's rng when the plan is set: the same seed and the same call order give the
    /// same decisions.
    pub seed: u64,
    /// Added to every API call (faulted or not), uniformly drawn from the range.
    pub latency_ms: LatencyRange,
    /// Share of API calls answered 500, 502 or 503 (chosen by the rng) without being processed.
    pub server_error_rate: f64,
    /// Share of API calls answered 429 with `Retry-After: retry_after_seconds`, without being processed.
    pub rate_limit_rate: f64,
    pub retry_after_seconds: u64,
    /// Share of API calls whose answer never comes in time: held for `timeout_hold_ms`, then 504. Half of
    /// them (drawn by the rng) are processed first, so the write happened but its answer was lost; a
    /// create may instead be made a hold after its 504, as by a server behind a gateway that gave up.
    pub timeout_rate: f64,
    pub timeout_hold_ms: u64,
    /// Share of webhook deliveries never made.
    pub webhook_drop_rate: f64,
    /// Share of webhook deliveries made `1 + webhook_duplicate_copies` times at once, all with the same
    /// delivery id, as the vendors' own retries carry it.
    pub webhook_duplicate_rate: f64,
    pub webhook_duplicate_copies: u32,
    /// Each delivery waits a random `0..window` milliseconds before it is sent, so later events overtake
    /// earlier ones.
    pub webhook_reorder_window_ms: u64,
    /// Every delivery waits this long first, as the vendors send webhooks some time after the change
    /// (seconds, in their documentation's words "near real time"); none by default.
    pub webhook_delay_ms: u64,
    /// The vendor's request quota: calls beyond it are answered 429 with `Retry-After` until a token is
    /// free (see [`RateLimit`]); none by default.
    pub rate_limit: Option<RateLimit>,
    /// How long each change of an item takes to show in searches (Jira's JQL search, Azure DevOps' WIQL),
    /// drawn per change; reads of one item stay current. `{0, 0}` (the default) is off.
    pub search_lag_ms: LatencyRange,
    /// Share of create calls (a new issue or work item) answered 429 with
    /// `Retry-After: create_retry_after_seconds`, without being processed: the vendors throttle creation
    /// harder than other writes.
    pub create_throttle_rate: f64,
    pub create_retry_after_seconds: u64,
    /// Share of the service account's reads of one item after which a person (the first one configured
    /// after the service account) edits that item's title, as if someone had changed it between the read
    /// and the write that follows.
    pub meddle_rate: f64,
    /// The most issues one Jira search page holds, below what Jira allows: Jira documents that it may
    /// return fewer than asked for. `None` (the default) leaves Jira's own limits.
    pub search_page_limit: Option<usize>,
}

/// An inclusive range of milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatencyRange {
    pub min: u64,
    pub max: u64,
}

/// The most copies of one delivery a plan may ask for; more would flood a receiver, not test it.
pub const MAX_DUPLICATE_COPIES: u32 = 100;

/// The three per-call rates are shares of one draw; float addition may overshoot 1 by a rounding error.
const RATE_SUM_TOLERANCE: f64 = 1e-9;

/// Why a plan cannot be used; each variant names the field(s) at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultPlanError {
    #[error("{field} must be a rate between 0 and 1, not {value}")]
    RateOutOfRange { field: &'static str, value: f64 },
    #[error("server_error_rate + rate_limit_rate + timeout_rate must not exceed 1, not {sum}")]
    CallRatesAboveOne { sum: f64 },
    #[error("latency_ms.min ({min}) must not exceed latency_ms.max ({max})")]
    LatencyRangeReversed { min: u64, max: u64 },
    #[error(
        "webhook_duplicate_copies must be between 1 and {MAX_DUPLICATE_COPIES} when webhook_duplicate_rate is above 0, not {copies}"
    )]
    DuplicateCopiesOutOfRange { copies: u32 },
    #[error("rate_limit.requests_per_second must be above 0, not {value}")]
    QuotaRateNotPositive { value: f64 },
    #[error("rate_limit.burst must be at least 1: a bucket without room for one call refuses every call")]
    QuotaBurstZero,
    #[error("search_lag_ms.min ({min}) must not exceed search_lag_ms.max ({max})")]
    SearchLagRangeReversed { min: u64, max: u64 },
    #[error("search_page_limit must be at least 1: pages without room for one issue never end")]
    SearchPageLimitZero,
}

impl FaultPlanError {
    /// A plan is data: sending the same one again fails the same way.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// The plan field the error is about (the first of them, for the sum of the per-call rates).
    pub fn field(&self) -> &'static str {
        match self {
            FaultPlanError::RateOutOfRange { field, .. } => field,
            FaultPlanError::CallRatesAboveOne { .. } => "server_error_rate",
            FaultPlanError::LatencyRangeReversed { .. } => "latency_ms",
            FaultPlanError::DuplicateCopiesOutOfRange { .. } => "webhook_duplicate_copies",
            FaultPlanError::QuotaRateNotPositive { .. } => "rate_limit.requests_per_second",
            FaultPlanError::QuotaBurstZero => "rate_limit.burst",
            FaultPlanError::SearchLagRangeReversed { .. } => "search_lag_ms",
            FaultPlanError::SearchPageLimitZero => "search_page_limit",
        }
    }
}

impl FaultPlan {
    /// No faults and no latency.
    pub fn none() -> Self {
        FaultPlan {
            seed: 0,
            latency_ms: LatencyRange::default(),
            server_error_rate: 0.0,
            rate_limit_rate: 0.0,
            retry_after_seconds: 1,
            timeout_rate: 0.0,
            timeout_hold_ms: 1_000,
            webhook_drop_rate: 0.0,
            webhook_duplicate_rate: 0.0,
            webhook_duplicate_copies: 1,
            webhook_reorder_window_ms: 0,
            webhook_delay_ms: 0,
            rate_limit: None,
            search_lag_ms: LatencyRange::default(),
            create_throttle_rate: 0.0,
            create_retry_after_seconds: 60,
            meddle_rate: 0.0,
            search_page_limit: None,
        }
    }

    /// Whether searches lag behind writes under this plan.
    pub fn lags_searches(&self) -> bool {
        self.search_lag_ms.max > 0
    }

    /// Rates in `[0, 1]`, the three per-call rates summing to at most 1, `latency_ms.min <= max` (and the
    /// same for `search_lag_ms`), a sensible number of duplicate copies when duplicates are asked for, and
    /// a quota that lets calls through.
    pub fn validate(&self) -> Result<(), FaultPlanError> {
        let rates = [
            ("server_error_rate", self.server_error_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("timeout_rate", self.timeout_rate),
            ("webhook_drop_rate", self.webhook_drop_rate),
            ("webhook_duplicate_rate", self.webhook_duplicate_rate),
            ("create_throttle_rate", self.create_throttle_rate),
            ("meddle_rate", self.meddle_rate),
        ];
        for (field, value) in rates {
            // `contains` is false for NaN, which is refused with the rest.
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultPlanError::RateOutOfRange { field, value });
            }
        }
        let sum = self.server_error_rate + self.rate_limit_rate + self.timeout_rate;
        if sum > 1.0 + RATE_SUM_TOLERANCE {
            return Err(FaultPlanError::CallRatesAboveOne { sum });
        }
        if self.latency_ms.min > self.latency_ms.max {
            return Err(FaultPlanError::LatencyRangeReversed { min: self.latency_ms.min, max: self.latency_ms.max });
        }
        if self.search_lag_ms.min > self.search_lag_ms.max {
            let LatencyRange { min, max } = self.search_lag_ms;
            return Err(FaultPlanError::SearchLagRangeReversed { min, max });
        }
        if self.search_page_limit == Some(0) {
            return Err(FaultPlanError::SearchPageLimitZero);
        }
        let copies = self.webhook_duplicate_copies;
        if self.webhook_duplicate_rate > 0.0 && !(1..=MAX_DUPLICATE_COPIES).contains(&copies) {
            return Err(FaultPlanError::DuplicateCopiesOutOfRange { copies });
        }
        if let Some(limit) = self.rate_limit {
            // Written so that NaN is refused too.
            if !(limit.requests_per_second > 0.0 && limit.requests_per_second.is_finite()) {
                return Err(FaultPlanError::QuotaRateNotPositive { value: limit.requests_per_second });
            }
            if limit.burst == 0 {
                return Err(FaultPlanError::QuotaBurstZero);
            }
        }
        Ok(())
    }
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_plan_names_only_what_it_changes() {
        let plan: FaultPlan = serde_json::from_str(r#"{"seed": 7, "rate_limit_rate": 0.5}"#).unwrap();
        assert_eq!(plan, FaultPlan { seed: 7, rate_limit_rate: 0.5, ..FaultPlan::none() });
        assert_eq!(plan.validate(), Ok(()));
        let latency: FaultPlan = serde_json::from_str(r#"{"latency_ms": {"max": 20}}"#).unwrap();
        assert_eq!(latency.latency_ms, LatencyRange { min: 0, max: 20 });
    }

    #[test]
    fn the_newer_faults_are_off_by_default() {
        let plan = FaultPlan::none();
        assert!(!plan.lags_searches());
        assert_eq!((plan.create_throttle_rate, plan.create_retry_after_seconds, plan.meddle_rate), (0.0, 60, 0.0));
        let lagging: FaultPlan = serde_json::from_str(r#"{"search_lag_ms": {"min": 10, "max": 50}}"#).unwrap();
        assert!(lagging.lags_searches());
        assert_eq!(lagging.validate(), Ok(()));
    }

    fn quota(requests_per_second: f64, burst: u32) -> FaultPlan {
        FaultPlan { rate_limit: Some(RateLimit { requests_per_second, burst }), ..FaultPlan::none() }
    }

    #[test]
    fn a_quota_is_optional_and_needs_both_of_its_fields() {
        assert_eq!(FaultPlan::none().rate_limit, None);
        let plan: FaultPlan =
            serde_json::from_str(r#"{"rate_limit": {"requests_per_second": 40, "burst": 10}}"#).unwrap();
        assert_eq!(plan, quota(40.0, 10));
        assert_eq!(plan.validate(), Ok(()));
        let missing = serde_json::from_str::<FaultPlan>(r#"{"rate_limit": {"requests_per_second": 40}}"#);
        assert!(missing.unwrap_err().to_string().contains("burst"));
        let misspelt = serde_json::from_str::<FaultPlan>(r#"{"rate_limit": {"rps": 40, "burst": 1}}"#);
        assert!(misspelt.unwrap_err().to_string().contains("rps"));
    }

    #[test]
    fn misspelt_fields_are_refused() {
        let error = serde_json::from_str::<FaultPlan>(r#"{"server_error_rat": 0.5}"#).unwrap_err();
        assert!(error.to_string().contains("server_error_rat"), "{error}");
        assert!(serde_json::from_str::<FaultPlan>(r#"{"latency_ms": {"mni": 1}}"#).is_err());
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases = [
            (FaultPlan { timeout_rate: 1.5, ..FaultPlan::none() }, "timeout_rate"),
            (FaultPlan { webhook_drop_rate: -0.1, ..FaultPlan::none() }, "webhook_drop_rate"),
            (FaultPlan { webhook_duplicate_rate: f64::NAN, ..FaultPlan::none() }, "webhook_duplicate_rate"),
            (FaultPlan { server_error_rate: 0.6, rate_limit_rate: 0.5, ..FaultPlan::none() }, "server_error_rate"),
            (FaultPlan { latency_ms: LatencyRange { min: 5, max: 1 }, ..FaultPlan::none() }, "latency_ms"),
            (
                FaultPlan { webhook_duplicate_rate: 0.1, webhook_duplicate_copies: 0, ..FaultPlan::none() },
                "webhook_duplicate_copies",
            ),
            (quota(0.0, 5), "rate_limit.requests_per_second"),
            (quota(f64::NAN, 5), "rate_limit.requests_per_second"),
            (quota(10.0, 0), "rate_limit.burst"),
            (FaultPlan { create_throttle_rate: 1.1, ..FaultPlan::none() }, "create_throttle_rate"),
            (FaultPlan { meddle_rate: -0.5, ..FaultPlan::none() }, "meddle_rate"),
            (FaultPlan { search_lag_ms: LatencyRange { min: 9, max: 3 }, ..FaultPlan::none() }, "search_lag_ms"),
        ];
        for (plan, field) in cases {
            let error = plan.validate().unwrap_err();
            assert_eq!(error.field(), field);
            assert!(error.to_string().contains(field), "{error}");
            assert!(!error.is_retryable());
        }
    }

    #[test]
    fn per_call_rates_may_sum_to_exactly_one_despite_rounding() {
        let plan = FaultPlan { server_error_rate: 0.1, rate_limit_rate: 0.2, timeout_rate: 0.7, ..FaultPlan::none() };
        assert_eq!(plan.validate(), Ok(()));
        assert_eq!(FaultPlan::none().validate(), Ok(()));
    }
}
