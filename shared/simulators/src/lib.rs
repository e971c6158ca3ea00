//! Stateful simulators of the work-item systems tandem talks to: Jira Cloud, Azure DevOps and a
//! Salesforce org.
//!
//! They implement the subset of the official REST APIs that tandem's connectors use, keep state
//! (items, revisions, workflow, users, comments), send webhooks signed like the real ones, count the
//! writes they receive, inject seeded faults (see [`faults`]: failed, throttled and slow calls, lost and
//! duplicated webhooks, searches that lag behind writes, people editing between a read and a write),
//! let the service account's credentials expire, and check every request and response against the
//! vendors' API descriptions. Tests, the local run (`tandem serve` with `simulator: true`), the
//! convergence harness and the benchmarks use them.

pub mod azure_devops;
mod controls;
mod credentials;
pub mod faults;
pub mod jira;
mod meddling;
pub mod recording;
pub mod salesforce;
pub mod webhooks;

pub use controls::Controls;
