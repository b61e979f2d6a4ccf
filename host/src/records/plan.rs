//! A plan as stored: the engine's plan in merchant ids, with each shipment's fulfilment state.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use switchyard_engine::{
    Catalog, CostBreakdown, Order, Plan, PlanStatus, PolicyInfo, Shipment, ShipmentLine, Unfilled,
};

/// Whether a plan routes the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOutcome {
    /// Shipments were chosen (some units may be unfilled).
    Routed,
    /// Nothing ships (see the reason).
    Rejected,
}

/// A plan in merchant ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// Routed or rejected.
    pub status: PlanOutcome,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Shipments.
    pub shipments: Vec<ShipmentRecord>,
    /// Units nobody ships.
    pub unfilled: Vec<UnfilledUnits>,
    /// Cost terms and total.
    pub cost: CostRecord,
    /// Proved cheapest under the policy.
    pub optimal: bool,
    /// `name@version` of the policy that decided.
    pub policy: String,
    /// The currency of every amount (ISO 4217); empty in plans stored before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub currency: String,
    /// For an order with a carrier service: the service, the day promised, the day it is
    /// expected to arrive, whether that is late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryRecord>,
}

/// How a plan delivers by its order's carrier service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The carrier service.
    pub service: String,
    /// The day promised (`YYYY-MM-DD`), when the order named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_by: Option<String>,
    /// The day the last parcel is expected (`YYYY-MM-DD`); none when nothing ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<String>,
    /// Whether it arrives after `deliver_by`: no location could make the day, and the policy
    /// ships late rather than reject.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
}

/// One shipment of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentRecord {
    /// The location that ships.
    pub location: String,
    /// Cost of the shipment itself.
    pub shipment_cost: f64,
    /// Units per line.
    pub lines: Vec<ShipmentLineRecord>,
    /// Where it stands in fulfilment.
    #[serde(default)]
    pub state: ShipmentState,
    /// The carrier, once shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// The tracking number, once shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// The day it leaves (`YYYY-MM-DD`), for an order with a carrier service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<String>,
    /// The day it is expected to arrive (`YYYY-MM-DD`), for an order with a carrier service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<String>,
}

/// A shipment's fulfilment state, in the order the location reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentState {
    /// Planned and reserved; the location has not reported on it.
    #[default]
    Open,
    /// Picked at the location.
    Picked,
    /// Packed.
    Packed,
    /// Handed to the carrier: its units left on hand.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// The location rejected it; its units were routed again.
    Rejected,
}

impl ShipmentState {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ShipmentState::Open => "open",
            ShipmentState::Picked => "picked",
            ShipmentState::Packed => "packed",
            ShipmentState::Shipped => "shipped",
            ShipmentState::Delivered => "delivered",
            ShipmentState::Rejected => "rejected",
        }
    }

    /// Whether its units have left the location.
    pub fn has_left(self) -> bool {
        matches!(self, ShipmentState::Shipped | ShipmentState::Delivered)
    }
}

/// Units of one line in a shipment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentLineRecord {
    /// The line's id (`<line>/<sku>` for a kit's component).
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
    /// Cost per unit.
    pub unit_cost: f64,
}

/// Units of a line left unfilled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnfilledUnits {
    /// The line's id.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
}

/// Cost terms of a plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostRecord {
    /// Sum of shipment costs.
    pub shipments: f64,
    /// Sum of unit costs.
    pub units: f64,
    /// Split penalty.
    pub split_penalty: f64,
    /// Unfilled penalty.
    pub unfilled_penalty: f64,
    /// Total.
    pub total: f64,
}

/// An amount rounded to the cent, in cents.
pub fn cents(amount: f64) -> i64 {
    if amount.is_finite() { (amount * 100.0).round() as i64 } else { 0 }
}

