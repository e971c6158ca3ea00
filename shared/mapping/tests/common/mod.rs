//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The project's `examples/` folder, found by walking up from this crate.
pub fn examples_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|ancestor| ancestor.join("examples"))
        .find(|candidate| candidate.join("jira-azure-devops.yaml").is_file())
        .expect("examples/jira-azure-devops.yaml above the crate")
}

/// Every integration file in `examples/`.
pub fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    files.sort();
    files
}

use std::path::Path;
use tandem_mapping::{CommonRules, ConfigErrors, IntegrationConfig, SettingKey, SideConfig, SideProblem, SystemRules};
use tandem_model::{RichTextFormat, SystemInfo, SystemKind};

/// Stand-ins for the real systems (the mapping knows none): their slugs, formats and own keys.
pub const JIRA: SystemKind = SystemKind::new(&SystemInfo {
    slug: "jira",
    display_name: "Jira",
    rich_text_format: RichTextFormat::Adf,
    comment_format: RichTextFormat::Adf,
    change_instants: tandem_model::InstantPrecision::Millisecond,
});
pub const AZURE_DEVOPS: SystemKind = SystemKind::new(&SystemInfo {
    slug: "azure-devops",
    display_name: "Azure DevOps",
    rich_text_format: RichTextFormat::Html,
    comment_format: RichTextFormat::Html,
    change_instants: tandem_model::InstantPrecision::Millisecond,
});

/// A system with a key of its own that must be a URL, and a check of the project's form.
struct WithOwnKey;

impl SystemRules for WithOwnKey {
    fn kind(&self) -> SystemKind {
        AZURE_DEVOPS
    }

    fn setting_keys(&self) -> &'static [SettingKey] {
        &[SettingKey { key: "identities_url", description: "where identities are looked up" }]
    }

    fn check_side(&self, side: &SideConfig) -> Vec<SideProblem> {
        let mut problems = Vec::new();
        if side.setting("identities_url").is_some_and(|url| !url.starts_with("https://")) {
            problems.push(SideProblem::new("identities_url", "must be an https URL"));
        }
        if side.project.starts_with('-') {
            problems.push(SideProblem::new("project", "must not start with `-`"));
        }
        problems
    }
}

pub fn systems() -> [&'static dyn SystemRules; 2] {
    [&CommonRules(JIRA), &WithOwnKey]
}

pub fn load_str(text: &str, file: &str, base_dir: &Path) -> Result<IntegrationConfig, ConfigErrors> {
    tandem_mapping::load_str(text, file, base_dir, &systems())
}

pub fn load_file(path: &Path) -> Result<IntegrationConfig, ConfigErrors> {
    tandem_mapping::load_file(path, &systems())
}

pub fn json_schema() -> serde_json::Value {
    tandem_mapping::json_schema(&systems())
}
