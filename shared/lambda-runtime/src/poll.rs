//! One scheduled poll: every active integration, both sides, then the due failures, until the
//! deadline. An integration that cannot be brought up or polled is logged and the others still run;
//! watermarks only move past what was done, so the next run continues where this one stopped.

use crate::error::RuntimeError;
use crate::runtime::Runtime;
use serde::Serialize;
use tandem_engine::Engine;
use tandem_model::Side;
use tokio::time::Instant;
use tracing::{error, info, warn};

/// What one poll run did, in all integrations together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollSummary {
    /// Active integrations polled (wholly or until the deadline).
    pub integrations: usize,
    /// Changed items read from the systems.
    pub items: usize,
    pub synced: usize,
    /// Items whose sync failed; each is recorded for a retry.
    pub failed: usize,
    /// Recorded failures retried, how many succeeded, how many were parked for an operator.
    pub retried: usize,
    pub retry_succeeded: usize,
    pub parked: usize,
    /// Integrations or sides that could not be polled at all (logged with the reason), invalid
    /// configurations included.
    pub errors: usize,
    /// Active integrations not polled because their stored configuration cannot be used (logged with
    /// every problem); their changes wait, behind their watermarks, until it is fixed.
    pub invalid_configurations: usize,
    /// The deadline came first; the next run continues.
    pub stopped_early: bool,
    /// Failures parked for an operator in the polled integrations, after this run (the metric the
    /// `ParkedFailures` alarm watches).
    pub parked_now: usize,
    /// Active integrations that could not be brought up (a secret missing, unreadable or refused by
    /// Secrets Manager, a store error), configurations aside.
    pub unavailable_integrations: usize,
    /// Polls of side 1 and side 2 stopped because the service account's credentials were refused.
    pub authentication_failures: [usize; 2],
    /// How long the changes of the sides this run could not poll to the end (credentials refused, a
    /// failure, the deadline) may have waited: now less the furthest-behind of their watermarks. 0 when
    /// every side was polled to the end.
    pub lag_seconds: u64,
}

impl PollSummary {
    /// A side left behind at `watermark`.
    fn note_lag(&mut self, watermark: chrono::DateTime<chrono::Utc>) {
        let behind = chrono::Utc::now().signed_duration_since(watermark).num_seconds();
        self.lag_seconds = self.lag_seconds.max(u64::try_from(behind).unwrap_or_default());
    }

    /// The run's metrics as one CloudWatch embedded-metric-format line (see [`crate::metrics`]): one
    /// per outage class the template has an alarm for. `PollerRuns` is always 1: its absence is how a
    /// poller that stopped running shows.
    pub fn metric_line(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        let count = |value: usize| u64::try_from(value).unwrap_or(u64::MAX);
        crate::metrics::metric_line(
            now,
            &[
                ("PollerRuns", 1),
                ("PolledItems", count(self.items)),
                ("PollSynced", count(self.synced)),
                ("PollSyncFailures", count(self.failed)),
                ("FailuresRetried", count(self.retried)),
                ("RetriesSucceeded", count(self.retry_succeeded)),
                ("NewlyParked", count(self.parked)),
                ("PollErrors", count(self.errors)),
                ("ParkedFailures", count(self.parked_now)),
                ("InvalidConfigurations", count(self.invalid_configurations)),
                ("UnavailableIntegrations", count(self.unavailable_integrations)),
                ("AuthenticationFailuresSide1", count(self.authentication_failures[0])),
                ("AuthenticationFailuresSide2", count(self.authentication_failures[1])),
                ("PollLagSeconds", self.lag_seconds),
            ],
        )
    }
}

pub async fn run_poll(runtime: &Runtime, deadline: Instant) -> PollSummary {
    let mut summary = PollSummary::default();
    let integrations = match runtime.active_integrations().await {
        Ok(integrations) => integrations,
        Err(problem) => {
            error!(error = %problem, "cannot read the integration registry; nothing polled");
            summary.errors += 1;
            return summary;
        }
    };
    let count = integrations.len();
    for (position, (name, served)) in integrations.into_iter().enumerate() {
        if Instant::now() >= deadline {
            summary.stopped_early = true;
            break;
        }
        match served {
            // Each integration gets its share of the time left, so a backlog in one cannot starve the
            // others; what one does not use passes on to those after it.
            Ok(served) => poll_integration(&served.engine, share(deadline, count - position), &mut summary).await,
            Err(problem @ RuntimeError::InvalidConfiguration { .. }) => {
                error!(integration = %name, error = %problem, "integration not polled until its configuration is fixed");
                summary.invalid_configurations += 1;
                summary.errors += 1;
            }
            Err(problem) => {
                error!(integration = %name, error = %problem, retryable = problem.is_retryable(), "integration not polled: it cannot be brought up");
                summary.unavailable_integrations += 1;
                summary.errors += 1;
            }
        }
    }
    info!(?summary, "poll run finished");
    summary
}

