//! Fulfilment events from locations: picked, packed, shipped, delivered, and a rejection,
//! which routes the shipment again without the location (kits stay whole and together: the
//! re-routed lines keep their kit marks).

use std::fmt::Write as _;

use switchyard_engine::{ExcludingPolicy, InventoryError, Order, OrderLine, Router};

use super::create::explanation_change;
use super::limits;
use super::validate::{engine_order, routing_error};
use super::{Service, ServiceError, event_with_reason, held_shipments, held_units, now, reservation_of};
use crate::records::{
    BindingRecord, EventKind, ExplainedLine, HeldUnits, OrderRecord, OrderStatus, PlanRecord, RoutingCause,
    RoutingRecord, ShipmentState,
};
use crate::registry::Binding;
use crate::store::Change;

/// A location's report on a shipment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfilmentEvent {
    /// `picked`, `packed`, `shipped`, `delivered` or `rejected`.
    pub event: ShipmentState,
    /// The location reporting; may be left out when only one shipment fits.
    pub location: Option<String>,
    /// The carrier (for `shipped`).
    pub carrier: Option<String>,
    /// The tracking number (for `shipped`).
    pub tracking: Option<String>,
    /// Why (kept in the timeline; for `rejected`, why the location cannot ship).
    pub reason: String,
}

fn wrong_state(id: &str, status: OrderStatus, wanted: &str) -> ServiceError {
    ServiceError::conflict("invalid_state", format!("order `{id}` is {} and cannot be {wanted}", status.name()))
}

fn event_kind(state: ShipmentState) -> EventKind {
    match state {
        ShipmentState::Open | ShipmentState::Picked => EventKind::Picked,
        ShipmentState::Packed => EventKind::Packed,
        ShipmentState::Shipped => EventKind::Shipped,
        ShipmentState::Delivered => EventKind::Delivered,
        ShipmentState::Rejected => EventKind::Rejected,
    }
}

// The shipments an event applies to: those at `location` (or all) whose state allows it.
fn shipments_for<'a>(
    id: &str,
    plan: &'a PlanRecord,
    location: Option<&str>,
    allowed: impl Fn(ShipmentState) -> bool,
    what: &str,
) -> Result<Vec<&'a str>, ServiceError> {
    let matching: Vec<&str> = plan
        .shipments
        .iter()
        .filter(|s| allowed(s.state) && location.is_none_or(|l| l == s.location))
        .map(|s| s.location.as_str())
        .collect();
    if matching.is_empty() {
        return Err(match location {
            Some(l) => ServiceError::conflict(
                "no_such_shipment",
                format!("order `{id}` has no shipment from `{l}` that can be {what}"),
            ),
            None => {
                ServiceError::conflict("no_such_shipment", format!("order `{id}` has no shipment that can be {what}"))
            }
        });
    }
    Ok(matching)
}

// The one shipment an event names (or the only one it can apply to).
fn one_shipment<'a>(id: &str, at: Vec<&'a str>) -> Result<&'a str, ServiceError> {
    match at.as_slice() {
        [one] => Ok(one),
        _ => Err(ServiceError::invalid(
            "location_required",
            format!("order `{id}` has several shipments; name the location"),
        )
        .at("location")),
    }
}

impl OrderRecord {
    // The binding the order was routed under (its version and fallback, whatever the group
    // is bound to now): re-routing and returns decide with the policy that made the order.
    pub(super) fn routed_binding(&self, registry: &crate::registry::Registry) -> Result<Binding, ServiceError> {
        registry.prepare_binding(self.routed_binding_record())
    }

    /// The binding it was routed with as a re-optimisation pass routes it, with a release
    /// window of `window` seconds ([`switchyard_engine::lookahead::pass_weight`]).
    pub(super) fn pass_binding(
        &self,
        registry: &crate::registry::Registry,
        window: i64,
    ) -> Result<Binding, ServiceError> {
        registry.prepare_pass_binding(self.routed_binding_record(), window)
    }

