//! Salesforce in the harness: the simulated org, and Alice working in it as a support agent (plain-text
//! Cases, picklist priorities, Case owners; her comments are published for customers to see, and her
//! private ones are Case comments left unpublished).

use super::{Desk, Field, Simulated};
use anyhow::{Context, Result};
use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::json;
use std::sync::Arc;
use tandem_model::{FieldValue, ItemId, RichText, UserRef};
use tandem_simulators::recording::{RecordedExchange, Recorder};
use tandem_simulators::salesforce::{RunningSalesforce, SalesforceUser, API_VERSION};
use tandem_simulators::webhooks::WebhookStats;
use tandem_simulators::Controls;

const PRIORITIES: [&str; 3] = ["High", "Medium", "Low"];

pub struct Salesforce<'a>(pub &'a RunningSalesforce);

impl Salesforce<'_> {
    fn user_id(&self, user: &SalesforceUser) -> String {
        self.0.user_id(&user.email).unwrap_or_default()
    }
}

#[async_trait]
impl Simulated for Salesforce<'_> {
    fn name(&self) -> &'static str {
        "Salesforce"
    }

    fn controls(&self) -> Controls {
        self.0.controls()
    }

    fn recorder(&self) -> &Recorder {
        self.0.recorder()
    }

    fn notices(&self) -> WebhookStats {
        let outbound = self.0.outbound_stats();
        WebhookStats {
            sent: outbound.acknowledged,
            failed: outbound.given_up,
            dropped: outbound.dropped,
            retries: outbound.retries,
            in_flight: outbound.in_flight,
        }
    }

    async fn notices_settled(&self) {
        self.0.outbound_settled().await;
    }

    fn service_account(&self) -> String {
        self.user_id(&SalesforceUser::integration())
    }

    fn person(&self) -> String {
        self.user_id(&SalesforceUser::alice())
    }

    fn title_write(&self, exchange: &RecordedExchange) -> Option<(String, String)> {
        title_write(exchange)
    }

    fn version_in(&self, answer: &serde_json::Value) -> Option<String> {
        answer.pointer("/records/0/SystemModstamp").map(ToString::to_string)
    }

    fn desk(&self) -> Result<Arc<dyn Desk>> {
        let alice = SalesforceUser::alice();
        let session = self.0.open_session(&alice.email).context("the simulated org has Alice")?;
        let assignees = [SalesforceUser::alice(), SalesforceUser::bob()]
            .into_iter()
            .map(|user| UserRef {
                id: self.user_id(&user),
                display_name: Some(format!("{} {}", user.first_name, user.last_name)),
                email: Some(user.email),
            })
            .collect();
        Ok(Arc::new(SalesforceDesk {
            api: format!("{}/services/data/v{API_VERSION}", self.0.base_url()),
            session,
            assignees,
            http: reqwest::Client::new(),
        }))
    }
}

/// The Case and Subject a recorded create, upsert or update wrote.
pub fn title_write(exchange: &RecordedExchange) -> Option<(String, String)> {
    if !exchange.path.contains("/sobjects/Case") || exchange.path.contains("/sobjects/CaseComment") {
        return None;
    }
    let title = exchange.request_body.as_ref()?.get("Subject")?.as_str()?.to_string();
    // A create and an upsert answer with the record's id; an update by id is named by its path.
    let answered = exchange.response_body.as_ref().and_then(|answer| answer.get("id")?.as_str().map(str::to_string));
    let item = answered.or_else(|| exchange.path.rsplit('/').next().map(str::to_string))?;
    Some((item, title))
}

/// Alice in the org, with her own session for what tandem's connector never sends.
struct SalesforceDesk {
    api: String,
    session: String,
    assignees: Vec<UserRef>,
    http: reqwest::Client,
}

impl SalesforceDesk {
    async fn call(&self, method: reqwest::Method, path: &str, body: &serde_json::Value) -> Result<()> {
        let answer = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(&self.session)
            .json(body)
            .send()
            .await?;
        anyhow::ensure!(answer.status().is_success(), "Salesforce answered {} to {path}", answer.status());
        Ok(())
    }
}

#[async_trait]
impl Desk for SalesforceDesk {
    fn field(&self, field: Field) -> Option<&'static str> {
        match field {
            Field::Title => Some("Subject"),
            Field::Priority => Some("Priority"),
            Field::Status => Some("Status"),
            Field::Assignee => Some("OwnerId"),
            Field::Labels => None,
            Field::Description => Some("Description"),
        }
    }

    fn priority(&self, rng: &mut StdRng) -> FieldValue {
        FieldValue::Text(PRIORITIES.choose(rng).unwrap_or(&"Medium").to_string())
    }

    /// Jira's workflow decides which moves are allowed: Status follows it through tandem.
    fn statuses(&self) -> &'static [&'static str] {
        &[]
    }

    fn description(&self, word: &str, number: u64) -> FieldValue {
        FieldValue::RichText(RichText::Plain(format!(
            "Steps for {word} (event {number})\n\n- open the page\n- watch it fail"
        )))
    }

    fn assignees(&self) -> Vec<UserRef> {
        self.assignees.clone()
    }

    /// The integration takes every Case of the org; other objects are not items of it.
    fn elsewhere(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    async fn restricted_comment(&self, item: &ItemId, words: &str, _seed: usize) -> Result<bool> {
        let comment = json!({ "ParentId": item.as_str(), "CommentBody": words, "IsPublished": false });
        self.call(reqwest::Method::POST, "/sobjects/CaseComment", &comment).await?;
        Ok(true)
    }

    async fn restrict_comment(&self, _item: &ItemId, comment: &str, _words: &str) -> Result<bool> {
        self.call(
            reqwest::Method::PATCH,
            &format!("/sobjects/CaseComment/{comment}"),
            &json!({ "IsPublished": false }),
        )
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::tests::exchange;
    use serde_json::json;

    #[test]
    fn creates_upserts_and_updates_name_their_case() {
        let base = "/services/data/v64.0/sobjects";
        let subject = json!({"Subject": "New (event 2)", "Priority": "High"});
        let upsert = exchange(
            "PATCH",
            &format!("{base}/Case/Tandem_Sync_Id__c/jira-10001"),
            subject.clone(),
            Some(json!({"id": "500bm0000000001AAA", "created": true})),
        );
        let update = exchange("PATCH", &format!("{base}/Case/500bm0000000001AAA"), subject.clone(), None);
        for write in [upsert, update] {
            assert_eq!(title_write(&write), Some(("500bm0000000001AAA".into(), "New (event 2)".into())));
        }
        let comment = exchange("POST", &format!("{base}/CaseComment"), json!({"Subject": "x"}), None);
        assert_eq!(title_write(&comment), None);
    }
}
