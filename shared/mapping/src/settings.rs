//! The integration-wide settings: conflict policy, comments, attachments, polling.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;
use tandem_model::{Side, SystemKind};

/// Which change wins when both sides changed the same field since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// The change made last, by the systems' clocks, wins (the default).
    #[default]
    LatestWins,
    /// Side 1's value wins.
    Side1Wins,
    /// Side 2's value wins.
    Side2Wins,
}

impl ConflictPolicy {
    /// The name used in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            ConflictPolicy::LatestWins => "latest-wins",
            ConflictPolicy::Side1Wins => "side1-wins",
            ConflictPolicy::Side2Wins => "side2-wins",
        }
    }
}

impl fmt::Display for ConflictPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which way attachments are copied, and how large a file may be copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentSettings {
    pub(crate) side1_to_side2: bool,
    pub(crate) side2_to_side1: bool,
    pub(crate) max_bytes: u64,
    pub(crate) max_files: u32,
}

impl AttachmentSettings {
    /// The default most files copied from one item: far past what people attach, well short of what
    /// a text with pasted images could make a sync upload.
    pub const DEFAULT_MAX_FILES: u32 = 100;
    pub const LARGEST_MAX_FILES: u32 = 1000;
    /// The default largest file copied: Jira Cloud's own default limit, and what a function's memory
    /// carries comfortably.
    pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
    /// The largest limit a configuration may set: a file is held whole in memory on its way.
    pub const LARGEST_MAX_BYTES: u64 = 30 * 1024 * 1024;

    /// Whether files attached on `from` are copied to the other side.
    pub fn enabled(&self, from: Side) -> bool {
        match from {
            Side::One => self.side1_to_side2,
            Side::Two => self.side2_to_side1,
        }
    }

    /// The largest file copied, in bytes; a larger one is recorded and left where it is.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The most files copied from one item to its copy; files past it are recorded and left where they are.
    pub fn max_files(&self) -> u32 {
        self.max_files
    }
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        AttachmentSettings {
            side1_to_side2: true,
            side2_to_side1: true,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_files: Self::DEFAULT_MAX_FILES,
        }
    }
}

/// Which comments of a side are copied to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentFlow {
    /// None.
    Off,
    /// Every comment (that is not restricted).
    All,
    /// Only those whose text holds the marker (`comments.marker`): people choose, comment by comment,
    /// what reaches the other side (an engineer's note to the customer's case, not the team's chatter).
    Marked,
}

/// Which way comments are copied and how a copy names its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentSettings {
    pub(crate) side1_to_side2: CommentFlow,
    pub(crate) side2_to_side1: CommentFlow,
    pub(crate) attribution: String,
    pub(crate) marker: String,
}

impl CommentSettings {
    pub(crate) const DEFAULT_ATTRIBUTION: &'static str = "{author} commented in {system}:";
    pub(crate) const DEFAULT_MARKER: &'static str = "#sync";
    pub(crate) const PLACEHOLDERS: [&'static str; 2] = ["{author}", "{system}"];

    /// Whether any comment made on `from` may be copied to the other side.
    pub fn enabled(&self, from: Side) -> bool {
        self.flow(from) != CommentFlow::Off
    }

    pub fn flow(&self, from: Side) -> CommentFlow {
        match from {
            Side::One => self.side1_to_side2,
            Side::Two => self.side2_to_side1,
        }
    }

    /// Whether a comment made on `from` whose text is `words` is one to copy (its restrictions aside).
    pub fn selects(&self, from: Side, words: &str) -> bool {
        match self.flow(from) {
            CommentFlow::Off => false,
            CommentFlow::All => true,
            CommentFlow::Marked => words.to_lowercase().contains(&self.marker.to_lowercase()),
        }
    }

    /// The marker to take out of the copies of comments made on `from`, where people mark them.
    pub fn marker_of(&self, from: Side) -> Option<&str> {
        (self.flow(from) == CommentFlow::Marked).then_some(self.marker.as_str())
    }

    /// The attribution line for a comment by `author` made in `system`.
    pub fn attribution(&self, author: &str, system: SystemKind) -> String {
        self.attribution.replace("{author}", author).replace("{system}", system.display_name())
    }
}

impl Default for CommentSettings {
    fn default() -> Self {
        CommentSettings {
            side1_to_side2: CommentFlow::All,
            side2_to_side1: CommentFlow::All,
            attribution: Self::DEFAULT_ATTRIBUTION.to_string(),
            marker: Self::DEFAULT_MARKER.to_string(),
        }
    }
}

/// Placeholders in an attribution template that tandem does not fill in.
pub(crate) fn unknown_placeholders(template: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(length) = rest[open..].find('}') else {
            break;
        };
        let placeholder = &rest[open..open + length + 1];
        if !CommentSettings::PLACEHOLDERS.contains(&placeholder) {
            unknown.push(placeholder.to_string());
        }
        rest = &rest[open + length + 1..];
    }
    unknown
}

