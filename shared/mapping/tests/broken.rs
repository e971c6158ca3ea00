//! A table of broken integration files: each reports exactly the expected problems, at the expected
//! line, column and path.

mod common;

use common::load_str;

use std::path::Path;
use tandem_mapping::ConfigProblem;

/// A valid file; cases edit it. Line numbers below refer to this layout.
const BASE: &str = "\
name: demo
side1:
  system: jira
  base_url: https://example.atlassian.net
  project: OPS
  item_type: Bug
  secret: s1
  webhook_secret: w1
side2:
  system: azure-devops
  base_url: https://dev.azure.com/fabrikam
  project: Fabrikam
  item_type: Bug
  secret: s2
  webhook_secret: w2
fields:
  - name: title
    side1: summary
    side2: System.Title
";

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "the base holds `{from}`");
    BASE.replacen(from, to, 1)
}

fn append(lines: &str) -> String {
    format!("{BASE}{lines}")
}

/// The expected problem: line, column, path, and a fragment of the message.
type Expected = (usize, usize, &'static str, &'static str);

fn problems(text: &str, base_dir: &Path) -> Vec<ConfigProblem> {
    match load_str(text, "demo.yaml", base_dir) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.problems,
    }
}

fn check(case: &str, text: &str, base_dir: &Path, expected: &[Expected]) {
    let found = problems(text, base_dir);
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), expected.len(), "{case}: {shown:#?}");
    for (problem, (line, column, path, fragment)) in found.iter().zip(expected) {
        assert_eq!((problem.line, problem.column, problem.path.as_str()), (*line, *column, *path), "{case}: {problem}");
        assert!(problem.message.contains(fragment), "{case}: `{fragment}` in {problem}");
    }
}

#[test]
fn the_base_file_is_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(problems(BASE, dir.path()), Vec::new());
}

#[test]
fn structural_problems() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: Vec<(&str, String, Vec<Expected>)> = vec![
        ("unknown top-level key", append("colour: blue\n"), vec![(20, 1, "colour", "unknown key `colour`")]),
        (
            "misspelt key: unknown, and the real one missing",
            edit("  project: OPS", "  projcet: OPS"),
            vec![(2, 1, "side1.project", "missing key `project`"), (5, 3, "side1.projcet", "unknown key `projcet`")],
        ),
        ("wrong type", edit("  secret: s1", "  secret: [s1]"), vec![(7, 11, "side1.secret", "invalid type: sequence")]),
        (
            "unknown system",
            edit("  system: jira", "  system: jra"),
            vec![(3, 11, "side1.system", "unknown system `jra`, expected one of `jira`, `azure-devops`")],
        ),
        (
            "problems in several places are all reported",
            edit("  system: jira", "  system: jra").replace("  secret: s2", "  secret: 2s\n  colour: x")
                + "polling: { interval: fast }\n",
            vec![
                (3, 11, "side1.system", "unknown system `jra`"),
                (15, 3, "side2.colour", "unknown key `colour`"),
                (21, 22, "polling.interval", "`fast` is not a duration"),
            ],
        ),
        (
            "a field mapping of the wrong type",
            append("  - just a string\n"),
            vec![(20, 5, "fields[1]", "invalid type: string")],
        ),
        (
            "unknown direction",
            append("  - name: x\n    side1: a\n    side2: b\n    direction: sideways\n"),
            vec![(23, 16, "fields[1].direction", "unknown variant `sideways`")],
        ),
        (
            "duplicate key",
            edit("  project: OPS", "  project: OPS\n  project: OPS2"),
            vec![(6, 3, "side1.project", "duplicate key")],
        ),
        ("YAML syntax", edit("  project: OPS", "  project: [OPS"), vec![(6, 12, "", "invalid YAML")]),
        ("not a mapping", "- a\n- b\n".to_string(), vec![(1, 1, "", "expected a mapping")]),
        ("empty file", String::new(), vec![(1, 1, "", "found nothing")]),
    ];
    for (case, text, expected) in cases {
        check(case, &text, dir.path(), &expected);
    }
}

