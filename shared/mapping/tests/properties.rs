//! Property tests of the parsers of what people write: the integration file, the users CSV and the
//! filter expression. Whatever they hold, loading never panics; a refused file reports problems that
//! each point at a line and column of the text and name what is wrong; the documented example, broken
//! in one place, is refused with a problem at that place.

mod common;

use common::{examples_dir, json_schema, load_str};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use tandem_mapping::{ConfigErrors, Filter, IntegrationConfig};

const FILE: &str = "jira-azure-devops.yaml";

fn example() -> String {
    std::fs::read_to_string(examples_dir().join(FILE)).expect("the documented example is readable")
}

fn load(text: &str) -> Result<IntegrationConfig, ConfigErrors> {
    load_str(text, FILE, &examples_dir())
}

/// Every problem is in `text` (or in the users CSV it names), and says something.
fn assert_located(errors: &ConfigErrors, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!errors.problems.is_empty(), "refused without a problem");
    let lines: Vec<&str> = text.split('\n').collect();
    for problem in &errors.problems {
        prop_assert!(!problem.message.trim().is_empty(), "{problem}");
        prop_assert!(problem.line >= 1 && problem.column >= 1, "{problem}");
        if problem.file == FILE {
            prop_assert!(problem.line <= lines.len(), "{problem}: past the last line");
            let width = lines[problem.line - 1].trim_end_matches('\r').chars().count();
            prop_assert!(problem.column <= width + 1, "{problem}: past the end of line `{}`", lines[problem.line - 1]);
        } else {
            prop_assert!(problem.file.ends_with(".csv") && problem.path == "users.map_file", "{problem}");
        }
    }
    Ok(())
}

/// Loads `text`: accepted, or refused with located problems.
fn load_located(text: &str) -> Result<Option<ConfigErrors>, TestCaseError> {
    match load(text) {
        Ok(_) => Ok(None),
        Err(errors) => {
            assert_located(&errors, text)?;
            Ok(Some(errors))
        }
    }
}

/// A `key: value` line of the example, with the keys it sits under.
#[derive(Debug, Clone)]
struct KeyLine {
    /// 0-based line.
    index: usize,
    /// 0-based character column of the key.
    column: usize,
    key: String,
    /// The enclosing keys and this one, dotted; sequence items are not counted (`fields.side1`).
    path: String,
    /// The value written on the line after the key, without its comment; empty for a parent.
    value: String,
}

/// The example's schema keys, one per line: not the entries of value maps (`Done: Closed`), which are
/// data, not keys.
fn key_lines(text: &str) -> Vec<KeyLine> {
    let mut found = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let (column, rest) = match rest.strip_prefix("- ") {
            Some(item) => (indent + 2, item),
            None => (indent, rest),
        };
        let Some((key, value)) = rest.split_once(':') else { continue };
        let is_key = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && (value.is_empty() || value.starts_with(' '));
        if rest.starts_with('#') || !is_key {
            continue;
        }
        while stack.last().is_some_and(|(at, _)| *at >= column) {
            stack.pop();
        }
        let parent = stack.iter().map(|(_, key)| key.as_str()).collect::<Vec<_>>().join(".");
        stack.push((column, key.to_string()));
        if ["values", "reverse"].iter().any(|map| parent.ends_with(map)) {
            continue;
        }
        let value = value.split(" #").next().unwrap_or_default().trim().to_string();
        let path = if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") };
        found.push(KeyLine { index, column, key: key.to_string(), path, value });
    }
    found
}

/// Keys the example cannot do without, whose whole entry is one line.
const REQUIRED: &[&str] = &[
    "name",
    "side1.system",
    "side1.base_url",
    "side1.project",
    "side1.item_type",
    "side1.secret",
    "side1.webhook_secret",
    "side2.system",
    "side2.base_url",
    "side2.project",
    "side2.item_type",
    "side2.secret",
    "side2.webhook_secret",
    "fields.side1",
    "fields.side2",
];

/// Every key the JSON Schema knows, so that a renamed key is surely unknown.
fn schema_keys() -> BTreeSet<String> {
    fn walk(node: &Value, keys: &mut BTreeSet<String>) {
        match node {
            Value::Object(object) => {
                if let Some(Value::Object(properties)) = object.get("properties") {
                    keys.extend(properties.keys().cloned());
                }
                object.values().for_each(|child| walk(child, keys));
            }
            Value::Array(items) => items.iter().for_each(|child| walk(child, keys)),
            _ => {}
        }
    }
    let mut keys = BTreeSet::new();
    walk(&json_schema(), &mut keys);
    keys
}

