//! Service hooks: Web Hooks subscriptions and the `workitem.*` events they receive.
//!
//! Each subscription has its own [`WebhookSender`] because the body names the subscription
//! (`subscriptionId`) and numbers the notification (`notificationId`, the same on every retry).

use base64::Engine;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;

use super::fields;
use super::render::{Expand, Renderer};
use super::state::{format_instant, Change, WorkItem};
use crate::faults::Faults;
use crate::webhooks::{DeliveryPolicy, WebhookSender, WebhookStats, WebhookSubscription};

/// A Web Hooks consumer as configured on a subscription: target URL, Basic credentials, extra headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookTarget {
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

struct Subscription {
    id: Uuid,
    sender: WebhookSender,
    notifications: AtomicU64,
}

/// The organization's service hook subscriptions.
pub struct ServiceHooks {
    policy: DeliveryPolicy,
    /// The simulator's faults, shared by every subscription's sender.
    faults: Faults,
    subscriptions: Mutex<Vec<Arc<Subscription>>>,
    paused: AtomicBool,
}

/// One event before it is addressed to a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    pub event_type: &'static str,
    pub text: String,
    pub resource: Value,
    pub project_id: Uuid,
}

impl ServiceHooks {
    pub fn new(policy: DeliveryPolicy, faults: Faults) -> Self {
        ServiceHooks { policy, faults, subscriptions: Mutex::new(Vec::new()), paused: AtomicBool::new(false) }
    }

    /// Adds a subscription to every `workitem.*` event and returns its id.
    pub fn subscribe(&self, target: HookTarget) -> Uuid {
        let sender = WebhookSender::with_faults(self.policy.clone(), self.faults.clone());
        let mut headers: Vec<(String, String)> = target.headers.into_iter().collect();
        if target.username.is_some() || target.password.is_some() {
            let credentials =
                format!("{}:{}", target.username.unwrap_or_default(), target.password.unwrap_or_default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            headers.push(("authorization".into(), format!("Basic {encoded}")));
        }
        sender.subscribe(WebhookSubscription::new(target.url, move |_| headers.clone()));
        if self.paused.load(Ordering::SeqCst) {
            sender.pause();
        }
        let id = Uuid::new_v4();
        self.subscriptions().push(Arc::new(Subscription { id, sender, notifications: AtomicU64::new(0) }));
        id
    }

    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        self.subscriptions().iter().for_each(|subscription| subscription.sender.pause());
    }

    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        self.subscriptions().iter().for_each(|subscription| subscription.sender.resume());
    }

    /// Delivery counters summed over the subscriptions.
    pub fn stats(&self) -> WebhookStats {
        self.subscriptions().iter().map(|subscription| subscription.sender.stats()).fold(
            WebhookStats::default(),
            |sum, stats| WebhookStats {
                sent: sum.sent + stats.sent,
                failed: sum.failed + stats.failed,
                dropped: sum.dropped + stats.dropped,
                retries: sum.retries + stats.retries,
                in_flight: sum.in_flight + stats.in_flight,
            },
        )
    }

    /// Waits until every queued delivery was made or given up.
    pub async fn settled(&self) {
        let senders: Vec<WebhookSender> =
            self.subscriptions().iter().map(|subscription| subscription.sender.clone()).collect();
        for sender in senders {
            sender.settled().await;
        }
    }

    /// Queues the event for every subscription. Must run inside a tokio runtime.
    pub fn publish(&self, event: &HookEvent, organization_url: &str) {
        for subscription in self.subscriptions().iter() {
            let notification_id = subscription.notifications.fetch_add(1, Ordering::SeqCst) + 1;
            let body = json!({
                "subscriptionId": subscription.id.to_string(),
                "notificationId": notification_id,
                "id": Uuid::new_v4().to_string(),
                "eventType": event.event_type,
                "publisherId": "tfs",
                "message": {"text": event.text, "html": event.text, "markdown": event.text},
                "detailedMessage": {"text": event.text, "html": event.text, "markdown": event.text},
                "resource": event.resource,
                "resourceVersion": "1.0",
                "resourceContainers": {
                    "collection": {"id": Uuid::nil().to_string(), "baseUrl": format!("{organization_url}/")},
                    "account": {"id": Uuid::nil().to_string(), "baseUrl": format!("{organization_url}/")},
                    "project": {"id": event.project_id.to_string(), "baseUrl": format!("{organization_url}/")},
                },
                "createdDate": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            });
            subscription.sender.send(&body);
        }
    }

    fn subscriptions(&self) -> MutexGuard<'_, Vec<Arc<Subscription>>> {
        // The list is only pushed to; a panic elsewhere cannot leave it half-changed.
        self.subscriptions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The service hook event a change produces, shaped like the service's documented samples.
