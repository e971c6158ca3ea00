//! A world for the functions' handlers: moto's DynamoDB and Secrets Manager (`infra/local-aws.sh`),
//! the Jira and Azure DevOps simulators as targets, an integration stored in the registry, and Alice
//! creating bugs in Jira by hand. Events are API Gateway and EventBridge JSON, as Lambda sends them.

#![allow(dead_code)] // each test file uses a different part

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_http::{Body, Context, Request, RequestExt};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tandem_engine::ports::Connector;
use tandem_jira::{JiraConfig, JiraConnector};
use tandem_lambda_runtime::{PollSummary, Runtime, SECRET_TTL};
use tandem_model::{Credentials, FieldMap, FieldValue, Item, SecretString};
use tandem_secrets::CachedSecrets;
use tandem_secrets_aws::SecretsManagerSource;
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, RunningAzureDevops};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimUser};
use tandem_store_dynamodb::DynamoStore;

fn require_local_aws() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto's DynamoDB and Secrets Manager. Start them with \
         `eval \"$(infra/local-aws.sh)\"` from the repository root, then run the tests again."
    );
}

/// A table of the world's own: the poller polls every integration of its table, so worlds running in
/// parallel must not see each other's.
async fn table() -> String {
    let table = format!("tandem-functions-{}", uuid::Uuid::new_v4().simple());
    DynamoStore::from_env(&table)
        .await
        .create_table()
        .await
        .unwrap_or_else(|error| panic!("creating table {table}: {error:#?}"));
    table
}

pub struct World {
    pub name: String,
    pub jira: RunningJira,
    pub ado: RunningAzureDevops,
    pub webhook_secret: String,
    secret_prefix: String,
    table: String,
    pub jira_alice: JiraConnector,
}

