//! The world as it really is: searches that lag behind writes, edits made between tandem's read and its
//! write, throttled creates, credentials that expire, and changes whose webhooks never come while
//! another sync is under way. Each scenario shows one hazard met without a lost change, a stale write or
//! a second copy.

mod support;

use anyhow::{Context, Result};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::{text, update_notice, World};
use tandem_engine::ports::{Connector, Link};
use tandem_engine::RetryPolicy;
use tandem_model::{FieldValue, Item, ItemId, Side};
use tandem_simulators::azure_devops::WorkItemEdit;
use tandem_simulators::faults::{FaultPlan, LatencyRange};
use tandem_simulators::jira::{PersonEdit, SimUser};

/// The local example with `polling.search_lag` set (the example's simulators do not lag by default).
async fn world_with_search_lag(lag: &str) -> Result<World> {
    let config = support::local_config(|text| text.replacen("search_lag: 0s", &format!("search_lag: {lag}"), 1))?;
    World::with_config(config).await
}

fn lagging_search(milliseconds: u64) -> FaultPlan {
    FaultPlan { search_lag_ms: LatencyRange { min: milliseconds, max: milliseconds }, ..FaultPlan::none() }
}

async fn new_jira_bug(world: &World, summary: &str) -> Result<Item> {
    let fields = support::field_map(&[("summary", text(summary)), ("priority", text("High"))]);
    Ok(world.jira_alice.create_item(&fields, None).await?)
}

async fn copy_of(world: &World, bug: &ItemId) -> Result<Item> {
    let link = world.link_of(Side::One, bug).await?.context("the bug is linked")?;
    Ok(world.ado_alice.get_item(&link.side2.id).await?)
}

/// Writes the integration's service account made to Azure DevOps.
fn ado_writes_by_tandem(world: &World) -> u64 {
    let service = world.ado().service_account().id.to_string();
    world.ado().stats().recording.writes_by_user.get(&service).copied().unwrap_or(0)
}

/// An issue that shows up in search late, with a change instant before the watermark a poll has
/// already reached, is still read: polls read `search_lag` back past their watermark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_that_shows_up_in_search_late_is_still_synced() -> Result<()> {
    let world = world_with_search_lag("4s").await?;
    world.jira().webhooks().pause();
    world.engine().poll_side(Side::One).await?;
    world.jira().set_fault_plan(lagging_search(3_000))?;
    let late = new_jira_bug(&world, "Visible to search late").await?;
    world.jira().set_fault_plan(lagging_search(50))?;
    let early = new_jira_bug(&world, "Visible to search at once").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let first = world.engine().poll_side(Side::One).await?;
    assert!(world.link_of(Side::One, &early.item.id).await?.is_some(), "the visible issue is synced");
    assert!(world.link_of(Side::One, &late.item.id).await?.is_none(), "the late one is not visible yet");
    assert!(first.watermark >= early.updated && early.updated > late.updated);

    tokio::time::sleep(Duration::from_secs(3)).await;
    world.engine().poll_side(Side::One).await?;
    assert!(world.link_of(Side::One, &late.item.id).await?.is_some(), "the late issue is synced on a later poll");
    world.jira().clear_fault_plan();
    world.jira().webhooks().resume();
    world.finish().await
}

/// A poll's page can show an older state of an issue than a webhook has already synced (search lags
/// behind writes): the poll writes nothing from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_search_result_never_writes_old_values_back() -> Result<()> {
    let world = world_with_search_lag("5s").await?;
    let bug = new_jira_bug(&world, "Title before").await?;
    world.settle().await?;
    world.jira().set_fault_plan(lagging_search(4_000))?;
    world.edit_in_jira(&bug.item.id, &[("summary", text("Title after"))]).await?;
    world.jira().webhooks().settled().await;
    let copy = copy_of(&world, &bug.item.id).await?;
    assert_eq!(copy.field("System.Title"), &text("Title after"), "the webhook synced the edit");

    let writes = ado_writes_by_tandem(&world);
    let report = world.engine().poll_side(Side::One).await?;
    assert!(report.items >= 1, "the poll's page held the issue, in its older state");
    assert_eq!(ado_writes_by_tandem(&world), writes, "nothing was written from the stale page");
    assert_eq!(copy_of(&world, &bug.item.id).await?.field("System.Title"), &text("Title after"));
    world.jira().clear_fault_plan();
    world.finish().await
}

