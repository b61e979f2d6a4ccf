//! A lower bound on what any routing of a whole order stream can cost: the LP relaxation of
//! the clairvoyant problem, every order known in advance and routed together against the
//! starting stock under one policy's costs and rules.
//!
//! Per order, on the starting stock, the policy prices its candidates as it would when routing
//! it (each location's shipment cost, each line option's unit cost, its split penalty,
//! unfilled penalty and most shipments). The LP chooses units per line option `x`, whether each
//! location ships `y` (relaxed to 0..1), units unfilled `u` and shipments beyond the first
//! `s`, over all orders at once:
//!
//!   minimise  Σ shipment cost · y + Σ unit cost · x + Σ unfilled penalty · u + Σ split penalty · s
//!   subject to per line:       Σ x + u = qty
//!              per option:     x <= qty · y        (units only from a location that ships)
//!              per order:      Σ y <= most shipments;  Σ y - s <= 1
//!              per location:   y <= 1;  Σ y of a day <= its daily capacity left
//!              per SKU and location: Σ x <= stock at the start
//!              everything >= 0
//!
//! Every stream of plans the router can make is a solution (with `y` 0 or 1), so the optimum is
//! a lower bound on its cost. Rules the LP leaves out (lines that may not split, ship-together
//! groups, kits) only lower it further; a policy that rejects short orders is given a penalty
//! of 0 for an unfilled unit (a rejection costs nothing), which keeps it a bound. Solved with
//! clarabel, like the look-ahead LPs.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, SupportedConeT, ZeroConeT,
};
use rustc_hash::FxHashMap;

use crate::catalog::Catalog;
use crate::domain::{LocationId, Order, SkuId};
use crate::inventory::Inventory;
use crate::policy::{Policy, ShortStock, Verdict};
use crate::router::{Router, RouterConfig, RoutingError, Workspace};

/// The bound and the size of the LP behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamBound {
    /// No routing of the stream costs less than this under the policy's costs.
    pub cost: f64,
    /// Variables of the LP.
    pub variables: usize,
    /// Constraints of the LP (bounds on variables included).
    pub constraints: usize,
}

/// Why there is no bound.
#[derive(Debug, thiserror::Error)]
pub enum BoundError {
    /// The policy failed on an order, or an order is invalid.
    #[error(transparent)]
    Routing(#[from] RoutingError),
    /// The solver did not reach an optimum.
    #[error("the LP solver stopped without an optimum: {0}")]
    Solver(String),
}

// Rows of a sparse LP under construction.
#[derive(Default)]
struct Lp {
    objective: Vec<f64>,
    // Equalities, then inequalities (`a·x <= b`); each row its terms and right-hand side.
    equalities: Vec<(Vec<(usize, f64)>, f64)>,
    inequalities: Vec<(Vec<(usize, f64)>, f64)>,
}

impl Lp {
    fn variable(&mut self, cost: f64) -> usize {
        self.objective.push(cost);
        self.inequalities.push((vec![(self.objective.len() - 1, -1.0)], 0.0));
        self.objective.len() - 1
    }

    fn solve(self) -> Result<StreamBound, BoundError> {
        let variables = self.objective.len();
        let rows = self.equalities.len() + self.inequalities.len();
        if variables == 0 {
            // No order, or none with a line: nothing to route, nothing to pay.
            return Ok(StreamBound { cost: 0.0, variables, constraints: rows });
        }
        let mut columns: Vec<Vec<(usize, f64)>> = vec![Vec::new(); variables];
        let mut b = Vec::with_capacity(rows);
        for (row, (terms, rhs)) in self.equalities.iter().chain(&self.inequalities).enumerate() {
            for &(column, value) in terms {
                columns[column].push((row, value));
            }
            b.push(*rhs);
        }
        let mut starts = Vec::with_capacity(variables + 1);
        let (mut row_indices, mut values) = (Vec::new(), Vec::new());
        starts.push(0);
        for column in &columns {
            for &(row, value) in column {
                row_indices.push(row);
                values.push(value);
            }
            starts.push(row_indices.len());
        }
        let a = CscMatrix::new(rows, variables, starts, row_indices, values);
        let p = CscMatrix::zeros((variables, variables));
        let cones: [SupportedConeT<f64>; 2] =
            [ZeroConeT(self.equalities.len()), NonnegativeConeT(self.inequalities.len())];
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .build()
            .map_err(|e| BoundError::Solver(format!("{e:?}")))?;
        let mut solver = DefaultSolver::new(&p, &self.objective, &a, &b, &cones, settings)
            .map_err(|e| BoundError::Solver(format!("{e:?}")))?;
        solver.solve();
        match solver.solution.status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => {
                Ok(StreamBound { cost: solver.solution.obj_val, variables, constraints: rows })
            }
            status => Err(BoundError::Solver(format!("{status:?}"))),
        }
    }
}

