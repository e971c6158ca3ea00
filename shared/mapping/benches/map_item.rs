//! What mapping one item costs: an item with 30 mapped fields and a ~5 KB description, copied from
//! Jira to Azure DevOps and back the way the sync engine copies it (users resolved through the user
//! mapping, mentions re-pointed at the target's people, then `IntegrationConfig::convert`), and the
//! rich-text conversions on their own.
//!
//! Run: `cargo bench -p tandem-mapping --bench map_item`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use tandem_mapping::{FieldKind, FieldMapping, IntegrationConfig};
use tandem_model::{FieldMap, FieldValue, RichText, RichTextFormat, Side, SystemInfo, SystemKind, Timestamp, UserRef};
use tandem_rich_text::{adf_to_html, html_to_adf};

/// 30 field mappings covering every kind: text, numbers, dates (text mappings carrying date-times),
/// users, option fields with value maps, a list, and rich text both ways and from plain text.
const CONFIG: &str = r#"
name: bench-ops-fabrikam
side1:
  system: jira
  base_url: https://example.atlassian.net
  project: OPS
  item_type: Bug
  secret: bench/jira
  webhook_secret: bench/jira-webhook
side2:
  system: azure-devops
  base_url: https://dev.azure.com/fabrikam
  project: Fabrikam
  item_type: Bug
  secret: bench/ado
  webhook_secret: bench/ado-webhook
users:
  match_by_email: true
  map:
    - { side1: ada@fabrikam.com, side2: ada.lovelace@contoso.com }
    - { side1: grace@fabrikam.com, side2: grace.hopper@contoso.com }
  default:
    side2: triage@contoso.com
fields:
  - { name: title, side1: summary, side2: System.Title }
  - { name: description, side1: description, side2: System.Description, kind: rich-text }
  - { name: environment, side1: environment, side2: Microsoft.VSTS.TCM.SystemInfo, kind: rich-text }
  - { name: repro-steps, side1: customfield_10050, side2: Microsoft.VSTS.TCM.ReproSteps, kind: rich-text }
  - name: priority
    side1: priority
    side2: Microsoft.VSTS.Common.Priority
    kind: option
    values: { Highest: 1, High: 2, Medium: 3, Low: 4, Lowest: 4 }
    reverse: { 4: Low }
    default: { side1: Medium, side2: 3 }
  - name: status
    side1: status
    side2: System.State
    kind: option
    values: { To Do: New, In Progress: Active, Done: Closed }
    reverse: { Resolved: Done }
  - name: severity
    side1: customfield_10020
    side2: Microsoft.VSTS.Common.Severity
    kind: option
    values: { Blocker: 1 - Critical, Major: 2 - High, Minor: 3 - Medium, Trivial: 4 - Low }
  - name: resolution
    side1: resolution
    side2: Microsoft.VSTS.Common.ResolvedReason
    kind: option
    values: { Fixed: Fixed, Won't Do: Won't Fix, Duplicate: Duplicate, Cannot Reproduce: Cannot Reproduce }
  - name: risk
    side1: customfield_10021
    side2: Microsoft.VSTS.Common.Risk
    kind: option
    values: { High: 1 - High, Medium: 2 - Medium, Low: 3 - Low }
  - name: value-area
    side1: customfield_10022
    side2: Microsoft.VSTS.Common.ValueArea
    kind: option
    values: { Business: Business, Architectural: Architectural }
  - { name: assignee, side1: assignee, side2: System.AssignedTo, kind: user }
  - { name: tester, side1: customfield_10023, side2: Custom.Tester, kind: user }
  - { name: reviewer, side1: customfield_10024, side2: Custom.Reviewer, kind: user }
  - { name: labels, side1: labels, side2: System.Tags, kind: list }
  - { name: story-points, side1: customfield_10016, side2: Microsoft.VSTS.Scheduling.StoryPoints, kind: number }
  - { name: original-estimate, side1: customfield_10025, side2: Microsoft.VSTS.Scheduling.OriginalEstimate, kind: number }
  - { name: remaining-work, side1: customfield_10026, side2: Microsoft.VSTS.Scheduling.RemainingWork, kind: number }
  - { name: completed-work, side1: customfield_10027, side2: Microsoft.VSTS.Scheduling.CompletedWork, kind: number }
  - { name: business-value, side1: customfield_10028, side2: Microsoft.VSTS.Common.BusinessValue, kind: number }
  - { name: time-criticality, side1: customfield_10029, side2: Microsoft.VSTS.Common.TimeCriticality, kind: number }
  - { name: due-date, side1: duedate, side2: Microsoft.VSTS.Scheduling.DueDate }
  - { name: start-date, side1: customfield_10030, side2: Microsoft.VSTS.Scheduling.StartDate }
  - { name: target-date, side1: customfield_10031, side2: Microsoft.VSTS.Scheduling.TargetDate }
  - { name: found-in, side1: customfield_10032, side2: Microsoft.VSTS.Build.FoundIn }
  - { name: integrated-in, side1: customfield_10033, side2: Microsoft.VSTS.Build.IntegrationBuild }
  - { name: area, side1: customfield_10034, side2: System.AreaPath }
  - { name: iteration, side1: customfield_10035, side2: System.IterationPath }
  - { name: customer, side1: customfield_10036, side2: Custom.Customer }
  - { name: external-reference, side1: customfield_10037, side2: Custom.ExternalReference }
  - { name: fix-version, side1: customfield_10038, side2: Custom.FixVersion }
