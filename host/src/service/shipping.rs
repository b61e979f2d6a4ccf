//! Carrier services and delivery promises: the services kept (checked, stored, followed
//! across instances), a location's fulfilment terms read into the engine's, and promises: for
//! a cart and a ship-to, per service, the earliest delivery date, its price and the locations
//! that would ship, nothing reserved.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchyard_engine::calendar::day_text;
use switchyard_engine::calendar::{self, CarrierService, Fulfilment, date_text, fulfilment_from_text};
use switchyard_engine::promise::{
    DeadlinePolicy, NoPromise, PromisedShipment, delivery_days, delivery_view, late_locations, promise, quote_plan,
};
use switchyard_engine::{Catalog, Explanation, LateDelivery, Order, Plan, PlanStatus, Routed, Router, RoutingError};

use super::commit::body_of;
use super::validate::engine_order;
use super::{Service, ServiceError, WORKSPACE, limits, now};
use crate::records::{
    CarrierServiceRecord, CostRecord, DeliveryRecord, FulfilmentRecord, PlanOutcome, PlanRecord, SubmittedOrder,
    UnfilledUnits, to_the_cent,
};
use crate::store::Change;

/// The most carrier services a service keeps.
pub const MAX_CARRIER_SERVICES: usize = 100;
/// The most holidays of one calendar.
pub const MAX_HOLIDAYS: usize = 400;
/// The most processing days of a location, and transit days of a band.
pub const MAX_DAYS: u8 = 60;

/// A carrier service kept: as given, and as the engine uses it.
#[derive(Clone, Debug)]
pub(super) struct Carrier {
    pub(super) record: CarrierServiceRecord,
    pub(super) service: Arc<CarrierService>,
}

/// The carrier services, by id.
pub(super) type Carriers = BTreeMap<String, Carrier>;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("invalid_field", message).at(field)
}

// The engine's reading of the texts, its errors at `field` (under `under`).
fn checked<T>(under: &str, read: Result<T, (String, String)>) -> Result<T, ServiceError> {
    read.map_err(|(field, message)| {
        let field = if under.is_empty() { field } else { format!("{under}.{field}") };
        ServiceError::invalid("invalid_field", message).at(field)
    })
}

fn holidays_within_limit(field: &str, holidays: &[String]) -> Result<(), ServiceError> {
    if holidays.len() > MAX_HOLIDAYS {
        return Err(ServiceError::invalid("too_many", format!("at most {MAX_HOLIDAYS} holidays")).at(field));
    }
    Ok(())
}

/// A location's terms as the engine uses them; errors name the field under `fulfilment`.
pub(super) fn engine_fulfilment(record: Option<&FulfilmentRecord>) -> Result<Fulfilment, ServiceError> {
    let Some(record) = record else { return Ok(Fulfilment::default()) };
    if record.processing_days > MAX_DAYS {
        return Err(invalid("fulfilment.processing_days", format!("at most {MAX_DAYS} days")));
    }
    holidays_within_limit("fulfilment.holidays", &record.holidays)?;
    if let Some(open) = &record.open_days {
        limits::text("fulfilment.open_days", open, limits::MAX_NAME)?;
    }
    checked(
        "fulfilment",
        fulfilment_from_text(
            record.cutoff.as_deref(),
            record.processing_days,
            record.open_days.as_deref(),
            &record.holidays,
        ),
    )
}

/// A carrier service as the engine uses it; errors name the field.
pub(super) fn engine_service(record: &CarrierServiceRecord) -> Result<CarrierService, ServiceError> {
    limits::id("id", &record.id)?;
    limits::text("carrier", &record.carrier, limits::MAX_NAME)?;
    limits::text("name", &record.name, limits::MAX_NAME)?;
    limits::text("pickup_days", &record.pickup_days, limits::MAX_NAME)?;
    limits::text("delivery_days", &record.delivery_days, limits::MAX_NAME)?;
    holidays_within_limit("holidays", &record.holidays)?;
    if record.bands.len() > limits::MAX_LIST {
        return Err(ServiceError::invalid("too_many", format!("at most {} bands", limits::MAX_LIST)).at("bands"));
    }
    for (index, band) in record.bands.iter().enumerate() {
        if band.transit_days > MAX_DAYS {
            return Err(invalid(format!("bands[{index}].transit_days"), format!("at most {MAX_DAYS} days")));
        }
        for (name, price) in [("per_shipment", band.per_shipment), ("per_kg", band.per_kg)] {
            if price > limits::MAX_HANDLING {
                return Err(invalid(format!("bands[{index}].{name}"), format!("at most {}", limits::MAX_HANDLING)));
            }
        }
    }
    checked("", record.engine())
}

