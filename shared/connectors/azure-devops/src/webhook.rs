//! Service hook deliveries (Web Hooks consumer): Basic credentials check, then `workitem.*` parsing.
//!
//! Azure DevOps signs nothing; the subscription sends the Basic credentials it was configured with, which
//! are compared in constant time.

use base64::Engine;
use serde_json::Value;
use subtle::ConstantTimeEq;
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_model::{ChangeKind, ChangeNotice, CommentId, Delivery, ItemId, SecretString, UserRef};

use crate::convert::{self, CHANGED_BY, TEAM_PROJECT};
use crate::wire;

/// Verifies and parses the deliveries of one project's service hook subscriptions.
pub struct AzureDevopsWebhookReceiver {
    username: String,
    /// The current password, then the one being rotated out (if any): either is genuine, so the
    /// password can change in the subscriptions and in the store at different moments.
    passwords: Vec<SecretString>,
    project: String,
}

impl std::fmt::Debug for AzureDevopsWebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureDevopsWebhookReceiver")
            .field("username", &self.username)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl AzureDevopsWebhookReceiver {
    pub fn new(
        expected_username: impl Into<String>,
        expected_password: SecretString,
        project: impl Into<String>,
    ) -> Self {
        AzureDevopsWebhookReceiver {
            username: expected_username.into(),
            passwords: vec![expected_password],
            project: project.into(),
        }
    }

    /// Accepts deliveries authenticated with `previous` too (the password being rotated out).
    pub fn also_accepting(mut self, previous: Option<SecretString>) -> Self {
        self.passwords.extend(previous);
        self
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        let header = request
            .header("authorization")
            .ok_or_else(|| WebhookError::Unauthorized("no Authorization header".into()))?;
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(|| WebhookError::Unauthorized("Authorization is not Basic".into()))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| WebhookError::Unauthorized("Basic credentials are not base64".into()))?;
        // Comparing the whole `user:password` at once keeps the timing independent of which part differs.
        let given = |password: &SecretString| {
            let expected = format!("{}:{}", self.username, password.expose());
            bool::from(decoded.as_slice().ct_eq(expected.as_bytes()))
        };
        if self.passwords.iter().any(given) {
            Ok(())
        } else {
            Err(WebhookError::Unauthorized("wrong Basic credentials".into()))
        }
    }
}

impl WebhookReceiver for AzureDevopsWebhookReceiver {
    fn receive(&self, request: &WebhookRequest) -> Result<Delivery, WebhookError> {
        self.verify(request)?;
        let event = read_event(&request.body)?;
        let delivery_id = format!("{}:{}", event.subscription_id, event.notification_id);
        let notice = match event.event_type.as_str() {
            "workitem.updated" => {
                let update: wire::WorkItemUpdate = parse_resource(&event)?;
                let revision_fields = update.revision.as_ref().map(|revision| &revision.fields);
                self.require_project(
                    revision_fields.and_then(|fields| fields.get(TEAM_PROJECT)),
                    "resource.revision.fields",
                )?;
                let actor = update
                    .revised_by
                    .as_ref()
                    .and_then(convert::user_from_identity_ref)
                    .or_else(|| revision_fields.and_then(changed_by));
                ChangeNotice {
                    item: ItemId::new(update.work_item_id.to_string()),
                    kind: ChangeKind::ItemUpdated,
                    actor,
                    occurred_at: update
                        .revised_date
                        .as_deref()
                        .and_then(convert::parse_instant)
                        .filter(|at| at.timestamp() > 0),
                }
            }
            event_type @ ("workitem.created" | "workitem.deleted" | "workitem.restored" | "workitem.commented") => {
                let work_item: wire::WorkItem = parse_resource(&event)?;
                self.require_project(work_item.fields.get(TEAM_PROJECT), "resource.fields")?;
                let kind = match (event_type, &work_item.comment_version_ref) {
                    ("workitem.created", _) => ChangeKind::ItemCreated,
                    ("workitem.deleted", _) => ChangeKind::ItemDeleted,
                    ("workitem.commented", Some(reference)) => {
                        let id = CommentId(reference.comment_id.to_string());
                        if reference.version.unwrap_or(1) > 1 {
                            ChangeKind::CommentUpdated(id)
                        } else {
                            ChangeKind::CommentCreated(id)
                        }
                    }
                    // Without the comment's id, the engine re-reads the item and its comments.
                    _ => ChangeKind::ItemUpdated,
                };
                ChangeNotice {
                    item: ItemId::new(work_item.id.to_string()),
                    kind,
                    actor: changed_by(&work_item.fields),
                    occurred_at: work_item
                        .fields
                        .get(convert::CHANGED_DATE)
                        .and_then(Value::as_str)
                        .and_then(convert::parse_instant),
                }
            }
            other => return Err(WebhookError::Ignored(format!("event type `{other}` is not synced"))),
        };
        Ok(Delivery { id: delivery_id, notices: vec![notice] })
    }
}

