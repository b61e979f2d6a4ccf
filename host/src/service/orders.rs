//! Orders after (and beside) creation: dry runs, scheduled orders routed when due and changed
//! until then, reads, confirm, cancel, and the expiry of unconfirmed reservations.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use switchyard_engine::Router;
use tokio::sync::Mutex as AsyncMutex;

use super::commit::Rollback;
use super::validate::{due_at, engine_order, routing_error};
use super::{Service, ServiceError, WORKSPACE, event, now, pop_due, reservation_of_order};
use crate::records::{
    BackorderStatus, EventKind, ExplainedLine, OrderRecord, OrderStatus, PlanRecord, RoutingCause, RoutingRecord,
    SubmittedOrder,
};

/// The result of a dry run.
#[derive(Clone, Debug, PartialEq)]
pub struct DryRun {
    /// The plan.
    pub plan: PlanRecord,
    /// Per line and candidate, why it was chosen or not (text).
    pub explanation: String,
    /// The same as data: per line, every candidate location and what became of it.
    pub lines: Vec<ExplainedLine>,
}

/// A page of listed orders.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderPage {
    /// Newest placed first.
    pub orders: Vec<OrderRecord>,
    /// Where the next page begins (`(placed, id)` of the last order here); `None`: no more.
    pub next: Option<(i64, String)>,
}

pub(super) fn wrong_state(id: &str, status: OrderStatus, wanted: &str) -> ServiceError {
    ServiceError::conflict("invalid_state", format!("order `{id}` is {} and cannot be {wanted}", status.name()))
}

impl Service {
    /// Routes an order without reserving: the plan and why.
    pub fn dry_run(&self, submitted: &SubmittedOrder) -> Result<DryRun, ServiceError> {
        self.dry_run_with(submitted, None)
    }

    /// [`Service::dry_run`] with `policy` instead of the order's binding (`None`: the binding).
    pub fn dry_run_with(
        &self,
        submitted: &SubmittedOrder,
        policy: Option<&dyn switchyard_engine::Policy>,
    ) -> Result<DryRun, ServiceError> {
        let catalog = self.catalog();
        let order = engine_order(&catalog, submitted, now())?;
        // The same rules as a real order: a hold or delivery date that does not read is refused
        // here too, though a dry run routes now whatever they say.
        due_at(submitted, self.config.delivery_lead_secs as i64)?;
        let binding;
        let policy = match policy {
            Some(policy) => policy,
            None => {
                binding = self.binding_for(&catalog, &order)?;
                &*binding.policy
            }
        };
        let started = Instant::now();
        let router = Router { catalog: &catalog, inventory: &self.inventory, policy, config: &self.router_config };
        let planned = match self.delivery_terms(submitted)? {
            None => WORKSPACE
                .with(|w| router.explain(&order, &mut w.borrow_mut()))
                .map(|(plan, why)| (plan, Some(why), None)),
            Some(terms) => self.plan_by_service(&router, &terms, &order).map(|(plan, why, d)| (plan, why, Some(d))),
        };
        let (plan, explanation, dated) = planned.map_err(routing_error)?;
        self.metrics.routing.observe(started.elapsed().as_secs_f64());
        let mut record = PlanRecord::from_engine(&plan, &order, &catalog, &self.config.currency);
        if let Some(dated) = &dated {
            dated.apply(&mut record);
        }
        Ok(DryRun {
            plan: record,
            explanation: explanation.as_ref().map(|why| why.display(&catalog).to_string()).unwrap_or_default(),
            lines: explanation.map(|why| ExplainedLine::from_engine(&why, &catalog)).unwrap_or_default(),
        })
    }

