//! Reading many Jira issues at once: search pages of up to 5000 when only ids are asked for (100
//! otherwise), `POST /issue/bulkfetch`, and a fault plan's smaller pages.

mod common;

use common::JiraAs;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tandem_simulators::faults::FaultPlan;
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimUser};

async fn with_issues(count: usize) -> (RunningJira, JiraAs) {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.expect("the Jira simulator starts");
    let alice = JiraAs::new(&jira, &SimUser::alice());
    for number in 0..count {
        alice.create_issue("OPS", "Bug", &format!("bug {number}")).await;
    }
    (jira, alice)
}

fn issues(answer: &Value) -> &Vec<Value> {
    answer["issues"].as_array().expect("an issues array")
}

async fn search(alice: &JiraAs, fields: Value) -> Value {
    let body = json!({"jql": "project = OPS ORDER BY created ASC", "maxResults": 5000, "fields": fields});
    let answer = alice.post("/rest/api/3/search/jql", &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn a_search_for_ids_only_holds_up_to_5000_issues_and_one_for_fields_100() {
    let (jira, alice) = with_issues(130).await;
    let ids = search(&alice, json!(["id"])).await;
    assert_eq!((issues(&ids).len(), ids["isLast"].clone()), (130, json!(true)));
    assert_eq!(issues(&ids)[0], json!({"id": "10000"}));
    let keys_too = search(&alice, json!(["id", "key"])).await;
    assert_eq!(issues(&keys_too).len(), 130);
    let summaries = search(&alice, json!(["summary"])).await;
    assert_eq!((issues(&summaries).len(), summaries["isLast"].clone()), (100, json!(false)));
    assert!(summaries["nextPageToken"].is_string());
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn a_fault_plan_can_make_pages_smaller_than_asked_for() {
    let (jira, alice) = with_issues(30).await;
    jira.set_fault_plan(FaultPlan { search_page_limit: Some(12), ..FaultPlan::none() }).unwrap();
    let first = search(&alice, json!(["id"])).await;
    assert_eq!((issues(&first).len(), first["isLast"].clone()), (12, json!(false)));
    assert!(jira.set_fault_plan(FaultPlan { search_page_limit: Some(0), ..FaultPlan::none() }).is_err());
}

#[tokio::test]
async fn bulk_fetch_answers_issues_by_id_or_key_in_id_order_and_leaves_out_the_unknown() {
    let (jira, alice) = with_issues(3).await;
    let wanted = json!({"issueIdsOrKeys": ["OPS-3", "10000", "OPS-99", "10001"], "fields": ["summary", "status"]});
    let answer = alice.post("/rest/api/3/issue/bulkfetch", &wanted).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let found: Vec<(&str, &str)> = issues(&answer.body)
        .iter()
        .map(|issue| (issue["key"].as_str().unwrap(), issue["fields"]["summary"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [("OPS-1", "bug 0"), ("OPS-2", "bug 1"), ("OPS-3", "bug 2")]);
    assert_eq!(issues(&answer.body)[0]["fields"]["status"]["name"], "To Do");
    assert!(issues(&answer.body)[0]["fields"].get("description").is_none(), "only the fields asked for");
    assert_eq!(answer.body["issueErrors"], json!([]));
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn bulk_fetch_refuses_none_or_more_than_100() {
    let (_jira, alice) = with_issues(1).await;
    let none = alice.post("/rest/api/3/issue/bulkfetch", &json!({"issueIdsOrKeys": []})).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    let many: Vec<String> = (0..101).map(|number| format!("OPS-{number}")).collect();
    let too_many = alice.post("/rest/api/3/issue/bulkfetch", &json!({"issueIdsOrKeys": many})).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    assert!(too_many.body["errorMessages"][0].as_str().unwrap().contains("100"), "{}", too_many.body);
}
