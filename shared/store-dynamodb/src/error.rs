//! How DynamoDB answers become the engine's `StoreError`.

use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::fmt::Debug;
use tandem_engine::ports::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Maps a failed request to `StoreError`, naming what the store was doing and in which table.
///
/// A request DynamoDB refuses as invalid (a record over the 400 KB item limit, a key over its length
/// limit) will fail the same way every time, so it is `Corrupt`, not retryable. Everything else —
/// throttling, 5xx, timeouts, the network, a missing table, missing credentials — is `Unavailable`
/// (retryable) with the SDK error kept as the source. The SDK has already retried throttling and
/// transient errors with backoff by then.
pub(crate) fn request_failed<E, R>(doing: &str, table: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    match error.code() {
        Some("ValidationException") => StoreError::Corrupt {
            message: format!(
                "DynamoDB refused {doing} in table {table}: {}",
                error.message().unwrap_or("no reason given")
            ),
        },
        Some("ResourceNotFoundException") => StoreError::Unavailable {
            message: format!(
                "{doing}: table {table} does not exist (create it with `DynamoStore::create_table` or the \
                 deployment template)"
            ),
            source: Some(Box::new(error)),
        },
        _ => StoreError::Unavailable {
            message: format!("{doing} in table {table}: {}", DisplayErrorContext(&error)),
            source: Some(Box::new(error)),
        },
    }
}

/// Why a TransactWriteItems did not happen.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The conditions of these actions (their positions in the request) failed; each comes with the
    /// item as it was, when the action asked for it.
    ConditionsFailed(Vec<(usize, Option<Item>)>),
    /// Another write touched the same items at the same moment; nothing was decided.
    Contended,
    Failed(StoreError),
}

impl Refusal {
    pub fn condition_failed(&self, action: usize) -> bool {
        matches!(self, Refusal::ConditionsFailed(failed) if failed.iter().any(|(at, _)| *at == action))
    }

    /// The item as it was when the condition of `action` failed, if DynamoDB returned it.
    pub fn item_of(&mut self, action: usize) -> Option<Item> {
        match self {
            Refusal::ConditionsFailed(failed) => {
                failed.iter_mut().find(|(at, _)| *at == action).and_then(|(_, item)| item.take())
            }
            _ => None,
        }
    }
}

pub(crate) fn refusal<R>(doing: &str, table: &str, error: SdkError<TransactWriteItemsError, R>) -> Refusal
where
    R: Debug + Send + Sync + 'static,
{
    let reasons = match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled.cancellation_reasons(),
        _ => return Refusal::Failed(request_failed(doing, table, error)),
    };
    let failed: Vec<(usize, Option<Item>)> = reasons
        .iter()
        .enumerate()
        .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
        .map(|(action, reason)| (action, reason.item().cloned()))
        .collect();
    if !failed.is_empty() {
        Refusal::ConditionsFailed(failed)
    } else if let Some(invalid) = reasons.iter().find(|reason| reason.code() == Some("ValidationError")) {
        Refusal::Failed(StoreError::Corrupt {
            message: format!(
                "DynamoDB refused {doing} in table {table}: {}",
                invalid.message().unwrap_or("no reason given")
            ),
        })
    } else if reasons.iter().any(|reason| reason.code() == Some("TransactionConflict")) {
        Refusal::Contended
    } else {
        Refusal::Failed(request_failed(doing, table, error))
    }
}

/// A request part the SDK refused to build (a required field unset): a programming error, reported
/// rather than panicking. Not retryable, like every other request that can never succeed.
pub(crate) fn built<T>(part: Result<T, BuildError>, what: &str) -> Result<T, StoreError> {
    part.map_err(|error| StoreError::Corrupt { message: format!("cannot build {what}: {error}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_sdk_dynamodb::types::CancellationReason;
    use std::error::Error as _;

    fn service_error<E>(error: E) -> SdkError<E, ()> {
        SdkError::service_error(error, ())
    }

    fn get_item_error(code: &str, message: &str) -> SdkError<GetItemError, ()> {
        service_error(GetItemError::generic(ErrorMetadata::builder().code(code).message(message).build()))
    }

    fn cancelled(codes: &[&str]) -> SdkError<TransactWriteItemsError, ()> {
        let mut exception = TransactionCanceledException::builder().message("cancelled");
        for code in codes {
            exception = exception.cancellation_reasons(
                CancellationReason::builder().code(*code).message(format!("{code} of this action")).build(),
            );
        }
        service_error(TransactWriteItemsError::TransactionCanceledException(exception.build()))
    }

    #[test]
    fn throttling_is_retryable_and_keeps_the_sdk_error() {
        let error = request_failed("reading a link", "tandem", get_item_error("ThrottlingException", "slow down"));
        assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
        assert!(error.is_retryable());
        assert!(error.to_string().contains("reading a link"), "{error}");
        assert!(error.source().is_some());
    }

    #[test]
    fn a_missing_table_is_named() {
        let error = request_failed(
            "reading a link",
            "tandem-prod",
            get_item_error("ResourceNotFoundException", "Requested resource not found"),
        );
        assert!(error.is_retryable());
        assert!(error.to_string().contains("table tandem-prod does not exist"), "{error}");
    }

    #[test]
    fn an_invalid_request_is_not_retried() {
        let error = request_failed(
            "updating a link",
            "tandem",
            get_item_error("ValidationException", "Item size has exceeded the maximum allowed size"),
        );
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        assert!(!error.is_retryable());
        assert!(error.to_string().contains("maximum allowed size"), "{error}");
    }

    #[test]
    fn failed_conditions_are_told_apart_from_contention() {
        let mut refused = refusal_of(&["None", "ConditionalCheckFailed", "None"]);
        assert!(!refused.condition_failed(0));
        assert!(refused.condition_failed(1));
        assert_eq!(refused.item_of(1), None, "no item was asked for");

        let refused = refusal_of(&["TransactionConflict", "None"]);
        assert!(matches!(refused, Refusal::Contended), "{refused:?}");
        assert!(!refused.condition_failed(0));

        let refused = refusal_of(&["ThrottlingError", "None"]);
        assert!(matches!(&refused, Refusal::Failed(error) if error.is_retryable()), "{refused:?}");

        let refused = refusal_of(&["ValidationError", "None"]);
        assert!(
            matches!(&refused, Refusal::Failed(StoreError::Corrupt { message }) if message.contains("ValidationError of this action")),
            "{refused:?}"
        );
    }

    fn refusal_of(codes: &[&str]) -> Refusal {
        refusal("updating a link", "tandem", cancelled(codes))
    }
}
