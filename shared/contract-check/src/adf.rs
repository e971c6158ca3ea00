//! Atlassian Document Format bodies (Jira descriptions and comments) against the official schema.
//!
//! The Jira OpenAPI file leaves rich-text fields untyped, so ADF gets its own check.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::description::read_json;
use crate::error::ContractError;
use crate::location::contracts_dir;
use crate::schema::describe_errors;

/// The compiled ADF JSON Schema (draft-04).
pub struct AdfSchema {
    validator: Validator,
}

impl std::fmt::Debug for AdfSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdfSchema").finish_non_exhaustive()
    }
}

impl AdfSchema {
    /// Compiles the schema in `path` (normally `jira/adf-schema-v1-full.json`).
    pub fn load(path: &Path) -> Result<Self, ContractError> {
        let schema = read_json(path)?;
        let validator = jsonschema::options()
            .with_draft(Draft::Draft4)
            .build(&schema)
            .map_err(|error| ContractError::SchemaCompile { path: path.to_path_buf(), message: error.to_string() })?;
        Ok(Self { validator })
    }

    /// Checks one ADF document; each problem reads `doc.content[0].attrs: "id" is a required property`.
    pub fn validate(&self, document: &Value) -> Result<(), Vec<String>> {
        let problems = describe_errors("doc", self.validator.iter_errors(document));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The official ADF schema, compiled once per process.
pub fn adf_schema() -> Result<&'static AdfSchema, ContractError> {
    static ADF: OnceLock<Result<AdfSchema, Arc<ContractError>>> = OnceLock::new();
    ADF.get_or_init(|| {
        {
            let path = contracts_dir()?.join("jira").join("adf-schema-v1-full.json");
            AdfSchema::load(&path)
        }
        .map_err(Arc::new)
    })
    .as_ref()
    .map_err(|source| ContractError::Load { source: Arc::clone(source) })
}
