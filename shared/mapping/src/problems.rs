//! Problems found in a configuration file: each one located (file, line, column, path), all of them
//! collected before giving up, so that one run of `tandem check` shows everything to fix.

use crate::path::ConfigPath;
use crate::spans::{Position, SpanIndex};
use std::fmt;

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file the problem is in: the configuration file, or the users CSV it names.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Where in the configuration the problem is, e.g. `fields[2].values.High`; empty for the whole file.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a configuration was refused: every problem found, in file order. Never retryable: the file has
/// to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    pub problems: Vec<ConfigProblem>,
}

impl ConfigErrors {
    /// Always false: loading the same file again fails the same way.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// Moves every position in `file` onto the text: the YAML parsers mark the end of the input one line
    /// past it, and a problem should point at a place a reader can find.
    pub(crate) fn within(mut self, file: &str, text: &str) -> Self {
        let lines: Vec<&str> = text.split('\n').collect();
        for problem in self.problems.iter_mut().filter(|problem| problem.file == file) {
            problem.line = problem.line.clamp(1, lines.len());
            let width = lines[problem.line - 1].trim_end_matches('\r').chars().count();
            problem.column = problem.column.clamp(1, width + 1);
        }
        self
    }

    pub(crate) fn single(file: &str, at: Position, message: impl Into<String>) -> Self {
        ConfigErrors {
            problems: vec![ConfigProblem {
                file: file.to_string(),
                line: at.line,
                column: at.column,
                path: String::new(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (number, problem) in self.problems.iter().enumerate() {
            if number > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Collects the problems of one configuration file.
pub(crate) struct Problems<'a> {
    file: String,
    spans: &'a SpanIndex,
    found: Vec<ConfigProblem>,
    /// Nodes the structural pass threw away; later checks stay quiet about them and what they held,
    /// because their problem is already reported.
    rejected: Vec<ConfigPath>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(file: &str, spans: &'a SpanIndex) -> Self {
        Problems { file: file.to_string(), spans, found: Vec::new(), rejected: Vec::new() }
    }

    pub(crate) fn spans(&self) -> &SpanIndex {
        self.spans
    }

    /// A problem with the value at `path`.
    pub(crate) fn value(&mut self, path: &ConfigPath, message: impl Into<String>) {
        let at = self.spans.value_position(path);
        self.at(path, at, message);
    }

    /// A problem with the key of the entry at `path` (unknown, duplicate).
    pub(crate) fn key(&mut self, path: &ConfigPath, message: impl Into<String>) {
        let at = self.spans.key_position(path);
        self.at(path, at, message);
    }

    pub(crate) fn at(&mut self, path: &ConfigPath, at: Position, message: impl Into<String>) {
        if self.is_rejected(path) {
            return;
        }
        self.found.push(ConfigProblem {
            file: self.file.clone(),
            line: at.line,
            column: at.column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// A problem in another file the configuration names (the users CSV).
    pub(crate) fn in_file(&mut self, file: &str, line: usize, path: &ConfigPath, message: impl Into<String>) {
        self.found.push(ConfigProblem {
            file: file.to_string(),
            line,
            column: 1,
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub(crate) fn reject(&mut self, path: &ConfigPath) {
        self.rejected.push(path.clone());
    }

    pub(crate) fn is_rejected(&self, path: &ConfigPath) -> bool {
        self.rejected.iter().any(|rejected| path.starts_with(rejected))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub(crate) fn count(&self) -> usize {
        self.found.len()
    }

    /// The problems in reading order: the configuration file by position, then other files.
    pub(crate) fn into_errors(self) -> ConfigErrors {
        let mut problems = self.found;
        let file = self.file;
        problems.sort_by_key(|problem| (problem.file != file, problem.file.clone(), problem.line, problem.column));
        ConfigErrors { problems }
    }
}
