//! What tandem writes to its log while it syncs, counted in bytes as CloudWatch Logs bills them: the
//! engine's lines, formatted exactly as the functions format them, go to a counter instead of stdout.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::fmt::MakeWriter;

/// The span every line of a deployed function carries and no bench run has: Lambda's invocation
/// (`{"requestId":…,"xrayTraceId":…,"name":"Lambda runtime invoke"}`, measured in `function-bench`'s
/// logs), with its comma.
pub const LAMBDA_SPAN_BYTES_PER_LINE: u64 = 175;

/// What the functions log at their default level (`RUST_LOG=info`), less the simulators, which only the
/// bench runs, and the bench itself.
pub const FILTER: &str = "info,tandem_simulators=off,tandem_bench=off,tower_http=off";

static BYTES: AtomicU64 = AtomicU64::new(0);
static LINES: AtomicU64 = AtomicU64::new(0);

/// Bytes and lines logged so far in this process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Logged {
    pub bytes: u64,
    pub lines: u64,
}

impl Logged {
    pub fn now() -> Logged {
        Logged { bytes: BYTES.load(Ordering::Relaxed), lines: LINES.load(Ordering::Relaxed) }
    }

    /// What a deployed function would have logged between `earlier` and this: the lines as counted,
    /// each with Lambda's invocation span.
    pub fn deployed_bytes_since(&self, earlier: &Logged) -> u64 {
        let lines = self.lines.saturating_sub(earlier.lines);
        self.bytes.saturating_sub(earlier.bytes) + lines * LAMBDA_SPAN_BYTES_PER_LINE
    }
}

/// Counts what is written to it, and keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter;

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BYTES.fetch_add(buf.len() as u64, Ordering::Relaxed);
        LINES.fetch_add(buf.iter().filter(|byte| **byte == b'\n').count() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Counter {
    type Writer = Counter;

    fn make_writer(&'a self) -> Self::Writer {
        Counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_counts_its_bytes_and_lambdas_span() {
        let before = Logged::now();
        Counter.write_all(b"{\"level\":\"INFO\"}\n").expect("counted");
        let after = Logged::now();
        // Other tests may log meanwhile: at least this line is counted.
        assert!(after.deployed_bytes_since(&before) >= 17 + LAMBDA_SPAN_BYTES_PER_LINE);
    }
}
