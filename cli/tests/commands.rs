//! The `tandem` command's one-shot subcommands, run as a user would run them.

use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tandem(args: &[&str]) -> Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).env("RUST_LOG", "warn").output()?)
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_accepts_the_examples() -> Result<()> {
    for file in ["jira-azure-devops.yaml", "local.yaml"] {
        let output = tandem(&["validate", examples().join(file).to_str().unwrap_or_default()])?;
        assert!(output.status.success(), "{file}: {}", text(&output.stderr));
        assert!(text(&output.stdout).contains("valid integration"), "{}", text(&output.stdout));
    }
    Ok(())
}

#[test]
fn validate_reports_every_problem_with_its_location() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let broken = dir.path().join("broken.yaml");
    let original = std::fs::read_to_string(examples().join("local.yaml"))?;
    let edited = original.replacen("  item_type: Bug\n", "  item_type: Bug\n  colour: blue\n", 1).replacen(
        "    kind: rich-text\n",
        "    kind: rich-txt\n",
        1,
    );
    assert_ne!(edited, original);
    std::fs::write(&broken, edited)?;
    std::fs::copy(examples().join("local-users.csv"), dir.path().join("local-users.csv"))?;
    let output = tandem(&["validate", broken.to_str().unwrap_or_default()])?;
    assert!(!output.status.success(), "a broken file must fail validation");
    let errors = text(&output.stderr);
    assert!(errors.contains("broken.yaml:"), "{errors}");
    assert!(errors.contains("colour"), "unknown key reported: {errors}");
    assert!(errors.contains("rich-txt"), "unknown kind reported: {errors}");
    assert!(errors.contains("2 problem(s)"), "{errors}");
    Ok(())
}

#[test]
fn schema_is_a_json_schema_for_integration_files() -> Result<()> {
    let output = tandem(&["schema"])?;
    assert!(output.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    assert!(schema.get("$schema").is_some(), "{schema}");
    assert!(schema.to_string().contains("webhook_secret"));
    Ok(())
}

#[test]
fn check_reports_each_side_of_the_simulated_example() -> Result<()> {
    let output = tandem(&["check", "--config", examples().join("local.yaml").to_str().unwrap_or_default()])?;
    let printed = text(&output.stdout);
    assert!(output.status.success(), "{printed}\n{}", text(&output.stderr));
    assert!(printed.contains("side 1: Jira"), "{printed}");
    assert!(printed.contains("side 2: Azure DevOps"), "{printed}");
    assert!(printed.contains("✓ authenticated as"), "{printed}");
    assert!(!printed.contains('✗'), "{printed}");
    Ok(())
}

#[test]
fn watermark_can_be_set_and_shown() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("state.redb");
    let config = examples().join("local.yaml");
    let common =
        ["--config", config.to_str().unwrap_or_default(), "--store", store.to_str().unwrap_or_default(), "--side", "2"];
    // No store there yet: refused, not created, and the way to the deployed table is named.
    let missing = tandem(&[&["watermark"][..], &common[..]].concat())?;
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("--table"), "{}", text(&missing.stderr));
    assert!(!store.exists());
    tandem_cli::wiring::open_store(&store)?;
    let shown = tandem(&[&["watermark"][..], &common[..]].concat())?;
    assert!(text(&shown.stdout).contains("no watermark yet"), "{}", text(&shown.stdout));
    let set = tandem(&[&["watermark"][..], &common[..], &["--set", "2026-11-20T08:00:00Z"][..]].concat())?;
    assert!(set.status.success(), "{}", text(&set.stderr));
    let shown = tandem(&[&["watermark"][..], &common[..]].concat())?;
    assert!(text(&shown.stdout).contains("2026-11-20T08:00:00+00:00"), "{}", text(&shown.stdout));
    let failures = tandem(&[
        "failures",
        "--config",
        config.to_str().unwrap_or_default(),
        "--store",
        store.to_str().unwrap_or_default(),
    ])?;
    assert!(text(&failures.stdout).contains("no failures recorded"));
    Ok(())
}

