//! One vendor API description file, read and made ready for JSON Schema validation.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::ContractError;
use crate::{nullable, quirks};

/// The two description formats the vendors publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// OpenAPI 3.x: `requestBody.content`, `components/parameters`, `schema` on parameters.
    OpenApi3,
    /// Swagger 2.0: `in: body` parameter, `consumes`, `definitions`, `parameters`, inline `type`.
    Swagger2,
}

/// A parsed description, with its schemas translated to the JSON Schema draft the validator speaks.
#[derive(Debug)]
pub(crate) struct Description {
    pub(crate) path: PathBuf,
    /// Base URI under which the document is registered, so that `#/…` references resolve inside it.
    pub(crate) uri: String,
    pub(crate) dialect: Dialect,
    pub(crate) document: Value,
}

impl Description {
    pub(crate) fn load(path: &Path, uri: String) -> Result<Self, ContractError> {
        let mut document = read_json(path)?;
        let dialect = detect_dialect(path, &document)?;
        if dialect == Dialect::OpenApi3 {
            nullable::translate(&mut document);
        }
        quirks::apply(&mut document);
        Ok(Self { path: path.to_path_buf(), uri, dialect, document })
    }

    /// The value at `pointer` after following `$ref`s within this document, with the pointer of
    /// where it finally sits (the key under which its validator is cached).
    pub(crate) fn follow(&self, pointer: &str) -> Option<(String, &Value)> {
        let mut pointer = pointer.to_owned();
        // A bound on the chain keeps a cyclic reference in a vendor file from hanging a check.
        for _ in 0..16 {
            let value = self.document.pointer(&pointer)?;
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => pointer = local_pointer(reference)?,
                None => return Some((pointer, value)),
            }
        }
        None
    }
}

/// `#/components/schemas/A%20B` → `/components/schemas/A B`; references to other files → `None`.
fn local_pointer(reference: &str) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    percent_encoding::percent_decode_str(fragment).decode_utf8().ok().map(|decoded| decoded.into_owned())
}

/// Escapes one JSON-pointer segment (`/rest/api` → `~1rest~1api`).
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Reads a JSON file, dropping the UTF-8 byte-order mark that Microsoft's files start with.
pub(crate) fn read_json(path: &Path) -> Result<Value, ContractError> {
    let bytes = std::fs::read(path).map_err(|source| ContractError::Read { path: path.to_path_buf(), source })?;
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(text).map_err(|source| ContractError::Parse { path: path.to_path_buf(), source })
}

fn detect_dialect(path: &Path, document: &Value) -> Result<Dialect, ContractError> {
    let unknown = |reason: &str| ContractError::UnknownDialect { path: path.to_path_buf(), reason: reason.to_owned() };
    if !document.get("paths").is_some_and(Value::is_object) {
        return Err(unknown("no `paths` object"));
    }
    if let Some(version) = document.get("openapi").and_then(Value::as_str) {
        return if version.starts_with("3.") {
            Ok(Dialect::OpenApi3)
        } else {
            Err(unknown(&format!("unsupported openapi version {version}")))
        };
    }
    match document.get("swagger").and_then(Value::as_str) {
        Some("2.0") => Ok(Dialect::Swagger2),
        Some(other) => Err(unknown(&format!("unsupported swagger version {other}"))),
        None => Err(unknown("neither `openapi` nor `swagger` is set")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::contracts_dir;

    #[test]
    fn reads_a_file_that_starts_with_a_byte_order_mark() {
        let path = contracts_dir().expect("contracts folder").join("azure-devops/ims-7.1-identities.json");
        let description = Description::load(&path, "https://contracts.invalid/ims.json".into()).expect("loads");
        assert_eq!(description.dialect, Dialect::Swagger2);
        assert!(description.document["paths"].get("/{organization}/_apis/identities").is_some());
    }

    #[test]
    fn a_json_file_without_paths_is_refused() {
        let path = contracts_dir().expect("contracts folder").join("jira/adf-schema-v1-full.json");
        let error = Description::load(&path, "https://contracts.invalid/adf.json".into())
            .expect_err("the ADF schema is not an API description");
        assert!(matches!(error, ContractError::UnknownDialect { .. }));
    }

    #[test]
    fn follow_resolves_parameter_references() {
        let path = contracts_dir().expect("contracts folder").join("azure-devops/ims-7.1-identities.json");
        let description = Description::load(&path, "https://contracts.invalid/ims.json".into()).expect("loads");
        let operation = format!("/paths/{}/get", escape("/{organization}/_apis/identities"));
        let parameters = description
            .document
            .pointer(&format!("{operation}/parameters"))
            .and_then(Value::as_array)
            .expect("the identity search has parameters");
        let index = parameters
            .iter()
            .position(|parameter| parameter.get("$ref").is_some())
            .expect("one parameter is a reference");
        let (pointer, parameter) = description.follow(&format!("{operation}/parameters/{index}")).expect("resolves");
        assert_eq!(pointer, "/parameters/api-Version");
        assert_eq!(parameter["name"], "api-version");
        assert_eq!(parameter["enum"], serde_json::json!(["7.1"]));
    }
}
