//! Delivery promises: for a cart and a ship-to, by one carrier service, the earliest day the
//! network can deliver the whole cart and the plan that does, without reserving anything.
//!
//! Every location gets its ship and delivery days for the service ([`crate::calendar`]). For
//! each distinct delivery day `d`, earliest first, the cart is planned under the order's own
//! policy with every location that would deliver after `d` excluded (by [`DeadlinePolicy`],
//! which says so: "would deliver Thu 2026-12-10, promised Wed 2026-12-09"); the first plan that
//! ships every unit is the promise. An order routed with the same service and `deliver_by = d`
//! meets the same exclusion, so on unchanged stock it gets that plan, or one as early.

use std::sync::Arc;

use crate::calendar::{CarrierService, NoQuote, Quote, day_text};
use crate::catalog::Catalog;
use crate::domain::{Location, LocationId, Order};
use crate::inventory::Position;
use crate::plan::{Plan, PlanStatus};
use crate::policy::{
    DeliveryView, Evaluation, LateDelivery, LocationDelivery, PlannedUnits, Policy, PolicyError, PolicyInfo,
    PolicyRequest, Verdict,
};
use crate::router::{Router, RoutingError, Workspace};

/// A policy with the locations that would deliver too late ruled out, each with its reason.
pub struct DeadlinePolicy<'a> {
    inner: &'a dyn Policy,
    // Indexed by location; `Some(reason)`: excluded.
    late: Vec<Option<Arc<str>>>,
    // What `inner` is shown of the order's carrier service.
    view: Option<&'a DeliveryView>,
}

impl<'a> DeadlinePolicy<'a> {
    /// `inner`, with each location whose entry in `late` is a reason excluded with it.
    pub fn new(inner: &'a dyn Policy, late: Vec<Option<Arc<str>>>) -> DeadlinePolicy<'a> {
        DeadlinePolicy { inner, late, view: None }
    }

    /// The same, showing `inner` the order's carrier service and dates
    /// ([`PolicyRequest::delivery`]).
    pub fn showing(self, view: &'a DeliveryView) -> DeadlinePolicy<'a> {
        DeadlinePolicy { view: Some(view), ..self }
    }

    fn reason(&self, location: LocationId) -> Option<&Arc<str>> {
        self.late.get(location.index()).and_then(Option::as_ref)
    }
}

impl Policy for DeadlinePolicy<'_> {
    fn info(&self) -> Arc<PolicyInfo> {
        self.inner.info()
    }

    fn late_delivery(&self) -> LateDelivery {
        self.inner.late_delivery()
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        let shown = PolicyRequest { delivery: self.view.or(request.delivery), ..*request };
        self.inner.evaluate(&shown, out)?;
        for (slot, candidate) in request.candidates.locations.iter().enumerate() {
            if let Some(reason) = self.reason(candidate.location)
                && let Some(verdict) = out.shipment.get_mut(slot)
                && !matches!(verdict, Verdict::Excluded(_))
            {
                *verdict = Verdict::Excluded(Arc::clone(reason));
            }
        }
        // A plan the inner policy chose itself may use a late location: choose again.
        let late =
            |planned: &PlannedUnits| {
                request.candidates.entries.get(planned.candidate as usize).is_some_and(|entry| {
                    self.reason(request.candidates.locations[entry.slot as usize].location).is_some()
                })
            };
        if out.plan.as_ref().is_some_and(|plan| plan.iter().any(late)) {
            out.plan = None;
        }
        Ok(())
    }
}

/// One parcel of a promise.
#[derive(Clone, Debug, PartialEq)]
pub struct PromisedShipment {
    /// Where it leaves from.
    pub location: LocationId,
    /// Its weight, kg.
    pub weight_kg: f64,
    /// Its dates, their reasons, and the service's price for it.
    pub quote: Quote,
}

/// What a service can promise for a cart.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceOption {
    /// The day the last parcel arrives.
    pub delivery_day: i64,
    /// The plan that meets it (under the order's policy, its costs and rules).
    pub plan: Plan,
    /// Its parcels, as the plan's shipments.
    pub shipments: Vec<PromisedShipment>,
    /// The service's price for all of them.
    pub price: f64,
}

