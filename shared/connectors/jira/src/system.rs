//! Jira as tandem runs it: the side's rules checked at `tandem validate`, its connector and webhook
//! receiver built from the side's settings and secrets, and (in builds with simulators) the bundled
//! simulator local runs start.

use crate::config::{JiraConfig, JiraConfigError, ValidJiraConfig};
use crate::{JiraConnector, JiraWebhookReceiver, JIRA};
use std::sync::Arc;
use tandem_engine::ports::{Connector, WebhookReceiver};
use tandem_mapping::{SettingKey, SideConfig, SideProblem, SystemRules};
use tandem_model::{Credentials, SystemKind};
use tandem_system_api::{expect_credentials, side_problems, wrong_credentials, BuildError, RetryPolicy, System};

/// Jira Cloud, REST API v3.
#[derive(Debug, Clone, Copy, Default)]
pub struct JiraSystem;

/// What a side run on the simulator is checked with: its address is known only once it runs.
const SIMULATED_SITE: &str = "http://localhost/";

const REMOTE_LINKS: &str = "remote_links";

const SETTING_KEYS: [SettingKey; 1] = [SettingKey {
    key: REMOTE_LINKS,
    description: "`true` to show on each issue, as a remote link, the item it is linked with (a Salesforce Case, \
                  an Azure DevOps work item); `false` by default",
}];

/// The side's `remote_links` setting.
fn remote_links(side: &SideConfig) -> Result<bool, SideProblem> {
    match side.setting(REMOTE_LINKS) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(SideProblem::new(REMOTE_LINKS, format!("`{other}` is neither `true` nor `false`"))),
    }
}

impl JiraSystem {
    fn config(side: &SideConfig, base_url: &str) -> Result<ValidJiraConfig, JiraConfigError> {
        JiraConfig {
            base_url: base_url.to_string(),
            project_key: side.project.clone(),
            issue_type: side.item_type.clone(),
        }
        .validate()
    }
}

impl JiraConfigError {
    /// The side's key the problem is at.
    fn side_key(&self) -> &'static str {
        match self {
            JiraConfigError::BaseUrl { .. } => "base_url",
            JiraConfigError::ProjectKey(_) => "project",
            JiraConfigError::IssueType => "item_type",
        }
    }
}

impl SystemRules for JiraSystem {
    fn kind(&self) -> SystemKind {
        JIRA
    }

    fn setting_keys(&self) -> &'static [SettingKey] {
        &SETTING_KEYS
    }

    fn check_side(&self, side: &SideConfig) -> Vec<SideProblem> {
        let base_url = side.base_url.as_ref().map_or(SIMULATED_SITE, |url| url.as_str());
        let mut problems = side_problems(JiraSystem::config(side, base_url), |error| error.side_key());
        problems.extend(remote_links(side).err());
        problems
    }
}

impl System for JiraSystem {
    fn connector(
        &self,
        side: &SideConfig,
        base_url: &str,
        credentials: &Credentials,
        retry: RetryPolicy,
    ) -> Result<Arc<dyn Connector>, BuildError> {
        let config = JiraSystem::config(side, base_url).map_err(|error| BuildError::Settings(error.to_string()))?;
        expect_credentials(self.kind(), "jira-api-token", credentials)?;
        let remote_links = remote_links(side).map_err(|problem| BuildError::Settings(problem.message))?;
        Ok(Arc::new(JiraConnector::new(config, credentials, retry)?.with_remote_links(remote_links)))
    }

    fn receiver(&self, side: &SideConfig, secret: Credentials) -> Result<Arc<dyn WebhookReceiver>, BuildError> {
        match secret {
            Credentials::WebhookHmac { secret, previous } => {
                Ok(Arc::new(JiraWebhookReceiver::new(secret, side.project.clone()).also_accepting(previous)))
            }
            other => Err(wrong_credentials(self.kind(), "webhook-hmac", &other)),
        }
    }

    /// Atlassian's retry policy: 408, 409, 425, 429 and any 5xx are delivered again (up to five times).
    fn sender_retries(&self, status: u16) -> bool {
        matches!(status, 408 | 409 | 425 | 429 | 500..=599)
    }

    #[cfg(feature = "simulator")]
    fn local_simulator(&self) -> Option<&dyn tandem_system_api::LocalSimulator> {
        Some(&crate::local::JiraLocalSimulator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_at_the_sides_keys() {
        let side = |project: &str| SideConfig {
            system: JIRA,
            base_url: None,
            project: project.into(),
            item_type: "Bug".into(),
            secret: "s".into(),
            webhook_secret: "w".into(),
            settings: Default::default(),
            filter: None,
            simulator: true,
            confidential: Default::default(),
        };
        assert!(JiraSystem.check_side(&side("OPS")).is_empty());
        let problems = JiraSystem.check_side(&side("ops"));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "project");
        assert!(problems[0].message.contains("not a project key"), "{}", problems[0].message);
    }
}
