//! The typed subset of rich text that tandem carries between the sides: what both ADF and Azure DevOps
//! HTML can express. Both formats are read into it and written from it, so that a value written by one
//! converter reads back identically through the other.

use crate::mention::Mention;
use tandem_model::Image;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Document {
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    Paragraph(Vec<Inline>),
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    BulletList(Vec<ListItem>),
    OrderedList {
        order: u32,
        items: Vec<ListItem>,
    },
    Code {
        language: Option<String>,
        text: String,
    },
    Blockquote(Vec<Block>),
    Rule,
    Table(Vec<TableRow>),
    /// An image on its own line (ADF's `mediaSingle`; `<img>` in HTML, which splits the line it is in).
    Image(Image),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ListItem {
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TableRow {
    pub cells: Vec<TableCell>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableCell {
    pub header: bool,
    pub colspan: u32,
    pub rowspan: u32,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inline {
    Text { text: String, marks: Vec<Mark> },
    HardBreak,
    Mention(Mention),
}

impl Inline {
    pub fn plain(text: impl Into<String>) -> Self {
        Inline::Text { text: text.into(), marks: Vec::new() }
    }
}

/// Text formatting. The variant order is the canonical mark order (ProseMirror's rank in the ADF schema),
/// which is also the nesting order in HTML: links outermost, code innermost.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Mark {
    Link { href: String },
    Em,
    Strong,
    Strike,
    Underline,
    Code,
}

impl Mark {
    pub fn same_kind(&self, other: &Mark) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl Block {
    /// Calls `visit` on every inline of this block and of the blocks inside it, in document order.
    pub fn for_each_inline_mut(&mut self, visit: &mut dyn FnMut(&mut Vec<Inline>)) {
        match self {
            Block::Paragraph(content) | Block::Heading { content, .. } => visit(content),
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                for item in items {
                    for block in &mut item.blocks {
                        block.for_each_inline_mut(visit);
                    }
                }
            }
            Block::Blockquote(blocks) => {
                for block in blocks {
                    block.for_each_inline_mut(visit);
                }
            }
            Block::Table(rows) => {
                for cell in rows.iter_mut().flat_map(|row| row.cells.iter_mut()) {
                    for block in &mut cell.blocks {
                        block.for_each_inline_mut(visit);
                    }
                }
            }
            Block::Code { .. } | Block::Rule | Block::Image(_) => {}
        }
    }

    /// Calls `visit` on this block and every block inside it, outermost first.
    pub fn for_each_block_mut(&mut self, visit: &mut dyn FnMut(&mut Block)) {
        visit(self);
        match self {
            Block::BulletList(items) | Block::OrderedList { items, .. } => items
                .iter_mut()
                .flat_map(|item| item.blocks.iter_mut())
                .for_each(|block| block.for_each_block_mut(visit)),
            Block::Blockquote(blocks) => blocks.iter_mut().for_each(|block| block.for_each_block_mut(visit)),
            Block::Table(rows) => rows
                .iter_mut()
                .flat_map(|row| row.cells.iter_mut())
                .flat_map(|cell| cell.blocks.iter_mut())
                .for_each(|block| block.for_each_block_mut(visit)),
            Block::Paragraph(_) | Block::Heading { .. } | Block::Code { .. } | Block::Rule | Block::Image(_) => {}
        }
    }
}

impl Document {
    pub fn for_each_inline_mut(&mut self, visit: &mut dyn FnMut(&mut Vec<Inline>)) {
        for block in &mut self.blocks {
            block.for_each_inline_mut(visit);
        }
    }

    pub fn for_each_block_mut(&mut self, visit: &mut dyn FnMut(&mut Block)) {
        for block in &mut self.blocks {
            block.for_each_block_mut(visit);
        }
    }
}

impl Block {
    /// The inline content of this block and of the blocks inside it, one line per block. Used where a
    /// block turns up in a place that only takes inline content (malformed or unsupported nesting).
    pub fn into_inlines(self) -> Vec<Inline> {
        match self {
            Block::Paragraph(content) | Block::Heading { content, .. } => content,
            Block::Code { text, .. } => vec![Inline::plain(text)],
            // Rules and images have no words.
            Block::Rule | Block::Image(_) => Vec::new(),
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                lines(items.into_iter().flat_map(|item| item.blocks))
            }
            Block::Blockquote(blocks) => lines(blocks.into_iter()),
            Block::Table(rows) => lines(rows.into_iter().flat_map(|row| row.cells).flat_map(|cell| cell.blocks)),
        }
    }
}

fn lines(blocks: impl Iterator<Item = Block>) -> Vec<Inline> {
    let mut out = Vec::new();
    for block in blocks {
        let content = block.into_inlines();
        if content.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Inline::HardBreak);
        }
        out.extend(content);
    }
    out
}
