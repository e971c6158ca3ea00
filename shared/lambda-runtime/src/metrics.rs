//! The functions' metrics, as CloudWatch embedded-metric-format lines: printed to stdout, each becomes
//! metrics in the `Tandem` namespace without dimensions, which the template's alarms watch. No API call,
//! no permission: CloudWatch Logs extracts them.

/// The namespace the template's alarms read.
pub const NAMESPACE: &str = "Tandem";

/// One embedded-metric-format line holding `metrics` (name, count) at `now`.
pub fn metric_line(now: chrono::DateTime<chrono::Utc>, metrics: &[(&str, u64)]) -> String {
    let definitions: Vec<serde_json::Value> =
        metrics.iter().map(|(name, _)| serde_json::json!({ "Name": name, "Unit": unit(name) })).collect();
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": definitions }]
        }
    });
    for (name, value) in metrics {
        line[*name] = serde_json::json!(value);
    }
    line.to_string()
}

/// Lags are in seconds; everything else counts.
fn unit(name: &str) -> &'static str {
    if name.ends_with("Seconds") {
        "Seconds"
    } else {
        "Count"
    }
}

/// The calls made to each system since they were last reported (see [`tandem_http::take_call_counts`]):
/// one line per system, with `ApiCalls` and `RateLimited` under the dimension `System` (its slug).
pub fn api_call_lines(now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    tandem_http::take_call_counts()
        .into_iter()
        .map(|(system, counts)| {
            let mut line: serde_json::Value = serde_json::from_str(&metric_line(
                now,
                &[("ApiCalls", counts.calls), ("RateLimited", counts.rate_limited)],
            ))
            .expect("a metric line is JSON");
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = serde_json::json!([["System"]]);
            line["System"] = system.into();
            line.to_string()
        })
        .collect()
}

/// How often a warm webhook container reports its calls: a line per delivery would cost more in logs
/// than the counting is worth; the counts accumulate meanwhile, so none is lost while the container lives.
pub const API_CALL_REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// [`api_call_lines`] now, at most once per [`API_CALL_REPORT_INTERVAL`] in this process.
pub fn api_call_lines_due() -> Vec<String> {
    static LAST_REPORT: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let mut last = LAST_REPORT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.is_some_and(|at| at.elapsed() < API_CALL_REPORT_INTERVAL) {
        return Vec::new();
    }
    *last = Some(std::time::Instant::now());
    api_call_lines(chrono::Utc::now())
}

/// What the webhook function reports for an answer: a delivery it could not record (a 5xx, which the
/// sender retries) is counted in `DeliveriesNotRecorded`, the metric of the template's
/// `WebhookNotRecordedAlarm`; other answers report nothing.
pub fn delivery_metric_line(status: u16) -> Option<String> {
    (status >= 500).then(|| metric_line(chrono::Utc::now(), &[("DeliveriesNotRecorded", 1)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_embedded_metric_format_without_dimensions() {
        let at = chrono::DateTime::from_timestamp_millis(1_700_000_000_123).expect("a time");
        let line: serde_json::Value =
            serde_json::from_str(&metric_line(at, &[("PollErrors", 2), ("PollLagSeconds", 90)])).expect("JSON");
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_123_i64);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Tandem");
        assert_eq!(directive["Dimensions"], serde_json::json!([[]]));
        assert_eq!(directive["Metrics"][1], serde_json::json!({"Name": "PollLagSeconds", "Unit": "Seconds"}));
        assert_eq!((line["PollErrors"].clone(), line["PollLagSeconds"].clone()), (2.into(), 90.into()));
    }
}
