//! The events Lambda hands the functions, as JSON: an API Gateway HTTP API (payload format 2.0)
//! request carrying a signed Jira webhook, and EventBridge's scheduled event.

use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use tandem_simulators::webhooks::hmac_sha256_hex;

/// A webhook delivery as the sender posts it: headers and raw body.
#[derive(Debug, Clone)]
pub struct WebhookPost {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The issue a Jira webhook is about.
#[derive(Debug, Clone)]
pub struct JiraIssue<'a> {
    pub id: &'a str,
    pub key: &'a str,
    pub site: &'a str,
}

/// Jira's `jira:issue_updated` for a description edit, as Jira Cloud sends it (REST v2
/// representations: the description is wiki text, and the changelog repeats the new text), signed
/// with the integration's HMAC `secret` under delivery id `delivery`.
pub fn jira_description_updated(
    issue: &JiraIssue<'_>,
    actor_account_id: &str,
    description: &str,
    secret: &str,
    delivery: &str,
) -> WebhookPost {
    let body = json!({
        "timestamp": epoch_millis(),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_updated",
        "user": { "accountId": actor_account_id, "accountType": "atlassian", "active": true },
        "issue": {
            "id": issue.id,
            "key": issue.key,
            "self": format!("{}/rest/api/2/issue/{}", issue.site, issue.id),
            "fields": {
                "project": { "key": project_key(issue.key) },
                "issuetype": { "name": "Bug" },
                "summary": "Nightly export drops rows with tabs",
                "description": description,
            }
        },
        "changelog": {
            "id": "10100",
            "items": [{
                "field": "description",
                "fieldtype": "jira",
                "fieldId": "description",
                "from": null,
                "fromString": "",
                "to": null,
                "toString": description,
            }]
        }
    })
    .to_string();
    let signature = format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body.as_bytes()));
    let headers = [
        ("content-type", "application/json"),
        ("user-agent", "Atlassian Webhook HTTP Client"),
        ("x-hub-signature", signature.as_str()),
        ("x-atlassian-webhook-identifier", delivery),
    ];
    WebhookPost { headers: headers.map(|(name, value)| (name.to_string(), value.to_string())).into(), body }
}

/// The text of a `description_updated` webhook whose body is about `body_bytes` long: plain
/// paragraphs, which the body carries twice (fields and changelog).
pub fn description_for_body(body_bytes: usize) -> Vec<String> {
    // What the body holds besides the two copies of the text, with room to spare.
    const ENVELOPE: usize = 1_200;
    let text_bytes = body_bytes.saturating_sub(ENVELOPE) / 2;
    let mut paragraphs = Vec::new();
    let mut size = 0;
    while size < text_bytes {
        let paragraph = paragraph(paragraphs.len() + 1);
        // Joined by "\n\n", which JSON writes as four bytes.
        size += paragraph.len() + 4;
        paragraphs.push(paragraph);
    }
    paragraphs
}

fn paragraph(number: usize) -> String {
    format!(
        "Observation {number}: the nightly export stopped after writing row {row} of the customer table; the \
         value in column `notes` contained a tab, which the writer did not escape, so the reader saw one \
         column too many and dropped the row without logging it. Expected every row, got {kept}.",
        row = number * 37,
        kept = number * 37 - 1
    )
}

/// Paragraphs as an Atlassian Document Format document, as the Jira REST v3 API stores them.
pub fn adf_document(paragraphs: &[String]) -> Value {
    let content: Vec<Value> = paragraphs
        .iter()
        .map(|text| json!({ "type": "paragraph", "content": [{ "type": "text", "text": text }] }))
        .collect();
    json!({ "type": "doc", "version": 1, "content": content })
}

/// `post` delivered to `POST /hooks/{integration}/{system}` through an API Gateway HTTP API, as the
/// event JSON Lambda receives (payload format 2.0).
pub fn api_gateway_request(integration: &str, system: &str, post: &WebhookPost) -> Value {
    let path = format!("/hooks/{integration}/{system}");
    let headers: serde_json::Map<String, Value> =
        post.headers.iter().map(|(name, value)| (name.clone(), Value::from(value.as_str()))).collect();
    json!({
        "version": "2.0",
        "routeKey": "POST /hooks/{integration}/{system}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "r3pmxmplak",
            "domainName": "r3pmxmplak.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "r3pmxmplak",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "185.166.143.12",
                "userAgent": "Atlassian Webhook HTTP Client"
            },
            "requestId": uuid::Uuid::new_v4().simple().to_string(),
            "routeKey": "POST /hooks/{integration}/{system}",
            "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000",
            "timeEpoch": epoch_millis()
        },
        "pathParameters": { "integration": integration, "system": system },
        "body": post.body,
        "isBase64Encoded": false
    })
}

/// EventBridge's "Scheduled Event", as the poller's schedule rule sends it.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-22T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/tandem-poller"],
        "detail": {}
    })
}

fn project_key(issue_key: &str) -> &str {
    issue_key.rsplit_once('-').map_or(issue_key, |(project, _)| project)
}

fn epoch_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: JiraIssue<'static> = JiraIssue { id: "10001", key: "OPS-1", site: "http://127.0.0.1:1" };

    #[test]
    fn a_description_fills_the_body_to_about_the_size_asked() {
        for target in [20_000, 1_000_000] {
            let text = description_for_body(target).join("\n\n");
            let post = jira_description_updated(&ISSUE, "712020:alice", &text, "s3cret", "delivery-1");
            let size = post.body.len();
            assert!(size > target * 98 / 100 && size < target * 102 / 100, "asked {target}, got {size}");
        }
    }

    #[test]
    fn webhooks_are_signed_over_the_exact_body() {
        let post = jira_description_updated(&ISSUE, "712020:alice", "text", "s3cret", "delivery-1");
        let header = |name: &str| post.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        let expected = format!("sha256={}", hmac_sha256_hex(b"s3cret", post.body.as_bytes()));
        assert_eq!(header("x-hub-signature"), Some(expected.as_str()));
        assert_eq!(header("x-atlassian-webhook-identifier"), Some("delivery-1"));
        let body: Value = serde_json::from_str(&post.body).unwrap();
        assert_eq!(body["issue"]["fields"]["project"]["key"], "OPS");
        assert_eq!(body["changelog"]["items"][0]["toString"], "text");
    }

    #[test]
    fn the_api_gateway_event_carries_path_parameters_and_the_raw_body() {
        let post = jira_description_updated(&ISSUE, "712020:alice", "text", "s3cret", "delivery-1");
        let event = api_gateway_request("ops-bench", "jira", &post);
        assert_eq!(event["rawPath"], "/hooks/ops-bench/jira");
        assert_eq!(event["pathParameters"]["integration"], "ops-bench");
        assert_eq!(event["body"].as_str(), Some(post.body.as_str()));
        assert_eq!(event["headers"]["x-atlassian-webhook-identifier"], "delivery-1");
    }

    #[test]
    fn adf_has_one_paragraph_per_text() {
        let document = adf_document(&["a".into(), "b".into()]);
        assert_eq!(document["content"].as_array().map(Vec::len), Some(2));
        assert_eq!(document["content"][1]["content"][0]["text"], "b");
    }
}
