//! The embedded store's part of a webhook's sync, timed call by call: an update reads its link, writes
//! it twice (the writes announced, then the result) and adds a history entry. Prints each call's p50 and
//! p99 and the four together beside the budget of tandem's own time (webhook to target written, p99
//! 5 ms, of which the store has the larger part).
//!
//! `cargo bench -p tandem-store --bench sync_calls` (release build; a fresh store in a temporary folder).

use std::sync::Arc;
use std::time::{Duration, Instant};
use tandem_engine::ports::{LinkStore, SyncLog};
use tandem_model::Side;
use tandem_store::conformance::fixtures::{history_entry, insert_claimed, link};
use tandem_store::EmbeddedStore;

/// Updates timed, after as many unmeasured.
const UPDATES: usize = 2_000;
/// tandem's own time from webhook to target written, p99 (the store's calls are most of it).
const OWN_TIME_P99_MS: f64 = 5.0;

#[tokio::main]
async fn main() {
    let store = Arc::new(EmbeddedStore::in_temp_dir().expect("a store in a temporary folder"));
    let mut stored = insert_claimed(store.as_ref(), &link("bench", "10001", "1")).await.expect("the link");
    let mut timings: [Vec<Duration>; 5] = Default::default();
    for round in 0..UPDATES * 2 {
        let started = Instant::now();
        let read = store.get_link("bench", Side::One, &stored.side1.id).await.expect("read").expect("linked");
        let after_read = Instant::now();
        let announced = store.update_link(&read).await.expect("announce");
        let after_announce = Instant::now();
        stored = store.update_link(&announced).await.expect("update");
        let after_update = Instant::now();
        let seconds = i64::try_from(round).unwrap_or(i64::MAX);
        store.record_history(&history_entry("bench", Side::One, "10001", seconds, 3_600)).await.expect("history");
        let done = Instant::now();
        if round >= UPDATES {
            let spans = [
                after_read - started,
                after_announce - after_read,
                after_update - after_announce,
                done - after_update,
                done - started,
            ];
            for (timing, span) in timings.iter_mut().zip(spans) {
                timing.push(span);
            }
        }
    }
    println!("embedded store, the calls of one update ({UPDATES} timed after {UPDATES} unmeasured):");
    let names = ["get_link", "update_link (announce)", "update_link (result)", "record_history", "all four"];
    for (name, timing) in names.iter().zip(&mut timings) {
        timing.sort();
        let (p50, p99) = (millis(timing[timing.len() / 2]), millis(timing[timing.len() * 99 / 100]));
        println!("  {name:<24} p50 {p50:>6.3} ms   p99 {p99:>6.3} ms");
    }
    let all = &timings[4];
    let p99 = millis(all[all.len() * 99 / 100]);
    println!(
        "store p99 {p99:.3} ms beside tandem's own time budget p99 ≤ {OWN_TIME_P99_MS} ms: {:.2}× of it",
        p99 / OWN_TIME_P99_MS
    );
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
