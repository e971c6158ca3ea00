//! Salesforce simulator: one org's REST API (a version path `vXX.X` of 46.0 or later), with OAuth 2.0
//! token flows, sObjects (Case, CaseComment, Account, Contact, User, Group), describe, upsert by an
//! External ID, the SOQL tandem and people use, the org's rolling API allowance, and Outbound Messages.
//! Answers are shaped as the recorded ones in `../shared/contracts/salesforce/` (a test compares them),
//! and every request and answer is checked against the org's describe and those shapes.
//!
//! The org holds an integration user (the first of [`SalesforceSimConfig::users`]), two people, a queue,
//! and two accounts with a contact each. Its sessions can be ended at will
//! ([`RunningSalesforce::expire_sessions`]): calls are then answered `INVALID_SESSION_ID` until a new
//! token is fetched. Its API allowance can be set ([`RunningSalesforce::set_api_allowance`]): once
//! used up, calls are answered 403 `REQUEST_LIMIT_EXCEEDED`.
//!
//! The fault plans of the other simulators apply (see [`crate::faults`]; `PUT /_sim/fault-plan`), in
//! Salesforce's words: a rate limit is the org's concurrent-request limit (403 `REQUEST_LIMIT_EXCEEDED`,
//! `ConcurrentPerOrgLongTxn`), server errors are `UNKNOWN_EXCEPTION` and `SERVER_UNAVAILABLE`; Outbound
//! Messages are dropped, repeated and reordered as webhooks are; `meddle_rate` makes the second user edit
//! a Case's `Subject` right after the integration user read that one Case. Salesforce has no creation
//! throttle and SOQL reads the database itself, so `create_throttle_rate` and `search_lag_ms` do nothing
//! here. The integration user's credentials can go stale for a while
//! ([`crate::Controls::expire_credentials`], `POST /_sim/credentials/expire`): its calls are refused
//! `INVALID_SESSION_ID` and its token requests `invalid_grant` until they are renewed.

mod api;
mod auth;
mod check;
mod cursor;
pub mod ids;
pub mod key;
mod org;
mod outbound;
mod schema;
mod soql;

pub use auth::{ConnectedApp, SalesforceUser};
pub use outbound::OutboundTarget;
pub use schema::{CASE_EXTERNAL_ID, CASE_LINK_URL};

use crate::credentials::ServiceCredentials;
use crate::faults::{FaultLayer, Faults};
use crate::recording::{RecordedExchange, RecordedViolation, Recorder};
use crate::webhooks::DeliveryPolicy;
use auth::Sessions;
use org::Org;
use outbound::OutboundMessages;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The API version tandem and the examples use.
pub const API_VERSION: &str = "64.0";

/// What the simulated org holds at start.
#[derive(Debug, Clone)]
pub struct SalesforceSimConfig {
    /// 0 picks any free port.
    pub port: u16,
    /// The org id (18 characters, key prefix `00D`).
    pub org_id: String,
    /// The integration user first, then people.
    pub users: Vec<SalesforceUser>,
    pub app: ConnectedApp,
    /// The org's rolling 24-hour API allowance.
    pub api_allowance: u64,
    /// Check every request and answer against the org's describe and the recorded shapes.
    pub check_contract: bool,
    pub outbound_delivery: DeliveryPolicy,
}

