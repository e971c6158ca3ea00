//! The systems the harness drives, one module each: how to set its faults and read what it recorded
//! ([`Simulated`]), and how a person works in it ([`Desk`]: which fields they change, with which values,
//! and the restricted comments only that system has). The rest of the harness names no system.

pub mod azure_devops;
pub mod jira;
pub mod salesforce;

use anyhow::{bail, Result};
use async_trait::async_trait;
use rand::rngs::StdRng;
use std::sync::Arc;
use tandem_cli::local::LocalEnvironment;
use tandem_model::{FieldValue, ItemId, Side, UserRef};
use tandem_simulators::recording::{RecordedExchange, Recorder, RecordingStats};
use tandem_simulators::webhooks::WebhookStats;
use tandem_simulators::Controls;

/// A field the harness's integrations map, as people change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Priority,
    Status,
    Assignee,
    Labels,
    Description,
}

/// A running simulator, as the harness steers and reads it.
#[async_trait]
pub trait Simulated: Send + Sync {
    fn name(&self) -> &'static str;
    /// Its fault plan and the service account's credentials.
    fn controls(&self) -> Controls;
    /// Its record of the API calls it answered.
    fn recorder(&self) -> &Recorder;
    /// Every API call answered, in order (the recorder's window).
    fn exchanges(&self) -> Vec<RecordedExchange> {
        self.recorder().exchanges()
    }
    /// Calls, writes and creations per caller.
    fn recording(&self) -> RecordingStats {
        self.recorder().stats()
    }
    /// The change notices the system sent (webhooks, service hooks, Outbound Messages).
    fn notices(&self) -> WebhookStats;
    /// Waits until no notice is being sent.
    async fn notices_settled(&self);
    /// The integration's service account, as the recorder names callers.
    fn service_account(&self) -> String;
    /// The person making changes (Alice), as the recorder names callers.
    fn person(&self) -> String;
    /// The item and title a recorded create or edit wrote, if it wrote a title.
    fn title_write(&self, exchange: &RecordedExchange) -> Option<(String, String)>;
    /// The item's version an answer shows, for item histories.
    fn version_in(&self, answer: &serde_json::Value) -> Option<String>;
    /// How the person works in this system.
    fn desk(&self) -> Result<Arc<dyn Desk>>;
}

/// How a person works in one system.
#[async_trait]
pub trait Desk: Send + Sync {
    /// The system's field behind a mapped field; `None` when the integration does not map it there.
    fn field(&self, field: Field) -> Option<&'static str>;
    /// A priority, as the system's field takes it.
    fn priority(&self, rng: &mut StdRng) -> FieldValue;
    /// The statuses people move items to here; empty where status only follows the other side.
    fn statuses(&self) -> &'static [&'static str];
    /// A description in the system's rich text, naming the event.
    fn description(&self, word: &str, number: u64) -> FieldValue;
    /// Someone descriptions here mention whom the other system does not know, as `(id, text)`: the
    /// mention travels there as its text and must still be a mention here after edits over there.
    fn unmapped_mention(&self) -> Option<(String, String)> {
        None
    }
    /// People items may be assigned to.
    fn assignees(&self) -> Vec<UserRef>;
    /// Places (project, item type) people also work in, which the integration leaves alone.
    fn elsewhere(&self) -> Vec<(&'static str, &'static str)>;
    /// Posts a comment only some people may read, restricted in one of the system's ways (picked by
    /// `seed`); `false` when the system has no restricted comments.
    async fn restricted_comment(&self, item: &ItemId, words: &str, seed: usize) -> Result<bool>;
    /// Restricts a public comment posted earlier; `false` when the system cannot.
    async fn restrict_comment(&self, item: &ItemId, comment: &str, words: &str) -> Result<bool>;
}

/// The simulator a local run started for `side`, as the harness drives it.
pub fn simulated(environment: &LocalEnvironment, side: Side) -> Result<Box<dyn Simulated + '_>> {
    if let Some(running) = environment.running(side) {
        return Ok(Box::new(jira::Jira(running)));
    }
    if let Some(running) = environment.running(side) {
        return Ok(Box::new(azure_devops::AzureDevops(running)));
    }
    if let Some(running) = environment.running(side) {
        return Ok(Box::new(salesforce::Salesforce(running)));
    }
    bail!("side {side} runs no simulator the harness knows")
}

/// Of recorded calls, those that change something (searches and sign-ins only read).
pub fn is_write(exchange: &RecordedExchange) -> bool {
    let path = exchange.path.as_str();
    exchange.method != "GET"
        && !path.contains("search")
        && !path.ends_with("wiql")
        && !path.ends_with("bulkfetch")
        && !path.ends_with("oauth2/token")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A call the service account `svc` made, answered 200.
    pub(crate) fn exchange(
        method: &str,
        path: &str,
        body: serde_json::Value,
        answer: Option<serde_json::Value>,
    ) -> RecordedExchange {
        RecordedExchange {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            content_type: None,
            request_body: Some(body),
            status: 200,
            response_body: answer,
            user: Some("svc".into()),
        }
    }
}