#[test]
fn side_problems() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: Vec<(&str, String, Vec<Expected>)> = vec![
        (
            "missing secrets",
            edit("  secret: s1\n  webhook_secret: w1\n", ""),
            vec![
                (2, 1, "side1.secret", "missing key `secret`"),
                (2, 1, "side1.webhook_secret", "missing key `webhook_secret`"),
            ],
        ),
        (
            "missing project and item type",
            edit("  project: Fabrikam\n  item_type: Bug\n", ""),
            vec![
                (9, 1, "side2.project", "missing key `project`"),
                (9, 1, "side2.item_type", "missing key `item_type`"),
            ],
        ),
        ("blank secret", edit("  secret: s1", "  secret: ''"), vec![(7, 11, "side1.secret", "must not be empty")]),
        (
            "plain http",
            edit("https://example.atlassian.net", "http://example.atlassian.net"),
            vec![(4, 13, "side1.base_url", "must use https")],
        ),
        (
            "not a URL",
            edit("https://example.atlassian.net", "example.atlassian.net"),
            vec![(4, 13, "side1.base_url", "is not a URL")],
        ),
        ("ftp", edit("https://example.atlassian.net", "ftp://example.net"), vec![(4, 13, "side1.base_url", "`ftp` URLs")]),
        (
            "no base URL without a simulator",
            edit("  base_url: https://example.atlassian.net\n", ""),
            vec![(2, 1, "side1.base_url", "required unless `simulator: true`")],
        ),
        (
            "a key of another system's own",
            edit("  secret: s1", "  secret: s1\n  identities_url: https://vssps.dev.azure.com/x"),
            vec![(8, 3, "side1.identities_url", "unknown key `identities_url`, expected one of `system`, `base_url`")],
        ),
        (
            "a key a system takes, where it is written",
            edit("  secret: s2", "  secret: s2\n  identities_url: https://vssps.dev.azure.com/x"),
            vec![],
        ),
        (
            "the system's own check of its own key",
            edit("  secret: s2", "  secret: s2\n  identities_url: vssps.dev.azure.com"),
            vec![(15, 19, "side2.identities_url", "must be an https URL")],
        ),
        (
            "the system's own check of a common key",
            edit("  project: Fabrikam", "  project: -Fabrikam"),
            vec![(12, 12, "side2.project", "must not start with `-`")],
        ),
        (
            "a system's own key must be a text",
            edit("  secret: s2", "  secret: s2\n  identities_url: [a]"),
            vec![(15, 19, "side2.identities_url", "must be a text")],
        ),
        (
            "no system check while a common key is wrong",
            edit("  project: Fabrikam", "  project: -Fabrikam").replace("  secret: s2", "  secret: ''"),
            vec![(14, 11, "side2.secret", "must not be empty")],
        ),
        ("missing side", BASE.replace("side2:\n", "sideB:\n").replace("  system: azure-devops\n  base_url: https://dev.azure.com/fabrikam\n  project: Fabrikam\n  item_type: Bug\n  secret: s2\n  webhook_secret: w2\n", ""), vec![
            (1, 1, "side2", "missing key `side2`"),
            (9, 1, "sideB", "unknown key `sideB`"),
        ]),
        ("bad name", edit("name: demo", "name: Demo_1"), vec![(1, 7, "name", "lower-case letters")]),
    ];
    for (case, text, expected) in cases {
        check(case, &text, dir.path(), &expected);
    }
}

