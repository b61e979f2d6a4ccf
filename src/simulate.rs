//! What-if simulation: replay a scenario under several policies, each on its own copy of the
//! starting stock, plus the greedy baseline, and compare them side by side, every column's
//! plans priced under one cost model (the first policy's, or one chosen) so the totals compare
//! like with like: each policy's own figure is kept beside it.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use switchyard_engine::bound::{BoundError, LagrangianSettings, StreamBound, lagrangian_bound, stream_bound};
use switchyard_engine::lookahead::{Demand, LookAheadPolicy, Regions, Reweighted, opportunity_costs, pass_weight};
use switchyard_engine::{
    Inventory, Plan, Policy, ReoptimizeSettings, RouterConfig, RoutingError, RunSummary, Strategy, plans_differ,
};

use crate::replay::{BeforeOrder, PoolRun, ReleaseWindows, ReplayExtras, replay_with_progress};
use crate::scenario::Scenario;

/// One compared policy's run.
pub struct Column {
    /// How the column is headed (`reference`, `greedy (reference)`).
    pub label: String,
    /// Whether it is the greedy baseline.
    pub greedy: bool,
    /// Whether it is the clairvoyant plan ([`ReleaseWindows::clairvoyant`]): a plan made with
    /// every order known in advance, given with the bound.
    pub clairvoyant: bool,
    /// The figures.
    pub summary: RunSummary,
    /// One plan per order, in file order (an order the policy failed on has a rejected plan
    /// saying so).
    pub plans: Vec<Plan>,
    /// Orders the policy failed on.
    pub failed: usize,
    /// Median routing time per order.
    pub p50: Duration,
    /// 99th percentile routing time per order.
    pub p99: Duration,
    /// Routing time of the whole run.
    pub routing_time: Duration,
    /// The plans priced under the simulation's price list ([`Simulation::priced_by`]).
    pub priced: Priced,
    /// What re-optimisation did, in a column with release windows.
    pub pool: Option<PoolRun>,
}

/// A column's plans priced under one cost model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Priced {
    /// Each plan's cost under it, in file order (0 where the pricing policy failed).
    pub order_costs: Vec<f64>,
    /// Their sum.
    pub total_cost: f64,
    /// Plans it would not have made (a location or option it excludes, units short where it
    /// rejects short orders): their forbidden parts are not priced.
    pub broken: usize,
    /// The first such plan's order and why, for the report.
    pub first_broken: Option<(String, String)>,
    /// Orders the pricing policy failed on.
    pub failed: usize,
}

/// A column routed by the first policy with look-ahead pricing of scarce stock
/// ([`switchyard_engine::lookahead`]): the opportunity costs are solved again every `every`
/// seconds of the scenario's time, from the stock then and the demand of the orders placed in
/// the `window` before (scaled to the `horizon`), or, with `oracle`, the orders actually placed
/// in the next `horizon` (what a perfect forecast would give; for measurement).
#[derive(Clone, Debug, PartialEq)]
pub struct LookAhead {
    /// Weight of the opportunity cost added to each unit cost.
    pub weight: f64,
    /// Seconds between re-solves.
    pub every: i64,
    /// Seconds of past orders the demand is estimated from.
    pub window: i64,
    /// Seconds of future demand priced.
    pub horizon: i64,
    /// Use the orders actually to come instead of an estimate.
    pub oracle: bool,
}

/// Release windows and re-optimisation of the unreleased pool
/// ([`switchyard_engine::reoptimize`]): each order may be re-planned until `release_after`
/// seconds after it was placed; the pool is re-optimised every `every` seconds of the
/// scenario's time (and once after the last order), under the first policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Reoptimize {
    /// Seconds an order stays unreleased.
    pub release_after: i64,
    /// Seconds between passes.
    pub every: i64,
    /// Limits of each pass.
    pub settings: ReoptimizeSettings,
}

/// What a simulation does beyond routing one order at a time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamOptions {
    /// Add a column of the first policy with look-ahead pricing.
    pub look_ahead: Option<LookAhead>,
    /// Add a column of the first policy with release windows and re-optimisation (and, with
    /// `look_ahead`, one with both).
    pub reoptimize: Option<Reoptimize>,
    /// Compute the clairvoyant bound, with this many rounds of the Lagrangian search
    /// ([`DEFAULT_BOUND_ROUNDS`] by default on the command line).
    pub bound: Option<usize>,
}

