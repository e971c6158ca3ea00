//! The Jira ↔ Azure DevOps slice, end to end: both simulators over HTTP, the webhook server, the
//! poller and the engine on the embedded store. Each scenario ends with `World::finish`: both systems
//! quiet (no further writes) and no request or response outside the vendors' official API descriptions.

mod support;

use anyhow::{Context, Result};
use serde_json::json;
use std::time::Duration;
use support::{field_map, local_config, text, World};
use tandem_engine::ports::Connector;
use tandem_engine::RetryPolicy;
use tandem_model::{FieldValue, Item, ItemId, RichText, Side, UserRef};
use tandem_simulators::jira::SimUser;

/// The description of done-when 1: bold, a list, a link and a mention of Bob.
fn rich_description() -> serde_json::Value {
    json!({
        "version": 1, "type": "doc",
        "content": [
            { "type": "paragraph", "content": [
                { "type": "text", "text": "Checkout is " },
                { "type": "text", "text": "broken", "marks": [{ "type": "strong" }] },
                { "type": "text", "text": " for " },
                { "type": "mention", "attrs": { "id": SimUser::bob().account_id, "text": "@Bob Example" } }
            ]},
            { "type": "bulletList", "content": [
                { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "empty cart" }] }] },
                { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "guest user" }] }] }
            ]},
            { "type": "paragraph", "content": [
                { "type": "text", "text": "runbook", "marks": [{ "type": "link", "attrs": { "href": "https://example.com/runbook" } }] }
            ]}
        ]
    })
}

fn adf_paragraph(words: &str) -> RichText {
    RichText::Adf(
        json!({"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":words}]}]}),
    )
}