/// A change whose webhook was lost, made while a webhook's sync of the same issue was under way: the
/// poll leaves the issue to the sync's note, and the sync (which read the issue before the change) does
/// not clear that note, so the change is synced when the note comes due.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_during_a_sync_is_not_lost_when_the_sync_ends() -> Result<()> {
    let world = World::start().await?;
    let bug = new_jira_bug(&world, "Before").await?;
    world.settle().await?;
    let lease = Duration::from_secs(2);
    let worker = Arc::new(world.another_worker().await?.with_claim_lease(lease));
    world.jira().webhooks().pause();
    world
        .ado()
        .set_fault_plan(FaultPlan { latency_ms: LatencyRange { min: 1_500, max: 1_500 }, ..FaultPlan::none() })?;

    let delivery = update_notice("under-way", &bug.item.id);
    let holder = {
        let worker = worker.clone();
        tokio::spawn(async move { worker.receive_delivery(Side::One, &delivery).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    world.edit_in_jira(&bug.item.id, &[("summary", text("Changed while the sync was under way"))]).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.poll_side(Side::One).await?;
    holder.await??;
    world.ado().clear_fault_plan();

    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    worker.retry_failures().await?;
    let copy = copy_of(&world, &bug.item.id).await?;
    assert_eq!(copy.field("System.Title"), &text("Changed while the sync was under way"));
    world.jira().webhooks().resume();
    world.finish().await
}

/// The lease outlasts the slowest call a connector may make, retries and waits included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_lease_outlasts_the_slowest_create() -> Result<()> {
    let world = World::start().await?;
    let worker = world.another_worker().await?;
    let slowest =
        Side::BOTH.into_iter().map(|side| worker.connector(side).max_call_duration()).max().unwrap_or_default();
    assert!(slowest >= Duration::from_secs(150), "the default policies allow long calls: {slowest:?}");
    assert!(worker.claim_lease() > slowest, "lease {:?}, slowest call {slowest:?}", worker.claim_lease());
    world.stop().await;
    Ok(())
}

/// A create throttled with a Retry-After longer than a call may wait is not waited out inside the call
/// (a lease would run out meanwhile): the call ends, and the change is tried again once the wait is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_throttled_for_longer_than_a_call_may_wait_is_retried_after_the_wait() -> Result<()> {
    let world = World::start().await?;
    world.ado().set_fault_plan(FaultPlan {
        create_throttle_rate: 1.0,
        create_retry_after_seconds: 600,
        ..FaultPlan::none()
    })?;
    let started = chrono::Utc::now();
    let bug = new_jira_bug(&world, "Throttled").await?;
    world.jira().webhooks().settled().await;
    let failure = world
        .engine()
        .stores()
        .log
        .get_failure(&world.config.name, Side::One, &bug.item.id)
        .await?
        .context("the throttled change is recorded")?;
    let due = failure.next_attempt_at.context("not parked")? - started;
    assert!(due >= chrono::Duration::seconds(590), "retried after the Retry-After, not before: {due}");
    let creates = world
        .ado()
        .exchanges()
        .iter()
        .filter(|exchange| exchange.method == "POST" && exchange.path.contains("$Bug"))
        .count();
    assert_eq!(creates, 1, "the create was not sent again within the call");
    assert!(!failure.parked);
    world.ado().clear_fault_plan();

    // The item's next notice copies it; the record of the throttled attempt, kept under the item's own
    // id while it had no link, goes with the copy.
    let outcome = world.engine().receive_delivery(Side::One, &update_notice("after-the-wait", &bug.item.id)).await?;
    assert_eq!((outcome.synced, outcome.failed), (1, 0), "{outcome:?}");
    assert!(world.link_of(Side::One, &bug.item.id).await?.is_some(), "copied");
    let log = &world.engine().stores().log;
    assert_eq!(log.get_failure(&world.config.name, Side::One, &bug.item.id).await?, None, "the record went");
    world.stop().await;
    Ok(())
}

