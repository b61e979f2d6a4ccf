//! The durable record behind the service. `Store` is the boundary: the operations the service
//! needs (read back at start what memory keeps, read a closed order when asked for, commit a
//! batch of checked changes durably, claim background work), so another database can be
//! added without touching the service.
//! `SqliteStore` (`sqlite.rs`) is the embedded default; `PgStore` (`postgres.rs`) keeps the
//! record in PostgreSQL.

mod postgres;
mod sqlite;

use std::future::Future;
use std::pin::Pin;

pub use postgres::{PgSettings, PgStore, schema_version as postgres_schema_version};
pub use sqlite::{SCHEMA_VERSION as SQLITE_SCHEMA_VERSION, SqliteStore};

/// One change to make durable. Bodies are the JSON of a record (`crate::records`).
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Insert or replace a location (`LocationRecord`).
    Location { id: String, body: String },
    /// Insert or replace a product (`ProductRecord`).
    Product { sku: String, body: String },
    /// Set a position's on hand and safety stock. `was`: serving together with other
    /// instances, what this one's memory had (on hand, safety stock): the store applies the
    /// difference, as memory does, so a change another instance made meanwhile (still on its
    /// way through the feed) is kept by both and they agree.
    StockLevel { sku: String, location: String, on_hand: u32, safety_stock: u32, was: Option<(u32, u32)> },
    /// Change a position's on hand by `delta` (receipts, shipments, returns).
    StockDelta { sku: String, location: String, delta: i64 },
    /// Change the units reserved at a position by `delta`: what an order's change does to the
    /// units it holds there (`Service::commit_orders` derives them). A store that serves one
    /// process may ignore it (memory's count is the truth and a restart rebuilds it from the
    /// orders); PostgreSQL keeps the count and refuses a commit that would reserve more than
    /// on hand - reserved - safety stock ([`StoreError::Refused`]).
    Reserve { sku: String, location: String, delta: i64 },
    /// Change the shipments counted against `location`'s capacity on `day` (days since the
    /// epoch in its time zone) by `delta`: what an order's change does to the shipments it
    /// holds at a location with a daily capacity. Like `Reserve`: a store one process serves
    /// may ignore it; PostgreSQL keeps the count and refuses one past `capacity`.
    Shipments { location: String, day: i64, delta: i64, capacity: Option<u32> },
    /// Insert or replace an order (`OrderRecord`). `keep_until`: until when (seconds since the
    /// epoch) memory keeps it (`OrderRecord::keep_until`; `i64::MAX` while it is open): a
    /// start reads only the orders with a later one.
    /// `revision`: the order's (`OrderRecord::revision`); a store that instances share writes
    /// it only over the revision before, and refuses it otherwise ([`StoreError::Stale`]).
    /// `due`: when its reservation lapses (reserved) or it comes due (scheduled), seconds
    /// since the epoch. `placed`: when it was first recorded (seconds since the epoch; 0 if
    /// unknown), which orders are listed by.
    Order {
        id: String,
        idempotency_key: Option<String>,
        status: String,
        body: String,
        keep_until: i64,
        revision: u64,
        due: Option<i64>,
        placed: i64,
    },
    /// A new policy or plugin version (`VersionMeta` in `meta`).
    PolicyVersion { version: String, name: String, kind: String, source: Vec<u8>, meta: String },
    /// A binding change (appended: the history is the table).
    Binding { group: String, version: String, fallback: Option<String>, at: String, parameters: Option<String> },
    /// Insert or replace a webhook subscription (`body: None` deletes it).
    Webhook { id: String, body: Option<String> },
    /// Insert or replace a carrier service (`CarrierServiceRecord`; `body: None` deletes it).
    CarrierService { id: String, body: Option<String> },
    /// Insert or replace a webhook delivery (`body: None` deletes it).
    Delivery { id: u64, body: Option<String> },
    /// Insert a webhook event's JSON, shared by its deliveries (`body: None` deletes it).
    WebhookEvent { id: u64, body: Option<String> },
    /// Append an entry of the ATP feed (`body: None` deletes it).
    AtpChange { seq: u64, body: Option<String> },
    /// Insert or replace a recurring order. `revision`: its (`RecurringOrder::revision`); a
    /// store that instances share writes it only over the revision before (as orders), and
    /// refuses it otherwise ([`StoreError::Stale`], or [`StoreError::Duplicate`] for one
    /// another instance created at the same moment).
    Recurring { id: String, body: String, revision: u64 },
    /// Insert or replace an inbound stock record: `qty` units expected, `received` once it
    /// arrived. A store that instances share writes no record received already (that receipt
    /// was another instance's: [`StoreError::Stale`]).
    Inbound { id: String, body: String, qty: u32, received: bool },
    /// Change the units of inbound record `inbound` promised to backorders by `delta`: what an
    /// order's change does to its backorders (`Service::commit_orders` derives them). Like
    /// `Reserve`: a store one process serves may ignore it; PostgreSQL keeps the count and
    /// refuses a promise past the record's units, or of a record received already.
    Promise { inbound: String, delta: i64 },
    /// Change the units of `sku` ordered before its release by `delta` (open orders placed
    /// before it). Like `Reserve`: PostgreSQL keeps the count and refuses one past `cap`.
    Preorder { sku: String, delta: i64, cap: Option<u32> },
    /// Keep why order `order_id` was routed as it was at its revision `revision`
    /// (`RoutingRecord`). Only the store keeps it: memory never reads it back.
    Explanation { order_id: String, revision: u64, body: String },
}

