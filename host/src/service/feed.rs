//! Serving one PostgreSQL store together with other instances (`Config::shared`). Each
//! instance keeps its own picture in memory for routing, and learns every other instance's
//! changes from the store's change feed (`Store::follow`): what they did to stock (on hand,
//! reserved, safety stock, as deltas the database computed), the catalog, policy versions,
//! bindings and orders. The database is what keeps them honest: it refuses a reservation
//! beyond what is available and a write of an order over a revision it did not read, so an
//! instance whose picture lags by a few milliseconds can lose a race, never oversell.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::catalog::{engine_location, engine_product, release_of, set_kits};
use super::{Service, ServiceError, now, open_store};
use crate::records::{BindingRecord, Kind, LocationRecord, OrderRecord, OrderStatus, ProductRecord, VersionMeta};
use crate::store::FeedEntry;

// The ids an instance makes (webhook events and deliveries, inbound records) start at its
// number times this: ranges no other instance's ids reach.
const ID_RANGE: u64 = 1 << 40;

impl Service {
    /// Opens the store to serve it together with other instances (each started so): holds it
    /// shared (refused while one process serves it alone), takes a number of its own for the
    /// ids it makes, and reads it back. [`Service::follow_changes`] keeps it up to date.
    pub async fn open_shared(config: crate::Config) -> Result<Arc<Service>, String> {
        if !config.shared {
            return Err("open_shared needs `shared = true` (and a PostgreSQL store)".to_owned());
        }
        let store = open_store(&config).await?;
        if !store.hold_shared().await.map_err(|e| e.to_string())? {
            return Err(store.held_elsewhere());
        }
        let number = store.instance_number().await.map_err(|e| e.to_string())?;
        let service = Service::open_with(config, store).await?;
        let first = number.saturating_mul(ID_RANGE);
        service.next_event.fetch_max(first, Ordering::Relaxed);
        service.next_delivery.fetch_max(first, Ordering::Relaxed);
        service.next_inbound.fetch_max(first, Ordering::Relaxed);
        Ok(service)
    }

