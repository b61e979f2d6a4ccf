//! Creating an order, as a pipeline of named steps:
//!
//! 1. **admit**: validate (`validate.rs`), claim the idempotency key and the order id once
//!    (a second request with the same id waits for the first and gets its order), count
//!    preorder units against their caps;
//! 2. **resolve the binding** of the order's product group (else the default);
//! 3. **route**: the engine plans and reserves atomically (kits whole; a shadow run plans on
//!    the same stock first);
//! 4. **record**: the plan, what it holds, backorders promised to inbound stock;
//! 5. **commit**: the order, the inbound records it promised units of, and its webhook
//!    deliveries, in one durable commit;
//! 6. **notify**: the schedules, the waiting lists and the idempotency index learn of it.
//!
//! Every step that changes memory before the commit registers its undo with one
//! `Rollback` guard; it is disarmed only once the commit is durable.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use dashmap::mapref::entry::Entry;
use switchyard_engine::{Catalog, Order, Plan, Policy, Routed, Router, RouterConfig, Timestamp};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::commit::{Rollback, body_of};
use super::shipping::{Dated, DeliveryTerms};
use super::validate::{due_at, engine_order, routing_error};
use super::{Service, ServiceError, WORKSPACE, event, held_shipments, held_units, now};
use crate::records::{
    BackorderStatus, EventKind, ExplainedLine, OrderRecord, OrderStatus, PlanRecord, RoutingCause, RoutingRecord,
    SubmittedOrder,
};
use crate::registry::Binding;
use crate::store::Change;

// A routed order, and why (`None`: not kept).
pub(super) struct Explained {
    pub(super) routed: Routed,
    pub(super) lines: Option<Vec<ExplainedLine>>,
    // The parcels' dates by the order's carrier service, when it has one.
    pub(super) dated: Option<Dated>,
}

/// The change that keeps `routing` of order `order_id` in the store.
pub(super) fn explanation_change(order_id: &str, routing: &RoutingRecord) -> Result<Change, ServiceError> {
    Ok(Change::Explanation { order_id: order_id.to_owned(), revision: routing.revision, body: body_of(routing)? })
}

/// What creating an order did.
#[derive(Debug)]
pub enum Created {
    /// A new order, and why it was routed as it was (none when it was scheduled, or
    /// `keep_explanations` is off).
    New(OrderRecord, Option<Box<RoutingRecord>>),
    /// The same order was created before: its current state.
    Replayed(OrderRecord),
}

// An order past the admit step: its engine form, when it is due, and its claimed slot.
struct Admitted {
    catalog: Arc<Catalog>,
    order: Order,
    due: Option<Timestamp>,
    slot: OwnedMutexGuard<OrderRecord>,
}

enum Admission {
    New(Admitted),
    Replay(Box<OrderRecord>),
}

// How many times an order is routed when instances sharing the store race for its stock.
const ROUTING_ATTEMPTS: u32 = 3;

impl Service {
    /// Routes and reserves an order, durably (or schedules it when it holds or asks for a
    /// later delivery); the same order id again returns the order.
    pub async fn create_order(
        &self,
        submitted: SubmittedOrder,
        idempotency_key: Option<String>,
    ) -> Result<Created, ServiceError> {
        let at = now();
        let mut rollback = Rollback::new();
        let Admitted { catalog, order, due, mut slot } =
            match self.admit(&submitted, idempotency_key, at, &mut rollback).await? {
                Admission::New(admitted) => admitted,
                Admission::Replay(record) => return Ok(Created::Replayed(*record)),
            };
        let record = &mut *slot;
        if let Some(due) = due.filter(|due| due.0 > at.0) {
            record.status = OrderStatus::Scheduled;
            record.due_at = Some(due.to_string());
            record.history.push(event(at, EventKind::Scheduled, format!("routes at {due}")));
            self.commit_order(None, record, Vec::new()).await?;
            rollback.disarm();
            self.notify_created(record);
            return Ok(Created::New(record.clone(), None));
        }
        let pending = record.clone();
        let mut catalog = catalog;
        let mut routing_record = None;
        for attempt in 1.. {
            let binding = self.binding_for(&catalog, &order)?;
            let mut routing = Rollback::new();
            let terms = self.delivery_terms(&submitted)?;
            let routed = self.route_new(&catalog, &binding, &order, terms.as_ref(), &mut routing);
            let routed = routed.inspect_err(|_| self.metrics.order("failed"))?;
            let (changes, explained) =
                self.record_routed(record, &catalog, &binding, &order, routed, at, RoutingCause::Placed, &mut routing)?;
            match self.commit_order(None, record, changes).await {
                Ok(()) => {
                    routing.disarm();
                    routing_record = explained;
                    break;
                }
                // Another instance sharing the store took units this one believed free: learn
                // what they did and route again against fresh stock (a few times at most).
                Err(ServiceError::Conflict { code: "stock_changed", .. }) if attempt < ROUTING_ATTEMPTS => {
                    drop(routing);
                    *record = pending.clone();
                    self.metrics.order("rerouted_after_race");
                    self.catch_up_stock().await?;
                    // Another instance's preorders may have taken the last of a cap.
                    self.check_preorder_caps(&submitted, at)?;
                    catalog = self.catalog();
                }
                Err(error) => {
                    self.metrics.order("failed");
                    return Err(error);
                }
            }
        }
        rollback.disarm();
        if record.status.is_closed() {
            // Rejected: it holds no preorder units (as the store and a start count them).
            self.uncount_preorders(&self.unreleased_units(&record.request, at));
        }
        self.notify_created(record);
        Ok(Created::New(record.clone(), routing_record.map(Box::new)))
    }

