//! Lower bounds on what any routing of a whole order stream can cost: every order known in
//! advance and routed together against the starting stock under one policy's costs and rules.
//! Two: the LP relaxation ([`stream_bound`], below) and the Lagrangian bound
//! ([`lagrangian_bound`]), which prices the rows that tie orders together and routes each
//! order exactly on its own; it is tighter and scales to streams the LP cannot hold.
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
use parking_lot::RwLock;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::domain::{LocationId, Order, SkuId};
use crate::inventory::Inventory;
use crate::lookahead::{Demand, OpportunityCosts, Regions, opportunity_costs_until};
use crate::policy::{Evaluation, LateDelivery, Policy, PolicyError, PolicyInfo, PolicyRequest, ShortStock, Verdict};
use crate::router::{Router, RouterConfig, RoutingError, Workspace};

/// The bound and how it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamBound {
    /// No routing of the stream costs less than this under the policy's costs.
    pub cost: f64,
    /// The method, with the size of its problem.
    pub method: BoundMethod,
}

/// How a [`StreamBound`] was found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BoundMethod {
    /// The LP relaxation ([`stream_bound`]).
    Lp {
        /// Variables of the LP.
        variables: usize,
        /// Constraints of the LP (bounds on variables included).
        constraints: usize,
    },
    /// Prices on the coupling rows, each order routed exactly ([`lagrangian_bound`]).
    Lagrangian {
        /// Rounds of routing (the first routes every order; each later one those whose
        /// prices changed).
        iterations: usize,
        /// Coupling rows (stock per SKU and location, shipments per location and day) touched.
        rows: usize,
    },
}

impl std::fmt::Display for BoundMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoundMethod::Lp { variables, constraints } => {
                write!(f, "the LP relaxation, {variables} variables, {constraints} constraints")
            }
            BoundMethod::Lagrangian { iterations, rows } => {
                write!(f, "Lagrangian prices on {rows} stock and capacity rows, {iterations} rounds of routing")
            }
        }
    }
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
            return Ok(StreamBound { cost: 0.0, method: BoundMethod::Lp { variables, constraints: rows } });
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
            SolverStatus::Solved | SolverStatus::AlmostSolved => Ok(StreamBound {
                cost: solver.solution.obj_val,
                method: BoundMethod::Lp { variables, constraints: rows },
            }),
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

/// How long [`lagrangian_bound`] searches for its prices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LagrangianSettings {
    /// Most rounds of routing every order under the prices.
    pub iterations: usize,
    /// The cost of a stream of plans known to be possible (per-order routing's, priced by the
    /// same policy): the step towards it sizes each change of the prices.
    pub upper: f64,
    /// Threads routing the orders of a round.
    pub threads: usize,
    /// Start from look-ahead's prices for the whole stream's demand rather than from zero.
    pub warm_start: bool,
}

/// The Lagrangian bound of routing `orders` (in any order, all known in advance) against the
/// stock of `inventory` under `policy`: the LP's coupling rows (stock per SKU and location,
/// shipments per location and day) become prices, and every order is routed on its own,
/// exactly, by the router, against the starting stock with the prices added to its unit and
/// shipment costs. For any prices >= 0,
///
///   Σ over orders of the cheapest priced plan  -  Σ price · stock  -  Σ price · capacity left
///
/// is no more than what any stream of plans costs (each of its plans costs at least its
/// order's cheapest priced plan, and the prices on rows it keeps within are paid back). The
/// prices are searched by subgradient steps (Polyak's rule towards `settings.upper`), and the
/// best value met is the bound. Each order's own problem is solved exactly (its rules, lines
/// that may not split, most shipments), so the bound is at least as tight as the LP at its
/// best prices, and it needs no matrix: it scales to streams the LP cannot hold. A policy that
/// rejects short orders is given a penalty of 0 for an unfilled unit, as in the LP. Fails if
/// the router could not prove an order's priced plan optimal (it would not be a bound).
pub fn lagrangian_bound(
    catalog: &Catalog,
    inventory: &Inventory,
    policy: &dyn Policy,
    orders: &[Order],
    settings: LagrangianSettings,
) -> Result<StreamBound, BoundError> {
    let start =
        if settings.warm_start { warm_prices(catalog, inventory, policy, orders, None)? } else { Prices::default() };
    let orders: Vec<(&Order, &dyn Policy)> = orders.iter().map(|order| (order, policy)).collect();
    let limits = SearchLimits {
        iterations: settings.iterations,
        upper: settings.upper,
        threads: settings.threads,
        deadline: None,
    };
    let found = search_prices(catalog, inventory, &orders, Relax::ForBound, start, &limits)?;
    Ok(StreamBound {
        cost: found.best.max(0.0),
        method: BoundMethod::Lagrangian { iterations: found.iterations, rows: found.rows },
    })
}