fn with_line(text: &str, index: usize, replacement: Option<String>) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match replacement {
        Some(line) => lines[index] = line,
        None => {
            lines.remove(index);
        }
    }
    lines.join("\n") + "\n"
}

fn key_line() -> impl Strategy<Value = KeyLine> {
    prop::sample::select(key_lines(&example()))
}

/// The last segment of a problem's path (`fields[3].side1` → `side1`).
fn last_segment(path: &str) -> &str {
    path.rsplit(['.', ']']).next().unwrap_or(path)
}

/// Something that is not a scalar, a number, or text YAML may or may not read.
fn replacement_value() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        prop::collection::vec("[a-z0-9]{1,6}", 0..3).prop_map(|items| (format!("[{}]", items.join(", ")), true)),
        "[a-z]{1,6}".prop_map(|key| (format!("{{ {key}: 1 }}"), true)),
        any::<i64>().prop_map(|number| (number.to_string(), false)),
        "[^\n\r]{0,40}".prop_map(|garbage| (garbage, false)),
        ("\\PC{1,3}", 1_000..20_000usize)
            .prop_map(|(unit, length)| (format!("'{}'", unit.repeat(length).replace('\'', "''")), false)),
    ]
}

/// YAML-ish text: keys the file knows and others, scalars of every style, flow and block collections,
/// anchors, aliases and merges, sometimes indented wrongly.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        3 => prop::sample::select(schema_keys().into_iter().collect::<Vec<_>>()),
        1 => "[a-z<]{1,6}",
    ];
    let scalar = prop_oneof![
        "[a-zA-Z0-9 ._/-]{0,12}",
        "'[^'\n]{0,10}'",
        "\"[^\"\\\\\n]{0,10}\"",
        Just("~".to_string()),
        Just("true".to_string()),
        Just("1->2".to_string()),
        Just("jira".to_string()),
        Just("azure-devops".to_string()),
        Just("https://dev.azure.com/x".to_string()),
        "-?[0-9]{1,4}(\\.[0-9]{1,2})?",
        "\\*[ab]",
        "&[ab] [a-z]{1,4}",
        Just("|\n  block\n  text".to_string()),
        "[\\[\\]{},:#&*!|>%@`?-]{1,4}",
    ];
    #[derive(Debug, Clone)]
    enum Node {
        Scalar(String),
        List(Vec<Node>),
        Map(Vec<(String, Node)>),
    }
    fn render(node: &Node, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match node {
            Node::Scalar(text) => {
                out.push(' ');
                out.push_str(text);
                out.push('\n');
            }
            Node::List(items) if items.is_empty() => out.push_str(" []\n"),
            Node::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
            Node::List(items) => {
                out.push('\n');
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    render(item, indent + 2, out);
                }
            }
            Node::Map(entries) => {
                out.push('\n');
                for (key, value) in entries {
                    out.push_str(&pad);
                    out.push_str(key);
                    out.push(':');
                    render(value, indent + 2, out);
                }
            }
        }
    }
    let node = scalar.prop_map(Node::Scalar).prop_recursive(4, 40, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Node::List),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(Node::Map),
        ]
    });
    (
        prop::collection::vec(
            (prop::sample::select(vec!["name", "side1", "side2", "fields", "<<", "users"]), node),
            1..6,
        ),
        any::<u8>(),
    )
        .prop_map(|(entries, damage)| {
            let mut out = String::new();
            for (key, value) in entries {
                out.push_str(key);
                out.push(':');
                render(&value, 2, &mut out);
            }
            // Now and then, one line's indentation is off by one.
            let lines: Vec<&str> = out.lines().collect();
            if damage % 4 == 0 && !lines.is_empty() {
                let index = usize::from(damage) % lines.len();
                out = lines
                    .iter()
                    .enumerate()
                    .map(|(at, line)| if at == index { format!(" {line}\n") } else { format!("{line}\n") })
                    .collect();
            }
            out
        })
}

