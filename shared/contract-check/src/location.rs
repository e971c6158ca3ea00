//! Finding the vendors' contract folder at run time.
//!
//! The contracts live next to the project, never inside it, so the folder is found by walking up
//! from the crate and from the working directory; `TANDEM_CONTRACTS_DIR` overrides the search.

use std::path::{Path, PathBuf};

use crate::error::ContractError;

/// Environment variable that names the contracts folder directly.
pub const CONTRACTS_DIR_ENV: &str = "TANDEM_CONTRACTS_DIR";

const MARKER: &str = "shared/contracts/README.md";

/// The folder that holds the vendors' contracts (`jira/`, `azure-devops/`, `github/`, `README.md`).
pub fn contracts_dir() -> Result<PathBuf, ContractError> {
    if let Some(path) = std::env::var_os(CONTRACTS_DIR_ENV) {
        let path = PathBuf::from(path);
        return if path.join("README.md").is_file() {
            Ok(path)
        } else {
            Err(ContractError::ContractsDirOverrideInvalid { path })
        };
    }
    let mut starts = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    if let Ok(current) = std::env::current_dir() {
        starts.push(current);
    }
    starts.iter().find_map(|start| find_upwards(start)).ok_or(ContractError::ContractsDirNotFound { searched: starts })
}

fn find_upwards(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|ancestor| ancestor.join(MARKER).is_file())
        .map(|ancestor| ancestor.join("shared").join("contracts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_folder_from_the_crate() {
        let dir = find_upwards(Path::new(env!("CARGO_MANIFEST_DIR")))
            .expect("the crate sits below a folder holding shared/contracts");
        assert!(dir.join("jira").join("platform-v3.json").is_file());
    }

    #[test]
    fn a_folder_without_the_marker_is_not_found() {
        let temp = std::env::temp_dir().join("tandem-contract-check-no-marker");
        std::fs::create_dir_all(&temp).expect("temp dir is writable");
        assert_eq!(find_upwards(&temp), None);
    }
}
