//! Where a poll's pages of changed issues continue ([`Keyset`]), and the search window they are read in.
//!
//! JQL dates have minute precision, so a poll searches a window relative to now (`updated >= -16m`).
//! Jira's page tokens are offsets into a search's answer, and between two pages that answer shifts: the
//! window's start moves on with the clock, and an issue changed meanwhile moves to the end of the order,
//! so the next page would start late and pass issues over. So no listing here is read past its first
//! answer with a token:
//! - **by change** (as long as it finds anything): one answer lists the window's oldest 5000 ids; those
//!   not fetched yet in this poll are queued and fetched a hundred at a time, oldest change first, and
//!   the window moves on past what is known to be read as listed;
//! - **by key**, once an answer's 5000 ids were all fetched already (thousands of issues changed within
//!   the same minutes, as a bulk import does): the rest of the window is listed in key order after the
//!   last key listed (`key > "OPS-12" ORDER BY key`), an order nothing moves. The window cannot move on
//!   until that walk ends; then every issue changed before the poll began has been read.

use chrono::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use tandem_engine::ports::{ChangedPage, ConnectorError, PageToken};
use tandem_model::{Item, Timestamp};

/// Extra minutes searched before `since`, so a small clock difference with Jira loses nothing; the
/// client-side filter drops what is older.
pub(crate) const SEARCH_MARGIN_MINUTES: i64 = 1;

/// Minutes to search back from `now` so that `since` is inside the window: rounded up, plus a margin.
pub(crate) fn minutes_back(now: Timestamp, since: Timestamp) -> i64 {
    let seconds = (now - since).num_seconds().max(0);
    (seconds + 59) / 60 + SEARCH_MARGIN_MINUTES
}

/// How a poll lists the window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Order {
    /// Oldest change first, one answer at a time.
    ByChange,
    /// In key order, after this key (`None`: from the first).
    ByKey(Option<String>),
}

/// How far a poll has read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Keyset {
    /// When the poll began, less the clock margin. An issue fetched earlier in the poll is not fetched
    /// again when listed (a listing has ids only), so a change made to it later could be passed over:
    /// nothing from this instant on is ever claimed complete, and the next poll reads it again.
    started: Timestamp,
    /// The newest change instant returned (by change); where the walk by key began.
    boundary: Timestamp,
    /// The issues fetched in this poll that a listing of the window may still show, with the change
    /// instant they had when fetched. A walk by key passes each issue once and adds none.
    fetched: Fetched,
    order: Order,
    /// What the last listing found and is not fetched yet.
    queue: Queue,
}

/// The ids a listing found unread, in its order, still to fetch.
#[derive(Debug, Clone, Default, PartialEq)]
struct Queue {
    /// When the listing began (none before the first).
    listed_at: Option<Timestamp>,
    ids: VecDeque<String>,
    /// The listing had more than its answer held.
    went_on: bool,
}

/// What a listing answer led to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Listed {
    /// Ids to fetch are queued.
    Queued,
    /// Nothing unread in this answer, but more to list.
    ListAgain,
    /// Nothing unread, and nothing more to list: the poll is done.
    Done,
}

impl Keyset {
    /// The first page of a poll for changes at or after `since`, begun at `now`.
    pub(crate) fn start(since: Timestamp, now: Timestamp) -> Keyset {
        Keyset {
            started: now - Duration::minutes(SEARCH_MARGIN_MINUTES),
            boundary: since,
            fetched: Fetched::default(),
            order: Order::ByChange,
            queue: Queue::default(),
        }
    }

    /// The instant the window must reach back to.
    pub(crate) fn boundary(&self) -> Timestamp {
        self.boundary
    }

    pub(crate) fn order(&self) -> &Order {
        &self.order
    }

    /// Whether the issue `id` was fetched in this poll (and a listing should not fetch it again).
    pub(crate) fn has_fetched(&self, id: &str) -> bool {
        self.fetched.get(id).is_some()
    }

    /// The next ids to fetch (at most `size`) and when they were listed, if a listing left any.
    pub(crate) fn next_batch(&mut self, size: usize) -> Option<(Vec<String>, Timestamp)> {
        let listed_at = self.queue.listed_at?;
        let count = self.queue.ids.len().min(size);
        (count > 0).then(|| (self.queue.ids.drain(..count).collect(), listed_at))
    }

