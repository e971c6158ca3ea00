//! A world for end-to-end scenarios: both simulators, `tandem serve`'s webhook server and engine on an
//! embedded store in a temporary folder, and a person (Alice) with accounts in both systems.

#![allow(dead_code)] // each scenario file uses a different part

pub mod logs;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector};
use tandem_cli::local::LocalEnvironment;
use tandem_cli::server::{self, RunningServer, ServedIntegration};
use tandem_cli::wiring;
use tandem_engine::ports::Link;
use tandem_engine::ports::{Connector, SystemClock};
use tandem_engine::Engine;
use tandem_jira::{JiraConfig, JiraConnector};
use tandem_mapping::IntegrationConfig;
use tandem_model::{
    ChangeKind, ChangeNotice, Credentials, Delivery, FieldMap, FieldValue, Item, ItemId, ItemVersion, SecretString,
    Side, UserRef,
};
use tandem_simulators::azure_devops::RunningAzureDevops;
use tandem_simulators::jira::{PersonEdit, RunningJira, SimUser};

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The local example configuration, optionally edited (e.g. to add a filter).
pub fn local_config(edit: impl FnOnce(String) -> String) -> Result<IntegrationConfig> {
    let path = examples_dir().join("local.yaml");
    let text = edit(std::fs::read_to_string(&path)?);
    tandem_systems::load_str(&text, "local.yaml", &examples_dir()).map_err(|problems| anyhow::anyhow!("{problems}"))
}

/// `tandem serve` for a configuration, as the scenarios drive it: its simulators, its engine on an
/// embedded store in a temporary folder, and its webhook server (the simulators' webhooks pointed at it
/// when `webhooks`). Polls are the scenarios' to make, not a background poller's.
pub struct Serving {
    pub environment: LocalEnvironment,
    pub served: Arc<ServedIntegration>,
    pub server: RunningServer,
    pub store_dir: tempfile::TempDir,
}

impl Serving {
    pub async fn start(config: &Arc<IntegrationConfig>, webhooks: bool) -> Result<Serving> {
        let store_dir = tempfile::tempdir()?;
        let store = wiring::open_store(&store_dir.path().join("state.redb"))?;
        let environment = LocalEnvironment::prepare(config, None).await?;
        let served = wiring::serve_integration(
            config.clone(),
            environment.endpoints(),
            environment.secrets().as_ref(),
            store,
            wiring::ServeSettings { poll_interval: None, claim_lease: Some(Duration::from_secs(60)) },
        )
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = server::start(listener, vec![served.clone()])?;
        if webhooks {
            environment.register_webhooks(config, address);
        }
        Ok(Serving { environment, served, server, store_dir })
    }
}

pub struct World {
    pub config: Arc<IntegrationConfig>,
    pub environment: LocalEnvironment,
    pub served: Arc<ServedIntegration>,
    pub server: Option<RunningServer>,
    /// Alice, acting by hand in each system.
    pub jira_alice: JiraConnector,
    pub ado_alice: AzureDevopsConnector,
    _store_dir: tempfile::TempDir,
}

impl World {
    pub async fn start() -> Result<World> {
        World::with_config(local_config(|text| text)?).await
    }

    pub async fn with_config(config: IntegrationConfig) -> Result<World> {
        let config = Arc::new(config);
        let Serving { environment, served, server, store_dir } = Serving::start(&config, true).await?;
        let alice = SimUser::alice();
        let jira_alice = JiraConnector::new(
            JiraConfig {
                base_url: jira(&environment).base_url().to_string(),
                project_key: config.side(Side::One).project.clone(),
                issue_type: config.side(Side::One).item_type.clone(),
            }
            .validate()?,
            &Credentials::JiraApiToken { email: alice.email, api_token: SecretString::new(alice.api_token) },
            tandem_jira::RetryPolicy::fast(),
        )?;
        let ado = ado(&environment);
        let ado_alice_pat = ado.identity("alice@fabrikam.example").context("ADO simulator has Alice")?.pat;
        let ado_alice = AzureDevopsConnector::new(
            AzureDevopsConfig {
                organization_url: ado.organization_url().to_string(),
                project: config.side(Side::Two).project.clone(),
                work_item_type: config.side(Side::Two).item_type.clone(),
                identities_url: None,
            }
            .validate()?,
            &Credentials::AzureDevopsPat { pat: SecretString::new(ado_alice_pat) },
            tandem_azure_devops::RetryPolicy::fast(),
        )?;
        Ok(World { config, environment, served, server: Some(server), jira_alice, ado_alice, _store_dir: store_dir })
    }

    pub fn engine(&self) -> &Engine {
        &self.served.engine
    }