/// Rounds of routing every order that `simulate --bound` spends on the Lagrangian bound:
/// on us-50-small 200 rounds pass the LP relaxation; on us-200-medium it is still rising
/// slowly there (docs/OPTIMIZER.md).
pub const DEFAULT_BOUND_ROUNDS: usize = 200;

/// What the look-ahead column's re-solves did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LookAheadRun {
    /// Re-solves.
    pub solves: usize,
    /// SKU LPs solved over all re-solves.
    pub lps: usize,
    /// LPs (or re-solves) that failed; their SKUs kept no opportunity cost.
    pub failed: usize,
    /// Time spent solving, in total.
    pub solve_time: Duration,
    /// Largest number of (SKU, location) pairs with an opportunity cost at once.
    pub most_priced: usize,
    /// With release windows too: the weight the column with both re-optimises at
    /// ([`switchyard_engine::lookahead::pass_weight`]).
    pub pass_weight: Option<f64>,
}

/// An order the compared policies plan differently.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderDifference {
    /// The order's id.
    pub order_id: String,
    /// Its cost under each column.
    pub costs: Vec<f64>,
    /// Its shipping locations under each column, comma-separated (`-` for none).
    pub locations: Vec<String>,
}

/// A finished comparison.
pub struct Simulation {
    /// The scenario's name.
    pub scenario: String,
    /// Calendar days (UTC) the scenario's orders span, for utilisation.
    pub days: usize,
    /// Location ids, indexed like `RunSummary::location_shipments`.
    pub locations: Vec<String>,
    /// Daily shipment capacity per location.
    pub capacities: Vec<Option<u32>>,
    /// The columns: each policy given, the stream's columns ([`simulate`]), then the greedy
    /// baseline under the first.
    pub columns: Vec<Column>,
    /// Orders on which some column differs from the first, in file order.
    pub differences: Vec<OrderDifference>,
    /// The label of the policy whose cost model prices every column.
    pub priced_by: String,
    /// The look-ahead column's re-solves, when there is one.
    pub look_ahead: Option<LookAheadRun>,
    /// The clairvoyant bound under the price list, when asked for: its cost and how long it
    /// took, or why there is none.
    pub bound: Option<Result<(StreamBound, Duration), String>>,
    /// Every bound computed for `bound` (it is the highest of them).
    pub bounds: Vec<StreamBound>,
}

// A column to run: its label, whether it is the greedy baseline, its policy and strategy,
// whether it looks ahead, and its release windows.
type Run<'a> = (String, bool, &'a dyn Policy, Strategy, bool, Option<&'a ReleaseWindows<'a>>);

// The release windows of `stream`, re-optimising under `policy`.
fn release_windows<'a>(stream: &StreamOptions, policy: &'a dyn Policy) -> Option<ReleaseWindows<'a>> {
    stream.reoptimize.as_ref().map(|settings| ReleaseWindows {
        policy,
        release_after: settings.release_after,
        every: settings.every,
        settings: settings.settings.clone(),
        full_at_end: false,
    })
}

