//! Outbound Messages: when a record of a subscribed object is created or changed, the org sends a SOAP
//! `notifications` message (1 to 100 notifications, each with the record's chosen fields as they are
//! at send time) to the endpoint, and sends it again, with growing pauses, until the endpoint answers
//! with `<Ack>true</Ack>`. Messages are sent concurrently, so they may arrive out of order. Under a
//! fault plan (see [`crate::faults`]) a message may be dropped, sent several times at once (the same
//! notification ids, as Salesforce's own resends carry), or held back so that later ones overtake it.

use crate::faults::{DeliveryFate, Faults};
use crate::webhooks::DeliveryPolicy;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Where an Outbound Message goes, and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundTarget {
    pub url: String,
    /// The object whose changes are sent (`Case`).
    pub object: String,
    /// The fields sent besides `Id` (empty: every field with a value).
    pub fields: Vec<String>,
}

/// Messages sent, answered with an acknowledgement, and given up on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundStats {
    pub messages_sent: u64,
    pub notifications_sent: u64,
    pub acknowledged: u64,
    pub given_up: u64,
    /// Messages the fault plan dropped (never sent).
    pub dropped: u64,
    /// Attempts after the first, over all messages.
    pub retries: u64,
    /// Messages still being sent.
    pub in_flight: u64,
}

/// The sending org, as messages name it.
struct Org {
    id: String,
    base_url: String,
}

struct Notification {
    id: String,
    object: String,
    record: Map<String, Value>,
}

pub(crate) struct OutboundMessages {
    targets: Arc<Mutex<Vec<OutboundTarget>>>,
    queue: mpsc::UnboundedSender<Notification>,
    worker: Mutex<Option<JoinHandle<()>>>,
    sending: Arc<Sending>,
    sequence: AtomicU64,
}

/// What the sending tasks share: the counts, the messages still out (queued ones included), and the
/// faults that decide each message's fate.
struct Sending {
    stats: Mutex<OutboundStats>,
    in_flight: watch::Sender<u64>,
    faults: Faults,
}

