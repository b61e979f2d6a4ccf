//! Where a return goes: among the locations that accept returns of the items' product groups
//! and are not down, the one the bound policy prices lowest for carrying the items between the
//! customer and it (shipment cost plus unit costs; exclusions apply). The policy's own rules
//! therefore decide returns too: a rule that excludes a location for an item excludes it as a
//! return location for that item.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::domain::{LocationId, Order, Timestamp};
use crate::policy::{
    Candidate, CandidateLocation, Candidates, Evaluation, Policy, PolicyError, PolicyRequest, Verdict,
};

/// The capability a location needs to take returns of every group; `returns:<group>` takes
/// returns of one group.
pub const RETURNS_CAPABILITY: &str = "returns";

/// A return location and why the others were not chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct ReturnChoice {
    /// The chosen location, if any location can take the return.
    pub location: Option<LocationId>,
    /// Its cost under the policy.
    pub cost: f64,
    /// Every location considered, with its cost or the reason it was ruled out.
    pub considered: Vec<(LocationId, Result<f64, Arc<str>>)>,
}

fn accepts(catalog: &Catalog, location: LocationId, order: &Order) -> bool {
    let location = catalog.location(location);
    location.can(RETURNS_CAPABILITY)
        || order
            .lines
            .iter()
            .all(|line| location.can(&format!("{RETURNS_CAPABILITY}:{}", catalog.product(line.sku).group)))
}

// Asks the policy about every line of `order` at every one of `locations`, as if each held
// all the units (stock plays no part): the candidates (slot `i` is `locations[i]`) and the
// policy's answer.
fn evaluate_everywhere(
    catalog: &Catalog,
    policy: &dyn Policy,
    order: &Order,
    now: Timestamp,
    locations: &[LocationId],
) -> Result<(Candidates, Evaluation), PolicyError> {
    let mut candidates = Candidates::default();
    candidates.clear();
    for &id in locations {
        candidates.locations.push(CandidateLocation {
            location: id,
            distance_km: catalog.location(id).position.distance_km(order.ship_to.position),
            shipments_left: None,
            blocked: None,
        });
    }
    for line in &order.lines {
        for slot in 0..candidates.locations.len() {
            candidates.entries.push(Candidate { slot: slot as u32, atp: line.qty });
        }
        candidates.finish_line();
    }
    let mut evaluation = Evaluation::default();
    evaluation.reset(&candidates);
    policy
        .evaluate(&PolicyRequest { catalog, order, now, candidates: &candidates, delivery: None }, &mut evaluation)?;
    Ok((candidates, evaluation))
}

/// Chooses where `order` (the returned units, shipped to the customer's address) goes back to.
pub fn choose_return_location(
    catalog: &Catalog,
    policy: &dyn Policy,
    order: &Order,
    now: Timestamp,
) -> Result<ReturnChoice, PolicyError> {
    let mut considered = Vec::new();
    let mut open = Vec::new();
    for (index, location) in catalog.locations().iter().enumerate() {
        let id = LocationId(index as u32);
        if !accepts(catalog, id, order) {
            continue;
        }
        if location.is_down_at(now) {
            considered.push((id, Err(Arc::from("location in planned downtime"))));
        } else {
            open.push(id);
        }
    }
    let (candidates, evaluation) = evaluate_everywhere(catalog, policy, order, now, &open)?;
    let mut best: Option<(f64, f64, LocationId)> = None;
    for (slot, candidate) in candidates.locations.iter().enumerate() {
        let mut cost = match &evaluation.shipment[slot] {
            Verdict::Cost(cost) => Ok(*cost),
            Verdict::Excluded(reason) => Err(Arc::clone(reason)),
            Verdict::NotPriced => Err(Arc::from("not priced by the policy")),
        };
        for (line_index, line) in order.lines.iter().enumerate() {
            let entry = candidates.line_range(line_index).start + slot;
            cost = cost.and_then(|total| match &evaluation.units[entry] {
                Verdict::Cost(unit) => Ok(total + unit * f64::from(line.qty)),
                Verdict::Excluded(reason) => Err(Arc::clone(reason)),
                Verdict::NotPriced => Err(Arc::from("not priced by the policy")),
            });
        }
        if let Ok(total) = cost
            && best.is_none_or(|(b, distance, _)| total < b || (total == b && candidate.distance_km < distance))
        {
            best = Some((total, candidate.distance_km, candidate.location));
        }
        considered.push((candidate.location, cost));
    }
    Ok(ReturnChoice { location: best.map(|b| b.2), cost: best.map_or(0.0, |b| b.0), considered })
}

/// Which of `locations` the policy allows for each line of `order` (a shipment cost and a
/// unit cost, no exclusion), ignoring stock: `allowed[line][i]` is for `locations[i]`. Used to
/// promise inbound stock only where the policy would ship from.
pub fn allowed_locations(
    catalog: &Catalog,
    policy: &dyn Policy,
    order: &Order,
    now: Timestamp,
    locations: &[LocationId],
) -> Result<Vec<Vec<bool>>, PolicyError> {
    let (candidates, evaluation) = evaluate_everywhere(catalog, policy, order, now, locations)?;
    Ok((0..order.lines.len())
        .map(|line| {
            (0..locations.len())
                .map(|slot| {
                    matches!(evaluation.shipment[slot], Verdict::Cost(_))
                        && matches!(evaluation.units[candidates.line_range(line).start + slot], Verdict::Cost(_))
                })
                .collect()
        })
        .collect())
}
