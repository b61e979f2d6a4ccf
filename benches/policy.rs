//! Policy evaluation speed: the same routing rules (the scenario reference cost model:
//! capability exclusions, zoned rates by distance, handling) evaluated by the native Rust
//! policy, by our compiled policy language, by Rhai and by CEL (`cel-interpreter`), side by
//! side on the candidates of us-50-small's first 500 orders; plus the compile time of a
//! 1,000-rule policy.
//!
//! `cargo bench --bench policy`
//!
//! Before measuring, every engine's answers are summed and compared: a faster engine that
//! computes something else would not count.

// A benchmark whose setup fails has nothing to measure: it stops loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchyard::scenario::Scenario;
use switchyard_engine::{
    Candidate, CandidateLocation, Candidates, Evaluation, Order, Policy, PolicyRequest, Position, Verdict,
};

const ORDERS: usize = 500;
const ZONE_KM: [f64; 7] = [80.0, 241.0, 483.0, 966.0, 1609.0, 2253.0, 2897.0];
const PER_SHIPMENT: [f64; 8] = [7.50, 7.80, 8.20, 8.90, 9.80, 10.60, 11.40, 12.30];
const PER_KG: [f64; 8] = [0.66, 0.77, 0.99, 1.32, 1.76, 2.20, 2.54, 2.87];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Orders with their candidates, as the router would gather them on the starting stock.
fn requests(scenario: &Scenario) -> Vec<(Order, Candidates)> {
    let inventory = scenario.fresh_inventory();
    let mut out = Vec::new();
    for order in scenario.orders.iter().take(ORDERS) {
        let mut candidates = Candidates::default();
        candidates.clear();
        let mut positions: Vec<Position> = Vec::new();
        for line in &order.lines {
            positions.clear();
            inventory.positions_into(line.sku, &mut positions);
            for position in &positions {
                let slot = match candidates.locations.iter().position(|c| c.location == position.location) {
                    Some(slot) => slot,
                    None => {
                        let location = scenario.catalog.location(position.location);
                        candidates.locations.push(CandidateLocation {
                            location: position.location,
                            distance_km: location.position.distance_km(order.ship_to.position),
                            shipments_left: None,
                            blocked: None,
                        });
                        candidates.locations.len() - 1
                    }
                };
                candidates.entries.push(Candidate { slot: slot as u32, atp: position.atp() });
            }
            candidates.finish_line();
        }
        out.push((order.clone(), candidates));
    }
    out
}

fn total(evaluation: &Evaluation) -> f64 {
    evaluation
        .shipment
        .iter()
        .chain(&evaluation.units)
        .map(|v| match v {
            Verdict::Cost(c) => *c,
            _ => -1.0,
        })
        .sum()
}

fn run_policy(scenario: &Scenario, requests: &[(Order, Candidates)], policy: &dyn Policy, out: &mut Evaluation) -> f64 {
    let mut sum = 0.0;
    for (order, candidates) in requests {
        out.reset(candidates);
        let request =
            PolicyRequest { catalog: &scenario.catalog, order, now: order.placed_at, candidates, delivery: None };
        policy.evaluate(&request, out).unwrap();
        sum += total(out);
    }
    sum
}

/// The inputs of one line at one location, as script variables.
struct EntryInputs {
    distance_km: f64,
    weight_kg: f64,
    handling_per_unit: f64,
    is_hazmat: bool,
    can_hazmat: bool,
    is_cold: bool,
    can_cold: bool,
}

fn entry_inputs(scenario: &Scenario, order: &Order, candidates: &Candidates, line: usize, entry: usize) -> EntryInputs {
    let candidate = candidates.entries[entry];
    let where_ = &candidates.locations[candidate.slot as usize];
    let location = scenario.catalog.location(where_.location);
    let product = scenario.catalog.product(order.lines[line].sku);
    EntryInputs {
        distance_km: where_.distance_km,
        weight_kg: product.weight_kg,
        handling_per_unit: location.handling_per_unit,
        is_hazmat: product.has_tag("hazmat"),
        can_hazmat: location.can("hazmat"),
        is_cold: product.has_tag("cold_chain"),
        can_cold: location.can("cold_chain"),
    }
}

const RHAI_ZONE: &str = "let z = if distance_km <= 80.0 { 0 } else if distance_km <= 241.0 { 1 } else if distance_km <= 483.0 { 2 } \
     else if distance_km <= 966.0 { 3 } else if distance_km <= 1609.0 { 4 } else if distance_km <= 2253.0 { 5 } \
     else if distance_km <= 2897.0 { 6 } else { 7 };";

