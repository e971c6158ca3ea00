//! Webhook delivery de-duplication, with expired deliveries purged as new ones arrive.

use crate::error::{decode, encode, OrUnavailable};
use crate::store::EmbeddedStore;
use crate::tables::{side_key, DELIVERIES, DELIVERY_EXPIRY};
use async_trait::async_trait;
use redb::{ReadableTable, Table};
use tandem_engine::ports::{DeliveryStore, StoreError};
use tandem_model::{Side, Timestamp};

/// How many expired deliveries one `record_delivery` removes at most, so that a backlog of expired
/// deliveries is worked off gradually instead of stalling one webhook.
const PURGE_BATCH: usize = 64;

type ExpiryTable<'t> = Table<'t, (i64, &'static str, u8, &'static str), ()>;
type DeliveryTable<'t> = Table<'t, (&'static str, u8, &'static str), &'static str>;

fn purge_expired(
    deliveries: &mut DeliveryTable<'_>,
    expiry: &mut ExpiryTable<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let doing = "purging expired deliveries";
    let now = now.timestamp_micros();
    let mut expired = Vec::new();
    for entry in expiry.iter().or_unavailable(doing)?.take(PURGE_BATCH) {
        let (key, ()) = entry.map(|(key, value)| (key, value.value())).or_unavailable(doing)?;
        let (expires_at, integration, side, delivery) = key.value();
        if expires_at > now {
            break;
        }
        expired.push((expires_at, integration.to_owned(), side, delivery.to_owned()));
    }
    for (expires_at, integration, side, delivery) in &expired {
        expiry.remove((*expires_at, integration.as_str(), *side, delivery.as_str())).or_unavailable(doing)?;
        deliveries.remove((integration.as_str(), *side, delivery.as_str())).or_unavailable(doing)?;
    }
    Ok(())
}

#[async_trait]
impl DeliveryStore for EmbeddedStore {
    async fn record_delivery(
        &self,
        integration: &str,
        side: Side,
        delivery: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (integration, delivery) = (integration.to_owned(), delivery.to_owned());
        self.write("recording a delivery", move |transaction| {
            let mut deliveries = transaction.open_table(DELIVERIES).or_unavailable("opening the deliveries")?;
            let mut expiry =
                transaction.open_table(DELIVERY_EXPIRY).or_unavailable("opening the delivery expiry index")?;
            purge_expired(&mut deliveries, &mut expiry, now)?;

            let (integration, side, delivery) = (integration.as_str(), side_key(side), delivery.as_str());
            let seen_until: Option<Timestamp> = deliveries
                .get((integration, side, delivery))
                .or_unavailable("reading a delivery")?
                .map(|json| decode(json.value(), "delivery"))
                .transpose()?;
            if let Some(seen_until) = seen_until {
                if seen_until > now {
                    return Ok(false);
                }
                // Expired but not purged yet (beyond this call's batch): it counts as new.
                expiry
                    .remove((seen_until.timestamp_micros(), integration, side, delivery))
                    .or_unavailable("removing an expired delivery")?;
            }
            deliveries
                .insert((integration, side, delivery), encode(&expires_at, "delivery")?.as_str())
                .or_unavailable("writing a delivery")?;
            expiry
                .insert((expires_at.timestamp_micros(), integration, side, delivery), ())
                .or_unavailable("writing a delivery")?;
            Ok(true)
        })
        .await
    }
}
