//! Test support: the official ADF schema, found through the contracts folder beside the project.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// `TANDEM_CONTRACTS_DIR`, else the first ancestor of this crate or of the working directory that has
/// `shared/contracts/README.md`.
pub fn contracts_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TANDEM_CONTRACTS_DIR") {
        return PathBuf::from(dir);
    }
    let starts = [Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))), std::env::current_dir().ok()];
    starts
        .iter()
        .flatten()
        .flat_map(|start| start.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .map(|ancestor| ancestor.join("shared/contracts"))
        .find(|dir| dir.join("README.md").is_file())
        .expect("shared/contracts/README.md in an ancestor folder, or TANDEM_CONTRACTS_DIR")
}

fn adf_schema() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = contracts_dir().join("jira/adf-schema-v1-full.json");
        let text = std::fs::read_to_string(&path).expect("ADF schema readable");
        let schema: Value = serde_json::from_str(&text).expect("ADF schema is JSON");
        jsonschema::draft4::new(&schema).expect("ADF schema compiles")
    })
}

/// Fails the test with every schema violation if `document` is not valid ADF.
pub fn assert_valid_adf(document: &Value) {
    let errors: Vec<String> =
        adf_schema().iter_errors(document).map(|error| format!("{} at {}", error, error.instance_path)).collect();
    assert!(
        errors.is_empty(),
        "invalid ADF {}:\n{}",
        serde_json::to_string_pretty(document).unwrap_or_default(),
        errors.join("\n")
    );
}
