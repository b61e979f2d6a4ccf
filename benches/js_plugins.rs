//! JavaScript plugins beside Rust ones and native code, in one run: the reference cost model
//! as native Rust, as a Rust plugin and as a TypeScript plugin (plugins/sdk-js, SpiderMonkey
//! via componentize-js), routing us-50-small's orders (replay percentiles and per-order
//! criterion timings); module size, compile time at upload and loading a compiled artifact;
//! instantiation alone. With `node benches/js-engines/build.mjs` run first, also the engine
//! floor: the same minimal plugin (no SDK) built with SpiderMonkey and with QuickJS
//! (componentize-qjs), instantiated and called on a one-line order.
//!
//! `scripts/build-plugins && node benches/js-engines/build.mjs && cargo bench --bench js_plugins`

// A benchmark whose setup fails has nothing to measure: it stops loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchyard::replay::replay;
use switchyard::scenario::Scenario;
use switchyard_engine::{Policy, Router, RouterConfig, Workspace};
use switchyard_plugins::{CompileOptions, Limits, PluginHost, StructureLimits};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn plugin_path(name: &str) -> PathBuf {
    root().join("target/plugins").join(format!("plugin_{name}.wasm"))
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-plugins first", path.display()))
}

fn micros(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn js_plugins(c: &mut Criterion) {
    let scenario =
        Scenario::from_json(&std::fs::read_to_string(root().join("examples/scenarios/us-50-small.json")).unwrap())
            .unwrap();
    let config = RouterConfig::default();
    let host = PluginHost::new(Limits::default()).unwrap();
    let rust_bytes = read(&plugin_path("reference"));
    let js_bytes = read(&plugin_path("js_reference"));
    let started = Instant::now();
    let rust = host.load("reference", &rust_bytes).unwrap();
    let rust_compile = started.elapsed();
    let started = Instant::now();
    let js = host.load("reference", &js_bytes).unwrap();
    let js_compile = started.elapsed();

    // Loading the compiled artifact instead (what a restart of the service does).
    let artifacts = std::env::temp_dir().join(format!("switchyard-js-bench-{}", std::process::id()));
    let options = || CompileOptions { worker: None, artifact_dir: Some(artifacts.clone()) };
    PluginHost::with_options(Limits::default(), options()).unwrap().load("reference", &js_bytes).unwrap();
    let started = Instant::now();
    PluginHost::with_options(Limits::default(), options()).unwrap().load("reference", &js_bytes).unwrap();
    let js_artifact = started.elapsed();
    std::fs::remove_dir_all(&artifacts).ok();
    println!(
        "module size: rust {} bytes, typescript {} bytes | compile at upload: rust {:.0} ms, typescript {:.0} ms | \
         typescript from its artifact {:.0} ms",
        rust_bytes.len(),
        js_bytes.len(),
        rust_compile.as_secs_f64() * 1e3,
        js_compile.as_secs_f64() * 1e3,
        js_artifact.as_secs_f64() * 1e3,
    );

    // One replay each, for per-order latency percentiles; the plans must be the native ones.
    let native = replay(&scenario, &scenario.policy, &config, &HashSet::new());
    let mut line = String::from("us-50-small replay:");
    let n = native.stats();
    line += &format!(" native p50 {:.1} µs p99 {:.1} µs", micros(n.p50), micros(n.p99));
    for (label, plugin) in [("rust", &rust), ("typescript", &js)] {
        let replayed = replay(&scenario, plugin, &config, &HashSet::new());
        for (a, b) in native.plans.iter().zip(&replayed.plans) {
            assert_eq!((a.cost, &a.shipments), (b.cost, &b.shipments), "{label}: {}", a.order_id);
        }
        let s = replayed.stats();
        line += &format!(
            " | {label} p50 {:.1} µs p99 {:.1} µs (overhead p50 {:.1} µs)",
            micros(s.p50),
            micros(s.p99),
            micros(s.p50) - micros(n.p50)
        );
    }
    println!("{line}");

    let inventory = scenario.fresh_inventory();
    let mut group = c.benchmark_group("js-plugin/us-50-small-order");
    group.throughput(Throughput::Elements(1));
    let policies: [(&str, &dyn Policy); 3] =
        [("native", &scenario.policy), ("rust-plugin", &rust), ("typescript-plugin", &js)];
    for (label, policy) in policies {
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

    // What every evaluation pays before the plugin runs: a store and an instance.
    let mut group = c.benchmark_group("js-plugin/instantiate-only");
    for (label, plugin) in [("rust", &rust), ("typescript", &js)] {
        group.bench_function(BenchmarkId::from_parameter(label), |b| b.iter(|| plugin.instantiate_only().unwrap()));
    }
    group.finish();

    // The engines' floor: the same minimal plugin with each engine, on a one-line order.
    let floors = [("spidermonkey", plugin_path("floor_spidermonkey")), ("quickjs", plugin_path("floor_quickjs"))];
    if floors.iter().all(|(_, path)| path.exists()) {
        // componentize-qjs links QuickJS as a dynamic library beside WASI stubs: 7 memories,
        // 50 core instances and 23 component instances, past the default structural caps.
        let structure = StructureLimits {
            max_memories: 8,
            max_core_instances: 64,
            max_component_instances: 64,
            ..StructureLimits::default()
        };
        let host = PluginHost::new(Limits { structure, ..Limits::default() }).unwrap();
        let order = scenario.orders.iter().find(|o| o.lines.len() == 1).unwrap();
        let mut group = c.benchmark_group("js-plugin/engine-floor");
        for (label, path) in &floors {
            let bytes = read(path);
            let started = Instant::now();
            let plugin = host.load(label, &bytes).unwrap();
            println!(
                "{label} floor: {} bytes, compiled in {:.0} ms",
                bytes.len(),
                started.elapsed().as_secs_f64() * 1e3
            );
            let router = Router { catalog: &scenario.catalog, inventory: &inventory, policy: &plugin, config: &config };
            let mut workspace = Workspace::default();
            group.bench_function(BenchmarkId::new("instantiate-and-call", label), |b| {
                b.iter(|| black_box(router.plan(order, &mut workspace).unwrap()))
            });
            group.bench_function(BenchmarkId::new("instantiate-only", label), |b| {
                b.iter(|| plugin.instantiate_only().unwrap())
            });
        }
        group.finish();
    } else {
        println!("engine floor skipped: run `node benches/js-engines/build.mjs` first");
    }
}

criterion_group!(benches, js_plugins);
criterion_main!(benches);
