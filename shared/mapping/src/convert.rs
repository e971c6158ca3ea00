//! Turning a value read on one side into the value written on the other.

use crate::field::{FieldKind, FieldMapping};
use tandem_model::{FieldValue, Side};
use tandem_rich_text::RichTextError;
use tandem_rich_text::{convert, from_plain_text, plain_text};

/// Why a value could not be converted. Permanent: the same value fails the same way until the item or
/// the configuration changes, so retrying never helps.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("field mapping `{field}`: value `{value}` has no entry in the value map and there is no default")]
    UnmappedValue { field: String, value: String },
    #[error("rich text could not be converted between the sides' formats")]
    RichText(#[source] RichTextError),
    #[error("field mapping `{field}`: `{value}` is not a number")]
    NotANumber { field: String, value: String },
    #[error("field mapping `{field}` is of kind {kind} and cannot take a {found} value")]
    UnexpectedValue { field: String, kind: FieldKind, found: &'static str },
    #[error("field mapping `{field}` does not flow from side {from}")]
    DirectionClosed { field: String, from: Side },
}

impl MappingError {
    /// Always false: see the type's documentation.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

impl FieldMapping {
    pub(crate) fn convert(&self, from: Side, value: &FieldValue) -> Result<FieldValue, MappingError> {
        if !self.flows_from(from) || self.field(from.other()).is_none() {
            return Err(MappingError::DirectionClosed { field: self.name.clone(), from });
        }
        let to = from.other();
        if value.is_empty() {
            return Ok(self.default_for(to).unwrap_or(FieldValue::Empty));
        }
        match self.kind {
            FieldKind::Option => self.map_option(from, value),
            FieldKind::Text => match value {
                FieldValue::RichText(rich) => Ok(FieldValue::Text(plain_text(rich))),
                other => Ok(other.clone()),
            },
            FieldKind::Number => match value {
                FieldValue::Number(_) => Ok(value.clone()),
                FieldValue::Text(text) => text
                    .trim()
                    .parse()
                    .map(FieldValue::Number)
                    .map_err(|_| MappingError::NotANumber { field: self.name.clone(), value: text.clone() }),
                other => Err(self.unexpected(other)),
            },
            FieldKind::RichText => {
                let format = self.systems[crate::field::index(to)].rich_text_format();
                match value {
                    FieldValue::RichText(rich) => {
                        convert(rich, format).map(FieldValue::RichText).map_err(MappingError::RichText)
                    }
                    FieldValue::Text(text) => Ok(FieldValue::RichText(from_plain_text(format, text))),
                    other => Err(self.unexpected(other)),
                }
            }
            // The engine resolves users against the target system, with `UserMapping`.
            FieldKind::User => Ok(value.clone()),
            FieldKind::List => match value {
                FieldValue::List(_) => Ok(value.clone()),
                FieldValue::Text(text) => Ok(FieldValue::List(split_list(text))),
                other => Err(self.unexpected(other)),
            },
        }
    }

    fn map_option(&self, from: Side, value: &FieldValue) -> Result<FieldValue, MappingError> {
        let Some(map) = &self.value_map else {
            return Ok(value.clone());
        };
        let text = value.as_text().ok_or_else(|| self.unexpected(value))?;
        match map.lookup(from, &text) {
            Some(target) => Ok(target.clone()),
            None => self
                .default_for(from.other())
                .ok_or_else(|| MappingError::UnmappedValue { field: self.name.clone(), value: text }),
        }
    }

    fn unexpected(&self, value: &FieldValue) -> MappingError {
        MappingError::UnexpectedValue { field: self.name.clone(), kind: self.kind, found: describe(value) }
    }
}

/// A list written as text: Azure DevOps keeps tags as one `a; b` string.
pub(crate) fn split_list(text: &str) -> Vec<String> {
    text.split(';').map(str::trim).filter(|item| !item.is_empty()).map(str::to_string).collect()
}

fn describe(value: &FieldValue) -> &'static str {
    match value {
        FieldValue::Empty => "empty",
        FieldValue::Text(_) => "text",
        FieldValue::Number(_) => "number",
        FieldValue::Bool(_) => "boolean",
        FieldValue::DateTime(_) => "date-time",
        FieldValue::User(_) => "user",
        FieldValue::RichText(_) => "rich-text",
        FieldValue::List(_) => "list",
    }
}
