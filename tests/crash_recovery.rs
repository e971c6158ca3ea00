//! A worker killed between any two steps of the engine loses nothing and duplicates nothing: another
//! worker (here the world's own engine, through its webhooks and polls) finishes the job, adopting
//! what the dead one made instead of making it again.
//!
//! Each scenario arms one crash point in a second worker on the same store, lets that worker die
//! there, then lets the world settle and checks both systems.

mod support;

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{field_map, text, World};
use tandem_engine::crash::{Crash, CrashPlan, Step};
use tandem_engine::ports::Connector;
use tandem_engine::{Engine, SyncError, SyncOutcome};
use tandem_model::{FieldValue, Item, ItemId, RichText, Side};

/// The dead worker's claims end this soon, so the world may take them over within the scenario.
const DEAD_WORKER_LEASE: Duration = Duration::from_millis(300);

/// Dies the first time the engine passes `step`, and never again.
struct CrashOnce {
    step: Step,
    armed: AtomicBool,
}

impl CrashPlan for CrashOnce {
    fn crash_at(&self, step: Step) -> bool {
        step == self.step && self.armed.swap(false, Ordering::SeqCst)
    }
}

/// Runs `work` on a second worker armed to die at `step`, and checks that it died exactly there.
async fn die_at<F, Fut>(world: &World, step: Step, work: F) -> Result<()>
where
    F: FnOnce(Arc<Engine>) -> Fut,
    Fut: std::future::Future<Output = Result<(), SyncError>> + Send + 'static,
{
    let plan = Arc::new(CrashOnce { step, armed: AtomicBool::new(true) });
    let worker = Arc::new(world.another_worker().await?.with_claim_lease(DEAD_WORKER_LEASE).with_crash_plan(plan));
    match tokio::spawn(work(worker)).await {
        Err(joined) if joined.is_panic() => {
            let payload = joined.into_panic();
            let crash = Crash::from_panic(payload.as_ref()).context("the worker panicked, but not at a crash point")?;
            if crash.step != step {
                bail!("the worker died at {}, not at {step}", crash.step);
            }
            // Its claims must run out before anyone may take them over.
            tokio::time::sleep(DEAD_WORKER_LEASE + Duration::from_millis(100)).await;
            Ok(())
        }
        Err(joined) => bail!("the worker did not finish: {joined}"),
        Ok(outcome) => bail!("the worker never reached {step}: {outcome:?}"),
    }
}

async fn sync(worker: Arc<Engine>, id: ItemId) -> Result<(), SyncError> {
    worker.sync_item(Side::One, &id).await.map(|_: SyncOutcome| ())
}

async fn new_jira_bug(world: &World, summary: &str) -> Result<Item> {
    let fields = field_map(&[("summary", text(summary)), ("priority", text("High"))]);
    Ok(world.jira_alice.create_item(&fields, None).await?)
}

/// The world's engine hears nothing until the dead worker has had its go.
fn silence_webhooks(world: &World) {
    world.jira().webhooks().pause();
    world.ado().pause_hooks();
}

fn resume_webhooks(world: &World) {
    world.jira().webhooks().resume();
    world.ado().resume_hooks();
}

/// A Jira bug synced to its copy, after which the world's engine hears no more webhooks.
async fn linked_then_silenced(world: &World, summary: &str) -> Result<(Item, Item)> {
    let bug = new_jira_bug(world, summary).await?;
    world.settle().await?;
    let copy = the_only_copy(world, &bug).await?;
    silence_webhooks(world);
    Ok((bug, copy))
}

