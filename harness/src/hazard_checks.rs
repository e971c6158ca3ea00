//! The checks the harsher world calls for, beyond duplicates and lost updates: nothing copied that is
//! out of scope or restricted, no write that undoes a newer one, nothing lost to an expired credential.

use crate::systems::Simulated;
use crate::workload::Made;
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;
use tandem_engine::ports::Link;
use tandem_engine::Engine;
use tandem_model::{FieldValue, ItemId, RichText, Side, Visibility};
use tandem_simulators::recording::RecordedExchange;

/// What the harsher world's checks found; every figure must be 0.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HazardCheck {
    /// Links of items people made in another project or of another type.
    pub out_of_scope_copies: u64,
    /// Copies, on the other side, of comments that are restricted where they were written.
    pub restricted_comments_leaked: u64,
    /// Title writes that set a title older than one the integration had already written to that item.
    pub stale_writes: u64,
    /// Items edited while a credential was expired whose pair is out of sync after settling.
    pub lost_to_expired_credentials: u64,
    /// Mentions of someone the other side does not know that became mere words where they were made
    /// (their text came back from the other side and replaced them).
    pub mentions_turned_into_words: u64,
    pub examples: Vec<String>,
}

impl HazardCheck {
    pub fn clean(&self) -> bool {
        self.out_of_scope_copies == 0
            && self.restricted_comments_leaked == 0
            && self.stale_writes == 0
            && self.lost_to_expired_credentials == 0
            && self.mentions_turned_into_words == 0
    }
}

/// Runs every check. `systems` are the two sides' simulators; `outages` the windows during which a
/// credential was expired; `out_of_sync` the items of links found out of sync.
pub async fn check(
    engine: &Engine,
    links: &[Link],
    made: &Made,
    systems: [&dyn Simulated; 2],
    outages: &[(Instant, Instant)],
    out_of_sync: &BTreeSet<ItemId>,
) -> Result<HazardCheck> {
    let mut check = HazardCheck::default();
    let out_of_scope: BTreeSet<(Side, &ItemId)> = made.out_of_scope.iter().map(|(side, id)| (*side, id)).collect();
    for link in links {
        if Side::BOTH.into_iter().any(|side| out_of_scope.contains(&(side, &link.item(side).id))) {
            check.out_of_scope_copies += 1;
            check.examples.push(format!("out-of-scope item copied: {} ↔ {}", link.side1.label(), link.side2.label()));
        }
    }
    check.restricted_comments_leaked = leaked_comments(engine, links, &mut check.examples).await?;
    for (side, system) in Side::BOTH.into_iter().zip(systems) {
        if let Some(mention) = system.desk()?.unmapped_mention() {
            check.mentions_turned_into_words +=
                words_for_mentions(engine, links, side, &mention, &mut check.examples).await?;
        }
    }
    for system in systems {
        let writes = TitleWrites {
            system: system.name(),
            account: &system.service_account(),
            read: &|exchange| system.title_write(exchange),
        };
        check.stale_writes += stale_title_writes(&writes, &system.exchanges(), &made.titles, &mut check.examples);
    }
    let during_outages: BTreeSet<&ItemId> = made
        .edits
        .iter()
        .filter(|(_, _, at)| outages.iter().any(|(start, end)| start <= at && at <= end))
        .map(|(_, id, _)| id)
        .collect();
    check.lost_to_expired_credentials = during_outages.iter().filter(|id| out_of_sync.contains(**id)).count() as u64;
    check.examples.truncate(10);
    Ok(check)
}

/// Comments on either item of the links that copy the words of a comment restricted now on the other
/// item (as its system shows it to the service account, which sees every comment here). The
/// integration's own comments are copies, restricted where it writes them so (Salesforce's unpublished
/// Case comments): they are not originals.
async fn leaked_comments(engine: &Engine, links: &[Link], examples: &mut Vec<String>) -> Result<u64> {
    let mut leaked = 0;
    for side in Side::BOTH {
        let own = engine.service_account(side).await?.id.clone();
        for link in links {
            let restricted: Vec<String> = engine
                .connector(side)
                .list_comments(&link.item(side).id)
                .await?
                .iter()
                .filter(|comment| comment.visibility != Visibility::Everyone)
                .filter(|comment| comment.author.as_ref().is_none_or(|author| author.id != own))
                .map(|comment| words(&plain(&comment.body)))
                .collect();
            if restricted.is_empty() {
                continue;
            }
            let other = link.item(side.other());
            for comment in engine.connector(side.other()).list_comments(&other.id).await? {
                let text = words(&plain(&comment.body));
                if let Some(original) = restricted.iter().find(|original| text.contains(original.as_str())) {
                    leaked += 1;
                    examples.push(format!("restricted comment copied to {}: {original}", other.label()));
                }
            }
        }
    }
    Ok(leaked)
}