    /// A page of the orders `query` selects from the store, newest placed first (open and
    /// closed, all of them: the store has every committed change): at most `query.limit`,
    /// and no more stored JSON than `max_list_bytes` (the page stops early past it). A
    /// stored body this build cannot read is left out (and logged).
    pub async fn list_orders(&self, mut query: crate::store::OrderQuery) -> Result<OrderPage, ServiceError> {
        // Read in chunks, so a page of large orders stops at the budget without reading more.
        const CHUNK: usize = 50;
        let wanted = query.limit;
        let mut orders = Vec::new();
        let (mut bytes, mut seen) = (0usize, 0usize);
        let mut last = None;
        while seen < wanted && bytes < self.config.max_list_bytes {
            query.limit = (wanted - seen).min(CHUNK);
            let chunk = self.store.list_orders(query.clone()).await?;
            let complete = chunk.len() == query.limit;
            for (placed, id, body) in chunk {
                seen += 1;
                bytes = bytes.saturating_add(body.len());
                match serde_json::from_str::<OrderRecord>(&body) {
                    Ok(record) => orders.push(record),
                    Err(error) => tracing::warn!(order = %id, %error, "a stored order cannot be read: not listed"),
                }
                last = Some((placed, id));
                if bytes >= self.config.max_list_bytes {
                    break;
                }
            }
            query.after.clone_from(&last);
            if bytes >= self.config.max_list_bytes {
                // Stopped at the budget: the next page goes on from the last order here.
                break;
            }
            if !complete {
                // The store has no more.
                return Ok(OrderPage { orders, next: None });
            }
        }
        Ok(OrderPage { orders, next: last })
    }

    /// Routes every scheduled order that is due; returns how many were routed.
    pub async fn route_due(&self) -> usize {
        let at = now();
        let mut routed = 0;
        for id in self.due(&self.scheduled, "scheduled", at.0).await {
            match self.route_scheduled(&id).await {
                Ok(true) => routed += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(order = %id, %error, "scheduled order not routed"),
            }
        }
        routed
    }

    // Routes a scheduled order if it is still scheduled and due (a changed order has a newer
    // entry in the schedule); `false` when it was not.
    async fn route_scheduled(&self, id: &str) -> Result<bool, ServiceError> {
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        let at = now();
        if record.status != OrderStatus::Scheduled || record.due_at_seconds().is_none_or(|due| due > at.0) {
            return Ok(false);
        }
        let catalog = self.catalog();
        let mut next = record.clone();
        // Capacity and downtime are those of the day it is routed.
        let mut submitted = record.request.clone();
        submitted.placed_at = Some(at.to_string());
        let mut rollback = Rollback::new();
        // The same steps as an order placed now: route, then record (backorders included).
        let routed = engine_order(&catalog, &submitted, at).and_then(|order| {
            let binding = self.binding_for(&catalog, &order)?;
            let terms = self.delivery_terms_now(&next.request);
            let routed = self.route_new(&catalog, &binding, &order, terms.as_ref(), &mut rollback)?;
            self.record_routed(&mut next, &catalog, &binding, &order, routed, at, RoutingCause::Due, &mut rollback)
        });
        let inbound_changes = match routed {
            Ok((changes, _)) => changes,
            Err(error) => {
                // Whatever routing reserved before the step that failed is released.
                drop(std::mem::replace(&mut rollback, Rollback::new()));
                next = record.clone();
                next.status = OrderStatus::Rejected;
                next.due_at = None;
                let detail = format!("could not be routed when due: {}", error.message());
                next.history.push(event(at, EventKind::Rejected, detail));
                Vec::new()
            }
        };
        self.commit_order(Some(&*record), &mut next, inbound_changes).await?;
        rollback.disarm();
        self.metrics.order(if next.status == OrderStatus::Reserved { "reserved" } else { "rejected" });
        *record = next;
        self.note_routed(&record);
        Ok(true)
    }

