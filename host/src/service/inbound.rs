//! Inbound stock, backorders and preorders: units no location can ship now may wait for stock
//! expected within the policy's `backorder within` horizon (or, for a product not released
//! yet, whatever the horizon, up to its preorder cap); the order carries a promise date per
//! line, and when the stock is received the waiting orders are served in order of placement.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use switchyard_engine::{Order, OrderLine, Policy, Reservation, ReservedShipment, ReservedUnits, Timestamp};

use super::commit::body_of;
use super::limits::MAX_INBOUND_BATCH;
use super::validate::{engine_order, timestamp};
use super::{Service, ServiceError, event, now, resolve};
use crate::records::{
    Backorder, BackorderStatus, EventKind, HeldShipment, HeldUnits, Inbound, OrderRecord, OrderStatus,
    ShipmentLineRecord, ShipmentRecord, ShipmentState, SubmittedOrder, UnfilledUnits,
};
use crate::store::Change;

/// Stock expected at a location, as a client announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundRequest {
    /// The SKU.
    pub sku: String,
    /// Where it arrives.
    pub location: String,
    /// Units expected.
    pub qty: u32,
    /// When (RFC 3339).
    pub expected_at: String,
}

fn cap_reached(sku: &str, cap: u32) -> ServiceError {
    ServiceError::invalid(
        "preorder_cap_reached",
        format!("`{sku}` is not released yet and its {cap} preorder units are taken"),
    )
}

fn inbound_change(inbound: &Inbound) -> Result<Change, ServiceError> {
    Ok(Change::Inbound {
        id: inbound.id.clone(),
        body: body_of(inbound)?,
        qty: inbound.qty,
        received: inbound.received.is_some(),
    })
}

