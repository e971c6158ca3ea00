//! The semantic checks: turns the file as written into an `IntegrationConfig`, reporting every problem
//! a valid YAML structure can still have (missing keys, values that contradict each other, a filter
//! that does not parse, an unreadable users CSV).

use crate::config::{ConfidentialAllowances, IntegrationConfig, SideConfig};
use crate::convert::split_list;
use crate::field::{index, Direction, FieldKind, FieldMapping, ValueMap};
use crate::file::{
    AttachmentsFile, CommentFlowFile, CommentsFile, ConfidentialFile, FieldDefaultsFile, FieldFile, IntegrationFile,
    PollingFile, SideFile, UsersFile, SIDE_KEYS,
};
use crate::filter::Filter;
use crate::path::ConfigPath;
use crate::problems::Problems;
use crate::scalar::{Scalar, ScalarTable};
use crate::settings::{
    parse_duration, parse_interval, unknown_placeholders, AttachmentSettings, CommentFlow, CommentSettings,
    PollingSettings,
};
use crate::systems::{named, slugs, SystemRules};
use crate::users::{check_email, UserMapping, UserPair};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;
use tandem_model::{FieldValue, Side, SystemKind};
use url::{Host, Url};

/// What a field mapping's side says: a field id, or `none`.
const NO_FIELD: &str = "none";

/// Each side's keys that are not common ones, as written: set aside before the file is read, for the
/// side's system to accept or refuse.
pub(crate) type OwnSideKeys = [Vec<(String, serde_yaml_ng::Value)>; 2];

pub(crate) fn take_own_side_keys(root: &mut serde_yaml_ng::Value) -> OwnSideKeys {
    let mut own = OwnSideKeys::default();
    for side in Side::BOTH {
        let Some(serde_yaml_ng::Value::Mapping(mapping)) = root.get_mut(side_key(side)) else {
            continue;
        };
        let keys: Vec<String> = mapping
            .keys()
            .filter_map(serde_yaml_ng::Value::as_str)
            .filter(|key| !SIDE_KEYS.contains(key))
            .map(str::to_string)
            .collect();
        for key in keys {
            if let Some(value) = mapping.remove(key.as_str()) {
                own[index(side)].push((key, value));
            }
        }
    }
    own
}

pub(crate) fn build(
    file: IntegrationFile,
    own_keys: OwnSideKeys,
    problems: &mut Problems,
    base_dir: &Path,
    systems: &[&dyn SystemRules],
) -> Option<IntegrationConfig> {
    let root = ConfigPath::root();
    let name = required(problems, &root.key("name"), file.name);
    if let Some(name) = &name {
        if !crate::is_integration_name(name) {
            problems.value(
                &root.key("name"),
                format!(
                    "`{name}` may hold only lower-case letters, digits and `-`, at most {} of them",
                    crate::MAX_INTEGRATION_NAME
                ),
            );
        }
    }
    let [own1, own2] = own_keys;
    let side1 = side(problems, Side::One, file.side1, own1, systems);
    let side2 = side(problems, Side::Two, file.side2, own2, systems);
    let systems = [&side1, &side2].map(|side| side.as_ref().map_or(SystemKind::UNKNOWN, |side| side.system));
    let fields = fields(problems, file.fields, systems);
    for (side, config) in [(Side::One, &side1), (Side::Two, &side2)] {
        if let Some(filter) = config.as_ref().and_then(|config| config.filter.as_ref()) {
            check_filter_fields(problems, side, filter, &fields);
        }
    }
    let users = users(problems, file.users.unwrap_or_default(), base_dir);
    let comments = comments(problems, file.comments.unwrap_or_default());
    let attachments = attachments(problems, file.attachments.unwrap_or_default());
    let polling = polling(problems, file.polling.unwrap_or_default());
    let conflicts = file.conflicts.and_then(|conflicts| conflicts.policy).unwrap_or_default();
    if !problems.is_empty() {
        return None;
    }
    Some(IntegrationConfig {
        name: name?,
        side1: side1?,
        side2: side2?,
        fields,
        users,
        comments,
        attachments,
        conflicts,
        polling,
    })
}

fn side_key(side: Side) -> String {
    format!("side{}", side.number())
}

/// A key that must be present and not blank.
fn required(problems: &mut Problems, path: &ConfigPath, value: Option<String>) -> Option<String> {
    match value {
        None => {
            let key = path.last_key().unwrap_or_default();
            problems.value(path, format!("missing key `{key}`"));
            None
        }
        Some(text) if text.trim().is_empty() => {
            problems.value(path, "must not be empty");
            None
        }
        Some(text) => Some(text),
    }
}

