//! The local run: starts a bundled simulator for every side configured with `simulator: true`, gives
//! the engine their service accounts' credentials, and points their webhooks at `tandem serve`.

use crate::wiring::Endpoints;
use anyhow::{Context, Result};
use layered::LayeredSecrets;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tandem_engine::ports::SecretSource;
use tandem_mapping::IntegrationConfig;
use tandem_model::{Credentials, SecretString, Side, SystemKind};
use tandem_secrets::LocalSecrets;
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, HookTarget, RunningAzureDevops};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimProject};

/// A simulator started for one side.
pub enum Simulator {
    Jira(RunningJira),
    AzureDevops(RunningAzureDevops),
}

/// Starts `serve`'s store afresh when a side is a bundled simulator. The simulators start empty every
/// run, so links, watermarks and records kept from an earlier run name items that no longer exist (and
/// whose ids the new run hands out again): kept, they would make the new run's first bug look linked
/// to a copy that is not there.
pub fn reset_store_for_simulators(config: &IntegrationConfig, store: &Path) -> Result<()> {
    let simulated = Side::BOTH.into_iter().any(|side| config.side(side).simulator);
    if !simulated || !store.exists() {
        return Ok(());
    }
    std::fs::remove_file(store).with_context(|| format!("cannot start the store {} afresh", store.display()))?;
    println!("the bundled simulators start empty, so the store {} starts empty too", store.display());
    Ok(())
}

/// What the local run needs besides the configuration: endpoints, secrets, and the simulators it started.
pub struct LocalEnvironment {
    endpoints: Endpoints,
    secrets: Arc<dyn SecretSource>,
    simulators: [Option<Simulator>; 2],
    webhook_secrets: [Option<String>; 2],
}