#[test]
fn field_mapping_problems() {
    let dir = tempfile::tempdir().expect("temp dir");
    let option = |values: &str, extra: &str| {
        append(&format!(
            "  - name: p\n    side1: priority\n    side2: P\n    kind: option\n    values: {values}\n{extra}"
        ))
    };
    let cases: Vec<(&str, String, Vec<Expected>)> = vec![
        (
            "duplicate name",
            append("  - name: title\n    side1: description\n    side2: System.Description\n"),
            vec![(20, 11, "fields[1].name", "already used by fields[0]")],
        ),
        (
            "side id used twice",
            append("  - name: other\n    side1: summary\n    side2: System.Description\n"),
            vec![(21, 12, "fields[1].side1", "already mapped by `title`")],
        ),
        (
            "none on both sides",
            append("  - name: x\n    side1: none\n    side2: none\n"),
            vec![(22, 12, "fields[1].side2", "both sides are `none`")],
        ),
        (
            "direction into a none side",
            append("  - name: sev\n    side1: none\n    side2: Severity\n    direction: \"2->1\"\n"),
            vec![(23, 16, "fields[1].direction", "use `direction: \"1->2\"`")],
        ),
        (
            "the default direction with a none side",
            append("  - name: sev\n    side1: Severity\n    side2: none\n"),
            vec![(20, 5, "fields[1].direction", "use `direction: \"2->1\"`")],
        ),
        (
            "missing side id",
            append("  - name: x\n    side1: a\n"),
            vec![(20, 5, "fields[1].side2", "missing key `side2`")],
        ),
        (
            "value map on a text field",
            append("  - name: p\n    side1: priority\n    side2: P\n    values: { High: 1 }\n"),
            vec![(23, 13, "fields[1].values", "needs `kind: option`")],
        ),
        (
            "value map that cannot be inverted",
            option("{ Low: 4, Lowest: 4 }", ""),
            vec![(24, 31, "fields[1].values.Lowest", "add `reverse: { 4: ... }`")],
        ),
        ("one-way value map needs no inversion", option("{ Low: 4, Lowest: 4 }", "    direction: \"1->2\"\n"), vec![]),
        (
            "reverse target not in values",
            option("{ Low: 4, Lowest: 4 }", "    reverse: { 4: Lowish }\n"),
            vec![
                (24, 31, "fields[1].values.Lowest", "add `reverse"),
                (25, 19, "fields[1].reverse.4", "`Lowish`, which is not a side 1 value"),
            ],
        ),
        (
            "reverse contradicting values",
            option("{ High: 2, Low: 4 }", "    reverse: { 2: Low }\n"),
            vec![(25, 19, "fields[1].reverse.2", "but `values` maps `Low` to `4`")],
        ),
        ("reverse without values", append("  - name: p\n    side1: priority\n    side2: P\n    kind: option\n    reverse: { 2: Low }\n"), vec![(24, 14, "fields[1].reverse", "`reverse` completes `values`")]),
        (
            "default outside the value map",
            option("{ High: 2, Low: 4 }", "    default: { side1: Medium, side2: 5 }\n"),
            vec![
                (25, 23, "fields[1].default.side1", "default `Medium` is not a side 1 value of the value map (High, Low)"),
                (25, 38, "fields[1].default.side2", "default `5` is not a side 2 value of the value map (2, 4)"),
            ],
        ),
        (
            "default on a none side",
            append("  - name: sev\n    side1: none\n    side2: Severity\n    direction: \"1->2\"\n    default: { side1: x, side2: y }\n"),
            vec![(24, 23, "fields[1].default.side1", "side 1 is `none`")],
        ),
        (
            "default of a user field",
            append("  - name: who\n    side1: assignee\n    side2: System.AssignedTo\n    kind: user\n    default: { side2: a@b.com }\n"),
            vec![(24, 23, "fields[1].default.side2", "users.default")],
        ),
        (
            "number default that is not a number",
            append("  - name: n\n    side1: n1\n    side2: n2\n    kind: number\n    default: { side2: many }\n"),
            vec![(24, 23, "fields[1].default.side2", "not a number")],
        ),
        ("no fields", BASE.replace("fields:\n  - name: title\n    side1: summary\n    side2: System.Title\n", "fields: []\n"), vec![(16, 9, "fields", "at least one field")]),
    ];
    for (case, text, expected) in cases {
        check(case, &text, dir.path(), &expected);
    }
}

