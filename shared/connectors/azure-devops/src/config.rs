//! Where the Azure DevOps side lives: organization, project and work item type, validated once.

use serde::{Deserialize, Serialize};
use url::Url;

/// The Azure DevOps side of an integration, as written in the integration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct AzureDevopsConfig {
    /// `https://dev.azure.com/{organization}` (or a simulator's organization URL).
    pub organization_url: String,
    pub project: String,
    /// The work item type tandem creates and watches, e.g. `Bug`.
    pub work_item_type: String,
    /// Where the identities API lives. Defaults to `https://vssps.dev.azure.com/{organization}` for
    /// dev.azure.com organizations and to the organization URL otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities_url: Option<String>,
}

/// Why a configuration cannot be used. Fixing the file is the only remedy, so none is retryable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("azure devops `{field}` is not a valid URL: `{value}`")]
    InvalidUrl {
        field: &'static str,
        value: String,
        #[source]
        source: url::ParseError,
    },
    #[error("azure devops `{field}` must be an http(s) URL, not `{value}`")]
    NotHttp { field: &'static str, value: String },
    #[error(
        "azure devops `organization_url` must name the organization, e.g. https://dev.azure.com/fabrikam (got `{0}`)"
    )]
    NoOrganization(String),
    #[error("azure devops `{0}` must not be empty")]
    Empty(&'static str),
}

impl ConfigError {
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// A checked configuration: URLs parsed and without trailing slashes, names present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAzureDevopsConfig {
    organization_url: Url,
    identities_url: Url,
    organization: String,
    project: String,
    work_item_type: String,
}

impl ValidAzureDevopsConfig {
    /// The organization's base URL, e.g. `https://dev.azure.com/fabrikam`.
    pub fn organization_url(&self) -> &Url {
        &self.organization_url
    }

    /// The base URL of the identities API (`…/_apis/identities` is appended).
    pub fn identities_url(&self) -> &Url {
        &self.identities_url
    }

    pub fn organization(&self) -> &str {
        &self.organization
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn work_item_type(&self) -> &str {
        &self.work_item_type
    }
}

impl AzureDevopsConfig {
    pub fn validate(&self) -> Result<ValidAzureDevopsConfig, ConfigError> {
        for (field, value) in [("project", &self.project), ("work_item_type", &self.work_item_type)] {
            if value.trim().is_empty() {
                return Err(ConfigError::Empty(field));
            }
        }
        let organization_url = parse_base("organization_url", &self.organization_url)?;
        let host = organization_url.host_str().unwrap_or_default().to_ascii_lowercase();
        let last_segment =
            organization_url.path_segments().and_then(|mut segments| segments.next_back()).unwrap_or_default();
        let organization = match host.strip_suffix(".visualstudio.com") {
            Some(name) if last_segment.is_empty() => name.to_string(),
            _ => last_segment.to_string(),
        };
        if organization.is_empty() {
            return Err(ConfigError::NoOrganization(self.organization_url.clone()));
        }
        let identities_url = match &self.identities_url {
            Some(url) => parse_base("identities_url", url)?,
            None if host == "dev.azure.com" => {
                parse_base("identities_url", &format!("https://vssps.dev.azure.com/{organization}"))?
            }
            None if host.ends_with(".visualstudio.com") => {
                parse_base("identities_url", &format!("https://{organization}.vssps.visualstudio.com"))?
            }
            None => organization_url.clone(),
        };
        Ok(ValidAzureDevopsConfig {
            organization_url,
            identities_url,
            organization,
            project: self.project.trim().to_string(),
            work_item_type: self.work_item_type.trim().to_string(),
        })
    }
}

/// Parses a base URL and drops a trailing slash, so that appending segments is unambiguous.
fn parse_base(field: &'static str, value: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(value.trim()).map_err(|source| ConfigError::InvalidUrl {
        field,
        value: value.to_string(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(ConfigError::NotHttp { field, value: value.to_string() });
    }
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> AzureDevopsConfig {
        AzureDevopsConfig {
            organization_url: url.into(),
            project: "Fabrikam".into(),
            work_item_type: "Bug".into(),
            identities_url: None,
        }
    }

    #[test]
    fn dev_azure_com_identities_live_on_vssps() {
        let valid = config("https://dev.azure.com/fabrikam/").validate().unwrap();
        assert_eq!(valid.organization(), "fabrikam");
        assert_eq!(valid.organization_url().as_str(), "https://dev.azure.com/fabrikam");
        assert_eq!(valid.identities_url().as_str(), "https://vssps.dev.azure.com/fabrikam");
    }

    #[test]
    fn other_hosts_use_the_organization_url_for_identities() {
        let valid = config("http://127.0.0.1:8080/fabrikam").validate().unwrap();
        assert_eq!(valid.identities_url(), valid.organization_url());
        let legacy = config("https://fabrikam.visualstudio.com").validate().unwrap();
        assert_eq!(legacy.organization(), "fabrikam");
        assert_eq!(legacy.identities_url().as_str(), "https://fabrikam.vssps.visualstudio.com/");
    }

    #[test]
    fn bad_configurations_are_refused_with_the_field_named() {
        assert!(matches!(
            config("not a url").validate(),
            Err(ConfigError::InvalidUrl { field: "organization_url", .. })
        ));
        assert!(matches!(config("ftp://dev.azure.com/x").validate(), Err(ConfigError::NotHttp { .. })));
        assert!(matches!(config("https://dev.azure.com/").validate(), Err(ConfigError::NoOrganization(_))));
        let mut empty = config("https://dev.azure.com/fabrikam");
        empty.project = " ".into();
        assert!(matches!(empty.validate(), Err(ConfigError::Empty("project"))));
    }
}