/// Every state command reads the deployed table when one is named: `--table` before or after the
/// command, or `TANDEM_TABLE`; an integration is named by its file or by `--integration`.
#[tokio::test]
async fn state_commands_work_on_the_deployed_table_named_any_way() -> Result<()> {
    assert!(std::env::var("AWS_ENDPOINT_URL").is_ok(), "AWS_ENDPOINT_URL is unset: run the tests with infra/test.sh");
    let table = format!("tandem-cli-state-{}", std::process::id());
    tandem_store_dynamodb::DynamoStore::from_env(table.clone()).await.create_table().await?;
    let set = tandem(&[
        "--table",
        &table,
        "watermark",
        "--integration",
        "ops",
        "--side",
        "1",
        "--set",
        "2026-11-20T08:00:00Z",
    ])?;
    assert!(set.status.success(), "{}", text(&set.stderr));
    let shown = tandem(&["watermark", "--integration", "ops", "--side", "1", "--table", &table])?;
    assert!(
        text(&shown.stdout).contains(&format!("2026-11-20T08:00:00+00:00 (DynamoDB table {table})")),
        "{}",
        text(&shown.stdout)
    );
    let from_env = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["conflicts", "--integration", "ops"])
        .env("TANDEM_TABLE", &table)
        .env("RUST_LOG", "warn")
        .output()?;
    assert!(
        text(&from_env.stdout).contains(&format!("no conflicts recorded for ops in DynamoDB table {table}")),
        "{}{}",
        text(&from_env.stdout),
        text(&from_env.stderr)
    );
    let failures = tandem(&["failures", "--table", &table, "--integration", "ops"])?;
    assert!(text(&failures.stdout).contains(&format!("in DynamoDB table {table}")), "{}", text(&failures.stdout));
    let nameless = tandem(&["conflicts", "--table", &table])?;
    assert!(!nameless.status.success(), "an integration must be named");
    Ok(())
}

/// `tandem integrations` against the local DynamoDB stand-in (`eval "$(infra/local-aws.sh)"`).
#[tokio::test]
async fn integrations_are_stored_activated_and_listed() -> Result<()> {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is unset: run `eval \"$(infra/local-aws.sh)\"` (infra/test.sh does) to start moto"
    );
    let table = format!("tandem-cli-{}", std::process::id());
    tandem_store_dynamodb::DynamoStore::from_env(table.clone()).await.create_table().await?;
    // The example as it is, its users sheet included: the sheet's pairs are stored with it, inline.
    let config = examples().join("jira-azure-devops.yaml");
    let put = tandem(&[
        "integrations",
        "--table",
        &table,
        "put",
        "--config",
        config.to_str().unwrap_or_default(),
        "--activate",
    ])?;
    assert!(put.status.success(), "{}", text(&put.stderr));
    let stored = tandem_store_dynamodb::DynamoStore::from_env(table.clone())
        .await
        .get_integration("ops-fabrikam-bugs")
        .await?
        .expect("stored");
    assert!(!stored.yaml.contains("map_file"), "{}", stored.yaml);
    assert!(stored.yaml.contains("grace.hopper@contoso.com"), "the sheet's pairs are inline: {}", stored.yaml);
    let reloaded = tandem_systems::load_str(&stored.yaml, "registry", Path::new("/nonexistent"));
    assert!(reloaded.is_ok(), "the stored text loads where no folder is: {:?}", reloaded.err());
    let listed = text(&tandem(&["integrations", "--table", &table, "list"])?.stdout);
    assert!(listed.contains("ops-fabrikam-bugs: active"), "{listed}");
    let off = tandem(&["integrations", "--table", &table, "deactivate", "ops-fabrikam-bugs"])?;
    assert!(off.status.success(), "{}", text(&off.stderr));
    let listed = text(&tandem(&["integrations", "--table", &table, "list"])?.stdout);
    assert!(listed.contains("ops-fabrikam-bugs: inactive"), "{listed}");
    let unknown = tandem(&["integrations", "--table", &table, "activate", "no-such-integration"])?;
    assert!(!unknown.status.success());
    Ok(())
}

