//! Reading Azure DevOps HTML into the model. The HTML is parsed once, as a browser would (entities
//! decoded, misnested tags repaired), and walked: `div`, `span` and every element without a meaning in
//! the model are transparent, loose inline content between blocks becomes a paragraph (Azure DevOps
//! wraps lines in `<div>` rather than `<p>`), and formatting elements apply to everything inside them.
//! Whitespace is collapsed later, by the canonical form.
//!
//! The HTML is written by that system's users and so untrusted; the walk is its sanitiser. It builds
//! only the model's nodes, reads only the attributes they need (a link's target, a mention's id, an
//! image's address, a code block's language, a list's start, a cell's span), drops scripts and styles
//! with their content, comments, and links and images whose address the sanitiser's rules refuse
//! ([`sanitize`]). Every other element is read as its content.

use std::mem;

use html5ever::tendril::TendrilSink;
use html5ever::{local_name, ns, parse_fragment, Attribute, ParseOpts, QualName};
use markup5ever_rcdom::{Handle, NodeData, RcDom};

use crate::mention::{id_from_ado_attribute, Mention};
use crate::model::{Block, Document, Inline, ListItem, Mark, TableCell, TableRow};
use crate::normalize::is_html_space;
use crate::sanitize;
use tandem_model::{Image, ImageSource};

/// Elements nested deeper than this are read as their text only, so that hostile nesting cannot
/// exhaust the stack. Real work item HTML stays far below it.
const MAX_DEPTH: usize = 96;

pub(crate) fn parse(html: &str) -> Document {
    let dom = parse_fragment(
        RcDom::default(),
        ParseOpts::default(),
        QualName::new(None, ns!(html), local_name!("div")),
        vec![],
        false,
    )
    .one(html);
    let mut reader = Reader::default();
    let mut sink = BlockSink::default();
    // Fragment parsing puts the fragment's nodes under a synthetic <html> element.
    for root in dom.document.children.borrow().iter() {
        reader.children(root, &mut sink, 0);
    }
    Document { blocks: sink.finish() }
}

/// Collects the blocks of one container; inline content gathers in a run that becomes a paragraph (or
/// heading) when a block or the container's end interrupts it.
#[derive(Default)]
struct BlockSink {
    blocks: Vec<Block>,
    run: Vec<Inline>,
    /// Set inside `<h1>`..`<h6>`.
    heading: Option<u8>,
    /// Set by `<p>` and headings: their run becomes a block even when empty.
    explicit: bool,
    /// Whether the run holds more than whitespace; whitespace between blocks is not a paragraph.
    has_content: bool,
}

impl BlockSink {
    fn text(&mut self, text: &str, marks: &[Mark]) {
        if text.is_empty() {
            return;
        }
        if text.chars().any(|c| !is_html_space(c)) {
            self.has_content = true;
        }
        self.run.push(Inline::Text { text: text.to_owned(), marks: marks.to_vec() });
    }

    fn inline(&mut self, inline: Inline) {
        self.has_content = true;
        self.run.push(inline);
    }

    fn flush(&mut self) {
        let run = mem::take(&mut self.run);
        if self.has_content || self.explicit {
            self.blocks.push(match self.heading {
                Some(level) => Block::Heading { level, content: run },
                None => Block::Paragraph(run),
            });
        }
        self.has_content = false;
        self.explicit = false;
    }

    fn block(&mut self, block: Block) {
        self.flush();
        self.blocks.push(block);
    }

    /// An image stands on its own line: the text before it is a paragraph of its own, and an element
    /// that held only the image (`<p><img></p>`) is no empty paragraph besides.
    fn image(&mut self, image: Image) {
        if self.has_content {
            self.flush();
        }
        self.run.clear();
        self.explicit = false;
        self.blocks.push(Block::Image(image));
    }

    fn finish(mut self) -> Vec<Block> {
        self.flush();
        self.blocks
    }
}

/// The walk's state: the formatting elements the current node is inside.
#[derive(Default)]
struct Reader {
    marks: Vec<Mark>,
}

fn attribute<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a str> {
    attrs.iter().find(|attr| &*attr.name.local == name).map(|attr| &*attr.value)
}

fn element_name(node: &Handle) -> Option<&str> {
    match &node.data {
        NodeData::Element { name, .. } => Some(&name.local),
        _ => None,
    }
}

/// Whether an element is read at all. Scripts and styles hold code, SVG and MathML drawings and
/// formulas (with scripts of their own): never text to show.
fn is_read(name: &QualName) -> bool {
    name.ns == ns!(html) && !sanitize::drops_content(&name.local)
}

fn heading_level(tag: &str) -> Option<u8> {
    tag.strip_prefix('h')?.parse::<u8>().ok().filter(|level| (1..=6).contains(level))
}

