//! The capacity units DynamoDB bills, from the sizes of the items themselves, by its documented rules:
//! an item's size is its attribute names plus their values (a string's UTF-8 bytes, a number's byte
//! per two significant digits plus one, a list or map 3 bytes plus a byte per element); a write costs
//! one unit per KB of the item written (rounded up), two in a transaction; a strongly consistent read
//! one unit per 4 KB read (a query sums the items it returns before rounding), an eventually
//! consistent read half of that.
//!
//! A request that does not show its item — an update or a delete, a transaction's condition check —
//! is billed as an item under 1 KB: tandem writes links and history entries whole (`PutItem`), and
//! updates or deletes only small records (watermarks, failure notes, claims).

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
use std::collections::HashMap;

/// Bytes per write unit and per read unit.
const WRITE_UNIT_BYTES: usize = 1024;
const READ_UNIT_BYTES: usize = 4096;

/// Capacity units billed for one execution.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Billed {
    pub read: f64,
    pub write: f64,
}

/// An item's size as DynamoDB counts it.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(blob) => blob.as_ref().len(),
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|number| number_size(number)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|blob| blob.as_ref().len()).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|value| 1 + value_size(value)).sum::<usize>(),
        AttributeValue::M(map) => 3 + map.iter().map(|(key, value)| 1 + key.len() + value_size(value)).sum::<usize>(),
        // Booleans and nulls; and whatever a later SDK adds, counted as the least.
        _ => 1,
    }
}

/// A byte per two significant digits, plus one.
fn number_size(number: &str) -> usize {
    let digits: String =
        number.split(['e', 'E']).next().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1);
    significant.div_ceil(2) + 1
}

fn write_units(size: usize) -> f64 {
    size.div_ceil(WRITE_UNIT_BYTES).max(1) as f64
}

fn read_units(size: usize, consistent: bool) -> f64 {
    let units = size.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// Whether a read asks for strong consistency (`GetItem`, `Query`, `Scan`; a batch read counts per table
/// and is taken as eventually consistent unless every table asks).
pub fn asks_consistent_read(input: &Input) -> bool {
    if let Some(get) = input.downcast_ref::<GetItemInput>() {
        return get.consistent_read == Some(true);
    }
    if let Some(query) = input.downcast_ref::<QueryInput>() {
        return query.consistent_read == Some(true);
    }
    if let Some(scan) = input.downcast_ref::<ScanInput>() {
        return scan.consistent_read == Some(true);
    }
    if let Some(batch) = input.downcast_ref::<aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput>() {
        return batch.request_items.as_ref().is_some_and(|tables| {
            !tables.is_empty() && tables.values().all(|table| table.consistent_read == Some(true))
        });
    }
    false
}

/// The write units a write request is billed, by its operation's name; `None` for other requests.
pub fn billed_write(input: &Input) -> Option<(&'static str, Billed)> {
    let small = write_units(0);
    let (operation, write) = if let Some(put) = input.downcast_ref::<PutItemInput>() {
        ("PutItem", put.item.as_ref().map_or(small, |item| write_units(item_size(item))))
    } else if input.downcast_ref::<aws_sdk_dynamodb::operation::update_item::UpdateItemInput>().is_some() {
        ("UpdateItem", small)
    } else if input.downcast_ref::<aws_sdk_dynamodb::operation::delete_item::DeleteItemInput>().is_some() {
        ("DeleteItem", small)
    } else if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        let actions = transaction.transact_items.as_deref().unwrap_or_default();
        let each = |action: &aws_sdk_dynamodb::types::TransactWriteItem| {
            2.0 * action.put.as_ref().map_or(small, |put| write_units(item_size(&put.item)))
        };
        ("TransactWriteItems", actions.iter().map(each).sum())
    } else if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
        let requests = batch.request_items.iter().flat_map(|tables| tables.values().flatten());
        let each = |request: &aws_sdk_dynamodb::types::WriteRequest| {
            request.put_request.as_ref().map_or(small, |put| write_units(item_size(&put.item)))
        };
        ("BatchWriteItem", requests.map(each).sum())
    } else {
        return None;
    };
    Some((operation, Billed { read: 0.0, write }))
}

