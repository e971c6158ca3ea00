use crate::crash::Step;
use crate::error::SyncError;
use crate::history::{self, HistoryEntry, Trigger};
use crate::marks;
use crate::ports::{
    ClaimOutcome, ClaimRequest, Clock, Connector, ConnectorError, CopyOrigin, EarlierAttempt, FieldSnapshot, Link,
    LinkStore, LinkedItem, News, SeenVersions, SendUpdate, SendWindow, SyncLog, WatermarkStore,
};
use crate::users::UserResolver;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tandem_mapping::{FieldKind, FieldMapping, IntegrationConfig};
use tandem_model::{FieldMap, FieldValue, Item, ItemId, RichText, Side, Timestamp, UserRef};
use tokio::sync::{Mutex, OnceCell};
use tracing::{debug, info, instrument, warn};

/// How long a creation claim is held before another worker may take it over (a crashed worker's claim
/// must not block the item forever), at least. It must outlast the longest create or comment call,
/// retries and waits included, or a slow live worker and the one taking over could both make a copy:
/// the engine derives its lease from its connectors' longest call (see [`Engine::new`]).
/// How soon a copy's change made before its link was stored is tried again: its creator links it
/// moments after making it (a creator that died leaves it to the original's retry, which adopts it).
const COPY_LINKED_WITHIN: chrono::Duration = chrono::Duration::seconds(1);

pub const DEFAULT_CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(120);
/// Added to the connectors' longest call to make the lease: the store calls around the create.
const LEASE_MARGIN: chrono::Duration = chrono::Duration::seconds(30);
/// How far before an earlier attempt's first create the search for its copy starts: tandem's clock and
/// the system's may disagree.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);
/// Optimistic-concurrency retries of one sync before giving up (the change stays recorded for the poller).
const MAX_LINK_RACES: u32 = 4;
/// How long a sync waits before looking again at a pair another worker is writing.
const WRITES_IN_PROGRESS_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Serialises syncs of one item within this process (other processes are held off by the store's
/// conditional writes), and lets notices that arrive while a sync of the item waits to read ride on it.
#[derive(Default)]
struct ItemGate {
    lock: Mutex<()>,
    /// A sync that will read the item afresh is waiting for the lock: whatever changed before it reads
    /// is covered by that read.
    read_pending: AtomicBool,
}

type ItemLock = Arc<ItemGate>;

/// The stores the engine needs; one adapter usually implements them all.
#[derive(Clone)]
pub struct EngineStores {
    pub links: Arc<dyn LinkStore>,
    pub watermarks: Arc<dyn WatermarkStore>,
    pub log: Arc<dyn SyncLog>,
}

impl EngineStores {
    /// All three from one adapter.
    pub fn from_one<S>(store: Arc<S>) -> Self
    where
        S: LinkStore + WatermarkStore + SyncLog + 'static,
    {
        EngineStores { links: store.clone(), watermarks: store.clone(), log: store }
    }
}

/// What syncing one item did.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncOutcome {
    /// The copy was created on the other side.
    Created { copy: ItemId },
    /// The link existed; `writes` fields/comments were written (0: both sides already agreed).
    Updated { writes: usize },
    /// Not synced: the item does not match its side's filter (and is not linked).
    FilteredOut,
    /// Not synced: the item no longer exists or is not visible.
    Gone,
    /// Not synced: the item's copy no longer exists or is not visible to the service account (deleted,
    /// moved where it cannot be read). Kept in the item's history, so an operator sees why its changes
    /// stopped flowing; the link stays, should the copy come back (restored from a recycle bin).
    CopyGone { copy: ItemId },
    /// An unlinked item the integration created or last changed (a copy whose link is being stored).
    OwnEcho,
    /// Not synced: the item, or its copy, is outside the side's project or item type, or restricted in a
    /// way the configuration does not allow (the reason says which). A linked pair stays linked and
    /// syncs again once both items are back in scope.
    OutOfScope { reason: String },
    /// Nothing new: a poll's page showed a state of the item the link has already synced.
    AlreadySynced,
    /// Left to a sync of the same item that is waiting to read it afresh in this process: that read
    /// comes after this notice (replays and bursts of notices cost one read).
    Coalesced,
    /// A webhook delivery whose sync finished before (the link's last write names it: a sender's retry,
    /// a replay): dropped before any call to a system.
    Repeated,
}

impl SyncOutcome {
    /// A word or two for the item's history.
    pub fn summary(&self) -> String {
        match self {
            SyncOutcome::Created { copy } => format!("created {copy}"),
            SyncOutcome::Updated { writes } => format!("updated ({writes} written)"),
            SyncOutcome::FilteredOut => "filtered out".to_string(),
            SyncOutcome::Gone => "gone".to_string(),
            SyncOutcome::CopyGone { copy } => {
                format!("its copy {copy} is gone (deleted, or hidden from the service account): not synced")
            }
            SyncOutcome::OwnEcho => "own change".to_string(),
            SyncOutcome::OutOfScope { reason } => format!("out of scope: {reason}"),
            SyncOutcome::AlreadySynced => "already synced".to_string(),
            SyncOutcome::Coalesced => "left to another sync".to_string(),
            SyncOutcome::Repeated => "repeated delivery".to_string(),
        }
    }
}

/// Why a claim is taken or renewed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Claiming {
    /// To hold the copying of a file while downloading it (items and comments are made ready before
    /// they are claimed: `HoldToSend`). `lag` is how long after a send a search may not show its copy
    /// yet (zero for parts, whose listing is up to date).
    Hold { lag: chrono::Duration },
    /// Right before the create (or the post) is sent: the claim remembers when a copy may have been
    /// made, for whoever takes it over.
    Send { lag: chrono::Duration },
    /// To take the claim and send at once, the create (or the post) made ready before: as `Send`, unless
    /// an earlier holder sent — then the claim keeps that holder's window (ended with its lease, when
    /// taken over) while its copy is looked for, and is renewed with `Send` before this worker sends.
    /// One write instead of a claim and its renewal.
    HoldToSend { lag: chrono::Duration },
    /// Right after the send came back failed: whatever it made shows `lag` after now.
    Ended { lag: chrono::Duration },
    /// Right after the system refused the send (it made nothing): the window goes back to `before`.
    Withdraw { lag: chrono::Duration, before: Option<SendWindow> },
}