    /// Another worker on the same store, with its own connectors and in-process locks: a second
    /// process or Lambda container. Its webhooks are not routed anywhere; the scenario drives it.
    pub async fn another_worker(&self) -> Result<Engine> {
        let secrets = self.environment.secrets();
        let endpoints = self.environment.endpoints();
        let connectors = [
            wiring::connector(&self.config, Side::One, endpoints, secrets.as_ref()).await?,
            wiring::connector(&self.config, Side::Two, endpoints, secrets.as_ref()).await?,
        ];
        Ok(Engine::new(self.config.clone(), connectors, self.engine().stores().clone(), Arc::new(SystemClock)))
    }

    pub fn jira(&self) -> &RunningJira {
        jira(&self.environment)
    }

    pub fn ado(&self) -> &RunningAzureDevops {
        ado(&self.environment)
    }

    /// Alice edits Jira issue `id` (`edit` is an edit-issue body) right after the next read of it.
    pub fn jira_edit_after_next_read(&self, id: &ItemId, edit: Value) {
        let path = format!("/rest/api/3/issue/{id}");
        self.jira().change_after("GET", &path, PersonEdit::new(id.to_string(), edit, SimUser::alice().account_id));
    }

    pub fn webhook_url(&self, side: Side) -> String {
        self.server.as_ref().expect("server running").webhook_url(&self.config.name, side)
    }

    /// Writes each simulator has received (from anyone).
    pub fn writes(&self) -> (u64, u64) {
        (self.jira().stats().writes, self.ado().stats().recording.writes)
    }

    async fn webhooks_delivered(&self) {
        self.jira().webhooks().settled().await;
        self.ado().hooks_settled().await;
    }

    /// Lets webhooks land, then polls until a whole cycle writes nothing. Returns the poll cycles it took.
    pub async fn settle(&self) -> Result<usize> {
        for cycle in 1..=10 {
            self.webhooks_delivered().await;
            let before = self.writes();
            server::poll_once(self.engine()).await;
            self.webhooks_delivered().await;
            if self.writes() == before {
                return Ok(cycle);
            }
        }
        bail!("the integration did not settle within 10 poll cycles")
    }

    /// After settling, two more full poll cycles (and every webhook they cause) write nothing at all.
    pub async fn assert_quiet(&self) -> Result<()> {
        self.settle().await?;
        let before = self.writes();
        for _ in 0..2 {
            server::poll_once(self.engine()).await;
            self.webhooks_delivered().await;
        }
        let after = self.writes();
        if after != before {
            bail!("writes after quiescence: before {before:?}, after {after:?}");
        }
        Ok(())
    }

    /// Every request tandem sent and every response the simulators gave matched the official specs.
    pub fn assert_contracts_kept(&self) -> Result<()> {
        let mut problems: Vec<String> = Vec::new();
        problems.extend(self.jira().violations().iter().map(|violation| format!("Jira: {violation:?}")));
        problems.extend(self.ado().violations().iter().map(|violation| format!("Azure DevOps: {violation:?}")));
        if !problems.is_empty() {
            bail!("{} contract violation(s):\n{}", problems.len(), problems.join("\n"));
        }
        Ok(())
    }

    pub async fn link_of(&self, side: Side, item: &ItemId) -> Result<Option<Link>> {
        Ok(self.engine().stores().links.get_link(&self.config.name, side, item).await?)
    }

    pub async fn links(&self) -> Result<Vec<Link>> {
        Ok(self.engine().stores().links.list_links(&self.config.name).await?)
    }

    /// Alice edits a Jira issue.
    pub async fn edit_in_jira(&self, item: &ItemId, fields: &[(&str, FieldValue)]) -> Result<()> {
        self.jira_alice.update_item(item, &field_map(fields), &ItemVersion::UNCHECKED).await?;
        Ok(())
    }

    /// Alice edits an Azure DevOps work item.
    pub async fn edit_in_ado(&self, item: &ItemId, fields: &[(&str, FieldValue)]) -> Result<()> {
        self.ado_alice.update_item(item, &field_map(fields), &ItemVersion::UNCHECKED).await?;
        Ok(())
    }

