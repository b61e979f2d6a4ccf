//! The service's state as one comparable value: what a restart reads back from the store must
//! equal what memory holds, at any quiet moment. Tests compare the two after every lifecycle
//! scenario; an operator can compare a running service with a fresh one on a copy of its
//! store.

use std::collections::HashSet;
use std::sync::Arc;

use super::Service;
use crate::records::{
    BindingRecord, Delivery, Inbound, LocationRecord, OrderRecord, OrderStatus, ProductRecord, RecurringOrder,
    Subscription, VersionMeta,
};

/// One position's stock: `(sku, location, on hand, reserved, safety stock)`.
pub type PositionState = (String, String, u32, u32, u32);

/// Everything the service holds, sorted, in merchant ids.
#[derive(Clone, Debug, PartialEq)]
pub struct StateView {
    /// Locations, in catalog order.
    pub locations: Vec<LocationRecord>,
    /// Products, in catalog order (kits with their components).
    pub products: Vec<ProductRecord>,
    /// Every position that holds anything.
    pub positions: Vec<PositionState>,
    /// Shipments counted against capacity: `(location, day, shipments)`.
    pub shipments: Vec<(String, i64, u32)>,
    /// Every order but those being created (those memory let go of read from the store).
    pub orders: Vec<OrderRecord>,
    /// Inbound stock.
    pub inbound: Vec<Inbound>,
    /// Recurring orders.
    pub recurring: Vec<RecurringOrder>,
    /// Versions, in upload order.
    pub versions: Vec<VersionMeta>,
    /// Live bindings.
    pub bindings: Vec<BindingRecord>,
    /// Every binding change.
    pub binding_history: Vec<BindingRecord>,
    /// `(Idempotency-Key, order id)`.
    pub idempotency: Vec<(String, String)>,
    /// Units accepted as preorders, per SKU.
    pub preordered: Vec<(String, u32)>,
    /// Webhook subscriptions.
    pub webhooks: Vec<Subscription>,
    /// Carrier services, by id.
    pub carrier_services: Vec<crate::records::CarrierServiceRecord>,
    /// Webhook deliveries.
    pub deliveries: Vec<Delivery>,
    /// The ATP feed.
    pub atp_feed: Vec<crate::records::AtpChange>,
}

impl Service {
    /// The state as of now (take it when no write is in flight to compare it).
    pub async fn state_view(&self) -> StateView {
        let catalog = self.catalog();
        let positions = self
            .inventory
            .all_positions()
            .into_iter()
            .filter(|(_, p)| p.on_hand > 0 || p.reserved > 0 || p.safety_stock > 0)
            .map(|(sku, p)| {
                let location = catalog.location(p.location).id.clone();
                (catalog.product(sku).sku.clone(), location, p.on_hand, p.reserved, p.safety_stock)
            })
            .collect();
        let shipments = self
            .inventory
            .all_shipment_counts()
            .into_iter()
            .map(|(location, day, count)| (catalog.location(location).id.clone(), day, count))
            .collect();
        let mut orders = Vec::new();
        let mut idempotency: Vec<(String, String)> =
            self.idempotency.iter().map(|e| (e.key().clone(), e.value().clone())).collect();
        let slots: Vec<_> = self.orders.iter().map(|e| (e.key().clone(), Arc::clone(e.value()))).collect();
        let in_memory: HashSet<String> = slots.iter().map(|(id, _)| id.clone()).collect();
        for (_, slot) in slots {
            let record = slot.lock().await;
            if record.status != OrderStatus::Pending {
                orders.push(record.clone());
            }
        }
        // The orders memory let go of, as the store has them.
        match self.store.all_orders().await {
            Ok(stored) => {
                for (id, key, body) in stored.into_iter().filter(|(id, _, _)| !in_memory.contains(id)) {
                    match serde_json::from_str::<OrderRecord>(&body) {
                        Ok(record) => orders.push(record),
                        Err(error) => tracing::warn!(order = %id, %error, "a stored order cannot be read"),
                    }
                    if let Some(key) = key {
                        idempotency.push((key, id));
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "the stored orders cannot be read"),
        }
        orders.sort_by(|a, b| a.id.cmp(&b.id));
        idempotency.sort();
        idempotency.dedup();
        let mut recurring = Vec::new();
        let slots: Vec<_> = self.recurring.iter().map(|e| Arc::clone(e.value())).collect();
        for slot in slots {
            recurring.push(slot.lock().await.clone());
        }
        recurring.sort_by(|a, b| a.id.cmp(&b.id));
        let mut preordered: Vec<(String, u32)> =
            self.preordered.lock().iter().filter(|(_, n)| **n > 0).map(|(s, n)| (s.clone(), *n)).collect();
        preordered.sort();
        let mut webhooks: Vec<Subscription> = self.webhooks.iter().map(|e| e.value().clone()).collect();
        webhooks.sort_by(|a, b| a.id.cmp(&b.id));
        StateView {
            locations: catalog.locations().iter().map(|l| self.location_record(l)).collect(),
            products: catalog.products().iter().map(|p| self.product_record(p)).collect(),
            positions,
            shipments,
            orders,
            inbound: self.inbound(),
            recurring,
            versions: self.registry.versions(),
            bindings: self.registry.bindings(),
            binding_history: self.registry.history(),
            idempotency,
            preordered,
            webhooks,
            carrier_services: self.carrier_services(),
            deliveries: self.deliveries.lock().values().cloned().collect(),
            atp_feed: self.atp_feed.lock().iter().cloned().collect(),
        }
    }
}