pub fn event_for(renderer: &Renderer<'_>, change: &Change, item: &WorkItem, project_id: Uuid) -> HookEvent {
    let changed_by = item
        .fields
        .get(fields::CHANGED_BY)
        .and_then(Value::as_str)
        .and_then(|id| renderer.organization.identity(id))
        .map(|identity| identity.display_name.clone())
        .unwrap_or_default();
    let title = item.fields.get(fields::TITLE).and_then(Value::as_str).unwrap_or_default();
    let label = format!("{} #{} ({title})", item.work_item_type(), item.id);
    match change {
        Change::Created => HookEvent {
            event_type: "workitem.created",
            text: format!("{label} created by {changed_by}"),
            resource: renderer.work_item(item, None, Expand::All),
            project_id,
        },
        Change::Updated { previous } => HookEvent {
            event_type: "workitem.updated",
            text: format!("{label} updated by {changed_by}"),
            resource: update_resource(renderer, item, previous, None),
            project_id,
        },
        Change::Commented { comment } => {
            let mut resource = renderer.work_item(item, None, Expand::All);
            resource["commentVersionRef"] = comment_version_ref(renderer, item, *comment);
            HookEvent {
                event_type: "workitem.commented",
                text: format!("{label} commented on by {changed_by}"),
                resource,
                project_id,
            }
        }
        Change::Deleted => HookEvent {
            event_type: "workitem.deleted",
            text: format!("{label} deleted by {changed_by}"),
            resource: renderer.work_item(item, None, Expand::All),
            project_id,
        },
        Change::CommentEdited { comment, previous } => HookEvent {
            event_type: "workitem.updated",
            text: format!("{label} updated by {changed_by}"),
            resource: update_resource(renderer, item, previous, Some(*comment)),
            project_id,
        },
    }
}

fn comment_version_ref(renderer: &Renderer<'_>, item: &WorkItem, comment: u32) -> Value {
    let stored = item.comments.iter().find(|stored| stored.id == comment);
    json!({
        "commentId": comment,
        "version": stored.map_or(1, |stored| stored.version),
        "createdInRevision": item.rev,
        "isDeleted": false,
        "text": stored.map(|stored| stored.text.clone()),
        "url": format!("{}/{comment}/versions/{}", renderer.comments_url(item), stored.map_or(1, |stored| stored.version)),
    })
}

/// `workitem.updated`'s resource: the update (`id` = update number) with old and new values, and the
/// revision it made.
fn update_resource(
    renderer: &Renderer<'_>,
    item: &WorkItem,
    previous: &BTreeMap<String, Value>,
    comment: Option<u32>,
) -> Value {
    let before = renderer.fields(previous, None);
    let after = renderer.fields(&item.fields, None);
    let mut changed = Map::new();
    for name in before.keys().chain(after.keys()) {
        let (old, new) = (before.get(name), after.get(name));
        if old != new && !changed.contains_key(name) {
            let mut pair = Map::new();
            if let Some(old) = old {
                pair.insert("oldValue".into(), old.clone());
            }
            if let Some(new) = new {
                pair.insert("newValue".into(), new.clone());
            }
            changed.insert(name.clone(), Value::Object(pair));
        }
    }
    let revised_by = item
        .fields
        .get(fields::CHANGED_BY)
        .and_then(Value::as_str)
        .and_then(|id| renderer.organization.identity(id))
        .map(|identity| {
            let mut reference = renderer.identity_ref(identity);
            reference["name"] = Value::from(identity.display_with_email());
            reference
        })
        .unwrap_or(Value::Null);
    let url = renderer.work_item_url(item.id);
    let mut revision = json!({
        "id": item.id,
        "rev": item.rev,
        "fields": after,
        "url": format!("{url}/revisions/{}", item.rev),
    });
    if let Some(comment) = comment {
        revision["commentVersionRef"] = comment_version_ref(renderer, item, comment);
    }
    json!({
        "id": item.rev,
        "workItemId": item.id,
        "rev": item.rev,
        "revisedBy": revised_by,
        "revisedDate": format_instant(item.changed),
        "fields": changed,
        "_links": {
            "self": {"href": format!("{url}/updates/{}", item.rev)},
            "workItemUpdates": {"href": format!("{url}/updates")},
            "parent": {"href": url},
        },
        "url": format!("{url}/updates/{}", item.rev),
        "revision": revision,
    })
}