#[test]
fn the_example_loads_and_its_outline_is_read() {
    let text = example();
    assert!(load(&text).is_ok(), "{:?}", load(&text).err());
    let lines = key_lines(&text);
    let paths: BTreeSet<&str> = lines.iter().map(|line| line.path.as_str()).collect();
    for required in REQUIRED {
        assert!(paths.contains(required), "{required} in {paths:?}");
    }
    assert!(lines.iter().all(|line| !line.path.contains("values.")), "value map entries are data");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any text at all loads or is refused with located problems.
    #[test]
    fn any_text_is_refused_with_located_problems(
        text in prop_oneof![any::<String>(), "[a-z:\\- \n\t\\[\\]{}#&*!|>'\"%@`,?<]{0,200}"]
    ) {
        load_located(&text)?;
    }

    /// YAML of any shape, right or wrong, loads or is refused with located problems.
    #[test]
    fn any_yaml_is_refused_with_located_problems(text in yamlish()) {
        load_located(&text)?;
    }

    /// Without a required key, the example is refused, and a problem names the key.
    #[test]
    fn a_deleted_required_key_is_named(
        line in key_line().prop_filter("required", |line| REQUIRED.contains(&line.path.as_str()))
    ) {
        let text = with_line(&example(), line.index, None);
        let errors = load_located(&text)?.expect("refused");
        prop_assert!(
            errors.problems.iter().any(|problem| last_segment(&problem.path) == line.key),
            "{}: {errors}", line.path
        );
    }

    /// A key renamed to one the file does not know is never accepted: the problem is at the key.
    #[test]
    fn a_renamed_key_is_unknown_at_its_place(line in key_line(), suffix in "[a-z]{1,5}") {
        let renamed = format!("{}_{suffix}", line.key);
        prop_assume!(!schema_keys().contains(&renamed));
        let original = example();
        let old = original.lines().nth(line.index).expect("the line");
        let new = format!("{}{renamed}{}", &old[..line.column], &old[line.column + line.key.len()..]);
        let text = with_line(&original, line.index, Some(new));
        let errors = load_located(&text)?.expect("an unknown key is refused");
        let expected = format!("unknown key `{renamed}`");
        prop_assert!(
            errors.problems.iter().any(|problem| {
                let at = (problem.line, problem.column);
                problem.message.contains(&expected) && at == (line.index + 1, line.column + 1)
            }),
            "{}: {errors}", line.path
        );
    }

    /// A scalar replaced by a list, a mapping, a number, garbage or a huge string loads or is refused with
    /// located problems; a list or mapping is refused, with a problem on that line naming the key.
    #[test]
    fn a_replaced_scalar_is_named(
        line in key_line().prop_filter("a one-line scalar", |line| {
            !line.value.is_empty() && !line.value.starts_with(['{', '['])
        }),
        (value, collection) in replacement_value(),
    ) {
        let original = example();
        let indent = &original.lines().nth(line.index).expect("the line")[..line.column];
        let new = format!("{indent}{}: {value}", line.key);
        let text = with_line(&original, line.index, Some(new));
        let refused = load_located(&text)?;
        if collection {
            let errors = refused.expect("a collection where a scalar belongs is refused");
            prop_assert!(
                errors
                    .problems
                    .iter()
                    .any(|problem| problem.line == line.index + 1 && last_segment(&problem.path) == line.key),
                "{}: {errors}", line.path
            );
        }
    }

    /// Any line deleted, or indented differently, still loads or is refused with located problems.
    #[test]
    fn a_deleted_or_reindented_line_is_located(index in 0..example().lines().count(), change in 0u8..5) {
        let original = example();
        let line = original.lines().nth(index).expect("the line");
        let replacement = match change {
            0 => None,
            1 => Some(format!(" {line}")),
            2 => Some(format!("   {line}")),
            3 => Some(line.strip_prefix(' ').unwrap_or(line).to_string()),
            _ => Some(format!("\t{}", line.trim_start())),
        };
        load_located(&with_line(&original, index, replacement))?;
    }
}

/// The example with its users CSV in `dir`.
fn load_with_users(dir: &Path, csv: &str) -> Result<IntegrationConfig, ConfigErrors> {
    std::fs::write(dir.join("users.csv"), csv).expect("the CSV is written");
    load_str(&example(), FILE, dir)
}

/// A row of a generated users CSV, and the problem it must cause, if any.
#[derive(Debug, Clone)]
enum Row {
    Pair,
    Blank,
    Comment,
    /// One e-mail is not one; the problem quotes it.
    NotAnEmail(String, bool),
    /// 1 or 3 cells.
    Columns(usize),
}

