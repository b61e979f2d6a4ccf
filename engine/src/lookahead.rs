//! Look-ahead pricing of scarce stock (Acimovic & Graves, "Making better fulfillment
//! decisions on the fly in an online retail environment", M&SOM 2015).
//!
//! Routing one order at a time, the cheapest location for this order may hold the last units
//! the next orders of its region need, which then split or cross the country. Look-ahead puts
//! a price on taking a unit: for every SKU, the demand expected over the next horizon per
//! region is matched against the stock now by a transportation LP (each unit from a location to
//! a region at what the policy would charge to ship it there, or left unfilled at the policy's
//! unfilled penalty), and the dual value of each location's stock constraint is what one more
//! unit there would save: the opportunity cost of using it now. [`LookAheadPolicy`] adds it
//! (times a weight) to every unit cost of the policy it wraps. The LPs are solved on a
//! schedule, off the order's path; routing reads the last prices.
//!
//! The LP is solved with clarabel (a maintained, pure-Rust interior-point solver that returns
//! the dual values); one LP per SKU, as SKUs do not share stock.

use std::sync::Arc;
use std::time::Instant;

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, SupportedConeT, ZeroConeT,
};
use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use crate::catalog::Catalog;
use crate::domain::{Address, GeoPoint, LocationId, LocationKind, Order, OrderLine, SkuId, Timestamp};
use crate::inventory::{Inventory, Position};
use crate::policy::{Evaluation, LateDelivery, Policy, PolicyError, PolicyInfo, PolicyRequest, Verdict};
use crate::router::{Router, RouterConfig, RoutingError, Workspace};

/// A policy's look-ahead: how much of the opportunity cost it adds, and over which times the
/// demand is estimated (the `look ahead { ... }` block of the policy language).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LookAheadSettings {
    /// Weight of each unit's opportunity cost added to its unit cost (0: off).
    pub weight: f64,
    /// Seconds of future demand priced.
    pub horizon_secs: i64,
    /// Seconds of past orders the demand rate is estimated from.
    pub history_secs: i64,
}

impl LookAheadSettings {
    /// A day of history priced over a day ahead, at half weight: of 0.25, 0.5 and 1, half
    /// saved the most over both sample scenarios (docs/OPTIMIZER.md, "Measured"); the prices
    /// are marginal values of an estimated demand and overstate what a unit is worth.
    pub const DEFAULT: LookAheadSettings =
        LookAheadSettings { weight: 0.5, horizon_secs: 86_400, history_secs: 86_400 };

    /// The factor that turns the units of `history_secs` of orders into the horizon's.
    pub fn scale(&self) -> f64 {
        self.horizon_secs as f64 / self.history_secs.max(1) as f64
    }
}

/// Demand regions: every ship-to belongs to the region of the nearest centre.
#[derive(Clone, Debug, PartialEq)]
pub struct Regions {
    centres: Vec<GeoPoint>,
}

impl Regions {
    /// One region around each distribution centre of the catalog (around every location when
    /// it has none).
    pub fn around_centres(catalog: &Catalog) -> Regions {
        let dcs: Vec<GeoPoint> = catalog
            .locations()
            .iter()
            .filter(|l| l.kind == LocationKind::DistributionCentre)
            .map(|l| l.position)
            .collect();
        let centres = if dcs.is_empty() { catalog.locations().iter().map(|l| l.position).collect() } else { dcs };
        Regions { centres }
    }

    /// The region of `point` (0 when there are no regions).
    pub fn of(&self, point: GeoPoint) -> usize {
        let mut best = (0, f64::INFINITY);
        for (index, centre) in self.centres.iter().enumerate() {
            let distance = centre.distance_km(point);
            if distance < best.1 {
                best = (index, distance);
            }
        }
        best.0
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.centres.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.centres.is_empty()
    }
}

/// Units expected per SKU and region over the horizon.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demand {
    // By SKU: (region, units).
    units: FxHashMap<SkuId, Vec<(usize, f64)>>,
}

