//! Stateful simulators of the work-item systems tandem talks to: Jira Cloud and Azure DevOps.
//!
//! They implement the subset of the official REST APIs that tandem's connectors use, keep state
//! (items, revisions, workflow, users, comments), send webhooks signed like the real ones, count the
//! writes they receive, inject seeded faults (see [`faults`]), and check every request and response
//! against the vendors' API descriptions. Tests, the local run (`tandem serve` with `simulator: true`)
//! and the benchmarks use them.

pub mod azure_devops;
pub mod faults;
pub mod jira;
pub mod recording;
pub mod webhooks;
