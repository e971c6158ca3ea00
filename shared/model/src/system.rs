use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of work-item system on one side of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    /// Jira Cloud, REST API v3.
    Jira,
    /// Azure DevOps Services, work item tracking REST API 7.1.
    AzureDevops,
}

impl SystemKind {
    /// The name users read in attribution lines and messages.
    pub fn display_name(self) -> &'static str {
        match self {
            SystemKind::Jira => "Jira",
            SystemKind::AzureDevops => "Azure DevOps",
        }
    }

    /// How the system stores rich text (descriptions, comments).
    pub fn rich_text_format(self) -> RichTextFormat {
        match self {
            SystemKind::Jira => RichTextFormat::Adf,
            SystemKind::AzureDevops => RichTextFormat::Html,
        }
    }

    /// The name used in configuration files and webhook URLs.
    pub fn slug(self) -> &'static str {
        match self {
            SystemKind::Jira => "jira",
            SystemKind::AzureDevops => "azure-devops",
        }
    }
}

impl fmt::Display for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// One of the two sides of an integration. Mappings say "1→2", "2→1" or "both" in terms of sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Side {
    #[serde(rename = "1")]
    One,
    #[serde(rename = "2")]
    Two,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::One, Side::Two];

    pub fn other(self) -> Side {
        match self {
            Side::One => Side::Two,
            Side::Two => Side::One,
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Side::One => 1,
            Side::Two => 2,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// The rich-text formats tandem converts between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RichTextFormat {
    /// Atlassian Document Format (Jira).
    Adf,
    /// HTML (Azure DevOps).
    Html,
}