/// A cart to promise: lines and a ship-to, by some services (none named: every one).
#[derive(Clone, Debug)]
pub struct PromiseRequest {
    /// The cart as an order (its id is not used; `placed_at`: when the promise is for, now
    /// when `None`).
    pub cart: SubmittedOrder,
    /// The services to answer for, in this order; empty: every service, by id.
    pub services: Vec<String>,
}

/// One parcel of a promise.
#[derive(Clone, Debug, PartialEq)]
pub struct PromisedParcel {
    /// Where it leaves from.
    pub location: String,
    /// The day it leaves (`YYYY-MM-DD`, the location's).
    pub ship_date: String,
    /// The day it arrives.
    pub delivery_date: String,
    /// Carrier days in transit.
    pub transit_days: u8,
    /// Its weight, kg.
    pub weight_kg: f64,
    /// The service's price for it.
    pub price: f64,
    /// Why those dates, step by step.
    pub reasons: Vec<String>,
}

/// What one service can promise.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryOption {
    /// The service.
    pub service: String,
    /// Its carrier and name.
    pub carrier: String,
    /// What a shopper is shown.
    pub name: String,
    /// The promise, or why there is none.
    pub outcome: Result<Promised, NoOption>,
}

/// A promise by one service.
#[derive(Clone, Debug, PartialEq)]
pub struct Promised {
    /// The day the whole cart arrives (`YYYY-MM-DD`).
    pub delivery_date: String,
    /// The carrier's price for every parcel.
    pub shipping_price: f64,
    /// The parcels, each with its dates, price and reasons.
    pub parcels: Vec<PromisedParcel>,
    /// The plan that makes it (the order's policy: its costs and rules).
    pub plan: PlanRecord,
}

/// Why a service promises nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct NoOption {
    /// `cannot_ship_whole`, `too_heavy` or `routing_failed`.
    pub code: &'static str,
    /// In words.
    pub message: String,
}

