//! Making changes durable: every write of the service reaches the store here, and the one
//! rollback guard that undoes in memory what a failed step left behind.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Serialize;

use super::{Release, Service, ServiceError};
use crate::records::{BackorderStatus, Delivery, DeliveryStatus, OrderRecord, OrderStatus};
use crate::store::Change;

impl Service {
    /// Makes `changes` durable together; `Unavailable` when the store did not.
    pub(super) async fn commit(&self, changes: Vec<Change>) -> Result<(), ServiceError> {
        let started = Instant::now();
        let result = self.store.commit(changes).await;
        self.metrics.commit.observe(started.elapsed().as_secs_f64());
        result.map_err(ServiceError::from)
    }

    /// Commits an order change (`previous`: the order as stored, `None` for a new one) with
    /// `extra` changes, what it changes in the units it holds, and a webhook delivery for every
    /// timeline event `previous` did not have and every subscriber that wants it, all in one
    /// commit; the deliveries are queued in memory once it is durable.
    pub(super) async fn commit_order(
        &self,
        previous: Option<&OrderRecord>,
        next: &mut OrderRecord,
        extra: Vec<Change>,
    ) -> Result<(), ServiceError> {
        self.commit_orders(&mut [(previous, next)], extra).await
    }

    /// [`Service::commit_order`] for several orders at once: all of them, and `extra`, in one
    /// commit.
    pub(super) async fn commit_orders(
        &self,
        orders: &mut [(Option<&OrderRecord>, &mut OrderRecord)],
        extra: Vec<Change>,
    ) -> Result<(), ServiceError> {
        let mut changes = Vec::with_capacity(orders.len() + extra.len());
        for (previous, next) in orders.iter_mut() {
            next.revision = previous.map_or(next.revision, |p| p.revision) + 1;
            changes.push(order_change(next)?);
            changes.extend(reserved_changes(*previous, next));
            changes.extend(shipment_changes(*previous, next));
            changes.extend(promise_changes(*previous, next));
            changes.extend(self.preorder_changes(*previous, next));
        }
        changes.extend(extra);
        let mut queued = Vec::new();
        for (previous, next) in orders.iter() {
            let seen = previous.map_or(0, |p| p.history.len());
            for event in next.history.iter().skip(seen) {
                let name = format!("order.{}", event.event.name());
                let body =
                    || serde_json::json!({ "event": name, "at": event.at, "detail": event.detail, "order": next });
                self.queue_event(&name, body, &mut changes, &mut queued)?;
            }
        }
        self.commit(changes).await?;
        self.deliveries_queued(queued);
        Ok(())
    }

    /// Queues event `name` for every subscriber that wants it: the event's JSON (made by
    /// `body`, only if someone wants it) once, and a delivery per subscriber referring to it,
    /// as changes to commit. A subscriber with `max_pending_deliveries` waiting gets the
    /// delivery recorded as failed instead: one dead subscriber cannot grow the queue forever.
    pub(super) fn queue_event(
        &self,
        name: &str,
        body: impl FnOnce() -> serde_json::Value,
        changes: &mut Vec<Change>,
        queued: &mut Vec<(Delivery, Arc<str>)>,
    ) -> Result<(), ServiceError> {
        let subscribers: Vec<String> = self.webhooks.iter().filter(|s| s.wants(name)).map(|s| s.id.clone()).collect();
        if subscribers.is_empty() {
            return Ok(());
        }
        let event_id = self.next_event.fetch_add(1, Ordering::Relaxed);
        let body: Arc<str> = Arc::from(body().to_string());
        changes.push(Change::WebhookEvent { id: event_id, body: Some(body.to_string()) });
        for subscription in subscribers {
            let waiting = self.pending_deliveries.lock().get(&subscription).copied().unwrap_or(0)
                + queued.iter().filter(|(d, _)| d.subscription == subscription).count();
            let full = waiting >= self.config.max_pending_deliveries;
            let delivery = Delivery {
                id: self.next_delivery.fetch_add(1, Ordering::Relaxed),
                subscription,
                event: name.to_owned(),
                event_id: Some(event_id),
                body: String::new(),
                status: if full { DeliveryStatus::Failed } else { DeliveryStatus::Pending },
                attempts: 0,
                next_attempt_at: 0,
                last_status: None,
                last_error: full.then(|| format!("dropped: {waiting} deliveries were already waiting")),
            };
            changes.push(Change::Delivery { id: delivery.id, body: Some(body_of(&delivery)?) });
            queued.push((delivery, Arc::clone(&body)));
        }
        Ok(())
    }

