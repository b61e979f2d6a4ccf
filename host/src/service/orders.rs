//! Orders: dry runs, idempotent creation (route and reserve, or schedule), scheduled orders
//! routed when due, confirm, cancel, and the expiry of unconfirmed reservations.

use super::*;

impl Service {
    pub(super) fn binding_for(&self, catalog: &Catalog, order: &Order) -> Result<Arc<Binding>, ApiError> {
        let mut groups = order.lines.iter().map(|l| catalog.product(l.sku).group.as_str());
        let first = groups.next();
        let group = match first {
            Some(g) if groups.all(|other| other == g) => Some(g),
            _ => None,
        };
        let binding = self.registry.binding_for(group).ok_or_else(|| {
            ApiError::conflict(
                "no_binding",
                format!("no policy is bound to group `{}` and there is no default binding", group.unwrap_or("(mixed)")),
            )
        })?;
        Ok(binding)
    }

    /// Routes an order without reserving: the plan and why.
    pub fn dry_run(&self, request: &OrderRequest) -> Result<DryRun, ApiError> {
        let catalog = self.catalog();
        let expanded = self.engine_order(request, &catalog, now())?;
        let binding = self.binding_for(&catalog, &expanded.order)?;
        let started = Instant::now();
        let (routed, order, dropped) =
            self.route_whole_kits(&catalog, &binding.policy, expanded, false).map_err(routing_error)?;
        let explanation = match &routed {
            Some(_) => {
                let router = Router {
                    catalog: &catalog,
                    inventory: &self.inventory,
                    policy: &*binding.policy,
                    config: &self.router_config,
                };
                let (_, explanation) =
                    WORKSPACE.with(|w| router.explain(&order, &mut w.borrow_mut())).map_err(routing_error)?;
                explanation.display(&catalog).to_string()
            }
            None => "no location can ship the order's kits whole".to_owned(),
        };
        self.metrics.routing.observe(started.elapsed());
        let label = format!("{}@{}", binding.policy.info().name, binding.policy.info().version);
        Ok(DryRun { plan: Self::plan_of(&catalog, routed.as_ref(), &order, dropped, &label), explanation })
    }