fn side(
    problems: &mut Problems,
    side: Side,
    file: Option<SideFile>,
    own_keys: Vec<(String, serde_yaml_ng::Value)>,
    systems: &[&dyn SystemRules],
) -> Option<SideConfig> {
    let path = ConfigPath::root().key(side_key(side));
    let Some(file) = file else {
        problems.value(&path, format!("missing key `{}`", side_key(side)));
        return None;
    };
    let problems_before = problems.count();
    let rules = match file.system.as_deref() {
        None => {
            problems.value(&path.key("system"), format!("missing key `system` (one of {})", slugs(systems)));
            None
        }
        Some(slug) => {
            let rules = named(systems, slug);
            if rules.is_none() {
                problems
                    .value(&path.key("system"), format!("unknown system `{slug}`, expected one of {}", slugs(systems)));
            }
            rules
        }
    };
    let settings = own_settings(problems, &path, rules, file.system.is_some(), own_keys);
    let project = required(problems, &path.key("project"), file.project);
    let item_type = required(problems, &path.key("item_type"), file.item_type);
    let secret = required(problems, &path.key("secret"), file.secret);
    let webhook_secret = required(problems, &path.key("webhook_secret"), file.webhook_secret);
    let base_url = match file.base_url {
        Some(text) => checked_url(problems, &path.key("base_url"), &text),
        None if file.simulator => None,
        None => {
            problems.value(&path.key("base_url"), "missing key `base_url` (required unless `simulator: true`)");
            None
        }
    };
    let filter = file.filter.and_then(|expression| {
        let at = path.key("filter");
        Filter::parse(&expression)
            .map_err(|error| {
                let position = problems.spans().position_in_scalar(&at, &expression, error.column - 1);
                problems.at(
                    &at,
                    position,
                    format!("invalid filter at column {} of the expression: {}", error.column, error.message),
                );
            })
            .ok()
    });
    let confidential = confidential(problems, &path.key("confidential"), file.confidential);
    let rules = rules?;
    let config = SideConfig {
        system: rules.kind(),
        base_url,
        project: project?,
        item_type: item_type?,
        secret: secret?,
        webhook_secret: webhook_secret?,
        settings,
        filter,
        simulator: file.simulator,
        confidential,
    };
    // The system's own checks build on the common ones: a side that failed those is not asked about.
    if problems.count() == problems_before {
        for problem in rules.check_side(&config) {
            problems.value(&path.key(problem.key), problem.message);
        }
    }
    Some(config)
}

/// The side's own keys its system takes, as text; any other is refused at its key.
fn own_settings(
    problems: &mut Problems,
    path: &ConfigPath,
    rules: Option<&dyn SystemRules>,
    system_named: bool,
    own_keys: Vec<(String, serde_yaml_ng::Value)>,
) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    for (key, value) in own_keys {
        let at = path.key(key.as_str());
        let taken = rules.is_some_and(|rules| rules.setting_keys().iter().any(|setting| setting.key == key));
        if !taken {
            // A system tandem does not know may take the key: its name is the problem reported. With
            // no system named, the key may well be `system` misspelt.
            if rules.is_some() || !system_named {
                problems.key(&at, unknown_side_key(&key, rules));
            }
            continue;
        }
        match value {
            serde_yaml_ng::Value::String(text) => {
                settings.insert(key, text);
            }
            serde_yaml_ng::Value::Number(number) => {
                settings.insert(key, number.to_string());
            }
            serde_yaml_ng::Value::Bool(flag) => {
                settings.insert(key, flag.to_string());
            }
            _ => problems.value(&at, "must be a text, a number or true/false"),
        }
    }
    settings
}

fn unknown_side_key(key: &str, rules: Option<&dyn SystemRules>) -> String {
    let quoted =
        |keys: &mut dyn Iterator<Item = &str>| keys.map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ");
    let common = quoted(&mut SIDE_KEYS.iter().copied());
    let own = rules.map(|rules| (rules, quoted(&mut rules.setting_keys().iter().map(|setting| setting.key))));
    match own {
        Some((rules, own)) if !own.is_empty() => format!(
            "unknown key `{key}`, expected one of {common}, or of a {} side's own {own}",
            rules.kind().display_name()
        ),
        _ => format!("unknown key `{key}`, expected one of {common}"),
    }
}

