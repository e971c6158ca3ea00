//! Writing the model as Azure DevOps HTML. The output is compact (no whitespace between elements, so
//! nothing can collapse differently on the way back) and written so that reading it gives the same
//! model: paragraphs in `<p>`, except that the first paragraph of a list item or table cell is written
//! bare, as Azure DevOps' editor writes it (`<li>Open</li>`), unless it is empty and not alone.

use std::fmt::Write;

use crate::mention::Mention;
use crate::model::{Block, Document, Inline, ListItem, Mark};
use tandem_model::ImageSource;

pub(crate) fn render(document: &Document) -> String {
    let mut out = String::new();
    blocks(&mut out, &document.blocks);
    out
}

fn blocks(out: &mut String, content: &[Block]) {
    for block in content {
        write_block(out, block);
    }
}

fn write_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(content) => {
            out.push_str("<p>");
            inlines(out, content);
            out.push_str("</p>");
        }
        Block::Heading { level, content } => {
            let _ = write!(out, "<h{level}>");
            inlines(out, content);
            let _ = write!(out, "</h{level}>");
        }
        Block::BulletList(items) => {
            out.push_str("<ul>");
            list_items(out, items);
            out.push_str("</ul>");
        }
        Block::OrderedList { order, items } => {
            if *order == 1 {
                out.push_str("<ol>");
            } else {
                let _ = write!(out, "<ol start=\"{order}\">");
            }
            list_items(out, items);
            out.push_str("</ol>");
        }
        Block::Code { language, text } => {
            out.push_str("<pre><code");
            if let Some(language) = language {
                out.push_str(" class=\"language-");
                escape_attribute(out, language);
                out.push('"');
            }
            out.push('>');
            escape_text(out, text);
            out.push_str("</code></pre>");
        }
        Block::Blockquote(content) => {
            out.push_str("<blockquote>");
            blocks(out, content);
            out.push_str("</blockquote>");
        }
        Block::Rule => out.push_str("<hr>"),
        Block::Image(image) => {
            out.push_str("<img");
            match &image.source {
                ImageSource::Url(url) => attribute(out, "src", url),
                // Only its own system can show a stored file; it is kept, to be read back, not shown.
                ImageSource::Stored { id, collection } => {
                    attribute(out, "data-media-id", id);
                    attribute(out, "data-media-collection", collection);
                }
            }
            if !image.alt.is_empty() {
                attribute(out, "alt", &image.alt);
            }
            out.push('>');
        }
        Block::Table(rows) => {
            out.push_str("<table><tbody>");
            for row in rows {
                out.push_str("<tr>");
                for cell in &row.cells {
                    let tag = if cell.header { "th" } else { "td" };
                    let _ = write!(out, "<{tag}");
                    if cell.colspan != 1 {
                        let _ = write!(out, " colspan=\"{}\"", cell.colspan);
                    }
                    if cell.rowspan != 1 {
                        let _ = write!(out, " rowspan=\"{}\"", cell.rowspan);
                    }
                    out.push('>');
                    blocks_with_bare_lead(out, &cell.blocks);
                    let _ = write!(out, "</{tag}>");
                }
                out.push_str("</tr>");
            }
            out.push_str("</tbody></table>");
        }
    }
}

fn list_items(out: &mut String, items: &[ListItem]) {
    for item in items {
        out.push_str("<li>");
        blocks_with_bare_lead(out, &item.blocks);
        out.push_str("</li>");
    }
}

/// Reading gathers loose inline content at the start of a container into a paragraph, so a first
/// paragraph can go without `<p>`; an empty one only when nothing follows it, since reading an empty
/// container gives an empty paragraph too.
fn blocks_with_bare_lead(out: &mut String, content: &[Block]) {
    let rest = match content.split_first() {
        Some((Block::Paragraph(lead), rest)) if !lead.is_empty() || rest.is_empty() => {
            inlines(out, lead);
            rest
        }
        _ => content,
    };
    blocks(out, rest);
}

/// Writes inline content keeping formatting elements open across text nodes that share them (marks are
/// sorted, so shared marks form a common prefix), the way ProseMirror serialises.
fn inlines(out: &mut String, content: &[Inline]) {
    let mut open: Vec<&Mark> = Vec::new();
    for inline in content {
        match inline {
            Inline::Text { text, marks } => {
                let kept = open.iter().zip(marks).take_while(|(open, mark)| **open == *mark).count();
                close_marks(out, &mut open, kept);
                for mark in &marks[kept..] {
                    open_mark(out, mark);
                    open.push(mark);
                }
                escape_text(out, text);
            }
            Inline::HardBreak => {
                close_marks(out, &mut open, 0);
                out.push_str("<br>");
            }
            Inline::Mention(mention) => {
                close_marks(out, &mut open, 0);
                mention_link(out, mention);
            }
        }
    }
    close_marks(out, &mut open, 0);
}

fn open_mark(out: &mut String, mark: &Mark) {
    match mark {
        Mark::Link { href } => {
            out.push_str("<a href=\"");
            escape_attribute(out, href);
            out.push_str("\">");
        }
        other => {
            let _ = write!(out, "<{}>", mark_tag(other));
        }
    }
}

fn close_marks(out: &mut String, open: &mut Vec<&Mark>, keep: usize) {
    while open.len() > keep {
        if let Some(mark) = open.pop() {
            let _ = write!(out, "</{}>", mark_tag(mark));
        }
    }
}

fn mark_tag(mark: &Mark) -> &'static str {
    match mark {
        Mark::Link { .. } => "a",
        Mark::Em => "em",
        Mark::Strong => "strong",
        Mark::Strike => "s",
        Mark::Underline => "u",
        Mark::Code => "code",
    }
}

/// Azure DevOps' own mention markup, which its UI renders as a person and which notifies them.
fn mention_link(out: &mut String, mention: &Mention) {
    out.push_str("<a href=\"#\" data-vss-mention=\"version:2.0,");
    escape_attribute(out, &mention.id);
    out.push_str("\">");
    escape_text(out, &mention.text);
    out.push_str("</a>");
}

pub(crate) fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

fn attribute(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    escape_attribute(out, value);
    out.push('"');
}

fn escape_attribute(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_marks_stay_open_across_text_nodes() {
        let document = Document {
            blocks: vec![Block::Paragraph(vec![
                Inline::Text { text: "a".into(), marks: vec![Mark::Strong] },
                Inline::Text { text: "b<".into(), marks: vec![Mark::Strong, Mark::Code] },
                Inline::HardBreak,
                Inline::Mention(Mention { id: "1\"2".into(), text: "@A&B".into() }),
            ])],
        };
        assert_eq!(
            render(&document),
            "<p><strong>a<code>b&lt;</code></strong><br>\
             <a href=\"#\" data-vss-mention=\"version:2.0,1&quot;2\">@A&amp;B</a></p>"
        );
    }
}
