//! Plans: which location ships which units of an order, what it costs, and whether that is
//! proved to be the cheapest.

use std::sync::Arc;

use crate::domain::LocationId;
use crate::policy::PolicyInfo;

/// Units of one order line in a shipment.
#[derive(Clone, Debug, PartialEq)]
pub struct ShipmentLine {
    /// Index of the line in the order.
    pub line: usize,
    /// Units shipped.
    pub qty: u32,
    /// Cost per unit the policy gave for this line at this location.
    pub unit_cost: f64,
}

/// One parcel (or consolidated set of parcels) from one location.
#[derive(Clone, Debug, PartialEq)]
pub struct Shipment {
    /// Where it ships from.
    pub location: LocationId,
    /// Cost of the shipment itself.
    pub shipment_cost: f64,
    /// What it carries, by line index.
    pub lines: Vec<ShipmentLine>,
}

/// Units of a line no allowed location could ship.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unfilled {
    /// Index of the line in the order.
    pub line: usize,
    /// Units left unfilled.
    pub qty: u32,
}

/// The cost of a plan, term by term as DESIGN.md defines it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostBreakdown {
    /// Sum of shipment costs.
    pub shipments: f64,
    /// Sum of unit costs.
    pub units: f64,
    /// `split_penalty * (shipments - 1)`.
    pub split_penalty: f64,
    /// `unfilled_penalty * unfilled units` (zero when the order is rejected).
    pub unfilled_penalty: f64,
}

impl CostBreakdown {
    /// The total.
    pub fn total(&self) -> f64 {
        self.shipments + self.units + self.split_penalty + self.unfilled_penalty
    }
}

/// A plan priced under a policy other than the one that made it ([`crate::Router::price`]):
/// what that policy's cost model says the same shipments cost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanPrice {
    /// The cost by the pricing policy's shipment and unit costs, split penalty and unfilled
    /// penalty. What it excludes is not priced (see `broken`).
    pub cost: CostBreakdown,
    /// Why the pricing policy would not have made this plan, where it would not: a location or
    /// line option it excludes (its reason), a location it was not shown (no stock there), or
    /// units left unfilled where it rejects short orders. Empty: every part is priced.
    pub broken: Vec<String>,
}

/// What became of the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanStatus {
    /// Shipments were chosen (some units may be unfilled where the policy allows it).
    Routed,
    /// The policy rejects short orders and not every unit could ship; nothing is shipped.
    Rejected {
        /// Why, in words.
        reason: String,
    },
}

/// The routing decision for one order.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The order's id.
    pub order_id: String,
    /// Routed or rejected.
    pub status: PlanStatus,
    /// Shipments, in tie-break order of their locations.
    pub shipments: Vec<Shipment>,
    /// Units left unfilled, by line.
    pub unfilled: Vec<Unfilled>,
    /// The plan's cost.
    pub cost: CostBreakdown,
    /// Whether the optimizer proved no cheaper plan exists under the policy.
    pub optimal: bool,
    /// The policy that priced it.
    pub policy: Arc<PolicyInfo>,
    /// Search nodes the optimizer visited.
    pub nodes: u64,
    /// The policy lets unfilled units wait for inbound stock expected within this many seconds.
    pub backorder_within: Option<i64>,
}

impl Plan {
    /// Units shipped in total.
    pub fn shipped_units(&self) -> u64 {
        self.shipments.iter().flat_map(|s| &s.lines).map(|l| u64::from(l.qty)).sum()
    }

    /// Units left unfilled in total.
    pub fn unfilled_units(&self) -> u64 {
        self.unfilled.iter().map(|u| u64::from(u.qty)).sum()
    }
}
