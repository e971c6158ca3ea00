//! The CLI against a deployed stack, stood in for by moto (`infra/test.sh` starts it): the table found
//! by the stack's name, and a first activation that backfills the items already there while the
//! poller (run here in-process, as the deployed one runs) works through them.

use anyhow::{Context, Result};
use serde_json::json;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tandem_lambda_runtime::{poll_deadline, run_poll, Runtime, SECRET_TTL};
use tandem_secrets::CachedSecrets;
use tandem_secrets_aws::SecretsManagerSource;
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, SimUser};
use tandem_store_dynamodb::DynamoStore;
use tokio::process::Command;

fn require_local_aws() {
    assert!(std::env::var("AWS_ENDPOINT_URL").is_ok(), "AWS_ENDPOINT_URL is unset: run the tests with infra/test.sh");
}

async fn new_table(purpose: &str) -> Result<String> {
    let table = format!("tandem-cli-{purpose}-{}", uuid::Uuid::new_v4().simple());
    DynamoStore::from_env(table.clone()).await.create_table().await?;
    Ok(table)
}

async fn tandem(args: &[&str]) -> Result<std::process::Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).env("RUST_LOG", "warn").output().await?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `--stack NAME` (or `TANDEM_STACK`) reads the stack's `TableName` output, as `sam deploy` left it.
#[tokio::test]
async fn the_stack_name_finds_the_table() -> Result<()> {
    require_local_aws();
    let table = new_table("stack").await?;
    let stack = format!("tandem-{}", uuid::Uuid::new_v4().simple());
    let template = json!({
        "Resources": { "Placeholder": { "Type": "AWS::CloudFormation::WaitConditionHandle" } },
        "Outputs": { "TableName": { "Value": table } }
    });
    let cloudformation = aws_sdk_cloudformation::Client::new(&tandem_aws_config::from_env().await);
    cloudformation.create_stack().stack_name(&stack).template_body(template.to_string()).send().await?;

    let set = tandem(&[
        "watermark",
        "--stack",
        &stack,
        "--integration",
        "ops",
        "--side",
        "2",
        "--set",
        "2026-11-20T08:00:00Z",
    ])
    .await?;
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert!(text(&set.stderr).contains(&format!("stack {stack}: table {table}")), "{}", text(&set.stderr));
    let stored = DynamoStore::from_env(table.clone()).await;
    let watermark =
        tandem_engine::ports::WatermarkStore::get_watermark(&stored, "ops", tandem_model::Side::Two).await?;
    assert_eq!(watermark.map(|at| at.to_rfc3339()), Some("2026-11-20T08:00:00+00:00".to_string()));

    let from_env = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["conflicts", "--integration", "ops"])
        .env("TANDEM_STACK", &stack)
        .env("RUST_LOG", "warn")
        .output()
        .await?;
    assert!(text(&from_env.stdout).contains(&format!("in DynamoDB table {table}")), "{}", text(&from_env.stdout));

    let missing = tandem(&["failures", "--integration", "ops", "--stack", "no-such-stack"]).await?;
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no stack named `no-such-stack`"), "{}", text(&missing.stderr));
    let both = tandem(&["failures", "--integration", "ops", "--stack", &stack, "--table", &table]).await?;
    assert!(!both.status.success(), "a table and a stack at once are refused");
    Ok(())
}

