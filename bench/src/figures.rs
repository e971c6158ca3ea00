//! The figures a bench run reports: binary sizes, and per scenario the cold starts and peak memory of
//! its runs, as a table for people and JSON for tools.

use crate::backfill_memory::BackfillMemoryFigures;
use serde::Serialize;
use std::fmt::Write as _;

/// The median (nearest rank) and the maximum of a scenario's runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub p50: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let max = *sorted.last()?;
        // Nearest rank: the smallest value with at least half the values at or below it.
        let p50 = sorted[sorted.len().div_ceil(2) - 1];
        Some(Spread { p50, max })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryFigures {
    pub function: String,
    pub path: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioFigures {
    pub name: String,
    pub function: String,
    /// What the scenario does, in a line.
    pub description: String,
    /// Size of the event JSON handed to the function.
    pub event_bytes: usize,
    pub runs: usize,
    /// Exec to the answer posted to the Runtime API.
    pub cold_start_ms: Spread,
    /// Exec to the event handed out (Lambda's "Init Duration").
    pub init_ms: Spread,
    /// The wall time moto and the simulators spent answering the run's calls.
    pub dependencies_ms: Spread,
    /// Each run's cold start less its dependencies' time: the cold start with dependencies that answer
    /// at once.
    pub own_cold_start_ms: Spread,
    pub peak_rss_mib: Spread,
    /// What the function answered, one per distinct answer (status and body for webhooks).
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub binaries: Vec<BinaryFigures>,
    pub scenarios: Vec<ScenarioFigures>,
    /// The memory of a large backfill, when measured (`--backfill-items`).
    pub backfill_memory: Option<BackfillMemoryFigures>,
}

impl Report {
    /// The figures as aligned text tables.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{:<10} {:>12} {:>9}  path", "binary", "bytes", "MiB");
        for binary in &self.binaries {
            let mib = binary.bytes as f64 / MIB;
            let _ = writeln!(out, "{:<10} {:>12} {:>9.2}  {}", binary.function, binary.bytes, mib, binary.path);
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<22} {:>5} {:>11} {:>12} {:>12} {:>9} {:>9} {:>12} {:>12} {:>12} {:>12}",
            "scenario",
            "runs",
            "event B",
            "cold p50 ms",
            "cold max ms",
            "init p50",
            "deps p50",
            "own p50 ms",
            "own max ms",
            "RSS p50 MiB",
            "RSS max MiB"
        );
        for scenario in &self.scenarios {
            let _ = writeln!(
                out,
                "{:<22} {:>5} {:>11} {:>12.1} {:>12.1} {:>9.1} {:>9.1} {:>12.1} {:>12.1} {:>12.1} {:>12.1}",
                scenario.name,
                scenario.runs,
                scenario.event_bytes,
                scenario.cold_start_ms.p50,
                scenario.cold_start_ms.max,
                scenario.init_ms.p50,
                scenario.dependencies_ms.p50,
                scenario.own_cold_start_ms.p50,
                scenario.own_cold_start_ms.max,
                scenario.peak_rss_mib.p50,
                scenario.peak_rss_mib.max
            );
        }
        let _ = writeln!(
            out,
            "(init: exec to the event handed out; deps: wall time moto and the simulators spent answering; own: \
             the cold start less that, as with dependencies that answer at once)"
        );
        for scenario in self.scenarios.iter().filter(|scenario| scenario.name.ends_with("-cold")) {
            let own = crate::targets::beside(scenario.own_cold_start_ms.p50, crate::targets::COLD_START_MS, "ms", true);
            let _ = writeln!(out, "{} cold start p50, zero-latency dependencies: {own}", scenario.name);
        }
        for scenario in self.scenarios.iter().filter(|scenario| scenario.name == "webhook-largest-file") {
            let rss = crate::targets::WEBHOOK_PEAK_RSS_MIB;
            let peak = crate::targets::beside(scenario.peak_rss_mib.max, rss, "MiB", true);
            let _ = writeln!(out, "{} peak RSS: {peak}", scenario.name);
        }
        let _ = writeln!(out);
        for scenario in &self.scenarios {
            let _ = writeln!(out, "{}: {}", scenario.name, scenario.description);
            for answer in &scenario.answers {
                let _ = writeln!(out, "  answered {answer}");
            }
        }
        if let Some(backfill) = &self.backfill_memory {
            let _ = write!(out, "\n{}", backfill.table());
        }
        out
    }
}

pub const MIB: f64 = 1024.0 * 1024.0;

/// Distinct values with how often each came (`3× value`), in order of first appearance.
pub fn tally(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut counted: Vec<(String, usize)> = Vec::new();
    for value in values {
        match counted.iter_mut().find(|(seen, _)| *seen == value) {
            Some((_, count)) => *count += 1,
            None => counted.push((value, 1)),
        }
    }
    counted.into_iter().map(|(value, count)| format!("{count}× {value}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_nearest_rank_and_max_the_largest() {
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[7.0]), Some(Spread { p50: 7.0, max: 7.0 }));
        assert_eq!(Spread::of(&[30.0, 10.0, 20.0, 40.0]), Some(Spread { p50: 20.0, max: 40.0 }));
        assert_eq!(Spread::of(&[5.0, 1.0, 3.0]), Some(Spread { p50: 3.0, max: 5.0 }));
    }

    #[test]
    fn tally_counts_repeats_in_first_seen_order() {
        let values = ["b", "a", "b", "b"].map(String::from);
        assert_eq!(tally(values.into_iter()), vec!["3× b".to_string(), "1× a".to_string()]);
    }

    #[test]
    fn the_table_shows_every_binary_and_scenario() {
        let report = Report {
            binaries: vec![BinaryFigures {
                function: "webhook".into(),
                path: "target/release/webhook".into(),
                bytes: 3 * 1024 * 1024,
            }],
            scenarios: vec![ScenarioFigures {
                name: "webhook-cold".into(),
                function: "webhook".into(),
                description: "a small signed webhook".into(),
                event_bytes: 2048,
                runs: 3,
                cold_start_ms: Spread { p50: 41.2, max: 57.5 },
                init_ms: Spread { p50: 3.1, max: 4.0 },
                dependencies_ms: Spread { p50: 30.0, max: 41.0 },
                own_cold_start_ms: Spread { p50: 11.2, max: 16.5 },
                peak_rss_mib: Spread { p50: 12.0, max: 12.5 },
                answers: vec!["200 {\"synced\":1}".into()],
            }],
            backfill_memory: None,
        };
        let table = report.table();
        assert!(table.contains("webhook         3145728      3.00  target/release/webhook"), "{table}");
        assert!(
            table.contains("webhook-cold               3        2048         41.2         57.5       3.1      30.0         11.2         16.5"),
            "{table}"
        );
        assert!(table.contains("webhook-cold cold start p50, zero-latency dependencies: 11.20 ms"), "{table}");
        assert!(table.contains("answered 200 {\"synced\":1}"), "{table}");
    }
}
