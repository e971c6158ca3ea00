//! Creation claims: who may create the copy of an item (or post the copy of one of its parts, a comment
//! or a file), until when, and when its holders sent the create.
//!
//! An item's claim is kept at the key its link (side 1) or pointer (side 2) will have, so one
//! conditional PutItem (one write unit) takes the claim and finds the item not linked: a record there
//! that is not a claim is the link. `insert_link` writes the link over the claim, so no claim of a
//! linked item is left behind to be taken again. A part's claim (no link names a part) is kept in the
//! claims' own partition. The claims this process holds are remembered, so renewing one (right before
//! the send) is one write conditional on exactly what it wrote, not a refused write and a second one.

use crate::error::Item;
use crate::keys::{self, Key, OWNER, RECORD, UNTIL_MICROS};
use crate::links::describe_item;
use crate::record::{decode, encode};
use crate::store::{item_at, DynamoStore};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_engine::ports::{ClaimOutcome, ClaimRequest, EarlierAttempt, LinkStore, SentRecord, StoreError};
use tandem_model::{ItemId, Side, Timestamp};

const DOING: &str = "claiming the creation of a copy";

/// What one conditional claim write found.
enum Attempt {
    Done(ClaimOutcome),
    /// A claim exists that is ours or has ended: it may be taken over.
    TakeOver(Claim),
}

/// Who may create the copy of an item, and until when; and when its holders sent the create.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claim {
    owner: String,
    until: Timestamp,
    #[serde(default)]
    sent: SentRecord,
}

/// How long an unlinked claim is kept after its lease ends, before DynamoDB's TTL may delete it. A
/// claim outliving its lease is what tells a later attempt that an earlier one may have made the copy
/// and died (so it looks for that copy instead of making another): it must outlive every retry, and a
/// parked change may be retried by an operator weeks later. An item's claim is replaced by its link,
/// and a released claim deleted; a part's claim whose part is linked is left to wait this long too
/// (about 250 bytes each: cheaper kept than a write unit to delete).
const UNLINKED_CLAIM_MEMORY: chrono::Duration = chrono::Duration::days(90);

/// How often a claim is tried again when another claim of the same item was being written at the same
/// moment (DynamoDB then cancels both transactions without deciding either).
pub(crate) const CONTENDED_CLAIM_ATTEMPTS: usize = 6;

/// Claims remembered before they are forgotten (a sync holds one for seconds).
const HELD_CLAIMS_KEPT: usize = 10_000;

/// The claims this process wrote, as it wrote them, by integration, side and item.
#[derive(Debug, Default)]
pub(crate) struct HeldClaims(std::sync::Mutex<HashMap<(String, Side, ItemId), Claim>>);

impl HeldClaims {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Side, ItemId), Claim>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes this process's claim of the item out of memory: it is put back once written again.
    fn take(&self, integration: &str, side: Side, item: &ItemId) -> Option<Claim> {
        self.lock().remove(&(integration.to_owned(), side, item.clone()))
    }

    fn note(&self, integration: &str, side: Side, item: &ItemId, claim: Claim) {
        let mut held = self.lock();
        if held.len() >= HELD_CLAIMS_KEPT {
            held.clear();
        }
        held.insert((integration.to_owned(), side, item.clone()), claim);
    }

    /// Forgets a claim released or removed with its link.
    pub(crate) fn forget(&self, integration: &str, side: Side, item: &ItemId) {
        self.take(integration, side, item);
    }
}

/// The condition of a claim's write: no claim yet (`replacing` None), or still exactly `replacing`.
struct ClaimCondition {
    expression: &'static str,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
}

impl ClaimCondition {
    fn replacing(replacing: Option<&Claim>) -> Self {
        match replacing {
            None => ClaimCondition { expression: "attribute_not_exists(pk)", names: None, values: None },
            Some(earlier) => ClaimCondition {
                expression: "#owner = :earlier_owner AND #until = :earlier_until",
                names: Some(HashMap::from([
                    ("#owner".to_owned(), OWNER.to_owned()),
                    ("#until".to_owned(), UNTIL_MICROS.to_owned()),
                ])),
                values: Some(HashMap::from([
                    (":earlier_owner".to_owned(), AttributeValue::S(earlier.owner.clone())),
                    (":earlier_until".to_owned(), keys::micros(earlier.until)),
                ])),
            },
        }
    }
}

