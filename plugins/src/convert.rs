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

// Labels (location kinds, capabilities, product groups and tags) kept once in a request's
// text: a network's few distinct labels repeat on every location, and each copy would be
// bytes to write here and in the plugin's memory.
const LABELS: usize = 16;

/// Appends texts to the request's one string and hands out their spans.
struct Text<'s> {
    text: String,
    labels: [(&'s str, wit::Name); LABELS],
    label_count: usize,
}

impl<'s> Text<'s> {
    fn with_capacity(bytes: usize) -> Text<'s> {
        Text {
            text: String::with_capacity(bytes),
            labels: [("", wit::Name { start: 0, len: 0 }); LABELS],
            label_count: 0,
        }
    }

    fn name(&mut self, text: &str) -> wit::Name {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        wit::Name { start, len: text.len() as u32 }
    }

    // A label's span, shared with its earlier copies while the first `LABELS` distinct labels
    // last; any after those are appended each time.
    fn label(&mut self, label: &'s str) -> wit::Name {
        let known = &self.labels[..self.label_count];
        if let Some((_, name)) = known.iter().find(|(seen, _)| *seen == label) {
            return *name;
        }
        let name = self.name(label);
        if let Some(slot) = self.labels.get_mut(self.label_count) {
            *slot = (label, name);
            self.label_count += 1;
        }
        name
    }
}

/// Packed little-endian rows, written a row at a time: each row is filled in a fixed-size
/// array (plain stores at known offsets) and appended in one copy.
struct Rows(Vec<u8>);

impl Rows {
    fn push<const N: usize>(&mut self, fill: impl FnOnce(&mut Row<N>)) {
        let mut row = Row { bytes: [0; N], at: 0 };
        fill(&mut row);
        debug_assert_eq!(row.at, N, "a row's fields fill it exactly");
        self.0.extend_from_slice(&row.bytes);
    }
}

/// One row being filled, field after field.
struct Row<const N: usize> {
    bytes: [u8; N],
    at: usize,
}

impl<const N: usize> Row<N> {
    fn put<const W: usize>(&mut self, bytes: [u8; W]) {
        // With `N`, `W` and the offsets known when compiling, the bounds check folds away;
        // a row written past its size would be a bug here, caught by the debug assertion in
        // `Rows::push` (the field is dropped, never written out of bounds).
        if let Some(field) = self.bytes.get_mut(self.at..self.at + W) {
            field.copy_from_slice(&bytes);
        }
        self.at += W;
    }

    fn u32(&mut self, value: u32) {
        self.put(value.to_le_bytes());
    }

    fn i32(&mut self, value: i32) {
        self.put(value.to_le_bytes());
    }

    fn f64(&mut self, value: f64) {
        self.put(value.to_le_bytes());
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
    // Room for the texts of a typical request (ids of a dozen bytes, labels shared) in one
    // allocation.
    let mut text = Text::with_capacity(16 * (8 + 2 * order.lines.len() + request.candidates.locations.len()));
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
        rows.push::<LINE_ROW>(|row| {
            row.span(text.name(&line.id));
            row.u32(line.qty);
            row.span(text.name(&product.sku));
            row.span(text.label(&product.group));
            row.f64(product.weight_kg);
        });
    }
    for candidate in slots {
        let location = catalog.location(candidate.location);
        rows.push::<LOCATION_ROW>(|row| {
            row.span(text.name(&location.id));
            row.span(text.label(location.kind.name()));
            row.f64(location.position.lat);
            row.f64(location.position.lon);
            row.f64(location.handling_per_shipment);
            row.f64(location.handling_per_unit);
            row.i32(location.priority);
            row.f64(candidate.distance_km);
            row.count(location.capacity_shipments_per_day);
            // A location that is down ships nothing now, whatever its capacity.
            row.count(if candidate.blocked.is_some() { Some(0) } else { candidate.shipments_left });
        });
    }
    for (index, line) in order.lines.iter().enumerate() {
        for tag in &catalog.product(line.sku).tags {
            rows.push::<LABEL_ROW>(|row| {
                row.u32(index as u32);
                row.span(text.label(tag));
            });
        }
    }
    for (index, candidate) in slots.iter().enumerate() {
        for capability in &catalog.location(candidate.location).capabilities {
            rows.push::<LABEL_ROW>(|row| {
                row.u32(index as u32);
                row.span(text.label(capability));
            });
        }
    }
    for line in 0..request.candidates.line_count() {
        for candidate in request.candidates.line(line) {
            rows.push::<CANDIDATE_ROW>(|row| {
                row.u32(line as u32);
                row.u32(candidate.slot);
                row.u32(candidate.atp);
            });
        }
    }
    if let Some(view) = delivery {
        for candidate in slots {
            rows.push::<DELIVERY_ROW>(|row| match view.location(candidate.location.index()) {
                Some(dates) => {
                    row.u32(u32::from(dates.transit_days));
                    row.i32(day(dates.ship_day));
                    row.i32(day(dates.delivery_day));
                }
                None => {
                    row.count(None);
                    row.i32(0);
                    row.i32(0);
                }
            });
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
        + text.text.len()
        + rows.0.len()
        + values.iter().map(ParamValue::wire_bytes).sum::<usize>();
    let wit_request = wit::Request {
        now: request.now.0,
        text: text.text,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read<'t>(text: &'t Text<'_>, name: wit::Name) -> &'t str {
        &text.text[name.start as usize..(name.start + name.len) as usize]
    }

    // Where a span points (the bindings' `Name` has no `==`).
    fn at(name: wit::Name) -> (u32, u32) {
        (name.start, name.len)
    }

    #[test]
    fn a_label_is_written_once_and_names_are_not_shared() {
        let mut text = Text::with_capacity(0);
        let dc = text.label("dc");
        let id = text.name("DC-1");
        assert_eq!(at(text.label("dc")), at(dc));
        assert_ne!(at(text.name("DC-1")), at(id), "ids are written each time");
        assert_eq!(text.text, "dcDC-1DC-1");
        assert_eq!((read(&text, dc), read(&text, id)), ("dc", "DC-1"));
    }

    #[test]
    fn labels_past_the_shared_ones_are_still_written() {
        let labels: Vec<String> = (0..LABELS + 3).map(|i| format!("label-{i}")).collect();
        let mut text = Text::with_capacity(0);
        let first: Vec<wit::Name> = labels.iter().map(|label| text.label(label)).collect();
        let again: Vec<wit::Name> = labels.iter().map(|label| text.label(label)).collect();
        for (index, label) in labels.iter().enumerate() {
            let (first, again) = (first[index], again[index]);
            assert_eq!((read(&text, first), read(&text, again)), (label.as_str(), label.as_str()));
            // The first `LABELS` are shared; labels past them are written again.
            assert_eq!(at(first) == at(again), index < LABELS, "{label}");
        }
    }

    #[test]
    fn a_row_is_its_fields_in_order_little_endian() {
        let mut rows = Rows(Vec::new());
        rows.push::<LABEL_ROW>(|row| {
            row.u32(7);
            row.span(wit::Name { start: 1, len: 2 });
        });
        rows.push::<DELIVERY_ROW>(|row| {
            row.count(None);
            row.i32(-2);
            row.i32(3);
        });
        assert_eq!(rows.0, [7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 255, 255, 255, 255, 254, 255, 255, 255, 3, 0, 0, 0]);
    }
}
