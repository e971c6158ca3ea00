//! Entity links, their index by item, and creation claims.

use crate::error::{decode, encode, OrUnavailable};
use crate::store::EmbeddedStore;
use crate::tables::{collect_while, side_key, CLAIMS, LINKS, LINK_INDEX};
use async_trait::async_trait;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use tandem_engine::ports::{ClaimOutcome, ClaimRequest, EarlierAttempt, Link, LinkStore, SentRecord, StoreError};
use tandem_model::{ItemId, Side, Timestamp};

/// Who may create the copy of an item, and until when; and when its holders sent the create.
#[derive(Debug, Serialize, Deserialize)]
struct Claim {
    owner: String,
    until: Timestamp,
    #[serde(default)]
    sent: SentRecord,
}

/// The link holding `item` on `side`, found through the index.
fn link_of(
    index: &impl ReadableTable<(&'static str, u8, &'static str), &'static str>,
    links: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    integration: &str,
    side: Side,
    item: &str,
) -> Result<Option<Link>, StoreError> {
    let filed_under = match index.get((integration, side_key(side), item)).or_unavailable("reading the link index")? {
        Some(guard) => guard.value().to_owned(),
        None => return Ok(None),
    };
    match links.get((integration, filed_under.as_str())).or_unavailable("reading a link")? {
        Some(json) => decode(json.value(), "link").map(Some),
        None => Err(StoreError::Corrupt {
            message: format!(
                "the link index of integration {integration} points item {item} on side {side} to a link \
                 that is not stored"
            ),
        }),
    }
}

fn describe(link: &Link) -> String {
    format!(
        "the link of {} (side 1) and {} (side 2) in integration {}",
        link.side1.label(),
        link.side2.label(),
        link.integration
    )
}

#[async_trait]
impl LinkStore for EmbeddedStore {
    async fn get_link(&self, integration: &str, side: Side, item: &ItemId) -> Result<Option<Link>, StoreError> {
        let (integration, item) = (integration.to_owned(), item.as_str().to_owned());
        self.read("reading a link", move |transaction| {
            let index = transaction.open_table(LINK_INDEX).or_unavailable("opening the link index")?;
            let links = transaction.open_table(LINKS).or_unavailable("opening the links")?;
            link_of(&index, &links, &integration, side, &item)
        })
        .await
    }

    async fn claim_creation(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        request: &ClaimRequest<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        let (integration, item, owner) = (integration.to_owned(), item.as_str().to_owned(), request.owner.to_owned());
        let (now, lease_until) = (request.now, request.lease_until);
        // What the record keeps of the request; the owner is kept above, as owned text.
        let request: ClaimRequest<'static> = ClaimRequest { owner: "", ..*request };
        self.write("claiming the creation of a copy", move |transaction| {
            let index = transaction.open_table(LINK_INDEX).or_unavailable("opening the link index")?;
            let links = transaction.open_table(LINKS).or_unavailable("opening the links")?;
            if let Some(link) = link_of(&index, &links, &integration, side, &item)? {
                return Ok(ClaimOutcome::Linked(Box::new(link)));
            }
            let mut claims = transaction.open_table(CLAIMS).or_unavailable("opening the creation claims")?;
            let key = (integration.as_str(), side_key(side), item.as_str());
            let current: Option<Claim> = claims
                .get(key)
                .or_unavailable("reading a creation claim")?
                .map(|json| decode(json.value(), "creation claim"))
                .transpose()?;
            if let Some(claim) = &current {
                if claim.owner != owner && claim.until > now {
                    return Ok(ClaimOutcome::HeldElsewhere { until: claim.until });
                }
            }
            let sent = match &current {
                Some(earlier) => earlier.sent.renewed(earlier.until, &request),
                None => SentRecord::fresh(&request),
            };
            let claim = encode(&Claim { owner, until: lease_until, sent }, "creation claim")?;
            claims.insert(key, claim.as_str()).or_unavailable("writing a creation claim")?;
            let earlier_attempt = current
                .map(|earlier| EarlierAttempt { lease_end: earlier.until, sent: earlier.sent.window(earlier.until) });
            Ok(ClaimOutcome::Claimed { earlier_attempt })
        })
        .await
    }

    async fn release_claim(&self, integration: &str, side: Side, item: &ItemId, owner: &str) -> Result<(), StoreError> {
        let (integration, item, owner) = (integration.to_owned(), item.as_str().to_owned(), owner.to_owned());
        self.write("releasing a creation claim", move |transaction| {
            let mut claims = transaction.open_table(CLAIMS).or_unavailable("opening the creation claims")?;
            let key = (integration.as_str(), side_key(side), item.as_str());
            let current: Option<Claim> = claims
                .get(key)
                .or_unavailable("reading a creation claim")?
                .map(|json| decode(json.value(), "creation claim"))
                .transpose()?;
            // A claim taken over after its lease ended belongs to someone else now: leave it alone.
            if current.is_some_and(|claim| claim.owner == owner) {
                claims.remove(key).or_unavailable("removing a creation claim")?;
            }
            Ok(())
        })
        .await
    }

