//! Conversion of realistic values both ways: a rich Jira document, typical Azure DevOps HTML, hostile
//! HTML, mentions, attribution lines and malformed ADF.

mod common;

use common::assert_valid_adf;
use serde_json::{json, Value};
use tandem_rich_text::*;

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn marked(text: &str, marks: Value) -> Value {
    json!({"type": "text", "text": text, "marks": marks})
}

fn paragraph(content: Value) -> Value {
    json!({"type": "paragraph", "content": content})
}

fn doc(content: Value) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

fn rich_document() -> Value {
    let link = json!({"type": "link", "attrs": {"href": "https://example.com/?a=1&b=2"}});
    doc(json!([
        {"type": "heading", "attrs": {"level": 1}, "content": [text("Release plan")]},
        paragraph(json!([
            text("Plain, "),
            marked("bold", json!([{"type": "strong"}])),
            marked(" and bold italic", json!([{"type": "em"}, {"type": "strong"}])),
            marked(" linked", json!([link, {"type": "em"}, {"type": "strong"}])),
            marked(" link only", json!([link])),
            text(", "),
            marked("x < y", json!([{"type": "code"}])),
            text(" "),
            marked("gone", json!([{"type": "strike"}])),
            text(" "),
            marked("under", json!([{"type": "underline"}])),
            {"type": "hardBreak"},
            text("Ask "),
            {"type": "mention", "attrs": {"id": "557058:f00d", "text": "@Jane Doe"}},
            text(" today."),
        ])),
        {"type": "heading", "attrs": {"level": 3}, "content": [text("Steps")]},
        {"type": "orderedList", "attrs": {"order": 3}, "content": [
            {"type": "listItem", "content": [
                paragraph(json!([text("Open")])),
                {"type": "bulletList", "content": [
                    {"type": "listItem", "content": [paragraph(json!([text("nested")]))]},
                ]},
            ]},
            {"type": "listItem", "content": [paragraph(json!([text("Close")]))]},
        ]},
        {"type": "codeBlock", "attrs": {"language": "rust"},
         "content": [text("fn main() {\n    println!(\"<hi>\");\n}\n")]},
        {"type": "blockquote", "content": [paragraph(json!([text("Quoted")]))]},
        {"type": "rule"},
        {"type": "table", "content": [
            {"type": "tableRow", "content": [
                {"type": "tableHeader", "content": [paragraph(json!([text("Name")]))]},
                {"type": "tableHeader", "content": [paragraph(json!([text("Value")]))]},
            ]},
            {"type": "tableRow", "content": [
                {"type": "tableCell", "attrs": {"colspan": 2}, "content": [paragraph(json!([text("wide")]))]},
            ]},
        ]},
    ]))
}

const RICH_HTML: &str = "<h1>Release plan</h1>\
<p>Plain, <strong>bold</strong><em><strong> and bold italic</strong></em>\
<a href=\"https://example.com/?a=1&amp;b=2\"><em><strong> linked</strong></em> link only</a>, \
<code>x &lt; y</code> <s>gone</s> <u>under</u><br>\
Ask <a href=\"#\" data-vss-mention=\"version:2.0,557058:f00d\">@Jane Doe</a> today.</p>\
<h3>Steps</h3><ol start=\"3\"><li>Open<ul><li>nested</li></ul></li><li>Close</li></ol>\
<pre><code class=\"language-rust\">fn main() {\n    println!(\"&lt;hi&gt;\");\n}\n</code></pre>\
<blockquote><p>Quoted</p></blockquote><hr>\
<table><tbody><tr><th>Name</th><th>Value</th></tr><tr><td colspan=\"2\">wide</td></tr></tbody></table>";

#[test]
fn rich_document_round_trips_both_ways_without_drift() {
    let document = rich_document();
    assert_valid_adf(&document);
    assert_eq!(normalize_adf(&document).unwrap(), document, "already canonical");

    let html = adf_to_html(&document).unwrap();
    assert_eq!(html, RICH_HTML);
    let back = html_to_adf(&html).unwrap();
    assert_eq!(back, document);
    assert_valid_adf(&back);
    assert_eq!(adf_to_html(&back).unwrap(), html);
    assert_eq!(normalize_html(&html).unwrap(), html);
}