impl Demand {
    /// The units `orders` asked for, by SKU and the region of their ship-to, times `scale`
    /// (the horizon over the span the orders cover, for a rate from the recent stream).
    pub fn of_orders<'a>(orders: impl IntoIterator<Item = &'a Order>, regions: &Regions, scale: f64) -> Demand {
        let mut demand = Demand::default();
        if regions.is_empty() {
            return demand; // a network without locations has nothing to price
        }
        for order in orders {
            let region = regions.of(order.ship_to.position);
            for line in &order.lines {
                let per_sku = demand.units.entry(line.sku).or_default();
                match per_sku.iter_mut().find(|(r, _)| *r == region) {
                    Some(entry) => entry.1 += f64::from(line.qty) * scale,
                    None => per_sku.push((region, f64::from(line.qty) * scale)),
                }
            }
        }
        demand
    }

    /// The units `orders` asked for, spread over the regions by every SKU's share of them:
    /// per SKU its total times `scale`, shared out in proportion to the units all the orders
    /// sent to each region. A SKU ordered a few times a day says little about where its next
    /// orders come from; where all orders come from says more.
    pub fn of_orders_by_region_share<'a>(
        orders: impl IntoIterator<Item = &'a Order> + Clone,
        regions: &Regions,
        scale: f64,
    ) -> Demand {
        if regions.is_empty() {
            return Demand::default();
        }
        let mut per_region = vec![0.0; regions.len()];
        let mut per_sku: FxHashMap<SkuId, f64> = FxHashMap::default();
        for order in orders {
            let region = regions.of(order.ship_to.position);
            for line in &order.lines {
                per_region[region] += f64::from(line.qty);
                *per_sku.entry(line.sku).or_default() += f64::from(line.qty);
            }
        }
        let total: f64 = per_region.iter().sum();
        let mut demand = Demand::default();
        if total <= 0.0 {
            return demand;
        }
        for (sku, units) in per_sku {
            let spread = per_region
                .iter()
                .enumerate()
                .filter(|(_, r)| **r > 0.0)
                .map(|(region, r)| (region, units * scale * r / total))
                .collect();
            demand.units.insert(sku, spread);
        }
        demand
    }

    /// SKUs with demand.
    pub fn skus(&self) -> impl Iterator<Item = SkuId> + '_ {
        self.units.keys().copied()
    }
}

/// The opportunity cost of taking one unit of a SKU from a location (0 where stock is not
/// scarce).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpportunityCosts {
    values: FxHashMap<(SkuId, LocationId), f64>,
}

impl OpportunityCosts {
    /// The cost of one unit of `sku` at `location`.
    pub fn get(&self, sku: SkuId, location: LocationId) -> f64 {
        self.values.get(&(sku, location)).copied().unwrap_or(0.0)
    }

    /// Every `((sku, location), cost)` with a positive cost, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = ((SkuId, LocationId), f64)> + '_ {
        self.values.iter().map(|(key, value)| (*key, *value))
    }

    /// Pairs with a positive cost.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no stock is scarce.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// What one re-solve did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SolveReport {
    /// LPs solved (SKUs with demand and stock; an uncontended one is answered without the
    /// solver: every opportunity cost 0).
    pub solved: usize,
    /// LPs the solver could not finish (their SKUs keep no opportunity cost).
    pub failed: usize,
    /// SKUs left unsolved when the deadline passed ([`opportunity_costs_until`]; they keep no
    /// opportunity cost).
    pub skipped: usize,
}

/// Solves the transportation LP of every SKU with `demand` against the stock in `inventory`
/// now, each unit priced by `policy` as a one-unit order to the region's centre placed `at`.
pub fn opportunity_costs(
    catalog: &Catalog,
    inventory: &Inventory,
    policy: &dyn Policy,
    regions: &Regions,
    demand: &Demand,
    at: Timestamp,
) -> Result<(OpportunityCosts, SolveReport), RoutingError> {
    opportunity_costs_until(catalog, inventory, policy, regions, demand, at, None)
}