    /// Follows the change feed for as long as the service serves: woken by the store when
    /// another instance commits, and every 100 ms whatever happens.
    pub async fn follow_changes(&self) {
        loop {
            if let Err(error) = self.store.changed_elsewhere(Duration::from_millis(100)).await {
                tracing::warn!(%error, "cannot listen for other instances' changes; polling");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if let Err(error) = self.catch_up().await {
                tracing::warn!(%error, "cannot read other instances' changes; retried");
            }
        }
    }

    /// Applies every change other instances committed since the last call; returns how many.
    /// A store one instance serves has none.
    pub async fn catch_up(&self) -> Result<usize, ServiceError> {
        let mut cursor = self.feed_cursor.lock().await;
        let Some(at) = cursor.clone() else { return Ok(0) };
        let (entries, next) = self.store.follow(at).await?;
        let count = entries.len();
        let mut stock = std::mem::take(&mut *self.feed_waiting.lock());
        let mut orders = Vec::new();
        for entry in entries {
            match entry {
                FeedEntry::Stock { .. } => stock.push(entry),
                FeedEntry::Location(id) => self.apply_stored_location(&id).await,
                FeedEntry::Product(sku) => self.apply_stored_product(&sku).await,
                FeedEntry::PolicyVersion(version) => self.apply_stored_version(&version).await,
                FeedEntry::Binding(group) => self.apply_stored_binding(&group).await,
                FeedEntry::Order(id) => orders.push(id),
            }
        }
        // After the catalog: a position of a location created in the same round is known.
        let catalog = self.catalog();
        for entry in stock {
            let FeedEntry::Stock { sku, location, on_hand, reserved, safety_stock } = &entry else { continue };
            match (catalog.sku_id(sku), catalog.location_id(location)) {
                (Some(sku), Some(location)) => {
                    self.inventory.apply_delta(sku, location, *on_hand, *reserved, *safety_stock);
                }
                // Its product or location is in a transaction not read yet: the next round.
                _ => self.feed_waiting.lock().push(entry),
            }
        }
        orders.append(&mut self.feed_orders_waiting.lock());
        orders.sort_unstable();
        orders.dedup();
        for id in orders {
            self.apply_stored_order(&id).await;
        }
        *cursor = Some(next);
        Ok(count)
    }

    async fn apply_stored_location(&self, id: &str) {
        let record = match self.store.location(id).await {
            Ok(Some(body)) => serde_json::from_str::<LocationRecord>(&body).map_err(|e| e.to_string()),
            Ok(None) => return,
            Err(error) => Err(error.to_string()),
        };
        let _order = self.stock_lock.lock().await;
        let applied = record.and_then(|record| {
            let location = engine_location(&record, now()).map_err(|e| e.to_string())?;
            let mut catalog = (*self.catalog()).clone();
            catalog.upsert_location(location).map_err(|e| e.to_string())?;
            let mut zones = (*self.location_zones.read()).as_ref().clone();
            match &record.time_zone {
                Some(zone) => zones.insert(record.id.clone(), zone.clone()),
                None => zones.remove(&record.id),
            };
            *self.catalog.write() = Arc::new(catalog);
            *self.location_zones.write() = Arc::new(zones);
            Ok(())
        });
        if let Err(error) = applied {
            tracing::error!(location = id, %error, "another instance's location change cannot be applied");
        }
    }

    async fn apply_stored_product(&self, sku: &str) {
        let record = match self.store.product(sku).await {
            Ok(Some(body)) => serde_json::from_str::<ProductRecord>(&body).map_err(|e| e.to_string()),
            Ok(None) => return,
            Err(error) => Err(error.to_string()),
        };
        let _order = self.stock_lock.lock().await;
        let applied = record.and_then(|record| {
            let mut catalog = (*self.catalog()).clone();
            catalog.upsert_product(engine_product(&record)).map_err(|e| e.to_string())?;
            set_kits(&mut catalog, std::slice::from_ref(&record), "products").map_err(|e| e.to_string())?;
            let mut releases = (*self.releases()).clone();
            match release_of(&record).map_err(|e| e.to_string())? {
                Some(release) => releases.insert(record.sku.clone(), release),
                None => releases.remove(&record.sku),
            };
            *self.catalog.write() = Arc::new(catalog);
            *self.releases.write() = Arc::new(releases);
            Ok(())
        });
        if let Err(error) = applied {
            tracing::error!(sku, %error, "another instance's product change cannot be applied");
        }
    }

    async fn apply_stored_version(&self, version: &str) {
        if self.registry.version(version).is_some() {
            return;
        }
        let compiled = match self.store.policy_version(version).await {
            Ok(Some((_, name, kind, source, meta))) => {
                match (Kind::from_name(&kind), serde_json::from_str::<VersionMeta>(&meta)) {
                    (Some(kind), Ok(meta)) => self
                        .registry
                        .compile_async(kind, &name, source, meta.uploaded_at)
                        .await
                        .map_err(|e| e.message().to_owned()),
                    (None, _) => Err(format!("unknown kind `{kind}`")),
                    (_, Err(error)) => Err(error.to_string()),
                }
            }
            Ok(None) => return,
            Err(error) => Err(error.to_string()),
        };
        match compiled {
            Ok(compiled) => {
                self.registry.insert(compiled);
            }
            Err(error) => tracing::error!(version, %error, "another instance's policy version cannot be loaded"),
        }
    }

    async fn apply_stored_binding(&self, group: &str) {
        let _order = self.bind_lock.lock().await;
        let stored = match self.store.binding(group).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(group, %error, "another instance's binding cannot be read");
                return;
            }
        };
        let (group, version, fallback, at) = stored;
        // The version may have come in a transaction this round has not read yet.
        for needed in std::iter::once(&version).chain(fallback.as_ref()) {
            self.apply_stored_version(needed).await;
        }
        let record = BindingRecord { group: group.clone(), version, fallback, bound_at: at };
        match self.registry.prepare_binding(record) {
            Ok(binding) => self.registry.bind(binding),
            Err(error) => tracing::error!(group, %error, "another instance's binding cannot be applied"),
        }
    }

    // An order another instance created or changed: the copy memory keeps (if any) is
    // replaced by a newer revision, and a reservation that will lapse or an order that will
    // come due is scheduled here too (the instance that runs that work may be this one).
    async fn apply_stored_order(&self, id: &str) {
        let stored = match self.store.order(id).await {
            Ok(Some((_, _, body))) => serde_json::from_str::<OrderRecord>(&body).map_err(|e| e.to_string()),
            Ok(None) => return,
            Err(error) => Err(error.to_string()),
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                tracing::error!(order = id, %error, "another instance's order cannot be read");
                return;
            }
        };
        if let (OrderStatus::Reserved, Some(expires)) = (stored.status, stored.expires_at_seconds()) {
            self.expiring.lock().insert((expires, id.to_owned()));
        }
        if let (OrderStatus::Scheduled, Some(due)) = (stored.status, stored.due_at_seconds()) {
            self.scheduled.lock().insert((due, id.to_owned()));
        }
        let Some(slot) = self.orders.get(id).map(|slot| Arc::clone(slot.value())) else { return };
        // A request holding it is about to write it, and will be refused (its revision is
        // stale) or is the newer one; either way, look again next round.
        let Ok(mut record) = slot.try_lock() else {
            self.feed_orders_waiting.lock().push(id.to_owned());
            return;
        };
        if stored.revision <= record.revision {
            return;
        }
        // Its shipments count against capacity while memory keeps it: the new ones instead
        // of the old.
        let catalog = self.catalog();
        if let (Ok(old), Ok(new)) = (
            super::reservation_of(&catalog, &[], &record.held_shipments),
            super::reservation_of(&catalog, &[], &stored.held_shipments),
        ) {
            self.inventory.release(&old).ok();
            self.inventory.restore(&new, false).ok();
        }
        *record = stored;
    }
}
