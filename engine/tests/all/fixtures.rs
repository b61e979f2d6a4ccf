//! Small random networks and a table-driven policy, shared by the test modules, plus a brute
//! force oracle that enumerates every allocation of every unit.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use switchyard_engine::{
    Address, Catalog, Downtime, Evaluation, GeoPoint, Inventory, Location, LocationId, LocationKind, Order, OrderLine,
    Plan, PlanStatus, Policy, PolicyError, PolicyInfo, PolicyRequest, Product, ShortStock, SkuId, Timestamp, Verdict,
};

/// A policy whose every answer comes from tables: costs and exclusions per location and per
/// (line, location), split rules and short-stock behaviour.
#[derive(Clone, Debug)]
pub struct TablePolicy {
    pub shipment: HashMap<LocationId, Option<f64>>,
    pub unit: HashMap<(usize, LocationId), Option<f64>>,
    pub may_split: Vec<bool>,
    /// Ship-together keys per line (0: none).
    pub together: Vec<u32>,
    pub max_shipments: u32,
    pub split_penalty: f64,
    pub unfilled_penalty: Option<f64>,
}

impl Policy for TablePolicy {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::new(PolicyInfo { name: "table".into(), version: "1".into() })
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        let excluded: Arc<str> = Arc::from("table says no");
        for (slot, candidate) in request.candidates.locations.iter().enumerate() {
            out.shipment[slot] = match self.shipment.get(&candidate.location).copied().flatten() {
                Some(cost) => Verdict::Cost(cost),
                None => Verdict::Excluded(excluded.clone()),
            };
        }
        for line in 0..request.order.lines.len() {
            for entry in request.candidates.line_range(line) {
                let location = request.candidates.locations[request.candidates.entries[entry].slot as usize].location;
                out.units[entry] = match self.unit.get(&(line, location)).copied().flatten() {
                    Some(cost) => Verdict::Cost(cost),
                    None => Verdict::Excluded(excluded.clone()),
                };
            }
        }
        out.split.max_shipments = self.max_shipments;
        out.split.split_penalty = self.split_penalty;
        out.split.line_may_split.copy_from_slice(&self.may_split);
        out.split.ship_together.copy_from_slice(&self.together);
        out.short_stock = match self.unfilled_penalty {
            Some(unfilled_penalty) => ShortStock::Partial { unfilled_penalty },
            None => ShortStock::Reject,
        };
        Ok(())
    }
}

/// A whole small instance: network, stock, capacity already used, one order, one policy.
#[derive(Clone, Debug)]
pub struct Instance {
    pub catalog: Catalog,
    /// (sku, location, on_hand, safety_stock)
    pub stock: Vec<(SkuId, LocationId, u32, u32)>,
    /// Shipments already committed per location on the order's day.
    pub used_capacity: Vec<(LocationId, u32)>,
    pub order: Order,
    pub policy: TablePolicy,
}

pub const PLACED_AT: Timestamp = Timestamp(1_795_687_200); // 2026-11-26T10:00:00Z

impl Instance {
    pub fn inventory(&self) -> Inventory {
        let inventory = Inventory::new();
        for &(sku, location, on_hand, safety) in &self.stock {
            inventory.set_stock(sku, location, on_hand, safety);
        }
        // Use up capacity with reservations of nothing but shipments.
        for &(location, used) in &self.used_capacity {
            for _ in 0..used {
                let reservation = switchyard_engine::Reservation {
                    units: vec![],
                    shipments: vec![switchyard_engine::ReservedShipment {
                        location,
                        day: PLACED_AT.utc_day(),
                        capacity: None,
                    }],
                };
                inventory.reserve(&reservation).unwrap();
            }
        }
        inventory
    }
}

fn money() -> impl Strategy<Value = f64> {
    // Quarters, so equal costs (ties) happen often.
    (0u32..=40).prop_map(|q| f64::from(q) * 0.25)
}

/// Random instances small enough for brute force: up to 4 locations, 3 SKUs, 3 lines of up
/// to 3 units, SKUs shared between lines, exclusions, downtime, capacity, both short-stock modes.
pub fn instances() -> impl Strategy<Value = Instance> {
    sized_instances(Size { locations: 4, skus: 3, lines: 3, qty: 3, on_hand: 4, max_shipments: 3 })
}

