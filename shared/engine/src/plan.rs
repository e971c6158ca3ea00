//! A dry run of a configuration change (`tandem plan`): for linked pairs, what the new configuration
//! would write into each side, field by field, beside what the configuration in force writes from the
//! same source values; for items not linked, which would start or stop being copied under a changed
//! filter. Both engines read (items, users); neither writes anything, to the systems or the store.

use crate::compare::same_value;
use crate::engine::{index, Engine};
use crate::error::SyncError;
use crate::history::shown;
use crate::ports::Link;
use serde::Serialize;
use std::sync::Arc;
use tandem_mapping::{FieldMapping, IntegrationConfig};
use tandem_model::{FieldValue, Item, ItemRef, Side};

/// One field of one pair that the two configurations would write differently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// The side written.
    pub to: Side,
    /// The mapping's name.
    pub field: String,
    /// What the target holds now.
    pub now: String,
    /// What the configuration in force writes from the source's value; `None` when it does not map
    /// the field in this direction.
    pub current: Option<String>,
    /// What the new configuration writes; `None` when it no longer maps the field in this direction.
    pub planned: Option<String>,
}

/// A linked pair under the new configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairPlan {
    pub side1: ItemRef,
    pub side2: ItemRef,
    pub changes: Vec<FieldChange>,
}

/// An item not linked whose copying a changed filter starts or stops.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeChange {
    pub side: Side,
    pub item: ItemRef,
    /// True: the new filter copies it (on its next change or a backfill); false: it no longer does.
    pub starts: bool,
}

/// Why two configurations cannot be compared by a plan.
#[derive(Debug, thiserror::Error)]
#[error("side {side} is {planned} in the plan but {in_force} in force: a plan compares configurations of the same two projects and item types")]
pub struct OtherPlaces {
    pub side: Side,
    pub planned: String,
    pub in_force: String,
}

impl Engine {
    /// This engine's systems and stores under `config`, for a dry run: a plan compares what two
    /// configurations of the same places would do, so the sides must name the same systems, projects
    /// and item types.
    pub fn reconfigured(&self, config: Arc<IntegrationConfig>) -> Result<Engine, OtherPlaces> {
        for side in Side::BOTH {
            let place = |config: &IntegrationConfig| {
                let settings = config.side(side);
                let url = settings.base_url.as_ref().map(ToString::to_string).unwrap_or_default();
                format!("{} {url} {} {}", settings.system.slug(), settings.project, settings.item_type)
            };
            let (planned, in_force) = (place(&config), place(&self.config));
            if planned != in_force {
                return Err(OtherPlaces { side, planned, in_force });
            }
        }
        Ok(Engine::new(config, self.connectors.clone(), self.stores.clone(), self.clock.clone()))
    }

    /// What this engine's configuration would write into the pair `link` joins, compared with what
    /// `in_force`'s writes, from both items as they are now. `None` when an item is gone.
    pub async fn plan_pair(&self, in_force: &Engine, link: &Link) -> Result<Option<PairPlan>, SyncError> {
        let (Some(item1), Some(item2)) =
            (self.read(Side::One, &link.side1.id).await?, self.read(Side::Two, &link.side2.id).await?)
        else {
            return Ok(None);
        };
        let items = [&item1, &item2];
        let mut changes = Vec::new();
        let names = self.config.fields.iter().chain(&in_force.config.fields).map(|mapping| mapping.name.as_str());
        let mut names: Vec<&str> = names.collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let planned = self.config.fields.iter().find(|mapping| mapping.name == name);
            let current = in_force.config.fields.iter().find(|mapping| mapping.name == name);
            for from in Side::BOTH {
                let to = from.other();
                let planned_value = self.written(planned, from, items).await?;
                let current_value = in_force.written(current, from, items).await?;
                let same = match (&planned_value, &current_value) {
                    (Some(planned), Some(current)) => same_value(planned, current),
                    (None, None) => true,
                    _ => false,
                };
                if same {
                    continue;
                }
                let target_field = planned.or(current).and_then(|mapping| mapping.field(to)).unwrap_or_default();
                changes.push(FieldChange {
                    to,
                    field: name.to_string(),
                    now: shown(items[index(to)].field(target_field)),
                    current: current_value.as_ref().map(shown),
                    planned: planned_value.as_ref().map(shown),
                });
            }
        }
        Ok(Some(PairPlan { side1: link.side1.clone(), side2: link.side2.clone(), changes }))
    }

    /// What `mapping` writes to the other side of `from` from the items' values, if it flows that way.
    async fn written(
        &self,
        mapping: Option<&FieldMapping>,
        from: Side,
        items: [&Item; 2],
    ) -> Result<Option<FieldValue>, SyncError> {
        let Some(mapping) = mapping.filter(|mapping| mapping.flows_from(from) && mapping.flows_to(from.other())) else {
            return Ok(None);
        };
        let source = mapping.field(from).map(|field| items[index(from)].field(field).clone()).unwrap_or_default();
        Ok(Some(self.translate(mapping, from, &source).await?))
    }

    /// Whether this engine's filter on `side` copies `item` where `in_force`'s does not (or the other
    /// way round); `None` when both decide alike.
    pub fn plan_scope(&self, in_force: &Engine, side: Side, item: &Item) -> Option<ScopeChange> {
        let copies = |engine: &Engine| engine.config.filter(side).is_none_or(|filter| filter.matches(&item.fields));
        let (planned, current) = (copies(self), copies(in_force));
        (planned != current).then(|| ScopeChange { side, item: item.item.clone(), starts: planned })
    }
}