/// Runs every policy (optimal strategy); with `stream.look_ahead` a column of the first policy
/// with look-ahead pricing, with `stream.reoptimize` one with release windows and
/// re-optimisation of the unreleased pool (and one with both when both are given); and the
/// greedy baseline under the first policy. Every column's plans are priced under `pricing` (a
/// label and a policy; `None`: the first policy); with `stream.bound`, the clairvoyant bound
/// is computed under the same prices ([`switchyard_engine::bound`]), and a column of the
/// clairvoyant plan under the pricing policy ([`ReleaseWindows::clairvoyant`]), before the
/// greedy baseline.
/// `progress(column label, orders done, orders)` is called as it goes.
pub fn simulate(
    scenario: &Scenario,
    policies: &[(String, &dyn Policy)],
    pricing: Option<(String, &dyn Policy)>,
    stream: &StreamOptions,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Simulation, RoutingError> {
    let Some((priced_by, pricing)) = pricing.or_else(|| policies.first().map(|(l, p)| (l.clone(), *p))) else {
        return Err(RoutingError::Policy(switchyard_engine::PolicyError {
            policy: "simulate".to_owned(),
            message: "no policy to compare".to_owned(),
        }));
    };
    let first = policies.first();
    let looking = stream.look_ahead.as_ref().zip(first).map(|(settings, (label, policy))| {
        (settings, format!("{label} + look-ahead"), LookAheadPolicy::new(*policy, settings.weight))
    });
    let windows = first.and_then(|(_, policy)| release_windows(stream, *policy));
    // The column with both re-optimises under the look-ahead policy at its pass weight, as the
    // service does with a binding that looks ahead: only the demand forecast beyond the
    // release window is priced (the pool plans the rest against real orders).
    let pass_looking = looking.as_ref().zip(stream.reoptimize.as_ref()).map(|((settings, _, policy), reoptimize)| {
        Reweighted::new(policy, pass_weight(settings.weight, settings.horizon, reoptimize.release_after))
    });
    let windows_looking = pass_looking.as_ref().and_then(|policy| release_windows(stream, policy));
    // With the bound, the plan a heuristic makes knowing every order, under the price list the
    // bound is of: the optimum lies between.
    let clairvoyant = stream.bound.map(|rounds| {
        ReleaseWindows::clairvoyant(pricing, rounds.min(switchyard_engine::reoptimize::MAX_REPLAN_ROUNDS))
    });
    let mut runs: Vec<Run<'_>> = policies
        .iter()
        .map(|(label, policy)| (label.clone(), false, *policy, Strategy::Optimal, false, None))
        .collect();
    if let Some((_, label, policy)) = &looking {
        runs.push((label.clone(), false, policy, Strategy::Optimal, true, None));
    }
    if let (Some(windows), Some((label, policy))) = (&windows, first) {
        runs.push((format!("{label} + re-optimised"), false, *policy, Strategy::Optimal, false, Some(windows)));
        if let (Some((_, label, policy)), Some(windows)) = (&looking, &windows_looking) {
            runs.push((format!("{label} + re-optimised"), false, policy, Strategy::Optimal, true, Some(windows)));
        }
    }
    if let Some(windows) = &clairvoyant {
        runs.push((format!("{priced_by}, clairvoyant plan"), false, pricing, Strategy::Optimal, false, Some(windows)));
    }
    if let Some((label, policy)) = first {
        runs.push((format!("greedy ({label})"), true, *policy, Strategy::Greedy, false, None));
    }
    let mut look_ahead_run = None;
    let total = scenario.orders.len();
    let mut columns = Vec::with_capacity(runs.len());
    for (label, greedy, policy, strategy, looks_ahead, release) in runs {
        let config = RouterConfig { strategy, ..RouterConfig::default() };
        let mut run = LookAheadRun::default();
        let mut resolve = looking
            .as_ref()
            .filter(|_| looks_ahead)
            .map(|(settings, _, policy)| resolver(scenario, settings, policy, &mut run));
        let extras = ReplayExtras {
            pricing: Some(pricing),
            before_order: resolve.as_mut().map(|f| f as &mut BeforeOrder<'_>),
            release,
        };
        let replay = replay_with_progress(scenario, policy, &config, &HashSet::new(), extras, &mut |done| {
            progress(&label, done, total);
        });
        if resolve.is_some() {
            drop(resolve);
            // The look-ahead column's own re-solves (a column with both re-solves alike).
            look_ahead_run
                .get_or_insert(LookAheadRun { pass_weight: pass_looking.as_ref().map(Reweighted::weight), ..run });
        }
        let mut priced = Priced::default();
        for (order, price) in scenario.orders.iter().zip(&replay.prices) {
            match price {
                Ok(price) => {
                    priced.order_costs.push(price.cost.total());
                    if let Some(reason) = price.broken.first() {
                        priced.broken += 1;
                        priced.first_broken.get_or_insert_with(|| (order.id.clone(), reason.clone()));
                    }
                }
                Err(_) => {
                    priced.order_costs.push(0.0);
                    priced.failed += 1;
                }
            }
        }
        priced.total_cost = priced.order_costs.iter().sum();
        let stats = replay.stats();
        let summary = RunSummary::of(&scenario.catalog, &scenario.orders, &replay.plans);
        columns.push(Column {
            label,
            greedy,
            clairvoyant: release.is_some_and(|windows| windows.full_at_end),
            summary,
            plans: replay.plans,
            failed: stats.failed,
            p50: stats.p50,
            p99: stats.p99,
            routing_time: replay.latencies.iter().sum(),
            priced,
            pool: release.is_some().then_some(replay.pool),
        });
    }
    let locations: Vec<String> = scenario.catalog.locations().iter().map(|l| l.id.clone()).collect();
    let capacities = scenario.catalog.locations().iter().map(|l| l.capacity_shipments_per_day).collect();
    let days = scenario.orders.iter().map(|o| o.placed_at.utc_day()).collect::<HashSet<_>>().len().max(1);
    let mut differences = Vec::new();
    for (index, order) in scenario.orders.iter().enumerate() {
        let first = &columns[0].plans[index];
        if columns[1..].iter().any(|c| plans_differ(first, &c.plans[index])) {
            differences.push(OrderDifference {
                order_id: order.id.clone(),
                costs: columns.iter().map(|c| c.plans[index].cost.total()).collect(),
                locations: columns
                    .iter()
                    .map(|c| {
                        let ids: Vec<&str> =
                            c.plans[index].shipments.iter().map(|s| locations[s.location.index()].as_str()).collect();
                        if ids.is_empty() { "-".to_owned() } else { ids.join(",") }
                    })
                    .collect(),
            });
        }
    }
    let mut bounds = Vec::new();
    let bound = stream.bound.map(|rounds| {
        let started = Instant::now();
        bounds = clairvoyant_bounds(scenario, pricing, &columns, rounds).map_err(|e| e.to_string())?;
        let best = bounds.iter().max_by(|a, b| a.cost.total_cmp(&b.cost)).cloned();
        best.map(|bound| (bound, started.elapsed())).ok_or_else(|| "no bound was computed".to_owned())
    });
    Ok(Simulation {
        scenario: scenario.name.clone(),
        days,
        locations,
        capacities,
        columns,
        differences,
        priced_by,
        look_ahead: look_ahead_run,
        bound,
        bounds,
    })
}

/// Streams of at most this many orders also get the LP relaxation's bound (on us-50-small's
/// 2,000 orders it takes seconds; on us-200-medium's 20,000 it did not finish in 50 minutes).
const LP_BOUND_MAX_ORDERS: usize = 5_000;

// The clairvoyant bounds under `pricing`: the Lagrangian bound, and on small streams the LP
// relaxation too (both are bounds: the higher is the one to use). The Lagrangian search steps
// towards the first column's cost (per-order routing under the first policy), so the bound
// does not depend on which other columns are asked for; when some of that column's plans
// failed or break the price list's rules, towards the cheapest column without such plans.
fn clairvoyant_bounds(
    scenario: &Scenario,
    pricing: &dyn Policy,
    columns: &[Column],
    rounds: usize,
) -> Result<Vec<StreamBound>, BoundError> {
    let inventory = scenario.fresh_inventory();
    let clean = |c: &&Column| c.priced.failed == 0 && c.priced.broken == 0;
    let upper = match columns.first().filter(clean) {
        Some(first) => first.priced.total_cost,
        None => columns.iter().filter(clean).map(|c| c.priced.total_cost).fold(f64::INFINITY, f64::min),
    };
    let upper = if upper.is_finite() { upper } else { columns.first().map_or(0.0, |c| c.priced.total_cost) };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let settings = LagrangianSettings { iterations: rounds, upper, threads, warm_start: true };
    let lagrangian = lagrangian_bound(&scenario.catalog, &inventory, pricing, &scenario.orders, settings)?;
    if scenario.orders.len() > LP_BOUND_MAX_ORDERS {
        return Ok(vec![lagrangian]);
    }
    let lp = stream_bound(&scenario.catalog, &inventory, pricing, &scenario.orders)?;
    Ok(vec![lagrangian, lp])
}

// The look-ahead column's hook: before an order, re-solve the opportunity costs when they are
// due, from the stock then and the demand of the window before it (or of the horizon after it,
// for the oracle).
fn resolver<'a>(
    scenario: &'a Scenario,
    settings: &'a LookAhead,
    policy: &'a LookAheadPolicy<'a>,
    run: &'a mut LookAheadRun,
) -> impl FnMut(usize, &Inventory) + 'a {
    let regions = Regions::around_centres(&scenario.catalog);
    let start = scenario.orders.first().map_or(0, |o| o.placed_at.0);
    let mut next_solve = i64::MIN;
    move |index: usize, inventory: &Inventory| {
        let now = scenario.orders[index].placed_at;
        if now.0 < next_solve {
            return;
        }
        let demand = if settings.oracle {
            let to_come = scenario.orders[index..].iter().take_while(|o| o.placed_at.0 < now.0 + settings.horizon);
            Demand::of_orders(to_come, &regions, 1.0)
        } else {
            let from = now.0 - settings.window;
            // Too little history yet for a rate: wait for a re-solve interval of it.
            let covered = now.0 - from.max(start);
            if covered < settings.every.max(1) {
                return;
            }
            let seen = scenario.orders[..index].iter().rev().take_while(|o| o.placed_at.0 >= from);
            // The rate of the window, over the horizon; until a whole window (or horizon, if
            // shorter) of history is in, counted as if it were (an order in the first hour is
            // not 24 a day).
            let scale = settings.horizon as f64 / covered.max(settings.window.min(settings.horizon)) as f64;
            Demand::of_orders_by_region_share(seen, &regions, scale)
        };
        next_solve = now.0 + settings.every;
        let started = Instant::now();
        let inner = policy.inner();
        match opportunity_costs(&scenario.catalog, inventory, inner, &regions, &demand, now) {
            Ok((costs, report)) => {
                run.lps += report.solved;
                run.failed += report.failed;
                run.most_priced = run.most_priced.max(costs.len());
                policy.set_costs(costs);
            }
            Err(_) => run.failed += 1,
        }
        run.solve_time += started.elapsed();
        run.solves += 1;
    }
}