impl World {
    /// Both simulators, their secrets under a fresh prefix, and an active integration between them.
    pub async fn start() -> World {
        require_local_aws();
        let table = table().await;
        let jira = JiraSimulator::start(JiraSimConfig::default()).await.expect("Jira simulator");
        let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig::default()).await.expect("ADO simulator");
        let name = format!("ops-{}", uuid::Uuid::new_v4().simple());
        let secret_prefix = format!("tandem-test/{}/", uuid::Uuid::new_v4().simple());
        let webhook_secret = uuid::Uuid::new_v4().simple().to_string();
        let service = SimUser::service_account();
        let secrets = admin().await;
        for (secret, value) in [
            ("jira", json!({ "kind": "jira-api-token", "email": service.email, "api_token": service.api_token })),
            ("ado", json!({ "kind": "azure-devops-pat", "pat": ado.service_account().pat })),
            ("jira-webhook", json!({ "kind": "webhook-hmac", "secret": webhook_secret })),
            ("ado-webhook", json!({ "kind": "webhook-basic", "username": "tandem", "password": webhook_secret })),
        ] {
            secrets
                .create_secret()
                .name(format!("{secret_prefix}{secret}"))
                .secret_string(value.to_string())
                .send()
                .await
                .unwrap_or_else(|error| panic!("creating secret {secret}: {error:?}"));
        }
        let alice = SimUser::alice();
        let jira_alice = JiraConnector::new(
            JiraConfig { base_url: jira.base_url().to_string(), project_key: "OPS".into(), issue_type: "Bug".into() }
                .validate()
                .expect("Jira settings"),
            &Credentials::JiraApiToken { email: alice.email, api_token: SecretString::new(alice.api_token) },
            tandem_jira::RetryPolicy::fast(),
        )
        .expect("Alice's Jira connector");
        let world = World { name, jira, ado, webhook_secret, secret_prefix, table, jira_alice };
        let store = world.store().await;
        store.put_integration(&world.name, &world.config_yaml()).await.expect("store the integration");
        assert!(store.set_active(&world.name, true).await.expect("activate"));
        world
    }

    /// The integration as an operator stores it: real URLs (the simulators), users mapped inline.
    fn config_yaml(&self) -> String {
        format!(
            r#"
name: {name}
side1:
  system: jira
  base_url: {jira}
  project: OPS
  item_type: Bug
  secret: {prefix}jira
  webhook_secret: {prefix}jira-webhook
side2:
  system: azure-devops
  base_url: {ado}
  project: Fabrikam
  item_type: Bug
  secret: {prefix}ado
  webhook_secret: {prefix}ado-webhook
conflicts:
  policy: latest-wins
users:
  match_by_email: true
  map:
    - {{ side1: alice@example.com, side2: alice@fabrikam.example }}
fields:
  - name: title
    side1: summary
    side2: System.Title
  - name: priority
    side1: priority
    side2: Microsoft.VSTS.Common.Priority
    kind: option
    values: {{ Highest: 1, High: 2, Medium: 3, Low: 4, Lowest: 4 }}
    reverse: {{ 4: Low }}
    default: {{ side1: Medium, side2: 3 }}
"#,
            name = self.name,
            prefix = self.secret_prefix,
            jira = self.jira.base_url(),
            ado = self.ado.organization_url(),
        )
    }

    pub async fn store(&self) -> DynamoStore {
        DynamoStore::from_env(&self.table).await
    }

    /// A function container's runtime, as `Runtime::from_env` builds it, on this world's table and
    /// secrets. Each call is another container (its own engines and secret cache).
    pub async fn container(&self) -> Runtime {
        self.container_reading(SecretsManagerSource::from_env().await).await
    }

    /// A container like [`World::container`] whose secrets come through `source`.
    pub async fn container_reading<S: tandem_engine::ports::SecretSource + 'static>(&self, source: S) -> Runtime {
        Runtime::new(self.store().await, Arc::new(CachedSecrets::new(source, SECRET_TTL)))
            .with_secret_prefix(self.secret_prefix.clone())
    }

    /// Alice files a bug in Jira.
    pub async fn create_jira_bug(&self, summary: &str) -> Item {
        let fields: FieldMap = [
            ("summary".to_string(), FieldValue::Text(summary.to_string())),
            ("priority".to_string(), FieldValue::Text("High".to_string())),
        ]
        .into_iter()
        .collect();
        self.jira_alice.create_item(&fields, None).await.expect("Alice creates a bug")
    }

    /// Jira's `jira:issue_created` webhook for `bug`, as Jira signs it with `secret`. Each delivery name
    /// stands for another event, which Jira's body tells apart by its timestamp (its retries resend the
    /// same body); the timestamp is recent, as a real one is.
    pub fn jira_issue_created(&self, bug: &Item, delivery: &str, secret: &str) -> ApiRequest {
        let event_offset: i64 = delivery.bytes().map(i64::from).sum::<i64>() * 7 % 60_000;
        let body = json!({
            "timestamp": chrono::Utc::now().timestamp_millis() - event_offset,
            "webhookEvent": "jira:issue_created",
            "issue_event_type_name": "issue_created",
            "user": { "accountId": SimUser::alice().account_id, "displayName": "Alice Example" },
            "issue": {
                "id": bug.item.id.as_str(),
                "key": bug.item.label(),
                "self": format!("{}/rest/api/3/issue/{}", self.jira.base_url(), bug.item.id),
                "fields": { "project": { "key": "OPS" }, "summary": "as the webhook saw it" }
            }
        })
        .to_string();
        let signature =
            format!("sha256={}", tandem_simulators::webhooks::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()));
        ApiRequest::post(&self.name, "jira", body)
            .header("x-hub-signature", &signature)
            .header("x-atlassian-webhook-identifier", delivery)
    }

    pub fn ado_copies(&self) -> usize {
        self.ado.work_item_count()
    }

    pub async fn stop(self) {
        self.jira.stop().await;
        self.ado.stop().await;
    }
}

async fn admin() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&tandem_aws_config::from_env().await)
}

/// An API Gateway HTTP API (payload format 2.0) request, written as the JSON Lambda receives.
pub struct ApiRequest {
    integration: String,
    system: String,
    headers: serde_json::Map<String, Value>,
    body: String,
    /// Sent to a Lambda function URL rather than the HTTP API: no route, no path parameters.
    function_url: bool,
}

