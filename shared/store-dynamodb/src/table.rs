//! Creating the table for tests and local tooling. Deployments create it from their template with the
//! same key schema and time to live.

use crate::keys::{EXPIRES_AT, PK, SK};
use crate::store::DynamoStore;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use std::time::Duration;

/// How long a new table may take to become active.
const ACTIVE_WITHIN: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{doing} table {table} failed: {detail}")]
    Request {
        table: String,
        doing: &'static str,
        detail: String,
        retryable: bool,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("table {table} is keyed by {found}; tandem needs the string keys `pk` (partition) and `sk` (sort)")]
    WrongKeys { table: String, found: String },
    #[error("table {table} expires items by attribute `{found}`; tandem needs `{EXPIRES_AT}`")]
    WrongTimeToLive { table: String, found: String },
}

impl TableError {
    /// Whether trying again later may succeed (the service was unreachable, throttled or failing).
    pub fn is_retryable(&self) -> bool {
        matches!(self, TableError::Request { retryable: true, .. })
    }
}

/// Errors without a service error code are timeouts and network failures: transient as well.
fn is_transient(error: &impl ProvideErrorMetadata) -> bool {
    matches!(
        error.code(),
        None | Some(
            "ThrottlingException"
                | "LimitExceededException"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "ResourceInUseException"
        )
    )
}

impl DynamoStore {
    fn table_failed<E>(&self, doing: &'static str, error: E) -> TableError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        TableError::Request {
            table: self.table.clone(),
            doing,
            detail: DisplayErrorContext(&error).to_string(),
            retryable: is_transient(&error),
            source: Box::new(error),
        }
    }

    /// A request part the SDK refused to build: a programming error, reported rather than panicking.
    fn built<T>(&self, doing: &'static str, part: Result<T, BuildError>) -> Result<T, TableError> {
        part.map_err(|error| TableError::Request {
            table: self.table.clone(),
            doing,
            detail: error.to_string(),
            retryable: false,
            source: Box::new(error),
        })
    }

    /// Creates the table (string keys `pk` and `sk`, on-demand billing) with time to live on
    /// `expires_at`, and waits until it is active. An existing table is kept if its keys are right.
    pub async fn create_table(&self) -> Result<(), TableError> {
        let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let string = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let doing = "creating";
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(self.built(doing, key(PK, KeyType::Hash))?)
            .key_schema(self.built(doing, key(SK, KeyType::Range))?)
            .attribute_definitions(self.built(doing, string(PK))?)
            .attribute_definitions(self.built(doing, string(SK))?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(error) if error.as_service_error().is_some_and(|error| error.is_resource_in_use_exception()) => {}
            Err(error) => return Err(self.table_failed(doing, error)),
        }

        let described = self
            .client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(ACTIVE_WITHIN)
            .await
            .map_err(|error| self.table_failed("waiting for", error))?
            .into_result()
            .map_err(|error| self.table_failed("describing", error))?;
        let keys: Vec<(String, String)> = described
            .table()
            .map(|table| {
                table
                    .key_schema()
                    .iter()
                    .map(|element| {
                        let name = element.attribute_name().to_owned();
                        let kind = table
                            .attribute_definitions()
                            .iter()
                            .find(|definition| definition.attribute_name() == name)
                            .map(|definition| definition.attribute_type().as_str().to_owned())
                            .unwrap_or_default();
                        (format!("{name} {}", element.key_type().as_str()), kind)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let expected = [(format!("{PK} HASH"), "S".to_owned()), (format!("{SK} RANGE"), "S".to_owned())];
        if keys != expected {
            let found: Vec<String> = keys.iter().map(|(key, kind)| format!("{key} ({kind})")).collect();
            return Err(TableError::WrongKeys { table: self.table.clone(), found: found.join(", ") });
        }
        self.enable_time_to_live().await
    }

    async fn enable_time_to_live(&self) -> Result<(), TableError> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|error| self.table_failed("reading the time to live of", error))?;
        if let Some(current) = described.time_to_live_description() {
            let on =
                matches!(current.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
            match current.attribute_name() {
                Some(EXPIRES_AT) if on => return Ok(()),
                Some(other) if on => {
                    return Err(TableError::WrongTimeToLive { table: self.table.clone(), found: other.to_owned() })
                }
                _ => {}
            }
        }
        let doing = "enabling the time to live of";
        let specification = TimeToLiveSpecification::builder().enabled(true).attribute_name(EXPIRES_AT).build();
        let specification = self.built(doing, specification)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(specification)
            .send()
            .await
            .map_err(|error| self.table_failed(doing, error))?;
        Ok(())
    }
}