impl Default for SalesforceSimConfig {
    fn default() -> Self {
        SalesforceSimConfig {
            port: 0,
            org_id: ids::with_suffix("00Dbm000000AbCd"),
            users: vec![SalesforceUser::integration(), SalesforceUser::alice(), SalesforceUser::bob()],
            app: ConnectedApp::default(),
            api_allowance: 100_000,
            check_contract: true,
            outbound_delivery: DeliveryPolicy::default(),
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
}

/// State shared by the handlers.
pub(crate) struct Shared {
    org: Mutex<Org>,
    sessions: Mutex<Sessions>,
    base_url: String,
    org_id: String,
    app: ConnectedApp,
    /// When the org started: its schema never changes after, so describe is last modified then.
    started: chrono::DateTime<chrono::Utc>,
    /// `(user id, user)`, the integration user first.
    users: Vec<(String, SalesforceUser)>,
    api_used: AtomicU64,
    api_allowance: AtomicU64,
    outbound: OutboundMessages,
    cursors: cursor::Cursors,
    recorder: Recorder,
    faults: Faults,
    credentials: ServiceCredentials,
}

impl Shared {
    fn org(&self) -> MutexGuard<'_, Org> {
        self.org.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn integration_user(&self) -> &str {
        &self.users[0].0
    }

    /// The person who edits between the integration user's read and its write: the second user.
    fn meddler(&self) -> Option<&str> {
        self.users.get(1).map(|(id, _)| id.as_str())
    }

    /// Sends Outbound Messages for the record's state now.
    fn notify(&self, object: &str, id: &str) {
        let org = self.org();
        let Ok(meta) = org.object(object) else { return };
        if let Ok(record) = org.record(meta.name, id) {
            self.outbound.notify(meta.name, record.clone());
        }
    }
}

/// Starts Salesforce simulators.
pub struct SalesforceSimulator;

impl SalesforceSimulator {
    /// Binds 127.0.0.1:`config.port` and serves until the returned handle is stopped or dropped.
    pub async fn start(config: SalesforceSimConfig) -> Result<RunningSalesforce, StartError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| StartError::Bind { port: config.port, source })?;
        let address: SocketAddr =
            listener.local_addr().map_err(|source| StartError::Bind { port: config.port, source })?;
        let base_url = format!("http://{address}");
        let mut org = Org::new();
        let users = seed(&mut org, &config.users);
        let recorder = Recorder::with_check(config.check_contract.then(check::SalesforceContract::new), |path| {
            path.ends_with("/oauth2/token") || path.ends_with("/oauth2/userinfo")
        })
        .with_creation_rule(creates_a_case);
        let faults = Faults::default();
        let shared = Arc::new(Shared {
            org: Mutex::new(org),
            sessions: Mutex::default(),
            base_url: base_url.clone(),
            org_id: config.org_id.clone(),
            app: config.app,
            started: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0),
            users,
            api_used: AtomicU64::new(0),
            api_allowance: AtomicU64::new(config.api_allowance),
            outbound: OutboundMessages::new(config.org_id, base_url.clone(), config.outbound_delivery, faults.clone()),
            cursors: cursor::Cursors::default(),
            recorder: recorder.clone(),
            faults: faults.clone(),
            credentials: ServiceCredentials::default(),
        });
        // The fault layer sits outside the recorder, as Jira's does: an injected answer never reached
        // the org, so it is neither recorded nor checked against the recorded shapes.
        let fault_layer = FaultLayer::new(faults.clone(), api::fault_response, |_, _| false);
        let app = api::router(Arc::clone(&shared))
            .layer(axum::middleware::from_fn_with_state(recorder, Recorder::middleware))
            .merge(crate::faults::control_router(faults.clone()))
            .merge(crate::credentials::control_router(shared.credentials.clone()))
            .layer(axum::middleware::from_fn_with_state(fault_layer, FaultLayer::inject))
            .layer(axum::middleware::from_fn_with_state(faults, crate::faults::measure));
        // Outside the router, so that the address is mended before it is routed.
        let app = tower::Layer::layer(&axum::middleware::map_request(api::without_trailing_slash), app);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, "the Salesforce simulator stopped");
            }
        });
        tracing::info!(%base_url, "Salesforce simulator listening");
        Ok(RunningSalesforce { shared, stop: Some(stop), server })
    }
}

/// Whether an answered call made a Case: a create, or an upsert by External ID that found none (201).
fn creates_a_case(method: &str, path: &str, status: u16) -> bool {
    let Some((_, after)) = path.split_once("/sobjects/Case") else { return false };
    let segments: Vec<&str> = after.split('/').filter(|segment| !segment.is_empty()).collect();
    // `…/sobjects/Case` itself or `…/Case/Id`, or `…/sobjects/Case/{field}/{value}` (not `CaseComment`).
    let on_case = after.is_empty() || after.starts_with('/');
    status == 201 && on_case && matches!((method, segments.len()), ("POST", 0 | 1) | ("PATCH", 2))
}

/// The users, a queue, and two accounts with a contact each.
fn seed(org: &mut Org, users: &[SalesforceUser]) -> Vec<(String, SalesforceUser)> {
    let fields = |pairs: &[(&str, Value)]| {
        pairs.iter().map(|(name, value)| (name.to_string(), value.clone())).collect::<Map<_, _>>()
    };
    let mut seeded: Vec<(String, SalesforceUser)> = Vec::new();
    for user in users {
        let by = seeded.first().map_or(String::new(), |(id, _)| id.clone());
        let alias: String = user.first_name.to_lowercase().chars().take(8).collect();
        let id = org.seed(
            "User",
            fields(&[
                ("Username", json!(user.username)),
                ("FirstName", json!(user.first_name)),
                ("LastName", json!(user.last_name)),
                ("Email", json!(user.email)),
                ("Alias", json!(alias)),
                ("IsActive", json!(true)),
            ]),
            &by,
        );
        seeded.push((id, user.clone()));
    }
    let admin = seeded.first().map_or(String::new(), |(id, _)| id.clone());
    org.seed(
        "Group",
        fields(&[("Name", json!("Tier 1 Queue")), ("Type", json!("Queue")), ("Email", json!("tier1@acme.example"))]),
        &admin,
    );
    for (account, number, website, contact) in [
        ("Acme Corporation", "ACME-001", "https://acme.example", ("Carol", "Customer", "carol@customer.example")),
        ("Globex", "GLOBEX-7", "https://globex.example", ("Dan", "Buyer", "dan@globex.example")),
    ] {
        let account_id = org.seed(
            "Account",
            fields(&[
                ("Name", json!(account)),
                ("AccountNumber", json!(number)),
                ("Website", json!(website)),
                ("Phone", Value::Null),
                ("OwnerId", json!(admin)),
            ]),
            &admin,
        );
        org.seed(
            "Contact",
            fields(&[
                ("AccountId", json!(account_id)),
                ("FirstName", json!(contact.0)),
                ("LastName", json!(contact.1)),
                ("Email", json!(contact.2)),
                ("Phone", Value::Null),
                ("Title", Value::Null),
                ("OwnerId", json!(admin)),
            ]),
            &admin,
        );
    }
    seeded
}

