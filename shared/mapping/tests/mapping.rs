//! What the sync engine gets from a loaded integration: converted values (value maps, reverse,
//! defaults, rich text, lists, users), filters, user mapping and comment settings.

mod common;

use common::{examples_dir, load_file, load_str};
use serde_json::json;
use tandem_mapping::{FieldMapping, IntegrationConfig, MappingError};
use tandem_model::{FieldMap, FieldValue, RichText, Side, UserRef};

fn example() -> IntegrationConfig {
    load_file(&examples_dir().join("jira-azure-devops.yaml")).expect("the example loads")
}

fn mapping<'c>(config: &'c IntegrationConfig, name: &str) -> &'c FieldMapping {
    config.field_mapping(name).expect("mapping exists")
}

fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.into())
}

#[test]
fn value_maps_translate_both_ways_keeping_the_target_type() {
    let config = example();
    let priority = mapping(&config, "priority");
    let convert = |from, value: FieldValue| config.convert(priority, from, &value).expect("converts");
    assert_eq!(convert(Side::One, text("High")), FieldValue::Number(2.0));
    assert_eq!(convert(Side::One, text("Lowest")), FieldValue::Number(4.0));
    assert_eq!(convert(Side::One, text("highest")), FieldValue::Number(1.0), "case-insensitive fallback");
    assert_eq!(convert(Side::Two, FieldValue::Number(2.0)), text("High"));
    assert_eq!(convert(Side::Two, text("2")), text("High"), "compared as text");
    assert_eq!(convert(Side::Two, FieldValue::Number(4.0)), text("Low"), "reverse settles the shared 4");
}

#[test]
fn defaults_cover_empty_and_unmapped_values() {
    let config = example();
    let priority = mapping(&config, "priority");
    assert_eq!(config.convert(priority, Side::One, &text("Urgent")).expect("default"), FieldValue::Number(3.0));
    assert_eq!(config.convert(priority, Side::One, &FieldValue::Empty).expect("default"), FieldValue::Number(3.0));
    assert_eq!(config.convert(priority, Side::Two, &FieldValue::Number(9.0)).expect("default"), text("Medium"));
    assert_eq!(priority.default_for(Side::One), Some(text("Medium")));

    // Without a default, an unmapped value is an error naming the mapping and the value.
    let status = mapping(&config, "status");
    match config.convert(status, Side::Two, &text("Removed")) {
        Err(error @ MappingError::UnmappedValue { .. }) => {
            assert!(!error.is_retryable());
            let message = error.to_string();
            assert!(message.contains("status") && message.contains("Removed"), "{message}");
        }
        other => panic!("expected an unmapped value, got {other:?}"),
    }
    // Without a default, an empty value clears the target.
    assert_eq!(config.convert(status, Side::One, &FieldValue::Empty).expect("converts"), FieldValue::Empty);
}

#[test]
fn reverse_adds_one_way_values() {
    let config = example();
    let status = mapping(&config, "status");
    assert_eq!(config.convert(status, Side::Two, &text("Resolved")).expect("converts"), text("Done"));
    assert_eq!(config.convert(status, Side::Two, &text("Closed")).expect("converts"), text("Done"));
    assert_eq!(config.convert(status, Side::One, &text("Done")).expect("converts"), text("Closed"));
    assert_eq!(config.convert(status, Side::One, &text("In Progress")).expect("converts"), text("Active"));
}

#[test]
fn none_sides_only_give_defaults() {
    let config = example();
    let severity = mapping(&config, "severity");
    assert_eq!(severity.field(Side::One), None);
    assert_eq!(severity.field(Side::Two), Some("Microsoft.VSTS.Common.Severity"));
    assert!(!severity.flows_from(Side::One) && !severity.flows_from(Side::Two));
    assert_eq!(severity.default_for(Side::Two), Some(text("3 - Medium")));
    assert!(matches!(
        config.convert(severity, Side::One, &text("x")),
        Err(MappingError::DirectionClosed { from: Side::One, .. })
    ));
    assert!(config.written_fields(Side::Two).contains(&"Microsoft.VSTS.Common.Severity".to_string()));
    assert!(!config.read_fields(Side::Two).contains(&"Microsoft.VSTS.Common.Severity".to_string()));
}