/// The allowances of restricted content: names that are not blank.
fn confidential(problems: &mut Problems, path: &ConfigPath, file: Option<ConfidentialFile>) -> ConfidentialAllowances {
    let file = file.unwrap_or_default();
    let mut names = |key: &str, listed: Option<Vec<String>>| -> Vec<String> {
        let listed = listed.unwrap_or_default();
        for (position, name) in listed.iter().enumerate() {
            if name.trim().is_empty() || name.split_once(':').is_some_and(|(_, name)| name.trim().is_empty()) {
                problems.value(&path.key(key).index(position), "must name a restriction: `name` or `kind:name`");
            }
        }
        listed.into_iter().map(|name| name.trim().to_string()).collect()
    };
    ConfidentialAllowances { items: names("items", file.items), comments: names("comments", file.comments) }
}

/// Service URLs are https; plain http only reaches this machine (simulators, tests).
fn checked_url(problems: &mut Problems, path: &ConfigPath, text: &str) -> Option<Url> {
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(error) => {
            problems.value(path, format!("`{text}` is not a URL: {error}"));
            return None;
        }
    };
    let local = match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Some(url),
        "http" if local => Some(url),
        "http" => {
            problems.value(path, format!("`{text}` must use https (http is allowed only for localhost)"));
            None
        }
        scheme => {
            problems.value(path, format!("`{scheme}` URLs are not supported; use https"));
            None
        }
    }
}

fn check_filter_fields(problems: &mut Problems, side: Side, filter: &Filter, fields: &[FieldMapping]) {
    let at = ConfigPath::root().key(side_key(side)).key("filter");
    for (id, column) in filter.field_columns() {
        if !fields.iter().any(|mapping| mapping.field(side) == Some(id.as_str())) {
            let position = problems.spans().position_in_scalar(&at, filter.as_str(), column - 1);
            problems.at(
                &at,
                position,
                format!(
                    "the filter reads `{id}`, which no field mapping maps on side {}; map it so its value is read",
                    side.number()
                ),
            );
        }
    }
}

/// What the mappings seen so far use, to find names and field ids used twice.
#[derive(Default)]
struct Seen {
    names: HashMap<String, usize>,
    ids: [HashMap<String, String>; 2],
}

fn fields(problems: &mut Problems, list: Option<Vec<FieldFile>>, systems: [SystemKind; 2]) -> Vec<FieldMapping> {
    let path = ConfigPath::root().key("fields");
    let Some(list) = list else {
        problems.value(&path, "missing key `fields`: an integration maps at least one field");
        return Vec::new();
    };
    if list.is_empty() {
        problems.value(&path, "an integration maps at least one field");
    }
    let mut seen = Seen::default();
    list.into_iter()
        .enumerate()
        .filter_map(|(position, file)| field(problems, &path.index(position), position, file, systems, &mut seen))
        .collect()
}

fn field(
    problems: &mut Problems,
    path: &ConfigPath,
    position: usize,
    file: FieldFile,
    systems: [SystemKind; 2],
    seen: &mut Seen,
) -> Option<FieldMapping> {
    let name = required(problems, &path.key("name"), file.name);
    if let Some(name) = &name {
        if let Some(first) = seen.names.insert(name.clone(), position) {
            seen.names.insert(name.clone(), first);
            problems.value(&path.key("name"), format!("the name `{name}` is already used by fields[{first}]"));
        }
    }
    let mut ids: [Option<Option<String>>; 2] = [None, None];
    for (side, id) in [(Side::One, file.side1), (Side::Two, file.side2)] {
        let at = path.key(side_key(side));
        ids[index(side)] = required(problems, &at, id).map(|id| (id != NO_FIELD).then_some(id));
        if let (Some(Some(id)), Some(name)) = (&ids[index(side)], &name) {
            if let Some(other) = seen.ids[index(side)].get(id) {
                problems.value(&at, format!("side {} field `{id}` is already mapped by `{other}`", side.number()));
            } else {
                seen.ids[index(side)].insert(id.clone(), name.clone());
            }
        }
    }
    let direction = file.direction.unwrap_or_default();
    let kind = file.kind.unwrap_or_default();
    check_direction(problems, path, direction, &ids);

    let value_map = match (kind, &file.values) {
        (FieldKind::Option, Some(values)) => {
            Some(value_map(problems, path, values, file.reverse.as_ref(), direction.flows_from(Side::Two)))
        }
        (_, Some(_)) => {
            problems.value(&path.key("values"), format!("a value map needs `kind: option`; this mapping is `{kind}`"));
            None
        }
        (_, None) => None,
    };
    if file.reverse.is_some() && file.values.is_none() {
        problems.value(&path.key("reverse"), "`reverse` completes `values`, which is missing");
    }
    let defaults =
        defaults(problems, path, file.default.unwrap_or_default(), kind, systems, &ids, file.values.as_ref());
    let [Some(side1), Some(side2)] = ids else {
        return None;
    };
    Some(FieldMapping { name: name?, kind, direction, fields: [side1, side2], systems, value_map, defaults })
}

