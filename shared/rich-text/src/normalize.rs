//! The canonical form of a document: the one value that both converters agree on, so that comparing two
//! values between syncs never sees a difference that is only spelling. Its rules:
//!
//! - whitespace in text collapses as a browser collapses it (runs of ASCII whitespace become one space;
//!   none at the start or end of a paragraph, or around a hard break); code blocks keep theirs, with line
//!   ends as `\n`;
//! - hard breaks at the end of a paragraph or heading go (a browser shows none);
//! - adjacent text with equal marks merges, empty text goes;
//! - marks are deduplicated (the first link wins), sorted (link, em, strong, strike, underline, code),
//!   reduced to code and link when code is present (the ADF schema allows no more), and links with a
//!   target the sanitiser would strip are dropped;
//! - blocks only stand where the ADF schema lets them: headings outside the document and table cells
//!   become paragraphs, rules there go, nested blockquotes and tables give up their content to the
//!   container they are in;
//! - containers that must not be empty (list item, blockquote, table cell) hold at least an empty
//!   paragraph, and a list item starts with a paragraph; empty lists, rows and tables go;
//! - attributes that carry the default go: `order` 1, `colspan`/`rowspan` 1, an empty code language;
//!   a code language is its first word; a mention without text shows `@` and its id.

use crate::mention::Mention;
use crate::model::{Block, Document, Inline, ListItem, Mark, TableCell, TableRow};
use crate::sanitize;
use tandem_model::{Image, ImageSource};

/// Browsers honour at most this many columns and rows of a span.
const MAX_COLSPAN: u32 = 1000;
const MAX_ROWSPAN: u32 = 65534;

pub(crate) fn canonicalize(document: Document) -> Document {
    Document { blocks: blocks(document.blocks, Context::Doc) }
}

/// Where blocks stand, which decides what the ADF schema lets them be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Doc,
    Blockquote,
    ListItem,
    TableCell,
}

impl Context {
    /// Headings, rules and blockquotes may stand at the top and in table cells only.
    fn allows_heading_rule_and_quote(self) -> bool {
        matches!(self, Context::Doc | Context::TableCell)
    }
}

fn blocks(input: Vec<Block>, context: Context) -> Vec<Block> {
    let mut out = Vec::with_capacity(input.len());
    for block in input {
        push_block(block, context, &mut out);
    }
    out
}

fn non_empty(mut blocks: Vec<Block>) -> Vec<Block> {
    if blocks.is_empty() {
        blocks.push(Block::Paragraph(Vec::new()));
    }
    blocks
}

fn push_block(block: Block, context: Context, out: &mut Vec<Block>) {
    match block {
        Block::Paragraph(content) => out.push(Block::Paragraph(inlines(content))),
        Block::Heading { level, content } => {
            let content = inlines(content);
            out.push(if context.allows_heading_rule_and_quote() {
                Block::Heading { level: level.clamp(1, 6), content }
            } else {
                Block::Paragraph(content)
            });
        }
        Block::BulletList(items) => {
            let items = list_items(items);
            if !items.is_empty() {
                out.push(Block::BulletList(items));
            }
        }
        Block::OrderedList { order, items } => {
            let items = list_items(items);
            if !items.is_empty() {
                out.push(Block::OrderedList { order, items });
            }
        }
        Block::Code { language, text } => {
            out.push(Block::Code { language: language.as_deref().and_then(language_name), text: code_text(&text) })
        }
        Block::Blockquote(content) if context.allows_heading_rule_and_quote() => {
            out.push(Block::Blockquote(non_empty(blocks(content, Context::Blockquote))));
        }
        Block::Blockquote(content) => {
            for block in content {
                push_block(block, context, out);
            }
        }
        Block::Rule => {
            if context.allows_heading_rule_and_quote() {
                out.push(Block::Rule);
            }
        }
        Block::Image(image) => out.extend(canonical_image(image).map(Block::Image)),
        Block::Table(rows) if context == Context::Doc => {
            let rows = table_rows(rows);
            if !rows.is_empty() {
                out.push(Block::Table(rows));
            }
        }
        Block::Table(rows) => {
            for block in rows.into_iter().flat_map(|row| row.cells).flat_map(|cell| cell.blocks) {
                push_block(block, context, out);
            }
        }
    }
}

