//! Scenario d: what a million synced changes cost on AWS, from the measured work per change and list
//! prices. Only the figures measured by the other scenarios go in; the prices and the vendor latency
//! are assumptions, printed with the estimate.

use super::dynamo_calls::DynamoTally;
use serde::Serialize;

/// Prices and the vendor latency the estimate assumes (us-east-1 list prices, no free tier).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostAssumptions {
    /// Lambda arm64 memory size: the webhook function's in `template.yaml` (a test keeps them equal).
    pub lambda_memory_mb: u32,
    /// The memory size at which Lambda gives a function one whole vCPU; below it, CPU in proportion.
    pub lambda_memory_mb_per_vcpu: u32,
    /// Lambda arm64 compute, per GB-second.
    pub lambda_usd_per_gb_second: f64,
    pub lambda_usd_per_million_requests: f64,
    /// What one Jira or Azure DevOps API call takes in production; Lambda is billed while it waits, once
    /// for calls made at once.
    pub vendor_call_ms: f64,
    pub dynamodb_usd_per_million_write_units: f64,
    pub dynamodb_usd_per_million_read_units: f64,
    /// API Gateway HTTP API, per million requests (the webhook endpoint `template.yaml` deploys). A
    /// Lambda function URL has no per-request charge.
    pub http_api_usd_per_million_requests: f64,
    /// CloudWatch Logs ingestion, per GB.
    pub logs_usd_per_gb: f64,
    /// Lambda's own log bytes per delivery: none at the template's `PlatformLogLevel` WARN, which leaves
    /// out its START and REPORT lines (about 330 bytes an invocation at INFO). tandem's own lines are
    /// measured ([`ChangeWork::log_bytes`]).
    pub platform_log_bytes_per_delivery: f64,
    /// The HTTP API's access log line per request (`AccessLogSettings` in `template.yaml`).
    pub access_log_bytes_per_request: f64,
    /// Secrets Manager, per 10,000 API calls.
    pub secrets_usd_per_10k_calls: f64,
    /// Secrets Manager calls per cold start: one BatchGetSecretValue reads both sides' credentials and
    /// webhook secrets (then cached).
    pub secret_reads_per_cold_start: f64,
    /// Deliveries per cold start (an execution environment serves many deliveries while it is warm).
    pub deliveries_per_cold_start: f64,
}

/// The target the cost per million changes is held to, every charge counted.
pub const TARGET_USD_PER_MILLION_CHANGES: f64 = crate::targets::USD_PER_MILLION_CHANGES;

impl Default for CostAssumptions {
    fn default() -> Self {
        CostAssumptions {
            lambda_memory_mb: 128,
            lambda_memory_mb_per_vcpu: 1769,
            lambda_usd_per_gb_second: 0.000_013_333_4,
            lambda_usd_per_million_requests: 0.20,
            vendor_call_ms: 150.0,
            dynamodb_usd_per_million_write_units: 0.625,
            dynamodb_usd_per_million_read_units: 0.125,
            http_api_usd_per_million_requests: 1.00,
            logs_usd_per_gb: 0.50,
            platform_log_bytes_per_delivery: 0.0,
            access_log_bytes_per_request: 350.0,
            secrets_usd_per_10k_calls: 0.05,
            secret_reads_per_cold_start: 1.0,
            deliveries_per_cold_start: 100.0,
        }
    }
}

impl CostAssumptions {
    /// The share of a vCPU Lambda gives the function at its memory size: tandem's own time, measured on
    /// a whole core here, takes that much longer there.
    pub fn cpu_share(&self) -> f64 {
        (f64::from(self.lambda_memory_mb) / f64::from(self.lambda_memory_mb_per_vcpu.max(1))).min(1.0)
    }

    /// The assumptions in words, for the report.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "Lambda arm64, {} MB: ${} per GB-s and ${:.2} per million requests (list prices, no free tier); \
                 one request per webhook delivery, echoes of tandem's own writes included",
                self.lambda_memory_mb, self.lambda_usd_per_gb_second, self.lambda_usd_per_million_requests
            ),
            format!(
                "Lambda duration per change = tandem's measured own time (one core here) ÷ its CPU share at {} MB \
                 ({:.3} of a vCPU: a whole one at {} MB) + {} ms per vendor wait: the calls made one \
                 after the other, those made at once counting once (measured: the simulators' wall time at {} ms a \
                 call, divided by {} ms)",
                self.lambda_memory_mb,
                self.cpu_share(),
                self.lambda_memory_mb_per_vcpu,
                self.vendor_call_ms,
                super::per_change::WAIT_PROBE_LATENCY_MS,
                super::per_change::WAIT_PROBE_LATENCY_MS
            ),
            format!(
                "DynamoDB on demand: ${} per million write units, ${} per million read units",
                self.dynamodb_usd_per_million_write_units, self.dynamodb_usd_per_million_read_units
            ),
            "DynamoDB units from the items' sizes as DynamoDB counts them: a write 1 unit per KB written (2 in a \
             transaction), a strongly consistent read 1 per 4 KB read (half when eventually consistent); an update \
             or delete, which does not show its item, as one under 1 KB"
                .into(),
            format!(
                "request routing: HTTP API ${:.2} per million requests (deployed today, with a {} B access-log line \
                 each), or a Lambda function URL at $0",
                self.http_api_usd_per_million_requests, self.access_log_bytes_per_request
            ),
            format!(
                "CloudWatch Logs ${:.2} per GB ingested: tandem's lines as measured (formatted as the functions \
                 format them, each with Lambda's invocation span), and {} B per delivery of Lambda's own \
                 (PlatformLogLevel WARN leaves out its START and REPORT lines)",
                self.logs_usd_per_gb, self.platform_log_bytes_per_delivery
            ),
            format!(
                "Secrets Manager ${:.2} per 10,000 calls, {} call per cold start (an integration's secrets read together), \
                 a cold start per {} deliveries",
                self.secrets_usd_per_10k_calls, self.secret_reads_per_cold_start, self.deliveries_per_cold_start
            ),
        ]
    }
}

