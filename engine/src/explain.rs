//! Explanations: for every line of an order, every candidate location and what became of it.

use std::fmt;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::domain::LocationId;
use crate::plan::{CostBreakdown, Plan, PlanStatus};
use crate::policy::PolicyInfo;

/// What happened to one candidate location of one line.
#[derive(Clone, Debug, PartialEq)]
pub enum CandidateStatus {
    /// The engine ruled the location out (downtime, daily capacity).
    Blocked {
        /// The engine's reason.
        reason: Arc<str>,
    },
    /// The policy excluded the location or this line there.
    Excluded {
        /// The name of the policy rule.
        rule: Arc<str>,
    },
    /// The location holds the SKU but has nothing available to promise.
    NoStock,
    /// The plan ships units of the line from here.
    Chosen {
        /// Units.
        qty: u32,
        /// Cost per unit.
        unit_cost: f64,
        /// Cost of the shipment from here.
        shipment_cost: f64,
    },
    /// Allowed and priced, but the plan is cheaper without it.
    Beaten {
        /// Cost per unit.
        unit_cost: f64,
        /// Cost of a shipment from here.
        shipment_cost: f64,
        /// The locations that ship the line instead (empty when it is left unfilled).
        by: Vec<LocationId>,
    },
}

/// One candidate location of a line.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateExplanation {
    /// The location.
    pub location: LocationId,
    /// Distance to the ship-to in km.
    pub distance_km: f64,
    /// Available to promise there when the order was routed.
    pub atp: u32,
    /// What became of it.
    pub status: CandidateStatus,
}

/// One line and its candidates.
#[derive(Clone, Debug, PartialEq)]
pub struct LineExplanation {
    /// The line's id.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units ordered.
    pub qty: u32,
    /// Units left unfilled.
    pub unfilled: u32,
    /// Every location holding the SKU, in the order they were found.
    pub candidates: Vec<CandidateExplanation>,
}

/// Why an order was routed the way it was.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The order.
    pub order_id: String,
    /// The policy used.
    pub policy: Arc<PolicyInfo>,
    /// Per line.
    pub lines: Vec<LineExplanation>,
    /// The plan's costs.
    pub cost: CostBreakdown,
    /// Routed or rejected.
    pub status: PlanStatus,
    /// Whether the plan is proved optimal.
    pub optimal: bool,
    /// Search nodes visited.
    pub nodes: u64,
}

impl Explanation {
    /// Renders the explanation as text, with merchant ids from `catalog`.
    pub fn display<'a>(&'a self, catalog: &'a Catalog) -> impl fmt::Display + 'a {
        DisplayExplanation { explanation: self, catalog }
    }
}

/// Rule names up to this many characters are repeated for every candidate they exclude;
/// longer ones are written once and numbered.
const SHORT_RULE_CHARS: usize = 48;

struct DisplayExplanation<'a> {
    explanation: &'a Explanation,
    catalog: &'a Catalog,
}

impl fmt::Display for DisplayExplanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.explanation;
        let name = |id: LocationId| self.catalog.location(id).id.as_str();
        writeln!(f, "order {} (policy {} v{})", e.order_id, e.policy.name, e.policy.version)?;
        // A long rule name (a plugin's exclusion reason) is written once and then referred to
        // by number: an explanation of many lines and locations does not repeat it for each.
        let mut long_rules: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for line in &e.lines {
            writeln!(
                f,
                "  line {} {} x{}{}",
                line.line_id,
                line.sku,
                line.qty,
                if line.unfilled > 0 { format!(", {} unfilled", line.unfilled) } else { String::new() }
            )?;
            for candidate in &line.candidates {
                write!(
                    f,
                    "    {:<12} {:>8.1} km  atp {:>5}  ",
                    name(candidate.location),
                    candidate.distance_km,
                    candidate.atp
                )?;
                match &candidate.status {
                    CandidateStatus::Blocked { reason } => writeln!(f, "blocked: {reason}")?,
                    CandidateStatus::Excluded { rule } if rule.chars().count() <= SHORT_RULE_CHARS => {
                        writeln!(f, "excluded by rule \"{rule}\"")?;
                    }
                    CandidateStatus::Excluded { rule } => match long_rules.get(&**rule) {
                        Some(number) => writeln!(f, "excluded by rule #{number} (above)")?,
                        None => {
                            let number = long_rules.len() + 1;
                            long_rules.insert(rule, number);
                            writeln!(f, "excluded by rule #{number} \"{rule}\"")?;
                        }
                    },
                    CandidateStatus::NoStock => writeln!(f, "no stock available")?,
                    CandidateStatus::Chosen { qty, unit_cost, shipment_cost } => {
                        writeln!(f, "CHOSEN x{qty} at {unit_cost:.4}/unit (shipment {shipment_cost:.4})")?;
                    }
                    CandidateStatus::Beaten { unit_cost, shipment_cost, by } => {
                        let by: Vec<&str> = by.iter().map(|&l| name(l)).collect();
                        let by = if by.is_empty() { "leaving it unfilled".to_owned() } else { by.join(", ") };
                        writeln!(
                            f,
                            "beaten: {unit_cost:.4}/unit (shipment {shipment_cost:.4}), shipped from {by} instead"
                        )?;
                    }
                }
            }
        }
        let c = &e.cost;
        writeln!(
            f,
            "  cost {:.4} = shipments {:.4} + units {:.4} + split penalty {:.4} + unfilled penalty {:.4}",
            c.total(),
            c.shipments,
            c.units,
            c.split_penalty,
            c.unfilled_penalty
        )?;
        if let PlanStatus::Rejected { reason } = &e.status {
            writeln!(f, "  REJECTED: {reason}")?;
        }
        write!(f, "  {} ({} search nodes)", if e.optimal { "proved optimal" } else { "not proved optimal" }, e.nodes)
    }
}

impl Plan {
    /// Whether the plan ships anything of `line` from `location`.
    pub fn ships(&self, line: usize, location: LocationId) -> Option<u32> {
        self.shipments
            .iter()
            .filter(|s| s.location == location)
            .flat_map(|s| &s.lines)
            .find(|l| l.line == line)
            .map(|l| l.qty)
    }
}
