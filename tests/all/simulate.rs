//! `switchyard simulate`: the numbers against a scenario computed by hand, and the HTML
//! report loaded in headless Chromium.

use std::path::Path;
use std::process::Command;

use switchyard::scenario::Scenario;
use switchyard::simulate::{DEFAULT_BOUND_ROUNDS, Reoptimize, StreamOptions, extra_shipments, simulate};
use switchyard_engine::Policy;
use switchyard_engine::bound::{LagrangianSettings, lagrangian_bound, stream_bound};
use switchyard_engine::reoptimize::{REPLAN_ROUNDS, ReoptimizeSettings};

fn hand_computed() -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hand-computed.json");
    Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// tests/data/hand-computed.json, by hand (rate card of the sample scenarios; ship-to O1/O2 at
// A (40,-75), O3 at B (40,-80); A-B 425.8 km is zone 3, A-C 166.8 km zone 2, same point zone 1):
//
// O1 = P1 + P2 + P3. No location holds all three (A: P1; B: P1, P2; C: P3).
//   optimal: B ships P1, P2 (10.20 + 2.23 + 1.24), C ships P3 (9.30 + 1.17), split 2 = 26.14
//   greedy:  P1 from A (8.50 + 1.82, the cheapest line by line), P2 from B (10.20 + 1.24),
//            P3 from C (9.30 + 1.17), two extra shipments 4 = 36.23
// O2 = 2 x P2: B's only unit went to O1: unfilled, 2 x 100 = 200 under both.
// O3 = P1 to B: optimal has A's unit left (zone 3 from B: 9.20 + 2.48 = 11.68); greedy used
//   A's unit for O1 and ships B's (zone 1: 9.50 + 1.57 = 11.07).
#[test]
fn simulate_numbers_match_the_hand_computation() {
    let scenario = hand_computed();
    let dsl = switchyard_dsl::load(
        "reference.policy",
        include_str!("../../examples/policies/reference.policy"),
        &switchyard_dsl::no_overrides(),
    )
    .unwrap()
    .0;
    let policies: Vec<(String, &dyn Policy)> =
        vec![("built-in".to_owned(), &scenario.policy), ("dsl".to_owned(), &dsl)];
    let mut calls = 0;
    let simulation =
        simulate(&scenario, &policies, None, &StreamOptions::default(), &mut |_, _, _| calls += 1).unwrap();
    assert_eq!(calls, 3 * 3, "progress after every order of every column");
    let labels: Vec<&str> = simulation.columns.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["built-in", "dsl", "greedy (built-in)"]);
    let (optimal, dsl, greedy) =
        (&simulation.columns[0].summary, &simulation.columns[1].summary, &simulation.columns[2].summary);

    assert!(close(optimal.total_cost, 237.82), "{}", optimal.total_cost);
    for (got, want) in optimal.order_costs.iter().zip([26.14, 200.0, 11.68]) {
        assert!(close(*got, want), "{:?}", optimal.order_costs);
    }
    assert_eq!((optimal.shipments, optimal.split_orders, optimal.unfilled_units), (3, 1, 2));
    assert_eq!(optimal.shipment_histogram, [1, 1, 1]);
    assert_eq!(optimal.location_shipments, [1, 1, 1]);
    assert_eq!(optimal.proved_optimal, 3);

    assert!(close(greedy.total_cost, 247.30), "{}", greedy.total_cost);
    for (got, want) in greedy.order_costs.iter().zip([36.23, 200.0, 11.07]) {
        assert!(close(*got, want), "{:?}", greedy.order_costs);
    }
    assert_eq!((greedy.shipments, greedy.split_orders, greedy.unfilled_units), (4, 1, 2));
    assert_eq!(greedy.shipment_histogram, [1, 1, 0, 1]);
    assert_eq!(greedy.location_shipments, [1, 2, 1]);

    // The policy language's reference policy plans exactly as the built-in one.
    assert_eq!(dsl.order_costs.len(), 3);
    assert!(dsl.order_costs.iter().zip(&optimal.order_costs).all(|(a, b)| close(*a, *b)));
    assert_eq!(simulation.differing_from_first(1), 0);
    assert_eq!(simulation.differing_from_first(2), 2);
    let differing: Vec<&str> = simulation.differences.iter().map(|d| d.order_id.as_str()).collect();
    assert_eq!(differing, ["O1", "O3"]);
    assert_eq!(sorted_ids(&simulation.differences[0].locations[0]), "B,C");
    assert_eq!(sorted_ids(&simulation.differences[0].locations[2]), "A,B,C");
    // Capacity 10 a day, one day: B shipped twice under greedy.
    // Priced by the first policy's cost model, every column's plans cost what their own policy
    // said (the three price alike): the greedy column's 36.23 for O1 includes its two extra
    // shipments' split penalty, O2's 200 its unfilled penalty.
    assert_eq!(simulation.priced_by, "built-in");
    for column in &simulation.columns {
        assert_eq!(column.priced.order_costs.len(), 3);
        for (priced, own) in column.priced.order_costs.iter().zip(&column.summary.order_costs) {
            assert!(close(*priced, *own), "{}: {:?} vs {:?}", column.label, column.priced, column.summary.order_costs);
        }
        assert_eq!((column.priced.broken, column.priced.failed, column.own_cost_differs()), (0, 0, false));
    }
    assert!(close(simulation.utilisation(&simulation.columns[2], 1).unwrap(), 0.2));
    assert!(close(simulation.utilisation(&simulation.columns[0], 1).unwrap(), 0.1));
    // Distances (great circle, R = 6371 km): O1 ships from B (425.84 km) and C (166.79 km), O3
    // from A (425.84 km).
    assert!((optimal.distance_km - (2.0 * 425.84 + 166.79)).abs() < 0.05, "{}", optimal.distance_km);
}

