//! Property tests: random documents round-trip without drift and validate against the ADF schema;
//! random HTML and random JSON never panic.

mod common;

use common::assert_valid_adf;
use proptest::prelude::*;
use serde_json::{json, Value};
use tandem_rich_text::*;

/// Text with the characters that trouble converters: whitespace runs, markup and entity characters,
/// no-break spaces, non-ASCII, astral-plane characters and line ends.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &<>\"'é日\u{a0}😀#;\n\t\r]{0,12}"
}

fn href() -> impl Strategy<Value = String> {
    prop_oneof![
        "https://example\\.com/[a-z0-9&?=#%\"]{0,8}",
        "/[a-z]{0,5}",
        Just("javascript:alert(1)".to_owned()),
        Just("mailto:a@b.test".to_owned()),
    ]
}

fn mark() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "strong"})),
        Just(json!({"type": "em"})),
        Just(json!({"type": "strike"})),
        Just(json!({"type": "underline"})),
        Just(json!({"type": "code"})),
        Just(json!({"type": "textColor", "attrs": {"color": "#ff0000"}})),
        href().prop_map(|href| json!({"type": "link", "attrs": {"href": href}})),
    ]
}

fn inline() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (text(), prop::collection::vec(mark(), 0..4)).prop_map(|(text, marks)| {
            if marks.is_empty() {
                json!({"type": "text", "text": text})
            } else {
                json!({"type": "text", "text": text, "marks": marks})
            }
        }),
        1 => Just(json!({"type": "hardBreak"})),
        1 => ("[0-9a-f:]{1,10}", "@[A-Z][a-z]{0,6}( [A-Z][a-z]{0,6})?")
            .prop_map(|(id, text)| json!({"type": "mention", "attrs": {"id": id, "text": text}})),
        1 => Just(json!({"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}})),
    ]
}

fn inlines() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(inline(), 0..6)
}

fn leaf_block() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => inlines().prop_map(|content| json!({"type": "paragraph", "content": content})),
        1 => (1u8..=6, inlines()).prop_map(|(level, content)| {
            json!({"type": "heading", "attrs": {"level": level}, "content": content})
        }),
        1 => (prop::option::of("[a-z+]{0,6}( x)?"), text()).prop_map(|(language, code)| {
            let content = if code.is_empty() { json!([]) } else { json!([{"type": "text", "text": code}]) };
            match language {
                Some(language) => json!({"type": "codeBlock", "attrs": {"language": language}, "content": content}),
                None => json!({"type": "codeBlock", "content": content}),
            }
        }),
        1 => Just(json!({"type": "rule"})),
    ]
}

fn block() -> impl Strategy<Value = Value> {
    leaf_block().prop_recursive(4, 32, 4, |inner| {
        let blocks = prop::collection::vec(inner, 0..3);
        let items = prop::collection::vec(
            blocks.clone().prop_map(|content| json!({"type": "listItem", "content": content})),
            0..3,
        );
        let cell = (any::<bool>(), 1u32..3, 1u32..3, blocks.clone()).prop_map(|(header, colspan, rowspan, content)| {
            json!({
                "type": if header { "tableHeader" } else { "tableCell" },
                "attrs": {"colspan": colspan, "rowspan": rowspan},
                "content": content,
            })
        });
        let rows = prop::collection::vec(
            prop::collection::vec(cell, 0..3).prop_map(|cells| json!({"type": "tableRow", "content": cells})),
            0..3,
        );
        prop_oneof![
            items.clone().prop_map(|items| json!({"type": "bulletList", "content": items})),
            (0u32..5, items).prop_map(|(order, items)| {
                json!({"type": "orderedList", "attrs": {"order": order}, "content": items})
            }),
            blocks.clone().prop_map(|content| json!({"type": "blockquote", "content": content})),
            rows.prop_map(|rows| json!({"type": "table", "content": rows})),
            blocks.prop_map(|content| json!({"type": "panel", "attrs": {"panelType": "info"}, "content": content})),
        ]
    })
}

fn document() -> impl Strategy<Value = Value> {
    prop::collection::vec(block(), 0..5).prop_map(|content| json!({"type": "doc", "version": 1, "content": content}))
}

/// The characters a document shows, without whitespace (which canonical form collapses) and NUL.
fn shown_characters(document: &Value) -> String {
    let mut out = String::new();
    let mut stack = vec![document];
    while let Some(node) = stack.pop() {
        let text = match node.get("type").and_then(Value::as_str) {
            Some("text") => node.get("text").and_then(Value::as_str),
            Some("mention") | Some("emoji") => node["attrs"].get("text").and_then(Value::as_str),
            _ => None,
        };
        out.extend(text.unwrap_or_default().chars().filter(|c| !c.is_ascii_whitespace()));
        if let Some(Value::Array(children)) = node.get("content") {
            stack.extend(children.iter().rev());
        }
    }
    out
}

