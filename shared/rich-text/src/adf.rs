//! Reading Atlassian Document Format JSON into the model, and writing the model back as ADF.
//!
//! Reading is strict about the nodes of the supported subset (a text node needs its text, a mention its
//! id, a heading its level) and lenient about everything else: unknown or unsupported nodes keep their
//! text, unsupported marks (textColor, subsup, annotation, ...) are dropped, and the nodes listed in
//! [`crate::lossy`] become readable text.

use serde_json::{json, Map, Value};

use crate::error::RichTextError;
use crate::lossy;
use crate::mention::Mention;
use crate::model::{Block, Document, Inline, ListItem, Mark, TableCell, TableRow};
use crate::sanitize;
use tandem_model::{Image, ImageSource};

/// How deep nodes may nest. Jira's editor stays far below this; the limit keeps a hostile document
/// from exhausting the stack.
pub(crate) const MAX_DEPTH: usize = 128;

pub(crate) fn parse_document(document: &Value) -> Result<Document, RichTextError> {
    let is_doc = document.get("type").and_then(Value::as_str) == Some("doc")
        && document.get("version").and_then(Value::as_u64) == Some(1);
    if !is_doc {
        return Err(RichTextError::InvalidRoot { found: describe(document) });
    }
    let mut sink = BlockSink::default();
    visit_children(document, "doc", 0, &mut sink)?;
    Ok(Document { blocks: sink.finish() })
}

/// Reads one node that stands where blocks go (e.g. the first node of a document).
pub(crate) fn parse_block_node(node: &Value) -> Result<Vec<Block>, RichTextError> {
    let mut sink = BlockSink::default();
    visit(node, "content[0]", 1, &mut sink)?;
    Ok(sink.finish())
}

/// Whether a node of type `kind` is anywhere in `document` (walked without recursion: the document may
/// nest arbitrarily deep).
pub(crate) fn has_node(document: &Value, kind: &str) -> bool {
    let mut stack = vec![document];
    while let Some(node) = stack.pop() {
        if node.get("type").and_then(Value::as_str) == Some(kind) {
            return true;
        }
        if let Some(Value::Array(children)) = node.get("content") {
            stack.extend(children);
        }
    }
    false
}

fn describe(value: &Value) -> String {
    match value {
        Value::Object(object) => format!(
            "{{type: {}, version: {}}}",
            object.get("type").map_or("missing".into(), Value::to_string),
            object.get("version").map_or("missing".into(), Value::to_string),
        ),
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
    }
}

/// Where converted nodes go: block positions gather loose inline nodes into paragraphs, inline positions
/// flatten blocks into lines.
trait Sink {
    fn inline(&mut self, inline: Inline);
    fn block(&mut self, block: Block);
}

#[derive(Default)]
struct BlockSink {
    blocks: Vec<Block>,
    loose: Vec<Inline>,
}

impl BlockSink {
    fn flush(&mut self) {
        if !self.loose.is_empty() {
            self.blocks.push(Block::Paragraph(std::mem::take(&mut self.loose)));
        }
    }

    fn finish(mut self) -> Vec<Block> {
        self.flush();
        self.blocks
    }
}

impl Sink for BlockSink {
    fn inline(&mut self, inline: Inline) {
        self.loose.push(inline);
    }

    fn block(&mut self, block: Block) {
        self.flush();
        self.blocks.push(block);
    }
}

#[derive(Default)]
struct InlineSink {
    inlines: Vec<Inline>,
}

impl Sink for InlineSink {
    fn inline(&mut self, inline: Inline) {
        self.inlines.push(inline);
    }

    fn block(&mut self, block: Block) {
        let content = block.into_inlines();
        if content.is_empty() {
            return;
        }
        if !self.inlines.is_empty() {
            self.inlines.push(Inline::HardBreak);
        }
        self.inlines.extend(content);
    }
}

fn children<'a>(node: &'a Value, path: &str) -> Result<&'a [Value], RichTextError> {
    match node.get("content") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(children)) => Ok(children),
        Some(_) => Err(RichTextError::invalid_node(path, "content must be an array")),
    }
}

fn visit_children(node: &Value, path: &str, depth: usize, sink: &mut dyn Sink) -> Result<(), RichTextError> {
    for (index, child) in children(node, path)?.iter().enumerate() {
        visit(child, &format!("{path}.content[{index}]"), depth + 1, sink)?;
    }
    Ok(())
}

