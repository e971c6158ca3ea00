//! What can be wrong with a rich-text value handed to this crate.

/// A rich-text value that cannot be converted. Never retryable: the same input fails the same way, so
/// the delivery carrying it needs a person, not another attempt.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RichTextError {
    /// The document is not an ADF document at all.
    #[error("ADF root must be {{type: doc, version: 1}}, found {found}")]
    InvalidRoot { found: String },
    /// A node of a supported type is missing something the ADF schema requires, or carries a value the
    /// schema forbids.
    #[error("ADF node at {path}: {problem}")]
    InvalidNode { path: String, problem: String },
    /// The document nests deeper than tandem follows; real descriptions and comments never come close.
    #[error("ADF document nests deeper than {limit} levels at {path}")]
    TooDeep { path: String, limit: usize },
}

impl RichTextError {
    /// Rich-text errors come from the value itself, so retrying cannot help.
    pub fn is_retryable(&self) -> bool {
        false
    }

    pub(crate) fn invalid_node(path: &str, problem: impl Into<String>) -> Self {
        Self::InvalidNode { path: path.to_owned(), problem: problem.into() }
    }
}