const TAGS: &[&str] = &[
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<span>",
    "</span>",
    "<b>",
    "</b>",
    "<strong>",
    "</strong>",
    "<i>",
    "</i>",
    "<em>",
    "</em>",
    "<u>",
    "</u>",
    "<s>",
    "</s>",
    "<del>",
    "</del>",
    "<code>",
    "</code>",
    "<pre>",
    "</pre>",
    "<pre><code class=\"language-js\">",
    "<br>",
    "<hr>",
    "<ul>",
    "</ul>",
    "<ol start=\"4\">",
    "<ol start=\"-2\">",
    "</ol>",
    "<li>",
    "</li>",
    "<blockquote>",
    "</blockquote>",
    "<h1>",
    "</h1>",
    "<h4>",
    "</h4>",
    "<table>",
    "</table>",
    "<thead>",
    "<tbody>",
    "<tr>",
    "</tr>",
    "<td>",
    "</td>",
    "<th colspan=\"2\">",
    "<td rowspan=\"0\">",
    "</th>",
    "<a href=\"https://x.test/?a&amp;b\">",
    "<a href=\"javascript:x()\">",
    "</a>",
    "<a href=\"#\" data-vss-mention=\"version:2.0,abc-1\">",
    "<script>",
    "</script>",
    "<style>",
    "<img src=x onerror=alert(1)>",
    "<!-- c -->",
    "&nbsp;",
    "&amp;",
    "&lt;",
    "&#x1F600;",
    "<",
    ">",
    "\n",
    "  ",
    "<p onclick=\"x\">",
    "<font color=red>",
    "<table><tr><td><table><tr><td>",
];

fn tag_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(TAGS).prop_map(str::to_owned),
            2 => text(),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn assert_html_is_stable(html: &str) {
    let adf = html_to_adf(html).unwrap();
    assert_valid_adf(&adf);
    let normalized = normalize_html(html).unwrap();
    assert_eq!(normalize_html(&normalized).unwrap(), normalized, "normalize_html drifts");
    assert_eq!(html_to_adf(&normalized).unwrap(), adf, "HTML round trip drifts");
    assert_eq!(adf_to_html(&adf).unwrap(), normalized);
    assert_eq!(normalize_adf(&adf).unwrap(), adf, "ADF from HTML is not canonical");
    let _ = html_to_plain_text(html);
    let _ = html_mentions(html);
}

/// Arbitrary JSON with a bias towards node-like objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        prop::sample::select(vec![
            "doc",
            "paragraph",
            "text",
            "mention",
            "heading",
            "bulletList",
            "listItem",
            "orderedList",
            "table",
            "tableRow",
            "tableCell",
            "codeBlock",
            "link",
            "strong",
            "hardBreak",
            "emoji",
            "date",
            "status",
            "inlineCard",
            "x",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "type",
                        "version",
                        "content",
                        "text",
                        "attrs",
                        "marks",
                        "id",
                        "href",
                        "level",
                        "order",
                        "colspan",
                        "timestamp",
                        "url",
                    ]),
                    inner,
                ),
                0..5,
            )
            .prop_map(|entries| { Value::Object(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),) }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn canonical_documents_round_trip_without_drift(raw in document()) {
        let canonical = normalize_adf(&raw).unwrap();
        assert_valid_adf(&canonical);
        prop_assert_eq!(&normalize_adf(&canonical).unwrap(), &canonical, "normalize_adf is not idempotent");

        let html = adf_to_html(&canonical).unwrap();
        prop_assert_eq!(&html, &adf_to_html(&raw).unwrap());
        let back = html_to_adf(&html).unwrap();
        prop_assert_eq!(&back, &canonical, "ADF -> HTML -> ADF drifts; HTML was {}", html);
        prop_assert_eq!(&adf_to_html(&back).unwrap(), &html, "HTML -> ADF -> HTML drifts");
        prop_assert_eq!(&normalize_html(&html).unwrap(), &html);

        // Canonical form changes spacing and structure, never the words.
        let shown = shown_characters(&raw).replace(['\u{0}', '\r'], "");
        prop_assert_eq!(shown_characters(&canonical), shown);
        prop_assert_eq!(adf_to_plain_text(&canonical), html_to_plain_text(&html));
        prop_assert_eq!(adf_mentions(&canonical), html_mentions(&html));
    }

    #[test]
    fn tag_soup_never_panics_and_is_stable(html in tag_soup()) {
        assert_html_is_stable(&html);
    }

    #[test]
    fn arbitrary_strings_never_panic(html in any::<String>()) {
        assert_html_is_stable(&html);
    }

    #[test]
    fn arbitrary_json_never_panics(mut value in json_value(), as_doc in any::<bool>()) {
        if as_doc {
            value = json!({"type": "doc", "version": 1, "content": [value]});
        }
        let html = adf_to_html(&value);
        let normalized = normalize_adf(&value);
        prop_assert_eq!(html.is_ok(), normalized.is_ok());
        if let (Ok(html), Ok(normalized)) = (html, normalized) {
            assert_valid_adf(&normalized);
            prop_assert_eq!(html_to_adf(&html).unwrap(), normalized);
        }
        let _ = adf_to_plain_text(&value);
        let _ = map_adf_mentions(&value, &|_| None);
        let _ = adf_mentions(&value);
        let _ = strip_leading_paragraph_adf(&value, "x");
        let _ = prepend_paragraph_adf(&value, "x");
    }
}

#[test]
fn the_schema_check_rejects_invalid_adf() {
    let invalid = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": ""}]}
    ]});
    let result = std::panic::catch_unwind(|| assert_valid_adf(&invalid));
    assert!(result.is_err(), "an empty text node must fail the schema");
}

#[test]
fn deep_html_nesting_never_overflows_the_stack() {
    for (open, close) in
        [("<div>", "</div>"), ("<ul><li>", "</li></ul>"), ("<blockquote>", "</blockquote>"), ("<b><i>", "</i></b>")]
    {
        let html = format!("{}deep{}", open.repeat(3000), close.repeat(3000));
        let adf = html_to_adf(&html).unwrap();
        assert_valid_adf(&adf);
        assert_eq!(adf_to_plain_text(&adf).trim(), "deep");
        assert_eq!(html_to_adf(&adf_to_html(&adf).unwrap()).unwrap(), adf);
    }
}