fn plain(body: &RichText) -> String {
    tandem_rich_text::plain_text(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_bug_appears_in_azure_devops_and_edits_flow_back() -> Result<()> {
    let world = World::start().await?;
    let alice = SimUser::alice();
    let assignee = UserRef { id: alice.account_id.clone(), email: Some(alice.email.clone()), display_name: None };
    let bug = world
        .jira_alice
        .create_item(
            &field_map(&[
                ("summary", text("Checkout fails on empty cart")),
                ("priority", text("High")),
                ("assignee", FieldValue::User(assignee)),
                ("description", FieldValue::RichText(RichText::Adf(rich_description()))),
            ]),
            None,
        )
        .await?;
    world.settle().await?;

    let copy = world.copy_in_ado(&bug).await?;
    assert_eq!(copy.field("System.Title"), &text("Checkout fails on empty cart"));
    assert_eq!(copy.field("Microsoft.VSTS.Common.Priority"), &FieldValue::Number(2.0));
    assert_eq!(copy.field("Microsoft.VSTS.Common.Severity"), &text("3 - Medium"), "default for a `none` source");
    match copy.field("System.AssignedTo") {
        FieldValue::User(user) => assert_eq!(user.email.as_deref(), Some("alice@fabrikam.example")),
        other => panic!("assignee not mapped: {other:?}"),
    }
    let FieldValue::RichText(RichText::Html(html)) = copy.field("System.Description") else {
        panic!("the description is not HTML: {:?}", copy.field("System.Description"));
    };
    let bob_in_ado = world.ado().identity("bob@fabrikam.example").context("Bob in ADO")?;
    assert!(html.contains("<strong>broken</strong>"), "{html}");
    assert!(html.contains("<ul>") && html.contains("<li>"), "{html}");
    assert!(html.contains(r#"href="https://example.com/runbook""#), "{html}");
    let mention = format!("data-vss-mention=\"version:2.0,{}\"", bob_in_ado.id);
    assert!(html.contains(&mention), "mention re-pointed at Bob's ADO identity: {html}");
    // The HTML means the same document; the mention now names Bob as Azure DevOps knows him.
    let back = tandem_rich_text::html_to_adf(html)?;
    let expected = tandem_rich_text::adf_to_plain_text(&rich_description())
        .replace("@Bob Example", &format!("@{}", bob_in_ado.display_name));
    assert_eq!(tandem_rich_text::adf_to_plain_text(&back), expected);

    // Alice edits the copy in Azure DevOps: Jira follows.
    let edits = [
        ("System.Title", text("Checkout fails for guests")),
        ("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0)),
    ];
    world.edit_in_ado(&copy.item.id, &edits).await?;
    world.settle().await?;
    let bug_now = world.jira_alice.get_item(&bug.item.id).await?;
    assert_eq!(bug_now.field("summary"), &text("Checkout fails for guests"));
    assert_eq!(bug_now.field("priority"), &text("Highest"));
    // The description did not drift: the round trip wrote nothing back to Jira.
    assert_eq!(bug_now.field("description"), bug.field("description"));
    assert_eq!(world.links().await?.len(), 1);
    world.finish().await
}

/// A mention of someone Azure DevOps does not know reads as their name there, and an edit of the copy
/// that leaves its description alone leaves the Jira mention alone too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_of_someone_only_in_jira_reads_as_their_name_and_survives_an_edit_in_ado() -> Result<()> {
    let world = World::start().await?;
    let carol = SimUser::new("712020:carol", "carol@jira-only.example", "Carol Jira-only", "carol-token");
    world.jira().add_user(carol.clone());
    let description = json!({"version": 1, "type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Ask "},
        {"type": "mention", "attrs": {"id": carol.account_id, "text": "@Carol Jira-only"}},
        {"type": "text", "text": " about the export"}
    ]}]});
    let fields = field_map(&[
        ("summary", text("Export totals need Carol")),
        ("description", FieldValue::RichText(RichText::Adf(description))),
    ]);
    let bug = world.jira_alice.create_item(&fields, None).await?;
    world.settle().await?;
    let copy = world.copy_in_ado(&bug).await?;
    let FieldValue::RichText(RichText::Html(html)) = copy.field("System.Description") else {
        panic!("the description is not HTML: {:?}", copy.field("System.Description"));
    };
    assert!(html.contains("Carol Jira-only") && !html.contains("data-vss-mention"), "her name, as text: {html}");

    world.edit_in_ado(&copy.item.id, &[("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0))]).await?;
    world.settle().await?;
    let FieldValue::RichText(RichText::Adf(adf)) = world.jira_field(&bug.item.id, "description").await? else {
        panic!("the Jira description is not ADF");
    };
    let mention = &adf["content"][0]["content"][1];
    assert_eq!(
        (mention["type"].as_str(), mention["attrs"]["id"].as_str()),
        (Some("mention"), Some("712020:carol")),
        "{adf}"
    );

    // Her name comes back inside an edited description: the words change, the mention stays.
    let edited = html.replace("about the export", "about the export totals");
    world.edit_in_ado(&copy.item.id, &[("System.Description", FieldValue::RichText(RichText::Html(edited)))]).await?;
    world.settle().await?;
    let FieldValue::RichText(RichText::Adf(adf)) = world.jira_field(&bug.item.id, "description").await? else {
        panic!("the Jira description is not ADF");
    };
    let text = tandem_rich_text::adf_to_plain_text(&adf);
    assert!(text.contains("about the export totals"), "{adf}");
    let mentions = tandem_rich_text::adf_mentions(&adf);
    assert_eq!(mentions.iter().map(|mention| mention.id.as_str()).collect::<Vec<_>>(), ["712020:carol"], "{adf}");
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_devops_state_change_transitions_jira() -> Result<()> {
    let world = World::with_config(resolved_as_verified()?).await?;
    let (bug, copy) = world.linked_bug("Payment page times out", "Medium").await?;
    assert_eq!(copy.field("System.State"), &text("New"));

    world.edit_in_ado(&copy.item.id, &[("System.State", text("Active"))]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "status").await?, text("In Progress"));

    world.edit_in_ado(&copy.item.id, &[("System.State", text("Closed"))]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "status").await?, text("Done"));

    // Jira's workflow has no transition from Done to In Progress: the issue is reopened, then started.
    world.edit_in_ado(&copy.item.id, &[("System.State", text("Active"))]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "status").await?, text("In Progress"));

    // Resolved maps to a status this Jira site does not have: a clear error, recorded for
    // operators. The title changed in the same edit is not held back by it.
    let renamed = text("Payment page times out again");
    world.edit_in_ado(&copy.item.id, &[("System.State", text("Resolved")), ("System.Title", renamed.clone())]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "status").await?, text("In Progress"));
    assert_eq!(world.jira_field(&bug.item.id, "summary").await?, renamed);
    let failures = world.engine().stores().log.list_failures(&world.config.name).await?;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].error.contains("`status`"), "{}", failures[0].error);
    assert!(failures[0].error.contains("no workflow transition"), "{}", failures[0].error);
    assert!(failures[0].error.contains("Verified"), "{}", failures[0].error);
    assert!(!failures[0].retryable);

    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    assert!(link.failure_recorded, "the link says a failure is recorded for it");

    // Reopening in Azure DevOps (New → To Do) is a transition Jira has: the link recovers, and the sync
    // that brought it in line clears the record (its link said there was one).
    world.edit_in_ado(&copy.item.id, &[("System.State", text("New"))]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "status").await?, text("To Do"));
    let failures = world.engine().stores().log.list_failures(&world.config.name).await?;
    assert_eq!(failures, vec![], "cleared");
    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    assert!(!link.failure_recorded);
    world.finish().await
}

