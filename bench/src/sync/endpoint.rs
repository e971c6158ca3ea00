//! The bench's webhook endpoint: what `tandem serve` does with a delivery (verify it with the side's
//! receiver, hand it to `Engine::receive_delivery`), timed from the moment the request arrives to the
//! end of `receive_delivery`, with the simulators' busy time and the store's calls over the same span.
//!
//! Deliveries are handled one at a time, as one function instance would: the echo of a write waits for
//! the delivery that caused it, so each delivery's figures are its own.

use super::counting_store::{StoreCounters, StoreTally};
use super::dynamo_calls::{DynamoCalls, DynamoTally};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem_engine::ports::{WebhookReceiver, WebhookRequest};
use tandem_engine::{DeliveryOutcome, Engine};
use tandem_lambda_runtime::{side_named, WebhookAnswer};
use tandem_model::Side;
use tokio::task::JoinHandle;

/// Reads what the bench attributes to a delivery: the simulators' summed busy time and the store's
/// (and DynamoDB's) counters.
pub struct Probes {
    pub simulators_busy_micros: Box<dyn Fn() -> u64 + Send + Sync>,
    pub store: Arc<dyn StoreCounters>,
    pub dynamo: Option<DynamoCalls>,
}

/// One delivery as tandem handled it.
#[derive(Debug, Clone)]
pub struct TimedDelivery {
    pub side: Side,
    /// Arrival of the request to the end of `receive_delivery` (the target is written inside it).
    pub total: Duration,
    /// Time the simulators spent answering tandem's calls within `total`.
    pub simulators_busy: Duration,
    pub store: StoreTally,
    pub dynamo: Option<DynamoTally>,
    /// The engine's outcome, or its error as text.
    pub outcome: Result<DeliveryOutcome, String>,
}

impl TimedDelivery {
    /// `total` less the time spent inside the simulators: tandem's own part, store included.
    pub fn tandem(&self) -> Duration {
        self.total.saturating_sub(self.simulators_busy)
    }

    /// Whether this delivery synced an item without failing (not an echo, not a repeat).
    pub fn synced(&self) -> bool {
        matches!(&self.outcome, Ok(outcome) if outcome.synced > 0 && outcome.failed == 0)
    }
}

pub struct Endpoint {
    engine: Arc<Engine>,
    receivers: [Arc<dyn WebhookReceiver>; 2],
    probes: Probes,
    one_at_a_time: tokio::sync::Mutex<()>,
    handled: Mutex<Vec<TimedDelivery>>,
}

impl Endpoint {
    pub fn new(engine: Arc<Engine>, receivers: [Arc<dyn WebhookReceiver>; 2], probes: Probes) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            engine,
            receivers,
            probes,
            one_at_a_time: tokio::sync::Mutex::new(()),
            handled: Mutex::default(),
        })
    }

    /// Serves `/hooks/{integration}/{side}` (the paths `LocalEnvironment::register_webhooks` points the
    /// simulators at) until the task is aborted.
    pub fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
        let address = listener.local_addr()?;
        let app = Router::new().route("/hooks/{integration}/{side}", post(receive)).with_state(self.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "the bench's webhook endpoint failed");
            }
        });
        Ok((address, task))
    }

    /// The deliveries handled since the last call, in the order they finished.
    pub fn take(&self) -> Vec<TimedDelivery> {
        std::mem::take(&mut *self.lock())
    }

    /// Deliveries handled so far and not yet taken.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<TimedDelivery>> {
        self.handled.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn handle(&self, side: Side, request: WebhookRequest, arrived: Instant) -> WebhookAnswer {
        let integration = self.engine.integration().to_string();
        let _one = self.one_at_a_time.lock().await;
        let busy_before = (self.probes.simulators_busy_micros)();
        let store_before = self.probes.store.tally();
        let dynamo_before = self.probes.dynamo.as_ref().map(DynamoCalls::tally);
        let delivery = match self.receivers[super::people::index(side)].receive(&request) {
            Ok(delivery) => delivery,
            Err(refusal) => return WebhookAnswer::refused(&integration, side, &refusal),
        };
        let outcome = self.engine.receive_delivery(side, &delivery).await;
        let total = arrived.elapsed();
        let busy = (self.probes.simulators_busy_micros)().saturating_sub(busy_before);
        let timed = TimedDelivery {
            side,
            total,
            simulators_busy: Duration::from_micros(busy),
            store: self.probes.store.tally().since(&store_before),
            dynamo: self.probes.dynamo.as_ref().zip(dynamo_before).map(|(calls, before)| calls.tally().since(&before)),
            outcome: outcome.as_ref().map(Clone::clone).map_err(ToString::to_string),
        };
        self.lock().push(timed);
        WebhookAnswer::delivered(&integration, outcome)
    }
}

async fn receive(
    State(endpoint): State<Arc<Endpoint>>,
    Path((integration, side)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let config = endpoint.engine.config();
    if integration != config.name {
        return answer(WebhookAnswer::problem(404, format!("no integration named `{integration}`")));
    }
    let side = match side_named(config, &side) {
        Ok(side) => side,
        Err(message) => return answer(WebhookAnswer::problem(404, message)),
    };
    let headers =
        headers.iter().filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())));
    let request = WebhookRequest::new(headers.collect(), body.to_vec());
    answer(endpoint.handle(side, request, arrived).await)
}

fn answer(answer: WebhookAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(answer.body)).into_response()
}