    /// Changes a scheduled order (the customer's grace period): the new content replaces the
    /// old, and its due time is computed again.
    pub async fn change_order(&self, id: &str, submitted: SubmittedOrder) -> Result<OrderRecord, ServiceError> {
        if submitted.id != id {
            return Err(ServiceError::invalid(
                "id_mismatch",
                format!("the body's id `{}` is not `{id}`", submitted.id),
            )
            .at("id"));
        }
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        if record.status != OrderStatus::Scheduled {
            return Err(ServiceError::conflict(
                "invalid_state",
                format!("order `{id}` is {}; only a scheduled order can still be changed", record.status.name()),
            ));
        }
        let at = now();
        engine_order(&self.catalog(), &submitted, at)?;
        let due = due_at(&submitted, self.config.delivery_lead_secs as i64)?.unwrap_or(at);
        // The new content takes the old one's place under the preorder caps.
        let mut rollback = Rollback::new();
        self.recount_preorders(&record.request, &submitted, at, &mut rollback)?;
        let mut next = record.clone();
        next.request = submitted;
        next.due_at = Some(due.to_string());
        next.history.push(event(at, EventKind::Changed, format!("routes at {due}")));
        self.commit_order(Some(&*record), &mut next, Vec::new()).await?;
        rollback.disarm();
        self.scheduled.lock().insert((due.0, id.to_owned()));
        *record = next;
        Ok(record.clone())
    }

    /// An order's current state.
    pub async fn order(&self, id: &str) -> Result<OrderRecord, ServiceError> {
        let slot = self.slot(id).await?;
        let record = slot.lock().await;
        if record.status == OrderStatus::Pending {
            return Err(ServiceError::not_found("unknown_order", format!("no order `{id}`")));
        }
        Ok(record.clone())
    }

    /// Why order `id` was routed as it was, every time it was (oldest first), from the store.
    /// A kept explanation this build cannot read is left out (and logged).
    pub async fn routings(&self, id: &str) -> Result<Vec<RoutingRecord>, ServiceError> {
        // An unknown order is not found, as everywhere else.
        self.order(id).await?;
        let bodies = self.store.routings(id).await?;
        Ok(bodies
            .iter()
            .filter_map(|body| {
                serde_json::from_str(body)
                    .inspect_err(|error| tracing::error!(order = id, %error, "a kept explanation cannot be read"))
                    .ok()
            })
            .collect())
    }

    /// Order `id`'s slot: from memory, else (a closed order memory let go of) read from the
    /// store and kept in memory until the next sweep (`evict_closed_orders`).
    pub(super) async fn slot(&self, id: &str) -> Result<Arc<AsyncMutex<OrderRecord>>, ServiceError> {
        self.find_slot(id).await?.ok_or_else(|| ServiceError::not_found("unknown_order", format!("no order `{id}`")))
    }

    /// [`Service::slot`], `None` when there is no such order.
    pub(super) async fn find_slot(&self, id: &str) -> Result<Option<Arc<AsyncMutex<OrderRecord>>>, ServiceError> {
        if let Some(slot) = self.orders.get(id) {
            return Ok(Some(Arc::clone(slot.value())));
        }
        let _reading = self.reading_back.read().await;
        let Some((_, _, body)) = self.store.order(id).await? else { return Ok(None) };
        // Serving together with other instances: what the transaction that wrote it did to
        // stock is in memory before anything is done with it (releasing units memory has not
        // counted yet would fail). The caller may hold the stock lock: only stock and orders.
        self.catch_up_stock().await?;
        let record: OrderRecord = serde_json::from_str(&body)
            .map_err(|e| ServiceError::internal(format!("stored order `{id}` cannot be read: {e}")))?;
        // Another request may have read it meanwhile: one slot per order, the first one.
        match self.orders.entry(id.to_owned()) {
            dashmap::mapref::entry::Entry::Occupied(entry) => Ok(Some(Arc::clone(entry.get()))),
            dashmap::mapref::entry::Entry::Vacant(entry) => {
                // Its shipments count again while it is in memory, as they stop counting when
                // the sweep lets go of it. (Serving together with other instances, memory's
                // counts follow the store's instead: they never stopped counting.)
                let shipments = super::reservation_of(&self.catalog(), &[], &record.held_shipments)?;
                let slot = Arc::new(AsyncMutex::new(record));
                entry.insert(Arc::clone(&slot));
                if !self.config.shared
                    && let Err(error) = self.inventory.restore(&shipments, false)
                {
                    tracing::warn!(order = id, %error, "a closed order's shipments could not be counted");
                }
                Ok(Some(slot))
            }
        }
    }

