//! The semantics every store implementation must have, as reusable checks. Each check takes a store,
//! works in integrations of its own (unique names, so checks may share one store, even a persistent
//! table that earlier runs wrote to) and panics with a description when the store misbehaves.
//!
//! A store's test file runs them all with [`conformance_tests!`](crate::conformance_tests):
//!
//! ```text
//! tandem_store::conformance_tests!(std::sync::Arc::new(my_store().await));
//! ```

pub mod fixtures;
pub mod links;
pub mod log;
pub mod restart;
pub mod watermarks;

use tandem_engine::ports::{LinkStore, SyncLog, WatermarkStore};

/// Everything a store implements.
pub trait Store: LinkStore + WatermarkStore + SyncLog + 'static {}

impl<T: LinkStore + WatermarkStore + SyncLog + 'static> Store for T {}

/// One `#[tokio::test]` per conformance check, each on the store `$store` evaluates to (an
/// `Arc<impl Store>`, evaluated once per test). Needs `tokio` among the calling crate's dependencies.
#[macro_export]
macro_rules! conformance_tests {
    ($store:expr) => {
        $crate::conformance_tests!(@checks $store;
            links::claim_then_link,
            links::inserting_refuses_items_already_linked,
            links::claims_are_held_until_their_lease_ends,
            links::part_claims_are_held_like_item_claims,
            links::a_fulfilled_part_claim_is_kept_where_the_store_remembers_claims,
            links::only_the_owner_releases_a_claim,
            links::concurrent_claims_have_one_winner,
            links::updates_are_versioned,
            links::concurrent_updates_of_one_version_have_one_winner,
            links::updating_a_link_never_inserted_conflicts,
            links::links_are_listed_per_integration,
            links::only_the_claims_holder_links,
            links::claims_remember_when_a_create_was_sent,
            watermarks::watermarks_are_kept_per_integration_side,
            watermarks::a_backfill_only_ever_moves_a_watermark_back,
            watermarks::a_side_keeps_a_running_tally_beside_its_watermark,
            log::conflicts_are_listed_per_integration,
            log::failures_are_kept_per_integration_side_and_item,
            log::noted_changes_keep_their_record,
            log::an_items_history_is_listed_newest_first_without_expired_entries,
        );
    };
    (@checks $store:expr; $($module:ident :: $check:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let store = $store;
                $crate::conformance::$module::$check(&store).await;
            }
        )+
    };
}