/// Items filed before an integration exists are synced when it is activated with `--backfill`: the
/// watermarks move back before the first poll, and the command follows the poller until both sides
/// have caught up. A second backfill finds everything linked and writes nothing. Then `resync` syncs
/// named items at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_activation_with_backfill_syncs_the_items_already_there() -> Result<()> {
    require_local_aws();
    let table = new_table("backfill").await?;
    let jira = JiraSimulator::start(JiraSimConfig::default()).await?;
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await?;
    let prefix = format!("tandem-test/{}/", uuid::Uuid::new_v4().simple());
    let service = SimUser::service_account();
    let secrets = aws_sdk_secretsmanager::Client::new(&tandem_aws_config::from_env().await);
    for (name, value) in [
        ("jira", json!({ "kind": "jira-api-token", "email": service.email, "api_token": service.api_token })),
        ("ado", json!({ "kind": "azure-devops-pat", "pat": ado.service_account().pat })),
        ("jira-webhook", json!({ "kind": "webhook-hmac", "secret": "a webhook secret" })),
        ("ado-webhook", json!({ "kind": "webhook-basic", "username": "tandem", "password": "a webhook password" })),
    ] {
        secrets.create_secret().name(format!("{prefix}{name}")).secret_string(value.to_string()).send().await?;
    }
    let alice = SimUser::alice();
    let http = reqwest::Client::new();
    for summary in ["Login fails on Safari", "Export drops the last row", "Typo on the invoice"] {
        let created = http
            .post(format!("{}/rest/api/3/issue", jira.base_url()))
            .basic_auth(&alice.email, Some(&alice.api_token))
            .json(&json!({ "fields": {
                "project": { "key": "OPS" }, "issuetype": { "name": "Bug" }, "summary": summary
            }}))
            .send()
            .await?;
        assert_eq!(created.status(), 201, "{}", created.text().await?);
    }
    let folder = tempfile::tempdir()?;
    let config = folder.path().join("backfill.yaml");
    std::fs::write(&config, integration_yaml(jira.base_url(), ado.organization_url(), &prefix))?;
    let config = config.to_str().context("a UTF-8 path")?;
    assert!(tandem(&["integrations", "--table", &table, "put", "--config", config]).await?.status.success());

    let runtime = Runtime::new(
        DynamoStore::from_env(table.clone()).await,
        Arc::new(CachedSecrets::new(SecretsManagerSource::from_env().await, SECRET_TTL)),
    );
    let activate = ["integrations", "activate", "backfill-bugs", "--backfill", "--every", "1", "--table", &table];
    let output = followed_while_polling(&activate, &runtime).await?;
    let said = text(&output.stdout);
    assert!(said.contains("backfill-bugs side 1: polls start at 2000-01-01T00:00:00+00:00"), "{said}");
    assert!(said.contains("backfill-bugs: active"), "{said}");
    let summary = counts_said(&said, "backfill caught up on side(s) 1 and 2: ")?;
    assert_eq!((summary["created"], summary["updated"], summary["failed"]), (3, 0, 0), "{said}");
    assert!(said.contains("(3 pairs linked, 0 before); 0 item(s) recorded as failing"), "{said}");
    let progress = text(&output.stderr);
    assert!(progress.contains("side 1: 100% (up to "), "off a terminal, progress comes as lines: {progress}");
    assert!(
        progress.contains(" items, ") && progress.contains("/s, "),
        "lines give the items done and the rate: {progress}"
    );
    assert_eq!(ado.work_item_count(), 3, "each bug filed before the integration existed has its copy");

    let backfill = ["backfill", "--table", &table, "--integration", "backfill-bugs", "--every", "1"];
    let again = followed_while_polling(&backfill, &runtime).await?;
    assert!(again.status.success(), "{}", text(&again.stderr));
    let said = text(&again.stdout);
    assert!(said.contains("watermark moved back from"), "{said}");
    let summary = counts_said(&said, "backfill caught up on side(s) 1 and 2: ")?;
    assert_eq!((summary["created"], summary["updated"], summary["failed"]), (0, 0, 0), "{said}");
    assert!(summary["unchanged"] >= 6, "each item and each copy was gone over and found in agreement: {said}");
    assert_eq!(ado.work_item_count(), 3, "linked items are not copied again");

    // Resync: an edit whose notice never came is carried at once; an item in agreement writes nothing;
    // one that does not exist is reported, and the command fails.
    let edited = http
        .put(format!("{}/rest/api/3/issue/OPS-1", jira.base_url()))
        .basic_auth(&alice.email, Some(&alice.api_token))
        .json(&json!({ "fields": { "summary": "Login fails on Safari and Firefox" } }))
        .send()
        .await?;
    assert_eq!(edited.status(), 204);
    let resync =
        tandem(&["resync", "--table", &table, "--integration", "backfill-bugs", "1:OPS-1", "1:OPS-2", "1:OPS-404"])
            .await?;
    let said = text(&resync.stdout);
    assert!(!resync.status.success(), "a failed item fails the command");
    assert!(
        said.contains("backfill-bugs: 0 created, 1 updated, 1 unchanged, 0 skipped, 1 failed"),
        "{said}{}",
        text(&resync.stderr)
    );
    assert!(said.contains("1:OPS-404"), "{said}");
    let carried = ado
        .exchanges()
        .into_iter()
        .filter_map(|exchange| exchange.request_body)
        .any(|body| body.to_string().contains("Login fails on Safari and Firefox"));
    assert!(carried, "Azure DevOps got the new title");
    assert_eq!(ado.work_item_count(), 3);

    // The history of an item named by its key: its creation by the poll, then the resync's write.
    let history = tandem(&["history", "--table", &table, "--integration", "backfill-bugs", "1:OPS-1"]).await?;
    let said = text(&history.stdout);
    assert!(history.status.success(), "{said}{}", text(&history.stderr));
    assert!(said.starts_with("side 1 OPS-1 ↔ side 2 "), "{said}");
    let (newest, oldest) = said.split_once("manual").context("the resync is the newest entry")?;
    assert!(newest.contains("updated (1 written)"), "{said}");
    assert!(
        oldest.contains(r#"System.Title: "Login fails on Safari" → "Login fails on Safari and Firefox""#),
        "{said}"
    );
    assert!(oldest.contains("created ") && oldest.contains("poll"), "{said}");
    let json = tandem(&["history", "--json", "--table", &table, "--integration", "backfill-bugs", "1:OPS-1"]).await?;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(json["entries"][0]["trigger"]["kind"], "manual", "{json}");
    assert_eq!(json["entries"][1]["trigger"]["kind"], "poll", "{json}");

    // A changed configuration goes in only once its plan was shown (or with --force).
    let changed = folder.path().join("changed.yaml");
    let one_way = integration_yaml(jira.base_url(), ado.organization_url(), &prefix) + "    direction: 1->2\n";
    std::fs::write(&changed, one_way)?;
    let changed = changed.to_str().context("a UTF-8 path")?;
    let refused = tandem(&["integrations", "--table", &table, "put", "--config", changed]).await?;
    assert!(!refused.status.success(), "an unplanned change is refused");
    assert!(text(&refused.stderr).contains("tandem plan"), "{}", text(&refused.stderr));
    let plan = tandem(&["plan", "--table", &table, "--config", changed]).await?;
    let said = text(&plan.stdout);
    assert!(plan.status.success(), "{said}{}", text(&plan.stderr));
    assert!(said.contains("side 1 title: now \"Login fails on Safari and Firefox\"; in force writes \"Login fails on Safari and Firefox\", planned writes (not written)"), "{said}");
    assert!(said.contains("3 pair(s) written otherwise, 0 alike"), "{said}");
    assert!(said.contains("plan recorded"), "{said}");
    let put = tandem(&["integrations", "--table", &table, "put", "--config", changed]).await?;
    assert!(put.status.success(), "{}", text(&put.stderr));
    jira.stop().await;
    ado.stop().await;
    Ok(())
}

