//! Azure DevOps simulator: the work item tracking 7.1 REST API of one organization, with identities,
//! WIQL, comments and Web Hooks service hooks, checked against the vendor's published contracts.
//!
//! Besides work items, revisions, WIQL, identities and service hooks, the organization has:
//! - comments that can be added, edited and deleted (a deleted one is left out of reads unless they ask
//!   for it with `includeDeleted=true`);
//! - two projects (`Fabrikam`, `Contoso`) and the work item types Bug and Task by default, readable with
//!   their states, fields and the tags work items carry through the metadata reads;
//! - the service account's PAT can expire ([`RunningAzureDevops::expire_credentials`]): its calls are
//!   then answered 401 as Azure DevOps answers an expired PAT;
//! - people editing between a reader's read and its write: the fault plan's `meddle_rate`, and one-shot
//!   edits queued with [`RunningAzureDevops::change_after`];
//! - WIQL that lags behind writes under the fault plan's `search_lag_ms` (see [`crate::faults`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), tandem_simulators::azure_devops::StartError> {
//! use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator};
//! let simulator = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await?;
//! println!("{}", simulator.organization_url()); // http://127.0.0.1:PORT/fabrikam
//! # Ok(()) }
//! ```

mod api;
mod control;
mod error;
mod fields;
mod hooks;
mod identity;
mod mentions;
mod patch;
mod people;
mod render;
mod state;
mod wiql;

