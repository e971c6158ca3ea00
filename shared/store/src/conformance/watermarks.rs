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

/// A backfill moves a side's watermark back to where it starts, never forward (which would skip changes).
pub async fn a_backfill_only_ever_moves_a_watermark_back<S: Store>(store: &Arc<S>) {
    use tandem_engine::backfill::{rewind_watermark, Rewound};
    let ops = unique_integration("watermarks-backfill");
    let rewound = rewind_watermark(store.as_ref(), &ops, Side::One, at(50)).await.expect("rewind");
    assert_eq!(rewound, Rewound::Moved { from: None }, "a side never polled starts at the backfill");
    store.set_watermark(&ops, Side::One, at(90)).await.expect("polled on");
    let rewound = rewind_watermark(store.as_ref(), &ops, Side::One, at(30)).await.expect("rewind");
    assert_eq!(rewound, Rewound::Moved { from: Some(at(90)) });
    let rewound = rewind_watermark(store.as_ref(), &ops, Side::One, at(40)).await.expect("rewind");
    assert_eq!(rewound, Rewound::AlreadyEarlier(at(30)));
    assert_eq!(store.get_watermark(&ops, Side::One).await.expect("get"), Some(at(30)));
    assert_eq!(store.get_watermark(&ops, Side::Two).await.expect("get"), None, "the other side is untouched");
}

/// A poll adds what it made of a page's items to the side's tally in the write that moves its
/// watermark; setting the watermark (a first poll, a rewind) keeps the tally.
pub async fn a_side_keeps_a_running_tally_beside_its_watermark<S: Store>(store: &Arc<S>) {
    use tandem_engine::tally::PollTally;
    let ops = unique_integration("watermarks-tally");
    assert_eq!(store.poll_tally(&ops, Side::One).await.expect("tally"), PollTally::default());
    let page = PollTally { created: 2, updated: 1, unchanged: 7, skipped: 1, failed: 1 };
    store.advance_watermark(&ops, Side::One, at(100), &page).await.expect("advance");
    store.advance_watermark(&ops, Side::One, at(200), &page).await.expect("advance");
    assert_eq!(store.get_watermark(&ops, Side::One).await.expect("get"), Some(at(200)));
    let twice = PollTally { created: 4, updated: 2, unchanged: 14, skipped: 2, failed: 2 };
    assert_eq!(store.poll_tally(&ops, Side::One).await.expect("tally"), twice);
    store.set_watermark(&ops, Side::One, at(50)).await.expect("rewind");
    assert_eq!(store.get_watermark(&ops, Side::One).await.expect("get"), Some(at(50)));
    assert_eq!(store.poll_tally(&ops, Side::One).await.expect("tally"), twice, "a rewind keeps the tally");
    assert_eq!(store.poll_tally(&ops, Side::Two).await.expect("tally"), PollTally::default(), "per side");
}
