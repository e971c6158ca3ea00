//! The harness's figures: what was thrown at tandem, and what it made of it.

use crate::cluster::ClusterCounters;
use crate::flaky_store::StoreFaultStats;
use crate::hazard_checks::HazardCheck;
use crate::verdict::{Creations, LinkCheck};
use crate::workload::WorkloadCounters;
use crate::{HarnessSettings, StoreChoice};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tandem_engine::crash::Step;
use tandem_simulators::faults::FaultStats;
use tandem_simulators::webhooks::WebhookStats;

/// Everything `run` measured, before it is summarised.
pub struct Figures<'a> {
    pub settings: HarnessSettings,
    /// The systems of side 1 and side 2.
    pub systems: [String; 2],
    pub events_took: Duration,
    pub settle_took: Duration,
    pub workload: &'a WorkloadCounters,
    pub cluster: &'a ClusterCounters,
    pub crashes: BTreeMap<Step, u64>,
    pub faults: [FaultStats; 2],
    pub store_faults: StoreFaultStats,
    /// How long each credential outage lasted.
    pub outages: Vec<Duration>,
    pub webhooks: [WebhookStats; 2],
    pub creations: [Creations; 2],
    pub links: LinkCheck,
    pub hazards: HazardCheck,
    pub echo_writes: u64,
    pub conflicts: u64,
    pub parked: u64,
    pub failures_open: u64,
    pub poll_cycles_to_converge: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The systems of side 1 and side 2; the per-system figures below are in this order.
    pub systems: [String; 2],
    pub events: u64,
    pub seed: u64,
    pub store: String,
    pub workers: usize,
    pub concurrency: usize,
    pub crash_rate: f64,
    pub events_seconds: f64,
    pub settle_seconds: f64,
    pub changes_made: ChangesMade,
    pub injected: Injected,
    pub tandem: TandemActivity,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangesMade {
    pub creates: u64,
    pub field_edits: u64,
    pub comments: u64,
    /// Files people attached, and attachments they removed.
    pub attachments: u64,
    pub detachments: u64,
    /// Screenshots people attached and pasted into a description or a comment.
    pub screenshots: u64,
    pub out_of_scope_creates: u64,
    pub restricted_comments: u64,
    pub later_restrictions: u64,
    /// Changes the person's own call could not make under the faults.
    pub not_made: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Injected {
    /// Side 1, then side 2.
    pub faults: [FaultStats; 2],
    pub webhooks: [WebhookStats; 2],
    pub crashes: BTreeMap<String, u64>,
    pub store: StoreFaultStats,
    /// Seconds each credential outage lasted.
    pub credential_outages: Vec<f64>,
    /// Deliveries and polls cut short by a deadline.
    pub cut_short: u64,
    /// The longest a change took to show in searches.
    pub search_lag_max_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TandemActivity {
    pub deliveries: u64,
    pub deliveries_failed: u64,
    pub polls: u64,
    /// API calls tandem made to side 1 and side 2, and per change people made.
    pub api_calls: [u64; 2],
    pub api_calls_per_change: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub items_made_by_people: u64,
    pub links: u64,
    /// Copies beyond one per item.
    pub duplicate_items: u64,
    /// Items people made that have no copy.
    pub items_without_copy: u64,
    /// Mapped fields that differ between the two items of a link, in all links.
    pub lost_updates: u64,
    pub differing_fields: BTreeMap<String, u64>,
    pub comments_without_copy: u64,
    pub duplicate_comments: u64,
    pub attachments_without_copy: u64,
    pub duplicate_attachments: u64,
    /// Images in comment copies not shown from a file of the copy's own system.
    pub images_not_rehosted: u64,
    pub echo_writes_after_quiescence: u64,
    pub conflicts_recorded: u64,
    pub changes_parked: u64,
    pub failures_open: u64,
    /// Poll cycles after the faults stopped until both systems agreed; `None`: not within the limit.
    pub poll_cycles_to_converge: Option<usize>,
    /// Out-of-scope copies, restricted comments leaked, stale writes, changes lost to expired
    /// credentials.
    pub hazards: HazardCheck,
    pub examples: Vec<String>,
    pub unlinked: Vec<String>,
}

impl Verdict {
    /// The promise: no duplicates, nothing lost, no loops, nothing copied that must stay where it is, no
    /// stale writes, and convergence.
    pub fn kept(&self) -> bool {
        self.hazards.clean()
            && self.duplicate_items == 0
            && self.items_without_copy == 0
            && self.lost_updates == 0
            && self.comments_without_copy == 0
            && self.duplicate_comments == 0
            && self.attachments_without_copy == 0
            && self.duplicate_attachments == 0
            && self.images_not_rehosted == 0
            && self.echo_writes_after_quiescence == 0
            && self.poll_cycles_to_converge.is_some()
    }
}

impl Report {
    pub fn new(figures: Figures<'_>) -> Report {
        let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let made_by_people: u64 = figures.creations.iter().map(|side| side.by_people).sum();
        let links = figures.links.links;
        let changes = count(&figures.workload.events).saturating_sub(count(&figures.workload.failed));
        let api_calls = [figures.creations[0].integration_calls, figures.creations[1].integration_calls];
        Report {
            systems: figures.systems.clone(),
            events: figures.settings.events,
            seed: figures.settings.seed,
            store: match &figures.settings.store {
                StoreChoice::Embedded => "embedded (redb)".to_string(),
                StoreChoice::Dynamodb { table } => format!("DynamoDB table {table}"),
            },
            workers: figures.settings.workers,
            concurrency: figures.settings.concurrency,
            crash_rate: figures.settings.crash_rate,
            events_seconds: figures.events_took.as_secs_f64(),
            settle_seconds: figures.settle_took.as_secs_f64(),
            changes_made: ChangesMade {
                creates: count(&figures.workload.creates),
                field_edits: count(&figures.workload.field_edits),
                comments: count(&figures.workload.comments),
                attachments: count(&figures.workload.attachments),
                detachments: count(&figures.workload.detachments),
                screenshots: count(&figures.workload.screenshots),
                out_of_scope_creates: count(&figures.workload.out_of_scope_creates),
                restricted_comments: count(&figures.workload.restricted_comments),
                later_restrictions: count(&figures.workload.later_restrictions),
                not_made: count(&figures.workload.failed),
            },
            injected: Injected {
                faults: figures.faults,
                webhooks: figures.webhooks,
                crashes: figures.crashes.iter().map(|(step, n)| (step.to_string(), *n)).collect(),
                store: figures.store_faults,
                credential_outages: figures.outages.iter().map(Duration::as_secs_f64).collect(),
                cut_short: count(&figures.cluster.cut_short),
                search_lag_max_ms: figures.settings.faults.search_lag_ms.max,
            },
            tandem: TandemActivity {
                deliveries: count(&figures.cluster.deliveries),
                deliveries_failed: count(&figures.cluster.deliveries_failed),
                polls: count(&figures.cluster.polls),
                api_calls,
                api_calls_per_change: (api_calls[0] + api_calls[1]) as f64 / changes.max(1) as f64,
            },
            verdict: Verdict {
                items_made_by_people: made_by_people,
                links,
                duplicate_items: figures.links.duplicate_items,
                items_without_copy: figures.links.items_without_copy,
                lost_updates: figures.links.differing_fields.values().sum(),
                differing_fields: figures.links.differing_fields.clone(),
                comments_without_copy: figures.links.comments_without_copy,
                duplicate_comments: figures.links.surplus_comment_copies,
                attachments_without_copy: figures.links.attachments_without_copy,
                duplicate_attachments: figures.links.surplus_attachment_copies,
                images_not_rehosted: figures.links.images_not_rehosted,
                echo_writes_after_quiescence: figures.echo_writes,
                conflicts_recorded: figures.conflicts,
                changes_parked: figures.parked,
                failures_open: figures.failures_open,
                poll_cycles_to_converge: figures.poll_cycles_to_converge,
                hazards: figures.hazards.clone(),
                examples: figures.links.examples.iter().chain(&figures.hazards.examples).cloned().collect(),
                unlinked: figures.links.unlinked.clone(),
            },
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = &self.verdict;
        let [jira, ado] = &self.injected.faults; // side 1 and side 2
        let crashes: u64 = self.injected.crashes.values().sum();
        // People's calls and tandem's alike meet the plan; its rates apply to them all.
        let storm_calls = jira.calls_under_plan + ado.calls_under_plan;
        let share = |count: u64| if storm_calls == 0 { 0.0 } else { 100.0 * count as f64 / storm_calls as f64 };
        writeln!(
            f,
            "tandem convergence harness — {} ↔ {}, seed {}, {} store",
            self.systems[0], self.systems[1], self.seed, self.store
        )?;
        writeln!(
            f,
            "  changes made      {} in {:.1} s by {} people at once ({} creates, {} field edits, {} comments, {} files attached, {} removed, {} screenshots pasted into texts; {} not made)",
            self.events,
            self.events_seconds,
            self.concurrency,
            self.changes_made.creates,
            self.changes_made.field_edits,
            self.changes_made.comments,
            self.changes_made.attachments,
            self.changes_made.detachments,
            self.changes_made.screenshots,
            self.changes_made.not_made
        )?;
        writeln!(
            f,
            "  faults injected   {} API calls during the storm: {} 5xx ({:.0}%), {} 429 ({:.0}%), {} timeouts ({:.0}%, {} after the write, {} of them after the 504); webhooks {} dropped, {} duplicated, {} delayed",
            storm_calls,
            jira.server_errors + ado.server_errors,
            share(jira.server_errors + ado.server_errors),
            jira.rate_limited + ado.rate_limited,
            share(jira.rate_limited + ado.rate_limited),
            jira.timeouts + ado.timeouts,
            share(jira.timeouts + ado.timeouts),
            jira.timeouts_processed + ado.timeouts_processed,
            jira.timeouts_processed_late + ado.timeouts_processed_late,
            jira.webhooks_dropped + ado.webhooks_dropped,
            jira.webhooks_duplicated + ado.webhooks_duplicated,
            jira.webhooks_delayed + ado.webhooks_delayed
        )?;
        writeln!(
            f,
            "  harsher world     searches lagging {}; {} creates throttled past the lease; {} edits made between tandem's read and its write; store: {} of {} calls refused as conflicts, {} as throttled; credential outages of {}; {} runs cut short by a deadline; people made {} out-of-scope items, {} restricted comments, {} later restrictions",
            lag_range(self.injected.search_lag_max_ms),
            jira.create_throttles + ado.create_throttles,
            jira.meddles + ado.meddles,
            self.injected.store.conflicts,
            self.injected.store.calls,
            self.injected.store.unavailable,
            outages(&self.injected.credential_outages),
            self.injected.cut_short,
            self.changes_made.out_of_scope_creates,
            self.changes_made.restricted_comments,
            self.changes_made.later_restrictions
        )?;
        let per_step: Vec<String> = self.injected.crashes.iter().map(|(step, n)| format!("{step} {n}")).collect();
        writeln!(f, "  worker crashes    {crashes} across {} workers ({})", self.workers, per_step.join(", "))?;
        writeln!(
            f,
            "  tandem            {} deliveries ({} failed or died), {} polls, {} API calls ({:.1} per change)",
            self.tandem.deliveries,
            self.tandem.deliveries_failed,
            self.tandem.polls,
            self.tandem.api_calls[0] + self.tandem.api_calls[1],
            self.tandem.api_calls_per_change
        )?;
        writeln!(
            f,
            "  items             {} links ({} items made by people by the simulators' count of answered creates, {} of them out of scope)",
            verdict.links, verdict.items_made_by_people, self.changes_made.out_of_scope_creates
        )?;
        writeln!(
            f,
            "  duplicates        {} items, {} comments, {} attachments",
            verdict.duplicate_items, verdict.duplicate_comments, verdict.duplicate_attachments
        )?;
        writeln!(
            f,
            "  lost              {} field updates, {} items without copy, {} comments without copy, {} attachments without copy, {} images in comment copies not shown from their own system",
            verdict.lost_updates, verdict.items_without_copy, verdict.comments_without_copy, verdict.attachments_without_copy, verdict.images_not_rehosted
        )?;
        writeln!(f, "  echo writes       {} after quiescence", verdict.echo_writes_after_quiescence)?;
        writeln!(
            f,
            "  kept out          {} out-of-scope copies, {} restricted comments leaked, {} stale writes, {} changes lost to an expired credential, {} mentions turned into words",
            verdict.hazards.out_of_scope_copies,
            verdict.hazards.restricted_comments_leaked,
            verdict.hazards.stale_writes,
            verdict.hazards.lost_to_expired_credentials,
            verdict.hazards.mentions_turned_into_words
        )?;
        writeln!(
            f,
            "  recorded          {} conflicts, {} changes parked, {} failures open",
            verdict.conflicts_recorded, verdict.changes_parked, verdict.failures_open
        )?;
        match verdict.poll_cycles_to_converge {
            Some(cycles) => writeln!(
                f,
                "  converged         in {cycles} poll cycle(s) after the faults stopped ({:.1} s)",
                self.settle_seconds
            )?,
            None => writeln!(f, "  converged         NO, not within the allowed poll cycles")?,
        }
        for example in verdict.examples.iter().chain(verdict.unlinked.iter().take(10)) {
            writeln!(f, "    e.g. {example}")?;
        }
        write!(
            f,
            "  verdict           {}",
            if verdict.kept() {
                "KEPT: no duplicates, nothing lost, no loops, nothing copied that must stay, no stale writes"
            } else {
                "BROKEN"
            }
        )
    }
}

/// The search lag the plan asked for.
fn lag_range(most: u64) -> String {
    match most {
        0 => "never".to_string(),
        most => format!("up to {most} ms"),
    }
}

fn outages(seconds: &[f64]) -> String {
    match seconds {
        [] => "none".to_string(),
        _ => seconds.iter().map(|seconds| format!("{seconds:.1} s")).collect::<Vec<_>>().join(" and "),
    }
}
