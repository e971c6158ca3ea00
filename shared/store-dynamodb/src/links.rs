//! Entity links, stored once under their side-1 item with a pointer under the side-2 item, and creation
//! claims.
//!
//! A new link is one TransactWriteItems (the link and the pointer, one of them over the claimed item's
//! creation claim), so a concurrent writer either sees the whole link or loses its condition; an
//! update is one conditional PutItem. The SDK gives each transaction a `ClientRequestToken` once and
//! reuses it on its own retries, so a retry of a write that did land is answered as a success instead
//! of failing its own condition. An update the SDK retries after it landed fails its condition on its
//! own write: a `Conflict`, after which the engine reads the link again and finds its own state (and
//! its own announced writes, which it settles).

use crate::error::{built, refusal, Refusal};
use crate::keys::{self, Key, Kind, OWNER, PARTNER, RECORD, VERSION};
use crate::record::{decode, encode_packed};
use crate::store::{item_at, DynamoStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use backon::{ExponentialBuilder, Retryable};
use std::collections::HashMap;
use std::time::Duration;
use tandem_engine::ports::{ClaimOutcome, ClaimRequest, Link, LinkStore, StoreError};
use tandem_model::{ItemId, Side};

/// The side-2 items whose pointers were read, by integration and item: the side-1 item each link is
/// stored under. Forgotten all at once past a bound, so a long-lived container's memory stays small.
#[derive(Debug, Default)]
pub(crate) struct Pointers(std::sync::Mutex<HashMap<(String, ItemId), ItemId>>);

/// Pointers remembered before they are forgotten (about 100 bytes each).
const POINTERS_KEPT: usize = 20_000;

impl Pointers {
    fn get(&self, integration: &str, item: &ItemId) -> Option<ItemId> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&(integration.to_owned(), item.clone()))
            .cloned()
    }

    fn note(&self, integration: &str, item: &ItemId, partner: &ItemId) {
        let mut pointers = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if pointers.len() >= POINTERS_KEPT {
            pointers.clear();
        }
        pointers.insert((integration.to_owned(), item.clone()), partner.clone());
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

pub(crate) fn describe_item(integration: &str, side: Side, item: &ItemId) -> String {
    format!("item {item} on side {side} in integration {integration}")
}

impl DynamoStore {
    /// The link or pointer at `key`, if one is stored there. A claim kept there means the item is
    /// being copied, not linked yet.
    async fn get_linked(&self, key: &Key, doing: &str) -> Result<Option<crate::error::Item>, StoreError> {
        Ok(self.get(key, doing).await?.filter(|stored| !keys::is_claim(stored)))
    }

    /// The writes of a new link: the link under its side-1 item and the side-2 item's pointer to it.
    /// The claimed item's key must hold `owner`'s claim, which the write replaces; the other item's
    /// key must hold no link (a claim there, of someone about to copy the copy back, is replaced too:
    /// its holder then finds the link). Each put returns what it found when its condition fails.
    fn new_link_puts(&self, link: &Link, claimed: Side, owner: &str) -> Result<[TransactWriteItem; 2], StoreError> {
        let record = [(RECORD, encode_packed(link, "link")?), (VERSION, AttributeValue::N(link.version.to_string()))];
        let put = |side: Side, attributes: Vec<(&'static str, AttributeValue)>| {
            let key = Key::link(&link.integration, side, &link.item(side).id);
            let partner = (PARTNER, AttributeValue::S(link.item(side.other()).id.as_str().to_owned()));
            let item = item_at(&key, attributes.into_iter().chain([partner]));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .expression_attribute_names("#owner", OWNER)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
            let put = match side == claimed {
                true => put
                    .condition_expression("#owner = :owner")
                    .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned())),
                false => put.condition_expression("attribute_not_exists(pk) OR attribute_exists(#owner)"),
            };
            Ok::<_, StoreError>(TransactWriteItem::builder().put(built(put.build(), "the write of a link")?).build())
        };
        Ok([put(Side::One, record.to_vec())?, put(Side::Two, Vec::new())?])
    }
}

#[async_trait]
impl LinkStore for DynamoStore {
    async fn get_link(&self, integration: &str, side: Side, item: &ItemId) -> Result<Option<Link>, StoreError> {
        const DOING: &str = "reading a link";
        let key = match side {
            Side::One => {
                let stored = self.get_linked(&Key::link(integration, side, item), DOING).await?;
                return stored.map(|stored| decode(&stored, "link")).transpose();
            }
            // A side-2 item holds only the id of the side-1 item its link is stored under. (A table
            // written before links were stored once holds a copy of the link there too, which updates
            // no longer keep: it is never read.)
            Side::Two => match self.side1_of(integration, item).await? {
                Some(partner) => Key::link(integration, Side::One, &partner),
                None => return Ok(None),
            },
        };
        let Some(stored) = self.get_linked(&key, DOING).await? else {
            return Err(StoreError::Corrupt {
                message: format!("{} points at a link that is not stored", describe_item(integration, side, item)),
            });
        };
        let link: Link = decode(&stored, "link")?;
        // A pointer outliving a relink of its partner would name another pair.
        match link.item(side).id == *item {
            true => Ok(Some(link)),
            false => Ok(None),
        }
    }

