//! The service: the state and every operation, independent of HTTP. Operations take and
//! return the service's own types (`crate::records` and the inputs defined beside each
//! operation) and fail with a [`ServiceError`]; the API maps both to the wire.
//!
//! One order's journey, file by file:
//! - `validate.rs`: an order as submitted becomes the engine's order (kits expanded), or a
//!   `ServiceError::Invalid` naming the field: every rule lives there;
//! - `create.rs`: the pipeline of [`Service::create_order`]: admit (validate, idempotency,
//!   the order id taken once) → resolve the binding → route and reserve (the engine, kits
//!   whole) → record → commit → notify, with one rollback guard (`commit::Rollback`) undoing whatever a failed
//!   step leaves behind;
//! - `orders.rs`: dry runs, scheduled orders routed when due, confirm, cancel, expiry;
//! - `fulfilment.rs`, `returns.rs`, `inbound.rs` (backorders, preorders): what follows;
//! - `commit.rs`: every change reaches the store through `Service::commit` or
//!   `Service::commit_order` (which queues the order's webhook deliveries in the same commit).
//!
//! Ordering rules (what keeps memory and store the same picture):
//! - catalog and stock changes, and shipments (which take stock off hand), hold `stock_lock`
//!   while they are checked, committed and applied, so memory applies them in store order;
//! - creating an order reserves in memory first (atomically, so no unit is sold twice), then
//!   commits; a failed commit releases the reservation and the client gets `Unavailable`;
//! - cancelling commits first, then releases.
//!
//! On start everything is rebuilt from the store (`recovery.rs`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use switchyard_engine::{
    Catalog, Inventory, Reservation, ReservedShipment, ReservedUnits, RouterConfig, Strategy, Timestamp, Workspace,
};
use switchyard_plugins::{CompileOptions, CompileWorker, Limits, PluginHost};
use tokio::sync::{Mutex as AsyncMutex, Notify};

use crate::config::Config;
use crate::error::ServiceError;
use crate::metrics::Metrics;
use crate::records::{Delivery, Event, EventKind, HeldShipment, HeldUnits, Inbound, OrderRecord, RecurringOrder};
use crate::registry::Registry;
use crate::shadow::Shadow;
use crate::store::{PgSettings, PgStore, SqliteStore, Store, Work};

mod atp_feed;
mod catalog;
mod commit;
mod create;
mod feed;
mod fulfilment;
mod inbound;
pub mod limits;
mod look_ahead;
mod orders;
mod policies;
mod recovery;
mod recurring_orders;
mod reoptimize;
mod returns;
mod shipping;
mod state;
mod validate;
mod webhook_delivery;

pub use atp_feed::{AtpChanges, MAX_FEED_PAGE};
pub use catalog::{Atp, PositionView, StockAdjustment, StockLevel};
pub use create::Created;
pub use fulfilment::FulfilmentEvent;
pub use inbound::InboundRequest;
pub use look_ahead::{LookAheadReport, LookAheadSolve, MAX_LOOK_AHEAD_ORDERS, REPORTED_PRICES, StockPrice};
pub use orders::{DryRun, OrderPage};
pub use policies::PolicyTrial;
pub use recurring_orders::Interval;
pub use reoptimize::{ReoptimizeReport, ReoptimizedOrder};
pub use shipping::{DeliveryOption, MAX_CARRIER_SERVICES, NoOption, PromiseRequest, Promised, PromisedParcel};
pub use state::{PositionState, StateView};

thread_local! {
    // Routing buffers, one per worker thread, reused across orders.
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
}

/// When a SKU is released, and how many units may be preordered before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// Release time, seconds since the epoch.
    pub at: i64,
    /// The same, as given (RFC 3339).
    pub at_text: String,
    /// Most units accepted before release; `None` is unlimited.
    pub cap: Option<u32>,
}