    /// Routes and reserves an order, durably; the same order id again returns the order.
    pub async fn create_order(
        &self,
        request: OrderRequest,
        idempotency_key: Option<String>,
    ) -> Result<Created, ApiError> {
        if let Some(key) = &idempotency_key
            && let Some(existing) = self.idempotency.get(key)
            && *existing != request.id
        {
            return Err(ApiError::invalid(
                "idempotency_key_reused",
                format!("this Idempotency-Key was used for order `{}`", existing.value()),
            ));
        }
        let catalog = self.catalog();
        let at = now();
        let expanded = self.engine_order(&request, &catalog, at)?;
        let binding = self.binding_for(&catalog, &expanded.order)?;
        let (group, policy) = (binding.dto.group.clone(), Arc::clone(&binding.policy));
        let order = expanded.order.clone();
        let placeholder = OrderRecord {
            id: request.id.clone(),
            status: OrderStatus::Pending,
            request: request.clone(),
            plan: None,
            held_units: Vec::new(),
            held_shipments: Vec::new(),
            expires_at: None,
            due_at: None,
            idempotency_key: idempotency_key.clone(),
            binding_group: binding.dto.group.clone(),
            policy_version: binding.dto.version.clone(),
            fallback_version: binding.dto.fallback.clone(),
            excluded_locations: Vec::new(),
            returns: Vec::new(),
            backorders: Vec::new(),
            history: Vec::new(),
            expires_at_seconds: None,
        };
        let slot = Arc::new(AsyncMutex::new(placeholder));
        let Ok(mut record) = Arc::clone(&slot).try_lock_owned() else {
            return Err(ApiError::internal("a new order's lock was taken"));
        };
        match self.orders.entry(request.id.clone()) {
            Entry::Occupied(entry) => {
                let existing = Arc::clone(entry.get());
                // Never hold the map's shard lock across an await: the first request may
                // need the shard to finish.
                drop(entry);
                drop(record);
                let existing = existing.lock().await;
                if existing.status == OrderStatus::Pending {
                    return Err(ApiError::conflict("order_in_progress", "the order is being created; retry"));
                }
                if existing.request != request {
                    return Err(ApiError::conflict(
                        "order_exists",
                        format!("order `{}` exists with different content", request.id),
                    ));
                }
                return Ok(Created::Replayed(existing.clone()));
            }
            Entry::Vacant(vacant) => {
                vacant.insert(slot);
            }
        }
        // From here the id is ours; on any failure the slot is removed again (and preorder
        // units counted against their caps are given back).
        let due = match request.due_at(self.config.delivery_lead_secs as i64) {
            Ok(due) => due,
            Err(error) => {
                self.orders.remove(&request.id);
                return Err(error);
            }
        };
        let counted = match self.count_preorders(&request, at) {
            Ok(counted) => counted,
            Err(error) => {
                self.orders.remove(&request.id);
                return Err(error);
            }
        };
        if let Some(due) = due.filter(|due| due.0 > at.0) {
            record.status = OrderStatus::Scheduled;
            record.due_at = Some(due.to_string());
            self.scheduled.lock().insert((due.0, request.id.clone()));
            record.history.push(event(at, "scheduled", format!("routes at {due}")));
            if let Err(error) = self.commit_order(0, &record, Vec::new()).await {
                self.orders.remove(&request.id);
                self.uncount_preorders(&counted);
                return Err(error);
            }
            if let Some(key) = idempotency_key {
                self.idempotency.insert(key, request.id.clone());
            }
            self.metrics.order("scheduled");
            return Ok(Created::New(record.clone()));
        }
        // A shadow plans the order first, on the same stock the live policy is about to see.
        let shadowed = self.shadows.get(&group).map(|s| Arc::clone(s.value())).map(|shadow| {
            let plan_with = |policy: &dyn Policy, config: &RouterConfig| {
                let router = Router { catalog: &catalog, inventory: &self.inventory, policy, config };
                WORKSPACE.with(|w| router.plan(&order, &mut w.borrow_mut())).ok()
            };
            let shadow_plan = plan_with(&*shadow.policy, &self.router_config);
            let greedy_plan = plan_with(&*policy, &self.greedy_config);
            (shadow, shadow_plan, greedy_plan)
        });
        let started = Instant::now();
        let routed = self.route_whole_kits(&catalog, &policy, expanded, true);
        self.metrics.routing.observe(started.elapsed());
        let (routed, order, dropped) = match routed {
            Ok(routed) => routed,
            Err(error) => {
                self.orders.remove(&request.id);
                self.uncount_preorders(&counted);
                self.metrics.order("failed");
                return Err(routing_error(error));
            }
        };
        let label = format!("{}@{}", policy.info().name, policy.info().version);
        let plan = Self::plan_of(&catalog, routed.as_ref(), &order, dropped, &label);
        if let (Some((shadow, shadow_plan, greedy_plan)), Some(routed)) = (&shadowed, &routed) {
            let shadow_plan: Option<&Plan> = shadow_plan.as_ref();
            shadow.record(
                &routed.plan,
                &plan,
                shadow_plan.map(|p| (p, PlanDto::from_engine(p, &order, &catalog))),
                greedy_plan.as_ref(),
            );
        }
        let backorder_within = routed.as_ref().and_then(|r| r.plan.backorder_within);
        let reservation = routed.and_then(|r| r.reservation);
        self.apply_routed(&mut record, &catalog, plan, reservation.as_ref(), at);
        let (inbound_writes, taken) = self.allocate_backorders(&mut record, &*policy, backorder_within, at);
        if !record.backorders.is_empty() {
            if record.status == OrderStatus::Rejected {
                record.status = OrderStatus::Backordered;
                record.history.pop();
            }
            let detail = record
                .backorders
                .iter()
                .map(|b| format!("{} x{} by {}", b.line_id, b.qty, b.promise_date))
                .collect::<Vec<_>>()
                .join(", ");
            record.history.push(event(at, "backordered", detail));
        }
        if let Err(error) = self.commit_order(0, &record, inbound_writes).await {
            if let Some(reservation) = &reservation
                && let Err(release) = self.inventory.release(reservation)
            {
                tracing::error!(%release, order = %request.id, "could not release after a failed commit");
            }
            self.undo_backorders(&taken);
            self.uncount_preorders(&counted);
            record.status = OrderStatus::Pending;
            self.orders.remove(&request.id);
            self.metrics.order("failed");
            return Err(error);
        }
        self.note_waiting(&record);
        if let Some(key) = idempotency_key {
            self.idempotency.insert(key, request.id.clone());
        }
        self.metrics.order(if reservation.is_some() { "reserved" } else { "rejected" });
        Ok(Created::New(record.clone()))
    }

