//! Verifying and reading Jira's admin webhooks: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw
//! body>`, the delivery id in `X-Atlassian-Webhook-Identifier` (the same on Jira's retries).

use crate::convert::user_ref;
use crate::wire::WebhookEvent;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookRequest};
use tandem_model::{ChangeKind, ChangeNotice, CommentId, Delivery, ItemId, SecretString};

const SIGNATURE_HEADER: &str = "x-hub-signature";
const IDENTIFIER_HEADER: &str = "x-atlassian-webhook-identifier";

/// Receives the webhooks of one Jira project.
pub struct JiraWebhookReceiver {
    /// The current secret, then the one being rotated out (if any): a delivery signed with either is
    /// genuine, so the secret can change in Jira and in the store at different moments.
    secrets: Vec<SecretString>,
    project_key: String,
}

impl std::fmt::Debug for JiraWebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraWebhookReceiver").field("project_key", &self.project_key).finish_non_exhaustive()
    }
}

impl JiraWebhookReceiver {
    pub fn new(hmac_secret: SecretString, project_key: impl Into<String>) -> Self {
        JiraWebhookReceiver { secrets: vec![hmac_secret], project_key: project_key.into() }
    }

    /// Accepts deliveries signed with `previous` too (the secret being rotated out).
    pub fn also_accepting(mut self, previous: Option<SecretString>) -> Self {
        self.secrets.extend(previous);
        self
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        let header = request
            .header(SIGNATURE_HEADER)
            .ok_or_else(|| WebhookError::Unauthorized("the X-Hub-Signature header is missing".into()))?;
        let hex_digest = header
            .trim()
            .strip_prefix("sha256=")
            .ok_or_else(|| WebhookError::Unauthorized("X-Hub-Signature is not a sha256 signature".into()))?;
        let signature = hex::decode(hex_digest)
            .map_err(|_| WebhookError::Unauthorized("X-Hub-Signature is not hexadecimal".into()))?;
        let signed_with = |secret: &SecretString| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes a key of any length");
            mac.update(&request.body);
            // `verify_slice` compares in constant time.
            mac.verify_slice(&signature).is_ok()
        };
        match self.secrets.iter().any(signed_with) {
            true => Ok(()),
            false => Err(WebhookError::Unauthorized("X-Hub-Signature does not match the body".into())),
        }
    }
}

impl WebhookReceiver for JiraWebhookReceiver {
    fn receive(&self, request: &WebhookRequest) -> Result<Delivery, WebhookError> {
        self.verify(request)?;
        let event = read_event(&request.body)?;
        let issue = event
            .issue
            .as_ref()
            .ok_or_else(|| WebhookError::Malformed(format!("`{}` event without an issue", event.webhook_event)))?;

        let project = issue
            .fields
            .as_ref()
            .and_then(|fields| fields.project.as_ref())
            .and_then(|project| project.key.clone())
            .or_else(|| {
                issue.key.as_deref().and_then(|key| key.rsplit_once('-')).map(|(project, _)| project.to_string())
            })
            .ok_or_else(|| WebhookError::Malformed(format!("issue {} names no project", issue.id)))?;
        if !project.eq_ignore_ascii_case(&self.project_key) {
            return Err(WebhookError::Ignored(format!(
                "issue {} belongs to project {project}, not {}",
                issue.id, self.project_key
            )));
        }

        let comment_id =
            || {
                event.comment.as_ref().map(|comment| CommentId(comment.id.clone())).ok_or_else(|| {
                    WebhookError::Malformed(format!("`{}` event without a comment", event.webhook_event))
                })
            };
        let kind = match event.webhook_event.as_str() {
            "jira:issue_created" => ChangeKind::ItemCreated,
            "jira:issue_updated" => ChangeKind::ItemUpdated,
            "jira:issue_deleted" => ChangeKind::ItemDeleted,
            "comment_created" => ChangeKind::CommentCreated(comment_id()?),
            "comment_updated" => ChangeKind::CommentUpdated(comment_id()?),
            "comment_deleted" => ChangeKind::CommentDeleted(comment_id()?),
            other => return Err(WebhookError::Ignored(format!("event `{other}` is not synced"))),
        };
        // Comment events carry no `user`: the comment's last editor made the change.
        let actor = event.user.as_ref().or_else(|| {
            event.comment.as_ref().and_then(|comment| comment.update_author.as_ref().or(comment.author.as_ref()))
        });
        let notice = ChangeNotice {
            item: ItemId::new(issue.id.clone()),
            kind,
            actor: actor.map(user_ref),
            occurred_at: event.timestamp.and_then(|millis| Utc.timestamp_millis_opt(millis).single()),
        };
        // The delivery's id is the digest of the signed body, not the identifier header: the header is
        // not signed, so a replay of a captured body with a new identifier would pass as a new delivery.
        // Jira's own retries resend the same body, and two events never share one (each has its own
        // timestamp), so the digest tells repeats apart exactly.
        let id = format!("sha256:{}", hex::encode(Sha256::digest(&request.body)));
        if let Some(identifier) = request.header(IDENTIFIER_HEADER) {
            tracing::debug!(%identifier, delivery = %id, "Jira webhook received");
        }
        Ok(Delivery { id, notices: vec![notice] })
    }
}