#[test]
fn filter_problems() {
    let dir = tempfile::tempdir().expect("temp dir");
    let with_filter = |filter: &str| {
        edit("  item_type: Bug\n  secret: s1", &format!("  item_type: Bug\n  filter: {filter}\n  secret: s1"))
    };
    let cases: Vec<(&str, String, Vec<Expected>)> = vec![
        (
            "filter that does not parse: the column inside the expression",
            with_filter("'summary = Done'"),
            vec![(7, 22, "side1.filter", "column 11 of the expression: expected a quoted value")],
        ),
        ("plain scalar filter", with_filter("summary = Done"), vec![(7, 21, "side1.filter", "column 11")]),
        (
            "filter naming a field this side does not map",
            with_filter("'summary = \"x\" and status = \"Done\"'"),
            vec![(7, 30, "side1.filter", "reads `status`, which no field mapping maps on side 1")],
        ),
        (
            "filter naming the other side's field",
            with_filter("'System.Title = \"x\"'"),
            vec![(7, 12, "side1.filter", "reads `System.Title`")],
        ),
        ("a valid filter", with_filter("'summary contains \"x\"'"), vec![]),
    ];
    for (case, text, expected) in cases {
        check(case, &text, dir.path(), &expected);
    }
}

#[test]
fn confidential_allowances_must_name_a_restriction() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text =
        edit("  webhook_secret: w1\n", "  webhook_secret: w1\n  confidential:\n    items: [Internal, \"role: \"]\n");
    check(
        "blank restriction",
        &text,
        dir.path(),
        &[(10, 23, "side1.confidential.items[1]", "must name a restriction")],
    );
    let allowed = edit(
        "  webhook_secret: w1\n",
        "  webhook_secret: w1\n  confidential:\n    items: [\"security-level:Internal\"]\n    comments: [\"role:Developers\"]\n",
    );
    let config =
        load_str(&format!("{allowed}polling:\n  search_lag: 0s\n  concurrency: 32\n"), "demo.yaml", dir.path())
            .expect("valid");
    assert_eq!(config.side1.confidential.items, ["security-level:Internal"]);
    assert_eq!(config.side1.confidential.comments, ["role:Developers"]);
    assert!(config.side2.confidential.items.is_empty(), "nothing restricted is copied by default");
    assert_eq!(config.polling.search_lag, std::time::Duration::ZERO);
    assert_eq!(config.polling.concurrency, 32);
}

#[test]
fn settings_problems() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.csv"), "side1,side2\na@x.com\nb@x.com,c@y.com\nb@x.com,d@y.com\n")
        .expect("writes");
    std::fs::write(dir.path().join("header.csv"), "jira,ado\n").expect("writes");
    let cases: Vec<(&str, String, Vec<Expected>)> = vec![
        (
            "users file missing",
            append("users:\n  map_file: nope.csv\n"),
            vec![(21, 13, "users.map_file", "cannot read the users file")],
        ),
        (
            "inline user that is not an e-mail",
            append("users:\n  map: [{ side1: ada, side2: ada@y.com }]\n"),
            vec![(21, 18, "users.map[0].side1", "`ada` is not an e-mail address")],
        ),
        (
            "inline table contradicting itself",
            append(
                "users:\n  map:\n    - { side1: a@x.com, side2: b@y.com }\n    - { side1: A@x.com, side2: c@y.com }\n",
            ),
            vec![(23, 16, "users.map[1].side1", "already paired with `b@y.com`")],
        ),
        (
            "default user that is not an e-mail",
            append("users:\n  default: { side2: triage }\n"),
            vec![(21, 21, "users.default.side2", "not an e-mail")],
        ),
        (
            "bad duration",
            append("polling:\n  interval: 5 minutes\n"),
            vec![(21, 13, "polling.interval", "unknown unit `minutes`")],
        ),
        (
            "duration without a unit",
            append("polling:\n  interval: 300\n"),
            vec![(21, 13, "polling.interval", "invalid type: integer `300`, expected a string")],
        ),
        (
            "unknown attribution placeholder",
            append("comments:\n  attribution: \"{user} wrote in {system}:\"\n"),
            vec![(21, 16, "comments.attribution", "unknown placeholder `{user}`")],
        ),
        (
            "unknown conflict policy",
            append("conflicts: { policy: newest }\n"),
            vec![(20, 22, "conflicts.policy", "unknown variant `newest`")],
        ),
        (
            "search lag that is not a duration",
            append("polling:\n  search_lag: a minute\n"),
            vec![(21, 15, "polling.search_lag", "not a duration")],
        ),
        (
            "no item at once",
            append("polling:\n  concurrency: 0\n"),
            vec![(21, 16, "polling.concurrency", "0 is not between 1 and 64")],
        ),
        (
            "more items at once than a poll may sync",
            append("polling:\n  concurrency: 65\n"),
            vec![(21, 16, "polling.concurrency", "65 is not between 1 and 64")],
        ),
    ];
    for (case, text, expected) in cases {
        check(case, &text, dir.path(), &expected);
    }
}

