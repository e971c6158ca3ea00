//! What the harness checks once the system has settled, read from the systems themselves (the
//! simulators' records of every API call) and from the engine's audit of each link.

use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use tandem_engine::Engine;
use tandem_simulators::recording::RecordedExchange;

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
    /// `is_create` recognises a successful create call; `person` is the people's account id as the
    /// simulator records it.
    pub fn count(exchanges: &[RecordedExchange], person: &str, is_create: impl Fn(&RecordedExchange) -> bool) -> Self {
        let mut creations = Creations::default();
        for exchange in exchanges {
            let by_person = exchange.user.as_deref() == Some(person);
            if !by_person && exchange.user.is_some() {
                creations.integration_calls += 1;
            }
            if is_create(exchange) {
                if by_person {
                    creations.by_people += 1;
                } else {
                    creations.by_integration += 1;
                }
            }
        }
        creations
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
    pub missing_items: u64,
    /// The first few differences, for a reader to start from.
    pub examples: Vec<String>,
}

impl LinkCheck {
    pub fn in_sync(&self) -> bool {
        self.out_of_sync == 0
    }
}

/// Audits every link of the integration with `engine` (reads only).
pub async fn check_links(engine: &Engine) -> Result<LinkCheck> {
    let links = engine.stores().links.list_links(engine.integration()).await?;
    let mut check = LinkCheck { links: links.len() as u64, ..LinkCheck::default() };
    for link in &links {
        let audit = engine.audit_link(link).await?;
        if audit.in_sync() {
            continue;
        }
        check.out_of_sync += 1;
        check.comments_without_copy += audit.comments_without_copy as u64;
        check.surplus_comment_copies += audit.surplus_comment_copies as u64;
        check.missing_items += u64::from(audit.missing_item);
        for difference in &audit.differing_fields {
            *check.differing_fields.entry(difference.field.clone()).or_default() += 1;
        }
        if check.examples.len() < 5 {
            check.examples.push(format!("{} ↔ {}: {audit:?}", link.side1.label(), link.side2.label()));
        }
    }
    Ok(check)
}
