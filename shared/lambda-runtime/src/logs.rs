//! The functions' logs: one JSON object per line, which CloudWatch Logs Insights queries by field.

use tracing_subscriber::EnvFilter;

/// Installs JSON logging at `RUST_LOG`'s level (`info` when unset). Call once, first thing in `main`.
pub fn init_json_logs() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // CloudWatch stamps every line itself; the target and span list only add noise.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .init();
}
