//! What the configuration knows of the kinds of system: only what each one tells it. A side names its
//! system by slug; the [`SystemRules`] of that system say which keys of its own a side takes (besides
//! the common ones: `system`, `base_url`, `project`, …) and check what only it can check (a Jira project
//! key's form, a URL of its own), so that `tandem validate` reports those problems at their line and
//! column like any other. The systems' registry hands the loader the list; the mapping never names a
//! system.

use crate::config::SideConfig;
use tandem_model::SystemKind;

/// A key of its own that a side of some system takes, e.g. Azure DevOps' `identities_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingKey {
    pub key: &'static str,
    /// What it means, for the JSON Schema and messages.
    pub description: &'static str,
}

/// Something wrong with a side that only its system knows, at one of the side's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideProblem {
    /// The side's key the problem is at (`project`, `base_url`, `identities_url`).
    pub key: String,
    pub message: String,
}

impl SideProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        SideProblem { key: key.into(), message: message.into() }
    }
}

/// What the configuration needs of one kind of system.
pub trait SystemRules: Send + Sync {
    fn kind(&self) -> SystemKind;

    /// The keys of its own a side of this system takes; any other key the common ones do not cover is
    /// refused.
    fn setting_keys(&self) -> &'static [SettingKey] {
        &[]
    }

    /// What is wrong with a side of this system beyond the common checks, which have passed. A side
    /// run on the bundled simulator has no `base_url`.
    fn check_side(&self, side: &SideConfig) -> Vec<SideProblem>;
}

/// A system whose sides take only the common keys and need no checks of their own (tests, and systems
/// that are that simple).
#[derive(Debug, Clone, Copy)]
pub struct CommonRules(pub SystemKind);

impl SystemRules for CommonRules {
    fn kind(&self) -> SystemKind {
        self.0
    }

    fn check_side(&self, _side: &SideConfig) -> Vec<SideProblem> {
        Vec::new()
    }
}

/// The rules of the system named `slug`.
pub(crate) fn named<'a>(systems: &[&'a dyn SystemRules], slug: &str) -> Option<&'a dyn SystemRules> {
    systems.iter().copied().find(|rules| rules.kind().slug() == slug)
}

/// The slugs, for messages: "`jira`, `azure-devops`".
pub(crate) fn slugs(systems: &[&dyn SystemRules]) -> String {
    systems.iter().map(|rules| format!("`{}`", rules.kind().slug())).collect::<Vec<_>>().join(", ")
}
