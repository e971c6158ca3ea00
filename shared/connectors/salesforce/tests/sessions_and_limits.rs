//! The connector against the Salesforce simulator: a session that expires is renewed once and the call
//! goes through; credentials the org refuses, and an org out of API allowance, come back as errors that
//! say so; every request stays inside the recorded contract.

use anyhow::Result;
use tandem_engine::ports::{Connector, ConnectorError};
use tandem_model::{Credentials, FieldMap, FieldValue, ItemId, SecretString};
use tandem_salesforce::{SalesforceConfig, SalesforceConnector};
use tandem_simulators::salesforce::{key, RunningSalesforce, SalesforceSimConfig, SalesforceSimulator, SalesforceUser};
use tandem_system_api::RetryPolicy;

async fn org() -> Result<RunningSalesforce> {
    Ok(SalesforceSimulator::start(SalesforceSimConfig::default()).await?)
}

fn jwt(org: &RunningSalesforce, user: &SalesforceUser) -> Credentials {
    Credentials::SalesforceJwtBearer {
        consumer_key: org.app().consumer_key.clone(),
        username: user.username.clone(),
        private_key: SecretString::new(key::PRIVATE_KEY_PEM),
        audience: None,
    }
}

fn connector(org: &RunningSalesforce, credentials: &Credentials) -> Result<SalesforceConnector> {
    connector_with(org, credentials, None)
}

fn connector_with(
    org: &RunningSalesforce,
    credentials: &Credentials,
    external_id_field: Option<&str>,
) -> Result<SalesforceConnector> {
    let config = SalesforceConfig {
        base_url: org.base_url().to_string(),
        org: "acme".into(),
        object: "Case".into(),
        api_version: None,
        external_id_field: external_id_field.map(str::to_string),
        publish_comments: false,
        related_fields: None,
        link_field: None,
        api_share: Some(50),
    }
    .validate()?;
    Ok(SalesforceConnector::new(config, credentials, RetryPolicy::fast())?)
}

