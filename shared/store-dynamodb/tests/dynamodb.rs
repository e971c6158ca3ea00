//! The store conformance suite and restart safety against a real DynamoDB-compatible server (moto,
//! started by `infra/local-aws.sh`), on a table of this test process's own.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use std::sync::Arc;
use tandem_engine::ports::{ClaimOutcome, Link, LinkStore, StoreError, WatermarkStore};
use tandem_model::{ItemId, Side};
use tandem_store::conformance::fixtures::{at, link, request, unique_integration};
use tandem_store::conformance::restart::{assert_sample, write_sample};
use tandem_store_dynamodb::{DynamoStore, TableError};
use tokio::sync::OnceCell;

/// The table every test of this process shares; each check works in integrations of its own.
static TABLE: OnceCell<String> = OnceCell::const_new();

/// A store on a server the environment points at; fails (never skips) when there is none, so CI
/// cannot pass without running these tests.
async fn store_on(table: &str) -> DynamoStore {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        panic!(
            "AWS_ENDPOINT_URL is not set: these tests need a local DynamoDB. Start one with \
             `eval \"$(infra/local-aws.sh)\"` from the repository root, then run the tests again."
        );
    }
    DynamoStore::from_env(table).await
}

/// A fresh store handle (the SDK client must not outlive the test's runtime) on the shared table.
async fn store() -> DynamoStore {
    let table = TABLE
        .get_or_init(|| async {
            let table = unique_integration("table");
            store_on(&table)
                .await
                .create_table()
                .await
                .unwrap_or_else(|error| panic!("creating table {table}: {error:#?}"));
            table
        })
        .await;
    store_on(table).await
}

/// A client of the same server for writing what the store never would.
async fn raw_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&tandem_aws_config::from_env().await)
}

tandem_store::conformance_tests!(Arc::new(store().await));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_store_on_the_table_sees_everything_the_first_wrote() {
    let integration = unique_integration("restart");
    let before = store().await;
    write_sample(&before, &integration).await;
    drop(before);

    let after = store().await;
    assert_sample(&after, &integration).await;
}

#[tokio::test]
async fn creating_the_table_again_keeps_it() {
    let store = store().await;
    let integration = unique_integration("create-again");
    store.set_watermark(&integration, Side::One, at(5)).await.expect("set");
    store.create_table().await.expect("create again");
    assert_eq!(store.get_watermark(&integration, Side::One).await.expect("get"), Some(at(5)));
}

#[tokio::test]
async fn a_table_with_other_keys_is_refused() {
    let table = unique_integration("other-keys");
    let store = store_on(&table).await;
    raw_client()
        .await
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().expect("key"))
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("create a table keyed by id");

    let error = store.create_table().await.expect_err("wrong keys");
    assert!(matches!(&error, TableError::WrongKeys { found, .. } if found == "id HASH (S)"), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_missing_table_is_unavailable_and_named() {
    let table = unique_integration("missing");
    let error = store_on(&table).await.get_watermark("ops", Side::One).await.expect_err("no such table");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("table {table} does not exist")), "{error}");
}

#[tokio::test]
async fn an_unreadable_link_is_corrupt_not_missing() {
    let store = store().await;
    let integration = unique_integration("corrupt");
    raw_client()
        .await
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(format!("LINK#{integration}")))
        .item("sk", AttributeValue::S("2#42".to_owned()))
        .item("record", AttributeValue::S(r#"{"integration": "ops"}"#.to_owned()))
        .send()
        .await
        .expect("write a damaged link");

    let error = store.get_link(&integration, Side::Two, &ItemId::new("42")).await.expect_err("damaged link");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("link"), "{error}");
    assert!(!error.is_retryable());
}