/// The parcels of a promise in merchant ids.
pub(super) fn parcels(catalog: &Catalog, shipments: &[PromisedShipment]) -> Vec<PromisedParcel> {
    shipments
        .iter()
        .map(|s| PromisedParcel {
            location: catalog.location(s.location).id.clone(),
            ship_date: date_text(s.quote.dates.ship_day),
            delivery_date: date_text(s.quote.dates.delivery_day),
            transit_days: s.quote.transit_days,
            weight_kg: s.weight_kg,
            price: to_the_cent(s.quote.price),
            reasons: s.quote.dates.steps.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

impl Service {
    pub(super) fn carriers(&self) -> Arc<Carriers> {
        Arc::clone(&self.carrier_services.read())
    }

    /// Every carrier service, by id.
    pub fn carrier_services(&self) -> Vec<CarrierServiceRecord> {
        self.carriers().values().map(|c| c.record.clone()).collect()
    }

    /// One carrier service.
    pub fn carrier_service(&self, id: &str) -> Result<CarrierServiceRecord, ServiceError> {
        self.carriers().get(id).map(|c| c.record.clone()).ok_or_else(|| unknown_service(id))
    }

    /// Inserts or replaces carrier services (all or none); errors name
    /// `carrier_services[index].field`.
    pub async fn upsert_carrier_services(&self, records: Vec<CarrierServiceRecord>) -> Result<(), ServiceError> {
        let _order = self.stock_lock.lock().await;
        let mut carriers = (*self.carriers()).clone();
        let mut changes = Vec::with_capacity(records.len());
        for (index, record) in records.into_iter().enumerate() {
            let path = format!("carrier_services[{index}]");
            let service = engine_service(&record).map_err(|e| e.under(&path))?;
            changes.push(Change::CarrierService { id: record.id.clone(), body: Some(body_of(&record)?) });
            carriers.insert(record.id.clone(), Carrier { record, service: Arc::new(service) });
        }
        if carriers.len() > MAX_CARRIER_SERVICES {
            return Err(ServiceError::conflict(
                "too_many_carrier_services",
                format!("at most {MAX_CARRIER_SERVICES} carrier services are kept"),
            ));
        }
        self.commit(changes).await?;
        *self.carrier_services.write() = Arc::new(carriers);
        Ok(())
    }

    /// Removes a carrier service (orders that named it keep their dates).
    pub async fn remove_carrier_service(&self, id: &str) -> Result<(), ServiceError> {
        let _order = self.stock_lock.lock().await;
        let mut carriers = (*self.carriers()).clone();
        if carriers.remove(id).is_none() {
            return Err(unknown_service(id));
        }
        self.commit(vec![Change::CarrierService { id: id.to_owned(), body: None }]).await?;
        *self.carrier_services.write() = Arc::new(carriers);
        Ok(())
    }

    /// Applies a carrier service read from the store (start, or another instance's change):
    /// `None` removes it. An unusable one is logged and left out.
    pub(super) fn apply_carrier_service(&self, id: &str, record: Option<CarrierServiceRecord>) {
        let mut carriers = (*self.carriers()).clone();
        match record.map(|record| engine_service(&record).map(|service| (record, service))) {
            Some(Ok((record, service))) => {
                carriers.insert(id.to_owned(), Carrier { record, service: Arc::new(service) });
            }
            Some(Err(error)) => {
                tracing::warn!(service = %id, %error, "a stored carrier service is not usable: left out");
                carriers.remove(id);
            }
            None => {
                carriers.remove(id);
            }
        }
        *self.carrier_services.write() = Arc::new(carriers);
    }

    /// The delivery options for a cart: per service, the earliest day it can deliver the whole
    /// cart from live stock (under the policy bound to the cart's group, each location's
    /// cut-off, calendar and processing days, the carrier's days and transit times), the
    /// locations that would ship, and why those dates. Reserves nothing.
    pub fn promise(&self, request: &PromiseRequest) -> Result<Vec<DeliveryOption>, ServiceError> {
        let catalog = self.catalog();
        let order = engine_order(&catalog, &request.cart, now())?;
        let carriers = self.carriers();
        let chosen: Vec<&Carrier> = if request.services.is_empty() {
            carriers.values().collect()
        } else {
            if request.services.len() > MAX_CARRIER_SERVICES {
                return Err(ServiceError::invalid("too_many", format!("at most {MAX_CARRIER_SERVICES} services"))
                    .at("services"));
            }
            request
                .services
                .iter()
                .enumerate()
                .map(|(index, id)| {
                    carriers.get(id).ok_or_else(|| {
                        let shown = switchyard_engine::clean_text(id, 128);
                        ServiceError::invalid("unknown_carrier_service", format!("no carrier service `{shown}`"))
                            .at(format!("services[{index}]"))
                    })
                })
                .collect::<Result<_, _>>()?
        };
        if chosen.is_empty() {
            return Err(ServiceError::conflict("no_carrier_services", "no carrier service is set up to promise with"));
        }
        let binding = self.binding_for(&catalog, &order)?;
        let router = Router {
            catalog: &catalog,
            inventory: &self.inventory,
            policy: &*binding.policy,
            config: &self.router_config,
        };
        let options = chosen
            .into_iter()
            .map(|carrier| DeliveryOption {
                service: carrier.record.id.clone(),
                carrier: carrier.record.carrier.clone(),
                name: carrier.record.name.clone(),
                outcome: self.promise_by(&router, &carrier.service, &order),
            })
            .collect();
        Ok(options)
    }

    fn promise_by(&self, router: &Router<'_>, service: &CarrierService, order: &Order) -> Result<Promised, NoOption> {
        match WORKSPACE.with(|w| promise(router, service, order, &mut w.borrow_mut())) {
            Ok(option) => Ok(Promised {
                delivery_date: date_text(option.delivery_day),
                shipping_price: to_the_cent(option.price),
                parcels: parcels(router.catalog, &option.shipments),
                plan: PlanRecord::from_engine(&option.plan, order, router.catalog, &self.config.currency),
            }),
            Err(NoPromise::CannotShipWhole) => Err(NoOption {
                code: "cannot_ship_whole",
                message: "the cart cannot be shipped whole by this service from the stock there is".to_owned(),
            }),
            Err(error @ NoPromise::TooHeavy { .. }) => Err(NoOption { code: "too_heavy", message: error.to_string() }),
            Err(NoPromise::Routing(error)) => Err(NoOption { code: "routing_failed", message: error.to_string() }),
        }
    }
}

fn unknown_service(id: &str) -> ServiceError {
    let shown = switchyard_engine::clean_text(id, 128);
    ServiceError::not_found("unknown_carrier_service", format!("no carrier service `{shown}`"))
}

// Routes an order with a router: reserving it or not, explaining it or not.
type RouteWith<'a> = dyn Fn(&Router<'_>) -> Result<(Routed, Option<Explanation>), RoutingError> + 'a;

/// An order's delivery terms: its carrier service, and the day promised.
#[derive(Clone, Debug)]
pub(super) struct DeliveryTerms {
    pub(super) carrier: Carrier,
    pub(super) deliver_by: Option<i64>,
}

/// The dates of a routed order's parcels by its service, or why the service rejects it.
#[derive(Clone, Debug)]
pub(super) struct Dated {
    service: String,
    deliver_by: Option<i64>,
    // Per shipment of the plan, in its order: (ship day, delivery day).
    parcels: Vec<(i64, i64)>,
    rejected: Option<String>,
}

impl Dated {
    /// The dates of `plan`'s parcels by the order's `terms` (its carrier service and the day
    /// promised), or why the service cannot carry one of them.
    pub(super) fn of_plan(
        catalog: &Catalog,
        terms: &DeliveryTerms,
        order: &Order,
        plan: &Plan,
    ) -> Result<Dated, calendar::NoQuote> {
        let parcels = quote_plan(catalog, &terms.carrier.service, order, plan)?;
        Ok(Dated {
            service: terms.carrier.service.id.clone(),
            deliver_by: terms.deliver_by,
            parcels: parcels.iter().map(|p| (p.quote.dates.ship_day, p.quote.dates.delivery_day)).collect(),
            rejected: None,
        })
    }

    /// Puts the dates on `plan` (the engine's plan in merchant ids, shipments in the same
    /// order), or turns it into a rejection that ships nothing.
    pub(super) fn apply(&self, plan: &mut PlanRecord) {
        if let Some(reason) = &self.rejected {
            plan.status = PlanOutcome::Rejected;
            plan.reason = Some(reason.clone());
            for shipment in plan.shipments.drain(..) {
                for line in shipment.lines {
                    plan.unfilled.push(UnfilledUnits { line_id: line.line_id, sku: line.sku, qty: line.qty });
                }
            }
            plan.cost = CostRecord::default();
        }
        for (shipment, (ship, delivered)) in plan.shipments.iter_mut().zip(&self.parcels) {
            shipment.ship_date = Some(date_text(*ship));
            shipment.delivery_date = Some(date_text(*delivered));
        }
        let last = self.parcels.iter().map(|(_, delivered)| *delivered).max().filter(|_| self.rejected.is_none());
        plan.delivery = Some(DeliveryRecord {
            service: self.service.clone(),
            deliver_by: self.deliver_by.map(date_text),
            delivery_date: last.map(date_text),
            late: matches!((last, self.deliver_by), (Some(last), Some(by)) if last > by),
        });
    }
}

fn ships_whole(plan: &Plan) -> bool {
    plan.status == PlanStatus::Routed && plan.unfilled.is_empty() && !plan.shipments.is_empty()
}

impl Service {
    /// The delivery terms of `submitted`, checked: errors name `service` or `deliver_by`.
    pub(super) fn delivery_terms(&self, submitted: &SubmittedOrder) -> Result<Option<DeliveryTerms>, ServiceError> {
        let deliver_by = match &submitted.deliver_by {
            Some(text) => Some(calendar::parse_date(text).map_err(|message| invalid("deliver_by", message))?),
            None => None,
        };
        let Some(id) = &submitted.service else {
            if deliver_by.is_some() {
                return Err(invalid("deliver_by", "a promised day needs the carrier `service` that delivers it"));
            }
            return Ok(None);
        };
        let carrier = self.carriers().get(id).cloned().ok_or_else(|| {
            let shown = switchyard_engine::clean_text(id, 128);
            ServiceError::invalid("unknown_carrier_service", format!("no carrier service `{shown}`")).at("service")
        })?;
        Ok(Some(DeliveryTerms { carrier, deliver_by }))
    }

    /// [`Service::delivery_terms`] for an order routed later (due, re-routed): a service
    /// removed since is logged, and the order routes without it.
    pub(super) fn delivery_terms_now(&self, submitted: &SubmittedOrder) -> Option<DeliveryTerms> {
        self.delivery_terms(submitted)
            .inspect_err(|error| {
                tracing::warn!(order = %submitted.id, %error, "the order's delivery terms no longer apply: routed without")
            })
            .ok()
            .flatten()
    }

    /// Plans and reserves `order` by its carrier service: only locations the service ships
    /// from, and with a `deliver_by`, only those that deliver by then. When none can make the
    /// day but the order could ship later, the policy decides ([`Policy::late_delivery`]):
    /// routed again without the day (late), or rejected. The parcels' dates come with it; a
    /// parcel the service cannot carry (too heavy) rejects the order.
    pub(super) fn reserve_by_service(
        &self,
        router: &Router<'_>,
        terms: &DeliveryTerms,
        order: &Order,
    ) -> Result<(Routed, Option<Explanation>, Dated), RoutingError> {
        self.route_by_service(router, terms, order, &|router: &Router<'_>| self.reserve(router, order))
    }

    /// [`Service::reserve_by_service`] without reserving: the plan and its explanation.
    pub(super) fn plan_by_service(
        &self,
        router: &Router<'_>,
        terms: &DeliveryTerms,
        order: &Order,
    ) -> Result<(Plan, Option<Explanation>, Dated), RoutingError> {
        let explain = |router: &Router<'_>| {
            WORKSPACE
                .with(|w| router.explain(order, &mut w.borrow_mut()))
                .map(|(plan, why)| (Routed { plan, reservation: None }, Some(why)))
        };
        let (routed, why, dated) = self.route_by_service(router, terms, order, &explain)?;
        Ok((routed.plan, why, dated))
    }

    // Routes with `route` (reserving or not) by the order's service, as documented above.
    fn route_by_service(
        &self,
        router: &Router<'_>,
        terms: &DeliveryTerms,
        order: &Order,
        route: &RouteWith<'_>,
    ) -> Result<(Routed, Option<Explanation>, Dated), RoutingError> {
        let service = &terms.carrier.service;
        let days = delivery_days(router.catalog, service, order);
        let mut dated =
            Dated { service: service.id.clone(), deliver_by: terms.deliver_by, parcels: Vec::new(), rejected: None };
        let reachable = late_locations(&days, i64::MAX);
        let view = delivery_view(service, terms.deliver_by, &days);
        let (mut routed, why) = match terms.deliver_by {
            None => {
                let policy = DeadlinePolicy::new(router.policy, reachable).showing(&view);
                route(&Router { policy: &policy, ..*router })?
            }
            Some(deliver_by) => {
                let on_time = DeadlinePolicy::new(router.policy, late_locations(&days, deliver_by)).showing(&view);
                let (routed, why) = route(&Router { policy: &on_time, ..*router })?;
                if ships_whole(&routed.plan) {
                    (routed, why)
                } else {
                    // Is the day what stands in the way? Only if a later delivery ships more.
                    let any_day = DeadlinePolicy::new(router.policy, reachable).showing(&view);
                    let later = Router { policy: &any_day, ..*router };
                    let planned = WORKSPACE.with(|w| later.plan(order, &mut w.borrow_mut()))?;
                    if planned.shipped_units() <= routed.plan.shipped_units() {
                        (routed, why)
                    } else {
                        self.release_routed(&routed);
                        match router.policy.late_delivery() {
                            LateDelivery::ShipLate => route(&later)?,
                            LateDelivery::Reject => {
                                // The day the plan without the deadline would arrive.
                                let earliest = planned
                                    .shipments
                                    .iter()
                                    .filter_map(|s| days.get(s.location.index())?.as_ref().ok())
                                    .map(|d| d.delivery_day)
                                    .max();
                                dated.rejected = Some(format!(
                                    "no location can deliver by {} with {}{}; the policy rejects late deliveries",
                                    day_text(deliver_by),
                                    service.id,
                                    earliest.map(|d| format!(" (the earliest is {})", day_text(d))).unwrap_or_default()
                                ));
                                (Routed { plan: routed.plan, reservation: None }, why)
                            }
                        }
                    }
                }
            }
        };
        if dated.rejected.is_none() {
            match quote_plan(router.catalog, service, order, &routed.plan) {
                Ok(parcels) => {
                    dated.parcels =
                        parcels.iter().map(|p| (p.quote.dates.ship_day, p.quote.dates.delivery_day)).collect();
                }
                Err(error) => {
                    self.release_routed(&routed);
                    routed.reservation = None;
                    dated.rejected = Some(format!("{} cannot carry the plan's parcels: {error}", service.id));
                }
            }
        }
        Ok((routed, why, dated))
    }

    fn release_routed(&self, routed: &Routed) {
        if let Some(reservation) = &routed.reservation
            && let Err(error) = self.inventory.release(reservation)
        {
            tracing::error!(%error, "could not release a reservation routed again");
        }
    }
}
