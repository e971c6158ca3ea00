//! The bundled Azure DevOps simulator, as local runs start it for a side with `simulator: true`.

use async_trait::async_trait;
use tandem_mapping::SideConfig;
use tandem_model::{Credentials, FieldMap, FieldValue, RichText, SecretString};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, HookTarget, RunningAzureDevops};
use tandem_system_api::{LocalSimulator, RunningSimulator, SimulatorError};

/// The user name the simulator's service hooks send with the local run's shared secret.
const HOOK_USER: &str = "tandem";

pub(crate) struct AzureDevopsLocalSimulator;

#[async_trait]
impl LocalSimulator for AzureDevopsLocalSimulator {
    async fn start(&self, side: &SideConfig) -> Result<Box<dyn RunningSimulator>, SimulatorError> {
        let config = AzureDevopsSimConfig { projects: projects(&side.project), ..AzureDevopsSimConfig::default() };
        Ok(Box::new(LocalAzureDevops { running: AzureDevopsSimulator::start(config).await? }))
    }

    fn sample_place(&self) -> (&'static str, &'static str) {
        ("Fabrikam", "Bug")
    }
}

/// The simulated organization's projects: the configured one, and another one.
fn projects(configured: &str) -> Vec<String> {
    let other = if configured.eq_ignore_ascii_case("Contoso") { "Fabrikam" } else { "Contoso" };
    vec![configured.to_string(), other.to_string()]
}

struct LocalAzureDevops {
    running: RunningAzureDevops,
}

#[async_trait]
impl RunningSimulator for LocalAzureDevops {
    fn base_url(&self) -> String {
        self.running.organization_url().to_string()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        &self.running
    }

    fn service_credentials(&self) -> Credentials {
        Credentials::AzureDevopsPat { pat: SecretString::new(self.running.service_account().pat.clone()) }
    }

    fn person_credentials(&self) -> Credentials {
        // The first person of the simulated organization (Alice).
        let person = self.running.identities().into_iter().find(|identity| identity.email.starts_with("alice@"));
        let pat = person.map_or_else(|| self.running.service_account().pat.clone(), |person| person.pat);
        Credentials::AzureDevopsPat { pat: SecretString::new(pat) }
    }

    fn webhook_credentials(&self, secret: &str) -> Credentials {
        Credentials::WebhookBasic { username: HOOK_USER.into(), password: SecretString::new(secret), previous: None }
    }

    fn subscribe_webhooks(&self, url: &str, secret: &str) {
        self.running.subscribe_hook(HookTarget {
            url: url.to_string(),
            username: Some(HOOK_USER.into()),
            password: Some(secret.to_string()),
            headers: Default::default(),
        });
    }

    fn sample_item(&self) -> FieldMap {
        let mut fields = FieldMap::new();
        fields.insert("System.Title".into(), FieldValue::Text("Checkout fails when the cart is empty".into()));
        fields.insert("Microsoft.VSTS.Common.Priority".into(), FieldValue::Number(1.0));
        let description =
            "<p>Steps to reproduce <b>(always)</b></p><ol><li>Empty the cart</li><li>Press Checkout</li></ol>";
        fields.insert("System.Description".into(), FieldValue::RichText(RichText::Html(description.into())));
        fields
    }

    fn contract_violations(&self) -> Vec<String> {
        self.running.violations().iter().map(ToString::to_string).collect()
    }

    async fn stop(self: Box<Self>) {
        self.running.stop().await;
    }
}