fn block_children(node: &Value, path: &str, depth: usize) -> Result<Vec<Block>, RichTextError> {
    let mut sink = BlockSink::default();
    visit_children(node, path, depth, &mut sink)?;
    Ok(sink.finish())
}

fn inline_children(node: &Value, path: &str, depth: usize) -> Result<Vec<Inline>, RichTextError> {
    let mut sink = InlineSink::default();
    visit_children(node, path, depth, &mut sink)?;
    Ok(sink.inlines)
}

fn attr<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    node.get("attrs").and_then(|attrs| attrs.get(name))
}

fn attr_str<'a>(node: &'a Value, name: &str) -> Option<&'a str> {
    attr(node, name).and_then(Value::as_str)
}

/// A numeric attribute that the schema types as a number, read as a whole number; `None` when absent.
fn attr_count(node: &Value, name: &str, path: &str) -> Result<Option<u32>, RichTextError> {
    match attr(node, name) {
        None | Some(Value::Null) => Ok(None),
        // `as` saturates, which is what an absurdly large span or start number deserves.
        Some(value) => match value.as_f64() {
            Some(number) if number >= 0.0 => Ok(Some(number as u32)),
            _ => Err(RichTextError::invalid_node(path, format!("attrs.{name} must be a number >= 0, found {value}"))),
        },
    }
}

fn visit(node: &Value, path: &str, depth: usize, sink: &mut dyn Sink) -> Result<(), RichTextError> {
    if depth > MAX_DEPTH {
        return Err(RichTextError::TooDeep { path: path.to_owned(), limit: MAX_DEPTH });
    }
    if !node.is_object() {
        return Err(RichTextError::invalid_node(path, "node must be an object"));
    }
    let Some(kind) = node.get("type").and_then(Value::as_str) else {
        return Err(RichTextError::invalid_node(path, "node has no type"));
    };
    match kind {
        "text" => {
            let Some(text) = node.get("text").and_then(Value::as_str) else {
                return Err(RichTextError::invalid_node(path, "text node has no text"));
            };
            sink.inline(Inline::Text { text: text.to_owned(), marks: parse_marks(node, path)? });
        }
        "hardBreak" => sink.inline(Inline::HardBreak),
        "mention" => {
            let Some(id) = attr_str(node, "id") else {
                return Err(RichTextError::invalid_node(path, "mention has no attrs.id"));
            };
            sink.inline(Inline::Mention(Mention {
                id: id.to_owned(),
                text: attr_str(node, "text").unwrap_or_default().to_owned(),
            }));
        }
        "paragraph" => sink.block(Block::Paragraph(inline_children(node, path, depth)?)),
        "heading" => {
            let level = attr(node, "level").and_then(Value::as_f64);
            let Some(level) = level.filter(|level| (1.0..=6.0).contains(level)) else {
                return Err(RichTextError::invalid_node(path, "heading attrs.level must be a number from 1 to 6"));
            };
            sink.block(Block::Heading { level: level as u8, content: inline_children(node, path, depth)? });
        }
        "bulletList" | "taskList" | "decisionList" => {
            sink.block(Block::BulletList(list_items(node, path, depth)?));
        }
        "orderedList" => sink.block(Block::OrderedList {
            order: attr_count(node, "order", path)?.unwrap_or(1),
            items: list_items(node, path, depth)?,
        }),
        "codeBlock" => sink.block(Block::Code {
            language: attr_str(node, "language").map(str::to_owned),
            text: inline_children(node, path, depth)?
                .iter()
                .map(|inline| match inline {
                    Inline::Text { text, .. } => text.as_str(),
                    Inline::HardBreak => "\n",
                    Inline::Mention(mention) => mention.text.as_str(),
                })
                .collect(),
        }),
        "blockquote" => sink.block(Block::Blockquote(block_children(node, path, depth)?)),
        "rule" => sink.block(Block::Rule),
        "table" => sink.block(Block::Table(table_rows(node, path, depth)?)),
        "emoji" => lossy::emoji(node).into_iter().for_each(|i| sink.inline(i)),
        "status" => lossy::status(node).into_iter().for_each(|i| sink.inline(i)),
        "date" => lossy::date(node).into_iter().for_each(|i| sink.inline(i)),
        "inlineCard" => lossy::card_link(node).into_iter().for_each(|i| sink.inline(i)),
        "blockCard" | "embedCard" => {
            if let Some(link) = lossy::card_link(node) {
                sink.block(Block::Paragraph(vec![link]));
            }
        }
        "taskItem" | "decisionItem" => sink.block(Block::Paragraph(task_line(node, path, depth)?)),
        "expand" | "nestedExpand" => {
            if let Some(title) = attr_str(node, "title").filter(|t| !t.trim().is_empty()) {
                sink.block(Block::Paragraph(vec![Inline::Text { text: title.to_owned(), marks: vec![Mark::Strong] }]));
            }
            visit_children(node, path, depth, sink)?;
        }
        "mediaSingle" => {
            for media in children(node, path)? {
                if let Some(image) = image(media) {
                    sink.block(Block::Image(image));
                }
            }
        }
        // Placeholders are editor prompts, not content. A media group shows the item's files as cards
        // (they travel as attachments), and inline media is a file's name chip: neither is an image in
        // the text.
        "placeholder" | "media" | "mediaGroup" | "mediaInline" => {}
        // Containers such as listItem, tableCell, panel or layoutSection found out of place, and nodes
        // this crate does not know: keep what they say.
        _ => {
            if let Some(text) = node.get("text").and_then(Value::as_str) {
                sink.inline(Inline::plain(text));
            }
            if let Some(Value::Array(_)) = node.get("content") {
                visit_children(node, path, depth, sink)?;
            }
        }
    }
    Ok(())
}

