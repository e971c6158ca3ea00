//! `tandem plan --config NEW`: what a changed configuration would do before it is in force — for linked
//! pairs, each field the new configuration would write otherwise than the one in force (from the items
//! as they are now), and which items not linked a changed filter would start or stop copying. Nothing
//! is written to the systems or the store.

use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;
use tandem_engine::plan::{PairPlan, ScopeChange};
use tandem_engine::ports::Link;
use tandem_engine::Engine;
use tandem_model::{Side, Timestamp};

/// What `tandem plan` found.
#[derive(Debug, Default, Serialize)]
pub struct PlanReport {
    /// The pairs the new configuration would write otherwise.
    pub pairs: Vec<PairPlan>,
    /// Pairs looked at that it would write alike.
    pub unchanged_pairs: usize,
    /// Pairs with an item gone.
    pub gone_pairs: usize,
    /// Items not linked whose copying a changed filter starts or stops.
    pub scope: Vec<ScopeChange>,
    /// How many items not linked were looked at, per side whose filter changed.
    pub scanned: Vec<(Side, usize)>,
}

/// Plans `planned` against `in_force` for `links`, and, on each side whose filter changed, for up to
/// `scan` items changed since `since` that are not linked.
pub async fn plan(
    planned: &Engine,
    in_force: &Engine,
    links: &[Link],
    scan: usize,
    since: Timestamp,
) -> Result<PlanReport> {
    let mut report = PlanReport::default();
    for link in links {
        match planned.plan_pair(in_force, link).await? {
            None => report.gone_pairs += 1,
            Some(pair) if pair.changes.is_empty() => report.unchanged_pairs += 1,
            Some(pair) => report.pairs.push(pair),
        }
    }
    for side in Side::BOTH {
        if planned.config().filter(side) == in_force.config().filter(side) {
            continue;
        }
        let mut scanned = 0;
        for item in planned.connector(side).changed_since(since).await? {
            if scanned == scan {
                break;
            }
            let integration = &planned.config().name;
            if planned.stores().links.get_link(integration, side, &item.item.id).await?.is_some() {
                continue;
            }
            scanned += 1;
            report.scope.extend(planned.plan_scope(in_force, side, &item));
        }
        report.scanned.push((side, scanned));
    }
    Ok(report)
}

impl PlanReport {
    /// True when the new configuration would do nothing differently for what was looked at.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() && self.scope.is_empty()
    }
}

impl std::fmt::Display for PlanReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for pair in &self.pairs {
            writeln!(f, "{} ↔ {}", pair.side1.label(), pair.side2.label())?;
            for change in &pair.changes {
                let shown = |value: &Option<String>| match value {
                    Some(value) => format!("{value:?}"),
                    None => "(not written)".to_string(),
                };
                writeln!(
                    f,
                    "    side {} {}: now {:?}; in force writes {}, planned writes {}",
                    change.to,
                    change.field,
                    change.now,
                    shown(&change.current),
                    shown(&change.planned)
                )?;
            }
        }
        for change in &self.scope {
            let verb = if change.starts { "would start being copied" } else { "would no longer be copied" };
            writeln!(f, "side {} {}: {verb} (filter changed)", change.side, change.item.label())?;
        }
        let mut summary = format!(
            "{} pair(s) written otherwise, {} alike, {} with an item gone",
            self.pairs.len(),
            self.unchanged_pairs,
            self.gone_pairs
        );
        for (side, scanned) in &self.scanned {
            let _ = write!(summary, "; side {side}: {scanned} unlinked item(s) checked against the changed filter");
        }
        writeln!(f, "{summary}")
    }
}
