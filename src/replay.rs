//! Replaying a scenario: route its orders in file order, reserving as it goes, and measure.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::time::{Duration, Instant};

use switchyard_engine::reoptimize::FULL_PASS_EVERY_SECS;
use switchyard_engine::{
    CostBreakdown, Explanation, Inventory, Order, Plan, PlanPrice, PlanStatus, Policy, PoolOrder, ReoptimizeSettings,
    Reservation, Router, RouterConfig, RoutingError, Unfilled, Workspace, reoptimize_pool,
};

use crate::scenario::Scenario;

/// The outcome of one replay.
pub struct Replay {
    /// One plan per order, in file order. An order the policy failed on (see `failures`) has
    /// a rejected plan that ships nothing and says why.
    pub plans: Vec<Plan>,
    /// Orders the policy failed on (an error, not a decision): their index in the file and
    /// the error. The replay goes on past them; nothing is reserved for them.
    pub failures: Vec<(usize, RoutingError)>,
    /// Explanations of the orders asked for, in file order.
    pub explanations: Vec<Explanation>,
    /// Inventory after the replay.
    pub inventory: Inventory,
    /// Routing and reserving time per order, in file order.
    pub latencies: Vec<Duration>,
    /// Wall time of the whole replay.
    pub elapsed: Duration,
    /// Each plan priced under the pricing policy, when one was given (else empty): `Err` where
    /// that policy failed on the order.
    pub prices: Vec<Result<PlanPrice, RoutingError>>,
    /// What re-optimisation did, when release windows were given.
    pub pool: PoolRun,
}

/// Figures a replay is judged by.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayStats {
    /// Orders in the scenario.
    pub orders: usize,
    /// Orders rejected by the policy.
    pub rejected: usize,
    /// Orders the policy failed on (counted apart from `rejected`).
    pub failed: usize,
    /// Sum of plan costs.
    pub total_cost: f64,
    /// Share of plans proved optimal, 0..=1.
    pub proved_optimal: f64,
    /// Shipments over all plans.
    pub shipments: usize,
    /// Units left unfilled over all plans.
    pub unfilled_units: u64,
    /// Mean search nodes per order (sets of locations the optimizer evaluated).
    pub mean_nodes: f64,
    /// Orders per second of wall time.
    pub orders_per_second: f64,
    /// Median routing time per order.
    pub p50: Duration,
    /// 99th percentile routing time per order.
    pub p99: Duration,
}

/// Routes every order of `scenario` under `policy`, on a fresh copy of its inventory.
/// Orders whose ids are in `explain` also get an explanation.
pub fn replay(scenario: &Scenario, policy: &dyn Policy, config: &RouterConfig, explain: &HashSet<String>) -> Replay {
    replay_with_progress(scenario, policy, config, explain, ReplayExtras::default(), &mut |_| {})
}

/// Work a replay does beside routing, none of it counted in the routing times.
#[derive(Default)]
pub struct ReplayExtras<'a> {
    /// Price every plan under this policy too ([`Router::price`], between planning and
    /// reserving, on the stock the plan saw).
    pub pricing: Option<&'a dyn Policy>,
    /// Called before each order is routed, with its index in the file and the stock then (to
    /// re-solve look-ahead prices on a schedule, say).
    pub before_order: Option<&'a mut BeforeOrder<'a>>,
    /// Hold each order unreleased for a while and re-optimise the unreleased pool on the
    /// scenario's clock ([`switchyard_engine::reoptimize`]); the plans kept are the final ones.
    pub release: Option<&'a ReleaseWindows<'a>>,
}

/// Release windows in a replay: an order may be re-planned until `release_after` seconds
/// after it was placed; every `every` seconds of the scenario's time the unreleased orders are
/// re-optimised together under `policy`, and once more after the last order.
pub struct ReleaseWindows<'a> {
    /// The policy the pool is priced and re-routed under.
    pub policy: &'a dyn Policy,
    /// Seconds an order stays unreleased.
    pub release_after: i64,
    /// Seconds between passes.
    pub every: i64,
    /// Limits of each pass; its `replan_rounds` only on the full passes (one an hour of the
    /// scenario's time, as the service's), the others re-plan nothing.
    pub settings: ReoptimizeSettings,
    /// The pass after the last order is a full one, whenever the last full pass was.
    pub full_at_end: bool,
}

// An order held this long is never released within a scenario (and adding a scenario's time
// to it cannot overflow).
const NEVER: i64 = i64::MAX / 4;

