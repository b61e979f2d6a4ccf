//! A plain loop routing us-50-small's orders with the reference plugin, for instruction
//! counts under valgrind (criterion's timing loop is too much noise there, and valgrind cannot
//! reserve the pooling allocator's address space, so this uses on-demand allocation unless
//! `POOL` is set). Prints the mean wall time per order.
//!
//! ```sh
//! scripts/build-plugins && cargo bench --bench plugin_profile --no-run
//! N=2000 valgrind --tool=callgrind --callgrind-out-file=/tmp/plugin.cg \
//!     target/release/deps/plugin_profile-<hash>
//! callgrind_annotate --inclusive=yes /tmp/plugin.cg | grep -E 'WasmPolicy::run|Lower>::linear_lower'
//! ```

// A benchmark whose setup fails has nothing to measure: it stops loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use switchyard::scenario::Scenario;
use switchyard_engine::{Router, RouterConfig, Workspace};
use switchyard_plugins::{Limits, PluginHost};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario =
        Scenario::from_json(&std::fs::read_to_string(root.join("examples/scenarios/us-50-small.json")).unwrap())
            .unwrap();
    let pooling = std::env::var_os("POOL").is_some();
    let host = PluginHost::new(Limits { pooling, pool_instances: 4, ..Limits::default() }).unwrap();
    let bytes = std::fs::read(root.join("target/plugins/plugin_reference.wasm"))
        .expect("target/plugins/plugin_reference.wasm: run scripts/build-plugins first");
    let plugin = host.load("reference", &bytes).unwrap();
    let config = RouterConfig::default();
    let inventory = scenario.fresh_inventory();
    let router = Router { catalog: &scenario.catalog, inventory: &inventory, policy: &plugin, config: &config };
    let mut workspace = Workspace::default();
    let orders: usize = std::env::var("N").ok().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let start = Instant::now();
    for order in scenario.orders.iter().cycle().take(orders) {
        black_box(router.plan(order, &mut workspace).unwrap());
    }
    println!(
        "{:.2} µs per order ({orders} orders, pooling {pooling})",
        start.elapsed().as_secs_f64() * 1e6 / orders as f64
    );
}
