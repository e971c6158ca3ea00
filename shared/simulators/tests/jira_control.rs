//! The Jira simulator over HTTP: authentication, the control API, and JQL date literals.

use serde_json::{json, Value};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, SimUser};

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

#[tokio::test]
async fn control_api_adds_users_and_reports_counters() {
    let sim = JiraSimulator::start(JiraSimConfig::default()).await.unwrap();
    let base = sim.base_url().to_string();
    let http = reqwest::Client::new();

    let anonymous = http.get(format!("{base}/rest/api/3/myself")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.json::<Value>().await.unwrap()["errorMessages"].is_array());

    let added = http
        .post(format!("{base}/_sim/users"))
        .json(&json!({"account_id": "712020:carol", "email": "carol@example.com", "display_name": "Carol",
                      "api_token": "carol-token", "permissions": ["BROWSE_PROJECTS"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let me: Value = http
        .get(format!("{base}/rest/api/3/myself"))
        .basic_auth("carol@example.com", Some("carol-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["accountId"], "712020:carol");

    // Carol may browse but not create: Jira answers 403 and the write is still counted as hers.
    let create = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x", "description": adf("d")}});
    let refused = http
        .post(format!("{base}/rest/api/3/issue"))
        .basic_auth("carol@example.com", Some("carol-token"))
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let stats: Value = http.get(format!("{base}/_sim/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["writes"], 1);
    assert_eq!(stats["writes_by_user"]["712020:carol"], 1);
    assert_eq!(stats["violations"], 0, "{:#?}", sim.violations());
    let exchanges: Vec<Value> = http.get(format!("{base}/_sim/exchanges")).send().await.unwrap().json().await.unwrap();
    assert_eq!(exchanges.len(), 3);

    assert_eq!(http.post(format!("{base}/_sim/webhooks/pause")).send().await.unwrap().status(), 204);
    assert!(sim.webhooks().is_paused());
    assert_eq!(http.post(format!("{base}/_sim/webhooks/resume")).send().await.unwrap().status(), 204);
    assert!(!sim.webhooks().is_paused());
    sim.stop().await;
}

#[tokio::test]
async fn jql_date_literals_have_minute_precision_and_a_bad_transition_is_refused() {
    let sim = JiraSimulator::start(JiraSimConfig::default()).await.unwrap();
    let base = sim.base_url().to_string();
    let http = reqwest::Client::new();
    let alice = SimUser::alice();
    let as_alice = |request: reqwest::RequestBuilder| request.basic_auth(&alice.email, Some(&alice.api_token));

    let create = json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "x"}});
    let created: Value = as_alice(http.post(format!("{base}/rest/api/3/issue")))
        .json(&create)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    let issue: Value = as_alice(http.get(format!("{base}/rest/api/3/issue/{key}?fields=updated")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let updated = issue["fields"]["updated"].as_str().unwrap();
    // "2024-01-31T10:20:30.123+0000" → the literal "2024-01-31 10:20" (same minute, seconds dropped).
    let minute = format!("{} {}", &updated[..10], &updated[11..16]);
    let search = |jql: String| {
        let request = as_alice(http.post(format!("{base}/rest/api/3/search/jql")));
        async move {
            let page: Value =
                request.json(&json!({"jql": jql, "fields": ["updated"]})).send().await.unwrap().json().await.unwrap();
            page["issues"].as_array().unwrap().len()
        }
    };
    assert_eq!(search(format!(r#"project = OPS AND updated >= "{minute}""#)).await, 1);
    let next_minute =
        chrono::NaiveDateTime::parse_from_str(&minute, "%Y-%m-%d %H:%M").unwrap() + chrono::Duration::minutes(1);
    let next_minute = next_minute.format("%Y-%m-%d %H:%M");
    assert_eq!(search(format!(r#"project = OPS AND updated >= "{next_minute}""#)).await, 0);
    assert_eq!(search("project = OPS AND updated >= -1m".into()).await, 1);
    assert_eq!(search("project = OPS AND updated >= 1m".into()).await, 0);

    let invalid = as_alice(http.post(format!("{base}/rest/api/3/issue/{key}/transitions")))
        .json(&json!({"transition": {"id": "21"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    let bad_jql = as_alice(http.post(format!("{base}/rest/api/3/search/jql")))
        .json(&json!({"jql": "project = NOPE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_jql.status(), 400);
    assert!(sim.violations().is_empty(), "{:#?}", sim.violations());
}
