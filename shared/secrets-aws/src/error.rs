//! What a failed GetSecretValue call becomes: the port's `SecretError`, with the SDK's error kept as
//! the source once the raw HTTP response is taken out of it.

use aws_sdk_secretsmanager::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use tandem_engine::ports::SecretError;

/// A failed GetSecretValue call: the SDK's error without the raw HTTP response it carries.
///
/// Nothing in here can hold a secret value:
/// - Secrets Manager sends a value only in a successful answer. A service error is an error answer
///   (code, message, request id), which never carries one.
/// - The one SDK error made from a successful answer is a response error (the answer could not be
///   read). Its raw response, whose `Debug` prints the body, is dropped here; what is kept is the
///   JSON deserializer's error, which names a position and at most one offending character.
/// - Construction, timeout and dispatch failures happen before any answer arrives.
#[derive(Debug, thiserror::Error)]
#[error("GetSecretValue failed: {stage}")]
pub struct SecretsManagerError {
    /// The SDK's own summary of where the call failed ("service error", "dispatch failure", …).
    stage: String,
    #[source]
    source: BoxError,
}

impl SecretsManagerError {
    /// The error code Secrets Manager answered with (`ThrottlingException`, `AccessDeniedException`,
    /// …), when the call got as far as an answer.
    pub fn code(&self) -> Option<&str> {
        self.source.downcast_ref::<GetSecretValueError>().and_then(ProvideErrorMetadata::code)
    }
}

impl From<SdkError<GetSecretValueError>> for SecretsManagerError {
    fn from(error: SdkError<GetSecretValueError>) -> SecretsManagerError {
        let stage = error.to_string();
        let source = match error.into_source() {
            Ok(source) => source,
            // Not reached with today's SDK (every kind of error has a source); should a new kind
            // lack one, its fixed summary is all that is kept, never its raw response.
            Err(error) => BoxError::from(error.to_string()),
        };
        SecretsManagerError { stage, source }
    }
}

/// The port's error for a failed read of `secret_id`. A missing secret is `NotFound`; everything else
/// — throttling, 5xx, the network, but also access denied or an undecryptable secret, for which the
/// port has no separate variant — is `Unavailable`. The SDK has already retried what it considers
/// transient (standard retry mode) before this is reached.
pub(crate) fn secret_error(secret_id: &str, error: SdkError<GetSecretValueError>) -> SecretError {
    if error.as_service_error().is_some_and(GetSecretValueError::is_resource_not_found_exception) {
        return SecretError::NotFound { name: secret_id.to_owned() };
    }
    SecretError::Unavailable { name: secret_id.to_owned(), source: Box::new(SecretsManagerError::from(error)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::config::http::HttpResponse;
    use aws_sdk_secretsmanager::types::error::{InternalServiceError, ResourceNotFoundException};

    const VALUE: &str = "ado-pat-value-in-a-cut-off-answer";

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            status.try_into().expect("a valid status code"),
            // The SDK's body type is not re-exported; `into` names it for us.
            body.to_owned().into(),
        )
    }

    /// `{}` and `{:?}` of an error and of every error in its source chain.
    fn shown(error: &(dyn std::error::Error + 'static)) -> String {
        let mut shown = String::new();
        let mut next = Some(error);
        while let Some(error) = next {
            shown.push_str(&format!("{error}\n{error:?}\n"));
            next = error.source();
        }
        shown
    }

    #[test]
    fn a_missing_secret_is_not_found() {
        let error = SdkError::service_error(
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Secrets Manager can't find the specified secret.")
                    .build(),
            ),
            answer(400, r#"{"__type":"ResourceNotFoundException"}"#),
        );
        let error = secret_error("tandem/ops/ado", error);
        assert!(matches!(&error, SecretError::NotFound { name } if name == "tandem/ops/ado"), "{error:?}");
    }

    #[test]
    fn a_server_error_is_unavailable_and_keeps_its_code() {
        let error = SdkError::service_error(
            GetSecretValueError::InternalServiceError(
                InternalServiceError::builder()
                    .meta(aws_sdk_secretsmanager::error::ErrorMetadata::builder().code("InternalServiceError").build())
                    .build(),
            ),
            answer(500, r#"{"__type":"InternalServiceError"}"#),
        );
        let error = secret_error("tandem/ops/ado", error);
        assert!(error.is_retryable(), "{error:?}");
        let SecretError::Unavailable { source, .. } = &error else {
            panic!("expected Unavailable, got {error:?}");
        };
        let source = source.downcast_ref::<SecretsManagerError>().expect("the SDK error is the source");
        assert_eq!(source.code(), Some("InternalServiceError"));
        assert!(shown(&error).contains("service error"), "{}", shown(&error));
    }

    #[test]
    fn an_unreadable_answer_does_not_keep_its_body() {
        let body = format!(r#"{{"Name":"tandem/ops/ado","SecretString":"{VALUE}"#);
        let raw: SdkError<GetSecretValueError> =
            SdkError::response_error("unexpected end of stream", answer(200, &body));
        assert!(
            format!("{raw:?}").contains(VALUE),
            "the SDK's own error shows the body, which is why it is taken apart"
        );
        let error = secret_error("tandem/ops/ado", raw);
        assert!(error.is_retryable(), "{error:?}");
        let shown = shown(&error);
        assert!(!shown.contains(VALUE), "{shown}");
        assert!(shown.contains("unexpected end of stream"), "{shown}");
    }
}
