//! Line and column of every node of the YAML file, keyed by its path, so that problems found after
//! deserialisation (semantic checks, errors from a `serde_yaml_ng::Value`) still point into the file.

use crate::path::ConfigPath;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper than any configuration, and serde_yaml_ng's own limit: every node's path is kept, so the
/// index would otherwise grow with the square of the depth.
const MAX_DEPTH: usize = 128;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub(crate) const START: Position = Position { line: 1, column: 1 };
}

#[derive(Debug, Clone)]
struct Node {
    /// Where the key is, for a node that is the value of a mapping entry.
    key: Option<Position>,
    value: Position,
    /// Character offset of a scalar's first character in the source, and how it is quoted.
    scalar: Option<(usize, TScalarStyle)>,
}

/// A key that appears twice in one mapping.
#[derive(Debug, Clone)]
pub(crate) struct DuplicateKey {
    pub path: ConfigPath,
    pub at: Position,
}

#[derive(Debug)]
pub(crate) struct SpanIndex {
    nodes: HashMap<ConfigPath, Node>,
    source: Vec<char>,
    pub duplicates: Vec<DuplicateKey>,
}

/// The YAML could not be parsed at all.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub at: Position,
    pub message: String,
}

impl SpanIndex {
    pub(crate) fn build(text: &str) -> Result<SpanIndex, SyntaxError> {
        let mut builder = Builder { source: text.chars().collect(), ..Builder::default() };
        let mut parser = Parser::new_from_str(text);
        // Events are read one by one, not through `Parser::load`, which recurses once per level of
        // nesting: a deeply nested file would overflow the stack.
        loop {
            let (event, marker) = parser
                .next_token()
                .map_err(|error| SyntaxError { at: position(error.marker()), message: error.info().to_string() })?;
            // Only the first document, as serde_yaml_ng refuses a stream of several.
            let last = matches!(event, Event::DocumentEnd | Event::StreamEnd);
            builder.on_event(event, marker);
            if builder.stack.len() > MAX_DEPTH {
                let message = format!("more than {MAX_DEPTH} levels of nesting");
                return Err(SyntaxError { at: position(&marker), message });
            }
            if last {
                break;
            }
        }
        Ok(SpanIndex { nodes: builder.nodes, source: builder.source, duplicates: builder.duplicates })
    }

    /// Where the value at `path` starts; for a path that is not in the file (a missing key, a key
    /// added by a merge) the nearest enclosing entry, pointing at its key.
    pub(crate) fn value_position(&self, path: &ConfigPath) -> Position {
        match self.nodes.get(path) {
            Some(node) => node.value,
            None => self.enclosing(path),
        }
    }

    /// Where the key of the entry at `path` is (an unknown key, a duplicate name).
    pub(crate) fn key_position(&self, path: &ConfigPath) -> Position {
        match self.nodes.get(path) {
            Some(node) => node.key.unwrap_or(node.value),
            None => self.enclosing(path),
        }
    }

    /// The position of character `offset` of `text`, the scalar at `path`: exact for single-line plain
    /// and quoted scalars whose source spells `text` literally, the scalar's start otherwise (block
    /// scalars, escapes).
    pub(crate) fn position_in_scalar(&self, path: &ConfigPath, text: &str, offset: usize) -> Position {
        let Some(node) = self.nodes.get(path) else {
            return self.enclosing(path);
        };
        let Some((start, style)) = node.scalar else {
            return node.value;
        };
        let quote = match style {
            TScalarStyle::Plain => 0,
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 1,
            _ => return node.value,
        };
        let expected: Vec<char> = text.chars().collect();
        let literal = self
            .source
            .get(start + quote..start + quote + expected.len())
            .is_some_and(|spelled| spelled == expected.as_slice());
        if literal && !text.contains('\n') {
            Position { line: node.value.line, column: node.value.column + quote + offset.min(expected.len()) }
        } else {
            node.value
        }
    }

    fn enclosing(&self, path: &ConfigPath) -> Position {
        let mut current = path.parent();
        while let Some(candidate) = current {
            if let Some(node) = self.nodes.get(&candidate) {
                return node.key.unwrap_or(node.value);
            }
            current = candidate.parent();
        }
        Position::START
    }
}

fn position(marker: &Marker) -> Position {
    // yaml-rust2 counts lines from 1 and columns from 0.
    Position { line: marker.line(), column: marker.col() + 1 }
}

enum Frame {
    Mapping { path: ConfigPath, pending_key: Option<(String, Position)>, first_key: bool },
    Sequence { path: ConfigPath, next: usize },
}

#[derive(Default)]
struct Builder {
    source: Vec<char>,
    stack: Vec<Frame>,
    nodes: HashMap<ConfigPath, Node>,
    duplicates: Vec<DuplicateKey>,
}

