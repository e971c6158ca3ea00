//! A stateful Jira Cloud simulator: the REST v3 subset tandem uses, Jira's workflow and JQL rules,
//! admin webhooks signed like Jira's, and a record of every call checked against Atlassian's OpenAPI file.
//!
//! A person editing in Jira is simulated by calling the same REST API with that person's credentials, so
//! webhooks name that person as the actor. Control endpoints live under `/_sim/` (see `control`).
//!
//! Besides issues, transitions, JQL search, issue properties and users, the site has:
//! - comments with a visibility (a project role or a group: others neither list nor read them) and
//!   entity properties (`sd.public.comment` `{"internal": true}` makes a Service Management comment
//!   internal: `jsdPublic` false; set with the comment or through `/comment/{id}/properties/{key}`), whose
//!   creation, edit, deletion and property changes send `comment_*` webhooks; comments are also added by
//!   an edit's or a transition's `update: {"comment": [{"add": …}]}`;
//! - each issue's changelog (`GET /issue/{key}/changelog`, `expand=changelog`), the priorities, statuses
//!   and status categories (`GET /priority`, `/status`, `/statuscategory`);
//! - two projects by default (`OPS` and `WEB`, found with `GET /project/search`), the issue types Task,
//!   Bug and Story (`GET /issuetype`; an edit may change one to another), and issue security levels per
//!   project (`GET /project/{key}/securitylevel`, the `security` field);
//! - `PUT /issue/{key}?returnIssue=true`, answered with the issue;
//! - the service account's credentials can expire ([`RunningJira::expire_credentials`]): its calls are
//!   then answered 401 as Jira answers an invalid API token;
//! - people editing between a reader's read and its write: the fault plan's `meddle_rate`, and one-shot
//!   edits queued with [`RunningJira::change_after`];
//! - searches that lag behind writes under the fault plan's `search_lag_ms` (see [`crate::faults`]), and
//!   pages of up to 5000 issues when only `id` or `key` is asked for (100 otherwise, fewer under the
//!   plan's `search_page_limit`);
//! - `POST /issue/bulkfetch`: up to 100 issues by id or key, in ascending id order.

mod api;
mod attachments;
mod comment_properties;
mod control;
mod discovery;
mod error;
mod events;
mod jql;
mod people;
mod remote_links;
mod render;
mod security;
mod site;
mod visibility;
mod workflow;

pub use crate::faults::InjectedFault;
pub use people::PersonEdit;
pub use security::SimSecurityLevel;
pub use visibility::{DEFAULT_GROUPS, DEFAULT_PROJECT_ROLES};

use crate::credentials::ServiceCredentials;
use crate::faults::{FaultLayer, FaultPlan, FaultPlanError, FaultStats, Faults};
use crate::meddling::{ChangeAfter, PathCase};
use crate::recording::{RecordedExchange, RecordedViolation, Recorder, DEFAULT_RECORDED_EXCHANGES};
use crate::webhooks::{DeliveryPolicy, WebhookSender, WebhookStats};
use serde::Serialize;
use serde_json::Value;
use site::Site;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tandem_contract_check::{Contract, ContractError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A project on the simulated site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimProject {
    pub id: String,
    pub key: String,
    pub name: String,
    /// The issue security levels the `security` field may name.
    pub security_levels: Vec<SimSecurityLevel>,
}

impl SimProject {
    /// A project with the default security levels ([`SimSecurityLevel::defaults`]).
    pub fn new(id: impl Into<String>, key: impl Into<String>, name: impl Into<String>) -> Self {
        SimProject { id: id.into(), key: key.into(), name: name.into(), security_levels: SimSecurityLevel::defaults() }
    }

    #[must_use]
    pub fn with_security_levels(mut self, levels: Vec<SimSecurityLevel>) -> Self {
        self.security_levels = levels;
        self
    }
}

/// An Atlassian account on the simulated site, with its API token and project permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    pub account_id: String,
    pub email: String,
    pub display_name: String,
    pub api_token: String,
    /// Project permission keys (`EDIT_ISSUES`, …) granted in every project.
    pub permissions: BTreeSet<String>,
    /// The account's time zone as a whole-hour UTC offset; JQL date literals are read in it.
    pub utc_offset_hours: i8,
    /// Project roles held in every project; comments restricted to a role are seen by its members only.
    pub project_roles: BTreeSet<String>,
    /// Groups the account is in; comments restricted to a group are seen by its members only.
    pub groups: BTreeSet<String>,
}