impl AzureDevopsWebhookReceiver {
    /// `fields` says where the project was looked for, for the error.
    fn require_project(&self, project: Option<&Value>, fields: &str) -> Result<(), WebhookError> {
        match project.and_then(Value::as_str) {
            Some(project) if project.eq_ignore_ascii_case(&self.project) => Ok(()),
            Some(other) => {
                Err(WebhookError::Ignored(format!("work item of project `{other}`, not `{}`", self.project)))
            }
            None => Err(WebhookError::Malformed(format!(
                "the work item names no project: `{fields}` has no text `{TEAM_PROJECT}`"
            ))),
        }
    }
}

/// Reads the body, naming the member that is missing or of the wrong type by its path
/// (`notificationId: invalid type: …`): serde alone names neither the member nor its parent.
fn read_event(body: &[u8]) -> Result<wire::ServiceHookEvent, WebhookError> {
    let malformed =
        |error: &dyn std::fmt::Display| WebhookError::Malformed(format!("not a service hook event: {error}"));
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let event = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| malformed(&error))?;
    deserializer.end().map_err(|error| malformed(&error))?;
    Ok(event)
}

/// Reads the event's `resource`, naming a bad member by its whole path (`resource.revision.id`).
fn parse_resource<T: serde::de::DeserializeOwned>(event: &wire::ServiceHookEvent) -> Result<T, WebhookError> {
    serde_path_to_error::deserialize(&event.resource).map_err(|error| {
        let path = error.path().to_string();
        let member = if path == "." { "resource".to_string() } else { format!("resource.{path}") };
        WebhookError::Malformed(format!("`{}` resource is unreadable: {member}: {}", event.event_type, error.inner()))
    })
}

