//! Where the state commands (`integrations`, `backfill`, `resync`, `watermark`, `failures`, `conflicts`) find an
//! integration's state: the embedded store `tandem serve` keeps, or a deployed stack's DynamoDB table.
//! One choice for every command, made the same way (`--table` or `--stack` in any position, or
//! `TANDEM_TABLE` or `TANDEM_STACK`), and never a silent fall-back: a local store that does not exist is
//! an error that says how to reach the table instead.

use anyhow::{bail, Result};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use tandem_engine::EngineStores;

/// The store the state commands read and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatePlace {
    /// The embedded store of `tandem serve`, at this path.
    Local(PathBuf),
    /// A deployed stack's DynamoDB table (its `TableName` output), in the AWS region of the environment.
    Table(String),
}

impl StatePlace {
    /// The table when one is named, else the local store.
    pub fn choose(table: Option<String>, store: PathBuf) -> StatePlace {
        match table.filter(|table| !table.trim().is_empty()) {
            Some(table) => StatePlace::Table(table),
            None => StatePlace::Local(store),
        }
    }

    /// The table of the deployed stack named `stack` (its `TableName` output).
    pub async fn of_stack(stack: &str) -> Result<StatePlace> {
        let table = tandem_store_dynamodb::table_of_stack(stack).await?;
        eprintln!("stack {stack}: table {table}");
        Ok(StatePlace::Table(table))
    }

    /// The stores, for reading or changing what is there. A local store that does not exist is not
    /// created: a state command is then pointed at the wrong place.
    pub async fn open(&self) -> Result<EngineStores> {
        match self {
            StatePlace::Local(path) => {
                if !path.exists() {
                    bail!(
                        "there is no local store at {} (`tandem serve` keeps one there); to work on a deployed \
                         stack, give its table: --table <TableName> or --stack <stack name> (in any position), or TANDEM_TABLE",
                        path.display()
                    );
                }
                Ok(EngineStores::from_one(crate::wiring::open_store(path)?))
            }
            StatePlace::Table(table) => {
                let store = tandem_store_dynamodb::DynamoStore::from_env(table.clone()).await;
                Ok(EngineStores::from_one(Arc::new(store)))
            }
        }
    }

    /// The deployed table; the integrations registry lives only there.
    pub fn table(&self) -> Result<&str> {
        match self {
            StatePlace::Table(table) => Ok(table),
            StatePlace::Local(_) => bail!(
                "the integrations the deployed functions run are stored in the stack's table: give it with \
                 --table <TableName> or TANDEM_TABLE (`tandem serve` runs the file it is given)"
            ),
        }
    }
}

impl fmt::Display for StatePlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatePlace::Local(path) => write!(f, "the local store {}", path.display()),
            StatePlace::Table(table) => write!(f, "DynamoDB table {table}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_table_wins_and_an_empty_one_is_none() {
        let local = PathBuf::from(".tandem/state.redb");
        assert_eq!(StatePlace::choose(Some("t".into()), local.clone()), StatePlace::Table("t".into()));
        assert_eq!(StatePlace::choose(Some(" ".into()), local.clone()), StatePlace::Local(local.clone()));
        assert_eq!(StatePlace::choose(None, local.clone()), StatePlace::Local(local));
    }

    #[tokio::test]
    async fn a_missing_local_store_is_an_error_that_names_the_table_option() {
        let dir = tempfile::tempdir().expect("a folder");
        let missing = StatePlace::Local(dir.path().join("nothing.redb"));
        let error = missing.open().await.err().expect("refused").to_string();
        assert!(error.contains("--table") && error.contains("TANDEM_TABLE"), "{error}");
        assert!(!dir.path().join("nothing.redb").exists(), "nothing was created");
        assert!(missing.table().is_err());
    }
}