    // Records a routing outcome on an order: reserved (with its expiry) or rejected.
    pub(super) fn apply_routed(
        &self,
        record: &mut OrderRecord,
        catalog: &Catalog,
        plan: PlanDto,
        reservation: Option<&Reservation>,
        at: Timestamp,
    ) {
        let ttl = self.config.reservation_ttl_secs as i64;
        record.due_at = None;
        match reservation {
            Some(reservation) => {
                record.status = OrderStatus::Reserved;
                record.held_units = held_units(catalog, reservation);
                record.held_shipments = held_shipments(catalog, reservation);
                let expires = Timestamp(at.0 + ttl);
                record.expires_at = Some(expires.to_string());
                record.expires_at_seconds = Some(expires.0);
                self.expiring.lock().insert((expires.0, record.id.clone()));
                let mut detail =
                    format!("{} shipment(s), {} by {}", plan.shipments.len(), plan.cost.total, plan.policy);
                let unfilled: u32 = plan.unfilled.iter().map(|u| u.qty).sum();
                if unfilled > 0 {
                    let _ = write!(detail, "; {unfilled} unit(s) unfilled");
                }
                record.history.push(event(at, "reserved", detail));
            }
            None => {
                record.status = OrderStatus::Rejected;
                record.history.push(event(
                    at,
                    "rejected",
                    plan.reason.clone().unwrap_or_else(|| "nothing can ship".to_owned()),
                ));
            }
        }
        record.plan = Some(plan);
    }

