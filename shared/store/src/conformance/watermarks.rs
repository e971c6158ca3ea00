//! `WatermarkStore`: where polling resumes, per integration side.

use super::fixtures::{at, unique_integration};
use super::Store;
use std::sync::Arc;
use tandem_model::Side;

pub async fn watermarks_are_kept_per_integration_side<S: Store>(store: &Arc<S>) {
    let ops = unique_integration("watermarks-ops");
    let support = unique_integration("watermarks-support");
    assert_eq!(store.get_watermark(&ops, Side::One).await.expect("get"), None);

    store.set_watermark(&ops, Side::One, at(100)).await.expect("set");
    store.set_watermark(&ops, Side::Two, at(200)).await.expect("set");
    store.set_watermark(&support, Side::One, at(300)).await.expect("set");
    assert_eq!(store.get_watermark(&ops, Side::One).await.expect("get"), Some(at(100)));
    assert_eq!(store.get_watermark(&ops, Side::Two).await.expect("get"), Some(at(200)));
    assert_eq!(store.get_watermark(&support, Side::One).await.expect("get"), Some(at(300)));
    assert_eq!(store.get_watermark(&support, Side::Two).await.expect("get"), None);

    store.set_watermark(&ops, Side::One, at(150)).await.expect("overwrite");
    assert_eq!(store.get_watermark(&ops, Side::One).await.expect("get"), Some(at(150)));
    assert_eq!(store.get_watermark(&ops, Side::Two).await.expect("get"), Some(at(200)), "the other side is untouched");
}
