//! What a warm function container does when the stored world changes under it: a service account's
//! token or a webhook secret rotated in Secrets Manager, a configuration that fails validation, and a configuration
//! naming a secret the functions may not read.

mod support;

use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{invoke_poller, invoke_webhook, World};
use tandem_engine::ports::{Connector, ConnectorError, SecretError, SecretSource, SyncLog};
use tandem_model::Credentials;
use tandem_simulators::jira::SimUser;

/// A Lambda invocation with the webhook function's usual timeout.
const INVOCATION: Duration = Duration::from_secs(15);
/// A scheduled poll's invocation.
const POLL: Duration = Duration::from_secs(60);

/// Jira's answers with status 401 so far.
fn jira_refusals(world: &World) -> usize {
    world.jira.exchanges().iter().filter(|exchange| exchange.status == 401).count()
}

/// Secrets Manager as the functions read it, with every call counted: (one secret, several together).
struct CountedReads {
    inner: tandem_secrets_aws::SecretsManagerSource,
    calls: Arc<Mutex<(usize, usize)>>,
}

#[async_trait::async_trait]
impl SecretSource for CountedReads {
    async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        self.calls.lock().unwrap().0 += 1;
        self.inner.credentials(name).await
    }

    async fn read_ahead(&self, names: &[String]) -> Vec<(String, Credentials)> {
        self.calls.lock().unwrap().1 += 1;
        self.inner.read_ahead(names).await
    }
}

/// Secrets Manager bills by the call, and a cold container is slowed by each: an integration's four
/// secrets (two services' credentials, two webhook secrets) are read in one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_container_reads_an_integrations_secrets_in_one_call() {
    let world = World::start().await;
    let calls = Arc::new(Mutex::new((0, 0)));
    let inner = tandem_secrets_aws::SecretsManagerSource::from_env().await;
    let container = world.container_reading(CountedReads { inner, calls: calls.clone() }).await;
    let bug = world.create_jira_bug("Filed before the first delivery").await;
    let event = world.jira_issue_created(&bug, "delivery-cold", &world.webhook_secret);
    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!((status, &answer["synced"]), (200, &json!(1)), "{answer}");
    assert_eq!(*calls.lock().unwrap(), (0, 1), "(single reads, reads together)");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_container_rereads_a_rotated_service_token_after_one_401() {
    let world = World::start().await;
    let container = world.container().await;
    // Warm: the engine is built and the Jira token is in the container's secret cache.
    let warmup = invoke_poller(&container, POLL).await;
    assert_eq!((warmup.integrations, warmup.errors), (1, 0), "{warmup:?}");

    // The operator rotates the service account's token in Jira, then in Secrets Manager.
    let old = SimUser::service_account();
    let rotated = SimUser { api_token: format!("rotated-{}", uuid::Uuid::new_v4().simple()), ..old.clone() };
    world.jira.add_user(rotated.clone());
    world
        .put_secret_value(
            &world.secret_name("jira"),
            &json!({ "kind": "jira-api-token", "email": rotated.email, "api_token": rotated.api_token }),
        )
        .await;
    let with_old_token = world.jira_connector_as(&old.email, &old.api_token).service_account().await;
    assert!(
        matches!(with_old_token, Err(ConnectorError::Unauthorized { status: 401, .. })),
        "the old token must be refused for the rotation to be exercised: {with_old_token:?}"
    );
    let refusals_before = jira_refusals(&world);

    let bug = world.create_jira_bug("Filed after the token rotation").await;
    let event = world.jira_issue_created(&bug, "delivery-rotated", &world.webhook_secret);
    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!((status, &answer["synced"], &answer["failed"]), (200, &json!(1), &json!(0)), "{answer}");
    assert_eq!(jira_refusals(&world) - refusals_before, 1, "the cached token is tried once, then re-read");
    assert_eq!(world.ado_copies(), 1);
    // The copy's title is the one read from Jira with the new token, not the webhook's snapshot.
    let created = world
        .ado
        .exchanges()
        .into_iter()
        .filter(|exchange| exchange.method == "POST" && exchange.status == 200)
        .filter_map(|exchange| exchange.request_body)
        .any(|body| body.to_string().contains("Filed after the token rotation"));
    assert!(created, "Azure DevOps received the bug's title");
    assert!(world.store().await.list_failures(&world.name).await.expect("failures").is_empty());
    world.stop().await;
}