    /// Routes every scheduled order that is due; returns how many were routed.
    pub async fn route_due(&self) -> usize {
        let at = now();
        let mut routed = 0;
        for id in pop_due(&self.scheduled, at.0) {
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
    pub(super) async fn route_scheduled(&self, id: &str) -> Result<bool, ApiError> {
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        let at = now();
        if record.status != OrderStatus::Scheduled || record.due_at_seconds().is_none_or(|due| due > at.0) {
            return Ok(false);
        }
        let catalog = self.catalog();
        let mut next = record.clone();
        // Capacity and downtime are those of the day it is routed.
        let mut request = record.request.clone();
        request.placed_at = Some(at.to_string());
        let routed = self.engine_order(&request, &catalog, at).and_then(|expanded| {
            let binding = self.binding_for(&catalog, &expanded.order)?;
            next.binding_group = binding.dto.group.clone();
            next.policy_version = binding.dto.version.clone();
            next.fallback_version = binding.dto.fallback.clone();
            let label = format!("{}@{}", binding.policy.info().name, binding.policy.info().version);
            let (routed, order, dropped) =
                self.route_whole_kits(&catalog, &binding.policy, expanded, true).map_err(routing_error)?;
            let plan = Self::plan_of(&catalog, routed.as_ref(), &order, dropped, &label);
            Ok((plan, routed.and_then(|r| r.reservation)))
        });
        let reservation = match routed {
            Ok((plan, reservation)) => {
                self.apply_routed(&mut next, &catalog, plan, reservation.as_ref(), at);
                reservation
            }
            Err(error) => {
                next.status = OrderStatus::Rejected;
                next.due_at = None;
                next.history.push(event(at, "rejected", format!("could not be routed when due: {}", error.message)));
                None
            }
        };
        if let Err(error) = self.commit_order(record.history.len(), &next, Vec::new()).await {
            if let Some(reservation) = &reservation {
                self.inventory.release(reservation).ok();
            }
            return Err(error);
        }
        self.metrics.order(if reservation.is_some() { "reserved" } else { "rejected" });
        *record = next;
        Ok(true)
    }

    /// Changes a scheduled order (the customer's grace period): the new content replaces the
    /// old, and its due time is computed again.
    pub async fn change_order(&self, id: &str, request: OrderRequest) -> Result<OrderRecord, ApiError> {
        if request.id != id {
            return Err(
                ApiError::invalid("id_mismatch", format!("the body's id `{}` is not `{id}`", request.id)).at("id")
            );
        }
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        if record.status != OrderStatus::Scheduled {
            return Err(ApiError::conflict(
                "invalid_state",
                format!("order `{id}` is {}; only a scheduled order can still be changed", record.status.name()),
            ));
        }
        let at = now();
        self.engine_order(&request, &self.catalog(), at)?;
        let due = request.due_at(self.config.delivery_lead_secs as i64)?.unwrap_or(at);
        let mut next = record.clone();
        next.request = request;
        next.due_at = Some(due.to_string());
        next.history.push(event(at, "changed", format!("routes at {due}")));
        self.scheduled.lock().insert((due.0, id.to_owned()));
        self.commit_order(record.history.len(), &next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    /// An order's current state.
    pub async fn order(&self, id: &str) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let record = slot.lock().await;
        if record.status == OrderStatus::Pending {
            return Err(ApiError::not_found("unknown_order", format!("no order `{id}`")));
        }
        Ok(record.clone())
    }

    pub(super) fn slot(&self, id: &str) -> Result<Arc<AsyncMutex<OrderRecord>>, ApiError> {
        self.orders
            .get(id)
            .map(|s| Arc::clone(s.value()))
            .ok_or_else(|| ApiError::not_found("unknown_order", format!("no order `{id}`")))
    }

    /// Confirms a reserved order: its reservation no longer expires.
    pub async fn confirm(&self, id: &str) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        match record.status {
            OrderStatus::Reserved => {}
            OrderStatus::Confirmed => return Ok(record.clone()),
            other => return Err(wrong_state(id, other, "confirmed")),
        }
        let mut next = record.clone();
        next.status = OrderStatus::Confirmed;
        next.expires_at = None;
        next.expires_at_seconds = None;
        next.history.push(event(now(), "confirmed", ""));
        self.commit_order(record.history.len(), &next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    /// Cancels an order that holds stock: its units are released.
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<OrderRecord, ApiError> {
        self.release(id, OrderStatus::Cancelled, reason).await
    }

    pub(super) async fn release(&self, id: &str, status: OrderStatus, reason: &str) -> Result<OrderRecord, ApiError> {
        let slot = self.slot(id)?;
        let mut record = slot.lock().await;
        if record.status == status {
            return Ok(record.clone());
        }
        if status == OrderStatus::Expired
            && (record.status != OrderStatus::Reserved || record.expires_at_seconds.is_none_or(|e| e > now().0))
        {
            // Confirmed, cancelled or shipped since it was due to expire: nothing to do.
            return Ok(record.clone());
        }
        if record.status == OrderStatus::Scheduled && status == OrderStatus::Cancelled {
            let mut next = record.clone();
            next.status = status;
            next.due_at = None;
            next.history.push(event(now(), status.name(), reason));
            self.commit_order(record.history.len(), &next, Vec::new()).await?;
            *record = next;
            self.metrics.order("cancelled");
            return Ok(record.clone());
        }
        if !record.status.holds_stock() && record.status != OrderStatus::Backordered {
            return Err(wrong_state(id, record.status, status.name()));
        }
        let catalog = self.catalog();
        let mut reservation = reservation_of(&catalog, &record).map_err(ApiError::internal)?;
        // Units still waiting for inbound stock give their promise back.
        let freed: Vec<(String, u32)> =
            record.backorders.iter().filter(|b| b.status == "waiting").map(|b| (b.inbound.clone(), b.qty)).collect();
        // Shipped shipments keep their capacity; release only what is still held.
        reservation.shipments.retain(|s| {
            let location = &catalog.location(s.location).id;
            !record
                .plan
                .as_ref()
                .is_some_and(|p| p.shipments.iter().any(|x| &x.location == location && x.state.has_left()))
        });
        let mut next = record.clone();
        next.status = status;
        next.held_units.clear();
        next.held_shipments.clear();
        next.expires_at = None;
        next.expires_at_seconds = None;
        for backorder in next.backorders.iter_mut().filter(|b| b.status == "waiting") {
            backorder.status = "cancelled".to_owned();
        }
        next.history.push(event(now(), status.name(), reason));
        let inbound_writes = self.inbound_after_freeing(&freed)?;
        self.commit_order(record.history.len(), &next, inbound_writes).await?;
        self.undo_backorders(&freed);
        let releases = self.releases();
        let preorders: Vec<(String, u32)> = record
            .request
            .lines
            .iter()
            .filter(|l| releases.get(&l.sku).is_some_and(|r| r.at > now().0))
            .map(|l| (l.sku.clone(), l.qty))
            .collect();
        self.uncount_preorders(&preorders);
        if let Err(error) = self.inventory.release(&reservation) {
            tracing::error!(%error, order = id, "release after commit failed");
        }
        *record = next;
        self.metrics.order(if status == OrderStatus::Cancelled { "cancelled" } else { "expired" });
        Ok(record.clone())
    }

    /// Releases every reservation past its expiry; returns how many.
    pub async fn expire_due(&self) -> usize {
        let at = now();
        // Entries of orders confirmed, cancelled or shipped since are dropped here unchecked
        // by `release`, which expires only a still-reserved order past its expiry.
        let due = pop_due(&self.expiring, at.0);
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
}