/// Upper bounds of a random instance.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub locations: usize,
    pub skus: usize,
    pub lines: usize,
    pub qty: u32,
    pub on_hand: u32,
    pub max_shipments: u32,
}

/// Random instances up to `size`.
pub fn sized_instances(size: Size) -> impl Strategy<Value = Instance> {
    (1usize..=size.locations, 1usize..=size.skus, 1usize..=size.lines)
        .prop_flat_map(move |(locations, skus, lines)| {
            let location_specs = prop::collection::vec(
                (
                    prop::option::weighted(0.85, money()),
                    prop::bool::weighted(0.1),
                    prop::option::weighted(0.2, 0u32..=2),
                    0u32..=2,
                    -1i32..=1,
                ),
                locations,
            );
            let stock =
                prop::collection::vec(prop::option::weighted(0.8, (0u32..=size.on_hand, 0u32..=1)), locations * skus);
            let line_specs = prop::collection::vec(
                (0..skus, 1u32..=size.qty, prop::bool::weighted(0.75), prop::sample::select(vec![0u32, 0, 0, 1, 1, 2])),
                lines,
            );
            let units = prop::collection::vec(prop::option::weighted(0.9, money()), lines * locations);
            let policy = (
                1u32..=size.max_shipments,
                money(),
                prop::option::weighted(0.8, (1u32..=60).prop_map(|q| f64::from(q) * 0.5)),
            );
            (Just((locations, skus)), location_specs, stock, line_specs, units, policy)
        })
        .prop_map(
            |(
                (locations, skus),
                location_specs,
                stock,
                line_specs,
                units,
                (max_shipments, split_penalty, unfilled_penalty),
            )| {
                let mut catalog = Catalog::new();
                let mut used_capacity = Vec::new();
                let mut shipment = HashMap::new();
                for (index, (ship_cost, down, capacity, used, priority)) in location_specs.into_iter().enumerate() {
                    let downtime = if down {
                        vec![Downtime { from: Timestamp(PLACED_AT.0 - 3600), to: Timestamp(PLACED_AT.0 + 3600) }]
                    } else {
                        vec![]
                    };
                    let id = catalog
                        .add_location(Location {
                            id: format!("L{index}"),
                            kind: LocationKind::Store,
                            position: GeoPoint { lat: 40.0 + index as f64, lon: -75.0 },
                            handling_per_shipment: 0.0,
                            handling_per_unit: 0.0,
                            capacity_shipments_per_day: capacity,
                            downtime,
                            capabilities: vec![],
                            priority,
                            utc_offset_minutes: 0,
                            fulfilment: switchyard_engine::calendar::Fulfilment::default(),
                        })
                        .unwrap();
                    if capacity.is_some() {
                        used_capacity.push((id, used));
                    }
                    shipment.insert(id, ship_cost);
                }
                for index in 0..skus {
                    catalog
                        .add_product(Product {
                            sku: format!("S{index}"),
                            group: "g".into(),
                            weight_kg: 1.0,
                            tags: vec![],
                        })
                        .unwrap();
                }
                let mut stock_rows = Vec::new();
                for (index, record) in stock.into_iter().enumerate() {
                    if let Some((on_hand, safety)) = record {
                        stock_rows.push((
                            SkuId((index / locations) as u32),
                            LocationId((index % locations) as u32),
                            on_hand,
                            safety,
                        ));
                    }
                }
                let mut unit = HashMap::new();
                for (index, cost) in units.into_iter().enumerate() {
                    unit.insert((index / locations, LocationId((index % locations) as u32)), cost);
                }
                let order = Order {
                    id: "O-1".into(),
                    placed_at: PLACED_AT,
                    channel: "web".into(),
                    ship_to: Address {
                        position: GeoPoint { lat: 41.0, lon: -74.0 },
                        postal_code: "10001".into(),
                        country: "US".into(),
                    },
                    lines: line_specs
                        .iter()
                        .enumerate()
                        .map(|(index, &(sku, qty, _, _))| OrderLine {
                            id: format!("{}", index + 1),
                            sku: SkuId(sku as u32),
                            qty,
                            kit: None,
                        })
                        .collect(),
                };
                let policy = TablePolicy {
                    shipment,
                    unit,
                    may_split: line_specs.iter().map(|&(_, _, split, _)| split).collect(),
                    together: line_specs.iter().map(|&(_, _, _, together)| together).collect(),
                    max_shipments,
                    split_penalty,
                    unfilled_penalty,
                };
                Instance { catalog, stock: stock_rows, used_capacity, order, policy }
            },
        )
}

