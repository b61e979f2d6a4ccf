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
    BindingRecord, CarrierServiceRecord, Delivery, Inbound, Kind, LocationRecord, OrderRecord, OrderStatus,
    ProductRecord, RecurringOrder, Subscription, VersionMeta,
};
use crate::store::Snapshot;

fn read<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("stored {what}: {e}"))
}

impl Service {
    // A record that cannot be read back (a bug of an older version, a stored policy that a
    // stricter compiler now refuses, a hand-edited store) is skipped, logged and listed in
    // `unreadable_records`; the rest of the state is rebuilt and the service starts.
    fn skip(&self, what: String) {
        tracing::error!(record = %what, "a stored record cannot be read back; it is skipped");
        self.unreadable.lock().push(what);
    }

    pub(super) fn recover(&self, snapshot: Snapshot) -> Result<(), String> {
        let started = Instant::now();
        let mut catalog = Catalog::new();
        let mut zones = HashMap::new();
        let mut waves = HashMap::new();
        for (id, body) in &snapshot.locations {
            let location = read::<LocationRecord>(&format!("location `{id}`"), body).and_then(|record| {
                let location = engine_location(&record, now()).map_err(|e| format!("stored location `{id}`: {e}"))?;
                let released =
                    super::catalog::release_waves(&record).map_err(|e| format!("stored location `{id}`: {e}"))?;
                catalog.upsert_location(location).map_err(|e| format!("stored location `{id}`: {e}"))?;
                Ok((record, released))
            });
            match location {
                Ok((record, released)) => {
                    if !released.is_empty() {
                        waves.insert(record.id.clone(), released);
                    }
                    if let Some(zone) = record.time_zone {
                        zones.insert(record.id, zone);
                    }
                }
                Err(error) => self.skip(error),
            }
        }
        let mut products = Vec::with_capacity(snapshot.products.len());
        let mut releases = HashMap::new();
        for (sku, body) in &snapshot.products {
            let product = read::<ProductRecord>(&format!("product `{sku}`"), body).and_then(|record| {
                let release = release_of(&record).map_err(|e| format!("stored product `{sku}`: {e}"))?;
                catalog.upsert_product(engine_product(&record)).map_err(|e| format!("stored product `{sku}`: {e}"))?;
                Ok((record, release))
            });
            match product {
                Ok((record, release)) => {
                    if let Some(release) = release {
                        releases.insert(record.sku.clone(), release);
                    }
                    products.push(record);
                }
                Err(error) => self.skip(error),
            }
        }
        if let Err(error) = set_kits(&mut catalog, &products, "products") {
            self.skip(format!("stored kits: {error}"));
        }
        *self.releases.write() = Arc::new(releases);
        *self.location_zones.write() = Arc::new(zones);
        *self.location_waves.write() = Arc::new(waves);
        for (sku, location, on_hand, safety_stock) in &snapshot.stock {
            let (Some(sku_id), Some(location_id)) = (catalog.sku_id(sku), catalog.location_id(location)) else {
                self.skip(format!("stored stock of `{sku}` at `{location}` refers to an unknown sku or location"));
                continue;
            };
            let clamp = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
            self.inventory.set_stock(sku_id, location_id, clamp(*on_hand), clamp(*safety_stock));
        }
        for (version, name, kind, source, meta) in &snapshot.policy_versions {
            let compiled = Kind::from_name(kind)
                .ok_or_else(|| format!("stored version `{version}` has kind `{kind}`"))
                .and_then(|kind| Ok((kind, read::<VersionMeta>("version metadata", meta)?)))
                .and_then(|(kind, meta)| {
                    self.registry
                        .compile(kind, name, source, meta.uploaded_at)
                        .map_err(|e| format!("stored version `{version}` no longer compiles: {}", e.message()))
                });
            match compiled {
                Ok(compiled) => {
                    self.registry.insert(compiled);
                }
                Err(error) => self.skip(error),
            }
        }
        for (group, version, fallback, at, parameters) in &snapshot.bindings {
            let parameters = match super::policies::parameters_of(parameters.as_deref()) {
                Ok(parameters) => parameters,
                Err(error) => {
                    self.skip(format!("stored binding of `{group}`: {error}"));
                    continue;
                }
            };
            let record = BindingRecord {
                group: group.clone(),
                version: version.clone(),
                fallback: fallback.clone(),
                bound_at: at.clone(),
                parameters,
            };
            match self.registry.prepare_binding(record) {
                Ok(binding) => self.registry.bind(binding),
                Err(error) => self.skip(format!("stored binding of `{group}`: {error}")),
            }
        }
        let mut open = 0;
        for (id, key, body) in &snapshot.orders {
            let recovered = read::<OrderRecord>(&format!("order `{id}`"), body).and_then(|record| {
                let reservation =
                    reservation_of_order(&catalog, &record).map_err(|e| format!("stored order `{id}`: {e}"))?;
                Ok((record, reservation))
            });
            let (record, reservation) = match recovered {
                Ok(recovered) => recovered,
                Err(error) => {
                    self.skip(format!("{error} (any stock it held is not reserved)"));
                    continue;
                }
            };
            let restored = if record.status.holds_stock() {
                open += 1;
                self.inventory.restore(&reservation, true)
            } else if !reservation.shipments.is_empty() {
                // Shipments that left (shipped, delivered, or before a cancel) still count
                // against their day's capacity.
                self.inventory.restore(&Reservation { units: Vec::new(), ..reservation }, false)
            } else {
                Ok(())
            };
            if let Err(error) = restored {
                self.skip(format!("stored order `{id}`: its reservation: {error}"));
            }
            if let (OrderStatus::Reserved, Some(expires)) = (record.status, record.expires_at_seconds()) {
                self.expiring.lock().insert((expires, id.clone()));
            }
            if let (OrderStatus::Scheduled, Some(due)) = (record.status, record.due_at_seconds()) {
                self.scheduled.lock().insert((due, id.clone()));
            }
            if let Some(key) = key {
                self.idempotency.insert(key.clone(), id.clone());
            }
            self.count_recovered_preorders(&record);
            self.note_waiting(&record);
            self.orders.insert(id.clone(), Arc::new(AsyncMutex::new(record)));
        }
        for body in &snapshot.inbound {
            let Some(inbound) = self.readable::<Inbound>("inbound", body) else { continue };
            if let Some(n) = inbound.id.strip_prefix("IN-").and_then(|n| n.parse::<u64>().ok()) {
                self.next_inbound.fetch_max(n + 1, Ordering::Relaxed);
            }
            self.inbound.lock().insert(inbound.id.clone(), inbound);
        }
        for body in &snapshot.recurring {
            let Some(recurring) = self.readable::<RecurringOrder>("recurring order", body) else { continue };
            self.recurring.insert(recurring.id.clone(), Arc::new(AsyncMutex::new(recurring)));
        }
        for body in &snapshot.carrier_services {
            let Some(record) = self.readable::<CarrierServiceRecord>("carrier service", body) else { continue };
            self.apply_carrier_service(&record.id.clone(), Some(record));
        }
        for body in &snapshot.webhooks {
            let Some(subscription) = self.readable::<Subscription>("webhook", body) else { continue };
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
            let Some(delivery) = self.readable::<Delivery>("delivery", body) else { continue };
            self.next_delivery.fetch_max(delivery.id + 1, Ordering::Relaxed);
            if delivery.status == crate::records::DeliveryStatus::Pending {
                self.count_pending(&delivery.subscription, 1);
            }
            self.deliveries.lock().insert(delivery.id, delivery);
        }
        *self.catalog.write() = Arc::new(catalog);
        for body in &snapshot.atp_changes {
            let Some(entry) = self.readable::<crate::records::AtpChange>("ATP change", body) else { continue };
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
            unreadable = self.unreadable.lock().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "state rebuilt from the store"
        );
        Ok(())
    }

    fn readable<T: DeserializeOwned>(&self, what: &str, body: &str) -> Option<T> {
        read(what, body).map_err(|error| self.skip(error)).ok()
    }

    // An order placed before its SKU's release counts against the preorder cap while it is
    // open (cancelling or expiring it gives its units back, as `release` does).
    fn count_recovered_preorders(&self, record: &OrderRecord) {
        let releases = self.releases();
        let mut counts = self.preordered.lock();
        for (sku, qty) in super::commit::preorder_units(&releases, record) {
            let count = counts.entry(sku.to_owned()).or_insert(0);
            *count = count.saturating_add(qty);
        }
    }
}
