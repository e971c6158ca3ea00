//! Outgoing webhook deliveries, shared by the simulators.
//!
//! A simulator hands each event to a [`WebhookSender`], which delivers it to every subscription on its own
//! tokio task, so the API call that caused the event is not slowed down by the receiver. Failed deliveries
//! (network errors, non-2xx answers) are retried a few times with a short backoff, keeping the delivery id
//! (Jira keeps `X-Atlassian-Webhook-Identifier` across retries). Pausing makes the sender drop events, which
//! is how tests simulate a missed webhook that only polling can recover. A sender built
//! [`with_faults`](WebhookSender::with_faults) also drops, duplicates and delays deliveries as the
//! simulator's fault plan says (see [`crate::faults`]).
//!
//! What a request carries besides the body (signature, identifiers, credentials) is the subscription's
//! business: each one has a [`DeliveryHeaders`] callback, so Jira's HMAC and Azure DevOps' Basic credentials
//! both fit.

use crate::faults::{DeliveryFate, Faults};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// One attempt to deliver an event, as the header callback sees it.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryAttempt<'a> {
    /// Unique per event and subscription; the same on every retry.
    pub delivery_id: &'a str,
    /// The raw body exactly as sent (what a signature covers).
    pub body: &'a [u8],
    /// 0 for the first attempt, 1 for the first retry, …
    pub retry: u32,
}

/// Produces the headers of one delivery attempt (signature, delivery id, authorisation).
pub type DeliveryHeaders = Arc<dyn Fn(&DeliveryAttempt<'_>) -> Vec<(String, String)> + Send + Sync>;

/// Where events go, and how requests to that place are signed or authorised.
#[derive(Clone)]
pub struct WebhookSubscription {
    pub url: String,
    pub headers: DeliveryHeaders,
}

impl WebhookSubscription {
    pub fn new(
        url: impl Into<String>,
        headers: impl Fn(&DeliveryAttempt<'_>) -> Vec<(String, String)> + Send + Sync + 'static,
    ) -> Self {
        WebhookSubscription { url: url.into(), headers: Arc::new(headers) }
    }
}

impl std::fmt::Debug for WebhookSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSubscription").field("url", &self.url).finish_non_exhaustive()
    }
}

/// How hard the sender tries before giving a delivery up.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait before the first retry; doubled before each further one.
    pub first_backoff: Duration,
    /// How long a receiver may take to answer (Jira and GitHub allow 10 s).
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy { max_attempts: 4, first_backoff: Duration::from_millis(100), timeout: Duration::from_secs(10) }
    }
}

/// Delivery counters, per sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WebhookStats {
    /// Deliveries a receiver accepted (2xx); each copy of a duplicated delivery counts.
    pub sent: u64,
    /// Deliveries given up after every attempt failed.
    pub failed: u64,
    /// Deliveries not attempted because the sender was paused or the fault plan dropped them.
    pub dropped: u64,
    /// Attempts after the first, over all deliveries.
    pub retries: u64,
    /// Deliveries still being attempted.
    pub in_flight: u64,
}

/// Sends events to the subscriptions of one simulator. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct WebhookSender {
    shared: Arc<Shared>,
}

struct Shared {
    client: reqwest::Client,
    policy: DeliveryPolicy,
    faults: Faults,
    subscriptions: Mutex<Vec<WebhookSubscription>>,
    paused: AtomicBool,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    in_flight: watch::Sender<u64>,
}

impl WebhookSender {
    /// A sender without faults (only pausing drops events).
    pub fn new(policy: DeliveryPolicy) -> Self {
        WebhookSender::with_faults(policy, Faults::default())
    }

    /// A sender whose deliveries follow the plan of `faults`, drawing from the same rng as the API calls.
    pub fn with_faults(policy: DeliveryPolicy, faults: Faults) -> Self {
        let client = reqwest::Client::builder().timeout(policy.timeout).build().unwrap_or_default();
        WebhookSender {
            shared: Arc::new(Shared {
                client,
                policy,
                faults,
                subscriptions: Mutex::new(Vec::new()),
                paused: AtomicBool::new(false),
                sent: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                in_flight: watch::Sender::new(0),
            }),
        }
    }

    pub fn subscribe(&self, subscription: WebhookSubscription) {
        self.subscriptions().push(subscription);
    }

    /// Removes every subscription.
    pub fn clear(&self) {
        self.subscriptions().clear();
    }

