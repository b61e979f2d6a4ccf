//! The `switchyard` binary as a user runs it: real process, real files, exit codes, stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::plan_check::check_plan;

pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios").join(name)
}

fn switchyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard")).args(args).output().expect("the switchyard binary runs")
}

// A directory of its own for every call: tests run in parallel in one process, and two of
// them routing with the same strategy must not share (and remove) one directory.
fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("switchyard-test-{}-{n}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn route_to_plan(scenario: &Path, strategy: &str) -> (Value, String) {
    let dir = temp_dir(strategy);
    let out = dir.join("plan.json");
    let output = switchyard(&[
        "route",
        "--scenario",
        scenario.to_str().unwrap(),
        "--strategy",
        strategy,
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "route failed: {stderr}");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    (plan, stderr)
}

#[test]
fn routing_us_50_small_writes_a_plan_an_independent_checker_accepts() {
    let path = example("us-50-small.json");
    let scenario: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (optimal_plan, stderr) = route_to_plan(&path, "optimal");
    let optimal = check_plan(&scenario, &optimal_plan);
    assert_eq!(optimal.orders, 2000);
    assert_eq!(optimal.optimal, 2000, "every order of us-50-small is proved optimal");
    for expected in ["2000 orders routed", "total cost", "proved optimal 100.00%", "orders/s", "p50", "p99"] {
        assert!(stderr.contains(expected), "stderr lacks `{expected}`: {stderr}");
    }

    let (greedy_plan, _) = route_to_plan(&path, "greedy");
    let greedy = check_plan(&scenario, &greedy_plan);
    assert_eq!(greedy.optimal, 0, "greedy never claims a proof");
    assert!(
        optimal.total_cost < greedy.total_cost,
        "optimal {} should beat greedy {} on us-50-small",
        optimal.total_cost,
        greedy.total_cost
    );
}

#[test]
fn routing_a_scenario_with_kits_ships_each_kit_whole_and_together() {
    let path = example("us-10-kits.json");
    let scenario: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for strategy in ["optimal", "greedy"] {
        // The checker asserts every kit ships whole (or is unfilled whole) and from one
        // location unless it may split, and recomputes every cost with the penalty of kits
        // left out.
        let (plan, _) = route_to_plan(&path, strategy);
        let checked = check_plan(&scenario, &plan);
        assert_eq!(checked.orders, 300);
        let orders = plan["orders"].as_array().unwrap();
        let is_component = |l: &&Value| l["line"].as_str().unwrap().contains("/SKU-");
        let shipped = orders
            .iter()
            .flat_map(|o| o["shipments"].as_array().unwrap())
            .flat_map(|s| s["lines"].as_array().unwrap())
            .filter(is_component)
            .count();
        let left_out = orders.iter().flat_map(|o| o["unfilled"].as_array().unwrap()).filter(is_component).count();
        // Both ways a kit can go are exercised: shipped whole, and left out whole.
        assert!(shipped >= 60 && left_out > 0, "{strategy}: {shipped} component lines shipped, {left_out} left out");
    }
}

#[test]
fn explain_names_the_rule_and_the_winner_for_every_candidate() {
    // O-000002 of us-10-tiny has five lines; its explanation lists every location per line.
    let output =
        switchyard(&["route", "--scenario", example("us-10-tiny.json").to_str().unwrap(), "--explain", "O-000002"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("order O-000002 (policy reference v1)"), "{stderr}");
    assert!(stderr.contains("CHOSEN"), "{stderr}");
    assert!(stderr.contains("cost ") && stderr.contains("= shipments"), "{stderr}");
    assert!(stderr.contains("proved optimal"), "{stderr}");
    for line in 1..=5 {
        assert!(stderr.contains(&format!("  line {line} SKU-")), "line {line} missing: {stderr}");
    }
}

#[test]
fn explain_of_an_unknown_order_is_an_error() {
    let output =
        switchyard(&["route", "--scenario", example("us-10-tiny.json").to_str().unwrap(), "--explain", "O-nope"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("the scenario has no order `O-nope`"));
}

/// A malformed scenario gets one line naming the place, and a non-zero exit.
#[test]
fn malformed_scenarios_are_refused_with_the_place_named() {
    let tiny = std::fs::read_to_string(example("us-10-tiny.json")).unwrap();
    let mut value: Value = serde_json::from_str(&tiny).unwrap();
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut copy = value.clone();
        f(&mut copy);
        serde_json::to_string_pretty(&copy).unwrap()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "invalid json",
            "{\n  \"format\": \"switchyard-scenario/1\",\n  \"name\": oops\n}".into(),
            "line 3, column 11: at `name`: expected value",
        ),
        (
            "unknown sku in inventory",
            mutate(&|v| v["inventory"][4]["sku"] = "SKU-99999".into()),
            "at `inventory[4].sku`: unknown sku `SKU-99999`",
        ),
        (
            "unknown location in inventory",
            mutate(&|v| v["inventory"][0]["location"] = "DC-00000".into()),
            "at `inventory[0].location`: unknown location `DC-00000`",
        ),
        (
            "negative quantity",
            mutate(&|v| v["orders"][7]["lines"][0]["qty"] = (-2).into()),
            "at `orders[7].lines[0].qty`: must be at least 1, got -2",
        ),
        (
            "zero quantity",
            mutate(&|v| v["orders"][7]["lines"][0]["qty"] = 0.into()),
            "at `orders[7].lines[0].qty`: must be at least 1, got 0",
        ),
        (
            "negative on hand",
            mutate(&|v| v["inventory"][3]["on_hand"] = (-1).into()),
            "at `inventory[3].on_hand`: must be at least 0, got -1",
        ),
        (
            "unknown sku in an order",
            mutate(&|v| v["orders"][1]["lines"][2]["sku"] = "SKU-X".into()),
            "at `orders[1].lines[2].sku`: unknown sku `SKU-X`",
        ),
        (
            "unsorted zones",
            mutate(&|v| v["rate_card"]["zones"][2]["max_distance"] = 100.into()),
            "at `rate_card.zones`: zone 3 does not reach further than the zone before it",
        ),
        (
            "closed last zone",
            mutate(&|v| v["rate_card"]["zones"][7]["max_distance"] = 5000.into()),
            "at `rate_card.zones`: zone 8: only the last zone may (and must) have no max distance",
        ),
        (
            "zone without a price",
            mutate(&|v| {
                v["rate_card"]["per_kg"].as_object_mut().unwrap().remove("4");
            }),
            "at `rate_card.per_kg`: no price for zone 4 (zones[3])",
        ),
        (
            "wrong type",
            mutate(&|v| v["locations"][2]["lat"] = "north".into()),
            "at `locations[2].lat`: invalid type: string \"north\", expected f64",
        ),
        (
            "unknown field",
            mutate(&|v| v["orders"][0]["priority"] = 1.into()),
            "at `orders[0].priority`: unknown field `priority`",
        ),
        (
            "wrong format",
            mutate(&|v| v["format"] = "switchyard-scenario/9".into()),
            "at `format`: `switchyard-scenario/9` is not a format this version reads",
        ),
        (
            "duplicate location",
            mutate(&|v| v["locations"][1]["id"] = v["locations"][0]["id"].clone()),
            "at `locations[1]`: location `DC-16345` is defined twice",
        ),
        (
            "bad timestamp",
            mutate(&|v| v["orders"][3]["placed_at"] = "yesterday".into()),
            "at `orders[3].placed_at`: `yesterday` is not an RFC 3339 timestamp",
        ),
        (
            "duplicate line id",
            mutate(&|v| v["orders"][1]["lines"][1]["id"] = "1".into()),
            "at `orders[1].lines[1].id`: line id `1` appears twice in the order",
        ),
    ];
    let kits: Value = serde_json::from_str(&std::fs::read_to_string(example("us-10-kits.json")).unwrap()).unwrap();
    let kit_index = kits["products"].as_array().unwrap().iter().position(|p| p.get("components").is_some()).unwrap();
    let mutate_kits = |f: &dyn Fn(&mut Value)| {
        let mut copy = kits.clone();
        f(&mut copy);
        serde_json::to_string_pretty(&copy).unwrap()
    };
    let kit_sku = kits["products"][kit_index]["sku"].as_str().unwrap().to_owned();
    let cases = cases.into_iter().chain([
        (
            "kit with an unknown component",
            mutate_kits(&|v| v["products"][kit_index]["components"][0]["sku"] = "SKU-NOPE".into()),
            &*format!("at `products[{kit_index}].components[0].sku`: unknown sku `SKU-NOPE`").leak(),
        ),
        (
            "kit with a component of zero units",
            mutate_kits(&|v| v["products"][kit_index]["components"][1]["qty"] = 0.into()),
            &*format!("at `products[{kit_index}].components[1].qty`: must be at least 1, got 0").leak(),
        ),
        (
            "stock of a kit",
            mutate_kits(&|v| v["inventory"][0]["sku"] = kit_sku.clone().into()),
            "at `inventory[0].sku`: `KIT-0001` is a kit: it holds no stock of its own",
        ),
    ]);
    // Delivery promises: a location's terms and carrier services (us-50-small has both).
    let small: Value = serde_json::from_str(&std::fs::read_to_string(example("us-50-small.json")).unwrap()).unwrap();
    let mutate_small = |f: &dyn Fn(&mut Value)| {
        let mut copy = small.clone();
        f(&mut copy);
        serde_json::to_string_pretty(&copy).unwrap()
    };
    let cases = cases.chain([
        (
            "a cut-off that is no time",
            mutate_small(&|v| v["locations"][3]["fulfilment"]["cutoff"] = "2pm".into()),
            "at `locations[3].fulfilment.cutoff`: `2pm` is not a local time `HH:MM`",
        ),
        (
            "a holiday that is no date",
            mutate_small(&|v| v["locations"][0]["fulfilment"]["holidays"][1] = "2026-02-30".into()),
            "at `locations[0].fulfilment.holidays[1]`: `2026-02-30` is not a date `YYYY-MM-DD`",
        ),
        (
            "a weekday that is none",
            mutate_small(&|v| v["carrier_services"][1]["pickup_days"] = "mon-fry".into()),
            "at `carrier_services[1].pickup_days`: `fry` is not a weekday",
        ),
        (
            "bands out of order",
            mutate_small(&|v| v["carrier_services"][0]["bands"][2]["max_km"] = 100.into()),
            "at `carrier_services[0].bands[2].max_km`: bands[2].max_km must be a distance beyond the band before",
        ),
        (
            "a service twice",
            mutate_small(&|v| v["carrier_services"][2]["id"] = "ground".into()),
            "at `carrier_services[2].id`: carrier service `ground` appears twice",
        ),
        (
            "an offset beyond any time zone",
            mutate_small(&|v| v["locations"][5]["utc_offset_minutes"] = 900.into()),
            "at `locations[5].utc_offset_minutes`: must be within 14 hours of UTC",
        ),
    ]);
    value["name"] = "checked".into();
    let dir = temp_dir("malformed");
    for (what, text, expected) in cases {
        let path = dir.join("scenario.json");
        std::fs::write(&path, text).unwrap();
        let output = switchyard(&["route", "--scenario", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{what}: accepted");
        assert!(stderr.starts_with(&format!("error: {}: ", path.display())), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: expected `{expected}` in\n{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: one line of error: {stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_scenario_file_is_an_error_not_a_panic() {
    let output = switchyard(&["route", "--scenario", "/nonexistent/scenario.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read scenario `/nonexistent/scenario.json`"));
}

#[test]
fn route_reports_an_order_the_policy_fails_on_and_goes_on() {
    let dir = temp_dir("failing");
    let policy = dir.join("failing.policy");
    // Finite for orders of several lines, infinite (an invalid answer) for an order of one.
    std::fs::write(
        &policy,
        "policy failing v1 applies to all groups {\n  unit cost = $1 / (order.line_count - 1)\n  shipment cost = $5\n  short stock: partial at $100\n}\n",
    )
    .unwrap();
    let out = dir.join("plan.json");
    let path = example("us-50-small.json");
    let scenario: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let single_line =
        scenario["orders"].as_array().unwrap().iter().filter(|o| o["lines"].as_array().unwrap().len() == 1);
    let expected_failures = single_line.count();
    assert!(expected_failures > 0 && expected_failures < 2000);
    let output = switchyard(&[
        "route",
        "--scenario",
        path.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "failures make the exit status non-zero: {stderr}");
    assert!(stderr.contains("order `O-000001` (#1 in the file) failed: policy `failing@1` gave an invalid answer: the unit cost of line 1 at"), "{stderr}");
    assert!(stderr.contains(&format!("2000 orders routed (0 rejected, {expected_failures} failed)")), "{stderr}");
    assert!(stderr.contains(&format!("error: the policy failed on {expected_failures} of 2000 order(s)")), "{stderr}");
    // Every order has a plan (the plan file's format is the scenarios' own, unchanged): a
    // failed order ships nothing and leaves every unit unfilled; the others are routed.
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let orders = plan["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2000);
    for (order, planned) in scenario["orders"].as_array().unwrap().iter().zip(orders) {
        let lines = order["lines"].as_array().unwrap();
        let unfilled: u64 = planned["unfilled"].as_array().unwrap().iter().map(|u| u["qty"].as_u64().unwrap()).sum();
        if lines.len() == 1 {
            assert_eq!(planned["shipments"], serde_json::json!([]), "{planned}");
            assert_eq!(unfilled, lines[0]["qty"].as_u64().unwrap());
        } else {
            assert_eq!(planned["cost"].as_f64().unwrap() > 0.0, !planned["shipments"].as_array().unwrap().is_empty());
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
