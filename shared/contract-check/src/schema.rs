//! JSON Schema validation of bodies against schemas that live inside the vendors' descriptions.
//!
//! Every description is registered once under its own base URI, so a schema anywhere in it is
//! compiled as `{"$ref": "<uri>#<pointer>"}` and its internal `$ref`s resolve in place; compiled
//! validators are kept per pointer because the files are several megabytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::{Draft, Registry, Validator};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use crate::description::Description;
use crate::error::ContractError;
use crate::quirks;

/// Most errors reported for one body: beyond this the list stops helping.
const MAX_ERRORS: usize = 20;
/// Longest error text kept: jsonschema quotes the offending value, which may be a whole document.
const MAX_MESSAGE: usize = 400;
/// Longest quoted value kept in front of the reason.
const MAX_VALUE: usize = 80;

/// Characters left as they are in a JSON pointer used as a URI fragment.
const FRAGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/').remove(b'~').remove(b'-').remove(b'_').remove(b'.');

/// Registered descriptions plus the validators compiled from them so far.
pub(crate) struct SchemaCache {
    registry: Registry,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl std::fmt::Debug for SchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCache").finish_non_exhaustive()
    }
}

impl SchemaCache {
    pub(crate) fn new(descriptions: &[Description]) -> Result<Self, ContractError> {
        let resources = descriptions
            .iter()
            .map(|description| (description.uri.clone(), Draft::Draft4.create_resource(description.document.clone())));
        let registry =
            Registry::options().draft(Draft::Draft4).build(resources).map_err(|source| ContractError::Register {
                path: descriptions.first().map(|description| description.path.clone()).unwrap_or_default(),
                source: Box::new(source),
            })?;
        Ok(Self { registry, validators: Mutex::new(HashMap::new()) })
    }

    /// Validates `instance` against the schema at `pointer` inside `description`; errors are
    /// prefixed with `prefix` and the JSON path of the offending value (`body.fields.summary`).
    pub(crate) fn validate(
        &self,
        description: &Description,
        pointer: &str,
        instance: &Value,
        prefix: &str,
    ) -> Result<(), Vec<String>> {
        let validator = self.validator(description, pointer).map_err(|message| vec![message])?;
        let messages = describe_errors(prefix, validator.iter_errors(instance));
        if messages.is_empty() {
            Ok(())
        } else {
            Err(messages)
        }
    }

    /// Number of validators compiled so far (each distinct schema pointer counts once).
    pub(crate) fn compiled(&self) -> usize {
        self.lock().len()
    }

    fn validator(&self, description: &Description, pointer: &str) -> Result<Arc<Validator>, String> {
        let reference = format!("{}#{}", description.uri, utf8_percent_encode(pointer, FRAGMENT));
        // Compiling under the lock keeps parallel tests from compiling the same schema twice.
        let mut validators = self.lock();
        if let Some(validator) = validators.get(&reference) {
            return Ok(Arc::clone(validator));
        }
        let options = jsonschema::options()
            .with_draft(Draft::Draft4)
            .with_registry(self.registry.clone())
            .should_validate_formats(true);
        let validator = quirks::formats(&description.document)
            .into_iter()
            .fold(options, |options, (name, check)| options.with_format(name, check))
            .build(&json!({ "$ref": reference }))
            .map_err(|error| {
                format!(
                    "the description's schema at {pointer} in {} does not compile: {error}",
                    description.path.display()
                )
            })?;
        let validator = Arc::new(validator);
        validators.insert(reference, Arc::clone(&validator));
        Ok(validator)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Validator>>> {
        // A panic while compiling leaves the map intact (insertions are atomic), so keep using it.
        self.validators.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `prefix.json.path: message` for each error, capped in number and length.
pub(crate) fn describe_errors<'a>(
    prefix: &str,
    errors: impl Iterator<Item = jsonschema::ValidationError<'a>>,
) -> Vec<String> {
    let mut messages = Vec::new();
    for error in errors {
        describe(prefix, &error, &mut messages);
        if messages.len() >= MAX_ERRORS {
            messages.truncate(MAX_ERRORS);
            break;
        }
    }
    messages
}

/// When no alternative of an `anyOf`/`oneOf` fits, "not valid under any of the schemas" does
/// not say what to fix: report why the closest alternative failed instead.
fn describe(prefix: &str, error: &jsonschema::ValidationError<'_>, messages: &mut Vec<String>) {
    use jsonschema::error::ValidationErrorKind;
    let alternatives = match &error.kind {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => closest(context),
        _ => None,
    };
    match alternatives {
        Some(branch) => branch.iter().for_each(|inner| describe(prefix, inner, messages)),
        None => messages.push(format!("{prefix}{}: {}", dotted(error.instance_path.as_str()), reason(error))),
    }
}

/// The alternative that came closest: one whose discriminator (`type` enum) matched, then the
/// one whose errors sit deepest, then the one with fewest errors.
fn closest<'c>(
    context: &'c [Vec<jsonschema::ValidationError<'static>>],
) -> Option<&'c [jsonschema::ValidationError<'static>]> {
    context
        .iter()
        .filter(|branch| !branch.is_empty())
        .max_by_key(|branch| {
            let kind_matches = !branch.iter().any(|error| {
                error.instance_path.as_str().ends_with("/type")
                    && (error.schema_path.as_str().ends_with("/enum") || error.schema_path.as_str().ends_with("/const"))
            });
            let depth = branch.iter().map(|error| error.instance_path.as_str().matches('/').count()).max().unwrap_or(0);
            (kind_matches, depth, std::cmp::Reverse(branch.len()))
        })
        .map(Vec::as_slice)
}

fn reason(error: &jsonschema::ValidationError<'_>) -> String {
    let mut message = error.to_string();
    // jsonschema opens with the offending value; a whole object there hides the reason.
    let value = error.instance.to_string();
    if value.len() > MAX_VALUE {
        if let Some(reason) = message.strip_prefix(&value) {
            message = format!("{}…{reason}", shorten(&value, MAX_VALUE));
        }
    }
    if message.len() > MAX_MESSAGE {
        message = format!("{}…", shorten(&message, MAX_MESSAGE));
    }
    message
}

/// The longest prefix of `text` within `limit` bytes that ends on a character boundary.
fn shorten(text: &str, limit: usize) -> &str {
    let cut = (0..=limit.min(text.len())).rev().find(|index| text.is_char_boundary(*index)).unwrap_or(0);
    &text[..cut]
}

/// `/fields/summary` → `.fields.summary`, `/0/op` → `[0].op`.
fn dotted(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .map(|segment| {
            if segment.is_empty() {
                "[\"\"]".to_owned()
            } else if segment.bytes().all(|byte| byte.is_ascii_digit()) {
                format!("[{segment}]")
            } else {
                format!(".{segment}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_paths_read_like_field_access() {
        assert_eq!(dotted(""), "");
        assert_eq!(dotted("/fields/summary"), ".fields.summary");
        assert_eq!(dotted("/0/op"), "[0].op");
        assert_eq!(dotted("/a~1b"), ".a/b");
        assert_eq!(dotted("/transitions//0"), ".transitions[\"\"][0]");
    }

    #[test]
    fn pointers_with_braces_become_valid_fragments() {
        let encoded = utf8_percent_encode("/paths/~1a~1{b}/get", FRAGMENT).to_string();
        assert_eq!(encoded, "/paths/~1a~1%7Bb%7D/get");
    }
}