    async fn insert_link(&self, link: &Link, claimed_side: Side, owner: &str) -> Result<Link, StoreError> {
        let link = Link { version: 1, ..link.clone() };
        let owner = owner.to_owned();
        self.write("inserting a link", move |transaction| {
            let integration = link.integration.as_str();
            let mut index = transaction.open_table(LINK_INDEX).or_unavailable("opening the link index")?;
            for side in Side::BOTH {
                let item = link.item(side);
                let key = (integration, side_key(side), item.id.as_str());
                if index.get(key).or_unavailable("reading the link index")?.is_some() {
                    return Err(StoreError::AlreadyExists {
                        what: format!("a link of item {} on side {side} in integration {integration}", item.label()),
                    });
                }
            }
            let mut claims = transaction.open_table(CLAIMS).or_unavailable("opening the creation claims")?;
            let claimed = (integration, side_key(claimed_side), link.item(claimed_side).id.as_str());
            let holder: Option<Claim> = claims
                .get(claimed)
                .or_unavailable("reading a creation claim")?
                .map(|json| decode(json.value(), "creation claim"))
                .transpose()?;
            if holder.is_none_or(|holder| holder.owner != owner) {
                return Err(StoreError::Conflict {
                    what: format!("the creation claim of {} (taken over by another worker)", describe(&link)),
                });
            }
            let filed_under = link.side1.id.as_str();
            let mut links = transaction.open_table(LINKS).or_unavailable("opening the links")?;
            links
                .insert((integration, filed_under), encode(&link, "link")?.as_str())
                .or_unavailable("writing a link")?;
            for side in Side::BOTH {
                let key = (integration, side_key(side), link.item(side).id.as_str());
                index.insert(key, filed_under).or_unavailable("writing the link index")?;
                claims.remove(key).or_unavailable("removing a creation claim")?;
            }
            Ok(link)
        })
        .await
    }

    async fn update_link(&self, link: &Link) -> Result<Link, StoreError> {
        let link = link.clone();
        self.write("updating a link", move |transaction| {
            let mut links = transaction.open_table(LINKS).or_unavailable("opening the links")?;
            let key = (link.integration.as_str(), link.side1.id.as_str());
            let stored: Option<Link> = links
                .get(key)
                .or_unavailable("reading a link")?
                .map(|json| decode(json.value(), "link"))
                .transpose()?;
            // The pair of items is the link's identity; only its sync state may change.
            let current =
                stored.is_some_and(|stored| stored.version == link.version && stored.side2.id == link.side2.id);
            if !current {
                return Err(StoreError::Conflict { what: describe(&link) });
            }
            let updated = Link { version: link.version + 1, ..link.clone() };
            links.insert(key, encode(&updated, "link")?.as_str()).or_unavailable("writing a link")?;
            Ok(updated)
        })
        .await
    }

    async fn list_links(&self, integration: &str) -> Result<Vec<Link>, StoreError> {
        let integration = integration.to_owned();
        self.scan("listing links", move |transaction| {
            let links = transaction.open_table(LINKS).or_unavailable("opening the links")?;
            collect_while(&links, (integration.as_str(), ""), |key: (&str, &str)| key.0 == integration, "link")
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_engine::ports::SendUpdate;

    fn store() -> (tempfile::TempDir, EmbeddedStore) {
        let folder = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&folder.path().join("tandem.redb")).unwrap();
        (folder, store)
    }

    /// Writes `index` (side 2, item "42" → side-1 item "10001") and, when given, a raw link record.
    fn damage(store: &EmbeddedStore, link_record: Option<&str>) {
        let transaction = store.database().begin_write().unwrap();
        {
            let mut index = transaction.open_table(LINK_INDEX).unwrap();
            index.insert(("ops", 2, "42"), "10001").unwrap();
            if let Some(record) = link_record {
                let mut links = transaction.open_table(LINKS).unwrap();
                links.insert(("ops", "10001"), record).unwrap();
            }
        }
        transaction.commit().unwrap();
    }

    #[tokio::test]
    async fn an_unreadable_link_is_corrupt_not_missing() {
        let (_folder, store) = store();
        damage(&store, Some(r#"{"integration": "ops"}"#));
        let error = store.get_link("ops", Side::Two, &ItemId::new("42")).await.unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        assert!(error.to_string().contains("link"), "{error}");
        assert!(!error.is_retryable());
    }

    #[tokio::test]
    async fn an_index_entry_without_its_link_is_corrupt() {
        let (_folder, store) = store();
        damage(&store, None);
        let error = store
            .claim_creation(
                "ops",
                Side::Two,
                &ItemId::new("42"),
                &ClaimRequest {
                    owner: "worker",
                    now: Timestamp::UNIX_EPOCH,
                    lease_until: Timestamp::MAX_UTC,
                    send: SendUpdate::Nothing,
                    search_lag: chrono::Duration::zero(),
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(&error, StoreError::Corrupt { message } if message.contains("42")), "{error:?}");
    }
}
