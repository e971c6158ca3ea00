//! Polling: `changed_since` pages through the search, keeps items updated at the watermark instant, and
//! `project_last_updated` finds the newest change.

mod common;

use chrono::Duration;
use common::*;
use serde_json::json;
use tandem_engine::ports::Connector;
use tandem_jira::Repeat;
use tandem_model::ItemVersion;
use tandem_simulators::faults::FaultPlan;
use tandem_simulators::jira::{PersonEdit, SimUser};

#[tokio::test]
async fn pages_through_more_than_one_search_page_oldest_first() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let before = chrono::Utc::now() - Duration::seconds(1);
    create_issues(&jira, 105).await;
    let changed = jira.changed_since(before).await.unwrap();
    assert_eq!(changed.len(), 105);
    assert!(changed.windows(2).all(|pair| pair[0].updated < pair[1].updated), "not oldest first");
    assert_eq!(changed[0].field("summary"), &text("issue 0"));

    // Pages are keyed by the change instant: after the first page of whole issues, a listing of ids
    // from that page's window skips the issues already returned and the rest are fetched at once.
    let searches = sim.exchanges().iter().filter(|exchange| exchange.path == "/rest/api/3/search/jql").count();
    let fetches = sim.exchanges().iter().filter(|exchange| exchange.path == "/rest/api/3/issue/bulkfetch").count();
    assert!((searches, fetches) <= (3, 1), "105 issues took {searches} searches and {fetches} fetches");
    assert_no_violations(&sim);
}

/// An issue changed while the pages are read moves to the end of the order; paging by offset would then
/// skip the issue that moved up into its place. Paging by the change instant skips nothing, and the edit
/// is not claimed complete: the next poll, from where this one's pages ended, reads it.
#[tokio::test]
async fn an_issue_changed_between_pages_makes_no_other_issue_be_skipped() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let before = chrono::Utc::now() - Duration::seconds(1);
    let created = create_issues(&jira, 105).await;
    let edit = json!({"fields": {"summary": "issue 0, edited while the pages were read"}});
    let first = created[0].item.id.to_string();
    sim.change_after("POST", "/rest/api/3/search/jql", PersonEdit::new(first, edit, SimUser::alice().account_id));

    let (changed, complete_before) = all_pages(&jira, before).await;
    assert_eq!(distinct(&changed), 105, "every issue was read at least once");
    let next_poll = jira.changed_since(complete_before).await.unwrap();
    let edited =
        next_poll.iter().find(|item| item.item.id == created[0].item.id).expect("the next poll reads the edit");
    assert_eq!(edited.field("summary"), &text("issue 0, edited while the pages were read"));
    assert_no_violations(&sim);
}

/// Many issues changed within a minute, and Jira answering pages of 120 issues at most (it may return
/// fewer than asked for): the pages read each issue exactly once, in a few calls per hundred issues.
#[tokio::test]
async fn a_dense_window_is_read_once_in_few_calls() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let before = chrono::Utc::now() - Duration::seconds(1);
    create_issues(&jira, 450).await;
    sim.set_fault_plan(FaultPlan { search_page_limit: Some(120), ..FaultPlan::none() }).unwrap();
    let calls_before = sim.exchanges().len();
    let (changed, _) = all_pages(&jira, before).await;
    assert_eq!((distinct(&changed), changed.len()), (450, 450), "each issue once");
    let calls = sim.exchanges().len() - calls_before;
    assert!(calls <= 30, "450 issues took {calls} calls");
    assert_no_violations(&sim);
}

