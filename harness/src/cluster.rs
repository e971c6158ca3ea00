//! The system under test: several workers (think Lambda containers) on one store, each with its own
//! connectors and in-process locks, behind one webhook endpoint that hands every delivery to a worker
//! picked at random. Workers die at the engine's crash points as a killed Lambda dies; the sender sees
//! the failed request (API Gateway's 502) and retries, and the poller catches up on what is left.

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tandem_cli::local::LocalEnvironment;
use tandem_cli::server::{respond, webhook_request};
use tandem_cli::wiring::{self, ConnectorTuning};
use tandem_engine::crash::{Crash, CrashPlan, Step};
use tandem_engine::ports::{SystemClock, WebhookReceiver};
use tandem_engine::{Engine, EngineStores, RetryPolicy};
use tandem_lambda_runtime::{side_named, WebhookAnswer};
use tandem_mapping::IntegrationConfig;
use tandem_model::Side;
use tokio::task::JoinHandle;

/// Dies at each step boundary with a fixed probability, from a seeded generator; can be switched off
/// (the network heals and nobody dies while the harness checks convergence).
pub struct RandomCrashes {
    rate: f64,
    armed: AtomicBool,
    rng: Mutex<StdRng>,
    crashes: Mutex<BTreeMap<Step, u64>>,
}

impl RandomCrashes {
    pub fn new(rate: f64, seed: u64) -> Self {
        RandomCrashes {
            rate,
            armed: AtomicBool::new(rate > 0.0),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            crashes: Mutex::default(),
        }
    }

    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    /// Crashes so far, per step.
    pub fn crashes(&self) -> BTreeMap<Step, u64> {
        self.crashes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl CrashPlan for RandomCrashes {
    fn crash_at(&self, step: Step) -> bool {
        if !self.armed.load(Ordering::SeqCst) {
            return false;
        }
        let dies = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).random_bool(self.rate);
        if dies {
            *self.crashes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(step).or_default() += 1;
        }
        dies
    }
}

/// How the workers are built.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub workers: usize,
    pub claim_lease: Duration,
    pub retry: RetryPolicy,
    pub tuning: ConnectorTuning,
    /// Share of deliveries and polls given a deadline of 10–300 ms, as a function's remaining time cuts
    /// them short.
    pub deadline_rate: f64,
}

/// Counters of what happened to deliveries and polls.
#[derive(Debug, Default)]
pub struct ClusterCounters {
    pub deliveries: AtomicU64,
    pub deliveries_failed: AtomicU64,
    pub polls: AtomicU64,
    pub crashed_runs: AtomicU64,
    /// Deliveries and polls that were given a short deadline.
    pub cut_short: AtomicU64,
}

pub struct Cluster {
    workers: Vec<Arc<Engine>>,
    receivers: [Arc<dyn WebhookReceiver>; 2],
    config: Arc<IntegrationConfig>,
    picker: Mutex<StdRng>,
    deadline_rate: f64,
    deadlines: AtomicBool,
    pub crashes: Arc<RandomCrashes>,
    pub counters: ClusterCounters,
}

impl Cluster {
    pub async fn start(
        config: Arc<IntegrationConfig>,
        environment: &LocalEnvironment,
        stores: EngineStores,
        settings: &WorkerSettings,
        crashes: Arc<RandomCrashes>,
        seed: u64,
    ) -> Result<Arc<Cluster>> {
        let secrets = environment.secrets();
        let endpoints = environment.endpoints();
        let mut workers = Vec::with_capacity(settings.workers);
        for _ in 0..settings.workers.max(1) {
            let mut connectors = Vec::with_capacity(2);
            for side in Side::BOTH {
                let connector =
                    wiring::tuned_connector(&config, side, endpoints, secrets.as_ref(), &settings.tuning).await?;
                connectors.push(connector);
            }
            let connectors: [_; 2] = connectors.try_into().map_err(|_| anyhow::anyhow!("two connectors"))?;
            let engine = Engine::new(config.clone(), connectors, stores.clone(), Arc::new(SystemClock))
                .with_claim_lease(settings.claim_lease)
                .with_retry_policy(settings.retry)
                .with_crash_plan(crashes.clone());
            workers.push(Arc::new(engine));
        }
        let receivers = [
            wiring::receiver(&config, Side::One, secrets.as_ref()).await?,
            wiring::receiver(&config, Side::Two, secrets.as_ref()).await?,
        ];
        Ok(Arc::new(Cluster {
            workers,
            receivers,
            config,
            picker: Mutex::new(StdRng::seed_from_u64(seed ^ 0x5eed)),
            deadline_rate: settings.deadline_rate,
            deadlines: AtomicBool::new(settings.deadline_rate > 0.0),
            crashes,
            counters: ClusterCounters::default(),
        }))
    }