fn sorted_ids(list: &str) -> String {
    let mut ids: Vec<&str> = list.split(',').collect();
    ids.sort_unstable();
    ids.join(",")
}

fn chromium() -> String {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new("sh").args(["-c", &format!("command -v {name}")]).output().is_ok_and(|o| o.status.success()) {
            return name.to_owned();
        }
    }
    panic!("headless Chromium is needed for the report test: scripts/test installs Debian's `chromium`");
}

#[test]
fn the_report_renders_in_headless_chromium_with_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["simulate", "--scenario", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hand-computed.json")])
        .args(["--policy", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policies/reference.policy")])
        .arg("--bound")
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for expected in
        ["total cost (priced by reference)", "237.82", "247.30", "-3.83%", "greedy (reference)", "  B ", "2 (20%)"]
    {
        assert!(stdout.contains(expected), "the table lacks `{expected}`:\n{stdout}");
    }
    let page = report.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for external in ["<script", "<link", "src=", "href=", "url("] {
        assert!(!html.contains(external), "the page is self-contained, yet has `{external}`");
    }

    let profile = dir.path().join("chromium-profile");
    let url = format!("file://{}", page.display());
    let dom = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    for chart in ["cost-per-order", "shipments-per-order", "location-utilisation", "differences"] {
        assert!(dom.contains(&format!("data-chart=\"{chart}\"")), "chart {chart} is not in the rendered page");
    }
    assert!(dom.matches("class=\"bar\"").count() >= 10, "the charts have bars");
    assert!(dom.contains("<td>O1</td>"), "the differing orders are listed");
    // The stream's figures and what they rest on, as in the table.
    for expected in [
        "<td>extra shipments</td>",
        "<td>gap to the bound closed</td>",
        "reference, clairvoyant plan</th>",
        "<p class=\"note\">clairvoyant bound: 237.82: ",
        "the clairvoyant optimum costs between the bound and its 237.82.</p>",
    ] {
        assert!(dom.contains(expected), "the rendered page lacks `{expected}`");
    }

    let screenshot = dir.path().join("report.png");
    let shot = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,2000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    assert!(Path::new(&screenshot).metadata().unwrap().len() > 20_000, "the page painted something");
}

#[test]
fn simulate_compares_policies_on_a_scenario_with_kits() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-10-kits.json");
    let scenario = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let dsl = switchyard_dsl::load(
        "reference.policy",
        include_str!("../../examples/policies/reference.policy"),
        &switchyard_dsl::no_overrides(),
    )
    .unwrap()
    .0;
    let policies: Vec<(String, &dyn Policy)> =
        vec![("built-in".to_owned(), &scenario.policy), ("dsl".to_owned(), &dsl)];
    let simulation = simulate(&scenario, &policies, None, &StreamOptions::default(), &mut |_, _, _| {}).unwrap();
    let (native, dsl, greedy) =
        (&simulation.columns[0].summary, &simulation.columns[1].summary, &simulation.columns[2].summary);
    // Kits are routed alike by every column (the engine applies the kit rules, not the policy).
    assert!(close(native.total_cost, dsl.total_cost), "{} vs {}", native.total_cost, dsl.total_cost);
    assert_eq!(simulation.differing_from_first(1), 0);
    assert!(native.total_cost <= greedy.total_cost);
    // Kits left out whole are unfilled, and their penalty is in the cost.
    assert!(native.unfilled_units > 0);
    assert!(native.total_cost >= native.unfilled_units as f64 * 100.0);
    // Kits left out whole are priced as their own policy prices them.
    for column in &simulation.columns {
        assert!(close(column.priced.total_cost, column.summary.total_cost), "{}", column.label);
    }
}

// One price list: a store-first policy with cheaper parcel rates looked far cheaper than the
// reference when each column was priced by its own policy. Priced by the reference's cost
// model, its plans cost what the reference says they cost, its own (cheaper) figure beside;
// the plans that ship hazmat from stores without the capability (store-first has no such rule)
// are counted as forbidden. `--price-with` chooses the other model.
#[test]
fn simulate_prices_every_column_under_one_cost_model() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-50-small.json");
    let policy = |name: &str| format!("{}/examples/policies/{name}.policy", env!("CARGO_MANIFEST_DIR"));
    let run = |extra: &[String]| {
        let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args([
                "simulate",
                "--scenario",
                scenario,
                "--policy",
                &policy("reference"),
                "--policy",
                &policy("store-first"),
            ])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        stdout
    };
    let cells = |table: &str, row: &str| -> Vec<String> {
        let line = table.lines().find(|l| l.starts_with(row)).unwrap_or_else(|| panic!("no row `{row}`:\n{table}"));
        line[row.len()..].split_whitespace().map(str::to_owned).collect()
    };
    let by_reference = run(&[]);
    let total = cells(&by_reference, "total cost (priced by reference)");
    let own = cells(&by_reference, "the policy's own total cost");
    assert_eq!(own[0], "=", "{by_reference}");
    assert_eq!(own[2], "=", "the greedy baseline prices by the first policy:\n{by_reference}");
    let own_store_first: f64 = own[1].parse().unwrap();
    let priced_store_first: f64 = total[1].parse().unwrap();
    assert!(
        priced_store_first > own_store_first * 1.5,
        "store-first's own rates are far below the reference's:\n{by_reference}"
    );
    let forbidden = cells(&by_reference, "plans reference's rules forbid");
    assert_eq!(forbidden[0], "0");
    assert!(forbidden[1].parse::<usize>().unwrap() > 0, "{by_reference}");

    let by_store_first = run(&["--price-with".to_owned(), policy("store-first")]);
    let own = cells(&by_store_first, "the policy's own total cost");
    assert_eq!(own[1], "=", "{by_store_first}");
    assert_ne!(own[0], "=", "{by_store_first}");
    let total = cells(&by_store_first, "total cost (priced by store-first)");
    assert_eq!(total[1].parse::<f64>().unwrap(), own_store_first, "{by_store_first}");
    assert!(by_store_first.contains("priced by store-first's cost model"), "{by_store_first}");
}