use axum::routing::get;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tandem_contract_check::{Contract, ContractError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use control::{AzureDevopsSimStats, Fault};
pub use fields::STATES;
pub use hooks::HookTarget;
pub use identity::{SimIdentity, SimUser};
pub use people::WorkItemEdit;

use crate::credentials::ServiceCredentials;
use crate::faults::{FaultLayer, FaultPlan, FaultPlanError, FaultStats, Faults};
use crate::meddling::{ChangeAfter, PathCase};
use crate::recording::{RecordedExchange, RecordedViolation, Recorder, DEFAULT_RECORDED_EXCHANGES};
use crate::webhooks::DeliveryPolicy;
use hooks::{HookEvent, ServiceHooks};
use render::Renderer;
use state::Organization;

/// What the simulated organization holds at start.
#[derive(Debug, Clone)]
pub struct AzureDevopsSimConfig {
    /// 0 picks any free port.
    pub port: u16,
    pub organization: String,
    pub projects: Vec<String>,
    pub work_item_types: Vec<String>,
    /// The integration's account (its PAT is what the connector is configured with).
    pub service_account: SimUser,
    /// People who edit work items through the API with their own PATs; the first one is the person who
    /// meddles (see [`crate::faults`]).
    pub users: Vec<SimUser>,
    /// Check every request and response against the vendor's contract (on by default).
    pub check_contract: bool,
    /// Exchanges kept for [`RunningAzureDevops::exchanges`], the oldest dropped first (counters are
    /// kept in full).
    pub recorded_exchanges: usize,
    pub hook_delivery: DeliveryPolicy,
}

impl Default for AzureDevopsSimConfig {
    fn default() -> Self {
        AzureDevopsSimConfig {
            port: 0,
            organization: "fabrikam".into(),
            projects: vec!["Fabrikam".into(), "Contoso".into()],
            work_item_types: vec!["Bug".into(), "Task".into()],
            service_account: SimUser::new("tandem sync", "tandem@fabrikam.example", "service-account-pat"),
            users: vec![
                SimUser::new("Alice Doe", "alice@fabrikam.example", "alice-pat"),
                SimUser::new("Bob Roe", "bob@fabrikam.example", "bob-pat"),
            ],
            check_contract: true,
            recorded_exchanges: DEFAULT_RECORDED_EXCHANGES,
            hook_delivery: DeliveryPolicy::default(),
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not listen on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("the Azure DevOps contract could not be loaded")]
    Contract(#[source] ContractError),
}

/// State shared by the API and control handlers.
pub(crate) struct Shared {
    organization: Mutex<Organization>,
    organization_url: String,
    hooks: ServiceHooks,
    faults: Faults,
    recorder: Recorder,
    credentials: ServiceCredentials,
    /// The identity id of the service account.
    service_account: Uuid,
    /// The e-mail of the person who meddles (the first configured person), if any.
    meddler: Option<String>,
    change_after: ChangeAfter<WorkItemEdit>,
}

impl Shared {
    fn organization(&self) -> MutexGuard<'_, Organization> {
        // Every write validates before it changes anything, so a panic cannot leave half a change behind.
        self.organization.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn renderer<'a>(&'a self, organization: &'a Organization) -> Renderer<'a> {
        Renderer { organization, organization_url: &self.organization_url }
    }

    fn publish(&self, event: &HookEvent) {
        self.hooks.publish(event, &self.organization_url);
    }
}

pub struct AzureDevopsSimulator;

impl AzureDevopsSimulator {
    /// Binds 127.0.0.1:`port` and serves until the returned handle is stopped or dropped.
    pub async fn start(config: AzureDevopsSimConfig) -> Result<RunningAzureDevops, StartError> {
        let contract =
            if config.check_contract { Some(Contract::azure_devops().map_err(StartError::Contract)?) } else { None };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| StartError::Bind { port: config.port, source })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind { port: config.port, source })?;
        let organization_url = format!("http://{address}/{}", config.organization);
        let meddler = config.users.first().map(|person| person.email.clone());
        let mut users = vec![config.service_account.clone()];
        users.extend(config.users);
        let faults = Faults::default();
        let organization = Organization::new(config.organization, &config.projects, config.work_item_types, users)
            .lagging_with(faults.clone());
        let service_account = organization.identities[0].clone();
        let recorder = Recorder::new(contract, |path| {
            let path = path.to_ascii_lowercase();
            path.ends_with("/wiql") || path.ends_with("/workitemsbatch")
        })
        .with_creation_rule(|method, path, status| is_create(method, path) && status == 200)
        .with_capacity(config.recorded_exchanges);
        let credentials = ServiceCredentials::default();
        let shared = Arc::new(Shared {
            organization: Mutex::new(organization),
            organization_url: organization_url.clone(),
            hooks: ServiceHooks::new(config.hook_delivery, faults.clone()),
            faults: faults.clone(),
            recorder: recorder.clone(),
            credentials: credentials.clone(),
            service_account: service_account.id,
            meddler,
            change_after: ChangeAfter::new(PathCase::Insensitive),
        });
        // The fault layer sits inside the recorder: the contract declares every 4xx and 5xx, and the
        // exchange log has always shown injected answers. `connectionData` (outside the contracts and
        // asked once per connector) is timed but never faulted, so one-off fault counts stay exact.
        let fault_layer = FaultLayer::new(faults.clone(), error::fault_response, is_create);
        let recorded = axum::Router::new()
            .fallback(api::serve)
            .with_state(Arc::clone(&shared))
            // Axum takes 2 MB bodies by default; Azure DevOps takes a file up to 130 MB in one upload
            // (a larger one is refused by the upload itself, as Azure DevOps does).
            .layer(axum::extract::DefaultBodyLimit::max(api::MAX_UPLOAD_BYTES + 1024 * 1024))
            .layer(axum::middleware::from_fn_with_state(fault_layer, FaultLayer::inject))
            .layer(axum::middleware::from_fn_with_state(recorder, Recorder::middleware));
        let app = axum::Router::new()
            .route("/{organization}/_apis/connectionData", get(api::connection_data))
            .merge(control::routes())
            .with_state(Arc::clone(&shared))
            .merge(crate::faults::control_router(faults.clone()))
            .merge(crate::credentials::control_router(credentials))
            .fallback_service(recorded)
            .layer(axum::middleware::from_fn_with_state(faults, crate::faults::measure));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, "Azure DevOps simulator stopped");
            }
        });
        Ok(RunningAzureDevops { address, organization_url, service_account, shared, stop: Some(stop), server })
    }
}

/// `POST {org}/{project}/_apis/wit/workitems/${type}`: the call that creates a work item (routes ignore
/// case).
fn is_create(method: &str, path: &str) -> bool {
    method == "POST" && path.to_ascii_lowercase().contains("/_apis/wit/workitems/$")
}