    /// Queued deliveries are durable: memory learns of them and the lanes wake up.
    pub(super) fn deliveries_queued(&self, queued: Vec<(Delivery, Arc<str>)>) {
        if queued.is_empty() {
            return;
        }
        let mut deliveries = self.deliveries.lock();
        let mut events = self.events.lock();
        for (delivery, body) in queued {
            if let Some(event_id) = delivery.event_id {
                events.entry(event_id).or_insert(body);
            }
            if delivery.status == DeliveryStatus::Pending {
                self.count_pending(&delivery.subscription, 1);
            }
            deliveries.insert(delivery.id, delivery);
        }
        drop((deliveries, events));
        self.delivery_wakeup.notify_one();
    }
}

/// The JSON a record is stored as.
pub(super) fn body_of(record: &impl Serialize) -> Result<String, ServiceError> {
    serde_json::to_string(record).map_err(|e| ServiceError::internal(format!("cannot encode a record: {e}")))
}

/// The change that stores an order.
pub(super) fn order_change(record: &OrderRecord) -> Result<Change, ServiceError> {
    Ok(Change::Order {
        id: record.id.clone(),
        idempotency_key: record.idempotency_key.clone(),
        status: record.status.name().to_owned(),
        body: body_of(record)?,
        keep_until: record.keep_until().unwrap_or(i64::MAX),
        revision: record.revision,
        due: match record.status {
            OrderStatus::Reserved => record.expires_at_seconds(),
            OrderStatus::Scheduled => record.due_at_seconds(),
            _ => None,
        },
        placed: record.created_at_seconds().unwrap_or(0),
    })
}

/// What an order's change does to the units reserved at each position: the units it holds
/// (while its status holds stock, as a restart counts them) after, less before, one
/// [`Change::Reserve`] per position that changes, in (sku, location) order. The store keeps
/// its own count of reserved units with them, and refuses a reservation beyond what is
/// available whatever memory believed.
fn reserved_changes<'a>(previous: Option<&'a OrderRecord>, next: &'a OrderRecord) -> Vec<Change> {
    let mut delta: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    let held = |record: &'a OrderRecord| record.held_units.iter().filter(move |_| record.status.holds_stock());
    for units in previous.into_iter().flat_map(held) {
        *delta.entry((units.sku.as_str(), units.location.as_str())).or_default() -= i64::from(units.qty);
    }
    for units in held(next) {
        *delta.entry((units.sku.as_str(), units.location.as_str())).or_default() += i64::from(units.qty);
    }
    delta
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .map(|((sku, location), delta)| Change::Reserve { sku: sku.to_owned(), location: location.to_owned(), delta })
        .collect()
}

/// What an order's change does to the shipments counted against the daily capacity of the
/// locations that have one: its held shipments after, less before, one [`Change::Shipments`]
/// per (location, day) that changes. (Memory counts every held shipment; only those at a
/// location with a capacity are ever checked, and those are what the store counts.)
fn shipment_changes<'a>(previous: Option<&'a OrderRecord>, next: &'a OrderRecord) -> Vec<Change> {
    let mut delta: BTreeMap<(&str, i64), (i64, Option<u32>)> = BTreeMap::new();
    let capped = |record: &'a OrderRecord| record.held_shipments.iter().filter(|s| s.capacity.is_some());
    for shipment in previous.into_iter().flat_map(capped) {
        delta.entry((shipment.location.as_str(), shipment.day)).or_insert((0, shipment.capacity)).0 -= 1;
    }
    for shipment in capped(next) {
        let entry = delta.entry((shipment.location.as_str(), shipment.day)).or_insert((0, shipment.capacity));
        entry.0 += 1;
        entry.1 = shipment.capacity;
    }
    delta
        .into_iter()
        .filter(|(_, (delta, _))| *delta != 0)
        .map(|((location, day), (delta, capacity))| Change::Shipments {
            location: location.to_owned(),
            day,
            delta,
            capacity,
        })
        .collect()
}