/// An image as HTML reads it back: attribute text, and an address the sanitiser keeps (an image with
/// none shows nothing and goes).
fn canonical_image(image: Image) -> Option<Image> {
    let source = match image.source {
        ImageSource::Url(url) => {
            let url = attribute_text(&url);
            sanitize::is_shown_image_source(&url).then_some(ImageSource::Url(url))?
        }
        ImageSource::Stored { id, collection } => {
            let id = attribute_text(&id);
            (!id.is_empty()).then(|| ImageSource::Stored { id, collection: attribute_text(&collection) })?
        }
    };
    Some(Image { source, alt: attribute_text(&image.alt) })
}

fn list_items(items: Vec<ListItem>) -> Vec<ListItem> {
    items
        .into_iter()
        .map(|item| {
            let mut blocks = blocks(item.blocks, Context::ListItem);
            // Jira's editor requires a list item to open with a paragraph.
            if !matches!(blocks.first(), Some(Block::Paragraph(_))) {
                blocks.insert(0, Block::Paragraph(Vec::new()));
            }
            ListItem { blocks }
        })
        .collect()
}

fn table_rows(rows: Vec<TableRow>) -> Vec<TableRow> {
    rows.into_iter()
        .map(|row| TableRow {
            cells: row
                .cells
                .into_iter()
                .map(|cell| TableCell {
                    header: cell.header,
                    colspan: cell.colspan.clamp(1, MAX_COLSPAN),
                    rowspan: cell.rowspan.clamp(1, MAX_ROWSPAN),
                    blocks: non_empty(blocks(cell.blocks, Context::TableCell)),
                })
                .collect(),
        })
        .filter(|row| !row.cells.is_empty())
        .collect()
}

/// The language of a code block is what a `language-x` class can carry: one word.
fn language_name(language: &str) -> Option<String> {
    language.split(is_html_space).find(|word| !word.is_empty()).map(attribute_text)
}

/// HTML parsing turns every line end into `\n` and drops NUL characters from text.
fn code_text(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n").replace('\0', "")
}

/// What an HTML attribute value reads back as: line ends as `\n`, NUL as U+FFFD.
pub(crate) fn attribute_text(value: &str) -> String {
    value.replace("\r\n", "\n").replace('\r', "\n").replace('\0', "\u{FFFD}")
}

/// The whitespace HTML collapses; no-break space is not among it.
pub(crate) fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C')
}

/// Text on its own, as a browser shows it: single spaces, none at either end.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let text = text.replace('\0', "");
    let mut out = String::with_capacity(text.len());
    for word in text.split(is_html_space).filter(|word| !word.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

pub(crate) fn inlines(input: Vec<Inline>) -> Vec<Inline> {
    let mut out = Vec::with_capacity(input.len());
    // The start of a block swallows whitespace as a preceding space would.
    let mut after_space = true;
    for inline in input {
        match inline {
            Inline::Text { text, marks } => {
                push_text(&mut out, &text, canonical_marks(marks), &mut after_space);
            }
            Inline::HardBreak => {
                trim_trailing_space(&mut out);
                out.push(Inline::HardBreak);
                after_space = true;
            }
            Inline::Mention(mention) => match mention.canonical() {
                Ok(mention) => {
                    out.push(Inline::Mention(mention));
                    after_space = false;
                }
                Err(text) => push_text(&mut out, &text, Vec::new(), &mut after_space),
            },
        }
    }
    trim_trailing_space(&mut out);
    while matches!(out.last(), Some(Inline::HardBreak)) {
        out.pop();
        trim_trailing_space(&mut out);
    }
    out
}

fn push_text(out: &mut Vec<Inline>, text: &str, marks: Vec<Mark>, after_space: &mut bool) {
    let mut collapsed = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' {
            continue;
        }
        if is_html_space(c) {
            if !*after_space {
                collapsed.push(' ');
                *after_space = true;
            }
        } else {
            collapsed.push(c);
            *after_space = false;
        }
    }
    if collapsed.is_empty() {
        return;
    }
    if let Some(Inline::Text { text: previous, marks: previous_marks }) = out.last_mut() {
        if *previous_marks == marks {
            previous.push_str(&collapsed);
            return;
        }
    }
    out.push(Inline::Text { text: collapsed, marks });
}

/// Collapsing leaves at most one trailing space, in the last text node.
fn trim_trailing_space(out: &mut Vec<Inline>) {
    if let Some(Inline::Text { text, .. }) = out.last_mut() {
        if text.ends_with(' ') {
            text.pop();
            if text.is_empty() {
                out.pop();
            }
        }
    }
}