/// The rotation of a webhook secret as the guide has it: the new secret goes into Secrets Manager with
/// the old one as `previous`; once the containers' caches have expired (5 minutes), it goes into Jira;
/// then `previous` goes. Deliveries signed with the old secret keep coming meanwhile (Jira's retries,
/// and everything before Jira is changed) and every one is accepted, as are those signed with the new;
/// once `previous` is gone the old secret is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_rotated_with_its_previous_value_loses_no_delivery() {
    let world = World::start().await;
    let warm = world.container().await;
    let (old, new) = (world.webhook_secret.clone(), format!("rotated-{}", uuid::Uuid::new_v4().simple()));
    let deliver = |container, bug, delivery: &'static str, secret: String| {
        let event = world.jira_issue_created(bug, delivery, &secret).event(INVOCATION);
        invoke_webhook(container, event)
    };
    let first = world.create_jira_bug("Before the rotation").await;
    assert_eq!(deliver(&warm, &first, "before", old.clone()).await.0, 200);

    let rotating = json!({ "kind": "webhook-hmac", "secret": new, "previous": old });
    world.put_secret_value(&world.secret_name("jira-webhook"), &rotating).await;
    let second = world.create_jira_bug("During the rotation").await;
    let (status, answer) = deliver(&warm, &second, "warm-old", old.clone()).await;
    assert_eq!(status, 200, "a container still caching the old secret: {answer}");
    // Five minutes on, every container reads the secret afresh (as a new one does), and Jira is changed.
    let refreshed = world.container().await;
    for (delivery, secret) in [("refreshed-old", old.clone()), ("refreshed-new", new.clone())] {
        let (status, answer) = deliver(&refreshed, &second, delivery, secret).await;
        assert_eq!(status, 200, "{delivery}: {answer}");
    }

    world.put_secret_value(&world.secret_name("jira-webhook"), &json!({ "kind": "webhook-hmac", "secret": new })).await;
    let after = world.container().await;
    assert_eq!(deliver(&after, &second, "after-new", new.clone()).await.0, 200);
    assert_eq!(deliver(&after, &second, "after-old", old.clone()).await.0, 401, "the old secret is retired");
    assert_eq!(world.ado_copies(), 2, "one copy per bug, however many deliveries");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_is_skipped_and_the_valid_one_still_syncs() {
    let world = World::start().await;
    let broken = format!("broken-{}", uuid::Uuid::new_v4().simple());
    let yaml = world
        .integration_yaml()
        .replace(&format!("name: {}\n", world.name), &format!("name: {broken}\n"))
        .replace("kind: option", "kind: no-such-kind");
    assert!(yaml.contains(&format!("name: {broken}\n")) && yaml.contains("no-such-kind"), "{yaml}");
    world.add_integration(&broken, &yaml).await;
    let container = world.container().await;
    let refused = container.integration(&broken).await.err().expect("an invalid configuration is an error");
    assert!(refused.to_string().contains("no-such-kind"), "the problem is named: {refused}");

    world.create_jira_bug("Synced by the valid integration").await;
    let summary = invoke_poller(&container, POLL).await;
    assert_eq!(
        (summary.integrations, summary.invalid_configurations, summary.errors),
        (1, 1, 1),
        "only the valid integration is polled, the broken one is counted: {summary:?}"
    );
    assert!(summary.synced >= 1, "{summary:?}");
    assert_eq!(world.ado_copies(), 1, "one copy, made by the valid integration");

    let bug = world.create_jira_bug("Sent to the broken integration").await;
    let event = world.jira_issue_created(&bug, "delivery-broken", &world.webhook_secret).addressed_to(&broken);
    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!(status, 503, "the sender is asked to retry: {answer}");
    assert_eq!(world.ado_copies(), 1, "nothing synced for the broken integration");
    assert!(world.store().await.list_failures(&broken).await.expect("failures").is_empty());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_outside_the_prefix_is_refused_and_nothing_syncs() {
    let world = World::start().await;
    // The same integration, but its Jira credentials live where the functions may not read.
    let outside = format!("elsewhere/{}/jira", uuid::Uuid::new_v4().simple());
    let service = SimUser::service_account();
    world
        .create_secret(
            &outside,
            &json!({ "kind": "jira-api-token", "email": service.email, "api_token": service.api_token }),
        )
        .await;
    let yaml = world
        .integration_yaml()
        .replace(&format!("secret: {}\n", world.secret_name("jira")), &format!("secret: {outside}\n"));
    assert!(yaml.contains(&outside), "{yaml}");
    world.store().await.put_integration(&world.name, &yaml).await.expect("replace the configuration");

    let container = world.container().await;
    let refused = container.integration(&world.name).await.err().expect("a secret outside the prefix is refused");
    assert!(refused.to_string().contains(&outside), "the secret is named: {refused}");
    // Only the prefix stands in the way: a runtime allowed every name would serve it.
    let unrestricted = world.container_with_secret_prefix("").await;
    assert!(unrestricted.integration(&world.name).await.expect("registry").is_ok());

    let bug = world.create_jira_bug("Must not cross").await;
    let summary = invoke_poller(&container, POLL).await;
    assert_eq!((summary.integrations, summary.synced, summary.invalid_configurations), (0, 0, 1), "{summary:?}");
    let event = world.jira_issue_created(&bug, "delivery-outside", &world.webhook_secret);
    let (status, answer) = invoke_webhook(&container, event.event(INVOCATION)).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(world.ado_copies(), 0);
    world.stop().await;
}