/// A person edits the Azure DevOps copy right after tandem read it: tandem's write carries a test of the
/// revision it read, is refused, and the merge that follows sees both edits as the conflict they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_between_the_read_and_the_write_is_not_overwritten() -> Result<()> {
    let world = World::start().await?;
    let bug = new_jira_bug(&world, "Original").await?;
    world.settle().await?;
    let copy = copy_of(&world, &bug.item.id).await?;
    let id: u32 = copy.item.id.as_str().parse()?;
    let meanwhile = json!([{"op": "add", "path": "/fields/System.Title", "value": "Edited in ADO meanwhile"}]);
    world.ado().change_after(
        "GET",
        &format!("/_apis/wit/workitems/{id}"),
        WorkItemEdit::new(id, meanwhile, "alice@fabrikam.example"),
    );
    world.edit_in_jira(&bug.item.id, &[("summary", text("Edited in Jira"))]).await?;
    world.settle().await?;

    let title = world.ado_field(&copy.item.id, "System.Title").await?;
    assert_eq!(title, text("Edited in ADO meanwhile"), "the later edit wins under latest-wins, and is kept");
    assert_eq!(world.jira_field(&bug.item.id, "summary").await?, title);
    let conflicts = world.engine().stores().log.list_conflicts(&world.config.name).await?;
    assert!(conflicts.iter().any(|conflict| conflict.field == "title"), "the conflict is recorded: {conflicts:?}");
    world.finish().await
}

/// Jira has no conditional edit: a person edits the issue right after tandem read it to write an Azure
/// DevOps change into it, and that person's webhook is lost. tandem's write lands on top of the edit;
/// the issue as it stands afterwards is not taken as synced, so the next poll finds the edit and carries
/// it to Azure DevOps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_in_jira_during_a_blind_write_is_synced_by_the_next_poll() -> Result<()> {
    let world = World::start().await?;
    let bug = new_jira_bug(&world, "Original").await?;
    world.settle().await?;
    let copy = copy_of(&world, &bug.item.id).await?;
    world.jira().set_fault_plan(FaultPlan { webhook_drop_rate: 1.0, ..FaultPlan::none() })?;
    world.jira_edit_after_next_read(&bug.item.id, json!({"fields": {"summary": "Edited in Jira meanwhile"}}));
    world.edit_in_ado(&copy.item.id, &[("Microsoft.VSTS.Common.Priority", FieldValue::Number(4.0))]).await?;
    world.settle().await?;

    assert_eq!(world.jira_field(&bug.item.id, "summary").await?, text("Edited in Jira meanwhile"));
    assert_eq!(world.jira_field(&bug.item.id, "priority").await?, text("Low"), "the Azure DevOps edit landed");
    let title = world.ado_field(&copy.item.id, "System.Title").await?;
    assert_eq!(title, text("Edited in Jira meanwhile"), "the poll carried the edit made during the write");
    world.finish().await
}

