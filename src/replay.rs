//! Replaying a scenario: route its orders in file order, reserving as it goes, and measure.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::time::{Duration, Instant};

use switchyard_engine::{
    CostBreakdown, Explanation, Inventory, Order, Plan, PlanPrice, PlanStatus, Policy, Router, RouterConfig,
    RoutingError, Unfilled, Workspace,
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
    let ReplayExtras { pricing, mut before_order } = extras;
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
    for (index, order) in scenario.orders.iter().enumerate() {
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
    let elapsed = started.elapsed();
    Replay { plans, failures, explanations, inventory, latencies, elapsed, prices }
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