impl SimUser {
    /// A user with every project permission, in UTC, holding the default roles ([`DEFAULT_PROJECT_ROLES`])
    /// and in the default groups ([`DEFAULT_GROUPS`]).
    pub fn new(
        account_id: impl Into<String>,
        email: impl Into<String>,
        display_name: impl Into<String>,
        api_token: impl Into<String>,
    ) -> Self {
        SimUser {
            account_id: account_id.into(),
            email: email.into(),
            display_name: display_name.into(),
            api_token: api_token.into(),
            permissions: workflow::PERMISSIONS.iter().map(|(_, key, _)| key.to_string()).collect(),
            utc_offset_hours: 0,
            project_roles: DEFAULT_PROJECT_ROLES.iter().map(|role| role.to_string()).collect(),
            groups: DEFAULT_GROUPS.iter().map(|group| group.to_string()).collect(),
        }
    }

    /// tandem's service account of the default configuration.
    pub fn service_account() -> Self {
        SimUser::new("712020:tandem-service", "tandem@example.com", "tandem sync", "svc-token")
    }

    /// A person editing issues by hand (default configuration).
    pub fn alice() -> Self {
        SimUser::new("712020:alice", "alice@example.com", "Alice Example", "alice-token")
    }

    /// Another person (default configuration), in UTC+2 to exercise time-zone handling.
    pub fn bob() -> Self {
        SimUser::new("712020:bob", "bob@example.com", "Bob Example", "bob-token").with_utc_offset_hours(2)
    }

    #[must_use]
    pub fn without_permission(mut self, permission: &str) -> Self {
        self.permissions.remove(permission);
        self
    }