/// Thousands of issues changed within the same minutes (here: answers of 25 ids at most, 150 issues):
/// a search answered page by page with Jira's tokens shifts as people edit and delete issues and as the
/// window moves on with the clock, and would pass issues over, so no answer is read on with a token.
/// Between every two pages here someone edits one issue and deletes another: every issue left is read,
/// and every edit is read by this poll or by the next one, from where this one's pages ended.
#[tokio::test]
async fn a_busy_window_passes_over_nothing_whatever_changes_between_pages() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let alice = person(&sim, &SimUser::alice());
    let before = chrono::Utc::now() - Duration::seconds(1);
    let created = create_issues(&jira, 150).await;
    sim.set_fault_plan(FaultPlan { search_page_limit: Some(25), ..FaultPlan::none() }).unwrap();
    let (mut read, mut token, mut pages) = (Vec::new(), None, 0);
    let (mut edited, mut deleted) = (Vec::new(), Vec::new());
    let complete_before = loop {
        let page = jira.changed_page(before, token.as_ref()).await.unwrap();
        read.extend(page.items);
        pages += 1;
        let Some(next) = page.next else { break page.complete_before };
        token = Some(next);
        // The oldest issue not edited yet moves to the end of the order; one near the end goes.
        let edit = &created[edited.len()].item.id;
        let body = json!({"fields": {"summary": format!("{edit}, edited on page {pages}")}});
        alice
            .send_without_answer(reqwest::Method::PUT, &format!("/rest/api/3/issue/{edit}"), &body, Repeat::Safe)
            .await
            .unwrap();
        edited.push(edit.clone());
        let gone = &created[created.len() - 1 - deleted.len()].item.id;
        alice.delete(&format!("/rest/api/3/issue/{gone}")).await.unwrap();
        deleted.push(gone.clone());
    };
    assert!(pages > 2, "the window took {pages} pages");
    let searches: Vec<_> =
        sim.exchanges().into_iter().filter(|exchange| exchange.path == "/rest/api/3/search/jql").collect();
    let tokens = searches
        .iter()
        .filter(|exchange| exchange.request_body.as_ref().is_some_and(|body| body.get("nextPageToken").is_some()));
    assert_eq!(tokens.count(), 0, "a search answer is never read on with Jira's offset tokens");
    let left: Vec<_> = created.iter().filter(|item| !deleted.contains(&item.item.id)).collect();
    let read_ids: std::collections::BTreeSet<_> = read.iter().map(|item| &item.item.id).collect();
    let passed_over: Vec<_> = left.iter().filter(|item| !read_ids.contains(&item.item.id)).collect();
    assert!(passed_over.is_empty(), "{} issues passed over", passed_over.len());
    let next_poll = jira.changed_since(complete_before).await.unwrap();
    for id in &edited {
        let latest = jira.get_item(id).await.unwrap();
        let seen = read
            .iter()
            .chain(&next_poll)
            .any(|item| item.item.id == *id && item.field("summary") == latest.field("summary"));
        assert!(seen, "the edit of {id} was read by neither poll");
    }
    assert_no_violations(&sim);
}

/// `count` issues named "issue 0", "issue 1", … created one after the other.
async fn create_issues(jira: &impl Connector, count: usize) -> Vec<tandem_model::Item> {
    let mut created = Vec::new();
    for number in 0..count {
        created.push(jira.create_item(&fields(&[("summary", text(&format!("issue {number}")))]), None).await.unwrap());
    }
    created
}

/// How many different issues `items` holds.
fn distinct(items: &[tandem_model::Item]) -> usize {
    items.iter().map(|item| &item.item.id).collect::<std::collections::BTreeSet<_>>().len()
}

/// Every page of a poll, and the last page's `complete_before`.
async fn all_pages(
    jira: &impl Connector,
    since: chrono::DateTime<chrono::Utc>,
) -> (Vec<tandem_model::Item>, chrono::DateTime<chrono::Utc>) {
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let page = jira.changed_page(since, token.as_ref()).await.unwrap();
        items.extend(page.items);
        match page.next {
            Some(next) => token = Some(next),
            None => return (items, page.complete_before),
        }
    }
}

#[tokio::test]
async fn the_watermark_instant_is_inclusive_and_other_types_are_left_out() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let first = jira.create_item(&fields(&[("summary", text("first"))]), None).await.unwrap();
    let second = jira.create_item(&fields(&[("summary", text("second"))]), None).await.unwrap();
    // A Task in the same project is outside the connector's scope.
    let alice = person(&sim, &SimUser::alice());
    let task = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "a task"}});
    let _: serde_json::Value =
        alice.send(reqwest::Method::POST, "/rest/api/3/issue", &task, Repeat::Unsafe).await.unwrap();

    let at_second = jira.changed_since(second.updated).await.unwrap();
    assert_eq!(at_second.iter().map(|item| item.item.id.clone()).collect::<Vec<_>>(), vec![second.item.id]);
    let after_second = jira.changed_since(second.updated + Duration::milliseconds(1)).await.unwrap();
    assert!(after_second.is_empty(), "{after_second:?}");
    let from_first = jira.changed_since(first.updated).await.unwrap();
    assert_eq!(from_first.len(), 2);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn project_last_updated_is_the_newest_change() {
    let sim = simulator().await;
    let jira = connector(&sim);
    assert_eq!(jira.project_last_updated().await.unwrap(), None);
    let first = jira.create_item(&fields(&[("summary", text("first"))]), None).await.unwrap();
    jira.create_item(&fields(&[("summary", text("second"))]), None).await.unwrap();
    jira.update_item(&first.item.id, &fields(&[("summary", text("first, edited"))]), &ItemVersion::UNCHECKED)
        .await
        .unwrap();
    let edited = jira.get_item(&first.item.id).await.unwrap();
    assert_eq!(jira.project_last_updated().await.unwrap(), Some(edited.updated));
    assert_no_violations(&sim);
}
