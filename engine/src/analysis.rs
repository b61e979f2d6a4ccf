//! What a set of plans adds up to, and where two sets of plans for the same orders differ:
//! the figures behind `switchyard simulate`, its report, and the service's shadow runs.

use crate::catalog::Catalog;
use crate::domain::Order;
use crate::plan::{Plan, PlanStatus};

/// Figures of one policy's plans for a sequence of orders.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSummary {
    /// Orders planned.
    pub orders: usize,
    /// Orders the policy rejected.
    pub rejected: usize,
    /// Sum of plan costs.
    pub total_cost: f64,
    /// Cost of each order's plan, in order.
    pub order_costs: Vec<f64>,
    /// `shipment_histogram[n]`: orders planned with `n` shipments.
    pub shipment_histogram: Vec<usize>,
    /// Shipments over all plans.
    pub shipments: usize,
    /// Orders with two or more shipments.
    pub split_orders: usize,
    /// Units no location could ship.
    pub unfilled_units: u64,
    /// Plans proved optimal.
    pub proved_optimal: usize,
    /// Shipments per location, indexed by `LocationId`.
    pub location_shipments: Vec<u64>,
    /// Great-circle km from shipping location to ship-to, summed over shipments.
    pub distance_km: f64,
}

impl RunSummary {
    /// An empty summary for a catalog's locations.
    pub fn new(catalog: &Catalog) -> RunSummary {
        RunSummary { location_shipments: vec![0; catalog.locations().len()], ..RunSummary::default() }
    }

    /// Adds one order's plan.
    pub fn add(&mut self, catalog: &Catalog, order: &Order, plan: &Plan) {
        self.orders += 1;
        if matches!(plan.status, PlanStatus::Rejected { .. }) {
            self.rejected += 1;
        }
        let cost = plan.cost.total();
        self.total_cost += cost;
        self.order_costs.push(cost);
        let shipments = plan.shipments.len();
        if self.shipment_histogram.len() <= shipments {
            self.shipment_histogram.resize(shipments + 1, 0);
        }
        self.shipment_histogram[shipments] += 1;
        self.shipments += shipments;
        if shipments >= 2 {
            self.split_orders += 1;
        }
        self.unfilled_units += plan.unfilled_units();
        if plan.optimal {
            self.proved_optimal += 1;
        }
        for shipment in &plan.shipments {
            let index = shipment.location.index();
            if self.location_shipments.len() <= index {
                self.location_shipments.resize(index + 1, 0);
            }
            self.location_shipments[index] += 1;
            self.distance_km += catalog.location(shipment.location).position.distance_km(order.ship_to.position);
        }
    }

    /// The summary of `plans` for `orders` (parallel slices).
    pub fn of(catalog: &Catalog, orders: &[Order], plans: &[Plan]) -> RunSummary {
        let mut summary = RunSummary::new(catalog);
        for (order, plan) in orders.iter().zip(plans) {
            summary.add(catalog, order, plan);
        }
        summary
    }

    /// Mean cost per order.
    pub fn cost_per_order(&self) -> f64 {
        ratio(self.total_cost, self.orders)
    }

    /// Mean shipments per order.
    pub fn shipments_per_order(&self) -> f64 {
        ratio(self.shipments as f64, self.orders)
    }

    /// Share of orders split into two or more shipments, 0..=1.
    pub fn split_rate(&self) -> f64 {
        ratio(self.split_orders as f64, self.orders)
    }

    /// Share of plans proved optimal, 0..=1.
    pub fn optimal_share(&self) -> f64 {
        ratio(self.proved_optimal as f64, self.orders)
    }
}

fn ratio(sum: f64, count: usize) -> f64 {
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// Whether two plans for one order decide differently: other locations or other units per
/// location, or (beyond rounding) another cost.
pub fn plans_differ(a: &Plan, b: &Plan) -> bool {
    const COST_TOLERANCE: f64 = 1e-6;
    let units = |plan: &Plan| {
        let mut units: Vec<(u32, usize, u32)> =
            plan.shipments.iter().flat_map(|s| s.lines.iter().map(move |l| (s.location.0, l.line, l.qty))).collect();
        units.sort_unstable();
        units
    };
    units(a) != units(b) || (a.cost.total() - b.cost.total()).abs() > COST_TOLERANCE
}
