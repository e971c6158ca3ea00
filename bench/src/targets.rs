//! The figures tandem is held to (issue 13), in one place: each bench prints its measurement beside the
//! target and the ratio, so a run says at a glance what is met and by how far what is not.

/// tandem's own time from webhook to target written, p99, with zero-latency dependencies.
pub const TANDEM_P99_MS: f64 = 5.0;
/// Backfill throughput at 20 ms API latency.
pub const BACKFILL_ITEMS_PER_S: f64 = 200.0;
/// Under a rate limit, the share of the quota's ceiling a backfill still reaches.
pub const FRACTION_OF_CEILING: f64 = 0.90;
/// Cold start, exec to first event handled.
pub const COLD_START_MS: f64 = 20.0;
/// Peak resident memory while backfilling 100,000 items, in MiB.
pub const BACKFILL_PEAK_RSS_MIB: f64 = 64.0;
/// Peak resident memory of the webhook function copying the largest file an integration may copy (30
/// MB): under its 128 MB in `template.yaml`, with a fifth left for what Lambda's sandbox takes besides.
pub const WEBHOOK_PEAK_RSS_MIB: f64 = 102.0;
/// Every charge per million synced changes, in US dollars.
pub const USD_PER_MILLION_CHANGES: f64 = 3.00;

/// `measured` beside `target`, with how many times the target it is (`6.2 ms, target ≤ 5 ms: 1.24×`).
pub fn beside(measured: f64, target: f64, unit: &str, at_most: bool) -> String {
    let bound = if at_most { "≤" } else { "≥" };
    let ratio = if target == 0.0 { f64::INFINITY } else { measured / target };
    let verdict = match at_most {
        true if measured <= target => "met",
        true => "over",
        false if measured >= target => "met",
        false => "short",
    };
    format!("{measured:.2} {unit}, target {bound} {target} {unit}: {ratio:.2}× ({verdict})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_reads_beside_its_target() {
        assert_eq!(beside(6.2, 5.0, "ms", true), "6.20 ms, target ≤ 5 ms: 1.24× (over)");
        assert_eq!(beside(4.0, 5.0, "ms", true), "4.00 ms, target ≤ 5 ms: 0.80× (met)");
        assert_eq!(beside(100.0, 200.0, "items/s", false), "100.00 items/s, target ≥ 200 items/s: 0.50× (short)");
        assert_eq!(beside(250.0, 200.0, "items/s", false), "250.00 items/s, target ≥ 200 items/s: 1.25× (met)");
    }
}
