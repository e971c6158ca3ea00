//! Where a poll's pages of changed issues continue ([`Keyset`]), and the search window they are read in.
//!
//! Pages go by the change instant (a keyset), not by the search's own offset tokens: an issue changed
//! while the pages are read moves to the end of the order, and an offset would then skip the issue that
//! moved up into its place. Each page lists the ids in the window anew, oldest change first, and fetches
//! the first ones not fetched yet. The window moves on only past issues known to be read as listed.

use chrono::Duration;
use std::collections::{BTreeMap, BTreeSet};
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

/// How far a poll has read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Keyset {
    /// When the poll began, less the clock margin. An issue fetched earlier in the poll is not fetched
    /// again when listed (a listing has ids only), so a change made to it later could be passed over:
    /// nothing from this instant on is ever claimed complete, and the next poll reads it again.
    started: Timestamp,
    /// The newest change instant returned.
    boundary: Timestamp,
    /// The issues fetched in this poll that a listing of the window may still show, with the change
    /// instant they had when fetched.
    fetched: Fetched,
}

impl Keyset {
    /// The first page of a poll for changes at or after `since`, begun at `now`.
    pub(crate) fn start(since: Timestamp, now: Timestamp) -> Keyset {
        Keyset { started: now - Duration::minutes(SEARCH_MARGIN_MINUTES), boundary: since, fetched: Fetched::default() }
    }

    /// The instant the next search starts from.
    pub(crate) fn boundary(&self) -> Timestamp {
        self.boundary
    }

    /// Whether the issue `id` was fetched in this poll (and a listing should not fetch it again).
    pub(crate) fn has_fetched(&self, id: &str) -> bool {
        self.fetched.get(id).is_some()
    }

    /// Whether a fetched item is news to this poll: changed at or after the boundary, and not
    /// returned before as it is now.
    fn admits(&self, item: &Item) -> bool {
        item.updated >= self.boundary && self.fetched.get(item.item.id.as_str()) != Some(item.updated)
    }

    /// The page made of what was `fetched` (any order), read as `read` says, and where the next one
    /// starts when `more` may be found.
    ///
    /// The next window starts at the newest change among them that was surely made before the listing:
    /// the ids still unread came later in the listing, so they changed no earlier. One changed after
    /// the listing may be far newer than those, so it does not move the window.
    pub(crate) fn next_page(mut self, fetched: Vec<Item>, read: Read, more: bool) -> ChangedPage {
        let fetched_before = !self.fetched.is_empty();
        let mut items = Vec::new();
        for item in fetched {
            let news = self.admits(&item) && !items.iter().any(|taken: &Item| taken.item.id == item.item.id);
            self.fetched.insert(item.item.id.as_str(), item.updated);
            if news {
                items.push(item);
            }
        }
        let mut next = self;
        items.sort_by(|left, right| left.updated.cmp(&right.updated).then_with(|| left.item.id.cmp(&right.item.id)));
        if let Some(newest) = items.iter().rev().find(|item| read.surely_as_listed(item)) {
            next.boundary = newest.updated;
        }
        // What a later listing's window cannot hold is dropped; if it changes, it is listed and fetched anew.
        let window_start = next.boundary - Duration::minutes(SEARCH_MARGIN_MINUTES + 1);
        next.fetched.retain_since(window_start);
        // More issues may share the boundary instant: only what came before it is complete. Once a
        // listing may have passed over an issue fetched earlier, nothing after the poll began is.
        let complete_before = if fetched_before { next.boundary.min(next.started) } else { next.boundary };
        ChangedPage { items, complete_before, next: more.then(|| next.encode()), read_at: read.fetched_at() }
    }

    fn encode(&self) -> PageToken {
        let mut token = format!("{}|{}|", self.started.timestamp_millis(), self.boundary.timestamp_millis());
        self.fetched.encode_into(&mut token);
        PageToken(token)
    }

    pub(crate) fn decode(token: &PageToken) -> Result<Keyset, ConnectorError> {
        let invalid = || ConnectorError::Invalid {
            system: crate::JIRA,
            message: format!("`{}` is not a page token of this connector", token.0),
        };
        let instant = |millis: &str| millis.parse().ok().and_then(Timestamp::from_timestamp_millis).ok_or_else(invalid);
        let mut parts = token.0.split('|');
        let (Some(started), Some(boundary), Some(fetched), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let fetched = Fetched::decode(fetched).ok_or_else(invalid)?;
        Ok(Keyset { started: instant(started)?, boundary: instant(boundary)?, fetched })
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

/// The ids a walk listed: numbers kept as such, as in [`Fetched`] (a walk may list a whole busy window).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ListedIds {
    numbered: BTreeSet<u64>,
    named: BTreeSet<String>,
}

impl ListedIds {
    /// Adds `id`; false when it was listed already.
    fn insert(&mut self, id: &str) -> bool {
        match id.parse::<u64>() {
            Ok(number) => self.numbered.insert(number),
            Err(_) => self.named.insert(id.to_string()),
        }
    }
}

/// The ids one walk through a listing's pages found, in listing order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Walk {
    /// Every id listed.
    pub listed: ListedIds,
    /// The ids not fetched yet in this poll, oldest change first.
    pub unread: Vec<String>,
    pub pages: usize,
    /// The walk stopped with enough unread ids before the listing ended.
    pub stopped_early: bool,
    /// An id was listed twice: an issue changed between two pages and moved to the end, so the one
    /// after it moved up and may have been passed over.
    pub shifted: bool,
}

impl Walk {
    /// Takes in one listing page's ids.
    pub(crate) fn read<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>, keyset: &Keyset) {
        self.pages += 1;
        for id in ids {
            if !self.listed.insert(id) {
                self.shifted = true;
            } else if !keyset.has_fetched(id) {
                self.unread.push(id.to_string());
            }
        }
    }