fn check_direction(
    problems: &mut Problems,
    path: &ConfigPath,
    direction: Direction,
    ids: &[Option<Option<String>>; 2],
) {
    if ids.iter().all(|id| matches!(id, Some(None))) {
        problems.value(&path.key("side2"), "both sides are `none`; a mapping needs a field on at least one side");
        return;
    }
    // A `none` side is a source without a value: the other side only gets its default on create, so
    // the direction must point away from it. Flowing into it would write a field that does not exist.
    for side in Side::BOTH {
        let away = match side {
            Side::One => Direction::OneToTwo,
            Side::Two => Direction::TwoToOne,
        };
        if matches!(ids[index(side)], Some(None)) && direction != away {
            problems.value(
                &path.key("direction"),
                format!(
                    "side {} is `none`, so values can only flow away from it (the other side gets its default on create); use `direction: \"{away}\"`",
                    side.number()
                ),
            );
        }
    }
}

/// Builds both directions of a value map; reports targets that cannot be mapped back and `reverse`
/// entries that contradict `values`.
fn value_map(
    problems: &mut Problems,
    path: &ConfigPath,
    values: &ScalarTable,
    reverse: Option<&ScalarTable>,
    maps_back: bool,
) -> ValueMap {
    let mut map = ValueMap::default();
    // Side 2 value → the side 1 values that map to it, in file order.
    let mut sources: BTreeMap<String, Vec<&Scalar>> = BTreeMap::new();
    for (side1, side2) in &values.0 {
        map.to_side2.insert(side1.text(), side2.to_field_value());
        sources.entry(side2.text()).or_default().push(side1);
    }
    for (side2, side1) in reverse.map(|table| table.0.as_slice()).unwrap_or_default() {
        let at = path.key("reverse").key(side2.text());
        let Some((known, target)) = values.0.iter().find(|(key, _)| key.text() == side1.text()) else {
            problems.value(
                &at,
                format!("maps `{}` back to `{}`, which is not a side 1 value in `values`", side2.text(), side1.text()),
            );
            continue;
        };
        if sources.contains_key(&side2.text()) && target.text() != side2.text() {
            problems.value(
                &at,
                format!(
                    "maps `{}` back to `{}`, but `values` maps `{}` to `{}`",
                    side2.text(),
                    side1.text(),
                    side1.text(),
                    target.text()
                ),
            );
            continue;
        }
        map.to_side1.insert(side2.text(), known.to_field_value());
    }
    for (target, keys) in sources {
        if map.to_side1.contains_key(&target) {
            continue;
        }
        match keys.as_slice() {
            [only] => {
                map.to_side1.insert(target, only.to_field_value());
            }
            [_, second, ..] if maps_back => {
                let names: Vec<String> = keys.iter().map(|key| format!("`{}`", key.text())).collect();
                problems.value(
                    &path.key("values").key(second.text()),
                    format!(
                        "side 2 value `{target}` comes from {}; add `reverse: {{ {target}: ... }}` to say which one it maps back to",
                        names.join(" and ")
                    ),
                );
            }
            _ => {}
        }
    }
    map
}

