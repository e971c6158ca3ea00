//! The integration registry against a real DynamoDB-compatible server (moto, started by
//! `infra/local-aws.sh`), on a table of this test process's own.

use tandem_store::conformance::fixtures::unique_integration;
use tandem_store_dynamodb::DynamoStore;
use tokio::sync::OnceCell;

static TABLE: OnceCell<String> = OnceCell::const_new();

/// A store on the shared table; fails (never skips) without a local server, so CI cannot pass
/// without running these tests.
async fn store() -> DynamoStore {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        panic!(
            "AWS_ENDPOINT_URL is not set: these tests need a local DynamoDB. Start one with \
             `eval \"$(infra/local-aws.sh)\"` from the repository root, then run the tests again."
        );
    }
    let table = TABLE
        .get_or_init(|| async {
            let table = unique_integration("registry");
            DynamoStore::from_env(&table)
                .await
                .create_table()
                .await
                .unwrap_or_else(|error| panic!("creating table {table}: {error:#?}"));
            table
        })
        .await;
    DynamoStore::from_env(table).await
}

#[tokio::test]
async fn a_stored_integration_starts_inactive_and_is_activated_in_one_call() {
    let store = store().await;
    let name = unique_integration("ops");
    store.put_integration(&name, "name: first").await.expect("put");
    let stored = store.get_integration(&name).await.expect("get").expect("stored");
    assert_eq!((stored.yaml.as_str(), stored.active), ("name: first", false));

    assert!(store.set_active(&name, true).await.expect("activate"));
    let activated = store.get_integration(&name).await.expect("get").expect("stored");
    assert!(activated.active);
    assert!(activated.updated_at >= stored.updated_at);

    store.put_integration(&name, "name: second").await.expect("replace");
    let replaced = store.get_integration(&name).await.expect("get").expect("stored");
    assert_eq!((replaced.yaml.as_str(), replaced.active), ("name: second", true), "replacing keeps it active");

    assert!(store.set_active(&name, false).await.expect("deactivate"));
    assert!(!store.get_integration(&name).await.expect("get").expect("stored").active);
}

#[tokio::test]
async fn activating_an_unknown_integration_writes_nothing() {
    let store = store().await;
    let name = unique_integration("unknown");
    assert!(!store.set_active(&name, true).await.expect("set_active"));
    assert_eq!(store.get_integration(&name).await.expect("get"), None);
}

#[tokio::test]
async fn the_listing_holds_every_integration_with_its_flag() {
    let store = store().await;
    let (active, inactive) = (unique_integration("listed-active"), unique_integration("listed-inactive"));
    store.put_integration(&active, "name: a").await.expect("put");
    store.put_integration(&inactive, "name: b").await.expect("put");
    store.set_active(&active, true).await.expect("activate");

    let listed = store.list_integrations().await.expect("list");
    let flag = |name: &str| listed.iter().find(|stored| stored.name == name).map(|stored| stored.active);
    assert_eq!(flag(&active), Some(true));
    assert_eq!(flag(&inactive), Some(false));
    let names: Vec<&str> = listed.iter().map(|stored| stored.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "ordered by name");
}