impl ApiRequest {
    pub fn post(integration: &str, system: &str, body: String) -> ApiRequest {
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), json!("application/json"));
        headers.insert("user-agent".into(), json!("Atlassian Webhook HTTP Client"));
        ApiRequest { integration: integration.into(), system: system.into(), headers, body, function_url: false }
    }

    /// The same request sent to the function's URL: the event has the same form (payload 2.0) without a
    /// route or path parameters, as AWS documents function URL events.
    pub fn via_function_url(mut self) -> ApiRequest {
        self.function_url = true;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> ApiRequest {
        self.headers.insert(name.into(), json!(value));
        self
    }

    /// The event as API Gateway (or the function URL) sends it, parsed the way `lambda_http` parses it,
    /// with a Lambda context whose deadline is `remaining` away.
    pub fn event(&self, remaining: Duration) -> Request {
        let path = format!("/hooks/{}/{}", self.integration, self.system);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970");
        // What differs: a function URL has no route (`$default`), no path parameters, and its own host.
        let (route, account, api, domain) = match self.function_url {
            false => (
                "POST /hooks/{integration}/{system}",
                "123456789012",
                "r3pmxmplak",
                "execute-api.us-east-1.amazonaws.com",
            ),
            true => ("$default", "anonymous", "a3zmxmplurl", "lambda-url.us-east-1.on.aws"),
        };
        let mut event = json!({
            "version": "2.0",
            "routeKey": route,
            "rawPath": path,
            "rawQueryString": "",
            "headers": self.headers,
            "requestContext": {
                "accountId": account,
                "apiId": api,
                "domainName": format!("{api}.{domain}"),
                "domainPrefix": api,
                "http": {
                    "method": "POST",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "185.166.143.12",
                    "userAgent": "Atlassian Webhook HTTP Client"
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": route,
                "stage": "$default",
                "time": "22/Nov/2026:10:00:00 +0000",
                "timeEpoch": now.as_millis() as u64
            },
            "body": self.body,
            "isBase64Encoded": false
        });
        if !self.function_url {
            event["pathParameters"] = json!({ "integration": self.integration, "system": self.system });
        }
        let request = lambda_http::request::from_str(&event.to_string()).expect("a valid payload 2.0 event");
        request.with_lambda_context(context(remaining))
    }
}

fn context(remaining: Duration) -> Context {
    let deadline = SystemTime::now() + remaining;
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline = deadline.duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as u64;
    context
}

/// What the webhook function answered: status and JSON body.
pub async fn invoke_webhook(runtime: &Runtime, request: Request) -> (u16, Value) {
    let response = tandem_webhook_function::handler::handle(runtime, request).await.expect("a response");
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("a JSON answer"),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

/// EventBridge's "Scheduled Event", as a schedule rule sends it.
pub fn scheduled_event(remaining: Duration) -> LambdaEvent<EventBridgeEvent> {
    let text = json!({
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
    .to_string();
    let event: EventBridgeEvent = serde_json::from_str(&text).expect("a valid EventBridge event");
    LambdaEvent::new(event, context(remaining))
}

pub async fn invoke_poller(runtime: &Runtime, remaining: Duration) -> PollSummary {
    tandem_poller_function::handler::handle(runtime, scheduled_event(remaining)).await.expect("a poll summary")
}

/// What tests of rotation and stored configurations need beyond the usual world.
impl World {
    /// `secret` as named under this world's secret prefix (the one its containers may read).
    pub fn secret_name(&self, secret: &str) -> String {
        format!("{}{secret}", self.secret_prefix)
    }

    /// The world's integration configuration, as stored in the registry.
    pub fn integration_yaml(&self) -> String {
        self.config_yaml()
    }

    /// Stores `yaml` as integration `name` in this world's table and activates it, as an operator does.
    pub async fn add_integration(&self, name: &str, yaml: &str) {
        let store = self.store().await;
        store.put_integration(name, yaml).await.expect("store the integration");
        assert!(store.set_active(name, true).await.expect("activate"));
    }

    /// Creates secret `name` (any name, inside the prefix or not) with `value`.
    pub async fn create_secret(&self, name: &str, value: &Value) {
        admin()
            .await
            .create_secret()
            .name(name)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap_or_else(|error| panic!("creating secret {name}: {error:?}"));
    }

    /// Gives secret `name` a new current value (`PutSecretValue`), as rotating it does.
    pub async fn put_secret_value(&self, name: &str, value: &Value) {
        admin()
            .await
            .put_secret_value()
            .secret_id(name)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap_or_else(|error| panic!("rotating secret {name}: {error:?}"));
    }

    /// A container whose table does not exist: every store call fails, secrets still come from the world.
    pub async fn container_on_a_missing_table() -> Runtime {
        let source = SecretsManagerSource::from_env().await;
        Runtime::new(
            DynamoStore::from_env("tandem-no-such-table").await,
            Arc::new(CachedSecrets::new(source, SECRET_TTL)),
        )
    }

    /// A container like [`World::container`] that may read the secrets starting with `prefix`.
    pub async fn container_with_secret_prefix(&self, prefix: &str) -> Runtime {
        self.container().await.with_secret_prefix(prefix)
    }
}

impl World {
    /// A Jira connector on this world's site signing in as `email` with `api_token`.
    pub fn jira_connector_as(&self, email: &str, api_token: &str) -> JiraConnector {
        JiraConnector::new(
            JiraConfig {
                base_url: self.jira.base_url().to_string(),
                project_key: "OPS".into(),
                issue_type: "Bug".into(),
            }
            .validate()
            .expect("Jira settings"),
            &Credentials::JiraApiToken {
                email: email.to_string(),
                api_token: SecretString::new(api_token.to_string()),
            },
            tandem_jira::RetryPolicy::fast(),
        )
        .expect("a Jira connector")
    }
}

impl ApiRequest {
    /// The same delivery POSTed to another integration's path.
    pub fn addressed_to(mut self, integration: &str) -> ApiRequest {
        self.integration = integration.to_string();
        self
    }
}