/// A running simulator. Dropping it stops the server.
pub struct RunningSalesforce {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl RunningSalesforce {
    /// The org's address: its My Domain, its login endpoint and its instance at once.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    pub fn org_id(&self) -> &str {
        &self.shared.org_id
    }

    pub fn app(&self) -> &ConnectedApp {
        &self.shared.app
    }

    /// The users with their record ids, the integration user first.
    pub fn users(&self) -> Vec<(String, SalesforceUser)> {
        self.shared.users.clone()
    }

    /// The id of the user with this e-mail.
    pub fn user_id(&self, email: &str) -> Option<String> {
        self.shared.users.iter().find(|(_, user)| user.email.eq_ignore_ascii_case(email)).map(|(id, _)| id.clone())
    }

    /// Every record of an object, deleted ones included, as stored.
    pub fn records(&self, object: &str) -> Vec<Map<String, Value>> {
        self.shared.org().records_of(object)
    }

    pub fn exchanges(&self) -> Vec<RecordedExchange> {
        self.shared.recorder.exchanges()
    }

    pub fn violations(&self) -> Vec<RecordedViolation> {
        self.shared.recorder.violations()
    }

    pub fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    /// Ends every session: calls are answered `INVALID_SESSION_ID` until a new token is fetched.
    pub fn expire_sessions(&self) {
        self.shared.sessions().expire_all();
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.shared.sessions().issued()
    }

    /// Sets the rolling allowance; calls past it are refused with `REQUEST_LIMIT_EXCEEDED`.
    pub fn set_api_allowance(&self, allowance: u64) {
        self.shared.api_allowance.store(allowance, Ordering::SeqCst);
    }

    /// API calls counted against the allowance.
    pub fn api_used(&self) -> u64 {
        self.shared.api_used.load(Ordering::SeqCst)
    }

    /// Forgets the calls counted, as the rolling window does a day later.
    pub fn reset_api_usage(&self) {
        self.shared.api_used.store(0, Ordering::SeqCst);
    }

    /// Sends an Outbound Message to `target` for every change of its object from now on.
    pub fn subscribe_outbound(&self, target: OutboundTarget) {
        self.shared.outbound.subscribe(target);
    }

    /// Outbound notifications sent and acknowledged so far.
    pub fn outbound_stats(&self) -> outbound::OutboundStats {
        self.shared.outbound.stats()
    }

    /// Waits until every Outbound Message queued so far was acknowledged, given up on or dropped.
    pub async fn outbound_settled(&self) {
        self.shared.outbound.settled().await;
    }

    /// Its fault plan and the integration user's credentials (see the module's doc), steered as every
    /// simulator's are.
    pub fn controls(&self) -> crate::Controls {
        crate::Controls::new(&self.shared.faults, &self.shared.credentials)
    }

    /// A session for the user with this e-mail, as if they had signed in (tests acting as people with
    /// plain REST calls use it); `None` for an unknown e-mail.
    pub fn open_session(&self, email: &str) -> Option<String> {
        let user = self.user_id(email)?;
        Some(self.shared.sessions().open(&self.shared.org_id, &user))
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.shared.outbound.stop();
        // Connections still open after a few seconds are cut when the handle drops.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.server).await;
    }
}

impl Drop for RunningSalesforce {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.shared.outbound.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::creates_a_case;

    #[test]
    fn creates_and_upserts_that_create_make_cases() {
        let base = "/services/data/v64.0/sobjects";
        assert!(creates_a_case("POST", &format!("{base}/Case"), 201));
        assert!(creates_a_case("PATCH", &format!("{base}/Case/Tandem_Sync_Id__c/jira-1"), 201));
        assert!(!creates_a_case("PATCH", &format!("{base}/Case/Tandem_Sync_Id__c/jira-1"), 200));
        assert!(!creates_a_case("POST", &format!("{base}/CaseComment"), 201));
        assert!(!creates_a_case("PATCH", &format!("{base}/Case/500bm0000000001AAA"), 204));
    }
}