    /// Lets go of the closed orders memory no longer needs (`OrderRecord::keep_until`: their
    /// shipments' days are over) and no request is using; they are read from the store when
    /// asked for. Their shipments stop counting against those days' capacity, as after a
    /// restart, which does not read them. Returns how many.
    pub fn evict_closed_orders(&self) -> usize {
        // Not while an order is being read back (the next sweep will do).
        let Ok(_alone) = self.reading_back.try_write() else { return 0 };
        let at = now().0;
        let evictable = |record: &OrderRecord| record.keep_until().is_some_and(|until| until <= at);
        let candidates: Vec<String> = self
            .orders
            .iter()
            .filter(|e| e.value().try_lock().is_ok_and(|r| evictable(&r)))
            .map(|e| e.key().clone())
            .collect();
        let catalog = self.catalog();
        let mut evicted = 0;
        for id in candidates {
            // Only if nothing else holds the slot: a request that has it may be about to
            // change the order, and a second slot read from the store would lose that change.
            let removed = self
                .orders
                .remove_if(&id, |_, slot| Arc::strong_count(slot) == 1 && slot.try_lock().is_ok_and(|r| evictable(&r)));
            let Some((_, slot)) = removed else { continue };
            let Ok(record) = slot.try_lock() else { continue };
            if let Some(key) = &record.idempotency_key {
                self.idempotency.remove_if(key, |_, order| *order == id);
            }
            if self.config.shared {
                // Memory's shipment counts follow the store's, which keeps counting them.
                evicted += 1;
                continue;
            }
            match super::reservation_of(&catalog, &[], &record.held_shipments) {
                Ok(shipments) => {
                    if let Err(error) = self.inventory.release(&shipments) {
                        tracing::warn!(order = %id, %error, "a closed order's shipments were not counted");
                    }
                }
                Err(error) => tracing::warn!(order = %id, %error, "a closed order's shipments name what is gone"),
            }
            evicted += 1;
        }
        evicted
    }