impl<'a> ReleaseWindows<'a> {
    /// The clairvoyant plan: every order is routed on its own as it comes, held to the end of
    /// the stream, and then the whole stream is re-planned together under `policy` in one full
    /// pass with `replan_rounds` rounds of the price search. It is a plan made with every order
    /// known in advance, found by a heuristic: it costs at least the clairvoyant optimum, and
    /// with a clairvoyant bound below it, brackets it.
    pub fn clairvoyant(policy: &'a dyn Policy, replan_rounds: usize) -> ReleaseWindows<'a> {
        ReleaseWindows {
            policy,
            release_after: NEVER,
            every: NEVER,
            settings: ReoptimizeSettings { replan_rounds, ..ReoptimizeSettings::default() },
            full_at_end: true,
        }
    }
}

/// What the re-optimisation passes of a replay did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolRun {
    /// Passes run.
    pub passes: usize,
    /// Largest pool of one pass.
    pub largest_pool: usize,
    /// Moves kept over all passes.
    pub moves: usize,
    /// Orders whose plan a pass changed (each counted once).
    pub orders_changed: usize,
    /// Cost saved over all passes, under the pool's policy.
    pub saved: f64,
    /// Time spent in passes, in total.
    pub time: Duration,
    /// The longest pass.
    pub longest: Duration,
    /// Passes the inventory refused (a defect: the pool was given up).
    pub failed: usize,
    /// Full passes that tried a re-plan of the whole pool under prices.
    pub replans_tried: usize,
    /// Of those, the ones whose re-plan was kept (it cost less, with no more units unfilled).
    pub replans_kept: usize,
}

/// A hook run before each order of a replay: its index in the file, and the stock then.
pub type BeforeOrder<'a> = dyn FnMut(usize, &Inventory) + 'a;

/// [`replay`], calling `progress` with the number of orders routed after each one, and doing
/// the `extras`.
pub fn replay_with_progress(
    scenario: &Scenario,
    policy: &dyn Policy,
    config: &RouterConfig,
    explain: &HashSet<String>,
    extras: ReplayExtras<'_>,
    progress: &mut dyn FnMut(usize),
) -> Replay {
    let ReplayExtras { pricing, mut before_order, release } = extras;
    let inventory = scenario.fresh_inventory();
    let router = Router { catalog: &scenario.catalog, inventory: &inventory, policy, config };
    let pricer = pricing.map(|pricing| Router { policy: pricing, ..router });
    let pricing_workspace = RefCell::new(Workspace::default());
    let mut prices = Vec::new();
    let mut workspace = Workspace::default();
    let mut plans = Vec::with_capacity(scenario.orders.len());
    let mut latencies = Vec::with_capacity(scenario.orders.len());
    let mut explanations = Vec::new();
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut pool = Pool {
        held: Vec::new(),
        next_pass: i64::MIN,
        next_full: i64::MIN,
        run: PoolRun::default(),
        changed: HashSet::new(),
        settled: HashSet::new(),
    };
    for (index, order) in scenario.orders.iter().enumerate() {
        if let Some(release) = release
            && order.placed_at.0 >= pool.next_pass
        {
            pool.pass(scenario, &inventory, config, release, order.placed_at.0, &mut plans);
            pool.next_pass = order.placed_at.0 + release.every.max(1);
        }
        if let Some(before_order) = before_order.as_mut() {
            before_order(index, &inventory);
        }
        if explain.contains(&order.id) {
            // An order the policy fails on has no explanation; the failure says why.
            if let Ok((_, explanation)) = router.explain(order, &mut workspace) {
                explanations.push(explanation);
            }
        }
        let order_started = Instant::now();
        let pricing_time = Cell::new(Duration::ZERO);
        let routed = match &pricer {
            None => router.route_and_reserve(order, &mut workspace).map(|routed| (routed, None)),
            Some(pricer) => router.route_and_reserve_with(order, &mut workspace, |order, _, plan| {
                let started = Instant::now();
                let price = pricer.price(order, plan, &mut pricing_workspace.borrow_mut());
                pricing_time.set(pricing_time.get() + started.elapsed());
                Ok(Some(price))
            }),
        };
        latencies.push(order_started.elapsed().saturating_sub(pricing_time.get()));
        match routed {
            Ok((routed, price)) => {
                prices.extend(price);
                plans.push(routed.plan);
                if release.is_some()
                    && let Some(reservation) = routed.reservation
                {
                    pool.held.push((index, reservation));
                }
            }
            Err(error) => {
                let plan = failed_plan(order, policy, &error);
                if let Some(pricer) = &pricer {
                    prices.push(pricer.price(order, &plan, &mut pricing_workspace.borrow_mut()));
                }
                plans.push(plan);
                failures.push((plans.len() - 1, error));
            }
        }
        progress(plans.len());
    }
    if let Some(release) = release {
        // The orders still unreleased after the last one: one more pass before they go.
        let end = scenario.orders.last().map_or(0, |o| o.placed_at.0);
        if release.full_at_end {
            pool.next_full = i64::MIN;
        }
        pool.pass(scenario, &inventory, config, release, end, &mut plans);
        if let Some(pricer) = &pricer {
            for &index in &pool.changed {
                prices[index] =
                    pricer.price(&scenario.orders[index], &plans[index], &mut pricing_workspace.borrow_mut());
            }
        }
    }
    let elapsed = started.elapsed();
    Replay { plans, failures, explanations, inventory, latencies, elapsed, prices, pool: pool.run }
}