impl Claiming {
    /// Whether the claim records a send (unless, for `HoldToSend`, an earlier holder's).
    pub(crate) fn sends(self) -> bool {
        matches!(self, Claiming::Send { .. } | Claiming::HoldToSend { .. })
    }

    fn lag(self) -> chrono::Duration {
        match self {
            Claiming::Hold { lag }
            | Claiming::Send { lag }
            | Claiming::HoldToSend { lag }
            | Claiming::Ended { lag }
            | Claiming::Withdraw { lag, .. } => lag,
        }
    }

    /// How a send that came back with `error` ends, `before` being the window before it; `None` when
    /// the system may still process it (no answer came): the window the send opened stands, to when the
    /// call could have lasted longest, since a copy may appear after the error came back.
    pub(crate) fn after_failed_send(
        error: &ConnectorError,
        lag: chrono::Duration,
        before: Option<SendWindow>,
    ) -> Option<Self> {
        if error.made_nothing() {
            Some(Claiming::Withdraw { lag, before })
        } else if error.may_still_be_processed() {
            None
        } else {
            Some(Claiming::Ended { lag })
        }
    }
}

/// How a sync gets at the item's state.
enum Read {
    /// Read it afresh under the lock.
    Fresh,
    /// Afresh, or leave it to a sync already waiting to read it afresh.
    FreshOrCoalesce,
    /// A poll's page holds a read of it.
    Page(Box<PageRead>),
}

/// An item as a poll's page shows it.
struct PageRead {
    item: Item,
    /// When it was read from the system's records; `None` when a search showed it.
    read_at: Option<Timestamp>,
}

/// How long a page's read from the system's records stands for a fresh read of an item not linked
/// yet. A fresh read leaves the time up to the create for a person to restrict or move the item, and
/// so does a notice's read; a page read this recent adds little to that window, and saves a read per
/// item of a backfill. A search's answer may lag behind the item, so it never stands in.
const PAGE_READ_FRESH_FOR: chrono::Duration = chrono::Duration::seconds(2);

impl PageRead {
    fn is_fresh(&self, now: Timestamp) -> bool {
        self.read_at.is_some_and(|read_at| now - read_at < PAGE_READ_FRESH_FOR)
    }
}

/// The sync engine of one integration.
pub struct Engine {
    pub(crate) config: Arc<IntegrationConfig>,
    pub(crate) connectors: [Arc<dyn Connector>; 2],
    /// Asked of each system when first needed, not at start: a system that is down when a function
    /// starts must not stop the other direction, nor the recording of changes for later.
    service_accounts: [OnceCell<UserRef>; 2],
    pub(crate) stores: EngineStores,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) users: UserResolver,
    pub(crate) worker: String,
    pub(crate) claim_lease: chrono::Duration,
    /// The longest one connector call may take (see `Connector::max_call_duration`).
    pub(crate) longest_call: chrono::Duration,
    /// How long the systems' searches may lag behind their writes (`polling.search_lag`).
    pub(crate) search_lag: chrono::Duration,
    pub(crate) retry_policy: crate::RetryPolicy,
    /// How long items' history entries are kept; zero keeps none.
    pub(crate) history_retention: chrono::Duration,
    #[cfg(feature = "crash-points")]
    crash_plan: Option<Arc<dyn crate::crash::CrashPlan>>,
    item_locks: Mutex<HashMap<(Side, ItemId), ItemLock>>,
}

impl Engine {
    /// Builds the engine. Nothing is asked of the systems yet. The claim lease outlasts the slowest call
    /// either connector may make (and is at least [`DEFAULT_CLAIM_LEASE`]).
    pub fn new(
        config: Arc<IntegrationConfig>,
        connectors: [Arc<dyn Connector>; 2],
        stores: EngineStores,
        clock: Arc<dyn Clock>,
    ) -> Engine {
        let longest_call = connectors
            .iter()
            .map(|connector| duration(connector.max_call_duration()))
            .max()
            .unwrap_or(chrono::Duration::zero());
        Engine {
            claim_lease: DEFAULT_CLAIM_LEASE.max(longest_call + LEASE_MARGIN),
            longest_call,
            search_lag: duration(config.polling.search_lag),
            users: UserResolver::new(connectors.clone()),
            config,
            connectors,
            service_accounts: [OnceCell::new(), OnceCell::new()],
            stores,
            clock,
            worker: uuid::Uuid::new_v4().to_string(),
            retry_policy: crate::RetryPolicy::default(),
            history_retention: duration(crate::history::DEFAULT_HISTORY_RETENTION),
            #[cfg(feature = "crash-points")]
            crash_plan: None,
            item_locks: Mutex::default(),
        }
    }

    /// Changes how long a creation claim keeps other workers off. A lease shorter than the connectors'
    /// longest call lets a worker take over a creation that is still under way (tests that kill workers
    /// use one; a warning says so).
    pub fn with_claim_lease(mut self, lease: std::time::Duration) -> Self {
        self.claim_lease = duration(lease);
        if self.claim_lease <= self.longest_call {
            warn!(lease = ?lease, longest_call = %self.longest_call, "the claim lease is shorter than the longest call a connector may make: a slow create could be made twice");
        }
        self
    }

    /// How long each item's history is kept (`tandem history`); zero keeps none.
    pub fn with_history_retention(mut self, keep: std::time::Duration) -> Self {
        self.history_retention = duration(keep);
        self
    }

    /// Changes when failed syncs are tried again and when they are parked.
    pub fn with_retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// Arms the crash points (tests only): the engine dies wherever `plan` says.
    #[cfg(feature = "crash-points")]
    pub fn with_crash_plan(mut self, plan: Arc<dyn crate::crash::CrashPlan>) -> Self {
        self.crash_plan = Some(plan);
        self
    }

