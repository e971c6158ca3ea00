//! ADF documents against Atlassian's own JSON Schema.

use serde_json::{json, Value};
use tandem_contract_check::adf_schema;

fn document(content: Value) -> Value {
    json!({"version": 1, "type": "doc", "content": content})
}

fn rich_description() -> Value {
    document(json!([
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Checkout ", "marks": [{"type": "strong"}]},
            {"type": "text", "text": "fails, see "},
            {"type": "text", "text": "the log", "marks": [{"type": "link", "attrs": {"href": "https://example.com/log"}}]},
            {"type": "text", "text": " — "},
            {"type": "mention", "attrs": {"id": "5b109f2e9729b51b54dc274d", "text": "@Jamal Hartnett"}}
        ]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Open the cart"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Pay"}]}]}
        ]}
    ]))
}

#[test]
fn a_document_with_bold_list_link_and_mention_passes() {
    let schema = adf_schema().expect("the ADF schema compiles");
    schema.validate(&rich_description()).unwrap_or_else(|problems| panic!("{}", problems.join("\n")));
}

#[test]
fn a_mention_without_an_id_fails() {
    let schema = adf_schema().expect("the ADF schema compiles");
    let mut doc = rich_description();
    doc["content"][0]["content"][4]["attrs"] = json!({"text": "@Jamal Hartnett"});
    let problems = schema.validate(&doc).expect_err("a mention needs its account id");
    assert!(
        problems.iter().any(|problem| problem == "doc.content[0].content[4].attrs: \"id\" is a required property"),
        "{problems:?}"
    );
}

#[test]
fn a_document_without_version_or_with_an_unknown_node_fails() {
    let schema = adf_schema().expect("the ADF schema compiles");
    let mut without_version = rich_description();
    without_version.as_object_mut().expect("an object").remove("version");
    assert!(schema.validate(&without_version).is_err());
    let unknown = document(json!([{"type": "marquee", "content": []}]));
    assert!(schema.validate(&unknown).is_err());
}

#[test]
fn html_is_not_adf() {
    let schema = adf_schema().expect("the ADF schema compiles");
    assert!(schema.validate(&json!("<p>Checkout fails</p>")).is_err());
}