/// [`opportunity_costs`], starting no LP once `deadline` has passed: the SKUs most wanted are
/// solved first, and those left keep no opportunity cost (counted in
/// [`SolveReport::skipped`]).
pub fn opportunity_costs_until(
    catalog: &Catalog,
    inventory: &Inventory,
    policy: &dyn Policy,
    regions: &Regions,
    demand: &Demand,
    at: Timestamp,
    deadline: Option<Instant>,
) -> Result<(OpportunityCosts, SolveReport), RoutingError> {
    let config = RouterConfig::default();
    let router = Router { catalog, inventory, policy, config: &config };
    let mut workspace = Workspace::default();
    let mut costs = OpportunityCosts::default();
    let mut report = SolveReport::default();
    let mut positions: Vec<Position> = Vec::new();
    let wanted_of = |sku: &SkuId| demand.units[sku].iter().map(|(_, units)| units).sum::<f64>();
    let mut skus: Vec<(f64, SkuId)> = demand.skus().map(|sku| (wanted_of(&sku), sku)).collect();
    skus.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (done, &(_, sku)) in skus.iter().enumerate() {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            report.skipped = skus.len() - done;
            break;
        }
        positions.clear();
        inventory.positions_into(sku, &mut positions);
        let stock: Vec<(LocationId, u32)> =
            positions.iter().filter(|p| p.atp() > 0).map(|p| (p.location, p.atp())).collect();
        let wanted = &demand.units[&sku];
        if stock.is_empty() || wanted.is_empty() {
            continue;
        }
        // Per region: the quote of one unit from each location, and the unfilled penalty.
        let mut quotes: Vec<RegionQuotes> = Vec::with_capacity(wanted.len());
        for &(region, units) in wanted {
            let order = Order {
                id: "look-ahead".to_owned(),
                placed_at: at,
                channel: "web".to_owned(),
                ship_to: Address {
                    position: regions.centres[region],
                    postal_code: String::new(),
                    country: String::new(),
                },
                lines: vec![OrderLine { id: "1".to_owned(), sku, qty: 1, kit: None }],
            };
            let (per_location, penalty) = router.unit_quotes(&order, &mut workspace)?;
            quotes.push(RegionQuotes { units, per_location, penalty });
        }
        // No stock binds: nothing to price, and no LP to solve.
        if uncontended(&stock, &quotes) {
            report.solved += 1;
            continue;
        }
        match solve_sku(&stock, &quotes) {
            Some(duals) => {
                report.solved += 1;
                for ((location, _), value) in stock.iter().zip(duals) {
                    // Below a cent the price changes no decision; the solver's noise is smaller.
                    if value > 0.005 {
                        costs.values.insert((sku, *location), value);
                    }
                }
            }
            None => report.failed += 1,
        }
    }
    Ok((costs, report))
}

// One region's demand for a SKU and what shipping it there costs.
#[derive(Clone, Debug)]
struct RegionQuotes {
    // Units expected.
    units: f64,
    // The cost of one unit from each location that may ship it.
    per_location: Vec<(LocationId, f64)>,
    // The cost of leaving one unfilled.
    penalty: f64,
}