/// The example's mapping with Azure DevOps' Resolved paired with `Verified`, a status this Jira site does
/// not have: the status write a scenario needs refused.
fn resolved_as_verified() -> Result<tandem_mapping::IntegrationConfig> {
    let resolved =
        ("      Done: Closed\n    reverse:\n      Resolved: Done", "      Done: Closed\n      Verified: Resolved");
    local_config(|text| text.replace(resolved.0, resolved.1))
}

/// A linked bug whose Azure DevOps copy moved to a state whose Jira status the site does not have, the
/// refusal recorded and made due now for the returned worker, which parks it after three attempts.
async fn a_refused_status(world: &World) -> Result<(Item, Item, tandem_engine::Engine)> {
    let (bug, copy) = world.linked_bug("Refund button does nothing", "Medium").await?;
    world.edit_in_ado(&copy.item.id, &[("System.State", text("Resolved"))]).await?;
    world.settle().await?;
    let impatient = RetryPolicy { base: Duration::ZERO, max_delay: Duration::ZERO, max_attempts: 3 };
    let worker = world.another_worker().await?.with_retry_policy(impatient);
    let log = &world.engine().stores().log;
    let failures = log.list_failures(&world.config.name).await?;
    let failure = failures.first().context("the refused status is recorded")?;
    // Due now rather than on the world's 30 s schedule.
    tandem_engine::unpark_failure(log.as_ref(), &world.config.name, failure.side, &failure.item, chrono::Utc::now())
        .await?;
    Ok((bug, copy, worker))
}

/// Retries the recorded failures with `worker` until one is parked, or `attempts` retries.
async fn retry_until_parked(world: &World, worker: &tandem_engine::Engine, attempts: usize) -> Result<bool> {
    let log = &world.engine().stores().log;
    for _ in 0..attempts {
        if log.list_failures(&world.config.name).await?.iter().any(|failure| failure.parked) {
            return Ok(true);
        }
        worker.retry_failures().await?;
    }
    Ok(log.list_failures(&world.config.name).await?.iter().any(|failure| failure.parked))
}

