use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of work-item system: what the engine and the mapping know of it. Each connector crate defines
/// its one constant (`tandem_jira::JIRA`), and the systems' registry lists them; nothing else names a
/// system. Two kinds are the same when their slugs are. A pointer wide, so that errors carrying it stay
/// small.
#[derive(Clone, Copy)]
pub struct SystemKind(&'static SystemInfo);

/// What a [`SystemKind`] says of its system.
#[derive(Debug)]
pub struct SystemInfo {
    /// The name used in configuration files and webhook URLs (`azure-devops`).
    pub slug: &'static str,
    /// The name users read in attribution lines and messages ("Azure DevOps").
    pub display_name: &'static str,
    /// How the system stores rich text (descriptions).
    pub rich_text_format: RichTextFormat,
    /// How the system stores comments' bodies (Salesforce's Case comments are HTML where its
    /// descriptions are plain text).
    pub comment_format: RichTextFormat,
    /// How finely the system's change instants tell changes apart.
    pub change_instants: InstantPrecision,
}

/// How finely a system's change instants (an item's `updated`) tell its states apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstantPrecision {
    /// To the millisecond (Jira's `updated`), or backed by a revision number (Azure DevOps' `rev`):
    /// one instant, one state.
    Millisecond,
    /// Whole seconds (Salesforce's `SystemModstamp`): two states a second apart or less may show the
    /// same instant, so the same instant does not mean the same state.
    Second,
}

impl SystemKind {
    pub const fn new(info: &'static SystemInfo) -> Self {
        SystemKind(info)
    }

    /// A system no side names: the placeholder for a side whose system is missing or unknown (which
    /// leaves a problem behind, so it only shapes a configuration refused anyway), and the kind of
    /// tests about what holds whatever the system.
    pub const UNKNOWN: SystemKind = SystemKind::new(&SystemInfo {
        slug: "unknown",
        display_name: "an unknown system",
        rich_text_format: RichTextFormat::Html,
        comment_format: RichTextFormat::Html,
        change_instants: InstantPrecision::Millisecond,
    });

    /// The name users read in attribution lines and messages ("Azure DevOps").
    pub fn display_name(self) -> &'static str {
        self.0.display_name
    }

    /// How the system stores rich text (descriptions).
    pub fn rich_text_format(self) -> RichTextFormat {
        self.0.rich_text_format
    }

    /// How the system stores comments' bodies.
    pub fn comment_format(self) -> RichTextFormat {
        self.0.comment_format
    }

    /// The name used in configuration files and webhook URLs (`azure-devops`).
    pub fn slug(self) -> &'static str {
        self.0.slug
    }

    /// How finely the system's change instants tell changes apart.
    pub fn change_instants(self) -> InstantPrecision {
        self.0.change_instants
    }
}

impl PartialEq for SystemKind {
    fn eq(&self, other: &Self) -> bool {
        self.slug() == other.slug()
    }
}

impl Eq for SystemKind {}

impl std::hash::Hash for SystemKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.slug().hash(state);
    }
}

impl PartialOrd for SystemKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SystemKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.slug().cmp(other.slug())
    }
}

impl fmt::Debug for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

impl Serialize for SystemKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.slug())
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

/// The rich-text formats tandem converts between (see the rich-text crate, the one place that reads and
/// writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RichTextFormat {
    /// Atlassian Document Format (Jira).
    Adf,
    /// HTML (Azure DevOps).
    Html,
    /// Plain text: lines, no markup (Salesforce comments and text areas).
    PlainText,
}
