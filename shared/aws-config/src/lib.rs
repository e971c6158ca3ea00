//! How every AWS client of tandem is configured: region, credentials and endpoint from the environment
//! (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, the Lambda role), and one HTTPS client on rustls
//! with ring, the crypto the connectors' HTTP client already links. The SDK's own default client would
//! add AWS-LC, a second crypto library, to every function package for nothing.

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use std::time::Duration;

/// The HTTPS client every AWS client uses (for a client configured by hand, as tests do).
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// How long one attempt of an AWS call may take: far beyond DynamoDB's and Secrets Manager's
/// milliseconds, and beyond a local stand-in's seconds under load, yet short of any function's deadline.
/// The SDK sets no limit by default, and a call that never
/// answers (a stalled connection) would hold a function past its own deadline, where the poller can no
/// longer record where it stopped and a webhook's sender has given up: a timed-out attempt is retried
/// like any other transient error, then reported.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The SDK configuration from the environment, every call's attempts limited to [`ATTEMPT_TIMEOUT`].
pub async fn from_env() -> SdkConfig {
    let timeouts = TimeoutConfig::builder().operation_attempt_timeout(ATTEMPT_TIMEOUT).build();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).timeout_config(timeouts).load().await
}