/// Runs `tandem ARGS`, polling as the deployed poller does until it exits (two minutes at most).
/// The counts a summary line gives after `lead`: "3 created, 0 updated, …" → {"created": 3, …}.
fn counts_said(said: &str, lead: &str) -> Result<std::collections::HashMap<String, u64>> {
    let line = said.lines().find_map(|line| line.split_once(lead)).with_context(|| format!("no `{lead}` in {said}"))?.1;
    let counts = line.split(" (").next().unwrap_or_default();
    counts
        .split(", ")
        .map(|count| {
            let (number, name) = count.split_once(' ').with_context(|| format!("`{count}` in {line}"))?;
            Ok((name.to_owned(), number.parse()?))
        })
        .collect()
}

async fn followed_while_polling(args: &[&str], runtime: &Runtime) -> Result<std::process::Output> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let exited = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            run_poll(runtime, poll_deadline(None)).await;
            if command.try_wait()?.is_some() {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    if exited.is_err() {
        command.start_kill()?;
    }
    let output = command.wait_with_output().await?;
    exited.with_context(|| {
        format!("`tandem {}` was still following after two minutes: {}", args.join(" "), text(&output.stdout))
    })??;
    Ok(output)
}

fn integration_yaml(jira: &str, ado: &str, prefix: &str) -> String {
    format!(
        r#"
name: backfill-bugs
side1:
  system: jira
  base_url: {jira}
  project: OPS
  item_type: Bug
  secret: {prefix}jira
  webhook_secret: {prefix}jira-webhook
side2:
  system: azure-devops
  base_url: {ado}
  project: Fabrikam
  item_type: Bug
  secret: {prefix}ado
  webhook_secret: {prefix}ado-webhook
fields:
  - name: title
    side1: summary
    side2: System.Title
"#
    )
}
