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

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use switchyard_engine::{
    Catalog, ExcludingPolicy, Inventory, Order, Plan, Policy, Reservation, ReservedShipment, ReservedUnits, Router,
    RouterConfig, RoutingError, Strategy, Timestamp, Workspace,
};
use switchyard_plugins::{Limits, PluginHost};
use tokio::sync::{Mutex as AsyncMutex, Notify};

use crate::config::Config;
use crate::dto::{
    AtpDto, LocationDto, OrderRequest, PlanDto, PositionDto, ProductDto, ShipmentLineDto, ShipmentState,
    StockAdjustment, StockLevel,
};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::registry::{Binding, BindingDto, DEFAULT_GROUP, Kind, Registry, Rejected, VersionMeta};
use crate::shadow::{Shadow, ShadowSummary};
use crate::store::{SqliteStore, Store, StoreError, Write};
use crate::webhooks::{Delivery, DeliveryStatus, MAX_ATTEMPTS, Subscription, attempt, backoff};

thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being routed (never stored).
    Pending,
    /// Routed and holding stock until `expires_at` unless confirmed.
    Reserved,
    /// Holding stock with no expiry.
    Confirmed,
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
            OrderStatus::Reserved => "reserved",
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
    /// Every state change.
    pub history: Vec<Event>,
    // Seconds since the epoch of `expires_at`, for the expiry sweep (read back from
    // `expires_at` at recovery).
    #[serde(skip)]
    #[schema(ignore)]
    expires_at_seconds: Option<i64>,
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
    stock_lock: AsyncMutex<()>,
    // Binding changes are committed and applied one at a time, so the live binding is the
    // last one stored.
    bind_lock: AsyncMutex<()>,
    inventory: Inventory,
    orders: DashMap<String, Arc<AsyncMutex<OrderRecord>>>,
    idempotency: DashMap<String, String>,
    registry: Registry,
    store: Box<dyn Store>,
    metrics: Metrics,
    router_config: RouterConfig,
    greedy_config: RouterConfig,
    shadows: DashMap<String, Arc<Shadow>>,
    webhooks: DashMap<String, Subscription>,
    deliveries: parking_lot::Mutex<BTreeMap<u64, Delivery>>,
    next_delivery: AtomicU64,
    delivery_wakeup: Notify,
    delivering: AsyncMutex<()>,
    ready: AtomicBool,
}