/// Rich text on `side` that shows `mention`'s words without the mention itself.
async fn words_for_mentions(
    engine: &Engine,
    links: &[Link],
    side: Side,
    (id, text): &(String, String),
    examples: &mut Vec<String>,
) -> Result<u64> {
    let mut found = 0;
    for link in links {
        let item = engine.connector(side).get_item(&link.item(side).id).await?;
        for (field, value) in &item.fields {
            let FieldValue::RichText(rich) = value else { continue };
            let mentioned = tandem_rich_text::mentions(rich).iter().any(|mention| &mention.id == id);
            if plain(rich).contains(text.as_str()) && !mentioned {
                found += 1;
                examples.push(format!("{text} in {} {field} is words, not a mention", item.item.label()));
            }
        }
    }
    Ok(found)
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How to find the integration's title writes in one system's record of calls.
struct TitleWrites<'a> {
    system: &'a str,
    /// The integration's service account, as the system records callers.
    account: &'a str,
    /// The item and title a recorded create or edit wrote, if it wrote a title.
    read: &'a dyn Fn(&RecordedExchange) -> Option<(String, String)>,
}

/// Writes of a title (by the integration's `account`) that came after its write, to the same item, of a
/// title whose change began only after the first title's change had ended: a write that undoes a
/// newer one. Titles name their event: `… (event N)`.
fn stale_title_writes(
    writes: &TitleWrites<'_>,
    exchanges: &[RecordedExchange],
    titles: &BTreeMap<u64, (Instant, Instant)>,
    examples: &mut Vec<String>,
) -> u64 {
    let mut written: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut stale = 0;
    for exchange in
        exchanges.iter().filter(|exchange| exchange.user.as_deref() == Some(writes.account) && exchange.status < 300)
    {
        let Some((item, title)) = (writes.read)(exchange) else {
            continue;
        };
        let Some(event) = event_of(&title) else {
            continue;
        };
        let before = written.entry(item.clone()).or_default();
        let undone = before.iter().find(|newer| match (titles.get(newer), titles.get(&event)) {
            (Some((newer_started, _)), Some((_, this_ended))) => newer_started > this_ended,
            _ => false,
        });
        if let Some(newer) = undone {
            stale += 1;
            examples.push(format!("stale write to {} item {item}: event {event} after event {newer}", writes.system));
        }
        before.push(event);
    }
    stale
}

/// The event a title names: `… (event 42)`; none for titles a person edited meanwhile by hand.
fn event_of(title: &str) -> Option<u64> {
    if title.contains("edited meanwhile") {
        return None;
    }
    let start = title.rfind("(event ")? + "(event ".len();
    title[start..].trim_end_matches(')').parse().ok()
}

fn plain(body: &RichText) -> String {
    tandem_rich_text::plain_text(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::tests::exchange;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn a_title_written_after_a_newer_one_is_stale() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let titles = BTreeMap::from([(1, (at(0), at(10))), (2, (at(20), at(30))), (3, (at(25), at(40)))]);
        let write = |event: u64| {
            exchange(
                "PUT",
                "/rest/api/3/issue/10001",
                json!({"fields": {"summary": format!("t (event {event})")}}),
                None,
            )
        };
        let mut examples = Vec::new();
        // 1, then 2 (newer), then 1 again: stale. 3 overlaps 2 in time, so 3 then 2 is not.
        let log = [write(1), write(2), write(1), write(3), write(2)];
        let writes = TitleWrites { system: "Jira", account: "svc", read: &crate::systems::jira::title_write };
        assert_eq!(stale_title_writes(&writes, &log, &titles, &mut examples), 1, "{examples:?}");
        assert_eq!(event_of("x (event 12) (edited meanwhile 3)"), None);
    }
}