/// A running simulator. Dropping it stops the server.
pub struct RunningAzureDevops {
    address: SocketAddr,
    organization_url: String,
    service_account: SimIdentity,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl RunningAzureDevops {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT`, where the control endpoints (`/_sim/…`) live.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `http://127.0.0.1:PORT/{organization}`: what a connector is configured with.
    pub fn organization_url(&self) -> &str {
        &self.organization_url
    }

    pub fn service_account(&self) -> &SimIdentity {
        &self.service_account
    }

    pub fn identities(&self) -> Vec<SimIdentity> {
        self.shared.organization().identities.clone()
    }

    /// The identity with this e-mail.
    pub fn identity(&self, email: &str) -> Option<SimIdentity> {
        self.shared
            .organization()
            .identities
            .iter()
            .find(|identity| identity.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    pub fn add_identity(&self, user: SimUser) -> SimIdentity {
        self.shared.organization().add_identity(user)
    }

    pub fn work_item_count(&self) -> usize {
        self.shared.organization().items.len()
    }

    pub fn stats(&self) -> AzureDevopsSimStats {
        control::stats(&self.shared)
    }

    /// Its fault plan and the service account's credentials, steered as every simulator's are.
    pub fn controls(&self) -> crate::Controls {
        crate::Controls::new(&self.shared.faults, &self.shared.credentials)
    }

    pub fn exchanges(&self) -> Vec<RecordedExchange> {
        self.shared.recorder.exchanges()
    }

    pub fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    /// From now on, every API call made with the service account's PAT is answered 401, as Azure DevOps
    /// answers an expired PAT, until [`renew_credentials`](Self::renew_credentials). Also
    /// `POST /_sim/credentials/expire`.
    pub fn expire_credentials(&self) {
        self.shared.credentials.expire();
    }

    /// The service account's PAT works again (`POST /_sim/credentials/renew`).
    pub fn renew_credentials(&self) {
        self.shared.credentials.renew();
    }

    pub fn violations(&self) -> Vec<RecordedViolation> {
        self.shared.recorder.violations()
    }

    /// Subscribes a Web Hooks consumer to every `workitem.*` event; returns the subscription id.
    pub fn subscribe_hook(&self, target: HookTarget) -> Uuid {
        self.shared.hooks.subscribe(target)
    }

    /// Drops events until [`resume_hooks`](Self::resume_hooks), like a missed delivery.
    pub fn pause_hooks(&self) {
        self.shared.hooks.pause();
    }

    pub fn resume_hooks(&self) {
        self.shared.hooks.resume();
    }

    /// Waits until every queued hook delivery was made or given up.
    pub async fn hooks_settled(&self) {
        self.shared.hooks.settled().await;
    }

    /// Makes the next `fault.remaining` API calls fail with `fault.status` (429 or 503) and `Retry-After`,
    /// in place of any one-off fault still pending (before any fault plan).
    pub fn inject_fault(&self, fault: Fault) {
        control::inject(&self.shared, &fault);
    }

    /// Applies `plan` from the next call on (see [`crate::faults`]); an invalid plan changes nothing.
    pub fn set_fault_plan(&self, plan: FaultPlan) -> Result<(), FaultPlanError> {
        self.shared.faults.set_plan(plan)
    }

    pub fn clear_fault_plan(&self) {
        self.shared.faults.clear_plan();
    }

    pub fn fault_stats(&self) -> FaultStats {
        self.shared.faults.stats()
    }

    /// After the next call with `method` whose path ends with `path_suffix` (in any case) is answered,
    /// whatever the answer, applies `change` as that person would through `PATCH …/workitems/{id}`,
    /// service hook included: e.g. after a WIQL query, to change an item between the query and the read
    /// that follows.
    pub fn change_after(&self, method: &str, path_suffix: &str, change: WorkItemEdit) {
        self.shared.change_after.queue(method, path_suffix, change);
    }

    /// Stops serving and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
    }
}

impl Drop for RunningAzureDevops {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
