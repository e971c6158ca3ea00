//! Scenario a: what one synced change costs. Alice makes a change in one system; the simulator delivers
//! its webhook to the bench's endpoint, which hands it to `Engine::receive_delivery`; the bench waits
//! until the change, its echo and anything they caused have settled, then counts the calls the
//! integration's service accounts made (from the simulators' records of every exchange), the store
//! calls, the DynamoDB requests, the deliveries and tandem's own time.

use super::counting_store::StoreTally;
use super::dynamo_calls::DynamoTally;
use super::error::SyncBenchError;
use super::people::ChangeKind;
use super::stats::mean;
use super::world::SyncWorld;
use serde::Serialize;
use std::collections::BTreeMap;
use tandem_model::{ItemId, Side};
use tandem_simulators::faults::{FaultPlan, LatencyRange};
use tandem_simulators::recording::RecordedExchange;

/// The simulators' recorders keep this many exchanges (their default); a window that reaches it has
/// lost its oldest calls.
const RECORDER_CAPACITY: usize = 10_000;

/// The fewest API calls a change of `kind` made on `origin` can be synced with, and why. tandem reads
/// the item's current state rather than trusting the delivery's body, because deliveries arrive late,
/// twice and out of order; the minimum includes that read.
pub fn minimum_calls(kind: ChangeKind, origin: Side) -> (u32, &'static str) {
    match (kind, origin) {
        (ChangeKind::Create, _) => (2, "read the source + create the target"),
        (ChangeKind::FieldUpdate, _) => {
            (3, "read the source + read the target (the three-way merge needs its current value) + one write")
        }
        (ChangeKind::Comment, _) => {
            (2, "list the source's comments (the delivery names the item only) + post the copy; the link knows which comments are copied")
        }
        (ChangeKind::Status, Side::One) => (3, "read the source + read the target + one write (System.State is a field)"),
        (ChangeKind::Status, Side::Two) => {
            (4, "read the source + read the target + list its transitions (Jira sets a status only through a transition, whose id depends on the current status) + transition")
        }
    }
}

/// API calls of the integration's service accounts during one change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallCounts {
    pub jira: f64,
    pub azure_devops: f64,
    pub reads: f64,
    pub writes: f64,
}

impl CallCounts {
    pub fn total(&self) -> f64 {
        self.jira + self.azure_devops
    }
}

/// DynamoDB requests and the capacity units they are billed as (see [`super::cost`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DynamoFigures {
    pub requests: f64,
    pub read_units: f64,
    pub write_units: f64,
    /// Mean requests per operation name.
    pub operations: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeFigures {
    pub kind: ChangeKind,
    /// `Jira → Azure DevOps` or the reverse.
    pub direction: String,
    pub changes: usize,
    /// Means over the measured changes.
    pub api_calls: CallCounts,
    pub minimum_calls: u32,
    pub minimum_why: &'static str,
    /// Measured calls over the minimum.
    pub ratio: f64,
    /// The integration's calls for the last measured change, Jira's first, ids replaced by `{n}`.
    pub calls_seen: Vec<String>,
    pub store_calls: f64,
    pub store_calls_by_method: BTreeMap<String, f64>,
    pub dynamo: Option<DynamoFigures>,
    /// Webhook deliveries tandem handled per change, echoes of its own writes included.
    pub deliveries: f64,
    /// tandem's own time per change over all its deliveries (arrival to the end of `receive_delivery`,
    /// less the simulators' time), in milliseconds.
    pub tandem_ms: f64,
    /// The vendor calls tandem waited for one after the other, per change: the simulators' wall time in
    /// its deliveries over the latency each call was given (calls made at once count once).
    pub vendor_waits: f64,
    /// What tandem logged per change over all its deliveries, in bytes, as a deployed function logs it.
    pub log_bytes: f64,
}

/// What one measured change cost.
#[derive(Debug, Clone, Default)]
struct ChangeSample {
    calls: CallCounts,
    calls_seen: Vec<String>,
    store: StoreTally,
    dynamo: Option<DynamoTally>,
    deliveries: usize,
    tandem_ms: f64,
    /// The simulators' wall time within the deliveries.
    vendor_wall_ms: f64,
    /// What the functions would have logged (see [`super::log_bytes`]).
    log_bytes: f64,
    /// The item Alice created, for creates.
    created: Option<ItemId>,
}

