//! The systems tandem is built with, in one list. The configuration loader takes their rules from here,
//! and the CLI and the Lambda functions their connectors, webhook receivers and simulators: a new system
//! is a crate that implements [`System`] and one line in [`SYSTEMS`].

use std::path::Path;
use tandem_mapping::{ConfigErrors, IntegrationConfig, SystemRules};
use tandem_model::SystemKind;
pub use tandem_system_api::System;

/// Every system, in the order messages list them.
static SYSTEMS: [&dyn System; 3] =
    [&tandem_jira::JiraSystem, &tandem_azure_devops::AzureDevopsSystem, &tandem_salesforce::SalesforceSystem];

pub fn all() -> &'static [&'static dyn System] {
    &SYSTEMS
}

/// The system of this kind. Every kind a loaded configuration holds is one of [`all`].
pub fn of(kind: SystemKind) -> Option<&'static dyn System> {
    all().iter().copied().find(|system| system.kind() == kind)
}

/// What the configuration loader checks sides with.
pub fn rules() -> Vec<&'static dyn SystemRules> {
    all().iter().map(|system| *system as &dyn SystemRules).collect()
}

/// Loads an integration file whose sides may name any of the systems.
pub fn load_file(path: &Path) -> Result<IntegrationConfig, ConfigErrors> {
    tandem_mapping::load_file(path, &rules())
}

/// Loads an integration from text (`file` names it in problems; `base_dir` is where its relative paths
/// start).
pub fn load_str(text: &str, file: &str, base_dir: &Path) -> Result<IntegrationConfig, ConfigErrors> {
    tandem_mapping::load_str(text, file, base_dir, &rules())
}

/// The JSON Schema of integration files, with every system's slug and side keys.
pub fn json_schema() -> serde_json::Value {
    tandem_mapping::json_schema(&rules())
}
