//! The functions' logs: one JSON object per line, which CloudWatch Logs Insights queries by field.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Installs JSON logging at `RUST_LOG`'s level (`info` when unset). Call once, first thing in `main`.
pub fn init_json_logs() {
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry().with(json_lines(std::io::stdout).with_filter(filter)).init();
}

/// The functions' log lines, written to `writer`: what the benches count as the bytes CloudWatch Logs
/// ingests is formatted by this same layer.
pub fn json_lines<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // CloudWatch stamps every line itself; the target and the current span (also in the span list)
    // only add bytes.
    tracing_subscriber::fmt::layer()
        .json()
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .with_writer(writer)
}