/// Now, to the second.
pub fn now() -> Timestamp {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
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
            stock_lock: AsyncMutex::new(()),
            bind_lock: AsyncMutex::new(()),
            inventory: Inventory::new(),
            orders: DashMap::new(),
            idempotency: DashMap::new(),
            registry: Registry::new(plugins),
            store: Box::new(store),
            metrics: Metrics::default(),
            router_config: RouterConfig::default(),
            greedy_config: RouterConfig { strategy: Strategy::Greedy, ..RouterConfig::default() },
            shadows: DashMap::new(),
            webhooks: DashMap::new(),
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
        for (id, body) in &snapshot.locations {
            let dto: LocationDto = serde_json::from_str(body).map_err(|e| format!("stored location `{id}`: {e}"))?;
            let location = dto.to_engine().map_err(|e| format!("stored location `{id}`: {e}"))?;
            catalog.upsert_location(location).map_err(|e| format!("stored location `{id}`: {e}"))?;
        }
        for (sku, body) in &snapshot.products {
            let dto: ProductDto = serde_json::from_str(body).map_err(|e| format!("stored product `{sku}`: {e}"))?;
            catalog.upsert_product(dto.to_engine()).map_err(|e| format!("stored product `{sku}`: {e}"))?;
        }
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
            self.orders.insert(id.clone(), Arc::new(AsyncMutex::new(record)));
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

    /// Registers a webhook subscription (the reply carries its secret, once).
    pub async fn add_webhook(
        &self,
        url: &str,
        events: Vec<String>,
        secret: Option<String>,
    ) -> Result<Subscription, ApiError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2048 {
            return Err(ApiError::invalid("invalid_url", "the url must be an http or https URL").at("url"));
        }
        if events.is_empty() {
            return Err(ApiError::invalid("invalid_events", "name at least one event, or `*`").at("events"));
        }
        if let Some((index, bad)) = events.iter().enumerate().find(|(_, e)| *e != "*" && !e.starts_with("order.")) {
            return Err(ApiError::invalid(
                "invalid_events",
                format!("`{bad}` is not an event (`order.reserved`, `order.shipped`, ... or `*`)"),
            )
            .at(format!("events[{index}]")));
        }
        let secret = match secret {
            Some(secret) if secret.len() >= 16 => secret,
            Some(_) => {
                return Err(ApiError::invalid("invalid_secret", "a secret needs at least 16 characters").at("secret"));
            }
            None => random_hex(32).map_err(ApiError::internal)?,
        };
        let id = format!("wh-{}", random_hex(8).map_err(ApiError::internal)?);
        let subscription =
            Subscription { id: id.clone(), url: url.to_owned(), events, secret, created_at: now().to_string() };
        let body = serde_json::to_string(&subscription).map_err(|e| ApiError::internal(e.to_string()))?;
        self.commit(vec![Write::Webhook { id: id.clone(), body: Some(body) }]).await?;
        self.webhooks.insert(id, subscription.clone());
        Ok(subscription)
    }

    /// Removes a subscription; its pending deliveries fail at their next attempt.
    pub async fn remove_webhook(&self, id: &str) -> Result<(), ApiError> {
        if !self.webhooks.contains_key(id) {
            return Err(ApiError::not_found("unknown_webhook", format!("no webhook `{id}`")));
        }
        self.commit(vec![Write::Webhook { id: id.to_owned(), body: None }]).await?;
        self.webhooks.remove(id);
        Ok(())
    }

    /// Subscriptions (without secrets) and their latest `recent` deliveries, newest first.
    pub fn webhooks(&self, recent: usize) -> Vec<(Subscription, Vec<Delivery>)> {
        let deliveries = self.deliveries.lock();
        let mut out: Vec<(Subscription, Vec<Delivery>)> = self
            .webhooks
            .iter()
            .map(|s| {
                let mut subscription = s.value().clone();
                subscription.secret.clear();
                let latest = deliveries
                    .values()
                    .rev()
                    .filter(|d| d.subscription == subscription.id)
                    .take(recent)
                    .cloned()
                    .collect();
                (subscription, latest)
            })
            .collect();
        out.sort_by(|a, b| a.0.created_at.cmp(&b.0.created_at).then(a.0.id.cmp(&b.0.id)));
        out
    }

    /// Attempts every delivery that is due; returns how many were attempted.
    pub async fn deliver_due(&self) -> usize {
        let _one_at_a_time = self.delivering.lock().await;
        let at = now().0;
        let due: Vec<Delivery> = self
            .deliveries
            .lock()
            .values()
            .filter(|d| d.status == DeliveryStatus::Pending && d.next_attempt_at <= at)
            .cloned()
            .collect();
        let attempted = due.len();
        for mut delivery in due {
            let subscription = self.webhooks.get(&delivery.subscription).map(|s| s.value().clone());
            let result = match subscription {
                None => Err("the subscription was deleted".to_owned()),
                Some(subscription) => {
                    let sent = delivery.clone();
                    tokio::task::spawn_blocking(move || attempt(&subscription.url, &subscription.secret, &sent, at))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                }
            };
            delivery.attempts += 1;
            match result {
                Ok(status) if (200..300).contains(&status) => {
                    delivery.status = DeliveryStatus::Delivered;
                    delivery.last_status = Some(status);
                    delivery.last_error = None;
                }
                other => {
                    match other {
                        Ok(status) => {
                            delivery.last_status = Some(status);
                            delivery.last_error = Some(format!("the subscriber answered HTTP {status}"));
                        }
                        Err(error) => delivery.last_error = Some(error),
                    }
                    let deleted = !self.webhooks.contains_key(&delivery.subscription);
                    if delivery.attempts >= MAX_ATTEMPTS || deleted {
                        delivery.status = DeliveryStatus::Failed;
                    } else {
                        delivery.next_attempt_at = at + backoff(delivery.attempts);
                    }
                }
            }
            let write = match delivery_write(&delivery) {
                Ok(write) => write,
                Err(error) => {
                    tracing::error!(%error, "cannot encode a delivery");
                    continue;
                }
            };
            if let Err(error) = self.commit(vec![write]).await {
                // Kept pending in memory: retried, and delivered at least once.
                tracing::warn!(%error, delivery = delivery.id, "delivery outcome not stored");
            }
            self.deliveries.lock().insert(delivery.id, delivery);
        }
        attempted
    }

    /// Delivers webhooks forever: when events are queued, and twice a second for retries.
    pub async fn run_deliveries(self: Arc<Self>) {
        loop {
            self.deliver_due().await;
            tokio::select! {
                () = self.delivery_wakeup.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            }
        }
    }

    /// Inserts or replaces locations (all or none).
    pub async fn upsert_locations(&self, locations: Vec<LocationDto>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let mut catalog = (*self.catalog()).clone();
        let mut writes = Vec::with_capacity(locations.len());
        for (index, dto) in locations.iter().enumerate() {
            let location = dto.to_engine().map_err(|e| prefix(e, &format!("locations[{index}]")))?;
            catalog
                .upsert_location(location)
                .map_err(|e| ApiError::invalid("invalid_location", e.to_string()).at(format!("locations[{index}]")))?;
            let body = serde_json::to_string(dto).map_err(|e| ApiError::internal(e.to_string()))?;
            writes.push(Write::Location { id: dto.id.clone(), body });
        }
        self.commit(writes).await?;
        *self.catalog.write() = Arc::new(catalog);
        Ok(())
    }

    /// Inserts or replaces products (all or none).
    pub async fn upsert_products(&self, products: Vec<ProductDto>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let mut catalog = (*self.catalog()).clone();
        let mut writes = Vec::with_capacity(products.len());
        for (index, dto) in products.iter().enumerate() {
            catalog
                .upsert_product(dto.to_engine())
                .map_err(|e| ApiError::invalid("invalid_product", e.to_string()).at(format!("products[{index}]")))?;
            let body = serde_json::to_string(dto).map_err(|e| ApiError::internal(e.to_string()))?;
            writes.push(Write::Product { sku: dto.sku.clone(), body });
        }
        self.commit(writes).await?;
        *self.catalog.write() = Arc::new(catalog);
        Ok(())
    }

    /// Sets stock levels (all or none).
    pub async fn set_stock(&self, levels: Vec<StockLevel>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let catalog = self.catalog();
        let mut resolved = Vec::with_capacity(levels.len());
        for (index, level) in levels.iter().enumerate() {
            let (sku, location) = resolve(&catalog, &level.sku, &level.location, &format!("levels[{index}]"))?;
            resolved.push((sku, location, level.on_hand, level.safety_stock));
        }
        let writes = levels
            .iter()
            .map(|l| Write::StockLevel {
                sku: l.sku.clone(),
                location: l.location.clone(),
                on_hand: l.on_hand,
                safety_stock: l.safety_stock,
            })
            .collect();
        self.commit(writes).await?;
        for (sku, location, on_hand, safety_stock) in resolved {
            self.inventory.set_stock(sku, location, on_hand, safety_stock);
        }
        Ok(())
    }

    /// Adjusts on hand (all or none): a change that would go below zero refuses the batch.
    pub async fn adjust_stock(&self, adjustments: Vec<StockAdjustment>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let catalog = self.catalog();
        let mut resolved = Vec::with_capacity(adjustments.len());
        let mut after: HashMap<(u32, u32), i64> = HashMap::new();
        for (index, adjustment) in adjustments.iter().enumerate() {
            let path = format!("adjustments[{index}]");
            let (sku, location) = resolve(&catalog, &adjustment.sku, &adjustment.location, &path)?;
            let current = self.inventory.position(sku, location).map_or(0, |p| i64::from(p.on_hand));
            let next = after.entry((sku.0, location.0)).or_insert(current);
            *next += adjustment.delta;
            if *next < 0 || *next > i64::from(u32::MAX) {
                return Err(ApiError::invalid(
                    "stock_out_of_range",
                    format!("on hand of `{}` at `{}` would be {next}", adjustment.sku, adjustment.location),
                )
                .at(format!("{path}.delta")));
            }
            resolved.push((sku, location, adjustment.delta));
        }
        let writes = adjustments
            .iter()
            .map(|a| Write::StockDelta { sku: a.sku.clone(), location: a.location.clone(), delta: a.delta })
            .collect();
        self.commit(writes).await?;
        for (sku, location, delta) in resolved {
            if let Err(error) = self.inventory.adjust_stock(sku, location, delta) {
                tracing::error!(%error, "an adjustment checked before commit failed in memory");
            }
        }
        Ok(())
    }

    /// ATP of a SKU across the network and per location.
    pub fn atp(&self, sku: &str) -> Result<AtpDto, ApiError> {
        let catalog = self.catalog();
        let sku_id =
            catalog.sku_id(sku).ok_or_else(|| ApiError::not_found("unknown_sku", format!("unknown sku `{sku}`")))?;
        let mut positions = Vec::new();
        self.inventory.positions_into(sku_id, &mut positions);
        Ok(AtpDto {
            sku: sku.to_owned(),
            atp: positions.iter().map(|p| u64::from(p.atp())).sum(),
            locations: positions
                .iter()
                .map(|p| PositionDto {
                    location: catalog.location(p.location).id.clone(),
                    on_hand: p.on_hand,
                    reserved: p.reserved,
                    safety_stock: p.safety_stock,
                    atp: p.atp(),
                })
                .collect(),
        })
    }

    fn binding_for(&self, catalog: &Catalog, order: &Order) -> Result<Arc<Binding>, ApiError> {
        let mut groups = order.lines.iter().map(|l| catalog.product(l.sku).group.as_str());
        let first = groups.next();
        let group = match first {
            Some(g) if groups.all(|other| other == g) => Some(g),
            _ => None,
        };
        let binding = self.registry.binding_for(group).ok_or_else(|| {
            ApiError::conflict(
                "no_binding",
                format!("no policy is bound to group `{}` and there is no default binding", group.unwrap_or("(mixed)")),
            )
        })?;
        Ok(binding)
    }

    /// Routes an order without reserving: the plan and why.
    pub fn dry_run(&self, request: &OrderRequest) -> Result<DryRun, ApiError> {
        let catalog = self.catalog();
        let order = request.to_engine(&catalog, now())?;
        let policy = Arc::clone(&self.binding_for(&catalog, &order)?.policy);
        let router =
            Router { catalog: &catalog, inventory: &self.inventory, policy: &*policy, config: &self.router_config };
        let started = Instant::now();
        let result = WORKSPACE.with(|w| router.explain(&order, &mut w.borrow_mut()));
        self.metrics.routing.observe(started.elapsed());
        let (plan, explanation) = result.map_err(routing_error)?;
        Ok(DryRun {
            plan: PlanDto::from_engine(&plan, &order, &catalog),
            explanation: explanation.display(&catalog).to_string(),
        })
    }

    /// Routes and reserves an order, durably; the same order id again returns the order.
    pub async fn create_order(
        &self,
        request: OrderRequest,
        idempotency_key: Option<String>,
    ) -> Result<Created, ApiError> {
        if let Some(key) = &idempotency_key
            && let Some(existing) = self.idempotency.get(key)
            && *existing != request.id
        {
            return Err(ApiError::invalid(
                "idempotency_key_reused",
                format!("this Idempotency-Key was used for order `{}`", existing.value()),
            ));
        }
        let catalog = self.catalog();
        let at = now();
        let order = request.to_engine(&catalog, at)?;
        let binding = self.binding_for(&catalog, &order)?;
        let (group, policy) = (binding.dto.group.clone(), Arc::clone(&binding.policy));
        let placeholder = OrderRecord {
            id: request.id.clone(),
            status: OrderStatus::Pending,
            request: request.clone(),
            plan: None,
            held_units: Vec::new(),
            held_shipments: Vec::new(),
            expires_at: None,
            idempotency_key: idempotency_key.clone(),
            binding_group: binding.dto.group.clone(),
            policy_version: binding.dto.version.clone(),
            fallback_version: binding.dto.fallback.clone(),
            excluded_locations: Vec::new(),
            history: Vec::new(),
            expires_at_seconds: None,
        };
        let slot = Arc::new(AsyncMutex::new(placeholder));
        let Ok(mut record) = Arc::clone(&slot).try_lock_owned() else {
            return Err(ApiError::internal("a new order's lock was taken"));
        };
        match self.orders.entry(request.id.clone()) {
            Entry::Occupied(existing) => {
                let existing = Arc::clone(existing.get());
                drop(record);
                let existing = existing.lock().await;
                if existing.status == OrderStatus::Pending {
                    return Err(ApiError::conflict("order_in_progress", "the order is being created; retry"));
                }
                if existing.request != request {
                    return Err(ApiError::conflict(
                        "order_exists",
                        format!("order `{}` exists with different content", request.id),
                    ));
                }
                return Ok(Created::Replayed(existing.clone()));
            }
            Entry::Vacant(vacant) => {
                vacant.insert(slot);
            }
        }
        // From here the id is ours; on any failure the slot is removed again.
        // A shadow plans the order first, on the same stock the live policy is about to see.
        let shadowed = self.shadows.get(&group).map(|s| Arc::clone(s.value())).map(|shadow| {
            let plan_with = |policy: &dyn Policy, config: &RouterConfig| {
                let router = Router { catalog: &catalog, inventory: &self.inventory, policy, config };
                WORKSPACE.with(|w| router.plan(&order, &mut w.borrow_mut())).ok()
            };
            let shadow_plan = plan_with(&*shadow.policy, &self.router_config);
            let greedy_plan = plan_with(&*policy, &self.greedy_config);
            (shadow, shadow_plan, greedy_plan)
        });
        let router =
            Router { catalog: &catalog, inventory: &self.inventory, policy: &*policy, config: &self.router_config };
        let started = Instant::now();
        let routed = WORKSPACE.with(|w| router.route_and_reserve(&order, &mut w.borrow_mut()));
        self.metrics.routing.observe(started.elapsed());
        let routed = match routed {
            Ok(routed) => routed,
            Err(error) => {
                self.orders.remove(&request.id);
                self.metrics.order("failed");
                return Err(routing_error(error));
            }
        };
        let plan = PlanDto::from_engine(&routed.plan, &order, &catalog);
        if let Some((shadow, shadow_plan, greedy_plan)) = &shadowed {
            let shadow_plan: Option<&Plan> = shadow_plan.as_ref();
            shadow.record(
                &routed.plan,
                &plan,
                shadow_plan.map(|p| (p, PlanDto::from_engine(p, &order, &catalog))),
                greedy_plan.as_ref(),
            );
        }
        let reservation = routed.reservation.clone();
        let ttl = self.config.reservation_ttl_secs as i64;
        {
            let record = &mut *record;
            record.plan = Some(plan.clone());
            match &reservation {
                Some(reservation) => {
                    record.status = OrderStatus::Reserved;
                    record.held_units = held_units(&catalog, reservation);
                    record.held_shipments = held_shipments(&catalog, reservation);
                    let expires = Timestamp(at.0 + ttl);
                    record.expires_at = Some(expires.to_string());
                    record.expires_at_seconds = Some(expires.0);
                    record.history.push(event(
                        at,
                        "reserved",
                        format!("{} shipment(s), {} by {}", plan.shipments.len(), plan.cost.total, plan.policy),
                    ));
                }
                None => {
                    record.status = OrderStatus::Rejected;
                    record.history.push(event(
                        at,
                        "rejected",
                        plan.reason.clone().unwrap_or_else(|| "nothing can ship".to_owned()),
                    ));
                }
            }
        }
        if let Err(error) = self.commit_order(0, &record, Vec::new()).await {
            if let Some(reservation) = &reservation
                && let Err(release) = self.inventory.release(reservation)
            {
                tracing::error!(%release, order = %request.id, "could not release after a failed commit");
            }
            record.status = OrderStatus::Pending;
            self.orders.remove(&request.id);
            self.metrics.order("failed");
            return Err(error);
        }
        if let Some(key) = idempotency_key {
            self.idempotency.insert(key, request.id.clone());
        }
        self.metrics.order(if reservation.is_some() { "reserved" } else { "rejected" });
        Ok(Created::New(record.clone()))
    }

    /// An order's current state.
    pub async fn order(&self, id: &str) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let record = slot.lock().await;
        if record.status == OrderStatus::Pending {
            return Err(ApiError::not_found("unknown_order", format!("no order `{id}`")));
        }
        Ok(record.clone())
    }

    fn slot(&self, id: &str) -> Result<Arc<AsyncMutex<OrderRecord>>, ApiError> {
        self.orders
            .get(id)
            .map(|s| Arc::clone(s.value()))
            .ok_or_else(|| ApiError::not_found("unknown_order", format!("no order `{id}`")))
    }

    /// Confirms a reserved order: its reservation no longer expires.
    pub async fn confirm(&self, id: &str) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        match record.status {
            OrderStatus::Reserved => {}
            OrderStatus::Confirmed => return Ok(record.clone()),
            other => return Err(wrong_state(id, other, "confirmed")),
        }
        let mut next = record.clone();
        next.status = OrderStatus::Confirmed;
        next.expires_at = None;
        next.expires_at_seconds = None;
        next.history.push(event(now(), "confirmed", ""));
        self.commit_order(record.history.len(), &next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    /// Cancels an order that holds stock: its units are released.
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<OrderRecord, ApiError> {
        self.release(id, OrderStatus::Cancelled, reason).await
    }

    async fn release(&self, id: &str, status: OrderStatus, reason: &str) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        if record.status == status {
            return Ok(record.clone());
        }
        if !record.status.holds_stock() {
            return Err(wrong_state(id, record.status, status.name()));
        }
        let catalog = self.catalog();
        let mut reservation = reservation_of(&catalog, &record).map_err(ApiError::internal)?;
        // Shipped shipments keep their capacity; release only what is still held.
        reservation.shipments.retain(|s| {
            let location = &catalog.location(s.location).id;
            !record
                .plan
                .as_ref()
                .is_some_and(|p| p.shipments.iter().any(|x| &x.location == location && x.state.has_left()))
        });
        let mut next = record.clone();
        next.status = status;
        next.held_units.clear();
        next.held_shipments.clear();
        next.expires_at = None;
        next.expires_at_seconds = None;
        next.history.push(event(now(), status.name(), reason));
        self.commit_order(record.history.len(), &next, Vec::new()).await?;
        if let Err(error) = self.inventory.release(&reservation) {
            tracing::error!(%error, order = id, "release after commit failed");
        }
        *record = next;
        self.metrics.order(if status == OrderStatus::Cancelled { "cancelled" } else { "expired" });
        Ok(record.clone())
    }

    /// Records a fulfilment event from a location: `picked`, `packed`, `shipped` (the units
    /// leave on hand), `delivered`, or `rejected` (the location will not ship it: its units
    /// are released and routed again under the order's policy without that location).
    /// `location` may be left out when the order has one shipment the event can apply to
    /// (or, for `shipped`, to ship every open shipment).
    pub async fn fulfilment_event(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ApiError> {
        match event.event {
            ShipmentState::Shipped => self.ship(id, event).await,
            ShipmentState::Rejected => self.reject_shipment(id, event).await,
            ShipmentState::Open => Err(ApiError::invalid("invalid_event", "`open` is not an event").at("event")),
            state => self.advance(id, event, state).await,
        }
    }

    // The shipments an event applies to: those at `location` (or all) whose state allows it.
    fn shipments_for<'a>(
        id: &str,
        plan: &'a PlanDto,
        location: Option<&str>,
        allowed: impl Fn(ShipmentState) -> bool,
        what: &str,
    ) -> Result<Vec<&'a str>, ApiError> {
        let matching: Vec<&str> = plan
            .shipments
            .iter()
            .filter(|s| allowed(s.state) && location.is_none_or(|l| l == s.location))
            .map(|s| s.location.as_str())
            .collect();
        if matching.is_empty() {
            return Err(match location {
                Some(l) => ApiError::conflict(
                    "no_such_shipment",
                    format!("order `{id}` has no shipment from `{l}` that can be {what}"),
                ),
                None => {
                    ApiError::conflict("no_such_shipment", format!("order `{id}` has no shipment that can be {what}"))
                }
            });
        }
        Ok(matching)
    }

    async fn advance(&self, id: &str, event: &FulfilmentEvent, state: ShipmentState) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        let Some(plan) = record.plan.clone() else {
            return Err(wrong_state(id, record.status, state.name()));
        };
        let allowed = |current: ShipmentState| match state {
            ShipmentState::Delivered => current == ShipmentState::Shipped,
            _ => current < state && !current.has_left(),
        };
        let at = Self::shipments_for(id, &plan, event.location.as_deref(), allowed, state.name())?;
        if at.len() > 1 {
            return Err(ApiError::invalid(
                "location_required",
                format!("order `{id}` has several shipments; name the location"),
            )
            .at("location"));
        }
        let location = at[0].to_owned();
        let mut next = record.clone();
        if let Some(plan) = next.plan.as_mut() {
            for shipment in plan.shipments.iter_mut().filter(|s| s.location == location && allowed(s.state)) {
                shipment.state = state;
            }
        }
        if state == ShipmentState::Delivered
            && next.plan.as_ref().is_some_and(|p| {
                p.shipments.iter().all(|s| matches!(s.state, ShipmentState::Delivered | ShipmentState::Rejected))
            })
        {
            next.status = OrderStatus::Delivered;
        }
        next.history.push(event_at(now(), state.name(), &location, &event.reason));
        self.commit_order(record.history.len(), &next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    async fn ship(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ApiError> {
        let _order = self.stock_lock.lock().await;
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        if !record.status.holds_stock() {
            return Err(wrong_state(id, record.status, "shipped"));
        }
        let catalog = self.catalog();
        let Some(plan) = record.plan.clone() else {
            return Err(ApiError::internal(format!("order `{id}` holds stock without a plan")));
        };
        let open = |state: ShipmentState| state < ShipmentState::Shipped;
        let shipping: Vec<String> = Self::shipments_for(id, &plan, event.location.as_deref(), open, "shipped")?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let units: Vec<HeldUnits> =
            record.held_units.iter().filter(|u| shipping.contains(&u.location)).cloned().collect();
        let mut next = record.clone();
        next.held_units.retain(|u| !shipping.contains(&u.location));
        if let Some(plan) = next.plan.as_mut() {
            for shipment in plan.shipments.iter_mut().filter(|s| open(s.state) && shipping.contains(&s.location)) {
                shipment.state = ShipmentState::Shipped;
                shipment.carrier = event.carrier.clone();
                shipment.tracking = event.tracking.clone();
            }
        }
        let all_shipped = next.plan.as_ref().is_some_and(|p| p.shipments.iter().all(|s| !open(s.state)));
        next.status = if all_shipped { OrderStatus::Shipped } else { OrderStatus::PartiallyShipped };
        next.expires_at = None;
        next.expires_at_seconds = None;
        let mut detail = shipping.join(", ");
        if let Some(carrier) = &event.carrier {
            let _ = write!(detail, " by {carrier}");
        }
        if let Some(tracking) = &event.tracking {
            let _ = write!(detail, " (tracking {tracking})");
        }
        next.history.push(event_at(now(), "shipped", &detail, &event.reason));
        let deltas = units
            .iter()
            .map(|u| Write::StockDelta { sku: u.sku.clone(), location: u.location.clone(), delta: -i64::from(u.qty) })
            .collect();
        self.commit_order(record.history.len(), &next, deltas).await?;
        let consumed = Reservation {
            units: units
                .iter()
                .filter_map(|u| {
                    Some(ReservedUnits {
                        sku: catalog.sku_id(&u.sku)?,
                        location: catalog.location_id(&u.location)?,
                        qty: u.qty,
                    })
                })
                .collect(),
            shipments: Vec::new(),
        };
        if let Err(error) = self.inventory.consume(&consumed) {
            tracing::error!(%error, order = id, "consume after commit failed");
        }
        *record = next;
        if all_shipped {
            self.metrics.order("shipped");
        }
        Ok(record.clone())
    }

    // A location will not ship its shipment: release it, and route its units again under the
    // order's policy with every location that rejected it excluded.
    async fn reject_shipment(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        if !record.status.holds_stock() {
            return Err(wrong_state(id, record.status, "rejected by a location"));
        }
        let catalog = self.catalog();
        let Some(plan) = record.plan.clone() else {
            return Err(ApiError::internal(format!("order `{id}` holds stock without a plan")));
        };
        let open = |state: ShipmentState| state < ShipmentState::Shipped;
        let at = Self::shipments_for(id, &plan, event.location.as_deref(), open, "rejected")?;
        if at.len() > 1 {
            return Err(ApiError::invalid(
                "location_required",
                format!("order `{id}` has several shipments; name the location"),
            )
            .at("location"));
        }
        let rejecting = at[0].to_owned();
        // What the rejected shipment held.
        let released_units: Vec<HeldUnits> =
            record.held_units.iter().filter(|u| u.location == rejecting).cloned().collect();
        let released_shipments: Vec<HeldShipment> =
            record.held_shipments.iter().filter(|s| s.location == rejecting).cloned().collect();
        let released = reservation_of(
            &catalog,
            &OrderRecord {
                held_units: released_units.clone(),
                held_shipments: released_shipments.clone(),
                ..record.clone()
            },
        )
        .map_err(ApiError::internal)?;
        // The remainder as an order of its own: the rejected shipment's lines and units.
        let mut remainder = record.request.clone();
        remainder.placed_at = Some(now().to_string());
        let rejected_lines: Vec<&ShipmentLineDto> =
            plan.shipments.iter().filter(|s| s.location == rejecting && open(s.state)).flat_map(|s| &s.lines).collect();
        remainder.lines = rejected_lines
            .iter()
            .map(|l| crate::dto::LineDto { id: l.line_id.clone(), sku: l.sku.clone(), qty: l.qty })
            .collect();
        let order = remainder.to_engine(&catalog, now())?;
        let mut excluded = record.excluded_locations.clone();
        excluded.push(rejecting.clone());
        let excluded_ids: Vec<_> = excluded.iter().filter_map(|l| catalog.location_id(l)).collect();
        let binding = self.registry.prepare_binding(BindingDto {
            group: record.binding_group.clone(),
            version: record.policy_version.clone(),
            fallback: record.fallback_version.clone(),
            bound_at: String::new(),
        })?;
        let policy = ExcludingPolicy::new(binding.policy, excluded_ids, "the location rejected this order's shipment");
        // Release first, so the remainder may come back to stock this order held elsewhere.
        self.inventory.release(&released).map_err(|e| ApiError::internal(e.to_string()))?;
        let router =
            Router { catalog: &catalog, inventory: &self.inventory, policy: &policy, config: &self.router_config };
        let routed = match WORKSPACE.with(|w| router.route_and_reserve(&order, &mut w.borrow_mut())) {
            Ok(routed) => routed,
            Err(error) => {
                self.inventory.restore(&released, true).ok();
                return Err(routing_error(error));
            }
        };
        let rerouted = PlanDto::from_engine(&routed.plan, &order, &catalog);
        let mut next = record.clone();
        next.excluded_locations = excluded;
        next.held_units.retain(|u| u.location != rejecting);
        next.held_shipments.retain(|s| s.location != rejecting);
        if let Some(reservation) = &routed.reservation {
            next.held_units.extend(held_units(&catalog, reservation));
            next.held_shipments.extend(held_shipments(&catalog, reservation));
        }
        let at_time = now();
        next.history.push(event_at(at_time, "rejected", &rejecting, &event.reason));
        if let Some(plan) = next.plan.as_mut() {
            for shipment in plan.shipments.iter_mut().filter(|s| s.location == rejecting && open(s.state)) {
                shipment.state = ShipmentState::Rejected;
            }
            plan.shipments.extend(rerouted.shipments.iter().cloned());
            plan.unfilled.extend(rerouted.unfilled.iter().cloned());
        }
        let moved: u32 = rerouted.shipments.iter().flat_map(|s| &s.lines).map(|l| l.qty).sum();
        let lost: u32 = rerouted.unfilled.iter().map(|u| u.qty).sum();
        let detail = if rerouted.shipments.is_empty() {
            format!("no other location can ship its {lost} unit(s); they are unfilled")
        } else {
            let locations: Vec<&str> = rerouted.shipments.iter().map(|s| s.location.as_str()).collect();
            let mut detail = format!("{moved} unit(s) now ship from {}", locations.join(", "));
            if lost > 0 {
                let _ = write!(detail, "; {lost} unit(s) unfilled");
            }
            detail
        };
        next.history.push(event_at(at_time, "rerouted", &detail, ""));
        let nothing_left =
            next.plan.as_ref().is_some_and(|p| p.shipments.iter().all(|s| s.state == ShipmentState::Rejected));
        if nothing_left {
            next.status = OrderStatus::Rejected;
            next.expires_at = None;
            next.expires_at_seconds = None;
        }
        if let Err(error) = self.commit_order(record.history.len(), &next, Vec::new()).await {
            if let Some(reservation) = &routed.reservation {
                self.inventory.release(reservation).ok();
            }
            self.inventory.restore(&released, true).ok();
            return Err(error);
        }
        *record = next;
        Ok(record.clone())
    }

    /// Releases every reservation past its expiry; returns how many.
    pub async fn expire_due(&self) -> usize {
        let at = now();
        let due: Vec<String> = self
            .orders
            .iter()
            .filter_map(|entry| {
                let record = entry.value().try_lock().ok()?;
                (record.status == OrderStatus::Reserved && record.expires_at_seconds.is_some_and(|e| e <= at.0))
                    .then(|| record.id.clone())
            })
            .collect();
        let mut expired = 0;
        for id in due {
            match self.release(&id, OrderStatus::Expired, "not confirmed before the reservation expired").await {
                Ok(_) => expired += 1,
                Err(error) => tracing::warn!(order = %id, %error, "could not expire"),
            }
        }
        expired
    }

    /// Stores a new policy or plugin version (idempotent by content).
    pub async fn upload(&self, kind: Kind, name: &str, bytes: Vec<u8>) -> Result<(VersionMeta, bool), Rejected> {
        let id = crate::registry::version_of(kind, &bytes);
        if let Some(existing) = self.registry.version(&id) {
            return Ok((existing.meta.clone(), false));
        }
        let compiled = self.registry.compile(kind, name, &bytes, now().to_string())?;
        let meta = compiled.meta.clone();
        let meta_json = serde_json::to_string(&meta)
            .map_err(|e| Rejected { error: ApiError::internal(e.to_string()), diagnostics: Vec::new() })?;
        let write = Write::PolicyVersion {
            version: meta.version.clone(),
            name: name.to_owned(),
            kind: kind.name().to_owned(),
            source: bytes,
            meta: meta_json,
        };
        self.commit(vec![write]).await.map_err(|error| Rejected { error, diagnostics: Vec::new() })?;
        self.registry.insert(compiled);
        Ok((meta, true))
    }

    /// Every version.
    pub fn versions(&self) -> Vec<VersionMeta> {
        self.registry.versions()
    }

    /// One version's metadata.
    pub fn version(&self, id: &str) -> Result<VersionMeta, ApiError> {
        self.registry
            .version(id)
            .map(|v| v.meta.clone())
            .ok_or_else(|| ApiError::not_found("unknown_version", format!("no version `{id}`")))
    }

    /// Binds a version to a group (durably, then one atomic swap).
    pub async fn bind(&self, group: &str, version: &str, fallback: Option<String>) -> Result<BindingDto, ApiError> {
        if group.is_empty() {
            return Err(ApiError::invalid("invalid_group", "the group must not be empty").at("group"));
        }
        let dto =
            BindingDto { group: group.to_owned(), version: version.to_owned(), fallback, bound_at: now().to_string() };
        let _order = self.bind_lock.lock().await;
        let binding = self.registry.prepare_binding(dto.clone())?;
        self.commit(vec![Write::Binding {
            group: dto.group.clone(),
            version: dto.version.clone(),
            fallback: dto.fallback.clone(),
            at: dto.bound_at.clone(),
        }])
        .await?;
        self.registry.bind(binding);
        tracing::info!(group, version, "binding changed");
        Ok(dto)
    }

    /// Binds the version bound before the current one.
    pub async fn rollback(&self, group: &str) -> Result<BindingDto, ApiError> {
        // (`bind` takes the lock; a rollback racing another bind may pick the binding before
        // the one that wins, which is still a binding the admin made.)
        let previous = self.registry.previous(group).ok_or_else(|| {
            ApiError::conflict("nothing_to_roll_back", format!("group `{group}` has no earlier binding"))
        })?;
        self.bind(group, &previous.version, previous.fallback).await
    }

    /// Starts (or replaces) a shadow run of `version` beside the live binding of `group`.
    pub fn start_shadow(&self, group: &str, version: &str) -> Result<ShadowSummary, ApiError> {
        let candidate = self
            .registry
            .version(version)
            .ok_or_else(|| ApiError::invalid("unknown_version", format!("no version `{version}`")).at("version"))?;
        // The same checks as binding it (it must be allowed to serve the group).
        self.registry.prepare_binding(BindingDto {
            group: group.to_owned(),
            version: version.to_owned(),
            fallback: None,
            bound_at: String::new(),
        })?;
        if self.registry.binding_for(Some(group)).is_none_or(|b| b.dto.group != group) {
            return Err(ApiError::conflict(
                "no_binding",
                format!("group `{group}` has no binding of its own to shadow; bind it first"),
            ));
        }
        let shadow = Shadow::new(group, version, Arc::clone(&candidate.policy), now().to_string());
        let summary = shadow.summary();
        self.shadows.insert(group.to_owned(), Arc::new(shadow));
        tracing::info!(group, version, "shadow started");
        Ok(summary)
    }

    /// The summary of the shadow run on `group`.
    pub fn shadow(&self, group: &str) -> Result<ShadowSummary, ApiError> {
        self.shadows
            .get(group)
            .map(|s| s.summary())
            .ok_or_else(|| ApiError::not_found("no_shadow", format!("no shadow run on group `{group}`")))
    }

    /// Stops the shadow run on `group`; returns its final summary.
    pub fn stop_shadow(&self, group: &str) -> Result<ShadowSummary, ApiError> {
        self.shadows
            .remove(group)
            .map(|(_, s)| s.summary())
            .ok_or_else(|| ApiError::not_found("no_shadow", format!("no shadow run on group `{group}`")))
    }

    /// Live bindings and every change.
    pub fn bindings(&self) -> (Vec<BindingDto>, Vec<BindingDto>) {
        (self.registry.bindings(), self.registry.history())
    }

    /// The Prometheus exposition.
    pub fn render_metrics(&self) -> String {
        let (on_hand, reserved) = self.inventory.totals();
        let open = self.orders.iter().filter(|e| e.value().try_lock().is_ok_and(|r| r.status.holds_stock())).count();
        self.metrics.render(
            &[
                ("switchyard_units_on_hand", "Units on hand over all positions.", on_hand as f64),
                ("switchyard_units_reserved", "Units reserved over all positions.", reserved as f64),
                ("switchyard_orders_holding_stock", "Orders holding reservations.", open as f64),
            ],
            &self.registry.plugin_fuel(),
        )
    }

    /// Units on hand and reserved over all positions (for conservation checks).
    pub fn totals(&self) -> (u64, u64) {
        self.inventory.totals()
    }

    /// The name of the default group.
    pub fn default_group() -> &'static str {
        DEFAULT_GROUP
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
        RoutingError::InvalidAnswer { .. } => ApiError::invalid("policy_failed", error.to_string()),
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