    /// Confirms a reserved order: its reservation no longer expires.
    pub async fn confirm(&self, id: &str) -> Result<OrderRecord, ServiceError> {
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        match record.status {
            OrderStatus::Reserved => {}
            OrderStatus::Confirmed => return Ok(record.clone()),
            other => return Err(wrong_state(id, other, "confirmed")),
        }
        let mut next = record.clone();
        next.status = OrderStatus::Confirmed;
        next.expires_at = None;
        next.history.push(event(now(), EventKind::Confirmed, ""));
        self.commit_order(Some(&*record), &mut next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    /// Cancels an order that holds stock (or waits for it, or is scheduled): its units and
    /// promises are released.
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<OrderRecord, ServiceError> {
        super::limits::text("reason", reason, super::limits::MAX_REASON)?;
        self.release(id, OrderStatus::Cancelled, reason).await
    }

    // Cancels or expires an order: commits first, then releases what it held.
    async fn release(&self, id: &str, status: OrderStatus, reason: &str) -> Result<OrderRecord, ServiceError> {
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        let at = now();
        let kind = if status == OrderStatus::Expired { EventKind::Expired } else { EventKind::Cancelled };
        if record.status == status {
            return Ok(record.clone());
        }
        if status == OrderStatus::Expired
            && (record.status != OrderStatus::Reserved || record.expires_at_seconds().is_none_or(|e| e > at.0))
        {
            // Confirmed, cancelled or shipped since it was due to expire: nothing to do.
            return Ok(record.clone());
        }
        if record.status == OrderStatus::Scheduled && status == OrderStatus::Cancelled {
            let mut next = record.clone();
            next.status = status;
            next.due_at = None;
            next.history.push(event(at, kind, reason));
            self.commit_order(Some(&*record), &mut next, Vec::new()).await?;
            *record = next;
            self.metrics.order("cancelled");
            return Ok(record.clone());
        }
        if !record.status.holds_stock() && record.status != OrderStatus::Backordered {
            return Err(wrong_state(id, record.status, status.name()));
        }
        let catalog = self.catalog();
        let mut reservation = reservation_of_order(&catalog, &record)?;
        // Units still waiting for inbound stock give their promise back.
        let freed: Vec<(String, u32)> = record
            .backorders
            .iter()
            .filter(|b| b.status == BackorderStatus::Waiting)
            .map(|b| (b.inbound.clone(), b.qty))
            .collect();
        // Shipments that left keep their capacity; release only what is still held.
        let has_left = |location: &str| {
            record
                .plan
                .as_ref()
                .is_some_and(|p| p.shipments.iter().any(|x| x.location == location && x.state.has_left()))
        };
        reservation.shipments.retain(|s| !has_left(&catalog.location(s.location).id));
        let mut next = record.clone();
        next.status = status;
        next.held_units.clear();
        next.held_shipments.retain(|s| has_left(&s.location));
        next.expires_at = None;
        for backorder in next.backorders.iter_mut().filter(|b| b.status == BackorderStatus::Waiting) {
            backorder.status = BackorderStatus::Cancelled;
        }
        next.history.push(event(at, kind, reason));
        let inbound_changes = self.inbound_after_freeing(&freed)?;
        self.commit_order(Some(&*record), &mut next, inbound_changes).await?;
        self.undo_backorders(id, &freed);
        let releases = self.releases();
        let preorders: Vec<(String, u32)> =
            super::commit::preorder_units(&releases, &record).map(|(sku, qty)| (sku.to_owned(), qty)).collect();
        self.uncount_preorders(&preorders);
        if let Err(error) = self.inventory.release(&reservation) {
            tracing::error!(%error, order = id, "release after commit failed");
        }
        *record = next;
        self.metrics.order(if status == OrderStatus::Cancelled { "cancelled" } else { "expired" });
        Ok(record.clone())
    }

    /// Serving together with other instances: forgets the expiries and due times of this
    /// instance's own orders once they have passed (whichever instance runs that work finds
    /// them in the store), so an instance that does not run it keeps no growing list.
    pub fn forget_passed_due_times(&self) {
        if self.config.shared {
            let at = now().0;
            pop_due(&self.expiring, at);
            pop_due(&self.scheduled, at);
        }
    }

    // What is due at `at` in `schedule` (taken out of it); serving together with other
    // instances, also what the store says is due, whichever instance placed it.
    async fn due(&self, schedule: &Mutex<BTreeSet<(i64, String)>>, status: &str, at: i64) -> Vec<String> {
        let mut due = pop_due(schedule, at);
        if self.config.shared {
            match self.store.due_orders(status, at).await {
                Ok(stored) => due.extend(stored),
                Err(error) => tracing::warn!(%error, status, "cannot read the orders due from the store"),
            }
            due.sort_unstable();
            due.dedup();
        }
        due
    }

    /// Releases every reservation past its expiry; returns how many.
    pub async fn expire_due(&self) -> usize {
        let at = now();
        // Entries of orders confirmed, cancelled or shipped since are dropped here unchecked
        // by `release`, which expires only a still-reserved order past its expiry.
        let due = self.due(&self.expiring, "reserved", at.0).await;
        let mut expired = 0;
        for id in due {
            match self.release(&id, OrderStatus::Expired, "not confirmed before the reservation expired").await {
                Ok(record) if record.status == OrderStatus::Expired => expired += 1,
                Ok(_) => {}
                Err(error) => tracing::warn!(order = %id, %error, "could not expire"),
            }
        }
        expired
    }

    /// Every order held in memory, by id (what a restart must read back the same).
    pub async fn orders_in_memory(&self) -> Vec<OrderRecord> {
        let slots: Vec<_> = self.orders.iter().map(|e| Arc::clone(e.value())).collect();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let record = slot.lock().await;
            if record.status != OrderStatus::Pending {
                out.push(record.clone());
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}