/// The running service's state.
pub struct Service {
    config: Config,
    // The engine's catalog (locations, products, kits), replaced whole on every change.
    catalog: RwLock<Arc<Catalog>>,
    // Release dates and preorder caps by SKU, and units accepted before release.
    releases: RwLock<Arc<HashMap<String, Release>>>,
    preordered: Mutex<HashMap<String, u32>>,
    // IANA time zone per location id, for those that have one.
    location_zones: RwLock<Arc<HashMap<String, String>>>,
    // Release waves (minutes after local midnight, ascending) by location id, for those that
    // have them.
    location_waves: RwLock<Arc<HashMap<String, Vec<u16>>>>,
    // Carrier services by id, replaced whole on every change (delivery promises).
    carrier_services: RwLock<Arc<shipping::Carriers>>,
    // Held by every change of the catalog or of on hand (see the ordering rules above).
    stock_lock: AsyncMutex<()>,
    // Binding changes are committed and applied one at a time, so the live binding is the
    // last one stored.
    bind_lock: AsyncMutex<()>,
    // Held by a re-optimisation pass: one at a time.
    reoptimizing: AsyncMutex<()>,
    // Orders the last pass settled, at the revision it settled them.
    settled: Mutex<HashMap<String, u64>>,
    // Held by a look-ahead solve: one at a time; and the last one's report.
    looking_ahead: AsyncMutex<()>,
    look_ahead_report: RwLock<Arc<LookAheadReport>>,
    inventory: Inventory,
    orders: DashMap<String, Arc<AsyncMutex<OrderRecord>>>,
    // Held (shared) by a request reading an order back from the store until its slot is in
    // `orders`; the sweep that lets orders go takes it alone. Otherwise a sweep between the
    // read and the insert could let go of a newer copy and the stale one would come back.
    reading_back: tokio::sync::RwLock<()>,
    // `(when, order id)` of reservations that lapse and scheduled orders that come due, so the
    // sweeps touch only what is due (entries of orders changed since are skipped when popped).
    expiring: Mutex<BTreeSet<(i64, String)>>,
    scheduled: Mutex<BTreeSet<(i64, String)>>,
    idempotency: DashMap<String, String>,
    registry: Registry,
    store: Box<dyn Store>,
    metrics: Metrics,
    router_config: RouterConfig,
    greedy_config: RouterConfig,
    shadows: DashMap<String, Arc<Shadow>>,
    webhooks: DashMap<String, crate::records::Subscription>,
    recurring: DashMap<String, Arc<AsyncMutex<RecurringOrder>>>,
    // Inbound stock by id, and per inbound id the orders waiting for it in order of placement.
    inbound: Mutex<BTreeMap<String, Inbound>>,
    // INVARIANT: an order is listed here from the moment units of it are promised to the
    // inbound record (before its commit), so a receipt never misses a waiting order.
    waiting_for: Mutex<HashMap<String, Vec<String>>>,
    // Inbound records being received: no new promise may be made on them.
    receiving: Mutex<HashSet<String>>,
    next_inbound: AtomicU64,
    deliveries: Mutex<BTreeMap<u64, Delivery>>,
    next_delivery: AtomicU64,
    // Webhook events' JSON by id, shared by their deliveries.
    events: Mutex<HashMap<u64, Arc<str>>>,
    next_event: AtomicU64,
    // Pending deliveries per subscription (for the cap).
    pending_deliveries: Mutex<HashMap<String, usize>>,
    // Subscriptions whose lane is running, and those backing off until a time.
    lanes_running: Mutex<HashSet<String>>,
    lane_backoff: Mutex<HashMap<String, i64>>,
    lanes: tokio::sync::Semaphore,
    delivery_wakeup: Notify,
    // The ATP feed (oldest first), the next entry's number, the ATP last published per
    // position, and what a failed round left to publish.
    atp_feed: Mutex<std::collections::VecDeque<crate::records::AtpChange>>,
    atp_seq: AtomicU64,
    published_atp: Mutex<HashMap<(switchyard_engine::SkuId, switchyard_engine::LocationId), u32>>,
    atp_unpublished: Mutex<Vec<(switchyard_engine::SkuId, Vec<switchyard_engine::LocationId>)>>,
    // What the last start could not read back from the store, and why.
    unreadable: Mutex<Vec<String>>,
    ready: AtomicBool,
    // Serving together with other instances: where the change feed continues, and the stock
    // changes whose product or location memory does not know yet.
    feed_cursor: AsyncMutex<Option<String>>,
    feed_waiting: Mutex<Vec<crate::store::FeedEntry>>,
    feed_orders_waiting: Mutex<Vec<String>>,
    feed_deferred: Mutex<Vec<crate::store::FeedEntry>>,
}

