//! What the harness checks once the system has settled, read from the systems themselves (the
//! simulators' records of every API call) and from the engine's audit of each link.

use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use tandem_engine::Engine;
use tandem_model::{ItemId, ItemRef, Side};

/// Who made which items, per system, from the simulator's record of successful create calls.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Creations {
    /// Items people made.
    pub by_people: u64,
    /// Items the integration made (copies).
    pub by_integration: u64,
    /// API calls the integration made, whatever their answer.
    pub integration_calls: u64,
}

impl Creations {
    /// From a simulator's per-user counters; `person` is the people's account as the simulator
    /// records it, every other account is the integration's.
    pub fn count(creations: &BTreeMap<String, u64>, requests: &BTreeMap<String, u64>, person: &str) -> Self {
        let others = |counts: &BTreeMap<String, u64>| -> u64 {
            counts.iter().filter(|(user, _)| user.as_str() != person).map(|(_, count)| count).sum()
        };
        Creations {
            by_people: creations.get(person).copied().unwrap_or_default(),
            by_integration: others(creations),
            integration_calls: others(requests),
        }
    }
}

/// The state of every link after settling.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LinkCheck {
    pub links: u64,
    /// Links whose mapped fields differ, or whose comments are not all copied once.
    pub out_of_sync: u64,
    /// Mapped fields that differ, by mapping name (a lost update each).
    pub differing_fields: BTreeMap<String, u64>,
    pub comments_without_copy: u64,
    pub surplus_comment_copies: u64,
    pub attachments_without_copy: u64,
    pub surplus_attachment_copies: u64,
    /// Images in comment copies not shown from a file of the copy's own system.
    pub images_not_rehosted: u64,
    pub missing_items: u64,
    /// The first few differences, for a reader to start from.
    pub examples: Vec<String>,
    /// Items in no link (people's items not yet copied, or copies made twice).
    pub unlinked: Vec<String>,
    /// Unlinked items the integration created: copies made twice.
    pub duplicate_items: u64,
    /// Unlinked items people created: never copied.
    pub items_without_copy: u64,
    /// The items of the links found out of sync.
    #[serde(skip)]
    pub out_of_sync_items: BTreeSet<ItemId>,
    /// The first few links found out of sync, for their histories.
    #[serde(skip)]
    pub out_of_sync_links: Vec<[ItemRef; 2]>,
}

impl LinkCheck {
    pub fn in_sync(&self) -> bool {
        self.out_of_sync == 0 && self.unlinked.is_empty()
    }
}

/// Audits every link of the integration with `engine` (reads only), and names items in neither by
/// their `titles` (each side's title field).
pub async fn check_links(engine: &Engine, titles: [&str; 2]) -> Result<LinkCheck> {
    let links = engine.stores().links.list_links(engine.integration()).await?;
    let mut check = LinkCheck { links: links.len() as u64, ..LinkCheck::default() };
    for side in Side::BOTH {
        let linked: HashSet<&ItemId> = links.iter().map(|link| &link.item(side).id).collect();
        let everything = engine.connector(side).changed_since(chrono::DateTime::UNIX_EPOCH).await?;
        let own = engine.service_account(side).await?.id.clone();
        for item in everything.iter().filter(|item| !linked.contains(&item.item.id)) {
            // The integration's items are copies; an unlinked one is a copy made twice.
            if item.created_by.as_ref().is_some_and(|creator| creator.id == own) {
                check.duplicate_items += 1;
            } else {
                check.items_without_copy += 1;
            }
            check.unlinked.push(format!(
                "unlinked: side {side} {} created by {:?}: {:?}",
                item.item.label(),
                item.created_by.as_ref().and_then(|user| user.email.clone().or(Some(user.id.clone()))),
                item.fields.get(titles[usize::from(side.number() - 1)])
            ));
        }
    }
    for link in &links {
        let audit = engine.audit_link(link).await?;
        if audit.in_sync() {
            continue;
        }
        check.out_of_sync += 1;
        check.out_of_sync_items.extend([link.side1.id.clone(), link.side2.id.clone()]);
        check.comments_without_copy += audit.comments_without_copy as u64;
        check.surplus_comment_copies += audit.surplus_comment_copies as u64;
        check.attachments_without_copy += audit.attachments_without_copy as u64;
        check.surplus_attachment_copies += audit.surplus_attachment_copies as u64;
        check.images_not_rehosted += audit.images_not_rehosted as u64;
        check.missing_items += u64::from(audit.missing_item);
        for difference in &audit.differing_fields {
            *check.differing_fields.entry(difference.field.clone()).or_default() += 1;
        }
        if check.examples.len() < 5 {
            check.examples.push(format!("{} ↔ {}: {audit:?}", link.side1.label(), link.side2.label()));
            check.out_of_sync_links.push([link.side1.clone(), link.side2.clone()]);
        }
    }
    Ok(check)
}
