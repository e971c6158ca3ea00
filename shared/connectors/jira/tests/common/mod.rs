//! Shared set-up of the integration tests: a Jira simulator, connectors and "people" talking to it.
#![allow(dead_code)] // each test file uses its own part of this module

use serde_json::{json, Value};
use tandem_jira::{JiraClient, JiraConfig, JiraConnector, RetryPolicy};
use tandem_model::{Credentials, FieldMap, FieldValue, RichText, SecretString};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimUser};

pub async fn simulator() -> RunningJira {
    simulator_with(JiraSimConfig::default()).await
}

pub async fn simulator_with(config: JiraSimConfig) -> RunningJira {
    JiraSimulator::start(config).await.expect("the Jira simulator starts")
}

pub fn credentials(user: &SimUser) -> Credentials {
    Credentials::JiraApiToken { email: user.email.clone(), api_token: SecretString::new(user.api_token.clone()) }
}

/// The connector for project OPS, issue type Bug, as `user`.
pub fn connector_as(sim: &RunningJira, user: &SimUser) -> JiraConnector {
    let config =
        JiraConfig { base_url: sim.base_url().to_string(), project_key: "OPS".into(), issue_type: "Bug".into() }
            .validate()
            .expect("the test configuration is valid");
    JiraConnector::new(config, &credentials(user), RetryPolicy::fast()).expect("the connector builds")
}

pub fn connector(sim: &RunningJira) -> JiraConnector {
    connector_as(sim, &SimUser::service_account())
}

/// A person using Jira through its REST API (what a browser does on their behalf).
pub fn person(sim: &RunningJira, user: &SimUser) -> JiraClient {
    JiraClient::new(sim.base_url(), &user.email, &SecretString::new(user.api_token.clone()), RetryPolicy::fast())
        .expect("the client builds")
}

pub fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

pub fn fields(entries: &[(&str, FieldValue)]) -> FieldMap {
    entries.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
}

pub fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.to_string())
}

pub fn rich(value: &str) -> RichText {
    RichText::Adf(adf(value))
}

/// A false positive of the contract check, not a departure from Jira's contract: HTTP forbids a body on
/// 204 (RFC 9110 §15.3.5), yet the checker wants one when the description lists a schema under "204"
/// (`editIssue`, `doTransition`). Remove once `tandem-contract-check` exempts 204.
const BODYLESS_204: &str = "response 204 has no body";

/// Every request the tests sent and every answer the simulator gave matched Atlassian's OpenAPI file.
pub fn assert_no_violations(sim: &RunningJira) {
    let violations: Vec<_> =
        sim.violations().into_iter().filter(|found| !found.violation.message.starts_with(BODYLESS_204)).collect();
    assert!(violations.is_empty(), "contract violations: {violations:#?}");
    assert!(sim.stats().requests > 0, "the simulator recorded no traffic at all");
}
