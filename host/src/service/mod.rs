//! The service's state and operations, independent of HTTP: catalog, inventory, orders,
//! versions and bindings, each change made durable through the store.
//!
//! Ordering rules (what keeps memory and disk the same picture):
//! - catalog and stock changes, and shipments (which take stock off hand), hold `stock_lock`
//!   while they are committed and then applied, so memory applies them in store order;
//! - creating an order reserves in memory first (atomically, so no unit is sold twice), then
//!   commits; a failed commit releases the reservation and the client gets 503;
//! - cancelling commits first, then releases.
//!
//! On start everything is rebuilt from the store: catalog, stock, versions, bindings, and the
//! reservations of every open order.
//!
//! The operations are split by area: `catalog`, `orders`, `fulfilment`, `returns`, `inbound`, `recurring_orders`,
//! `webhook_delivery`, `policies`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use switchyard_engine::{
    Catalog, ExcludingPolicy, Inventory, Order, Plan, Policy, Reservation, ReservedShipment, ReservedUnits, Routed,
    Router, RouterConfig, RoutingError, Strategy, Timestamp, TogetherPolicy, Workspace,
};
use switchyard_plugins::{Limits, PluginHost};
use tokio::sync::{Mutex as AsyncMutex, Notify};

use crate::config::Config;
use crate::dto::{
    AtpDto, LocationDto, OrderRequest, PlanDto, PositionDto, ProductDto, ShipmentLineDto, ShipmentState,
    StockAdjustment, StockLevel, UnfilledDto,
};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::recurring::{Interval, RecurringOrder};
use crate::registry::{Binding, BindingDto, Kind, Registry, Rejected, VersionMeta};
use crate::shadow::{Shadow, ShadowSummary};
use crate::store::{SqliteStore, Store, StoreError, Write};
use crate::webhooks::{Delivery, DeliveryStatus, MAX_ATTEMPTS, Subscription, attempt, backoff};

mod catalog;
mod fulfilment;
mod inbound;
mod orders;
mod policies;
mod recurring_orders;
mod returns;

pub use inbound::InboundRequest;
mod webhook_delivery;

thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being routed (never stored).
    Pending,
    /// Accepted, to be routed at `due_at` (a hold or a requested delivery date).
    Scheduled,
    /// Routed and holding stock until `expires_at` unless confirmed.
    Reserved,
    /// Holding stock with no expiry.
    Confirmed,
    /// Nothing could ship now; units wait for inbound stock (see `backorders`).
    Backordered,
    /// Some shipments have shipped.
    PartiallyShipped,
    /// Every shipment has shipped.
    Shipped,
    /// Every shipment has been delivered.
    Delivered,
    /// Cancelled; its stock was released.
    Cancelled,
    /// Not confirmed in time; its stock was released.
    Expired,
    /// The policy rejected it (or nothing could ship); it holds nothing.
    Rejected,
}

impl OrderStatus {
    fn name(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Scheduled => "scheduled",
            OrderStatus::Reserved => "reserved",
            OrderStatus::Backordered => "backordered",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Rejected => "rejected",
        }
    }

    /// Whether it still holds reserved units.
    pub fn holds_stock(self) -> bool {
        matches!(self, OrderStatus::Reserved | OrderStatus::Confirmed | OrderStatus::PartiallyShipped)
    }
}

/// Units an order holds at one location, in merchant ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeldUnits {
    /// SKU.
    pub sku: String,
    /// Location.
    pub location: String,
    /// Units.
    pub qty: u32,
}

/// A shipment counted against a location's daily capacity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeldShipment {
    /// Location.
    pub location: String,
    /// Day (days since 1970-01-01, UTC).
    pub day: i64,
    /// The location's capacity that day.
    pub capacity: Option<u32>,
}

