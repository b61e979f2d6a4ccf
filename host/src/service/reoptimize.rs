//! Release windows and re-optimisation of the unreleased orders (docs/OPTIMIZER.md, "The
//! stream").
//!
//! With `release_after_secs` set, an order routed now is released to its locations for picking
//! only at its `release_at`. Until then a pass ([`Service::reoptimize`], every
//! `reoptimize_every_secs` and on demand) may re-plan it together with the other unreleased
//! orders: the engine's [`switchyard_engine::reoptimize`] searches on a private copy of the
//! stock, each order under its own binding's policy and, for an order with a carrier service,
//! only among the locations that still deliver by its promised day (so a pass never makes an
//! order miss a promise). A policy that looks ahead is priced at each order's pass weight
//! ([`switchyard_engine::lookahead::pass_weight`]): only the demand it forecasts beyond the
//! order's release window, from when it was routed to its `release_at`, a cool-down or a
//! wave (the rest joins the pool as real orders). A fulfilment event, or the
//! merchant's release (`POST /v1/orders/{id}/release`), releases an order at once.
//!
//! Applying a pass keeps memory and store one picture and never frees an order's units for
//! others before its new ones are held: with the changed orders locked and unchanged since the
//! pass read them, the units and shipments the changed orders take beyond what they give back
//! are reserved first (all or nothing, like any order), then the new plans are committed, then
//! what they gave up is released. If the stock moved meanwhile, nothing is applied and the next
//! pass tries again.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_engine::promise::{DeadlinePolicy, delivery_days, delivery_view, late_locations};
use switchyard_engine::reoptimize::Admits;
use switchyard_engine::{
    Catalog, DeliveryView, Explanation, Inventory, InventoryError, LocationId, Order, Plan, Policy, PoolOrder,
    PoolOutcome, ReoptimizeSettings, Reservation, ReservedShipment, ReservedUnits, Router, RouterConfig, SkuId,
    Timestamp, reoptimize_pool,
};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::shipping::{Dated, DeliveryTerms};
use super::validate::engine_order;
use super::{Service, ServiceError, event, held_shipments, held_units, now, reservation_of_order};
use crate::records::{
    EventKind, ExplainedLine, OrderRecord, OrderStatus, PlanOutcome, PlanRecord, RoutingCause, RoutingRecord,
    ShipmentState,
};

/// What one re-optimisation pass did.
#[derive(Clone, Debug, PartialEq)]
pub struct ReoptimizeReport {
    /// Unreleased orders the pass looked at.
    pub pool: usize,
    /// Of those, orders it left as they are: their plan is one their policy no longer allows
    /// (or cannot price), or their terms no longer apply.
    pub unmovable: usize,
    /// Of those, orders whose moves the pass did not try again (an earlier pass found none
    /// that paid, and they have not changed since); they were still partners of the others.
    pub settled: usize,
    /// Orders whose plan changed (or would have, when not `applied`), with their cost before
    /// and after, by id.
    pub changed: Vec<ReoptimizedOrder>,
    /// Cost of the movable orders' plans before the pass, each under its own policy.
    pub cost_before: f64,
    /// The same after.
    pub cost_after: f64,
    /// Whether the changes were applied: `false` when the orders or the stock changed while the
    /// pass searched (nothing is applied then; the next pass starts again).
    pub applied: bool,
    /// The pass stopped searching at its time limit (the moves found by then were applied).
    pub timed_out: bool,
    /// A full pass re-planned all the movable orders together under prices, and that (with
    /// the local search after it) is what it found; `false` when it kept to exchanges.
    pub replanned: bool,
    /// Milliseconds the pass took.
    pub took_ms: f64,
}

/// One order a pass re-planned.
#[derive(Clone, Debug, PartialEq)]
pub struct ReoptimizedOrder {
    /// The order's id.
    pub id: String,
    /// Its plan's cost before, under its policy now.
    pub before: f64,
    /// Its new plan's cost.
    pub after: f64,
}