    // Step 1: validates the order, claims its idempotency key and its id, counts its
    // preorder units. A request for an id that exists replays it (or is refused when its
    // content differs).
    async fn admit<'a>(
        &'a self,
        submitted: &SubmittedOrder,
        idempotency_key: Option<String>,
        at: Timestamp,
        rollback: &mut Rollback<'a>,
    ) -> Result<Admission, ServiceError> {
        let catalog = self.catalog();
        let order = engine_order(&catalog, submitted, at)?;
        let due = due_at(submitted, self.config.delivery_lead_secs as i64)?;
        self.delivery_terms(submitted)?;
        if let Some(key) = &idempotency_key {
            self.claim_idempotency_key(key, &submitted.id, rollback).await?;
        }
        // A closed order memory let go of keeps its id: read it back, so the check below
        // replays or refuses as for any order.
        self.find_slot(&submitted.id).await?;
        let pending = OrderRecord {
            id: submitted.id.clone(),
            status: OrderStatus::Pending,
            request: submitted.clone(),
            plan: None,
            held_units: Vec::new(),
            held_shipments: Vec::new(),
            expires_at: None,
            due_at: None,
            release_at: None,
            idempotency_key,
            binding_group: String::new(),
            policy_version: String::new(),
            fallback_version: None,
            policy_parameters: std::collections::BTreeMap::new(),
            excluded_locations: Vec::new(),
            returns: Vec::new(),
            backorders: Vec::new(),
            history: Vec::new(),
            revision: 0,
        };
        let slot = Arc::new(AsyncMutex::new(pending));
        let Ok(guard) = Arc::clone(&slot).try_lock_owned() else {
            return Err(ServiceError::internal("a new order's lock was taken"));
        };
        match self.orders.entry(submitted.id.clone()) {
            Entry::Occupied(entry) => {
                let existing = Arc::clone(entry.get());
                // Never hold the map's shard lock across an await: the first request may
                // need the shard to finish.
                drop(entry);
                drop(guard);
                let existing = existing.lock().await;
                if existing.status == OrderStatus::Pending {
                    return Err(ServiceError::conflict("order_in_progress", "the order is being created; retry"));
                }
                if existing.request != *submitted {
                    return Err(ServiceError::conflict(
                        "order_exists",
                        format!("order `{}` exists with different content", submitted.id),
                    ));
                }
                return Ok(Admission::Replay(Box::new(existing.clone())));
            }
            Entry::Vacant(vacant) => {
                vacant.insert(slot);
            }
        }
        let id = submitted.id.clone();
        rollback.on_failure(move || {
            self.orders.remove(&id);
        });
        let counted = self.count_preorders(submitted, at)?;
        rollback.on_failure(move || self.uncount_preorders(&counted));
        Ok(Admission::New(Admitted { catalog, order, due, slot: guard }))
    }

    // An `Idempotency-Key` names one order: claimed here for `order_id` unless it names
    // another order already.
    async fn claim_idempotency_key<'a>(
        &'a self,
        key: &str,
        order_id: &str,
        rollback: &mut Rollback<'a>,
    ) -> Result<(), ServiceError> {
        // Keys of orders memory let go of are in the store.
        if !self.idempotency.contains_key(key)
            && let Some(owner) = self.store.order_for_key(key).await?
        {
            self.idempotency.entry(key.to_owned()).or_insert(owner);
        }
        match self.idempotency.entry(key.to_owned()) {
            Entry::Occupied(entry) if entry.get() != order_id => Err(ServiceError::invalid(
                "idempotency_key_reused",
                format!("this Idempotency-Key was used for order `{}`", entry.get()),
            )),
            Entry::Occupied(_) => Ok(()),
            Entry::Vacant(vacant) => {
                vacant.insert(order_id.to_owned());
                let key = key.to_owned();
                rollback.on_failure(move || {
                    self.idempotency.remove(&key);
                });
                Ok(())
            }
        }
    }

    // Step 2: the binding that routes `order`: its lines' product group's, else the default.
    pub(super) fn binding_for(&self, catalog: &Catalog, order: &Order) -> Result<Arc<Binding>, ServiceError> {
        let mut groups = order.lines.iter().map(|l| catalog.product(l.sku).group.as_str());
        let first = groups.next();
        let group = match first {
            Some(g) if groups.all(|other| other == g) => Some(g),
            _ => None,
        };
        self.registry.binding_for(group).ok_or_else(|| {
            ServiceError::conflict(
                "no_binding",
                format!("no policy is bound to group `{}` and there is no default binding", group.unwrap_or("(mixed)")),
            )
        })
    }

    // Step 3: plans and reserves `order` (and explains the decision, unless
    // `keep_explanations` is off); a shadow run of its group plans it first, on the same stock.
    // The reservation is released if a later step fails.
    pub(super) fn route_new<'a>(
        &'a self,
        catalog: &Catalog,
        binding: &Binding,
        order: &Order,
        terms: Option<&DeliveryTerms>,
        rollback: &mut Rollback<'a>,
    ) -> Result<Explained, ServiceError> {
        let policy = &binding.policy;
        let shadowed = self.shadows.get(&binding.record.group).map(|s| Arc::clone(s.value())).map(|shadow| {
            let plan_with = |policy: &dyn Policy, config: &RouterConfig| {
                let router = Router { catalog, inventory: &self.inventory, policy, config };
                WORKSPACE.with(|w| router.plan(order, &mut w.borrow_mut())).ok()
            };
            let shadow_plan = plan_with(&*shadow.policy, &self.router_config);
            let greedy_plan = plan_with(&**policy, &self.greedy_config);
            (shadow, shadow_plan, greedy_plan)
        });
        let started = Instant::now();
        let router = Router { catalog, inventory: &self.inventory, policy: &**policy, config: &self.router_config };
        let routed = match terms {
            None => self.reserve(&router, order).map(|(routed, why)| (routed, why, None)),
            Some(terms) => self.reserve_by_service(&router, terms, order).map(|(r, why, dated)| (r, why, Some(dated))),
        };
        self.metrics.routing.observe(started.elapsed().as_secs_f64());
        let (routed, explanation, dated) = routed.map_err(routing_error)?;
        if let Some(reservation) = routed.reservation.clone() {
            rollback.on_failure(move || {
                if let Err(error) = self.inventory.release(&reservation) {
                    tracing::error!(%error, "could not release a reservation after a failed step");
                }
            });
        }
        if let Some((shadow, shadow_plan, greedy_plan)) = shadowed {
            let live = PlanRecord::from_engine(&routed.plan, order, catalog, &self.config.currency);
            let shadow_plan: Option<&Plan> = shadow_plan.as_ref();
            shadow.record(
                &routed.plan,
                &live,
                shadow_plan.map(|p| (p, PlanRecord::from_engine(p, order, catalog, &self.config.currency))),
                greedy_plan.as_ref(),
            );
        }
        let lines = explanation.map(|explanation| ExplainedLine::from_engine(&explanation, catalog));
        Ok(Explained { routed, lines, dated })
    }

    // Routes and reserves `order` with `router`, and explains the decision unless
    // `keep_explanations` is off.
    pub(super) fn reserve(
        &self,
        router: &Router,
        order: &Order,
    ) -> Result<(Routed, Option<switchyard_engine::Explanation>), switchyard_engine::RoutingError> {
        WORKSPACE.with(|w| {
            let workspace = &mut w.borrow_mut();
            if self.config.keep_explanations {
                router.route_reserve_and_explain(order, workspace).map(|(routed, why)| (routed, Some(why)))
            } else {
                router.route_and_reserve(order, workspace).map(|routed| (routed, None))
            }
        })
    }

    // Step 4: the plan, what it holds and its backorders, on the record. Returns the changes to
    // commit with it (the inbound records whose promised units changed, the explanation kept)
    // and the explanation.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_routed<'a>(
        &'a self,
        record: &mut OrderRecord,
        catalog: &Catalog,
        binding: &Binding,
        order: &Order,
        explained: Explained,
        at: Timestamp,
        cause: RoutingCause,
        rollback: &mut Rollback<'a>,
    ) -> Result<(Vec<Change>, Option<RoutingRecord>), ServiceError> {
        let Explained { routed, lines, dated } = explained;
        // Encoded first: nothing below may fail once memory changes.
        let routing = lines.map(|lines| RoutingRecord {
            // The revision the commit gives the record (one past the one it has).
            revision: record.revision + 1,
            at: at.to_string(),
            cause,
            policy_version: binding.record.version.clone(),
            lines,
        });
        let kept = routing.as_ref().map(|routing| explanation_change(&record.id, routing)).transpose()?;
        record.binding_group = binding.record.group.clone();
        record.policy_version = binding.record.version.clone();
        record.fallback_version = binding.record.fallback.clone();
        record.policy_parameters = binding.record.parameters.clone();
        let backorder_within = routed.plan.backorder_within;
        let mut plan = PlanRecord::from_engine(&routed.plan, order, catalog, &self.config.currency);
        if let Some(dated) = &dated {
            dated.apply(&mut plan);
        }
        self.apply_routed(record, catalog, plan, routed.reservation.as_ref(), at);
        let (inbound_changes, taken) = self.allocate_backorders(record, &*binding.policy, backorder_within, at);
        let order_id = record.id.clone();
        rollback.on_failure(move || self.undo_backorders(&order_id, &taken));
        if !record.backorders.is_empty() {
            if record.status == OrderStatus::Rejected {
                record.status = OrderStatus::Backordered;
                record.history.pop();
            }
            let detail = record
                .backorders
                .iter()
                .filter(|b| b.status == BackorderStatus::Waiting)
                .map(|b| format!("{} x{} by {}", b.line_id, b.qty, b.promise_date))
                .collect::<Vec<_>>()
                .join(", ");
            record.history.push(event(at, EventKind::Backordered, detail));
        }
        let mut changes = inbound_changes;
        changes.extend(kept);
        Ok((changes, routing))
    }

    /// Records a routing outcome on an order: reserved (with its expiry) or rejected.
    pub(super) fn apply_routed(
        &self,
        record: &mut OrderRecord,
        catalog: &Catalog,
        plan: PlanRecord,
        reservation: Option<&switchyard_engine::Reservation>,
        at: Timestamp,
    ) {
        let ttl = self.config.reservation_ttl_secs as i64;
        record.due_at = None;
        match reservation {
            Some(reservation) => {
                record.status = OrderStatus::Reserved;
                record.held_units = held_units(catalog, reservation);
                record.held_shipments = held_shipments(catalog, reservation);
                record.expires_at = Some(Timestamp(at.0 + ttl).to_string());
                let release_after = self.config.release_after_secs.min(i64::MAX as u64) as i64;
                record.release_at =
                    super::reoptimize::release_time(catalog, &plan, at, release_after, &self.location_waves.read())
                        .map(|t| t.to_string());
                let mut detail = format!(
                    "{} shipment(s), {:.2} {} by {}",
                    plan.shipments.len(),
                    plan.cost.total,
                    plan.currency,
                    plan.policy
                );
                let unfilled = plan.unfilled_units();
                if unfilled > 0 {
                    let _ = write!(detail, "; {unfilled} unit(s) unfilled");
                }
                // Shipped late rather than rejected: said where the customer service looks.
                if let Some(delivery) = plan.delivery.as_ref().filter(|d| d.late) {
                    let expected = delivery.delivery_date.as_deref().unwrap_or("?");
                    let promised = delivery.deliver_by.as_deref().unwrap_or("?");
                    let _ = write!(detail, "; late: arrives {expected}, promised {promised}");
                }
                record.history.push(event(at, EventKind::Reserved, detail));
            }
            None => {
                record.status = OrderStatus::Rejected;
                record.release_at = None;
                let reason = plan.reason.clone().unwrap_or_else(|| "nothing can ship".to_owned());
                record.history.push(event(at, EventKind::Rejected, reason));
            }
        }
        record.plan = Some(plan);
    }

    // Step 6: the order is durable; the schedules, the waiting lists and the metrics learn of
    // it.
    fn notify_created(&self, record: &OrderRecord) {
        if let (OrderStatus::Scheduled, Some(due)) = (record.status, record.due_at_seconds()) {
            self.scheduled.lock().insert((due, record.id.clone()));
        }
        self.note_routed(record);
        self.metrics.order(match record.status {
            OrderStatus::Scheduled => "scheduled",
            OrderStatus::Reserved => "reserved",
            _ => "rejected",
        });
    }

    // A routed order's reservation lapses at its expiry; its backorders wait for their
    // inbound stock.
    pub(super) fn note_routed(&self, record: &OrderRecord) {
        if let (OrderStatus::Reserved, Some(expires)) = (record.status, record.expires_at_seconds()) {
            self.expiring.lock().insert((expires, record.id.clone()));
        }
        self.note_waiting(record);
    }
}