impl LocalEnvironment {
    /// Starts the simulators the configuration asks for; reads the secrets file for the other sides.
    pub async fn prepare(config: &IntegrationConfig, secrets_file: Option<&Path>) -> Result<LocalEnvironment> {
        let mut simulated = Vec::new();
        let mut simulators: [Option<Simulator>; 2] = [None, None];
        let mut webhook_secrets: [Option<String>; 2] = [None, None];
        let mut base_urls = [String::new(), String::new()];
        for side in Side::BOTH {
            let settings = config.side(side);
            let slot = usize::from(side.number() - 1);
            if !settings.simulator {
                base_urls[slot] = settings
                    .base_url
                    .as_ref()
                    .map(|url| url.as_str().trim_end_matches('/').to_string())
                    .with_context(|| format!("side {side} has neither base_url nor simulator: true"))?;
                continue;
            }
            // A fresh random webhook secret per run: the simulator signs with it, serve verifies it.
            let webhook_secret = uuid::Uuid::new_v4().simple().to_string();
            let (simulator, credentials, webhook) = match settings.system {
                SystemKind::Jira => {
                    let sim_config =
                        JiraSimConfig { projects: jira_projects(&settings.project), ..JiraSimConfig::default() };
                    let service = sim_config.users[0].clone();
                    let running = JiraSimulator::start(sim_config).await.context("starting the Jira simulator")?;
                    base_urls[slot] = running.base_url().to_string();
                    (
                        Simulator::Jira(running),
                        Credentials::JiraApiToken {
                            email: service.email,
                            api_token: SecretString::new(service.api_token),
                        },
                        Credentials::WebhookHmac { secret: SecretString::new(webhook_secret.clone()) },
                    )
                }
                SystemKind::AzureDevops => {
                    let sim_config = AzureDevopsSimConfig {
                        projects: ado_projects(&settings.project),
                        ..AzureDevopsSimConfig::default()
                    };
                    let running =
                        AzureDevopsSimulator::start(sim_config).await.context("starting the Azure DevOps simulator")?;
                    base_urls[slot] = running.organization_url().to_string();
                    let pat = running.service_account().pat.clone();
                    (
                        Simulator::AzureDevops(running),
                        Credentials::AzureDevopsPat { pat: SecretString::new(pat) },
                        Credentials::WebhookBasic {
                            username: "tandem".into(),
                            password: SecretString::new(webhook_secret.clone()),
                        },
                    )
                }
            };
            println!("started the {} simulator for side {side} at {}", settings.system, base_urls[slot]);
            simulated.push((settings.secret.clone(), credentials));
            simulated.push((settings.webhook_secret.clone(), webhook));
            simulators[slot] = Some(simulator);
            webhook_secrets[slot] = Some(webhook_secret);
        }
        let file = match secrets_file {
            Some(path) => Some(
                LocalSecrets::from_file(path).with_context(|| format!("reading secrets file {}", path.display()))?,
            ),
            None => None,
        };
        let secrets: Arc<dyn SecretSource> =
            Arc::new(LayeredSecrets { first: LocalSecrets::from_map(simulated), then: file });
        Ok(LocalEnvironment { endpoints: Endpoints { base_urls }, secrets, simulators, webhook_secrets })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn secrets(&self) -> Arc<dyn SecretSource> {
        self.secrets.clone()
    }

    pub fn simulator(&self, side: Side) -> Option<&Simulator> {
        self.simulators[usize::from(side.number() - 1)].as_ref()
    }

    /// The webhook secret generated for a simulated side (tests sign their own deliveries with it).
    pub fn webhook_secret(&self, side: Side) -> Option<&str> {
        self.webhook_secrets[usize::from(side.number() - 1)].as_deref()
    }

    /// Points each simulator's webhooks at the server's endpoint for its side.
    pub fn register_webhooks(&self, config: &IntegrationConfig, address: SocketAddr) {
        for side in Side::BOTH {
            let slot = usize::from(side.number() - 1);
            let (Some(simulator), Some(secret)) = (&self.simulators[slot], &self.webhook_secrets[slot]) else {
                continue;
            };
            let url = format!("http://{address}/hooks/{}/{side}", config.name);
            match simulator {
                Simulator::Jira(jira) => jira.subscribe_webhook(&url, Some(secret)),
                Simulator::AzureDevops(ado) => {
                    ado.subscribe_hook(HookTarget {
                        url,
                        username: Some("tandem".into()),
                        password: Some(secret.clone()),
                        headers: Default::default(),
                    });
                }
            }
        }
    }

    pub async fn stop(self) {
        for simulator in self.simulators.into_iter().flatten() {
            match simulator {
                Simulator::Jira(jira) => jira.stop().await,
                Simulator::AzureDevops(ado) => ado.stop().await,
            }
        }
    }
}

/// The simulated Jira site's projects: the configured one, and another whose issues the integration
/// must leave alone (people try exactly that).
fn jira_projects(configured: &str) -> Vec<SimProject> {
    let other = if configured.eq_ignore_ascii_case("WEB") { "OPS" } else { "WEB" };
    vec![SimProject::new("10000", configured, "Simulated project"), SimProject::new("10001", other, "Another project")]
}

/// The simulated organization's projects: the configured one, and another one.
fn ado_projects(configured: &str) -> Vec<String> {
    let other = if configured.eq_ignore_ascii_case("Contoso") { "Fabrikam" } else { "Contoso" };
    vec![configured.to_string(), other.to_string()]
}

mod layered {
    //! Secrets for simulated sides first, then the secrets file.
    use tandem_engine::ports::{SecretError, SecretSource};
    use tandem_model::Credentials;
    use tandem_secrets::LocalSecrets;

    pub struct LayeredSecrets {
        pub first: LocalSecrets,
        pub then: Option<LocalSecrets>,
    }

    #[async_trait::async_trait]
    impl SecretSource for LayeredSecrets {
        async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
            let found = self.first.credentials(name).await;
            match (&found, &self.then) {
                (Err(SecretError::NotFound { .. }), Some(file)) => file.credentials(name).await,
                _ => found,
            }
        }
    }
}

