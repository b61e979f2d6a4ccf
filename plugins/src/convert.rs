//! Engine types to the WIT request, and the WIT answer back into an engine `Evaluation`.

use std::sync::Arc;

use switchyard_engine::{Evaluation, PolicyRequest, ShortStock, Verdict};

use crate::bindings::switchyard::routing::types as wit;

// Bytes per record in the plugin's memory (canonical ABI layouts), for the input size limit.
const ORDER_BYTES: usize = 64;
const LINE_BYTES: usize = 40;
const LOCATION_BYTES: usize = 88;
const LABEL_BYTES: usize = 12;
const CANDIDATE_BYTES: usize = 12;

/// Appends texts to the request's one string and hands out their spans.
struct Text(String);

impl Text {
    fn name(&mut self, text: &str) -> wit::Name {
        let start = self.0.len() as u32;
        self.0.push_str(text);
        wit::Name { start, len: text.len() as u32 }
    }
}

/// The request a plugin is shown, and its size in the plugin's memory in bytes.
pub fn request(request: &PolicyRequest<'_>) -> (wit::Request, usize) {
    let catalog = request.catalog;
    let order = request.order;
    let mut text = Text(String::with_capacity(256));
    let mut tags = Vec::new();
    let lines: Vec<wit::Line> = order
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let product = catalog.product(line.sku);
            for tag in &product.tags {
                tags.push(wit::Label { owner: index as u32, name: text.name(tag) });
            }
            wit::Line {
                id: text.name(&line.id),
                qty: line.qty,
                sku: text.name(&product.sku),
                group: text.name(&product.group),
                weight_kg: product.weight_kg,
            }
        })
        .collect();
    let mut capabilities = Vec::new();
    let locations: Vec<wit::Location> = request
        .candidates
        .locations
        .iter()
        .enumerate()
        .map(|(index, candidate)| {
            let location = catalog.location(candidate.location);
            for capability in &location.capabilities {
                capabilities.push(wit::Label { owner: index as u32, name: text.name(capability) });
            }
            wit::Location {
                id: text.name(&location.id),
                kind: text.name(location.kind.name()),
                lat: location.position.lat,
                lon: location.position.lon,
                handling_per_shipment: location.handling_per_shipment,
                handling_per_unit: location.handling_per_unit,
                priority: location.priority,
                distance_km: candidate.distance_km,
                capacity_per_day: location.capacity_shipments_per_day,
                shipments_left: candidate.shipments_left,
            }
        })
        .collect();
    let mut candidates = Vec::with_capacity(request.candidates.entries.len());
    for line in 0..request.candidates.line_count() {
        for candidate in request.candidates.line(line) {
            candidates.push(wit::Candidate { line: line as u32, location: candidate.slot, atp: candidate.atp });
        }
    }
    let wit_order = wit::Order {
        id: text.name(&order.id),
        channel: text.name(&order.channel),
        placed_at: order.placed_at.0,
        ship_to_lat: order.ship_to.position.lat,
        ship_to_lon: order.ship_to.position.lon,
        postal_code: text.name(&order.ship_to.postal_code),
        country: text.name(&order.ship_to.country),
    };
    let size = ORDER_BYTES
        + text.0.len()
        + lines.len() * LINE_BYTES
        + locations.len() * LOCATION_BYTES
        + (tags.len() + capabilities.len()) * LABEL_BYTES
        + candidates.len() * CANDIDATE_BYTES;
    let wit_request = wit::Request {
        now: request.now.0,
        text: text.0,
        order: wit_order,
        lines,
        locations,
        tags,
        capabilities,
        candidates,
    };
    (wit_request, size)
}

/// Copies a plugin's answer into `out`, refusing one that does not fit the request.
pub fn answer(answer: wit::Answer, out: &mut Evaluation) -> Result<(), String> {
    let check = |what: &str, got: usize, wanted: usize| {
        if got == wanted { Ok(()) } else { Err(format!("`{what}` has {got} entries, the request had {wanted}")) }
    };
    check("shipment", answer.shipment.len(), out.shipment.len())?;
    check("units", answer.units.len(), out.units.len())?;
    check("line-may-split", answer.line_may_split.len(), out.split.line_may_split.len())?;
    check("ship-together", answer.ship_together.len(), out.split.ship_together.len())?;
    let reasons: Vec<Arc<str>> = answer.reasons.into_iter().map(Arc::from).collect();
    let verdict = |what: &str, index: usize, verdict: wit::Verdict| match verdict {
        wit::Verdict::Cost(cost) => Ok(Verdict::Cost(cost)),
        wit::Verdict::Excluded(reason) => {
            reasons.get(reason as usize).map(|r| Verdict::Excluded(Arc::clone(r))).ok_or_else(|| {
                format!(
                    "`{what}[{index}]` is excluded for reason {reason}, but `reasons` has {} entries",
                    reasons.len()
                )
            })
        }
    };
    for (index, (slot, v)) in out.shipment.iter_mut().zip(answer.shipment).enumerate() {
        *slot = verdict("shipment", index, v)?;
    }
    for (index, (slot, v)) in out.units.iter_mut().zip(answer.units).enumerate() {
        *slot = verdict("units", index, v)?;
    }
    out.split.max_shipments = answer.max_shipments;
    out.split.split_penalty = answer.split_penalty;
    out.split.line_may_split.copy_from_slice(&answer.line_may_split);
    out.split.ship_together.copy_from_slice(&answer.ship_together);
    if answer.backorder_within.is_some_and(|s| s <= 0) {
        return Err("`backorder-within` must be a positive number of seconds".to_owned());
    }
    out.backorder_within = answer.backorder_within;
    out.short_stock = match answer.short_stock {
        wit::ShortStock::Partial(penalty) => ShortStock::Partial { unfilled_penalty: penalty },
        wit::ShortStock::Reject => ShortStock::Reject,
    };
    Ok(())
}
