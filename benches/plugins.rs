//! Wasm plugin overhead: routing us-50-small's orders with the reference plugin vs the same
//! model in native Rust (per order, dry run on the starting stock), and one evaluation of a
//! small order with and without the pooling allocator (instantiation + call); loading a
//! plugin: its structural check, compiling it, and loading its compiled artifact instead (what
//! a restart of the service does).
//!
//! `scripts/build-plugins && cargo bench --bench plugins`

// A benchmark whose setup fails has nothing to measure: it stops loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchyard::replay::replay;
use switchyard::scenario::Scenario;
use switchyard_engine::{Router, RouterConfig, Workspace};
use switchyard_plugins::{Limits, PluginHost};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn plugin_bytes(name: &str) -> Vec<u8> {
    let path = root().join("target/plugins").join(format!("plugin_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-plugins first", path.display()))
}

fn plugins(c: &mut Criterion) {
    let scenario =
        Scenario::from_json(&std::fs::read_to_string(root().join("examples/scenarios/us-50-small.json")).unwrap())
            .unwrap();
    let host = PluginHost::new(Limits::default()).unwrap();
    let wasm = host.load("reference", &plugin_bytes("reference")).unwrap();
    let config = RouterConfig::default();

    // One replay each, for per-order latency percentiles.
    let native = replay(&scenario, &scenario.policy, &config, &HashSet::new());
    let by_plugin = replay(&scenario, &wasm, &config, &HashSet::new());
    assert_eq!(
        native.plans,
        by_plugin
            .plans
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.policy = native.plans[0].policy.clone();
                p
            })
            .collect::<Vec<_>>(),
        "the plugin must route like the native policy"
    );
    let (n, w) = (native.stats(), by_plugin.stats());
    println!(
        "us-50-small replay: native p50 {:.1} µs p99 {:.1} µs | plugin p50 {:.1} µs p99 {:.1} µs | overhead p50 {:.1} µs",
        n.p50.as_secs_f64() * 1e6,
        n.p99.as_secs_f64() * 1e6,
        w.p50.as_secs_f64() * 1e6,
        w.p99.as_secs_f64() * 1e6,
        (w.p50.as_secs_f64() - n.p50.as_secs_f64()) * 1e6
    );

    let inventory = scenario.fresh_inventory();
    let mut group = c.benchmark_group("plugin/us-50-small-order");
    group.throughput(Throughput::Elements(1));
    for (label, policy) in [("native", &scenario.policy as &dyn switchyard_engine::Policy), ("wasm-plugin", &wasm)] {
        let router = Router { catalog: &scenario.catalog, inventory: &inventory, policy, config: &config };
        let mut workspace = Workspace::default();
        let mut next = 0;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let order = &scenario.orders[next % scenario.orders.len()];
                next += 1;
                black_box(router.plan(order, &mut workspace).unwrap())
            })
        });
    }
    group.finish();

    // Instantiation + one call on a one-line order, pooled vs on-demand allocation.
    let order = scenario.orders.iter().find(|o| o.lines.len() == 1).unwrap();
    let mut group = c.benchmark_group("plugin/instantiate-and-call");
    for (label, pooling) in [("pooling", true), ("on-demand", false)] {
        let host = PluginHost::new(Limits { pooling, ..Limits::default() }).unwrap();
        let plugin = host.load("reference", &plugin_bytes("reference")).unwrap();
        let router = Router { catalog: &scenario.catalog, inventory: &inventory, policy: &plugin, config: &config };
        let mut workspace = Workspace::default();
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| black_box(router.plan(order, &mut workspace).unwrap()))
        });
        // What every evaluation pays before the plugin runs: a store and an instance.
        group.bench_function(BenchmarkId::new("instantiate-only", label), |b| {
            b.iter(|| plugin.instantiate_only().unwrap())
        });
    }
    group.finish();
}

fn loading(c: &mut Criterion) {
    let bytes = plugin_bytes("reference");
    let mut group = c.benchmark_group("plugin/load");
    group.sample_size(10);
    let limits = Limits::default();
    group.bench_function("structure-check", |b| {
        b.iter(|| switchyard_plugins::structure::check(black_box(&bytes), &limits.structure).unwrap())
    });
    group.bench_function("new-host", |b| b.iter(|| PluginHost::new(Limits::default()).unwrap()));
    group.bench_function("new-host+compile", |b| {
        b.iter(|| PluginHost::new(Limits::default()).unwrap().load("reference", &bytes).unwrap())
    });
    let artifacts = std::env::temp_dir().join(format!("switchyard-bench-artifacts-{}", std::process::id()));
    let options = || switchyard_plugins::CompileOptions { worker: None, artifact_dir: Some(artifacts.clone()) };
    PluginHost::with_options(Limits::default(), options()).unwrap().load("reference", &bytes).unwrap();
    group.bench_function("new-host+artifact", |b| {
        b.iter(|| PluginHost::with_options(Limits::default(), options()).unwrap().load("reference", &bytes).unwrap())
    });
    group.finish();
    std::fs::remove_dir_all(&artifacts).ok();
}

criterion_group!(benches, plugins, loading);
criterion_main!(benches);