    pub fn worker(&self, index: usize) -> &Arc<Engine> {
        &self.workers[index % self.workers.len()]
    }

    fn pick(&self) -> Arc<Engine> {
        let index =
            self.picker.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).random_range(0..self.workers.len());
        self.workers[index].clone()
    }

    /// From now on no run is cut short.
    pub fn end_deadlines(&self) {
        self.deadlines.store(false, Ordering::SeqCst);
    }

    /// A short deadline for a run, for the share of runs that get one.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        if !self.deadlines.load(Ordering::SeqCst) {
            return None;
        }
        let mut picker = self.picker.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !picker.random_bool(self.deadline_rate) {
            return None;
        }
        self.counters.cut_short.fetch_add(1, Ordering::Relaxed);
        Some(tokio::time::Instant::now() + Duration::from_millis(picker.random_range(10..=300)))
    }

    /// Runs `work` on its own task, as one function invocation: a crash point kills it (and only it).
    async fn invoke<T, F>(&self, work: F) -> Result<T, Invocation>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        match tokio::spawn(work).await {
            Ok(value) => Ok(value),
            Err(joined) if joined.is_panic() => {
                let payload = joined.into_panic();
                match Crash::from_panic(payload.as_ref()) {
                    Some(_) => {
                        self.counters.crashed_runs.fetch_add(1, Ordering::Relaxed);
                        Err(Invocation::Crashed)
                    }
                    None => std::panic::resume_unwind(payload),
                }
            }
            Err(_) => Err(Invocation::Crashed),
        }
    }

    /// One poll cycle (both sides, then the due failures) on a worker picked at random.
    pub async fn poll_once(&self) -> bool {
        let worker = self.pick();
        self.counters.polls.fetch_add(1, Ordering::Relaxed);
        match self.deadline() {
            None => self.invoke(async move { tandem_cli::server::poll_once(&worker).await }).await.is_ok(),
            Some(deadline) => self.invoke(async move { poll_until(&worker, deadline).await }).await.is_ok(),
        }
    }

    /// Serves the webhook endpoints on `listener` until the returned task is aborted.
    pub fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener) -> Result<(SocketAddr, JoinHandle<()>)> {
        let address = listener.local_addr().context("the webhook listener's address")?;
        let app = Router::new().route("/hooks/{integration}/{side}", post(receive)).with_state(self.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "the harness's webhook endpoint failed");
            }
        });
        Ok((address, task))
    }
}

enum Invocation {
    Crashed,
}

async fn receive(
    State(cluster): State<Arc<Cluster>>,
    Path((integration, side)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    cluster.counters.deliveries.fetch_add(1, Ordering::Relaxed);
    if integration != cluster.config.name {
        return respond(WebhookAnswer::not_acted_on(
            &integration,
            format!("no active integration named `{integration}`"),
        ));
    }
    let side = match side_named(&cluster.config, &side) {
        Ok(side) => side,
        Err(message) => return respond(WebhookAnswer::not_acted_on(&integration, message)),
    };
    let request = webhook_request(&headers, query.as_deref(), &body);
    let receiver = cluster.receivers[usize::from(side.number() - 1)].clone();
    let answer = |answer: WebhookAnswer| respond(answer.replied_by(|status| receiver.reply(status)));
    let delivery = match receiver.receive(&request) {
        Ok(delivery) => delivery,
        Err(refusal) => {
            // The simulators send only genuine notices: a refusal here is tandem's fault, and counted.
            cluster.counters.deliveries_failed.fetch_add(1, Ordering::Relaxed);
            return answer(WebhookAnswer::refused(&integration, side, &refusal));
        }
    };
    let worker = cluster.pick();
    let name = integration.clone();
    let deadline = cluster.deadline();
    match cluster
        .invoke(async move {
            WebhookAnswer::delivered(&name, worker.receive_delivery_until(side, &delivery, deadline).await)
        })
        .await
    {
        Ok(delivered) => {
            if delivered.status >= 400 {
                cluster.counters.deliveries_failed.fetch_add(1, Ordering::Relaxed);
            }
            answer(delivered)
        }
        Err(Invocation::Crashed) => {
            cluster.counters.deliveries_failed.fetch_add(1, Ordering::Relaxed);
            (StatusCode::BAD_GATEWAY, "the function died").into_response()
        }
    }
}

/// A poll cycle cut short at `deadline`, as a scheduled function with little time left runs it.
async fn poll_until(engine: &Engine, deadline: tokio::time::Instant) {
    for side in Side::BOTH {
        if let Err(error) = engine.poll_side_until(side, Some(deadline)).await {
            tracing::warn!(side = %side, %error, "poll failed; the next one retries");
        }
    }
    if let Err(error) = engine.retry_failures_until(Some(deadline)).await {
        tracing::warn!(%error, "retrying failures failed");
    }
}
