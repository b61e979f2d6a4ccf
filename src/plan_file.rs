//! Writing (and reading back) `switchyard-plan/1` files: one plan per order of a scenario.

use serde::{Deserialize, Serialize};
use switchyard_engine::{Catalog, Order, Plan};

/// The format tag of plan files.
pub const PLAN_FORMAT: &str = "switchyard-plan/1";

/// A plan file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    /// The scenario's name.
    pub scenario: String,
    /// Plans in scenario order.
    pub orders: Vec<OrderPlanDocument>,
}

/// One order's plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPlanDocument {
    /// The order id.
    pub id: String,
    /// Shipments.
    pub shipments: Vec<ShipmentDocument>,
    /// Units no location ships.
    pub unfilled: Vec<LineQtyDocument>,
    /// The router's figure for the plan's cost, rounded to the cent.
    pub cost: f64,
    /// Whether the router proved the plan optimal.
    pub optimal: bool,
}

/// One shipment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentDocument {
    /// Location id.
    pub location: String,
    /// Lines and units.
    pub lines: Vec<LineQtyDocument>,
}

/// Units of one line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineQtyDocument {
    /// Line id.
    pub line: String,
    /// Units.
    pub qty: u32,
}

// Costs are written rounded to the cent, as amounts of money are everywhere they leave
// switchyard.
fn round_cost(cost: f64) -> f64 {
    // `+ 0.0` turns -0.0 into 0.0.
    (cost * 100.0).round() / 100.0 + 0.0
}

impl PlanDocument {
    /// The plan file of a replay of `orders` that produced `plans` (same order, same length).
    pub fn new(scenario: &str, catalog: &Catalog, orders: &[Order], plans: &[Plan]) -> PlanDocument {
        let orders = orders
            .iter()
            .zip(plans)
            .map(|(order, plan)| OrderPlanDocument {
                id: order.id.clone(),
                shipments: plan
                    .shipments
                    .iter()
                    .map(|shipment| ShipmentDocument {
                        location: catalog.location(shipment.location).id.clone(),
                        lines: shipment
                            .lines
                            .iter()
                            .map(|line| LineQtyDocument { line: order.lines[line.line].id.clone(), qty: line.qty })
                            .collect(),
                    })
                    .collect(),
                unfilled: plan
                    .unfilled
                    .iter()
                    .map(|unfilled| LineQtyDocument { line: order.lines[unfilled.line].id.clone(), qty: unfilled.qty })
                    .collect(),
                cost: round_cost(plan.cost.total()),
                optimal: plan.optimal,
            })
            .collect();
        PlanDocument { format: PLAN_FORMAT.to_owned(), scenario: scenario.to_owned(), orders }
    }
}
