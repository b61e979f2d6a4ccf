//! A plain loop routing us-50-small's orders with the reference plugin, for instruction
//! counts under valgrind (criterion's timing loop is too much noise there, and valgrind cannot
//! reserve the pooling allocator's address space, so this uses on-demand allocation unless
//! `POOL` is set). By default it runs native, plugin and instantiate-only in interleaved rounds
//! (`ROUNDS`, 5) of `N` orders and prints the best round of each and the plugin's overhead;
//! `ONLY_PLUGIN=1` runs the plugin once and prints its mean time and fuel per order.
//! `SCENARIO=path.json` routes another scenario (a larger network, from
//! `scripts/generate-scenario.py`); `PLUGINS=a.wasm,b.wasm` compares builds of the reference
//! plugin (e.g. before and after an SDK change) in the same interleaved rounds. `REPLAY=1`
//! measures what `switchyard route` reports instead: whole replays (fresh stock, each order
//! routed and reserved, a latency per order), native and plugin in turn for `ROUNDS` rounds,
//! and prints each round's p50s and the median of the rounds' differences.
//!
//! ```sh
//! scripts/build-plugins && cargo bench --bench plugin_profile --no-run
//! POOL=1 N=5000 target/release/deps/plugin_profile-<hash>
//! ONLY_PLUGIN=1 N=2000 valgrind --tool=callgrind --callgrind-out-file=/tmp/plugin.cg \
//!     target/release/deps/plugin_profile-<hash>
//! callgrind_annotate --inclusive=yes /tmp/plugin.cg | grep -E 'WasmPolicy::run|LowerContext<T>::realloc'
//! ```

// A benchmark whose setup fails has nothing to measure: it stops loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use switchyard::scenario::Scenario;
use switchyard_engine::{Policy, Router, RouterConfig, Workspace};
use switchyard_plugins::{Limits, PluginHost};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path =
        std::env::var_os("SCENARIO").map_or_else(|| root.join("examples/scenarios/us-50-small.json"), PathBuf::from);
    let scenario = Scenario::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let pooling = std::env::var_os("POOL").is_some();
    // A replay runs as `switchyard route` does, with the default pool; the loops keep 4.
    let replays = std::env::var_os("REPLAY").is_some();
    let pool_instances = if replays { Limits::default().pool_instances } else { 4 };
    let host = PluginHost::new(Limits { pooling, pool_instances, ..Limits::default() }).unwrap();
    let paths: Vec<PathBuf> = match std::env::var("PLUGINS") {
        Ok(list) => list.split(',').map(PathBuf::from).collect(),
        Err(_) => vec![root.join("target/plugins/plugin_reference.wasm")],
    };
    let plugins: Vec<_> = paths
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path)
                .unwrap_or_else(|e| panic!("{}: {e} (run scripts/build-plugins first)", path.display()));
            host.load("reference", &bytes).unwrap()
        })
        .collect();
    let config = RouterConfig::default();
    let inventory = scenario.fresh_inventory();
    let orders: usize = std::env::var("N").ok().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let run = |policy: &dyn Policy| {
        let router = Router { catalog: &scenario.catalog, inventory: &inventory, policy, config: &config };
        let mut workspace = Workspace::default();
        let start = Instant::now();
        for order in scenario.orders.iter().cycle().take(orders) {
            black_box(router.plan(order, &mut workspace).unwrap());
        }
        start.elapsed().as_secs_f64() * 1e6 / orders as f64
    };
    if replays {
        let rounds: usize = std::env::var("ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(9).max(1);
        let p50 = |policy: &dyn Policy| {
            switchyard::replay::replay(&scenario, policy, &config, &Default::default()).stats().p50.as_secs_f64() * 1e6
        };
        for (path, plugin) in paths.iter().zip(&plugins) {
            let mut overheads = Vec::with_capacity(rounds);
            for round in 0..rounds {
                let (native, wasm) = (p50(&scenario.policy), p50(plugin));
                println!(
                    "round {round}: replay p50 native {native:.1} µs, plugin {wasm:.1} µs, overhead {:.1} µs",
                    wasm - native
                );
                overheads.push(wasm - native);
            }
            overheads.sort_by(f64::total_cmp);
            println!(
                "{}: median overhead of {rounds} replay pairs (pooling {pooling}): {:.1} µs (range {:.1} to {:.1})",
                path.display(),
                overheads[rounds / 2],
                overheads[0],
                overheads[rounds - 1]
            );
        }
        return;
    }
    if std::env::var_os("ONLY_PLUGIN").is_some() {
        for (path, plugin) in paths.iter().zip(&plugins) {
            println!(
                "{}: plugin {:.2} µs per order ({orders} orders, pooling {pooling}), {} fuel per order",
                path.display(),
                run(plugin),
                plugin.fuel_used() / orders as u64
            );
        }
        return;
    }
    // Rounds of native, then each plugin and its instantiate-only, interleaved so that the
    // machine's noise hits all alike; the best round of each is the steadiest figure.
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
    let mut native = f64::MAX;
    let mut best = vec![(f64::MAX, f64::MAX); plugins.len()];
    for _ in 0..rounds {
        native = native.min(run(&scenario.policy));
        for (plugin, (wasm, instantiate)) in plugins.iter().zip(&mut best) {
            *wasm = wasm.min(run(plugin));
            let start = Instant::now();
            for _ in 0..orders {
                plugin.instantiate_only().unwrap();
            }
            *instantiate = instantiate.min(start.elapsed().as_secs_f64() * 1e6 / orders as f64);
        }
    }
    println!("best of {rounds} rounds of {orders} orders (pooling {pooling}): native {native:.2} µs");
    for (path, (wasm, instantiate)) in paths.iter().zip(best) {
        println!(
            "{}: plugin {wasm:.2} µs, overhead {:.2} µs, instantiate only {instantiate:.2} µs",
            path.display(),
            wasm - native
        );
    }
}
