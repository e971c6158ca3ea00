//! The `tandem` command's building blocks, as a library so end-to-end tests run them in-process.
//!
//! `wiring` turns a validated configuration and a secret source into connectors, webhook receivers
//! and an engine; `server` serves the webhook endpoints and runs the poller; `local` starts the bundled
//! simulators for sides configured with `simulator: true`; `state` is where the state commands find an
//! integration's state (the embedded store or a deployed table); `backfill` syncs what existed before an
//! integration was active.

pub mod activity;
pub mod backfill;
pub mod history;
pub mod local;
pub mod plan;
pub mod resync;
pub mod server;
pub mod state;
pub mod status;
pub mod status_page;
pub mod users_template;
pub mod wiring;