/// Reads the body, naming the member that is missing or of the wrong type by its path
/// (`issue.fields.project.key: invalid type: …`): serde alone names neither the member nor its parent.
fn read_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let malformed =
        |error: &dyn std::fmt::Display| WebhookError::Malformed(format!("not a Jira webhook body: {error}"));
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let event = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| malformed(&error))?;
    deserializer.end().map_err(|error| malformed(&error))?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(secret: &str, body: &str, extra: &[(&str, &str)]) -> WebhookRequest {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let mut headers = vec![("x-hub-signature".to_string(), signature)];
        headers.extend(extra.iter().map(|(name, value)| (name.to_string(), value.to_string())));
        WebhookRequest::new(headers, body.as_bytes().to_vec())
    }

    fn receiver() -> JiraWebhookReceiver {
        JiraWebhookReceiver::new(SecretString::new("s3cret"), "OPS")
    }

    #[test]
    fn the_delivery_id_is_the_body_hash_whatever_the_identifier() {
        let body = r#"{"webhookEvent":"jira:issue_deleted","issue":{"id":"10000","key":"OPS-1"}}"#;
        let first = receiver().receive(&signed("s3cret", body, &[])).unwrap();
        let again =
            receiver().receive(&signed("s3cret", body, &[("x-atlassian-webhook-identifier", "replayed")])).unwrap();
        assert_eq!(first.id, again.id);
        assert!(first.id.starts_with("sha256:"));
        assert_eq!(first.notices[0].kind, ChangeKind::ItemDeleted);
    }

    #[test]
    fn during_a_rotation_the_previous_secret_signs_too() {
        let body = r#"{"webhookEvent":"jira:issue_deleted","issue":{"id":"10000","key":"OPS-1"}}"#;
        let rotating = receiver().also_accepting(Some(SecretString::new("old-secret")));
        for secret in ["s3cret", "old-secret"] {
            assert!(rotating.receive(&signed(secret, body, &[])).is_ok(), "{secret}");
        }
        assert!(matches!(rotating.receive(&signed("neither", body, &[])), Err(WebhookError::Unauthorized(_))));
    }

    #[test]
    fn a_signature_with_another_algorithm_or_bad_hex_is_refused() {
        let body = r#"{"webhookEvent":"jira:issue_created","issue":{"id":"1","key":"OPS-1"}}"#;
        for header in ["sha1=abcd", "sha256=zz"] {
            let request =
                WebhookRequest::new(vec![("X-Hub-Signature".into(), header.into())], body.as_bytes().to_vec());
            assert!(matches!(receiver().receive(&request), Err(WebhookError::Unauthorized(_))), "{header}");
        }
    }

    #[test]
    fn unknown_events_and_comment_events_without_comment_are_told_apart() {
        let ignored = r#"{"webhookEvent":"worklog_created","issue":{"id":"1","key":"OPS-1"}}"#;
        assert!(matches!(receiver().receive(&signed("s3cret", ignored, &[])), Err(WebhookError::Ignored(_))));
        let broken = r#"{"webhookEvent":"comment_created","issue":{"id":"1","key":"OPS-1"}}"#;
        assert!(matches!(receiver().receive(&signed("s3cret", broken, &[])), Err(WebhookError::Malformed(_))));
    }
}