#[test]
fn typical_azure_devops_html_becomes_valid_adf() {
    let cases = [
        (
            "<div>Steps:<br><ol><li>Open</li></ol></div>",
            doc(json!([
                paragraph(json!([text("Steps:")])),
                {"type": "orderedList", "content": [
                    {"type": "listItem", "content": [paragraph(json!([text("Open")]))]},
                ]},
            ])),
        ),
        (
            "<div><b>Note</b>&nbsp;this &amp; that</div><div><br></div>\n<div>  second\n line </div>",
            doc(json!([
                paragraph(json!([marked("Note", json!([{"type": "strong"}])), text("\u{a0}this & that")])),
                paragraph(json!([])),
                paragraph(json!([text("second line")])),
            ])),
        ),
        (
            "<div><ul><li><div>a</div><div>b</div></li><li><span style=\"color:red\">c</span></li></ul></div>",
            doc(json!([
                {"type": "bulletList", "content": [
                    {"type": "listItem", "content": [paragraph(json!([text("a")])), paragraph(json!([text("b")]))]},
                    {"type": "listItem", "content": [paragraph(json!([text("c")]))]},
                ]},
            ])),
        ),
        (
            "<table><tr><td><b>k</b></td><td>v<br>w</td></tr></table>",
            doc(json!([
                {"type": "table", "content": [{"type": "tableRow", "content": [
                    {"type": "tableCell", "content": [paragraph(json!([marked("k", json!([{"type": "strong"}]))]))]},
                    {"type": "tableCell", "content": [paragraph(json!([text("v"), {"type": "hardBreak"}, text("w")]))]},
                ]}]},
            ])),
        ),
        (
            "<blockquote><h2>Title</h2><hr><p>body</p></blockquote>",
            doc(json!([
                {"type": "blockquote", "content": [paragraph(json!([text("Title")])), paragraph(json!([text("body")]))]},
            ])),
        ),
    ];
    for (html, expected) in cases {
        let adf = html_to_adf(html).unwrap();
        assert_eq!(adf, expected, "{html}");
        assert_valid_adf(&adf);
        let canonical_html = adf_to_html(&adf).unwrap();
        assert_eq!(normalize_html(html).unwrap(), canonical_html);
        assert_eq!(html_to_adf(&canonical_html).unwrap(), adf, "{html}");
    }
}

#[test]
fn hostile_html_is_sanitised() {
    let html = "<div onmouseover=\"steal()\">Hi<script>alert(1)</script><style>*{}</style> \
                <a href=\"javascript:alert(1)\">click</a> <img src=x onerror=alert(1)>\
                <iframe src=\"https://evil.test\">x</iframe><a href=\"https://ok.test\" onclick=\"x\">ok</a></div>";
    let adf = html_to_adf(html).unwrap();
    assert_valid_adf(&adf);
    assert_eq!(
        adf,
        doc(json!([paragraph(json!([
            text("Hi click x"),
            marked("ok", json!([{"type": "link", "attrs": {"href": "https://ok.test"}}])),
        ]))]))
    );
}

#[test]
fn jira_defaults_and_unsupported_attributes_are_dropped() {
    let jira = doc(json!([
        {"type": "orderedList", "attrs": {"order": 1, "localId": "a1"}, "content": [
            {"type": "listItem", "attrs": {"localId": "b2"}, "content": [paragraph(json!([text("x")]))]},
        ]},
        {"type": "table", "attrs": {"isNumberColumnEnabled": false, "layout": "default", "localId": "c3"}, "content": [
            {"type": "tableRow", "content": [
                {"type": "tableCell", "attrs": {"colspan": 1, "rowspan": 1, "colwidth": [120], "background": "#fff"},
                 "content": [paragraph(json!([marked("red", json!([{"type": "textColor", "attrs": {"color": "#ff0000"}}]))]))]},
            ]},
        ]},
        {"type": "codeBlock", "attrs": {"language": ""}, "content": [text("a\r\nb")]},
    ]));
    assert_eq!(
        normalize_adf(&jira).unwrap(),
        doc(json!([
            {"type": "orderedList", "content": [{"type": "listItem", "content": [paragraph(json!([text("x")]))]}]},
            {"type": "table", "content": [{"type": "tableRow", "content": [
                {"type": "tableCell", "content": [paragraph(json!([text("red")]))]},
            ]}]},
            {"type": "codeBlock", "content": [text("a\nb")]},
        ]))
    );
}

