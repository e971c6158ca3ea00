//! Every answer tandem gives a genuine sender either acknowledges the notice (2xx) or asks for a
//! retry that the sender's system makes, as its vendor documents it: any other answer loses the
//! notice or counts against the subscription (Azure DevOps disables a subscription that keeps
//! answering 404, 413 or 429).

use tandem_engine::ports::{StoreError, WebhookError};
use tandem_engine::{DeliveryOutcome, SyncError};
use tandem_lambda_runtime::{WebhookAnswer, MAX_WEBHOOK_BODY};
use tandem_model::Side;
use tandem_system_api::System;

/// What a genuine sender can be answered: every outcome of a verified delivery, and every notice
/// tandem does not act on.
fn answers_to_genuine_senders() -> Vec<(&'static str, WebhookAnswer)> {
    let delivered = |outcome: DeliveryOutcome| WebhookAnswer::delivered("ops", Ok(outcome));
    let unavailable = SyncError::Store(StoreError::Unavailable { message: "throttled".into(), source: None });
    vec![
        ("synced", delivered(DeliveryOutcome { synced: 1, ..DeliveryOutcome::default() })),
        ("a sync failed and was recorded", delivered(DeliveryOutcome { failed: 1, ..DeliveryOutcome::default() })),
        ("nothing in scope", delivered(DeliveryOutcome { out_of_scope: 1, ..DeliveryOutcome::default() })),
        ("a duplicate", delivered(DeliveryOutcome { duplicate: true, ..DeliveryOutcome::default() })),
        ("not recorded", WebhookAnswer::delivered("ops", Err(unavailable))),
        ("no active integration", WebhookAnswer::not_acted_on("ops", "no active integration named `ops`")),
        ("too large to read", WebhookAnswer::too_large("ops", MAX_WEBHOOK_BODY + 1)),
        ("unreadable", WebhookAnswer::refused("ops", Side::One, &WebhookError::Malformed("no issue".into()))),
        ("about nothing synced", WebhookAnswer::refused("ops", Side::Two, &WebhookError::Ignored("a sprint".into()))),
    ]
}

#[test]
fn every_answer_to_a_genuine_sender_acknowledges_or_asks_for_a_retry_its_system_makes() {
    for system in tandem_systems::all() {
        for (what, answer) in answers_to_genuine_senders() {
            let status = answer.status;
            assert!(
                (200..300).contains(&status) || system.sender_retries(status),
                "{}: {what} is answered {status}, which its sender neither counts as delivered nor retries",
                system.kind()
            );
        }
    }
}

fn system(slug: &str) -> &'static dyn System {
    *tandem_systems::all().iter().find(|system| system.kind().slug() == slug).expect("a registered system")
}

#[test]
fn each_sender_retries_what_its_vendor_documents() {
    // Atlassian: 408, 409, 425, 429 and 5xx are delivered again, up to five times.
    let jira = system("jira");
    assert!([408, 409, 425, 429, 500, 503].iter().all(|&status| jira.sender_retries(status)));
    assert!([400, 401, 404, 413].iter().all(|&status| !jira.sender_retries(status)));
    // Microsoft: only 408, 502, 503 and 504 are transient; a 429 or a 500 is an enduring failure.
    let ado = system("azure-devops");
    assert!([408, 502, 503, 504].iter().all(|&status| ado.sender_retries(status)));
    assert!([400, 401, 404, 413, 429, 500].iter().all(|&status| !ado.sender_retries(status)));
    // Salesforce: an Outbound Message is sent again until it is acknowledged, for 24 hours.
    let salesforce = system("salesforce");
    assert!([401, 404, 500, 503].iter().all(|&status| salesforce.sender_retries(status)));
    assert!(!salesforce.sender_retries(200));
}