/// A webhook secret that is empty would let anyone sign a delivery (an HMAC keyed with "") or pass Basic
/// authentication with an empty password: `serve` refuses to start and names the secret.
#[test]
fn empty_webhook_secrets_stop_serve_with_a_clear_error() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("real.yaml");
    let local = std::fs::read_to_string(examples().join("local.yaml"))?;
    let real = local
        .replacen(
            "  simulator: true           # start the bundled Jira simulator; no base_url needed\n",
            "  base_url: http://127.0.0.1:9\n",
            1,
        )
        .replacen(
            "  simulator: true           # start the bundled Azure DevOps simulator\n",
            "  base_url: http://127.0.0.1:9/fabrikam\n",
            1,
        );
    assert_ne!(real, local);
    std::fs::write(&config, real)?;
    std::fs::copy(examples().join("local-users.csv"), dir.path().join("local-users.csv"))?;
    for (webhook_secret, what) in [
        (r#"{"kind": "webhook-hmac", "secret": ""}"#, "HMAC secret is empty"),
        (r#"{"kind": "webhook-basic", "username": "", "password": ""}"#, "user name is empty"),
    ] {
        let secrets = dir.path().join("secrets.json");
        std::fs::write(
            &secrets,
            format!(
                r#"{{
                    "local/jira": {{"kind": "jira-api-token", "email": "svc@example.com", "api_token": "t"}},
                    "local/jira-webhook": {webhook_secret},
                    "local/azure-devops": {{"kind": "azure-devops-pat", "pat": "p"}},
                    "local/azure-devops-webhook": {{"kind": "webhook-basic", "username": "tandem", "password": "pw"}}
                }}"#
            ),
        )?;
        let output = tandem(&[
            "serve",
            "--config",
            config.to_str().unwrap_or_default(),
            "--secrets",
            secrets.to_str().unwrap_or_default(),
            "--store",
            dir.path().join("state.redb").to_str().unwrap_or_default(),
            "--listen",
            "127.0.0.1:0",
        ])?;
        assert!(!output.status.success(), "serve must not start with an empty webhook secret");
        let errors = text(&output.stderr);
        assert!(errors.contains("local/jira-webhook") && errors.contains(what), "{errors}");
    }
    Ok(())
}

/// The README's first command, `serve --demo` on the bundled simulators, works every time, the second
/// time in a row included: the simulators start empty, and so does the store kept from the run before.
#[test]
fn the_demo_works_twice_in_a_row() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("state.redb");
    for run in 1..=2 {
        let printed = demo_run(&examples().join("local.yaml"), &store)?;
        assert!(printed.iter().any(|line| line.starts_with("demo: done")), "run {run}: {printed:#?}");
        let reset = printed.iter().any(|line| line.contains("starts empty too"));
        assert_eq!(reset, run == 2, "run {run}: the store is started afresh when one was kept: {printed:#?}");
    }
    Ok(())
}

/// Runs `serve --demo` until it says the demo is done (or stops, or a minute passes), then stops it;
/// the lines it printed.
fn demo_run(config: &Path, store: &Path) -> Result<Vec<String>> {
    use std::io::BufRead;
    let mut serve = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--status", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--store")
        .arg(store)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let stdout = serve.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let (lines, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = printed.recv_timeout(std::time::Duration::from_secs(60)) {
        let done = line.starts_with("demo: done");
        seen.push(line);
        if done {
            break;
        }
    }
    serve.kill()?;
    serve.wait()?;
    Ok(seen)
}
