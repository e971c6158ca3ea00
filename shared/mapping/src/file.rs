//! The configuration file as written: these types are deserialised from YAML and are the source of the
//! JSON Schema, so their doc comments are the schema's descriptions. Keys a check needs to report as
//! missing are `Option`s marked `required` for the schema; `crate::validate` turns this into an
//! `IntegrationConfig`.

use crate::field::{Direction, FieldKind};
use crate::scalar::{Scalar, ScalarTable};
use crate::settings::ConflictPolicy;
use crate::systems::SystemRules;
use schemars::JsonSchema;
use serde::Deserialize;

/// A tandem integration: one project and item type in each of two systems, and how their items'
/// fields, users and comments map onto each other. Items created on either side are created on the
/// other and linked; after that, changes flow both ways as the field mappings allow.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "tandem integration")]
pub(crate) struct IntegrationFile {
    /// The integration's id: lower-case letters, digits and `-`. It names the integration in logs,
    /// webhook URLs and the store, so changing it starts a new integration with no links.
    #[schemars(required, regex(pattern = r"^[a-z0-9-]{1,64}$"))]
    pub name: Option<String>,
    /// Side 1 of the integration.
    #[schemars(required)]
    pub side1: Option<SideFile>,
    /// Side 2 of the integration.
    #[schemars(required)]
    pub side2: Option<SideFile>,
    /// How often each side is polled for changes webhooks may have missed.
    pub polling: Option<PollingFile>,
    /// What happens when both sides changed the same field since the last sync.
    pub conflicts: Option<ConflictsFile>,
    /// Which way comments are copied, and how a copied comment names its author.
    pub comments: Option<CommentsFile>,
    /// Which way files attached to items are copied, and how large a file may be.
    pub attachments: Option<AttachmentsFile>,
    /// How a user on one side is found on the other (user fields, comment authors).
    pub users: Option<UsersFile>,
    /// The field mappings: which field on side 1 corresponds to which field on side 2, and how values
    /// translate. Fields not listed here are never synced.
    #[schemars(required, length(min = 1))]
    pub fields: Option<Vec<FieldFile>>,
}

/// One side of the integration: a system, a project in it, and the item type that is synced.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Side")]
pub(crate) struct SideFile {
    /// The kind of system on this side, by slug (`jira`, `azure-devops`, …: the systems tandem is built
    /// with). A side may also take keys of its system's own, listed with the system.
    #[schemars(required)]
    pub system: Option<String>,
    /// The system's address: the Jira site (`https://example.atlassian.net`), the Azure DevOps
    /// organization (`https://dev.azure.com/fabrikam`). Must be https; http is accepted only for localhost.
    /// Required unless `simulator` is true.
    pub base_url: Option<String>,
    /// The Jira project key or Azure DevOps project name.
    #[schemars(required, length(min = 1))]
    pub project: Option<String>,
    /// The item type synced on this side: a Jira issue type or an Azure DevOps work item type.
    #[schemars(required, length(min = 1))]
    pub item_type: Option<String>,
    /// Name of the secret holding the service account's credentials (Jira e-mail and API token, Azure
    /// DevOps personal access token). The service account's own changes are never synced back.
    #[schemars(required, length(min = 1))]
    pub secret: Option<String>,
    /// Name of the secret holding what authenticates this side's webhooks: Jira's HMAC secret, or the
    /// Basic credentials of the Azure DevOps service hook subscription.
    #[schemars(required, length(min = 1))]
    pub webhook_secret: Option<String>,
    /// Which items of this side are synced, as an expression over this side's field ids, e.g.
    /// `priority in ["High", "Highest"] and status != "Done"`. Operators: `and`, `or`, `not`,
    /// parentheses, `=`, `!=`, `in [..]`, `not in [..]`, `contains`, `not contains`, `is empty`,
    /// `is not empty`; strings are quoted, numbers are not; field ids may contain dots or be quoted.
    /// Values compare as text, case-sensitively. Every field named must be mapped on this side.
    /// The filter applies to creates and updates: an unlinked item is created on the other side when it
    /// is created, or updated, while it matches. An item that stops matching stays linked and keeps
    /// syncing. No filter: every item of the project and item type is synced.
    pub filter: Option<String>,
    /// Local runs only: start a bundled simulator for this side instead of talking to a real system;
    /// `base_url` may then be left out.
    #[serde(default)]
    pub simulator: bool,
    /// Restricted content this side may copy to the other side. By default nothing restricted is ever
    /// copied: not an item with a Jira security level, not a Jira comment visible only to a role or a
    /// group, not a Service Management internal note. A linked item that becomes restricted stops
    /// syncing (both ways), and the copy of a comment that becomes restricted (or is deleted) is removed.
    pub confidential: Option<ConfidentialFile>,
}

