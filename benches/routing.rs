//! Routing speed and quality on the benchmark scenarios.
//!
//! `cargo bench --bench routing` measures, per scenario and strategy, a full replay (every
//! order routed and reserved in file order on fresh stock; throughput in orders/s) and a dry
//! run of single orders against the starting stock (time per order). Before the criterion
//! runs it prints, per scenario, one replay's p50/p99 per-order latency, share proved optimal
//! and total cost against greedy: the figures in docs/BENCHMARKS.md.
//!
//! us-200-medium is read from `../shared/scenarios/` (too large to keep in the repository);
//! set `SWITCHYARD_SCENARIOS` to read scenarios from another directory.

// A benchmark that cannot load its input or route has nothing to measure: it stops loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchyard::replay::replay;
use switchyard::scenario::Scenario;
use switchyard_engine::{Router, RouterConfig, Strategy, Workspace};

fn scenario_path(name: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut places = vec![root.join("examples/scenarios"), root.join("../shared/scenarios")];
    if let Ok(dir) = std::env::var("SWITCHYARD_SCENARIOS") {
        places.insert(0, PathBuf::from(dir));
    }
    places.into_iter().map(|dir| dir.join(format!("{name}.json"))).find(|path| path.exists())
}

fn load(name: &str) -> Option<Scenario> {
    let path = scenario_path(name)?;
    let text = std::fs::read_to_string(path).ok()?;
    Scenario::from_json(&text).ok()
}

fn dsl_reference() -> switchyard_dsl::DslPolicy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/policies/reference.policy");
    let source = std::fs::read_to_string(path).expect("reference policy");
    switchyard_dsl::load("reference.policy", &source, &switchyard_dsl::no_overrides()).expect("compiles").0
}

fn config(strategy: Strategy) -> RouterConfig {
    RouterConfig { strategy, ..RouterConfig::default() }
}

fn summary(name: &str, scenario: &Scenario) {
    let optimal = replay(scenario, &scenario.policy, &config(Strategy::Optimal), &HashSet::new());
    let greedy = replay(scenario, &scenario.policy, &config(Strategy::Greedy), &HashSet::new());
    let by_dsl = replay(scenario, &dsl_reference(), &config(Strategy::Optimal), &HashSet::new());
    assert_eq!(by_dsl.plans, optimal.plans, "the DSL reference policy must route exactly like the native one");
    let d = by_dsl.stats();
    println!(
        "{name}: DSL reference policy: p50 {:.1} µs, p99 {:.1} µs, {:.0} orders/s (same plans as native)",
        d.p50.as_secs_f64() * 1e6,
        d.p99.as_secs_f64() * 1e6,
        d.orders_per_second
    );
    let (o, g) = (optimal.stats(), greedy.stats());
    println!(
        "{name}: {} orders | optimal: p50 {:.1} µs, p99 {:.1} µs, {:.0} orders/s, proved {:.2}%, cost {:.2} | \
         greedy: p50 {:.1} µs, p99 {:.1} µs, cost {:.2} | optimal saves {:.2} ({:.2}%)",
        o.orders,
        o.p50.as_secs_f64() * 1e6,
        o.p99.as_secs_f64() * 1e6,
        o.orders_per_second,
        o.proved_optimal * 100.0,
        o.total_cost,
        g.p50.as_secs_f64() * 1e6,
        g.p99.as_secs_f64() * 1e6,
        g.total_cost,
        g.total_cost - o.total_cost,
        (g.total_cost - o.total_cost) / g.total_cost * 100.0
    );
}

fn routing(c: &mut Criterion) {
    for name in ["us-50-small", "us-200-medium"] {
        let Some(scenario) = load(name) else {
            println!("{name}: scenario not found, skipped");
            continue;
        };
        summary(name, &scenario);
        let mut group = c.benchmark_group(format!("replay/{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(scenario.orders.len() as u64));
        for (label, strategy) in [("optimal", Strategy::Optimal), ("greedy", Strategy::Greedy)] {
            let config = config(strategy);
            group.bench_function(BenchmarkId::from_parameter(label), |b| {
                b.iter(|| replay(&scenario, &scenario.policy, &config, &HashSet::new()))
            });
        }
        // The same replay with the reference policy written in the policy language.
        let dsl = dsl_reference();
        let optimal = config(Strategy::Optimal);
        group.bench_function(BenchmarkId::from_parameter("optimal-dsl-policy"), |b| {
            b.iter(|| replay(&scenario, &dsl, &optimal, &HashSet::new()))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("order/{name}"));
        group.throughput(Throughput::Elements(1));
        let inventory = scenario.fresh_inventory();
        for (label, strategy) in [("optimal", Strategy::Optimal), ("greedy", Strategy::Greedy)] {
            let config = config(strategy);
            let router =
                Router { catalog: &scenario.catalog, inventory: &inventory, policy: &scenario.policy, config: &config };
            let mut workspace = Workspace::default();
            let mut next = 0;
            group.bench_function(BenchmarkId::from_parameter(label), |b| {
                b.iter(|| {
                    let order = &scenario.orders[next % scenario.orders.len()];
                    next += 1;
                    black_box(router.plan(order, &mut workspace).expect("plan"))
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, routing);
criterion_main!(benches);