    fn routed_binding_record(&self) -> BindingRecord {
        BindingRecord {
            group: self.binding_group.clone(),
            version: self.policy_version.clone(),
            fallback: self.fallback_version.clone(),
            bound_at: String::new(),
            parameters: self.policy_parameters.clone(),
        }
    }
}

impl Service {
    /// Records a fulfilment event from a location: `picked`, `packed`, `shipped` (the units
    /// leave on hand), `delivered`, or `rejected` (the location will not ship it: its units
    /// are released and routed again under the order's policy without that location).
    /// `location` may be left out when the order has one shipment the event can apply to
    /// (or, for `shipped`, to ship every open shipment).
    pub async fn fulfilment_event(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ServiceError> {
        limits::text("reason", &event.reason, limits::MAX_REASON)?;
        limits::text("carrier", event.carrier.as_deref().unwrap_or(""), limits::MAX_NAME)?;
        limits::text("tracking", event.tracking.as_deref().unwrap_or(""), limits::MAX_NAME)?;
        limits::text("location", event.location.as_deref().unwrap_or(""), limits::MAX_ID)?;
        match event.event {
            ShipmentState::Shipped => self.ship(id, event).await,
            ShipmentState::Rejected => self.reject_shipment(id, event).await,
            ShipmentState::Open => Err(ServiceError::invalid("invalid_event", "`open` is not an event").at("event")),
            state => self.advance(id, event, state).await,
        }
    }

    async fn advance(
        &self,
        id: &str,
        event: &FulfilmentEvent,
        state: ShipmentState,
    ) -> Result<OrderRecord, ServiceError> {
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        let Some(plan) = record.plan.clone() else {
            return Err(wrong_state(id, record.status, state.name()));
        };
        let allowed = |current: ShipmentState| match state {
            ShipmentState::Delivered => current == ShipmentState::Shipped,
            _ => current < state && !current.has_left(),
        };
        let at = shipments_for(id, &plan, event.location.as_deref(), allowed, state.name())?;
        let location = one_shipment(id, at)?.to_owned();
        let mut next = record.clone();
        // A location reporting on it releases the order: its plan no longer changes.
        super::reoptimize::release_now(&mut next, now());
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
        next.history.push(event_with_reason(now(), event_kind(state), &location, &event.reason));
        self.commit_order(Some(&*record), &mut next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    async fn ship(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ServiceError> {
        let _order = self.stock_lock.lock().await;
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        if !record.status.holds_stock() {
            return Err(wrong_state(id, record.status, "shipped"));
        }
        let catalog = self.catalog();
        let Some(plan) = record.plan.clone() else {
            return Err(ServiceError::internal(format!("order `{id}` holds stock without a plan")));
        };
        let open = |state: ShipmentState| state < ShipmentState::Shipped;
        let shipping: Vec<String> = shipments_for(id, &plan, event.location.as_deref(), open, "shipped")?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let units: Vec<HeldUnits> =
            record.held_units.iter().filter(|u| shipping.contains(&u.location)).cloned().collect();
        let releases = self.releases();
        let at = now();
        if let Some((unreleased, release)) =
            units.iter().find_map(|u| releases.get(&u.sku).filter(|r| r.at > at.0).map(|r| (u, r)))
        {
            return Err(ServiceError::conflict(
                "not_released",
                format!("`{}` is not released until {}", unreleased.sku, release.at_text),
            ));
        }
        let mut next = record.clone();
        super::reoptimize::release_now(&mut next, now());
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
        let mut detail = shipping.join(", ");
        if let Some(carrier) = &event.carrier {
            let _ = write!(detail, " by {carrier}");
        }
        if let Some(tracking) = &event.tracking {
            let _ = write!(detail, " (tracking {tracking})");
        }
        next.history.push(event_with_reason(at, EventKind::Shipped, &detail, &event.reason));
        let deltas = units
            .iter()
            .map(|u| Change::StockDelta { sku: u.sku.clone(), location: u.location.clone(), delta: -i64::from(u.qty) })
            .collect();
        // Checked against the stock the change will meet: `stock_lock` is held (no on hand
        // changes) and so is the order's lock (its units stay reserved).
        let consumed = reservation_of(&catalog, &units, &[])?;
        if let Err(error) = self.inventory.check_consume(&consumed) {
            let message = match error {
                InventoryError::InsufficientStock { sku, location, requested, available } => format!(
                    "`{}` at `{}` has {available} unit(s) on hand, fewer than the {requested} shipping; \
                     correct the stock level first",
                    catalog.product(sku).sku,
                    catalog.location(location).id
                ),
                other => other.to_string(),
            };
            return Err(ServiceError::conflict("stock_mismatch", message));
        }
        self.commit_order(Some(&*record), &mut next, deltas).await?;
        // INVARIANT: checked above; the locks that make the check hold are still held.
        if let Err(error) = self.inventory.consume(&consumed) {
            tracing::error!(%error, order = id, "a shipment checked before its commit failed in memory");
        }
        *record = next;
        if all_shipped {
            self.metrics.order("shipped");
        }
        Ok(record.clone())
    }

    // A location will not ship its shipment: release it, and route its units again under the
    // order's policy with every location that rejected it excluded.
    async fn reject_shipment(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ServiceError> {
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        if !record.status.holds_stock() {
            return Err(wrong_state(id, record.status, "rejected by a location"));
        }
        let catalog = self.catalog();
        let Some(plan) = record.plan.clone() else {
            return Err(ServiceError::internal(format!("order `{id}` holds stock without a plan")));
        };
        let open = |state: ShipmentState| state < ShipmentState::Shipped;
        let rejecting =
            one_shipment(id, shipments_for(id, &plan, event.location.as_deref(), open, "rejected")?)?.to_owned();
        // What the rejected shipment held.
        let released_units: Vec<HeldUnits> =
            record.held_units.iter().filter(|u| u.location == rejecting).cloned().collect();
        let released_shipments: Vec<_> =
            record.held_shipments.iter().filter(|s| s.location == rejecting).cloned().collect();
        let released = reservation_of(&catalog, &released_units, &released_shipments)?;
        let at = now();
        let remainder = self.remainder_of(&catalog, &record, &plan, &rejecting, at)?;
        let mut excluded = record.excluded_locations.clone();
        excluded.push(rejecting.clone());
        let excluded_ids: Vec<_> = excluded.iter().filter_map(|l| catalog.location_id(l)).collect();
        let binding = record.routed_binding(&self.registry)?;
        let policy = ExcludingPolicy::new(binding.policy, excluded_ids, "the location rejected this order's shipment");
        // Release first, so the remainder may come back to stock this order held elsewhere.
        self.inventory.release(&released).map_err(|e| ServiceError::internal(e.to_string()))?;
        let router =
            Router { catalog: &catalog, inventory: &self.inventory, policy: &policy, config: &self.router_config };
        // By the order's carrier service, when it has one: its parcels dated, late or not.
        let terms = self.delivery_terms_now(&record.request);
        let routed = match &terms {
            None => self.reserve(&router, &remainder).map(|(routed, why)| (routed, why, None)),
            Some(terms) => self.reserve_by_service(&router, terms, &remainder).map(|(r, why, d)| (r, why, Some(d))),
        };
        let (routed, why, dated) = match routed {
            Ok(routed) => routed,
            Err(error) => {
                self.inventory.restore(&released, true).ok();
                return Err(routing_error(error));
            }
        };
        let undo = |routed: &switchyard_engine::Routed| {
            if let Some(reservation) = &routed.reservation {
                self.inventory.release(reservation).ok();
            }
            self.inventory.restore(&released, true).ok();
        };
        // Why the units went where they did, kept with the revision this change writes.
        let routing = why.map(|why| RoutingRecord {
            revision: record.revision + 1,
            at: at.to_string(),
            cause: RoutingCause::Rerouted,
            policy_version: record.policy_version.clone(),
            lines: ExplainedLine::from_engine(&why, &catalog),
        });
        let kept = match routing.as_ref().map(|routing| explanation_change(id, routing)).transpose() {
            Ok(kept) => kept,
            Err(error) => {
                undo(&routed);
                return Err(error);
            }
        };
        let mut rerouted = PlanRecord::from_engine(&routed.plan, &remainder, &catalog, &self.config.currency);
        if let Some(dated) = &dated {
            dated.apply(&mut rerouted);
        }
        let mut next = record.clone();
        super::reoptimize::release_now(&mut next, at);
        next.excluded_locations = excluded;
        next.held_units.retain(|u| u.location != rejecting);
        next.held_shipments.retain(|s| s.location != rejecting);
        if let Some(reservation) = &routed.reservation {
            next.held_units.extend(held_units(&catalog, reservation));
            next.held_shipments.extend(held_shipments(&catalog, reservation));
        }
        next.history.push(event_with_reason(at, EventKind::Rejected, &rejecting, &event.reason));
        if let Some(plan) = next.plan.as_mut() {
            for shipment in plan.shipments.iter_mut().filter(|s| s.location == rejecting && open(s.state)) {
                shipment.state = ShipmentState::Rejected;
            }
            plan.shipments.extend(rerouted.shipments.iter().cloned());
            plan.unfilled.extend(rerouted.unfilled.iter().cloned());
            redate(plan);
        }
        let moved: u32 = rerouted.shipments.iter().flat_map(|s| &s.lines).map(|l| l.qty).sum();
        let lost = rerouted.unfilled_units();
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
        next.history.push(event_with_reason(at, EventKind::Rerouted, &detail, ""));
        let nothing_left =
            next.plan.as_ref().is_some_and(|p| p.shipments.iter().all(|s| s.state == ShipmentState::Rejected));
        if nothing_left {
            next.status = OrderStatus::Rejected;
            next.expires_at = None;
        }
        if let Err(error) = self.commit_order(Some(&*record), &mut next, kept.into_iter().collect()).await {
            undo(&routed);
            return Err(error);
        }
        *record = next;
        Ok(record.clone())
    }

    // The rejected shipment's lines as an order of their own, placed `at`: the order's engine
    // form (kits expanded, so components keep their kit marks) cut to those lines and units.
    fn remainder_of(
        &self,
        catalog: &switchyard_engine::Catalog,
        record: &OrderRecord,
        plan: &PlanRecord,
        rejecting: &str,
        at: switchyard_engine::Timestamp,
    ) -> Result<Order, ServiceError> {
        let mut submitted = record.request.clone();
        submitted.placed_at = Some(at.to_string());
        let full = engine_order(catalog, &submitted, at)?;
        let mut lines: Vec<OrderLine> = Vec::new();
        for shipment in plan.shipments.iter().filter(|s| s.location == rejecting && s.state < ShipmentState::Shipped) {
            for line in &shipment.lines {
                let Some(engine_line) = full.lines.iter().find(|l| l.id == line.line_id) else {
                    return Err(ServiceError::internal(format!("line `{}` left the order", line.line_id)));
                };
                match lines.iter_mut().find(|l| l.id == line.line_id) {
                    Some(existing) => existing.qty += line.qty,
                    None => lines.push(OrderLine { qty: line.qty, ..engine_line.clone() }),
                }
            }
        }
        Ok(Order { lines, ..full })
    }
}

// The day a plan's parcels arrive, again after some were routed anew: the last of those not
// rejected, and whether that is after the day promised.
fn redate(plan: &mut PlanRecord) {
    let last = plan
        .shipments
        .iter()
        .filter(|s| s.state != ShipmentState::Rejected)
        .filter_map(|s| s.delivery_date.clone())
        .max();
    if let Some(delivery) = plan.delivery.as_mut() {
        delivery.late = matches!((&last, &delivery.deliver_by), (Some(last), Some(by)) if last > by);
        delivery.delivery_date = last;
    }
}
