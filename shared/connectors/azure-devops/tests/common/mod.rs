//! Shared set-up for the tests that run the connector against the Azure DevOps simulator.

#![allow(dead_code)] // each test file uses a different part of this module

use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector, RetryPolicy};
use tandem_model::{Credentials, FieldMap, FieldValue, SecretString};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, RunningAzureDevops};
use tandem_simulators::recording::RecordedViolation;

pub const PROJECT: &str = "Fabrikam";

pub async fn simulator() -> RunningAzureDevops {
    AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("the simulator starts")
}

/// A connector for the simulator's `Fabrikam` project and `Bug` type, authenticating with `pat`.
pub fn connector_as(simulator: &RunningAzureDevops, pat: &str) -> AzureDevopsConnector {
    connector_for(simulator, PROJECT, "Bug", pat)
}

pub fn connector_for(
    simulator: &RunningAzureDevops,
    project: &str,
    work_item_type: &str,
    pat: &str,
) -> AzureDevopsConnector {
    let config = AzureDevopsConfig {
        organization_url: simulator.organization_url().to_string(),
        project: project.into(),
        work_item_type: work_item_type.into(),
        identities_url: None,
    }
    .validate()
    .expect("the simulator's URL is a valid organization URL");
    let credentials = Credentials::AzureDevopsPat { pat: SecretString::new(pat) };
    AzureDevopsConnector::new(config, &credentials, RetryPolicy::fast()).expect("the connector builds")
}

/// The connector as the integration's service account.
pub fn connector(simulator: &RunningAzureDevops) -> AzureDevopsConnector {
    connector_as(simulator, &simulator.service_account().pat)
}

pub fn fields(pairs: &[(&str, FieldValue)]) -> FieldMap {
    pairs.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
}

pub fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.to_string())
}

/// The description declares listing a work item's comments (`Comments_Get Comments`: no `ids`, paged by
/// `continuationToken`) only under `x-ms-paths`, which the contract check does not read yet; its `paths`
/// entry for the same URL is the batch read that requires `ids`. Exactly those findings are set aside.
fn is_comment_listing_gap(recorded: &RecordedViolation) -> bool {
    let request = &recorded.violation.request;
    recorded.phase == "request"
        && request.starts_with("GET ")
        && request.ends_with("/comments")
        && ["query.ids: required parameter is missing", "query.continuationToken: not a declared parameter"]
            .contains(&recorded.violation.message.as_str())
}

/// Every request the connector sent and every answer the simulator gave fit the vendor's contract.
pub fn assert_no_violations(simulator: &RunningAzureDevops) {
    let violations: Vec<_> =
        simulator.violations().into_iter().filter(|recorded| !is_comment_listing_gap(recorded)).collect();
    assert!(violations.is_empty(), "contract violations: {violations:#?}");
    assert!(!simulator.exchanges().is_empty(), "the test made no recorded API call");
}

/// Like [`assert_no_violations`], for tests that provoke refusals on purpose: the vendor's description
/// declares only successful answers, so an error status is the one departure tolerated, and nothing else.
pub fn assert_only_undeclared_error_statuses(simulator: &RunningAzureDevops) {
    let unexpected: Vec<_> = simulator
        .violations()
        .into_iter()
        .filter(|recorded| !is_comment_listing_gap(recorded))
        .filter(|recorded| {
            let undeclared_error = recorded.phase == "response"
                && recorded.status >= 400
                && recorded.violation.message
                    == format!("response status {} is not declared (declared: 200)", recorded.status);
            !undeclared_error
        })
        .collect();
    assert!(unexpected.is_empty(), "contract violations: {unexpected:#?}");
}
