//! Rich text between the sides' formats (Jira: Atlassian Document Format, Azure DevOps: HTML), and
//! between rich and plain text for mappings whose two fields differ in kind.

use serde_json::{json, Value};
use tandem_model::{RichText, SystemKind};
use tandem_rich_text::{adf_to_html, adf_to_plain_text, html_to_adf, html_to_plain_text, RichTextError};

/// `text` in the format `system` stores.
pub fn rich_text_for(system: SystemKind, text: &RichText) -> Result<RichText, RichTextError> {
    match (system, text) {
        (SystemKind::Jira, RichText::Adf(_)) | (SystemKind::AzureDevops, RichText::Html(_)) => Ok(text.clone()),
        (SystemKind::Jira, RichText::Html(html)) => html_to_adf(html).map(RichText::Adf),
        (SystemKind::AzureDevops, RichText::Adf(adf)) => adf_to_html(adf).map(RichText::Html),
    }
}

/// Plain text as rich text in `system`'s format: one paragraph per line, so that `plain_text` gives
/// the same text back.
pub(crate) fn from_plain(system: SystemKind, text: &str) -> RichText {
    let lines = text.lines();
    match system {
        SystemKind::Jira => {
            let paragraphs: Vec<Value> = lines
                .map(|line| match line {
                    "" => json!({ "type": "paragraph", "content": [] }),
                    line => json!({ "type": "paragraph", "content": [{ "type": "text", "text": line }] }),
                })
                .collect();
            RichText::Adf(json!({ "type": "doc", "version": 1, "content": paragraphs }))
        }
        SystemKind::AzureDevops => RichText::Html(lines.map(|line| format!("<p>{}</p>", escape_html(line))).collect()),
    }
}

/// The text of a rich-text value, by the rich-text crate's plain-text rules.
pub(crate) fn plain_text(text: &RichText) -> String {
    match text {
        RichText::Adf(adf) => adf_to_plain_text(adf),
        RichText::Html(html) => html_to_plain_text(html),
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_survives_a_trip_through_either_format() {
        let text = "First line\n\nThird <b>line</b> & more";
        for system in [SystemKind::Jira, SystemKind::AzureDevops] {
            let rich = from_plain(system, text);
            assert_eq!(plain_text(&rich), text, "{system}");
        }
        assert_eq!(from_plain(SystemKind::AzureDevops, "a<b"), RichText::Html("<p>a&lt;b</p>".into()));
    }

    #[test]
    fn same_format_passes_through() {
        let html = RichText::Html("<p>x</p>".into());
        assert_eq!(rich_text_for(SystemKind::AzureDevops, &html).unwrap(), html);
    }
}