// Whether one SKU's transportation LP (see `solve_sku`) has every stock row slack at an
// optimum: each region takes its cheapest option (leaving its units unfilled on a tie with the
// penalty) and no location is asked for all its stock. That plan is optimal, as each region's
// cost is at its least; with every stock row slack, complementary slackness makes each
// row's dual value 0 in every optimal dual, so the SKU has no opportunity cost anywhere.
fn uncontended(stock: &[(LocationId, u32)], regions: &[RegionQuotes]) -> bool {
    let mut asked = vec![0.0; stock.len()];
    for quotes in regions {
        let cheapest = quotes
            .per_location
            .iter()
            .filter_map(|&(location, cost)| Some((stock.iter().position(|(l, _)| *l == location)?, cost)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((row, _)) = cheapest.filter(|&(_, cost)| cost < quotes.penalty) {
            asked[row] += quotes.units;
        }
    }
    asked.iter().zip(stock).all(|(asked, (_, units))| *asked < f64::from(*units))
}

// One SKU's transportation LP: stock `(location, units)`, per region the units expected, the
// cost of one unit from each location and the penalty of leaving one unfilled. Returns the
// dual value of each location's stock constraint, or `None` when the solver does not finish.
//
//   minimise  Σ c[l,r] x[l,r] + Σ p[r] u[r]
//   subject to Σ_l x[l,r] + u[r] = d[r]   (each region's demand met or left unfilled)
//              Σ_r x[l,r] <= s[l]          (stock; its dual is the opportunity cost)
//              x, u >= 0
fn solve_sku(stock: &[(LocationId, u32)], regions: &[RegionQuotes]) -> Option<Vec<f64>> {
    // Variables: the x of each region's quoted locations that hold stock, then one u per region.
    let mut columns: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut objective: Vec<f64> = Vec::new();
    let region_count = regions.len();
    let stock_row = |location: LocationId| stock.iter().position(|(l, _)| *l == location);
    let stock_rows = stock.len();
    // Rows: region equalities [0, R), stock inequalities [R, R + L), then one x >= 0 per variable.
    for (region, quotes) in regions.iter().enumerate() {
        for &(location, cost) in &quotes.per_location {
            if let Some(row) = stock_row(location) {
                columns.push(vec![(region, 1.0), (region_count + row, 1.0)]);
                objective.push(cost);
            }
        }
    }
    for (region, quotes) in regions.iter().enumerate() {
        columns.push(vec![(region, 1.0)]);
        objective.push(quotes.penalty);
    }
    let variables = columns.len();
    let rows = region_count + stock_rows + variables;
    for (index, column) in columns.iter_mut().enumerate() {
        column.push((region_count + stock_rows + index, -1.0));
    }
    let mut column_starts = Vec::with_capacity(variables + 1);
    let mut row_indices = Vec::new();
    let mut values = Vec::new();
    column_starts.push(0);
    for column in &columns {
        for &(row, value) in column {
            row_indices.push(row);
            values.push(value);
        }
        column_starts.push(row_indices.len());
    }
    let a = CscMatrix::new(rows, variables, column_starts, row_indices, values);
    let p = CscMatrix::zeros((variables, variables));
    let mut b: Vec<f64> = regions.iter().map(|quotes| quotes.units).collect();
    b.extend(stock.iter().map(|(_, units)| f64::from(*units)));
    b.extend(std::iter::repeat_n(0.0, variables));
    let cones: [SupportedConeT<f64>; 2] = [ZeroConeT(region_count), NonnegativeConeT(stock_rows + variables)];
    let settings = DefaultSettingsBuilder::default().verbose(false).build().ok()?;
    let mut solver = DefaultSolver::new(&p, &objective, &a, &b, &cones, settings).ok()?;
    solver.solve();
    match solver.solution.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {}
        _ => return None,
    }
    Some(solver.solution.z[region_count..region_count + stock_rows].iter().map(|z| z.max(0.0)).collect())
}

/// A policy with the opportunity cost of each unit (times `weight`) added to its unit costs,
/// above the cheapest option of the line in opportunity cost. The costs are read at each
/// evaluation and replaced by [`LookAheadPolicy::set_costs`] when they are solved again.
pub struct LookAheadPolicy<'a> {
    inner: Inner<'a>,
    weight: f64,
    settings: Option<LookAheadSettings>,
    costs: RwLock<Arc<OpportunityCosts>>,
}