/// Why a service can promise nothing for a cart.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoPromise {
    /// Whatever the day, some units cannot be shipped (not enough stock where the service
    /// reaches, the policy's rules or its split limit).
    #[error("the cart cannot be shipped whole by this service")]
    CannotShipWhole,
    /// The plan's parcel from a location is over the service's weight limit.
    #[error("a parcel would weigh {weight_kg} kg, over the service's {max_kg} kg limit")]
    TooHeavy {
        /// The parcel's weight.
        weight_kg: f64,
        /// The service's limit.
        max_kg: f64,
    },
    /// The order is not valid, or the policy failed.
    #[error(transparent)]
    Routing(#[from] RoutingError),
}

/// Every location's ship and delivery days by `service` for `order` (placed at its
/// `placed_at`, to its ship-to), in catalog order, or why the service cannot ship from there.
/// A parcel's weight limit is not checked here ([`quote_plan`] does).
pub fn delivery_days(
    catalog: &Catalog,
    service: &CarrierService,
    order: &Order,
) -> Vec<Result<LocationDelivery, NoQuote>> {
    catalog.locations().iter().map(|location| location_delivery(location, service, order)).collect()
}

fn location_delivery(
    location: &Location,
    service: &CarrierService,
    order: &Order,
) -> Result<LocationDelivery, NoQuote> {
    let distance = location.position.distance_km(order.ship_to.position);
    let (ship_day, delivery_day) =
        service.days(&location.fulfilment, distance, order.placed_at.0, location.utc_offset_minutes)?;
    let transit_days = service.band(distance).map_or(0, |band| band.transit_days);
    Ok(LocationDelivery { ship_day, delivery_day, transit_days })
}

/// What a policy is shown of an order shipping by `service` (see [`PolicyRequest::delivery`]).
pub fn delivery_view(
    service: &CarrierService,
    deliver_by: Option<i64>,
    days: &[Result<LocationDelivery, NoQuote>],
) -> DeliveryView {
    DeliveryView {
        service: service.id.clone(),
        deliver_by,
        locations: days.iter().map(|day| day.as_ref().ok().copied()).collect(),
    }
}

/// Which locations a deadline rules out, by index, with the reason: those that would deliver
/// after `deliver_by` by the service, and those it cannot ship from at all.
pub fn late_locations(days: &[Result<LocationDelivery, NoQuote>], deliver_by: i64) -> Vec<Option<Arc<str>>> {
    days.iter()
        .map(|day| match day {
            Ok(dates) if dates.delivery_day <= deliver_by => None,
            Ok(dates) => Some(Arc::from(format!(
                "would deliver {}, promised {}",
                day_text(dates.delivery_day),
                day_text(deliver_by)
            ))),
            Err(why) => Some(Arc::from(format!("the service cannot ship from here: {why}"))),
        })
        .collect()
}

/// The parcels of `plan` (for `order`) by `service`: each shipment's weight, dates with their
/// reasons, and price. Refuses a parcel over the service's weight limit, or from a location
/// the service cannot ship from.
pub fn quote_plan(
    catalog: &Catalog,
    service: &CarrierService,
    order: &Order,
    plan: &Plan,
) -> Result<Vec<PromisedShipment>, NoQuote> {
    let mut shipments = Vec::with_capacity(plan.shipments.len());
    for shipment in &plan.shipments {
        let weight_kg: f64 = shipment
            .lines
            .iter()
            .filter_map(|l| order.lines.get(l.line).map(|line| f64::from(l.qty) * catalog.product(line.sku).weight_kg))
            .sum();
        let location = catalog.location(shipment.location);
        let distance = location.position.distance_km(order.ship_to.position);
        let quote =
            service.quote(&location.fulfilment, distance, weight_kg, order.placed_at.0, location.utc_offset_minutes)?;
        shipments.push(PromisedShipment { location: shipment.location, weight_kg, quote });
    }
    Ok(shipments)
}