// Prices to start a search from: the stock's prices in the transportation LPs of `orders`'
// demand per region (look-ahead's, with the demand known), each unit quoted by `policy`.
// Near the prices the search ends at on scarce stock, which steps from zero climb to slowly.
// No LP is started after `deadline` (the SKUs left start from zero).
pub(crate) fn warm_prices<'a>(
    catalog: &Catalog,
    inventory: &Inventory,
    policy: &dyn Policy,
    orders: impl IntoIterator<Item = &'a Order> + Clone,
    deadline: Option<std::time::Instant>,
) -> Result<Prices, BoundError> {
    let mut start = Prices::default();
    let regions = Regions::around_centres(catalog);
    let Some(at) = orders.clone().into_iter().map(|o| o.placed_at).min() else {
        return Ok(start);
    };
    if regions.is_empty() {
        // No location: nothing to price.
        return Ok(start);
    }
    let demand = Demand::of_orders(orders, &regions, 1.0);
    let costs: OpportunityCosts =
        opportunity_costs_until(catalog, inventory, policy, &regions, &demand, at, deadline)?.0;
    for ((sku, location), value) in costs.iter() {
        start.units.insert((sku, location), value);
    }
    Ok(start)
}

// How a price search ends.
pub(crate) struct SearchLimits {
    // Rounds of routing at most.
    pub(crate) iterations: usize,
    // A stream of plans known to be possible costs this (the step aims at it).
    pub(crate) upper: f64,
    // Threads routing a round's orders.
    pub(crate) threads: usize,
    // The search stops (after the round under way) once this passes.
    pub(crate) deadline: Option<std::time::Instant>,
}

// What a price search found: the best Lagrangian value, the prices that gave it, the rounds
// it took and the rows it touched.
pub(crate) struct FoundPrices {
    pub(crate) best: f64,
    pub(crate) prices: Prices,
    pub(crate) iterations: usize,
    pub(crate) rows: usize,
}

// How a priced policy treats what its inner policy says beyond its costs.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Relax {
    // For a bound: the optimizer's cheapest plan whatever the policy would choose, and a
    // policy that rejects short orders may leave units unfilled at no cost.
    ForBound,
    // For plans an order will keep: the policy as it is, only its costs priced up.
    Nothing,
}