// The unreleased orders of a replay with release windows.
struct Pool {
    // Orders not yet released (index in the file) and what they hold.
    held: Vec<(usize, Reservation)>,
    next_pass: i64,
    // When the next full pass is due, in scenario time ([`FULL_PASS_EVERY_SECS`]).
    next_full: i64,
    run: PoolRun,
    // Orders some pass changed.
    changed: HashSet<usize>,
    // Orders the last pass settled (nothing to gain; tried again when a partner changes).
    settled: HashSet<usize>,
}

impl Pool {
    // Releases the orders whose window closed by `now`, and re-optimises the rest together.
    fn pass(
        &mut self,
        scenario: &Scenario,
        inventory: &Inventory,
        config: &RouterConfig,
        release: &ReleaseWindows<'_>,
        now: i64,
        plans: &mut [Plan],
    ) {
        let orders = &scenario.orders;
        self.held.retain(|(index, _)| orders[*index].placed_at.0 + release.release_after > now);
        if self.held.is_empty() {
            return;
        }
        let started = Instant::now();
        let mut settings = release.settings.clone();
        if now >= self.next_full {
            self.settled.clear();
            self.next_full = now + FULL_PASS_EVERY_SECS;
        } else {
            settings.replan_rounds = 0;
        }
        let mut entries: Vec<PoolOrder<'_>> = self
            .held
            .iter()
            .map(|(index, reservation)| PoolOrder {
                order: &orders[*index],
                policy: release.policy,
                plan: plans[*index].clone(),
                reservation: reservation.clone(),
                admits: None,
                settled: self.settled.contains(index),
            })
            .collect();
        // The replay's inventory holds exactly these reservations and nothing else routes
        // while the pass runs, so the inventory cannot refuse; if it did, the pool is given up
        // (its orders keep the plans they have) and the failure counted.
        let outcome = match reoptimize_pool(&scenario.catalog, inventory, config, &mut entries, &settings) {
            Ok(outcome) => outcome,
            Err(_) => {
                self.run.failed += 1;
                self.held.clear();
                return;
            }
        };
        if settings.replan_rounds > 0 {
            self.run.replans_tried += 1;
            self.run.replans_kept += usize::from(outcome.replanned);
        }
        self.settled = self.held.iter().map(|(index, _)| *index).collect();
        for &pending in &outcome.pending {
            self.settled.remove(&self.held[pending].0);
        }
        for change in &outcome.changed {
            let (index, held) = &mut self.held[change.index];
            let entry = &entries[change.index];
            plans[*index] = entry.plan.clone();
            *held = entry.reservation.clone();
            self.changed.insert(*index);
        }
        let elapsed = started.elapsed();
        self.run.passes += 1;
        self.run.largest_pool = self.run.largest_pool.max(entries.len());
        self.run.moves += outcome.kept;
        self.run.orders_changed = self.changed.len();
        self.run.saved += outcome.cost_before - outcome.cost_after;
        self.run.time += elapsed;
        self.run.longest = self.run.longest.max(elapsed);
    }
}

// The plan of an order the policy failed on: nothing shipped, every unit unfilled, the
// error as the reason.
fn failed_plan(order: &Order, policy: &dyn Policy, error: &RoutingError) -> Plan {
    Plan {
        order_id: order.id.clone(),
        status: PlanStatus::Rejected { reason: format!("the policy failed: {error}") },
        shipments: Vec::new(),
        unfilled: order.lines.iter().enumerate().map(|(line, l)| Unfilled { line, qty: l.qty }).collect(),
        cost: CostBreakdown::default(),
        optimal: false,
        policy: policy.info(),
        nodes: 0,
        backorder_within: None,
    }
}

impl Replay {
    /// The replay's figures.
    pub fn stats(&self) -> ReplayStats {
        let orders = self.plans.len();
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let quantile = |q: f64| -> Duration {
            if sorted.is_empty() {
                return Duration::ZERO;
            }
            let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1]
        };
        let seconds = self.elapsed.as_secs_f64();
        ReplayStats {
            orders,
            rejected: self.plans.iter().filter(|p| matches!(p.status, PlanStatus::Rejected { .. })).count()
                - self.failures.len(),
            failed: self.failures.len(),
            total_cost: self.plans.iter().map(|p| p.cost.total()).sum(),
            proved_optimal: if orders == 0 {
                1.0
            } else {
                self.plans.iter().filter(|p| p.optimal).count() as f64 / orders as f64
            },
            shipments: self.plans.iter().map(|p| p.shipments.len()).sum(),
            unfilled_units: self.plans.iter().map(Plan::unfilled_units).sum(),
            mean_nodes: if orders == 0 {
                0.0
            } else {
                self.plans.iter().map(|p| p.nodes as f64).sum::<f64>() / orders as f64
            },
            orders_per_second: if seconds > 0.0 { orders as f64 / seconds } else { 0.0 },
            p50: quantile(0.50),
            p99: quantile(0.99),
        }
    }
}