"#;

/// One person, with the id each system knows them by.
struct Person {
    email_side1: &'static str,
    email_side2: &'static str,
    name: &'static str,
    jira_id: &'static str,
    ado_id: &'static str,
}

const PEOPLE: [Person; 3] = [
    Person {
        email_side1: "ada@fabrikam.com",
        email_side2: "ada.lovelace@contoso.com",
        name: "Ada Lovelace",
        jira_id: "5b10a2844c20165700ede21g",
        ado_id: "6b7a1c2d-0000-4000-8000-000000000001",
    },
    Person {
        email_side1: "grace@fabrikam.com",
        email_side2: "grace.hopper@contoso.com",
        name: "Grace Hopper",
        jira_id: "5b10a2844c20165700ede22h",
        ado_id: "6b7a1c2d-0000-4000-8000-000000000002",
    },
    Person {
        email_side1: "linus@example.org",
        email_side2: "linus@example.org",
        name: "Linus Example",
        jira_id: "5b10a2844c20165700ede23i",
        ado_id: "6b7a1c2d-0000-4000-8000-000000000003",
    },
];

/// The people of both systems, standing in for the engine's user directory port, which a real sync
/// answers from a cache: the look-ups cost a hash probe, so the figures measure the mapping.
struct Directory {
    by_id: [HashMap<&'static str, UserRef>; 2],
    by_email: [HashMap<String, UserRef>; 2],
}

impl Directory {
    fn new() -> Self {
        let mut directory = Directory { by_id: Default::default(), by_email: Default::default() };
        for person in &PEOPLE {
            for (slot, id, email) in [(0, person.jira_id, person.email_side1), (1, person.ado_id, person.email_side2)] {
                let user = UserRef { id: id.into(), email: Some(email.into()), display_name: Some(person.name.into()) };
                directory.by_id[slot].insert(id, user.clone());
                directory.by_email[slot].insert(email.to_lowercase(), user);
            }
        }
        directory
    }

    fn find_by_email(&self, side: Side, email: &str) -> Option<UserRef> {
        self.by_email[slot(side)].get(&email.to_lowercase()).cloned()
    }

