//! The parts of an item copied one by one — comments, attachments — each exactly once across workers
//! and crashes, the way items are: a worker claims the copying of a part before sending it (another
//! worker holding the claim means "not now"), the claim records when a copy may have been made (taken
//! with the copy ready, for a comment; renewed right before the send, for a file downloaded under it),
//! and a worker that takes over a claim whose holder never linked its copy first looks on the target
//! for that copy and adopts it instead of sending again.

use crate::engine::{duration, Claiming, Engine};
use crate::error::SyncError;
use crate::ports::{ClaimOutcome, Link, SendWindow, StoreError};
use tandem_model::{ItemId, Side, Timestamp};
use tracing::warn;

/// A part's claim while its copy is made ready. A listing (or an item read) shows a copy at once, so
/// no search lag is waited for.
pub(crate) const HOLD_PART: Claiming = Claiming::Hold { lag: chrono::Duration::zero() };
/// A part's claim taken with its copy ready, to send right after.
pub(crate) const HOLD_PART_TO_SEND: Claiming = Claiming::HoldToSend { lag: chrono::Duration::zero() };

/// What to do about a part the link does not know yet.
pub(crate) enum NewPart {
    /// Send a copy.
    Copy(Copying),
    /// Another worker is copying it now, or an earlier attempt's send may still land.
    HeldElsewhere { until: Timestamp },
    /// Someone copied it meanwhile: the link (re-read) knows it.
    Known,
}

/// Why a sync does not copy a part now.
pub(crate) enum NotNow {
    /// Another worker is copying it, or an earlier attempt's send may still land.
    HeldElsewhere { until: Timestamp },
    /// Someone copied (or settled) it meanwhile.
    Known,
}

/// How this worker goes on copying a part it claimed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Copying {
    /// An earlier attempt may have sent a copy already: look for it first.
    pub look_for_earlier: bool,
    /// When the claim recorded this worker's send (taken with [`Claiming::HoldToSend`], and no earlier
    /// attempt sent): a send made soon after needs no renewal of the claim first.
    pub send_recorded_at: Option<Timestamp>,
}

impl NewPart {
    /// How this worker copies the part, or why it does not now.
    pub(crate) fn go_on(self) -> Result<Copying, NotNow> {
        match self {
            NewPart::Copy(copying) => Ok(copying),
            NewPart::HeldElsewhere { until } => Err(NotNow::HeldElsewhere { until }),
            NewPart::Known => Err(NotNow::Known),
        }
    }
}

/// The claim key of copying one part (`kind` names what it is): in the claims of the item it belongs
/// to, under a name no item id can have.
pub(crate) fn part_claim(link: &Link, from: Side, kind: &str, part: &str) -> ItemId {
    crate::ports::part_claim_key(&link.item(from).id, kind, part)
}

impl Engine {
    /// Claims the copying of a new part, then re-reads the link: a worker that copied the part between
    /// this worker's read of the link and its claim has written the link by then (the sync starts
    /// again from it), or linked the part (`known` tells). Where the store remembers parts' claims, a
    /// claim that found none needs no second read: nobody copied the part meanwhile (see
    /// [`crate::ports::LinkStore::remembers_part_claims`]). `purpose` is [`Claiming::Hold`] while the
    /// copy is still to be made ready, [`Claiming::HoldToSend`] when it is sent right after.
    pub(crate) async fn claim_part(
        &self,
        link: &Link,
        from: Side,
        claim: &ItemId,
        purpose: Claiming,
        known: impl Fn(&Link) -> bool,
    ) -> Result<NewPart, SyncError> {
        let claimed_at = self.clock.now();
        let outcome = self.claim(from, claim, purpose).await?;
        let first_claim = matches!(outcome, ClaimOutcome::Claimed { earlier_attempt: None })
            && self.stores.links.remembers_part_claims();
        let copying = match outcome {
            // An earlier attempt that sent may have made the copy: once its send cannot land any more,
            // the target shows whether it did (a listing or an item read, unlike a search, is up to date).
            ClaimOutcome::Claimed { earlier_attempt } => {
                let now = self.clock.now();
                match earlier_attempt.and_then(|earlier| earlier.copy_visible_from(now, chrono::Duration::zero())) {
                    Some(visible_from) if now < visible_from => {
                        return Ok(NewPart::HeldElsewhere { until: visible_from })
                    }
                    Some(_) => Copying { look_for_earlier: true, send_recorded_at: None },
                    None => {
                        Copying { look_for_earlier: false, send_recorded_at: purpose.sends().then_some(claimed_at) }
                    }
                }
            }
            ClaimOutcome::HeldElsewhere { until } => return Ok(NewPart::HeldElsewhere { until }),
            // Claims of parts are never linked themselves; treat it as a fresh claim.
            ClaimOutcome::Linked(_) => Copying { look_for_earlier: false, send_recorded_at: None },
        };
        if first_claim {
            return Ok(NewPart::Copy(copying));
        }
        let fresh = self.stores.links.get_link(&self.config.name, from, &link.item(from).id).await?;
        match fresh {
            // Written by another worker since this sync's read (or its own last write): what this sync
            // holds is out of date (its fields too, which its last write would put back), so it starts
            // again from what is stored.
            Some(fresh) if fresh.version != link.version => {
                // A claim taken over from a holder that may have sent keeps that holder's window for the
                // sync's fresh start (which takes the claim again, and looks first): released, it would
                // be lost, and the copy it may have made sent a second time.
                if !copying.look_for_earlier {
                    self.release_part_claim(from, claim).await;
                }
                Err(SyncError::Store(StoreError::Conflict {
                    what: format!("the link of {}, written meanwhile", link.item(from).label()),
                }))
            }
            // Kept where the store remembers claims: it carries the copier's send, which a worker whose
            // read of the link is older still must find.
            Some(fresh) if known(&fresh) => {
                self.part_claim_fulfilled(from, claim).await;
                Ok(NewPart::Known)
            }
            _ => Ok(NewPart::Copy(copying)),
        }
    }