// The subgradient search for prices on the coupling rows (stock per SKU and location in
// `inventory`, shipments left per location and day) of routing `orders`, each under its own
// policy, all at once, from the prices `start`: each round routes every order whose prices
// changed exactly on its own, against `inventory`, with the prices added to its costs (see
// [`lagrangian_bound`]).
pub(crate) fn search_prices(
    catalog: &Catalog,
    inventory: &Inventory,
    orders: &[(&Order, &dyn Policy)],
    relax: Relax,
    start: Prices,
    limits: &SearchLimits,
) -> Result<FoundPrices, BoundError> {
    // The rows' limits: stock per (SKU, location) at the start, shipments left per (location, day).
    let mut stock: FxHashMap<(SkuId, LocationId), f64> = FxHashMap::default();
    let mut capacity: FxHashMap<(LocationId, i64), f64> = FxHashMap::default();
    for &(sku, location) in start.units.keys() {
        stock.insert((sku, location), f64::from(inventory.position(sku, location).map_or(0, |p| p.atp())));
    }
    for &(location, day) in start.ships.keys() {
        let limit = catalog.location(location).capacity_shipments_per_day.unwrap_or(u32::MAX);
        capacity.insert((location, day), f64::from(limit.saturating_sub(inventory.shipments_on(location, day))));
    }
    let prices = RwLock::new(start);
    let threads = limits.threads.max(1);
    // Each order's cheapest priced plan under the prices now: what it costs and takes. An
    // order none of whose prices changed keeps its plan from the round before.
    let mut plans: Vec<Option<OrderPlan>> = vec![None; orders.len()];
    let mut due: Vec<usize> = (0..orders.len()).collect();
    let mut best = f64::NEG_INFINITY;
    let mut best_prices = Prices::default();
    let mut theta = 1.0;
    let mut since_better = 0;
    let mut iterations = 0;
    while iterations < limits.iterations {
        if limits.deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
            break;
        }
        iterations += 1;
        let chunk = due.len().div_ceil(threads).max(1);
        let routed: Vec<Result<Vec<(usize, OrderPlan)>, BoundError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = due
                .chunks(chunk)
                .map(|indices| {
                    let prices = &prices;
                    scope.spawn(move || route_orders(catalog, inventory, prices, relax, orders, indices))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
        for part in routed {
            for (index, plan) in part? {
                if relax == Relax::ForBound && !plan.optimal {
                    return Err(BoundError::Solver(format!(
                        "the router could not prove order {}'s priced plan optimal within its search budget",
                        orders[index].0.id
                    )));
                }
                plans[index] = Some(plan);
            }
        }
        // What the plans cost and take, row by row.
        let mut cost = 0.0;
        let mut units: FxHashMap<(SkuId, LocationId), f64> = FxHashMap::default();
        let mut ships: FxHashMap<(LocationId, i64), f64> = FxHashMap::default();
        for plan in plans.iter().flatten() {
            cost += plan.cost;
            for &(key, qty) in &plan.units {
                *units.entry(key).or_default() += qty;
            }
            for &key in &plan.ships {
                *ships.entry(key).or_default() += 1.0;
            }
        }
        for &(sku, location) in units.keys() {
            stock
                .entry((sku, location))
                .or_insert_with(|| f64::from(inventory.position(sku, location).map_or(0, |p| p.atp())));
        }
        for &(location, day) in ships.keys() {
            if let Some(limit) = catalog.location(location).capacity_shipments_per_day {
                capacity
                    .entry((location, day))
                    .or_insert_with(|| f64::from(limit.saturating_sub(inventory.shipments_on(location, day))));
            }
        }
        let mut prices_now = prices.write();
        let paid_back = prices_now.units.iter().map(|(key, price)| price * stock[key]).sum::<f64>()
            + prices_now.ships.iter().map(|(key, price)| price * capacity[key]).sum::<f64>();
        let value = cost - paid_back;
        if value > best + 1e-9 * value.abs().max(1.0) {
            best = value;
            best_prices = prices_now.clone();
            since_better = 0;
        } else {
            since_better += 1;
            if since_better >= 5 {
                theta /= 2.0;
                since_better = 0;
            }
        }
        // The subgradient: what the plans take beyond each row's limit, on the rows whose price
        // may move (a row kept within its limit at price 0 stays at 0).
        let unit_gradient: Vec<((SkuId, LocationId), f64)> = stock
            .iter()
            .map(|(key, limit)| (*key, units.get(key).copied().unwrap_or(0.0) - limit))
            .filter(|(key, g)| *g > 0.0 || prices_now.units.contains_key(key))
            .collect();
        let ship_gradient: Vec<((LocationId, i64), f64)> = capacity
            .iter()
            .map(|(key, limit)| (*key, ships.get(key).copied().unwrap_or(0.0) - limit))
            .filter(|(key, g)| *g > 0.0 || prices_now.ships.contains_key(key))
            .collect();
        let norm: f64 = unit_gradient.iter().map(|(_, g)| g * g).chain(ship_gradient.iter().map(|(_, g)| g * g)).sum();
        if norm == 0.0 || limits.upper - best <= 1e-6 * limits.upper.abs().max(1.0) || theta < 1e-4 {
            // The priced plans keep every row (they are a stream: the bound is reached), or no
            // room is left.
            break;
        }
        let step = theta * (limits.upper - value).max(1e-6 * limits.upper.abs().max(1.0)) / norm;
        let mut changed_skus: FxHashSet<SkuId> = FxHashSet::default();
        let mut changed_days: FxHashSet<i64> = FxHashSet::default();
        for (key, g) in unit_gradient {
            if g != 0.0 && set_price(&mut prices_now.units, key, step * g) {
                changed_skus.insert(key.0);
            }
        }
        for (key, g) in ship_gradient {
            if g != 0.0 && set_price(&mut prices_now.ships, key, step * g) {
                changed_days.insert(key.1);
            }
        }
        // The orders a changed price can reach: a line of a repriced SKU, or placed within a
        // day of a repriced capacity day (a location's local day is its UTC day give or take one).
        due = (0..orders.len())
            .filter(|&index| {
                let order = orders[index].0;
                order.lines.iter().any(|line| changed_skus.contains(&line.sku))
                    || (!changed_days.is_empty()
                        && (-1..=1).any(|d| changed_days.contains(&(order.placed_at.utc_day() + d))))
            })
            .collect();
    }
    Ok(FoundPrices { best, prices: best_prices, iterations, rows: stock.len() + capacity.len() })
}

// Moves a price by `delta`, kept >= 0 (a price of 0 is no entry). Whether it changed.
fn set_price<K: std::hash::Hash + Eq>(prices: &mut FxHashMap<K, f64>, key: K, delta: f64) -> bool {
    let price = prices.get(&key).copied().unwrap_or(0.0);
    let next = (price + delta).max(0.0);
    if next == price {
        return false;
    }
    if next > 0.0 {
        prices.insert(key, next);
    } else {
        prices.remove(&key);
    }
    true
}

// Prices on the coupling rows.
#[derive(Clone, Default)]
pub(crate) struct Prices {
    pub(crate) units: FxHashMap<(SkuId, LocationId), f64>,
    pub(crate) ships: FxHashMap<(LocationId, i64), f64>,
}

// An order's cheapest plan under the prices: its priced cost, the units it takes per (SKU,
// location) and the (location, day) of each shipment.
#[derive(Clone)]
struct OrderPlan {
    cost: f64,
    units: Vec<((SkuId, LocationId), f64)>,
    ships: Vec<(LocationId, i64)>,
    optimal: bool,
}

fn route_orders(
    catalog: &Catalog,
    inventory: &Inventory,
    prices: &RwLock<Prices>,
    relax: Relax,
    orders: &[(&Order, &dyn Policy)],
    indices: &[usize],
) -> Result<Vec<(usize, OrderPlan)>, BoundError> {
    let config = RouterConfig::default();
    let mut workspace = Workspace::default();
    let mut routed = Vec::with_capacity(indices.len());
    for &index in indices {
        let (order, inner) = orders[index];
        let policy = PricedPolicy { inner, prices, relax };
        let router = Router { catalog, inventory, policy: &policy, config: &config };
        let plan = router.plan(order, &mut workspace)?;
        let mut priced =
            OrderPlan { cost: plan.cost.total(), units: Vec::new(), ships: Vec::new(), optimal: plan.optimal };
        for shipment in &plan.shipments {
            priced.ships.push((shipment.location, catalog.location(shipment.location).local_day(order.placed_at)));
            for line in &shipment.lines {
                priced.units.push(((order.lines[line.line].sku, shipment.location), f64::from(line.qty)));
            }
        }
        routed.push((index, priced));
    }
    Ok(routed)
}

// A policy with the round's prices added to its unit and shipment costs; for a bound, an
// order its policy would reject when short may leave units unfilled at no cost (a rejection
// costs nothing).
pub(crate) struct PricedPolicy<'a> {
    pub(crate) inner: &'a dyn Policy,
    pub(crate) prices: &'a RwLock<Prices>,
    pub(crate) relax: Relax,
}