fn changed_by(fields: &std::collections::BTreeMap<String, Value>) -> Option<UserRef> {
    match convert::field_value(CHANGED_BY, fields.get(CHANGED_BY)?) {
        tandem_model::FieldValue::User(user) => Some(user),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn receiver() -> AzureDevopsWebhookReceiver {
        AzureDevopsWebhookReceiver::new("tandem", SecretString::new("hook-secret"), "Fabrikam")
    }

    fn request(credentials: Option<&str>, body: Value) -> WebhookRequest {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(credentials) = credentials {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            headers.push(("authorization".to_string(), format!("Basic {encoded}")));
        }
        WebhookRequest::new(headers, serde_json::to_vec(&body).unwrap())
    }

    /// The documented `workitem.updated` sample's shape (its zone-less `revisedDate` included).
    fn updated(project: &str) -> Value {
        json!({
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "notificationId": 5,
            "id": "27646e0e-b520-4d2b-9411-bba7524947cd",
            "eventType": "workitem.updated",
            "publisherId": "tfs",
            "resource": {
                "id": 2, "workItemId": 5, "rev": 2,
                "revisedBy": {"id": "e5a5f7f8", "name": "Jamal Hartnett <fabrikamfiber4@hotmail.com>", "displayName": "Jamal Hartnett", "uniqueName": "fabrikamfiber4@hotmail.com"},
                "revisedDate": "0001-01-01T00:00:00",
                "fields": {"System.State": {"oldValue": "New", "newValue": "Approved"}},
                "revision": {"id": 5, "rev": 2, "fields": {"System.TeamProject": project, "System.State": "Approved"}}
            }
        })
    }

    #[test]
    fn an_authentic_update_becomes_a_notice_with_the_reviser() {
        let delivery = receiver().receive(&request(Some("tandem:hook-secret"), updated("Fabrikam"))).unwrap();
        assert_eq!(delivery.id, "00000000-0000-0000-0000-000000000000:5");
        let notice = &delivery.notices[0];
        assert_eq!(notice.item, ItemId::new("5"));
        assert_eq!(notice.kind, ChangeKind::ItemUpdated);
        assert_eq!(notice.actor.as_ref().and_then(|user| user.email.as_deref()), Some("fabrikamfiber4@hotmail.com"));
        assert_eq!(notice.occurred_at, None);
    }

    #[test]
    fn during_a_rotation_the_previous_password_is_accepted_too() {
        let rotating = receiver().also_accepting(Some(SecretString::new("old-secret")));
        for credentials in ["tandem:hook-secret", "tandem:old-secret"] {
            assert!(rotating.receive(&request(Some(credentials), updated("Fabrikam"))).is_ok(), "{credentials}");
        }
        let refused = rotating.receive(&request(Some("tandem:neither"), updated("Fabrikam"))).unwrap_err();
        assert!(matches!(refused, WebhookError::Unauthorized(_)));
        let after = receiver().also_accepting(None);
        assert!(after.receive(&request(Some("tandem:old-secret"), updated("Fabrikam"))).is_err(), "retired");
    }

    #[test]
    fn wrong_or_missing_credentials_are_unauthorized() {
        for credentials in [Some("tandem:wrong"), Some("other:hook-secret"), Some("tandem:hook-secret-longer"), None] {
            let refused = receiver().receive(&request(credentials, updated("Fabrikam"))).unwrap_err();
            assert!(matches!(refused, WebhookError::Unauthorized(_)), "{credentials:?}: {refused}");
        }
        let bearer = WebhookRequest::new(vec![("authorization".into(), "Bearer x".into())], vec![]);
        assert!(matches!(receiver().receive(&bearer), Err(WebhookError::Unauthorized(_))));
    }

    #[test]
    fn other_projects_and_event_types_are_ignored_and_garbage_is_malformed() {
        let other = receiver().receive(&request(Some("tandem:hook-secret"), updated("Contoso"))).unwrap_err();
        assert!(matches!(other, WebhookError::Ignored(_)), "{other}");
        let mut build = updated("Fabrikam");
        build["eventType"] = json!("build.complete");
        assert!(matches!(
            receiver().receive(&request(Some("tandem:hook-secret"), build)),
            Err(WebhookError::Ignored(_))
        ));
        let garbage = WebhookRequest { body: b"{not json".to_vec(), ..request(Some("tandem:hook-secret"), json!({})) };
        assert!(matches!(receiver().receive(&garbage), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn a_comment_notice_names_the_comment_when_the_event_does() {
        let body = json!({
            "subscriptionId": "s", "notificationId": 1, "eventType": "workitem.commented",
            "resource": {"id": 9, "rev": 3, "fields": {"System.TeamProject": "Fabrikam", "System.ChangedDate": "2024-01-31T10:20:30.123Z"},
                         "commentVersionRef": {"commentId": 41, "version": 1}}
        });
        let delivery = receiver().receive(&request(Some("tandem:hook-secret"), body)).unwrap();
        assert_eq!(delivery.notices[0].kind, ChangeKind::CommentCreated(CommentId("41".into())));
        assert!(delivery.notices[0].occurred_at.is_some());
    }
}