/// The latency every simulator call is given while changes are measured, so that the simulators' wall
/// time says how many calls were waited for one after the other. tandem's own time excludes it.
pub const WAIT_PROBE_LATENCY_MS: u64 = 20;

/// How long after a change its webhook is sent while changes are measured: the vendors send theirs
/// seconds later, so the echo of tandem's own write does not arrive while that sync is still finishing
/// (an instant echo would wait for it, time no deployment pays).
const WEBHOOK_DELAY_MS: u64 = 100;

/// Measures `changes` changes of every kind in both directions, after one unmeasured change of each (the
/// first calls of a process look up the service accounts and the people once).
pub async fn measure(world: &SyncWorld, changes: usize) -> Result<Vec<ChangeFigures>, SyncBenchError> {
    let sims = world.simulators()?;
    let latency = LatencyRange { min: WAIT_PROBE_LATENCY_MS, max: WAIT_PROBE_LATENCY_MS };
    let plan = FaultPlan { latency_ms: latency, webhook_delay_ms: WEBHOOK_DELAY_MS, ..FaultPlan::none() };
    sims.jira.set_fault_plan(plan.clone()).map_err(SyncBenchError::FaultPlan)?;
    sims.ado.set_fault_plan(plan).map_err(SyncBenchError::FaultPlan)?;
    let measured = measure_each_kind(world, changes).await;
    sims.jira.clear_fault_plan();
    sims.ado.clear_fault_plan();
    measured
}

async fn measure_each_kind(world: &SyncWorld, changes: usize) -> Result<Vec<ChangeFigures>, SyncBenchError> {
    let pair = linked_pair(world).await?;
    let mut figures = Vec::new();
    let mut number = 0;
    for kind in ChangeKind::ALL {
        for origin in [Side::One, Side::Two] {
            let mut samples = Vec::with_capacity(changes);
            for measured in 0..=changes {
                number += 1;
                let sample = change(world, kind, origin, &pair[super::people::index(origin)], number).await?;
                if measured > 0 {
                    samples.push(sample);
                }
            }
            figures.push(summarise(kind, origin, &samples));
        }
    }
    Ok(figures)
}

/// A bug Alice files in Jira and its copy, both ids.
async fn linked_pair(world: &SyncWorld) -> Result<[ItemId; 2], SyncBenchError> {
    let sample = change(world, ChangeKind::Create, Side::One, &ItemId::new(""), 0).await?;
    let original = sample.created.ok_or_else(|| not_synced("the first bug"))?;
    let link = world
        .engine
        .stores()
        .links
        .get_link(world.engine.integration(), Side::One, &original)
        .await
        .map_err(|source| SyncBenchError::Store { doing: "reading the first bug's link".into(), source })?
        .ok_or_else(|| not_synced("the first bug"))?;
    Ok([link.side1.id, link.side2.id])
}

async fn change(
    world: &SyncWorld,
    kind: ChangeKind,
    origin: Side,
    item: &ItemId,
    number: usize,
) -> Result<ChangeSample, SyncBenchError> {
    let sims = world.simulators()?;
    let endpoint = world.endpoint.as_ref().ok_or_else(|| not_synced("a change without webhooks"))?;
    world.settle().await?;
    endpoint.take();
    let before = [sims.jira.exchanges().len(), sims.ado.exchanges().len()];
    let store_before = world.store.tally();
    let dynamo_before = world.dynamo.as_ref().map(|calls| calls.tally());
    let logged_before = super::log_bytes::Logged::now();

    let created = match kind {
        ChangeKind::Create => Some(world.alice.create(origin, &format!("Bench bug {number}")).await?.item.id),
        _ => {
            world.alice.change(kind, origin, item, number).await?;
            None
        }
    };
    world.settle().await?;

    let what = format!("{} {number} on side {origin}", kind.label());
    let jira = window(sims.jira.exchanges(), before[0], &what)?;
    let ado = window(sims.ado.exchanges(), before[1], &what)?;
    let deliveries = endpoint.take();
    if !deliveries.iter().any(|delivery| delivery.side == origin && delivery.synced()) {
        return Err(not_synced(&what));
    }
    let jira_calls = by_integration(&jira, world.alice.id(Side::One));
    let ado_calls = by_integration(&ado, world.alice.id(Side::Two));
    let target_writes = match origin {
        Side::One => &ado_calls,
        Side::Two => &jira_calls,
    };
    if !target_writes.iter().any(|exchange| is_write(exchange)) {
        return Err(not_synced(&format!("{what} (no write reached the other side)")));
    }
    let all: Vec<&RecordedExchange> = jira_calls.iter().chain(&ado_calls).copied().collect();
    let writes = all.iter().filter(|exchange| is_write(exchange)).count();
    Ok(ChangeSample {
        calls: CallCounts {
            jira: jira_calls.len() as f64,
            azure_devops: ado_calls.len() as f64,
            reads: (all.len() - writes) as f64,
            writes: writes as f64,
        },
        calls_seen: all.iter().map(|exchange| describe(exchange)).collect(),
        store: world.store.tally().since(&store_before),
        dynamo: world.dynamo.as_ref().zip(dynamo_before).map(|(calls, before)| calls.tally().since(&before)),
        deliveries: deliveries.len(),
        tandem_ms: deliveries.iter().map(|delivery| delivery.tandem().as_secs_f64() * 1000.0).sum(),
        vendor_wall_ms: deliveries.iter().map(|delivery| delivery.simulators_busy.as_secs_f64() * 1000.0).sum(),
        log_bytes: super::log_bytes::Logged::now().deployed_bytes_since(&logged_before) as f64,
        created,
    })
}

