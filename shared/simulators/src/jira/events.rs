//! Jira's webhooks: the event bodies (REST v2 representations, as Jira Cloud sends them) and the headers of
//! an admin webhook with a secret.

use super::render::{self, ApiVersion, FieldSelection};
use super::site::{CommentRecord, Site, SiteEvent, Timestamp};
use crate::webhooks::{hmac_sha256_hex, WebhookSubscription};
use serde_json::{json, Value};

/// The body Jira posts for this change, made by `actor` at `at`; `None` when the issue is gone.
pub fn webhook_body(site: &Site, event: &SiteEvent, actor: &str, at: Timestamp) -> Option<Value> {
    let timestamp = at.timestamp_millis();
    let user = site.user(actor).map(|user| render::user_json(&site.base_url, user, ApiVersion::V2));
    match event {
        SiteEvent::IssueCreated { issue } => {
            let issue = site.issues.get(issue)?;
            Some(json!({
                "timestamp": timestamp,
                "webhookEvent": "jira:issue_created",
                "issue_event_type_name": "issue_created",
                "user": user,
                "issue": render::issue_json(site, issue, &FieldSelection::all(), ApiVersion::V2, None),
            }))
        }
        SiteEvent::IssueUpdated { issue, changelog_id, items, transition } => {
            let issue = site.issues.get(issue)?;
            let changed: Vec<Value> = items.iter().map(render::change_item_json).collect();
            let type_name = if *transition {
                "issue_generic"
            } else if items.iter().all(|item| item.field == "assignee") {
                "issue_assigned"
            } else {
                "issue_updated"
            };
            Some(json!({
                "timestamp": timestamp,
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": type_name,
                "user": user,
                "issue": render::issue_json(site, issue, &FieldSelection::all(), ApiVersion::V2, None),
                "changelog": { "id": changelog_id.to_string(), "items": changed },
            }))
        }
        SiteEvent::CommentCreated { issue, comment } => {
            let comment = site.comment(*issue, &comment.to_string()).ok()?;
            comment_event(site, *issue, comment, "comment_created", timestamp)
        }
        SiteEvent::CommentUpdated { issue, comment } => {
            let comment = site.comment(*issue, &comment.to_string()).ok()?;
            comment_event(site, *issue, comment, "comment_updated", timestamp)
        }
        SiteEvent::CommentDeleted { issue, comment } => {
            comment_event(site, *issue, comment, "comment_deleted", timestamp)
        }
        SiteEvent::IssueDeleted { issue } => Some(json!({
            "timestamp": timestamp,
            "webhookEvent": "jira:issue_deleted",
            "issue_event_type_name": "issue_deleted",
            "user": user,
            "issue": render::issue_json(site, issue, &FieldSelection::all(), ApiVersion::V2, None),
        })),
    }
}

/// Jira's comment events carry the comment (with its authors) and a summary of the issue, no `user`.
fn comment_event(site: &Site, issue: u64, comment: &CommentRecord, name: &str, timestamp: i64) -> Option<Value> {
    let record = site.issues.get(&issue)?;
    let summary = FieldSelection::parse(["summary,status,priority,assignee,issuetype,project"], FieldSelection::none());
    Some(json!({
        "timestamp": timestamp,
        "webhookEvent": name,
        "comment": render::comment_json(site, record, comment, ApiVersion::V2, false),
        "issue": render::issue_json(site, record, &summary, ApiVersion::V2, None),
    }))
}

/// An admin webhook: signed with `X-Hub-Signature` when it has a secret, identified by
/// `X-Atlassian-Webhook-Identifier` (the same on retries), retries counted in `X-Atlassian-Webhook-Retry`.
pub fn subscription(url: &str, secret: Option<String>) -> WebhookSubscription {
    WebhookSubscription::new(url, move |attempt| {
        let mut headers = vec![("X-Atlassian-Webhook-Identifier".to_string(), attempt.delivery_id.to_string())];
        if attempt.retry > 0 {
            headers.push(("X-Atlassian-Webhook-Retry".to_string(), attempt.retry.to_string()));
        }
        if let Some(secret) = &secret {
            headers.push((
                "X-Hub-Signature".to_string(),
                format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), attempt.body)),
            ));
        }
        headers
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::{SimProject, SimUser};
    use crate::webhooks::DeliveryAttempt;

    #[test]
    fn an_update_event_carries_the_v2_issue_and_the_changelog() {
        let users = vec![SimUser::service_account(), SimUser::alice()];
        let mut site = Site::new(
            "http://jira.test".into(),
            vec![SimProject::new("10000", "OPS", "Operations")],
            users,
            |_| Ok(()),
        );
        let alice = SimUser::alice().account_id;
        let description = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Steps"}]}]});
        let create = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "Broken", "description": description}});
        let (id, _) = site.create_issue(&alice, &create).unwrap();
        let events = site.transition(&alice, &id.to_string(), &json!({"transition": {"id": "11"}})).unwrap();
        let [event] = events.as_slice() else { panic!("one event expected: {events:?}") };
        let at = site.tick();
        let body = webhook_body(&site, event, &alice, at).unwrap();

        assert_eq!(body["webhookEvent"], "jira:issue_updated");
        assert_eq!(body["issue_event_type_name"], "issue_generic");
        assert_eq!(body["user"]["accountId"], alice.as_str());
        assert_eq!(body["issue"]["self"], format!("http://jira.test/rest/api/2/issue/{id}"));
        assert_eq!(body["issue"]["fields"]["description"], "Steps");
        assert_eq!(body["changelog"]["items"][0]["toString"], "In Progress");
        assert_eq!(body["timestamp"], at.timestamp_millis());
    }

    #[test]
    fn headers_sign_the_body_and_keep_the_identifier() {
        let subscription = subscription("http://receiver.test", Some("s3cret".into()));
        let first = (subscription.headers)(&DeliveryAttempt { delivery_id: "d-1", body: b"{}", retry: 0 });
        let retry = (subscription.headers)(&DeliveryAttempt { delivery_id: "d-1", body: b"{}", retry: 2 });
        let get = |headers: &[(String, String)], name: &str| {
            headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
        };
        assert_eq!(get(&first, "X-Hub-Signature"), Some(format!("sha256={}", hmac_sha256_hex(b"s3cret", b"{}"))));
        assert_eq!(get(&first, "X-Atlassian-Webhook-Retry"), None);
        assert_eq!(get(&retry, "X-Atlassian-Webhook-Identifier").as_deref(), Some("d-1"));
        assert_eq!(get(&retry, "X-Atlassian-Webhook-Retry").as_deref(), Some("2"));
    }
}
