//! Azure DevOps in the harness: the simulated organization, and Alice working in it (HTML text,
//! numeric priorities; its comments cannot be restricted, and its State follows Jira's through tandem).

use super::{Desk, Field, Simulated};
use anyhow::Result;
use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::Rng;
use std::sync::Arc;
use tandem_model::{FieldValue, ItemId, RichText, UserRef};
use tandem_simulators::azure_devops::RunningAzureDevops;
use tandem_simulators::recording::{RecordedExchange, Recorder};
use tandem_simulators::webhooks::WebhookStats;
use tandem_simulators::Controls;

const ALICE: &str = "alice@fabrikam.example";
const PEOPLE: [&str; 2] = [ALICE, "bob@fabrikam.example"];

pub struct AzureDevops<'a>(pub &'a RunningAzureDevops);

#[async_trait]
impl Simulated for AzureDevops<'_> {
    fn name(&self) -> &'static str {
        "Azure DevOps"
    }

    fn controls(&self) -> Controls {
        self.0.controls()
    }

    fn recorder(&self) -> &Recorder {
        self.0.recorder()
    }

    fn notices(&self) -> WebhookStats {
        self.0.stats().webhooks
    }

    async fn notices_settled(&self) {
        self.0.hooks_settled().await;
    }

    fn service_account(&self) -> String {
        self.0.service_account().id.to_string()
    }

    fn person(&self) -> String {
        self.0.identity(ALICE).map(|identity| identity.id.to_string()).unwrap_or_default()
    }

    fn title_write(&self, exchange: &RecordedExchange) -> Option<(String, String)> {
        title_write(exchange)
    }

    fn version_in(&self, answer: &serde_json::Value) -> Option<String> {
        answer.pointer("/rev").map(ToString::to_string)
    }

    fn desk(&self) -> Result<Arc<dyn Desk>> {
        let assignees = PEOPLE
            .into_iter()
            .filter_map(|email| self.0.identity(email))
            .map(|identity| UserRef {
                id: identity.id.to_string(),
                email: Some(identity.email),
                display_name: Some(identity.display_name),
            })
            .collect();
        Ok(Arc::new(AzureDevopsDesk { assignees }))
    }
}

/// The work item and title a recorded create or edit (a JSON Patch) wrote.
pub fn title_write(exchange: &RecordedExchange) -> Option<(String, String)> {
    let title = exchange
        .request_body
        .as_ref()?
        .as_array()?
        .iter()
        .find(|operation| operation.get("path").and_then(|path| path.as_str()) == Some("/fields/System.Title"))?
        .get("value")?
        .as_str()?
        .to_string();
    let item = match exchange.method.as_str() {
        "POST" => exchange.response_body.as_ref()?.get("id")?.to_string(),
        _ => exchange.path.rsplit('/').next()?.to_string(),
    };
    Some((item, title))
}

struct AzureDevopsDesk {
    assignees: Vec<UserRef>,
}

#[async_trait]
impl Desk for AzureDevopsDesk {
    fn field(&self, field: Field) -> Option<&'static str> {
        Some(match field {
            Field::Title => "System.Title",
            Field::Priority => "Microsoft.VSTS.Common.Priority",
            Field::Status => "System.State",
            Field::Assignee => "System.AssignedTo",
            Field::Labels => "System.Tags",
            Field::Description => "System.Description",
        })
    }

    fn priority(&self, rng: &mut StdRng) -> FieldValue {
        FieldValue::Number(f64::from(rng.random_range(1..=4)))
    }

    /// Jira's workflow decides which moves are allowed; a State change Jira cannot make is a recorded,
    /// parked failure by design, not a sync defect, so people leave State to tandem.
    fn statuses(&self) -> &'static [&'static str] {
        &[]
    }

    fn description(&self, word: &str, number: u64) -> FieldValue {
        FieldValue::RichText(RichText::Html(format!(
            "<p>Steps for <b>{word}</b> (event {number})</p><ul><li>open the page</li><li>watch it fail</li></ul>"
        )))
    }

    fn assignees(&self) -> Vec<UserRef> {
        self.assignees.clone()
    }

    fn elsewhere(&self) -> Vec<(&'static str, &'static str)> {
        vec![("Fabrikam", "Task"), ("Contoso", "Bug")]
    }

    async fn restricted_comment(&self, _item: &ItemId, _words: &str, _seed: usize) -> Result<bool> {
        Ok(false)
    }

    async fn restrict_comment(&self, _item: &ItemId, _comment: &str, _words: &str) -> Result<bool> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::tests::exchange;
    use serde_json::json;

    #[test]
    fn a_create_names_the_new_work_item() {
        let create = exchange(
            "POST",
            "/fabrikam/Fabrikam/_apis/wit/workitems/$Bug",
            json!([{"op": "add", "path": "/fields/System.Title", "value": "New (event 2)"}]),
            Some(json!({"id": 7})),
        );
        assert_eq!(title_write(&create), Some(("7".into(), "New (event 2)".into())));
    }
}