/// A poll's page read from Jira's records moments ago stands for a fresh read of an issue not linked yet;
/// a search's answer may lag behind the issue, so an issue a search showed is read again before it is
/// copied: one given a security level just after the search is not copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_fresh_read_is_copied_from_and_a_search_is_not_one() -> Result<()> {
    let world = World::start().await?;
    world.settle().await?;
    world.jira().set_fault_plan(FaultPlan { webhook_drop_rate: 1.0, ..FaultPlan::none() })?;
    let mut bugs = Vec::new();
    for number in 0..105 {
        bugs.push(new_jira_bug(&world, &format!("Backfilled {number}")).await?.item.id);
    }
    let restricted = &bugs[0];
    world.jira().change_after(
        "POST",
        "/rest/api/3/search/jql",
        PersonEdit::new(
            restricted.to_string(),
            json!({"fields": {"security": {"name": "Internal"}}}),
            SimUser::alice().account_id,
        ),
    );
    let before = world.jira().exchanges().len();
    world.settle().await?;

    assert!(world.link_of(Side::One, restricted).await?.is_none(), "restricted after the search, not copied");
    for bug in &bugs[1..] {
        world.link_of(Side::One, bug).await?.context("every other bug is copied")?;
    }
    let single_reads = world.jira().exchanges()[before..]
        .iter()
        .filter(|exchange| {
            exchange.method == "GET" && bugs.iter().any(|bug| exchange.path.ends_with(&format!("/issue/{bug}")))
        })
        .count();
    assert!(single_reads < 104, "the bulk-fetched page was copied from as read: {single_reads} single reads");
    world.finish().await
}

/// While the Azure DevOps token is refused, changes wait: a poll stops before them (its watermark stays),
/// a webhook's change is recorded but never parked; once the token is renewed, every change made during
/// the outage arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_while_a_token_is_expired_arrive_once_it_is_renewed() -> Result<()> {
    let world = World::start().await?;
    let bug = new_jira_bug(&world, "Before the outage").await?;
    world.settle().await?;
    let policy = RetryPolicy { base: Duration::from_millis(10), max_delay: Duration::from_millis(50), max_attempts: 2 };
    let worker = world.another_worker().await?.with_retry_policy(policy);
    world.jira().webhooks().pause();
    world.ado().expire_credentials();
    world.edit_in_jira(&bug.item.id, &[("summary", text("During the outage"))]).await?;
    let during = new_jira_bug(&world, "Filed during the outage").await?;
    let outcome = worker.receive_delivery(Side::One, &update_notice("outage", &bug.item.id)).await?;
    assert_eq!(outcome.failed, 1);
    let watermark = world.engine().stores().watermarks.get_watermark(&world.config.name, Side::One).await?;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let report = worker.poll_side(Side::One).await?;
        assert!(report.blocked.is_some(), "the poll stops at the refused credentials");
        worker.retry_failures().await?;
    }
    let failures = worker.stores().log.list_failures(&world.config.name).await?;
    assert!(!failures.is_empty() && failures.iter().all(|failure| !failure.parked), "{failures:?}");
    let held = world.engine().stores().watermarks.get_watermark(&world.config.name, Side::One).await?;
    assert!(held <= watermark.max(Some(during.updated - chrono::Duration::milliseconds(1))), "the watermark stayed");

    world.ado().renew_credentials();
    tokio::time::sleep(Duration::from_millis(60)).await;
    worker.poll_side(Side::One).await?;
    worker.retry_failures().await?;
    world.jira().webhooks().resume();
    world.settle().await?;
    assert_eq!(copy_of(&world, &bug.item.id).await?.field("System.Title"), &text("During the outage"));
    assert_eq!(copy_of(&world, &during.item.id).await?.field("System.Title"), &text("Filed during the outage"));
    world.finish().await
}