fn rhai_scripts() -> (rhai::Engine, rhai::AST, rhai::AST) {
    let engine = rhai::Engine::new();
    let unit = engine
        .compile(format!(
            "{RHAI_ZONE} if (is_hazmat && !can_hazmat) || (is_cold && !can_cold) {{ -1.0 }} \
             else {{ per_kg[z] * weight_kg + handling_per_unit }}"
        ))
        .unwrap();
    let shipment = engine.compile(format!("{RHAI_ZONE} per_shipment[z] + handling_per_shipment")).unwrap();
    (engine, unit, shipment)
}

fn run_rhai(
    scenario: &Scenario,
    requests: &[(Order, Candidates)],
    scripts: &(rhai::Engine, rhai::AST, rhai::AST),
) -> f64 {
    let (engine, unit, shipment) = scripts;
    let mut scope = rhai::Scope::new();
    scope.push_constant("per_kg", PER_KG.iter().map(|&x| rhai::Dynamic::from_float(x)).collect::<rhai::Array>());
    scope.push_constant(
        "per_shipment",
        PER_SHIPMENT.iter().map(|&x| rhai::Dynamic::from_float(x)).collect::<rhai::Array>(),
    );
    let base = scope.len();
    let mut sum = 0.0;
    for (order, candidates) in requests {
        for candidate in &candidates.locations {
            scope.rewind(base);
            scope.push("distance_km", candidate.distance_km);
            scope.push("handling_per_shipment", scenario.catalog.location(candidate.location).handling_per_shipment);
            sum += engine.eval_ast_with_scope::<f64>(&mut scope, shipment).unwrap();
        }
        for line in 0..order.lines.len() {
            for entry in candidates.line_range(line) {
                let inputs = entry_inputs(scenario, order, candidates, line, entry);
                scope.rewind(base);
                scope.push("distance_km", inputs.distance_km);
                scope.push("weight_kg", inputs.weight_kg);
                scope.push("handling_per_unit", inputs.handling_per_unit);
                scope.push("is_hazmat", inputs.is_hazmat);
                scope.push("can_hazmat", inputs.can_hazmat);
                scope.push("is_cold", inputs.is_cold);
                scope.push("can_cold", inputs.can_cold);
                sum += engine.eval_ast_with_scope::<f64>(&mut scope, unit).unwrap();
            }
        }
    }
    sum
}

fn cel_zone() -> String {
    let mut zone = String::from("7");
    for (index, bound) in ZONE_KM.iter().enumerate().rev() {
        zone = format!("(distance_km <= {bound:.1} ? {index} : {zone})");
    }
    zone
}

fn cel_list(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:.2}")).collect();
    format!("[{}]", items.join(", "))
}

fn cel_programs() -> (cel_interpreter::Program, cel_interpreter::Program) {
    let zone = cel_zone();
    let unit = cel_interpreter::Program::compile(&format!(
        "(is_hazmat && !can_hazmat) || (is_cold && !can_cold) ? -1.0 : {}[{zone}] * weight_kg + handling_per_unit",
        cel_list(&PER_KG)
    ))
    .unwrap();
    let shipment =
        cel_interpreter::Program::compile(&format!("{}[{zone}] + handling_per_shipment", cel_list(&PER_SHIPMENT)))
            .unwrap();
    (unit, shipment)
}

fn cel_number(value: cel_interpreter::Value) -> f64 {
    match value {
        cel_interpreter::Value::Float(x) => x,
        cel_interpreter::Value::Int(x) => x as f64,
        other => panic!("CEL answered {other:?}"),
    }
}

fn run_cel(
    scenario: &Scenario,
    requests: &[(Order, Candidates)],
    programs: &(cel_interpreter::Program, cel_interpreter::Program),
) -> f64 {
    let (unit, shipment) = programs;
    let mut sum = 0.0;
    for (order, candidates) in requests {
        for candidate in &candidates.locations {
            let mut context = cel_interpreter::Context::default();
            context.add_variable_from_value("distance_km", candidate.distance_km);
            context.add_variable_from_value(
                "handling_per_shipment",
                scenario.catalog.location(candidate.location).handling_per_shipment,
            );
            sum += cel_number(shipment.execute(&context).unwrap());
        }
        for line in 0..order.lines.len() {
            for entry in candidates.line_range(line) {
                let inputs = entry_inputs(scenario, order, candidates, line, entry);
                let mut context = cel_interpreter::Context::default();
                context.add_variable_from_value("distance_km", inputs.distance_km);
                context.add_variable_from_value("weight_kg", inputs.weight_kg);
                context.add_variable_from_value("handling_per_unit", inputs.handling_per_unit);
                context.add_variable_from_value("is_hazmat", inputs.is_hazmat);
                context.add_variable_from_value("can_hazmat", inputs.can_hazmat);
                context.add_variable_from_value("is_cold", inputs.is_cold);
                context.add_variable_from_value("can_cold", inputs.can_cold);
                sum += cel_number(unit.execute(&context).unwrap());
            }
        }
    }
    sum
}

