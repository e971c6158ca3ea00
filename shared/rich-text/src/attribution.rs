//! The attribution line a synced comment carries ("Jane commented in Azure DevOps:"), as an italic first
//! paragraph, and its removal when an edit of that comment flows back to where it came from.

use serde_json::Value;

use crate::model::{Block, Document, Inline, Mark};
use crate::normalize::{canonicalize, collapse_whitespace};
use crate::{adf, html_out, plain_text};

fn attribution(text: &str) -> Option<Block> {
    let text = collapse_whitespace(text);
    (!text.is_empty()).then(|| Block::Paragraph(vec![Inline::Text { text, marks: vec![Mark::Em] }]))
}

/// The document with `text` as an italic first paragraph. A value that is not an ADF document, or an
/// empty `text`, comes back unchanged.
pub fn prepend_paragraph_adf(document: &Value, text: &str) -> Value {
    let mut out = document.clone();
    let Some(paragraph) = attribution(text) else {
        return out;
    };
    let is_doc = out.get("type").and_then(Value::as_str) == Some("doc");
    if let (true, Some(object)) = (is_doc, out.as_object_mut()) {
        let content = object.entry("content").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(content) = content {
            content.insert(0, adf::block_to_value(&paragraph));
        }
    }
    out
}

/// The HTML with `text` as an italic first paragraph; the rest is left as it is.
pub fn prepend_paragraph_html(html: &str, text: &str) -> String {
    match attribution(text) {
        Some(paragraph) => {
            let mut out = html_out::render(&Document { blocks: vec![paragraph] });
            out.push_str(html);
            out
        }
        None => html.to_owned(),
    }
}

fn starts_with_prefix(block: Option<&Block>, prefix: &str) -> bool {
    let prefix = collapse_whitespace(prefix);
    match block {
        Some(Block::Paragraph(content)) if !prefix.is_empty() => {
            collapse_whitespace(&plain_text::inlines(content)).starts_with(&prefix)
        }
        _ => false,
    }
}

/// The document without its first paragraph if that paragraph's text starts with `prefix`; otherwise
/// unchanged.
pub fn strip_leading_paragraph_adf(document: &Value, prefix: &str) -> Value {
    let mut out = document.clone();
    let Some(Value::Array(content)) = out.get_mut("content") else {
        return out;
    };
    let Some(first) = content.first() else {
        return out;
    };
    let leads = adf::parse_block_node(first).map(|blocks| canonicalize(Document { blocks }).blocks);
    if let Ok(blocks) = leads {
        if blocks.len() == 1 && starts_with_prefix(blocks.first(), prefix) {
            content.remove(0);
        }
    }
    out
}

/// The HTML without its first paragraph if that paragraph's text starts with `prefix`, in canonical
/// form; otherwise unchanged.
pub fn strip_leading_paragraph_html(html: &str, prefix: &str) -> String {
    let mut document = crate::recent::read_html(html);
    if !starts_with_prefix(document.blocks.first(), prefix) {
        return html.to_owned();
    }
    document.blocks.remove(0);
    html_out::render(&document)
}