fn summarise(kind: ChangeKind, origin: Side, samples: &[ChangeSample]) -> ChangeFigures {
    let (minimum_calls, minimum_why) = minimum_calls(kind, origin);
    let api_calls = CallCounts {
        jira: mean(samples.iter().map(|sample| sample.calls.jira)),
        azure_devops: mean(samples.iter().map(|sample| sample.calls.azure_devops)),
        reads: mean(samples.iter().map(|sample| sample.calls.reads)),
        writes: mean(samples.iter().map(|sample| sample.calls.writes)),
    };
    let count = samples.len().max(1) as f64;
    let mut store_calls_by_method = BTreeMap::new();
    for sample in samples {
        for (method, tally) in &sample.store.methods {
            *store_calls_by_method.entry((*method).to_string()).or_insert(0.0) += tally.calls as f64 / count;
        }
    }
    let dynamo = samples.iter().all(|sample| sample.dynamo.is_some()).then(|| {
        let mut figures = DynamoFigures::default();
        for tally in samples.iter().filter_map(|sample| sample.dynamo.as_ref()) {
            let units = super::cost::capacity_units(tally);
            figures.requests += tally.requests() as f64 / count;
            figures.read_units += units.read / count;
            figures.write_units += units.write / count;
            for (operation, counted) in &tally.operations {
                *figures.operations.entry(operation.clone()).or_insert(0.0) += counted.requests as f64 / count;
            }
        }
        figures
    });
    ChangeFigures {
        kind,
        direction: direction(origin).to_string(),
        changes: samples.len(),
        ratio: api_calls.total() / f64::from(minimum_calls),
        api_calls,
        minimum_calls,
        minimum_why,
        calls_seen: samples.last().map(|sample| sample.calls_seen.clone()).unwrap_or_default(),
        store_calls: mean(samples.iter().map(|sample| sample.store.calls() as f64)),
        store_calls_by_method,
        dynamo,
        deliveries: mean(samples.iter().map(|sample| sample.deliveries as f64)),
        tandem_ms: mean(samples.iter().map(|sample| sample.tandem_ms)),
        vendor_waits: mean(samples.iter().map(|sample| sample.vendor_wall_ms)) / WAIT_PROBE_LATENCY_MS as f64,
        log_bytes: mean(samples.iter().map(|sample| sample.log_bytes)),
    }
}

impl ChangeFigures {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
}

pub fn direction(origin: Side) -> &'static str {
    match origin {
        Side::One => "Jira → Azure DevOps",
        Side::Two => "Azure DevOps → Jira",
    }
}

/// The exchanges recorded after the first `before`.
fn window(
    exchanges: Vec<RecordedExchange>,
    before: usize,
    what: &str,
) -> Result<Vec<RecordedExchange>, SyncBenchError> {
    if exchanges.len() >= RECORDER_CAPACITY {
        return Err(SyncBenchError::RecorderFull { what: what.to_string(), capacity: RECORDER_CAPACITY });
    }
    Ok(exchanges.into_iter().skip(before).collect())
}

