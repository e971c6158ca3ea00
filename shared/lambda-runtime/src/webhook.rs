//! One webhook delivery, start to answer: size limit, integration and side, verification, then the
//! engine (which records the delivery before syncing and leaves what the deadline cuts short to the
//! poller).

use crate::answer::{WebhookAnswer, MAX_WEBHOOK_BODY};
use crate::runtime::{Runtime, Unserved};
use tandem_engine::ports::WebhookRequest;
use tandem_mapping::IntegrationConfig;
use tandem_model::Side;
use tokio::time::Instant;
use tracing::error;

/// Handles `POST /hooks/{integration}/{system_or_side}`. `system_or_side` is `1`/`2` or the side's
/// system (`jira`, `azure-devops`); `request` is as received, `deadline` is when the sender must
/// have its answer.
pub async fn handle_webhook(
    runtime: &Runtime,
    integration: &str,
    system_or_side: &str,
    request: WebhookRequest,
    deadline: Instant,
) -> WebhookAnswer {
    if request.body.len() > MAX_WEBHOOK_BODY {
        return WebhookAnswer::too_large(integration, request.body.len());
    }
    // Anyone can send any URL: a name no integration can have is answered before it costs a store call.
    if !tandem_mapping::is_integration_name(integration) {
        return WebhookAnswer::not_acted_on(integration, "no active integration has this name");
    }
    let served = match runtime.integration(integration).await {
        Ok(Ok(served)) => served,
        Ok(Err(Unserved::Unknown | Unserved::Inactive)) => {
            // One answer for both: a sender learns nothing about which integrations exist. A webhook
            // registered before activation keeps its subscription; the first polls catch up.
            return WebhookAnswer::not_acted_on(integration, format!("no active integration named `{integration}`"));
        }
        Err(problem) => {
            error!(%integration, error = %problem, retryable = problem.is_retryable(), "integration unavailable");
            // 503: the sender may retry, and the poller catches up on the change once the integration
            // can be served (its watermark has not moved).
            return WebhookAnswer::problem(503, "unable to accept deliveries for this integration now");
        }
    };
    let side = match side_named(served.config(), system_or_side) {
        Ok(side) => side,
        Err(message) => return WebhookAnswer::not_acted_on(integration, message),
    };
    let receiver = served.receiver(side);
    let answer = match receiver.receive(&request).await {
        Ok(delivery) => WebhookAnswer::delivered(
            integration,
            served.engine.receive_delivery_until(side, &delivery, Some(deadline)).await,
        ),
        Err(refusal) => WebhookAnswer::refused(integration, side, &refusal),
    };
    answer.replied_by(|status| receiver.reply(status))
}

/// The side a webhook path segment names: `1`, `2`, or the system of exactly one side.
pub fn side_named(config: &IntegrationConfig, segment: &str) -> Result<Side, String> {
    match segment {
        "1" => return Ok(Side::One),
        "2" => return Ok(Side::Two),
        _ => {}
    }
    let matching: Vec<Side> =
        Side::BOTH.into_iter().filter(|side| config.side(*side).system.slug() == segment).collect();
    match matching.as_slice() {
        [side] => Ok(*side),
        [] => Err(format!(
            "integration `{}` has no side `{segment}`: use 1, 2, {} or {}",
            config.name,
            config.side(Side::One).system.slug(),
            config.side(Side::Two).system.slug()
        )),
        _ => Err(format!("both sides of integration `{}` are {segment}: use 1 or 2", config.name)),
    }
}