#[test]
fn rich_text_is_converted_to_the_target_format() {
    let config = example();
    let description = mapping(&config, "description");
    let adf = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Steps: "},
            {"type": "text", "text": "reboot", "marks": [{"type": "strong"}]}
        ]}
    ]});
    let to_ado =
        config.convert(description, Side::One, &FieldValue::RichText(RichText::Adf(adf.clone()))).expect("converts");
    let FieldValue::RichText(RichText::Html(html)) = &to_ado else {
        panic!("Azure DevOps gets HTML, got {to_ado:?}");
    };
    assert!(html.contains("<strong>reboot</strong>"), "{html}");
    let back = config.convert(description, Side::Two, &to_ado).expect("converts");
    assert_eq!(back, FieldValue::RichText(RichText::Adf(adf)), "the round trip is stable");

    // Plain text arriving in a rich-text mapping becomes a paragraph in the target's format.
    let from_text = config.convert(description, Side::Two, &text("a < b")).expect("converts");
    let FieldValue::RichText(RichText::Adf(document)) = from_text else {
        panic!("Jira gets ADF");
    };
    assert_eq!(document["content"][0]["content"][0]["text"], "a < b");
    let html = config.convert(description, Side::One, &text("a < b")).expect("converts");
    assert_eq!(html, FieldValue::RichText(RichText::Html("<p>a &lt; b</p>".into())));
}

#[test]
fn rich_text_into_a_text_field_becomes_plain_text() {
    let config = example();
    let title = mapping(&config, "title");
    let html = FieldValue::RichText(RichText::Html("<p>Printer <b>on fire</b></p>".into()));
    assert_eq!(config.convert(title, Side::Two, &html).expect("converts"), text("Printer on fire"));
    assert_eq!(config.convert(title, Side::One, &text("Printer")).expect("converts"), text("Printer"));
}

#[test]
fn users_pass_through_and_lists_split_tags() {
    let config = example();
    let user = FieldValue::User(UserRef {
        id: "712020:ada".into(),
        email: Some("ada@fabrikam.com".into()),
        display_name: Some("Ada".into()),
    });
    assert_eq!(config.convert(mapping(&config, "assignee"), Side::One, &user).expect("converts"), user);

    let labels = mapping(&config, "labels");
    assert_eq!(
        config.convert(labels, Side::Two, &text("customer; needs triage ;")).expect("converts"),
        FieldValue::List(vec!["customer".into(), "needs triage".into()])
    );
    let list = FieldValue::List(vec!["a".into()]);
    assert_eq!(config.convert(labels, Side::One, &list).expect("converts"), list);
    assert!(matches!(
        config.convert(labels, Side::One, &FieldValue::Number(1.0)),
        Err(MappingError::UnexpectedValue { .. })
    ));
}

#[test]
fn numbers_are_read_from_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text_file = "\
name: numbers
side1: { system: jira, simulator: true, project: OPS, item_type: Bug, secret: a, webhook_secret: b }
side2: { system: azure-devops, simulator: true, project: F, item_type: Bug, secret: c, webhook_secret: d }
fields:
  - { name: points, side1: customfield_10016, side2: Microsoft.VSTS.Scheduling.StoryPoints, kind: number }
";
    let config = load_str(text_file, "numbers.yaml", dir.path()).expect("loads");
    let points = mapping(&config, "points");
    assert_eq!(config.convert(points, Side::One, &text(" 5 ")).expect("converts"), FieldValue::Number(5.0));
    assert!(matches!(config.convert(points, Side::One, &text("five")), Err(MappingError::NotANumber { .. })));
}

#[test]
fn the_example_filter_selects_open_important_bugs() {
    let config = example();
    let filter = config.filter(Side::One).expect("side 1 has a filter");
    let item = |priority: &str, status: &str| -> FieldMap {
        [("priority".to_string(), text(priority)), ("status".to_string(), text(status))].into()
    };
    assert!(filter.matches(&item("High", "To Do")));
    assert!(!filter.matches(&item("Low", "To Do")));
    assert!(!filter.matches(&item("Highest", "Done")));
    assert_eq!(filter.fields(), ["priority", "status"]);
    assert!(config.read_fields(Side::One).contains(&"status".to_string()));
}

#[test]
fn users_map_through_the_table_then_by_email() {
    let config = example();
    let person = |email: &str| UserRef { id: "x".into(), email: Some(email.into()), display_name: None };
    let users = &config.users;
    assert_eq!(
        users.target_email(Side::One, &person("ADA@fabrikam.com")).as_deref(),
        Some("ada.lovelace@contoso.com"),
        "inline table"
    );
    assert_eq!(
        users.target_email(Side::Two, &person("grace.hopper@contoso.com")).as_deref(),
        Some("grace@fabrikam.com"),
        "users.csv"
    );
    assert_eq!(
        users.target_email(Side::One, &person("someone@example.com")).as_deref(),
        Some("someone@example.com"),
        "same e-mail"
    );
    assert_eq!(users.default_user(Side::Two), Some("triage@contoso.com"));
    assert_eq!(users.default_user(Side::One), None);
}