/// The image a `media` node in a `mediaSingle` shows: an external address, or a stored file (a link
/// media is a card, not an image).
fn image(media: &Value) -> Option<Image> {
    if media.get("type").and_then(Value::as_str) != Some("media") {
        return None;
    }
    let source = match attr_str(media, "type")? {
        "external" => {
            ImageSource::Url(attr_str(media, "url").filter(|url| sanitize::is_shown_image_source(url))?.to_owned())
        }
        "file" => ImageSource::Stored {
            id: attr_str(media, "id")?.to_owned(),
            collection: attr_str(media, "collection").unwrap_or_default().to_owned(),
        },
        _ => return None,
    };
    Some(Image { source, alt: attr_str(media, "alt").unwrap_or_default().to_owned() })
}

fn parse_marks(node: &Value, path: &str) -> Result<Vec<Mark>, RichTextError> {
    let marks = match node.get("marks") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(marks)) => marks,
        Some(_) => return Err(RichTextError::invalid_node(path, "marks must be an array")),
    };
    let mut parsed = Vec::with_capacity(marks.len());
    for (index, mark) in marks.iter().enumerate() {
        let Some(kind) = mark.get("type").and_then(Value::as_str) else {
            return Err(RichTextError::invalid_node(path, format!("marks[{index}] has no type")));
        };
        parsed.push(match kind {
            "link" => match attr_str(mark, "href") {
                Some(href) => Mark::Link { href: href.to_owned() },
                None => {
                    return Err(RichTextError::invalid_node(
                        path,
                        format!("link mark marks[{index}] has no attrs.href"),
                    ))
                }
            },
            "em" => Mark::Em,
            "strong" => Mark::Strong,
            "strike" => Mark::Strike,
            "underline" => Mark::Underline,
            "code" => Mark::Code,
            // Colours, sub/superscript, annotations and marks not yet invented have no counterpart in
            // Azure DevOps' subset: the text stays, the formatting goes.
            _ => continue,
        });
    }
    Ok(parsed)
}

fn list_items(node: &Value, path: &str, depth: usize) -> Result<Vec<ListItem>, RichTextError> {
    let mut items = Vec::new();
    for (index, child) in children(node, path)?.iter().enumerate() {
        let child_path = format!("{path}.content[{index}]");
        let blocks = match child.get("type").and_then(Value::as_str) {
            Some("listItem") => block_children(child, &child_path, depth + 1)?,
            Some("taskItem" | "decisionItem") => {
                vec![Block::Paragraph(task_line(child, &child_path, depth + 1)?)]
            }
            _ => {
                let mut sink = BlockSink::default();
                visit(child, &child_path, depth + 1, &mut sink)?;
                sink.finish()
            }
        };
        items.push(ListItem { blocks });
    }
    Ok(items)
}