    fn user_by_id(&self, side: Side, id: &str) -> Option<&UserRef> {
        self.by_id[slot(side)].get(id)
    }
}

fn slot(side: Side) -> usize {
    usize::from(side.number() - 1)
}

/// Maps an item's fields from `from` to the other side, in the engine's order: users through the user
/// mapping, mentions re-pointed, then the mapping's own conversion.
fn map_item(config: &IntegrationConfig, directory: &Directory, from: Side, source: &FieldMap) -> FieldMap {
    let target = from.other();
    let mut fields = FieldMap::new();
    for mapping in &config.fields {
        let (Some(source_field), Some(target_field)) = (mapping.field(from), mapping.field(target)) else {
            continue;
        };
        let value = source.get(source_field).cloned().unwrap_or_default();
        let value = if mapping.flows_from(from) {
            translate(config, directory, mapping, from, &value)
        } else {
            mapping.default_for(target).unwrap_or_default()
        };
        if !value.is_empty() {
            fields.insert(target_field.to_string(), value);
        }
    }
    fields
}

fn translate(
    config: &IntegrationConfig,
    directory: &Directory,
    mapping: &FieldMapping,
    from: Side,
    value: &FieldValue,
) -> FieldValue {
    let target = from.other();
    if mapping.kind == FieldKind::User {
        let resolved = match value {
            FieldValue::User(user) => config.users.target_email(from, user),
            _ => None,
        }
        .and_then(|email| directory.find_by_email(target, &email))
        .or_else(|| config.users.default_user(target).and_then(|email| directory.find_by_email(target, email)));
        return resolved.map(FieldValue::User).unwrap_or_default();
    }
    let value = match value {
        FieldValue::RichText(text) => FieldValue::RichText(repoint_mentions(config, directory, from, text)),
        other => other.clone(),
    };
    // The item is built to map cleanly: a failure here is a broken bench, not a measurement.
    config.convert(mapping, from, &value).unwrap_or_else(|error| panic!("mapping `{}`: {error}", mapping.name))
}

fn repoint_mentions(config: &IntegrationConfig, directory: &Directory, from: Side, text: &RichText) -> RichText {
    let repoint = |mention: &tandem_rich_text::Mention| {
        let source = directory.user_by_id(from, &mention.id)?;
        let email = config.users.target_email(from, source)?;
        let target = directory.find_by_email(from.other(), &email)?;
        let text = target.display_name.as_ref().map(|name| format!("@{name}")).unwrap_or_else(|| mention.text.clone());
        Some(tandem_rich_text::Mention { id: target.id, text })
    };
    if tandem_rich_text::mentions(text).is_empty() {
        return text.clone();
    }
    tandem_rich_text::map_mentions(text, &repoint)
}

fn text(text: &str) -> Value {
    json!({ "type": "text", "text": text })
}

fn marked(text: &str, marks: Value) -> Value {
    json!({ "type": "text", "text": text, "marks": marks })
}

fn paragraph(content: Vec<Value>) -> Value {
    json!({ "type": "paragraph", "content": content })
}

fn mention(person: &Person) -> Value {
    json!({ "type": "mention", "attrs": { "id": person.jira_id, "text": format!("@{}", person.name) } })
}

fn list(kind: &str, items: &[&str]) -> Value {
    let items: Vec<Value> =
        items.iter().map(|item| json!({ "type": "listItem", "content": [paragraph(vec![text(item)])] })).collect();
    json!({ "type": kind, "content": items })
}

fn table(rows: usize) -> Value {
    let cell = |kind: &str, content: String| json!({ "type": kind, "content": [paragraph(vec![text(&content)])] });
    let header = ["Step", "Expected", "Actual"].map(|title| cell("tableHeader", title.into()));
    let mut content = vec![json!({ "type": "tableRow", "content": header })];
    for row in 1..=rows {
        let cells = [
            cell("tableCell", format!("Step {row}: open the export dialog")),
            cell("tableCell", format!("Row {row} is written")),
            cell("tableCell", format!("Row {row} is missing")),
        ];
        content.push(json!({ "type": "tableRow", "content": cells }));
    }
    json!({ "type": "table", "content": content })
}

/// One section of the description: every construct the converters handle.
fn section(number: usize) -> Vec<Value> {
    let link =
        json!([{ "type": "link", "attrs": { "href": format!("https://status.example.com/incidents/{number}") } }]);
    vec![
        json!({ "type": "heading", "attrs": { "level": 2 }, "content": [text(&format!("Finding {number}"))] }),
        paragraph(vec![
            text("The nightly export "),
            marked("drops rows", json!([{ "type": "strong" }])),
            text(" when a value contains a "),
            marked("tab", json!([{ "type": "code" }])),
            text("; see the "),
            marked("incident report", link),
            text(". Reported by "),
            mention(&PEOPLE[0]),
            text(", triaged by "),
            mention(&PEOPLE[1]),
            text(" and "),
            marked("confirmed", json!([{ "type": "em" }, { "type": "underline" }])),
            text(" on staging."),
        ]),
        list("bulletList", &["Happens on every run", "Only rows with tabs", "Since release 4.2"]),
        list("orderedList", &["Open the export dialog", "Pick the full range", "Compare the row counts"]),
        table(3),
        json!({ "type": "codeBlock", "attrs": { "language": "rust" }, "content": [
            text("fn export(rows: &[Row]) -> io::Result<()> {\n    for row in rows {\n        writeln!(out, \"{}\", row.join(\"\\t\"))?;\n    }\n    Ok(())\n}")
        ] }),
    ]
}

/// A description of about `size` bytes of ADF JSON: sections' blocks up to the block that brings
/// it closest to the size.
fn description(size: usize) -> Value {
    let document = |content: &[Value]| json!({ "type": "doc", "version": 1, "content": content });
    let length = |document: &Value| serde_json::to_string(document).map_or(0, |json| json.len());
    let mut blocks = (1..).flat_map(section);
    let mut content = Vec::new();
    let mut shorter = document(&content);
    loop {
        content.extend(blocks.next());
        let longer = document(&content);
        if length(&longer) >= size {
            let closer_without = size - length(&shorter) < length(&longer) - size;
            return if closer_without { shorter } else { longer };
        }
        shorter = longer;
    }
}

fn timestamp(text: &str) -> Timestamp {
    serde_json::from_value(json!(text)).unwrap_or_else(|error| panic!("`{text}` is not a timestamp: {error}"))
}

fn jira_user(person: &Person) -> FieldValue {
    FieldValue::User(UserRef {
        id: person.jira_id.into(),
        email: Some(person.email_side1.into()),
        display_name: Some(person.name.into()),
    })
}

/// A Jira bug with every one of the 30 mapped fields set.
fn jira_item(description: Value) -> FieldMap {
    let plain = |value: &str| FieldValue::Text(value.into());
    let adf = |value: Value| FieldValue::RichText(RichText::Adf(value));
    [
        ("summary", plain("Nightly export drops rows with tabs")),
        ("description", adf(description)),
        (
            "environment",
            adf(json!({ "type": "doc", "version": 1, "content": [paragraph(vec![
                text("Staging, "), marked("eu-west-1", json!([{ "type": "code" }]))
            ])] })),
        ),
        ("customfield_10050", plain("Open the export dialog\nPick the full range\nCompare the row counts")),
        ("priority", plain("High")),
        ("status", plain("In Progress")),
        ("customfield_10020", plain("Major")),
        ("resolution", plain("Fixed")),
        ("customfield_10021", plain("Medium")),
        ("customfield_10022", plain("Business")),
        ("assignee", jira_user(&PEOPLE[0])),
        ("customfield_10023", jira_user(&PEOPLE[1])),
        ("customfield_10024", jira_user(&PEOPLE[2])),
        ("labels", FieldValue::List(vec!["export".into(), "data-loss".into(), "regression".into()])),
        ("customfield_10016", FieldValue::Number(5.0)),
        ("customfield_10025", FieldValue::Number(16.0)),
        ("customfield_10026", FieldValue::Number(6.5)),
        ("customfield_10027", FieldValue::Number(9.5)),
        ("customfield_10028", FieldValue::Number(300.0)),
        ("customfield_10029", FieldValue::Number(8.0)),
        ("duedate", FieldValue::DateTime(timestamp("2025-07-01T00:00:00Z"))),
        ("customfield_10030", FieldValue::DateTime(timestamp("2025-06-02T09:00:00Z"))),
        ("customfield_10031", FieldValue::DateTime(timestamp("2025-06-27T17:00:00Z"))),
        ("customfield_10032", plain("4.2.0-rc.3")),
        ("customfield_10033", plain("4.2.1")),
        ("customfield_10034", plain("Fabrikam\\Data\\Export")),
        ("customfield_10035", plain("Fabrikam\\2025\\Sprint 12")),
        ("customfield_10036", plain("Contoso Retail")),
        ("customfield_10037", plain("SUP-48213")),
        ("customfield_10038", plain("4.2.1")),
    ]
    .into_iter()
    .map(|(field, value)| (field.to_string(), value))
    .collect()
}

/// The item with `run` added to each HTML text, so that no text was read before.
fn fresh_texts(item: &FieldMap, run: u64) -> FieldMap {
    let mut item = item.clone();
    for value in item.values_mut() {
        if let FieldValue::RichText(RichText::Html(html)) = value {
            html.push_str(&format!("<p>run {run}</p>"));
        }
    }
    item
}

fn benches(c: &mut Criterion) {
    // The mapping knows no system; these stand in for Jira's and Azure DevOps' kinds.
    let systems: [&dyn tandem_mapping::SystemRules; 2] = [
        &tandem_mapping::CommonRules(SystemKind::new(&SystemInfo {
            slug: "jira",
            display_name: "Jira",
            rich_text_format: RichTextFormat::Adf,
            comment_format: RichTextFormat::Adf,
            change_instants: tandem_model::InstantPrecision::Millisecond,
        })),
        &tandem_mapping::CommonRules(SystemKind::new(&SystemInfo {
            slug: "azure-devops",
            display_name: "Azure DevOps",
            rich_text_format: RichTextFormat::Html,
            comment_format: RichTextFormat::Html,
            change_instants: tandem_model::InstantPrecision::Millisecond,
        })),
    ];
    let config = tandem_mapping::load_str(CONFIG, "bench.yaml", Path::new("."), &systems)
        .unwrap_or_else(|errors| panic!("the bench configuration is invalid:\n{errors}"));
    assert_eq!(config.fields.len(), 30, "the bench maps 30 fields");
    let directory = Directory::new();
    let document = description(5_000);
    let jira = jira_item(document.clone());
    assert_eq!(jira.len(), 30, "the Jira item sets every mapped field");
    let ado = map_item(&config, &directory, Side::One, &jira);
    assert_eq!(ado.len(), 30, "every field reaches Azure DevOps");
    // The way back must be real work too: every field returns, and all but rich text unchanged.
    let back = map_item(&config, &directory, Side::Two, &ado);
    assert_eq!(back.len(), 30, "every field returns to Jira");
    for (field, value) in &jira {
        if !matches!(value, FieldValue::RichText(_)) && field != "customfield_10050" {
            assert_eq!(back.get(field), Some(value), "{field} survives the round trip");
        }
    }
    let html = adf_to_html(&document).unwrap_or_else(|error| panic!("the description converts to HTML: {error}"));
    let adf_bytes = serde_json::to_string(&document).map_or(0, |json| json.len());
    eprintln!("description: {adf_bytes} B of ADF, {} B of HTML", html.len());
    eprintln!("target: tandem's own CPU per change at most 200 µs (p99), mapping included: map_item/* below it");

    let mut group = c.benchmark_group("map_item");
    group.bench_function("jira_to_ado", |b| b.iter(|| map_item(&config, &directory, Side::One, black_box(&jira))));
    // Each run maps an item whose texts it has not read yet: the rich-text reader remembers the last
    // few texts it read (one sync reads a text more than once), which a loop over one item would hit.
    let runs = std::cell::Cell::new(0_u64);
    let unread = |item: &FieldMap| {
        runs.set(runs.get() + 1);
        fresh_texts(item, runs.get())
    };
    group.bench_function("ado_to_jira", |b| {
        b.iter_batched(
            || unread(&ado),
            |item| map_item(&config, &directory, Side::Two, black_box(&item)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("rich_text");
    group.bench_function("adf_to_html_5kb", |b| b.iter(|| adf_to_html(black_box(&document))));
    group.bench_function("html_to_adf_5kb", |b| {
        b.iter_batched(
            || {
                runs.set(runs.get() + 1);
                format!("{html}<p>run {}</p>", runs.get())
            },
            |html| html_to_adf(black_box(&html)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(map_item_benches, benches);
criterion_main!(map_item_benches);