impl Builder {
    /// Files the node that starts here under its path and returns that path; `None` when the node is
    /// a mapping key.
    fn place(&mut self, at: Position, scalar: Option<(&str, usize, TScalarStyle)>) -> Option<ConfigPath> {
        let (path, key) = match self.stack.last_mut() {
            None => (ConfigPath::root(), None),
            Some(Frame::Sequence { path, next }) => {
                *next += 1;
                (path.index(*next - 1), None)
            }
            Some(Frame::Mapping { path, pending_key, first_key }) => match pending_key.take() {
                Some((key, key_at)) => (path.key(key), Some(key_at)),
                None => {
                    // yaml-rust2 marks a block mapping's start after its first key; the key itself
                    // is where a reader looks.
                    if std::mem::take(first_key) {
                        if let Some(node) = self.nodes.get_mut(path) {
                            node.value = at;
                        }
                    }
                    // A complex (non-scalar) key gets a name no configuration key can have.
                    let name = scalar.map_or_else(|| "?".to_string(), |(value, _, _)| value.to_string());
                    *pending_key = Some((name, at));
                    return None;
                }
            },
        };
        if key.is_some() && self.nodes.contains_key(&path) {
            self.duplicates.push(DuplicateKey { path: path.clone(), at: key.unwrap_or(at) });
        } else {
            self.nodes
                .insert(path.clone(), Node { key, value: at, scalar: scalar.map(|(_, index, style)| (index, style)) });
        }
        Some(path)
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let at = position(&marker);
        match event {
            Event::Scalar(value, style, _, _) => {
                self.place(at, Some((&value, marker.index(), style)));
            }
            Event::Alias(_) => {
                self.place(at, None);
            }
            Event::MappingStart(_, _) => {
                let path = self.place(at, None).unwrap_or_else(|| ConfigPath::root().key("?"));
                // A flow mapping's `{` is marked where it is; a block mapping's start is not.
                let flow = self.source.get(marker.index()) == Some(&'{');
                self.stack.push(Frame::Mapping { path, pending_key: None, first_key: !flow });
            }
            Event::SequenceStart(_, _) => {
                let path = self.place(at, None).unwrap_or_else(|| ConfigPath::root().key("?"));
                self.stack.push(Frame::Sequence { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: demo\nside1:\n  system: jira\n  filter: 'status = \"Done\"'\nfields:\n  - name: title\n    side1: summary\n";

    fn path(text: &str) -> ConfigPath {
        text.split('.').fold(ConfigPath::root(), |path, part| match part.parse::<usize>() {
            Ok(index) => path.index(index),
            Err(_) => path.key(part),
        })
    }

    #[test]
    fn keys_and_values_are_located() {
        let spans = SpanIndex::build(TEXT).unwrap();
        assert_eq!(spans.value_position(&path("name")), Position { line: 1, column: 7 });
        assert_eq!(spans.key_position(&path("side1.system")), Position { line: 3, column: 3 });
        assert_eq!(spans.value_position(&path("fields.0.side1")), Position { line: 7, column: 12 });
        assert_eq!(spans.key_position(&path("fields.0")), Position { line: 6, column: 5 });
    }

    #[test]
    fn missing_paths_fall_back_to_the_enclosing_key() {
        let spans = SpanIndex::build(TEXT).unwrap();
        assert_eq!(spans.value_position(&path("side1.secret")), Position { line: 2, column: 1 });
        assert_eq!(spans.value_position(&path("nothing.here")), Position::START);
    }

    #[test]
    fn offsets_inside_quoted_scalars_are_exact() {
        let text = "ünïcode: x\nfilter: 'status = \"Done\"'\n";
        let spans = SpanIndex::build(text).unwrap();
        let at = spans.position_in_scalar(&path("filter"), "status = \"Done\"", 7);
        assert_eq!(at, Position { line: 2, column: 17 });
    }

    #[test]
    fn duplicate_keys_are_collected() {
        let spans = SpanIndex::build("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(spans.duplicates.len(), 1);
        assert_eq!(spans.duplicates[0].at, Position { line: 3, column: 1 });
    }

    #[test]
    fn nesting_is_bounded_not_recursed() {
        // Block lists: the scanner itself refuses flow collections nested this deep.
        let text: String = (0..5_000).map(|level| format!("{}-\n", " ".repeat(level))).collect();
        let error = SpanIndex::build(&text).unwrap_err();
        assert_eq!(error.at.line, MAX_DEPTH + 1);
        assert!(error.message.contains("more than 128 levels of nesting"), "{error:?}");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let error = SpanIndex::build("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.at.line >= 1, "{error:?}");
    }
}