    /// Replaces the account's project roles.
    #[must_use]
    pub fn with_project_roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.project_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the account's groups.
    #[must_use]
    pub fn with_groups(mut self, groups: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    #[must_use]
    pub fn with_utc_offset_hours(mut self, hours: i8) -> Self {
        self.utc_offset_hours = hours;
        self
    }

    /// The IANA name of the offset (`Etc/GMT-2` is UTC+2: the sign is inverted by convention).
    pub fn time_zone(&self) -> String {
        match self.utc_offset_hours {
            0 => "UTC".to_string(),
            hours => format!("Etc/GMT{:+}", -i32::from(hours)),
        }
    }
}

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct JiraSimConfig {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub projects: Vec<SimProject>,
    /// The service account comes first (it is the projects' lead); the next user is the person who
    /// meddles (see [`crate::faults`]).
    pub users: Vec<SimUser>,
    /// Check every request and response against Atlassian's OpenAPI file (recorded as violations).
    pub check_contract: bool,
    /// Exchanges kept for [`RunningJira::exchanges`], the oldest dropped first (counters are kept in
    /// full).
    pub recorded_exchanges: usize,
    pub webhook_delivery: DeliveryPolicy,
}

impl Default for JiraSimConfig {
    /// Projects `OPS` (id 10000) and `WEB` (id 10001), the service account, Alice and Bob; contract
    /// checks on.
    fn default() -> Self {
        JiraSimConfig {
            port: 0,
            projects: vec![SimProject::new("10000", "OPS", "Operations"), SimProject::new("10001", "WEB", "Website")],
            users: vec![SimUser::service_account(), SimUser::alice(), SimUser::bob()],
            check_contract: true,
            recorded_exchanges: DEFAULT_RECORDED_EXCHANGES,
            webhook_delivery: DeliveryPolicy::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JiraSimError {
    #[error("the Jira simulator could not listen on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("the Jira simulator could not load Atlassian's contract files")]
    Contract(#[source] ContractError),
}

impl JiraSimError {
    /// A port in use may free up; missing contract files do not appear by themselves.
    pub fn is_retryable(&self) -> bool {
        matches!(self, JiraSimError::Bind { .. })
    }
}

/// Counters of a running simulator (`GET /_sim/stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JiraSimStats {
    /// API requests (control calls and injected faults excluded).
    pub requests: u64,
    /// Mutating API requests (searches are reads).
    pub writes: u64,
    /// Mutating API requests per accountId.
    pub writes_by_user: BTreeMap<String, u64>,
    /// API requests per accountId.
    pub requests_by_user: BTreeMap<String, u64>,
    /// Issues created per accountId.
    pub creations_by_user: BTreeMap<String, u64>,
    pub webhooks: WebhookStats,
    /// Calls answered with an injected fault (one-off or drawn from the fault plan).
    pub faults_injected: u64,
    pub violations: u64,
    /// Calls of the service account answered 401 because its credentials were expired.
    pub expired_credential_refusals: u64,
}

/// What the handlers share.
struct Sim {
    site: Mutex<Site>,
    webhooks: WebhookSender,
    faults: Faults,
    recorder: Recorder,
    credentials: ServiceCredentials,
    /// The accountId of the service account (the first configured user), if any.
    service_account: Option<String>,
    /// The accountId of the person who meddles (the second configured user), if any.
    meddler: Option<String>,
    change_after: ChangeAfter<PersonEdit>,
}

impl Sim {
    fn site(&self) -> MutexGuard<'_, Site> {
        // Site changes are staged and committed in one assignment, so a poisoned lock holds a usable site.
        self.site.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stats(&self) -> JiraSimStats {
        let recorded = self.recorder.stats();
        JiraSimStats {
            requests: recorded.requests,
            writes: recorded.writes,
            writes_by_user: recorded.writes_by_user,
            requests_by_user: recorded.requests_by_user,
            creations_by_user: recorded.creations_by_user,
            webhooks: self.webhooks.stats(),
            faults_injected: self.faults.injected(),
            violations: self.recorder.violations().len() as u64,
            expired_credential_refusals: self.credentials.refusals(),
        }
    }

    fn is_service_account(&self, account_id: &str) -> bool {
        self.service_account.as_deref() == Some(account_id)
    }
}

/// Starts Jira simulators.
pub struct JiraSimulator;

impl JiraSimulator {
    /// Binds 127.0.0.1:`config.port` and serves until the returned handle is stopped or dropped.
    pub async fn start(config: JiraSimConfig) -> Result<RunningJira, JiraSimError> {
        let contract =
            if config.check_contract { Some(Contract::jira().map_err(JiraSimError::Contract)?) } else { None };
        // Loaded now so that a missing schema fails the start, not the first description.
        tandem_contract_check::adf_schema().map_err(JiraSimError::Contract)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| JiraSimError::Bind { port: config.port, source })?;
        let address: SocketAddr =
            listener.local_addr().map_err(|source| JiraSimError::Bind { port: config.port, source })?;
        let base_url = format!("http://{address}");

        let recorder = Recorder::new(contract, is_read_only_post)
            .with_creation_rule(|method, path, status| is_create(method, path) && status == 201)
            .with_capacity(config.recorded_exchanges);
        let faults = Faults::default();
        let credentials = ServiceCredentials::default();
        let account = |index: usize| config.users.get(index).map(|user| user.account_id.clone());
        let (service_account, meddler) = (account(0), account(1));
        let site = Site::new(base_url.clone(), config.projects, config.users, check_adf).lagging_with(faults.clone());
        let sim = Arc::new(Sim {
            site: Mutex::new(site),
            webhooks: WebhookSender::with_faults(config.webhook_delivery, faults.clone()),
            faults: faults.clone(),
            recorder: recorder.clone(),
            credentials: credentials.clone(),
            service_account,
            meddler,
            change_after: ChangeAfter::new(PathCase::Sensitive),
        });
        // The fault layer sits outside the recorder: Jira's contract declares no 429 or 5xx for most
        // operations, so an injected answer is neither recorded nor checked (see `crate::faults`).
        let fault_layer = FaultLayer::new(faults.clone(), error::fault_response, is_create);
        let app = api::router(Arc::clone(&sim))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(&sim), people::after_answer))
            .merge(control::router(Arc::clone(&sim)))
            .merge(crate::faults::control_router(faults.clone()))
            .merge(crate::credentials::control_router(credentials))
            .layer(axum::middleware::from_fn_with_state(recorder, Recorder::middleware))
            .layer(axum::middleware::from_fn_with_state(fault_layer, FaultLayer::inject))
            .layer(axum::middleware::from_fn_with_state(faults, crate::faults::measure));

        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, "the Jira simulator stopped");
            }
        });
        tracing::info!(%base_url, "Jira simulator listening");
        Ok(RunningJira { base_url, sim, stop: Some(stop), server })
    }
}

