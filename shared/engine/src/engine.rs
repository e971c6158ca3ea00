use crate::crash::Step;
use crate::error::SyncError;
use crate::ports::{
    ClaimOutcome, Clock, Connector, ConnectorError, CopyOrigin, DeliveryStore, FieldSnapshot, Link, LinkStore,
    StoreError, SyncLog, WatermarkStore,
};
use crate::users::UserResolver;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tandem_mapping::{FieldKind, FieldMapping, IntegrationConfig};
use tandem_model::{FieldMap, FieldValue, Item, ItemId, RichText, Side, UserRef};
use tokio::sync::{Mutex, OnceCell};
use tracing::{info, instrument, warn};

/// How long a creation claim is held before another worker may take it over (a crashed worker's claim
/// must not block the item forever). It must outlast the longest create or comment call, retries
/// included (the default connector policies: about a minute at worst), or a slow live worker and the
/// one taking over could both make a copy.
pub const DEFAULT_CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(120);
/// How far before an earlier claim's lease the search for its copy starts (clock skew, slow creates).
const ADOPTION_MARGIN: chrono::Duration = chrono::Duration::minutes(5);
/// Items a poll syncs at once: enough to hide API latency in a backfill, few enough to stay polite to
/// the systems' rate limits (each item takes several calls).
pub const DEFAULT_POLL_CONCURRENCY: usize = 4;
/// Optimistic-concurrency retries of one sync before giving up (the change stays recorded for the poller).
const MAX_LINK_RACES: u32 = 4;

/// Serialises syncs of one item within this process (other processes are held off by the store's
/// conditional writes).
type ItemLock = Arc<Mutex<()>>;

/// The stores the engine needs; one adapter usually implements them all.
#[derive(Clone)]
pub struct EngineStores {
    pub links: Arc<dyn LinkStore>,
    pub watermarks: Arc<dyn WatermarkStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub log: Arc<dyn SyncLog>,
}

impl EngineStores {
    /// All four from one adapter.
    pub fn from_one<S>(store: Arc<S>) -> Self
    where
        S: LinkStore + WatermarkStore + DeliveryStore + SyncLog + 'static,
    {
        EngineStores { links: store.clone(), watermarks: store.clone(), deliveries: store.clone(), log: store }
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
    /// An unlinked item the integration created or last changed (a copy whose link is being stored).
    OwnEcho,
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
    pub(crate) retry_policy: crate::RetryPolicy,
    pub(crate) poll_concurrency: usize,
    #[cfg(feature = "crash-points")]
    crash_plan: Option<Arc<dyn crate::crash::CrashPlan>>,
    item_locks: Mutex<HashMap<(Side, ItemId), ItemLock>>,
}

impl Engine {
    /// Builds the engine. Nothing is asked of the systems yet.
    pub fn new(
        config: Arc<IntegrationConfig>,
        connectors: [Arc<dyn Connector>; 2],
        stores: EngineStores,
        clock: Arc<dyn Clock>,
    ) -> Engine {
        Engine {
            users: UserResolver::new(connectors.clone()),
            config,
            connectors,
            service_accounts: [OnceCell::new(), OnceCell::new()],
            stores,
            clock,
            worker: uuid::Uuid::new_v4().to_string(),
            claim_lease: DEFAULT_CLAIM_LEASE,
            retry_policy: crate::RetryPolicy::default(),
            poll_concurrency: DEFAULT_POLL_CONCURRENCY,
            #[cfg(feature = "crash-points")]
            crash_plan: None,
            item_locks: Mutex::default(),
        }
    }

    /// Changes how long a creation claim keeps other workers off (default one minute).
    pub fn with_claim_lease(mut self, lease: std::time::Duration) -> Self {
        self.claim_lease = chrono::Duration::from_std(lease).unwrap_or(DEFAULT_CLAIM_LEASE);
        self
    }

    /// How many changed items a poll syncs at once (at least one).
    pub fn with_poll_concurrency(mut self, items: usize) -> Self {
        self.poll_concurrency = items.max(1);
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
        let item = match self.connector(side).get_item(id).await {
            Ok(item) => item,
            Err(ConnectorError::NotFound { .. }) => return Ok(SyncOutcome::Gone),
            Err(error) => return Err(SyncError::Connector { side, source: error }),
        };
        self.sync_read_item(side, item).await
    }