fn row() -> impl Strategy<Value = Row> {
    prop_oneof![
        3 => Just(Row::Pair),
        1 => Just(Row::Blank),
        1 => Just(Row::Comment),
        2 => ("[a-z.]{1,8}", any::<bool>()).prop_map(|(text, first)| Row::NotAnEmail(text, first)),
        1 => prop::sample::select(vec![1usize, 3]).prop_map(Row::Columns),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any users CSV loads or is refused with problems on the CSV's own lines.
    #[test]
    fn any_users_csv_is_refused_with_located_problems(
        csv in prop_oneof![any::<String>(), "(side1,side2\n)?[a-z@.,\"# \r\n]{0,200}"]
    ) {
        let dir = tempfile::tempdir().expect("a temp dir");
        if let Err(errors) = load_with_users(dir.path(), &csv) {
            let lines = csv.split('\n').count();
            for problem in &errors.problems {
                prop_assert!(problem.file.ends_with("users.csv") && problem.path == "users.map_file", "{problem}");
                prop_assert!((1..=lines).contains(&problem.line) && !problem.message.is_empty(), "{problem}");
            }
        }
    }

    /// In a users CSV with blank lines, comments and either line ending, every bad row is reported at
    /// its own line, and no good row is.
    #[test]
    fn bad_users_rows_are_reported_at_their_line(rows in prop::collection::vec((row(), any::<bool>()), 0..12)) {
        let mut csv = String::from("side1,side2\n");
        let mut expected: Vec<(usize, String)> = Vec::new();
        let mut good_lines = Vec::new();
        for (number, (row, crlf)) in rows.iter().enumerate() {
            let line = number + 2;
            let pair = (format!("u{number}@fabrikam.com"), format!("u{number}@contoso.com"));
            let text = match row {
                Row::Pair => {
                    good_lines.push(line);
                    format!("{},{}", pair.0, pair.1)
                }
                Row::Blank => {
                    good_lines.push(line);
                    String::new()
                }
                Row::Comment => {
                    good_lines.push(line);
                    format!("# {},{}", pair.0, pair.1)
                }
                Row::NotAnEmail(bad, first) => {
                    expected.push((line, format!("`{bad}` is not an e-mail address")));
                    if *first { format!("{bad},{}", pair.1) } else { format!("{},{bad}", pair.0) }
                }
                Row::Columns(count) => {
                    expected.push((line, format!("found {count}")));
                    vec![pair.0.as_str(); *count].join(",")
                }
            };
            csv.push_str(&text);
            csv.push_str(if *crlf { "\r\n" } else { "\n" });
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let problems = match load_with_users(dir.path(), &csv) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.problems,
        };
        for (line, fragment) in &expected {
            prop_assert!(
                problems.iter().any(|problem| problem.line == *line && problem.message.contains(fragment)),
                "line {line}: {fragment} in {problems:#?}\n{csv}"
            );
        }
        for problem in &problems {
            prop_assert!(!good_lines.contains(&problem.line), "{problem} on a good line\n{csv}");
        }
    }
}

/// A filter expression built from the language's parts, and the field ids it reads, in order.
fn filter_expression() -> impl Strategy<Value = (String, Vec<String>)> {
    let field = prop_oneof!["[a-z][a-zA-Z0-9_]{0,8}(\\.[A-Z][a-zA-Z]{0,6}){0,2}", "\"[a-z ]{1,8}\""];
    let value = prop_oneof!["\"[^\"\\\\]{0,8}\"", "'[^'\\\\]{0,8}'", "-?[0-9]{1,4}(\\.[0-9]{1,2})?"];
    let test = (field, prop::collection::vec(value, 1..4), 0..7u8).prop_filter_map(
        "not a keyword",
        |(field, values, operator)| {
            let keywords = ["and", "or", "not", "in", "contains", "is", "empty"];
            if keywords.iter().any(|keyword| field.trim_matches('"').eq_ignore_ascii_case(keyword)) {
                return None;
            }
            let expression = match operator {
                0 => format!("{field} = {}", values[0]),
                1 => format!("{field} != {}", values[0]),
                2 => format!("{field} in [{}]", values.join(", ")),
                3 => format!("{field} not in [{}]", values.join(",")),
                4 => format!("{field} contains {}", values[0]),
                5 => format!("{field} is empty"),
                _ => format!("{field} IS NOT EMPTY"),
            };
            Some((expression, vec![field.trim_matches('"').to_string()]))
        },
    );
    test.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), prop::sample::select(vec!["and", "or", "AND"]), inner.clone()).prop_map(
                |((left, mut fields), operator, (right, more))| {
                    fields.extend(more);
                    (format!("{left} {operator} {right}"), fields)
                }
            ),
            inner.clone().prop_map(|(expression, fields)| (format!("not ({expression})"), fields)),
            inner.prop_map(|(expression, fields)| (format!("({expression})"), fields)),
        ]
    })
}