impl<'a> LookAheadPolicy<'a> {
    /// `inner`, with no opportunity costs yet.
    pub fn new(inner: &'a dyn Policy, weight: f64) -> LookAheadPolicy<'a> {
        LookAheadPolicy {
            inner: Inner::Borrowed(inner),
            weight,
            settings: None,
            costs: RwLock::new(Arc::new(OpportunityCosts::default())),
        }
    }

    /// The policy it wraps.
    pub fn inner(&self) -> &dyn Policy {
        match &self.inner {
            Inner::Borrowed(policy) => *policy,
            Inner::Shared(policy) => policy.as_ref(),
        }
    }

    /// Replaces the opportunity costs.
    pub fn set_costs(&self, costs: OpportunityCosts) {
        *self.costs.write() = Arc::new(costs);
    }

    /// The opportunity costs routing adds now.
    pub fn costs(&self) -> Arc<OpportunityCosts> {
        Arc::clone(&self.costs.read())
    }
}

impl LookAheadPolicy<'static> {
    /// A policy that declares its look-ahead ([`Policy::look_ahead`]), wrapped by its own
    /// settings (a service keeps it as long as the version lives).
    pub fn shared(inner: Arc<dyn Policy>, settings: LookAheadSettings) -> LookAheadPolicy<'static> {
        LookAheadPolicy {
            inner: Inner::Shared(inner),
            weight: settings.weight,
            settings: Some(settings),
            costs: RwLock::new(Arc::new(OpportunityCosts::default())),
        }
    }

    /// The settings it was built from ([`LookAheadPolicy::shared`]).
    pub fn settings(&self) -> Option<LookAheadSettings> {
        self.settings
    }
}

// The wrapped policy: borrowed for a run (`simulate`), or shared with a service's version.
enum Inner<'a> {
    Borrowed(&'a dyn Policy),
    Shared(Arc<dyn Policy>),
}

impl LookAheadPolicy<'_> {
    /// The weight it adds the opportunity costs at.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    // The inner policy's evaluation with the opportunity costs added at `weight`.
    fn evaluate_at(&self, weight: f64, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.inner().evaluate(request, out)?;
        let costs = Arc::clone(&self.costs.read());
        if costs.is_empty() || weight == 0.0 {
            return Ok(());
        }
        // Relative to the line's cheapest option in opportunity cost: the prices steer which
        // location ships a unit, and never make every option dearer than leaving the unit
        // unfilled (that is the policy's own decision).
        let candidates = request.candidates;
        for (line, order_line) in request.order.lines.iter().enumerate().take(candidates.line_count()) {
            let value = |entry: usize| {
                costs.get(order_line.sku, candidates.locations[candidates.entries[entry].slot as usize].location)
            };
            // Over the options that could ship now (stock there, not blocked).
            let usable = |entry: usize| {
                let candidate = &candidates.entries[entry];
                candidate.atp > 0
                    && candidates.locations[candidate.slot as usize].blocked.is_none()
                    && matches!(out.units.get(entry), Some(Verdict::Cost(_)))
            };
            let floor =
                candidates.line_range(line).filter(|&entry| usable(entry)).map(value).fold(f64::INFINITY, f64::min);
            if !floor.is_finite() {
                continue;
            }
            for entry in candidates.line_range(line) {
                let extra = weight * (value(entry) - floor).max(0.0);
                if let Some(Verdict::Cost(cost)) = out.units.get_mut(entry) {
                    *cost += extra;
                }
            }
        }
        Ok(())
    }
}

impl Policy for LookAheadPolicy<'_> {
    fn info(&self) -> Arc<PolicyInfo> {
        self.inner().info()
    }

    fn late_delivery(&self) -> LateDelivery {
        self.inner().late_delivery()
    }

    // Already applied here: whoever wraps policies that look ahead does not wrap this again.
    fn look_ahead(&self) -> Option<LookAheadSettings> {
        None
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.evaluate_at(self.weight, request, out)
    }
}

