//! The service account's credentials going stale, shared by the simulators: while they are expired,
//! every API call made with them is refused as the vendor refuses an expired API token or PAT, and the
//! refusals are counted. Control endpoints `POST /_sim/credentials/expire` and `/renew` flip the switch.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Whether the service account's credentials are expired, and how many calls were refused for it.
/// Cheap to clone; clones share the state.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceCredentials {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    expired: AtomicBool,
    refusals: AtomicU64,
}

impl ServiceCredentials {
    pub(crate) fn expire(&self) {
        self.shared.expired.store(true, Ordering::SeqCst);
    }

    pub(crate) fn renew(&self) {
        self.shared.expired.store(false, Ordering::SeqCst);
    }

    pub(crate) fn is_expired(&self) -> bool {
        self.shared.expired.load(Ordering::SeqCst)
    }

    /// Whether a call authenticated as the service account (`is_service_account`) must be refused; a
    /// refusal is counted.
    pub(crate) fn refuses(&self, is_service_account: bool) -> bool {
        let refused = is_service_account && self.is_expired();
        if refused {
            self.shared.refusals.fetch_add(1, Ordering::SeqCst);
        }
        refused
    }

    /// Calls refused because the credentials were expired.
    pub(crate) fn refusals(&self) -> u64 {
        self.shared.refusals.load(Ordering::SeqCst)
    }
}

/// `POST /_sim/credentials/expire` and `POST /_sim/credentials/renew`.
pub(crate) fn control_router(credentials: ServiceCredentials) -> Router {
    Router::new()
        .route(
            "/_sim/credentials/expire",
            post(|State(credentials): State<ServiceCredentials>| async move {
                credentials.expire();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_sim/credentials/renew",
            post(|State(credentials): State<ServiceCredentials>| async move {
                credentials.renew();
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_service_account_is_refused_and_only_while_expired() {
        let credentials = ServiceCredentials::default();
        assert!(!credentials.refuses(true));
        credentials.expire();
        assert!(!credentials.refuses(false));
        assert!(credentials.refuses(true));
        credentials.renew();
        assert!(!credentials.refuses(true));
        assert_eq!(credentials.refusals(), 1);
    }
}