fn canonical_marks(marks: Vec<Mark>) -> Vec<Mark> {
    let mut out: Vec<Mark> = Vec::with_capacity(marks.len());
    for mark in marks {
        let mark = match mark {
            Mark::Link { href } => {
                let href = attribute_text(&href);
                if !sanitize::is_allowed_href(&href) {
                    continue;
                }
                Mark::Link { href }
            }
            other => other,
        };
        if !out.iter().any(|kept| kept.same_kind(&mark)) {
            out.push(mark);
        }
    }
    if out.contains(&Mark::Code) {
        out.retain(|mark| matches!(mark, Mark::Code | Mark::Link { .. }));
    }
    out.sort();
    out
}

impl Mention {
    /// The mention as the canonical form has it, or the plain text it falls back to when it names no one.
    pub(crate) fn canonical(self) -> Result<Mention, String> {
        let id = attribute_text(&self.id).trim_matches(is_html_space).to_owned();
        let text = collapse_whitespace(&self.text);
        if id.is_empty() {
            return Err(text);
        }
        let text = if text.is_empty() { collapse_whitespace(&format!("@{id}")) } else { text };
        Ok(Mention { id, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str, marks: &[Mark]) -> Inline {
        Inline::Text { text: text.into(), marks: marks.to_vec() }
    }

    #[test]
    fn whitespace_collapses_across_nodes_and_around_breaks() {
        let canonical = inlines(vec![
            text("  a  \n", &[]),
            text(" b ", &[Mark::Strong]),
            text(" ", &[]),
            Inline::HardBreak,
            text("  c", &[]),
            text("\t", &[Mark::Em]),
            Inline::HardBreak,
            Inline::HardBreak,
        ]);
        assert_eq!(canonical, vec![text("a ", &[]), text("b", &[Mark::Strong]), Inline::HardBreak, text("c", &[]),]);
    }

    #[test]
    fn marks_are_sorted_deduplicated_and_fit_the_schema() {
        let link = |href: &str| Mark::Link { href: href.into() };
        assert_eq!(
            canonical_marks(vec![Mark::Strong, link("/a"), Mark::Em, Mark::Strong, link("/b")]),
            vec![link("/a"), Mark::Em, Mark::Strong]
        );
        assert_eq!(canonical_marks(vec![Mark::Strong, Mark::Code, link("/a")]), vec![link("/a"), Mark::Code]);
        assert_eq!(canonical_marks(vec![link("javascript:alert(1)"), Mark::Em]), vec![Mark::Em]);
    }

    #[test]
    fn adjacent_text_with_equal_marks_merges() {
        assert_eq!(
            inlines(vec![text("a", &[Mark::Em, Mark::Strong]), text("", &[]), text("b", &[Mark::Strong, Mark::Em]),]),
            vec![text("ab", &[Mark::Em, Mark::Strong])]
        );
    }

    #[test]
    fn blocks_are_fitted_to_where_they_stand() {
        let quote = Block::Blockquote(vec![
            Block::Heading { level: 2, content: vec![text("h", &[])] },
            Block::Rule,
            Block::Blockquote(vec![Block::Paragraph(vec![text("inner", &[])])]),
        ]);
        let list = Block::BulletList(vec![ListItem { blocks: vec![Block::BulletList(vec![ListItem::default()])] }]);
        let document =
            canonicalize(Document { blocks: vec![quote, list, Block::OrderedList { order: 3, items: vec![] }] });
        let empty_item = || ListItem { blocks: vec![Block::Paragraph(vec![])] };
        assert_eq!(
            document.blocks,
            vec![
                Block::Blockquote(vec![
                    Block::Paragraph(vec![text("h", &[])]),
                    Block::Paragraph(vec![text("inner", &[])]),
                ]),
                Block::BulletList(vec![ListItem {
                    blocks: vec![Block::Paragraph(vec![]), Block::BulletList(vec![empty_item()]),],
                }]),
            ]
        );
    }

    #[test]
    fn mentions_without_text_show_their_id_and_without_id_become_text() {
        assert_eq!(
            Mention { id: " 42 ".into(), text: "".into() }.canonical(),
            Ok(Mention { id: "42".into(), text: "@42".into() })
        );
        assert_eq!(Mention { id: "".into(), text: " @Jane  Doe ".into() }.canonical(), Err("@Jane Doe".into()));
    }
}
