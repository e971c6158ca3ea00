//! Only what belongs is copied: items of the configured projects and types, and nothing their system
//! restricts. People do here what they do in Jira and Azure DevOps, through the vendors' REST APIs.

mod support;

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::{json, Value};
use support::{text, World};
use tandem_engine::ports::Connector;
use tandem_model::{Item, ItemId, Side};
use tandem_simulators::jira::SimUser;

fn adf(words: &str) -> Value {
    json!({"version": 1, "type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": words}]}]})
}

/// A Jira issue Alice files with these `fields` (project and type included).
async fn jira_issue(world: &World, fields: Value) -> Result<ItemId> {
    let created = world.jira_rest(Method::POST, "/rest/api/3/issue", Some(json!({ "fields": fields }))).await?;
    Ok(ItemId::new(created["id"].as_str().context("the created issue has an id")?))
}

/// An Azure DevOps work item Alice creates in `project` as a `kind`.
async fn ado_work_item(world: &World, project: &str, kind: &str, title: &str) -> Result<ItemId> {
    let patch = json!([{"op": "add", "path": "/fields/System.Title", "value": title}]);
    let created = world.ado_rest(Method::POST, &format!("{project}/_apis/wit/workitems/${kind}"), Some(patch)).await?;
    Ok(ItemId::new(created["id"].as_u64().context("the created work item has an id")?.to_string()))
}

/// Items the integration's service accounts created in each system: its copies.
fn copies_made(world: &World) -> (u64, u64) {
    let jira = world.jira().stats().creations_by_user;
    let service = SimUser::service_account().account_id;
    let ado = world.ado().stats().recording.creations_by_user;
    let ado_service = world.ado().service_account().id.to_string();
    (jira.get(&service).copied().unwrap_or(0), ado.get(&ado_service).copied().unwrap_or(0))
}