/// What an order's change does to the units promised of inbound records: its backorders
/// (but the cancelled ones) after, less before, one [`Change::Promise`] per record that
/// changes, in id order. (A receipt turns waiting backorders into allocated or short ones:
/// the record's units stay promised, as memory counts them.)
fn promise_changes<'a>(previous: Option<&'a OrderRecord>, next: &'a OrderRecord) -> Vec<Change> {
    let mut delta: BTreeMap<&str, i64> = BTreeMap::new();
    let promised =
        |record: &'a OrderRecord| record.backorders.iter().filter(|b| b.status != BackorderStatus::Cancelled);
    for backorder in previous.into_iter().flat_map(promised) {
        *delta.entry(backorder.inbound.as_str()).or_default() -= i64::from(backorder.qty);
    }
    for backorder in promised(next) {
        *delta.entry(backorder.inbound.as_str()).or_default() += i64::from(backorder.qty);
    }
    delta
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .map(|(inbound, delta)| Change::Promise { inbound: inbound.to_owned(), delta })
        .collect()
}

impl Service {
    /// What an order's change does to the units ordered before their SKU's release: its
    /// preorder units after, less before ([`Service::preorder_units`]), one
    /// [`Change::Preorder`] per SKU that changes, in SKU order, with the cap while the SKU is
    /// not released.
    fn preorder_changes(&self, previous: Option<&OrderRecord>, next: &OrderRecord) -> Vec<Change> {
        let releases = self.releases();
        if releases.is_empty() {
            return Vec::new();
        }
        let mut delta: BTreeMap<&str, i64> = BTreeMap::new();
        for (sku, qty) in previous.into_iter().flat_map(|p| preorder_units(&releases, p)) {
            *delta.entry(sku).or_default() -= i64::from(qty);
        }
        for (sku, qty) in preorder_units(&releases, next) {
            *delta.entry(sku).or_default() += i64::from(qty);
        }
        let at = super::now().0;
        delta
            .into_iter()
            .filter(|(_, delta)| *delta != 0)
            .map(|(sku, delta)| Change::Preorder {
                sku: sku.to_owned(),
                delta,
                cap: releases.get(sku).filter(|release| release.at > at).and_then(|release| release.cap),
            })
            .collect()
    }
}

/// The preorder units of an order, by line: while it is open, the units of each line whose
/// SKU is released after the order was placed (as a start counts them).
pub(super) fn preorder_units<'a>(
    releases: &'a HashMap<String, Release>,
    record: &'a OrderRecord,
) -> impl Iterator<Item = (&'a str, u32)> + 'a {
    let placed = record.created_at_seconds().filter(|_| !record.status.is_closed());
    record.request.lines.iter().filter_map(move |line| {
        let release = releases.get(&line.sku)?;
        (placed? < release.at).then_some((line.sku.as_str(), line.qty))
    })
}

/// Undoes, when dropped armed, what the steps of an operation did in memory before their
/// change was durable: each step registers its undo as it goes, and the operation disarms
/// the guard once the commit succeeded. A failed step, an early return or a panic all leave
/// memory as it was. (The API runs writes to completion, so a client that goes away does not
/// drop an operation half-way.)
pub(super) struct Rollback<'a> {
    undo: Vec<Box<dyn FnOnce() + Send + 'a>>,
}

impl<'a> Rollback<'a> {
    /// Nothing to undo yet.
    pub(super) fn new() -> Rollback<'a> {
        Rollback { undo: Vec::new() }
    }

    /// Registers an undo; undos run in reverse order.
    pub(super) fn on_failure(&mut self, undo: impl FnOnce() + Send + 'a) {
        self.undo.push(Box::new(undo));
    }

    /// The operation succeeded: nothing is undone.
    pub(super) fn disarm(mut self) {
        self.undo.clear();
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        while let Some(undo) = self.undo.pop() {
            undo();
        }
    }
}