/// Whether `record` may still be re-planned at `now` (seconds since the epoch): it holds
/// stock, its release time is still ahead, nothing of it has been picked or rejected by a
/// location, and no units of it wait for inbound stock.
pub(super) fn unreleased(record: &OrderRecord, now: i64) -> bool {
    matches!(record.status, OrderStatus::Reserved | OrderStatus::Confirmed)
        && record.release_at_seconds().is_some_and(|at| at > now)
        && record.backorders.is_empty()
        && record.excluded_locations.is_empty()
        && record.plan.as_ref().is_some_and(|plan| {
            plan.status == PlanOutcome::Routed
                && !plan.shipments.is_empty()
                && plan.shipments.iter().all(|s| s.state == ShipmentState::Open)
        })
}

/// When an order routed at `at` with `plan` is released: at the next release wave of a
/// location it ships from (`waves`, minutes after local midnight), or `release_after`
/// seconds later from a location without waves, whichever comes first; and never after the
/// local start of the day a parcel must ship to keep its promise (a location picks on that
/// day what it has been released; holding the order longer would lose the date). `None`
/// without release windows (nothing held).
pub(super) fn release_time(
    catalog: &Catalog,
    plan: &PlanRecord,
    at: Timestamp,
    release_after: i64,
    waves: &HashMap<String, Vec<u16>>,
) -> Option<Timestamp> {
    let offset_of =
        |location: &str| catalog.location_id(location).map_or(0, |id| catalog.location(id).utc_offset_minutes);
    let mut release: Option<i64> = None;
    for shipment in &plan.shipments {
        let by_location = match waves.get(&shipment.location).filter(|w| !w.is_empty()) {
            Some(waves) => Some(next_wave(at.0, offset_of(&shipment.location), waves)),
            None => (release_after > 0).then(|| at.0.saturating_add(release_after)),
        };
        release = match (release, by_location) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let mut release = release?;
    for shipment in &plan.shipments {
        let Some(date) = shipment.ship_date.as_deref() else { continue };
        let Ok(day) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") else { continue };
        let midnight = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or(i64::MAX);
        release = release.min(midnight.saturating_sub(i64::from(offset_of(&shipment.location)) * 60));
    }
    Some(Timestamp(release.max(at.0)))
}

// The first of `waves` (minutes after local midnight, ascending, not empty) after `at`, at a
// location `offset` minutes from UTC: today's next, else tomorrow's first.
fn next_wave(at: i64, offset: i32, waves: &[u16]) -> i64 {
    let local = at + i64::from(offset) * 60;
    let into_day = local.rem_euclid(86_400);
    let day_start = at - into_day;
    match waves.iter().map(|&w| i64::from(w) * 60).find(|&w| w > into_day) {
        Some(wave) => day_start + wave,
        None => day_start + 86_400 + i64::from(waves[0]) * 60,
    }
}

/// Releases `record` now if its release time is still ahead (a fulfilment event, the
/// merchant's release): its plan no longer changes. True if it was unreleased.
pub(super) fn release_now(record: &mut OrderRecord, at: Timestamp) -> bool {
    if record.release_at_seconds().is_some_and(|release| release > at.0) {
        record.release_at = Some(at.to_string());
        return true;
    }
    false
}

// One unreleased order in a pass: its record as read, and its engine form.
struct Member {
    slot: Arc<AsyncMutex<OrderRecord>>,
    record: OrderRecord,
    order: Order,
    plan: Plan,
    reservation: Reservation,
    policy: Arc<dyn Policy>,
    terms: Option<Terms>,
    // An earlier pass found nothing for it, and it has not changed since.
    settled: bool,
}

// An order's delivery terms, and what they rule out.
struct Terms {
    delivery: DeliveryTerms,
    late: Vec<Option<Arc<str>>>,
    view: DeliveryView,
}

// What the search found: the outcome, and per changed order its new plan, what it holds and
// why (when explanations are kept).
struct Found {
    outcome: PoolOutcome,
    plans: Vec<(usize, Plan, Reservation, Option<Explanation>)>,
}

impl Service {
    /// Runs one re-optimisation pass over the unreleased orders (see the module), one at a
    /// time. Without release windows there are none, and the pass does nothing. A pass that is
    /// not `full` tries the moves of the orders that are new or changed since the last pass
    /// (and, as partners, every other); a full one tries every order's (stock that came back
    /// from elsewhere, a cancellation, a restock, may pay for a move an earlier pass refused).
    pub async fn reoptimize(&self, full: bool) -> Result<ReoptimizeReport, ServiceError> {
        let _one_at_a_time = self.reoptimizing.lock().await;
        let started = Instant::now();
        let at = now();
        let catalog = self.catalog();
        let mut report = ReoptimizeReport {
            pool: 0,
            unmovable: 0,
            settled: 0,
            changed: Vec::new(),
            cost_before: 0.0,
            cost_after: 0.0,
            applied: true,
            timed_out: false,
            replanned: false,
            took_ms: 0.0,
        };
        let members = self.members(&catalog, at, full, &mut report);
        if members.is_empty() {
            report.took_ms = started.elapsed().as_secs_f64() * 1e3;
            return Ok(report);
        }
        let scratch = self.scratch_inventory(&members);
        let config = self.router_config.clone();
        let settings = ReoptimizeSettings {
            time_limit: Some(Duration::from_millis(if full {
                self.config.reoptimize_full_time_limit_ms
            } else {
                self.config.reoptimize_time_limit_ms
            })),
            replan_rounds: if full { self.config.reoptimize_replan_rounds } else { 0 },
            ..ReoptimizeSettings::default()
        };
        let explain = self.config.keep_explanations;
        let searching = Arc::clone(&catalog);
        let (members, found) = tokio::task::spawn_blocking(move || {
            let found = search(&searching, &scratch, &config, &members, &settings, explain);
            (members, found)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("the re-optimisation pass stopped: {e}")))?;
        let Ok(found) = found else {
            // The stock the pass copied no longer held what an order held: it moved meanwhile.
            report.applied = false;
            report.took_ms = started.elapsed().as_secs_f64() * 1e3;
            return Ok(report);
        };
        report.unmovable += found.outcome.unmovable;
        report.cost_before = found.outcome.cost_before;
        report.cost_after = found.outcome.cost_after;
        report.timed_out = found.outcome.timed_out;
        report.replanned = found.outcome.replanned;
        report.changed = found
            .outcome
            .changed
            .iter()
            .map(|c| ReoptimizedOrder { id: members[c.index].record.id.clone(), before: c.before, after: c.after })
            .collect();
        report.changed.sort_by(|a, b| a.id.cmp(&b.id));
        if !found.plans.is_empty() {
            report.applied = self.apply(&catalog, &members, &found, at).await?;
        }
        self.settle(&members, &found.outcome, report.applied);
        report.took_ms = started.elapsed().as_secs_f64() * 1e3;
        if report.applied && !report.changed.is_empty() {
            tracing::info!(
                orders = report.changed.len(),
                saved = report.cost_before - report.cost_after,
                "unreleased orders re-optimised"
            );
        }
        Ok(report)
    }

    /// Releases an order to its locations now (the merchant's word): its plan no longer
    /// changes. An order already released is answered as it is.
    pub async fn release_to_locations(&self, id: &str) -> Result<OrderRecord, ServiceError> {
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        if !record.status.holds_stock() {
            return Err(super::orders::wrong_state(id, record.status, "released"));
        }
        let at = now();
        let mut next = record.clone();
        if !release_now(&mut next, at) {
            return Ok(record.clone());
        }
        next.history.push(event(at, EventKind::Released, "released to its locations by the merchant"));
        self.commit_order(Some(&*record), &mut next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    // Keeps what the next pass need not try again: the orders the search left no move to try,
    // at the revision they have now (an applied change gave its order the next one).
    fn settle(&self, members: &[Member], outcome: &PoolOutcome, applied: bool) {
        let changed: std::collections::HashSet<usize> = outcome.changed.iter().map(|c| c.index).collect();
        let pending: std::collections::HashSet<usize> = outcome.pending.iter().copied().collect();
        let mut settled = self.settled.lock();
        settled.clear();
        for (index, member) in members.iter().enumerate() {
            if pending.contains(&index) {
                continue;
            }
            let id = member.record.id.clone();
            match (changed.contains(&index), applied) {
                (false, _) => settled.insert(id, member.record.revision),
                (true, true) => settled.insert(id, member.record.revision + 1),
                (true, false) => None,
            };
        }
    }

    // The unreleased orders, each in its engine form under its policy. Orders that cannot be
    // read that way (their binding's version gone, a location or SKU removed, terms that no
    // longer apply) are counted unmovable and left alone.
    fn members(&self, catalog: &Catalog, at: Timestamp, full: bool, report: &mut ReoptimizeReport) -> Vec<Member> {
        let settled = if full { std::collections::HashMap::new() } else { self.settled.lock().clone() };
        let slots: Vec<Arc<AsyncMutex<OrderRecord>>> = self.orders.iter().map(|e| Arc::clone(e.value())).collect();
        let mut members = Vec::new();
        for slot in slots {
            // An order busy with another request is left for the next pass.
            let Ok(record) = slot.try_lock().map(|r| r.clone()) else { continue };
            if !unreleased(&record, at.0) {
                continue;
            }
            report.pool += 1;
            match self.member(catalog, slot, record, at) {
                Some(mut member) => {
                    member.settled = settled.get(&member.record.id) == Some(&member.record.revision);
                    report.settled += usize::from(member.settled);
                    members.push(member);
                }
                None => report.unmovable += 1,
            }
        }
        members.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        members
    }

    fn member(
        &self,
        catalog: &Catalog,
        slot: Arc<AsyncMutex<OrderRecord>>,
        record: OrderRecord,
        at: Timestamp,
    ) -> Option<Member> {
        // As when a location rejects a shipment: the order is routed again as of now (its
        // parcels dated from now, its shipments counted today).
        let mut submitted = record.request.clone();
        submitted.placed_at = Some(at.to_string());
        let order = engine_order(catalog, &submitted, at).ok()?;
        // A policy that looks ahead prices only the demand it forecasts beyond the order's
        // release window (a cool-down or a wave): the pool plans the rest against real orders.
        let release_after = self.config.release_after_secs.min(i64::MAX as u64) as i64;
        let window = record.release_window_secs().unwrap_or(release_after);
        let binding = record.pass_binding(&self.registry, window).ok()?;
        let reservation = reservation_of_order(catalog, &record).ok()?;
        let plan = record.plan.as_ref()?.to_engine(&order, catalog, binding.policy.info())?;
        let terms = self.delivery_terms(&record.request).ok()?.map(|delivery| {
            let service = &delivery.carrier.service;
            let days = delivery_days(catalog, service, &order);
            let late = late_locations(&days, delivery.deliver_by.unwrap_or(i64::MAX));
            let view = delivery_view(service, delivery.deliver_by, &days);
            Terms { delivery, late, view }
        });
        Some(Member {
            slot,
            record,
            order,
            plan,
            reservation,
            policy: Arc::clone(&binding.policy),
            terms,
            settled: false,
        })
    }

    // A private copy of the stock the members' orders could ship from, and every location's
    // shipments per day, to search on while orders keep coming.
    fn scratch_inventory(&self, members: &[Member]) -> Inventory {
        let mut skus: Vec<SkuId> = members.iter().flat_map(|m| m.order.lines.iter().map(|l| l.sku)).collect();
        skus.sort_unstable();
        skus.dedup();
        self.stock_copy(&skus)
    }

    // Applies a pass's new plans (see the module). `Ok(false)`: the orders or the stock
    // changed since the pass read them; nothing was applied.
    async fn apply(
        &self,
        catalog: &Catalog,
        members: &[Member],
        found: &Found,
        at: Timestamp,
    ) -> Result<bool, ServiceError> {
        // Locked in id order (members are sorted by id), so two passes could never deadlock.
        let mut changed: Vec<&(usize, Plan, Reservation, Option<Explanation>)> = found.plans.iter().collect();
        changed.sort_by_key(|(index, ..)| *index);
        let mut guards: Vec<OwnedMutexGuard<OrderRecord>> = Vec::with_capacity(changed.len());
        let checked = now();
        for (index, ..) in &changed {
            let member = &members[*index];
            let guard = Arc::clone(&member.slot).lock_owned().await;
            if guard.revision != member.record.revision || !unreleased(&guard, checked.0) {
                return Ok(false);
            }
            guards.push(guard);
        }
        let (take, give) = net_change(changed.iter().map(|(index, _, new, _)| (&members[*index].reservation, new)));
        if self.inventory.reserve(&take).is_err() {
            return Ok(false);
        }
        let undo = || {
            if let Err(error) = self.inventory.release(&take) {
                tracing::error!(%error, "could not give back the units a re-optimisation took");
            }
        };
        let mut nexts = Vec::with_capacity(changed.len());
        let mut kept = Vec::new();
        for ((index, plan, reservation, why), guard) in changed.iter().zip(&guards) {
            let member = &members[*index];
            match self.rerouted_record(catalog, member, guard, plan, reservation, why.as_ref(), at) {
                Ok((next, explanation)) => {
                    nexts.push(next);
                    kept.extend(explanation);
                }
                Err(error) => {
                    undo();
                    return Err(error);
                }
            }
        }
        let mut pairs: Vec<(Option<&OrderRecord>, &mut OrderRecord)> =
            guards.iter().map(|g| Some(&**g)).zip(nexts.iter_mut()).collect();
        if let Err(error) = self.commit_orders(&mut pairs, kept).await {
            undo();
            return Err(error);
        }
        if let Err(error) = self.inventory.release(&give) {
            tracing::error!(%error, "could not release the units re-optimised orders gave up");
        }
        for (guard, next) in guards.iter_mut().zip(nexts) {
            **guard = next;
        }
        Ok(true)
    }

    // The order as re-planned: its new plan (dated by its service), what it holds, the timeline
    // event saying what changed and what it saved, and the explanation to keep.
    #[allow(clippy::too_many_arguments)]
    fn rerouted_record(
        &self,
        catalog: &Catalog,
        member: &Member,
        record: &OrderRecord,
        plan: &Plan,
        reservation: &Reservation,
        why: Option<&Explanation>,
        at: Timestamp,
    ) -> Result<(OrderRecord, Option<crate::store::Change>), ServiceError> {
        let currency = &self.config.currency;
        let mut planned = PlanRecord::from_engine(plan, &member.order, catalog, currency);
        if let Some(terms) = &member.terms {
            let dated = Dated::of_plan(catalog, &terms.delivery, &member.order, plan)
                .map_err(|e| ServiceError::internal(format!("a re-optimised plan the carrier cannot take: {e}")))?;
            dated.apply(&mut planned);
        }
        let before = record.plan.as_ref();
        let mut next = record.clone();
        let was: Vec<&str> =
            before.map(|p| p.shipments.iter().map(|s| s.location.as_str()).collect()).unwrap_or_default();
        let now_from: Vec<&str> = planned.shipments.iter().map(|s| s.location.as_str()).collect();
        let old_cost = before.map_or(0.0, |p| p.cost.total);
        let mut detail = format!(
            "re-optimised with the other unreleased orders: ships from {} (was {}); {} shipment(s), was {}; \
             {:.2} {currency}, was {:.2} {currency}",
            now_from.join(", "),
            was.join(", "),
            now_from.len(),
            was.len(),
            planned.cost.total,
            old_cost,
        );
        let saved = old_cost - planned.cost.total;
        if saved >= 0.005 {
            let _ = write!(detail, " (saves {saved:.2})");
        } else {
            // Its own plan may cost more: the orders it traded stock with saved more.
            let _ = write!(detail, " (costs {:.2} more; the orders it traded stock with save more)", -saved);
        }
        // A new parcel that must ship sooner brings the release forward.
        let deadline = release_time(catalog, &planned, at, i64::MAX, &self.location_waves.read())
            .map_or(i64::MAX, |t| t.0)
            .min(record.release_at_seconds().unwrap_or(i64::MAX));
        next.release_at = Some(Timestamp(deadline.max(at.0)).to_string());
        next.plan = Some(planned);
        next.held_units = held_units(catalog, reservation);
        next.held_shipments = held_shipments(catalog, reservation);
        next.history.push(event(at, EventKind::Rerouted, detail));
        let kept = match why {
            Some(why) => {
                let routing = RoutingRecord {
                    revision: record.revision + 1,
                    at: at.to_string(),
                    cause: RoutingCause::Reoptimized,
                    policy_version: record.policy_version.clone(),
                    lines: ExplainedLine::from_engine(why, catalog),
                };
                Some(super::create::explanation_change(&record.id, &routing)?)
            }
            None => None,
        };
        Ok((next, kept))
    }
}

// Searches the pool on the scratch stock, each order under its policy (inside its promised
// day when it has one); explains each changed order's new plan when asked.
fn search(
    catalog: &Catalog,
    scratch: &Inventory,
    config: &RouterConfig,
    members: &[Member],
    settings: &ReoptimizeSettings,
    explain: bool,
) -> Result<Found, InventoryError> {
    let deadlines: Vec<Option<DeadlinePolicy<'_>>> = members
        .iter()
        .map(|m| m.terms.as_ref().map(|t| DeadlinePolicy::new(&*m.policy, t.late.clone()).showing(&t.view)))
        .collect();
    let admits: Vec<Option<Box<Admits<'_>>>> = members
        .iter()
        .map(|m| {
            m.terms.as_ref().map(|t| {
                let admits = move |plan: &Plan| Dated::of_plan(catalog, &t.delivery, &m.order, plan).is_ok();
                Box::new(admits) as Box<Admits<'_>>
            })
        })
        .collect();
    let policy_of = |i: usize| -> &dyn Policy {
        match &deadlines[i] {
            Some(deadline) => deadline,
            None => &*members[i].policy,
        }
    };
    let mut pool: Vec<PoolOrder<'_>> = members
        .iter()
        .enumerate()
        .map(|(i, m)| PoolOrder {
            order: &m.order,
            policy: policy_of(i),
            plan: m.plan.clone(),
            reservation: m.reservation.clone(),
            admits: admits[i].as_deref(),
            settled: members[i].settled,
        })
        .collect();
    let outcome = reoptimize_pool(catalog, scratch, config, &mut pool, settings)?;
    let mut workspace = switchyard_engine::Workspace::default();
    let mut plans = Vec::with_capacity(outcome.changed.len());
    for change in &outcome.changed {
        let entry = &pool[change.index];
        let why = if explain {
            // On the stock it was planned on: everything but its own new units held.
            scratch.release(&entry.reservation)?;
            let router = Router { catalog, inventory: scratch, policy: entry.policy, config };
            let why = router.explain_plan(entry.order, &entry.plan, &mut workspace).ok();
            scratch.reserve(&entry.reservation)?;
            why
        } else {
            None
        };
        plans.push((change.index, entry.plan.clone(), entry.reservation.clone(), why));
    }
    Ok(Found { outcome, plans })
}

// What the changed orders take beyond what they give back (to reserve first) and what they
// give back beyond what they take (to release last), units and shipments alike.
fn net_change<'a>(changes: impl Iterator<Item = (&'a Reservation, &'a Reservation)>) -> (Reservation, Reservation) {
    let mut units: BTreeMap<(SkuId, LocationId), i64> = BTreeMap::new();
    let mut shipments: BTreeMap<(LocationId, i64), (i64, Option<u32>)> = BTreeMap::new();
    for (old, new) in changes {
        for (reservation, sign) in [(old, -1), (new, 1)] {
            for u in &reservation.units {
                *units.entry((u.sku, u.location)).or_default() += sign * i64::from(u.qty);
            }
            for s in &reservation.shipments {
                let entry = shipments.entry((s.location, s.day)).or_insert((0, s.capacity));
                entry.0 += sign;
                entry.1 = entry.1.or(s.capacity);
            }
        }
    }
    let (mut take, mut give) = (Reservation::default(), Reservation::default());
    for ((sku, location), delta) in units {
        let qty = u32::try_from(delta.unsigned_abs()).unwrap_or(u32::MAX);
        match delta.signum() {
            1 => take.units.push(ReservedUnits { sku, location, qty }),
            -1 => give.units.push(ReservedUnits { sku, location, qty }),
            _ => {}
        }
    }
    for ((location, day), (delta, capacity)) in shipments {
        let side = if delta > 0 { &mut take } else { &mut give };
        for _ in 0..delta.unsigned_abs() {
            side.shipments.push(ReservedShipment { location, day, capacity });
        }
    }
    (take, give)
}
