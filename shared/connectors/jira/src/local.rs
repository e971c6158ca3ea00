//! The bundled Jira simulator, as local runs start it for a side with `simulator: true`.

use async_trait::async_trait;
use serde_json::json;
use tandem_mapping::SideConfig;
use tandem_model::{Credentials, FieldMap, FieldValue, RichText, SecretString, UserRef};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimProject, SimUser};
use tandem_system_api::{LocalSimulator, RunningSimulator, SimulatorError};

pub(crate) struct JiraLocalSimulator;

#[async_trait]
impl LocalSimulator for JiraLocalSimulator {
    async fn start(&self, side: &SideConfig) -> Result<Box<dyn RunningSimulator>, SimulatorError> {
        let config = JiraSimConfig { projects: projects(&side.project), ..JiraSimConfig::default() };
        let service = config.users[0].clone();
        let running = JiraSimulator::start(config).await?;
        Ok(Box::new(LocalJira { running, service }))
    }

    fn sample_place(&self) -> (&'static str, &'static str) {
        ("OPS", "Bug")
    }
}

/// The simulated site's projects: the configured one, and another whose issues the integration must
/// leave alone (people try exactly that).
fn projects(configured: &str) -> Vec<SimProject> {
    let other = if configured.eq_ignore_ascii_case("WEB") { "OPS" } else { "WEB" };
    vec![SimProject::new("10000", configured, "Simulated project"), SimProject::new("10001", other, "Another project")]
}

struct LocalJira {
    running: RunningJira,
    service: SimUser,
}

fn api_token(user: &SimUser) -> Credentials {
    Credentials::JiraApiToken { email: user.email.clone(), api_token: SecretString::new(user.api_token.clone()) }
}

#[async_trait]
impl RunningSimulator for LocalJira {
    fn base_url(&self) -> String {
        self.running.base_url().to_string()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        &self.running
    }

    fn service_credentials(&self) -> Credentials {
        api_token(&self.service)
    }

    fn person_credentials(&self) -> Credentials {
        api_token(&SimUser::alice())
    }

    fn webhook_credentials(&self, secret: &str) -> Credentials {
        Credentials::WebhookHmac { secret: SecretString::new(secret), previous: None }
    }

    fn subscribe_webhooks(&self, url: &str, secret: &str) {
        self.running.subscribe_webhook(url, Some(secret));
    }

    fn sample_item(&self) -> FieldMap {
        let alice = SimUser::alice();
        let mut fields = FieldMap::new();
        fields.insert("summary".into(), FieldValue::Text("Checkout fails when the cart is empty".into()));
        fields.insert("priority".into(), FieldValue::Text("High".into()));
        let assignee = UserRef { id: alice.account_id, email: Some(alice.email), display_name: None };
        fields.insert("assignee".into(), FieldValue::User(assignee));
        fields.insert("description".into(), FieldValue::RichText(RichText::Adf(sample_description())));
        fields
    }

    fn contract_violations(&self) -> Vec<String> {
        self.running.violations().iter().map(ToString::to_string).collect()
    }

    async fn stop(self: Box<Self>) {
        self.running.stop().await;
    }
}

fn sample_description() -> serde_json::Value {
    json!({
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