#[test]
fn nodes_outside_the_subset_keep_their_text() {
    let jira = doc(json!([
        {"type": "panel", "attrs": {"panelType": "info"}, "content": [
            paragraph(json!([
                {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
                text(" "),
                {"type": "status", "attrs": {"text": "DONE", "color": "green"}},
                text(" on "),
                {"type": "date", "attrs": {"timestamp": "1700000000000"}},
                text(" see "),
                {"type": "inlineCard", "attrs": {"url": "https://jira.test/browse/A-1"}},
            ])),
        ]},
        {"type": "taskList", "attrs": {"localId": "t"}, "content": [
            {"type": "taskItem", "attrs": {"localId": "1", "state": "DONE"}, "content": [text("ship")]},
        ]},
        {"type": "expand", "attrs": {"title": "More"}, "content": [paragraph(json!([text("hidden")]))]},
        {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x", "type": "file", "collection": "c"}}]},
        {"type": "someFutureNode", "content": [{"type": "someFutureInline", "text": "future"}]},
    ]));
    let normalized = normalize_adf(&jira).unwrap();
    assert_valid_adf(&normalized);
    assert_eq!(
        adf_to_plain_text(&jira),
        "😄 [DONE] on 2023-11-14 see https://jira.test/browse/A-1\n[x] ship\nMore\nhidden\nfuture"
    );
    let html = adf_to_html(&jira).unwrap();
    assert!(html.contains("<a href=\"https://jira.test/browse/A-1\">https://jira.test/browse/A-1</a>"));
    assert_eq!(html_to_adf(&html).unwrap(), normalized);
}

#[test]
fn malformed_adf_is_an_error_naming_the_problem() {
    let cases = [
        (json!({"type": "paragraph"}), "ADF root must be {type: doc, version: 1}"),
        (json!("text"), "ADF root must be {type: doc, version: 1}"),
        (doc(json!([paragraph(json!([{"type": "text"}]))])), "text node has no text"),
        (doc(json!([paragraph(json!([{"type": "mention", "attrs": {}}]))])), "mention has no attrs.id"),
        (doc(json!([{"type": "heading", "attrs": {"level": 9}, "content": []}])), "heading attrs.level"),
        (doc(json!([paragraph(json!([marked("x", json!([{"attrs": {}}]))]))])), "marks[0] has no type"),
        (doc(json!([paragraph(json!("not a list"))])), "content must be an array"),
        (doc(json!([42])), "node must be an object"),
    ];
    for (document, problem) in cases {
        let error = adf_to_html(&document).unwrap_err();
        assert!(error.to_string().contains(problem), "{error} should mention {problem}");
        assert!(!error.is_retryable());
        assert!(normalize_adf(&document).is_err());
    }
    // Unknown marks are not errors: the text stays.
    let unknown_mark = doc(json!([paragraph(json!([marked("x", json!([{"type": "sparkle"}]))]))]));
    assert_eq!(adf_to_html(&unknown_mark).unwrap(), "<p>x</p>");
}

#[test]
fn mentions_are_extracted_mapped_and_converted_both_ways() {
    let document = doc(json!([paragraph(json!([
        text("Hi "),
        {"type": "mention", "attrs": {"id": "jira-1", "text": "@Jane Doe", "accessLevel": ""}},
        text(" and "),
        {"type": "mention", "attrs": {"id": "jira-2", "text": "@Unknown Person"}},
    ]))]));
    assert_eq!(
        adf_mentions(&document),
        vec![
            Mention { id: "jira-1".into(), text: "@Jane Doe".into() },
            Mention { id: "jira-2".into(), text: "@Unknown Person".into() },
        ]
    );
    let to_ado = |mention: &Mention| {
        (mention.id == "jira-1").then(|| Mention { id: "ado-guid-1".into(), text: "@Jane D.".into() })
    };
    let mapped = map_adf_mentions(&document, &to_ado);
    assert_valid_adf(&mapped);
    assert_eq!(
        normalize_adf(&mapped).unwrap(),
        doc(json!([paragraph(json!([
            text("Hi "),
            {"type": "mention", "attrs": {"id": "ado-guid-1", "text": "@Jane D."}},
            text(" and @Unknown Person"),
        ]))]))
    );

    let html = adf_to_html(&mapped).unwrap();
    assert_eq!(
        html,
        "<p>Hi <a href=\"#\" data-vss-mention=\"version:2.0,ado-guid-1\">@Jane D.</a> and @Unknown Person</p>"
    );
    assert_eq!(html_mentions(&html), vec![Mention { id: "ado-guid-1".into(), text: "@Jane D.".into() }]);
    let to_jira = |mention: &Mention| {
        (mention.id == "ado-guid-1").then(|| Mention { id: "jira-1".into(), text: "@Jane Doe".into() })
    };
    let back = map_html_mentions(&html, &to_jira);
    assert_eq!(
        back,
        "<p>Hi <a href=\"#\" data-vss-mention=\"version:2.0,jira-1\">@Jane Doe</a> and @Unknown Person</p>"
    );
    assert_eq!(
        adf_mentions(&html_to_adf(&back).unwrap()),
        vec![Mention { id: "jira-1".into(), text: "@Jane Doe".into() }]
    );
    assert_eq!(map_html_mentions(&back, &|_| None), "<p>Hi @Jane Doe and @Unknown Person</p>");
}

#[test]
fn azure_devops_mention_markup_is_read_as_written_by_its_editor() {
    let html = "<div><a href=\"#\" data-vss-mention=\"version:2.0,d6245f20-2af8-44f4-9451-8107cb2767db\">@Jamal Hartnett</a>&nbsp;please check</div>";
    let adf = html_to_adf(html).unwrap();
    assert_valid_adf(&adf);
    assert_eq!(
        adf,
        doc(json!([paragraph(json!([
            {"type": "mention", "attrs": {"id": "d6245f20-2af8-44f4-9451-8107cb2767db", "text": "@Jamal Hartnett"}},
            text("\u{a0}please check"),
        ]))]))
    );
    // Version 1 mentions carry no id: they stay links.
    let old = html_to_adf("<a href=\"mailto:j@x.test\" data-vss-mention=\"version:1.0\">@J</a>").unwrap();
    assert!(adf_mentions(&old).is_empty());
    assert_eq!(adf_to_plain_text(&old), "@J");
}

#[test]
fn attribution_is_prepended_and_stripped_on_both_sides() {
    let body = doc(json!([paragraph(json!([text("Looks good")]))]));
    let attributed = prepend_paragraph_adf(&body, "Jane Doe commented in Azure DevOps:");
    assert_valid_adf(&attributed);
    assert_eq!(
        attributed["content"][0],
        paragraph(json!([marked("Jane Doe commented in Azure DevOps:", json!([{"type": "em"}]))]))
    );
    assert_eq!(strip_leading_paragraph_adf(&attributed, "Jane Doe commented"), body);
    assert_eq!(strip_leading_paragraph_adf(&body, "Jane Doe commented"), body);

    let html = adf_to_html(&body).unwrap();
    let attributed_html = prepend_paragraph_html(&html, "Jane Doe commented in Jira:");
    assert_eq!(attributed_html, "<p><em>Jane Doe commented in Jira:</em></p><p>Looks good</p>");
    assert_eq!(strip_leading_paragraph_html(&attributed_html, "Jane Doe commented"), html);
    assert_eq!(strip_leading_paragraph_html(&html, "Jane Doe commented"), html);

    // Both sides agree on what the attributed value is.
    assert_eq!(html_to_adf(&prepend_paragraph_html(&html, "Jane Doe commented in Azure DevOps:")).unwrap(), attributed);
}

#[test]
fn plain_text_is_the_same_from_either_side() {
    let document = rich_document();
    let plain = adf_to_plain_text(&document);
    assert_eq!(
        plain,
        "Release plan\nPlain, bold and bold italic linked link only, x < y gone under\nAsk @Jane Doe today.\n\
         Steps\nOpen\nnested\nClose\nfn main() {\n    println!(\"<hi>\");\n}\n\nQuoted\nName\tValue\nwide"
    );
    assert_eq!(html_to_plain_text(RICH_HTML), plain);
    assert_eq!(adf_to_plain_text(&json!({"type": "bogus", "content": [text("still words")]})), "still words");
}

#[test]
fn images_travel_as_media_and_img_and_read_back_the_same() {
    let shown = "https://jira.test/rest/api/3/attachment/content/10001";
    let jira = doc(json!([
        paragraph(json!([text("Before")])),
        {"type": "mediaSingle", "attrs": {"layout": "align-start"}, "content": [
            {"type": "media", "attrs": {"type": "external", "url": shown, "alt": "shot.png", "width": 640}},
        ]},
        {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {"type": "file", "id": "4f7b5c2e", "collection": "", "alt": "paste.png"}},
        ]},
    ]));
    let normalized = normalize_adf(&jira).unwrap();
    assert_valid_adf(&normalized);
    let html = adf_to_html(&jira).unwrap();
    assert!(html.contains(&format!("<img src=\"{shown}\" alt=\"shot.png\">")), "{html}");
    assert_eq!(html_to_adf(&html).unwrap(), normalized, "a stored file reads back as the same file");

    let ado = "<div>Look<img src=\"https://dev.azure.com/o/_apis/wit/attachments/abc?fileName=a.png\" alt=\"a.png\"> \
               here<img src=\"javascript:alert(1)\"><img src=\"data:image/png;base64,AAAA\"><img src=\"x.png\"></div>";
    let adf = html_to_adf(ado).unwrap();
    assert_valid_adf(&adf);
    let kinds: Vec<&str> = adf["content"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["paragraph", "mediaSingle", "paragraph"], "the image splits its line; unsafe sources go");
    assert_eq!(
        adf["content"][1]["content"][0]["attrs"]["url"],
        "https://dev.azure.com/o/_apis/wit/attachments/abc?fileName=a.png"
    );
    assert_eq!(adf_to_html(&adf).unwrap(), normalize_html(ado).unwrap());
    assert_eq!(html_to_plain_text(ado), "Look\nhere", "images have no words");
}
