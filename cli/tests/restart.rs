//! Killing `tandem serve` (SIGKILL, as a crash or an OOM kill would) in the middle of syncing and starting
//! it again on the same store creates no duplicates: every Jira bug has exactly one Azure DevOps copy.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tandem_engine::ports::Connector;
use tandem_jira::{JiraConfig, JiraConnector};
use tandem_model::{Credentials, FieldMap, FieldValue, SecretString};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, HookTarget};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, SimUser};

const WEBHOOK_SECRET: &str = "restart-test-webhook-secret";

fn free_address() -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// The local example, pointed at simulators this test owns (they outlive the killed process).
fn write_config(dir: &Path, jira_url: &str, ado_url: &str) -> Result<std::path::PathBuf> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut urls = [jira_url, ado_url].into_iter();
    let text: String = std::fs::read_to_string(examples.join("local.yaml"))?
        .lines()
        .map(|line| match line.trim_start().starts_with("simulator: true") {
            true => format!("  base_url: {}\n", urls.next().unwrap_or_default()),
            false => format!("{line}\n"),
        })
        .collect();
    std::fs::copy(examples.join("local-users.csv"), dir.join("local-users.csv"))?;
    let path = dir.join("integration.yaml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn write_secrets(dir: &Path, ado_pat: &str) -> Result<std::path::PathBuf> {
    let service = SimUser::service_account();
    let secrets = json!({
        "local/jira": { "kind": "jira-api-token", "email": service.email, "api_token": service.api_token },
        "local/jira-webhook": { "kind": "webhook-hmac", "secret": WEBHOOK_SECRET },
        "local/azure-devops": { "kind": "azure-devops-pat", "pat": ado_pat },
        "local/azure-devops-webhook": { "kind": "webhook-basic", "username": "tandem", "password": WEBHOOK_SECRET },
    });
    let path = dir.join("secrets.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&secrets)?)?;
    Ok(path)
}

struct Serve {
    args: Vec<String>,
    address: String,
}

impl Serve {
    async fn start(&self) -> Result<Child> {
        let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting tandem serve")?;
        let health = format!("http://{}/health", self.address);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if reqwest::get(&health).await.is_ok_and(|response| response.status().is_success()) {
                return Ok(child);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("tandem serve did not come up on {}", self.address)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_and_restarting_serve_creates_no_duplicates() -> Result<()> {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await?;
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await?;
    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), jira.base_url(), ado.organization_url())?;
    let secrets = write_secrets(dir.path(), &ado.service_account().pat)?;
    let address = free_address()?;
    let serve = Serve {
        args: [
            "serve",
            "--config",
            config.to_str().context("utf-8 path")?,
            "--secrets",
            secrets.to_str().context("utf-8 path")?,
            "--store",
            dir.path().join("state.redb").to_str().context("utf-8 path")?,
            "--listen",
            &address,
            "--status",
            "127.0.0.1:0",
            "--poll-seconds",
            "1",
            // A crashed attempt's claim ends soon, so the adoption of its copy happens within the test.
            "--claim-lease-seconds",
            "3",
        ]
        .map(String::from)
        .to_vec(),
        address: address.clone(),
    };
    jira.subscribe_webhook(&format!("http://{address}/hooks/local-demo/1"), Some(WEBHOOK_SECRET));
    ado.subscribe_hook(HookTarget {
        url: format!("http://{address}/hooks/local-demo/2"),
        username: Some("tandem".into()),
        password: Some(WEBHOOK_SECRET.into()),
        headers: Default::default(),
    });
    let alice = SimUser::alice();
    let jira_alice = JiraConnector::new(
        JiraConfig { base_url: jira.base_url().into(), project_key: "OPS".into(), issue_type: "Bug".into() }
            .validate()?,
        &Credentials::JiraApiToken { email: alice.email, api_token: SecretString::new(alice.api_token) },
        tandem_jira::RetryPolicy::fast(),
    )?;

    const BUGS: usize = 8;
    let mut process = serve.start().await?;
    for round in 0..BUGS {
        let mut fields = FieldMap::new();
        fields.insert("summary".into(), FieldValue::Text(format!("Bug number {round}")));
        fields.insert("priority".into(), FieldValue::Text("High".into()));
        jira_alice.create_item(&fields, None).await?;
        if round % 3 == 1 {
            // Mid-sync: webhooks are in flight, creates may be half done.
            process.kill()?;
            process.wait()?;
            process = serve.start().await?;
        }
    }

    // Let webhooks retry and the 1-second poller catch up, until Azure DevOps stops changing.
    let started = Instant::now();
    let mut stable_since = Instant::now();
    let mut last = ado.work_item_count();
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = ado.work_item_count();
        if now != last {
            last = now;
            stable_since = Instant::now();
        } else if now >= BUGS && stable_since.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    process.kill()?;
    process.wait()?;

    assert_eq!(ado.work_item_count(), BUGS, "exactly one Azure DevOps copy per Jira bug");
    let jira_bugs = jira_alice.changed_since(chrono::DateTime::UNIX_EPOCH).await?;
    assert_eq!(jira_bugs.len(), BUGS, "no copies of the copies came back to Jira");
    let violations: Vec<String> = jira
        .violations()
        .iter()
        .map(|violation| format!("{violation:?}"))
        .chain(ado.violations().iter().map(|violation| format!("{violation:?}")))
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
    Ok(())
}