/// A task or decision as a line of text; tasks say whether they are done, as Markdown would.
fn task_line(node: &Value, path: &str, depth: usize) -> Result<Vec<Inline>, RichTextError> {
    let mut line = inline_children(node, path, depth)?;
    if node.get("type").and_then(Value::as_str) == Some("taskItem") {
        let done = attr_str(node, "state") == Some("DONE");
        line.insert(0, Inline::plain(if done { "[x] " } else { "[ ] " }));
    }
    Ok(line)
}

fn table_rows(node: &Value, path: &str, depth: usize) -> Result<Vec<TableRow>, RichTextError> {
    let mut rows = Vec::new();
    for (index, child) in children(node, path)?.iter().enumerate() {
        let row_path = format!("{path}.content[{index}]");
        if child.get("type").and_then(Value::as_str) != Some("tableRow") {
            rows.push(TableRow { cells: vec![table_cell(child, &row_path, depth + 1)?] });
            continue;
        }
        let mut cells = Vec::new();
        for (index, cell) in children(child, &row_path)?.iter().enumerate() {
            cells.push(table_cell(cell, &format!("{row_path}.content[{index}]"), depth + 2)?);
        }
        rows.push(TableRow { cells });
    }
    Ok(rows)
}

fn table_cell(node: &Value, path: &str, depth: usize) -> Result<TableCell, RichTextError> {
    let kind = node.get("type").and_then(Value::as_str);
    if !matches!(kind, Some("tableCell" | "tableHeader")) {
        let mut sink = BlockSink::default();
        visit(node, path, depth, &mut sink)?;
        return Ok(TableCell { header: false, colspan: 1, rowspan: 1, blocks: sink.finish() });
    }
    Ok(TableCell {
        header: kind == Some("tableHeader"),
        colspan: attr_count(node, "colspan", path)?.unwrap_or(1),
        rowspan: attr_count(node, "rowspan", path)?.unwrap_or(1),
        blocks: block_children(node, path, depth)?,
    })
}

pub(crate) fn to_value(document: &Document) -> Value {
    json!({
        "type": "doc",
        "version": 1,
        "content": document.blocks.iter().map(block_to_value).collect::<Vec<_>>(),
    })
}

fn node(kind: &str, attrs: Option<Map<String, Value>>, content: Option<Vec<Value>>) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), kind.into());
    if let Some(attrs) = attrs.filter(|attrs| !attrs.is_empty()) {
        object.insert("attrs".into(), Value::Object(attrs));
    }
    if let Some(content) = content {
        object.insert("content".into(), Value::Array(content));
    }
    Value::Object(object)
}

fn attrs<const N: usize>(entries: [(&str, Option<Value>); N]) -> Option<Map<String, Value>> {
    Some(entries.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))).collect())
}

pub(crate) fn block_to_value(block: &Block) -> Value {
    let blocks = |blocks: &[Block]| Some(blocks.iter().map(block_to_value).collect());
    let items =
        |items: &[ListItem]| Some(items.iter().map(|item| node("listItem", None, blocks(&item.blocks))).collect());
    match block {
        Block::Paragraph(content) => node("paragraph", None, Some(inlines_to_value(content))),
        Block::Heading { level, content } => {
            node("heading", attrs([("level", Some((*level).into()))]), Some(inlines_to_value(content)))
        }
        Block::BulletList(list) => node("bulletList", None, items(list)),
        Block::OrderedList { order, items: list } => {
            node("orderedList", attrs([("order", (*order != 1).then(|| (*order).into()))]), items(list))
        }
        Block::Code { language, text } => node(
            "codeBlock",
            attrs([("language", language.clone().map(Value::from))]),
            Some(if text.is_empty() { Vec::new() } else { vec![json!({"type": "text", "text": text})] }),
        ),
        Block::Blockquote(content) => node("blockquote", None, blocks(content)),
        Block::Rule => node("rule", None, None),
        Block::Image(image) => image_to_value(image),
        Block::Table(rows) => node(
            "table",
            None,
            Some(
                rows.iter()
                    .map(|row| {
                        let cells = row.cells.iter().map(|cell| {
                            node(
                                if cell.header { "tableHeader" } else { "tableCell" },
                                attrs([
                                    ("colspan", (cell.colspan != 1).then(|| cell.colspan.into())),
                                    ("rowspan", (cell.rowspan != 1).then(|| cell.rowspan.into())),
                                ]),
                                blocks(&cell.blocks),
                            )
                        });
                        node("tableRow", None, Some(cells.collect()))
                    })
                    .collect(),
            ),
        ),
    }
}

