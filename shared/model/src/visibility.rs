//! Who may read a piece of content in its own system. Confidentiality is part of correctness: content its
//! system restricts to some readers (a Jira comment visible to one role, a Service Management internal
//! note, an issue with a security level, a Salesforce comment that is not published) is never copied
//! where other people would read it, unless the integration's configuration names the restriction.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A restriction on who may read something: its kind in the system's own words (`role`, `group`,
/// `internal`, `security-level`) and the name of the role, group or level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Restriction {
    pub kind: String,
    pub name: String,
}

impl Restriction {
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Restriction { kind: kind.into(), name: name.into() }
    }

    /// Whether a configured allowance names this restriction: `name` or `kind:name`, ignoring case.
    pub fn is_named_by(&self, allowance: &str) -> bool {
        match allowance.split_once(':') {
            Some((kind, name)) => {
                kind.trim().eq_ignore_ascii_case(&self.kind) && name.trim().eq_ignore_ascii_case(&self.name)
            }
            None => allowance.trim().eq_ignore_ascii_case(&self.name),
        }
    }
}

impl fmt::Display for Restriction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.kind, self.name)
    }
}

/// Who may read an item or a comment in its system.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// Everyone who may see the item.
    #[default]
    Everyone,
    /// Only the readers the restriction names.
    Restricted(Restriction),
}

impl Visibility {
    pub fn restricted(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Visibility::Restricted(Restriction::new(kind, name))
    }

    /// The restriction, unless one of `allowances` names it (or there is none).
    pub fn unless_allowed<'a>(&'a self, allowances: &[String]) -> Option<&'a Restriction> {
        match self {
            Visibility::Everyone => None,
            Visibility::Restricted(restriction) => {
                (!allowances.iter().any(|allowance| restriction.is_named_by(allowance))).then_some(restriction)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowances_name_a_restriction_with_or_without_its_kind() {
        let level = Restriction::new("security-level", "Internal");
        assert!(level.is_named_by("internal"));
        assert!(level.is_named_by("Security-Level: Internal"));
        assert!(!level.is_named_by("role:Internal"));
        assert!(!level.is_named_by("Confidential"));
    }

    #[test]
    fn only_restrictions_nobody_allowed_stay() {
        let role = Visibility::restricted("role", "Administrators");
        assert!(role.unless_allowed(&[]).is_some());
        assert!(role.unless_allowed(&["role:administrators".to_string()]).is_none());
        assert!(Visibility::Everyone.unless_allowed(&[]).is_none());
    }
}
