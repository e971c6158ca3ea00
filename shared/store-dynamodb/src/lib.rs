//! DynamoDB adapter of the engine's store traits (`LinkStore`, `WatermarkStore`,
//! `SyncLog`) on one on-demand table, for tandem on AWS Lambda.
//!
//! # Table layout
//!
//! One table with string keys `pk` (partition) and `sk` (sort), billed per request, with DynamoDB's
//! time to live on the number attribute `expires_at`. Every record kind has a partition per
//! integration, `{KIND}#{integration}`: the integration name is the whole remainder after a fixed
//! prefix, and in sort keys the free-form id comes last, so no name or id needs
//! escaping and none can collide with another.
//!
//! | record       | `pk`                       | `sk`                     | other attributes                                   |
//! |--------------|----------------------------|--------------------------|----------------------------------------------------|
//! | link         | `LINK#{integration}`       | `1#{item id}`            | `record`, `version` (N), `partner` (other item id) |
//! | link pointer | `LINK#{integration}`       | `2#{item id}`            | `partner` (the side-1 item id)                     |
//! | item claim   | `LINK#{integration}`       | `{side}#{item id}`       | `record`, `owner`, `until_us` (N), `expires_at`    |
//! | part claim   | `CLAIM#{integration}`      | `{side}#{part key}`      | `record`, `owner`, `until_us` (N), `expires_at`    |
//! | watermark    | `WATERMARK#{integration}`  | `{side}`                 | `record`                                           |
//! | conflict     | `CONFLICT#{integration}`   | `{RFC 3339 at}#{random}` | `record`                                           |
//! | failure      | `FAILURE#{integration}`    | `{side}#{item id}`       | `record`                                           |
//! | integration  | `INTEGRATION`              | `{integration}`          | `yaml`, `active` (BOOL), `updated_at`              |
//!
//! `record` is the record as JSON (deflated into a binary value for links and history entries, which
//! DynamoDB would otherwise bill at two units a write: see `record.rs`) and the only attribute read
//! back, so every field round-trips exactly. The other attributes exist for conditions and expiry: `until_us` is microseconds since the
//! epoch (conditions compare at that precision), `expires_at` whole seconds rounded up (DynamoDB
//! removes an item some time after it, never before).
//!
//! # Access paths
//!
//! - A link is stored once, under its side-1 item; its side-2 item holds a pointer to it, written with
//!   the link and never changed. "The link of this item" is one strongly consistent GetItem from side
//!   1, two from side 2 (one where this process read the pointer before). `insert_link` is one
//!   TransactWriteItems: the link and the pointer, the claimed item's written over its creation claim
//!   on `owner = :owner` (`Conflict` when taken over), the other's where no link is (`AlreadyExists`). `update_link` is one PutItem of the link on `version = :stored AND partner
//!   = :partner` (`Conflict` otherwise): one write unit per KB, where rewriting a copy under each item in
//!   a transaction cost four. `list_links` queries the side-1 records of the integration. (A table
//!   written by an earlier version holds a copy of the link under the side-2 item too; it is no longer
//!   read or written.)
//! - An item's claim is kept at its link's (or pointer's) key, so `claim_creation` is one PutItem on
//!   `attribute_not_exists(pk)`, or on exactly the earlier claim it takes over: one write unit that
//!   also finds the item not linked (a record there without `owner` is the link, returned with the
//!   refusal). The link replaces the claim, so no claim of a linked item is left to be taken or
//!   renewed. Reads of links pass claims over (an item being copied is not linked). A part's claim (a
//!   comment, a file: never linked) is kept in the claims' partition, and left to its time to live once
//!   its part is linked (`part_claim_fulfilled`: no write); a claim this process holds is renewed on
//!   exactly what it wrote (see `claims.rs`). (Item claims written by an earlier version,
//!   in the claims' partition, are no longer read: they expire with their time to live.)
//!   Claims colliding at the same instant (DynamoDB cancels both) are retried with jittered backoff.
//! - Conflicts sort by time within their integration's partition; failures are replaced in place.
//!   Listings are paginated strongly consistent Queries.
//!
//! Per-integration partitions fit tandem's load: one integration's webhooks and polls are far below a
//! partition's 1,000 writes per second, and DynamoDB splits a busy partition by sort key on its own.
//!
//! # Errors
//!
//! A lost condition is `Conflict` or `AlreadyExists`; throttling, 5xx, timeouts and the network are
//! `Unavailable` (retryable, after the SDK's own retries) with the SDK error as the source; a request
//! DynamoDB refuses as invalid (an item over 400 KB) is `Corrupt`, since retrying cannot help.

mod claims;
mod error;
mod keys;
mod links;
mod record;
mod registry;
#[cfg(feature = "stack")]
mod stack;
mod store;
mod sync_log;
mod table;
mod watermarks;

pub use registry::StoredIntegration;
#[cfg(feature = "stack")]
pub use stack::{table_of_stack, StackError, TABLE_OUTPUT};
pub use store::DynamoStore;
pub use table::TableError;
