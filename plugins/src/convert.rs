//! Engine types to the WIT request, and the WIT answer back into an engine `Evaluation`.

use std::sync::Arc;

use switchyard_engine::{Evaluation, MAX_REASON_CHARS, PlannedUnits, PolicyRequest, ShortStock, Verdict, clean_text};

use crate::bindings::switchyard::routing::types as wit;
use crate::bindings::v0_4::switchyard::routing::types as wit_v0_4;
use crate::bindings::v0_5::switchyard::routing::types as wit_v0_5;
use crate::parameters::ParamValue;

// Bytes per row in the request's `rows` (the layouts are in plugins/wit/routing.wit).
pub(crate) const LINE_ROW: usize = 36;
pub(crate) const LOCATION_ROW: usize = 68;
pub(crate) const LABEL_ROW: usize = 12;
pub(crate) const CANDIDATE_ROW: usize = 12;
pub(crate) const DELIVERY_ROW: usize = 12;

// The order record (and the delivery record) in the plugin's memory, for the input size limit.
const ORDER_BYTES: usize = 64;
const DELIVERY_BYTES: usize = 20;

// An optional count that is absent.
pub(crate) const NONE: u32 = u32::MAX;

/// Appends texts to the request's one string and hands out their spans.
struct Text(String);

impl Text {
    fn name(&mut self, text: &str) -> wit::Name {
        let start = self.0.len() as u32;
        self.0.push_str(text);
        wit::Name { start, len: text.len() as u32 }
    }
}

/// Packed little-endian rows.
struct Rows(Vec<u8>);

impl Rows {
    fn u32(&mut self, value: u32) {
        // A fixed-size array extends with plain stores, where a slice would call `memcpy`.
        self.0.extend(value.to_le_bytes());
    }

    fn i32(&mut self, value: i32) {
        self.0.extend(value.to_le_bytes());
    }

    fn f64(&mut self, value: f64) {
        self.0.extend(value.to_le_bytes());
    }

    fn span(&mut self, name: wit::Name) {
        self.u32(name.start);
        self.u32(name.len);
    }

    // A count of u32::MAX reads as none (unlimited): a limit of 4,294,967,295 shipments a day
    // is none in practice.
    fn count(&mut self, value: Option<u32>) {
        self.u32(value.unwrap_or(NONE));
    }
}

