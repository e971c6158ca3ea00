//! The bundled Salesforce simulator, as local runs start it for a side with `simulator: true`: an org
//! whose connected app trusts the simulator's certificate, so the integration user signs in with the
//! JWT bearer flow as in a real org.

use async_trait::async_trait;
use tandem_mapping::SideConfig;
use tandem_model::{Credentials, FieldMap, FieldValue, RichText, SecretString};
use tandem_simulators::salesforce::{
    key, OutboundTarget, RunningSalesforce, SalesforceSimConfig, SalesforceSimulator, SalesforceUser,
};
use tandem_system_api::{LocalSimulator, RunningSimulator, SimulatorError};

use crate::describe::COMMENT_OBJECT;
use crate::webhook::TOKEN_PARAMETER;

pub(crate) struct SalesforceLocalSimulator;

#[async_trait]
impl LocalSimulator for SalesforceLocalSimulator {
    async fn start(&self, _side: &SideConfig) -> Result<Box<dyn RunningSimulator>, SimulatorError> {
        let running = SalesforceSimulator::start(SalesforceSimConfig::default()).await?;
        Ok(Box::new(LocalSalesforce { running }))
    }

    fn sample_place(&self) -> (&'static str, &'static str) {
        ("acme", "Case")
    }
}

struct LocalSalesforce {
    running: RunningSalesforce,
}

impl LocalSalesforce {
    /// The JWT bearer credentials of one of the org's users.
    fn signed_in_as(&self, user: &SalesforceUser) -> Credentials {
        Credentials::SalesforceJwtBearer {
            consumer_key: self.running.app().consumer_key.clone(),
            username: user.username.clone(),
            private_key: SecretString::new(key::PRIVATE_KEY_PEM),
            audience: None,
        }
    }
}

#[async_trait]
impl RunningSimulator for LocalSalesforce {
    fn base_url(&self) -> String {
        self.running.base_url().to_string()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        &self.running
    }

    fn service_credentials(&self) -> Credentials {
        self.signed_in_as(&SalesforceUser::integration())
    }

    fn person_credentials(&self) -> Credentials {
        self.signed_in_as(&SalesforceUser::alice())
    }

    fn person_settings(&self) -> Vec<(&'static str, &'static str)> {
        vec![(crate::system::PUBLISH_COMMENTS, "true")]
    }

    fn webhook_credentials(&self, secret: &str) -> Credentials {
        Credentials::WebhookUrlToken { token: SecretString::new(secret), previous: None }
    }

    fn subscribe_webhooks(&self, url: &str, secret: &str) {
        let mut url = match url::Url::parse(url) {
            Ok(url) => url,
            Err(error) => {
                tracing::warn!(%url, %error, "not a URL; no Outbound Message subscribed");
                return;
            }
        };
        url.query_pairs_mut().append_pair(TOKEN_PARAMETER, secret);
        // One message on Case, one on CaseComment (whose ParentId names the Case), as an admin sets up.
        for object in ["Case", COMMENT_OBJECT] {
            self.running.subscribe_outbound(OutboundTarget {
                url: url.to_string(),
                object: object.into(),
                fields: Vec::new(),
            });
        }
    }

    fn sample_item(&self) -> FieldMap {
        let mut fields = FieldMap::new();
        fields.insert("Subject".into(), FieldValue::Text("Checkout fails when the cart is empty".into()));
        fields.insert("Priority".into(), FieldValue::Text("High".into()));
        fields.insert("Origin".into(), FieldValue::Text("Web".into()));
        let description = "Steps to reproduce (always):\n1. Empty the cart\n2. Press Checkout";
        fields.insert("Description".into(), FieldValue::RichText(RichText::Plain(description.into())));
        fields
    }

    fn contract_violations(&self) -> Vec<String> {
        self.running.violations().iter().map(ToString::to_string).collect()
    }

    async fn stop(self: Box<Self>) {
        self.running.stop().await;
    }
}