/// The brute-force answer: the lowest cost over every allocation of every unit, and its
/// number of unfilled units; `None` when the policy rejects short orders and none fills all.
pub fn brute_force(instance: &Instance) -> Option<(f64, u64)> {
    let inventory = instance.inventory();
    let order = &instance.order;
    let policy = &instance.policy;
    let locations = instance.catalog.locations().len();
    let day = order.placed_at.utc_day();
    let usable_location = |l: usize| {
        let id = LocationId(l as u32);
        let location = instance.catalog.location(id);
        let has_capacity =
            location.capacity_shipments_per_day.is_none_or(|capacity| inventory.shipments_on(id, day) < capacity);
        !location.is_down_at(order.placed_at) && has_capacity && policy.shipment[&id].is_some()
    };
    let atp = |sku: SkuId, l: usize| inventory.position(sku, LocationId(l as u32)).map_or(0, |p| p.atp());
    let unfilled_penalty = policy.unfilled_penalty.unwrap_or(f64::INFINITY);

    // Every way to spread each line's units over the locations (the rest unfilled).
    fn spreads(qty: u32, bins: usize) -> Vec<Vec<u32>> {
        if bins == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for first in 0..=qty {
            for mut rest in spreads(qty - first, bins - 1) {
                rest.insert(0, first);
                out.push(rest);
            }
        }
        out
    }
    let per_line: Vec<Vec<Vec<u32>>> = order.lines.iter().map(|line| spreads(line.qty, locations)).collect();
    let mut best: Option<(f64, u64)> = None;
    let mut choice = vec![0usize; order.lines.len()];
    loop {
        let allocation: Vec<&Vec<u32>> = choice.iter().enumerate().map(|(i, &c)| &per_line[i][c]).collect();
        if let Some(cost) = allocation_cost(instance, &allocation, &usable_location, &atp, unfilled_penalty) {
            let unfilled: u64 = order
                .lines
                .iter()
                .zip(&allocation)
                .map(|(line, spread)| u64::from(line.qty - spread.iter().sum::<u32>()))
                .sum();
            if best.is_none_or(|(best_cost, _)| cost < best_cost - 1e-9) {
                best = Some((cost, unfilled));
            }
        }
        let mut position = 0;
        while position < choice.len() {
            choice[position] += 1;
            if choice[position] < per_line[position].len() {
                break;
            }
            choice[position] = 0;
            position += 1;
        }
        if position == choice.len() {
            break;
        }
    }
    best
}

