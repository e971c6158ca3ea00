//! The figures of a `sync-bench` run, as text tables for people and JSON for tools.

use super::backfill::BackfillFigures;
use super::cost::{estimate, CapacityUnits, ChangeWork, CostAssumptions, CostEstimate};
use super::latency::LatencyFigures;
use super::per_change::ChangeFigures;
use serde::Serialize;
use std::fmt::Write as _;

/// Per-change figures on one store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerChangeRun {
    /// `embedded` or `dynamodb`.
    pub store: String,
    pub changes: Vec<ChangeFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyRun {
    pub store: String,
    pub runs: Vec<LatencyFigures>,
}

/// The cost of one change kind and direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeCost {
    pub change: String,
    pub direction: String,
    pub estimate: CostEstimate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    pub assumptions: CostAssumptions,
    /// Where tandem's time and the DynamoDB units come from.
    pub measured_on: String,
    pub per_million_changes: Vec<ChangeCost>,
}

impl CostReport {
    /// Estimates from the per-change runs: API calls, deliveries and tandem's time from the embedded run
    /// (tandem's time on moto would include moto's, far slower than DynamoDB), DynamoDB units from the
    /// DynamoDB run when there is one.
    pub fn from_runs(runs: &[PerChangeRun], assumptions: CostAssumptions) -> Option<CostReport> {
        let embedded = runs.iter().find(|run| run.store == EMBEDDED)?;
        let dynamodb = runs.iter().find(|run| run.store == DYNAMODB);
        let per_million_changes = embedded
            .changes
            .iter()
            .map(|change| {
                let units = dynamodb
                    .and_then(|run| {
                        run.changes
                            .iter()
                            .find(|other| other.kind == change.kind && other.direction == change.direction)
                    })
                    .and_then(|other| other.dynamo.as_ref())
                    .map(|dynamo| CapacityUnits { read: dynamo.read_units, write: dynamo.write_units });
                let work = ChangeWork {
                    deliveries: change.deliveries,
                    tandem_ms: change.tandem_ms,
                    vendor_waits: change.vendor_waits,
                    dynamodb: units,
                    log_bytes: change.log_bytes,
                };
                ChangeCost {
                    change: change.kind_label().to_string(),
                    direction: change.direction.clone(),
                    estimate: estimate(&work, &assumptions),
                }
            })
            .collect();
        let measured_on = match dynamodb {
            Some(_) => "the embedded run (calls, time) and the DynamoDB run (units)",
            None => "the embedded run; DynamoDB not run (use --dynamodb)",
        };
        Some(CostReport { assumptions, measured_on: measured_on.into(), per_million_changes })
    }
}

/// The store names the runs carry.
pub const EMBEDDED: &str = "embedded";
pub const DYNAMODB: &str = "dynamodb";

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    pub per_change: Vec<PerChangeRun>,
    pub latency: Vec<LatencyRun>,
    pub backfill: Vec<BackfillFigures>,
    pub cost: Option<CostReport>,
}

impl SyncReport {
    pub fn table(&self) -> String {
        let mut out = String::new();
        for run in &self.per_change {
            per_change_table(&mut out, run);
        }
        for run in &self.latency {
            latency_table(&mut out, run);
        }
        if !self.backfill.is_empty() {
            backfill_table(&mut out, &self.backfill);
        }
        if let Some(cost) = &self.cost {
            cost_table(&mut out, cost);
        }
        out
    }
}