/// `serve --demo`: a person creates a bug in the Jira simulator and, once its copy exists, comments on
/// the copy in the Azure DevOps simulator; the log shows each step arriving on the other side.
pub mod demo {
    use super::{LocalEnvironment, Simulator};
    use anyhow::{bail, Context, Result};
    use std::time::Duration;
    use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector};
    use tandem_engine::ports::Connector;
    use tandem_engine::Engine;
    use tandem_jira::{JiraConfig, JiraConnector};
    use tandem_model::{Credentials, FieldMap, FieldValue, RichText, SecretString, Side, UserRef};

    impl LocalEnvironment {
        pub async fn run_demo(&self, engine: &Engine) -> Result<()> {
            let (Some(Simulator::Jira(jira)), Some(Simulator::AzureDevops(ado))) =
                (self.simulator(Side::One), self.simulator(Side::Two))
            else {
                bail!("--demo needs a simulated Jira as side 1 and a simulated Azure DevOps as side 2");
            };
            let config = engine.config();
            let alice = tandem_simulators::jira::SimUser::alice();
            let jira_alice = JiraConnector::new(
                JiraConfig {
                    base_url: jira.base_url().to_string(),
                    project_key: config.side(Side::One).project.clone(),
                    issue_type: config.side(Side::One).item_type.clone(),
                }
                .validate()?,
                &Credentials::JiraApiToken {
                    email: alice.email.clone(),
                    api_token: SecretString::new(alice.api_token.clone()),
                },
                tandem_jira::RetryPolicy::default(),
            )?;
            let ado_alice_identity = ado
                .identities()
                .into_iter()
                .find(|identity| identity.email.starts_with("alice@"))
                .context("the Azure DevOps simulator has no Alice")?;
            let ado_alice = AzureDevopsConnector::new(
                AzureDevopsConfig {
                    organization_url: ado.organization_url().to_string(),
                    project: config.side(Side::Two).project.clone(),
                    work_item_type: config.side(Side::Two).item_type.clone(),
                    identities_url: None,
                }
                .validate()?,
                &Credentials::AzureDevopsPat { pat: SecretString::new(ado_alice_identity.pat.clone()) },
                tandem_azure_devops::RetryPolicy::default(),
            )?;

            let mut fields = FieldMap::new();
            fields.insert("summary".into(), FieldValue::Text("Checkout fails when the cart is empty".into()));
            fields.insert("priority".into(), FieldValue::Text("High".into()));
            fields.insert(
                "assignee".into(),
                FieldValue::User(UserRef {
                    id: alice.account_id.clone(),
                    email: Some(alice.email.clone()),
                    display_name: None,
                }),
            );
            fields.insert("description".into(), FieldValue::RichText(RichText::Adf(demo_description())));
            let bug = jira_alice.create_item(&fields, None).await.context("creating the demo bug in Jira")?;
            println!("demo: Alice created {} in Jira", bug.item.label());

            let link = wait_for(|| async {
                Ok(engine.stores().links.get_link(engine.integration(), Side::One, &bug.item.id).await?)
            })
            .await
            .context("the demo bug did not reach Azure DevOps")?;
            println!("demo: {} now has its copy, Azure DevOps work item #{}", bug.item.label(), link.side2.id);

            ado_alice
                .add_comment(
                    &link.side2.id,
                    &RichText::Html("<p>Reproduced on <b>staging</b>; looking into it.</p>".into()),
                )
                .await
                .context("commenting in Azure DevOps")?;
            println!("demo: Alice commented on work item #{} in Azure DevOps", link.side2.id);
            let comments = wait_for(|| async {
                let comments = jira_alice.list_comments(&bug.item.id).await?;
                Ok((!comments.is_empty()).then_some(comments))
            })
            .await
            .context("the demo comment did not reach Jira")?;
            println!(
                "demo: the comment is on {} in Jira: {}",
                bug.item.label(),
                tandem_rich_text::plain_text(&comments[0].body).trim()
            );
            println!("demo: done — keep editing through the simulators' REST APIs, or press Ctrl-C to stop");
            Ok(())
        }
    }

    fn demo_description() -> serde_json::Value {
        serde_json::json!({
            "version": 1, "type": "doc",
            "content": [
                { "type": "paragraph", "content": [
                    { "type": "text", "text": "Steps to reproduce " },
                    { "type": "text", "text": "(always)", "marks": [{ "type": "strong" }] }
                ]},
                { "type": "orderedList", "content": [
                    { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "Empty the cart" }] }] },
                    { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "Press Checkout" }] }] }
                ]},
                { "type": "paragraph", "content": [
                    { "type": "text", "text": "See the runbook", "marks": [{ "type": "link", "attrs": { "href": "https://example.com/runbook" } }] }
                ]}
            ]
        })
    }

    /// Polls `probe` for up to 30 s (webhooks normally make it a fraction of a second).
    async fn wait_for<T, F, Fut>(probe: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        for _ in 0..150 {
            if let Some(found) = probe().await? {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("gave up after 30 s")
    }
}
