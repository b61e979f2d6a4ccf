//! The policy language end to end: the DSL reference policy routes exactly like the native
//! one, and `switchyard check`, `test` and `route --policy` behave as a user expects.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use switchyard::replay::replay;
use switchyard::scenario::Scenario;
use switchyard_engine::RouterConfig;

use crate::cli::example;

fn root(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path).display().to_string()
}

fn switchyard(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard")).args(args).output().expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_dsl_reference_policy_routes_us_50_small_exactly_like_the_native_one() {
    let scenario = Scenario::from_json(&std::fs::read_to_string(example("us-50-small.json")).unwrap()).unwrap();
    let source = std::fs::read_to_string(root("examples/policies/reference.policy")).unwrap();
    let (dsl, warnings) = switchyard_dsl::load("reference.policy", &source, &switchyard_dsl::no_overrides()).unwrap();
    assert!(warnings.items.is_empty());
    let config = RouterConfig::default();
    let native = replay(&scenario, &scenario.policy, &config, &HashSet::new());
    let by_dsl = replay(&scenario, &dsl, &config, &HashSet::new());
    assert_eq!(native.plans.len(), 2000);
    for (native, by_dsl) in native.plans.iter().zip(&by_dsl.plans) {
        assert_eq!(native.shipments, by_dsl.shipments, "{}", native.order_id);
        assert_eq!(native.unfilled, by_dsl.unfilled, "{}", native.order_id);
        assert_eq!(native.cost, by_dsl.cost, "{}: costs must be identical to the cent and beyond", native.order_id);
        assert_eq!(native.optimal, by_dsl.optimal);
    }
}

#[test]
fn check_accepts_every_example_policy() {
    let files: Vec<String> = ["reference", "store-first", "special-handling", "b2b-ship-complete", "regional-dcs"]
        .iter()
        .map(|name| root(&format!("examples/policies/{name}.policy")))
        .collect();
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let (ok, stdout, stderr) = switchyard(&args);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "5 policy file(s) ok, 0 warning(s)");
}

#[test]
fn check_reports_every_error_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("switchyard-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.policy");
    std::fs::write(
        &bad,
        "policy bad v1 applies to all groups {\n  unit cost = 2\n  shipment cost = $1 + distnce_km\n}\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = switchyard(&["check", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("`unit cost` must be money, found number"), "{stderr}");
    assert!(stderr.contains("unknown name `distnce_km`"), "{stderr}");
    assert!(stderr.contains("help: did you mean `distance_km`?"), "{stderr}");
    assert!(stderr.contains(&format!("{}:3:24", bad.display())), "{stderr}");
    assert!(stderr.contains("error: 1 of 1 policy file(s) have errors"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn policy_tests_of_the_examples_pass_and_a_wrong_expectation_fails() {
    let files: Vec<String> =
        ["store-first", "special-handling", "b2b-ship-complete", "regional-dcs", "promised-delivery"]
            .iter()
            .map(|name| root(&format!("examples/policies/{name}.test.toml")))
            .collect();
    let mut args = vec!["test"];
    args.extend(files.iter().map(String::as_str));
    let (ok, stdout, stderr) = switchyard(&args);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.ends_with("23 passed, 0 failed\n"), "{stdout}");

    // The same network with one expectation changed: the case fails, the others pass.
    let original = std::fs::read_to_string(root("examples/policies/store-first.test.toml")).unwrap();
    let wrong = original.replace("cost = 9.25", "cost = 9.50").replace(
        "policy = \"store-first.policy\"",
        &format!("policy = {:?}", root("examples/policies/store-first.policy")),
    );
    let dir = std::env::temp_dir().join(format!("switchyard-policy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wrong.test.toml");
    std::fs::write(&path, wrong).unwrap();
    let (ok, stdout, _) = switchyard(&["test", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stdout.contains(
            "FAIL  a tee ships from the Manhattan store, not the nearer-priced DC: cost: expected 9.50, got 9.2500"
        ),
        "{stdout}"
    );
    assert!(stdout.ends_with("4 passed, 1 failed\n"), "{stdout}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn route_with_a_policy_explains_exclusions_by_rule_name() {
    let (ok, _, stderr) = switchyard(&[
        "route",
        "--scenario",
        example("us-10-tiny.json").to_str().unwrap(),
        "--policy",
        &root("examples/policies/reference.policy"),
        "--explain",
        "O-000039",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("DC-60441       1184.2 km  atp     8  excluded by rule \"requires capability `hazmat`\""),
        "{stderr}"
    );
    assert!(stderr.contains("cost 100.0000 = shipments 0.0000 + units 0.0000"), "{stderr}");
}

#[test]
fn params_change_without_editing_the_policy() {
    let scenario = example("us-10-tiny.json");
    let policy = root("examples/policies/reference.policy");
    let shipments = |extra: &[&str]| {
        let mut args = vec!["route", "--scenario", scenario.to_str().unwrap(), "--policy", &policy];
        args.extend(extra);
        let (ok, _, stderr) = switchyard(&args);
        assert!(ok, "{stderr}");
        let summary = stderr.lines().find(|l| l.contains("shipments")).unwrap().to_owned();
        let count: usize =
            summary.split(", ").find(|p| p.ends_with("shipments")).unwrap().split(' ').next().unwrap().parse().unwrap();
        count
    };
    let default = shipments(&[]);
    let single = shipments(&["--param", "max_shipments=1"]);
    assert!(single < default, "one shipment per order: {single} vs {default}");
    let (ok, _, stderr) = switchyard(&[
        "route",
        "--scenario",
        scenario.to_str().unwrap(),
        "--policy",
        &policy,
        "--param",
        "max_shipmentz=1",
    ]);
    assert!(!ok);
    assert!(stderr.contains("--param `max_shipmentz`: the policy has no such param"), "{stderr}");
}

#[test]
fn a_param_override_of_the_wrong_type_is_refused_with_the_place() {
    let scenario = example("us-10-tiny.json");
    let policy = root("examples/policies/reference.policy");
    let (ok, _, stderr) = switchyard(&[
        "route",
        "--scenario",
        scenario.to_str().unwrap(),
        "--policy",
        &policy,
        "--param",
        "split_penalty=3",
    ]);
    assert!(!ok);
    assert!(stderr.contains("the override of `split_penalty` is a number, the param is money"), "{stderr}");
    assert!(stderr.contains("reference.policy:12:25"), "{stderr}");
    assert!(stderr.contains("help: give the override in the same type, e.g. `$2.50` for money"), "{stderr}");
    let (ok, _, stderr) = switchyard(&[
        "route",
        "--scenario",
        scenario.to_str().unwrap(),
        "--policy",
        &policy,
        "--param",
        "split_penalty=$3",
    ]);
    assert!(ok, "{stderr}");
}