    /// As [`Engine::sync_item`], for an item already read (the poller reads items in pages).
    pub async fn sync_read_item(&self, side: Side, item: Item) -> Result<SyncOutcome, SyncError> {
        let lock = self.link_lock(side, &item.item.id).await?;
        let _guard = lock.lock().await;
        let mut item = item;
        for attempt in 1..=MAX_LINK_RACES {
            match self.sync_once(side, &item).await {
                Err(SyncError::Store(StoreError::Conflict { .. })) if attempt < MAX_LINK_RACES => {
                    // Someone else synced this link meanwhile: start again from fresh state.
                    item = match self.connector(side).get_item(&item.item.id).await {
                        Ok(fresh) => fresh,
                        Err(ConnectorError::NotFound { .. }) => return Ok(SyncOutcome::Gone),
                        Err(error) => return Err(SyncError::Connector { side, source: error }),
                    };
                }
                other => return other,
            }
        }
        Err(SyncError::TooMuchContention { attempts: MAX_LINK_RACES })
    }

    /// The in-process lock of an item's link: both items of a link share one (keyed by the side-1
    /// item), so a webhook from each side cannot sync the same link at once and post a comment twice.
    /// The link read here only picks the key; `sync_once` reads it again under the lock, because it
    /// may have changed while this worker waited.
    async fn link_lock(&self, side: Side, id: &ItemId) -> Result<ItemLock, SyncError> {
        let key = match side {
            Side::One => (Side::One, id.clone()),
            Side::Two => match self.stores.links.get_link(&self.config.name, side, id).await? {
                Some(link) => (Side::One, link.side1.id),
                None => (Side::Two, id.clone()),
            },
        };
        let mut locks = self.item_locks.lock().await;
        // Locks of items nobody is syncing are dropped so the map does not grow without bound.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        Ok(locks.entry(key).or_default().clone())
    }

    async fn sync_once(&self, side: Side, item: &Item) -> Result<SyncOutcome, SyncError> {
        let integration = &self.config.name;
        if let Some(link) = self.stores.links.get_link(integration, side, &item.item.id).await? {
            return self.merge(side, item, link).await;
        }
        // A copy whose link is not stored yet (its creator is still linking it, or died doing so) is
        // never copied back: the retry of its original's change adopts it.
        if self.is_service_account(side, item.created_by.as_ref()).await?
            || self.is_service_account(side, item.updated_by.as_ref()).await?
        {
            return Ok(SyncOutcome::OwnEcho);
        }
        if let Some(filter) = self.config.filter(side) {
            if !filter.matches(&item.fields) {
                return Ok(SyncOutcome::FilteredOut);
            }
        }
        match self.claim(side, &item.item.id).await? {
            ClaimOutcome::Claimed { earlier_attempt: None } => self.crash_point(Step::CreationClaimed),
            ClaimOutcome::Claimed { earlier_attempt: Some(lease_end) } => {
                // An earlier attempt claimed this creation and never linked: it may have died after the
                // target created the copy. Adopt that copy rather than create a second one.
                let since = lease_end - self.claim_lease - ADOPTION_MARGIN;
                let target = side.other();
                if let Some(copy) = self
                    .connector(target)
                    .find_copy(&self.origin(side, item), since)
                    .await
                    .map_err(SyncError::connector(target))?
                {
                    return self.adopt_copy(side, item, copy).await;
                }
            }
            ClaimOutcome::Linked(link) => return self.merge(side, item, *link).await,
            ClaimOutcome::HeldElsewhere { until } => return Err(SyncError::CreationInProgress { until }),
        }
        self.create_copy(side, item).await
    }

    /// Claims (or renews) the creation of a copy of `item`, for this worker, for one lease. The lease
    /// counts from before the store call, so a slow store eats into it: a claim that leaves less than
    /// half the lease is not relied on (another worker may take it over while the copy is being made).
    pub(crate) async fn claim(&self, side: Side, item: &ItemId) -> Result<ClaimOutcome, SyncError> {
        let now = self.clock.now();
        let until = now + self.claim_lease;
        let outcome = self.stores.links.claim_creation(&self.config.name, side, item, &self.worker, now, until).await?;
        let took = self.clock.now() - now;
        if matches!(outcome, ClaimOutcome::Claimed { .. }) && took * 2 > self.claim_lease {
            return Err(SyncError::SlowClaim { took: took.to_std().unwrap_or_default() });
        }
        Ok(outcome)
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
        let link = self.stores.links.insert_link(&self.new_link(from, item, &copy, snapshots)).await?;
        info!(from = %from, source = %item.item.label(), copy = %copy.item.label(), "adopted a copy an earlier attempt created");
        self.merge(from, item, link).await?;
        Ok(SyncOutcome::Created { copy: copy.item.id })
    }