/// Calls made by someone other than Alice: the integration's service account. Unauthenticated calls
/// (none are expected) are left out, as they are nobody's.
fn by_integration<'a>(exchanges: &'a [RecordedExchange], alice: &str) -> Vec<&'a RecordedExchange> {
    exchanges.iter().filter(|exchange| exchange.user.as_deref().is_some_and(|user| user != alice)).collect()
}

/// Whether a call changes something; searches and batch reads are `POST`s that only read (as the
/// simulators' own recorders classify them).
pub fn is_write(exchange: &RecordedExchange) -> bool {
    let path = exchange.path.to_ascii_lowercase();
    let read_only_post = ["/search/jql", "/search", "/issue/bulkfetch", "/wiql", "/workitemsbatch"]
        .iter()
        .any(|suffix| path.ends_with(suffix));
    match exchange.method.as_str() {
        "GET" | "HEAD" | "OPTIONS" => false,
        "POST" => !read_only_post,
        _ => true,
    }
}

/// `GET /rest/api/3/issue/{n}`: the call with the ids in its path (digit runs, except the API's version
/// segment after `api`) replaced, so calls to different items read alike.
pub fn describe(exchange: &RecordedExchange) -> String {
    let mut segments = Vec::new();
    let mut previous = "";
    for segment in exchange.path.split('/') {
        let kept = if previous == "api" { segment.to_string() } else { without_digits(segment) };
        segments.push(kept);
        previous = segment;
    }
    format!("{} {} → {}", exchange.method, segments.join("/"), exchange.status)
}

fn without_digits(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let mut in_digits = false;
    for character in segment.chars() {
        if character.is_ascii_digit() {
            if !in_digits {
                out.push_str("{n}");
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(character);
        }
    }
    out
}

fn not_synced(what: &str) -> SyncBenchError {
    SyncBenchError::NotSynced { what: what.to_string(), waited: std::time::Duration::from_secs(60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(method: &str, path: &str) -> RecordedExchange {
        RecordedExchange {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            content_type: None,
            request_body: None,
            status: 200,
            response_body: None,
            user: Some("tandem".into()),
        }
    }

    #[test]
    fn searches_are_reads_and_changes_are_writes() {
        assert!(!is_write(&exchange("POST", "/rest/api/3/search/jql")));
        assert!(!is_write(&exchange("POST", "/Fabrikam/_apis/wit/workItemsBatch")));
        assert!(!is_write(&exchange("GET", "/rest/api/3/issue/OPS-1")));
        assert!(is_write(&exchange("POST", "/rest/api/3/issue/OPS-1/transitions")));
        assert!(is_write(&exchange("PATCH", "/Fabrikam/_apis/wit/workitems/7")));
        assert!(is_write(&exchange("PUT", "/rest/api/3/issue/OPS-1")));
    }

    #[test]
    fn calls_to_different_items_read_alike() {
        assert_eq!(describe(&exchange("GET", "/rest/api/3/issue/OPS-12")), "GET /rest/api/3/issue/OPS-{n} → 200");
        assert_eq!(
            describe(&exchange("PATCH", "/Fabrikam/_apis/wit/workitems/7")),
            describe(&exchange("PATCH", "/Fabrikam/_apis/wit/workitems/1234"))
        );
    }

    #[test]
    fn only_the_integrations_calls_count() {
        let mut alice = exchange("PUT", "/rest/api/3/issue/OPS-1");
        alice.user = Some("alice".into());
        let mut anonymous = exchange("GET", "/rest/api/3/myself");
        anonymous.user = None;
        let recorded = [alice, anonymous, exchange("GET", "/rest/api/3/issue/OPS-1")];
        assert_eq!(by_integration(&recorded, "alice").len(), 1);
    }

    #[test]
    fn every_change_has_a_stated_minimum() {
        for kind in ChangeKind::ALL {
            for origin in [Side::One, Side::Two] {
                let (calls, why) = minimum_calls(kind, origin);
                assert!(calls >= 2, "{kind:?}: nothing syncs in fewer than a read and a write");
                assert!(why.contains('+'), "{kind:?}: the reason lists the calls");
            }
        }
        assert!(minimum_calls(ChangeKind::Status, Side::Two).0 > minimum_calls(ChangeKind::Status, Side::One).0);
    }
}