/// Shipments beyond one per order that shipped (an order in three parcels has two).
pub fn extra_shipments(summary: &RunSummary) -> usize {
    summary.shipment_histogram.iter().enumerate().map(|(parcels, orders)| parcels.saturating_sub(1) * orders).sum()
}

impl Column {
    /// Orders the policy rejected (its plans of failed orders are rejections too, counted
    /// apart in `failed`).
    pub fn rejected(&self) -> usize {
        self.summary.rejected - self.failed
    }

    /// Mean cost of an order under the simulation's price list.
    pub fn priced_cost_per_order(&self) -> f64 {
        if self.priced.order_costs.is_empty() {
            0.0
        } else {
            self.priced.total_cost / self.priced.order_costs.len() as f64
        }
    }

    /// Whether the policy's own figure differs from the priced one (by a cent or more).
    pub fn own_cost_differs(&self) -> bool {
        (self.summary.total_cost - self.priced.total_cost).abs() >= 0.005
    }

    /// The policy's own total, or `=` where it is the priced one.
    pub fn own_cost_text(&self) -> String {
        if self.own_cost_differs() { format!("{:.2}", self.summary.total_cost) } else { "=".to_owned() }
    }
}

impl Simulation {
    /// Share of a location's capacity over the scenario's days a column used, 0..=1; `None`
    /// when the location has no capacity limit.
    pub fn utilisation(&self, column: &Column, location: usize) -> Option<f64> {
        let capacity = self.capacities.get(location).copied().flatten()?;
        let shipments = column.summary.location_shipments.get(location).copied().unwrap_or(0);
        Some(if capacity == 0 { 1.0 } else { shipments as f64 / (f64::from(capacity) * self.days as f64) })
    }