fn assert_filter_error(expression: &str) -> Result<(), TestCaseError> {
    if let Err(error) = Filter::parse(expression) {
        let past_end = expression.chars().count() + 1;
        prop_assert!((1..=past_end).contains(&error.column), "{expression:?}: {error}");
        prop_assert!(!error.message.is_empty(), "{expression:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text parses as a filter or is refused at a column inside it (or just past its end).
    #[test]
    fn any_text_is_a_filter_or_a_located_error(
        expression in prop_oneof![
            any::<String>(),
            "[a-z \"'!=()\\[\\],.0-9-]{0,40}",
            "(and|or|not|in|is|empty|[a-z]|\"x\"|=|!=|\\(|\\)|\\[|\\]|,| )*",
        ]
    ) {
        assert_filter_error(&expression)?;
    }

    /// Every expression written in the language parses, and reads the fields it names, each once.
    #[test]
    fn written_filters_parse_and_name_their_fields((expression, fields) in filter_expression()) {
        let filter = Filter::parse(&expression).map_err(|error| TestCaseError::fail(format!("{expression}: {error}")))?;
        let mut once = Vec::new();
        for field in fields {
            if !once.contains(&field) {
                once.push(field);
            }
        }
        prop_assert_eq!(filter.fields(), once);
        prop_assert_eq!(filter.as_str(), expression.as_str());
    }

    /// A written filter with one character dropped or inserted parses or is refused at a column in it.
    #[test]
    fn a_damaged_filter_is_a_located_error(
        (expression, _) in filter_expression(),
        at in any::<prop::sample::Index>(),
        inserted in prop::option::of(prop::sample::select(
            vec!['"', '\'', '(', ')', '[', ']', ',', '!', '=', '~', ' ', 'é']
        )),
    ) {
        let mut chars: Vec<char> = expression.chars().collect();
        let index = at.index(chars.len() + 1);
        match inserted {
            Some(c) => chars.insert(index, c),
            None if index < chars.len() => {
                chars.remove(index);
            }
            None => {}
        }
        assert_filter_error(&chars.into_iter().collect::<String>())?;
    }
}

// Sizes no real file has, which a hostile one may: fewer cases, each a big input.
proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Lists nested in a name, however deep, are refused with a located problem, never a crash.
    #[test]
    fn deeply_nested_yaml_is_refused(depth in 1..20_000usize, flow in any::<bool>()) {
        let text = if flow {
            format!("name: {}x{}\n", "[".repeat(depth), "]".repeat(depth))
        } else {
            // Block lists cost a line each: a few thousand levels make the point.
            let depth = depth.min(3_000);
            let levels: String = (0..depth).map(|level| format!("{}-\n", " ".repeat(level))).collect();
            format!("name:\n{levels}{}x\n", " ".repeat(depth))
        };
        prop_assert!(load_located(&text)?.is_some(), "a list is not a name");
    }

    /// Nesting is parsed up to a bound and refused past it, with a message saying so: never a crash.
    #[test]
    fn deeply_nested_filters_are_bounded(depth in prop_oneof![0..80usize, 0..20_000usize], negated in any::<bool>()) {
        let expression = if negated {
            format!("{}status = \"Done\"", "not ".repeat(depth))
        } else {
            format!("{}status = \"Done\"{}", "(".repeat(depth), ")".repeat(depth))
        };
        assert_filter_error(&expression)?;
        match Filter::parse(&expression) {
            Ok(_) => prop_assert!(depth <= 64),
            Err(error) => {
                prop_assert!(depth > 64 && error.message.contains("levels of `not` and parentheses"), "{error}")
            }
        }
    }

    /// A chain of any length of `and`s and `or`s parses and evaluates without a crash.
    #[test]
    fn long_chains_of_tests_are_evaluated(length in 1..20_000usize, conjunction in any::<bool>()) {
        let expression = (0..length)
            .map(|index| format!("f{} = \"x\"", index % 7))
            .collect::<Vec<_>>()
            .join(if conjunction { " and " } else { " or " });
        let filter = Filter::parse(&expression).map_err(|error| TestCaseError::fail(error.to_string()))?;
        let item = (0..7).map(|index| (format!("f{index}"), tandem_model::FieldValue::Text("x".into()))).collect();
        prop_assert!(filter.matches(&item));
        prop_assert_eq!(filter.fields().len(), length.min(7));
    }
}