/// A Jira bug in OPS, synced, and its Azure DevOps copy.
async fn linked_bug(world: &World, summary: &str) -> Result<(ItemId, Item)> {
    let bug =
        jira_issue(world, json!({"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": summary})).await?;
    world.settle().await?;
    let link = world.link_of(Side::One, &bug).await?.context("the bug is linked")?;
    Ok((bug, world.ado_alice.get_item(&link.side2.id).await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_bugs_of_the_configured_projects_are_copied() -> Result<()> {
    let world = World::start().await?;
    jira_issue(&world, json!({"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "A task"})).await?;
    jira_issue(&world, json!({"project": {"key": "WEB"}, "issuetype": {"name": "Bug"}, "summary": "Web bug"})).await?;
    ado_work_item(&world, "Fabrikam", "Task", "An ADO task").await?;
    ado_work_item(&world, "Contoso", "Bug", "A bug in another project").await?;
    world.settle().await?;
    assert_eq!(copies_made(&world), (0, 0), "nothing outside OPS/Bug and Fabrikam/Bug is copied");
    assert!(world.links().await?.is_empty());

    // The one that belongs is copied, once.
    let (_, copy) = linked_bug(&world, "A real bug").await?;
    assert_eq!(copy.field("System.Title"), &text("A real bug"));
    assert_eq!(copies_made(&world), (0, 1));
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_about_an_item_out_of_scope_is_answered_202_after_one_read() -> Result<()> {
    let world = World::start().await?;
    world.jira().webhooks().pause();
    let task =
        jira_issue(&world, json!({"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "A task"}))
            .await?;
    let secret = world.environment.webhook_secret(Side::One).context("simulated Jira has a webhook secret")?;
    // The notice says Bug; the issue is a Task. The item as read decides, not the notice.
    let body = json!({
        "timestamp": chrono::Utc::now().timestamp_millis(),
        "webhookEvent": "jira:issue_updated",
        "user": { "accountId": SimUser::alice().account_id },
        "issue": { "id": task.as_str(), "key": "OPS-1", "fields": { "project": { "key": "OPS" }, "issuetype": { "name": "Bug" } } }
    })
    .to_string();
    let signature =
        format!("sha256={}", tandem_simulators::webhooks::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()));
    let calls_about = |id: &ItemId| {
        let path = format!("/rest/api/3/issue/{id}");
        world.jira().exchanges().iter().filter(|exchange| exchange.path.starts_with(&path)).count()
    };
    let before = calls_about(&task);
    let response = reqwest::Client::new()
        .post(world.webhook_url(Side::One))
        .header("content-type", "application/json")
        .header("x-hub-signature", signature)
        .body(body)
        .send()
        .await?;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await?;
    assert_eq!(answer["out_of_scope"], 1, "{answer}");
    assert_eq!(calls_about(&task) - before, 1, "one read of the issue, nothing else");
    assert_eq!(copies_made(&world), (0, 0));
    world.jira().webhooks().resume();
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_jira_comments_stay_in_jira_and_a_copy_later_restricted_is_removed() -> Result<()> {
    let world = World::start().await?;
    let (bug, copy) = linked_bug(&world, "Discussed in private").await?;
    let comments = format!("/rest/api/3/issue/{bug}/comment");
    let public =
        world.jira_rest(Method::POST, &comments, Some(json!({"body": adf("Seen on staging, public")}))).await?;
    world
        .jira_rest(
            Method::POST,
            &comments,
            Some(json!({"body": adf("Admins only: the customer's password was in the log"),
                        "visibility": {"type": "role", "value": "Administrators"}})),
        )
        .await?;
    world
        .jira_rest(
            Method::POST,
            &comments,
            Some(json!({"body": adf("Internal note for agents"),
                        "properties": [{"key": "sd.public.comment", "value": {"internal": true}}]})),
        )
        .await?;
    world.settle().await?;
    let copied = world.ado_alice.list_comments(&copy.item.id).await?;
    assert_eq!(copied.len(), 1, "only the public comment is copied: {copied:?}");
    assert!(plain(&copied[0].body).contains("Seen on staging, public"));

    // The public comment is restricted afterwards: its copy goes.
    let public_id = public["id"].as_str().context("the comment has an id")?;
    world
        .jira_rest(
            Method::PUT,
            &format!("{comments}/{public_id}"),
            Some(json!({"body": adf("Seen on staging, public"),
                        "visibility": {"type": "group", "value": "jira-administrators"}})),
        )
        .await?;
    world.settle().await?;
    assert!(world.ado_alice.list_comments(&copy.item.id).await?.is_empty(), "the restricted comment's copy is gone");

    // A copied comment that is deleted takes its copy with it.
    let later = world.jira_rest(Method::POST, &comments, Some(json!({"body": adf("Fixed by the patch")}))).await?;
    world.settle().await?;
    assert_eq!(world.ado_alice.list_comments(&copy.item.id).await?.len(), 1);
    let later_id = later["id"].as_str().context("the comment has an id")?;
    world.jira_rest(Method::DELETE, &format!("{comments}/{later_id}"), None).await?;
    world.settle().await?;
    assert!(world.ado_alice.list_comments(&copy.item.id).await?.is_empty(), "the deleted comment's copy is gone");
    let link = world.link_of(Side::One, &bug).await?.context("still linked")?;
    assert!(link.comments.is_empty(), "{:?}", link.comments);
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_with_a_security_level_is_not_copied_and_a_restricted_pair_stops_syncing() -> Result<()> {
    let world = World::start().await?;
    jira_issue(
        &world,
        json!({"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "Staff only",
               "security": {"name": "Internal"}}),
    )
    .await?;
    world.settle().await?;
    assert_eq!(copies_made(&world), (0, 0), "an issue with a security level is not copied");

    // A linked bug that gets a security level is left alone, both ways, from then on.
    let (bug, copy) = linked_bug(&world, "Public at first").await?;
    world
        .jira_rest(
            Method::PUT,
            &format!("/rest/api/3/issue/{bug}"),
            Some(json!({"fields": {"security": {"name": "Internal"}}})),
        )
        .await?;
    world.edit_in_jira(&bug, &[("summary", text("Now with the customer's name"))]).await?;
    world.edit_in_ado(&copy.item.id, &[("System.Title", text("Edited in ADO"))]).await?;
    world.settle().await?;
    assert_eq!(world.ado_field(&copy.item.id, "System.Title").await?, text("Edited in ADO"));
    assert_eq!(world.jira_field(&bug, "summary").await?, text("Now with the customer's name"));
    world.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_level_the_configuration_allows_is_copied() -> Result<()> {
    let config = support::local_config(|text| {
        text.replacen(
            "  webhook_secret: local/jira-webhook\n",
            "  webhook_secret: local/jira-webhook\n  confidential:\n    items: [\"security-level:Internal\"]\n",
            1,
        )
    })?;
    let world = World::with_config(config).await?;
    let bug = jira_issue(
        &world,
        json!({"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "Allowed",
               "security": {"name": "Internal"}}),
    )
    .await?;
    world.settle().await?;
    assert!(world.link_of(Side::One, &bug).await?.is_some(), "the allowed level is copied");
    world.finish().await
}

fn plain(body: &tandem_model::RichText) -> String {
    tandem_rich_text::plain_text(body)
}

/// People move items out of scope through the REST APIs: a Jira issue retyped to a Task, an Azure
/// DevOps work item moved to another project. The pairs stay linked and are left alone both ways, and
/// the item's history says why; retyped back, the Jira pair syncs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_retyped_or_a_work_item_moved_away_is_left_alone_until_it_is_back() -> Result<()> {
    let world = World::start().await?;
    let (retyped, retyped_copy) = linked_bug(&world, "Retyped later").await?;
    let (kept, moved) = linked_bug(&world, "Moved later").await?;
    let retype = |kind: &str| json!({"fields": {"issuetype": {"name": kind}}});
    world.jira_rest(Method::PUT, &format!("/rest/api/3/issue/{retyped}"), Some(retype("Task"))).await?;
    let to_contoso = json!([{"op": "add", "path": "/fields/System.TeamProject", "value": "Contoso"}]);
    world.ado_rest(Method::PATCH, &format!("Fabrikam/_apis/wit/workitems/{}", moved.item.id), Some(to_contoso)).await?;
    world.edit_in_jira(&retyped, &[("summary", text("A task now"))]).await?;
    world.edit_in_jira(&kept, &[("summary", text("Its copy is in Contoso"))]).await?;
    world.settle().await?;
    assert_eq!(world.ado_field(&retyped_copy.item.id, "System.Title").await?, text("Retyped later"));
    assert_eq!(world.ado_field(&moved.item.id, "System.Title").await?, text("Moved later"));
    let engine = world.engine();
    let history = engine.stores().log.list_history(&engine.config().name, Side::One, &kept, 5, chrono::Utc::now());
    let latest = history.await?.into_iter().next().context("the sync after the move is kept")?;
    assert!(latest.outcome.contains("out of scope") && latest.outcome.contains("Contoso"), "{latest:?}");

    world.jira_rest(Method::PUT, &format!("/rest/api/3/issue/{retyped}"), Some(retype("Bug"))).await?;
    world.settle().await?;
    assert_eq!(world.ado_field(&retyped_copy.item.id, "System.Title").await?, text("A task now"), "back in scope");
    world.finish().await
}