/// Restrictions whose content may be copied anyway, each as the restriction's name or `kind:name`
/// (kinds: `security-level`, `role`, `group`, `internal`), compared without regard to case.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Confidential")]
pub(crate) struct ConfidentialFile {
    /// Items with these restrictions are copied, e.g. `["Internal"]` for the Jira security level
    /// "Internal".
    pub items: Option<Vec<String>>,
    /// Comments with these restrictions are copied, e.g. `["role:Developers"]`.
    pub comments: Option<Vec<String>>,
}

/// Polling settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Polling")]
pub(crate) struct PollingFile {
    /// Time between polls, as a number and a unit (`ms`, `s`, `m`, `h`, `d`), several allowed:
    /// `30s`, `5m`, `1h30m`. At least one second. Default `5m`.
    #[schemars(regex(pattern = r"^\s*([0-9]+\s*(ms|s|m|h|d)\s*)+$"))]
    pub interval: Option<String>,
    /// How long the systems' searches may take to show a change (Jira's JQL search and Azure DevOps'
    /// WIQL are eventually consistent). Polls read this far back past their watermark, so an item that
    /// shows up in search late is still synced, and a worker taking over an unfinished creation waits
    /// this long before it trusts a search for the copy. Same form as `interval`; `0s` allowed.
    /// Default `60s`.
    #[schemars(regex(pattern = r"^\s*([0-9]+\s*(ms|s|m|h|d)\s*)+$"))]
    pub search_lag: Option<String>,
    /// The most changed items a poll syncs at once, 1 to 64. A poll starts at 4 (or this, if fewer),
    /// grows while the systems answer, and halves whenever one asks it to slow down (a 429). Default 16.
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: Option<u32>,
}

/// Conflict settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Conflicts")]
pub(crate) struct ConflictsFile {
    /// Which change wins when both sides changed the same field since the last sync. Default
    /// `latest-wins`. Every conflict is recorded, whoever wins.
    pub policy: Option<ConflictPolicy>,
}

/// Comment settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Comments")]
pub(crate) struct CommentsFile {
    /// Copy comments made on side 1 to side 2: `true` (default), `false`, or `marked` (only comments
    /// whose text holds `marker`).
    pub side1_to_side2: Option<CommentFlowFile>,
    /// Copy comments made on side 2 to side 1: `true` (default), `false`, or `marked`.
    pub side2_to_side1: Option<CommentFlowFile>,
    /// What a comment's text holds to be copied where a direction is `marked` (case-insensitive).
    /// Default `#sync`.
    pub marker: Option<String>,
    /// The line a copied comment starts with, since it is posted by the service account.
    /// Placeholders: `{author}` (the author's display name, else e-mail) and `{system}` (the system
    /// the comment was made in). Default `{author} commented in {system}:`.
    pub attribution: Option<String>,
}

/// Attachment settings. Each new file is copied once; when the original is removed, so is its copy.
/// A file larger than `max_bytes` is not copied: the item's history says so, with a link to it.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Attachments")]
pub(crate) struct AttachmentsFile {
    /// Copy files attached on side 1 to side 2. Default true.
    pub side1_to_side2: Option<bool>,
    /// Copy files attached on side 2 to side 1. Default true.
    pub side2_to_side1: Option<bool>,
    /// The largest file copied, in bytes: default 10485760 (10 MB), at most 31457280 (30 MB).
    #[schemars(range(min = 1, max = 31457280))]
    pub max_bytes: Option<u64>,
    /// The most files copied from one item to its copy (images in its texts included): default 100,
    /// at most 1000. Files past it are recorded, not copied.
    #[schemars(range(min = 1, max = 1000))]
    pub max_files: Option<u32>,
}

/// Which comments flow one way: all of them, none, or `marked` ones.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum CommentFlowFile {
    All(bool),
    /// `marked`.
    Mode(String),
}