/// The text under a node, with `<br>` as a line end; iterative, as it also reads what is nested too
/// deep to walk.
fn text_content(node: &Handle) -> String {
    let mut out = String::new();
    let mut stack: Vec<Handle> = node.children.borrow().iter().rev().cloned().collect();
    while let Some(node) = stack.pop() {
        match &node.data {
            NodeData::Text { contents } => out.push_str(&contents.borrow()),
            NodeData::Element { name, .. } if is_read(name) => {
                if &*name.local == "br" {
                    out.push('\n');
                }
                stack.extend(node.children.borrow().iter().rev().cloned());
            }
            _ => {}
        }
    }
    out
}

/// `language-x` (or `lang-x`) on the `<pre>` or its `<code>`, the convention of highlight.js and Prism.
fn code_language(pre: &Handle, attrs: &[Attribute]) -> Option<String> {
    let from_class = |class: &str| {
        class.split(is_html_space).find_map(|word| {
            word.strip_prefix("language-")
                .or_else(|| word.strip_prefix("lang-"))
                .filter(|language| !language.is_empty())
                .map(str::to_owned)
        })
    };
    attribute(attrs, "class").and_then(from_class).or_else(|| {
        pre.children.borrow().iter().find_map(|child| match &child.data {
            NodeData::Element { name, attrs, .. } if &*name.local == "code" => {
                attribute(&attrs.borrow(), "class").and_then(from_class)
            }
            _ => None,
        })
    })
}

/// The image an `<img>` shows: its address, or the stored file it stands for (as written from ADF).
fn image(attrs: &[Attribute]) -> Option<Image> {
    let source = match (attribute(attrs, "src"), attribute(attrs, "data-media-id")) {
        (Some(src), _) if sanitize::is_shown_image_source(src) => ImageSource::Url(src.to_owned()),
        (Some(_), _) => return None,
        (None, Some(id)) => ImageSource::Stored {
            id: id.to_owned(),
            collection: attribute(attrs, "data-media-collection").unwrap_or_default().to_owned(),
        },
        (None, None) => return None,
    };
    Some(Image { source, alt: attribute(attrs, "alt").unwrap_or_default().to_owned() })
}

/// A span attribute as browsers read it; anything unreadable is the default, 1.
fn span(attrs: &[Attribute], name: &str) -> u32 {
    attribute(attrs, name).and_then(|value| value.trim_matches(is_html_space).parse().ok()).unwrap_or(1)
}

fn list_start(attrs: &[Attribute]) -> u32 {
    attribute(attrs, "start")
        .and_then(|value| value.trim_matches(is_html_space).parse::<i64>().ok())
        .map_or(1, |start| start.clamp(0, i64::from(u32::MAX)) as u32)
}

fn attach_loose(items: &mut Vec<ListItem>, loose: BlockSink) {
    let blocks = loose.finish();
    if blocks.is_empty() {
        return;
    }
    match items.last_mut() {
        Some(item) => item.blocks.extend(blocks),
        None => items.push(ListItem { blocks }),
    }
}

impl Reader {
    fn children(&mut self, node: &Handle, sink: &mut BlockSink, depth: usize) {
        for child in node.children.borrow().iter() {
            self.node(child, sink, depth + 1);
        }
    }

    fn node(&mut self, node: &Handle, sink: &mut BlockSink, depth: usize) {
        match &node.data {
            NodeData::Text { contents } => sink.text(&contents.borrow(), &self.marks),
            NodeData::Element { name, .. } if !is_read(name) => {}
            NodeData::Element { name, attrs, .. } => {
                if depth > MAX_DEPTH {
                    sink.text(&text_content(node), &self.marks);
                } else {
                    self.element(node, &name.local, &attrs.borrow(), sink, depth);
                }
            }
            _ => {}
        }
    }

    fn element(&mut self, node: &Handle, tag: &str, attrs: &[Attribute], sink: &mut BlockSink, depth: usize) {
        match tag {
            "p" => self.text_block(node, None, sink, depth),
            "br" => sink.inline(Inline::HardBreak),
            "img" => {
                if let Some(image) = image(attrs) {
                    sink.image(image);
                }
            }
            "strong" | "b" => self.marked(Mark::Strong, node, sink, depth),
            "em" | "i" => self.marked(Mark::Em, node, sink, depth),
            "s" | "del" | "strike" => self.marked(Mark::Strike, node, sink, depth),
            "u" => self.marked(Mark::Underline, node, sink, depth),
            "code" => self.marked(Mark::Code, node, sink, depth),
            "a" => {
                let mention_id = attribute(attrs, "data-vss-mention").and_then(id_from_ado_attribute);
                if let Some(id) = mention_id {
                    sink.inline(Inline::Mention(Mention { id, text: text_content(node) }));
                } else if let Some(href) = attribute(attrs, "href").filter(|href| sanitize::is_allowed_href(href)) {
                    let link = Mark::Link { href: href.to_owned() };
                    self.marked(link, node, sink, depth);
                } else {
                    self.children(node, sink, depth);
                }
            }
            "ul" => sink.block(Block::BulletList(self.list_items(node, depth))),
            "ol" => sink.block(Block::OrderedList { order: list_start(attrs), items: self.list_items(node, depth) }),
            "pre" => sink.block(Block::Code { language: code_language(node, attrs), text: text_content(node) }),
            "blockquote" => sink.block(Block::Blockquote(self.container(node, depth))),
            "hr" => sink.block(Block::Rule),
            "table" => {
                let mut rows = Vec::new();
                self.table_rows(node, &mut rows, depth);
                sink.block(Block::Table(rows));
            }
            // Block-level elements without a meaning of their own (and table parts outside a table)
            // separate what comes before and after them.
            "div" | "li" | "tr" | "td" | "th" | "thead" | "tbody" | "tfoot" => {
                sink.flush();
                self.children(node, sink, depth);
                sink.flush();
            }
            _ => match heading_level(tag) {
                Some(level) => self.text_block(node, Some(level), sink, depth),
                None => self.children(node, sink, depth),
            },
        }
    }

