//! A store seen through an [`Interceptor`]: every call of the engine's store traits passes through one
//! function that may time it, count it, delay it or fail it, before (or instead of) the store itself.
//! Benchmarks count calls with it; the convergence harness makes the store slow and conflicting.

use async_trait::async_trait;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tandem_engine::history::HistoryEntry;
use tandem_engine::ports::{
    ClaimOutcome, ClaimRequest, ConflictRecord, FailureRecord, Link, LinkStore, Noted, StoreError, SyncLog,
    WatermarkStore,
};
use tandem_engine::tally::PollTally;
use tandem_model::{ItemId, Side, Timestamp};

/// One store call: the trait method's name, and whether it changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreCall {
    pub name: &'static str,
    pub writes: bool,
}

impl StoreCall {
    const fn read(name: &'static str) -> StoreCall {
        StoreCall { name, writes: false }
    }

    const fn write(name: &'static str) -> StoreCall {
        StoreCall { name, writes: true }
    }
}

/// A store call about to be made, as a future the interceptor may run, or not.
pub type Work<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What happens around every store call.
#[async_trait]
pub trait Interceptor: Send + Sync {
    async fn around<'a, T: Send + 'a>(&self, call: StoreCall, work: Work<'a, T>) -> Result<T, StoreError>;
}

/// An interceptor shared with whoever also needs to reach it (to read its figures, to switch it off).
#[async_trait]
impl<I: Interceptor> Interceptor for Arc<I> {
    async fn around<'a, T: Send + 'a>(&self, call: StoreCall, work: Work<'a, T>) -> Result<T, StoreError> {
        self.as_ref().around(call, work).await
    }
}

/// `inner`, every call of which goes through `interceptor`.
pub struct Intercepted<S, I> {
    inner: Arc<S>,
    interceptor: I,
}

impl<S, I> Intercepted<S, I> {
    pub fn new(inner: Arc<S>, interceptor: I) -> Self {
        Intercepted { inner, interceptor }
    }

    pub fn interceptor(&self) -> &I {
        &self.interceptor
    }
}

#[async_trait]
impl<S: LinkStore, I: Interceptor> LinkStore for Intercepted<S, I> {
    async fn get_link(&self, integration: &str, side: Side, item: &ItemId) -> Result<Option<Link>, StoreError> {
        let work = self.inner.get_link(integration, side, item);
        self.interceptor.around(StoreCall::read("get_link"), work).await
    }

    async fn side1_of(&self, integration: &str, item: &ItemId) -> Result<Option<ItemId>, StoreError> {
        let work = self.inner.side1_of(integration, item);
        self.interceptor.around(StoreCall::read("side1_of"), work).await
    }

    async fn claim_creation(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        request: &ClaimRequest<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        let work = self.inner.claim_creation(integration, side, item, request);
        self.interceptor.around(StoreCall::write("claim_creation"), work).await
    }

    async fn release_claim(&self, integration: &str, side: Side, item: &ItemId, owner: &str) -> Result<(), StoreError> {
        let work = self.inner.release_claim(integration, side, item, owner);
        self.interceptor.around(StoreCall::write("release_claim"), work).await
    }

    async fn part_claim_fulfilled(
        &self,
        integration: &str,
        side: Side,
        claim: &ItemId,
        owner: &str,
    ) -> Result<(), StoreError> {
        let work = self.inner.part_claim_fulfilled(integration, side, claim, owner);
        self.interceptor.around(StoreCall::write("part_claim_fulfilled"), work).await
    }

    fn remembers_part_claims(&self) -> bool {
        self.inner.remembers_part_claims()
    }

    async fn insert_link(&self, link: &Link, claimed_side: Side, owner: &str) -> Result<Link, StoreError> {
        let work = self.inner.insert_link(link, claimed_side, owner);
        self.interceptor.around(StoreCall::write("insert_link"), work).await
    }

    async fn update_link(&self, link: &Link) -> Result<Link, StoreError> {
        self.interceptor.around(StoreCall::write("update_link"), self.inner.update_link(link)).await
    }

    async fn list_links(&self, integration: &str) -> Result<Vec<Link>, StoreError> {
        self.interceptor.around(StoreCall::read("list_links"), self.inner.list_links(integration)).await
    }
}

#[async_trait]
impl<S: WatermarkStore, I: Interceptor> WatermarkStore for Intercepted<S, I> {
    async fn get_watermark(&self, integration: &str, side: Side) -> Result<Option<Timestamp>, StoreError> {
        let work = self.inner.get_watermark(integration, side);
        self.interceptor.around(StoreCall::read("get_watermark"), work).await
    }