/// The earliest delivery of `order` (its lines, ship-to and placement time) by `service`,
/// from `router`'s catalog and stock under its policy, each location working as its
/// [`crate::Location::fulfilment`] says. Reserves nothing.
pub fn promise(
    router: &Router<'_>,
    service: &CarrierService,
    order: &Order,
    workspace: &mut Workspace,
) -> Result<ServiceOption, NoPromise> {
    let catalog = router.catalog;
    // The delivery day by this service of every location holding units of the cart (`None`:
    // it holds none, and is never a candidate); its weight limit is checked per parcel below,
    // and the reasons are worked out for the parcels of the promise only. Per line, the units
    // available at each location that could deliver at all.
    let mut delivery: Vec<Option<Result<LocationDelivery, NoQuote>>> =
        (0..catalog.locations().len()).map(|_| None).collect();
    let mut positions: Vec<Position> = Vec::new();
    let mut available: Vec<Vec<(i64, u32)>> = Vec::with_capacity(order.lines.len());
    for line in &order.lines {
        positions.clear();
        router.inventory.positions_into(line.sku, &mut positions);
        let mut at = Vec::with_capacity(positions.len());
        for position in positions.iter().filter(|p| p.atp() > 0) {
            let Some(slot) = delivery.get_mut(position.location.index()) else { continue };
            let dates =
                slot.get_or_insert_with(|| location_delivery(catalog.location(position.location), service, order));
            if let Ok(dates) = dates {
                at.push((dates.delivery_day, position.atp()));
            }
        }
        available.push(at);
    }
    // Nothing is promised yet: the policy sees no day.
    let view = DeliveryView {
        service: service.id.clone(),
        deliver_by: None,
        locations: delivery.iter().map(|d| d.as_ref().and_then(|d| d.as_ref().ok()).copied()).collect(),
    };
    // Exclusions shown to no one (a promise keeps no explanation): one reason each, shared.
    let (too_late, unreachable): (Arc<str>, Arc<str>) =
        (Arc::from("would deliver after the day tried"), Arc::from("the service cannot ship from here"));
    let mut days: Vec<i64> = available.iter().flatten().map(|(day, _)| *day).collect();
    days.sort_unstable();
    days.dedup();
    // Units of a SKU ordered on several lines count against the same stock: the check below
    // only skips days that cannot work, and the plan decides.
    let enough = |deliver_by: i64| {
        order.lines.iter().zip(&available).all(|(line, at)| {
            at.iter().filter(|(day, _)| *day <= deliver_by).map(|(_, atp)| u64::from(*atp)).sum::<u64>()
                >= u64::from(line.qty)
        })
    };
    for deliver_by in days.into_iter().filter(|d| enough(*d)) {
        let late = delivery
            .iter()
            .map(|dates| match dates {
                None => None,
                Some(Ok(dates)) if dates.delivery_day <= deliver_by => None,
                Some(Ok(_)) => Some(Arc::clone(&too_late)),
                Some(Err(_)) => Some(Arc::clone(&unreachable)),
            })
            .collect();
        let policy = DeadlinePolicy::new(router.policy, late).showing(&view);
        let constrained = Router { policy: &policy, ..*router };
        let plan = constrained.plan(order, workspace)?;
        if plan.status != PlanStatus::Routed || !plan.unfilled.is_empty() || plan.shipments.is_empty() {
            continue;
        }
        let shipments = match quote_plan(catalog, service, order, &plan) {
            Ok(shipments) => shipments,
            Err(NoQuote::TooHeavy { weight_kg, max_kg }) => return Err(NoPromise::TooHeavy { weight_kg, max_kg }),
            // The locations were allowed: they have dates by this service.
            Err(_) => return Err(NoPromise::CannotShipWhole),
        };
        let delivery_day = shipments.iter().map(|s| s.quote.dates.delivery_day).max().unwrap_or(deliver_by);
        let price = shipments.iter().map(|s| s.quote.price).sum();
        return Ok(ServiceOption { delivery_day, plan, shipments, price });
    }
    Err(NoPromise::CannotShipWhole)
}