/// DynamoDB capacity units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CapacityUnits {
    pub read: f64,
    pub write: f64,
}

/// The units DynamoDB bills for `tally`: measured from the items' sizes (see
/// [`super::dynamo_calls::units`]).
pub fn capacity_units(tally: &DynamoTally) -> CapacityUnits {
    let mut units = CapacityUnits::default();
    for counted in tally.operations.values() {
        units.read += counted.read_units;
        units.write += counted.write_units;
    }
    units
}

/// The measured work of one synced change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChangeWork {
    /// Webhook deliveries (Lambda invocations).
    pub deliveries: f64,
    /// tandem's own time over those deliveries, in milliseconds.
    pub tandem_ms: f64,
    /// The vendor calls waited for one after the other (calls made at once count once).
    pub vendor_waits: f64,
    /// `None` when the run did not use DynamoDB.
    pub dynamodb: Option<CapacityUnits>,
    /// What tandem logged over those deliveries, in bytes, as a deployed function logs it.
    pub log_bytes: f64,
}

/// Dollars per million changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostEstimate {
    /// Billed Lambda time per change.
    pub lambda_ms_per_change: f64,
    pub lambda_compute_usd: f64,
    pub lambda_requests_usd: f64,
    pub dynamodb_usd: Option<f64>,
    /// The HTTP API's requests; a function URL's are free.
    pub routing_usd: f64,
    /// Function logs, plus the HTTP API's access logs.
    pub logs_usd: f64,
    pub secrets_usd: f64,
    /// Every charge, with the HTTP API as the webhook endpoint.
    pub total_usd: f64,
    /// Every charge, with a Lambda function URL as the webhook endpoint (no routing charge, no access log).
    pub total_with_function_url_usd: f64,
}

impl CostEstimate {
    /// How far the total is from the target: 1.00 is on it, below is under it.
    pub fn ratio_to_target(&self) -> f64 {
        self.total_usd / TARGET_USD_PER_MILLION_CHANGES
    }
}

