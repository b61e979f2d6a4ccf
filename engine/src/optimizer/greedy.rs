//! The greedy baseline most commerce platforms ship: the cheapest location that can ship the
//! whole order alone; failing that, line by line from the cheapest location with stock.
//! It proves nothing; the benchmarks report what the exact optimizer saves over it.

use super::problem::{Problem, Take};

/// The greedy plan's locations and units. `takes` is cleared first.
pub fn greedy(problem: &Problem, takes: &mut Vec<Take>) -> Vec<u32> {
    takes.clear();
    if let Some(location) = cheapest_complete_location(problem) {
        for (line, problem_line) in problem.lines.iter().enumerate() {
            takes.push(Take { line: line as u32, location, qty: problem_line.qty });
        }
        return vec![location];
    }
    let location_count = problem.location_count();
    let mut left: Vec<u32> = (0..problem.group_lines.len())
        .flat_map(|group| (0..location_count).map(move |location| (group, location)))
        .map(|(group, location)| problem.group_atp(group, location))
        .collect();
    let mut used: Vec<u32> = Vec::new();
    // Ship-together keys already given a location by an earlier line of the group.
    let mut together_at: Vec<(u32, u32)> = Vec::new();
    for (line, problem_line) in problem.lines.iter().enumerate() {
        let group = problem_line.group as usize;
        let mut remaining = problem_line.qty;
        let together = problem_line.together;
        let fixed = together_at.iter().find(|(key, _)| together != 0 && *key == together).map(|&(_, at)| at);
        let single_location = !problem_line.may_split || together != 0;
        while remaining > 0 {
            // The cheapest option for the next units: unit cost, plus the shipment cost spread
            // over the units taken when the location is not shipping yet.
            let mut best: Option<(f64, u32, u32)> = None;
            for option in problem.line_options(line) {
                let location = option.location;
                if fixed.is_some_and(|at| at != location) {
                    continue;
                }
                let available = left[group * location_count + location as usize];
                let is_used = used.contains(&location);
                if available == 0 || (!is_used && used.len() >= problem.max_shipments) {
                    continue;
                }
                let qty = remaining.min(available);
                if single_location && qty < remaining && best.is_some() {
                    continue;
                }
                let shipment = if is_used { 0.0 } else { problem.shipment_cost[location as usize] };
                let score = option.cost + shipment / f64::from(qty);
                if best.is_none_or(|(best_score, _, _)| score < best_score) {
                    best = Some((score, location, qty));
                }
            }
            let Some((_, location, qty)) = best else { break };
            left[group * location_count + location as usize] -= qty;
            remaining -= qty;
            takes.push(Take { line: line as u32, location, qty });
            if !used.contains(&location) {
                used.push(location);
            }
            if together != 0 && fixed.is_none() {
                together_at.push((together, location));
            }
            if single_location {
                break;
            }
        }
    }
    used
}

// The location with the lowest cost of shipping every unit of the order alone, if any can.
fn cheapest_complete_location(problem: &Problem) -> Option<u32> {
    let mut best: Option<(f64, u32)> = None;
    'locations: for location in 0..problem.location_count() {
        let mut cost = problem.shipment_cost[location];
        for (group, lines) in problem.group_lines.iter().enumerate() {
            let wanted: u32 = lines.iter().map(|&line| problem.lines[line as usize].qty).sum();
            if problem.group_atp(group, location) < wanted {
                continue 'locations;
            }
            for &line in lines {
                let unit = problem.unit_cost(line as usize, location);
                if !unit.is_finite() {
                    continue 'locations;
                }
                cost += f64::from(problem.lines[line as usize].qty) * unit;
            }
        }
        if best.is_none_or(|(best_cost, _)| cost < best_cost) {
            best = Some((cost, location as u32));
        }
    }
    best.map(|(_, location)| location)
}