    /// Readies the claim for this worker's send: the claim's send window before this send, or (as the
    /// error) the lease end of whoever holds it instead. A send the claim recorded goes as it is
    /// (nothing was sent before it) while it would end within the claim's lease, which is when a worker
    /// taking the claim over looks for its copy; otherwise the claim is renewed, recording the send.
    pub(crate) async fn ready_part_send(
        &self,
        from: Side,
        claim: &ItemId,
        copying: Copying,
    ) -> Result<Result<Option<SendWindow>, Timestamp>, SyncError> {
        let longest = duration(self.connector(from.other()).max_call_duration());
        let lands_within_lease = |at: Timestamp| self.clock.now() + longest < at + self.claim_lease;
        match copying.send_recorded_at {
            Some(at) if lands_within_lease(at) => Ok(Ok(None)),
            _ => self.renew_part_claim(from, claim).await,
        }
    }

    /// Renews this worker's claim on copying a part, recording that the copy is being sent: the claim's
    /// send window before this send, or (as the error) the lease end of whoever holds it instead.
    pub(crate) async fn renew_part_claim(
        &self,
        from: Side,
        claim: &ItemId,
    ) -> Result<Result<Option<SendWindow>, Timestamp>, SyncError> {
        let sending = Claiming::Send { lag: chrono::Duration::zero() };
        Ok(match self.claim(from, claim, sending).await? {
            ClaimOutcome::HeldElsewhere { until } => Err(until),
            ClaimOutcome::Claimed { earlier_attempt } => Ok(earlier_attempt.and_then(|earlier| earlier.sent)),
            ClaimOutcome::Linked(_) => Ok(None),
        })
    }

    /// A send failed: the claim records whether it made nothing (so a retry sends at once) or may
    /// have made a copy (so a retry first looks for it); one that may still be processed keeps the
    /// window it opened.
    pub(crate) async fn part_send_failed(
        &self,
        from: Side,
        claim: &ItemId,
        error: &crate::ports::ConnectorError,
        before: Option<SendWindow>,
    ) {
        if let Some(ending) = Claiming::after_failed_send(error, chrono::Duration::zero(), before) {
            self.end_send(from, claim, ending).await;
        }
    }

    /// The part is linked (the link's update is stored): its claim has done its work.
    pub(crate) async fn part_claim_fulfilled(&self, from: Side, claim: &ItemId) {
        let links = &self.stores.links;
        if let Err(error) = links.part_claim_fulfilled(&self.config.name, from, claim, &self.worker).await {
            warn!(%error, "could not let go of the claim on copying a comment or attachment; it expires with its lease");
        }
    }

    pub(crate) async fn release_part_claim(&self, from: Side, claim: &ItemId) {
        if let Err(error) = self.stores.links.release_claim(&self.config.name, from, claim, &self.worker).await {
            warn!(%error, "could not release the claim on copying a comment or attachment; it expires with its lease");
        }
    }
}