pub fn estimate(work: &ChangeWork, assumptions: &CostAssumptions) -> CostEstimate {
    const MILLION: f64 = 1_000_000.0;
    let lambda_ms_per_change =
        work.tandem_ms / assumptions.cpu_share() + assumptions.vendor_call_ms * work.vendor_waits;
    let gigabytes = f64::from(assumptions.lambda_memory_mb) / 1024.0;
    let lambda_compute_usd =
        MILLION * gigabytes * (lambda_ms_per_change / 1000.0) * assumptions.lambda_usd_per_gb_second;
    let lambda_requests_usd = work.deliveries * assumptions.lambda_usd_per_million_requests;
    let dynamodb_usd = work.dynamodb.map(|units| {
        units.read * assumptions.dynamodb_usd_per_million_read_units
            + units.write * assumptions.dynamodb_usd_per_million_write_units
    });
    const GB: f64 = 1e9;
    let routing_usd = work.deliveries * assumptions.http_api_usd_per_million_requests;
    let function_log_bytes = work.log_bytes + work.deliveries * assumptions.platform_log_bytes_per_delivery;
    let function_logs_usd = MILLION * function_log_bytes / GB * assumptions.logs_usd_per_gb;
    let access_logs_usd =
        MILLION * work.deliveries * assumptions.access_log_bytes_per_request / GB * assumptions.logs_usd_per_gb;
    let secret_reads =
        work.deliveries / assumptions.deliveries_per_cold_start * assumptions.secret_reads_per_cold_start;
    let secrets_usd = secret_reads * 100.0 * assumptions.secrets_usd_per_10k_calls;
    let shared =
        lambda_compute_usd + lambda_requests_usd + dynamodb_usd.unwrap_or(0.0) + function_logs_usd + secrets_usd;
    CostEstimate {
        lambda_ms_per_change,
        lambda_compute_usd,
        lambda_requests_usd,
        dynamodb_usd,
        routing_usd,
        logs_usd: function_logs_usd + access_logs_usd,
        secrets_usd,
        total_usd: shared + routing_usd + access_logs_usd,
        total_with_function_url_usd: shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::dynamo_calls::units::Billed;

    fn close(left: f64, right: f64) -> bool {
        (left - right).abs() < 1e-9 * right.abs().max(1.0)
    }

    #[test]
    fn units_are_the_sum_of_what_each_operation_was_billed() {
        let mut tally = DynamoTally::default();
        tally.add("GetItem", 1);
        tally.bill("GetItem", Billed { read: 1.0, write: 0.0 });
        tally.add("PutItem", 1);
        tally.bill("PutItem", Billed { read: 0.0, write: 3.0 });
        tally.add("DescribeTable", 1);
        assert_eq!(capacity_units(&tally), CapacityUnits { read: 1.0, write: 3.0 });
    }

    #[test]
    fn the_memory_priced_is_the_webhook_functions_as_deployed() {
        let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
            .expect("the template is readable");
        let webhook = template.split("\n  WebhookFunction:\n").nth(1).expect("the template has a webhook function");
        let memory = webhook
            .lines()
            .find_map(|line| line.trim().strip_prefix("MemorySize:"))
            .expect("the webhook function sets its memory")
            .trim();
        // A parameter's default, as `sam deploy` takes it unless told otherwise.
        let memory = match memory.strip_prefix("!Ref ") {
            Some(parameter) => template
                .split(&format!("\n  {parameter}:\n"))
                .nth(1)
                .and_then(|rest| rest.lines().find_map(|line| line.trim().strip_prefix("Default:")))
                .expect("the parameter has a default")
                .trim(),
            None => memory,
        };
        assert_eq!(CostAssumptions::default().lambda_memory_mb, memory.parse::<u32>().expect("a number of MB"));
    }

    #[test]
    fn a_million_changes_cost_what_the_prices_say() {
        let assumptions =
            CostAssumptions { lambda_memory_mb: 128, lambda_memory_mb_per_vcpu: 1280, ..CostAssumptions::default() };
        // 3 waits at 150 ms + 5 ms of tandem on a tenth of a vCPU = 500 ms at 0.125 GB: 0.0625 GB-s per change.
        let work = ChangeWork {
            deliveries: 2.0,
            tandem_ms: 5.0,
            vendor_waits: 3.0,
            dynamodb: Some(CapacityUnits { read: 2.0, write: 4.0 }),
            log_bytes: 500.0,
        };
        let assumptions =
            CostAssumptions { platform_log_bytes_per_delivery: 100.0, secret_reads_per_cold_start: 3.0, ..assumptions };
        let estimate = estimate(&work, &assumptions);
        assert!(close(estimate.lambda_ms_per_change, 500.0));
        assert!(close(estimate.lambda_compute_usd, 62_500.0 * 0.000_013_333_4), "{estimate:?}");
        assert!(close(estimate.lambda_requests_usd, 0.40));
        assert!(close(estimate.dynamodb_usd.unwrap(), 2.0 * 0.125 + 4.0 * 0.625));
        // 2 deliveries: $2 of HTTP API requests; 500 B of tandem's lines, 2 × (100 + 350) B of Lambda's and
        // the HTTP API's per change; 2/100 × 3 secret reads.
        assert!(close(estimate.routing_usd, 2.0));
        assert!(close(estimate.logs_usd, (500.0 + 2.0 * 450.0) / 1000.0 * 0.50));
        assert!(close(estimate.secrets_usd, 0.06 * 100.0 * 0.05));
        let shared = 62_500.0 * 0.000_013_333_4 + 0.40 + 2.75 + 700.0 / 1000.0 * 0.50 + 0.3;
        assert!(close(estimate.total_with_function_url_usd, shared), "{estimate:?}");
        assert!(close(estimate.total_usd, shared + 2.0 + 2.0 * 350.0 / 1000.0 * 0.50), "{estimate:?}");
        assert!(close(estimate.ratio_to_target(), estimate.total_usd / 3.0));
    }

    #[test]
    fn below_a_vcpus_memory_tandems_own_time_takes_longer() {
        let default = CostAssumptions::default();
        assert!(close(default.cpu_share(), 128.0 / 1769.0));
        assert!(close(CostAssumptions { lambda_memory_mb: 4096, ..default }.cpu_share(), 1.0));
    }

    #[test]
    fn without_dynamodb_figures_the_estimate_says_so() {
        let work = ChangeWork { deliveries: 1.0, tandem_ms: 0.0, vendor_waits: 0.0, dynamodb: None, log_bytes: 700.0 };
        let estimate = estimate(&work, &CostAssumptions::default());
        assert_eq!(estimate.dynamodb_usd, None);
        let logs_and_secrets = 700.0 / 1000.0 * 0.50 + 0.01 * 100.0 * 0.05;
        assert!(close(estimate.total_with_function_url_usd, 0.20 + logs_and_secrets), "{estimate:?}");
    }
}