    async fn set_watermark(&self, integration: &str, side: Side, at: Timestamp) -> Result<(), StoreError> {
        let work = self.inner.set_watermark(integration, side, at);
        self.interceptor.around(StoreCall::write("set_watermark"), work).await
    }

    async fn advance_watermark(
        &self,
        integration: &str,
        side: Side,
        at: Timestamp,
        counted: &PollTally,
    ) -> Result<(), StoreError> {
        let work = self.inner.advance_watermark(integration, side, at, counted);
        self.interceptor.around(StoreCall::write("advance_watermark"), work).await
    }

    async fn poll_tally(&self, integration: &str, side: Side) -> Result<PollTally, StoreError> {
        let work = self.inner.poll_tally(integration, side);
        self.interceptor.around(StoreCall::read("poll_tally"), work).await
    }
}

#[async_trait]
impl<S: SyncLog, I: Interceptor> SyncLog for Intercepted<S, I> {
    async fn record_conflict(&self, conflict: &ConflictRecord) -> Result<(), StoreError> {
        self.interceptor.around(StoreCall::write("record_conflict"), self.inner.record_conflict(conflict)).await
    }

    async fn list_conflicts(&self, integration: &str) -> Result<Vec<ConflictRecord>, StoreError> {
        self.interceptor.around(StoreCall::read("list_conflicts"), self.inner.list_conflicts(integration)).await
    }

    async fn record_failure(&self, failure: &FailureRecord) -> Result<(), StoreError> {
        self.interceptor.around(StoreCall::write("record_failure"), self.inner.record_failure(failure)).await
    }

    async fn note_change(&self, note: &FailureRecord) -> Result<Noted, StoreError> {
        self.interceptor.around(StoreCall::write("note_change"), self.inner.note_change(note)).await
    }

    async fn get_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
    ) -> Result<Option<FailureRecord>, StoreError> {
        let work = self.inner.get_failure(integration, side, item);
        self.interceptor.around(StoreCall::read("get_failure"), work).await
    }

    async fn clear_failure(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        read_from: Timestamp,
    ) -> Result<bool, StoreError> {
        let work = self.inner.clear_failure(integration, side, item, read_from);
        self.interceptor.around(StoreCall::write("clear_failure"), work).await
    }

    async fn list_failures(&self, integration: &str) -> Result<Vec<FailureRecord>, StoreError> {
        self.interceptor.around(StoreCall::read("list_failures"), self.inner.list_failures(integration)).await
    }

    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        self.interceptor.around(StoreCall::write("record_history"), self.inner.record_history(entry)).await
    }

    async fn list_history(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let work = self.inner.list_history(integration, side, item, limit, now);
        self.interceptor.around(StoreCall::read("list_history"), work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedStore;
    use std::sync::Mutex;

    /// Refuses every write with a conflict, and notes every call.
    #[derive(Default)]
    struct RefuseWrites {
        calls: Mutex<Vec<StoreCall>>,
    }

    #[async_trait]
    impl Interceptor for RefuseWrites {
        async fn around<'a, T: Send + 'a>(&self, call: StoreCall, work: Work<'a, T>) -> Result<T, StoreError> {
            self.calls.lock().unwrap().push(call);
            match call.writes {
                true => Err(StoreError::Conflict { what: call.name.to_string() }),
                false => work.await,
            }
        }
    }

    #[tokio::test]
    async fn every_call_passes_through_and_a_refused_write_changes_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let inner = Arc::new(EmbeddedStore::open(&folder.path().join("tandem.redb")).unwrap());
        let store = Intercepted::new(inner.clone(), RefuseWrites::default());
        let at = Timestamp::UNIX_EPOCH;
        assert!(matches!(store.set_watermark("ops", Side::One, at).await, Err(StoreError::Conflict { .. })));
        assert_eq!(store.get_watermark("ops", Side::One).await.unwrap(), None, "the refused write was not made");
        assert_eq!(inner.get_watermark("ops", Side::One).await.unwrap(), None);
        let calls = store.interceptor().calls.lock().unwrap().clone();
        assert_eq!(calls, [StoreCall::write("set_watermark"), StoreCall::read("get_watermark")]);
    }
}
