//! Serving one PostgreSQL store together with other instances (`Config::shared`). Each
//! instance keeps its own picture in memory for routing, and learns every other instance's
//! changes from the store's change feed (`Store::follow`): what they did to stock (on hand,
//! reserved, safety stock, as deltas the database computed) and to shipments counted against
//! capacity, the catalog, policy versions, bindings, orders, webhook subscriptions, events and
//! deliveries, and recurring orders. The database is what keeps them honest: it refuses a
//! reservation beyond what is available, a shipment beyond a day's capacity, and a write of
//! an order over a revision it did not read, so an instance whose picture lags by a few
//! milliseconds can lose a race, never oversell.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Service, ServiceError, open_store};
use crate::records::{
    AtpChange, BindingRecord, CarrierServiceRecord, Delivery, DeliveryStatus, Inbound, Kind, LocationRecord,
    OrderRecord, ProductRecord, RecurringOrder, Subscription, VersionMeta,
};
use crate::store::{BodyOf, FeedEntry};

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
        self.catch_up_with(true).await
    }

    /// [`Service::catch_up`] from inside a request, which may hold the stock lock, the binding
    /// lock or a recurring order: only what routing and the order in hand need now (stock,
    /// capacity, orders) is applied; the rest waits for the follower's next round, in order.
    pub(super) async fn catch_up_stock(&self) -> Result<usize, ServiceError> {
        self.catch_up_with(false).await
    }

    async fn catch_up_with(&self, everything: bool) -> Result<usize, ServiceError> {
        // First, holding the cursor (a request reading an order back waits for it): what takes
        // none of the service's locks, stock and capacity deltas and orders.
        let count = {
            let mut cursor = self.feed_cursor.lock().await;
            let Some(at) = cursor.clone() else { return Ok(0) };
            let (entries, next) = self.store.follow(at).await?;
            let count = entries.len();
            let mut orders = std::mem::take(&mut *self.feed_orders_waiting.lock());
            let mut later = Vec::new();
            for entry in entries {
                match entry {
                    FeedEntry::Stock { .. } | FeedEntry::Shipments { .. } => self.feed_waiting.lock().push(entry),
                    FeedEntry::Preorders { sku, delta } => {
                        let mut counts = self.preordered.lock();
                        let count = counts.entry(sku).or_insert(0);
                        *count = clamp_u32(i64::from(*count) + delta);
                    }
                    FeedEntry::Inbound { id, promised, received } => {
                        if !self.apply_stored_inbound(&id, promised, received).await {
                            later.push(FeedEntry::Inbound { id, promised, received });
                        }
                    }
                    FeedEntry::AtpChange(seq) => {
                        if !self.apply_stored_atp_change(seq).await {
                            later.push(entry);
                        }
                    }
                    // (Its due time is the store's to say: the instance that runs expiry and
                    // scheduled orders asks it, `Store::due_orders`.)
                    FeedEntry::Order { id, revision } => {
                        // Read only what memory keeps an older copy of.
                        let kept = self.orders.get(&id).map(|slot| Arc::clone(slot.value()));
                        if kept.is_some_and(|slot| slot.try_lock().map_or(true, |record| record.revision < revision)) {
                            orders.push(id);
                        }
                    }
                    other => later.push(other),
                }
            }
            self.apply_waiting_stock();
            orders.sort_unstable();
            orders.dedup();
            for id in orders {
                self.apply_stored_order(&id).await;
            }
            *cursor = Some(next);
            self.feed_deferred.lock().extend(later);
            count
        };
        // Then, without it, what takes the stock lock, the binding lock or a recurring order:
        // only the follower, which holds none of them (a request's round leaves them to it).
        if everything {
            let later = std::mem::take(&mut *self.feed_deferred.lock());
            let mut deliveries = Vec::new();
            // What the store could not answer now is read again next round, in order.
            let mut again = Vec::new();
            for entry in later {
                let applied = match &entry {
                    FeedEntry::Location(id) => self.apply_stored_location(id).await,
                    FeedEntry::Product(sku) => self.apply_stored_product(sku).await,
                    FeedEntry::PolicyVersion(version) => self.apply_stored_version(version).await,
                    FeedEntry::Binding(group) => self.apply_stored_binding(group).await,
                    FeedEntry::Webhook(id) => self.apply_stored_webhook(id).await,
                    FeedEntry::CarrierService(id) => self.apply_stored_carrier_service(id).await,
                    FeedEntry::WebhookEvent(id) => self.apply_stored_event(*id).await,
                    // After the events they refer to, whatever the order in the round.
                    FeedEntry::Delivery(_) => {
                        deliveries.push(entry);
                        continue;
                    }
                    FeedEntry::Recurring(id) => self.apply_stored_recurring(id).await,
                    FeedEntry::Inbound { id, promised, received } => {
                        self.apply_stored_inbound(id, *promised, *received).await
                    }
                    FeedEntry::AtpChange(seq) => self.apply_stored_atp_change(*seq).await,
                    FeedEntry::Stock { .. }
                    | FeedEntry::Shipments { .. }
                    | FeedEntry::Order { .. }
                    | FeedEntry::Preorders { .. } => true,
                };
                if !applied {
                    again.push(entry);
                }
            }
            if !deliveries.is_empty() {
                for entry in deliveries {
                    if let FeedEntry::Delivery(id) = entry
                        && !self.apply_stored_delivery(id).await
                    {
                        again.push(entry);
                    }
                }
                self.delivery_wakeup.notify_one();
            }
            if !again.is_empty() {
                let mut deferred = self.feed_deferred.lock();
                again.append(&mut deferred);
                *deferred = again;
            }
            // Positions of the locations and products that arrived just now.
            self.apply_waiting_stock();
        }
        Ok(count)
    }

    // Applies the stock and capacity deltas read from the feed whose product and location
    // memory knows; the others wait for them to arrive.
    fn apply_waiting_stock(&self) {
        let waiting = std::mem::take(&mut *self.feed_waiting.lock());
        if waiting.is_empty() {
            return;
        }
        let catalog = self.catalog();
        let mut unknown = Vec::new();
        for entry in waiting {
            let known = match &entry {
                FeedEntry::Stock { sku, location, on_hand, reserved, safety_stock } => {
                    match (catalog.sku_id(sku), catalog.location_id(location)) {
                        (Some(sku), Some(location)) => {
                            self.inventory.apply_delta(sku, location, *on_hand, *reserved, *safety_stock);
                            true
                        }
                        _ => false,
                    }
                }
                FeedEntry::Shipments { location, day, delta } => match catalog.location_id(location) {
                    Some(location) => {
                        self.inventory.apply_shipment_delta(location, *day, *delta);
                        true
                    }
                    None => false,
                },
                _ => true,
            };
            if !known {
                unknown.push(entry);
            }
        }
        self.feed_waiting.lock().extend(unknown);
    }

    // A record another instance stored, read as `T`. (Each `apply_stored_…` below returns
    // `false` when the store could not answer: the entry is read again next round.)
    async fn stored<T: serde::de::DeserializeOwned>(&self, of: BodyOf, key: &str) -> Stored<T> {
        match self.store.body(of, key).await {
            Ok(Some(body)) => match serde_json::from_str::<T>(&body) {
                Ok(record) => Stored::Found(record),
                Err(error) => {
                    tracing::error!(?of, key, %error, "another instance's change cannot be read: skipped");
                    Stored::Unreadable
                }
            },
            Ok(None) => Stored::Deleted,
            Err(error) => {
                tracing::warn!(?of, key, %error, "another instance's change cannot be read now: read again later");
                Stored::Later
            }
        }
    }

    async fn apply_stored_carrier_service(&self, id: &str) -> bool {
        match self.stored::<CarrierServiceRecord>(BodyOf::CarrierService, id).await {
            Stored::Found(record) => self.apply_carrier_service(id, Some(record)),
            Stored::Deleted => self.apply_carrier_service(id, None),
            Stored::Unreadable => {}
            Stored::Later => return false,
        }
        true
    }

    async fn apply_stored_webhook(&self, id: &str) -> bool {
        match self.stored::<Subscription>(BodyOf::Webhook, id).await {
            Stored::Found(subscription) => {
                self.webhooks.insert(subscription.id.clone(), subscription);
            }
            Stored::Deleted => {
                self.webhooks.remove(id);
            }
            Stored::Unreadable => {}
            Stored::Later => return false,
        }
        true
    }

    async fn apply_stored_event(&self, id: u64) -> bool {
        match self.store.body(BodyOf::WebhookEvent, &id.to_string()).await {
            Ok(Some(body)) => {
                self.events.lock().insert(id, Arc::from(body.as_str()));
            }
            Ok(None) => {
                self.events.lock().remove(&id);
            }
            Err(error) => {
                tracing::warn!(id, %error, "another instance's webhook event cannot be read now: read again later");
                return false;
            }
        }
        true
    }

    // An inbound record another instance announced, promised units of or received: its
    // promises counted as the deltas the store computed (memory's own promises not yet
    // committed stay counted), the rest as stored. Orders waiting here for a record received
    // elsewhere were served there (and read back here through the feed).
    async fn apply_stored_inbound(&self, id: &str, promised: i64, received: bool) -> bool {
        let known = self.inbound.lock().get(id).map(|entry| entry.received.is_some());
        if known == Some(true) || (known == Some(false) && !received) {
            if let Some(entry) = self.inbound.lock().get_mut(id) {
                entry.allocated = clamp_u32(i64::from(entry.allocated) + promised);
            }
            return true;
        }
        let mut stored = match self.stored::<Inbound>(BodyOf::Inbound, id).await {
            Stored::Found(stored) => stored,
            Stored::Deleted | Stored::Unreadable => return true,
            Stored::Later => return false,
        };
        let mut inbound = self.inbound.lock();
        stored.allocated = match inbound.get(id) {
            Some(kept) => clamp_u32(i64::from(kept.allocated) + promised),
            None => clamp_u32(promised),
        };
        if received && stored.received.is_none() {
            // Read before the receipt committed: the feed says it is received.
            stored.received = Some(stored.qty);
        }
        if stored.received.is_some() {
            self.waiting_for.lock().remove(id);
        }
        inbound.insert(id.to_owned(), stored);
        true
    }

    // An entry of the ATP feed the publishing instance published (in its place, by number) or
    // pruned: every instance serves the same feed, and what it says of each position is what
    // was published (an instance taking the publishing over compares with it, and numbers on
    // from the last).
    async fn apply_stored_atp_change(&self, seq: u64) -> bool {
        let stored = match self.stored::<AtpChange>(BodyOf::AtpChange, &seq.to_string()).await {
            Stored::Found(entry) => Some(entry),
            Stored::Deleted => None,
            Stored::Unreadable => return true,
            Stored::Later => return false,
        };
        let Some(entry) = stored else {
            self.atp_feed.lock().retain(|c| c.seq != seq);
            return true;
        };
        self.atp_seq.fetch_max(seq.saturating_add(1), Ordering::Relaxed);
        let catalog = self.catalog();
        if let Some(sku) = catalog.sku_id(&entry.sku) {
            let mut published = self.published_atp.lock();
            for location in &entry.locations {
                if let Some(id) = catalog.location_id(&location.location) {
                    published.insert((sku, id), location.atp);
                }
            }
        }
        let mut feed = self.atp_feed.lock();
        let at = feed.partition_point(|c| c.seq < seq);
        if feed.get(at).is_some_and(|c| c.seq == seq) {
            feed[at] = entry;
        } else {
            feed.insert(at, entry);
        }
        true
    }

    // A delivery another instance queued or attempted: the instance that delivers (it holds
    // the claim, and may be this one, now or after a takeover) has it, as it is.
    async fn apply_stored_delivery(&self, id: u64) -> bool {
        let stored = match self.stored::<Delivery>(BodyOf::Delivery, &id.to_string()).await {
            Stored::Found(delivery) => Some(delivery),
            Stored::Deleted => None,
            Stored::Unreadable => return true,
            Stored::Later => return false,
        };
        let pending = |d: &Delivery| d.status == DeliveryStatus::Pending;
        let mut deliveries = self.deliveries.lock();
        let before = match &stored {
            Some(delivery) => deliveries.insert(id, delivery.clone()),
            None => deliveries.remove(&id),
        };
        drop(deliveries);
        if let Some(before) = before.filter(pending) {
            self.count_pending(&before.subscription, -1);
        }
        if let Some(after) = stored.filter(pending) {
            self.count_pending(&after.subscription, 1);
        }
        true
    }

    async fn apply_stored_recurring(&self, id: &str) -> bool {
        let stored = match self.stored::<RecurringOrder>(BodyOf::Recurring, id).await {
            Stored::Found(stored) => stored,
            Stored::Deleted | Stored::Unreadable => return true,
            Stored::Later => return false,
        };
        match self.recurring.get(id).map(|slot| Arc::clone(slot.value())) {
            Some(slot) => *slot.lock().await = stored,
            None => {
                self.recurring.insert(id.to_owned(), Arc::new(tokio::sync::Mutex::new(stored)));
            }
        }
        true
    }

    // A location or product another instance stored: applied as this instance's own change
    // is, without committing it again.
    async fn apply_stored_location(&self, id: &str) -> bool {
        let record = match self.stored::<LocationRecord>(BodyOf::Location, id).await {
            Stored::Found(record) => record,
            Stored::Deleted | Stored::Unreadable => return true,
            Stored::Later => return false,
        };
        let _order = self.stock_lock.lock().await;
        if let Err(error) = self.put_locations(std::slice::from_ref(&record), false).await {
            tracing::error!(location = id, %error, "another instance's location change cannot be applied");
        }
        true
    }

    async fn apply_stored_product(&self, sku: &str) -> bool {
        let record = match self.stored::<ProductRecord>(BodyOf::Product, sku).await {
            Stored::Found(record) => record,
            Stored::Deleted | Stored::Unreadable => return true,
            Stored::Later => return false,
        };
        let _order = self.stock_lock.lock().await;
        if let Err(error) = self.put_products(std::slice::from_ref(&record), false).await {
            tracing::error!(sku, %error, "another instance's product change cannot be applied");
        }
        true
    }

    async fn apply_stored_version(&self, version: &str) -> bool {
        if self.registry.version(version).is_some() {
            return true;
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
            Ok(None) => return true,
            Err(error) => {
                tracing::warn!(version, %error, "another instance's policy version cannot be read now: read again later");
                return false;
            }
        };
        match compiled {
            Ok(compiled) => {
                self.registry.insert(compiled);
            }
            Err(error) => tracing::error!(version, %error, "another instance's policy version cannot be loaded"),
        }
        true
    }

    async fn apply_stored_binding(&self, group: &str) -> bool {
        let _order = self.bind_lock.lock().await;
        let stored = match self.store.binding(group).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return true,
            Err(error) => {
                tracing::warn!(group, %error, "another instance's binding cannot be read now: read again later");
                return false;
            }
        };
        let (group, version, fallback, at, parameters) = stored;
        let parameters = match super::policies::parameters_of(parameters.as_deref()) {
            Ok(parameters) => parameters,
            Err(error) => {
                tracing::error!(group, %error, "another instance's binding cannot be applied");
                return true;
            }
        };
        // The version may have come in a transaction this round has not read yet.
        for needed in std::iter::once(&version).chain(fallback.as_ref()) {
            if !self.apply_stored_version(needed).await {
                return false;
            }
        }
        let record = BindingRecord { group: group.clone(), version, fallback, bound_at: at, parameters };
        match self.registry.prepare_binding(record) {
            Ok(binding) => self.registry.bind(binding),
            Err(error) => tracing::error!(group, %error, "another instance's binding cannot be applied"),
        }
        true
    }

    // An order another instance changed, of which memory keeps an older copy: replaced by
    // the stored one.
    async fn apply_stored_order(&self, id: &str) {
        let stored = match self.store.order(id).await {
            Ok(Some((_, _, body))) => serde_json::from_str::<OrderRecord>(&body).map_err(|e| e.to_string()),
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(order = id, %error, "another instance's order cannot be read now: read again later");
                self.feed_orders_waiting.lock().push(id.to_owned());
                return;
            }
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                tracing::error!(order = id, %error, "another instance's order cannot be read");
                return;
            }
        };
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
        // (What it holds is counted already: the stock and shipment deltas of the same
        // transaction came before it in the feed.)
        *record = stored;
    }
}

// What reading another instance's record gave.
enum Stored<T> {
    Found(T),
    // Deleted since (or never stored).
    Deleted,
    // Stored, but not as this build reads it (logged): nothing to apply.
    Unreadable,
    // The store did not answer (logged): read it again next round.
    Later,
}

fn clamp_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}