    /// Dies here if the armed crash plan says so; nothing at all in builds without crash points.
    #[inline]
    pub(crate) fn crash_point(&self, _step: crate::crash::Step) {
        #[cfg(feature = "crash-points")]
        if self.crash_plan.as_ref().is_some_and(|plan| plan.crash_at(_step)) {
            std::panic::panic_any(crate::crash::Crash { step: _step });
        }
    }

    pub fn config(&self) -> &IntegrationConfig {
        &self.config
    }

    /// How long a creation claim keeps other workers off.
    pub fn claim_lease(&self) -> std::time::Duration {
        self.claim_lease.to_std().unwrap_or_default()
    }

    pub fn integration(&self) -> &str {
        &self.config.name
    }

    pub fn connector(&self, side: Side) -> &dyn Connector {
        self.connectors[index(side)].as_ref()
    }

    pub fn stores(&self) -> &EngineStores {
        &self.stores
    }

    /// The account the integration acts as on `side` (its changes are never synced back).
    pub async fn service_account(&self, side: Side) -> Result<&UserRef, SyncError> {
        self.service_accounts[index(side)]
            .get_or_try_init(|| async { self.connector(side).service_account().await })
            .await
            .map_err(SyncError::connector(side))
    }

    pub(crate) async fn is_service_account(&self, side: Side, user: Option<&UserRef>) -> Result<bool, SyncError> {
        let Some(user) = user else {
            return Ok(false);
        };
        let own = self.service_account(side).await?;
        Ok(user.id == own.id || matches!((&user.email, &own.email), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b)))
    }

    /// Brings an item and its copy in line: reads the item's current state, then creates the copy or
    /// merges three ways. Safe to call any number of times, from any number of workers.
    #[instrument(skip(self), fields(integration = %self.config.name))]
    pub async fn sync_item(&self, side: Side, id: &ItemId) -> Result<SyncOutcome, SyncError> {
        self.sync(side, id, Read::Fresh, Trigger::Manual).await
    }

    /// As [`Engine::sync_item`], started by `trigger` (as the item's history will say).
    pub(crate) async fn sync_item_for(
        &self,
        side: Side,
        id: &ItemId,
        trigger: Trigger,
    ) -> Result<SyncOutcome, SyncError> {
        self.sync(side, id, Read::Fresh, trigger).await
    }

    /// As [`Engine::sync_item`] for a webhook's notice, which a sync of the item already waiting to read
    /// it covers (`SyncOutcome::Coalesced`).
    pub(crate) async fn sync_notice(&self, side: Side, id: &ItemId, delivery: &str) -> Result<SyncOutcome, SyncError> {
        self.sync(side, id, Read::FreshOrCoalesce, Trigger::Webhook { delivery: delivery.to_string() }).await
    }

    /// As [`Engine::sync_item`], for an item a poll read in a page of changes (from the system's
    /// records at `read_at`, or from a search when `None`). A search can show an older state than the
    /// item has: the page's read is used only when it is newer than what the link has seen (else there
    /// is nothing new), and an item that is not linked yet is read again before anything is copied
    /// from it, unless the page read it from the records moments ago.
    pub async fn sync_read_item(
        &self,
        side: Side,
        item: Item,
        read_at: Option<Timestamp>,
    ) -> Result<SyncOutcome, SyncError> {
        let id = item.item.id.clone();
        self.sync(side, &id, Read::Page(Box::new(PageRead { item, read_at })), Trigger::Poll).await
    }

    /// The item is read under its lock and after its link: a read made earlier could be older than
    /// what another sync has written since, and writing from it would undo that (a stale read). What
    /// the sync did goes into the item's history.
    async fn sync(&self, side: Side, id: &ItemId, read: Read, trigger: Trigger) -> Result<SyncOutcome, SyncError> {
        let at = self.clock.now();
        let delivery = match &trigger {
            Trigger::Webhook { delivery } => Some(delivery.as_str()),
            _ => None,
        };
        // Boxed: a sync's future is large (merge, creation and comments nest), and the callers' stacks
        // (a poll's stream, a test's thread) should not have to hold it.
        let journaled = history::journaled(Box::pin(self.sync_under_lock(side, id, read)));
        let ((outcome, journal), failure_recorded) = marks::acting_on(delivery, journaled).await;
        // Only a merge brings the pair in line: a page's read that showed nothing new, a repeat or a
        // notice left to another sync says nothing of what failed.
        if let (Ok(SyncOutcome::Updated { .. }), Some(side1)) = (&outcome, failure_recorded) {
            self.settle_recorded_failure(&side1, at).await;
        }
        self.keep_history(side, id, at, trigger, &outcome, journal).await;
        outcome
    }

    /// After a sync that succeeded, the failure its link said was recorded is cleared (unless a change
    /// was noted on it after the sync began at `began`), and the link no longer says so. Neither is
    /// the sync's outcome: what stays is cleared by the poller's retry.
    async fn settle_recorded_failure(&self, side1: &ItemId, began: Timestamp) {
        let name = &self.config.name;
        let settled = async {
            if !self.stores.log.clear_failure(name, Side::One, side1, began).await? {
                return Ok(false);
            }
            let Some(mut link) = self.stores.links.get_link(name, Side::One, side1).await? else {
                return Ok(true);
            };
            link.failure_recorded = false;
            self.stores.links.update_link(&link).await.map(|_| true)
        };
        match settled.await {
            Ok(true) => info!(item = %side1, "a recorded failure of this pair is cleared"),
            Ok(false) => debug!(item = %side1, "a change was noted after this sync began; its record stays"),
            Err(error) => debug!(%error, item = %side1, "the recorded failure stays for the poller's retry"),
        }
    }

    async fn sync_under_lock(&self, side: Side, id: &ItemId, read: Read) -> Result<SyncOutcome, SyncError> {
        let gate = self.link_lock(side, id).await?;
        let mut page = match read {
            Read::Page(read) => Some(*read),
            Read::Fresh => {
                gate.read_pending.store(true, Ordering::SeqCst);
                None
            }
            Read::FreshOrCoalesce => {
                if gate.read_pending.swap(true, Ordering::SeqCst) {
                    return Ok(SyncOutcome::Coalesced);
                }
                None
            }
        };
        let _guard = gate.lock.lock().await;
        // From here on, a notice needs a read of its own.
        gate.read_pending.store(false, Ordering::SeqCst);
        for attempt in 1..=MAX_LINK_RACES {
            match self.sync_once(side, id, page.take()).await {
                // Someone else changed the link or the item meanwhile: start again from fresh state.
                Err(error) if error.calls_for_a_fresh_read() && attempt < MAX_LINK_RACES => {
                    debug!(%error, "the state changed during the sync; reading it again");
                }
                // Another worker is writing this pair: its writes usually end within moments.
                Err(SyncError::WritesInProgress { .. }) if attempt < MAX_LINK_RACES => {
                    tokio::time::sleep(WRITES_IN_PROGRESS_PAUSE).await;
                }
                other => return other,
            }
        }
        Err(SyncError::TooMuchContention { attempts: MAX_LINK_RACES })
    }

    /// Records a sync in its item's history when it wrote something, decided a conflict, failed, or found
    /// the item's pair not synced (its copy gone, or either item out of scope); an echo or a repeated
    /// notice leaves none. History is for people: failing to keep it is logged, and
    /// never fails the sync.
    async fn keep_history(
        &self,
        side: Side,
        id: &ItemId,
        at: Timestamp,
        trigger: Trigger,
        outcome: &Result<SyncOutcome, SyncError>,
        journal: history::Journal,
    ) {
        // A linked pair no longer synced says why each time (an operator looking at the item's history
        // sees it); an unlinked item of another type or project, which many notices are about, does not.
        let linked_left_alone = matches!(outcome, Ok(SyncOutcome::OutOfScope { .. })) && journal.copy.is_some();
        let told =
            linked_left_alone || matches!(outcome, Ok(SyncOutcome::Created { .. } | SyncOutcome::CopyGone { .. }));
        let failed = outcome.as_ref().is_err_and(|error| !error.is_waiting());
        if self.history_retention <= chrono::Duration::zero() || !(told || failed || !journal.is_empty()) {
            return;
        }
        let entry = HistoryEntry {
            integration: self.config.name.clone(),
            side,
            item: id.clone(),
            copy: journal.copy,
            at,
            expires_at: at + self.history_retention,
            trigger,
            worker: self.worker.clone(),
            outcome: match outcome {
                Ok(outcome) => outcome.summary(),
                Err(_) => "failed".to_string(),
            },
            writes: journal.writes,
            conflicts: journal.conflicts,
            comments: journal.comments,
            attachments: journal.attachments,
            omitted: journal.omitted,
            error: outcome.as_ref().err().map(|error| error.to_string()),
        };
        if let Err(error) = self.stores.log.record_history(&entry).await {
            warn!(%error, item = %id, "could not keep the sync in the item's history");
        }
    }

    /// The in-process lock of an item's link: both items of a link share one (keyed by the side-1
    /// item), so a webhook from each side cannot sync the same link at once and post a comment twice.
    /// The link read here only picks the key; `sync_once` reads it again under the lock, because it
    /// may have changed while this worker waited.
    async fn link_lock(&self, side: Side, id: &ItemId) -> Result<ItemLock, SyncError> {
        let key = match side {
            Side::One => (Side::One, id.clone()),
            Side::Two => match self.stores.links.side1_of(&self.config.name, id).await? {
                Some(side1) => (Side::One, side1),
                None => (Side::Two, id.clone()),
            },
        };
        let mut locks = self.item_locks.lock().await;
        // Locks of items nobody is syncing are dropped so the map does not grow without bound.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        Ok(locks.entry(key).or_default().clone())
    }

    #[instrument(level = "debug", skip_all, fields(%side, item = %id))]
    async fn sync_once(&self, side: Side, id: &ItemId, page: Option<PageRead>) -> Result<SyncOutcome, SyncError> {
        let link = self.stores.links.get_link(&self.config.name, side, id).await?;
        if let Some(link) = &link {
            // Another worker's announced writes may still be landing: nothing read now could be merged.
            // (It may be syncing this very delivery: once it is done, its last write names it.)
            if let Some(until) = self.writes_in_progress_until(link) {
                return Err(SyncError::WritesInProgress { until });
            }
            if marks::names_this_delivery(link) {
                info!("repeated delivery dropped");
                return Ok(SyncOutcome::Repeated);
            }
            marks::read(link);
        }
        let from_page = match (page, &link) {
            // Announced writes are settled from the items' current values, never from a search's.
            (Some(read), Some(link)) if link.pending_writes.is_empty() => {
                match link.news_in(side, &read.item.version(), self.connector(side).system().change_instants()) {
                    News::Newer => Some(read.item),
                    // The page was read before the link: a sync since may have seen a later state of
                    // that second, which the page's would undo.
                    News::SameInstant => None,
                    News::Nothing => {
                        debug!(version = ?read.item.version(), seen = ?link.seen, "nothing new in this page's read");
                        return Ok(SyncOutcome::AlreadySynced);
                    }
                }
            }
            (Some(read), None) if read.is_fresh(self.clock.now()) => Some(read.item),
            _ => None,
        };
        let outcome = match (from_page, link) {
            (Some(item), Some(link)) => self.merge(side, &item, link).await,
            (Some(item), None) => self.sync_unlinked(side, &item).await,
            (None, Some(link)) => self.read_pair_and_merge(side, id, link).await,
            (None, None) => match self.read(side, id).await? {
                Some(item) => self.sync_unlinked(side, &item).await,
                None => Ok(SyncOutcome::Gone),
            },
        };
        debug!(?outcome, "synced");
        outcome
    }

    /// The outcome of a sync whose item's copy cannot be read any more.
    pub(crate) fn copy_gone(&self, side: Side, link: &Link) -> SyncOutcome {
        let copy = link.item(side.other());
        warn!(item = %link.item(side).label(), copy = %copy.label(), "the copy is gone (deleted, or hidden from the service account); the item is not synced");
        SyncOutcome::CopyGone { copy: copy.id.clone() }
    }

    /// Reads both items of a pair at once (the merge needs both, and a function is billed for the time
    /// it waits), then merges them.
    async fn read_pair_and_merge(&self, side: Side, id: &ItemId, link: Link) -> Result<SyncOutcome, SyncError> {
        let copy = &link.item(side.other()).id;
        let (item, copy) = futures_util::future::join(self.read(side, id), self.read(side.other(), copy)).await;
        let Some(item) = item? else {
            return Ok(SyncOutcome::Gone);
        };
        let Some(copy) = copy? else {
            return Ok(self.copy_gone(side, &link));
        };
        debug!(version = ?item.version(), seen = ?link.seen, "syncing from this read");
        self.merge_both(side, &item, copy, link).await
    }

    /// The item's current state; `None` when it no longer exists or is not visible.
    pub(crate) async fn read(&self, side: Side, id: &ItemId) -> Result<Option<Item>, SyncError> {
        match self.connector(side).get_item(id).await {
            Ok(item) => Ok(Some(item)),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(error) => Err(SyncError::Connector { side, source: error }),
        }
    }

    /// Why an item must not be synced, if it must not: it is not in the side's project and item type
    /// (as its system says now, never as a notice says), or it is restricted in a way the
    /// configuration does not allow.
    pub(crate) fn out_of_scope(&self, side: Side, item: &Item) -> Option<String> {
        let settings = self.config.side(side);
        if !item.place.is(&settings.project, &settings.item_type) {
            return Some(format!(
                "side {side} item {} is a {}, not a {} in project {}",
                item.item.label(),
                item.place,
                settings.item_type,
                settings.project
            ));
        }
        let restriction = item.visibility.unless_allowed(&settings.confidential.items)?;
        Some(format!(
            "side {side} item {} is restricted to {restriction} (not in `confidential.items`)",
            item.item.label()
        ))
    }

    /// An item without a link: copied when it is in scope, is not the integration's own, and matches
    /// the side's filter, under a creation claim.
    async fn sync_unlinked(&self, side: Side, item: &Item) -> Result<SyncOutcome, SyncError> {
        if let Some(reason) = self.out_of_scope(side, item) {
            debug!(%reason, "not copied");
            return Ok(SyncOutcome::OutOfScope { reason });
        }
        // A copy whose link is not stored yet (its creator is still linking it, or died doing so) is
        // never copied back: the retry of its original's change adopts it. Changed since by someone
        // else (or by whom the system does not say), it is tried again once the link is there: the
        // link starts from the copy as its creator read it, and nothing else would read it again.
        if self.is_service_account(side, item.created_by.as_ref()).await? {
            if self.is_service_account(side, item.updated_by.as_ref()).await? {
                return Ok(SyncOutcome::OwnEcho);
            }
            return Err(SyncError::CopyNotLinkedYet { until: self.clock.now() + COPY_LINKED_WITHIN });
        }
        if self.is_service_account(side, item.updated_by.as_ref()).await? {
            return Ok(SyncOutcome::OwnEcho);
        }
        if let Some(filter) = self.config.filter(side) {
            if !filter.matches(&item.fields) {
                return Ok(SyncOutcome::FilteredOut);
            }
        }
        // The copy's fields are made ready first (reading users and converting text may take long), so
        // that one write takes the claim and records the create that follows at once.
        let fields = self.copy_fields(side, item).await?;
        match self.claim(side, &item.item.id, Claiming::HoldToSend { lag: self.search_lag }).await? {
            ClaimOutcome::Claimed { earlier_attempt: None } => {
                self.crash_point(Step::CreationClaimed);
                self.create_and_link(side, item, fields, None).await
            }
            // An earlier attempt that never sent made nothing: the claim recorded this create.
            ClaimOutcome::Claimed { earlier_attempt: Some(earlier) } if earlier.sent.is_none() => {
                self.create_and_link(side, item, fields, None).await
            }
            ClaimOutcome::Claimed { earlier_attempt } => {
                if let Some(copy) = self.earlier_copy(side, item, earlier_attempt).await? {
                    return self.adopt_copy(side, item, copy).await;
                }
                self.create_copy(side, item, fields).await
            }
            ClaimOutcome::Linked(link) => self.merge_read_again(side, &item.item.id, *link).await,
            ClaimOutcome::HeldElsewhere { until } => Err(SyncError::CreationInProgress { until }),
        }
    }

    /// The copy an earlier attempt at this creation may have made and not linked (it died, or its
    /// create's answer was lost). Looked for only when that attempt sent a create, and only once a
    /// search would show the copy: before that, finding nothing proves nothing.
    async fn earlier_copy(
        &self,
        from: Side,
        item: &Item,
        earlier: Option<EarlierAttempt>,
    ) -> Result<Option<Item>, SyncError> {
        let Some((earlier, sent)) = earlier.and_then(|earlier| Some((earlier, earlier.sent?))) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let visible_from = earlier.copy_visible_from(now, self.search_lag).unwrap_or(now);
        if now < visible_from {
            return Err(SyncError::AwaitingSearch { until: visible_from });
        }
        let target = from.other();
        self.connector(target)
            .find_copy(&self.origin(from, item), sent.first_sent - CLOCK_SKEW)
            .await
            .map_err(SyncError::connector(target))
    }

    /// Claims (or renews) the creation of a copy of `item`, for this worker, for one lease. The lease
    /// counts from before the store call, so a slow store eats into it: a claim that leaves less than
    /// half the lease is not relied on (another worker may take it over while the copy is being made).
    pub(crate) async fn claim(&self, side: Side, item: &ItemId, purpose: Claiming) -> Result<ClaimOutcome, SyncError> {
        let now = self.clock.now();
        let until = now + self.claim_lease;
        let send = match purpose {
            Claiming::Hold { .. } => SendUpdate::Nothing,
            // The copy is made on the other side, by a call that system's connector bounds.
            Claiming::Send { lag } => SendUpdate::Started(self.send_window(side, now, lag)),
            Claiming::HoldToSend { lag } => SendUpdate::StartedUnlessSent(self.send_window(side, now, lag)),
            Claiming::Ended { lag } => SendUpdate::Ended { visible_by: now + lag },
            Claiming::Withdraw { before, .. } => SendUpdate::Withdrawn { before },
        };
        let search_lag = purpose.lag();
        let request = ClaimRequest { owner: &self.worker, now, lease_until: until, send, search_lag };
        let outcome = self.stores.links.claim_creation(&self.config.name, side, item, &request).await?;
        let took = self.clock.now() - now;
        if matches!(outcome, ClaimOutcome::Claimed { .. }) && took * 2 > self.claim_lease {
            return Err(SyncError::SlowClaim { took: took.to_std().unwrap_or_default() });
        }
        Ok(outcome)
    }

    /// The window of a send to the other side of `side` starting `now`: the copy is made, if at all, by
    /// the time the other system's connector gives the call up, and a search shows it `lag` after.
    fn send_window(&self, side: Side, now: Timestamp, lag: chrono::Duration) -> SendWindow {
        let longest = duration(self.connector(side.other()).max_call_duration());
        SendWindow { first_sent: now, visible_by: now + longest + lag }
    }

    fn origin(&self, side: Side, item: &Item) -> CopyOrigin {
        CopyOrigin {
            integration: self.config.name.clone(),
            side,
            item: item.item.id.clone(),
            url: item.item.url.clone(),
        }
    }

    /// Links a copy an earlier attempt created. Its fields start with an unknown source snapshot, so the
    /// merge that follows writes whatever the source has that the copy lacks, and nothing else.
    async fn adopt_copy(&self, from: Side, item: &Item, copy: Item) -> Result<SyncOutcome, SyncError> {
        let target = from.other();
        let mut snapshots = BTreeMap::new();
        for mapping in &self.config.fields {
            let mut snapshot = FieldSnapshot::default();
            if let Some(field) = mapping.field(target) {
                snapshot.set(target, copy.field(field).clone());
            }
            snapshots.insert(mapping.name.clone(), snapshot);
        }
        let link = self.insert_link(from, self.new_link(from, item, &copy, snapshots)).await?;
        info!(from = %from, source = %item.item.label(), copy = %copy.item.label(), "adopted a copy an earlier attempt created");
        history::note(|journal| journal.copy = Some(copy.item.id.clone()));
        self.point_at_each_other(from, item, &copy).await;
        self.merge(from, item, link).await?;
        Ok(SyncOutcome::Created { copy: copy.item.id })
    }

    fn new_link(&self, from: Side, item: &Item, copy: &Item, fields: BTreeMap<String, FieldSnapshot>) -> Link {
        let now = self.clock.now();
        let (side1, side2) = match from {
            Side::One => (item.item.clone(), copy.item.clone()),
            Side::Two => (copy.item.clone(), item.item.clone()),
        };
        let mut seen = SeenVersions::default();
        seen.saw(from, item.version());
        seen.saw(from.other(), copy.version());
        Link {
            integration: self.config.name.clone(),
            side1,
            side2,
            fields,
            comments: Vec::new(),
            attachments: Vec::new(),
            pending_writes: BTreeMap::new(),
            announced_by: None,
            seen,
            deliveries: Vec::new(),
            failure_recorded: false,
            created_at: now,
            synced_at: now,
            version: 0,
        }
    }

    /// Merges an item into a link that appeared after the item was read: the link's creator may have
    /// seen a later state than that read (in the same second, where instants are whole seconds), so the
    /// item is read again rather than written from.
    pub(crate) async fn merge_read_again(&self, side: Side, id: &ItemId, link: Link) -> Result<SyncOutcome, SyncError> {
        match self.read(side, id).await? {
            Some(item) => self.merge(side, &item, link).await,
            None => Ok(SyncOutcome::Gone),
        }
    }

    /// Creates the copy under the claim taken by the caller, after an earlier attempt's copy was looked
    /// for and not found.
    ///
    /// Once the create call has been made it may have succeeded even if it reported an error (a
    /// timeout, a failed follow-up transition), so the claim is kept until its lease ends rather than
    /// inviting a second copy.
    async fn create_copy(
        &self,
        from: Side,
        item: &Item,
        fields: (FieldMap, BTreeMap<String, FieldSnapshot>),
    ) -> Result<SyncOutcome, SyncError> {
        // Looking may have taken longer than the lease: renew the claim right before the create, or give
        // way to whoever took it over. The renewal records the create, so a worker taking over knows to
        // look for its copy, and when.
        let before = match self.claim(from, &item.item.id, Claiming::Send { lag: self.search_lag }).await? {
            ClaimOutcome::Claimed { earlier_attempt } => earlier_attempt.and_then(|earlier| earlier.sent),
            ClaimOutcome::Linked(link) => return self.merge_read_again(from, &item.item.id, *link).await,
            ClaimOutcome::HeldElsewhere { until } => return Err(SyncError::CreationInProgress { until }),
        };
        self.create_and_link(from, item, fields, before).await
    }

    /// The copy's fields and the snapshots they start from, keyed by mapping name.
    async fn copy_fields(
        &self,
        from: Side,
        item: &Item,
    ) -> Result<(FieldMap, BTreeMap<String, FieldSnapshot>), SyncError> {
        let target = from.other();
        let mut fields = FieldMap::new();
        let mut snapshots = BTreeMap::new();
        for mapping in &self.config.fields {
            let Some(target_field) = mapping.field(target) else {
                continue;
            };
            let source_value = mapping.field(from).map(|field| item.field(field).clone()).unwrap_or_default();
            let flows = mapping.field(from).is_some() && mapping.flows_from(from);
            let value = match flows {
                true => self.translate(mapping, from, &source_value).await?,
                false => mapping.default_for(target).unwrap_or_default(),
            };
            // No file is copied before the copy exists: its images show as lines naming them for now.
            let mut attachments: [&[_]; 2] = [&[], &[]];
            attachments[index(from)] = &item.attachments;
            let shown = self.with_images_repointed(&[], from, value.clone(), attachments, &FieldValue::Empty);
            let shown = self.connector(target).as_stored(target_field, shown);
            if !shown.is_empty() {
                fields.insert(target_field.to_string(), shown.clone());
            }
            let mut snapshot = FieldSnapshot::default();
            // A text whose images are still to come counts as not delivered yet, so the sync after the
            // files are copied writes it again, with them.
            let images_to_come = self.rehosts_images(from) && images_differ(&shown, &value);
            snapshot.set(from, if images_to_come { FieldValue::Empty } else { source_value });
            let value = shown;
            snapshot.set(target, value);
            snapshots.insert(mapping.name.clone(), snapshot);
        }
        Ok((fields, snapshots))
    }

    /// Creates the copy; `before` is the claim's send window before this create was announced in it.
    async fn create_and_link(
        &self,
        from: Side,
        item: &Item,
        (mut fields, mut snapshots): (FieldMap, BTreeMap<String, FieldSnapshot>),
        before: Option<SendWindow>,
    ) -> Result<SyncOutcome, SyncError> {
        let target = from.other();
        let (copy, refusal) = match self.create_without_refused(from, item, &mut fields, &mut snapshots).await {
            Ok(created) => created,
            Err(error) => {
                if let Some(ending) = Claiming::after_failed_send(&error, self.search_lag, before) {
                    self.end_send(from, &item.item.id, ending).await;
                }
                return Err(SyncError::Connector { side: target, source: error });
            }
        };
        self.crash_point(Step::CopyCreated);
        // Remember each field as the target stored it, so its own re-serialisation is not a change. A
        // field that reads otherwise was changed by someone between the create and its read.
        let mut as_written = true;
        for mapping in &self.config.fields {
            if let (Some(field), Some(snapshot)) = (mapping.field(target), snapshots.get_mut(&mapping.name)) {
                if let Some(stored) = copy.fields.get(field) {
                    match snapshot.holds(target, stored) {
                        true => snapshot.set(target, stored.clone()),
                        false => as_written = false,
                    }
                }
            }
        }
        let mut link = self.new_link(from, item, &copy, snapshots);
        // The copy as read holds someone's edit the link has not synced: its state must not count as
        // seen, or a poll listing that very state would pass it over (and with its notice lost, the
        // edit with it).
        if !as_written {
            link.seen.forget(target);
        }
        // The link's insertion is the sync's last write when the item has no files or comments to copy
        // (its read showed none): then it may say which delivery it finished (see `marks`).
        let nothing_follows = item.attachments.is_empty() && item.comments.as_ref().is_some_and(Vec::is_empty);
        if nothing_follows && !self.texts_await_images(from, item, &link) {
            marks::stamp(&mut link);
        }
        let link = self.insert_link(from, link).await?;
        info!(from = %from, source = %item.item.label(), copy = %copy.item.label(), "created copy");
        history::note(|journal| {
            journal.copy = Some(copy.item.id.clone());
            for (field, value) in &fields {
                journal.wrote(target, field, &FieldValue::Empty, value);
            }
        });
        self.crash_point(Step::LinkInserted);
        self.point_at_each_other(from, item, &copy).await;
        let (item1, item2) = match from {
            Side::One => (item, &copy),
            Side::Two => (&copy, item),
        };
        let mut link = link;
        self.sync_attachments(&mut link, [item1, item2]).await?;
        if self.texts_await_images(from, item, &link) {
            // Texts written before the files their images show were copied: a merge writes them whole.
            self.copy_image_files(&mut link, from, &self.field_texts(from, item), &item.attachments).await?;
            self.merge_read_again(from, &item.item.id, link).await?;
        } else {
            self.sync_comments(&mut link, [item1, item2]).await?;
        }
        match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(SyncOutcome::Created { copy: copy.item.id }),
        }
    }

    /// Creates the copy. A field the target refuses before anything is sent (a value longer than the
    /// field holds, one it does not take) is left out, as an update leaves it out, rather than keep the
    /// whole item from being copied: its snapshot says nothing was delivered, so every later sync
    /// writes it again (and is refused, and recorded, until the value fits). The first refusal is
    /// returned beside the copy, to be the sync's error once the copy is linked.
    async fn create_without_refused(
        &self,
        from: Side,
        item: &Item,
        fields: &mut FieldMap,
        snapshots: &mut BTreeMap<String, FieldSnapshot>,
    ) -> Result<(Item, Option<SyncError>), ConnectorError> {
        let target = from.other();
        let origin = self.origin(from, item);
        let mut refusal = None;
        loop {
            let error = match self.connector(target).create_item(fields, Some(&origin)).await {
                Ok(copy) => return Ok((copy, refusal)),
                Err(error) => error,
            };
            let ConnectorError::FieldRefused { field, .. } = &error else {
                return Err(error);
            };
            let Some(mapping) = self.config.fields.iter().find(|mapping| mapping.field(target) == Some(field.as_str()))
            else {
                return Err(error);
            };
            if fields.remove(field).is_none() {
                return Err(error);
            }
            warn!(to = %target, source = %item.item.label(), field = %mapping.name, %error, "the target refused a field; the copy is made without it");
            snapshots.insert(mapping.name.clone(), FieldSnapshot::default());
            let name = mapping.name.clone();
            refusal.get_or_insert(SyncError::FieldRefused { side: target, field: name, source: error });
        }
    }

    /// Whether a new link holds a text of `item` as not delivered yet, its images still to be copied: the
    /// copy holds the text (with lines naming the images) while the snapshot says it is still to come. A
    /// field the target refused holds nothing on either side; the next sync writes it, not this one.
    fn texts_await_images(&self, from: Side, item: &Item, link: &Link) -> bool {
        self.config.fields.iter().any(|mapping| {
            let (Some(field), Some(snapshot)) = (mapping.field(from), link.fields.get(&mapping.name)) else {
                return false;
            };
            !snapshot.holds(from, item.field(field)) && !snapshot.holds(from.other(), &FieldValue::Empty)
        })
    }

    /// Tells each item's system where the other lives, where it keeps such a pointer; a failure costs
    /// the pointer only (the link is what tandem relies on), so it is logged and the sync goes on.
    async fn point_at_each_other(&self, from: Side, item: &Item, copy: &Item) {
        for (side, on, other) in [(from, item, copy), (from.other(), copy, item)] {
            let linked_connector = self.connector(side.other());
            let linked = LinkedItem {
                item: linked_connector.item_ref(other),
                system: self.config.side(side.other()).system,
                related: linked_connector.related_records(other),
            };
            if let Err(error) = self.connector(side).point_to_linked(&on.item.id, &linked).await {
                warn!(item = %on.item.label(), linked = %other.item.label(), %error, "could not point an item at the one linked with it");
            }
        }
    }

    /// Records in this worker's claim how its send came back failed, so that its own retry may look for
    /// a copy as soon as a search shows it (or not at all, when the system made nothing) rather than
    /// when the call could have lasted longest. A claim that cannot be updated keeps the longer wait,
    /// which is safe.
    pub(crate) async fn end_send(&self, side: Side, claim: &ItemId, ending: Claiming) {
        if let Err(error) = self.claim(side, claim, ending).await {
            warn!(%error, "could not record that a create came back; a retry waits longer before looking for its copy");
        }
    }

    /// Stores the link of a copy made (or adopted) under this worker's claim on the source item.
    async fn insert_link(&self, from: Side, link: Link) -> Result<Link, SyncError> {
        Ok(self.stores.links.insert_link(&link, from, &self.worker).await?)
    }

    /// A source value as the target should hold it: users resolved on the target, mentions re-pointed at
    /// the target's users, then the mapping's value map / defaults / rich-text conversion.
    pub(crate) async fn translate(
        &self,
        mapping: &FieldMapping,
        from: Side,
        value: &FieldValue,
    ) -> Result<FieldValue, SyncError> {
        if mapping.kind == FieldKind::User {
            let source = match value {
                FieldValue::User(user) => Some(user),
                _ => None,
            };
            return Ok(self
                .users
                .resolve(&self.config.users, from, source)
                .await?
                .map(FieldValue::User)
                .unwrap_or_default());
        }
        let value = match value {
            FieldValue::RichText(text) => FieldValue::RichText(self.repoint_mentions(from, text).await?),
            other => other.clone(),
        };
        self.config
            .convert(mapping, from, &value)
            .map_err(|source| SyncError::Mapping { field: mapping.name.clone(), source })
    }

    /// Mentions name users by their id on the source side; the copy must name the target's users.
    /// A mention of someone with no counterpart becomes plain text.
    pub(crate) async fn repoint_mentions(&self, from: Side, text: &RichText) -> Result<RichText, SyncError> {
        let mentions = tandem_rich_text::mentions(text);
        if mentions.is_empty() {
            return Ok(text.clone());
        }
        let mut targets: HashMap<String, Option<tandem_rich_text::Mention>> = HashMap::new();
        for mention in mentions {
            if targets.contains_key(&mention.id) {
                continue;
            }
            let source = self.users.user_by_id(from, &mention.id).await?;
            let target = match self.config.users.target_email(from, &source) {
                Some(email) => self.users.find_by_email(from.other(), &email).await?,
                None => None,
            };
            let repointed = target.map(|user| tandem_rich_text::Mention {
                text: user.display_name.as_ref().map(|name| format!("@{name}")).unwrap_or_else(|| mention.text.clone()),
                id: user.id,
            });
            targets.insert(mention.id.clone(), repointed);
        }
        let map = |mention: &tandem_rich_text::Mention| targets.get(&mention.id).cloned().flatten();
        Ok(tandem_rich_text::map_mentions(text, &map))
    }
}

