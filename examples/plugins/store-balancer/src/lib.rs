//! A store-load balancer: logic the policy language cannot express, because it ranks
//! candidates against each other. For every line only the three least-loaded stores within
//! 300 km may ship it (DCs always may), and a store's shipments get dearer as its day fills
//! (a surcharge growing with the square of the share of capacity used), so orders spread
//! over the network instead of piling onto the nearest store.

use switchyard_plugin_sdk::{Answer, Request, ShortStock, Verdict};

const STORES_PER_LINE: usize = 3;
const STORE_RADIUS_KM: f64 = 300.0;
const FULL_STORE_SURCHARGE: f64 = 12.0;

fn utilisation(location: &switchyard_plugin_sdk::Location) -> f64 {
    match (location.capacity_per_day, location.shipments_left) {
        (Some(capacity), Some(left)) if capacity > 0 => f64::from(capacity - left.min(capacity)) / f64::from(capacity),
        _ => 0.0,
    }
}

fn route(request: &Request) -> Result<Answer, String> {
    let mut answer = Answer::for_request(request);
    for (index, location) in request.locations.iter().enumerate() {
        let base = 6.0 + location.distance_km * 0.004 + location.handling_per_shipment;
        let surcharge =
            if location.kind == "store" { FULL_STORE_SURCHARGE * utilisation(location).powi(2) } else { 0.0 };
        answer.shipment[index] = Verdict::Cost(base + surcharge);
    }
    // Per line: rank its nearby stores by load, keep the least loaded.
    for line in 0..request.lines.len() as u32 {
        let mut stores: Vec<(f64, f64, usize)> = request
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.line == line)
            .filter_map(|(index, c)| {
                let location = &request.locations[c.location as usize];
                (location.kind == "store").then(|| (utilisation(location), location.distance_km, index))
            })
            .collect();
        stores.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for (rank, &(_, distance, index)) in stores.iter().enumerate() {
            if distance > STORE_RADIUS_KM {
                answer.units[index] = Verdict::Excluded(format!("store further than {STORE_RADIUS_KM} km"));
            } else if rank >= STORES_PER_LINE {
                answer.units[index] = Verdict::Excluded("a less loaded store is nearby".to_string());
            }
        }
    }
    for (index, candidate) in request.candidates.iter().enumerate() {
        if let Verdict::Cost(_) = answer.units[index] {
            let line = &request.lines[candidate.line as usize];
            let location = &request.locations[candidate.location as usize];
            answer.units[index] = Verdict::Cost(0.6 * line.item.weight_kg + location.handling_per_unit);
        }
    }
    answer.max_shipments = 3;
    answer.split_penalty = 2.0;
    answer.short_stock = ShortStock::Partial(100.0);
    Ok(answer)
}

switchyard_plugin_sdk::plugin!(route);
