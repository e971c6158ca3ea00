//! Rich text as plain text, for filters, logs and fingerprints: one line per paragraph, heading, list
//! item or code line, table cells separated by tabs; formatting dropped, mentions as their text.

use crate::model::{Block, Document, Inline};

pub(crate) fn document(document: &Document) -> String {
    let mut lines = Vec::new();
    blocks(&document.blocks, &mut lines);
    lines.join("\n")
}

fn blocks(content: &[Block], lines: &mut Vec<String>) {
    for block in content {
        match block {
            Block::Paragraph(content) | Block::Heading { content, .. } => {
                lines.push(inlines(content));
            }
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                for item in items {
                    blocks(&item.blocks, lines);
                }
            }
            Block::Code { text, .. } => lines.push(text.clone()),
            Block::Blockquote(content) => blocks(content, lines),
            Block::Rule | Block::Image(_) => {}
            Block::Table(rows) => {
                for row in rows {
                    let cells: Vec<String> = row
                        .cells
                        .iter()
                        .map(|cell| {
                            let mut cell_lines = Vec::new();
                            blocks(&cell.blocks, &mut cell_lines);
                            cell_lines.join(" ")
                        })
                        .collect();
                    lines.push(cells.join("\t"));
                }
            }
        }
    }
}

pub(crate) fn inlines(content: &[Inline]) -> String {
    content
        .iter()
        .map(|inline| match inline {
            Inline::Text { text, .. } => text.as_str(),
            Inline::HardBreak => "\n",
            Inline::Mention(mention) => mention.text.as_str(),
        })
        .collect()
}

/// For documents too malformed to read: the text of every text node, so that a filter still sees words.
pub(crate) fn raw_adf_text(document: &serde_json::Value) -> String {
    let mut out = String::new();
    let mut stack = vec![document];
    while let Some(node) = stack.pop() {
        if let Some(text) = node.get("text").and_then(serde_json::Value::as_str) {
            out.push_str(text);
        }
        if let Some(serde_json::Value::Array(children)) = node.get("content") {
            stack.extend(children.iter().rev());
        }
    }
    out
}