/// The webhook event sent when a SKU's available-to-promise changes.
pub const ATP_CHANGED: &str = "inventory.atp_changed";

/// Now, to the second.
pub fn now() -> Timestamp {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

impl Service {
    /// Opens the store `config` names (PostgreSQL at `config.store`, else the embedded store
    /// in `config.data`), rebuilds the state from it, and is ready to serve. To serve it, use
    /// [`Service::open_to_serve`], which holds the store first.
    pub async fn open(config: Config) -> Result<Arc<Service>, String> {
        let store = open_store(&config).await?;
        Service::open_with(config, store).await
    }

    /// [`Service::open`] for the process that serves the store: it holds the store for
    /// itself (`Store::hold_exclusively`; while another process holds it, this fails saying
    /// why) before reading it back, so no write of a process that served it before is missed.
    pub async fn open_to_serve(config: Config) -> Result<Arc<Service>, String> {
        let store = open_store(&config).await?;
        if !store.hold_exclusively().await.map_err(|e| e.to_string())? {
            return Err(store.held_elsewhere());
        }
        Service::open_with(config, store).await
    }

    /// [`Service::open_to_serve`] as a standby: while another process holds the store, waits
    /// (asking every `poll`) and takes it when that process stops or dies; `waiting` is
    /// called once, when the wait begins.
    pub async fn open_standby(
        config: Config,
        poll: std::time::Duration,
        waiting: impl FnOnce(&str),
    ) -> Result<Arc<Service>, String> {
        let store = open_store(&config).await?;
        let mut waiting = Some(waiting);
        while !store.hold_exclusively().await.map_err(|e| e.to_string())? {
            if let Some(waiting) = waiting.take() {
                waiting(&store.held_elsewhere());
            }
            tokio::time::sleep(poll).await;
        }
        Service::open_with(config, store).await
    }

    /// Holds the store for this process alone while it lives (`Store::hold_exclusively`):
    /// the serving process calls it, and a second one on the same store gets why it may not.
    pub async fn hold_store_exclusively(&self) -> Result<(), String> {
        if self.store.hold_exclusively().await.map_err(|e| e.to_string())? {
            Ok(())
        } else {
            Err(self.store.held_elsewhere())
        }
    }

    /// Rebuilds the state from `store` and is ready to serve.
    pub async fn open_with(config: Config, store: Box<dyn Store>) -> Result<Arc<Service>, String> {
        config.check()?;
        let snapshot = store.load(now().0).await.map_err(|e| e.to_string())?;
        let worker = config.plugin_compile_worker.split_first().map(|(program, args)| CompileWorker {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
        });
        // Compiled plugins are kept beside the store: a restart loads them instead of
        // compiling them again.
        let options = CompileOptions { worker, artifact_dir: Some(config.data.join("plugin-artifacts")) };
        let plugins = PluginHost::with_options(Limits::default(), options).map_err(|e| e.to_string())?;
        let lanes = config.webhook_concurrency.max(1);
        let shared = config.shared;
        let service = Service {
            config,
            catalog: RwLock::new(Arc::new(Catalog::new())),
            location_zones: RwLock::new(Arc::new(HashMap::new())),
            location_waves: RwLock::new(Arc::new(HashMap::new())),
            carrier_services: RwLock::new(Arc::new(BTreeMap::new())),
            releases: RwLock::new(Arc::new(HashMap::new())),
            preordered: Mutex::new(HashMap::new()),
            stock_lock: AsyncMutex::new(()),
            bind_lock: AsyncMutex::new(()),
            reoptimizing: AsyncMutex::new(()),
            settled: Mutex::new(HashMap::new()),
            looking_ahead: AsyncMutex::new(()),
            look_ahead_report: RwLock::new(Arc::new(LookAheadReport::default())),
            inventory: Inventory::new(),
            orders: DashMap::new(),
            reading_back: tokio::sync::RwLock::new(()),
            expiring: Mutex::new(BTreeSet::new()),
            scheduled: Mutex::new(BTreeSet::new()),
            idempotency: DashMap::new(),
            registry: Registry::new(plugins),
            store,
            metrics: Metrics::default(),
            router_config: RouterConfig::default(),
            greedy_config: RouterConfig { strategy: Strategy::Greedy, ..RouterConfig::default() },
            shadows: DashMap::new(),
            webhooks: DashMap::new(),
            recurring: DashMap::new(),
            inbound: Mutex::new(BTreeMap::new()),
            waiting_for: Mutex::new(HashMap::new()),
            receiving: Mutex::new(HashSet::new()),
            next_inbound: AtomicU64::new(1),
            deliveries: Mutex::new(BTreeMap::new()),
            next_delivery: AtomicU64::new(1),
            events: Mutex::new(HashMap::new()),
            next_event: AtomicU64::new(1),
            pending_deliveries: Mutex::new(HashMap::new()),
            lanes_running: Mutex::new(HashSet::new()),
            lane_backoff: Mutex::new(HashMap::new()),
            lanes: tokio::sync::Semaphore::new(lanes),
            delivery_wakeup: Notify::new(),
            atp_feed: Mutex::new(std::collections::VecDeque::new()),
            atp_seq: AtomicU64::new(1),
            published_atp: Mutex::new(HashMap::new()),
            atp_unpublished: Mutex::new(Vec::new()),
            unreadable: Mutex::new(Vec::new()),
            ready: AtomicBool::new(false),
            // Only instances serving together follow the feed (one serving alone writes none).
            feed_cursor: AsyncMutex::new(snapshot.feed_cursor.clone().filter(|_| shared)),
            feed_waiting: Mutex::new(Vec::new()),
            feed_orders_waiting: Mutex::new(Vec::new()),
            feed_deferred: Mutex::new(Vec::new()),
        };
        service.recover(snapshot)?;
        service.ready.store(true, Ordering::Release);
        Ok(Arc::new(service))
    }

    /// The stored records the start could not read back (skipped, each logged with why):
    /// empty on a healthy store. `/metrics` counts them (`switchyard_unreadable_records`).
    pub fn unreadable_records(&self) -> Vec<String> {
        self.unreadable.lock().clone()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether recovery has finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The catalog as of now.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read())
    }

    /// Release dates as of now.
    pub fn releases(&self) -> Arc<HashMap<String, Release>> {
        Arc::clone(&self.releases.read())
    }

    /// Whether this process runs `work` now (the store decides: one process at a time).
    pub async fn claim(&self, work: Work) -> bool {
        match self.store.claim(work).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, ?work, "could not claim background work");
                false
            }
        }
    }

    /// Units on hand and reserved over all positions (for conservation checks).
    pub fn totals(&self) -> (u64, u64) {
        self.inventory.totals()
    }
}

