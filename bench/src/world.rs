//! What the functions run against: moto's DynamoDB and Secrets Manager (`infra/local-aws.sh`), a table
//! and secrets of the bench's own, the Jira and Azure DevOps simulators, and one active integration
//! between them in the registry — as an operator sets up a deployment.

use crate::aws_relay::AwsRelay;
use crate::error::BenchError;
use serde_json::{json, Value};
use tandem_engine::ports::Connector;
use tandem_jira::{JiraConfig, JiraConnector};
use tandem_model::{AttachmentContent, Credentials, FieldMap, FieldValue, Item, RichText, SecretString};
use tandem_simulators::azure_devops::{AzureDevopsSimConfig, AzureDevopsSimulator, RunningAzureDevops};
use tandem_simulators::jira::{JiraSimConfig, JiraSimulator, RunningJira, SimUser};
use tandem_store_dynamodb::DynamoStore;

/// Exchanges each simulator keeps.
const RECORDED_EXCHANGES: usize = 100;

/// The largest file an integration may copy (`attachments.max_bytes` at its most, 30 MB): the
/// integration here copies files up to it, and the file scenario attaches one that size.
pub const LARGEST_FILE_BYTES: usize = 31_457_280;
/// Where the SDK sends its requests: moto, or the relay in front of it.
const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL";
/// The AWS settings a Lambda container gets from its environment (region, the role's credentials),
/// passed on from the bench's own; `AWS_ENDPOINT_URL` points the SDK at moto.
const AWS_VARIABLES: [&str; 5] =
    ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];

pub struct World {
    /// The integration's name, the first segment of its webhook path.
    pub integration: String,
    pub jira: RunningJira,
    pub ado: RunningAzureDevops,
    /// The HMAC secret Jira signs this integration's webhooks with.
    pub webhook_secret: String,
    table: String,
    secret_prefix: String,
    /// Alice, who files and edits bugs in Jira by hand.
    alice: JiraConnector,
}