/// A stored order: `(id, idempotency_key, body)`.
pub type StoredOrder = (String, Option<String>, String);

/// A listed order: `(placed, id, body)`.
pub type ListedOrder = (i64, String, String);

/// Which orders [`Store::list_orders`] lists, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only orders of this status (its name); `None`: any.
    pub status: Option<String>,
    /// Placed at or after (seconds since the epoch).
    pub since: Option<i64>,
    /// Placed before (seconds since the epoch).
    pub until: Option<i64>,
    /// After this `(placed, id)` in the listing's order (the last order of the previous page).
    pub after: Option<(i64, String)>,
    /// At most this many.
    pub limit: usize,
}

/// What the store holds that memory keeps, read back at start, in write order: everything
/// but the orders memory no longer keeps (closed ones, read when asked for).
#[derive(Debug, Default)]
pub struct Snapshot {
    /// `(id, body)` in first-insert order (which fixes the engine's dense indexes).
    pub locations: Vec<(String, String)>,
    /// `(sku, body)` in first-insert order.
    pub products: Vec<(String, String)>,
    /// `(sku, location, on_hand, safety_stock)`.
    pub stock: Vec<(String, String, i64, i64)>,
    /// The orders to keep in memory (`keep_until` after the time of the load), in
    /// first-insert order.
    pub orders: Vec<StoredOrder>,
    /// `(version, name, kind, source, meta)` in upload order.
    pub policy_versions: Vec<(String, String, String, Vec<u8>, String)>,
    /// `(group, version, fallback, at)` in binding order.
    pub bindings: Vec<StoredBinding>,
    /// Webhook subscriptions (JSON bodies).
    pub webhooks: Vec<String>,
    /// Carrier services (JSON bodies), in first-insert order.
    pub carrier_services: Vec<String>,
    /// Webhook deliveries (JSON bodies), oldest first.
    pub deliveries: Vec<String>,
    /// Webhook events `(id, JSON)`, oldest first.
    pub webhook_events: Vec<(u64, String)>,
    /// The ATP feed's entries (JSON bodies), oldest first.
    pub atp_changes: Vec<String>,
    /// Recurring orders (JSON bodies).
    pub recurring: Vec<String>,
    /// Inbound stock (JSON bodies), in creation order.
    pub inbound: Vec<String>,
    /// Where the change feed continues from this snapshot (`Store::follow`); `None` for a
    /// store without one.
    pub feed_cursor: Option<String>,
}

/// A change another instance serving the same store made, read from the change feed.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEntry {
    /// What it did to a position: deltas of on hand, reserved and safety stock (a new
    /// position: its values).
    Stock { sku: String, location: String, on_hand: i64, reserved: i64, safety_stock: i64 },
    /// What it did to the shipments counted against a location's capacity on a day.
    Shipments { location: String, day: i64, delta: i64 },
    /// A location inserted or replaced (its id).
    Location(String),
    /// A product inserted or replaced (its SKU).
    Product(String),
    /// A policy or plugin version uploaded (its version).
    PolicyVersion(String),
    /// A binding changed (its group).
    Binding(String),
    /// A webhook subscription inserted, replaced or deleted (its id).
    Webhook(String),
    /// A carrier service inserted, replaced or deleted (its id).
    CarrierService(String),
    /// A webhook event's JSON stored or deleted (its id).
    WebhookEvent(u64),
    /// A webhook delivery stored, changed or deleted (its id).
    Delivery(u64),
    /// A recurring order inserted or replaced (its id).
    Recurring(String),
    /// An order created or changed: its id and revision.
    Order { id: String, revision: u64 },
    /// An inbound stock record created or changed: what it did to the units promised (a new
    /// record: its count), and whether the record is received.
    Inbound { id: String, promised: i64, received: bool },
    /// What it did to the units of a SKU ordered before its release.
    Preorders { sku: String, delta: i64 },
    /// An entry of the ATP feed published or pruned (its number).
    AtpChange(u64),
}

/// Which kind of record [`Store::body`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BodyOf {
    Location,
    Product,
    Webhook,
    CarrierService,
    WebhookEvent,
    Delivery,
    Recurring,
    Inbound,
    AtpChange,
}

/// A stored policy version: `(version, name, kind, source, meta)`.
pub type StoredVersion = (String, String, String, Vec<u8>, String);

/// A stored binding: `(group, version, fallback, at)`.
pub type StoredBinding = (String, String, Option<String>, String, Option<String>);

