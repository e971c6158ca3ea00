//! What a Salesforce side of an integration needs: the org's My Domain URL, the sObject type, the API
//! version, and the External ID field that carries a copy's origin. Checked once by
//! [`SalesforceConfig::validate`]; the connector only ever sees a [`ValidSalesforceConfig`].
//!
//! Salesforce has no projects: a side's `project` names the org as people call it (`acme`), and every
//! record of the object belongs to it.

use url::Url;

/// The API version used unless a side pins another (Summer '25, a current GA version).
pub const DEFAULT_API_VERSION: &str = "64.0";
/// The External ID field the copies tandem creates carry their origin in (a custom text field,
/// External ID and Unique, that an administrator adds to the object; see `docs/salesforce.md`).
pub const DEFAULT_EXTERNAL_ID_FIELD: &str = "Tandem_Sync_Id__c";
/// The first version whose upsert answers `created` (46.0): tandem reads it.
const OLDEST_API_VERSION: u32 = 46;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesforceConfig {
    /// The org's My Domain URL (`https://acme.my.salesforce.com`), where tokens are asked for.
    pub base_url: String,
    /// The org as people call it.
    pub org: String,
    /// The sObject type synced, by API name (`Case`, `Account`, `Bug__c`).
    pub object: String,
    /// `vXX.X` without the `v`; `None`: [`DEFAULT_API_VERSION`].
    pub api_version: Option<String>,
    /// `None`: [`DEFAULT_EXTERNAL_ID_FIELD`].
    pub external_id_field: Option<String>,
    /// Whether comments tandem writes are published (`IsPublished`: visible to customers in portals).
    pub publish_comments: bool,
    /// Fields of related records read with each record (`Account.Name`); `None`: the account's,
    /// contact's and owner's names and e-mails, where the object has them.
    pub related_fields: Option<Vec<String>>,
    /// A URL field tandem fills with the linked item's address (`Engineering_Issue__c`), if any.
    pub link_field: Option<String>,
    /// The share of the org's daily API allowance past which polls hold back, in percent; `None`:
    /// [`DEFAULT_API_SHARE`].
    pub api_share: Option<u8>,
}

/// Polls hold back once the org has used this much of its daily API allowance (percent), leaving the
/// rest to its other clients and to tandem's webhook-driven syncs.
pub const DEFAULT_API_SHARE: u8 = 80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SalesforceConfigError {
    #[error("Salesforce base_url `{value}` is not an http(s) URL: {reason}")]
    BaseUrl { value: String, reason: String },
    #[error("Salesforce object `{0}` is not an sObject API name (letters, digits and `_`, starting with a letter)")]
    Object(String),
    #[error("Salesforce api_version `{0}` is not a version of 46.0 or later, written like `64.0`")]
    ApiVersion(String),
    #[error("Salesforce external_id_field `{0}` is not a custom field's API name (ending in `__c`)")]
    ExternalIdField(String),
    #[error("Salesforce project (the org's name) must not be empty")]
    Org,
    #[error("Salesforce related field `{0}` is not a relationship path like `Account.Name`")]
    RelatedField(String),
    #[error("Salesforce link_field `{0}` is not a field's API name")]
    LinkField(String),
    #[error("Salesforce api_share {0} is not a percentage from 1 to 100")]
    ApiShare(u8),
}