fn allocation_cost(
    instance: &Instance,
    allocation: &[&Vec<u32>],
    usable_location: &dyn Fn(usize) -> bool,
    atp: &dyn Fn(SkuId, usize) -> u32,
    unfilled_penalty: f64,
) -> Option<f64> {
    let order = &instance.order;
    let policy = &instance.policy;
    let locations = instance.catalog.locations().len();
    let mut cost = 0.0;
    let mut used = 0usize;
    for l in 0..locations {
        let id = LocationId(l as u32);
        let units: u32 = allocation.iter().map(|spread| spread[l]).sum();
        if units == 0 {
            continue;
        }
        if !usable_location(l) {
            return None;
        }
        used += 1;
        cost += policy.shipment[&id]?;
        let mut taken_per_sku: HashMap<SkuId, u32> = HashMap::new();
        for (line, spread) in allocation.iter().enumerate() {
            if spread[l] == 0 {
                continue;
            }
            let unit = policy.unit[&(line, id)]?;
            cost += f64::from(spread[l]) * unit;
            *taken_per_sku.entry(order.lines[line].sku).or_default() += spread[l];
        }
        if taken_per_sku.iter().any(|(&sku, &taken)| taken > atp(sku, l)) {
            return None;
        }
    }
    if used > policy.max_shipments as usize {
        return None;
    }
    for key in policy.together.iter().filter(|&&key| key != 0) {
        let sources = (0..locations)
            .filter(|&l| {
                allocation.iter().enumerate().any(|(line, spread)| policy.together[line] == *key && spread[l] > 0)
            })
            .count();
        if sources > 1 {
            return None;
        }
    }
    for (line, spread) in allocation.iter().enumerate() {
        if !policy.may_split[line] && spread.iter().filter(|&&units| units > 0).count() > 1 {
            return None;
        }
        let unfilled = order.lines[line].qty - spread.iter().sum::<u32>();
        if unfilled > 0 {
            if !unfilled_penalty.is_finite() {
                return None;
            }
            cost += f64::from(unfilled) * unfilled_penalty;
        }
    }
    cost += policy.split_penalty * used.saturating_sub(1) as f64;
    Some(cost)
}

/// Checks a plan against the instance's hard limits; returns the first violation.
pub fn violation(instance: &Instance, plan: &Plan) -> Option<String> {
    let inventory = instance.inventory();
    let order = &instance.order;
    if plan.shipments.len() > instance.policy.max_shipments as usize {
        return Some(format!("{} shipments, max {}", plan.shipments.len(), instance.policy.max_shipments));
    }
    let mut taken: HashMap<(SkuId, LocationId), u32> = HashMap::new();
    let mut shipped = vec![0u32; order.lines.len()];
    let mut locations_per_line = vec![0u32; order.lines.len()];
    for shipment in &plan.shipments {
        let location = instance.catalog.location(shipment.location);
        if location.is_down_at(order.placed_at) {
            return Some(format!("{} ships during downtime", location.id));
        }
        let day = order.placed_at.utc_day();
        if location.capacity_shipments_per_day.is_some_and(|c| inventory.shipments_on(shipment.location, day) >= c) {
            return Some(format!("{} ships past its daily capacity", location.id));
        }
        if instance.policy.shipment[&shipment.location].is_none() {
            return Some(format!("{} is excluded", location.id));
        }
        for line in &shipment.lines {
            if line.qty == 0 {
                return Some("a shipment line with no units".into());
            }
            if instance.policy.unit[&(line.line, shipment.location)].is_none() {
                return Some(format!("line {} is excluded at {}", line.line, location.id));
            }
            *taken.entry((order.lines[line.line].sku, shipment.location)).or_default() += line.qty;
            shipped[line.line] += line.qty;
            locations_per_line[line.line] += 1;
        }
    }
    for ((sku, location), qty) in taken {
        let atp = inventory.position(sku, location).map_or(0, |p| p.atp());
        if qty > atp {
            return Some(format!("{qty} units of sku {} from location {} with atp {atp}", sku.0, location.0));
        }
    }
    for key in instance.policy.together.iter().filter(|&&key| key != 0) {
        let sources: Vec<_> = plan
            .shipments
            .iter()
            .filter(|s| s.lines.iter().any(|l| instance.policy.together[l.line] == *key))
            .map(|s| s.location)
            .collect();
        if sources.len() > 1 {
            return Some(format!("ship-together group {key} ships from {} locations", sources.len()));
        }
    }
    for (line, order_line) in order.lines.iter().enumerate() {
        if shipped[line] > order_line.qty {
            return Some(format!("line {line} ships {} of {}", shipped[line], order_line.qty));
        }
        if !instance.policy.may_split[line] && locations_per_line[line] > 1 {
            return Some(format!("line {line} may not split but ships from {} locations", locations_per_line[line]));
        }
        let unfilled: u32 = plan.unfilled.iter().filter(|u| u.line == line).map(|u| u.qty).sum();
        if plan.status == PlanStatus::Routed && shipped[line] + unfilled != order_line.qty {
            return Some(format!("line {line}: shipped {} + unfilled {unfilled} != {}", shipped[line], order_line.qty));
        }
    }
    None
}