    /// Alice calling Jira's REST API as Atlassian documents it (what tandem's connectors never send:
    /// restricted comments, other projects and types, security levels). Answers the JSON, if any.
    pub async fn jira_rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let alice = SimUser::alice();
        let request = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", self.jira().base_url()))
            .basic_auth(&alice.email, Some(&alice.api_token));
        answer(&format!("Jira {method} {path}"), with_json(request, body, "application/json").send().await?).await
    }

    /// Alice calling Azure DevOps' REST API: `path` follows the organization URL, `api-version` is added.
    pub async fn ado_rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let alice_pat = self.ado().identity("alice@fabrikam.example").context("ADO simulator has Alice")?.pat;
        let separator = if path.contains('?') { '&' } else { '?' };
        let version = if path.contains("/comments") { "7.1-preview.4" } else { "7.1" };
        let url = format!("{}/{path}{separator}api-version={version}", self.ado().organization_url());
        let content_type = if method == reqwest::Method::GET || path.contains("/comments") || path.ends_with("wiql") {
            "application/json"
        } else {
            "application/json-patch+json"
        };
        let request = reqwest::Client::new().request(method.clone(), url).basic_auth("", Some(alice_pat));
        answer(&format!("Azure DevOps {method} {path}"), with_json(request, body, content_type).send().await?).await
    }

    /// A bug Alice files in Jira.
    pub async fn create_jira_bug(&self, summary: &str, priority: &str) -> Result<Item> {
        let fields = field_map(&[("summary", text(summary)), ("priority", text(priority))]);
        Ok(self.jira_alice.create_item(&fields, None).await?)
    }

    /// The Azure DevOps copy of a linked Jira bug.
    pub async fn copy_in_ado(&self, jira_bug: &Item) -> Result<Item> {
        let link = self.link_of(Side::One, &jira_bug.item.id).await?.context("the Jira bug is linked")?;
        Ok(self.ado_alice.get_item(&link.side2.id).await?)
    }

    /// A Jira bug, settled, and its copy.
    pub async fn linked_bug(&self, summary: &str, priority: &str) -> Result<(Item, Item)> {
        let bug = self.create_jira_bug(summary, priority).await?;
        self.settle().await?;
        let copy = self.copy_in_ado(&bug).await?;
        Ok((bug, copy))
    }

    /// Alice attaches a file to a Jira issue as Atlassian documents it: a multipart part named `file`,
    /// with `X-Atlassian-Token: no-check`. Answers the attachments made.
    pub async fn jira_attach(&self, issue: &ItemId, name: &str, content_type: &str, bytes: &[u8]) -> Result<Value> {
        let alice = SimUser::alice();
        let part =
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()).mime_str(content_type)?;
        let path = format!("/rest/api/3/issue/{issue}/attachments");
        let request = reqwest::Client::new()
            .post(format!("{}{path}", self.jira().base_url()))
            .basic_auth(&alice.email, Some(&alice.api_token))
            .header("X-Atlassian-Token", "no-check")
            .multipart(reqwest::multipart::Form::new().part("file", part));
        answer(&format!("Jira POST {path}"), request.send().await?).await
    }

    pub async fn jira_field(&self, item: &ItemId, field: &str) -> Result<FieldValue> {
        Ok(self.jira_alice.get_item(item).await?.field(field).clone())
    }

    pub async fn ado_field(&self, item: &ItemId, field: &str) -> Result<FieldValue> {
        Ok(self.ado_alice.get_item(item).await?.field(field).clone())
    }

    /// The end of every scenario: both systems go quiet, every exchange kept to the official
    /// contracts, then everything stops.
    pub async fn finish(self) -> Result<()> {
        self.assert_quiet().await?;
        self.assert_contracts_kept()?;
        self.stop().await;
        Ok(())
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.environment.stop().await;
    }
}

fn jira(environment: &LocalEnvironment) -> &RunningJira {
    environment.running(Side::One).expect("side 1 of the local example is a simulated Jira")
}

fn ado(environment: &LocalEnvironment) -> &RunningAzureDevops {
    environment.running(Side::Two).expect("side 2 of the local example is a simulated Azure DevOps")
}

fn with_json(request: reqwest::RequestBuilder, body: Option<Value>, content_type: &str) -> reqwest::RequestBuilder {
    match body {
        Some(body) => request.header("content-type", content_type).body(body.to_string()),
        None => request,
    }
}

/// The answer's JSON (`null` when there is none); an error answer is an error naming the call.
async fn answer(call: &str, response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{call} answered {status}: {text}");
    }
    Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
}

/// A delivery (with the sender's id `id`) of Alice's update of `item`, as a webhook would bring it.
pub fn update_notice(id: &str, item: &ItemId) -> Delivery {
    let alice = SimUser::alice();
    let notice = ChangeNotice {
        item: item.clone(),
        kind: ChangeKind::ItemUpdated,
        actor: Some(UserRef { id: alice.account_id, email: Some(alice.email), display_name: None }),
        occurred_at: Some(chrono::Utc::now()),
    };
    Delivery { id: id.into(), notices: vec![notice] }
}

pub fn field_map(pairs: &[(&str, FieldValue)]) -> FieldMap {
    pairs.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
}

pub fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.to_string())
}