impl SalesforceConfigError {
    /// The side's key the problem is at.
    pub fn side_key(&self) -> &'static str {
        match self {
            SalesforceConfigError::BaseUrl { .. } => "base_url",
            SalesforceConfigError::Object(_) => "item_type",
            SalesforceConfigError::ApiVersion(_) => "api_version",
            SalesforceConfigError::ExternalIdField(_) => "external_id_field",
            SalesforceConfigError::Org => "project",
            SalesforceConfigError::RelatedField(_) => "related_fields",
            SalesforceConfigError::LinkField(_) => "link_field",
            SalesforceConfigError::ApiShare(_) => "api_share",
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSalesforceConfig {
    base_url: Url,
    org: String,
    object: String,
    api_version: String,
    external_id_field: String,
    publish_comments: bool,
    related_fields: Option<Vec<String>>,
    link_field: Option<String>,
    api_share: u8,
}

impl SalesforceConfig {
    pub fn validate(self) -> Result<ValidSalesforceConfig, SalesforceConfigError> {
        let base_url = parse_base_url(&self.base_url)?;
        if self.org.trim().is_empty() {
            return Err(SalesforceConfigError::Org);
        }
        if !is_api_name(&self.object) {
            return Err(SalesforceConfigError::Object(self.object));
        }
        let api_version = self.api_version.unwrap_or_else(|| DEFAULT_API_VERSION.to_string());
        if !is_supported_version(&api_version) {
            return Err(SalesforceConfigError::ApiVersion(api_version));
        }
        let external_id_field = self.external_id_field.unwrap_or_else(|| DEFAULT_EXTERNAL_ID_FIELD.to_string());
        if !is_api_name(&external_id_field) || !external_id_field.ends_with("__c") {
            return Err(SalesforceConfigError::ExternalIdField(external_id_field));
        }
        if let Some(path) = self.related_fields.iter().flatten().find(|path| !is_relationship_path(path)) {
            return Err(SalesforceConfigError::RelatedField(path.clone()));
        }
        if let Some(field) = self.link_field.as_ref().filter(|field| !is_api_name(field)) {
            return Err(SalesforceConfigError::LinkField(field.clone()));
        }
        let api_share = self.api_share.unwrap_or(DEFAULT_API_SHARE);
        if !(1..=100).contains(&api_share) {
            return Err(SalesforceConfigError::ApiShare(api_share));
        }
        Ok(ValidSalesforceConfig {
            base_url,
            org: self.org,
            object: self.object,
            api_version,
            external_id_field,
            publish_comments: self.publish_comments,
            related_fields: self.related_fields,
            link_field: self.link_field,
            api_share,
        })
    }
}

impl ValidSalesforceConfig {
    /// The My Domain URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }

    pub fn org(&self) -> &str {
        &self.org
    }

    pub fn object(&self) -> &str {
        &self.object
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    pub fn external_id_field(&self) -> &str {
        &self.external_id_field
    }

    pub fn publish_comments(&self) -> bool {
        self.publish_comments
    }

    /// The share of the org's daily API allowance past which polls hold back, in percent.
    pub fn api_share(&self) -> u8 {
        self.api_share
    }

    /// The URL field that points at the linked item, if one is configured.
    pub fn link_field(&self) -> Option<&str> {
        self.link_field.as_deref()
    }

    /// The related fields configured; `None`: the defaults for the object.
    pub fn related_fields(&self) -> Option<&[String]> {
        self.related_fields.as_deref()
    }
}

/// `Account.Name`, `Account.Owner.Email`: relationship names, then a field.
fn is_relationship_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    parts.len() >= 2 && parts.iter().all(|part| is_api_name(part))
}

fn parse_base_url(value: &str) -> Result<Url, SalesforceConfigError> {
    let refuse = |reason: &str| SalesforceConfigError::BaseUrl { value: value.to_string(), reason: reason.into() };
    let url = Url::parse(value).map_err(|error| refuse(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("the scheme must be https (or http for a local simulator)"));
    }
    if url.query().is_some() || !url.path().trim_end_matches('/').is_empty() {
        return Err(refuse("give the org's address only, without a path or query"));
    }
    Ok(url)
}

/// An API name: a letter, then letters, digits and single underscores (`Case`, `Bug__c`, `ns__Bug__c`).
fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
}

fn is_supported_version(version: &str) -> bool {
    match version.split_once('.') {
        Some((major, "0")) => major.parse::<u32>().is_ok_and(|major| major >= OLDEST_API_VERSION),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SalesforceConfig {
        SalesforceConfig {
            base_url: "https://acme.my.salesforce.com".into(),
            org: "acme".into(),
            object: "Case".into(),
            api_version: None,
            external_id_field: None,
            publish_comments: false,
            related_fields: None,
            link_field: None,
            api_share: None,
        }
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        let valid = config().validate().unwrap();
        assert_eq!(valid.base_url(), "https://acme.my.salesforce.com");
        assert_eq!(valid.api_version(), DEFAULT_API_VERSION);
        assert_eq!(valid.external_id_field(), DEFAULT_EXTERNAL_ID_FIELD);
    }

    #[test]
    fn each_problem_is_named_at_its_key() {
        let cases = [
            (SalesforceConfig { base_url: "acme.my.salesforce.com".into(), ..config() }, "base_url"),
            (SalesforceConfig { base_url: "https://acme.my.salesforce.com/lightning".into(), ..config() }, "base_url"),
            (SalesforceConfig { object: "Case Comment".into(), ..config() }, "item_type"),
            (SalesforceConfig { api_version: Some("v64.0".into()), ..config() }, "api_version"),
            (SalesforceConfig { api_version: Some("45.0".into()), ..config() }, "api_version"),
            (SalesforceConfig { external_id_field: Some("Subject".into()), ..config() }, "external_id_field"),
            (SalesforceConfig { org: " ".into(), ..config() }, "project"),
            (SalesforceConfig { related_fields: Some(vec!["Account".into()]), ..config() }, "related_fields"),
            (SalesforceConfig { link_field: Some("Jira link".into()), ..config() }, "link_field"),
            (SalesforceConfig { api_share: Some(0), ..config() }, "api_share"),
        ];
        for (config, key) in cases {
            let error = config.clone().validate().expect_err(&format!("{config:?}"));
            assert_eq!(error.side_key(), key, "{error}");
        }
        assert!(SalesforceConfig { object: "Bug__c".into(), ..config() }.validate().is_ok());
    }
}
