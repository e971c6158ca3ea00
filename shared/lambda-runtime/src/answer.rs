//! What a webhook sender is answered: the status that tells it whether to retry, and a small JSON
//! body for whoever reads the delivery log, or the answer in the system's own form when its receiver
//! has one (a SOAP acknowledgement). Shared by `tandem serve` and the webhook function.
//!
//! A genuine sender is answered 2xx, or 503 when the delivery could not be recorded (every system's
//! sender retries a 503: [`tandem_system_api::System::sender_retries`]). Any other 4xx would lose the
//! notice or count against the subscription: Azure DevOps puts a subscription that answers 404 or 413 on
//! probation and disables it. So a notice tandem will not act on (no active integration by that name,
//! a side it does not have, a body too large or unreadable) is acknowledged (202) and logged, and the
//! poller, whose watermark has not moved, catches up on the change. Only requests no genuine sender
//! makes are refused: an unverified delivery (401) and another method than POST (405).

use serde_json::{json, Value};
use tandem_engine::ports::{WebhookError, WebhookReply};
use tandem_engine::{DeliveryOutcome, SyncError};
use tandem_model::Side;
use tracing::{error, warn};

/// The largest body tandem reads: Lambda's limit for a synchronous invocation's request (6 MB). Azure
/// DevOps sends up to 2 MB; a larger body is acknowledged unread, and the poller brings the change.
pub const MAX_WEBHOOK_BODY: usize = 6 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAnswer {
    pub status: u16,
    /// tandem's own summary: sent as it is unless the system has its own form (`reply`).
    pub body: Value,
    pub reply: Option<WebhookReply>,
}

impl WebhookAnswer {
    fn json(status: u16, body: Value) -> WebhookAnswer {
        WebhookAnswer { status, body, reply: None }
    }

    /// A refusal with a reason the sender can read.
    pub fn problem(status: u16, message: impl Into<String>) -> WebhookAnswer {
        WebhookAnswer::json(status, json!({ "error": message.into() }))
    }

    /// The answer in the form the sender's system expects, when `reply` (the side's receiver's) has one
    /// for this status.
    pub fn replied_by(mut self, reply: impl FnOnce(u16) -> Option<WebhookReply>) -> WebhookAnswer {
        self.reply = reply(self.status);
        self
    }

    pub fn content_type(&self) -> &str {
        self.reply.as_ref().map_or("application/json", |reply| reply.content_type.as_str())
    }

    /// The body as sent.
    pub fn body_text(&self) -> String {
        self.reply.as_ref().map_or_else(|| self.body.to_string(), |reply| reply.body.clone())
    }

    /// A notice tandem will not act on, acknowledged so that its sender keeps the subscription, and
    /// logged for whoever set it up (a webhook registered before its integration was activated, or on
    /// a wrong URL). The change still arrives through the poller, if the integration syncs it.
    pub fn not_acted_on(integration: &str, reason: impl Into<String>) -> WebhookAnswer {
        let reason = reason.into();
        warn!(%integration, %reason, "notice acknowledged, not acted on; the poller catches up on what the integration syncs");
        WebhookAnswer::json(202, json!({ "ignored": reason }))
    }

    /// A body larger than tandem reads: acknowledged unread (see [`WebhookAnswer::not_acted_on`]).
    pub fn too_large(integration: &str, size: usize) -> WebhookAnswer {
        WebhookAnswer::not_acted_on(
            integration,
            format!("the body has {size} bytes, more than the {MAX_WEBHOOK_BODY} read; the item is polled instead"),
        )
    }

    /// A delivery the receiver did not accept: unverified (401, the reason only logged so a prober
    /// learns nothing), or verified but unreadable, or about something tandem does not sync (202: the
    /// sender cannot do better by sending it again, and the poller reads the item itself).
    pub fn refused(integration: &str, side: Side, refusal: &WebhookError) -> WebhookAnswer {
        match refusal {
            WebhookError::Unauthorized(reason) => {
                warn!(%integration, side = %side, %reason, "webhook rejected");
                WebhookAnswer::problem(401, "signature or credentials missing or wrong")
            }
            WebhookError::Malformed(reason) => {
                WebhookAnswer::not_acted_on(integration, format!("side {side}: the notice cannot be read: {reason}"))
            }
            WebhookError::Ignored(reason) => WebhookAnswer::json(202, json!({ "ignored": reason })),
        }
    }

    /// What the engine made of an authentic delivery. Sync failures are recorded for the poller and
    /// still answered 200; a delivery about nothing the integration syncs (another project or item type,
    /// restricted, too old) is answered 202; only a delivery that could not be recorded asks the sender
    /// to retry (503).
    pub fn delivered(integration: &str, outcome: Result<DeliveryOutcome, SyncError>) -> WebhookAnswer {
        match outcome {
            Ok(outcome) => WebhookAnswer::json(
                if outcome.nothing_in_scope() { 202 } else { 200 },
                json!({
                    "duplicate": outcome.duplicate,
                    "synced": outcome.synced,
                    "echoes": outcome.echoes,
                    "out_of_scope": outcome.out_of_scope,
                    "ignored": outcome.ignored,
                    "failed": outcome.failed,
                }),
            ),
            Err(problem) => {
                error!(%integration, error = %problem, "could not record the delivery");
                WebhookAnswer::problem(503, "temporarily unable to record the delivery")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_engine::ports::StoreError;

    #[test]
    fn a_system_with_its_own_form_is_answered_in_it_and_only_when_it_has_one() {
        let acknowledged = |status: u16| {
            (status == 200).then(|| WebhookReply { content_type: "text/xml".into(), body: "<Ack>true</Ack>".into() })
        };
        let delivered = WebhookAnswer::delivered("ops", Ok(DeliveryOutcome { synced: 1, ..Default::default() }))
            .replied_by(acknowledged);
        assert_eq!((delivered.content_type(), delivered.body_text().as_str()), ("text/xml", "<Ack>true</Ack>"));
        let unrecorded = WebhookAnswer::problem(503, "later").replied_by(acknowledged);
        assert_eq!(unrecorded.content_type(), "application/json");
        assert!(unrecorded.body_text().contains("later"), "no acknowledgement for what was not recorded");
    }

    #[test]
    fn refusals_map_to_what_the_sender_should_do() {
        let forged = WebhookAnswer::refused("ops", Side::One, &WebhookError::Unauthorized("bad hmac".into()));
        assert_eq!(forged.status, 401);
        assert!(!forged.body.to_string().contains("bad hmac"), "the reason is not told to the sender");
        assert_eq!(WebhookAnswer::refused("ops", Side::One, &WebhookError::Malformed("x".into())).status, 202);
        assert_eq!(WebhookAnswer::refused("ops", Side::Two, &WebhookError::Ignored("other".into())).status, 202);
    }

    #[test]
    fn only_an_unrecorded_delivery_asks_for_a_retry() {
        let failed = DeliveryOutcome { failed: 1, ..DeliveryOutcome::default() };
        let answer = WebhookAnswer::delivered("ops", Ok(failed));
        assert_eq!((answer.status, &answer.body["failed"]), (200, &json!(1)));
        let unavailable = SyncError::Store(StoreError::Unavailable { message: "down".into(), source: None });
        assert_eq!(WebhookAnswer::delivered("ops", Err(unavailable)).status, 503);
        assert_eq!(WebhookAnswer::too_large("ops", MAX_WEBHOOK_BODY + 1).status, 202);
    }
}
