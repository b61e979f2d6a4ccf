//! Plugins written in JavaScript/TypeScript with the SDK (plugins/sdk-js), built by
//! `scripts/build-plugins` with componentize-js: hostile ones are contained like hostile Rust
//! plugins, and the host keeps routing after each attack.

use std::sync::OnceLock;

use switchyard_plugins::{Limits, PluginHost, WasmPolicy};

use crate::limits::{plugin_bytes, plugin_error, still_routes};

// One host and one compile for all the cases: a JavaScript plugin is a SpiderMonkey engine of
// ~12 MB, compiled once and cached by the host as the service does.
fn hostile() -> &'static WasmPolicy {
    static PLUGIN: OnceLock<WasmPolicy> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let host = PluginHost::new(Limits::default()).unwrap();
        host.load("hostile-js", &plugin_bytes("js_hostile")).unwrap()
    })
}

#[test]
fn hostile_javascript_is_contained_like_a_hostile_rust_plugin() {
    let plugin = hostile();
    still_routes(plugin);
    let cases = [
        ("loop", "ran out of fuel"),
        ("memory", "needed more memory than its limit"),
        ("throw", "refused the order: no warehouse wants this order"),
        ("throw-value", "[object Object]"),
        ("garbage", "answer.units has 3 entries, the request had 2 candidates"),
        ("wrong-type", "answer.maxShipments must be a whole number from 0 to 4294967294, got \"three\""),
        ("not-an-answer", "must return an answer object"),
        // The bindings' UTF-8 encoding in JavaScript spends the fuel before the log budget.
        ("log-flood", "ran out of fuel"),
    ];
    for (channel, needle) in cases {
        let error = plugin_error(plugin, channel);
        assert!(error.contains(needle), "{channel}: {error}");
        assert!(error.contains("hostile-js@"), "{channel}: the error names the plugin: {error}");
        still_routes(plugin);
    }
    // Unbounded recursion: each interpreted frame costs fuel, which runs out before
    // SpiderMonkey's own recursion limit or the wasm stack.
    let error = plugin_error(plugin, "recursion");
    assert!(error.contains("ran out of fuel"), "recursion: {error}");
    still_routes(plugin);
}

// A SpiderMonkey component is far larger than a Rust plugin (the engine is in it): the
// default caps admit it with room for a larger plugin's own code.
#[test]
fn a_javascript_plugin_fits_the_default_limits() {
    let limits = Limits::default();
    let bytes = plugin_bytes("js_reference");
    assert!(bytes.len() * 2 < limits.max_module_bytes, "{} bytes", bytes.len());
    let seen = switchyard_plugins::structure::check(&bytes, &limits.structure).unwrap();
    let caps = &limits.structure;
    assert!(seen.functions * 3 < caps.max_functions * 2, "{seen:?}");
    assert!(seen.largest_function_bytes * 4 < caps.max_function_bytes * 3, "{seen:?}");
    assert!(seen.most_locals * 2 < caps.max_locals, "{seen:?}");
    // SpiderMonkey's interpreter nests blocks 456 deep (the cap was 500 before JavaScript).
    assert!(seen.deepest_nesting * 2 < caps.max_nesting, "{seen:?}");
    assert_eq!((seen.memories, seen.core_instances, seen.component_instances), (1, 5, 0), "{seen:?}");
}
