//! What tests and the harness steer on any simulator, the same way for each: its fault plan and its
//! service account's credentials.

use crate::credentials::ServiceCredentials;
use crate::faults::{FaultPlan, FaultPlanError, FaultStats, Faults};

/// A simulator's fault plan and service-account credentials. Cheap to clone; clones steer the same
/// simulator.
#[derive(Clone)]
pub struct Controls {
    faults: Faults,
    credentials: ServiceCredentials,
}

impl Controls {
    pub(crate) fn new(faults: &Faults, credentials: &ServiceCredentials) -> Self {
        Controls { faults: faults.clone(), credentials: credentials.clone() }
    }

    /// Applies `plan` from the next call on (see [`crate::faults`]); an invalid plan changes nothing.
    pub fn set_fault_plan(&self, plan: FaultPlan) -> Result<(), FaultPlanError> {
        self.faults.set_plan(plan)
    }

    pub fn clear_fault_plan(&self) {
        self.faults.clear_plan();
    }

    pub fn fault_stats(&self) -> FaultStats {
        self.faults.stats()
    }

    /// The service account's calls are refused as the vendor refuses stale credentials, until
    /// [`renew_credentials`](Self::renew_credentials) (also `POST /_sim/credentials/expire`).
    pub fn expire_credentials(&self) {
        self.credentials.expire();
    }

    pub fn renew_credentials(&self) {
        self.credentials.renew();
    }

    /// Calls refused because the credentials were expired.
    pub fn credential_refusals(&self) -> u64 {
        self.credentials.refusals()
    }
}