/// Whether two values show different images (a text whose images became lines naming them).
fn images_differ(one: &FieldValue, other: &FieldValue) -> bool {
    match (one, other) {
        (FieldValue::RichText(one), FieldValue::RichText(other)) => {
            tandem_rich_text::images(one) != tandem_rich_text::images(other)
        }
        _ => false,
    }
}

pub(crate) fn index(side: Side) -> usize {
    usize::from(side.number() - 1)
}

/// A standard duration as the engine's instants count it (saturating: nothing lasts 292 billion years).
pub(crate) fn duration(from: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(from).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::SystemKind;

    const SYSTEM: SystemKind = SystemKind::UNKNOWN;

    fn http(status: u16) -> ConnectorError {
        ConnectorError::Http {
            system: SYSTEM,
            status,
            method: "POST".into(),
            path: "/items".into(),
            message: String::new(),
            retry_after: None,
        }
    }

    /// A refused send made nothing, an answered failure made what it made by now, and a send that got
    /// no answer (the client gave up, or a gateway did) may still make its copy later.
    #[test]
    fn a_failed_send_ends_its_window_only_when_the_system_answered() {
        let lag = chrono::Duration::seconds(2);
        let ending = |error: &ConnectorError| Claiming::after_failed_send(error, lag, None);
        assert!(matches!(ending(&http(400)), Some(Claiming::Withdraw { .. })));
        assert!(matches!(ending(&http(503)), Some(Claiming::Withdraw { .. })));
        assert!(matches!(ending(&http(500)), Some(Claiming::Ended { .. })));
        let unanswered = ConnectorError::Unreachable { system: SYSTEM, message: "timeout".into(), source: None };
        for error in [unanswered, http(504)] {
            assert!(ending(&error).is_none(), "{error}");
            let cut = ConnectorError::CutShort { system: SYSTEM, source: Box::new(error) };
            assert!(ending(&cut).is_none(), "{cut}");
        }
    }
}