/// The request a plugin is shown, with its parameters' `values`, and its size in the plugin's
/// memory in bytes. Without `delivery` (a plugin of a version before 0.5.0), it carries no
/// carrier service or dates.
pub fn request(request: &PolicyRequest<'_>, delivery: bool, values: &[ParamValue]) -> (wit::Request, usize) {
    let catalog = request.catalog;
    let order = request.order;
    // Room for the texts of a typical request (ids and names of a dozen bytes) in one allocation.
    let mut text =
        Text(String::with_capacity(16 * (4 + 4 * order.lines.len() + 2 * request.candidates.locations.len())));
    let slots = &request.candidates.locations;
    let tag_count: usize = order.lines.iter().map(|line| catalog.product(line.sku).tags.len()).sum();
    let capability_count: usize =
        slots.iter().map(|candidate| catalog.location(candidate.location).capabilities.len()).sum();
    let delivery = request.delivery.filter(|_| delivery);
    // One byte list, the sections back to back: one allocation in the plugin instead of six.
    let rows_len = order.lines.len() * LINE_ROW
        + slots.len() * LOCATION_ROW
        + (tag_count + capability_count) * LABEL_ROW
        + request.candidates.entries.len() * CANDIDATE_ROW
        + if delivery.is_some() { slots.len() * DELIVERY_ROW } else { 0 };
    let mut rows = Rows(Vec::with_capacity(rows_len));
    for line in &order.lines {
        let product = catalog.product(line.sku);
        rows.span(text.name(&line.id));
        rows.u32(line.qty);
        rows.span(text.name(&product.sku));
        rows.span(text.name(&product.group));
        rows.f64(product.weight_kg);
    }
    for candidate in slots {
        let location = catalog.location(candidate.location);
        rows.span(text.name(&location.id));
        rows.span(text.name(location.kind.name()));
        rows.f64(location.position.lat);
        rows.f64(location.position.lon);
        rows.f64(location.handling_per_shipment);
        rows.f64(location.handling_per_unit);
        rows.i32(location.priority);
        rows.f64(candidate.distance_km);
        rows.count(location.capacity_shipments_per_day);
        // A location that is down ships nothing now, whatever its capacity.
        rows.count(if candidate.blocked.is_some() { Some(0) } else { candidate.shipments_left });
    }
    for (index, line) in order.lines.iter().enumerate() {
        for tag in &catalog.product(line.sku).tags {
            rows.u32(index as u32);
            rows.span(text.name(tag));
        }
    }
    for (index, candidate) in slots.iter().enumerate() {
        for capability in &catalog.location(candidate.location).capabilities {
            rows.u32(index as u32);
            rows.span(text.name(capability));
        }
    }
    for line in 0..request.candidates.line_count() {
        for candidate in request.candidates.line(line) {
            rows.u32(line as u32);
            rows.u32(candidate.slot);
            rows.u32(candidate.atp);
        }
    }
    if let Some(view) = delivery {
        for candidate in slots {
            match view.location(candidate.location.index()) {
                Some(dates) => {
                    rows.u32(u32::from(dates.transit_days));
                    rows.i32(day(dates.ship_day));
                    rows.i32(day(dates.delivery_day));
                }
                None => {
                    rows.count(None);
                    rows.i32(0);
                    rows.i32(0);
                }
            }
        }
    }
    debug_assert_eq!(rows.0.len(), rows_len);
    let wit_order = wit::Order {
        id: text.name(&order.id),
        channel: text.name(&order.channel),
        placed_at: order.placed_at.0,
        ship_to_lat: order.ship_to.position.lat,
        ship_to_lon: order.ship_to.position.lon,
        postal_code: text.name(&order.ship_to.postal_code),
        country: text.name(&order.ship_to.country),
    };
    let wit_delivery =
        delivery.map(|view| wit::Delivery { service: text.name(&view.service), deliver_by: view.deliver_by.map(day) });
    let size = ORDER_BYTES
        + if delivery.is_some() { DELIVERY_BYTES } else { 0 }
        + text.0.len()
        + rows.0.len()
        + values.iter().map(ParamValue::wire_bytes).sum::<usize>();
    let wit_request = wit::Request {
        now: request.now.0,
        text: text.0,
        order: wit_order,
        line_count: order.lines.len() as u32,
        location_count: slots.len() as u32,
        tag_count: tag_count as u32,
        capability_count: capability_count as u32,
        candidate_count: request.candidates.entries.len() as u32,
        delivery: wit_delivery,
        rows: rows.0,
        parameters: values.iter().map(ParamValue::to_wire).collect(),
    };
    (wit_request, size)
}

// A day as the wire carries it. Calendar days within ±5.8 million years of 1970 fit; the
// engine's dates are within years of now.
fn day(day: i64) -> i32 {
    i32::try_from(day).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX })
}

/// The same request in 0.4.0's shape (one built without `delivery`: its rows end with the
/// candidates).
pub fn v0_4_request(request: wit::Request) -> wit_v0_4::Request {
    let order = request.order;
    let name = |name: wit::Name| wit_v0_4::Name { start: name.start, len: name.len };
    wit_v0_4::Request {
        now: request.now,
        text: request.text,
        order: wit_v0_4::Order {
            id: name(order.id),
            channel: name(order.channel),
            placed_at: order.placed_at,
            ship_to_lat: order.ship_to_lat,
            ship_to_lon: order.ship_to_lon,
            postal_code: name(order.postal_code),
            country: name(order.country),
        },
        line_count: request.line_count,
        location_count: request.location_count,
        tag_count: request.tag_count,
        capability_count: request.capability_count,
        candidate_count: request.candidate_count,
        rows: request.rows,
    }
}

/// The same request in 0.5.0's shape: without parameters.
pub fn v0_5_request(request: wit::Request) -> wit_v0_5::Request {
    let order = request.order;
    let name = |name: wit::Name| wit_v0_5::Name { start: name.start, len: name.len };
    wit_v0_5::Request {
        now: request.now,
        text: request.text,
        order: wit_v0_5::Order {
            id: name(order.id),
            channel: name(order.channel),
            placed_at: order.placed_at,
            ship_to_lat: order.ship_to_lat,
            ship_to_lon: order.ship_to_lon,
            postal_code: name(order.postal_code),
            country: name(order.country),
        },
        line_count: request.line_count,
        location_count: request.location_count,
        tag_count: request.tag_count,
        capability_count: request.capability_count,
        candidate_count: request.candidate_count,
        delivery: request
            .delivery
            .map(|delivery| wit_v0_5::Delivery { service: name(delivery.service), deliver_by: delivery.deliver_by }),
        rows: request.rows,
    }
}