    /// Whether this walk (of more than one page) surely passed over nothing: a second walk lists the
    /// same, and nothing moved in either. A deletion between two pages shifts the ones after it up
    /// without listing anything twice; the second walk then lists one the first did not.
    pub(crate) fn agrees_with(&self, again: &Walk) -> bool {
        !self.shifted && !again.shifted && self.listed == again.listed
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

    #[test]
    fn pages_skip_what_they_returned_and_take_what_changed_since() {
        let later = after(at(50) + Duration::minutes(5));
        let first = Keyset::start(at(10), at(50) + Duration::minutes(5));
        let page = first.next_page(vec![item("2", at(20)), item("1", at(5)), item("3", at(20))], later, true);
        let ids: Vec<&str> = page.items.iter().map(|item| item.item.id.as_str()).collect();
        assert_eq!(ids, ["2", "3"], "older than since is left out; the rest oldest first, then by id");
        assert_eq!(page.complete_before, at(20));
        let second = Keyset::decode(page.next.as_ref().unwrap()).unwrap();
        assert!(second.has_fetched("1") && second.has_fetched("3"));
        let page = second.next_page(vec![item("3", at(20)), item("2", at(40)), item("4", at(20))], later, false);
        let ids: Vec<&str> = page.items.iter().map(|item| item.item.id.as_str()).collect();
        assert_eq!(ids, ["4", "2"], "the same version is not news; a new one and a late one at the boundary are");
        assert_eq!((page.complete_before, page.next), (at(40), None));
    }

    #[test]
    fn an_issue_changed_after_the_listing_does_not_move_the_window() {
        let listed_at = at(30) + Duration::minutes(10);
        let just_changed = listed_at - Duration::seconds(1);
        let fetched = || vec![item("1", at(5)), item("2", just_changed)];
        let page = Keyset::start(at(0), at(0)).next_page(fetched(), after(listed_at), true);
        let next = Keyset::decode(page.next.as_ref().unwrap()).unwrap();
        assert_eq!(next.boundary(), at(5), "issues listed after 2 but unread may be as old as 1");
        let page = Keyset::start(at(0), at(0)).next_page(fetched(), Read::WithTheListing, true);
        assert_eq!(page.complete_before, just_changed, "read with the listing, 2 came last");
    }

    #[test]
    fn nothing_after_the_poll_began_is_complete() {
        let began = at(30) + Duration::minutes(1);
        let later = after(began + Duration::minutes(5));
        let first = Keyset::start(at(0), began).next_page(vec![item("1", at(45))], later, true);
        assert_eq!(first.complete_before, at(45), "nothing was passed over on the first page");
        let second =
            Keyset::decode(first.next.as_ref().unwrap()).unwrap().next_page(vec![item("2", at(50))], later, true);
        assert_eq!(second.complete_before, at(30), "a change to an issue fetched before may have been passed over");
    }

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        let later = after(at(59) + Duration::minutes(5));
        let page = Keyset::start(at(0), at(59)).next_page(vec![item("10001", at(5))], later, true);
        let token = page.next.unwrap();
        let keyset = Keyset::decode(&token).unwrap();
        assert_eq!(keyset.encode(), token);
        for foreign in ["", "12|x", "1|2|3", "1|2|a:b", "1|2|3|4"] {
            assert!(Keyset::decode(&PageToken(foreign.into())).is_err(), "{foreign}");
        }
    }

    #[test]
    fn ids_that_are_not_numbers_are_remembered_too() {
        let fetched = vec![item("10001", at(5)), item("x-7", at(6))];
        let page = Keyset::start(at(0), at(59)).next_page(fetched, Read::WithTheListing, true);
        let token = page.next.unwrap();
        let keyset = Keyset::decode(&token).unwrap();
        assert!(keyset.has_fetched("10001") && keyset.has_fetched("x-7") && !keyset.has_fetched("10002"));
        assert_eq!(keyset.encode(), token);
        let mut walk = Walk::default();
        walk.read(["x-7", "10002", "x-7"], &keyset);
        assert_eq!((walk.unread.as_slice(), walk.shifted), (["10002".to_string()].as_slice(), true));
    }

    #[test]
    fn walks_collect_unread_ids_and_notice_shifts() {
        let page = Keyset::start(at(0), at(59)).next_page(vec![item("1", at(5))], Read::WithTheListing, true);
        let keyset = Keyset::decode(page.next.as_ref().unwrap()).unwrap();
        let mut first = Walk::default();
        first.read(["1", "2"], &keyset);
        first.read(["3", "1"], &keyset);
        assert_eq!(first.unread, ["2", "3"]);
        assert!(first.shifted, "1 was listed twice: it moved between the pages");
        let mut steady = Walk::default();
        steady.read(["1", "2"], &keyset);
        steady.read(["3"], &keyset);
        let mut again = Walk::default();
        again.read(["1", "2", "3"], &keyset);
        assert!(steady.agrees_with(&again));
        assert!(!steady.agrees_with(&first));
        let mut after_a_deletion = Walk::default();
        after_a_deletion.read(["2", "3"], &keyset);
        assert!(!steady.agrees_with(&after_a_deletion));
    }
}