/// The single Azure DevOps copy of `bug`, after checking there is exactly one work item.
async fn the_only_copy(world: &World, bug: &Item) -> Result<Item> {
    let copies = world.ado().work_item_count();
    if copies != 1 {
        bail!("{copies} Azure DevOps work items for one Jira bug");
    }
    let link = world.link_of(Side::One, &bug.item.id).await?.context("the bug is linked")?;
    Ok(world.ado_alice.get_item(&link.side2.id).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_step_of_a_creation_leaves_exactly_one_copy() -> Result<()> {
    for step in [Step::CreationClaimed, Step::CopyCreated, Step::LinkInserted] {
        let world = World::start().await?;
        silence_webhooks(&world);
        let bug = new_jira_bug(&world, &format!("Created while a worker dies at {step}")).await?;
        let id = bug.item.id.clone();
        die_at(&world, step, move |worker| sync(worker, id)).await?;

        resume_webhooks(&world);
        world.settle().await?;
        let copy = the_only_copy(&world, &bug).await.with_context(|| format!("after a crash at {step}"))?;
        assert_eq!(copy.field("System.Title"), bug.field("summary"), "after a crash at {step}");
        world.finish().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_polling_leaves_exactly_one_copy() -> Result<()> {
    let world = World::start().await?;
    silence_webhooks(&world);
    let bug = new_jira_bug(&world, "Found by a poll that dies before moving its watermark").await?;
    die_at(&world, Step::PollSynced, |worker| async move { worker.poll_side(Side::One).await.map(|_| ()) }).await?;

    resume_webhooks(&world);
    world.settle().await?;
    the_only_copy(&world, &bug).await?;
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_writing_a_target_and_storing_the_link_loses_no_update() -> Result<()> {
    for step in [Step::WritesAnnounced, Step::TargetUpdated, Step::LinkUpdated] {
        let world = World::start().await?;
        let bug = new_jira_bug(&world, "Before the edit").await?;
        world.settle().await?;
        silence_webhooks(&world);
        let edited = format!("Edited while a worker dies at {step}");
        world.edit_in_jira(&bug.item.id, &[("summary", text(&edited))]).await?;
        let id = bug.item.id.clone();
        die_at(&world, step, move |worker| sync(worker, id)).await?;

        resume_webhooks(&world);
        world.settle().await?;
        let copy = the_only_copy(&world, &bug).await?;
        assert_eq!(copy.field("System.Title"), &text(&edited), "after a crash at {step}");
        world.finish().await?;
    }
    Ok(())
}

/// The link still holds the values from before a write that landed: a later edit on the written side
/// must not be taken for a conflict with the change already delivered (which the later-changed side
/// would win, undoing the edit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_a_crashed_write_is_not_undone_by_the_change_already_delivered() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = linked_then_silenced(&world, "Original title").await?;
    world.edit_in_ado(&copy.item.id, &[("System.Title", text("Renamed in Azure DevOps"))]).await?;
    let id = copy.item.id.clone();
    die_at(
        &world,
        Step::TargetUpdated,
        move |worker| async move { worker.sync_item(Side::Two, &id).await.map(|_| ()) },
    )
    .await?;
    assert_eq!(world.jira_field(&bug.item.id, "summary").await?, text("Renamed in Azure DevOps"));

    // Then Jira's title is edited, and Azure DevOps changes later still (another field), so that
    // latest-wins would side with Azure DevOps if the two titles looked like a conflict.
    let final_title = text("Renamed again in Jira");
    world.edit_in_jira(&bug.item.id, &[("summary", final_title.clone())]).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    world.edit_in_ado(&copy.item.id, &[("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0))]).await?;

    resume_webhooks(&world);
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "summary").await?, final_title);
    assert_eq!(world.ado_field(&copy.item.id, "System.Title").await?, final_title);
    let conflicts = world.engine().stores().log.list_conflicts(&world.config.name).await?;
    assert!(conflicts.is_empty(), "the delivered change was taken for a conflict: {conflicts:?}");
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_posting_a_comment_copy_never_posts_it_twice() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = linked_then_silenced(&world, "Discussed while a worker dies").await?;
    let words = "Reproduced on staging with an empty cart.";
    let body = RichText::Adf(
        json!({"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":words}]}]}),
    );
    world.jira_alice.add_comment(&bug.item.id, &body).await?;
    let id = bug.item.id.clone();
    die_at(&world, Step::CommentCopied, move |worker| sync(worker, id)).await?;
    assert_eq!(world.ado_alice.list_comments(&copy.item.id).await?.len(), 1, "the dead worker posted its copy");

    resume_webhooks(&world);
    world.settle().await?;
    let comments = world.ado_alice.list_comments(&copy.item.id).await?;
    assert_eq!(comments.len(), 1, "the copy was adopted, not posted again: {comments:?}");
    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    assert_eq!(link.comments.len(), 1, "the comment and its copy are linked");
    assert_eq!(link.comments[0].side2, comments[0].id);
    world.finish().await
}

/// A webhook's repeat is dropped only once its sync finished: a worker that died after writing the
/// fields, before the comments, left a link that does not name the delivery, so the sender's retry of it
/// syncs the comment; a repeat after that is dropped without a call to either system.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_retried_after_its_worker_died_mid_sync_is_synced_whole() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = linked_then_silenced(&world, "Edited and discussed").await?;
    let renamed = text("Edited and discussed, again");
    world.jira_alice.update_item(&bug.item.id, &field_map(&[("summary", renamed.clone())]), &bug.version()).await?;
    let words = "Happens on every second login.";
    let body = RichText::Adf(
        json!({"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":words}]}]}),
    );
    world.jira_alice.add_comment(&bug.item.id, &body).await?;
    let delivery = support::update_notice("edit-and-comment", &bug.item.id);
    let named = world.link_of(Side::One, &bug.item.id).await?.context("linked")?.deliveries;
    let sent = delivery.clone();
    die_at(&world, Step::TargetUpdated, move |worker| async move {
        worker.receive_delivery(Side::One, &sent).await.map(|_| ())
    })
    .await?;
    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    assert_eq!(link.deliveries, named, "a sync that did not finish does not name its delivery");
    assert_eq!(world.ado_alice.get_item(&copy.item.id).await?.field("System.Title"), &renamed);
    assert!(world.ado_alice.list_comments(&copy.item.id).await?.is_empty(), "it died before the comments");

    let retried = world.engine().receive_delivery(Side::One, &delivery).await?;
    assert!(!retried.duplicate, "the retry of a delivery whose sync never finished is synced");
    assert_eq!(world.ado_alice.list_comments(&copy.item.id).await?.len(), 1, "the comment is copied");
    let calls = (world.jira().stats().requests, world.ado().stats().recording.requests);
    assert!(world.engine().receive_delivery(Side::One, &delivery).await?.duplicate, "a later repeat is dropped");
    assert_eq!((world.jira().stats().requests, world.ado().stats().recording.requests), calls, "and costs no call");
    resume_webhooks(&world);
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_attaching_a_copy_never_attaches_it_twice() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = linked_then_silenced(&world, "A file attached while a worker dies").await?;
    world.jira_attach(&bug.item.id, "trace.txt", "text/plain", b"at checkout.rs:12").await?;
    let id = bug.item.id.clone();
    die_at(&world, Step::AttachmentCopied, move |worker| sync(worker, id)).await?;
    let attached = world.ado_alice.get_item(&copy.item.id).await?.attachments;
    assert_eq!(attached.len(), 1, "the dead worker attached its copy");

    resume_webhooks(&world);
    world.settle().await?;
    let attached = world.ado_alice.get_item(&copy.item.id).await?.attachments;
    assert_eq!(attached.len(), 1, "the copy was adopted, not attached again: {attached:?}");
    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    assert_eq!(link.attachments.len(), 1, "the file and its copy are linked");
    assert_eq!(link.attachments[0].copy.as_ref(), Some(&attached[0].id));
    world.finish().await
}