#[test]
fn users_csv_problems_name_the_csv_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.csv"), "side1,side2\na@x.com\nb@x.com,c@y.com\nB@x.com,d@y.com\n")
        .expect("writes");
    let found = problems(&append("users:\n  map_file: bad.csv\n"), dir.path());
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 2, "{shown:#?}");
    assert!(found.iter().all(|problem| problem.file.ends_with("bad.csv") && problem.path == "users.map_file"));
    assert_eq!((found[0].line, found[0].message.contains("expected 2 columns")), (2, true), "{shown:#?}");
    assert_eq!((found[1].line, found[1].message.contains("already paired")), (4, true), "{shown:#?}");

    std::fs::write(dir.path().join("header.csv"), "jira,ado\n").expect("writes");
    let found = problems(&append("users:\n  map_file: header.csv\n"), dir.path());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 1);
    assert!(found[0].message.contains("header must be `side1,side2`"), "{}", found[0]);
}

/// A spreadsheet's problems name the sheet, the row and the column; its pairs are the same table.
#[test]
fn users_sheet_problems_name_the_sheet_row_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet().set_name("Users").expect("a name");
    for (row, (side1, side2)) in
        [("side1", "side2"), ("a@x.com", "a@y.com"), ("b@x.com", "b at y"), ("A@x.com", "z@y.com")]
            .into_iter()
            .enumerate()
    {
        let row = u32::try_from(row).expect("few rows");
        sheet.write_string(row, 0, side1).expect("a cell");
        sheet.write_string(row, 1, side2).expect("a cell");
    }
    workbook.save(dir.path().join("users.xlsx")).expect("saved");
    let found = problems(&append("users:\n  map_file: users.xlsx\n"), dir.path());
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 2, "{shown:#?}");
    assert!(found.iter().all(|problem| problem.file.ends_with("users.xlsx") && problem.path == "users.map_file"));
    assert_eq!(found[0].line, 3);
    assert!(found[0].message.contains("sheet `Users`, row 3, column B"), "{shown:#?}");
    assert_eq!((found[1].line, found[1].message.contains("already paired")), (4, true), "{shown:#?}");
}

#[test]
fn problems_print_as_file_line_column_path_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let errors = load_str(&edit("  secret: s1", "  secret: [s1]"), "ops.yaml", dir.path()).expect_err("invalid");
    assert!(!errors.is_retryable());
    assert_eq!(errors.to_string(), "ops.yaml:7:11: side1.secret: invalid type: sequence, expected a string");
}

#[test]
fn localhost_may_use_http_and_simulators_need_no_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let local = edit("https://example.atlassian.net", "http://localhost:8080");
    assert_eq!(problems(&local, dir.path()), Vec::new());
    let loopback = edit("https://example.atlassian.net", "http://127.0.0.1:8080");
    assert_eq!(problems(&loopback, dir.path()), Vec::new());
    let simulated = edit("  base_url: https://example.atlassian.net\n", "  simulator: true\n");
    assert_eq!(problems(&simulated, dir.path()), Vec::new());
}