#[test]
fn comments_and_conflicts_settings() {
    let config = example();
    assert!(config.comments.enabled(Side::One) && config.comments.enabled(Side::Two));
    assert_eq!(config.comments.attribution("Ada", common::JIRA), "Ada commented in Jira:");
    assert_eq!(config.conflicts.name(), "latest-wins");

    let dir = tempfile::tempdir().expect("temp dir");
    let one_way = "\
name: one-way
side1: { system: jira, simulator: true, project: OPS, item_type: Bug, secret: a, webhook_secret: b }
side2: { system: azure-devops, simulator: true, project: F, item_type: Bug, secret: c, webhook_secret: d }
comments: { side2_to_side1: false, attribution: 'From {system} ({author}):' }
conflicts: { policy: side2-wins }
polling: { interval: 1h30m }
fields:
  - { name: title, side1: summary, side2: System.Title, direction: '2->1' }
";
    let config = load_str(one_way, "one-way.yaml", dir.path()).expect("loads");
    assert!(config.comments.enabled(Side::One) && !config.comments.enabled(Side::Two));
    assert_eq!(config.comments.attribution("Bob", common::AZURE_DEVOPS), "From Azure DevOps (Bob):");
    assert_eq!(config.conflicts.name(), "side2-wins");
    assert_eq!(config.polling.interval.as_secs(), 5400);
    let title = mapping(&config, "title");
    assert!(title.flows_from(Side::Two) && !title.flows_from(Side::One));
    assert_eq!(config.written_fields(Side::One), ["summary"]);
    assert!(config.written_fields(Side::Two).is_empty());
}

#[test]
fn marked_comments_flow_only_with_their_marker_and_other_modes_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |comments: &str| {
        format!(
            "name: marked\n\
             side1: {{ system: jira, simulator: true, project: OPS, item_type: Bug, secret: a, webhook_secret: b }}\n\
             side2: {{ system: azure-devops, simulator: true, project: F, item_type: Bug, secret: c, webhook_secret: d }}\n\
             comments: {comments}\n\
             fields:\n  - {{ name: title, side1: summary, side2: System.Title }}\n"
        )
    };
    let config =
        load_str(&file("{ side1_to_side2: marked, marker: '#Customer' }"), "m.yaml", dir.path()).expect("loads");
    assert_eq!(config.comments.flow(Side::One), tandem_mapping::CommentFlow::Marked);
    assert!(config.comments.selects(Side::One, "note for the #customer: fixed"));
    assert!(!config.comments.selects(Side::One, "internal chatter"));
    assert!(config.comments.selects(Side::Two, "anything"), "the other way copies every comment");
    let problems = load_str(&file("{ side1_to_side2: some }"), "m.yaml", dir.path()).expect_err("refused");
    assert!(problems.to_string().contains("`some` is not one of true, false, marked"), "{problems}");
    let problems = load_str(&file("{ marker: ' ' }"), "m.yaml", dir.path()).expect_err("refused");
    assert!(problems.to_string().contains("marker must not be empty"), "{problems}");
}

#[test]
fn attachments_flow_both_ways_by_default_and_a_limit_outside_its_range_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |attachments: &str| {
        format!(
            "name: files\n\
             side1: {{ system: jira, simulator: true, project: OPS, item_type: Bug, secret: a, webhook_secret: b }}\n\
             side2: {{ system: azure-devops, simulator: true, project: F, item_type: Bug, secret: c, webhook_secret: d }}\n\
             {attachments}\n\
             fields:\n  - {{ name: title, side1: summary, side2: System.Title }}\n"
        )
    };
    let config = load_str(&file(""), "f.yaml", dir.path()).expect("loads");
    assert!(config.attachments.enabled(Side::One) && config.attachments.enabled(Side::Two));
    assert_eq!(config.attachments.max_bytes(), 10 * 1024 * 1024);
    let config = load_str(&file("attachments: { side2_to_side1: false, max_bytes: 2048 }"), "f.yaml", dir.path())
        .expect("loads");
    assert!(config.attachments.enabled(Side::One) && !config.attachments.enabled(Side::Two));
    assert_eq!(config.attachments.max_bytes(), 2048);
    let problems = load_str(&file("attachments: { max_bytes: 0 }"), "f.yaml", dir.path()).expect_err("refused");
    assert!(problems.to_string().contains("attachments.max_bytes"), "{problems}");
    let problems = load_str(&file("attachments: { max_bytes: 52428800 }"), "f.yaml", dir.path()).expect_err("refused");
    assert!(problems.to_string().contains("is not between 1 and 31457280"), "{problems}");
    assert_eq!(config.attachments.max_files(), 100);
    let config = load_str(&file("attachments: { max_files: 3 }"), "f.yaml", dir.path()).expect("loads");
    assert_eq!(config.attachments.max_files(), 3);
    let problems = load_str(&file("attachments: { max_files: 0 }"), "f.yaml", dir.path()).expect_err("refused");
    assert!(problems.to_string().contains("attachments.max_files: 0 is not between 1 and 1000"), "{problems}");
}