/// The instant by which one of `turns` equal turns ends, starting now.
fn share(deadline: Instant, turns: usize) -> Instant {
    let now = Instant::now();
    now + deadline.saturating_duration_since(now) / u32::try_from(turns.max(1)).unwrap_or(u32::MAX)
}

/// Both sides and the due failures, each with its share of the integration's time.
async fn poll_integration(engine: &Engine, deadline: Instant, summary: &mut PollSummary) {
    summary.integrations += 1;
    for (turn, side) in Side::BOTH.into_iter().enumerate() {
        match engine.poll_side_until(side, Some(share(deadline, 3 - turn))).await {
            Ok(report) => {
                summary.items += report.items;
                summary.synced += report.synced;
                summary.failed += report.failed;
                summary.stopped_early |= report.stopped_early;
                // A side polled to the end has nothing waiting, however quiet it was (its watermark stays at
                // its last change); one left behind has waited since its watermark.
                if report.blocked.is_some() || report.stopped_early {
                    summary.note_lag(report.watermark);
                }
                if let Some(problem) = report.blocked {
                    error!(integration = engine.integration(), side = %side, %problem, "side not polled past its watermark: its credentials were refused");
                    summary.authentication_failures[turn] += 1;
                    summary.errors += 1;
                }
            }
            Err(problem) => {
                if problem.is_credential_problem() {
                    summary.authentication_failures[turn] += 1;
                }
                if let Ok(Some(watermark)) = engine.stores().watermarks.get_watermark(engine.integration(), side).await
                {
                    summary.note_lag(watermark);
                }
                warn!(integration = engine.integration(), side = %side, error = %problem, "poll failed; next run retries");
                summary.errors += 1;
            }
        }
    }
    match engine.retry_failures_until(Some(deadline)).await {
        Ok(report) => {
            summary.retried += report.retried;
            summary.retry_succeeded += report.succeeded;
            summary.parked += report.parked;
        }
        Err(problem) => {
            warn!(integration = engine.integration(), error = %problem, "retrying failures failed");
            summary.errors += 1;
        }
    }
    match engine.stores().log.list_failures(engine.integration()).await {
        Ok(failures) => summary.parked_now += failures.iter().filter(|failure| failure.parked).count(),
        Err(problem) => {
            warn!(integration = engine.integration(), error = %problem, "cannot count parked failures");
            summary.errors += 1;
        }
    }
    summary.stopped_early |= Instant::now() >= deadline;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_turn_gets_an_equal_share_of_what_is_left() {
        let deadline = Instant::now() + std::time::Duration::from_secs(90);
        let first = share(deadline, 3).saturating_duration_since(Instant::now());
        assert!(first <= std::time::Duration::from_secs(30) && first > std::time::Duration::from_secs(29), "{first:?}");
        assert!(share(deadline, 1) <= deadline);
        assert!(share(Instant::now(), 2) <= Instant::now() + std::time::Duration::from_millis(1), "no time, no share");
    }

    #[test]
    fn every_alarmed_outage_class_is_in_the_metric_line() {
        let summary = PollSummary {
            errors: 3,
            unavailable_integrations: 1,
            authentication_failures: [0, 2],
            lag_seconds: 600,
            ..PollSummary::default()
        };
        let line: serde_json::Value = serde_json::from_str(&summary.metric_line(chrono::Utc::now())).expect("JSON");
        for (name, value) in [
            ("PollerRuns", 1),
            ("PollErrors", 3),
            ("UnavailableIntegrations", 1),
            ("AuthenticationFailuresSide1", 0),
            ("AuthenticationFailuresSide2", 2),
            ("PollLagSeconds", 600),
            ("ParkedFailures", 0),
            ("InvalidConfigurations", 0),
        ] {
            assert_eq!(line[name], value, "{name} in {line}");
        }
    }
}
