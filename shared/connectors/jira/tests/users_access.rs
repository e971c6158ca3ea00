//! Users (by e-mail, by accountId, the service account) and `check_access`.

mod common;

use common::*;
use tandem_engine::ports::AccessNeeds;
use tandem_engine::ports::Connector;
use tandem_simulators::jira::{JiraSimConfig, SimProject, SimUser};

#[tokio::test]
async fn finds_users_by_exact_email_and_by_account_id() {
    let sim = simulator().await;
    let jira = connector(&sim);
    let alice = SimUser::alice();

    let found = jira.find_user_by_email("ALICE@example.com").await.unwrap().expect("alice is found");
    assert_eq!(found.id, alice.account_id);
    assert_eq!(found.display_name.as_deref(), Some("Alice Example"));
    // A prefix matches in Jira's search, but only an exact e-mail counts.
    assert_eq!(jira.find_user_by_email("alice@example").await.unwrap(), None);
    assert_eq!(jira.find_user_by_email("nobody@example.com").await.unwrap(), None);

    assert_eq!(jira.get_user(&alice.account_id).await.unwrap(), Some(found));
    assert_eq!(jira.get_user("712020:ghost").await.unwrap(), None);
    assert_eq!(jira.service_account().await.unwrap().id, SimUser::service_account().account_id);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn check_access_passes_for_the_service_account() {
    let sim = simulator().await;
    let check = connector(&sim)
        .check_access(&AccessNeeds { fields: vec!["summary".into(), "assignee".into()], attachments: false })
        .await
        .unwrap();
    assert!(check.problems.is_empty(), "{check:?}");
    assert_eq!(check.account.map(|account| account.id), Some(SimUser::service_account().account_id));
    assert!(check.passed.iter().any(|passed| passed == "permission ASSIGN_ISSUES"), "{:?}", check.passed);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn check_access_names_each_missing_permission() {
    let sim = simulator().await;
    let limited = SimUser::new("712020:limited", "limited@example.com", "Limited Account", "limited-token")
        .without_permission("TRANSITION_ISSUES")
        .without_permission("EDIT_OWN_COMMENTS")
        .without_permission("CREATE_ATTACHMENTS");
    sim.add_user(limited.clone());
    let check = connector_as(&sim, &limited).check_access(&AccessNeeds::default()).await.unwrap();
    assert_eq!(
        check.problems,
        [
            "permission TRANSITION_ISSUES is missing in project OPS",
            "permission EDIT_OWN_COMMENTS is missing in project OPS"
        ]
    );
    // Attaching copies needs its own permissions, asked for only while attachments are copied there.
    let attaching = AccessNeeds { attachments: true, ..AccessNeeds::default() };
    let check = connector_as(&sim, &limited).check_access(&attaching).await.unwrap();
    assert_eq!(
        check.problems.last().map(String::as_str),
        Some("permission CREATE_ATTACHMENTS is missing in project OPS")
    );
    assert!(check.passed.contains(&"permission DELETE_OWN_ATTACHMENTS".to_string()), "{:?}", check.passed);
    assert!(check.passed.contains(&"permission EDIT_ISSUES".to_string()), "{:?}", check.passed);
    assert_no_violations(&sim);
}

#[tokio::test]
async fn check_access_reports_bad_credentials_and_a_missing_issue_type() {
    let sim = simulator_with(JiraSimConfig {
        projects: vec![SimProject::new("10000", "OPS", "Operations")],
        ..JiraSimConfig::default()
    })
    .await;
    let impostor = SimUser { api_token: "wrong".into(), ..SimUser::service_account() };
    let check = connector_as(&sim, &impostor).check_access(&AccessNeeds::default()).await.unwrap();
    assert_eq!(check.problems, ["Jira rejected the credentials (HTTP 401)"]);
    assert_eq!(check.account, None);

    let config = tandem_jira::JiraConfig {
        base_url: sim.base_url().into(),
        project_key: "OPS".into(),
        issue_type: "Epic".into(),
    };
    let epic = tandem_jira::JiraConnector::new(
        config.validate().unwrap(),
        &credentials(&SimUser::service_account()),
        tandem_jira::RetryPolicy::fast(),
    )
    .unwrap();
    let check = epic.check_access(&AccessNeeds::default()).await.unwrap();
    assert_eq!(check.problems, ["issue type `Epic` not found in project OPS"]);
    assert_no_violations(&sim);
}