    fn new_link(&self, from: Side, item: &Item, copy: &Item, fields: BTreeMap<String, FieldSnapshot>) -> Link {
        let now = self.clock.now();
        let (side1, side2) = match from {
            Side::One => (item.item.clone(), copy.item.clone()),
            Side::Two => (copy.item.clone(), item.item.clone()),
        };
        Link {
            integration: self.config.name.clone(),
            side1,
            side2,
            fields,
            comments: Vec::new(),
            pending_writes: BTreeMap::new(),
            created_at: now,
            synced_at: now,
            version: 0,
        }
    }

    /// Creates the copy under the claim taken by the caller.
    ///
    /// The claim is given up only when nothing was sent to the target yet. Once the create call has
    /// been made it may have succeeded even if it reported an error (a timeout, a failed follow-up
    /// transition), so the claim is kept until its lease ends rather than inviting a second copy.
    async fn create_copy(&self, from: Side, item: &Item) -> Result<SyncOutcome, SyncError> {
        let fields = match self.copy_fields(from, item).await {
            Ok(fields) => fields,
            Err(error) => {
                let integration = &self.config.name;
                if let Err(release) =
                    self.stores.links.release_claim(integration, from, &item.item.id, &self.worker).await
                {
                    warn!(error = %release, "could not release a creation claim; it expires with its lease");
                }
                return Err(error);
            }
        };
        // Reading users and converting text may have taken longer than the lease (retries, rate
        // limits): renew the claim right before the create, or give way to whoever took it over.
        match self.claim(from, &item.item.id).await? {
            ClaimOutcome::Claimed { .. } => {}
            ClaimOutcome::Linked(link) => return self.merge(from, item, *link).await,
            ClaimOutcome::HeldElsewhere { until } => return Err(SyncError::CreationInProgress { until }),
        }
        self.create_and_link(from, item, fields).await
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
            let value = if mapping.field(from).is_some() && mapping.flows_from(from) {
                self.translate(mapping, from, &source_value).await?
            } else {
                mapping.default_for(target).unwrap_or_default()
            };
            if !value.is_empty() {
                fields.insert(target_field.to_string(), value.clone());
            }
            let mut snapshot = FieldSnapshot::default();
            snapshot.set(from, source_value);
            snapshot.set(target, value);
            snapshots.insert(mapping.name.clone(), snapshot);
        }
        Ok((fields, snapshots))
    }

    async fn create_and_link(
        &self,
        from: Side,
        item: &Item,
        (fields, mut snapshots): (FieldMap, BTreeMap<String, FieldSnapshot>),
    ) -> Result<SyncOutcome, SyncError> {
        let target = from.other();
        let copy = self
            .connector(target)
            .create_item(&fields, Some(&self.origin(from, item)))
            .await
            .map_err(SyncError::connector(target))?;
        self.crash_point(Step::CopyCreated);
        // Remember each field as the target stored it, so its own re-serialisation is not a change.
        for mapping in &self.config.fields {
            if let (Some(field), Some(snapshot)) = (mapping.field(target), snapshots.get_mut(&mapping.name)) {
                if let Some(stored) = copy.fields.get(field) {
                    if snapshot.holds(target, stored) {
                        snapshot.set(target, stored.clone());
                    }
                }
            }
        }
        let link = self.stores.links.insert_link(&self.new_link(from, item, &copy, snapshots)).await?;
        info!(from = %from, source = %item.item.label(), copy = %copy.item.label(), "created copy");
        self.crash_point(Step::LinkInserted);
        let (item1, item2) = match from {
            Side::One => (item, &copy),
            Side::Two => (&copy, item),
        };
        self.sync_comments(link, [item1, item2]).await?;
        Ok(SyncOutcome::Created { copy: copy.item.id })
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
        let mentions = match text {
            RichText::Adf(document) => tandem_rich_text::adf_mentions(document),
            RichText::Html(html) => tandem_rich_text::html_mentions(html),
        };
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
        Ok(match text {
            RichText::Adf(document) => RichText::Adf(tandem_rich_text::map_adf_mentions(document, &map)),
            RichText::Html(html) => RichText::Html(tandem_rich_text::map_html_mentions(html, &map)),
        })
    }
}

pub(crate) fn index(side: Side) -> usize {
    usize::from(side.number() - 1)
}
