//! Salesforce as tandem runs it: the side's rules checked at `tandem validate` (its own keys), its
//! connector and Outbound Message receiver built from the side's settings and secrets, and (in builds
//! with simulators) the bundled simulator local runs start.

use crate::config::{SalesforceConfig, SalesforceConfigError, ValidSalesforceConfig};
use crate::{OutboundMessageReceiver, SalesforceConnector, SALESFORCE};
use std::sync::Arc;
use tandem_engine::ports::{Connector, WebhookReceiver};
use tandem_mapping::{SettingKey, SideConfig, SideProblem, SystemRules};
use tandem_model::{Credentials, SystemKind};
use tandem_system_api::{wrong_credentials, BuildError, RetryPolicy, System};

/// Salesforce, REST API 46.0 and later.
#[derive(Debug, Clone, Copy, Default)]
pub struct SalesforceSystem;

const API_VERSION: &str = "api_version";
const EXTERNAL_ID_FIELD: &str = "external_id_field";
const ORGANIZATION_ID: &str = "organization_id";
pub(crate) const PUBLISH_COMMENTS: &str = "publish_comments";
const RELATED_FIELDS: &str = "related_fields";
const LINK_FIELD: &str = "link_field";
const API_SHARE: &str = "api_share";

const SETTING_KEYS: [SettingKey; 7] = [
    SettingKey { key: API_VERSION, description: "the REST API version called, like `64.0` (the default)" },
    SettingKey {
        key: EXTERNAL_ID_FIELD,
        description: "the object's External ID text field that holds a copy's origin (default `Tandem_Sync_Id__c`)",
    },
    SettingKey {
        key: ORGANIZATION_ID,
        description: "the org id (`00D…`) Outbound Messages must come from; by default any org that knows the \
                      endpoint's token",
    },
    SettingKey {
        key: PUBLISH_COMMENTS,
        description: "`true` to publish the comments tandem copies (visible to customers in portals); \
                      `false` (the default) keeps them internal",
    },
    SettingKey {
        key: RELATED_FIELDS,
        description: "fields of related records read with each record, comma-separated (`Account.Name, \
                      Owner.Email`); mappable one way, from Salesforce. By default the account's, contact's and \
                      owner's names and e-mails",
    },
    SettingKey {
        key: LINK_FIELD,
        description: "a URL field of the object that tandem fills with the linked item's address \
                      (`Engineering_Issue__c`), so agents open the issue from the record",
    },
    SettingKey {
        key: API_SHARE,
        description: "the share of the org's daily API allowance, in percent, past which polls hold back until \
                      it frees up (default 80)",
    },
];

/// What a side run on the simulator is checked with: its address is known only once it runs.
const SIMULATED_ORG: &str = "http://localhost";

impl SalesforceSystem {
    fn config(side: &SideConfig, base_url: &str) -> Result<ValidSalesforceConfig, SideProblem> {
        let publish_comments = match side.setting(PUBLISH_COMMENTS) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(SideProblem::new(PUBLISH_COMMENTS, format!("`{other}` is neither `true` nor `false`")))
            }
        };
        let api_share = match side.setting(API_SHARE).map(|share| share.trim_end_matches('%').trim().parse::<u8>()) {
            None => None,
            Some(Ok(share)) => Some(share),
            Some(Err(_)) => return Err(SideProblem::new(API_SHARE, "not a percentage from 1 to 100")),
        };
        SalesforceConfig {
            api_share,
            base_url: base_url.to_string(),
            org: side.project.clone(),
            object: side.item_type.clone(),
            api_version: side.setting(API_VERSION).map(str::to_string),
            external_id_field: side.setting(EXTERNAL_ID_FIELD).map(str::to_string),
            publish_comments,
            link_field: side.setting(LINK_FIELD).map(str::to_string),
            related_fields: side.setting(RELATED_FIELDS).map(|paths| {
                paths.split(',').map(str::trim).filter(|path| !path.is_empty()).map(str::to_string).collect()
            }),
        }
        .validate()
        .map_err(|error: SalesforceConfigError| SideProblem::new(error.side_key(), error.to_string()))
    }
}

impl SystemRules for SalesforceSystem {
    fn kind(&self) -> SystemKind {
        SALESFORCE
    }

    fn setting_keys(&self) -> &'static [SettingKey] {
        &SETTING_KEYS
    }

    fn check_side(&self, side: &SideConfig) -> Vec<SideProblem> {
        let base_url = side.base_url.as_ref().map_or(SIMULATED_ORG, |url| url.as_str());
        SalesforceSystem::config(side, base_url).err().into_iter().collect()
    }
}

impl System for SalesforceSystem {
    fn connector(
        &self,
        side: &SideConfig,
        base_url: &str,
        credentials: &Credentials,
        retry: RetryPolicy,
    ) -> Result<Arc<dyn Connector>, BuildError> {
        let config =
            SalesforceSystem::config(side, base_url).map_err(|problem| BuildError::Settings(problem.message))?;
        match credentials {
            Credentials::SalesforceJwtBearer { .. } | Credentials::SalesforceClientCredentials { .. } => {
                Ok(Arc::new(SalesforceConnector::new(config, credentials, retry)?))
            }
            other => Err(wrong_credentials(self.kind(), "salesforce-jwt-bearer", other)),
        }
    }

    fn receiver(&self, side: &SideConfig, secret: Credentials) -> Result<Arc<dyn WebhookReceiver>, BuildError> {
        match secret {
            Credentials::WebhookUrlToken { token, previous } => Ok(Arc::new(
                OutboundMessageReceiver::new(
                    token,
                    side.item_type.clone(),
                    side.setting(ORGANIZATION_ID).map(str::to_string),
                )
                .also_accepting(previous),
            )),
            other => Err(wrong_credentials(self.kind(), "webhook-url-token", &other)),
        }
    }

    /// An Outbound Message is sent again, for up to 24 hours, until it is acknowledged (`<Ack>true</Ack>`,
    /// which tandem answers only with a 2xx).
    fn sender_retries(&self, status: u16) -> bool {
        !(200..300).contains(&status)
    }

    #[cfg(feature = "simulator")]
    fn local_simulator(&self) -> Option<&dyn tandem_system_api::LocalSimulator> {
        Some(&crate::local::SalesforceLocalSimulator)
    }
}
