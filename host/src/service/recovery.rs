//! Rebuilding the state from the store at start: catalog, kits and releases, stock, versions
//! and bindings, orders (their reservations, schedules, idempotency keys, preorder counts and
//! backorders), inbound stock, recurring orders, webhooks and their deliveries.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::de::DeserializeOwned;
use switchyard_engine::{Catalog, Reservation};
use tokio::sync::Mutex as AsyncMutex;

use super::catalog::{engine_location, engine_product, release_of, set_kits};
use super::{Service, now, reservation_of_order};
use crate::records::{
    BindingRecord, Delivery, Inbound, Kind, LocationRecord, OrderRecord, OrderStatus, ProductRecord, RecurringOrder,
    Subscription, VersionMeta,
};
use crate::store::Snapshot;

fn read<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("stored {what}: {e}"))
}

impl Service {
    pub(super) fn recover(&self, snapshot: Snapshot) -> Result<(), String> {
        let started = Instant::now();
        let mut catalog = Catalog::new();
        let mut zones = HashMap::new();
        for (id, body) in &snapshot.locations {
            let record: LocationRecord = read(&format!("location `{id}`"), body)?;
            let location = engine_location(&record, now()).map_err(|e| format!("stored location `{id}`: {e}"))?;
            if let Some(zone) = &record.time_zone {
                zones.insert(record.id.clone(), zone.clone());
            }
            catalog.upsert_location(location).map_err(|e| format!("stored location `{id}`: {e}"))?;
        }
        let mut products = Vec::with_capacity(snapshot.products.len());
        let mut releases = HashMap::new();
        for (sku, body) in &snapshot.products {
            let record: ProductRecord = read(&format!("product `{sku}`"), body)?;
            catalog.upsert_product(engine_product(&record)).map_err(|e| format!("stored product `{sku}`: {e}"))?;
            if let Some(release) = release_of(&record).map_err(|e| format!("stored product `{sku}`: {e}"))? {
                releases.insert(record.sku.clone(), release);
            }
            products.push(record);
        }
        set_kits(&mut catalog, &products, "products").map_err(|e| format!("stored kits: {e}"))?;
        *self.releases.write() = Arc::new(releases);
        *self.location_zones.write() = Arc::new(zones);
        for (sku, location, on_hand, safety_stock) in &snapshot.stock {
            let (Some(sku_id), Some(location_id)) = (catalog.sku_id(sku), catalog.location_id(location)) else {
                return Err(format!("stored stock of `{sku}` at `{location}` refers to an unknown sku or location"));
            };
            let clamp = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
            self.inventory.set_stock(sku_id, location_id, clamp(*on_hand), clamp(*safety_stock));
        }
        for (version, name, kind, source, meta) in &snapshot.policy_versions {
            let kind = Kind::from_name(kind).ok_or_else(|| format!("stored version `{version}` has kind `{kind}`"))?;
            let meta: VersionMeta = read("version metadata", meta)?;
            let compiled = self
                .registry
                .compile(kind, name, source, meta.uploaded_at.clone())
                .map_err(|e| format!("stored version `{version}` no longer compiles: {}", e.message()))?;
            self.registry.insert(compiled);
        }
        for (group, version, fallback, at) in &snapshot.bindings {
            let record = BindingRecord {
                group: group.clone(),
                version: version.clone(),
                fallback: fallback.clone(),
                bound_at: at.clone(),
            };
            let binding =
                self.registry.prepare_binding(record).map_err(|e| format!("stored binding of `{group}`: {e}"))?;
            self.registry.bind(binding);
        }
        let mut open = 0;
        for (id, key, body) in &snapshot.orders {
            let record: OrderRecord = read(&format!("order `{id}`"), body)?;
            if let (OrderStatus::Reserved, Some(expires)) = (record.status, record.expires_at_seconds()) {
                self.expiring.lock().insert((expires, id.clone()));
            }
            if let (OrderStatus::Scheduled, Some(due)) = (record.status, record.due_at_seconds()) {
                self.scheduled.lock().insert((due, id.clone()));
            }
            let reservation =
                reservation_of_order(&catalog, &record).map_err(|e| format!("stored order `{id}`: {e}"))?;
            if record.status.holds_stock() {
                open += 1;
                self.inventory.restore(&reservation, true).map_err(|e| format!("stored order `{id}`: {e}"))?;
            } else if !reservation.shipments.is_empty() {
                // Shipments that left (shipped, delivered, or before a cancel) still count
                // against their day's capacity.
                self.inventory
                    .restore(&Reservation { units: Vec::new(), ..reservation }, false)
                    .map_err(|e| format!("stored order `{id}`: {e}"))?;
            }
            if let Some(key) = key {
                self.idempotency.insert(key.clone(), id.clone());
            }
            self.count_recovered_preorders(&record);
            self.note_waiting(&record);
            self.orders.insert(id.clone(), Arc::new(AsyncMutex::new(record)));
        }
        for body in &snapshot.inbound {
            let inbound: Inbound = read("inbound", body)?;
            if let Some(n) = inbound.id.strip_prefix("IN-").and_then(|n| n.parse::<u64>().ok()) {
                self.next_inbound.fetch_max(n + 1, Ordering::Relaxed);
            }
            self.inbound.lock().insert(inbound.id.clone(), inbound);
        }
        for body in &snapshot.recurring {
            let recurring: RecurringOrder = read("recurring order", body)?;
            self.recurring.insert(recurring.id.clone(), Arc::new(AsyncMutex::new(recurring)));
        }
        for body in &snapshot.webhooks {
            let subscription: Subscription = read("webhook", body)?;
            self.webhooks.insert(subscription.id.clone(), subscription);
        }
        {
            let mut events = self.events.lock();
            for (id, body) in &snapshot.webhook_events {
                self.next_event.fetch_max(id + 1, Ordering::Relaxed);
                events.insert(*id, std::sync::Arc::from(body.as_str()));
            }
        }
        for body in &snapshot.deliveries {
            let delivery: Delivery = read("delivery", body)?;
            self.next_delivery.fetch_max(delivery.id + 1, Ordering::Relaxed);
            if delivery.status == crate::records::DeliveryStatus::Pending {
                self.count_pending(&delivery.subscription, 1);
            }
            self.deliveries.lock().insert(delivery.id, delivery);
        }
        *self.catalog.write() = Arc::new(catalog);
        for body in &snapshot.atp_changes {
            let entry: crate::records::AtpChange = read("ATP change", body)?;
            self.atp_seq.fetch_max(entry.seq + 1, Ordering::Relaxed);
            self.atp_feed.lock().push_back(entry);
        }
        self.reset_published_atp();
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

    // An order placed before its SKU's release counts against the preorder cap (unless it
    // was cancelled).
    fn count_recovered_preorders(&self, record: &OrderRecord) {
        if record.status == OrderStatus::Cancelled {
            return;
        }
        let releases = self.releases();
        let Some(created) = record.created_at_seconds() else { return };
        let mut counts = self.preordered.lock();
        for line in &record.request.lines {
            if releases.get(&line.sku).is_some_and(|release| created < release.at) {
                *counts.entry(line.sku.clone()).or_insert(0) += line.qty;
            }
        }
    }
}