impl World {
    /// A fresh table and secret prefix (so repeated runs never see each other's state), both
    /// simulators, and an active integration syncing Jira bugs with Azure DevOps bugs.
    pub async fn start() -> Result<World, BenchError> {
        if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
            return Err(BenchError::LocalAwsMissing);
        }
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let table = format!("tandem-bench-{unique}");
        DynamoStore::from_env(&table)
            .await
            .create_table()
            .await
            .map_err(|source| BenchError::Table { table: table.clone(), source })?;
        // The bench measures the functions: the simulators skip checking every exchange against the
        // vendors' OpenAPI files, which would dominate the time of megabyte-sized requests.
        // Nor do they keep many exchanges: a backfill's search pages (up to a few MB each) would fill
        // the memory.
        let jira = JiraSimulator::start(JiraSimConfig {
            check_contract: false,
            recorded_exchanges: RECORDED_EXCHANGES,
            ..JiraSimConfig::default()
        })
        .await
        .map_err(BenchError::JiraSimulator)?;
        let ado = AzureDevopsSimulator::start(AzureDevopsSimConfig {
            check_contract: false,
            recorded_exchanges: RECORDED_EXCHANGES,
            ..Default::default()
        })
        .await
        .map_err(BenchError::AzureDevopsSimulator)?;
        let secret_prefix = format!("tandem-bench/{unique}/");
        let webhook_secret = uuid::Uuid::new_v4().simple().to_string();
        let client = aws_sdk_secretsmanager::Client::new(&tandem_aws_config::from_env().await);
        for (name, value) in secrets(&secret_prefix, &ado, &webhook_secret) {
            client
                .create_secret()
                .name(&name)
                .secret_string(value.to_string())
                .send()
                .await
                .map_err(|source| BenchError::Secret { name, source: Box::new(source) })?;
        }
        let alice = SimUser::alice();
        let alice = JiraConnector::new(
            JiraConfig { base_url: jira.base_url().to_string(), project_key: "OPS".into(), issue_type: "Bug".into() }
                .validate()
                .map_err(BenchError::JiraSettings)?,
            &Credentials::JiraApiToken { email: alice.email, api_token: SecretString::new(alice.api_token) },
            tandem_jira::RetryPolicy::fast(),
        )
        .map_err(BenchError::JiraBug)?;
        let world = World {
            integration: format!("bench-{}", &unique[..12]),
            jira,
            ado,
            webhook_secret,
            table,
            secret_prefix,
            alice,
        };
        world.register().await?;
        Ok(world)
    }

    /// The secrets the integration names, as stored: name and credentials.
    pub fn secrets(&self) -> [(String, Value); 4] {
        secrets(&self.secret_prefix, &self.ado, &self.webhook_secret)
    }

    /// The integration as an operator stores it: the simulators' URLs, users mapped inline (a
    /// stored configuration has no folder for a users file).
    pub fn config_yaml(&self) -> String {
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
users:
  match_by_email: true
  map:
    - {{ side1: alice@example.com, side2: alice@fabrikam.example }}
fields:
  - name: title
    side1: summary
    side2: System.Title
  - name: description
    side1: description
    side2: System.Description
    kind: rich-text
  - name: priority
    side1: priority
    side2: Microsoft.VSTS.Common.Priority
    kind: option
    values: {{ Highest: 1, High: 2, Medium: 3, Low: 4, Lowest: 4 }}
    reverse: {{ 4: Low }}
    default: {{ side1: Medium, side2: 3 }}
attachments:
  max_bytes: {largest_file}
"#,
            largest_file = LARGEST_FILE_BYTES,
            name = self.integration,
            prefix = self.secret_prefix,
            jira = self.jira.base_url(),
            ado = self.ado.organization_url(),
        )
    }

    async fn register(&self) -> Result<(), BenchError> {
        let store = DynamoStore::from_env(&self.table).await;
        let failed = |source| BenchError::Registry { integration: self.integration.clone(), source };
        store.put_integration(&self.integration, &self.config_yaml()).await.map_err(failed)?;
        store.set_active(&self.integration, true).await.map_err(failed)?;
        Ok(())
    }

    /// Alice attaches a file of `bytes` bytes to `bug` (bytes that do not compress, like most files).
    pub async fn attach_file(&self, bug: &Item, bytes: usize) -> Result<(), BenchError> {
        let mut content = vec![0u8; bytes];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for chunk in content.chunks_mut(8) {
            // xorshift: cheap bytes that neither compress nor repeat.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let file = AttachmentContent {
            name: "capture.pcap".into(),
            content_type: "application/octet-stream".into(),
            bytes: content.into(),
        };
        self.alice.upload_attachment(&bug.item.id, &file, "").await.map_err(BenchError::JiraBug)?;
        Ok(())
    }

    /// Alice files a bug in Jira, with `description` (ADF) when given.
    pub async fn file_bug(&self, summary: &str, description: Option<Value>) -> Result<Item, BenchError> {
        let mut fields: FieldMap = [
            ("summary".to_string(), FieldValue::Text(summary.to_string())),
            ("priority".to_string(), FieldValue::Text("High".to_string())),
        ]
        .into_iter()
        .collect();
        if let Some(document) = description {
            fields.insert("description".into(), FieldValue::RichText(RichText::Adf(document)));
        }
        self.alice.create_item(&fields, None).await.map_err(BenchError::JiraBug)
    }

    /// The functions' own settings (`TANDEM_*`, see `tandem_lambda_runtime::Runtime::from_env`) and
    /// the AWS settings a container gets.
    pub fn function_environment(&self, relay: &AwsRelay) -> Vec<(String, String)> {
        let mut environment = vec![
            (tandem_lambda_runtime::TABLE_VARIABLE.to_string(), self.table.clone()),
            (tandem_lambda_runtime::SECRET_PREFIX_VARIABLE.to_string(), self.secret_prefix.clone()),
            (ENDPOINT_VARIABLE.to_string(), relay.endpoint()),
        ];
        environment.extend(
            AWS_VARIABLES
                .iter()
                .filter(|name| **name != ENDPOINT_VARIABLE)
                .filter_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value))),
        );
        environment
    }

    /// Moto's address, which the functions reach through a relay timing its answers.
    pub async fn aws_relay(&self) -> Result<AwsRelay, BenchError> {
        let moto = std::env::var(ENDPOINT_VARIABLE).map_err(|_| BenchError::LocalAwsMissing)?;
        AwsRelay::start(&moto).await
    }

    pub async fn stop(self) {
        self.jira.stop().await;
        self.ado.stop().await;
    }
}

/// The service accounts' and the webhooks' secrets, named under `prefix`.
fn secrets(prefix: &str, ado: &RunningAzureDevops, webhook_secret: &str) -> [(String, Value); 4] {
    let service = SimUser::service_account();
    [
        ("jira", json!({ "kind": "jira-api-token", "email": service.email, "api_token": service.api_token })),
        ("ado", json!({ "kind": "azure-devops-pat", "pat": ado.service_account().pat })),
        ("jira-webhook", json!({ "kind": "webhook-hmac", "secret": webhook_secret })),
        ("ado-webhook", json!({ "kind": "webhook-basic", "username": "tandem", "password": webhook_secret })),
    ]
    .map(|(name, value)| (format!("{prefix}{name}"), value))
}