/// A signed Jira body replayed under a new delivery identifier is the same delivery: it costs no read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_signed_notice_costs_no_read() -> Result<()> {
    let world = World::start().await?;
    world.jira().webhooks().pause();
    let bug = new_jira_bug(&world, "Replayed").await?;
    let secret = world.environment.webhook_secret(Side::One).context("simulated Jira has a webhook secret")?;
    let body = json!({
        "timestamp": chrono::Utc::now().timestamp_millis(),
        "webhookEvent": "jira:issue_created",
        "user": { "accountId": SimUser::alice().account_id },
        "issue": { "id": bug.item.id.as_str(), "key": bug.item.label(), "fields": { "project": { "key": "OPS" } } }
    })
    .to_string();
    let signature =
        format!("sha256={}", tandem_simulators::webhooks::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()));
    let reads = |world: &World| {
        let path = format!("/rest/api/3/issue/{}", bug.item.id);
        world.jira().exchanges().iter().filter(|exchange| exchange.method == "GET" && exchange.path == path).count()
    };
    let mut answers = Vec::new();
    for identifier in ["first", "replayed-with-a-new-identifier", "and-again"] {
        let before = reads(&world);
        let response = reqwest::Client::new()
            .post(world.webhook_url(Side::One))
            .header("content-type", "application/json")
            .header("x-hub-signature", &signature)
            .header("x-atlassian-webhook-identifier", identifier)
            .body(body.clone())
            .send()
            .await?;
        answers.push((response.json::<serde_json::Value>().await?, reads(&world) - before));
    }
    assert_eq!(answers[0].0["synced"], 1, "{answers:?}");
    for (answer, read) in &answers[1..] {
        assert_eq!((answer["duplicate"].clone(), *read), (json!(true), 0), "{answers:?}");
    }
    world.jira().webhooks().resume();
    world.finish().await
}

/// A person retitles the copy tandem has just created, before tandem reads it back: the state tandem
/// reads already holds the edit. With the edit's notice lost, the poll that lists that very state must
/// still sync it (it did not: the link counted the copy's state as seen, and the edit was lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_of_a_new_copy_before_tandem_reads_it_back_is_synced_by_the_next_poll() -> Result<()> {
    let world = World::start().await?;
    let fields = support::field_map(&[("System.Title", text("Printer jams"))]);
    let bug = world.ado_alice.create_item(&fields, None).await?;
    world.jira().webhooks().pause();
    // The copy will be the site's first issue; Alice retitles it as soon as Jira answers its create.
    let retitle =
        PersonEdit::new("OPS-1", json!({"fields": {"summary": "Printer jams on A3"}}), SimUser::alice().account_id);
    world.jira().change_after("POST", "/rest/api/3/issue", retitle);
    world.engine().sync_item(Side::Two, &bug.item.id).await?;
    let link = world.link_of(Side::Two, &bug.item.id).await?.context("linked")?;
    assert_eq!(link.side1.key.as_deref(), Some("OPS-1"), "the copy is the first issue");
    world.engine().poll_side(Side::One).await?;
    let title = world.ado_alice.get_item(&bug.item.id).await?.field("System.Title").clone();
    assert_eq!(title, text("Printer jams on A3"));
    world.jira().webhooks().resume();
    world.finish().await
}

/// A delivery costs no store request of its own: echoes and notices of nothing new write nothing, and
/// a repeat is dropped by the link its first sync wrote, before any call to a system.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_remembered_only_by_the_links_their_syncs_write() -> Result<()> {
    let world = World::start().await?;
    let bug = new_jira_bug(&world, "Echo").await?;
    world.settle().await?;
    let version = |link: Option<Link>| link.map(|link| link.version);
    let before = version(world.link_of(Side::One, &bug.item.id).await?);
    let mut echo = update_notice("echo-only", &bug.item.id);
    echo.notices[0].actor = Some(world.engine().service_account(Side::One).await?.clone());
    let outcome = world.engine().receive_delivery(Side::One, &echo).await?;
    assert_eq!((outcome.echoes, outcome.synced, outcome.duplicate), (1, 0, false));
    // A notice of nothing new is synced, writes nothing, and so is not remembered: its repeat reads again.
    let idle = update_notice("nothing-new", &bug.item.id);
    assert!(!world.engine().receive_delivery(Side::One, &idle).await?.duplicate);
    assert!(!world.engine().receive_delivery(Side::One, &idle).await?.duplicate);
    assert_eq!(version(world.link_of(Side::One, &bug.item.id).await?), before, "nothing written");
    // A person's edit is written, and its delivery with it: the repeat is dropped without a read. (Jira's
    // own webhook of the edit is held back: its sync would write the edit first.)
    world.jira().webhooks().pause();
    let edit = support::field_map(&[("summary", text("Echo, edited"))]);
    world.jira_alice.update_item(&bug.item.id, &edit, &bug.version()).await?;
    let person = update_notice("a-person", &bug.item.id);
    assert!(!world.engine().receive_delivery(Side::One, &person).await?.duplicate);
    let requests = world.jira().stats().requests;
    assert!(world.engine().receive_delivery(Side::One, &person).await?.duplicate);
    assert_eq!(world.jira().stats().requests, requests, "the repeat asked Jira nothing");
    world.jira().webhooks().resume();
    world.finish().await
}