/// User mapping. A user on the other side is found, in order: in the explicit table (`map`, then
/// `map_file`; e-mails compare case-insensitively), then by the same e-mail address when
/// `match_by_email` is true. When the source has no user, or no target user is found, the target
/// side's `default` user is written (if set; otherwise the field is left empty).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Users")]
pub(crate) struct UsersFile {
    /// Look the user up by the same e-mail address on the other side. Default true.
    pub match_by_email: Option<bool>,
    /// A CSV file of e-mail pairs, relative to this configuration file, with the header `side1,side2`.
    pub map_file: Option<String>,
    /// Explicit e-mail pairs, checked before `map_file`.
    pub map: Option<Vec<UserPairFile>>,
    /// The user written on each side when no matching user is found.
    pub default: Option<UserDefaultsFile>,
}

/// One person's e-mail address on each side.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "UserPair")]
pub(crate) struct UserPairFile {
    /// The e-mail address on side 1.
    #[schemars(required)]
    pub side1: Option<String>,
    /// The e-mail address on side 2.
    #[schemars(required)]
    pub side2: Option<String>,
}

/// The default user of each side, by e-mail.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "UserDefaults")]
pub(crate) struct UserDefaultsFile {
    /// Written on side 1 when no matching user is found.
    pub side1: Option<String>,
    /// Written on side 2 when no matching user is found.
    pub side2: Option<String>,
}

/// A field mapping: one field on each side (or `none` on one of them) and how values translate.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FieldMapping")]
pub(crate) struct FieldFile {
    /// The mapping's name, unique in the integration; conflicts and logs use it.
    #[schemars(required, length(min = 1))]
    pub name: Option<String>,
    /// The field id on side 1 (Jira: `summary`, `priority`, `customfield_10010`; Azure DevOps:
    /// `System.Title`), or `none` when side 1 has no such field: then nothing is read from side 1,
    /// side 2 only gets its `default` when an item is created there, and `direction` must be `1->2`.
    #[schemars(required, length(min = 1))]
    pub side1: Option<String>,
    /// The field id on side 2, or `none` (see `side1`).
    #[schemars(required, length(min = 1))]
    pub side2: Option<String>,
    /// Which way values flow: `1->2`, `2->1` or `both`. Default `both`.
    pub direction: Option<Direction>,
    /// The kind of value. Default `text`.
    pub kind: Option<FieldKind>,
    /// Option fields only: side 1 value → side 2 value. The YAML type of each value is kept (`2` is
    /// written as a number, `"2"` as text). Values flowing 2->1 use the inverted table; when several
    /// side 1 values map to the same side 2 value, `reverse` must say which one it maps back to.
    /// A value with no entry gets the target side's `default`, or fails to sync if there is none.
    pub values: Option<ScalarTable>,
    /// Side 2 value → side 1 value, for 2->1 only: settles side 2 values several side 1 values share,
    /// and adds side 2 values that map one way only (`Resolved: Done`). Each target must be a side 1
    /// value of `values`.
    pub reverse: Option<ScalarTable>,
    /// The value written on each side when the source value is empty or has no value-map entry, and,
    /// for a `none` source, on create.
    pub default: Option<FieldDefaultsFile>,
}

/// A default per side.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FieldDefaults")]
pub(crate) struct FieldDefaultsFile {
    /// The default written on side 1.
    pub side1: Option<Scalar>,
    /// The default written on side 2.
    pub side2: Option<Scalar>,
}

/// The schema of the configuration file.
/// The keys every side takes, whatever its system: what [`SideFile`] reads. The loader sets the other
/// keys of a side aside for its system's rules.
pub(crate) const SIDE_KEYS: [&str; 9] =
    ["system", "base_url", "project", "item_type", "secret", "webhook_secret", "filter", "simulator", "confidential"];

/// The schema of the file, with each system's slug and own side keys added to `Side`.
pub(crate) fn schema(systems: &[&dyn SystemRules]) -> serde_json::Value {
    let mut schema = schemars::schema_for!(IntegrationFile).to_value();
    // Each side's schema, wherever schemars put it (inlined under each side, or shared in `$defs`).
    for pointer in ["/properties/side1/properties", "/properties/side2/properties", "/$defs/Side/properties"] {
        let Some(side) = schema.pointer_mut(pointer) else {
            continue;
        };
        if let Some(system) = side.get_mut("system") {
            system["enum"] = systems.iter().map(|rules| serde_json::Value::from(rules.kind().slug())).collect();
        }
        for rules in systems {
            for setting in rules.setting_keys() {
                let description = format!("{} sides only: {}", rules.kind().display_name(), setting.description);
                // Written as any scalar (`remote_links: true`, `api_share: 80`); read as its text.
                let types = ["string", "boolean", "number"];
                side[setting.key] = serde_json::json!({ "type": types, "description": description });
            }
        }
    }
    schema
}
