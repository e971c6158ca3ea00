//! Azure DevOps as tandem runs it: the side's rules checked at `tandem validate` (its own key,
//! `identities_url`), its connector and service hook receiver built from the side's settings and
//! secrets, and (in builds with simulators) the bundled simulator local runs start.

use crate::config::{AzureDevopsConfig, ConfigError, ValidAzureDevopsConfig};
use crate::{AzureDevopsConnector, AzureDevopsWebhookReceiver, AZURE_DEVOPS};
use std::sync::Arc;
use tandem_engine::ports::{Connector, WebhookReceiver};
use tandem_mapping::{SettingKey, SideConfig, SideProblem, SystemRules};
use tandem_model::{Credentials, SystemKind};
use tandem_system_api::{expect_credentials, side_problems, wrong_credentials, BuildError, RetryPolicy, System};

/// Azure DevOps Services, work item tracking REST API 7.1.
#[derive(Debug, Clone, Copy, Default)]
pub struct AzureDevopsSystem;

const IDENTITIES_URL: &str = "identities_url";

const SETTING_KEYS: [SettingKey; 1] = [SettingKey {
    key: IDENTITIES_URL,
    description: "the identities (VSSPS) URL used to look users up by e-mail; by default the one derived from \
                  `base_url`",
}];

/// What a side run on the simulator is checked with: its address is known only once it runs.
const SIMULATED_ORGANIZATION: &str = "http://localhost/simulated";

impl AzureDevopsSystem {
    fn config(side: &SideConfig, base_url: &str) -> Result<ValidAzureDevopsConfig, ConfigError> {
        AzureDevopsConfig {
            organization_url: base_url.to_string(),
            project: side.project.clone(),
            work_item_type: side.item_type.clone(),
            identities_url: side.setting(IDENTITIES_URL).map(str::to_string),
        }
        .validate()
    }
}

impl ConfigError {
    /// The side's key the problem is at.
    fn side_key(&self) -> &'static str {
        let field: &'static str = match self {
            ConfigError::InvalidUrl { field, .. } | ConfigError::NotHttp { field, .. } => field,
            ConfigError::NoOrganization(_) => "organization_url",
            ConfigError::Empty(field) => field,
        };
        match field {
            "organization_url" => "base_url",
            "work_item_type" => "item_type",
            other => other,
        }
    }
}

impl SystemRules for AzureDevopsSystem {
    fn kind(&self) -> SystemKind {
        AZURE_DEVOPS
    }

    fn setting_keys(&self) -> &'static [SettingKey] {
        &SETTING_KEYS
    }

    fn check_side(&self, side: &SideConfig) -> Vec<SideProblem> {
        let base_url = side.base_url.as_ref().map_or(SIMULATED_ORGANIZATION, |url| url.as_str());
        side_problems(AzureDevopsSystem::config(side, base_url), |error| error.side_key())
    }
}

impl System for AzureDevopsSystem {
    fn connector(
        &self,
        side: &SideConfig,
        base_url: &str,
        credentials: &Credentials,
        retry: RetryPolicy,
    ) -> Result<Arc<dyn Connector>, BuildError> {
        let config =
            AzureDevopsSystem::config(side, base_url).map_err(|error| BuildError::Settings(error.to_string()))?;
        expect_credentials(self.kind(), "azure-devops-pat", credentials)?;
        Ok(Arc::new(AzureDevopsConnector::new(config, credentials, retry)?))
    }

    fn receiver(&self, side: &SideConfig, secret: Credentials) -> Result<Arc<dyn WebhookReceiver>, BuildError> {
        match secret {
            Credentials::WebhookBasic { username, password, previous } => Ok(Arc::new(
                AzureDevopsWebhookReceiver::new(username, password, side.project.clone()).also_accepting(previous),
            )),
            other => Err(wrong_credentials(self.kind(), "webhook-basic", &other)),
        }
    }

    /// Service hooks retry 408, 502, 503 and 504 only; every other failure is enduring: the
    /// subscription goes on probation (notices are lost) and is disabled after repeated failures.
    fn sender_retries(&self, status: u16) -> bool {
        matches!(status, 408 | 502 | 503 | 504)
    }

    #[cfg(feature = "simulator")]
    fn local_simulator(&self) -> Option<&dyn tandem_system_api::LocalSimulator> {
        Some(&crate::local::AzureDevopsLocalSimulator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(identities_url: Option<&str>) -> SideConfig {
        SideConfig {
            system: AZURE_DEVOPS,
            base_url: Some("https://dev.azure.com/fabrikam".parse().unwrap()),
            project: "Fabrikam".into(),
            item_type: "Bug".into(),
            secret: "s".into(),
            webhook_secret: "w".into(),
            settings: identities_url.map(|url| (IDENTITIES_URL.to_string(), url.to_string())).into_iter().collect(),
            filter: None,
            simulator: false,
            confidential: Default::default(),
        }
    }

    #[test]
    fn its_own_key_is_checked_where_it_is_written() {
        assert!(AzureDevopsSystem.check_side(&side(None)).is_empty());
        assert!(AzureDevopsSystem.check_side(&side(Some("https://vssps.dev.azure.com/fabrikam"))).is_empty());
        let problems = AzureDevopsSystem.check_side(&side(Some("vssps")));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, IDENTITIES_URL);
    }
}