/// One entry of an order's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// When (RFC 3339).
    pub at: String,
    /// What happened (`reserved`, `confirmed`, `shipped`, ...).
    pub event: String,
    /// Details.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// An order as stored and as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderRecord {
    /// The order's id.
    pub id: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// The order as submitted.
    pub request: OrderRequest,
    /// The routing decision.
    pub plan: Option<PlanDto>,
    /// Units held.
    pub held_units: Vec<HeldUnits>,
    /// Shipments counted against capacity.
    pub held_shipments: Vec<HeldShipment>,
    /// When an unconfirmed reservation lapses (RFC 3339).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// When a scheduled order is routed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// The `Idempotency-Key` it was created with.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The binding (product group) it was routed under.
    pub binding_group: String,
    /// The version that routed it (re-routing after a rejection uses it again).
    #[serde(default)]
    pub policy_version: String,
    /// The binding's fallback version when it was routed.
    #[serde(default)]
    pub fallback_version: Option<String>,
    /// Locations that rejected a shipment of this order.
    #[serde(default)]
    pub excluded_locations: Vec<String>,
    /// Units waiting for inbound stock, with their promise dates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backorders: Vec<Backorder>,
    /// Returns requested for its shipped lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<ReturnRecord>,
    /// Every state change.
    pub history: Vec<Event>,
    // Seconds since the epoch of `expires_at`, for the expiry sweep (read back from
    // `expires_at` at recovery).
    #[serde(skip)]
    #[schema(ignore)]
    expires_at_seconds: Option<i64>,
}

/// Stock on its way to a location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inbound {
    /// Its id (`IN-<n>`).
    pub id: String,
    /// The SKU.
    pub sku: String,
    /// Where it arrives.
    pub location: String,
    /// Units expected.
    pub qty: u32,
    /// When (RFC 3339): the promise date of orders waiting for it.
    pub expected_at: String,
    /// Units promised to backordered orders.
    pub allocated: u32,
    /// Units received, once it has arrived.
    #[serde(default)]
    pub received: Option<u32>,
}

/// Units of a line waiting for inbound stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Backorder {
    /// The order line.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
    /// Where they will ship from.
    pub location: String,
    /// The inbound record they wait for.
    pub inbound: String,
    /// The date promised to the customer (the inbound's expected date).
    pub promise_date: String,
    /// `waiting`, `allocated` (reserved on receipt) or `short` (the receipt fell short).
    pub status: String,
    /// A preorder: the SKU was not released when the order was placed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preorder: bool,
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

/// Units of one line coming back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    /// The order line (as the plan names it: `1`, or `1/SKU-A` for a kit component).
    pub line_id: String,
    /// Units.
    pub qty: u32,
}

/// A return of shipped units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReturnRecord {
    /// Its id (`<order>-R<n>`).
    pub id: String,
    /// What comes back.
    pub lines: Vec<ReturnLine>,
    /// The location the policy chose to take it.
    pub location: String,
    /// The return label: where to send it and the reference to quote.
    pub label: ReturnLabel,
    /// `requested` or `received`.
    pub status: String,
    /// Why the customer returns it.
    #[serde(default)]
    pub reason: String,
    /// Units put back into sellable stock when received.
    #[serde(default)]
    pub restocked: Vec<ReturnLine>,
    /// `refund` or `exchange`, once received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A return label record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReturnLabel {
    /// The return address: the location's id and position.
    pub location: String,
    /// Latitude of the return address.
    pub lat: f64,
    /// Longitude of the return address.
    pub lon: f64,
    /// The reference to quote on the parcel.
    pub reference: String,
}

/// A location's report on a shipment.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentEvent {
    /// `picked`, `packed`, `shipped`, `delivered` or `rejected`.
    pub event: ShipmentState,
    /// The location reporting; may be left out when only one shipment fits.
    #[serde(default)]
    pub location: Option<String>,
    /// The carrier (for `shipped`).
    #[serde(default)]
    pub carrier: Option<String>,
    /// The tracking number (for `shipped`).
    #[serde(default)]
    pub tracking: Option<String>,
    /// Why (kept in the timeline; for `rejected`, say why the location cannot ship).
    #[serde(default)]
    pub reason: String,
}

impl OrderRecord {
    fn due_at_seconds(&self) -> Option<i64> {
        self.due_at.as_deref().and_then(|t| Timestamp::parse_rfc3339(t).ok()).map(|t| t.0)
    }

