//! An integration's configuration: the YAML file, its JSON Schema, validation that reports every
//! problem with file, line, column and path, and the mapping logic the sync engine calls (field
//! mappings with directions, value maps, defaults, rich text, users, filters, comments, conflicts).
//!
//! Loading goes in three steps, each collecting problems instead of stopping at the first:
//! `spans` indexes where every node of the YAML is, `recover` deserialises the file types (`file`)
//! reporting every structural problem, and `validate` checks what the structure cannot express.

mod config;
mod convert;
mod field;
mod file;
mod filter;
mod path;
mod problems;
mod recover;
mod scalar;
mod settings;
mod spans;
mod stored;
mod systems;
mod users;
mod users_file;
mod validate;

pub use config::{ConfidentialAllowances, IntegrationConfig, SideConfig};
pub use convert::MappingError;
pub use field::{Direction, FieldKind, FieldMapping};
pub use filter::{Filter, FilterError};
pub use problems::{ConfigErrors, ConfigProblem};
pub use settings::{AttachmentSettings, CommentFlow, CommentSettings, ConflictPolicy, PollingSettings};
pub use stored::storable_text;
pub use systems::{CommonRules, SettingKey, SideProblem, SystemRules};
pub use users::{UserMapping, UserPair};

use problems::Problems;
use spans::{Position, SpanIndex};
use std::path::Path;

/// Loads the configuration file at `path`, and the users CSV it names (relative to the file); its sides
/// may name any of `systems`, whose rules check them.
pub fn load_file(path: &Path, systems: &[&dyn SystemRules]) -> Result<IntegrationConfig, ConfigErrors> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors::single(&shown, Position::START, format!("cannot read the configuration file: {error}"))
    })?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    load_str(&text, &shown, base_dir, systems)
}

/// Loads a configuration from `text`; `file` names it in problems, `base_dir` is where relative paths
/// in it (the users CSV) start; its sides may name any of `systems`.
pub fn load_str(
    text: &str,
    file: &str,
    base_dir: &Path,
    systems: &[&dyn SystemRules],
) -> Result<IntegrationConfig, ConfigErrors> {
    parse(text, file, base_dir, systems).map_err(|errors| errors.within(file, text))
}

fn parse(
    text: &str,
    file: &str,
    base_dir: &Path,
    systems: &[&dyn SystemRules],
) -> Result<IntegrationConfig, ConfigErrors> {
    let spans = SpanIndex::build(text)
        .map_err(|error| ConfigErrors::single(file, error.at, format!("invalid YAML: {}", error.message)))?;
    let mut problems = Problems::new(file, &spans);
    for duplicate in &spans.duplicates {
        let key = duplicate.path.last_key().unwrap_or_default();
        problems.at(&duplicate.path, duplicate.at, format!("duplicate key `{key}`"));
    }
    if !problems.is_empty() {
        return Err(problems.into_errors());
    }
    let mut value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|error| yaml_error(file, &error))?;
    value.apply_merge().map_err(|error| yaml_error(file, &error))?;
    if !value.is_mapping() {
        let found = if value.is_null() { "nothing" } else { "something else" };
        return Err(ConfigErrors::single(
            file,
            Position::START,
            format!("expected a mapping with `name`, `side1`, `side2` and `fields`, found {found}"),
        ));
    }
    let own_keys = validate::take_own_side_keys(&mut value);
    let config = recover::deserialize_all::<file::IntegrationFile>(value, &mut problems)
        .and_then(|parsed| validate::build(parsed, own_keys, &mut problems, base_dir, systems));
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(problems.into_errors()),
    }
}

/// The JSON Schema of the configuration file (draft 2020-12), for editors and `tandem schema`.
pub fn json_schema(systems: &[&dyn SystemRules]) -> serde_json::Value {
    file::schema(systems)
}

fn yaml_error(file: &str, error: &serde_yaml_ng::Error) -> ConfigErrors {
    let at = error
        .location()
        .map_or(Position::START, |location| Position { line: location.line(), column: location.column() });
    // The message repeats the location, which the problem already carries.
    let message = error.to_string();
    let message = message.rfind(" at line ").map_or(message.as_str(), |end| &message[..end]);
    ConfigErrors::single(file, at, format!("invalid YAML: {message}"))
}

/// The longest integration name: it names webhook URLs and the store's partitions, and a name of any
/// length arriving in a webhook URL must be refused before it costs a store call.
pub const MAX_INTEGRATION_NAME: usize = 64;

/// Whether `name` can name an integration: 1 to [`MAX_INTEGRATION_NAME`] lower-case letters, digits
/// and `-`.
pub fn is_integration_name(name: &str) -> bool {
    (1..=MAX_INTEGRATION_NAME).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