/// A parked failure waits for an operator, but not the item's later changes: a poll still syncs a change
/// made after the failure, and clears the failure once a sync of the item succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_item_still_syncs_its_later_changes() -> Result<()> {
    let world = World::with_config(resolved_as_verified()?).await?;
    let (bug, copy, worker) = a_refused_status(&world).await?;
    assert!(retry_until_parked(&world, &worker, 4).await?, "a refused status parks after 3 attempts");
    let log = &world.engine().stores().log;

    // Webhooks are lost: only the poll can bring the new title over.
    world.jira().webhooks().pause();
    world.edit_in_jira(&bug.item.id, &[("summary", text("Refund button does nothing at all"))]).await?;
    worker.poll_side(Side::One).await?;
    assert_eq!(world.ado_field(&copy.item.id, "System.Title").await?, text("Refund button does nothing at all"));
    assert!(log.list_failures(&world.config.name).await?[0].parked, "the status is still refused");

    // Reopened in Azure DevOps, the status is one Jira can take; the next synced change clears the failure.
    world.edit_in_ado(&copy.item.id, &[("System.State", text("New"))]).await?;
    world.ado().hooks_settled().await;
    world.edit_in_jira(&bug.item.id, &[("summary", text("Refund button fixed?"))]).await?;
    worker.poll_side(Side::One).await?;
    assert_eq!(world.jira_field(&bug.item.id, "status").await?, text("To Do"));
    assert!(log.list_failures(&world.config.name).await?.is_empty(), "the failure is cleared");
    world.jira().webhooks().resume();
    world.finish().await
}