    // The binding the order was routed under (its version and fallback, whatever the group is
    // bound to now): re-routing and returns decide with the policy that made the order.
    fn routed_binding(&self, registry: &Registry) -> Result<Binding, ApiError> {
        registry.prepare_binding(BindingDto {
            group: self.binding_group.clone(),
            version: self.policy_version.clone(),
            fallback: self.fallback_version.clone(),
            bound_at: String::new(),
        })
    }
}

/// What creating an order did.
#[derive(Debug)]
pub enum Created {
    /// A new order.
    New(OrderRecord),
    /// The same order was created before: its current state.
    Replayed(OrderRecord),
}

/// The result of a dry run.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// The plan.
    pub plan: PlanDto,
    /// Per line and candidate, why it was chosen or not (text).
    pub explanation: String,
}

/// The running service's state.
pub struct Service {
    config: Config,
    catalog: RwLock<Arc<Catalog>>,
    // Kit definitions by kit SKU (replaced together with the catalog).
    kits: RwLock<Arc<HashMap<String, Kit>>>,
    // Release dates and preorder caps by SKU, and units accepted before release.
    releases: RwLock<Arc<HashMap<String, Release>>>,
    preordered: parking_lot::Mutex<HashMap<String, u32>>,
    // IANA time zone per location id, for those that have one.
    location_zones: RwLock<Arc<HashMap<String, String>>>,
    stock_lock: AsyncMutex<()>,
    // Binding changes are committed and applied one at a time, so the live binding is the
    // last one stored.
    bind_lock: AsyncMutex<()>,
    inventory: Inventory,
    orders: DashMap<String, Arc<AsyncMutex<OrderRecord>>>,
    // `(when, order id)` of reservations that lapse and scheduled orders that come due, so the
    // sweeps touch only what is due (entries of orders changed since are skipped when popped).
    expiring: parking_lot::Mutex<BTreeSet<(i64, String)>>,
    scheduled: parking_lot::Mutex<BTreeSet<(i64, String)>>,
    idempotency: DashMap<String, String>,
    registry: Registry,
    store: Box<dyn Store>,
    metrics: Metrics,
    router_config: RouterConfig,
    greedy_config: RouterConfig,
    shadows: DashMap<String, Arc<Shadow>>,
    webhooks: DashMap<String, Subscription>,
    recurring: DashMap<String, Arc<AsyncMutex<RecurringOrder>>>,
    // Inbound stock by id, and per inbound id the orders waiting for it in order of placement.
    inbound: parking_lot::Mutex<BTreeMap<String, Inbound>>,
    waiting_for: parking_lot::Mutex<HashMap<String, Vec<String>>>,
    next_inbound: AtomicU64,
    deliveries: parking_lot::Mutex<BTreeMap<u64, Delivery>>,
    next_delivery: AtomicU64,
    delivery_wakeup: Notify,
    delivering: AsyncMutex<()>,
    ready: AtomicBool,
}

/// An engine order with its kit lines expanded.
pub(crate) struct Expanded {
    order: Order,
    // Per engine line: the submitted line (kit) it is a component of.
    kit_of_line: Vec<Option<u32>>,
    // Per submitted line: whether that kit may ship from several locations.
    kit_may_split: Vec<bool>,
}

/// A kit: its components and whether they may ship apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kit {
    /// `(component SKU, units per kit)`.
    pub components: Vec<(String, u32)>,
    /// Whether components may ship from different locations.
    pub may_split: bool,
}