    fn text_block(&mut self, node: &Handle, heading: Option<u8>, sink: &mut BlockSink, depth: usize) {
        sink.flush();
        let outer = mem::replace(&mut sink.heading, heading);
        sink.explicit = true;
        self.children(node, sink, depth);
        sink.flush();
        sink.heading = outer;
    }

    fn marked(&mut self, mark: Mark, node: &Handle, sink: &mut BlockSink, depth: usize) {
        self.marks.push(mark);
        self.children(node, sink, depth);
        self.marks.pop();
    }

    fn container(&mut self, node: &Handle, depth: usize) -> Vec<Block> {
        let mut inner = BlockSink::default();
        self.children(node, &mut inner, depth);
        inner.finish()
    }

    /// Items of a list; content between items (such as a nested list written directly inside `<ul>`, as
    /// some editors do) belongs to the item before it.
    fn list_items(&mut self, list: &Handle, depth: usize) -> Vec<ListItem> {
        let mut items: Vec<ListItem> = Vec::new();
        let mut loose = BlockSink::default();
        for child in list.children.borrow().iter() {
            if element_name(child) == Some("li") {
                attach_loose(&mut items, mem::take(&mut loose));
                items.push(ListItem { blocks: self.container(child, depth + 1) });
            } else {
                self.node(child, &mut loose, depth + 1);
            }
        }
        attach_loose(&mut items, loose);
        items
    }

    fn table_rows(&mut self, node: &Handle, rows: &mut Vec<TableRow>, depth: usize) {
        for child in node.children.borrow().iter() {
            match element_name(child) {
                Some("thead" | "tbody" | "tfoot") if depth < MAX_DEPTH => {
                    self.table_rows(child, rows, depth + 1);
                }
                Some("tr") => rows.push(self.table_row(child, depth + 1)),
                // The parser moves stray content out of tables; what is left here is whitespace.
                _ => {}
            }
        }
    }

    fn table_row(&mut self, row: &Handle, depth: usize) -> TableRow {
        let mut cells = Vec::new();
        for child in row.children.borrow().iter() {
            if let NodeData::Element { name, attrs, .. } = &child.data {
                let header = &*name.local == "th";
                if header || &*name.local == "td" {
                    let attrs = attrs.borrow();
                    cells.push(TableCell {
                        header,
                        colspan: span(&attrs, "colspan"),
                        rowspan: span(&attrs, "rowspan"),
                        blocks: self.container(child, depth + 1),
                    });
                }
            }
        }
        TableRow { cells }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> Inline {
        Inline::plain(text)
    }

    #[test]
    fn ado_div_lines_become_paragraphs() {
        let document = parse("<div>Steps:<br><ol><li>Open</li></ol></div><div><br></div><div>Done</div>");
        assert_eq!(
            document.blocks,
            vec![
                Block::Paragraph(vec![text("Steps:"), Inline::HardBreak]),
                Block::OrderedList {
                    order: 1,
                    items: vec![ListItem { blocks: vec![Block::Paragraph(vec![text("Open")])] }]
                },
                Block::Paragraph(vec![Inline::HardBreak]),
                Block::Paragraph(vec![text("Done")]),
            ]
        );
    }

    #[test]
    fn a_list_written_directly_inside_a_list_belongs_to_the_item_before_it() {
        let document = parse("<ul><li>a</li><ul><li>b</li></ul></ul>");
        let item = |blocks| ListItem { blocks };
        assert_eq!(
            document.blocks,
            vec![Block::BulletList(vec![item(vec![
                Block::Paragraph(vec![text("a")]),
                Block::BulletList(vec![item(vec![Block::Paragraph(vec![text("b")])])]),
            ])])]
        );
    }

    #[test]
    fn code_language_comes_from_the_class() {
        let document = parse("<pre><code class=\"hljs language-rust\">fn main() {}\n</code></pre>");
        assert_eq!(document.blocks, vec![Block::Code { language: Some("rust".into()), text: "fn main() {}\n".into() }]);
    }

    #[test]
    fn deep_nesting_is_read_as_text() {
        let html = format!("{}deep{}", "<div><span>".repeat(2000), "</span></div>".repeat(2000));
        let document = parse(&html);
        let mut texts = Vec::new();
        for block in document.blocks {
            texts.extend(block.into_inlines());
        }
        assert_eq!(texts, vec![text("deep")]);
    }
}
