//! The store conformance suite and restart safety, against the embedded store on a temporary file.

use std::sync::Arc;
use tandem_store::conformance::fixtures::unique_integration;
use tandem_store::conformance::restart::{assert_sample, write_sample};
use tandem_store::EmbeddedStore;

tandem_store::conformance_tests!(Arc::new(EmbeddedStore::in_temp_dir().expect("open a temporary store")));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_closing_and_reopening_the_file() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tandem.redb");
    let integration = unique_integration("restart");

    let before = EmbeddedStore::open(&path).expect("open");
    write_sample(&before, &integration).await;
    drop(before);

    let after = EmbeddedStore::open(&path).expect("reopen");
    assert_sample(&after, &integration).await;
}