    async fn claim_creation(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        request: &ClaimRequest<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        // Jitter seeded per call, so that claims colliding once do not collide again in lockstep.
        let backoff = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(20))
            .with_max_delay(Duration::from_millis(500))
            .with_max_times(crate::claims::CONTENDED_CLAIM_ATTEMPTS)
            .with_jitter_seed(uuid::Uuid::new_v4().as_u64_pair().0);
        (|| self.claim_once(integration, side, item, request))
            .retry(backoff)
            .when(|error| matches!(error, StoreError::Conflict { .. }))
            .notify(|error, delay| {
                tracing::debug!(%integration, %side, %item, ?delay, "claim contended, trying again: {error}");
            })
            .await
    }

    async fn release_claim(&self, integration: &str, side: Side, item: &ItemId, owner: &str) -> Result<(), StoreError> {
        self.held.forget(integration, side, item);
        let released = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::claim(integration, side, item).attributes()))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            // Not claimed, or taken over after the lease ended: it is not ours to release.
            Err(error)
                if error.as_service_error().is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(self.failed("releasing a creation claim", error)),
        }
    }

    /// Left to its time to live: a delete would cost a write unit and a request on every comment and
    /// file copied, and nothing claims a linked part again. (Should the part ever be claimed again —
    /// its copy removed with a restricted original, and the original made public — the claim, ended,
    /// is taken over, and the worker first looks for a copy the earlier attempt may have sent.)
    async fn part_claim_fulfilled(
        &self,
        integration: &str,
        side: Side,
        claim: &ItemId,
        _owner: &str,
    ) -> Result<(), StoreError> {
        self.held.forget(integration, side, claim);
        Ok(())
    }

    /// A part's claim stays for 90 days after its lease (`UNLINKED_CLAIM_MEMORY`), linked or not,
    /// and only its own holder deletes one (before it sends, or once its part is gone).
    fn remembers_part_claims(&self) -> bool {
        true
    }

    async fn insert_link(&self, link: &Link, claimed_side: Side, owner: &str) -> Result<Link, StoreError> {
        const DOING: &str = "inserting a link";
        let link = Link { version: 1, ..link.clone() };
        // The link and the pointer replace the claim: the claimed item's key must still hold this
        // owner's claim, so a worker whose lease ran out and was taken over cannot link its copy.
        let actions = self.new_link_puts(&link, claimed_side, owner)?.to_vec();
        self.held.forget(&link.integration, claimed_side, &link.item(claimed_side).id);
        let written = self.client.transact_write_items().set_transact_items(Some(actions)).send().await;
        let mut refused = match written {
            Ok(_) => return Ok(link),
            Err(error) => refusal(DOING, &self.table, error),
        };
        // The puts are side 1's then side 2's. A record found that is not a claim is a link.
        for (side, action) in Side::BOTH.into_iter().zip(0..) {
            if !refused.condition_failed(action) {
                continue;
            }
            return Err(match refused.item_of(action) {
                Some(stored) if !keys::is_claim(&stored) => StoreError::AlreadyExists {
                    what: format!("a link of {}", describe_item(&link.integration, side, &link.item(side).id)),
                },
                _ => StoreError::Conflict {
                    what: format!("the creation claim of {} (taken over by another worker)", describe(&link)),
                },
            });
        }
        match refused {
            Refusal::Failed(error) => Err(error),
            _ => Err(StoreError::Conflict { what: describe(&link) }),
        }
    }

    async fn update_link(&self, link: &Link) -> Result<Link, StoreError> {
        let next = link
            .version
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt { message: format!("{} has run out of versions", describe(link)) })?;
        let updated = Link { version: next, ..link.clone() };
        // One conditional put of the one stored link (the side-2 pointer never changes). The pair of
        // items is the link's identity; only its sync state may change.
        let key = Key::link(&link.integration, Side::One, &link.side1.id);
        let partner = AttributeValue::S(link.side2.id.as_str().to_owned());
        let item = item_at(
            &key,
            [
                (RECORD, encode_packed(&updated, "link")?),
                (VERSION, AttributeValue::N(next.to_string())),
                (PARTNER, partner.clone()),
            ],
        );
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#version = :stored AND #partner = :partner")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#partner", PARTNER)
            .expression_attribute_values(":stored", AttributeValue::N(link.version.to_string()))
            .expression_attribute_values(":partner", partner)
            .send()
            .await;
        match self.written_if(written, "updating a link")? {
            true => Ok(updated),
            false => Err(StoreError::Conflict { what: describe(link) }),
        }
    }

    async fn list_links(&self, integration: &str) -> Result<Vec<Link>, StoreError> {
        // Each link is stored once, under its side-1 item.
        self.query(keys::partition(Kind::Link, integration), Some(keys::side_prefix(Side::One)), "listing links")
            .await?
            .iter()
            .filter(|item| !keys::is_claim(item))
            .map(|item| decode(item, "link"))
            .collect()
    }

    /// From the pointer memory when this process read the pointer before (a pairing is never changed in
    /// place; a pointer outliving a relink is caught when the link it names is read).
    async fn side1_of(&self, integration: &str, item: &ItemId) -> Result<Option<ItemId>, StoreError> {
        if let Some(partner) = self.pointers.get(integration, item) {
            return Ok(Some(partner));
        }
        let Some(pointer) =
            self.get_linked(&Key::link(integration, Side::Two, item), "reading a link's pointer").await?
        else {
            return Ok(None);
        };
        let partner = match pointer.get(PARTNER) {
            Some(AttributeValue::S(partner)) => ItemId::new(partner.clone()),
            _ => return Err(StoreError::Corrupt { message: format!("the link of {item} names no partner") }),
        };
        self.pointers.note(integration, item, &partner);
        Ok(Some(partner))
    }
}