impl Service {
    /// Announces inbound stock (all or none).
    pub async fn add_inbound(&self, entries: Vec<InboundRequest>) -> Result<Vec<Inbound>, ServiceError> {
        let catalog = self.catalog();
        if entries.len() > MAX_INBOUND_BATCH {
            return Err(ServiceError::invalid(
                "too_many",
                format!("at most {MAX_INBOUND_BATCH} entries at once, not {}", entries.len()),
            )
            .at("entries"));
        }
        let mut created = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let path = format!("entries[{index}]");
            resolve(&catalog, &entry.sku, &entry.location, &path)?;
            timestamp("expected_at", &entry.expected_at).map_err(|e| e.under(&path))?;
            if entry.qty == 0 {
                return Err(ServiceError::invalid("invalid_field", "at least 1 unit").at(format!("{path}.qty")));
            }
            created.push(Inbound {
                id: format!("IN-{}", self.next_inbound.fetch_add(1, Ordering::Relaxed)),
                sku: entry.sku.clone(),
                location: entry.location.clone(),
                qty: entry.qty,
                expected_at: entry.expected_at.clone(),
                allocated: 0,
                received: None,
            });
        }
        let changes = created.iter().map(inbound_change).collect::<Result<Vec<_>, _>>()?;
        self.commit(changes).await?;
        let mut inbound = self.inbound.lock();
        for entry in &created {
            inbound.insert(entry.id.clone(), entry.clone());
        }
        Ok(created)
    }

    /// Every inbound record, oldest first.
    pub fn inbound(&self) -> Vec<Inbound> {
        self.inbound.lock().values().cloned().collect()
    }

    // Promises the plan's unfilled units to inbound stock expected within the policy's
    // horizon (earliest first) and records them on the order; returns the inbound changes and
    // what was promised (to give back if the order is not stored).
    pub(super) fn allocate_backorders(
        &self,
        record: &mut OrderRecord,
        policy: &dyn Policy,
        within: Option<i64>,
        at: Timestamp,
    ) -> (Vec<Change>, Vec<(String, u32)>) {
        let releases = self.releases();
        // The common case, on every order: nothing short, or short with nothing to wait for.
        let waits = |sku: &str| within.is_some() || releases.get(sku).is_some_and(|r| r.at > at.0);
        if !record.plan.as_ref().is_some_and(|p| p.unfilled.iter().any(|u| waits(&u.sku))) {
            return (Vec::new(), Vec::new());
        }
        let allowed = self.backorder_locations(record, policy, at);
        let Some(plan) = record.plan.as_mut() else { return (Vec::new(), Vec::new()) };
        // Lock order: `inbound`, then `receiving`, then `waiting_for`.
        let mut inbound = self.inbound.lock();
        let receiving = self.receiving.lock();
        let mut waiting = self.waiting_for.lock();
        let mut changes = Vec::new();
        let mut taken = Vec::new();
        let mut still_unfilled = Vec::new();
        for unfilled in std::mem::take(&mut plan.unfilled) {
            // A preorder (its SKU is not released yet) waits for inbound stock whatever the
            // horizon; anything else only within the policy's `backorder within`.
            let release = releases.get(&unfilled.sku).filter(|r| r.at > at.0);
            let horizon = match (release, within) {
                (Some(_), _) => i64::MAX / 4,
                (None, Some(within)) => within,
                (None, None) => {
                    still_unfilled.push(unfilled);
                    continue;
                }
            };
            let mut left = unfilled.qty;
            let mut candidates: Vec<&mut Inbound> = inbound
                .values_mut()
                .filter(|i| i.sku == unfilled.sku && i.received.is_none() && i.allocated < i.qty)
                .filter(|i| !receiving.contains(&i.id))
                .filter(|i| allowed.contains(&(unfilled.line_id.clone(), i.location.clone())))
                .filter(|i| Timestamp::parse_rfc3339(&i.expected_at).is_ok_and(|t| t.0 <= at.0.saturating_add(horizon)))
                .collect();
            candidates.sort_by(|a, b| a.expected_at.cmp(&b.expected_at).then(a.id.cmp(&b.id)));
            for entry in candidates {
                if left == 0 {
                    break;
                }
                let qty = left.min(entry.qty - entry.allocated);
                entry.allocated += qty;
                left -= qty;
                taken.push((entry.id.clone(), qty));
                let orders = waiting.entry(entry.id.clone()).or_default();
                if !orders.contains(&record.id) {
                    orders.push(record.id.clone());
                }
                // A preorder is promised for its release date at the earliest.
                let promise_date = match release {
                    Some(release) if release.at_text > entry.expected_at => release.at_text.clone(),
                    _ => entry.expected_at.clone(),
                };
                record.backorders.push(Backorder {
                    line_id: unfilled.line_id.clone(),
                    sku: unfilled.sku.clone(),
                    qty,
                    location: entry.location.clone(),
                    inbound: entry.id.clone(),
                    promise_date,
                    status: BackorderStatus::Waiting,
                    preorder: release.is_some(),
                });
                if let Ok(change) = inbound_change(entry) {
                    changes.push(change);
                }
            }
            if left > 0 {
                still_unfilled.push(UnfilledUnits { qty: left, ..unfilled });
            }
        }
        plan.unfilled = still_unfilled;
        (changes, taken)
    }

    // Counts an order's units of unreleased SKUs against their preorder caps (all or none);
    // returns what was counted, to give back if the order is not stored.
    pub(super) fn count_preorders(
        &self,
        submitted: &SubmittedOrder,
        at: Timestamp,
    ) -> Result<Vec<(String, u32)>, ServiceError> {
        let releases = self.releases();
        if releases.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<(usize, String, u32)> = submitted
            .lines
            .iter()
            .enumerate()
            .filter(|(_, line)| releases.get(&line.sku).is_some_and(|r| r.at > at.0))
            .map(|(index, line)| (index, line.sku.clone(), line.qty))
            .collect();
        let mut counts = self.preordered.lock();
        let mut totals: HashMap<String, u32> = HashMap::new();
        for (index, sku, qty) in &wanted {
            let total = totals.entry(sku.clone()).or_insert_with(|| counts.get(sku).copied().unwrap_or(0));
            *total = total.saturating_add(*qty);
            if let Some(cap) = releases.get(sku).and_then(|r| r.cap)
                && *total > cap
            {
                return Err(cap_reached(sku, cap).at(format!("lines[{index}].qty")));
            }
        }
        for (sku, total) in totals {
            counts.insert(sku, total);
        }
        Ok(wanted.into_iter().map(|(_, sku, qty)| (sku, qty)).collect())
    }

    // Whether the preorder counts (this order's units among them, counted by
    // `count_preorders`) are still within the caps, once other instances' preorders arrived.
    pub(super) fn check_preorder_caps(&self, submitted: &SubmittedOrder, at: Timestamp) -> Result<(), ServiceError> {
        let releases = self.releases();
        let counts = self.preordered.lock();
        for (index, line) in submitted.lines.iter().enumerate() {
            let Some(release) = releases.get(&line.sku).filter(|r| r.at > at.0) else { continue };
            if let Some(cap) = release.cap
                && counts.get(&line.sku).is_some_and(|count| *count > cap)
            {
                return Err(cap_reached(&line.sku, cap).at(format!("lines[{index}].qty")));
            }
        }
        Ok(())
    }

    // A scheduled order's content changes: its units of unreleased SKUs count against their
    // caps instead of the old content's (all or none; undone by `rollback`).
    pub(super) fn recount_preorders<'a>(
        &'a self,
        old: &SubmittedOrder,
        new: &SubmittedOrder,
        at: Timestamp,
        rollback: &mut super::commit::Rollback<'a>,
    ) -> Result<(), ServiceError> {
        let before = self.unreleased_units(old, at);
        self.uncount_preorders(&before);
        match self.count_preorders(new, at) {
            Ok(counted) => {
                rollback.on_failure(move || {
                    self.uncount_preorders(&counted);
                    self.add_preorders(&before);
                });
                Ok(())
            }
            Err(error) => {
                self.add_preorders(&before);
                Err(error)
            }
        }
    }

    // The units of an order's lines whose SKU is not released at `at`.
    pub(super) fn unreleased_units(&self, order: &SubmittedOrder, at: Timestamp) -> Vec<(String, u32)> {
        let releases = self.releases();
        order
            .lines
            .iter()
            .filter(|l| releases.get(&l.sku).is_some_and(|r| r.at > at.0))
            .map(|l| (l.sku.clone(), l.qty))
            .collect()
    }

    // Counts units as preordered without checking the caps (what was counted before).
    fn add_preorders(&self, counted: &[(String, u32)]) {
        let mut counts = self.preordered.lock();
        for (sku, qty) in counted {
            *counts.entry(sku.clone()).or_insert(0) += qty;
        }
    }

    // Gives preorder counts back (an order not stored, or cancelled).
    pub(super) fn uncount_preorders(&self, counted: &[(String, u32)]) {
        let mut counts = self.preordered.lock();
        for (sku, qty) in counted {
            if let Some(count) = counts.get_mut(sku) {
                *count = count.saturating_sub(*qty);
            }
        }
    }

    // `(line id, location)` pairs where the policy would ship an unfilled line from: inbound
    // stock is promised only there.
    fn backorder_locations(&self, record: &OrderRecord, policy: &dyn Policy, at: Timestamp) -> Vec<(String, String)> {
        let Some(plan) = &record.plan else { return Vec::new() };
        let catalog = self.catalog();
        let Ok(full) = engine_order(&catalog, &record.request, at) else { return Vec::new() };
        let lines: Vec<OrderLine> = plan
            .unfilled
            .iter()
            .filter_map(|u| {
                let line = full.lines.iter().find(|l| l.id == u.line_id)?;
                Some(OrderLine { qty: u.qty, ..line.clone() })
            })
            .collect();
        let order = Order { lines, ..full };
        let locations: Vec<String> = {
            let inbound = self.inbound.lock();
            let mut ids: Vec<String> =
                inbound.values().filter(|i| i.received.is_none()).map(|i| i.location.clone()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let location_ids: Vec<_> = locations.iter().filter_map(|l| catalog.location_id(l)).collect();
        if location_ids.is_empty() || location_ids.len() != locations.len() {
            return Vec::new();
        }
        let Ok(allowed) = switchyard_engine::allowed_locations(&catalog, policy, &order, at, &location_ids) else {
            return Vec::new();
        };
        let mut pairs = Vec::new();
        for (line, row) in order.lines.iter().zip(allowed) {
            for (location, ok) in locations.iter().zip(row) {
                if ok {
                    pairs.push((line.id.clone(), location.clone()));
                }
            }
        }
        pairs
    }

    // The changes of inbound records once `freed` promises are given back (applied to memory
    // with `undo_backorders` after the commit).
    pub(super) fn inbound_after_freeing(&self, freed: &[(String, u32)]) -> Result<Vec<Change>, ServiceError> {
        let inbound = self.inbound.lock();
        let mut changes = Vec::new();
        for (id, qty) in freed {
            if let Some(entry) = inbound.get(id) {
                let mut entry = entry.clone();
                entry.allocated = entry.allocated.saturating_sub(*qty);
                changes.push(inbound_change(&entry)?);
            }
        }
        Ok(changes)
    }

    // After a failed commit, or a cancelled order: gives the promised inbound units back, and
    // the order stops waiting for them.
    pub(super) fn undo_backorders(&self, order_id: &str, taken: &[(String, u32)]) {
        let mut inbound = self.inbound.lock();
        let mut waiting = self.waiting_for.lock();
        for (id, qty) in taken {
            if let Some(entry) = inbound.get_mut(id) {
                entry.allocated = entry.allocated.saturating_sub(*qty);
            }
            if let Some(orders) = waiting.get_mut(id) {
                orders.retain(|order| order != order_id);
            }
        }
    }

    // Remembers which orders wait for which inbound record, in order of placement.
    pub(super) fn note_waiting(&self, record: &OrderRecord) {
        let mut waiting = self.waiting_for.lock();
        for backorder in record.backorders.iter().filter(|b| b.status == BackorderStatus::Waiting) {
            let orders = waiting.entry(backorder.inbound.clone()).or_default();
            if !orders.contains(&record.id) {
                orders.push(record.id.clone());
            }
        }
    }

    /// The inbound stock arrived (`qty`: units actually received, default all): it goes on
    /// hand, and the orders waiting for it are served in order of placement, each backorder
    /// reserved whole or, once the receipt runs out, marked `short`. The receipt and every
    /// order it serves are one commit.
    pub async fn receive_inbound(&self, id: &str, qty: Option<u32>) -> Result<Inbound, ServiceError> {
        let _order = self.stock_lock.lock().await;
        let mut entry = {
            let inbound = self.inbound.lock();
            let Some(entry) = inbound.get(id).cloned() else {
                return Err(ServiceError::not_found("unknown_inbound", format!("no inbound `{id}`")));
            };
            if entry.received.is_some() || !self.receiving.lock().insert(id.to_owned()) {
                return Err(ServiceError::conflict("invalid_state", format!("inbound `{id}` was received already")));
            }
            entry
        };
        let result = self.receive_marked(&mut entry, qty).await;
        self.receiving.lock().remove(id);
        result.map(|()| entry)
    }

    // `receive_inbound` once the record is marked as being received (no new promises on it).
    async fn receive_marked(&self, entry: &mut Inbound, qty: Option<u32>) -> Result<(), ServiceError> {
        let id = entry.id.clone();
        let received = qty.unwrap_or(entry.qty);
        let catalog = self.catalog();
        let (sku, location) = resolve(&catalog, &entry.sku, &entry.location, "inbound")?;
        // Checked against the stock the receipt will meet: `stock_lock` is held.
        self.inventory.check_adjust(sku, location, i64::from(received)).map_err(|_| {
            ServiceError::invalid(
                "stock_out_of_range",
                format!("on hand of `{}` at `{}` would pass {}", entry.sku, entry.location, u32::MAX),
            )
            .at("qty")
        })?;
        entry.received = Some(received);
        // Every order promised units of this record is listed (see `waiting_for`); serve them
        // in order of placement. Lock order: `stock_lock`, then each order.
        let at = now();
        let waiting = self.waiting_orders(&id, at).await?;
        let mut left = received;
        let mut served = Vec::new();
        for order_id in &waiting {
            let Ok(slot) = self.slot(order_id).await else { continue };
            let record = slot.lock_owned().await;
            let mut next = record.clone();
            let mut reserved = Reservation::default();
            let waiting_here = |b: &&mut Backorder| b.inbound == id && b.status == BackorderStatus::Waiting;
            for backorder in next.backorders.iter_mut().filter(waiting_here) {
                if backorder.qty <= left {
                    left -= backorder.qty;
                    backorder.status = BackorderStatus::Allocated;
                    reserved.units.push(ReservedUnits { sku, location, qty: backorder.qty });
                } else {
                    backorder.status = BackorderStatus::Short;
                }
            }
            if next == *record {
                continue;
            }
            self.record_receipt(&mut next, &mut reserved, entry, location, at);
            served.push((record, next, reserved));
        }
        let changes = vec![
            inbound_change(entry)?,
            Change::StockDelta { sku: entry.sku.clone(), location: entry.location.clone(), delta: i64::from(received) },
        ];
        let mut orders: Vec<(Option<&OrderRecord>, &mut OrderRecord)> =
            served.iter_mut().map(|(record, next, _)| (Some(&**record), next)).collect();
        self.commit_orders(&mut orders, changes).await?;
        drop(orders);
        // Durable: apply. Reservations first (no ATP check: the units are not on hand yet),
        // then the units, so nobody else sees them free in between.
        self.inbound.lock().insert(id.clone(), entry.clone());
        self.waiting_for.lock().remove(&id);
        if served.iter().any(|(_, _, reserved)| !reserved.units.is_empty()) {
            self.inventory.adjust_stock(sku, location, 0).ok();
        }
        for (mut record, next, reserved) in served {
            if !reserved.units.is_empty()
                && let Err(error) = self.inventory.restore(&reserved, true)
            {
                tracing::error!(%error, inbound = %id, "a backorder's reservation could not be restored");
            }
            *record = next;
        }
        // INVARIANT: checked above under `stock_lock`, which is still held.
        if let Err(error) = self.inventory.adjust_stock(sku, location, i64::from(received)) {
            tracing::error!(%error, inbound = %id, "a receipt checked before its commit failed in memory");
        }
        Ok(())
    }

    // The orders waiting for inbound record `id`, in order of placement: those this instance
    // placed; serving together with other instances, every instance's, as stored (with this
    // instance's own not committed yet after them: the store refuses their promise now).
    async fn waiting_orders(&self, id: &str, at: Timestamp) -> Result<Vec<String>, ServiceError> {
        let local = self.waiting_for.lock().get(id).cloned().unwrap_or_default();
        if !self.config.shared {
            return Ok(local);
        }
        let mut waiting: Vec<String> = Vec::new();
        for (order, _, body) in self.store.waiting_for(id, at.0).await? {
            // The store matched the text; only an order that reads so waits.
            let waits = serde_json::from_str::<OrderRecord>(&body)
                .is_ok_and(|r| r.backorders.iter().any(|b| b.inbound == id && b.status == BackorderStatus::Waiting));
            if waits {
                waiting.push(order);
            }
        }
        for order in local {
            if !waiting.contains(&order) {
                waiting.push(order);
            }
        }
        Ok(waiting)
    }

    // Records on an order what a receipt gave it: the allocated units held and shipped from
    // the receiving location (no expiry: the customer waited), the short ones unfilled.
    fn record_receipt(
        &self,
        next: &mut OrderRecord,
        reserved: &mut Reservation,
        entry: &Inbound,
        location: switchyard_engine::LocationId,
        at: Timestamp,
    ) {
        let catalog = self.catalog();
        let id = &entry.id;
        let allocated: Vec<Backorder> = next
            .backorders
            .iter()
            .filter(|b| &b.inbound == id && b.status == BackorderStatus::Allocated)
            .cloned()
            .collect();
        let short: Vec<Backorder> = next
            .backorders
            .iter()
            .filter(|b| &b.inbound == id && b.status == BackorderStatus::Short)
            .cloned()
            .collect();
        if !allocated.is_empty() {
            let day = catalog.location(location).local_day(at);
            reserved.shipments.push(ReservedShipment { location, day, capacity: None });
            next.held_units.extend(allocated.iter().map(|b| HeldUnits {
                sku: b.sku.clone(),
                location: b.location.clone(),
                qty: b.qty,
            }));
            next.held_shipments.push(HeldShipment { location: entry.location.clone(), day, capacity: None });
            if let Some(plan) = next.plan.as_mut() {
                plan.shipments.push(ShipmentRecord {
                    location: entry.location.clone(),
                    shipment_cost: 0.0,
                    lines: allocated
                        .iter()
                        .map(|b| ShipmentLineRecord {
                            line_id: b.line_id.clone(),
                            sku: b.sku.clone(),
                            qty: b.qty,
                            unit_cost: 0.0,
                        })
                        .collect(),
                    state: ShipmentState::Open,
                    carrier: None,
                    tracking: None,
                    ship_date: None,
                    delivery_date: None,
                });
            }
            if matches!(next.status, OrderStatus::Backordered | OrderStatus::Reserved) {
                next.status = OrderStatus::Confirmed;
                next.expires_at = None;
            }
            let units: u32 = allocated.iter().map(|b| b.qty).sum();
            next.history.push(event(
                at,
                EventKind::BackorderAllocated,
                format!("{units} unit(s) from {id} at {}", entry.location),
            ));
        }
        if !short.is_empty() {
            if let Some(plan) = next.plan.as_mut() {
                for b in &short {
                    plan.unfilled.push(UnfilledUnits { line_id: b.line_id.clone(), sku: b.sku.clone(), qty: b.qty });
                }
            }
            let units: u32 = short.iter().map(|b| b.qty).sum();
            next.history.push(event(at, EventKind::BackorderShort, format!("{units} unit(s): {id} arrived short")));
        }
    }
}
