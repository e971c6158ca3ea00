//! A loaded, valid integration configuration: what the sync engine reads.

use crate::convert::MappingError;
use crate::field::FieldMapping;
use crate::filter::Filter;
use crate::settings::{AttachmentSettings, CommentSettings, ConflictPolicy, PollingSettings};
use crate::users::UserMapping;
use std::collections::BTreeMap;
use tandem_model::{FieldValue, Side, SystemKind};
use url::Url;

/// An integration: two sides and how their items map onto each other. Only a configuration without
/// problems is ever built.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationConfig {
    /// The integration's id (`[a-z0-9-]+`).
    pub name: String,
    pub side1: SideConfig,
    pub side2: SideConfig,
    /// The field mappings, in file order.
    pub fields: Vec<FieldMapping>,
    pub users: UserMapping,
    pub comments: CommentSettings,
    pub attachments: AttachmentSettings,
    pub conflicts: ConflictPolicy,
    pub polling: PollingSettings,
}

/// One side: a system, a project in it, and the item type synced.
#[derive(Debug, Clone, PartialEq)]
pub struct SideConfig {
    pub system: SystemKind,
    /// The system's address (a Jira site, an Azure DevOps organization); `None` only when `simulator`
    /// is true.
    pub base_url: Option<Url>,
    /// Jira project key or Azure DevOps project name.
    pub project: String,
    /// Jira issue type or Azure DevOps work item type.
    pub item_type: String,
    /// Name of the secret holding the service account's credentials.
    pub secret: String,
    /// Name of the secret holding what authenticates this side's webhooks.
    pub webhook_secret: String,
    /// The side's keys of its system's own (see [`crate::SystemRules::setting_keys`]), as written.
    pub settings: BTreeMap<String, String>,
    /// Which items are synced. It applies to creates and updates: an unlinked item is created on the
    /// other side when it is created, or updated, while it matches. An item that stops matching stays
    /// linked and keeps syncing.
    pub filter: Option<Filter>,
    /// Local runs start a bundled simulator for this side.
    pub simulator: bool,
    /// Restricted content this side may copy anyway; by default none.
    pub confidential: ConfidentialAllowances,
}

/// Restrictions whose content a side copies anyway, each a restriction's name or `kind:name`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfidentialAllowances {
    pub items: Vec<String>,
    pub comments: Vec<String>,
}

impl SideConfig {
    /// The value of one of the side's own keys, if written.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }
}

impl IntegrationConfig {
    pub fn side(&self, side: Side) -> &SideConfig {
        match side {
            Side::One => &self.side1,
            Side::Two => &self.side2,
        }
    }

    pub fn filter(&self, side: Side) -> Option<&Filter> {
        self.side(side).filter.as_ref()
    }

    /// The mapping with this name.
    pub fn field_mapping(&self, name: &str) -> Option<&FieldMapping> {
        self.fields.iter().find(|mapping| mapping.name == name)
    }

    /// The field ids the integration writes on `side`: what its service account needs permission for.
    pub fn written_fields(&self, side: Side) -> Vec<String> {
        self.fields
            .iter()
            .filter(|mapping| mapping.flows_to(side) || mapping.default_for(side).is_some())
            .filter_map(|mapping| mapping.field(side).map(str::to_string))
            .collect()
    }

    /// The field ids the integration reads on `side`: mapped sources and filter inputs.
    pub fn read_fields(&self, side: Side) -> Vec<String> {
        let mut ids: Vec<String> = self
            .fields
            .iter()
            .filter(|mapping| mapping.flows_from(side))
            .filter_map(|mapping| mapping.field(side).map(str::to_string))
            .collect();
        for id in self.filter(side).map(Filter::fields).unwrap_or_default() {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// A value read on `from` → the value to write on the other side: the value map (and `reverse`)
    /// for option fields, the target's default for an empty or unmapped value, rich text in the
    /// target system's format (Jira: ADF, Azure DevOps: HTML; plain text becomes paragraphs and rich
    /// text written to a text field becomes plain text). Users pass through unchanged: the engine
    /// resolves them with `users`.
    pub fn convert(&self, mapping: &FieldMapping, from: Side, value: &FieldValue) -> Result<FieldValue, MappingError> {
        mapping.convert(from, value)
    }
}