fn defaults(
    problems: &mut Problems,
    path: &ConfigPath,
    file: FieldDefaultsFile,
    kind: FieldKind,
    systems: [SystemKind; 2],
    ids: &[Option<Option<String>>; 2],
    values: Option<&ScalarTable>,
) -> [Option<FieldValue>; 2] {
    let mut defaults = [None, None];
    for (side, scalar) in [(Side::One, file.side1), (Side::Two, file.side2)] {
        let Some(scalar) = scalar else { continue };
        let at = path.key("default").key(side_key(side));
        if matches!(ids[index(side)], Some(None)) {
            problems.value(&at, format!("side {} is `none`; there is no field to write a default to", side.number()));
            continue;
        }
        if kind == FieldKind::User {
            problems.value(&at, "a user field's default is the side's default user: set `users.default` instead");
            continue;
        }
        if kind == FieldKind::Number && !matches!(scalar, Scalar::Number(_)) {
            problems.value(&at, format!("`{}` is not a number", scalar.text()));
            continue;
        }
        if let Some(values) = values.filter(|_| kind == FieldKind::Option) {
            let range: Vec<String> = values
                .0
                .iter()
                .map(|(side1, side2)| match side {
                    Side::One => side1.text(),
                    Side::Two => side2.text(),
                })
                .collect();
            if !range.contains(&scalar.text()) {
                problems.value(
                    &at,
                    format!(
                        "default `{}` is not a side {} value of the value map ({})",
                        scalar.text(),
                        side.number(),
                        range.join(", ")
                    ),
                );
                continue;
            }
        }
        defaults[index(side)] = Some(match (kind, &scalar) {
            (FieldKind::RichText, scalar) => FieldValue::RichText(tandem_rich_text::from_plain_text(
                systems[index(side)].rich_text_format(),
                &scalar.text(),
            )),
            (FieldKind::List, scalar) => FieldValue::List(split_list(&scalar.text())),
            (_, scalar) => scalar.to_field_value(),
        });
    }
    defaults
}

/// Where a user pair came from, to locate a problem with it.
enum PairOrigin {
    Inline(ConfigPath),
    Csv { file: String, line: usize },
}

fn users(problems: &mut Problems, file: UsersFile, base_dir: &Path) -> UserMapping {
    let path = ConfigPath::root().key("users");
    let mut inline = Vec::new();
    for (position, pair) in file.map.unwrap_or_default().into_iter().enumerate() {
        let at = path.key("map").index(position);
        let side1 = required_email(problems, &at.key("side1"), pair.side1);
        let side2 = required_email(problems, &at.key("side2"), pair.side2);
        if let (Some(side1), Some(side2)) = (side1, side2) {
            inline.push((UserPair { side1, side2 }, PairOrigin::Inline(at)));
        }
    }
    let mut from_file = Vec::new();
    if let Some(relative) = file.map_file {
        let at = path.key("map_file");
        let full = base_dir.join(&relative);
        let shown = full.display().to_string();
        match crate::users_file::read_users_file(&full) {
            Err(error) => problems.value(&at, format!("cannot read the users file `{shown}`: {error}")),
            Ok((rows, row_problems)) => {
                for (line, message) in row_problems {
                    problems.in_file(&shown, line, &at, message);
                }
                from_file = rows
                    .into_iter()
                    .map(|row| {
                        let origin = PairOrigin::Csv { file: shown.clone(), line: row.line };
                        (row.pair, origin)
                    })
                    .collect();
            }
        }
    }
    // The inline table overrides the file on purpose; only a table contradicting itself is a mistake.
    report_contradictions(problems, &inline);
    report_contradictions(problems, &from_file);
    let mut defaults = [None, None];
    let default = file.default.unwrap_or_default();
    for (side, email) in [(Side::One, default.side1), (Side::Two, default.side2)] {
        let at = path.key("default").key(side_key(side));
        defaults[index(side)] = email.filter(|email| match check_email(email) {
            Ok(()) => true,
            Err(message) => {
                problems.value(&at, message);
                false
            }
        });
    }
    UserMapping {
        match_by_email: file.match_by_email.unwrap_or(true),
        table: inline.into_iter().chain(from_file).map(|(pair, _)| pair).collect(),
        defaults,
    }
}

fn required_email(problems: &mut Problems, path: &ConfigPath, email: Option<String>) -> Option<String> {
    let email = required(problems, path, email)?;
    match check_email(&email) {
        Ok(()) => Some(email),
        Err(message) => {
            problems.value(path, message);
            None
        }
    }
}

/// The same e-mail paired with two different people on the other side.
fn report_contradictions(problems: &mut Problems, pairs: &[(UserPair, PairOrigin)]) {
    for side in Side::BOTH {
        let mut partners: HashMap<String, String> = HashMap::new();
        for (pair, origin) in pairs {
            let (own, other) = match side {
                Side::One => (&pair.side1, &pair.side2),
                Side::Two => (&pair.side2, &pair.side1),
            };
            match partners.get(&own.to_lowercase()) {
                Some(previous) if !previous.eq_ignore_ascii_case(other) => {
                    let message = format!("side {} user `{own}` is already paired with `{previous}`", side.number());
                    match origin {
                        PairOrigin::Inline(at) => problems.value(&at.key(side_key(side)), message),
                        PairOrigin::Csv { file, line } => {
                            problems.in_file(file, *line, &ConfigPath::root().key("users").key("map_file"), message)
                        }
                    }
                }
                Some(_) => {}
                None => {
                    partners.insert(own.to_lowercase(), other.clone());
                }
            }
        }
    }
}