/// Now, to the second.
pub fn now() -> Timestamp {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

// The policy, with kit components bound to ship together when any are.
fn with_kits(policy: Arc<dyn Policy>, groups: Vec<Option<u32>>) -> Arc<dyn Policy> {
    if groups.iter().any(Option::is_some) { Arc::new(TogetherPolicy::new(policy, groups)) } else { policy }
}

fn event(at: Timestamp, event: &str, detail: impl Into<String>) -> Event {
    Event { at: at.to_string(), event: event.to_owned(), detail: detail.into() }
}

fn event_at(at: Timestamp, name: &str, detail: &str, reason: &str) -> Event {
    let detail = match (detail.is_empty(), reason.is_empty()) {
        (_, true) => detail.to_owned(),
        (true, false) => reason.to_owned(),
        (false, false) => format!("{detail}: {reason}"),
    };
    event(at, name, detail)
}

fn release_of(dto: &ProductDto) -> Result<Option<Release>, ApiError> {
    let Some(text) = &dto.release_at else { return Ok(None) };
    let at = Timestamp::parse_rfc3339(text)
        .map_err(|e| ApiError::invalid("invalid_field", e.to_string()).at("release_at"))?;
    Ok(Some(Release { at: at.0, at_text: text.clone(), cap: dto.preorder_cap }))
}

fn kit_of(dto: &ProductDto) -> Kit {
    Kit { components: dto.components.iter().map(|c| (c.sku.clone(), c.qty)).collect(), may_split: dto.kit_may_split }
}

// Takes every entry due at or before `at` out of a schedule.
fn pop_due(schedule: &parking_lot::Mutex<BTreeSet<(i64, String)>>, at: i64) -> Vec<String> {
    let mut schedule = schedule.lock();
    let later = schedule.split_off(&(at + 1, String::new()));
    let due = std::mem::replace(&mut *schedule, later);
    due.into_iter().map(|(_, id)| id).collect()
}

fn store_failed(error: StoreError) -> ApiError {
    ApiError::unavailable(format!("the write was not made durable: {}", error.0))
}

impl Service {
    /// Opens the store in `config.data`, rebuilds the state from it, and is ready to serve.
    pub fn open(config: Config) -> Result<Arc<Service>, String> {
        let (store, snapshot) = SqliteStore::open(&config.data, config.commit_batch).map_err(|e| e.to_string())?;
        let plugins = PluginHost::new(Limits::default()).map_err(|e| e.to_string())?;
        let service = Service {
            config,
            catalog: RwLock::new(Arc::new(Catalog::new())),
            kits: RwLock::new(Arc::new(HashMap::new())),
            location_zones: RwLock::new(Arc::new(HashMap::new())),
            releases: RwLock::new(Arc::new(HashMap::new())),
            preordered: parking_lot::Mutex::new(HashMap::new()),
            stock_lock: AsyncMutex::new(()),
            bind_lock: AsyncMutex::new(()),
            inventory: Inventory::new(),
            orders: DashMap::new(),
            expiring: parking_lot::Mutex::new(BTreeSet::new()),
            scheduled: parking_lot::Mutex::new(BTreeSet::new()),
            idempotency: DashMap::new(),
            registry: Registry::new(plugins),
            store: Box::new(store),
            metrics: Metrics::default(),
            router_config: RouterConfig::default(),
            greedy_config: RouterConfig { strategy: Strategy::Greedy, ..RouterConfig::default() },
            shadows: DashMap::new(),
            webhooks: DashMap::new(),
            recurring: DashMap::new(),
            inbound: parking_lot::Mutex::new(BTreeMap::new()),
            waiting_for: parking_lot::Mutex::new(HashMap::new()),
            next_inbound: AtomicU64::new(1),
            deliveries: parking_lot::Mutex::new(BTreeMap::new()),
            next_delivery: AtomicU64::new(1),
            delivery_wakeup: Notify::new(),
            delivering: AsyncMutex::new(()),
            ready: AtomicBool::new(false),
        };
        service.recover(snapshot)?;
        service.ready.store(true, Ordering::Release);
        Ok(Arc::new(service))
    }

    fn recover(&self, snapshot: crate::store::Snapshot) -> Result<(), String> {
        let started = Instant::now();
        let mut catalog = Catalog::new();
        let mut zones = HashMap::new();
        for (id, body) in &snapshot.locations {
            let dto: LocationDto = serde_json::from_str(body).map_err(|e| format!("stored location `{id}`: {e}"))?;
            let location = dto.to_engine(now()).map_err(|e| format!("stored location `{id}`: {e}"))?;
            if let Some(zone) = &dto.time_zone {
                zones.insert(dto.id.clone(), zone.clone());
            }
            catalog.upsert_location(location).map_err(|e| format!("stored location `{id}`: {e}"))?;
        }
        let mut kits = HashMap::new();
        let mut releases = HashMap::new();
        for (sku, body) in &snapshot.products {
            let dto: ProductDto = serde_json::from_str(body).map_err(|e| format!("stored product `{sku}`: {e}"))?;
            catalog.upsert_product(dto.to_engine()).map_err(|e| format!("stored product `{sku}`: {e}"))?;
            if !dto.components.is_empty() {
                kits.insert(dto.sku.clone(), kit_of(&dto));
            }
            if let Some(release) = release_of(&dto).map_err(|e| format!("stored product `{sku}`: {e}"))? {
                releases.insert(dto.sku.clone(), release);
            }
        }
        *self.kits.write() = Arc::new(kits);
        *self.releases.write() = Arc::new(releases);
        *self.location_zones.write() = Arc::new(zones);
        for (sku, location, on_hand, safety_stock) in &snapshot.stock {
            let (Some(sku_id), Some(location_id)) = (catalog.sku_id(sku), catalog.location_id(location)) else {
                return Err(format!("stored stock of `{sku}` at `{location}` refers to an unknown sku or location"));
            };
            let clamp = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
            self.inventory.set_stock(sku_id, location_id, clamp(*on_hand), clamp(*safety_stock));
        }
        let uploaded = |meta: &str| -> Result<VersionMeta, String> {
            serde_json::from_str(meta).map_err(|e| format!("stored version metadata: {e}"))
        };
        for (version, name, kind, source, meta) in &snapshot.policy_versions {
            let kind = if kind == "wasm" { Kind::Wasm } else { Kind::Dsl };
            let meta = uploaded(meta)?;
            let compiled = self
                .registry
                .compile(kind, name, source, meta.uploaded_at.clone())
                .map_err(|r| format!("stored version `{version}` no longer compiles: {}", r.error.message))?;
            self.registry.insert(compiled);
        }
        for (group, version, fallback, at) in &snapshot.bindings {
            let dto = BindingDto {
                group: group.clone(),
                version: version.clone(),
                fallback: fallback.clone(),
                bound_at: at.clone(),
            };
            let binding =
                self.registry.prepare_binding(dto).map_err(|e| format!("stored binding of `{group}`: {e}"))?;
            self.registry.bind(binding);
        }
        let mut open = 0;
        for (id, key, body) in &snapshot.orders {
            let mut record: OrderRecord =
                serde_json::from_str(body).map_err(|e| format!("stored order `{id}`: {e}"))?;
            record.expires_at_seconds =
                record.expires_at.as_deref().and_then(|t| Timestamp::parse_rfc3339(t).ok()).map(|t| t.0);
            if let (OrderStatus::Reserved, Some(expires)) = (record.status, record.expires_at_seconds) {
                self.expiring.lock().insert((expires, id.clone()));
            }
            if let (OrderStatus::Scheduled, Some(due)) = (record.status, record.due_at_seconds()) {
                self.scheduled.lock().insert((due, id.clone()));
            }
            let reservation = reservation_of(&catalog, &record).map_err(|e| format!("stored order `{id}`: {e}"))?;
            if record.status.holds_stock() {
                open += 1;
                self.inventory.restore(&reservation, true).map_err(|e| format!("stored order `{id}`: {e}"))?;
            } else if record.status == OrderStatus::Shipped {
                // Its shipments still count against the day's capacity.
                self.inventory.restore(&Reservation { units: Vec::new(), ..reservation }, false).ok();
            }
            if let Some(key) = key {
                self.idempotency.insert(key.clone(), id.clone());
            }
            {
                let releases = self.releases();
                let mut counts = self.preordered.lock();
                for line in record.request.lines.iter().filter(|_| record.status != OrderStatus::Cancelled) {
                    if let Some(release) = releases.get(&line.sku)
                        && record
                            .history
                            .first()
                            .and_then(|e| Timestamp::parse_rfc3339(&e.at).ok())
                            .is_some_and(|t| t.0 < release.at)
                    {
                        *counts.entry(line.sku.clone()).or_insert(0) += line.qty;
                    }
                }
            }
            for backorder in record.backorders.iter().filter(|b| b.status == "waiting") {
                let mut waiting = self.waiting_for.lock();
                let orders = waiting.entry(backorder.inbound.clone()).or_default();
                if !orders.contains(id) {
                    orders.push(id.clone());
                }
            }
            self.orders.insert(id.clone(), Arc::new(AsyncMutex::new(record)));
        }
        for body in &snapshot.inbound {
            let inbound: Inbound = serde_json::from_str(body).map_err(|e| format!("stored inbound: {e}"))?;
            if let Some(n) = inbound.id.strip_prefix("IN-").and_then(|n| n.parse::<u64>().ok()) {
                self.next_inbound.fetch_max(n + 1, Ordering::Relaxed);
            }
            self.inbound.lock().insert(inbound.id.clone(), inbound);
        }
        for body in &snapshot.recurring {
            let recurring: RecurringOrder =
                serde_json::from_str(body).map_err(|e| format!("stored recurring order: {e}"))?;
            self.recurring.insert(recurring.id.clone(), Arc::new(AsyncMutex::new(recurring)));
        }
        for body in &snapshot.webhooks {
            let subscription: Subscription = serde_json::from_str(body).map_err(|e| format!("stored webhook: {e}"))?;
            self.webhooks.insert(subscription.id.clone(), subscription);
        }
        {
            let mut deliveries = self.deliveries.lock();
            for body in &snapshot.deliveries {
                let delivery: Delivery = serde_json::from_str(body).map_err(|e| format!("stored delivery: {e}"))?;
                self.next_delivery.fetch_max(delivery.id + 1, Ordering::Relaxed);
                deliveries.insert(delivery.id, delivery);
            }
        }
        *self.catalog.write() = Arc::new(catalog);
        tracing::info!(
            locations = snapshot.locations.len(),
            products = snapshot.products.len(),
            orders = snapshot.orders.len(),
            open_orders = open,
            versions = snapshot.policy_versions.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "state rebuilt from the store"
        );
        Ok(())
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

    /// Kit definitions as of now.
    pub fn kits(&self) -> Arc<HashMap<String, Kit>> {
        Arc::clone(&self.kits.read())
    }

    // The engine's order for a request, with kit lines expanded into their components
    // (`<line>/<component sku>`, `qty` x units per kit).
    fn engine_order(&self, request: &OrderRequest, catalog: &Catalog, at: Timestamp) -> Result<Expanded, ApiError> {
        // Checked as given first, so errors name the submitted lines.
        let order = request.to_engine(catalog, at)?;
        let kits = self.kits();
        if !request.lines.iter().any(|l| kits.contains_key(&l.sku)) {
            let kit_of_line = vec![None; order.lines.len()];
            return Ok(Expanded { order, kit_of_line, kit_may_split: Vec::new() });
        }
        let mut expanded = request.clone();
        expanded.lines.clear();
        let mut kit_of_line = Vec::new();
        let mut kit_may_split = vec![false; request.lines.len()];
        for (index, line) in request.lines.iter().enumerate() {
            match kits.get(&line.sku) {
                None => {
                    expanded.lines.push(line.clone());
                    kit_of_line.push(None);
                }
                Some(kit) => {
                    kit_may_split[index] = kit.may_split;
                    for (component, per_kit) in &kit.components {
                        let qty = line.qty.checked_mul(*per_kit).ok_or_else(|| {
                            ApiError::invalid("invalid_field", "too many units").at(format!("lines[{index}].qty"))
                        })?;
                        expanded.lines.push(crate::dto::LineDto {
                            id: format!("{}/{component}", line.id),
                            sku: component.clone(),
                            qty,
                        });
                        kit_of_line.push(Some(index as u32));
                    }
                }
            }
        }
        Ok(Expanded { order: expanded.to_engine(catalog, at)?, kit_of_line, kit_may_split })
    }

    // Routes an expanded order so that kits ship whole or not at all: a kit any of whose
    // components would be left short is taken out whole (its lines become unfilled) and the
    // rest is planned again. Reserves the final plan when `reserve`. `None`: nothing was left
    // to route.
    fn route_whole_kits(
        &self,
        catalog: &Catalog,
        base: &Arc<dyn Policy>,
        expanded: Expanded,
        reserve: bool,
    ) -> Result<(Option<Routed>, Order, Vec<UnfilledDto>), RoutingError> {
        let Expanded { mut order, mut kit_of_line, kit_may_split } = expanded;
        let mut dropped = Vec::new();
        let router_with = |kit_of_line: &[Option<u32>]| {
            let together = kit_of_line
                .iter()
                .map(|kit| kit.filter(|k| !kit_may_split.get(*k as usize).copied().unwrap_or(false)))
                .collect();
            with_kits(Arc::clone(base), together)
        };
        while kit_of_line.iter().any(Option::is_some) {
            let policy = router_with(&kit_of_line);
            let router = Router { catalog, inventory: &self.inventory, policy: &*policy, config: &self.router_config };
            let plan = WORKSPACE.with(|w| router.plan(&order, &mut w.borrow_mut()))?;
            let short: Vec<u32> =
                plan.unfilled.iter().filter_map(|u| kit_of_line.get(u.line).copied().flatten()).collect();
            if short.is_empty() {
                break;
            }
            let (mut lines, mut kits) = (Vec::new(), Vec::new());
            for (line, kit) in std::mem::take(&mut order.lines).into_iter().zip(std::mem::take(&mut kit_of_line)) {
                if kit.is_some_and(|k| short.contains(&k)) {
                    dropped.push(UnfilledDto {
                        line_id: line.id,
                        sku: catalog.product(line.sku).sku.clone(),
                        qty: line.qty,
                    });
                } else {
                    lines.push(line);
                    kits.push(kit);
                }
            }
            order.lines = lines;
            kit_of_line = kits;
        }
        if order.lines.is_empty() {
            return Ok((None, order, dropped));
        }
        let policy = router_with(&kit_of_line);
        let router = Router { catalog, inventory: &self.inventory, policy: &*policy, config: &self.router_config };
        let routed = if reserve {
            WORKSPACE.with(|w| router.route_and_reserve(&order, &mut w.borrow_mut()))?
        } else {
            Routed { plan: WORKSPACE.with(|w| router.plan(&order, &mut w.borrow_mut()))?, reservation: None }
        };
        Ok((Some(routed), order, dropped))
    }

    // The plan to show for a routing outcome: the engine's plan plus the kits taken out, or,
    // when nothing was left to route, a rejection naming the kits.
    fn plan_of(
        catalog: &Catalog,
        routed: Option<&Routed>,
        order: &Order,
        dropped: Vec<UnfilledDto>,
        policy: &str,
    ) -> PlanDto {
        match routed {
            Some(routed) => {
                let mut plan = PlanDto::from_engine(&routed.plan, order, catalog);
                plan.unfilled.extend(dropped);
                plan
            }
            None => PlanDto {
                status: "rejected".to_owned(),
                reason: Some("no location can ship the order's kits whole".to_owned()),
                shipments: Vec::new(),
                unfilled: dropped,
                cost: crate::dto::CostDto {
                    shipments: 0.0,
                    units: 0.0,
                    split_penalty: 0.0,
                    unfilled_penalty: 0.0,
                    total: 0.0,
                },
                optimal: true,
                policy: policy.to_owned(),
            },
        }
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), ApiError> {
        let started = Instant::now();
        let result = self.store.commit(writes).await;
        self.metrics.commit.observe(started.elapsed());
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(store_failed(error)),
            Err(_) => Err(store_failed(StoreError("the store writer stopped".into()))),
        }
    }

    // Commits an order change with `extra` writes and a webhook delivery for every timeline
    // event after the first `seen` and every subscriber that wants it, all in one commit.
    async fn commit_order(&self, seen: usize, next: &OrderRecord, extra: Vec<Write>) -> Result<(), ApiError> {
        let mut writes = vec![order_write(next)?];
        writes.extend(extra);
        let mut queued = Vec::new();
        for event in next.history.iter().skip(seen) {
            let name = format!("order.{}", event.event);
            for subscription in self.webhooks.iter().filter(|s| s.wants(&name)) {
                let body = serde_json::json!({ "event": name, "at": event.at, "detail": event.detail, "order": next });
                let delivery = Delivery {
                    id: self.next_delivery.fetch_add(1, Ordering::Relaxed),
                    subscription: subscription.id.clone(),
                    event: name.clone(),
                    body: body.to_string(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: 0,
                    last_status: None,
                    last_error: None,
                };
                writes.push(delivery_write(&delivery)?);
                queued.push(delivery);
            }
        }
        self.commit(writes).await?;
        if !queued.is_empty() {
            let mut deliveries = self.deliveries.lock();
            for delivery in queued {
                deliveries.insert(delivery.id, delivery);
            }
            drop(deliveries);
            self.delivery_wakeup.notify_one();
        }
        Ok(())
    }
}

fn prefix(mut error: ApiError, path: &str) -> ApiError {
    error.field = Some(match error.field {
        Some(field) => format!("{path}.{field}"),
        None => path.to_owned(),
    });
    error
}

fn wrong_state(id: &str, status: OrderStatus, wanted: &str) -> ApiError {
    ApiError::conflict("invalid_state", format!("order `{id}` is {} and cannot be {wanted}", status.name()))
}

fn resolve(
    catalog: &Catalog,
    sku: &str,
    location: &str,
    path: &str,
) -> Result<(switchyard_engine::SkuId, switchyard_engine::LocationId), ApiError> {
    let sku_id = catalog
        .sku_id(sku)
        .ok_or_else(|| ApiError::invalid("unknown_sku", format!("unknown sku `{sku}`")).at(format!("{path}.sku")))?;
    let location_id = catalog.location_id(location).ok_or_else(|| {
        ApiError::invalid("unknown_location", format!("unknown location `{location}`")).at(format!("{path}.location"))
    })?;
    Ok((sku_id, location_id))
}

fn routing_error(error: RoutingError) -> ApiError {
    match error {
        RoutingError::InvalidOrder(e) => ApiError::invalid("invalid_order", e.message).at(e.field),
        RoutingError::Policy(e) => ApiError::invalid("policy_failed", e.to_string()),
        RoutingError::InvalidAnswer { .. } | RoutingError::InvalidPlan { .. } => {
            ApiError::invalid("policy_failed", error.to_string())
        }
        RoutingError::Contention { .. } => ApiError::conflict("contention", error.to_string()),
    }
}

fn order_write(record: &OrderRecord) -> Result<Write, ApiError> {
    Ok(Write::Order {
        id: record.id.clone(),
        idempotency_key: record.idempotency_key.clone(),
        status: record.status.name().to_owned(),
        body: serde_json::to_string(record).map_err(|e| ApiError::internal(e.to_string()))?,
    })
}

fn recurring_write(recurring: &RecurringOrder) -> Result<Write, ApiError> {
    Ok(Write::Recurring {
        id: recurring.id.clone(),
        body: serde_json::to_string(recurring).map_err(|e| ApiError::internal(e.to_string()))?,
    })
}

fn delivery_write(delivery: &Delivery) -> Result<Write, ApiError> {
    Ok(Write::Delivery {
        id: delivery.id,
        body: serde_json::to_string(delivery).map_err(|e| ApiError::internal(e.to_string()))?,
    })
}

// `bytes` random bytes from the OS, as hex.
fn random_hex(bytes: usize) -> Result<String, String> {
    use std::io::Read;
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buffer))
        .map_err(|e| format!("cannot read random bytes: {e}"))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
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

fn reservation_of(catalog: &Catalog, record: &OrderRecord) -> Result<Reservation, String> {
    let mut reservation = Reservation::default();
    for units in &record.held_units {
        let sku = catalog.sku_id(&units.sku).ok_or_else(|| format!("unknown sku `{}`", units.sku))?;
        let location =
            catalog.location_id(&units.location).ok_or_else(|| format!("unknown location `{}`", units.location))?;
        reservation.units.push(ReservedUnits { sku, location, qty: units.qty });
    }
    for shipment in &record.held_shipments {
        let location = catalog
            .location_id(&shipment.location)
            .ok_or_else(|| format!("unknown location `{}`", shipment.location))?;
        reservation.shipments.push(ReservedShipment { location, day: shipment.day, capacity: shipment.capacity });
    }
    Ok(reservation)
}
