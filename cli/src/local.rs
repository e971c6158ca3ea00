//! The local run: starts a bundled simulator for every side configured with `simulator: true`, gives
//! the engine their service accounts' credentials, and points their webhooks at `tandem serve`.

use crate::wiring::Endpoints;
use anyhow::{anyhow, Context, Result};
use layered::LayeredSecrets;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tandem_engine::ports::{Connector, SecretSource};
use tandem_mapping::{IntegrationConfig, SideConfig};
use tandem_model::Side;
use tandem_secrets::LocalSecrets;
use tandem_system_api::RunningSimulator;

/// A simulator started for one side, with the webhook secret generated for it.
struct Simulated {
    simulator: Box<dyn RunningSimulator>,
    webhook_secret: String,
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
    simulated: [Option<Simulated>; 2],
}

impl LocalEnvironment {
    /// Starts the simulators the configuration asks for; reads the secrets file for the other sides.
    pub async fn prepare(config: &IntegrationConfig, secrets_file: Option<&Path>) -> Result<LocalEnvironment> {
        let mut secrets_of_simulators = Vec::new();
        let mut simulated: [Option<Simulated>; 2] = [None, None];
        let mut base_urls = [String::new(), String::new()];
        for side in Side::BOTH {
            let settings = config.side(side);
            let slot = slot(side);
            if !settings.simulator {
                base_urls[slot] = settings
                    .base_url
                    .as_ref()
                    .map(|url| url.as_str().trim_end_matches('/').to_string())
                    .with_context(|| format!("side {side} has neither base_url nor simulator: true"))?;
                continue;
            }
            let system = settings.system;
            let simulator = tandem_systems::of(system)
                .and_then(|system| system.local_simulator())
                .with_context(|| format!("side {side}: this build of tandem has no {system} simulator"))?
                .start(settings)
                .await
                .map_err(|error| anyhow!("starting the {system} simulator for side {side}: {error}"))?;
            base_urls[slot] = simulator.base_url();
            println!("started the {system} simulator for side {side} at {}", base_urls[slot]);
            // A fresh random webhook secret per run: the simulator signs with it, serve verifies it.
            let webhook_secret = uuid::Uuid::new_v4().simple().to_string();
            secrets_of_simulators.push((settings.secret.clone(), simulator.service_credentials()));
            secrets_of_simulators
                .push((settings.webhook_secret.clone(), simulator.webhook_credentials(&webhook_secret)));
            simulated[slot] = Some(Simulated { simulator, webhook_secret });
        }
        let file = match secrets_file {
            Some(path) => Some(
                LocalSecrets::from_file(path).with_context(|| format!("reading secrets file {}", path.display()))?,
            ),
            None => None,
        };
        let secrets: Arc<dyn SecretSource> =
            Arc::new(LayeredSecrets { first: LocalSecrets::from_map(secrets_of_simulators), then: file });
        Ok(LocalEnvironment { endpoints: Endpoints { base_urls }, secrets, simulated })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn secrets(&self) -> Arc<dyn SecretSource> {
        self.secrets.clone()
    }

    /// The simulator started for `side`, if the side is simulated.
    pub fn simulator(&self, side: Side) -> Option<&dyn RunningSimulator> {
        self.simulated[slot(side)].as_ref().map(|simulated| simulated.simulator.as_ref())
    }

    /// The simulator started for `side` as its own type (`tandem_simulators::jira::RunningJira`, …),
    /// for tests and benchmarks that drive it directly; `None` when the side runs another.
    pub fn running<T: 'static>(&self, side: Side) -> Option<&T> {
        self.simulator(side)?.as_any().downcast_ref()
    }

    /// A connector acting as the person working in `side`'s simulator (the demo and tests act as them),
    /// on `settings`: the side's, or another project or item type of the same system. Their own client
    /// settings (how they comment) replace the integration's.
    pub fn person_connector(
        &self,
        side: Side,
        settings: &SideConfig,
        retry: tandem_system_api::RetryPolicy,
    ) -> Result<Arc<dyn Connector>> {
        let simulator = self.simulator(side).with_context(|| format!("side {side} runs no simulator"))?;
        let mut settings = settings.clone();
        for (key, value) in simulator.person_settings() {
            settings.settings.insert(key.to_string(), value.to_string());
        }
        let system = tandem_systems::of(settings.system).context("the side's system is built in")?;
        let credentials = simulator.person_credentials();
        Ok(system.connector(&settings, self.endpoints.base_url(side), &credentials, retry)?)
    }

    /// The webhook secret generated for a simulated side (tests sign their own deliveries with it).
    pub fn webhook_secret(&self, side: Side) -> Option<&str> {
        self.simulated[slot(side)].as_ref().map(|simulated| simulated.webhook_secret.as_str())
    }