fn per_change_table(out: &mut String, run: &PerChangeRun) {
    let _ = writeln!(out, "API and store calls per synced change ({} store; means)", run.store);
    let _ = writeln!(
        out,
        "{:<17} {:<22} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>5} {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>9}",
        "change",
        "direction",
        "n",
        "jira",
        "ado",
        "reads",
        "writes",
        "waits",
        "min",
        "ratio",
        "store",
        "dynamo",
        "RRU",
        "WRU",
        "hooks",
        "tandem ms"
    );
    for change in &run.changes {
        let calls = &change.api_calls;
        let (dynamo, read_units, write_units) = match &change.dynamo {
            Some(dynamo) => (
                format!("{:.1}", dynamo.requests),
                format!("{:.1}", dynamo.read_units),
                format!("{:.1}", dynamo.write_units),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{:<17} {:<22} {:>5} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>5} {:>6.2} {:>6.1} {:>7} {:>6} {:>6} {:>6.1} {:>9.1}",
            change.kind_label(),
            change.direction,
            change.changes,
            calls.jira,
            calls.azure_devops,
            calls.reads,
            calls.writes,
            change.vendor_waits,
            change.minimum_calls,
            change.ratio,
            change.store_calls,
            dynamo,
            read_units,
            write_units,
            change.deliveries,
            change.tandem_ms,
        );
    }
    let _ = writeln!(
        out,
        "(waits: the calls waited for one after the other, calls made at once counting once; the vendor time Lambda bills)"
    );
    let _ = writeln!(out, "\nminimums and the calls seen (last measured change):");
    for change in &run.changes {
        let _ = writeln!(
            out,
            "  {} {}: min {} = {}",
            change.kind_label(),
            change.direction,
            change.minimum_calls,
            change.minimum_why
        );
        let _ = writeln!(out, "    calls: {}", change.calls_seen.join("; "));
        let methods: Vec<String> =
            change.store_calls_by_method.iter().map(|(method, calls)| format!("{method} {calls:.1}")).collect();
        let _ = writeln!(out, "    store: {}", methods.join(", "));
        if let Some(dynamo) = &change.dynamo {
            let operations: Vec<String> =
                dynamo.operations.iter().map(|(operation, calls)| format!("{operation} {calls:.1}")).collect();
            let _ = writeln!(out, "    dynamodb: {}", operations.join(", "));
        }
    }
    let _ = writeln!(out);
}

fn latency_table(out: &mut String, run: &LatencyRun) {
    let _ =
        writeln!(out, "Webhook received → target written, one-field Jira edits ({} store; ms, p50 / p99)", run.store);
    let _ = writeln!(
        out,
        "{:>10} {:>6} {:>15} {:>15} {:>15} {:>15} {:>15} {:>12}",
        "latency", "edits", "total", "http (sims)", "tandem", "store", "engine", "store calls"
    );
    for figures in &run.runs {
        let spread = |p: &super::stats::Percentiles| format!("{:.2} / {:.2}", p.p50, p.p99);
        let _ = writeln!(
            out,
            "{:>8}ms {:>6} {:>15} {:>15} {:>15} {:>15} {:>15} {:>12.1}",
            figures.injected_latency_ms,
            figures.edits,
            spread(&figures.total_ms),
            spread(&figures.http_ms),
            spread(&figures.tandem_ms),
            spread(&figures.store_ms),
            spread(&figures.engine_ms),
            figures.store_calls_per_edit,
        );
    }
    let _ = writeln!(out, "tandem = total − http; engine = total − store − http");
    if let Some(bare) = run.runs.iter().find(|figures| figures.injected_latency_ms == 0) {
        let p99 = crate::targets::beside(bare.tandem_ms.p99, crate::targets::TANDEM_P99_MS, "ms", true);
        let _ = writeln!(out, "tandem's own time p99, zero added latency: {p99}");
    }
    let _ = writeln!(out);
}

