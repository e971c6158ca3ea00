//! What a webhook sender is answered: the status that tells it whether to retry, and a small JSON
//! body for whoever reads the delivery log. Shared by `tandem serve` and the webhook function.

use serde_json::{json, Value};
use tandem_engine::ports::WebhookError;
use tandem_engine::{DeliveryOutcome, SyncError};
use tandem_model::Side;
use tracing::{error, warn};

/// Webhook bodies above this are refused (413) before any parsing: real payloads are a few KB.
pub const MAX_WEBHOOK_BODY: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAnswer {
    pub status: u16,
    pub body: Value,
}

impl WebhookAnswer {
    /// A refusal with a reason the sender can read.
    pub fn problem(status: u16, message: impl Into<String>) -> WebhookAnswer {
        WebhookAnswer { status, body: json!({ "error": message.into() }) }
    }

    pub fn too_large(size: usize) -> WebhookAnswer {
        WebhookAnswer::problem(413, format!("the body has {size} bytes; at most {MAX_WEBHOOK_BODY} are accepted"))
    }

    /// A delivery the receiver did not accept: forged (401, the reason only logged so a prober learns
    /// nothing), unreadable (400), or about something tandem does not sync (202, nothing to retry).
    pub fn refused(integration: &str, side: Side, refusal: &WebhookError) -> WebhookAnswer {
        match refusal {
            WebhookError::Unauthorized(reason) => {
                warn!(%integration, side = %side, %reason, "webhook rejected");
                WebhookAnswer::problem(401, "signature or credentials missing or wrong")
            }
            WebhookError::Malformed(reason) => {
                warn!(%integration, side = %side, %reason, "malformed webhook");
                WebhookAnswer::problem(400, reason.clone())
            }
            WebhookError::Ignored(reason) => WebhookAnswer { status: 202, body: json!({ "ignored": reason }) },
        }
    }

    /// What the engine made of an authentic delivery. Sync failures are recorded for the poller and
    /// still answered 200; a delivery about nothing the integration syncs (another project or item type,
    /// restricted, too old) is answered 202; only a delivery that could not be recorded asks the sender
    /// to retry (503).
    pub fn delivered(integration: &str, outcome: Result<DeliveryOutcome, SyncError>) -> WebhookAnswer {
        match outcome {
            Ok(outcome) => WebhookAnswer {
                status: if outcome.nothing_in_scope() { 202 } else { 200 },
                body: json!({
                    "duplicate": outcome.duplicate,
                    "synced": outcome.synced,
                    "echoes": outcome.echoes,
                    "out_of_scope": outcome.out_of_scope,
                    "ignored": outcome.ignored,
                    "failed": outcome.failed,
                }),
            },
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
    fn refusals_map_to_what_the_sender_should_do() {
        let forged = WebhookAnswer::refused("ops", Side::One, &WebhookError::Unauthorized("bad hmac".into()));
        assert_eq!(forged.status, 401);
        assert!(!forged.body.to_string().contains("bad hmac"), "the reason is not told to the sender");
        assert_eq!(WebhookAnswer::refused("ops", Side::One, &WebhookError::Malformed("x".into())).status, 400);
        assert_eq!(WebhookAnswer::refused("ops", Side::Two, &WebhookError::Ignored("other".into())).status, 202);
    }

    #[test]
    fn only_an_unrecorded_delivery_asks_for_a_retry() {
        let failed = DeliveryOutcome { failed: 1, ..DeliveryOutcome::default() };
        let answer = WebhookAnswer::delivered("ops", Ok(failed));
        assert_eq!((answer.status, &answer.body["failed"]), (200, &json!(1)));
        let unavailable = SyncError::Store(StoreError::Unavailable { message: "down".into(), source: None });
        assert_eq!(WebhookAnswer::delivered("ops", Err(unavailable)).status, 503);
        assert_eq!(WebhookAnswer::too_large(MAX_WEBHOOK_BODY + 1).status, 413);
    }
}