/// An edit made while the attempt that parks an item was under way (after its read) was never tried:
/// the poll that finds it syncs it rather than leave it to the parked record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_during_the_attempt_that_parks_an_item_is_synced_by_the_next_poll() -> Result<()> {
    let world = World::with_config(resolved_as_verified()?).await?;
    let (bug, copy, worker) = a_refused_status(&world).await?;
    assert!(!retry_until_parked(&world, &worker, 2).await?, "two attempts do not park it");

    world.jira().webhooks().pause();
    world.jira_edit_after_next_read(&bug.item.id, json!({"fields": {"summary": "Edited while the last attempt ran"}}));
    assert!(retry_until_parked(&world, &worker, 1).await?, "the third attempt parks it");
    worker.poll_side(Side::One).await?;
    assert_eq!(world.ado_field(&copy.item.id, "System.Title").await?, text("Edited while the last attempt ran"));
    world.jira().webhooks().resume();
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_flow_both_ways_once_with_attribution_and_edits() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = world.linked_bug("Search ignores accents", "Low").await?;

    let jira_comment = world.jira_alice.add_comment(&bug.item.id, &adf_paragraph("Seen on prod")).await?;
    world.ado_alice.add_comment(&copy.item.id, &RichText::Html("<p>Fix is in <b>review</b></p>".into())).await?;
    world.settle().await?;

    let in_ado: Vec<String> =
        world.ado_alice.list_comments(&copy.item.id).await?.iter().map(|c| plain(&c.body)).collect();
    let in_jira: Vec<String> =
        world.jira_alice.list_comments(&bug.item.id).await?.iter().map(|c| plain(&c.body)).collect();
    assert_eq!(in_ado.len(), 2, "the ADO original and the Jira copy, once each: {in_ado:?}");
    assert_eq!(in_jira.len(), 2, "the Jira original and the ADO copy, once each: {in_jira:?}");
    assert!(
        in_ado.iter().any(|body| body.contains("Alice Example commented in Jira:") && body.contains("Seen on prod")),
        "{in_ado:?}"
    );
    assert!(
        in_jira.iter().any(|body| body.contains("commented in Azure DevOps:") && body.contains("Fix is in review")),
        "{in_jira:?}"
    );

    // An edit of the original reaches the copy.
    world.jira_alice.update_comment(&bug.item.id, &jira_comment.id, &adf_paragraph("Seen on prod and staging")).await?;
    world.settle().await?;
    let in_ado: Vec<String> =
        world.ado_alice.list_comments(&copy.item.id).await?.iter().map(|c| plain(&c.body)).collect();
    assert_eq!(in_ado.len(), 2, "{in_ado:?}");
    assert!(in_ado.iter().any(|body| body.contains("Seen on prod and staging")), "{in_ado:?}");
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_different_fields_both_survive_and_same_field_goes_to_policy() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = world.linked_bug("Totals round wrongly", "Medium").await?;

    // Both edits happen before tandem hears of either.
    world.jira().webhooks().pause();
    world.ado().pause_hooks();
    world.edit_in_jira(&bug.item.id, &[("summary", text("Totals round wrongly in EUR"))]).await?;
    world.edit_in_ado(&copy.item.id, &[("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0))]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "summary").await?, text("Totals round wrongly in EUR"));
    assert_eq!(world.ado_field(&copy.item.id, "System.Title").await?, text("Totals round wrongly in EUR"));
    assert_eq!(world.jira_field(&bug.item.id, "priority").await?, text("Highest"));
    assert_eq!(world.ado_field(&copy.item.id, "Microsoft.VSTS.Common.Priority").await?, FieldValue::Number(1.0));
    assert!(world.engine().stores().log.list_conflicts(&world.config.name).await?.is_empty());

    // Same field on both sides: the later change (Azure DevOps) wins under latest-wins, and it is recorded.
    world.edit_in_jira(&bug.item.id, &[("summary", text("Title from Jira"))]).await?;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    world.edit_in_ado(&copy.item.id, &[("System.Title", text("Title from Azure DevOps"))]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug.item.id, "summary").await?, text("Title from Azure DevOps"));
    assert_eq!(world.ado_field(&copy.item.id, "System.Title").await?, text("Title from Azure DevOps"));
    let conflicts = world.engine().stores().log.list_conflicts(&world.config.name).await?;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(
        (conflicts[0].field.as_str(), conflicts[0].winner, conflicts[0].policy.as_str()),
        ("title", Side::Two, "latest-wins")
    );

    // The bug's history, named by its key, tells all of it, newest first.
    let key = ItemId::new(bug.item.key.clone().context("a Jira key")?);
    let stores = world.engine().stores();
    let history =
        tandem_cli::history::item_history(stores, &world.config.name, Side::One, &key, 50, chrono::Utc::now());
    let shown = history.await?.to_string();
    let conflict = shown.find("conflict on title: side 2 won (latest-wins)").context(shown.clone())?;
    let decided =
        shown.find(r#"side 1 summary: "Title from Jira" → "Title from Azure DevOps""#).context(shown.clone())?;
    let first_edit = shown
        .find(r#"side 2 System.Title: "Totals round wrongly" → "Totals round wrongly in EUR""#)
        .context(shown.clone())?;
    assert!(decided < first_edit && conflict < first_edit, "newest first: {shown}");
    assert!(shown.contains("side 1 priority: \"Medium\" → \"Highest\""), "{shown}");

    world.jira().webhooks().resume();
    world.ado().resume_hooks();
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_out_item_is_not_synced_until_it_matches() -> Result<()> {
    let config = local_config(|text| {
        text.replacen(
            "  webhook_secret: local/jira-webhook\n",
            "  webhook_secret: local/jira-webhook\n  filter: 'priority in [\"High\", \"Highest\"]'\n",
            1,
        )
    })?;
    assert!(config.filter(Side::One).is_some(), "the edit added the filter");
    let world = World::with_config(config).await?;
    let bug = world.create_jira_bug("Typo in footer", "Low").await?;
    world.settle().await?;
    assert!(world.link_of(Side::One, &bug.item.id).await?.is_none());
    assert_eq!(world.ado().work_item_count(), 0);

    world.edit_in_jira(&bug.item.id, &[("priority", text("High"))]).await?;
    world.settle().await?;
    let copy = world.copy_in_ado(&bug).await?;
    assert_eq!(copy.field("Microsoft.VSTS.Common.Priority"), &FieldValue::Number(2.0));
    assert_eq!(world.ado().work_item_count(), 1);

    // It stops matching, stays linked and keeps syncing (documented behaviour).
    world.edit_in_jira(&bug.item.id, &[("priority", text("Low")), ("summary", text("Typo in the footer"))]).await?;
    world.settle().await?;
    assert_eq!(world.ado_field(&copy.item.id, "System.Title").await?, text("Typo in the footer"));
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_never_arrives_is_caught_by_the_next_poll() -> Result<()> {
    let world = World::start().await?;
    world.jira().webhooks().pause();
    let bug = world.create_jira_bug("Logo blurry on retina", "High").await?;
    world.jira().webhooks().settled().await;
    assert!(world.link_of(Side::One, &bug.item.id).await?.is_none(), "no webhook, no sync yet");

    let engine = world.engine();
    let tally_before = engine.stores().watermarks.poll_tally(&engine.config().name, Side::One).await?;
    tandem_cli::server::poll_once(engine).await;
    let copy = world.copy_in_ado(&bug).await?;
    assert_eq!(copy.field("System.Title"), &text("Logo blurry on retina"));
    let tally = engine.stores().watermarks.poll_tally(&engine.config().name, Side::One).await?;
    let counted = tally.since(&tally_before);
    assert_eq!((counted.created, counted.failed), (1, 0), "the poll counts the copy it made beside its watermark");
    world.jira().webhooks().resume();
    world.finish().await
}

/// A Jira webhook as Jira signs it, carrying whatever the test wants it to claim.
fn signed_jira_delivery(secret: &str, body: &serde_json::Value) -> (String, String) {
    let body = body.to_string();
    let signature =
        format!("sha256={}", tandem_simulators::webhooks::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()));
    (body, signature)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_or_stale_delivery_is_processed_once_and_never_overwrites_newer_data() -> Result<()> {
    let world = World::start().await?;
    world.jira().webhooks().pause();
    let bug = world.create_jira_bug("Current title", "High").await?;
    let secret = world.environment.webhook_secret(Side::One).context("simulated Jira has a webhook secret")?;
    // The delivery claims an older title: the engine reads the issue instead of trusting it.
    let (body, signature) = signed_jira_delivery(
        secret,
        &json!({
            "timestamp": (chrono::Utc::now() - chrono::Duration::minutes(1)).timestamp_millis(),
            "webhookEvent": "jira:issue_updated",
            "user": { "accountId": SimUser::alice().account_id },
            "issue": { "id": bug.item.id.as_str(), "key": bug.item.label(), "self": "http://jira/rest/api/2/issue/1",
                       "fields": { "project": { "key": "OPS" }, "summary": "Stale title" } },
            "changelog": { "items": [{ "field": "summary", "fromString": "x", "toString": "Stale title" }] }
        }),
    );
    let http = reqwest::Client::new();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = http
            .post(world.webhook_url(Side::One))
            .header("content-type", "application/json")
            .header("x-hub-signature", &signature)
            .header("x-atlassian-webhook-identifier", "delivery-42")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status(), 200);
        answers.push(response.json::<serde_json::Value>().await?);
    }
    assert_eq!(answers[0]["synced"], 1, "{answers:?}");
    assert_eq!(answers[1]["duplicate"], true, "{answers:?}");
    let copy = world.copy_in_ado(&bug).await?;
    assert_eq!(copy.field("System.Title"), &text("Current title"));
    assert_eq!(world.ado().work_item_count(), 1);
    world.jira().webhooks().resume();
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_gets_401_and_changes_nothing() -> Result<()> {
    let world = World::start().await?;
    world.create_jira_bug("Real bug", "High").await?;
    world.settle().await?;
    let (writes, links) = (world.writes(), world.links().await?);

    let (body, forged) = signed_jira_delivery(
        "not-the-secret",
        &json!({
            "timestamp": 1_700_000_000_000_i64,
            "webhookEvent": "jira:issue_created",
            "user": { "accountId": SimUser::alice().account_id },
            "issue": { "id": "10999", "key": "OPS-999", "fields": { "project": { "key": "OPS" }, "summary": "forged" } }
        }),
    );
    let http = reqwest::Client::new();
    for signature in [Some(forged.as_str()), None] {
        let mut request = http
            .post(world.webhook_url(Side::One))
            .header("content-type", "application/json")
            .header("x-atlassian-webhook-identifier", "forged-1");
        if let Some(signature) = signature {
            request = request.header("x-hub-signature", signature);
        }
        let response = request.body(body.clone()).send().await?;
        assert_eq!(response.status(), 401, "signature {signature:?}");
    }
    // Azure DevOps side: wrong Basic credentials.
    let response = http
        .post(world.webhook_url(Side::Two))
        .basic_auth("tandem", Some("not-the-password"))
        .header("content-type", "application/json")
        .body(r#"{"eventType":"workitem.created"}"#)
        .send()
        .await?;
    assert_eq!(response.status(), 401);

    world.settle().await?;
    assert_eq!(world.writes(), writes, "nothing was written anywhere");
    assert_eq!(world.links().await?, links);
    assert!(world.link_of(Side::One, &ItemId::new("10999")).await?.is_none());
    world.finish().await
}

/// `tandem plan` of a changed value map and a new filter: the linked pair shows the field the new map
/// writes otherwise, a bug not linked yet shows it would no longer be copied, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_shows_what_a_changed_mapping_would_write_and_writes_nothing() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = world.linked_bug("Refunds arrive twice", "High").await?;
    world.jira().webhooks().pause();
    let unlinked = world.create_jira_bug("Footer overlaps on mobile", "Low").await?;
    let changed = local_config(|text| {
        text.replace("Highest: 1, High: 2,", "Highest: 1, High: 1,")
            .replace("reverse: { 4: Low }", "reverse: { 4: Low, 1: Highest, 2: High }")
            .replace("  # No filter: every bug syncs.", "  filter: 'priority != \"Low\"'")
    })?;
    let in_force = world.engine();
    let planned = in_force.reconfigured(std::sync::Arc::new(changed))?;
    let links = world.links().await?;
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let writes_before = world.writes();
    let report = tandem_cli::plan::plan(&planned, in_force, &links, 20, since).await?;

    assert_eq!(world.writes(), writes_before, "a plan writes nothing");
    assert_eq!(report.pairs.len(), 1, "{report}");
    assert_eq!(report.pairs[0].side1.id, bug.item.id);
    assert_eq!(report.pairs[0].side2.id, copy.item.id);
    let change = &report.pairs[0].changes[..];
    assert_eq!(change.len(), 1, "only the priority Jira → Azure DevOps is written otherwise: {report}");
    assert_eq!(
        (change[0].to, change[0].field.as_str(), change[0].now.as_str()),
        (Side::Two, "priority", "2"),
        "{report}"
    );
    assert_eq!((change[0].current.as_deref(), change[0].planned.as_deref()), (Some("2"), Some("1")));
    let stops: Vec<_> =
        report.scope.iter().map(|change| (change.side, change.item.id.clone(), change.starts)).collect();
    assert_eq!(stops, vec![(Side::One, unlinked.item.id.clone(), false)], "{report}");
    let shown = report.to_string();
    assert!(shown.contains("side 2 priority: now \"2\"; in force writes \"2\", planned writes \"1\""), "{shown}");
    assert!(shown.contains("would no longer be copied (filter changed)"), "{shown}");
    world.jira().webhooks().resume();
    world.finish().await
}

/// `tandem users template`: Alice is Alice in both systems, under two e-mail addresses, so neither side
/// can find the other's by e-mail; the sheet lists her once a side, each row waiting for its partner,
/// and until they are filled the integration file that names the sheet says which cells are empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_template_lists_the_people_seen_on_each_side_for_a_person_to_pair() -> Result<()> {
    let world = World::start().await?;
    let alice = SimUser::alice();
    let assignee = UserRef { id: alice.account_id.clone(), email: Some(alice.email.clone()), display_name: None };
    let fields = field_map(&[("summary", text("Export times out")), ("assignee", FieldValue::User(assignee))]);
    world.jira_alice.create_item(&fields, None).await?;
    world.settle().await?;

    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let template = tandem_cli::users_template::build(world.engine(), since).await?;
    let emails: Vec<(Option<String>, Option<String>)> = template
        .rows
        .iter()
        .map(|row| (row.side1.as_ref().and_then(|u| u.email.clone()), row.side2.as_ref().and_then(|u| u.email.clone())))
        .collect();
    assert_eq!(
        emails,
        vec![(Some(alice.email.clone()), None), (None, Some("alice@fabrikam.example".to_string()))],
        "{template}"
    );
    let folder = tempfile::tempdir()?;
    let csv = folder.path().join("users.csv");
    tandem_cli::users_template::write(&template, &csv)?;
    assert_eq!(std::fs::read_to_string(&csv)?, format!("side1,side2\n{},\n,alice@fabrikam.example\n", alice.email));

    let sheet = folder.path().join("users.xlsx");
    tandem_cli::users_template::write(&template, &sheet)?;
    let config =
        std::fs::read_to_string(support::examples_dir().join("local.yaml"))?.replace("local-users.csv", "users.xlsx");
    let problems = tandem_systems::load_str(&config, "local.yaml", folder.path()).expect_err("two cells are empty");
    let problems = problems.to_string();
    assert!(problems.contains("sheet `Users`, row 2, column B"), "{problems}");
    assert!(problems.contains("sheet `Users`, row 3, column A"), "{problems}");
    world.finish().await
}

/// A copy deleted by a person leaves its item linked but unsynced: the item's next sync says so in its
/// history (and the log), so an operator sees why its changes stopped flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_whose_copy_was_deleted_says_so_in_its_history() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = world.linked_bug("Logout hangs", "Medium").await?;
    world.ado_rest(reqwest::Method::DELETE, &format!("Fabrikam/_apis/wit/workitems/{}", copy.item.id), None).await?;
    world.edit_in_jira(&bug.item.id, &[("summary", text("Logout hangs on Safari"))]).await?;
    world.settle().await?;

    let engine = world.engine();
    let history = engine
        .stores()
        .log
        .list_history(&engine.config().name, Side::One, &bug.item.id, 10, chrono::Utc::now())
        .await?;
    let latest = history.first().context("the sync after the deletion is kept")?;
    assert!(latest.outcome.contains(&format!("its copy {} is gone", copy.item.id)), "{latest:?}");
    assert!(
        world.link_of(Side::One, &bug.item.id).await?.is_some(),
        "the pair stays linked, should the copy come back"
    );
    world.finish().await
}

fn list(items: &[&str]) -> FieldValue {
    FieldValue::List(items.iter().map(|item| item.to_string()).collect())
}

/// Azure DevOps tags often hold spaces, which a Jira label cannot: they arrive as `Needs_Triage`, and a
/// change of Jira's labels written back keeps the tag as Azure DevOps spells it (never renamed, never
/// lost), while the lists stay the same items.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_with_spaces_arrive_as_labels_and_keep_their_spelling_when_labels_change() -> Result<()> {
    let world = World::start().await?;
    let patch = json!([
        {"op": "add", "path": "/fields/System.Title", "value": "Export hangs"},
        {"op": "add", "path": "/fields/System.Tags", "value": "Needs Triage; ok"},
    ]);
    let created = world.ado_rest(reqwest::Method::POST, "Fabrikam/_apis/wit/workitems/$Bug", Some(patch)).await?;
    let work_item = ItemId::new(created["id"].as_u64().context("an id")?.to_string());
    world.settle().await?;
    let bug = world.link_of(Side::Two, &work_item).await?.context("copied to Jira")?.side1.id;
    assert_eq!(world.jira_field(&bug, "labels").await?, list(&["Needs_Triage", "ok"]));

    world.edit_in_jira(&bug, &[("labels", list(&["Needs_Triage", "ok", "triaged"]))]).await?;
    world.settle().await?;
    assert_eq!(world.ado_field(&work_item, "System.Tags").await?, list(&["Needs Triage", "ok", "triaged"]));

    world.edit_in_ado(&work_item, &[("System.Tags", list(&["Needs Triage", "triaged"]))]).await?;
    world.settle().await?;
    assert_eq!(world.jira_field(&bug, "labels").await?, list(&["Needs_Triage", "triaged"]));
    assert_eq!(world.ado_field(&work_item, "System.Tags").await?, list(&["Needs Triage", "triaged"]));
    world.finish().await
}