    /// Takes in one listing answer, begun at `listed_at`: its issues' ids and keys in its order, and
    /// whether the listing `went_on` past it.
    pub(crate) fn listed<'a>(
        &mut self,
        listed_at: Timestamp,
        issues: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
        went_on: bool,
    ) -> Result<Listed, ConnectorError> {
        let mut unread = VecDeque::new();
        let mut last_key = None;
        for (id, key) in issues {
            last_key = Some(key);
            if !self.has_fetched(id) {
                unread.push_back(id.to_string());
            }
        }
        if let (Order::ByKey(after), Some(key)) = (&mut self.order, last_key) {
            let key = key.ok_or_else(|| ConnectorError::Invalid {
                system: crate::JIRA,
                message: "Jira listed an issue without its key".into(),
            })?;
            *after = Some(key.to_string());
        }
        let found = !unread.is_empty();
        self.queue = Queue { listed_at: Some(listed_at), ids: unread, went_on };
        Ok(match (found, went_on, &self.order) {
            (true, _, _) => Listed::Queued,
            (false, false, _) => Listed::Done,
            (false, true, Order::ByKey(_)) => Listed::ListAgain,
            (false, true, Order::ByChange) => {
                self.order = Order::ByKey(None);
                Listed::ListAgain
            }
        })
    }

    /// The first page: whole issues from one search, which `went_on` past them.
    pub(crate) fn first_page(mut self, items: Vec<Item>, went_on: bool) -> ChangedPage {
        self.queue.went_on = went_on;
        self.next_page(items, Read::WithTheListing)
    }

    /// Whether a fetched item is news to this poll: changed at or after the boundary, and not
    /// returned before as it is now.
    fn admits(&self, item: &Item) -> bool {
        item.updated >= self.boundary && self.fetched.get(item.item.id.as_str()) != Some(item.updated)
    }

    /// The page made of what was `fetched` (any order), read as `read` says, and where the next one
    /// starts.
    ///
    /// By change, the next window starts at the newest change among them that was surely made before
    /// the listing: the ids still unread came later in the listing, so they changed no earlier. One
    /// changed after the listing may be far newer than those, so it does not move the window.
    pub(crate) fn next_page(mut self, fetched: Vec<Item>, read: Read) -> ChangedPage {
        let fetched_before = !self.fetched.is_empty();
        let by_change = self.order == Order::ByChange;
        let mut items = Vec::new();
        for item in fetched {
            let news = self.admits(&item) && !items.iter().any(|taken: &Item| taken.item.id == item.item.id);
            if by_change {
                self.fetched.insert(item.item.id.as_str(), item.updated);
            }
            if news {
                items.push(item);
            }
        }
        items.sort_by(|left, right| left.updated.cmp(&right.updated).then_with(|| left.item.id.cmp(&right.item.id)));
        let more = !self.queue.ids.is_empty() || self.queue.went_on;
        let mut next = self;
        if by_change {
            if let Some(newest) = items.iter().rev().find(|item| read.surely_as_listed(item)) {
                next.boundary = newest.updated;
            }
            // What a later listing's window cannot hold is dropped; if it changes, it is listed and fetched anew.
            let window_start = next.boundary - Duration::minutes(SEARCH_MARGIN_MINUTES + 1);
            next.fetched.retain_since(window_start);
        }
        let complete_before = match (&next.order, more) {
            // A walk by key that ended listed every issue in the window, as it is or changed since.
            (Order::ByKey(_), false) => next.started,
            // More issues may share the boundary instant: only what came before it is complete. Once a
            // listing may have passed over an issue fetched earlier, nothing after the poll began is.
            _ if fetched_before => next.boundary.min(next.started),
            _ => next.boundary,
        };
        ChangedPage { items, complete_before, next: more.then(|| next.encode()), read_at: read.fetched_at() }
    }

    fn encode(&self) -> PageToken {
        let mut token = format!("{}|{}|", self.started.timestamp_millis(), self.boundary.timestamp_millis());
        self.fetched.encode_into(&mut token);
        match &self.order {
            Order::ByChange => token.push_str("|c|"),
            Order::ByKey(after) => {
                let _ = write!(token, "|k:{}|", after.as_deref().unwrap_or_default());
            }
        }
        let listed_at = self.queue.listed_at.map(|at| at.timestamp_millis().to_string()).unwrap_or_default();
        let ids = self.queue.ids.iter().map(String::as_str).collect::<Vec<_>>().join(",");
        let _ = write!(token, "{listed_at};{};{ids}", u8::from(self.queue.went_on));
        PageToken(token)
    }

    pub(crate) fn decode(token: &PageToken) -> Result<Keyset, ConnectorError> {
        let invalid = || ConnectorError::Invalid {
            system: crate::JIRA,
            message: format!("`{}` is not a page token of this connector", token.0),
        };
        let instant = |millis: &str| millis.parse().ok().and_then(Timestamp::from_timestamp_millis).ok_or_else(invalid);
        let parts: Vec<&str> = token.0.split('|').collect();
        let [started, boundary, fetched, order, queue] = parts[..] else {
            return Err(invalid());
        };
        let order = match order {
            "c" => Order::ByChange,
            _ => match order.strip_prefix("k:").ok_or_else(invalid)? {
                "" => Order::ByKey(None),
                after => Order::ByKey(Some(after.to_string())),
            },
        };
        let mut queue_parts = queue.splitn(3, ';');
        let (Some(listed_at), Some(went_on), Some(ids)) = (queue_parts.next(), queue_parts.next(), queue_parts.next())
        else {
            return Err(invalid());
        };
        let queue = Queue {
            listed_at: if listed_at.is_empty() { None } else { Some(instant(listed_at)?) },
            ids: ids.split(',').filter(|id| !id.is_empty()).map(str::to_string).collect(),
            went_on: match went_on {
                "0" => false,
                "1" => true,
                _ => return Err(invalid()),
            },
        };
        let fetched = Fetched::decode(fetched).ok_or_else(invalid)?;
        Ok(Keyset { started: instant(started)?, boundary: instant(boundary)?, fetched, order, queue })
    }
}

