//! What a Jira side of an integration needs: the site, the project and the issue type. Checked once by
//! [`JiraConfig::validate`]; the connector only ever sees a [`ValidJiraConfig`].

use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct JiraConfig {
    /// The site, e.g. `https://acme.atlassian.net` (or a simulator's URL).
    pub base_url: String,
    /// The project key, e.g. `OPS`.
    pub project_key: String,
    /// The issue type synced, by name, e.g. `Bug`.
    pub issue_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JiraConfigError {
    #[error("Jira base_url `{value}` is not a URL: {reason}")]
    BaseUrl { value: String, reason: String },
    #[error(
        "Jira project_key `{0}` is not a project key (upper-case letters, digits and `_`, starting with a letter)"
    )]
    ProjectKey(String),
    #[error("Jira issue_type must not be empty")]
    IssueType,
}

impl JiraConfigError {
    /// Configuration does not fix itself.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// A checked configuration: an http(s) base URL without path, query or trailing slash; a valid project
/// key; a non-empty issue type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidJiraConfig {
    base_url: Url,
    project_key: String,
    issue_type: String,
}

impl ValidJiraConfig {
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The base URL as text, without a trailing slash.
    pub fn site(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }

    pub fn project_key(&self) -> &str {
        &self.project_key
    }

    pub fn issue_type(&self) -> &str {
        &self.issue_type
    }

    /// Where a person opens an issue in the browser.
    pub fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.site())
    }
}

impl JiraConfig {
    pub fn validate(&self) -> Result<ValidJiraConfig, JiraConfigError> {
        let invalid =
            |reason: &str| JiraConfigError::BaseUrl { value: self.base_url.clone(), reason: reason.to_string() };
        let base_url = Url::parse(self.base_url.trim()).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(invalid("it must not have a query or fragment"));
        }
        if base_url.path() != "/" {
            return Err(invalid("it must be the site's root, without a path"));
        }
        let key = self.project_key.trim();
        let mut chars = key.chars();
        let starts_with_letter = chars.next().is_some_and(|first| first.is_ascii_uppercase());
        if !starts_with_letter || !chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
            return Err(JiraConfigError::ProjectKey(self.project_key.clone()));
        }
        let issue_type = self.issue_type.trim();
        if issue_type.is_empty() {
            return Err(JiraConfigError::IssueType);
        }
        Ok(ValidJiraConfig { base_url, project_key: key.to_string(), issue_type: issue_type.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str, project_key: &str, issue_type: &str) -> JiraConfig {
        JiraConfig { base_url: base_url.into(), project_key: project_key.into(), issue_type: issue_type.into() }
    }

    #[test]
    fn a_good_configuration_is_normalised() {
        let valid = config("https://acme.atlassian.net/", " OPS ", "Bug").validate().unwrap();
        assert_eq!(valid.site(), "https://acme.atlassian.net");
        assert_eq!(valid.project_key(), "OPS");
        assert_eq!(valid.browse_url("OPS-1"), "https://acme.atlassian.net/browse/OPS-1");
    }

    #[test]
    fn bad_values_are_named() {
        assert!(matches!(config("acme.atlassian.net", "OPS", "Bug").validate(), Err(JiraConfigError::BaseUrl { .. })));
        assert!(matches!(config("ftp://acme", "OPS", "Bug").validate(), Err(JiraConfigError::BaseUrl { .. })));
        assert!(matches!(
            config("https://acme.net/jira", "OPS", "Bug").validate(),
            Err(JiraConfigError::BaseUrl { .. })
        ));
        assert_eq!(config("https://a.net", "ops", "Bug").validate(), Err(JiraConfigError::ProjectKey("ops".into())));
        assert_eq!(config("https://a.net", "1OPS", "Bug").validate(), Err(JiraConfigError::ProjectKey("1OPS".into())));
        assert_eq!(config("https://a.net", "OPS", " ").validate(), Err(JiraConfigError::IssueType));
    }
}