    /// Orders where `column` plans differently from the first column.
    pub fn differing_from_first(&self, column: usize) -> usize {
        if column == 0 {
            return 0;
        }
        let first = &self.columns[0].plans;
        self.columns[column].plans.iter().zip(first).filter(|(a, b)| plans_differ(a, b)).count()
    }

    /// The greedy column, if any.
    pub fn greedy(&self) -> Option<&Column> {
        self.columns.iter().find(|c| c.greedy)
    }

    /// Locations ordered by shipments in the first column, busiest first (ties by id).
    pub fn busiest_locations(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.locations.len()).collect();
        let shipments =
            |i: usize| self.columns.first().map_or(0, |c| c.summary.location_shipments.get(i).copied().unwrap_or(0));
        order.sort_by(|&a, &b| shipments(b).cmp(&shipments(a)).then_with(|| self.locations[a].cmp(&self.locations[b])));
        order
    }

    /// How far `column`'s cost lies above the clairvoyant bound, as a share of the bound
    /// (`None` without a bound above 0).
    pub fn above_bound(&self, column: &Column) -> Option<f64> {
        let bound = self.bound.as_ref()?.as_ref().ok()?.0.cost;
        (bound > 0.0).then(|| (column.priced.total_cost - bound) / bound)
    }

    /// The share of the first column's gap to the clairvoyant bound that `column` closes
    /// (`None` without a bound, or with the first column at it).
    pub fn gap_closed(&self, column: &Column) -> Option<f64> {
        let bound = self.bound.as_ref()?.as_ref().ok()?.0.cost;
        let first = self.columns.first()?.priced.total_cost;
        (first - bound >= 0.005).then(|| (first - column.priced.total_cost) / (first - bound))
    }

    /// The side-by-side table, as text.
    pub fn table(&self, top_locations: usize) -> String {
        let mut rows: Vec<(String, Vec<String>)> = Vec::new();
        let row = |name: &str, f: &dyn Fn(&Column) -> String| -> (String, Vec<String>) {
            (name.to_owned(), self.columns.iter().map(f).collect())
        };
        let greedy_cost = self.greedy().map(|g| g.priced.total_cost);
        rows.push(row("orders", &|c| c.summary.orders.to_string()));
        rows.push(row("rejected orders", &|c| c.rejected().to_string()));
        rows.push(row("orders the policy failed on", &|c| c.failed.to_string()));
        rows.push(row(&format!("total cost (priced by {})", self.priced_by), &|c| {
            format!("{:.2}", c.priced.total_cost)
        }));
        rows.push(row("cost per order", &|c| format!("{:.2}", c.priced_cost_per_order())));
        rows.push(row("vs greedy", &|c| match greedy_cost {
            Some(g) if g > 0.0 && !c.greedy => format!("{:+.2}%", (c.priced.total_cost - g) / g * 100.0),
            _ => "-".to_owned(),
        }));
        rows.push(row("the policy's own total cost", &|c| c.own_cost_text()));
        if let Some(Ok(_)) = &self.bound {
            rows.push(row("above the clairvoyant bound", &|c| {
                self.above_bound(c).map_or("-".to_owned(), |above| format!("{:+.2}%", above * 100.0))
            }));
            rows.push(row("gap to the bound closed", &|c| {
                self.gap_closed(c).map_or("-".to_owned(), |closed| format!("{:.1}%", closed * 100.0))
            }));
        }
        rows.push(row(&format!("plans {}'s rules forbid", self.priced_by), &|c| c.priced.broken.to_string()));
        rows.push(row("shipments per order", &|c| format!("{:.3}", c.summary.shipments_per_order())));
        rows.push(row("extra shipments", &|c| extra_shipments(&c.summary).to_string()));
        rows.push(row("split rate", &|c| format!("{:.1}%", c.summary.split_rate() * 100.0)));
        rows.push(row("unfilled units", &|c| c.summary.unfilled_units.to_string()));
        rows.push(row("backordered units", &|_| "n/a".to_owned()));
        rows.push(row("proved optimal", &|c| format!("{:.1}%", c.summary.optimal_share() * 100.0)));
        rows.push(row("distance (km)", &|c| format!("{:.0}", c.summary.distance_km)));
        rows.push(row("routing p50 / p99 (µs)", &|c| {
            format!("{:.1} / {:.1}", c.p50.as_secs_f64() * 1e6, c.p99.as_secs_f64() * 1e6)
        }));
        rows.push(row("routing time (ms)", &|c| format!("{:.1}", c.routing_time.as_secs_f64() * 1e3)));
        let differing: Vec<String> = (0..self.columns.len())
            .map(|i| if i == 0 { "-".to_owned() } else { self.differing_from_first(i).to_string() })
            .collect();
        rows.push((format!("orders planned unlike {}", self.columns[0].label), differing));
        rows.push(("shipments by location (utilisation)".to_owned(), vec![String::new(); self.columns.len()]));
        for location in self.busiest_locations().into_iter().take(top_locations) {
            rows.push((
                format!("  {}", self.locations[location]),
                self.columns
                    .iter()
                    .map(|c| {
                        let shipments = c.summary.location_shipments.get(location).copied().unwrap_or(0);
                        match self.utilisation(c, location) {
                            Some(u) => format!("{shipments} ({:.0}%)", u * 100.0),
                            None => shipments.to_string(),
                        }
                    })
                    .collect(),
            ));
        }
        let name_width = rows.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                rows.iter()
                    .map(|(_, v)| v[i].chars().count())
                    .chain([self.columns[i].label.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let _ = write!(out, "{:name_width$}", "");
        for (column, width) in self.columns.iter().zip(&widths) {
            let _ = write!(out, "  {:>width$}", column.label);
        }
        out.push('\n');
        for (name, values) in rows {
            let _ = write!(out, "{name:name_width$}");
            for (value, width) in values.iter().zip(&widths) {
                let _ = write!(out, "  {value:>width$}");
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "(costs: every column's plans priced by {}'s cost model, so totals compare like with like; `=`: the \
             policy's own figure is the same)",
            self.priced_by
        );
        for note in self.notes() {
            let _ = writeln!(out, "({note})");
        }
        out.push_str("(backordered units: the scenarios carry no inbound stock yet, so nothing is backordered)\n");
        out
    }

    /// What the stream's figures rest on, a sentence each: the bound and the clairvoyant plan,
    /// the look-ahead's re-solves, each re-optimised column's passes (the table and the report
    /// print them under the figures).
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        match &self.bound {
            Some(Ok((bound, took))) => {
                notes.push(format!(
                    "clairvoyant bound: {:.2}: no routing of every order together, all known in advance, costs \
                     less, priced by {}; by {}; {:.1} s; `gap closed` is against the first column",
                    bound.cost,
                    self.priced_by,
                    bound.method,
                    took.as_secs_f64()
                ));
                for other in self.bounds.iter().filter(|other| *other != bound) {
                    notes.push(format!("also computed, lower: {:.2}, by {}", other.cost, other.method));
                }
                if let Some(plan) = self.columns.iter().find(|c| c.clairvoyant) {
                    notes.push(format!(
                        "{}: every order routed as it came, held, and the whole stream re-planned together after \
                         the last one, knowing every order; the clairvoyant optimum costs between the bound and \
                         its {:.2}",
                        plan.label, plan.priced.total_cost
                    ));
                }
            }
            Some(Err(error)) => notes.push(format!("no clairvoyant bound: {error}")),
            None => {}
        }
        if let Some(run) = &self.look_ahead {
            notes.push(format!(
                "look-ahead: {} re-solves, {} SKU LPs ({} failed), {:.1} ms solving in all; at most {} (SKU, \
                 location) pairs priced at once{}",
                run.solves,
                run.lps,
                run.failed,
                run.solve_time.as_secs_f64() * 1e3,
                run.most_priced,
                run.pass_weight.map_or(String::new(), |weight| format!(
                    "; re-optimisation passes price it at weight {weight:.3}, the share of its horizon beyond the \
                     release window"
                ))
            ));
        }
        for column in &self.columns {
            if let Some(pool) = &column.pool {
                notes.push(format!(
                    "{}: {} passes, pools of up to {} orders, {} moves kept, {} orders re-planned, {} of {} \
                     re-plans under prices kept, {:.2} saved under its own policy; {:.1} ms in passes, the \
                     longest {:.1} ms{}",
                    column.label,
                    pool.passes,
                    pool.largest_pool,
                    pool.moves,
                    pool.orders_changed,
                    pool.replans_kept,
                    pool.replans_tried,
                    pool.saved,
                    pool.time.as_secs_f64() * 1e3,
                    pool.longest.as_secs_f64() * 1e3,
                    if pool.failed > 0 { format!("; {} passes FAILED", pool.failed) } else { String::new() }
                ));
            }
        }
        notes
    }
}