// `--look-ahead` adds a column routed by the first policy with look-ahead prices, re-solved on
// the scenario's clock; priced by the first policy's model beside the others. (How much it
// saves is measured in docs/BENCHMARKS.md, not asserted.)
#[test]
fn simulate_adds_a_look_ahead_column() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["simulate", "--scenario", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-10-tiny.json")])
        .args(["--look-ahead", "1", "--look-ahead-every", "30"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let header = stdout.lines().nth(1).unwrap();
    assert_eq!(
        header.split("  ").filter(|c| !c.trim().is_empty()).map(str::trim).collect::<Vec<_>>(),
        ["reference", "reference + look-ahead", "greedy (reference)"]
    );
    let solves: usize = stdout
        .split("(look-ahead: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no look-ahead line:\n{stdout}"));
    // 200 orders over two days, re-solved every 30 minutes once an interval of history is in.
    assert!(solves > 40, "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
    let forbidden = stdout.lines().find(|l| l.starts_with("plans reference's rules forbid")).unwrap();
    assert!(forbidden.split_whitespace().skip(4).all(|n| n == "0"), "{forbidden}");

    for (weight, shown) in [("--look-ahead=-1", "-1"), ("--look-ahead=NaN", "NaN")] {
        let refused = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args([
                "simulate",
                "--scenario",
                concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-10-tiny.json"),
            ])
            .arg(weight)
            .output()
            .unwrap();
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(&format!("--look-ahead {shown}: the weight must be")), "{stderr}");
    }
}

// A first policy that declares `look ahead { ... }` gets the look-ahead column without the
// flag, with its own weight, history and horizon.
#[test]
fn simulate_prices_ahead_for_a_policy_that_declares_it() {
    let reference =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policies/reference.policy")).unwrap();
    let end = reference.rfind('}').unwrap();
    let looking = format!("{}  look ahead {{\n    weight = 1\n    history = 12h\n  }}\n}}\n", &reference[..end]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("looking.policy");
    std::fs::write(&path, looking).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["simulate", "--scenario", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-10-tiny.json")])
        .arg("--policy")
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let header = stdout.lines().nth(1).unwrap();
    assert_eq!(
        header.split("  ").filter(|c| !c.trim().is_empty()).map(str::trim).collect::<Vec<_>>(),
        ["looking", "looking + look-ahead", "greedy (looking)"]
    );
}

// `--bound`: the clairvoyant bound under the price list (the Lagrangian bound, and the LP
// relaxation's on streams this small, whichever is higher), and the clairvoyant plan, the whole
// stream re-planned together knowing every order. On the hand-computed scenario both are the
// optimum itself (237.82: routing the three orders together cannot do better than the optimizer
// did one by one, as O2 is short whatever happens); on us-10-tiny the bound lies below every
// column, the clairvoyant plan between it and per-order routing with no more units unfilled,
// and the table says how much of the gap each closes.
#[test]
fn simulate_bounds_the_stream_from_below() {
    let scenario = hand_computed();
    let policies: Vec<(String, &dyn Policy)> = vec![("built-in".to_owned(), &scenario.policy)];
    let simulation = simulate(
        &scenario,
        &policies,
        None,
        &StreamOptions { bound: Some(DEFAULT_BOUND_ROUNDS), ..StreamOptions::default() },
        &mut |_, _, _| {},
    )
    .unwrap();
    let (bound, _) = simulation.bound.clone().unwrap().unwrap();
    // An interior-point optimum: within its tolerance (1e-8 relative) of the vertex.
    assert!((bound.cost - 237.82).abs() < 1e-4, "{bound:?}");
    let labels: Vec<&str> = simulation.columns.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["built-in", "built-in, clairvoyant plan", "greedy (built-in)"]);
    let plan = &simulation.columns[1];
    assert!(plan.clairvoyant && (plan.priced.total_cost - 237.82).abs() < 1e-6, "{}", plan.priced.total_cost);

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-10-tiny.json");
    let scenario = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let policies: Vec<(String, &dyn Policy)> = vec![("reference".to_owned(), &scenario.policy)];
    let simulation = simulate(
        &scenario,
        &policies,
        None,
        &StreamOptions { bound: Some(DEFAULT_BOUND_ROUNDS), ..StreamOptions::default() },
        &mut |_, _, _| {},
    )
    .unwrap();
    let (bound, _) = simulation.bound.clone().unwrap().unwrap();
    assert!(bound.cost > 0.0);
    for column in &simulation.columns {
        assert!(
            bound.cost <= column.priced.total_cost + 0.01,
            "{}: {} < {bound:?}",
            column.label,
            column.priced.total_cost
        );
    }
    // Both bounds hold on their own, and `--bound` gives the higher.
    let inventory = scenario.fresh_inventory();
    let upper = simulation.columns[0].priced.total_cost;
    let settings = LagrangianSettings { iterations: DEFAULT_BOUND_ROUNDS, upper, threads: 2, warm_start: true };
    let lagrangian =
        lagrangian_bound(&scenario.catalog, &inventory, &scenario.policy, &scenario.orders, settings).unwrap();
    let lp = stream_bound(&scenario.catalog, &inventory, &scenario.policy, &scenario.orders).unwrap();
    assert!(lagrangian.cost > 0.0 && lagrangian.cost <= upper + 0.01, "{lagrangian:?}");
    assert!(lp.cost <= upper + 0.01, "{lp:?}");
    assert!((bound.cost - lagrangian.cost.max(lp.cost)).abs() < 1e-9, "{bound:?} {lagrangian:?} {lp:?}");
    let (alone, plan) = (&simulation.columns[0], &simulation.columns[1]);
    assert!(plan.clairvoyant && !alone.clairvoyant);
    assert!(
        plan.priced.total_cost < alone.priced.total_cost - 1.0,
        "{} {}",
        plan.priced.total_cost,
        alone.priced.total_cost
    );
    assert!(plan.summary.unfilled_units <= alone.summary.unfilled_units);
    assert_eq!((plan.priced.broken, plan.priced.failed), (0, 0));
    let table = simulation.table(0);
    assert!(table.contains("gap to the bound closed"), "{table}");
    assert!(table.contains("(clairvoyant bound: "), "{table}");
    assert!(
        table.contains(&format!(
            "the clairvoyant optimum costs between the bound and its {:.2})",
            plan.priced.total_cost
        )),
        "{table}"
    );
}

// `--release-after` adds a column of the first policy whose orders stay re-plannable for a
// while: on us-10-tiny with a day's window the passes keep moves, the stream costs less under
// the same price list with fewer extra shipments, no more unfilled units, and no plan the rules
// forbid; the table says what the passes did.
#[test]
fn simulate_reoptimises_the_unreleased_orders() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-10-tiny.json");
    let scenario = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let policies: Vec<(String, &dyn Policy)> = vec![("reference".to_owned(), &scenario.policy)];
    let options = StreamOptions {
        reoptimize: Some(Reoptimize { release_after: 86_400, every: 300, settings: ReoptimizeSettings::default() }),
        ..StreamOptions::default()
    };
    let simulation = simulate(&scenario, &policies, None, &options, &mut |_, _, _| {}).unwrap();
    let labels: Vec<&str> = simulation.columns.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["reference", "reference + re-optimised", "greedy (reference)"]);
    let (alone, pooled) = (&simulation.columns[0], &simulation.columns[1]);
    let run = pooled.pool.clone().unwrap();
    assert!(run.moves > 0 && run.orders_changed > 0 && run.saved > 0.0, "{run:?}");
    assert_eq!(run.failed, 0);
    assert!(
        pooled.priced.total_cost < alone.priced.total_cost - 1.0,
        "{} vs {}",
        pooled.priced.total_cost,
        alone.priced.total_cost
    );
    assert_eq!((pooled.priced.broken, pooled.failed), (0, 0));
    assert!(pooled.summary.unfilled_units <= alone.summary.unfilled_units);
    assert!(extra_shipments(&pooled.summary) < extra_shipments(&alone.summary));
    let table = simulation.table(0);
    assert!(table.contains("(reference + re-optimised: "), "{table}");

    // With the hourly full passes re-planning the pool under prices first: every plan still
    // one the rules allow, the stream still cheaper than routing alone.
    let settings = ReoptimizeSettings { replan_rounds: REPLAN_ROUNDS, ..ReoptimizeSettings::default() };
    let options = StreamOptions {
        reoptimize: Some(Reoptimize { release_after: 86_400, every: 300, settings }),
        ..StreamOptions::default()
    };
    let simulation = simulate(&scenario, &policies, None, &options, &mut |_, _, _| {}).unwrap();
    let replanned = &simulation.columns[1];
    let run = replanned.pool.clone().unwrap();
    assert!(run.replans_tried > 0 && run.replans_tried < run.passes, "{run:?}");
    assert_eq!(run.failed, 0);
    assert_eq!((replanned.priced.broken, replanned.priced.failed), (0, 0));
    assert!(replanned.summary.unfilled_units <= alone.summary.unfilled_units);
    assert!(replanned.priced.total_cost < alone.priced.total_cost - 1.0);
}