/// The issues a poll fetched, with the change instant (milliseconds) each had. Jira's issue ids are
/// numbers and are kept as such: in a busy window (a bulk import changes many thousands of issues
/// within the same minutes) this is the largest thing a poll holds, and every page token carries it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fetched {
    numbered: BTreeMap<u64, i64>,
    /// Ids that are not numbers (Jira sends none), kept rather than fetched again and again.
    named: BTreeMap<String, i64>,
}

impl Fetched {
    fn get(&self, id: &str) -> Option<Timestamp> {
        let millis = match id.parse::<u64>() {
            Ok(number) => self.numbered.get(&number),
            Err(_) => self.named.get(id),
        };
        millis.copied().and_then(Timestamp::from_timestamp_millis)
    }

    fn insert(&mut self, id: &str, updated: Timestamp) {
        let millis = updated.timestamp_millis();
        match id.parse::<u64>() {
            Ok(number) => self.numbered.insert(number, millis),
            Err(_) => self.named.insert(id.to_string(), millis),
        };
    }

    fn is_empty(&self) -> bool {
        self.numbered.is_empty() && self.named.is_empty()
    }

    /// Forgets the issues fetched as changed before `start`.
    fn retain_since(&mut self, start: Timestamp) {
        let start = start.timestamp_millis();
        self.numbered.retain(|_, updated| *updated >= start);
        self.named.retain(|_, updated| *updated >= start);
    }

    /// `id:millis` entries, comma-separated.
    fn encode_into(&self, token: &mut String) {
        let numbered = self.numbered.iter().map(|(id, millis)| (id as &dyn std::fmt::Display, millis));
        let named = self.named.iter().map(|(id, millis)| (id as &dyn std::fmt::Display, millis));
        for (index, (id, millis)) in numbered.chain(named).enumerate() {
            let separator = if index == 0 { "" } else { "," };
            let _ = write!(token, "{separator}{id}:{millis}");
        }
    }

    fn decode(text: &str) -> Option<Fetched> {
        let mut fetched = Fetched::default();
        for entry in text.split(',').filter(|entry| !entry.is_empty()) {
            let (id, millis) = entry.rsplit_once(':')?;
            fetched.insert(id, millis.parse().ok().and_then(Timestamp::from_timestamp_millis)?);
        }
        Some(fetched)
    }
}

/// How a page's issues were read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Read {
    /// By the search that listed them, so as they were listed (and as the search's index had them).
    WithTheListing,
    /// By id (from Jira's records, from the instant `fetched_at`) after a listing begun at `listed_at`:
    /// one may have changed since it was listed.
    AfterListing { listed_at: Timestamp, fetched_at: Timestamp },
}

impl Read {
    fn fetched_at(self) -> Option<Timestamp> {
        match self {
            Read::WithTheListing => None,
            Read::AfterListing { fetched_at, .. } => Some(fetched_at),
        }
    }