fn comments(problems: &mut Problems, file: CommentsFile) -> CommentSettings {
    let defaults = CommentSettings::default();
    let attribution = file.attribution.unwrap_or(defaults.attribution);
    for placeholder in unknown_placeholders(&attribution) {
        problems.value(
            &ConfigPath::root().key("comments").key("attribution"),
            format!("unknown placeholder `{placeholder}`; use {{author}} or {{system}}"),
        );
    }
    let marker = file.marker.unwrap_or(defaults.marker);
    if marker.trim().is_empty() {
        problems.value(&ConfigPath::root().key("comments").key("marker"), "the marker must not be empty".to_string());
    }
    let mut flow = |key: &str, given: Option<CommentFlowFile>, default: CommentFlow| match given {
        None => default,
        Some(CommentFlowFile::All(true)) => CommentFlow::All,
        Some(CommentFlowFile::All(false)) => CommentFlow::Off,
        Some(CommentFlowFile::Mode(mode)) if mode == "marked" => CommentFlow::Marked,
        Some(CommentFlowFile::Mode(other)) => {
            let path = ConfigPath::root().key("comments").key(key);
            problems.value(&path, format!("`{other}` is not one of true, false, marked"));
            default
        }
    };
    CommentSettings {
        side1_to_side2: flow("side1_to_side2", file.side1_to_side2, defaults.side1_to_side2),
        side2_to_side1: flow("side2_to_side1", file.side2_to_side1, defaults.side2_to_side1),
        attribution,
        marker,
    }
}

fn attachments(problems: &mut Problems, file: AttachmentsFile) -> AttachmentSettings {
    let defaults = AttachmentSettings::default();
    let max_bytes = file.max_bytes.unwrap_or(defaults.max_bytes);
    if max_bytes == 0 || max_bytes > AttachmentSettings::LARGEST_MAX_BYTES {
        problems.value(
            &ConfigPath::root().key("attachments").key("max_bytes"),
            format!("{max_bytes} is not between 1 and {} (30 MB)", AttachmentSettings::LARGEST_MAX_BYTES),
        );
    }
    let max_files = file.max_files.unwrap_or(defaults.max_files);
    if max_files == 0 || max_files > AttachmentSettings::LARGEST_MAX_FILES {
        problems.value(
            &ConfigPath::root().key("attachments").key("max_files"),
            format!("{max_files} is not between 1 and {}", AttachmentSettings::LARGEST_MAX_FILES),
        );
    }
    AttachmentSettings {
        side1_to_side2: file.side1_to_side2.unwrap_or(defaults.side1_to_side2),
        side2_to_side1: file.side2_to_side1.unwrap_or(defaults.side2_to_side1),
        max_bytes: max_bytes.clamp(1, AttachmentSettings::LARGEST_MAX_BYTES),
        max_files: max_files.clamp(1, AttachmentSettings::LARGEST_MAX_FILES),
    }
}

fn polling(problems: &mut Problems, file: PollingFile) -> PollingSettings {
    let defaults = PollingSettings::default();
    let mut read = |key: &str, text: Option<String>, parse: fn(&str) -> Result<Duration, String>, default| {
        let Some(text) = text else {
            return default;
        };
        parse(&text).unwrap_or_else(|message| {
            problems.value(&ConfigPath::root().key("polling").key(key), message);
            default
        })
    };
    let interval = read("interval", file.interval, parse_interval, defaults.interval);
    let search_lag = read("search_lag", file.search_lag, parse_duration, defaults.search_lag);
    let concurrency = file.concurrency.map_or(defaults.concurrency, |most| most as usize);
    if !(1..=PollingSettings::LARGEST_CONCURRENCY).contains(&concurrency) {
        problems.value(
            &ConfigPath::root().key("polling").key("concurrency"),
            format!("{concurrency} is not between 1 and {}", PollingSettings::LARGEST_CONCURRENCY),
        );
    }
    PollingSettings { interval, search_lag, concurrency: concurrency.clamp(1, PollingSettings::LARGEST_CONCURRENCY) }
}