    /// Points each simulator's webhooks at the server's endpoint for its side.
    pub fn register_webhooks(&self, config: &IntegrationConfig, address: SocketAddr) {
        for side in Side::BOTH {
            if let Some(simulated) = &self.simulated[slot(side)] {
                let url = format!("http://{address}/hooks/{}/{side}", config.name);
                simulated.simulator.subscribe_webhooks(&url, &simulated.webhook_secret);
            }
        }
    }

    pub async fn stop(self) {
        for simulated in self.simulated.into_iter().flatten() {
            simulated.simulator.stop().await;
        }
    }
}

fn slot(side: Side) -> usize {
    usize::from(side.number() - 1)
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
        /// Asks the layer that holds the secret, so that a secret the file holds is not first reported
        /// missing from the simulators' (a warning for every real side's secret).
        async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
            match &self.then {
                Some(file) if !self.first.holds(name) => file.credentials(name).await,
                _ => self.first.credentials(name).await,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::io::Write;
        use std::sync::{Arc, Mutex};
        use tandem_model::SecretString;

        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);

        impl Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        #[tokio::test(flavor = "current_thread")]
        async fn a_secret_the_file_holds_is_read_from_it_without_a_warning() {
            let pat = |value: &str| Credentials::AzureDevopsPat { pat: SecretString::new(value) };
            let layered = LayeredSecrets {
                first: LocalSecrets::from_map([("local/jira".to_string(), pat("simulated"))]),
                then: Some(LocalSecrets::from_map([("real/ado".to_string(), pat("from the file"))])),
            };
            let lines = Lines::default();
            let writer = lines.clone();
            let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).finish();
            let _default = tracing::subscriber::set_default(subscriber);
            assert!(layered.credentials("real/ado").await.is_ok());
            assert!(layered.credentials("local/jira").await.is_ok());
            assert!(lines.0.lock().unwrap().is_empty(), "{}", String::from_utf8_lossy(&lines.0.lock().unwrap()));
            assert!(matches!(layered.credentials("nowhere").await, Err(SecretError::NotFound { .. })));
            assert!(
                String::from_utf8_lossy(&lines.0.lock().unwrap()).contains("secret not found"),
                "a real miss is said"
            );
        }
    }
}

/// `serve --demo`: a person creates an item in side 1's simulator and, once its copy exists, comments on
/// the copy in side 2's; the log shows each step arriving on the other side.
pub mod demo {
    use super::LocalEnvironment;
    use anyhow::{bail, Context, Result};
    use std::time::Duration;
    use tandem_engine::Engine;
    use tandem_model::Side;
    use tandem_system_api::RetryPolicy;

    impl LocalEnvironment {
        pub async fn run_demo(&self, engine: &Engine) -> Result<()> {
            let (Some(first), Some(_)) = (self.simulator(Side::One), self.simulator(Side::Two)) else {
                bail!("--demo needs both sides on the bundled simulators (`simulator: true`)");
            };
            let config = engine.config();
            let person = |side: Side| self.person_connector(side, config.side(side), RetryPolicy::default());
            let (first_person, second_person) = (person(Side::One)?, person(Side::Two)?);
            let (first_system, second_system) = (config.side(Side::One).system, config.side(Side::Two).system);

            let item = first_person
                .create_item(&first.sample_item(), None)
                .await
                .with_context(|| format!("creating the demo item in {first_system}"))?;
            let label = item.item.label();
            println!("demo: a person created {label} in {first_system}");

            let link = wait_for(|| async {
                Ok(engine.stores().links.get_link(engine.integration(), Side::One, &item.item.id).await?)
            })
            .await
            .with_context(|| format!("the demo item did not reach {second_system}"))?;
            let copy = &link.side2.id;
            println!("demo: {label} now has its copy in {second_system}, {copy}");

            let words = "Reproduced on staging; looking into it.";
            let body = tandem_rich_text::from_plain_text(second_system.comment_format(), words);
            second_person.add_comment(copy, &body).await.with_context(|| format!("commenting in {second_system}"))?;
            println!("demo: the person commented on {copy} in {second_system}");
            let comments = wait_for(|| async {
                let comments = first_person.list_comments(&item.item.id).await?;
                Ok((!comments.is_empty()).then_some(comments))
            })
            .await
            .with_context(|| format!("the demo comment did not reach {first_system}"))?;
            println!(
                "demo: the comment is on {label} in {first_system}: {}",
                tandem_rich_text::plain_text(&comments[0].body).trim()
            );
            println!("demo: done — keep editing through the simulators' REST APIs, or press Ctrl-C to stop");
            Ok(())
        }
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
