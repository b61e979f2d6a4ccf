//! Fulfilment events from locations: picked, packed, shipped, delivered, and a rejection,
//! which routes the shipment again without the location.

use super::*;

impl Service {
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
    pub(super) fn shipments_for<'a>(
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

    pub(super) async fn advance(
        &self,
        id: &str,
        event: &FulfilmentEvent,
        state: ShipmentState,
    ) -> Result<OrderRecord, ApiError> {
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

    pub(super) async fn ship(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ApiError> {
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
        let releases = self.releases();
        if let Some(unreleased) = units.iter().find(|u| releases.get(&u.sku).is_some_and(|r| r.at > now().0)) {
            return Err(ApiError::conflict(
                "not_released",
                format!("`{}` is not released until {}", unreleased.sku, releases[&unreleased.sku].at_text),
            ));
        }
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
    pub(super) async fn reject_shipment(&self, id: &str, event: &FulfilmentEvent) -> Result<OrderRecord, ApiError> {
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
        let binding = record.routed_binding(&self.registry)?;
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
}