impl Sending {
    fn count(&self, change: impl FnOnce(&mut OutboundStats)) {
        change(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn started(&self, messages: u64) {
        self.in_flight.send_modify(|count| *count += messages);
    }

    fn finished(&self) {
        self.in_flight.send_modify(|count| *count = count.saturating_sub(1));
    }
}

impl OutboundMessages {
    /// Messages from the org `org_id` whose instance is `base_url`, with the fates `faults` draws.
    pub(crate) fn new(org_id: String, base_url: String, policy: DeliveryPolicy, faults: Faults) -> OutboundMessages {
        let (queue, pending) = mpsc::unbounded_channel();
        let targets: Arc<Mutex<Vec<OutboundTarget>>> = Arc::default();
        let sending = Arc::new(Sending { stats: Mutex::default(), in_flight: watch::Sender::new(0), faults });
        let org = Org { id: org_id, base_url };
        let worker = tokio::spawn(deliver(pending, Arc::clone(&targets), org, policy, Arc::clone(&sending)));
        OutboundMessages { targets, queue, worker: Mutex::new(Some(worker)), sending, sequence: AtomicU64::new(0) }
    }

    pub(crate) fn subscribe(&self, target: OutboundTarget) {
        self.targets.lock().unwrap_or_else(PoisonError::into_inner).push(target);
    }

    /// Queues a notification of the record's state now, when any endpoint takes its object.
    pub(crate) fn notify(&self, object: &str, record: Map<String, Value>) {
        let subscribed = self
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|target| target.object.eq_ignore_ascii_case(object));
        if !subscribed {
            return;
        }
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let id = super::ids::new_id("04l", "bm", sequence);
        // Counted as out until its message is sent, so `settled` waits for it.
        self.sending.started(1);
        if self.queue.send(Notification { id, object: object.to_string(), record }).is_err() {
            self.sending.finished();
        }
    }

    pub(crate) fn stats(&self) -> OutboundStats {
        let mut stats = self.sending.stats.lock().unwrap_or_else(PoisonError::into_inner).clone();
        stats.in_flight = *self.sending.in_flight.borrow();
        stats
    }

    /// Waits until every notification queued so far was acknowledged, given up on or dropped.
    pub(crate) async fn settled(&self) {
        let mut in_flight = self.sending.in_flight.subscribe();
        let _ = in_flight.wait_for(|count| *count == 0).await;
    }

    pub(crate) fn stop(&self) {
        if let Some(worker) = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take() {
            worker.abort();
        }
    }
}

/// Takes queued notifications, up to 100 per message, and sends each message on its own task.
async fn deliver(
    mut pending: mpsc::UnboundedReceiver<Notification>,
    targets: Arc<Mutex<Vec<OutboundTarget>>>,
    org: Org,
    policy: DeliveryPolicy,
    sending: Arc<Sending>,
) {
    let client = reqwest::Client::builder().timeout(policy.timeout).build().unwrap_or_default();
    while let Some(first) = pending.recv().await {
        let mut batch = vec![first];
        while batch.len() < 100 {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let targets = targets.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for target in targets {
            let chosen: Vec<&Notification> =
                batch.iter().filter(|notification| notification.object.eq_ignore_ascii_case(&target.object)).collect();
            if chosen.is_empty() {
                continue;
            }
            let DeliveryFate::Deliver { copies, delay } = sending.faults.next_delivery() else {
                sending.count(|stats| stats.dropped += 1);
                continue;
            };
            let message = Message {
                url: target.url.clone(),
                body: envelope(&org, &target.fields, &chosen),
                notifications: chosen.len() as u64,
            };
            sending.started(u64::from(copies));
            for _ in 0..copies {
                tokio::spawn(send(client.clone(), message.clone(), delay, policy.clone(), Arc::clone(&sending)));
            }
        }
        // The batch's notifications are in messages now (or were for no endpoint).
        for _ in &batch {
            sending.finished();
        }
    }
}

/// One message to one endpoint.
#[derive(Clone)]
struct Message {
    url: String,
    body: String,
    notifications: u64,
}

async fn send(
    client: reqwest::Client,
    message: Message,
    delay: Duration,
    policy: DeliveryPolicy,
    sending: Arc<Sending>,
) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let count = message.notifications;
    let mut pause = policy.first_backoff;
    let mut acknowledged = false;
    for attempt in 1..=policy.max_attempts {
        sending.count(|stats| {
            stats.messages_sent += 1;
            stats.notifications_sent += count;
            stats.retries += u64::from(attempt > 1);
        });
        let answer = client
            .post(&message.url)
            .header("content-type", "text/xml; charset=utf-8")
            .header("soapaction", "\"\"")
            .body(message.body.clone())
            .send()
            .await;
        acknowledged = match answer {
            Ok(answer) if answer.status().is_success() => answer.text().await.is_ok_and(|text| is_ack(&text)),
            _ => false,
        };
        if acknowledged || attempt == policy.max_attempts {
            break;
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    sending.count(|stats| if acknowledged { stats.acknowledged += count } else { stats.given_up += count });
    sending.finished();
}

/// Whether an answer acknowledges the message: `<Ack>true</Ack>` in a `notificationsResponse`.
fn is_ack(text: &str) -> bool {
    let compact: String = text.split_whitespace().collect();
    compact.contains("notificationsResponse") && compact.contains("<Ack>true</Ack>")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A datetime of a record (`…+0000`) as Outbound Messages write it (`…Z`).
fn soap_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(match super::soql::parse_datetime(text) {
            Some(at) if text.len() > 10 => at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            _ => text.clone(),
        }),
        other => Some(other.to_string()),
    }
}

fn envelope(org: &Org, fields: &[String], notifications: &[&Notification]) -> String {
    let mut body = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
        "\n <soapenv:Body>\n  <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n"
    ));
    let (org_id, base_url) = (&org.id, escape(&org.base_url));
    let org15 = &org_id[..15.min(org_id.len())];
    body.push_str(&format!("   <OrganizationId>{org_id}</OrganizationId>\n   <ActionId>04kbm0000000AbcAAE</ActionId>\n   <SessionId xsi:nil=\"true\"/>\n"));
    body.push_str(&format!("   <EnterpriseUrl>{base_url}/services/Soap/c/64.0/{org15}</EnterpriseUrl>\n"));
    body.push_str(&format!("   <PartnerUrl>{base_url}/services/Soap/u/64.0/{org15}</PartnerUrl>\n"));
    for notification in notifications {
        body.push_str(&format!("   <Notification>\n    <Id>{}</Id>\n", notification.id));
        body.push_str(&format!(
            "    <sObject xsi:type=\"sf:{}\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n",
            notification.object
        ));
        let id = notification.record.get("Id").and_then(soap_value).unwrap_or_default();
        body.push_str(&format!("     <sf:Id>{}</sf:Id>\n", escape(&id)));
        let mut names: Vec<&String> = notification
            .record
            .keys()
            .filter(|name| *name != "Id")
            .filter(|name| fields.is_empty() || fields.iter().any(|field| field.eq_ignore_ascii_case(name)))
            .collect();
        // Fields follow `Id` in alphabetical order, as in the recorded messages; empty ones are left out.
        names.sort();
        for name in names {
            if let Some(value) = notification.record.get(name).and_then(soap_value) {
                body.push_str(&format!("     <sf:{name}>{}</sf:{name}>\n", escape(&value)));
            }
        }
        body.push_str("    </sObject>\n   </Notification>\n");
    }
    body.push_str("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n");
    body
}
