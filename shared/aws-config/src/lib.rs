//! How every AWS client of tandem is configured: region, credentials and endpoint from the environment
//! (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, the Lambda role), and one HTTPS client on rustls
//! with ring, the crypto the connectors' HTTP client already links. The SDK's own default client would
//! add AWS-LC, a second crypto library, to every function package for nothing.

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTPS client every AWS client uses (for a client configured by hand, as tests do).
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The SDK configuration from the environment, with `timeouts` when given.
pub async fn from_env(timeouts: Option<TimeoutConfig>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
    if let Some(timeouts) = timeouts {
        loader = loader.timeout_config(timeouts);
    }
    loader.load().await
}
