//! Outbound Messages: when a record of a subscribed object is created or changed, the org sends a SOAP
//! `notifications` message (1 to 100 notifications, each with the record's chosen fields as they are
//! at send time) to the endpoint, and sends it again, with growing pauses, until the endpoint answers
//! with `<Ack>true</Ack>`. Messages are sent concurrently, so they may arrive out of order.

use crate::webhooks::DeliveryPolicy;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;
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
    stats: Arc<Mutex<OutboundStats>>,
    sequence: AtomicU64,
}

impl OutboundMessages {
    /// Messages from the org `org_id` whose instance is `base_url`.
    pub(crate) fn new(org_id: String, base_url: String, policy: DeliveryPolicy) -> OutboundMessages {
        let (queue, pending) = mpsc::unbounded_channel();
        let targets: Arc<Mutex<Vec<OutboundTarget>>> = Arc::default();
        let stats: Arc<Mutex<OutboundStats>> = Arc::default();
        let org = Org { id: org_id, base_url };
        let worker = tokio::spawn(deliver(pending, Arc::clone(&targets), org, policy, Arc::clone(&stats)));
        OutboundMessages { targets, queue, worker: Mutex::new(Some(worker)), stats, sequence: AtomicU64::new(0) }
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
        let _ = self.queue.send(Notification { id, object: object.to_string(), record });
    }

    pub(crate) fn stats(&self) -> OutboundStats {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner).clone()
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
    stats: Arc<Mutex<OutboundStats>>,
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
            let body = envelope(&org, &target.fields, &chosen);
            let count = chosen.len() as u64;
            tokio::spawn(send(client.clone(), target.url.clone(), body, count, policy.clone(), Arc::clone(&stats)));
        }
    }
}

async fn send(
    client: reqwest::Client,
    url: String,
    body: String,
    count: u64,
    policy: DeliveryPolicy,
    stats: Arc<Mutex<OutboundStats>>,
) {
    let mut pause = policy.first_backoff;
    for attempt in 1..=policy.max_attempts {
        {
            let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
            stats.messages_sent += 1;
            stats.notifications_sent += count;
        }
        let answer = client
            .post(&url)
            .header("content-type", "text/xml; charset=utf-8")
            .header("soapaction", "\"\"")
            .body(body.clone())
            .send()
            .await;
        let acknowledged = match answer {
            Ok(answer) if answer.status().is_success() => answer.text().await.is_ok_and(|text| is_ack(&text)),
            _ => false,
        };
        if acknowledged {
            stats.lock().unwrap_or_else(PoisonError::into_inner).acknowledged += count;
            return;
        }
        if attempt < policy.max_attempts {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    stats.lock().unwrap_or_else(PoisonError::into_inner).given_up += count;
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
