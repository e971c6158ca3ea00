//! The service account's credentials expiring, on both simulators: its calls are refused as the vendor
//! refuses an expired API token or PAT, other people's calls go on, refusals are counted, and renewing
//! (through the API or the control endpoints) lets the calls through again.

mod common;

use common::{AdoAs, JiraAs};
use reqwest::{Client, StatusCode};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, SimUser};

#[tokio::test]
async fn jira_refuses_the_service_accounts_expired_token_as_an_invalid_one() {
    let jira = JiraSimulator::start(JiraSimConfig::default()).await.unwrap();
    let (service, alice) = (JiraAs::new(&jira, &SimUser::service_account()), JiraAs::new(&jira, &SimUser::alice()));
    let key = service.create_issue("OPS", "Task", "Before expiry").await;

    jira.expire_credentials();
    let refused = service.get(&format!("/rest/api/3/issue/{key}")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers["x-seraph-loginreason"], "AUTHENTICATED_FAILED");
    assert!(refused.body["errorMessages"][0].as_str().unwrap().contains("authenticated"), "{}", refused.body);
    let search = service.post("/rest/api/3/search/jql", &serde_json::json!({"jql": "project = OPS"})).await;
    assert_eq!(search.status, StatusCode::UNAUTHORIZED);
    assert_eq!(alice.get(&format!("/rest/api/3/issue/{key}")).await.status, StatusCode::OK, "others go on");
    assert_eq!(jira.stats().expired_credential_refusals, 2);

    jira.renew_credentials();
    assert_eq!(service.get("/rest/api/3/myself").await.status, StatusCode::OK);
    let http = Client::new();
    let control = |action: &str| format!("{}/_sim/credentials/{action}", jira.base_url());
    assert_eq!(http.post(control("expire")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(service.get("/rest/api/3/myself").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(http.post(control("renew")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(service.get("/rest/api/3/myself").await.status, StatusCode::OK);
    assert_eq!(jira.stats().expired_credential_refusals, 3);
    assert!(jira.violations().is_empty(), "{:#?}", jira.violations());
}

#[tokio::test]
async fn azure_devops_refuses_the_service_accounts_expired_pat() {
    let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.unwrap();
    let service = AdoAs::service(&ado);
    let alice = AdoAs::new(&ado, "alice-pat");
    let id = service.create("Fabrikam", "Bug", "Before expiry").await["id"].as_u64().unwrap();
    let read = format!("Fabrikam/_apis/wit/workitems/{id}?api-version=7.1");

    ado.expire_credentials();
    let refused = service.get(&read).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body["message"], "Access Denied: The Personal Access Token used has expired.");
    assert_eq!(refused.body["typeKey"], "AccessCheckException");
    assert!(refused.headers["x-tfs-serviceerror"].to_str().unwrap().contains("expired"));
    assert_eq!(alice.get(&read).await.status, StatusCode::OK, "others go on");
    assert_eq!(ado.stats().expired_credential_refusals, 1);

    ado.renew_credentials();
    assert_eq!(service.get(&read).await.status, StatusCode::OK);
    let http = Client::new();
    let control = |action: &str| format!("{}/_sim/credentials/{action}", ado.base_url());
    assert_eq!(http.post(control("expire")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(service.get(&read).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(http.post(control("renew")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(service.get(&read).await.status, StatusCode::OK);
    assert!(ado.violations().is_empty(), "{:#?}", ado.violations());
}