/// The LP bound of routing `orders` (in any order, all known in advance) against the stock of
/// `inventory` under `policy`.
pub fn stream_bound(
    catalog: &Catalog,
    inventory: &Inventory,
    policy: &dyn Policy,
    orders: &[Order],
) -> Result<StreamBound, BoundError> {
    let config = RouterConfig::default();
    let router = Router { catalog, inventory, policy, config: &config };
    let mut workspace = Workspace::default();
    let mut lp = Lp::default();
    // Units taken per (SKU, location), and shipments per (location, local day).
    let mut stock_rows: FxHashMap<(SkuId, LocationId), Vec<(usize, f64)>> = FxHashMap::default();
    let mut day_rows: FxHashMap<(LocationId, i64), Vec<(usize, f64)>> = FxHashMap::default();
    for order in orders {
        let (candidates, evaluation) = router.evaluate(order, &mut workspace)?;
        let penalty = match evaluation.short_stock {
            ShortStock::Partial { unfilled_penalty } => unfilled_penalty,
            ShortStock::Reject => 0.0,
        };
        // A variable per location that may ship (priced, not blocked).
        let ships: Vec<Option<usize>> = candidates
            .locations
            .iter()
            .zip(&evaluation.shipment)
            .map(|(location, verdict)| match verdict {
                Verdict::Cost(cost) if location.blocked.is_none() => Some(lp.variable(*cost)),
                _ => None,
            })
            .collect();
        let used: Vec<usize> = ships.iter().flatten().copied().collect();
        for &y in &used {
            lp.inequalities.push((vec![(y, 1.0)], 1.0));
        }
        for (slot, y) in ships.iter().enumerate() {
            if let Some(y) = *y {
                let location = &candidates.locations[slot];
                let day = catalog.location(location.location).local_day(order.placed_at);
                day_rows.entry((location.location, day)).or_default().push((y, 1.0));
            }
        }
        if !used.is_empty() {
            let max = f64::from(evaluation.split.max_shipments.max(1));
            lp.inequalities.push((used.iter().map(|&y| (y, 1.0)).collect(), max));
            let extra = lp.variable(evaluation.split.split_penalty);
            let mut row: Vec<(usize, f64)> = used.iter().map(|&y| (y, 1.0)).collect();
            row.push((extra, -1.0));
            lp.inequalities.push((row, 1.0));
        }
        for (line, order_line) in order.lines.iter().enumerate() {
            let qty = f64::from(order_line.qty);
            let unfilled = lp.variable(penalty);
            let mut filled = vec![(unfilled, 1.0)];
            for entry in candidates.line_range(line) {
                let slot = candidates.entries[entry].slot as usize;
                let (Some(y), Verdict::Cost(cost)) = (ships[slot], &evaluation.units[entry]) else { continue };
                let x = lp.variable(*cost);
                filled.push((x, 1.0));
                lp.inequalities.push((vec![(x, 1.0), (y, -qty)], 0.0));
                stock_rows.entry((order_line.sku, candidates.locations[slot].location)).or_default().push((x, 1.0));
            }
            lp.equalities.push((filled, qty));
        }
    }
    let mut stock_rows: Vec<_> = stock_rows.into_iter().collect();
    stock_rows.sort_unstable_by_key(|((sku, location), _)| (*sku, *location));
    for ((sku, location), terms) in stock_rows {
        let atp = inventory.position(sku, location).map_or(0, |p| p.atp());
        lp.inequalities.push((terms, f64::from(atp)));
    }
    let mut day_rows: Vec<_> = day_rows.into_iter().collect();
    day_rows.sort_unstable_by_key(|((location, day), _)| (*location, *day));
    for ((location, day), terms) in day_rows {
        if let Some(capacity) = catalog.location(location).capacity_shipments_per_day {
            let left = capacity.saturating_sub(inventory.shipments_on(location, day));
            lp.inequalities.push((terms, f64::from(left)));
        }
    }
    lp.solve()
}
