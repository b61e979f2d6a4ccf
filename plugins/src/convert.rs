//! Engine types to the WIT request, and the WIT answer back into an engine `Evaluation`.

use switchyard_engine::{Evaluation, PolicyRequest, ShortStock, Verdict};

use crate::bindings::switchyard::routing::types as wit;

/// The request a plugin is shown, and an estimate of its encoded size in bytes.
pub fn request(request: &PolicyRequest<'_>) -> (wit::Request, usize) {
    let catalog = request.catalog;
    let order = request.order;
    let mut size = 64 + order.id.len() + order.channel.len() + order.ship_to.postal_code.len();
    let lines: Vec<wit::Line> = order
        .lines
        .iter()
        .map(|line| {
            let product = catalog.product(line.sku);
            size += 48 + line.id.len() + product.sku.len() + product.group.len();
            size += product.tags.iter().map(|t| 8 + t.len()).sum::<usize>();
            wit::Line {
                id: line.id.clone(),
                qty: line.qty,
                item: wit::Item {
                    sku: product.sku.clone(),
                    group: product.group.clone(),
                    weight_kg: product.weight_kg,
                    tags: product.tags.clone(),
                },
            }
        })
        .collect();
    let locations: Vec<wit::Location> = request
        .candidates
        .locations
        .iter()
        .map(|candidate| {
            let location = catalog.location(candidate.location);
            size += 96 + location.id.len() + location.kind.name().len();
            size += location.capabilities.iter().map(|c| 8 + c.len()).sum::<usize>();
            wit::Location {
                id: location.id.clone(),
                kind: location.kind.name().to_owned(),
                lat: location.position.lat,
                lon: location.position.lon,
                handling_per_shipment: location.handling_per_shipment,
                handling_per_unit: location.handling_per_unit,
                priority: location.priority,
                capabilities: location.capabilities.clone(),
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
    size += candidates.len() * 12;
    let wit_request = wit::Request {
        now: request.now.0,
        order: wit::Order {
            id: order.id.clone(),
            channel: order.channel.clone(),
            placed_at: order.placed_at.0,
            ship_to_lat: order.ship_to.position.lat,
            ship_to_lon: order.ship_to.position.lon,
            postal_code: order.ship_to.postal_code.clone(),
            country: order.ship_to.country.clone(),
        },
        lines,
        locations,
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
    let verdict = |verdict: wit::Verdict| match verdict {
        wit::Verdict::Cost(cost) => Verdict::Cost(cost),
        wit::Verdict::Excluded(reason) => Verdict::Excluded(reason.into()),
    };
    for (slot, v) in out.shipment.iter_mut().zip(answer.shipment) {
        *slot = verdict(v);
    }
    for (slot, v) in out.units.iter_mut().zip(answer.units) {
        *slot = verdict(v);
    }
    out.split.max_shipments = answer.max_shipments;
    out.split.split_penalty = answer.split_penalty;
    out.split.line_may_split.copy_from_slice(&answer.line_may_split);
    out.split.ship_together.copy_from_slice(&answer.ship_together);
    out.short_stock = match answer.short_stock {
        wit::ShortStock::Partial(penalty) => ShortStock::Partial { unfilled_penalty: penalty },
        wit::ShortStock::Reject => ShortStock::Reject,
    };
    Ok(())
}