impl Policy for PricedPolicy<'_> {
    fn info(&self) -> Arc<PolicyInfo> {
        self.inner.info()
    }

    fn late_delivery(&self) -> LateDelivery {
        self.inner.late_delivery()
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.inner.evaluate(request, out)?;
        if self.relax == Relax::ForBound {
            // The optimizer finds the cheapest plan, whatever the policy would have chosen.
            out.plan = None;
            if matches!(out.short_stock, ShortStock::Reject) {
                out.short_stock = ShortStock::Partial { unfilled_penalty: 0.0 };
            }
        }
        let prices = self.prices.read();
        let candidates = request.candidates;
        if !prices.ships.is_empty() {
            for (slot, location) in candidates.locations.iter().enumerate() {
                let day = request.catalog.location(location.location).local_day(request.order.placed_at);
                if let (Some(price), Some(Verdict::Cost(cost))) =
                    (prices.ships.get(&(location.location, day)), out.shipment.get_mut(slot))
                {
                    *cost += price;
                }
            }
        }
        if !prices.units.is_empty() {
            for (line, order_line) in request.order.lines.iter().enumerate().take(candidates.line_count()) {
                for entry in candidates.line_range(line) {
                    let location = candidates.locations[candidates.entries[entry].slot as usize].location;
                    if let (Some(price), Some(Verdict::Cost(cost))) =
                        (prices.units.get(&(order_line.sku, location)), out.units.get_mut(entry))
                    {
                        *cost += price;
                    }
                }
            }
        }
        Ok(())
    }
}
