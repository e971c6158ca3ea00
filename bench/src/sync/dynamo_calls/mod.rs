//! Counts the DynamoDB operations a store makes, by name, from inside the AWS SDK: an interceptor on the
//! client sees every request as sent (retries included), so the count is exact whatever the store does
//! above it. It also counts the items each request touches and the capacity units DynamoDB bills for
//! them, from the sizes of the items written and read (see [`units`]).

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub mod units;

/// DynamoDB's JSON protocol names the operation in this header: `DynamoDB_20120810.GetItem`.
const TARGET_HEADER: &str = "x-amz-target";

/// Requests of one operation, the items they touched and the capacity units they were billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OperationTally {
    pub requests: u64,
    /// Items in the request: 1 for single-item operations, the list's length for transactions and
    /// batches.
    pub items: u64,
    pub read_units: f64,
    pub write_units: f64,
}

/// DynamoDB requests per operation name (`GetItem`, `TransactWriteItems`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DynamoTally {
    pub operations: BTreeMap<String, OperationTally>,
}

impl DynamoTally {
    pub fn requests(&self) -> u64 {
        self.operations.values().map(|operation| operation.requests).sum()
    }

    /// What happened after `earlier` was taken.
    pub fn since(&self, earlier: &DynamoTally) -> DynamoTally {
        let operations = self
            .operations
            .iter()
            .filter_map(|(name, now)| {
                let before = earlier.operations.get(name).copied().unwrap_or_default();
                let requests = now.requests.saturating_sub(before.requests);
                let between = OperationTally {
                    requests,
                    items: now.items.saturating_sub(before.items),
                    read_units: now.read_units - before.read_units,
                    write_units: now.write_units - before.write_units,
                };
                (requests > 0).then(|| (name.clone(), between))
            })
            .collect();
        DynamoTally { operations }
    }

    pub fn add(&mut self, operation: &str, items: u64) {
        let tally = self.operations.entry(operation.to_string()).or_default();
        tally.requests += 1;
        tally.items += items;
    }

    /// Adds the capacity units an execution of `operation` was billed.
    pub fn bill(&mut self, operation: &str, billed: units::Billed) {
        let tally = self.operations.entry(operation.to_string()).or_default();
        tally.read_units += billed.read;
        tally.write_units += billed.write;
    }
}

/// Whether the read being executed asked for strong consistency (kept from its input, which is gone
/// once its answer is read).
#[derive(Debug, Clone, Copy)]
struct ConsistentRead(bool);

impl Storable for ConsistentRead {
    type Storer = StoreReplace<Self>;
}

/// The interceptor (`aws_sdk_dynamodb::config::Builder::interceptor(counter.clone())`). Cheap to clone;
/// clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct DynamoCalls {
    tally: Arc<Mutex<DynamoTally>>,
}

impl DynamoCalls {
    pub fn tally(&self) -> DynamoTally {
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn count(&self, operation: &str, items: u64) {
        self.lock().add(operation, items);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DynamoTally> {
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Intercept for DynamoCalls {
    fn name(&self) -> &'static str {
        "tandem-bench DynamoDB call counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request();
        let operation = request
            .headers()
            .get(TARGET_HEADER)
            .and_then(|target| target.rsplit_once('.'))
            .map_or("unknown", |(_, operation)| operation);
        let items = request.body().bytes().map_or(1, |body| items_in(operation, body));
        self.count(operation, items);
        Ok(())
    }

    /// Writes are billed by the items they send (once per execution: a throttled attempt is not billed).
    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let input = context.input();
        cfg.interceptor_state().store_put(ConsistentRead(units::asks_consistent_read(input)));
        if let Some((operation, billed)) = units::billed_write(input) {
            self.lock().bill(operation, billed);
        }
        Ok(())
    }

    /// Reads are billed by the items they answer.
    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let consistent = cfg.load::<ConsistentRead>().is_some_and(|read| read.0);
        if let Some(Ok(output)) = context.output_or_error() {
            if let Some((operation, billed)) = units::billed_read(output, consistent) {
                self.lock().bill(operation, billed);
            }
        }
        Ok(())
    }
}

/// The items a request touches, from its JSON body: transactions list them in `TransactItems`, batch
/// writes per table in `RequestItems`; every other operation touches one (a query is billed by the
/// size it reads, which the bench counts as one unit, see the cost assumptions).
pub fn items_in(operation: &str, body: &[u8]) -> u64 {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return 1;
    };
    let count = match operation {
        "TransactWriteItems" | "TransactGetItems" => request["TransactItems"].as_array().map(Vec::len),
        "BatchWriteItem" | "BatchGetItem" => request["RequestItems"].as_object().map(|tables| {
            tables
                .values()
                .map(|table| table.as_array().map_or_else(|| table["Keys"].as_array().map_or(0, Vec::len), Vec::len))
                .sum()
        }),
        _ => Some(1),
    };
    count.map_or(1, |count| u64::try_from(count).unwrap_or(u64::MAX).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_and_batches_count_their_items() {
        let transaction = br#"{"TransactItems": [{"Put": {}}, {"Delete": {}}, {"ConditionCheck": {}}]}"#;
        assert_eq!(items_in("TransactWriteItems", transaction), 3);
        let batch = br#"{"RequestItems": {"t": [{"PutRequest": {}}, {"PutRequest": {}}]}}"#;
        assert_eq!(items_in("BatchWriteItem", batch), 2);
        let batch_get = br#"{"RequestItems": {"t": {"Keys": [{}, {}, {}, {}]}}}"#;
        assert_eq!(items_in("BatchGetItem", batch_get), 4);
        assert_eq!(items_in("GetItem", br#"{"Key": {}}"#), 1);
        assert_eq!(items_in("PutItem", b"not json"), 1);
    }

    #[test]
    fn a_later_tally_minus_an_earlier_one_is_what_happened_in_between() {
        let mut earlier = DynamoTally::default();
        earlier.add("GetItem", 1);
        let mut later = earlier.clone();
        later.add("GetItem", 1);
        later.add("TransactWriteItems", 3);
        let between = later.since(&earlier);
        assert_eq!(between.requests(), 2);
        assert_eq!(
            between.operations["TransactWriteItems"],
            OperationTally { requests: 1, items: 3, ..OperationTally::default() }
        );
        assert_eq!(between.operations["GetItem"].requests, 1);
    }
}