    pub fn subscription_count(&self) -> usize {
        self.subscriptions().len()
    }

    /// From now on, events are dropped (counted in `dropped`) until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
    }

    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    pub fn stats(&self) -> WebhookStats {
        WebhookStats {
            sent: self.shared.sent.load(Ordering::SeqCst),
            failed: self.shared.failed.load(Ordering::SeqCst),
            dropped: self.shared.dropped.load(Ordering::SeqCst),
            retries: self.shared.retries.load(Ordering::SeqCst),
            in_flight: *self.shared.in_flight.borrow(),
        }
    }

    /// Queues one event for every subscription and returns at once. Each subscription gets its own
    /// delivery id (shared by the copies of a duplicated delivery). Must be called inside a tokio runtime.
    pub fn send(&self, event: &serde_json::Value) {
        let subscriptions = self.subscriptions().clone();
        if subscriptions.is_empty() {
            return;
        }
        if self.is_paused() {
            self.shared.dropped.fetch_add(subscriptions.len() as u64, Ordering::SeqCst);
            return;
        }
        let body: Arc<[u8]> = match serde_json::to_vec(event) {
            Ok(body) => body.into(),
            Err(error) => {
                // A `Value` always serialises; count it as failed rather than panic if that ever changes.
                tracing::error!(%error, "webhook event could not be serialised");
                self.shared.failed.fetch_add(subscriptions.len() as u64, Ordering::SeqCst);
                return;
            }
        };
        for subscription in subscriptions {
            let DeliveryFate::Deliver { copies, delay } = self.shared.faults.next_delivery() else {
                self.shared.dropped.fetch_add(1, Ordering::SeqCst);
                continue;
            };
            let delivery_id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
            for _ in 0..copies {
                self.spawn_delivery(subscription.clone(), Arc::clone(&body), Arc::clone(&delivery_id), delay);
            }
        }
    }

    fn spawn_delivery(&self, subscription: WebhookSubscription, body: Arc<[u8]>, id: Arc<str>, delay: Duration) {
        self.shared.in_flight.send_modify(|count| *count += 1);
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let delivered = shared.deliver(&subscription, &body, &id).await;
            let counter = if delivered { &shared.sent } else { &shared.failed };
            counter.fetch_add(1, Ordering::SeqCst);
            shared.in_flight.send_modify(|count| *count -= 1);
        });
    }

    /// Waits until no delivery is in flight (every queued event was delivered or given up).
    pub async fn settled(&self) {
        let mut in_flight = self.shared.in_flight.subscribe();
        // The sender lives in `self.shared`, so the channel cannot close while we wait.
        let _ = in_flight.wait_for(|count| *count == 0).await;
    }

    fn subscriptions(&self) -> MutexGuard<'_, Vec<WebhookSubscription>> {
        // A panic while holding this lock cannot leave the list half-changed, so a poisoned lock is usable.
        self.shared.subscriptions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for WebhookSender {
    fn default() -> Self {
        WebhookSender::new(DeliveryPolicy::default())
    }
}