/// How a claim's write came back.
enum Written {
    Made,
    /// The item is linked (an item's claim only).
    Linked,
    /// Another claim stands: as DynamoDB returned it, if it did.
    ClaimStands(Option<Item>),
}

impl DynamoStore {
    /// One claim: a fresh one, or — when an earlier claim exists that is ours or has ended — a takeover
    /// of exactly that claim, so the caller learns that an earlier attempt may have created the copy.
    /// A claim this process holds is renewed on what it wrote, in one write.
    pub(crate) async fn claim_once(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        request: &ClaimRequest<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        let held = self.held.take(integration, side, item).filter(|claim| claim.owner == request.owner);
        match self.try_claim(integration, side, item, request, held).await? {
            Attempt::Done(outcome) => Ok(outcome),
            Attempt::TakeOver(earlier) => {
                match self.try_claim(integration, side, item, request, Some(earlier)).await? {
                    Attempt::Done(outcome) => Ok(outcome),
                    // The earlier claim changed between the two writes: start over.
                    Attempt::TakeOver(_) => Err(StoreError::Conflict {
                        what: format!("the creation claim of {}", describe_item(integration, side, item)),
                    }),
                }
            }
        }
    }

    /// One conditional write of a claim: the item must not be linked, and the claim must be absent
    /// (`replacing` None) or still exactly `replacing`.
    async fn try_claim(
        &self,
        integration: &str,
        side: Side,
        item: &ItemId,
        request: &ClaimRequest<'_>,
        replacing: Option<Claim>,
    ) -> Result<Attempt, StoreError> {
        let (owner, lease_until) = (request.owner, request.lease_until);
        // The window merges with exactly the claim this write is conditional on.
        let sent = match &replacing {
            Some(earlier) => earlier.sent.renewed(earlier.until, request),
            None => SentRecord::fresh(request),
        };
        let claim = Claim { owner: owner.to_owned(), until: lease_until, sent };
        let record = item_at(
            &Key::claim(integration, side, item),
            [
                (RECORD, encode(&claim, "creation claim")?),
                (OWNER, AttributeValue::S(owner.to_owned())),
                (UNTIL_MICROS, keys::micros(lease_until)),
                (keys::EXPIRES_AT, keys::expires_at(lease_until + UNLINKED_CLAIM_MEMORY)),
            ],
        );
        let condition = ClaimCondition::replacing(replacing.as_ref());
        let written = self.put_claim(record, condition).await?;
        let what = describe_item(integration, side, item);
        match written {
            Written::Made => {
                self.held.note(integration, side, item, claim);
                let earlier_attempt = replacing.map(|earlier| EarlierAttempt {
                    lease_end: earlier.until,
                    sent: earlier.sent.window(earlier.until),
                });
                Ok(Attempt::Done(ClaimOutcome::Claimed { earlier_attempt }))
            }
            Written::Linked => match self.get_link(integration, side, item).await? {
                Some(link) => Ok(Attempt::Done(ClaimOutcome::Linked(Box::new(link)))),
                None => Err(StoreError::Conflict { what: format!("the link of {what}") }),
            },
            Written::ClaimStands(holder) => {
                let holder = match holder {
                    Some(item) => Some(item),
                    None => self.get(&Key::claim(integration, side, item), DOING).await?,
                };
                // Released between our write and this read, or linked (the link replaced the claim):
                // try again, which finds which.
                let Some(holder) = holder.filter(keys::is_claim) else {
                    return Err(StoreError::Conflict { what: format!("the creation claim of {what}") });
                };
                let holder: Claim = decode(&holder, "creation claim")?;
                Ok(if holder.owner != owner && holder.until > request.now {
                    Attempt::Done(ClaimOutcome::HeldElsewhere { until: holder.until })
                } else {
                    Attempt::TakeOver(holder)
                })
            }
        }
    }

    /// A claim's conditional put. An item's claim is kept at its link's key, so the put is also the
    /// check that the item is not linked: a record there that is not a claim is its link.
    async fn put_claim(&self, record: Item, condition: ClaimCondition) -> Result<Written, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .send()
            .await;
        match written {
            Ok(_) => Ok(Written::Made),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => Ok(match failed.item() {
                    Some(stored) if !keys::is_claim(stored) => Written::Linked,
                    stored => Written::ClaimStands(stored.cloned()),
                }),
                _ => Err(self.failed(DOING, error)),
            },
        }
    }
}
