//! Every sandbox limit is hit by a hostile plugin, gives a typed error naming the plugin, and
//! the host keeps routing afterwards.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchyard_engine::{
    Address, Candidate, CandidateLocation, Candidates, Catalog, Evaluation, GeoPoint, Inventory, Location,
    LocationKind, Order, OrderLine, PlanStatus, PolicyRequest, Product, Router, RouterConfig, RoutingError, Timestamp,
    Workspace,
};
use switchyard_plugins::{Limits, PluginError, PluginHost, TrapKind, WasmPolicy};

pub fn plugin_bytes(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins").join(format!("plugin_{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; build the plugins first with scripts/build-plugins", path.display()))
}

fn network() -> (Catalog, Inventory) {
    let mut catalog = Catalog::new();
    for (id, lat) in [("DC-A", 40.7), ("ST-B", 40.8)] {
        catalog
            .add_location(Location {
                id: id.into(),
                kind: if id.starts_with("DC") { LocationKind::DistributionCentre } else { LocationKind::Store },
                position: GeoPoint { lat, lon: -74.0 },
                handling_per_shipment: 1.0,
                handling_per_unit: 0.2,
                capacity_shipments_per_day: Some(100),
                downtime: vec![],
                capabilities: vec![],
                priority: 0,
                utc_offset_minutes: 0,
                fulfilment: switchyard_engine::calendar::Fulfilment::default(),
            })
            .unwrap();
    }
    catalog.add_product(Product { sku: "TEE".into(), group: "apparel".into(), weight_kg: 0.3, tags: vec![] }).unwrap();
    let inventory = Inventory::new();
    inventory.set_stock(catalog.sku_id("TEE").unwrap(), catalog.location_id("DC-A").unwrap(), 10, 0);
    inventory.set_stock(catalog.sku_id("TEE").unwrap(), catalog.location_id("ST-B").unwrap(), 10, 0);
    (catalog, inventory)
}

fn order(catalog: &Catalog, channel: &str, lines: usize) -> Order {
    Order {
        id: format!("O-{channel}"),
        placed_at: Timestamp(1_795_687_200),
        channel: channel.into(),
        ship_to: Address {
            position: GeoPoint { lat: 40.75, lon: -74.0 },
            postal_code: "10001".into(),
            country: "US".into(),
        },
        lines: (0..lines)
            .map(|i| OrderLine { id: format!("{}", i + 1), sku: catalog.sku_id("TEE").unwrap(), qty: 1, kit: None })
            .collect(),
    }
}

pub fn route(policy: &WasmPolicy, channel: &str) -> Result<switchyard_engine::Plan, RoutingError> {
    let (catalog, inventory) = network();
    let config = RouterConfig { max_lines: 100_000, ..RouterConfig::default() };
    let router = Router { catalog: &catalog, inventory: &inventory, policy, config: &config };
    router.plan(&order(&catalog, channel, 1), &mut Workspace::default())
}

fn hostile(limits: Limits) -> WasmPolicy {
    PluginHost::new(limits).unwrap().load("hostile", &plugin_bytes("hostile")).unwrap()
}

pub fn still_routes(policy: &WasmPolicy) {
    let plan = route(policy, "web").expect("a well-behaved request still routes");
    assert_eq!(plan.status, PlanStatus::Routed);
    assert_eq!(plan.shipped_units(), 1);
}

pub fn plugin_error(policy: &WasmPolicy, channel: &str) -> String {
    match route(policy, channel) {
        Err(RoutingError::Policy(error)) => error.to_string(),
        other => panic!("{channel}: expected a policy error, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let policy = hostile(Limits::default());
    let started = Instant::now();
    let error = plugin_error(&policy, "loop");
    assert!(error.contains("ran out of fuel (its instruction budget)"), "{error}");
    assert!(
        error.starts_with(&format!("policy `hostile@{}` failed: plugin `hostile@", policy.plugin().version)),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    still_routes(&policy);
}

#[test]
fn the_epoch_deadline_stops_a_plugin_with_fuel_to_spare() {
    let policy = hostile(Limits { fuel: u64::MAX / 2, timeout: Duration::from_millis(50), ..Limits::default() });
    let started = Instant::now();
    let error = plugin_error(&policy, "loop");
    assert!(error.contains("ran past its time limit"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    still_routes(&policy);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let policy = hostile(Limits { fuel: u64::MAX / 2, timeout: Duration::from_secs(10), ..Limits::default() });
    let error = plugin_error(&policy, "memory");
    assert!(error.ends_with("needed more memory than its limit"), "{error}");
    still_routes(&policy);
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let policy = hostile(Limits { fuel: u64::MAX / 2, timeout: Duration::from_secs(10), ..Limits::default() });
    let error = plugin_error(&policy, "recursion");
    assert!(error.contains("overflowed its stack"), "{error}");
    still_routes(&policy);
    // Frames kept in linear memory run off the plugin's own stack region instead: a trap too.
    let error = plugin_error(&policy, "recursion-in-memory");
    assert!(error.ends_with("trapped: out of bounds memory access"), "{error}");
    still_routes(&policy);
}

#[test]
fn a_full_pool_refuses_the_evaluation_and_frees_up() {
    // One pooled instance, held by a plugin looping until its one-second deadline.
    let limits = Limits { pool_instances: 1, fuel: u64::MAX / 2, timeout: Duration::from_secs(1), ..Limits::default() };
    let policy = std::sync::Arc::new(hostile(limits));
    let looping = {
        let policy = std::sync::Arc::clone(&policy);
        // It may itself find the instance taken by an order below: then it tries again.
        std::thread::spawn(move || {
            loop {
                let error = plugin_error(&policy, "loop");
                if !error.contains("pooled plugin instances are busy") {
                    return error;
                }
            }
        })
    };
    // Until the loop holds the instance an order goes through; while it does, an order is
    // refused at once with `Busy`, not queued.
    let mut busy = None;
    while !looping.is_finished() && busy.is_none() {
        match route(&policy, "web") {
            Err(RoutingError::Policy(error)) => busy = Some(error.to_string()),
            Ok(plan) => assert_eq!(plan.status, PlanStatus::Routed),
            Err(other) => panic!("expected a routed order or a busy pool, got {other:?}"),
        }
    }
    let busy = busy.expect("an order routed while the only instance was busy should be refused");
    assert!(
        busy.ends_with(&format!(
            "plugin `hostile@{}` was not run: all 1 pooled plugin instances are busy",
            policy.plugin().version
        )),
        "{busy}"
    );
    let looped = looping.join().unwrap();
    assert!(looped.contains("ran past its time limit"), "{looped}");
    still_routes(&policy);
}

#[test]
fn a_panic_is_a_trap() {
    let policy = hostile(Limits::default());
    let error = plugin_error(&policy, "trap");
    assert!(error.ends_with("trapped: wasm `unreachable` instruction executed"), "{error}");
    still_routes(&policy);
}

#[test]
fn a_refusal_carries_the_plugins_message() {
    let policy = hostile(Limits::default());
    let error = plugin_error(&policy, "error");
    assert!(error.ends_with("refused the order: no warehouse wants this order"), "{error}");
    still_routes(&policy);
}

#[test]
fn garbage_answers_are_refused() {
    let policy = hostile(Limits::default());
    let error = plugin_error(&policy, "garbage");
    assert!(error.contains("gave an invalid answer: `unit-cost` has 3 entries, the request had 2"), "{error}");
    let error = plugin_error(&policy, "bad-backorder");
    assert!(error.contains("`backorder-within` must be a positive number of seconds"), "{error}");
    let error = plugin_error(&policy, "bad-reason");
    assert!(
        error.contains("gave an invalid answer: `excluded-candidates[0]` gives reason 99, but `reasons` has 0 entries"),
        "{error}"
    );
    let error = plugin_error(&policy, "bad-exclusion");
    assert!(
        error.contains(
            "gave an invalid answer: `excluded-locations[0]` excludes location 9999, but the request had 2 locations"
        ),
        "{error}"
    );
    match route(&policy, "negative") {
        Err(RoutingError::InvalidAnswer { policy: name, message }) => {
            assert!(name.starts_with("hostile@"));
            assert_eq!(message, "the shipment cost at `DC-A` is -5: a cost is a finite number from 0 to 1000000000");
        }
        other => panic!("expected an invalid answer, got {other:?}"),
    }
    still_routes(&policy);
}

#[test]
fn log_lines_are_capped() {
    let policy = hostile(Limits { max_log_lines: 5, max_log_bytes: 1 << 20, ..Limits::default() });
    let (catalog, _) = network();
    let order = order(&catalog, "chatty", 1);
    let mut candidates = Candidates::default();
    candidates.clear();
    candidates.locations.push(CandidateLocation {
        location: catalog.location_id("DC-A").unwrap(),
        distance_km: 5.5,
        shipments_left: Some(100),
        blocked: None,
    });
    candidates.entries.push(Candidate { slot: 0, atp: 10 });
    candidates.finish_line();
    let mut evaluation = Evaluation::default();
    evaluation.reset(&candidates);
    let request = PolicyRequest {
        catalog: &catalog,
        order: &order,
        now: order.placed_at,
        candidates: &candidates,
        delivery: None,
    };
    let report = policy.run(&request, &mut evaluation).unwrap();
    assert_eq!(report.logs, vec!["line 0", "line 1", "line 2", "line 3", "line 4"]);
    assert_eq!(report.dropped_logs, 9_995);
    assert!(report.fuel > 10_000, "10,000 log calls cost fuel: {}", report.fuel);
    still_routes(&policy);

    // Copying a log line is the host's work, which fuel does not count: past the byte
    // budget (~90 KB of `line N` against 64 KiB) the evaluation stops, and says why.
    let policy = hostile(Limits { max_log_lines: 5, ..Limits::default() });
    let mut evaluation = Evaluation::default();
    evaluation.reset(&candidates);
    match policy.run(&request, &mut evaluation) {
        Err(PluginError::Trapped { kind, .. }) => {
            assert_eq!(kind, TrapKind::Other("log limit: more log text than the plugin's budget".into()));
        }
        other => panic!("expected the log budget to stop the plugin, got {other:?}"),
    }
    still_routes(&policy);
}

#[test]
fn a_huge_module_is_refused_before_compiling() {
    let host = PluginHost::new(Limits { max_module_bytes: 64 << 10, ..Limits::default() }).unwrap();
    let mut bytes = plugin_bytes("reference");
    // A custom section of padding takes the file over the limit, as an oversized upload would.
    let padding = vec![0u8; 100 << 10];
    bytes.push(0); // custom section id
    let mut size = padding.len() as u32 + 2;
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        bytes.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    bytes.extend_from_slice(&[1, b'p']);
    bytes.extend_from_slice(&padding);
    match host.load("huge", &bytes) {
        Err(PluginError::TooLarge { size, limit }) => {
            assert_eq!(limit, 64 << 10);
            assert!(size > limit);
        }
        other => panic!("expected too large, got {:?}", other.map(|p| p.plugin().clone())),
    }
    // The same host loads a plugin within the limit.
    host.load("reference", &plugin_bytes("reference")).unwrap();
}

#[test]
fn bytes_that_are_not_a_plugin_are_refused() {
    let host = PluginHost::new(Limits::default()).unwrap();
    for (what, bytes) in [
        ("text", b"fn main() {}".to_vec()),
        ("empty", Vec::new()),
        ("truncated", plugin_bytes("reference")[..1000].to_vec()),
        ("a core module without the routing world", b"\0asm\x01\0\0\0".to_vec()),
    ] {
        match host.load(what, &bytes) {
            Err(PluginError::Invalid(message)) => assert!(!message.is_empty()),
            other => panic!("{what}: expected invalid, got {:?}", other.map(|p| p.plugin().clone())),
        }
    }
}

#[test]
fn an_order_too_large_to_show_is_refused() {
    let policy = hostile(Limits { max_input_bytes: 2_000, ..Limits::default() });
    let (catalog, inventory) = network();
    let config = RouterConfig { max_lines: 100_000, ..RouterConfig::default() };
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let error = router.plan(&order(&catalog, "web", 200), &mut Workspace::default()).unwrap_err();
    assert!(error.to_string().contains("the order's request is"), "{error}");
    assert!(error.to_string().contains("more than the limit of 2000"), "{error}");
    still_routes(&policy);
}

#[test]
fn loading_the_same_bytes_twice_uses_the_cache() {
    let host = PluginHost::new(Limits::default()).unwrap();
    let bytes = plugin_bytes("reference");
    let started = Instant::now();
    let first = host.load("reference", &bytes).unwrap();
    let compile = started.elapsed();
    let started = Instant::now();
    let second = host.load("reference", &bytes).unwrap();
    assert_eq!(first.plugin(), second.plugin());
    assert!(first.plugin().wrapped, "a wit-bindgen core module is wrapped into a component");
    assert_eq!(first.plugin().version.len(), 16);
    // Not a timing assertion on the machine: the second load skips compilation entirely,
    // so it cannot take as long as the first.
    assert!(started.elapsed() <= compile, "cache hit {:?} vs compile {compile:?}", started.elapsed());
}

/// Several threads evaluate one plugin at once, each in its own pooled store; misbehaving
/// calls on some threads do not disturb the others.
#[test]
fn concurrent_evaluations_are_isolated() {
    let policy = std::sync::Arc::new(hostile(Limits::default()));
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let policy = std::sync::Arc::clone(&policy);
            std::thread::spawn(move || {
                for round in 0..10 {
                    if (thread + round) % 3 == 0 {
                        assert!(route(&policy, "trap").is_err());
                    } else {
                        still_routes(&policy);
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

// What a plugin says reaches explanations, errors and terminals on one line, capped, with no
// control characters: an 8 MiB reason shared by every candidate, a refusal of megabytes with
// escape sequences and a backtrace, huge finite costs.
#[test]
fn what_a_plugin_says_is_capped_and_cleaned() {
    let policy = hostile(Limits::default());
    let (catalog, inventory) = network();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let (plan, explanation) =
        router.explain(&order(&catalog, "huge-reason", 5), &mut Workspace::default()).expect("an answer");
    assert_eq!(plan.shipped_units(), 0, "every candidate was excluded");
    let text = explanation.display(&catalog).to_string();
    assert!(text.len() < 20_000, "{} bytes of explanation", text.len());
    // The reason (cut to 200 characters) is written once; the other nine candidates refer to it.
    assert_eq!(text.matches("excluded by rule #1 \"").count(), 1, "{text}");
    assert_eq!(text.matches("excluded by rule #1 (above)").count(), 9, "{text}");
    assert!(!text.chars().any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202E}'), "{text}");

    let refusal = plugin_error(&policy, "huge-error");
    assert!(refusal.len() < 700, "{} bytes: {}", refusal.len(), &refusal[..200]);
    assert!(refusal.contains("refused") && !refusal.contains('\n') && !refusal.contains('\u{1b}'), "{refusal}");

    match route(&policy, "huge-cost") {
        Err(RoutingError::InvalidAnswer { message, .. }) => {
            assert!(message.contains("cost") && message.contains("1e300"), "{message}")
        }
        other => panic!("expected an invalid answer, got {other:?}"),
    }
    still_routes(&policy);
}