/// A worker that stalls between renewing its claim and posting (a starved process) may post after its
/// claim passed to another, which copied the comment meanwhile: the late post is a second copy no link
/// knows. The next sync of the pair removes it, and leaves the linked copy and the service account's
/// other comments alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_copy_posted_after_the_claim_passed_on_is_removed() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = linked_then_silenced(&world, "Discussed while a worker stalls").await?;
    let body = RichText::Adf(json!({"version":1,"type":"doc","content":[
        {"type":"paragraph","content":[{"type":"text","text":"Fails only after midnight."}]}]}));
    world.jira_alice.add_comment(&bug.item.id, &body).await?;
    world.engine().sync_item(Side::One, &bug.item.id).await?;
    let copied = world.ado_alice.list_comments(&copy.item.id).await?;
    assert_eq!(copied.len(), 1, "copied once: {copied:?}");

    let service_account = world.engine().connector(Side::Two);
    service_account.add_comment(&copy.item.id, &copied[0].body).await?;
    let note = RichText::Html("<p>A note of the integration's own.</p>".into());
    let note = service_account.add_comment(&copy.item.id, &note).await?;
    world.engine().sync_item(Side::One, &bug.item.id).await?;

    let left: Vec<_> = world.ado_alice.list_comments(&copy.item.id).await?.into_iter().map(|c| c.id).collect();
    assert_eq!(left, vec![copied[0].id.clone(), note.id], "the second copy went, the rest stayed");
    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    assert_eq!(link.comments.len(), 1);
    assert_eq!(link.comments[0].side2, copied[0].id);
    world.finish().await
}

