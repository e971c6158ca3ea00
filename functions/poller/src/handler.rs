//! One scheduled event: poll until the invocation's remaining time runs out, answer the summary.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use tandem_lambda_runtime::{poll_deadline, run_poll, PollSummary, Runtime};
use tracing::info;

pub async fn handle(runtime: &Runtime, event: LambdaEvent<EventBridgeEvent>) -> Result<PollSummary, Error> {
    let (event, context) = (event.payload, event.context);
    info!(source = %event.source, detail_type = %event.detail_type, id = ?event.id, "scheduled poll");
    // A context without a deadline (deadline 0) only happens outside Lambda; the default bound applies.
    let invocation_deadline = (context.deadline > 0).then(|| context.deadline());
    let summary = run_poll(runtime, poll_deadline(invocation_deadline)).await;
    // Embedded metric format: CloudWatch turns this stdout line into the ParkedFailures metric.
    let now = chrono::Utc::now();
    println!("{}", summary.metric_line(now));
    // The calls this run made to each system (and any a previous run left uncounted).
    for line in tandem_lambda_runtime::metrics::api_call_lines(now) {
        println!("{line}");
    }
    Ok(summary)
}
