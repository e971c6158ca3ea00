//! The store handle and the plain reads and writes every record kind shares.

use crate::error::{request_failed, Item};
use crate::keys::{Key, PK, SK};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use tandem_engine::ports::StoreError;

/// The engine's store traits on one DynamoDB table (see the crate documentation for its layout).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    /// The side-1 item each side-2 item's link is stored under, as its pointer said: a pointer is
    /// written with its link and never changed, so it is read once per container.
    pub(crate) pointers: std::sync::Arc<crate::links::Pointers>,
    /// The creation claims this process holds, as it wrote them (renewed on exactly that).
    pub(crate) held: std::sync::Arc<crate::claims::HeldClaims>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into(), pointers: Default::default(), held: Default::default() }
    }

    /// A store on `table` with the SDK's usual configuration from the environment: `AWS_REGION`,
    /// credentials (variables, profile, or the Lambda role), and `AWS_ENDPOINT_URL` for a local server.
    ///
    /// Each attempt of a call gets `tandem_aws_config::ATTEMPT_TIMEOUT`. A timed-out attempt is retried
    /// like any other transient error: a write that landed meanwhile is either the same record written
    /// again or fails its own condition, which the engine takes as a change to read again.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = tandem_aws_config::from_env().await;
        DynamoStore::new(Client::new(&config), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn failed<E, R>(&self, doing: &str, error: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        request_failed(doing, &self.table, error)
    }

    /// Whether a conditional write was made: `false` when its condition did not hold (nothing was
    /// written), an error for any other failure.
    pub(crate) fn written_if<O, E, R>(&self, result: Result<O, SdkError<E, R>>, doing: &str) -> Result<bool, StoreError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(self.failed(doing, error)),
        }
    }

    /// The item at `key`, read strongly consistently: the engine reads what it just wrote.
    pub(crate) async fn get(&self, key: &Key, doing: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| self.failed(doing, error))?;
        Ok(output.item)
    }

    /// Writes `item` (which holds its key) unconditionally.
    pub(crate) async fn put(&self, item: Item, doing: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| self.failed(doing, error))?;
        Ok(())
    }

    /// Every item of partition `pk` whose sort key starts with `sk_prefix`, all pages, strongly
    /// consistent.
    pub(crate) async fn query(
        &self,
        pk: String,
        sk_prefix: Option<String>,
        doing: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk));
        request = match sk_prefix {
            Some(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix)),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let mut pages = request.into_paginator().send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.failed(doing, error))?;
            items.extend(page.items.unwrap_or_default());
        }
        Ok(items)
    }
}

/// `key`'s attributes plus `attributes`: a whole item to write.
/// Whether a request failed only because its condition did not hold.
pub(crate) fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    error.as_service_error().and_then(|error| error.code()) == Some("ConditionalCheckFailedException")
}

pub(crate) fn item_at(key: &Key, attributes: impl IntoIterator<Item = (&'static str, AttributeValue)>) -> Item {
    let mut item = key.attributes();
    item.extend(attributes.into_iter().map(|(name, value)| (name.to_owned(), value)));
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::BehaviorVersion;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};
    use std::error::Error as _;
    use tandem_engine::ports::WatermarkStore;
    use tandem_model::Side;

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable_and_retryable() {
        // Port 9 (discard) has no listener here: the connection is refused at once.
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(tandem_aws_config::https_client())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .retry_config(RetryConfig::disabled())
            .build();
        let store = DynamoStore::new(Client::from_conf(config), "tandem");
        let error = store.get_watermark("ops", Side::One).await.expect_err("nothing listens");
        assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
        assert!(error.is_retryable());
        assert!(error.to_string().contains("reading a watermark in table tandem"), "{error}");
        assert!(error.source().is_some(), "the SDK error is kept");
    }
}