// With both `--look-ahead` and `--release-after` the table has a column with each and one with
// both, re-optimised at the look-ahead's pass weight; `--chain` sets the longest chain of
// exchanges a pass tries, from 2 (pairs) to 6, and `--replan-rounds` the rounds of the full
// passes' re-plan under prices (0 to 1000); both need release windows.
#[test]
fn simulate_combines_look_ahead_with_release_windows_and_takes_a_chain_length() {
    let simulate = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args([
                "simulate",
                "--scenario",
                concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-10-tiny.json"),
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let output = simulate(&["--look-ahead", "0.5", "--release-after", "1440", "--chain", "2", "--replan-rounds", "10"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let header = stdout.lines().nth(1).unwrap();
    assert_eq!(
        header.split("  ").filter(|c| !c.trim().is_empty()).map(str::trim).collect::<Vec<_>>(),
        [
            "reference",
            "reference + look-ahead",
            "reference + re-optimised",
            "reference + look-ahead + re-optimised",
            "greedy (reference)"
        ]
    );
    assert!(stdout.contains("(reference + look-ahead + re-optimised: "), "{stdout}");
    assert!(stdout.contains("re-plans under prices kept"), "{stdout}");
    // A day's window holds the whole day of demand look-ahead forecasts: the passes price none.
    assert!(stdout.contains("re-optimisation passes price it at weight 0.000,"), "{stdout}");
    let forbidden = stdout.lines().find(|l| l.starts_with("plans reference's rules forbid")).unwrap();
    assert!(forbidden.split_whitespace().skip(4).all(|n| n == "0"), "{forbidden}");

    // Six hours of a day's horizon inside the window: three quarters of the weight.
    let output = simulate(&["--look-ahead", "0.5", "--release-after", "360", "--replan-rounds", "5"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("re-optimisation passes price it at weight 0.375,"), "{stdout}");

    for (args, says) in [
        (&["--release-after", "60", "--chain", "7"][..], "--chain"),
        (&["--release-after", "60", "--chain", "1"][..], "--chain"),
        (&["--chain", "3"][..], "--release-after"),
        (&["--release-after", "60", "--replan-rounds", "1001"][..], "--replan-rounds"),
        (&["--replan-rounds", "30"][..], "--release-after"),
    ] {
        let refused = simulate(args);
        assert!(!refused.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