// The store `config` names.
async fn open_store(config: &Config) -> Result<Box<dyn Store>, String> {
    config.check()?;
    Ok(match &config.store {
        Some(url) => {
            let settings = PgSettings {
                url: url.clone(),
                schema: config.store_schema.clone(),
                connections: config.store_connections,
                batch: config.commit_batch,
                // Each instance serving together is named in the feed by its host, process
                // and start.
                origin: config.shared.then(|| {
                    let host = std::env::var("HOSTNAME").unwrap_or_default();
                    let started = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
                    format!("{host}/{}/{started}", std::process::id())
                }),
            };
            Box::new(PgStore::open(&settings).await.map_err(|e| e.to_string())?)
        }
        None => Box::new(SqliteStore::open(&config.data, config.commit_batch).map_err(|e| e.to_string())?),
    })
}

fn event(at: Timestamp, kind: EventKind, detail: impl Into<String>) -> Event {
    Event { at: at.to_string(), event: kind, detail: detail.into() }
}

// An event whose detail is `detail`, followed by the client's `reason` when it gave one.
fn event_with_reason(at: Timestamp, kind: EventKind, detail: &str, reason: &str) -> Event {
    let detail = match (detail.is_empty(), reason.is_empty()) {
        (_, true) => detail.to_owned(),
        (true, false) => reason.to_owned(),
        (false, false) => format!("{detail}: {reason}"),
    };
    event(at, kind, detail)
}

