//! Scenario b: webhook received → target written. Alice edits one field of a linked Jira bug, one edit
//! at a time; each edit's delivery is timed by the endpoint from its arrival to the end of
//! `receive_delivery` (the copy is written inside it) and split into the time inside the simulators
//! (HTTP), the store's time, and the rest (the engine).

use super::endpoint::TimedDelivery;
use super::error::SyncBenchError;
use super::people::ChangeKind;
use super::stats::Percentiles;
use super::world::SyncWorld;
use serde::Serialize;
use std::time::Duration;
use tandem_model::Side;
use tandem_simulators::faults::{FaultPlan, LatencyRange};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyFigures {
    /// Latency added to every simulator API call.
    pub injected_latency_ms: u64,
    pub edits: usize,
    /// Arrival of the delivery to the end of `receive_delivery`.
    pub total_ms: Percentiles,
    /// Time inside the simulators, latency included: HTTP as far as it can be separated.
    pub http_ms: Percentiles,
    /// `total − http`: tandem's own overhead.
    pub tandem_ms: Percentiles,
    pub store_ms: Percentiles,
    /// `total − store − http`.
    pub engine_ms: Percentiles,
    pub store_calls_per_edit: f64,
}

/// One timed edit, split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub total: Duration,
    pub http: Duration,
    pub store: Duration,
}

impl Split {
    pub fn of(delivery: &TimedDelivery) -> Split {
        Split { total: delivery.total, http: delivery.simulators_busy, store: delivery.store.time() }
    }

    pub fn tandem(&self) -> Duration {
        self.total.saturating_sub(self.http)
    }

    pub fn engine(&self) -> Duration {
        self.total.saturating_sub(self.http).saturating_sub(self.store)
    }
}

/// Times `edits` title edits at each of `latencies_ms` (0 for none), on a fresh bug per run.
pub async fn measure(
    world: &SyncWorld,
    edits: usize,
    latencies_ms: &[u64],
) -> Result<Vec<LatencyFigures>, SyncBenchError> {
    let sims = world.simulators()?;
    let mut figures = Vec::with_capacity(latencies_ms.len());
    for (run, &latency) in latencies_ms.iter().enumerate() {
        let plan = FaultPlan { latency_ms: LatencyRange { min: latency, max: latency }, ..FaultPlan::none() };
        sims.jira.set_fault_plan(plan.clone()).map_err(SyncBenchError::FaultPlan)?;
        sims.ado.set_fault_plan(plan).map_err(SyncBenchError::FaultPlan)?;
        let bug = world.alice.create(Side::One, &format!("Latency bench bug {run}")).await?;
        world.settle().await?;
        let endpoint = world.endpoint.as_ref().ok_or_else(|| not_synced("an edit without webhooks"))?;
        endpoint.take();
        let mut splits = Vec::with_capacity(edits);
        let mut store_calls = 0;
        for number in 0..edits {
            world.alice.change(ChangeKind::FieldUpdate, Side::One, &bug.item.id, run * edits + number).await?;
            world.settle().await?;
            let delivery = endpoint
                .take()
                .into_iter()
                .find(|delivery| delivery.side == Side::One && delivery.synced())
                .ok_or_else(|| not_synced(&format!("edit {number} of {}", bug.item.label())))?;
            store_calls += delivery.store.calls();
            splits.push(Split::of(&delivery));
        }
        figures.push(summarise(latency, &splits, store_calls));
    }
    sims.jira.clear_fault_plan();
    sims.ado.clear_fault_plan();
    Ok(figures)
}

pub fn summarise(injected_latency_ms: u64, splits: &[Split], store_calls: u64) -> LatencyFigures {
    let of = |part: fn(&Split) -> Duration| {
        Percentiles::of(&splits.iter().map(part).collect::<Vec<_>>()).unwrap_or_default()
    };
    LatencyFigures {
        injected_latency_ms,
        edits: splits.len(),
        total_ms: of(|split| split.total),
        http_ms: of(|split| split.http),
        tandem_ms: of(Split::tandem),
        store_ms: of(|split| split.store),
        engine_ms: of(Split::engine),
        store_calls_per_edit: store_calls as f64 / splits.len().max(1) as f64,
    }
}

fn not_synced(what: &str) -> SyncBenchError {
    SyncBenchError::NotSynced { what: what.to_string(), waited: Duration::from_secs(60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_is_what_neither_http_nor_the_store_took() {
        let split = Split {
            total: Duration::from_millis(100),
            http: Duration::from_millis(60),
            store: Duration::from_millis(15),
        };
        assert_eq!(split.tandem(), Duration::from_millis(40));
        assert_eq!(split.engine(), Duration::from_millis(25));
        // Clocks read at slightly different moments must not make a part negative.
        let skewed = Split { total: Duration::from_millis(10), http: Duration::from_millis(11), store: Duration::ZERO };
        assert_eq!(skewed.engine(), Duration::ZERO);
    }

    #[test]
    fn percentiles_are_taken_per_part() {
        let splits: Vec<Split> = (1..=100)
            .map(|ms| Split {
                total: Duration::from_millis(ms * 3),
                http: Duration::from_millis(ms * 2),
                store: Duration::from_millis(ms / 2),
            })
            .collect();
        let figures = summarise(20, &splits, 500);
        assert_eq!(figures.total_ms, Percentiles { p50: 150.0, p99: 297.0 });
        assert_eq!(figures.http_ms.p50, 100.0);
        assert_eq!(figures.tandem_ms.p50, 50.0);
        assert_eq!(figures.store_ms.p99, 49.0);
        assert_eq!(figures.engine_ms.p50, 25.0);
        assert_eq!(figures.store_calls_per_edit, 5.0);
        assert_eq!(figures.edits, 100);
    }
}