/// `POST /rest/api/3/issue`: the call that creates an issue.
fn is_create(method: &str, path: &str) -> bool {
    method == "POST" && path == "/rest/api/3/issue"
}

/// Searches only read, although they are `POST`s.
fn is_read_only_post(path: &str) -> bool {
    path.ends_with("/search/jql") || path.ends_with("/search") || path.ends_with("/issue/bulkfetch")
}

fn check_adf(document: &Value) -> Result<(), String> {
    let schema =
        tandem_contract_check::adf_schema().map_err(|error| format!("the ADF schema is unavailable: {error}"))?;
    schema.validate(document).map_err(|problems| problems.join("; "))
}

/// A running simulator. Dropping it stops the server.
pub struct RunningJira {
    base_url: String,
    sim: Arc<Sim>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl RunningJira {
    /// `http://127.0.0.1:<port>`, the site URL a connector is configured with.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn stats(&self) -> JiraSimStats {
        self.sim.stats()
    }

    /// Its fault plan and the service account's credentials, steered as every simulator's are.
    pub fn controls(&self) -> crate::Controls {
        crate::Controls::new(&self.sim.faults, &self.sim.credentials)
    }

    pub fn exchanges(&self) -> Vec<RecordedExchange> {
        self.sim.recorder.exchanges()
    }

    /// Contract violations found so far; tests assert there are none.
    pub fn violations(&self) -> Vec<RecordedViolation> {
        self.sim.recorder.violations()
    }

    pub fn recorder(&self) -> &Recorder {
        &self.sim.recorder
    }

    pub fn webhooks(&self) -> &WebhookSender {
        &self.sim.webhooks
    }

    /// Sends webhooks to `url`, signed with `secret` when given.
    pub fn subscribe_webhook(&self, url: &str, secret: Option<&str>) {
        self.sim.webhooks.subscribe(events::subscription(url, secret.map(str::to_string)));
    }

    /// Adds a user, or replaces the one with the same accountId.
    pub fn add_user(&self, user: SimUser) {
        self.sim.site().upsert_user(user);
    }

    /// The next `count` API calls fail with `fault` (before any fault plan).
    pub fn inject_faults(&self, fault: InjectedFault, count: usize) {
        self.sim.faults.inject(fault, count);
    }

    /// Applies `plan` from the next call on (see [`crate::faults`]); an invalid plan changes nothing.
    pub fn set_fault_plan(&self, plan: FaultPlan) -> Result<(), FaultPlanError> {
        self.sim.faults.set_plan(plan)
    }

    pub fn clear_fault_plan(&self) {
        self.sim.faults.clear_plan();
    }

    pub fn fault_stats(&self) -> FaultStats {
        self.sim.faults.stats()
    }

    /// From now on, every API call authenticated as the service account (the first configured user) is
    /// answered 401, as Jira answers a revoked or expired API token, until
    /// [`renew_credentials`](Self::renew_credentials). Also `POST /_sim/credentials/expire`.
    pub fn expire_credentials(&self) {
        self.sim.credentials.expire();
    }

    /// The service account's credentials work again (`POST /_sim/credentials/renew`).
    pub fn renew_credentials(&self) {
        self.sim.credentials.renew();
    }

    /// After the next request with `method` whose path ends with `path_suffix` is answered (whatever the
    /// answer), applies `change` as that person would through `PUT /rest/api/3/issue/{key}`, webhook
    /// included. For deterministic tests of edits made between a read and a write.
    pub fn change_after(&self, method: &str, path_suffix: &str, change: PersonEdit) {
        self.sim.change_after.queue(method, path_suffix, change);
    }

    /// Stops accepting connections and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Connections still open after a few seconds are cut when the handle drops.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.server).await;
    }
}

impl Drop for RunningJira {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.abort();
    }
}