/// A poll that dies partway keeps what it did: the watermark is saved after every page of changes, so
/// the next poll goes on after the pages already synced instead of starting over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_that_dies_after_its_first_page_keeps_that_page() -> Result<()> {
    let world = World::start().await?;
    silence_webhooks(&world);
    world.engine().poll_side(Side::One).await?;
    let integration = world.config.name.clone();
    let before = world.engine().stores().watermarks.get_watermark(&integration, Side::One).await?;
    for number in 0..105 {
        new_jira_bug(&world, &format!("Backlog item {number}")).await?;
    }
    die_at(&world, Step::PollSynced, |worker| async move { worker.poll_side(Side::One).await.map(|_| ()) }).await?;
    let after = world.engine().stores().watermarks.get_watermark(&integration, Side::One).await?;
    assert!(after > before, "the first page's watermark was saved before the worker died: {before:?} → {after:?}");
    assert!(world.links().await?.len() >= 100, "the first page was synced");

    resume_webhooks(&world);
    world.settle().await?;
    assert_eq!(world.links().await?.len(), 105);
    assert_eq!(world.ado().work_item_count(), 105, "one copy each");
    world.finish().await
}

/// A worker taking over a creation whose copy may already exist waits until a search would show that
/// copy: Jira's search lags behind its writes, and a search made at once would find nothing and lead to
/// a second copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_waits_until_a_search_shows_the_earlier_copy() -> Result<()> {
    let config = support::local_config(|text| text.replacen("search_lag: 0s", "search_lag: 3s", 1))?;
    let world = World::with_config(config).await?;
    silence_webhooks(&world);
    let bug = world.ado_alice.create_item(&field_map(&[("System.Title", text("Filed in Azure DevOps"))]), None).await?;
    world.jira().set_fault_plan(tandem_simulators::faults::FaultPlan {
        search_lag_ms: tandem_simulators::faults::LatencyRange { min: 2_000, max: 2_000 },
        ..tandem_simulators::faults::FaultPlan::none()
    })?;
    let id = bug.item.id.clone();
    die_at(&world, Step::CopyCreated, move |worker| async move { worker.sync_item(Side::Two, &id).await.map(|_| ()) })
        .await?;

    let mut outcome = None;
    for _ in 0..40 {
        match world.engine().sync_item(Side::Two, &bug.item.id).await {
            Ok(synced) => {
                outcome = Some(synced);
                break;
            }
            Err(SyncError::AwaitingSearch { .. }) => tokio::time::sleep(Duration::from_millis(250)).await,
            Err(error) => return Err(error.into()),
        }
    }
    assert!(matches!(outcome, Some(SyncOutcome::Created { .. })), "the earlier copy was adopted: {outcome:?}");
    let service = tandem_simulators::jira::SimUser::service_account().account_id;
    let copies = world.jira().stats().creations_by_user.get(&service).copied().unwrap_or(0);
    assert_eq!(copies, 1, "one Jira copy, not two");
    world.jira().clear_fault_plan();
    resume_webhooks(&world);
    world.finish().await
}