/// An amount of cents as a decimal number (`1342` -> `13.42`).
pub fn from_cents(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// An amount rounded to the cent, as the API shows amounts (`13.4249` -> `13.42`).
pub fn to_the_cent(amount: f64) -> f64 {
    from_cents(cents(amount))
}

impl PlanRecord {
    /// The engine's plan for `order`, in merchant ids, with every amount rounded to the cent
    /// in `currency`: shipment costs and unit costs as shown, each term the sum of its rounded
    /// parts, and the total the sum of the terms, so the amounts a client adds up agree. (The
    /// optimizer computes in floating point; plans are rounded here, where they leave it.)
    pub fn from_engine(plan: &Plan, order: &Order, catalog: &Catalog, currency: &str) -> PlanRecord {
        let line = |index: usize| &order.lines[index];
        let (status, reason) = match &plan.status {
            PlanStatus::Routed => (PlanOutcome::Routed, None),
            PlanStatus::Rejected { reason } => (PlanOutcome::Rejected, Some(reason.clone())),
        };
        PlanRecord {
            status,
            reason,
            shipments: plan
                .shipments
                .iter()
                .map(|shipment| ShipmentRecord {
                    location: catalog.location(shipment.location).id.clone(),
                    shipment_cost: to_the_cent(shipment.shipment_cost),
                    lines: shipment
                        .lines
                        .iter()
                        .map(|l| ShipmentLineRecord {
                            line_id: line(l.line).id.clone(),
                            sku: catalog.product(line(l.line).sku).sku.clone(),
                            qty: l.qty,
                            unit_cost: to_the_cent(l.unit_cost),
                        })
                        .collect(),
                    state: ShipmentState::Open,
                    carrier: None,
                    tracking: None,
                    ship_date: None,
                    delivery_date: None,
                })
                .collect(),
            unfilled: plan
                .unfilled
                .iter()
                .map(|u| UnfilledUnits {
                    line_id: line(u.line).id.clone(),
                    sku: catalog.product(line(u.line).sku).sku.clone(),
                    qty: u.qty,
                })
                .collect(),
            cost: CostRecord::default(),
            optimal: plan.optimal,
            policy: format!("{}@{}", plan.policy.name, plan.policy.version),
            currency: currency.to_owned(),
            delivery: None,
        }
        .with_cost(cents(plan.cost.split_penalty), cents(plan.cost.unfilled_penalty))
    }

    /// The engine's form of this plan for `order` (the order it was made for, in the engine's
    /// form: kit lines expanded), lines found by id: what re-optimisation starts from. Costs
    /// are as recorded (to the cent). `None` when a location, line or SKU no longer matches.
    pub fn to_engine(&self, order: &Order, catalog: &Catalog, policy: Arc<PolicyInfo>) -> Option<Plan> {
        let line_of = |id: &str| order.lines.iter().position(|l| l.id == id);
        let mut shipments = Vec::with_capacity(self.shipments.len());
        for shipment in &self.shipments {
            let mut lines = Vec::with_capacity(shipment.lines.len());
            for line in &shipment.lines {
                lines.push(ShipmentLine { line: line_of(&line.line_id)?, qty: line.qty, unit_cost: line.unit_cost });
            }
            shipments.push(Shipment {
                location: catalog.location_id(&shipment.location)?,
                shipment_cost: shipment.shipment_cost,
                lines,
            });
        }
        let mut unfilled = Vec::with_capacity(self.unfilled.len());
        for short in &self.unfilled {
            unfilled.push(Unfilled { line: line_of(&short.line_id)?, qty: short.qty });
        }
        Some(Plan {
            order_id: order.id.clone(),
            status: match self.status {
                PlanOutcome::Routed => PlanStatus::Routed,
                PlanOutcome::Rejected => PlanStatus::Rejected { reason: self.reason.clone().unwrap_or_default() },
            },
            shipments,
            unfilled,
            cost: CostBreakdown {
                shipments: self.cost.shipments,
                units: self.cost.units,
                split_penalty: self.cost.split_penalty,
                unfilled_penalty: self.cost.unfilled_penalty,
            },
            optimal: self.optimal,
            policy,
            nodes: 0,
            backorder_within: None,
        })
    }

    // The cost terms from the rounded shipments and lines, and the rounded penalties.
    fn with_cost(mut self, split_penalty: i64, unfilled_penalty: i64) -> PlanRecord {
        let shipments: i64 = self.shipments.iter().map(|s| cents(s.shipment_cost)).sum();
        let units: i64 =
            self.shipments.iter().flat_map(|s| &s.lines).map(|l| i64::from(l.qty) * cents(l.unit_cost)).sum();
        self.cost = CostRecord {
            shipments: from_cents(shipments),
            units: from_cents(units),
            split_penalty: from_cents(split_penalty),
            unfilled_penalty: from_cents(unfilled_penalty),
            total: from_cents(shipments + units + split_penalty + unfilled_penalty),
        };
        self
    }

    /// Units left unfilled.
    pub fn unfilled_units(&self) -> u32 {
        self.unfilled.iter().map(|u| u.qty).sum()
    }
}