    /// Whether `item` is surely as the listing saw it: it changed before the listing began.
    fn surely_as_listed(self, item: &Item) -> bool {
        match self {
            Read::WithTheListing => true,
            Read::AfterListing { listed_at, .. } => item.updated < listed_at - Duration::minutes(SEARCH_MARGIN_MINUTES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tandem_model::{FieldMap, ItemId, ItemPlace, ItemRef, Visibility};

    /// Fetched as soon as listed.
    fn after(listed_at: Timestamp) -> Read {
        Read::AfterListing { listed_at, fetched_at: listed_at }
    }

    fn at(second: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2024, 1, 31, 10, 20, second).unwrap()
    }

    fn item(id: &str, updated: Timestamp) -> Item {
        Item {
            item: ItemRef::new(ItemId::new(id)),
            updated,
            updated_by: None,
            created_by: None,
            revision: None,
            place: ItemPlace::default(),
            visibility: Visibility::default(),
            attachments: Vec::new(),
            fields: FieldMap::new(),
            comments: None,
        }
    }

    #[test]
    fn the_search_window_covers_since_with_a_margin() {
        let now = at(30);
        assert_eq!(minutes_back(now, now), 1);
        assert_eq!(minutes_back(now, now - Duration::seconds(1)), 2);
        assert_eq!(minutes_back(now, now - Duration::minutes(15)), 16);
        assert_eq!(minutes_back(now, now + Duration::minutes(5)), 1);
    }

    /// Ids listed without keys (a listing by change).
    fn ids<'a>(ids: &'a [&'a str]) -> impl Iterator<Item = (&'a str, Option<&'a str>)> {
        ids.iter().map(|id| (*id, None))
    }

    fn page_ids(page: &ChangedPage) -> Vec<&str> {
        page.items.iter().map(|item| item.item.id.as_str()).collect()
    }

    #[test]
    fn pages_skip_what_they_returned_and_take_what_changed_since() {
        let began = at(50) + Duration::minutes(5);
        let first = Keyset::start(at(10), began);
        let page = first.first_page(vec![item("2", at(20)), item("1", at(5)), item("3", at(20))], true);
        assert_eq!(page_ids(&page), ["2", "3"], "older than since is left out; the rest oldest first, then by id");
        assert_eq!(page.complete_before, at(20));
        let mut second = Keyset::decode(page.next.as_ref().unwrap()).unwrap();
        assert!(second.has_fetched("1") && second.has_fetched("3"));
        assert_eq!(second.listed(began, ids(&["3", "2", "4", "5"]), false).unwrap(), Listed::Queued);
        assert_eq!(second.next_batch(1), Some((vec!["4".to_string()], began)), "what was fetched is not queued");
        let page = second.next_page(vec![item("4", at(20))], after(began));
        assert_eq!((page_ids(&page), page.complete_before), (vec!["4"], at(20)));
        let mut third = Keyset::decode(page.next.as_ref().unwrap()).unwrap();
        assert_eq!(third.next_batch(100), Some((vec!["5".to_string()], began)), "the rest of the listing");
        let page = third.next_page(vec![item("5", at(40))], after(began));
        assert_eq!((page_ids(&page), page.complete_before, page.next.is_none()), (vec!["5"], at(40), true));
    }

    #[test]
    fn an_issue_changed_after_the_listing_does_not_move_the_window() {
        let listed_at = at(30) + Duration::minutes(10);
        let just_changed = listed_at - Duration::seconds(1);
        let mut keyset = Keyset::start(at(0), at(0));
        assert_eq!(keyset.listed(listed_at, ids(&["1", "2", "3"]), false).unwrap(), Listed::Queued);
        let (batch, _) = keyset.next_batch(2).unwrap();
        assert_eq!(batch, ["1", "2"]);
        let page = keyset.next_page(vec![item("1", at(5)), item("2", just_changed)], after(listed_at));
        let next = Keyset::decode(page.next.as_ref().unwrap()).unwrap();
        assert_eq!(next.boundary(), at(5), "3, listed after 2 but unread, may be as old as 1");
        let page = Keyset::start(at(0), at(0)).first_page(vec![item("1", at(5)), item("2", just_changed)], true);
        assert_eq!(page.complete_before, just_changed, "read with the listing, 2 came last");
    }

    #[test]
    fn nothing_after_the_poll_began_is_complete() {
        let began = at(30) + Duration::minutes(1);
        let first = Keyset::start(at(0), began).first_page(vec![item("1", at(45))], true);
        assert_eq!(first.complete_before, at(45), "nothing was passed over on the first page");
        let mut second = Keyset::decode(first.next.as_ref().unwrap()).unwrap();
        let listed_at = began + Duration::minutes(5);
        second.listed(listed_at, ids(&["1", "2"]), false).unwrap();
        second.next_batch(100).unwrap();
        let page = second.next_page(vec![item("2", at(50))], after(listed_at));
        assert_eq!(page.complete_before, at(30), "a change to an issue fetched before may have been passed over");
    }

    /// Thousands of issues changed in the same minutes: an answer holding only issues fetched already
    /// turns the listing to key order, which the poll walks to its end before claiming anything.
    #[test]
    fn a_listing_with_nothing_unread_turns_to_key_order() {
        let began = at(0) + Duration::minutes(3);
        let first = Keyset::start(at(0), began).first_page(vec![item("1", at(5)), item("2", at(6))], true);
        let mut keyset = Keyset::decode(first.next.as_ref().unwrap()).unwrap();
        let listed_at = began + Duration::seconds(1);
        assert_eq!(keyset.listed(listed_at, ids(&["1", "2"]), true).unwrap(), Listed::ListAgain);
        assert_eq!(keyset.order(), &Order::ByKey(None));
        let keyed = [("1", Some("OPS-1")), ("7", Some("OPS-7")), ("2", Some("OPS-2")), ("5", Some("OPS-5"))];
        assert_eq!(keyset.listed(listed_at, keyed, true).unwrap(), Listed::Queued);
        assert_eq!(keyset.order(), &Order::ByKey(Some("OPS-5".into())), "the next answer starts after the last key");
        let (batch, _) = keyset.next_batch(100).unwrap();
        assert_eq!(batch, ["7", "5"]);
        let page = keyset.next_page(vec![item("5", at(50)), item("7", at(20))], after(listed_at));
        assert_eq!((page_ids(&page), page.complete_before), (vec!["7", "5"], at(6)), "the window stays");
        let mut keyset = Keyset::decode(page.next.as_ref().unwrap()).unwrap();
        assert!(!keyset.has_fetched("5"), "a walk by key passes each issue once and remembers none");
        let rest = [("8", Some("OPS-8"))];
        assert_eq!(keyset.listed(listed_at, rest, false).unwrap(), Listed::Queued);
        keyset.next_batch(100).unwrap();
        let page = keyset.next_page(vec![item("8", at(40))], after(listed_at));
        assert_eq!((page.complete_before, page.next), (began - Duration::minutes(1), None), "the walk ended");
        let mut keyset = Keyset::decode(first.next.as_ref().unwrap()).unwrap();
        keyset.listed(listed_at, ids(&["1"]), true).unwrap();
        assert!(keyset.listed(listed_at, [("9", None)], false).is_err(), "a key is needed to go on from");
    }

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        let page = Keyset::start(at(0), at(59)).first_page(vec![item("10001", at(5))], true);
        let token = page.next.unwrap();
        let mut keyset = Keyset::decode(&token).unwrap();
        assert_eq!(keyset.encode(), token);
        keyset.listed(at(59), ids(&["10001"]), true).unwrap();
        keyset.listed(at(59), [("10002", Some("OPS-2")), ("10003", Some("OPS-3"))], true).unwrap();
        keyset.next_batch(1).unwrap();
        let token = keyset.encode();
        assert_eq!(Keyset::decode(&token).unwrap(), keyset, "{}", token.0);
        for foreign in ["", "12|x", "1|2|3", "1|2|a:b|c|;0;", "1|2|3|4", "1|2||x|;0;", "1|2||c|;2;", "1|2||c|x;0;"] {
            assert!(Keyset::decode(&PageToken(foreign.into())).is_err(), "{foreign}");
        }
    }

    #[test]
    fn ids_that_are_not_numbers_are_remembered_too() {
        let fetched = vec![item("10001", at(5)), item("x-7", at(6))];
        let page = Keyset::start(at(0), at(59)).first_page(fetched, true);
        let token = page.next.unwrap();
        let mut keyset = Keyset::decode(&token).unwrap();
        assert!(keyset.has_fetched("10001") && keyset.has_fetched("x-7") && !keyset.has_fetched("10002"));
        assert_eq!(keyset.encode(), token);
        keyset.listed(at(59), ids(&["x-7", "10002"]), false).unwrap();
        assert_eq!(keyset.next_batch(100).unwrap().0, ["10002"]);
    }
}