/// Background work that must run in one place at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Work {
    /// Releasing reservations past their expiry.
    Expiry,
    /// Routing scheduled orders that came due.
    Scheduled,
    /// Creating the orders of recurring orders.
    Recurring,
    /// Delivering webhooks.
    Webhooks,
    /// Publishing ATP changes.
    AtpFeed,
    /// Re-optimising the unreleased orders.
    Reoptimize,
}

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store could not make the change durable (unreachable, full, broken): nothing of it
    /// was written.
    #[error("store: {0}")]
    Failed(String),
    /// The store refused the change: an order id or `Idempotency-Key` another instance took
    /// at the same moment. Nothing of it was written.
    #[error("store: {0}")]
    Duplicate(String),
    /// The store refused the change: the order was changed meanwhile (by another instance);
    /// nothing of it was written.
    #[error("store: {0}")]
    Stale(String),
    /// The store refused the change as it stands: a reservation beyond what the store's own
    /// count says is available (another instance took the units first). Nothing of it was
    /// written; routing again against fresh stock may succeed.
    #[error("store: {0}")]
    Refused(String),
}

/// What the store's operations return: resolved when the store has answered.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A durable store the service writes through.
pub trait Store: Send + Sync {
    /// What memory keeps, to rebuild the service's state from at start: every record but
    /// the orders whose `keep_until` is `now` or earlier.
    fn load(&self, now: i64) -> StoreFuture<'_, Snapshot>;

    /// Order `id`, if there is one.
    fn order(&self, id: &str) -> StoreFuture<'_, Option<StoredOrder>>;

    /// The id of the order created with `Idempotency-Key` `key`, if any.
    fn order_for_key(&self, key: &str) -> StoreFuture<'_, Option<String>>;

    /// The orders `query` selects, newest placed first (ties by id, descending): every order
    /// the store holds, open and closed, whichever instance placed it.
    fn list_orders(&self, query: OrderQuery) -> StoreFuture<'_, Vec<ListedOrder>>;

    /// Why order `order_id` was routed as it was: its `RoutingRecord` bodies, oldest first.
    fn routings(&self, order_id: &str) -> StoreFuture<'_, Vec<String>>;

    /// Every order, in first-insert order (to compare a running service with its store).
    fn all_orders(&self) -> StoreFuture<'_, Vec<StoredOrder>>;

    /// Makes `changes` durable together (all or none); resolves when they are, never before.
    fn commit(&self, changes: Vec<Change>) -> StoreFuture<'static, ()>;

    /// Whether this process may run `work` now: only one process of all those sharing the
    /// store runs each kind of background work at a time.
    fn claim(&self, work: Work) -> StoreFuture<'_, bool>;

    /// Holds the store for this process alone, for as long as it lives (asking again is a
    /// no-op): `false` when another process holds it. The serving process takes it; two
    /// processes serving one store would each keep their own picture of the stock and sell it
    /// twice.
    fn hold_exclusively(&self) -> StoreFuture<'_, bool>;

    /// Why this process may not serve the store while another holds it.
    fn held_elsewhere(&self) -> String;

    /// Serves the store together with other instances (each holds it shared): `false` while
    /// one process serves it alone. Only PostgreSQL opened with an origin can be shared.
    fn hold_shared(&self) -> StoreFuture<'_, bool> {
        Box::pin(async { Err(StoreError::Failed("only a PostgreSQL store can be served by several instances".into())) })
    }

    /// The changes other instances made since `cursor` (from `Snapshot::feed_cursor` or the
    /// previous call), oldest first, and the cursor to continue from. Only a store that
    /// instances share has a feed; the others have nothing to say.
    fn follow(&self, cursor: String) -> StoreFuture<'_, (Vec<FeedEntry>, String)> {
        Box::pin(async move { Ok((Vec::new(), cursor)) })
    }

    /// Resolves when another instance may have changed something, or after `at_most`.
    fn changed_elsewhere(&self, at_most: std::time::Duration) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            tokio::time::sleep(at_most).await;
            Ok(())
        })
    }

    /// The ids of the orders of `status` (`reserved`: their reservation lapses; `scheduled`:
    /// they come due) due at `at` or before, whichever instance placed them. Only a store
    /// that instances share answers; memory knows the rest.
    fn due_orders(&self, _status: &str, _at: i64) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The open orders (memory keeps them: `keep_until` after `now`) with a backorder waiting
    /// for inbound record `inbound`, in first-insert order, whichever instance placed them.
    /// Only a store that instances share answers; memory knows the rest.
    fn waiting_for(&self, _inbound: &str, _now: i64) -> StoreFuture<'_, Vec<StoredOrder>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// A number no other instance sharing the store has (0 for a store one process serves).
    fn instance_number(&self) -> StoreFuture<'_, u64> {
        Box::pin(async { Ok(0) })
    }

    /// The stored JSON of one record (`key`: its id, SKU or number), if there is one: what
    /// another instance changed.
    fn body(&self, _of: BodyOf, _key: &str) -> StoreFuture<'_, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    /// Stored policy version `version`, if any.
    fn policy_version(&self, _version: &str) -> StoreFuture<'_, Option<StoredVersion>> {
        Box::pin(async { Ok(None) })
    }

    /// The latest binding of `group`, if any.
    fn binding(&self, _group: &str) -> StoreFuture<'_, Option<StoredBinding>> {
        Box::pin(async { Ok(None) })
    }
}
