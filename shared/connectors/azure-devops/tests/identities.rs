//! People and rights: the service account, identity look-ups, and the access check.

mod common;

use common::{assert_no_violations, connector, connector_as, simulator};
use tandem_engine::ports::AccessNeeds;
use tandem_engine::ports::Connector;
use tandem_simulators::azure_devops::SimUser;

#[tokio::test]
async fn finds_people_by_email_and_by_id_and_knows_itself() {
    let simulator = simulator().await;
    let connector = connector(&simulator);
    let bob = simulator.identity("bob@fabrikam.example").unwrap();

    let found = connector.find_user_by_email("BOB@fabrikam.example").await.unwrap().expect("bob is found");
    assert_eq!(found.id, bob.id.to_string());
    assert_eq!(found.email.as_deref(), Some("bob@fabrikam.example"));
    assert_eq!(found.display_name.as_deref(), Some("Bob Roe"));
    assert_eq!(connector.find_user_by_email("nobody@fabrikam.example").await.unwrap(), None);

    assert_eq!(connector.get_user(&bob.id.to_string()).await.unwrap(), Some(found));
    assert_eq!(connector.get_user(&uuid_like()).await.unwrap(), None);

    let account = connector.service_account().await.unwrap();
    assert_eq!(account.id, simulator.service_account().id.to_string());
    assert_eq!(account.email.as_deref(), Some(simulator.service_account().email.as_str()));

    let carol = simulator.add_identity(SimUser::new("Carol", "carol@fabrikam.example", "carol-pat"));
    assert_eq!(
        connector.find_user_by_email("carol@fabrikam.example").await.unwrap().map(|user| user.id),
        Some(carol.id.to_string())
    );
    assert_no_violations(&simulator);
}

fn uuid_like() -> String {
    "00000000-0000-0000-0000-000000000001".into()
}

#[tokio::test]
async fn the_access_check_passes_for_the_service_account() {
    let simulator = simulator().await;
    let check = connector(&simulator)
        .check_access(&AccessNeeds {
            fields: vec!["System.Title".into(), "Microsoft.VSTS.Common.Priority".into(), "Custom.Missing".into()],
            attachments: false,
        })
        .await
        .unwrap();
    assert_eq!(check.account.map(|account| account.id), Some(simulator.service_account().id.to_string()));
    assert_eq!(check.problems, vec!["field `Custom.Missing` does not exist on work item type `Bug`".to_string()]);
    assert!(check.passed.iter().any(|passed| passed.contains("may create `Bug`")), "{:?}", check.passed);
    assert_eq!(simulator.work_item_count(), 0, "the write probe creates nothing");
    assert_no_violations(&simulator);
}

#[tokio::test]
async fn the_access_check_reports_missing_rights_in_words() {
    let simulator = simulator().await;
    simulator
        .add_identity(SimUser { read_only: true, ..SimUser::new("Reader", "reader@fabrikam.example", "reader-pat") });
    let check = connector_as(&simulator, "reader-pat").check_access(&AccessNeeds::default()).await.unwrap();
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
    assert!(check.problems[0].contains("may not create or edit `Bug` work items"), "{}", check.problems[0]);

    let wrong_type = common::connector_for(&simulator, "Fabrikam", "Epic", &simulator.service_account().pat)
        .check_access(&AccessNeeds::default())
        .await
        .unwrap();
    assert!(wrong_type.problems[0].contains("`Epic`"), "{:?}", wrong_type.problems);

    let bad_pat = connector_as(&simulator, "expired").check_access(&AccessNeeds::default()).await.unwrap();
    assert!(bad_pat.account.is_none());
    assert!(bad_pat.problems[0].contains("rejected the personal access token"), "{:?}", bad_pat.problems);
    common::assert_only_undeclared_error_statuses(&simulator);
}