fn backfill_table(out: &mut String, runs: &[BackfillFigures]) {
    let _ = writeln!(out, "Backfill of existing Jira bugs (embedded store, side 1 polled)");
    let _ = writeln!(
        out,
        "{:>7} {:>5} {:>8} {:>9} {:>9} {:>9} {:>6} {:>8} {:>9} {:>9} {:>14} {:>10} {:>9}",
        "items",
        "conc",
        "latency",
        "seed s",
        "wall s",
        "items/s",
        "polls",
        "retried",
        "jira/copy",
        "ado/copy",
        "quota rps/burst",
        "ceiling/s",
        "fraction"
    );
    for run in runs {
        let (quota, ceiling, fraction) = match &run.quota {
            Some(quota) => (
                format!("{}/{}", quota.requests_per_second, quota.burst),
                format!("{:.2}", quota.ceiling_items_per_s),
                format!("{:.1}%", quota.fraction_of_ceiling * 100.0),
            ),
            None => ("none".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{:>7} {:>5} {:>6}ms {:>9.1} {:>9.1} {:>9.2} {:>6} {:>8} {:>9.2} {:>9.2} {:>14} {:>10} {:>9}",
            run.items,
            run.poll_concurrency,
            run.latency_ms,
            run.seeding_s,
            run.wall_s,
            run.items_per_s,
            run.polls,
            run.failures_retried,
            run.jira_calls_per_copy,
            run.ado_calls_per_copy,
            quota,
            ceiling,
            fraction,
        );
        let _ = writeln!(
            out,
            "  items at once: up to {} (at most {}), {} when the last poll ended; calls answered \"slow down\": {}",
            run.pace_highest, run.poll_concurrency, run.pace_reached, run.slow_downs
        );
        let target = match &run.quota {
            Some(quota) => {
                let _ = writeln!(
                    out,
                    "  quota refusals (429): {}; fraction of what the quota allowed over the run, burst included: {:.1}%",
                    quota.refusals,
                    quota.fraction_with_burst * 100.0
                );
                let fraction = quota.fraction_of_ceiling * 100.0;
                crate::targets::beside(fraction, crate::targets::FRACTION_OF_CEILING * 100.0, "% of the ceiling", false)
            }
            None => crate::targets::beside(run.items_per_s, crate::targets::BACKFILL_ITEMS_PER_S, "items/s", false),
        };
        let _ = writeln!(out, "  against the target: {target}");
    }
    let _ = writeln!(out);
}

fn cost_table(out: &mut String, cost: &CostReport) {
    let target = super::cost::TARGET_USD_PER_MILLION_CHANGES;
    let _ =
        writeln!(out, "Cost per million synced changes, USD, every charge counted (measured on {})", cost.measured_on);
    let _ = writeln!(
        out,
        "{:<17} {:<22} {:>9} {:>9} {:>8} {:>9} {:>8} {:>6} {:>8} {:>8} {:>13} {:>8}",
        "change",
        "direction",
        "lambda ms",
        "lambda$",
        "req$",
        "dynamodb$",
        "routing$",
        "logs$",
        "secrets$",
        "total$",
        "function URL$",
        "÷ target"
    );
    for change in &cost.per_million_changes {
        let estimate = &change.estimate;
        let dynamodb = estimate.dynamodb_usd.map_or_else(|| "not run".to_string(), |usd| format!("{usd:.2}"));
        let _ = writeln!(
            out,
            "{:<17} {:<22} {:>9.1} {:>9.2} {:>8.2} {:>9} {:>8.2} {:>6.2} {:>8.3} {:>8.2} {:>13.2} {:>8.2}",
            change.change,
            change.direction,
            estimate.lambda_ms_per_change,
            estimate.lambda_compute_usd,
            estimate.lambda_requests_usd,
            dynamodb,
            estimate.routing_usd,
            estimate.logs_usd,
            estimate.secrets_usd,
            estimate.total_usd,
            estimate.total_with_function_url_usd,
            estimate.ratio_to_target(),
        );
    }
    let _ = writeln!(out, "target: ${target:.2} per million changes (÷ target: the total over it; 1.00 is on it)");
    let _ = writeln!(out, "assumptions:");
    for assumption in cost.assumptions.describe() {
        let _ = writeln!(out, "  - {assumption}");
    }
}