impl Shared {
    /// Attempts one delivery until a receiver accepts it or the attempts run out.
    async fn deliver(&self, subscription: &WebhookSubscription, body: &[u8], delivery_id: &str) -> bool {
        let mut backoff = self.policy.first_backoff;
        for retry in 0..self.policy.max_attempts.max(1) {
            if retry > 0 {
                self.retries.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            let attempt = DeliveryAttempt { delivery_id, body, retry };
            let mut request = self
                .client
                .post(&subscription.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
            for (name, value) in (subscription.headers)(&attempt) {
                request = request.header(name, value);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => return true,
                Ok(response) => {
                    tracing::debug!(url = %subscription.url, status = %response.status(), retry, "webhook refused");
                }
                Err(error) => {
                    tracing::debug!(url = %subscription.url, %error, retry, "webhook not delivered")
                }
            }
        }
        false
    }
}

/// Lower-case hex HMAC-SHA256 of `body` under `key`: the signature Jira (`X-Hub-Signature: sha256=…`) and
/// GitHub (`X-Hub-Signature-256: sha256=…`) send.
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn signature_matches_githubs_documented_test_vector() {
        assert_eq!(
            hmac_sha256_hex(b"It's a Secret to Everybody", b"Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    /// A receiver that refuses the first `refusals` requests and records every request's headers.
    async fn receiver(refusals: u32) -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicU32::new(0));
        let recorded = Arc::clone(&seen);
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap| {
                let recorded = Arc::clone(&recorded);
                let calls = Arc::clone(&calls);
                async move {
                    recorded.lock().unwrap().push(headers);
                    if calls.fetch_add(1, Ordering::SeqCst) < refusals {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{address}/hook"), seen)
    }

    fn fast_policy(max_attempts: u32) -> DeliveryPolicy {
        DeliveryPolicy { max_attempts, first_backoff: Duration::from_millis(5), timeout: Duration::from_secs(2) }
    }

    fn numbered(url: &str) -> WebhookSubscription {
        WebhookSubscription::new(url, |attempt| {
            vec![
                ("x-delivery".to_string(), attempt.delivery_id.to_string()),
                ("x-retry".to_string(), attempt.retry.to_string()),
                ("x-signature".to_string(), hmac_sha256_hex(b"key", attempt.body)),
            ]
        })
    }

    #[tokio::test]
    async fn retries_keep_the_delivery_id_and_count_the_retry() {
        let (url, seen) = receiver(2).await;
        let sender = WebhookSender::new(fast_policy(4));
        sender.subscribe(numbered(&url));
        sender.send(&serde_json::json!({"event": 1}));
        sender.settled().await;

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        let ids: Vec<_> = seen.iter().map(|headers| headers["x-delivery"].clone()).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let retries: Vec<_> = seen.iter().map(|headers| headers["x-retry"].to_str().unwrap().to_string()).collect();
        assert_eq!(retries, ["0", "1", "2"]);
        assert_eq!(seen[0]["x-signature"], hmac_sha256_hex(b"key", br#"{"event":1}"#).as_str());
        assert_eq!(sender.stats(), WebhookStats { sent: 1, failed: 0, dropped: 0, retries: 2, in_flight: 0 });
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let (url, seen) = receiver(u32::MAX).await;
        let sender = WebhookSender::new(fast_policy(3));
        sender.subscribe(numbered(&url));
        sender.send(&serde_json::json!({}));
        sender.settled().await;

        assert_eq!(seen.lock().unwrap().len(), 3);
        assert_eq!(sender.stats(), WebhookStats { sent: 0, failed: 1, dropped: 0, retries: 2, in_flight: 0 });
    }

    #[tokio::test]
    async fn events_while_paused_are_dropped_and_distinct_events_get_distinct_ids() {
        let (url, seen) = receiver(0).await;
        let sender = WebhookSender::new(fast_policy(1));
        sender.subscribe(numbered(&url));
        sender.pause();
        sender.send(&serde_json::json!({"lost": true}));
        sender.resume();
        sender.send(&serde_json::json!({"n": 1}));
        sender.send(&serde_json::json!({"n": 2}));
        sender.settled().await;

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_ne!(seen[0]["x-delivery"], seen[1]["x-delivery"]);
        assert_eq!(sender.stats(), WebhookStats { sent: 2, failed: 0, dropped: 1, retries: 0, in_flight: 0 });
    }

    #[tokio::test]
    async fn a_fault_plan_duplicates_with_one_delivery_id_and_drops() {
        let (url, seen) = receiver(0).await;
        let faults = Faults::default();
        let sender = WebhookSender::with_faults(fast_policy(1), faults.clone());
        sender.subscribe(numbered(&url));
        let duplicate =
            crate::faults::FaultPlan { webhook_duplicate_rate: 1.0, webhook_duplicate_copies: 2, ..Default::default() };
        faults.set_plan(duplicate).unwrap();
        sender.send(&serde_json::json!({"n": 1}));
        faults.set_plan(crate::faults::FaultPlan { webhook_drop_rate: 1.0, ..Default::default() }).unwrap();
        sender.send(&serde_json::json!({"n": 2}));
        sender.settled().await;

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|headers| headers["x-delivery"] == seen[0]["x-delivery"]));
        assert_eq!(sender.stats(), WebhookStats { sent: 3, failed: 0, dropped: 1, retries: 0, in_flight: 0 });
        assert_eq!((faults.stats().webhooks_duplicated, faults.stats().webhooks_dropped), (1, 1));
    }

    #[tokio::test]
    async fn an_unreachable_receiver_counts_as_failed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        drop(listener);
        let sender = WebhookSender::new(fast_policy(2));
        sender.subscribe(numbered(&url));
        sender.send(&serde_json::json!({}));
        sender.settled().await;
        assert_eq!(sender.stats().failed, 1);
    }
}