fn image_to_value(image: &Image) -> Value {
    let alt = (!image.alt.is_empty()).then(|| Value::from(image.alt.as_str()));
    let media = match &image.source {
        ImageSource::Url(url) => {
            attrs([("type", Some("external".into())), ("url", Some(url.as_str().into())), ("alt", alt)])
        }
        ImageSource::Stored { id, collection } => attrs([
            ("type", Some("file".into())),
            ("id", Some(id.as_str().into())),
            ("collection", Some(collection.as_str().into())),
            ("alt", alt),
        ]),
    };
    // Centred, as Jira's editor places a pasted image.
    let layout = attrs([("layout", Some("center".into()))]);
    node("mediaSingle", layout, Some(vec![node("media", media, None)]))
}

fn inlines_to_value(content: &[Inline]) -> Vec<Value> {
    content.iter().map(inline_to_value).collect()
}

pub(crate) fn inline_to_value(inline: &Inline) -> Value {
    match inline {
        Inline::Text { text, marks } => {
            let mut object = Map::new();
            object.insert("type".into(), "text".into());
            object.insert("text".into(), text.as_str().into());
            if !marks.is_empty() {
                object.insert("marks".into(), marks.iter().map(mark_to_value).collect::<Vec<_>>().into());
            }
            Value::Object(object)
        }
        Inline::HardBreak => json!({"type": "hardBreak"}),
        Inline::Mention(mention) => json!({
            "type": "mention",
            "attrs": {"id": mention.id, "text": mention.text},
        }),
    }
}

fn mark_to_value(mark: &Mark) -> Value {
    match mark {
        Mark::Link { href } => json!({"type": "link", "attrs": {"href": href}}),
        Mark::Em => json!({"type": "em"}),
        Mark::Strong => json!({"type": "strong"}),
        Mark::Strike => json!({"type": "strike"}),
        Mark::Underline => json!({"type": "underline"}),
        Mark::Code => json!({"type": "code"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_must_be_a_version_1_doc() {
        for root in [
            json!({"type": "paragraph", "content": []}),
            json!({"type": "doc", "version": 2, "content": []}),
            json!([]),
        ] {
            let error = parse_document(&root).unwrap_err();
            assert!(error.to_string().contains("ADF root must be {type: doc, version: 1}"));
        }
    }

    #[test]
    fn errors_name_the_node_and_the_problem() {
        let document = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "ok"}, {"type": "text"}]}
        ]});
        assert_eq!(
            parse_document(&document).unwrap_err().to_string(),
            "ADF node at doc.content[0].content[1]: text node has no text"
        );
        let document = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "link"}]}]}
        ]});
        assert!(parse_document(&document).unwrap_err().to_string().contains("link mark marks[0] has no attrs.href"));
    }

    #[test]
    fn unknown_marks_are_dropped_and_unknown_nodes_keep_their_text() {
        let document = json!({"type": "doc", "version": 1, "content": [
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "hi", "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}, {"type": "sparkle"}]},
                    {"type": "futureInline", "text": " there"}
                ]}
            ]}
        ]});
        let parsed = parse_document(&document).unwrap();
        assert_eq!(parsed.blocks, vec![Block::Paragraph(vec![Inline::plain("hi"), Inline::plain(" there")])]);
    }

    #[test]
    fn nesting_beyond_the_limit_is_an_error_not_a_stack_overflow() {
        let mut node = json!({"type": "text", "text": "deep"});
        for _ in 0..MAX_DEPTH + 5 {
            node = json!({"type": "blockquote", "content": [node]});
        }
        let document = json!({"type": "doc", "version": 1, "content": [node]});
        assert!(matches!(parse_document(&document), Err(RichTextError::TooDeep { .. })));
    }
}