fn case(subject: &str) -> FieldMap {
    FieldMap::from([("Subject".to_string(), FieldValue::Text(subject.into()))])
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_the_call_goes_through() -> Result<()> {
    let org = org().await?;
    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    let created = service.create_item(&case("Printer on fire"), None).await?;
    assert_eq!(org.tokens_issued(), 1);
    org.expire_sessions();
    let read = service.get_item(&created.item.id).await?;
    assert_eq!(read.field("Subject"), &FieldValue::Text("Printer on fire".into()));
    assert_eq!(org.tokens_issued(), 2, "one new session, not one per call");
    assert!(org.violations().is_empty(), "{:#?}", org.violations());
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_service_account_is_the_user_the_session_runs_as_with_either_flow() -> Result<()> {
    let org = org().await?;
    let jwt_account = connector(&org, &jwt(&org, &SalesforceUser::integration()))?.service_account().await?;
    assert_eq!(jwt_account.email.as_deref(), Some(SalesforceUser::integration().email.as_str()));
    let client_credentials = Credentials::SalesforceClientCredentials {
        consumer_key: org.app().consumer_key.clone(),
        consumer_secret: SecretString::new(org.app().consumer_secret.clone()),
    };
    let run_as = connector(&org, &client_credentials)?.service_account().await?;
    assert_eq!(run_as.id, jwt_account.id, "the connected app runs as the integration user");
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn refused_credentials_and_a_used_up_allowance_are_told_apart() -> Result<()> {
    let org = org().await?;
    let stranger = SalesforceUser::new("Eve", "Outsider", "eve@elsewhere.example");
    let refused = connector(&org, &jwt(&org, &stranger))?.get_item(&ItemId::new("500000000000001AAA")).await;
    assert!(matches!(refused, Err(ConnectorError::Unauthorized { .. })), "{refused:?}");
    assert!(refused.unwrap_err().is_credential_problem());

    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    service.service_account().await?;
    org.set_api_allowance(org.api_used());
    let limited = service.create_item(&case("One too many"), None).await;
    assert!(matches!(limited, Err(ConnectorError::RateLimited { status: 403, .. })), "{limited:?}");
    assert!(limited.unwrap_err().is_retryable(), "the allowance frees up as the day rolls on");
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn polls_hold_back_past_their_share_of_the_allowance_and_resume_by_themselves() -> Result<()> {
    let org = org().await?;
    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    service.changed_page(since, None).await?;
    org.set_api_allowance(org.api_used() * 2 - 1);
    service.service_account().await?; // any answer brings the usage
    let held = service.changed_page(since, None).await;
    assert!(matches!(held, Err(ConnectorError::ShareUsedUp { share: 50, .. })), "{held:?}");
    assert!(held.unwrap_err().is_rate_limited(), "a wait, never a failure of an item");
    // Nothing else calls meanwhile: the poll itself finds out that the allowance freed up.
    org.reset_api_usage();
    service.changed_page(since, None).await.expect("resumed once the allowance freed up");
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_subject_too_long_is_refused_before_any_write_with_its_limit() -> Result<()> {
    let org = org().await?;
    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    let refused = service.create_item(&case(&"x".repeat(300)), None).await.expect_err("too long");
    assert!(refused.to_string().contains("Subject holds at most 255 characters; the value has 300"), "{refused}");
    assert!(org.records("Case").is_empty(), "nothing was written");
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_create_sent_twice_for_one_origin_makes_one_case() -> Result<()> {
    let org = org().await?;
    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    let origin = tandem_engine::ports::CopyOrigin {
        integration: "ops-acme".into(),
        side: tandem_model::Side::One,
        item: ItemId::new("10001"),
        url: None,
    };
    let first = service.create_item(&case("Sent twice"), Some(&origin)).await?;
    let again = service.create_item(&case("Sent twice"), Some(&origin)).await?;
    assert_eq!(first.item.id, again.item.id);
    assert_eq!(org.records("Case").len(), 1);
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_missing_external_id_field_is_named_when_a_copy_is_created() -> Result<()> {
    let org = org().await?;
    let service = connector_with(&org, &jwt(&org, &SalesforceUser::integration()), Some("Missing_Sync_Id__c"))?;
    let origin = tandem_engine::ports::CopyOrigin {
        integration: "ops-acme".into(),
        side: tandem_model::Side::One,
        item: ItemId::new("10001"),
        url: None,
    };
    let refused = service.create_item(&case("No marker field"), Some(&origin)).await.expect_err("no such field");
    assert!(refused.to_string().contains("Case.Missing_Sync_Id__c does not exist"), "{refused}");
    assert!(!refused.is_retryable());
    org.stop().await;
    Ok(())
}

/// More changes than a page, read back in queries short enough for Salesforce's URL limit.
#[tokio::test]
async fn a_page_of_changes_is_read_back_in_queries_of_bounded_length() -> Result<()> {
    let org = org().await?;
    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    for n in 0..230 {
        service.create_item(&case(&format!("Case {n}")), None).await?;
    }
    let changed = service.changed_since(since).await?;
    let mut ids: Vec<&str> = changed.iter().map(|item| item.item.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 230, "each Case once");
    let longest =
        org.exchanges().iter().map(|exchange| exchange.query.iter().map(|(_, value)| value.len()).sum::<usize>()).max();
    assert!(longest.is_some_and(|length| length < 12_000), "a query of {longest:?} characters");
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_write_on_a_stale_read_is_refused_and_the_persons_edit_stays() -> Result<()> {
    let org = org().await?;
    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    let agent = connector(&org, &jwt(&org, &SalesforceUser::alice()))?;
    let created = service.create_item(&case("Printer jams"), None).await?;
    let read = service.get_item(&created.item.id).await?;
    // Salesforce compares to the second: the agent's edit comes in a later one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    agent.update_item(&created.item.id, &case("Printer jams on A3"), &tandem_model::ItemVersion::UNCHECKED).await?;
    let stale = service.update_item(&created.item.id, &case("Printer jams (from Jira)"), &read.version()).await;
    assert!(matches!(stale, Err(ConnectorError::Changed { .. })), "{stale:?}");
    let now = service.get_item(&created.item.id).await?;
    assert_eq!(now.field("Subject"), &FieldValue::Text("Printer jams on A3".into()), "nothing was written");
    service.update_item(&created.item.id, &case("Printer jams on A3 and A4"), &now.version()).await?;
    assert!(org.violations().is_empty(), "{:#?}", org.violations());
    org.stop().await;
    Ok(())
}

#[tokio::test]
async fn deleting_a_comment_moves_its_case_forward_never_back() -> Result<()> {
    let org = org().await?;
    let service = connector(&org, &jwt(&org, &SalesforceUser::integration()))?;
    let created = service.create_item(&case("Scanner offline"), None).await?;
    let id = &created.item.id;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let comment = service.add_comment(id, &tandem_model::RichText::Plain("Rebooted it".into())).await?;
    let with_comment = service.get_item(id).await?;
    assert!(with_comment.updated > created.updated, "a new comment is a change of its Case");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    service.delete_comment(id, &comment.id).await?;
    let after = service.get_item(id).await?;
    assert!(after.updated > with_comment.updated, "{} then {}", with_comment.updated, after.updated);
    let page = service.changed_page(with_comment.updated, None).await?;
    assert!(page.items.iter().any(|item| &item.item.id == id), "a poll sees the Case whose comment went");
    assert!(org.violations().is_empty(), "{:#?}", org.violations());
    org.stop().await;
    Ok(())
}
