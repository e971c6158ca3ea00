//! Jira in the harness: the simulated site, and Alice working in it (ADF text, the workflow's statuses,
//! comments restricted to a role or a group, or internal).

use super::{Desk, Field, Simulated};
use anyhow::Result;
use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::json;
use std::sync::Arc;
use tandem_model::{FieldValue, ItemId, RichText, UserRef};
use tandem_simulators::jira::{RunningJira, SimUser};
use tandem_simulators::recording::{RecordedExchange, Recorder};
use tandem_simulators::webhooks::WebhookStats;
use tandem_simulators::Controls;

const PRIORITIES: [&str; 5] = ["Highest", "High", "Medium", "Low", "Lowest"];
const STATUSES: [&str; 3] = ["To Do", "In Progress", "Done"];

pub struct Jira<'a>(pub &'a RunningJira);

#[async_trait]
impl Simulated for Jira<'_> {
    fn name(&self) -> &'static str {
        "Jira"
    }

    fn controls(&self) -> Controls {
        self.0.controls()
    }

    fn recorder(&self) -> &Recorder {
        self.0.recorder()
    }

    fn notices(&self) -> WebhookStats {
        self.0.webhooks().stats()
    }

    async fn notices_settled(&self) {
        self.0.webhooks().settled().await;
    }

    fn service_account(&self) -> String {
        SimUser::service_account().account_id
    }

    fn person(&self) -> String {
        SimUser::alice().account_id
    }

    fn title_write(&self, exchange: &RecordedExchange) -> Option<(String, String)> {
        title_write(exchange)
    }

    fn version_in(&self, answer: &serde_json::Value) -> Option<String> {
        answer.pointer("/fields/updated").map(ToString::to_string)
    }

    fn desk(&self) -> Result<Arc<dyn Desk>> {
        let alice = SimUser::alice();
        Ok(Arc::new(JiraDesk {
            base_url: self.0.base_url().to_string(),
            email: alice.email,
            api_token: alice.api_token,
            http: reqwest::Client::new(),
        }))
    }
}

/// The issue and summary a recorded create or edit wrote.
pub fn title_write(exchange: &RecordedExchange) -> Option<(String, String)> {
    let title = exchange.request_body.as_ref()?.pointer("/fields/summary")?.as_str()?.to_string();
    let item = match exchange.method.as_str() {
        "POST" => exchange.response_body.as_ref()?.get("id")?.as_str()?.to_string(),
        _ => exchange.path.rsplit('/').next()?.to_string(),
    };
    Some((item, title))
}

/// Alice at a Jira site, with her own REST access for what tandem's connectors never send.
struct JiraDesk {
    base_url: String,
    email: String,
    api_token: String,
    http: reqwest::Client,
}

impl JiraDesk {
    async fn call(&self, method: reqwest::Method, path: &str, body: &serde_json::Value) -> Result<()> {
        let answer = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .basic_auth(&self.email, Some(&self.api_token))
            .json(body)
            .send()
            .await?;
        anyhow::ensure!(answer.status().is_success(), "Jira answered {} to {path}", answer.status());
        Ok(())
    }
}

#[async_trait]
impl Desk for JiraDesk {
    fn field(&self, field: Field) -> Option<&'static str> {
        Some(match field {
            Field::Title => "summary",
            Field::Priority => "priority",
            Field::Status => "status",
            Field::Assignee => "assignee",
            Field::Labels => "labels",
            Field::Description => "description",
        })
    }

    fn priority(&self, rng: &mut StdRng) -> FieldValue {
        FieldValue::Text(PRIORITIES.choose(rng).unwrap_or(&"Medium").to_string())
    }

    fn statuses(&self) -> &'static [&'static str] {
        &STATUSES
    }

    fn description(&self, word: &str, number: u64) -> FieldValue {
        FieldValue::RichText(RichText::Adf(json!({
            "version": 1, "type": "doc",
            "content": [
                { "type": "paragraph", "content": [
                    { "type": "text", "text": "Steps for " },
                    { "type": "text", "text": word, "marks": [{ "type": "strong" }] },
                    { "type": "text", "text": format!(" (event {number}), ask ") },
                    mention_of(number, self.unmapped_mention())
                ]},
                { "type": "bulletList", "content": [
                    { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "open the page" }] }] },
                    { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "watch it fail" }] }] }
                ]}
            ]
        })))
    }

    fn unmapped_mention(&self) -> Option<(String, String)> {
        Some(("712020:carol-jira-only".to_string(), "@Carol Jira-only".to_string()))
    }

    fn assignees(&self) -> Vec<UserRef> {
        [SimUser::alice(), SimUser::bob()]
            .into_iter()
            .map(|user| UserRef { id: user.account_id, email: Some(user.email), display_name: Some(user.display_name) })
            .collect()
    }

    fn elsewhere(&self) -> Vec<(&'static str, &'static str)> {
        vec![("OPS", "Task"), ("WEB", "Bug")]
    }

    async fn restricted_comment(&self, item: &ItemId, words: &str, seed: usize) -> Result<bool> {
        let mut body = json!({ "body": adf(words) });
        if let (Some(object), Some(extra)) = (body.as_object_mut(), restriction(seed).as_object()) {
            object.extend(extra.clone());
        }
        self.call(reqwest::Method::POST, &format!("/rest/api/3/issue/{item}/comment"), &body).await?;
        Ok(true)
    }

    async fn restrict_comment(&self, item: &ItemId, comment: &str, words: &str) -> Result<bool> {
        let body = json!({ "body": adf(words), "visibility": { "type": "group", "value": "jira-administrators" } });
        self.call(reqwest::Method::PUT, &format!("/rest/api/3/issue/{item}/comment/{comment}"), &body).await?;
        Ok(true)
    }
}

/// One of the ways Jira restricts a comment, picked by `seed`.
fn restriction(seed: usize) -> serde_json::Value {
    match seed % 3 {
        0 => json!({ "visibility": { "type": "role", "value": "Administrators" } }),
        1 => json!({ "visibility": { "type": "group", "value": "jira-administrators" } }),
        _ => json!({ "properties": [{ "key": "sd.public.comment", "value": { "internal": true } }] }),
    }
}

fn adf(words: &str) -> serde_json::Value {
    json!({
        "version": 1, "type": "doc",
        "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": words }] }]
    })
}

/// A mention in a description: Bob, whom Azure DevOps knows too, or someone only Jira knows (whose
/// mention travels as the name and must stay a mention in Jira).
fn mention_of(number: u64, unmapped: Option<(String, String)>) -> serde_json::Value {
    let bob = (SimUser::bob().account_id, "@Bob Example".to_string());
    let (id, text) = match (number % 2, unmapped) {
        (1, Some(unmapped)) => unmapped,
        _ => bob,
    };
    json!({ "type": "mention", "attrs": { "id": id, "text": text } })
}
