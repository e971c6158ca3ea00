//! The conformance checks every connector runs instead of copying tests, as the store crate's
//! conformance suite is run on both stores:
//!
//! - [`webhooks`]: properties of a webhook receiver, the one parser of input nobody at tandem controls.
//!   A connector's test file describes its receiver ([`webhooks::WebhookSubject`]: how a delivery is
//!   authenticated and forged, its documented deliveries, the members it needs) and invokes
//!   [`webhook_conformance!`].
//! - [`simulated`]: a connector against its system's bundled simulator, through the [`System`] it
//!   registers: creating, reading, listing changes page by page, finding the copy made for an origin,
//!   comments, and webhooks that arrive and are understood, with no request or answer outside the
//!   vendor's contract. The systems' registry runs it for every system.
//!
//! [`System`]: tandem_system_api::System

pub mod simulated;
pub mod webhooks;
