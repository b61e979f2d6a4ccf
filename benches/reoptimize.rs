//! A re-optimisation pass over the unreleased pool (docs/OPTIMIZER.md, "The stream"): the
//! 200-location sample network, its first 6,000 orders routed one at a time (stock gets
//! scarce), the last 2,000 of them the pool, re-optimised together under the scenario's
//! policy with no time limit.
//!
//! `cargo bench --bench reoptimize` prints what a whole pass does and how long it takes (the
//! figures in docs/BENCHMARKS.md; the target is under a second on one core), then runs
//! criterion on the pass. us-200-medium is read from `../shared/scenarios/` (or
//! `SWITCHYARD_SCENARIOS`).

#![allow(clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use support::load;
use switchyard::scenario::Scenario;
use switchyard_engine::{
    Inventory, Plan, PoolOrder, PoolOutcome, ReoptimizeSettings, Reservation, Router, RouterConfig, Workspace,
    reoptimize_pool,
};

const ROUTED: usize = 6_000;
const POOL: usize = 2_000;

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

fn pass(scenario: &Scenario, inventory: &Inventory, pool: Vec<(usize, Plan, Reservation)>) -> PoolOutcome {
    let mut entries: Vec<PoolOrder<'_>> = pool
        .into_iter()
        .map(|(index, plan, reservation)| PoolOrder {
            order: &scenario.orders[index],
            policy: &scenario.policy,
            plan,
            reservation,
            admits: None,
        })
        .collect();
    reoptimize_pool(
        &scenario.catalog,
        inventory,
        &RouterConfig::default(),
        &mut entries,
        &ReoptimizeSettings::default(),
    )
    .expect("the inventory holds the pool")
}

fn reoptimize(c: &mut Criterion) {
    let Some(scenario) = load("us-200-medium") else {
        println!("us-200-medium: scenario not found, skipped");
        return;
    };
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..5 {
        let (inventory, pool) = routed(&scenario);
        let size = pool.len();
        let started = Instant::now();
        let outcome = pass(&scenario, &inventory, pool);
        let took = started.elapsed();
        times.push(took);
        println!(
            "reoptimize/us-200-medium: pool of {size} orders, {} moves tried, {} kept, {} orders changed, \
             cost {:.2} -> {:.2} ({:.3}%), {:.1} ms",
            outcome.tried,
            outcome.kept,
            outcome.changed.len(),
            outcome.cost_before,
            outcome.cost_after,
            (outcome.cost_after - outcome.cost_before) / outcome.cost_before * 100.0,
            took.as_secs_f64() * 1e3
        );
    }
    times.sort_unstable();
    println!("reoptimize/us-200-medium: median pass {:.1} ms", times[times.len() / 2].as_secs_f64() * 1e3);

    let mut group = c.benchmark_group("reoptimize/us-200-medium");
    group.sample_size(10);
    group.bench_function("pass-of-2000", |b| {
        b.iter_batched(
            || routed(&scenario),
            |(inventory, pool)| pass(&scenario, &inventory, pool),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, reoptimize);
criterion_main!(benches);
