//! Checks HTTP requests and responses against the vendors' official OpenAPI / Swagger files and
//! ADF bodies against the ADF schema.
//!
//! Connectors (which send requests) and simulators (which answer them) are both held to the
//! vendors' own descriptions, read at run time from `shared/contracts/` (see [`contracts_dir`]):
//!
//! ```no_run
//! use tandem_contract_check::{Contract, RecordedRequest};
//!
//! let jira = Contract::jira()?;
//! let request = RecordedRequest::new("GET", "/rest/api/3/issue/PROJ-1/transitions");
//! match jira.check_request(&request) {
//!     Ok(operation) => println!("matched {operation}"),
//!     Err(violations) => violations.iter().for_each(|violation| eprintln!("{violation}")),
//! }
//! # Ok::<(), tandem_contract_check::ContractError>(())
//! ```

mod adf;
mod contract;
mod description;
mod error;
mod fit;
mod location;
mod nullable;
mod operation;
mod parameter;
mod path_key;
mod quirks;
mod request;
mod route;
mod schema;

pub use adf::{adf_schema, AdfSchema};
pub use contract::Contract;
pub use error::ContractError;
pub use location::{contracts_dir, CONTRACTS_DIR_ENV};
pub use request::{OperationId, RecordedRequest, Violation};
pub use route::PathMatching;
