//! A re-optimisation pass over the unreleased pool (docs/OPTIMIZER.md, "The stream"): the
//! 200-location sample network, its first 6,000 orders routed one at a time (stock gets
//! scarce), the last 2,000 of them the pool, re-optimised together under the scenario's
//! policy with no time limit.
//!
//! `cargo bench --bench reoptimize` prints what a full pass does and how long it takes (the
//! figures in docs/BENCHMARKS.md; the target is under a second on one core), the same with
//! the re-plan under prices the service's hourly full pass makes first (`REPLAN_ROUNDS`
//! rounds), and a periodic pass in steady state (the pool settled by a full pass, 70 new
//! orders), then runs criterion on all three. us-200-medium is read from `../shared/scenarios/` (or
//! `SWITCHYARD_SCENARIOS`).

#![allow(clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use support::load;
use switchyard::scenario::Scenario;
use switchyard_engine::{
    Inventory, Plan, PoolOrder, PoolOutcome, ReoptimizeSettings, Reservation, Router, RouterConfig, Workspace,
    reoptimize::REPLAN_ROUNDS, reoptimize_pool,
};

const ROUTED: usize = 6_000;
const POOL: usize = 2_000;
// Orders that arrive between two periodic passes (us-200-medium takes about 70 in 5 minutes).
const NEW: usize = 70;

// The stock after the first orders, and the pool's plans and what they hold.
fn routed(scenario: &Scenario) -> (Inventory, Vec<(usize, Plan, Reservation)>) {
    let inventory = scenario.fresh_inventory();
    let config = RouterConfig::default();
    let router =
        Router { catalog: &scenario.catalog, inventory: &inventory, policy: &scenario.policy, config: &config };
    let mut workspace = Workspace::default();
    let mut pool = Vec::with_capacity(POOL);
    for (index, order) in scenario.orders.iter().enumerate().take(ROUTED) {
        let routed = router.route_and_reserve(order, &mut workspace).expect("the reference policy routes");
        if index >= ROUTED - POOL
            && let Some(reservation) = routed.reservation
        {
            pool.push((index, routed.plan, reservation));
        }
    }
    (inventory, pool)
}

// One pass over `pool` (`settled[k]`: the k-th order's moves were tried by an earlier pass;
// `replan_rounds`: the re-plan's, 0 for none); the pool as the pass leaves it.
fn pass(
    scenario: &Scenario,
    inventory: &Inventory,
    pool: Vec<(usize, Plan, Reservation)>,
    settled: &[bool],
    replan_rounds: usize,
) -> (PoolOutcome, Vec<(usize, Plan, Reservation)>) {
    let indexes: Vec<usize> = pool.iter().map(|(index, ..)| *index).collect();
    let mut entries: Vec<PoolOrder<'_>> = pool
        .into_iter()
        .enumerate()
        .map(|(k, (index, plan, reservation))| PoolOrder {
            order: &scenario.orders[index],
            policy: &scenario.policy,
            plan,
            reservation,
            admits: None,
            settled: settled.get(k).copied().unwrap_or(false),
        })
        .collect();
    let outcome = reoptimize_pool(
        &scenario.catalog,
        inventory,
        &RouterConfig::default(),
        &mut entries,
        &ReoptimizeSettings { replan_rounds, ..ReoptimizeSettings::default() },
    )
    .expect("the inventory holds the pool");
    let after = indexes.into_iter().zip(entries).map(|(index, e)| (index, e.plan, e.reservation)).collect();
    (outcome, after)
}

// A pool after a full pass settled it, with the next `NEW` orders routed and added unsettled:
// what a periodic pass finds in steady state.
fn steady(scenario: &Scenario) -> (Inventory, Vec<(usize, Plan, Reservation)>, Vec<bool>) {
    let (inventory, pool) = routed(scenario);
    let (outcome, mut pool) = pass(scenario, &inventory, pool, &[], 0);
    let mut settled = vec![true; pool.len()];
    for pending in outcome.pending {
        settled[pending] = false;
    }
    let config = RouterConfig::default();
    let router =
        Router { catalog: &scenario.catalog, inventory: &inventory, policy: &scenario.policy, config: &config };
    let mut workspace = Workspace::default();
    for index in ROUTED..ROUTED + NEW {
        let routed = router.route_and_reserve(&scenario.orders[index], &mut workspace).expect("it routes");
        if let Some(reservation) = routed.reservation {
            pool.push((index, routed.plan, reservation));
            settled.push(false);
        }
    }
    (inventory, pool, settled)
}

fn report(what: &str, size: usize, outcome: &PoolOutcome, took: Duration) {
    println!(
        "reoptimize/us-200-medium {what}: pool of {size} orders, {} moves tried, {} kept, {} orders changed, \
         cost {:.2} -> {:.2} ({:.3}%){}, {:.1} ms",
        outcome.tried,
        outcome.kept,
        outcome.changed.len(),
        outcome.cost_before,
        outcome.cost_after,
        (outcome.cost_after - outcome.cost_before) / outcome.cost_before * 100.0,
        if outcome.replanned { ", re-plan kept" } else { "" },
        took.as_secs_f64() * 1e3
    );
}

fn reoptimize(c: &mut Criterion) {
    let Some(scenario) = load("us-200-medium") else {
        println!("us-200-medium: scenario not found, skipped");
        return;
    };
    let (mut full, mut replanned, mut periodic): (Vec<Duration>, Vec<Duration>, Vec<Duration>) =
        (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        let (inventory, pool) = routed(&scenario);
        let size = pool.len();
        let started = Instant::now();
        let (outcome, _) = pass(&scenario, &inventory, pool, &[], 0);
        let took = started.elapsed();
        full.push(took);
        report("full pass", size, &outcome, took);

        let (inventory, pool) = routed(&scenario);
        let started = Instant::now();
        let (outcome, _) = pass(&scenario, &inventory, pool, &[], REPLAN_ROUNDS);
        let took = started.elapsed();
        replanned.push(took);
        report(&format!("full pass with a re-plan of {REPLAN_ROUNDS} rounds"), size, &outcome, took);

        let (inventory, pool, settled) = steady(&scenario);
        let size = pool.len();
        let started = Instant::now();
        let (outcome, _) = pass(&scenario, &inventory, pool, &settled, 0);
        let took = started.elapsed();
        periodic.push(took);
        report(&format!("periodic pass ({NEW} new orders)"), size, &outcome, took);
    }
    for times in [&mut full, &mut replanned, &mut periodic] {
        times.sort_unstable();
    }
    println!(
        "reoptimize/us-200-medium: median full pass {:.1} ms, with a re-plan {:.1} ms, periodic pass {:.1} ms",
        full[full.len() / 2].as_secs_f64() * 1e3,
        replanned[replanned.len() / 2].as_secs_f64() * 1e3,
        periodic[periodic.len() / 2].as_secs_f64() * 1e3
    );

    let mut group = c.benchmark_group("reoptimize/us-200-medium");
    group.sample_size(10);
    group.bench_function("full-pass-of-2000", |b| {
        b.iter_batched(
            || routed(&scenario),
            |(inventory, pool)| pass(&scenario, &inventory, pool, &[], 0),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("full-pass-with-replan-of-2000", |b| {
        b.iter_batched(
            || routed(&scenario),
            |(inventory, pool)| pass(&scenario, &inventory, pool, &[], REPLAN_ROUNDS),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("periodic-pass-of-2000", |b| {
        b.iter_batched(
            || steady(&scenario),
            |(inventory, pool, settled)| pass(&scenario, &inventory, pool, &settled, 0),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, reoptimize);
criterion_main!(benches);
