//! The checks the harsher world calls for, beyond duplicates and lost updates: nothing copied that is
//! out of scope or restricted, no write that undoes a newer one, nothing lost to an expired credential.

use crate::workload::Made;
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;
use tandem_engine::ports::Link;
use tandem_engine::Engine;
use tandem_model::{ItemId, RichText, Side, Visibility};
use tandem_simulators::recording::RecordedExchange;

/// What the harsher world's checks found; every figure must be 0.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HazardCheck {
    /// Links of items people made in another project or of another type.
    pub out_of_scope_copies: u64,
    /// Copies (in Azure DevOps) of Jira comments that are restricted.
    pub restricted_comments_leaked: u64,
    /// Title writes that set a title older than one the integration had already written to that item.
    pub stale_writes: u64,
    /// Items edited while a credential was expired whose pair is out of sync after settling.
    pub lost_to_expired_credentials: u64,
    pub examples: Vec<String>,
}

impl HazardCheck {
    pub fn clean(&self) -> bool {
        self.out_of_scope_copies == 0
            && self.restricted_comments_leaked == 0
            && self.stale_writes == 0
            && self.lost_to_expired_credentials == 0
    }
}

/// Runs every check. `service_accounts` are the integration's accounts as each simulator records them;
/// `outages` the windows during which a credential was expired; `out_of_sync` the items of links found
/// out of sync.
pub async fn check(
    engine: &Engine,
    links: &[Link],
    made: &Made,
    exchanges: [Vec<RecordedExchange>; 2],
    service_accounts: [String; 2],
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
    for (system, exchanges, account) in
        [("Jira", &exchanges[0], &service_accounts[0]), ("Azure DevOps", &exchanges[1], &service_accounts[1])]
    {
        check.stale_writes += stale_title_writes(system, exchanges, account, &made.titles, &mut check.examples);
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

/// Comments on the Azure DevOps items of the links that copy the words of a Jira comment that is
/// restricted now (as Jira shows it to the service account, which sees every comment here).
async fn leaked_comments(engine: &Engine, links: &[Link], examples: &mut Vec<String>) -> Result<u64> {
    let mut leaked = 0;
    for link in links {
        let restricted: Vec<String> = engine
            .connector(Side::One)
            .list_comments(&link.side1.id)
            .await?
            .iter()
            .filter(|comment| comment.visibility != Visibility::Everyone)
            .map(|comment| words(&plain(&comment.body)))
            .collect();
        if restricted.is_empty() {
            continue;
        }
        for comment in engine.connector(Side::Two).list_comments(&link.side2.id).await? {
            let text = words(&plain(&comment.body));
            if let Some(original) = restricted.iter().find(|original| text.contains(original.as_str())) {
                leaked += 1;
                examples.push(format!("restricted comment copied to {}: {original}", link.side2.label()));
            }
        }
    }
    Ok(leaked)
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writes of a title (by the integration's `account`) that came after its write, to the same item, of a
/// title whose change began only after the first title's change had ended: a write that undoes a
/// newer one. Titles name their event: `… (event N)`.
fn stale_title_writes(
    system: &str,
    exchanges: &[RecordedExchange],
    account: &str,
    titles: &BTreeMap<u64, (Instant, Instant)>,
    examples: &mut Vec<String>,
) -> u64 {
    let mut written: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut stale = 0;
    for exchange in
        exchanges.iter().filter(|exchange| exchange.user.as_deref() == Some(account) && exchange.status < 300)
    {
        let Some((item, title)) = title_write(exchange) else {
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
            examples.push(format!("stale write to {system} item {item}: event {event} after event {newer}"));
        }
        before.push(event);
    }
    stale
}

/// The item and title a recorded create or edit wrote, if it wrote a title.
fn title_write(exchange: &RecordedExchange) -> Option<(String, String)> {
    let body = exchange.request_body.as_ref()?;
    let title = body.pointer("/fields/summary").and_then(|title| title.as_str()).map(str::to_string).or_else(|| {
        body.as_array()?
            .iter()
            .find(|operation| operation.get("path").and_then(|path| path.as_str()) == Some("/fields/System.Title"))
            .and_then(|operation| operation.get("value")?.as_str().map(str::to_string))
    })?;
    let item = match exchange.method.as_str() {
        "POST" => {
            let answer = exchange.response_body.as_ref()?;
            answer.get("id").map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string))?
        }
        _ => exchange.path.rsplit('/').next()?.to_string(),
    };
    Some((item, title))
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
    use serde_json::json;
    use std::time::Duration;

    fn exchange(
        method: &str,
        path: &str,
        body: serde_json::Value,
        answer: Option<serde_json::Value>,
    ) -> RecordedExchange {
        RecordedExchange {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            content_type: None,
            request_body: Some(body),
            status: 200,
            response_body: answer,
            user: Some("svc".into()),
        }
    }

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
        assert_eq!(stale_title_writes("Jira", &log, "svc", &titles, &mut examples), 1, "{examples:?}");
        let create = exchange(
            "POST",
            "/fabrikam/Fabrikam/_apis/wit/workitems/$Bug",
            json!([{"op": "add", "path": "/fields/System.Title", "value": "New (event 2)"}]),
            Some(json!({"id": 7})),
        );
        assert_eq!(title_write(&create), Some(("7".into(), "New (event 2)".into())));
        assert_eq!(event_of("x (event 12) (edited meanwhile 3)"), None);
    }
}