// An older version's answer as the current one: the answer record is the same in every
// version, field for field (the types are distinct only because bindgen makes one set per
// version).
macro_rules! answer_from {
    ($name:ident, $old:ident, $version:literal) => {
        #[doc = concat!("A ", $version, " answer as the current one.")]
        pub fn $name(answer: $old::Answer) -> wit::Answer {
            let exclusions = |list: Vec<$old::Exclusion>| {
                list.into_iter().map(|e| wit::Exclusion { index: e.index, reason: e.reason }).collect()
            };
            wit::Answer {
                reasons: answer.reasons,
                shipment_cost: answer.shipment_cost,
                unit_cost: answer.unit_cost,
                excluded_locations: exclusions(answer.excluded_locations),
                excluded_candidates: exclusions(answer.excluded_candidates),
                max_shipments: answer.max_shipments,
                split_penalty: answer.split_penalty,
                line_may_split: answer.line_may_split,
                ship_together: answer.ship_together,
                short_stock: match answer.short_stock {
                    $old::ShortStock::Partial(penalty) => wit::ShortStock::Partial(penalty),
                    $old::ShortStock::Reject => wit::ShortStock::Reject,
                },
                backorder_within: answer.backorder_within,
                plan: answer.plan.map(|plan| {
                    plan.into_iter().map(|p| wit::PlannedUnits { candidate: p.candidate, units: p.units }).collect()
                }),
            }
        }
    };
}

answer_from!(from_v0_5, wit_v0_5, "0.5.0");
answer_from!(from_v0_4, wit_v0_4, "0.4.0");

/// Copies a plugin's answer into `out`, refusing one that does not fit the request.
pub fn answer(answer: wit::Answer, out: &mut Evaluation) -> Result<(), String> {
    let check = |what: &str, got: usize, wanted: usize| {
        if got == wanted { Ok(()) } else { Err(format!("`{what}` has {got} entries, the request had {wanted}")) }
    };
    check("shipment-cost", answer.shipment_cost.len(), out.shipment.len())?;
    check("unit-cost", answer.unit_cost.len(), out.units.len())?;
    check("line-may-split", answer.line_may_split.len(), out.split.line_may_split.len())?;
    check("ship-together", answer.ship_together.len(), out.split.ship_together.len())?;
    for (slot, &cost) in out.shipment.iter_mut().zip(&answer.shipment_cost) {
        *slot = Verdict::Cost(cost);
    }
    for (slot, &cost) in out.units.iter_mut().zip(&answer.unit_cost) {
        *slot = Verdict::Cost(cost);
    }
    // Reasons are shown in explanations and errors: one line each, capped, no control
    // characters (a plugin's escape sequences never reach a terminal).
    let reasons: Vec<Arc<str>> =
        answer.reasons.iter().map(|reason| Arc::from(clean_text(reason, MAX_REASON_CHARS))).collect();
    let exclude = |what: &str, verdicts: &mut [Verdict], exclusions: &[wit::Exclusion], of: &str| {
        for (position, exclusion) in exclusions.iter().enumerate() {
            let count = verdicts.len();
            let slot = verdicts.get_mut(exclusion.index as usize).ok_or_else(|| {
                format!("`{what}[{position}]` excludes {of} {}, but the request had {count} {of}s", exclusion.index)
            })?;
            let reason = reasons.get(exclusion.reason as usize).ok_or_else(|| {
                format!(
                    "`{what}[{position}]` gives reason {}, but `reasons` has {} entries",
                    exclusion.reason,
                    reasons.len()
                )
            })?;
            *slot = Verdict::Excluded(Arc::clone(reason));
        }
        Ok::<(), String>(())
    };
    exclude("excluded-locations", &mut out.shipment, &answer.excluded_locations, "location")?;
    exclude("excluded-candidates", &mut out.units, &answer.excluded_candidates, "candidate")?;
    out.split.max_shipments = answer.max_shipments;
    out.split.split_penalty = answer.split_penalty;
    out.split.line_may_split.copy_from_slice(&answer.line_may_split);
    out.split.ship_together.copy_from_slice(&answer.ship_together);
    if answer.backorder_within.is_some_and(|s| s <= 0) {
        return Err("`backorder-within` must be a positive number of seconds".to_owned());
    }
    out.backorder_within = answer.backorder_within;
    out.plan = answer.plan.map(|plan| {
        plan.into_iter().map(|planned| PlannedUnits { candidate: planned.candidate, qty: planned.units }).collect()
    });
    out.short_stock = match answer.short_stock {
        wit::ShortStock::Partial(penalty) => ShortStock::Partial { unfilled_penalty: penalty },
        wit::ShortStock::Reject => ShortStock::Reject,
    };
    Ok(())
}