/// How often each side is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollingSettings {
    pub interval: Duration,
    /// How long the systems' searches may take to show a change (Jira's JQL search and Azure DevOps'
    /// WIQL are eventually consistent): polls read this far back past their watermark, and a worker
    /// that takes over an unfinished creation waits this long before it trusts a search for the copy.
    pub search_lag: Duration,
    /// The most changed items a poll syncs at once; the poll paces itself below it (see the engine's
    /// `pace`).
    pub concurrency: usize,
}

impl PollingSettings {
    pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
    pub(crate) const DEFAULT_SEARCH_LAG: Duration = Duration::from_secs(60);
    pub(crate) const DEFAULT_CONCURRENCY: usize = 16;
    pub(crate) const LARGEST_CONCURRENCY: usize = 64;
    const MINIMUM_INTERVAL: Duration = Duration::from_secs(1);
}

impl Default for PollingSettings {
    fn default() -> Self {
        PollingSettings {
            interval: Self::DEFAULT_INTERVAL,
            search_lag: Self::DEFAULT_SEARCH_LAG,
            concurrency: Self::DEFAULT_CONCURRENCY,
        }
    }
}

/// Reads a polling interval (see [`parse_duration`]): at least one second.
pub(crate) fn parse_interval(text: &str) -> Result<Duration, String> {
    let total = parse_duration(text)?;
    if total < PollingSettings::MINIMUM_INTERVAL {
        return Err(format!("`{text}` is shorter than the minimum of 1s"));
    }
    Ok(total)
}

/// Reads `30s`, `5m`, `1h30m`, `250ms`, `2d`, `0s`: numbers each followed by a unit.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("the interval is empty; write e.g. `30s`, `5m` or `1h`".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = compact.as_str();
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let amount: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` is not a duration: expected a number, e.g. `30s`, `5m` or `1h`"))?;
        rest = &rest[digits..];
        let unit_length = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_length] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            "" => return Err(format!("`{text}` needs a unit after {amount}: ms, s, m, h or d")),
            other => return Err(format!("`{text}`: unknown unit `{other}`; use ms, s, m, h or d")),
        };
        rest = &rest[unit_length..];
        let part = u32::try_from(amount)
            .ok()
            .and_then(|amount| unit.checked_mul(amount))
            .ok_or_else(|| format!("`{text}` is too long"))?;
        total = total.checked_add(part).ok_or_else(|| format!("`{text}` is too long"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_interval("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_interval("5").unwrap_err().contains("needs a unit"));
        assert!(parse_interval("5 minutes").unwrap_err().contains("unknown unit `minutes`"));
        assert!(parse_interval("500ms").unwrap_err().contains("minimum"));
        assert!(parse_interval("").is_err());
        assert!(parse_interval("m").is_err());
    }

    #[test]
    fn attribution_fills_author_and_system() {
        let settings = CommentSettings::default();
        assert_eq!(
            settings.attribution(
                "Ada Lovelace",
                SystemKind::new(&tandem_model::SystemInfo {
                    slug: "azure-devops",
                    display_name: "Azure DevOps",
                    rich_text_format: tandem_model::RichTextFormat::Html,
                    comment_format: tandem_model::RichTextFormat::Html,
                    change_instants: tandem_model::InstantPrecision::Millisecond
                })
            ),
            "Ada Lovelace commented in Azure DevOps:"
        );
        assert!(settings.enabled(Side::One) && settings.enabled(Side::Two));
        assert_eq!(unknown_placeholders("{author} in {sytem} {author}"), vec!["{sytem}".to_string()]);
    }

    #[test]
    fn policy_names_match_the_file() {
        assert_eq!(ConflictPolicy::Side2Wins.name(), "side2-wins");
        assert_eq!(ConflictPolicy::default(), ConflictPolicy::LatestWins);
    }
}