/// The read units a read's answer is billed, by its operation's name; `None` for other answers.
pub fn billed_read(output: &Output, consistent: bool) -> Option<(&'static str, Billed)> {
    let sizes = |items: &[HashMap<String, AttributeValue>]| items.iter().map(item_size).sum::<usize>();
    let (operation, read) = if let Some(get) = output.downcast_ref::<GetItemOutput>() {
        ("GetItem", read_units(get.item.as_ref().map_or(0, item_size), consistent))
    } else if let Some(query) = output.downcast_ref::<QueryOutput>() {
        ("Query", read_units(sizes(query.items()), consistent))
    } else if let Some(scan) = output.downcast_ref::<ScanOutput>() {
        ("Scan", read_units(sizes(scan.items()), consistent))
    } else if let Some(batch) = output.downcast_ref::<BatchGetItemOutput>() {
        let items = batch.responses.iter().flat_map(|tables| tables.values().flatten());
        ("BatchGetItem", items.map(|item| read_units(item_size(item), consistent)).sum())
    } else if let Some(transaction) = output.downcast_ref::<TransactGetItemsOutput>() {
        let items = transaction.responses().iter().map(|response| response.item.as_ref().map_or(0, item_size));
        ("TransactGetItems", items.map(|size| 2.0 * read_units(size, true)).sum())
    } else {
        return None;
    };
    Some((operation, Billed { read, write: 0.0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(entries: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        entries.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
    }

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        assert_eq!(item_size(&item(&[("pk", AttributeValue::S("link#1".into()))])), 2 + 6);
        assert_eq!(number_size("12345"), 4, "five significant digits: three bytes, plus one");
        assert_eq!(number_size("1000"), 2, "trailing zeros are not significant");
        assert_eq!(number_size("-0.0015"), 2);
        let nested =
            AttributeValue::M(item(&[("a", AttributeValue::Bool(true)), ("bc", AttributeValue::S("xyz".into()))]));
        assert_eq!(value_size(&nested), 3 + (1 + 1 + 1) + (1 + 2 + 3));
        let list = AttributeValue::L(vec![AttributeValue::S("ab".into()), AttributeValue::Null(true)]);
        assert_eq!(value_size(&list), 3 + (1 + 2) + (1 + 1));
    }

    #[test]
    fn writes_cost_a_unit_per_kb_and_twice_that_in_a_transaction() {
        let large = item(&[("snapshot", AttributeValue::S("x".repeat(2500)))]);
        let put = Input::erase(PutItemInput::builder().table_name("t").set_item(Some(large.clone())).build().unwrap());
        assert_eq!(billed_write(&put), Some(("PutItem", Billed { read: 0.0, write: 3.0 })));
        let action = aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(aws_sdk_dynamodb::types::Put::builder().table_name("t").set_item(Some(large)).build().unwrap())
            .build();
        let check = aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .condition_check(
                aws_sdk_dynamodb::types::ConditionCheck::builder()
                    .table_name("t")
                    .condition_expression("attribute_exists(pk)")
                    .set_key(Some(HashMap::new()))
                    .build()
                    .unwrap(),
            )
            .build();
        let transaction = Input::erase(
            TransactWriteItemsInput::builder().transact_items(action).transact_items(check).build().unwrap(),
        );
        assert_eq!(billed_write(&transaction).unwrap().1.write, 2.0 * 3.0 + 2.0);
    }

    #[test]
    fn reads_cost_a_unit_per_4_kb_half_that_when_eventually_consistent() {
        let found =
            GetItemOutput::builder().set_item(Some(item(&[("v", AttributeValue::S("x".repeat(5000)))]))).build();
        assert_eq!(billed_read(&Output::erase(found.clone()), true).unwrap().1.read, 2.0);
        assert_eq!(billed_read(&Output::erase(found), false).unwrap().1.read, 1.0);
        let missing = GetItemOutput::builder().build();
        assert_eq!(billed_read(&Output::erase(missing), true).unwrap().1.read, 1.0, "a miss is billed too");
        let small = item(&[("v", AttributeValue::S("x".repeat(1500)))]);
        let query = QueryOutput::builder().items(small.clone()).items(small.clone()).items(small).build();
        assert_eq!(billed_read(&Output::erase(query), true).unwrap().1.read, 2.0, "a query sums before rounding");
        let get = Input::erase(GetItemInput::builder().table_name("t").consistent_read(true).build().unwrap());
        assert!(asks_consistent_read(&get));
        assert!(billed_write(&get).is_none());
    }
}