/// The weight at which a re-optimisation pass prices a look-ahead of `weight` over
/// `horizon_secs` for an order whose release window (from when it was routed to its release)
/// is `window_secs` long: its weight times the share of its horizon that lies beyond the
/// window. The demand it forecasts within the window arrives while the pool's orders can still
/// be re-planned, and the pass then plans them against those real orders; pricing that demand
/// too counts it twice. With a window as long as the horizon the pass prices nothing
/// (docs/OPTIMIZER.md, "Look-ahead inside a release window").
pub fn pass_weight(weight: f64, horizon_secs: i64, window_secs: i64) -> f64 {
    let beyond = 1.0 - window_secs.max(0) as f64 / horizon_secs.max(1) as f64;
    weight * beyond.clamp(0.0, 1.0)
}

/// A look-ahead policy at another weight, sharing its opportunity costs as they are re-solved
/// (a re-optimisation pass's view of it, [`pass_weight`]).
pub struct Reweighted<P> {
    policy: P,
    weight: f64,
}

impl<'a, P: std::ops::Deref<Target = LookAheadPolicy<'a>> + Send + Sync> Reweighted<P> {
    /// `policy`, adding its opportunity costs at `weight` instead of its own.
    pub fn new(policy: P, weight: f64) -> Reweighted<P> {
        Reweighted { policy, weight }
    }

    /// The weight it adds the opportunity costs at.
    pub fn weight(&self) -> f64 {
        self.weight
    }
}

impl<'a, P: std::ops::Deref<Target = LookAheadPolicy<'a>> + Send + Sync> Policy for Reweighted<P> {
    fn info(&self) -> Arc<PolicyInfo> {
        self.policy.info()
    }

    fn late_delivery(&self) -> LateDelivery {
        self.policy.late_delivery()
    }

    fn look_ahead(&self) -> Option<LookAheadSettings> {
        None
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.policy.evaluate_at(self.weight, request, out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // A transportation LP of up to four locations and four regions.
    fn problems() -> impl Strategy<Value = (Vec<(LocationId, u32)>, Vec<RegionQuotes>)> {
        (1usize..5, 1usize..5).prop_flat_map(|(locations, regions)| {
            (
                prop::collection::vec(1u32..6, locations),
                prop::collection::vec(
                    (0.5f64..5.0, prop::collection::vec(1.0f64..20.0, locations), 5.0f64..40.0),
                    regions,
                ),
            )
                .prop_map(|(stock, regions)| {
                    let stock: Vec<(LocationId, u32)> =
                        stock.into_iter().enumerate().map(|(i, units)| (LocationId(i as u32), units)).collect();
                    let regions = regions
                        .into_iter()
                        .map(|(units, costs, penalty)| RegionQuotes {
                            units,
                            per_location: costs
                                .into_iter()
                                .enumerate()
                                .map(|(i, c)| (LocationId(i as u32), c))
                                .collect(),
                            penalty,
                        })
                        .collect();
                    (stock, regions)
                })
        })
    }

    proptest! {
        // Where the shortcut says no stock binds, the solver finds no opportunity cost.
        #[test]
        fn an_uncontended_sku_has_no_opportunity_cost((stock, regions) in problems()) {
            if uncontended(&stock, &regions) {
                let duals = solve_sku(&stock, &regions).unwrap();
                prop_assert!(duals.iter().all(|&value| value <= 0.005), "{duals:?}");
            }
        }
    }

    // Two regions wanting the one cheap location's two units: contended, and priced.
    #[test]
    fn a_contended_sku_is_solved() {
        let stock = [(LocationId(0), 2), (LocationId(1), 10)];
        let region = |units| RegionQuotes {
            units,
            per_location: vec![(LocationId(0), 5.0), (LocationId(1), 8.0)],
            penalty: 30.0,
        };
        assert!(uncontended(&stock, &[region(1.5)]));
        let both = [region(1.5), region(1.5)];
        assert!(!uncontended(&stock, &both));
        let duals = solve_sku(&stock, &both).unwrap();
        assert!((duals[0] - 3.0).abs() < 0.01 && duals[1].abs() < 0.01, "{duals:?}");
    }
}
