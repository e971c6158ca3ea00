//! The Jira ↔ Azure DevOps slice, end to end: both simulators over HTTP, the webhook server, the
//! poller and the engine on the embedded store. Each scenario ends with both systems quiet (no
//! further writes) and with no request or response outside the vendors' official API descriptions.

mod support;

use anyhow::{Context, Result};
use serde_json::json;
use support::{local_config, World};
use tandem_engine::ports::Connector;
use tandem_model::{FieldMap, FieldValue, Item, ItemId, RichText, Side, UserRef};
use tandem_simulators::jira::SimUser;

fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.to_string())
}

fn fields(pairs: &[(&str, FieldValue)]) -> FieldMap {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

fn jira_user(user: &SimUser) -> FieldValue {
    FieldValue::User(UserRef {
        id: user.account_id.clone(),
        email: Some(user.email.clone()),
        display_name: None,
    })
}

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

async fn create_jira_bug(world: &World, summary: &str, priority: &str) -> Result<Item> {
    Ok(world
        .jira_alice
        .create_item(&fields(&[
            ("summary", text(summary)),
            ("priority", text(priority)),
        ]))
        .await?)
}

async fn copy_in_ado(world: &World, jira_bug: &Item) -> Result<Item> {
    let link = world
        .link_of(Side::One, &jira_bug.item.id)
        .await?
        .context("the Jira bug is linked")?;
    Ok(world.ado_alice.get_item(&link.side2.id).await?)
}

fn html_of(item: &Item, field: &str) -> String {
    match item.field(field) {
        FieldValue::RichText(RichText::Html(html)) => html.clone(),
        other => panic!("{field} is not HTML: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_bug_appears_in_azure_devops_and_edits_flow_back() -> Result<()> {
    let world = World::start().await?;
    let alice = SimUser::alice();
    let bug = world
        .jira_alice
        .create_item(&fields(&[
            ("summary", text("Checkout fails on empty cart")),
            ("priority", text("High")),
            ("assignee", jira_user(&alice)),
            (
                "description",
                FieldValue::RichText(RichText::Adf(rich_description())),
            ),
        ]))
        .await?;
    world.settle().await?;

    let copy = copy_in_ado(&world, &bug).await?;
    assert_eq!(
        copy.field("System.Title"),
        &text("Checkout fails on empty cart")
    );
    assert_eq!(
        copy.field("Microsoft.VSTS.Common.Priority"),
        &FieldValue::Number(2.0)
    );
    assert_eq!(
        copy.field("Microsoft.VSTS.Common.Severity"),
        &text("3 - Medium"),
        "default for a `none` source"
    );
    match copy.field("System.AssignedTo") {
        FieldValue::User(user) => assert_eq!(user.email.as_deref(), Some("alice@fabrikam.example")),
        other => panic!("assignee not mapped: {other:?}"),
    }
    let html = html_of(&copy, "System.Description");
    let bob_in_ado = world
        .ado()
        .identity("bob@fabrikam.example")
        .context("Bob in ADO")?;
    assert!(html.contains("<strong>broken</strong>"), "{html}");
    assert!(html.contains("<ul>") && html.contains("<li>"), "{html}");
    assert!(
        html.contains(r#"href="https://example.com/runbook""#),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "data-vss-mention=\"version:2.0,{}\"",
            bob_in_ado.id
        )),
        "mention re-pointed at Bob's ADO identity: {html}"
    );
    // The HTML means the same document; the mention now names Bob as Azure DevOps knows him.
    let back = tandem_rich_text::html_to_adf(&html)?;
    assert_eq!(
        tandem_rich_text::adf_to_plain_text(&back),
        tandem_rich_text::adf_to_plain_text(&rich_description())
            .replace("@Bob Example", &format!("@{}", bob_in_ado.display_name))
    );

    // Alice edits the copy in Azure DevOps: Jira follows.
    world
        .ado_alice
        .update_item(
            &copy.item.id,
            &fields(&[
                ("System.Title", text("Checkout fails for guests")),
                ("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0)),
            ]),
        )
        .await?;
    world.settle().await?;
    let bug_now = world.jira_alice.get_item(&bug.item.id).await?;
    assert_eq!(bug_now.field("summary"), &text("Checkout fails for guests"));
    assert_eq!(bug_now.field("priority"), &text("Highest"));
    // The description did not drift: the round trip wrote nothing back to Jira.
    assert_eq!(bug_now.field("description"), bug.field("description"));

    world.assert_quiet().await?;
    assert_eq!(world.links().await?.len(), 1);
    world.assert_contracts_kept()?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_devops_state_change_transitions_jira() -> Result<()> {
    let world = World::start().await?;
    let bug = create_jira_bug(&world, "Payment page times out", "Medium").await?;
    world.settle().await?;
    let copy = copy_in_ado(&world, &bug).await?;
    assert_eq!(copy.field("System.State"), &text("New"));

    world
        .ado_alice
        .update_item(&copy.item.id, &fields(&[("System.State", text("Active"))]))
        .await?;
    world.settle().await?;
    assert_eq!(
        world
            .jira_alice
            .get_item(&bug.item.id)
            .await?
            .field("status"),
        &text("In Progress")
    );

    // Resolved maps one way (reverse) to Done.
    world
        .ado_alice
        .update_item(
            &copy.item.id,
            &fields(&[("System.State", text("Resolved"))]),
        )
        .await?;
    world.settle().await?;
    assert_eq!(
        world
            .jira_alice
            .get_item(&bug.item.id)
            .await?
            .field("status"),
        &text("Done")
    );

    world.assert_quiet().await?;
    world.assert_contracts_kept()?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_flow_both_ways_once_with_attribution_and_edits() -> Result<()> {
    let world = World::start().await?;
    let bug = create_jira_bug(&world, "Search ignores accents", "Low").await?;
    world.settle().await?;
    let copy = copy_in_ado(&world, &bug).await?;

    let jira_comment = world
        .jira_alice
        .add_comment(&bug.item.id, &RichText::Adf(json!({"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"Seen on "},{"type":"text","text":"prod","marks":[{"type":"strong"}]}]}]})))
        .await?;
    world
        .ado_alice
        .add_comment(
            &copy.item.id,
            &RichText::Html("<p>Fix is in review</p>".into()),
        )
        .await?;
    world.settle().await?;

    let ado_comments = world.ado_alice.list_comments(&copy.item.id).await?;
    let jira_comments = world.jira_alice.list_comments(&bug.item.id).await?;
    assert_eq!(
        ado_comments.len(),
        2,
        "the ADO original and the Jira copy, once each"
    );
    assert_eq!(
        jira_comments.len(),
        2,
        "the Jira original and the ADO copy, once each"
    );
    let plain = |body: &RichText| match body {
        RichText::Adf(document) => tandem_rich_text::adf_to_plain_text(document),
        RichText::Html(html) => tandem_rich_text::html_to_plain_text(html),
    };
    let copied_to_ado: Vec<String> = ado_comments
        .iter()
        .map(|comment| plain(&comment.body))
        .collect();
    assert!(
        copied_to_ado
            .iter()
            .any(|body| body.contains("Alice Example commented in Jira:")
                && body.contains("Seen on prod")),
        "{copied_to_ado:?}"
    );
    let copied_to_jira: Vec<String> = jira_comments
        .iter()
        .map(|comment| plain(&comment.body))
        .collect();
    assert!(
        copied_to_jira
            .iter()
            .any(|body| body.contains("commented in Azure DevOps:")
                && body.contains("Fix is in review")),
        "{copied_to_jira:?}"
    );

    // An edit of the original reaches the copy.
    world
        .jira_alice
        .update_comment(&bug.item.id, &jira_comment.id, &RichText::Adf(json!({"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"Seen on prod and staging"}]}]})))
        .await?;
    world.settle().await?;
    let ado_comments = world.ado_alice.list_comments(&copy.item.id).await?;
    assert_eq!(ado_comments.len(), 2);
    assert!(ado_comments
        .iter()
        .any(|comment| plain(&comment.body).contains("Seen on prod and staging")));

    world.assert_quiet().await?;
    world.assert_contracts_kept()?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_different_fields_both_survive_and_same_field_goes_to_policy(
) -> Result<()> {
    let world = World::start().await?;
    let bug = create_jira_bug(&world, "Totals round wrongly", "Medium").await?;
    world.settle().await?;
    let copy = copy_in_ado(&world, &bug).await?;

    // Both edits happen before tandem hears of either.
    world.jira().webhooks().pause();
    world.ado().pause_hooks();
    world
        .jira_alice
        .update_item(
            &bug.item.id,
            &fields(&[("summary", text("Totals round wrongly in EUR"))]),
        )
        .await?;
    world
        .ado_alice
        .update_item(
            &copy.item.id,
            &fields(&[("Microsoft.VSTS.Common.Priority", FieldValue::Number(1.0))]),
        )
        .await?;
    world.settle().await?;
    let (bug_now, copy_now) = (
        world.jira_alice.get_item(&bug.item.id).await?,
        world.ado_alice.get_item(&copy.item.id).await?,
    );
    assert_eq!(
        bug_now.field("summary"),
        &text("Totals round wrongly in EUR")
    );
    assert_eq!(
        copy_now.field("System.Title"),
        &text("Totals round wrongly in EUR")
    );
    assert_eq!(bug_now.field("priority"), &text("Highest"));
    assert_eq!(
        copy_now.field("Microsoft.VSTS.Common.Priority"),
        &FieldValue::Number(1.0)
    );
    assert!(world
        .engine()
        .stores()
        .log
        .list_conflicts(&world.config.name)
        .await?
        .is_empty());

    // Same field on both sides: the later change (Azure DevOps) wins under latest-wins, and it is recorded.
    world
        .jira_alice
        .update_item(
            &bug.item.id,
            &fields(&[("summary", text("Title from Jira"))]),
        )
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    world
        .ado_alice
        .update_item(
            &copy.item.id,
            &fields(&[("System.Title", text("Title from Azure DevOps"))]),
        )
        .await?;
    world.settle().await?;
    assert_eq!(
        world
            .jira_alice
            .get_item(&bug.item.id)
            .await?
            .field("summary"),
        &text("Title from Azure DevOps")
    );
    assert_eq!(
        world
            .ado_alice
            .get_item(&copy.item.id)
            .await?
            .field("System.Title"),
        &text("Title from Azure DevOps")
    );
    let conflicts = world
        .engine()
        .stores()
        .log
        .list_conflicts(&world.config.name)
        .await?;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].field, "title");
    assert_eq!(conflicts[0].winner, Side::Two);
    assert_eq!(conflicts[0].policy, "latest-wins");

    world.jira().webhooks().resume();
    world.ado().resume_hooks();
    world.assert_quiet().await?;
    world.assert_contracts_kept()?;
    world.stop().await;
    Ok(())
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
    assert!(
        config.filter(Side::One).is_some(),
        "the edit added the filter"
    );
    let world = World::with_config(config).await?;
    let bug = create_jira_bug(&world, "Typo in footer", "Low").await?;
    world.settle().await?;
    assert!(world.link_of(Side::One, &bug.item.id).await?.is_none());
    assert_eq!(world.ado().work_item_count(), 0);

    world
        .jira_alice
        .update_item(&bug.item.id, &fields(&[("priority", text("High"))]))
        .await?;
    world.settle().await?;
    let copy = copy_in_ado(&world, &bug).await?;
    assert_eq!(
        copy.field("Microsoft.VSTS.Common.Priority"),
        &FieldValue::Number(2.0)
    );
    assert_eq!(world.ado().work_item_count(), 1);

    world.assert_quiet().await?;
    world.assert_contracts_kept()?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_never_arrives_is_caught_by_the_next_poll() -> Result<()> {
    let world = World::start().await?;
    world.jira().webhooks().pause();
    let bug = create_jira_bug(&world, "Logo blurry on retina", "High").await?;
    world.jira().webhooks().settled().await;
    assert!(
        world.link_of(Side::One, &bug.item.id).await?.is_none(),
        "no webhook, no sync yet"
    );

    tandem_cli::server::poll_once(world.engine()).await;
    let copy = copy_in_ado(&world, &bug).await?;
    assert_eq!(copy.field("System.Title"), &text("Logo blurry on retina"));

    world.jira().webhooks().resume();
    world.assert_quiet().await?;
    world.assert_contracts_kept()?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_gets_401_and_changes_nothing() -> Result<()> {
    let world = World::start().await?;
    let bug = create_jira_bug(&world, "Real bug", "High").await?;
    world.settle().await?;
    let writes = world.writes();
    let links = world.links().await?;

    let body = json!({
        "timestamp": 1_700_000_000_000_i64,
        "webhookEvent": "jira:issue_created",
        "user": { "accountId": SimUser::alice().account_id },
        "issue": { "id": "10999", "key": "OPS-999", "fields": { "project": { "key": "OPS" }, "summary": "forged" } }
    })
    .to_string();
    let http = reqwest::Client::new();
    for signature in [
        Some("sha256=0000000000000000000000000000000000000000000000000000000000000000"),
        None,
    ] {
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
    assert!(world
        .link_of(Side::One, &ItemId::new("10999"))
        .await?
        .is_none());
    let _ = bug;
    world.assert_contracts_kept()?;
    world.stop().await;
    Ok(())
}