/// Tables written before links were stored once hold a whole copy under each item. Updates now write
/// only side 1's; a read from side 2 follows the pointer there, so it never sees the stale copy.
#[tokio::test]
async fn a_link_stored_under_both_items_by_an_earlier_version_reads_and_updates_from_side_1() {
    let store = store().await;
    let integration = unique_integration("legacy-link");
    let stored = Link { version: 4, ..link(&integration, "10001", "42") };
    let client = raw_client().await;
    for (sort_key, partner) in [("1#10001", "42"), ("2#42", "10001")] {
        client
            .put_item()
            .table_name(store.table())
            .item("pk", AttributeValue::S(format!("LINK#{integration}")))
            .item("sk", AttributeValue::S(sort_key.to_owned()))
            .item("record", AttributeValue::S(serde_json::to_string(&stored).expect("a link")))
            .item("version", AttributeValue::N("4".to_owned()))
            .item("partner", AttributeValue::S(partner.to_owned()))
            .send()
            .await
            .expect("write a link as an earlier version did");
    }
    let read = store.get_link(&integration, Side::Two, &ItemId::new("42")).await.expect("read");
    assert_eq!(read.as_ref(), Some(&stored));

    let changed = Link { synced_at: at(90), ..stored };
    let updated = store.update_link(&changed).await.expect("update");
    assert_eq!(updated.version, 5);
    for (side, item) in [(Side::One, "10001"), (Side::Two, "42")] {
        let read = store.get_link(&integration, side, &ItemId::new(item)).await.expect("read");
        assert_eq!(read.as_ref(), Some(&updated), "from side {side}");
    }
}

/// DynamoDB's TTL must not delete a dead attempt's claim soon after its lease: the claim is what makes
/// the next attempt look for the copy that attempt may have made, instead of making a second one.
#[tokio::test]
async fn an_unlinked_claim_outlives_its_lease_by_months() {
    let store = store().await;
    let integration = unique_integration("claim-ttl");
    let lease_end = at(60);
    store.claim_creation(&integration, Side::One, &ItemId::new("7"), &request("worker-a", 0, 60)).await.expect("claim");
    let claim = raw_client()
        .await
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("LINK#{integration}")))
        .key("sk", AttributeValue::S("1#7".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("read the claim")
        .item
        .expect("the claim is stored");
    let expires_at: i64 = match claim.get("expires_at") {
        Some(AttributeValue::N(seconds)) => seconds.parse().expect("whole seconds"),
        other => panic!("no time to live on the claim: {other:?}"),
    };
    let kept = expires_at - lease_end.timestamp();
    assert!(kept >= 60 * 24 * 3600, "the claim may go {kept} s after its lease");
}

/// An item's claim is kept where its link will be, and the link replaces it whole: nothing of the
/// claim (its owner, its time to live) is left on the link, which DynamoDB would otherwise delete.
#[tokio::test]
async fn the_link_replaces_the_claim_it_was_made_under() {
    let store = store().await;
    let integration = unique_integration("claim-replaced");
    store.claim_creation(&integration, Side::Two, &ItemId::new("9"), &request("worker-a", 0, 60)).await.expect("claim");
    store.insert_link(&link(&integration, "3", "9"), Side::Two, "worker-a").await.expect("insert");
    for sort_key in ["1#3", "2#9"] {
        let stored = raw_client()
            .await
            .get_item()
            .table_name(store.table())
            .key("pk", AttributeValue::S(format!("LINK#{integration}")))
            .key("sk", AttributeValue::S(sort_key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("read the link")
            .item
            .expect("the link is stored");
        for claim_attribute in ["owner", "until_us", "expires_at"] {
            assert!(!stored.contains_key(claim_attribute), "{sort_key} kept the claim's {claim_attribute}");
        }
        assert!(stored.contains_key("partner"), "{sort_key} names its partner");
    }
}

/// A part's claim whose part is linked is left to its time to live (a delete would cost a write unit
/// and a request on every comment copied); should the part be claimed again, the ended claim is taken
/// over like any other, telling the new holder that an earlier attempt may have sent a copy.
#[tokio::test]
async fn a_fulfilled_part_claim_is_left_to_its_time_to_live() {
    let store = store().await;
    let integration = unique_integration("part-fulfilled");
    let part = tandem_engine::ports::part_claim_key(&ItemId::new("7"), "comment", "c1");
    store.claim_creation(&integration, Side::One, &part, &request("worker-a", 0, 60)).await.expect("claim");
    store.part_claim_fulfilled(&integration, Side::One, &part, "worker-a").await.expect("fulfilled");
    let kept = raw_client()
        .await
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("CLAIM#{integration}")))
        .key("sk", AttributeValue::S(format!("1#{part}")))
        .consistent_read(true)
        .send()
        .await
        .expect("read the claim")
        .item;
    assert!(kept.is_some_and(|claim| claim.contains_key("expires_at")), "the claim waits for its time to live");
    let again =
        store.claim_creation(&integration, Side::One, &part, &request("worker-b", 61, 120)).await.expect("claim");
    assert!(matches!(again, ClaimOutcome::Claimed { earlier_attempt: Some(_) }), "{again:?}");
}
