//! "Ship from the nearest location": a plugin that chooses the whole plan itself rather than
//! pricing candidates for the optimizer. Each line takes its units from its candidates nearest
//! first, as many as each has (lines of one SKU share its stock), so an order ships from the
//! nearest locations that hold it, whatever that costs. Many merchants run exactly this rule;
//! the answer still prices every candidate, so the plan is costed, explained and compared
//! (`switchyard simulate`) like any other. Built by `scripts/build-plugins`; route with it:
//!
//!   cargo run --release -- route --scenario examples/scenarios/us-50-small.json \
//!       --plugin target/plugins/plugin_nearest.wasm

use switchyard_plugin_sdk::{Answer, PlannedUnits, Request, ShortStock, Verdict};

// Most locations one order ships from; a line's units beyond them are unfilled.
const MAX_SHIPMENTS: usize = 4;

fn route(request: &Request) -> Result<Answer, String> {
    let mut answer = Answer::for_request(request);
    for (index, location) in request.locations.iter().enumerate() {
        answer.shipment[index] = Verdict::Cost(6.0 + location.distance_km * 0.004 + location.handling_per_shipment);
    }
    for (index, candidate) in request.candidates.iter().enumerate() {
        let line = &request.lines[candidate.line as usize];
        let location = &request.locations[candidate.location as usize];
        answer.units[index] = Verdict::Cost(0.5 * line.item.weight_kg + location.handling_per_unit);
    }
    // Units taken so far per (SKU, location), since lines of one SKU share its stock.
    let mut taken: Vec<(&str, u32, u32)> = Vec::new();
    let mut shipping_from: Vec<u32> = Vec::new();
    let mut plan = Vec::new();
    for (line_index, line) in request.lines.iter().enumerate() {
        let mut options: Vec<usize> =
            (0..request.candidates.len()).filter(|&c| request.candidates[c].line as usize == line_index).collect();
        options.sort_by(|&a, &b| {
            let distance = |c: usize| request.locations[request.candidates[c].location as usize].distance_km;
            distance(a).total_cmp(&distance(b))
        });
        let mut wanted = line.qty;
        for candidate_index in options {
            if wanted == 0 {
                break;
            }
            let candidate = request.candidates[candidate_index];
            if request.locations[candidate.location as usize].shipments_left == Some(0) {
                continue; // down, or its day is full
            }
            let is_new = !shipping_from.contains(&candidate.location);
            if is_new && shipping_from.len() == MAX_SHIPMENTS {
                continue;
            }
            let used = taken
                .iter()
                .find(|(sku, location, _)| *sku == line.item.sku && *location == candidate.location)
                .map_or(0, |entry| entry.2);
            let units = wanted.min(candidate.atp.saturating_sub(used));
            if units == 0 {
                continue;
            }
            match taken.iter_mut().find(|(sku, location, _)| *sku == line.item.sku && *location == candidate.location) {
                Some(entry) => entry.2 += units,
                None => taken.push((line.item.sku, candidate.location, units)),
            }
            if is_new {
                shipping_from.push(candidate.location);
            }
            plan.push(PlannedUnits { candidate: candidate_index as u32, units });
            wanted -= units;
        }
    }
    answer.max_shipments = MAX_SHIPMENTS as u32;
    answer.short_stock = ShortStock::Partial(100.0);
    answer.plan = Some(plan);
    Ok(answer)
}

switchyard_plugin_sdk::plugin!(route);