/// Retries the recorded failures as they fall due (on `worker`'s schedule), for up to half a minute.
async fn retry_until_none_fail(worker: &tandem_engine::Engine) -> Result<()> {
    for _ in 0..60 {
        worker.retry_failures().await?;
        if worker.stores().log.list_failures(worker.integration()).await?.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(anyhow::anyhow!("failures were still recorded after half a minute of retries"))
}

/// Jira bugs filed while tandem was not listening, `count` of them, each a call of their own.
async fn bugs_filed_unheard(world: &World, count: usize) -> Result<Vec<Item>> {
    world.jira().webhooks().pause();
    let mut bugs = Vec::with_capacity(count);
    for number in 0..count {
        bugs.push(new_jira_bug(world, &format!("Filed before tandem listened {number}")).await?);
    }
    Ok(bugs)
}

/// A poll paces itself: with nothing refused it syncs more items at once as items finish, and when
/// Azure DevOps answers 429 it halves how many it sends at once. Every bug is copied once either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_syncs_more_at_once_while_nothing_is_refused_and_fewer_once_a_quota_refuses() -> Result<()> {
    let world = World::start().await?;
    world.engine().poll_side(Side::One).await?;
    let free = bugs_filed_unheard(&world, 30).await?;
    let unlimited = world.engine().poll_side(Side::One).await?;
    assert_eq!(unlimited.pace.slow_downs, 0, "{:?}", unlimited.pace);
    assert!(unlimited.pace.highest > tandem_engine::pace::STARTING_PACE, "it grew: {:?}", unlimited.pace);
    assert!(unlimited.pace.highest <= world.config.polling.concurrency);

    let quota = tandem_simulators::faults::RateLimit { requests_per_second: 4.0, burst: 1 };
    world.ado().set_fault_plan(FaultPlan { rate_limit: Some(quota), ..FaultPlan::none() })?;
    let limited = bugs_filed_unheard(&world, 12).await?;
    let policy =
        RetryPolicy { base: Duration::from_millis(10), max_delay: Duration::from_millis(100), max_attempts: 8 };
    let worker = world.another_worker().await?.with_retry_policy(policy);
    let report = worker.poll_side(Side::One).await?;
    assert!(report.pace.slow_downs > 0, "the quota refused calls: {:?}", report.pace);
    assert!(report.pace.reached < tandem_engine::pace::STARTING_PACE, "it slowed down: {:?}", report.pace);
    // A refused call waits as asked; calls started at once before the first halving meet the empty
    // bucket together again and again, and one may run out of attempts: it is recorded, never lost.
    assert!(report.failed < tandem_engine::pace::STARTING_PACE, "{} failed", report.failed);
    world.ado().clear_fault_plan();
    retry_until_none_fail(&worker).await?;
    for bug in free.iter().chain(&limited) {
        copy_of(&world, &bug.item.id).await?;
    }
    assert_eq!(world.links().await?.len(), free.len() + limited.len(), "one copy each");
    world.jira().webhooks().resume();
    world.finish().await
}
