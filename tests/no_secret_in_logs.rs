//! No secret value reaches any log line: the whole slice runs with every log at TRACE level captured —
//! webhooks signed and forged, creates, edits both ways, comments, polls — and the capture is searched
//! for every credential in play, as written and as it travels (Basic authorisation headers).

mod support;

use anyhow::{Context, Result};
use base64::Engine as _;
use serde_json::json;
use support::{field_map, text, World};
use tandem_engine::ports::Connector;
use tandem_model::{RichText, Side};
use tandem_simulators::jira::SimUser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_appears_in_any_log_line() -> Result<()> {
    let capture = support::logs::capture_every_line();

    let world = World::start().await?;
    let bug = world
        .jira_alice
        .create_item(&field_map(&[("summary", text("Secrets stay secret")), ("priority", text("High"))]), None)
        .await?;
    world.settle().await?;
    let link = world.link_of(Side::One, &bug.item.id).await?.context("linked")?;
    world.edit_in_ado(&link.side2.id, &[("System.Title", text("Edited in Azure DevOps"))]).await?;
    let comment = RichText::Adf(
        json!({"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"a comment"}]}]}),
    );
    world.jira_alice.add_comment(&bug.item.id, &comment).await?;
    world.settle().await?;
    // A forged delivery is refused and logged.
    let forged = reqwest::Client::new()
        .post(world.webhook_url(Side::One))
        .header("x-hub-signature", "sha256=00")
        .body(r#"{"webhookEvent":"jira:issue_updated"}"#)
        .send()
        .await?;
    assert_eq!(forged.status(), 401);

    let service = SimUser::service_account();
    let ado_service_pat = world.ado().service_account().pat.clone();
    let ado_alice_pat = world.ado().identity("alice@fabrikam.example").context("Alice in ADO")?.pat;
    let basic =
        |user: &str, password: &str| base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut secrets = vec![
        service.api_token.clone(),
        basic(&service.email, &service.api_token),
        SimUser::alice().api_token,
        ado_service_pat.clone(),
        basic("", &ado_service_pat),
        ado_alice_pat.clone(),
        basic("", &ado_alice_pat),
    ];
    for side in Side::BOTH {
        let secret = world.environment.webhook_secret(side).context("a webhook secret per side")?.to_string();
        secrets.push(basic("tandem", &secret));
        secrets.push(secret);
    }
    world.finish().await?;

    assert!(capture.text().lines().count() > 100, "the run was logged");
    capture.assert_none_of(&secrets);
    Ok(())
}