// Takes every entry due at or before `at` out of a schedule.
fn pop_due(schedule: &Mutex<BTreeSet<(i64, String)>>, at: i64) -> Vec<String> {
    let mut schedule = schedule.lock();
    let later = schedule.split_off(&(at + 1, String::new()));
    let due = std::mem::replace(&mut *schedule, later);
    due.into_iter().map(|(_, id)| id).collect()
}

// `bytes` random bytes from the OS, as hex.
fn random_hex(bytes: usize) -> Result<String, ServiceError> {
    use std::io::Read;
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buffer))
        .map_err(|e| ServiceError::internal(format!("cannot read random bytes: {e}")))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

// The SKU and location of a position, in dense ids; errors name `path`.
fn resolve(
    catalog: &Catalog,
    sku: &str,
    location: &str,
    path: &str,
) -> Result<(switchyard_engine::SkuId, switchyard_engine::LocationId), ServiceError> {
    let sku_id = catalog.sku_id(sku).ok_or_else(|| {
        ServiceError::invalid("unknown_sku", format!("unknown sku `{sku}`")).at(format!("{path}.sku"))
    })?;
    let location_id = catalog.location_id(location).ok_or_else(|| {
        ServiceError::invalid("unknown_location", format!("unknown location `{location}`"))
            .at(format!("{path}.location"))
    })?;
    Ok((sku_id, location_id))
}

fn held_units(catalog: &Catalog, reservation: &Reservation) -> Vec<HeldUnits> {
    reservation
        .units
        .iter()
        .map(|u| HeldUnits {
            sku: catalog.product(u.sku).sku.clone(),
            location: catalog.location(u.location).id.clone(),
            qty: u.qty,
        })
        .collect()
}

fn held_shipments(catalog: &Catalog, reservation: &Reservation) -> Vec<HeldShipment> {
    reservation
        .shipments
        .iter()
        .map(|s| HeldShipment { location: catalog.location(s.location).id.clone(), day: s.day, capacity: s.capacity })
        .collect()
}

// What `units` and `shipments` hold, in the engine's dense ids.
fn reservation_of(
    catalog: &Catalog,
    units: &[HeldUnits],
    shipments: &[HeldShipment],
) -> Result<Reservation, ServiceError> {
    let mut reservation = Reservation::default();
    let unknown = |what: &str, id: &str| ServiceError::internal(format!("a held {what} names unknown `{id}`"));
    for held in units {
        let sku = catalog.sku_id(&held.sku).ok_or_else(|| unknown("sku", &held.sku))?;
        let location = catalog.location_id(&held.location).ok_or_else(|| unknown("location", &held.location))?;
        reservation.units.push(ReservedUnits { sku, location, qty: held.qty });
    }
    for shipment in shipments {
        let location =
            catalog.location_id(&shipment.location).ok_or_else(|| unknown("location", &shipment.location))?;
        reservation.shipments.push(ReservedShipment { location, day: shipment.day, capacity: shipment.capacity });
    }
    Ok(reservation)
}

// Everything an order holds.
fn reservation_of_order(catalog: &Catalog, record: &OrderRecord) -> Result<Reservation, ServiceError> {
    reservation_of(catalog, &record.held_units, &record.held_shipments)
}