/// A policy with `rules` exclusion rules over several fields, plus the reference costs.
pub fn big_policy(rules: usize) -> String {
    let mut source = String::from(
        "policy big v1 applies to all groups {\n  bands zone { up to 80: 1, up to 241: 2, up to 483: 3, up to 966: 4, up to 1609: 5, up to 2253: 6, up to 2897: 7, beyond: 8 }\n  table per_kg { 1: $0.66, 2: $0.77, 3: $0.99, 4: $1.32, 5: $1.76, 6: $2.20, 7: $2.54, 8: $2.87 }\n  let z = zone[distance_km]\n",
    );
    for n in 0..rules {
        source.push_str(&format!(
            "  exclude \"rule {n}\" when item.weight_kg > {}.5 and location.kind == \"store\" and distance_km > {} or item.has_tag(\"tag{n}\")\n",
            1000 + n,
            n * 3
        ));
    }
    source.push_str("  unit cost = per_kg[z] * item.weight_kg + location.handling_per_unit\n  shipment cost = $7.50 + location.handling_per_shipment\n}\n");
    source
}

fn policies(c: &mut Criterion) {
    let scenario =
        Scenario::from_json(&std::fs::read_to_string(root().join("examples/scenarios/us-50-small.json")).unwrap())
            .unwrap();
    let requests = requests(&scenario);
    let entries: usize = requests.iter().map(|(_, c)| c.entries.len() + c.locations.len()).sum();
    let source = std::fs::read_to_string(root().join("examples/policies/reference.policy")).unwrap();
    let (dsl, _) = switchyard_dsl::load("reference.policy", &source, &switchyard_dsl::no_overrides()).unwrap();
    let rhai = rhai_scripts();
    let cel = cel_programs();
    let mut evaluation = Evaluation::default();

    // Same answers from every engine, or the comparison means nothing.
    let native_total = run_policy(&scenario, &requests, &scenario.policy, &mut evaluation);
    let dsl_total = run_policy(&scenario, &requests, &dsl, &mut evaluation);
    let rhai_total = run_rhai(&scenario, &requests, &rhai);
    let cel_total = run_cel(&scenario, &requests, &cel);
    for (name, value) in [("dsl", dsl_total), ("rhai", rhai_total), ("cel", cel_total)] {
        assert!(
            (value - native_total).abs() < 1e-6 * native_total.abs().max(1.0),
            "{name} {value} vs native {native_total}"
        );
    }
    println!("policy evaluation: {} orders, {entries} evaluations (locations + line options) per pass", requests.len());

    let mut group = c.benchmark_group("policy_eval/us-50-small-500-orders");
    group.throughput(Throughput::Elements(entries as u64));
    group.bench_function("native", |b| {
        b.iter(|| black_box(run_policy(&scenario, &requests, &scenario.policy, &mut evaluation)))
    });
    group.bench_function("switchyard-dsl", |b| {
        b.iter(|| black_box(run_policy(&scenario, &requests, &dsl, &mut evaluation)))
    });
    group.bench_function("rhai", |b| b.iter(|| black_box(run_rhai(&scenario, &requests, &rhai))));
    group.bench_function("cel-interpreter", |b| b.iter(|| black_box(run_cel(&scenario, &requests, &cel))));
    group.finish();

    let big = big_policy(1000);
    let (compiled, _) = switchyard_dsl::load("big.policy", &big, &switchyard_dsl::no_overrides()).unwrap();
    assert_eq!(compiled.rule_count(), 1000);
    let mut group = c.benchmark_group("policy_compile");
    group.sample_size(20);
    group.bench_function("1000-rules", |b| {
        b.iter(|| black_box(switchyard_dsl::load("big.policy", &big, &switchyard_dsl::no_overrides()).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, policies);
criterion_main!(benches);
