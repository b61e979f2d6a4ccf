//! Routing end to end on a hand-made network with the reference policy: exclusions, downtime,
//! capacity, rejection, explanations, invalid orders and policies, concurrent orders, and plans
//! a policy chose itself.

use std::sync::Arc;
use std::thread;

use switchyard_engine::{
    Address, CandidateStatus, Catalog, Downtime, Evaluation, ExcludingPolicy, FallbackPolicy, GeoPoint, Inventory,
    Location, LocationKind, Order, OrderLine, PlanStatus, PlannedUnits, Policy, PolicyError, PolicyInfo, PolicyRequest,
    RateCard, ReferencePolicy, ReferenceSettings, Router, RouterConfig, RoutingError, ShortStock, SkuId, Timestamp,
    Verdict, Workspace, Zone,
};

const NOON: Timestamp = Timestamp(1_795_694_400); // 2026-11-26T12:00:00Z

fn location(id: &str, lat: f64, lon: f64, capabilities: &[&str]) -> Location {
    Location {
        id: id.into(),
        kind: if id.starts_with("DC") { LocationKind::DistributionCentre } else { LocationKind::Store },
        position: GeoPoint { lat, lon },
        handling_per_shipment: 1.0,
        handling_per_unit: 0.25,
        capacity_shipments_per_day: None,
        downtime: vec![],
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        priority: 0,
        utc_offset_minutes: 0,
        fulfilment: switchyard_engine::calendar::Fulfilment::default(),
    }
}

/// New York area customer; a DC in New Jersey (near), one in Chicago (far), a store in
/// Manhattan that is down at noon, a store in Brooklyn with no capacity left.
fn network() -> (Catalog, Inventory) {
    let mut catalog = Catalog::new();
    catalog.add_location(location("DC-NJ", 40.73, -74.17, &[])).unwrap();
    catalog.add_location(location("DC-CHI", 41.88, -87.63, &["hazmat"])).unwrap();
    let mut manhattan = location("ST-MAN", 40.75, -73.99, &[]);
    manhattan.downtime.push(Downtime { from: Timestamp(NOON.0 - 3600), to: Timestamp(NOON.0 + 3600) });
    catalog.add_location(manhattan).unwrap();
    let mut brooklyn = location("ST-BK", 40.68, -73.94, &[]);
    brooklyn.capacity_shipments_per_day = Some(0);
    catalog.add_location(brooklyn).unwrap();
    catalog.add_product(product("TEE", 0.3, &[])).unwrap();
    catalog.add_product(product("SOLVENT", 1.0, &["hazmat"])).unwrap();
    catalog.add_product(product("MUG", 0.5, &[])).unwrap();
    let inventory = Inventory::new();
    let id = |name: &str| catalog.location_id(name).unwrap();
    let sku = |name: &str| catalog.sku_id(name).unwrap();
    for store in ["DC-NJ", "DC-CHI", "ST-MAN", "ST-BK"] {
        inventory.set_stock(sku("TEE"), id(store), 10, 0);
    }
    inventory.set_stock(sku("SOLVENT"), id("DC-NJ"), 10, 0);
    inventory.set_stock(sku("SOLVENT"), id("DC-CHI"), 10, 0);
    inventory.set_stock(sku("MUG"), id("DC-NJ"), 2, 2);
    inventory.set_stock(sku("MUG"), id("DC-CHI"), 1, 0);
    (catalog, inventory)
}

fn product(sku: &str, weight_kg: f64, tags: &[&str]) -> switchyard_engine::Product {
    switchyard_engine::Product {
        sku: sku.into(),
        group: "general".into(),
        weight_kg,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

fn policy() -> ReferencePolicy {
    let zone = |zone, max_distance_km, per_shipment, per_kg| Zone { zone, max_distance_km, per_shipment, per_kg };
    let rate_card = RateCard::new(vec![zone(1, Some(100.0), 5.0, 0.5), zone(2, None, 12.0, 2.0)]).unwrap();
    ReferencePolicy::new(
        rate_card,
        ReferenceSettings {
            max_shipments: 2,
            split_penalty: 2.0,
            unfilled_penalty: 50.0,
            required_capabilities: vec!["hazmat".into()],
        },
    )
}

fn order(catalog: &Catalog, id: &str, lines: &[(&str, u32)]) -> Order {
    Order {
        id: id.into(),
        placed_at: NOON,
        channel: "web".into(),
        ship_to: Address {
            position: GeoPoint { lat: 40.71, lon: -74.0 },
            postal_code: "10007".into(),
            country: "US".into(),
        },
        lines: lines
            .iter()
            .enumerate()
            .map(|(index, (sku, qty))| OrderLine {
                id: format!("{}", index + 1),
                sku: catalog.sku_id(sku).unwrap(),
                qty: *qty,
                kit: None,
            })
            .collect(),
    }
}

#[test]
fn the_explanation_gives_every_candidate_its_status() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let order = order(&catalog, "O-1", &[("TEE", 2), ("SOLVENT", 1), ("MUG", 1)]);
    let (plan, explanation) = router.explain(&order, &mut Workspace::default()).unwrap();
    let text = explanation.display(&catalog).to_string();
    let expected = "\
order O-1 (policy reference v1)
  line 1 TEE x2
    DC-NJ            14.5 km  atp    10  beaten: 0.4000/unit (shipment 6.0000), shipped from DC-CHI instead
    DC-CHI         1144.9 km  atp    10  CHOSEN x2 at 0.8500/unit (shipment 13.0000)
    ST-MAN            4.5 km  atp    10  blocked: location in planned downtime
    ST-BK             6.1 km  atp    10  blocked: daily shipment capacity reached
  line 2 SOLVENT x1
    DC-NJ            14.5 km  atp    10  excluded by rule \"requires capability `hazmat`\"
    DC-CHI         1144.9 km  atp    10  CHOSEN x1 at 2.2500/unit (shipment 13.0000)
  line 3 MUG x1
    DC-NJ            14.5 km  atp     0  no stock available
    DC-CHI         1144.9 km  atp     1  CHOSEN x1 at 1.2500/unit (shipment 13.0000)
  cost 18.2000 = shipments 13.0000 + units 5.2000 + split penalty 0.0000 + unfilled penalty 0.0000
  proved optimal";
    assert!(text.starts_with(expected), "got:\n{text}");
    assert_eq!(plan.shipments.len(), 1, "one parcel from Chicago beats a second one from New Jersey");
    assert!(matches!(explanation.lines[0].candidates[1].status, CandidateStatus::Chosen { qty: 2, .. }));
}

#[test]
fn a_reserved_decision_is_explained_as_a_dry_run_explains_it_on_the_stock_before() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let order = order(&catalog, "O-1", &[("TEE", 2), ("SOLVENT", 1), ("MUG", 1)]);
    let (dry_plan, dry) = router.explain(&order, &mut Workspace::default()).unwrap();
    let (routed, explained) = router.route_reserve_and_explain(&order, &mut Workspace::default()).unwrap();
    assert_eq!(routed.plan, dry_plan);
    assert!(routed.reservation.is_some());
    // The stock the decision saw (the mug's last unit at DC-CHI), not what is left after it.
    assert_eq!(explained.lines[2].candidates[1].atp, 1);
    assert_eq!(inventory.network_atp(catalog.sku_id("MUG").unwrap()), 0);
    assert_eq!(explained.display(&catalog).to_string(), dry.display(&catalog).to_string());
}

#[test]
fn capacity_used_by_earlier_orders_moves_later_orders_elsewhere() {
    let (mut catalog, inventory) = network();
    // Rebuild with a capacity of one shipment a day at the New Jersey DC.
    let mut rebuilt = Catalog::new();
    for location in catalog.locations() {
        let mut location = location.clone();
        if location.id == "DC-NJ" {
            location.capacity_shipments_per_day = Some(1);
        }
        rebuilt.add_location(location).unwrap();
    }
    for product in catalog.products() {
        rebuilt.add_product(product.clone()).unwrap();
    }
    catalog = rebuilt;
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let mut workspace = Workspace::default();
    let first = router.route_and_reserve(&order(&catalog, "O-1", &[("TEE", 1)]), &mut workspace).unwrap();
    let second = router.route_and_reserve(&order(&catalog, "O-2", &[("TEE", 1)]), &mut workspace).unwrap();
    let name = |plan: &switchyard_engine::Plan| catalog.location(plan.shipments[0].location).id.clone();
    assert_eq!(name(&first.plan), "DC-NJ");
    assert_eq!(name(&second.plan), "DC-CHI", "DC-NJ's one shipment of the day is used");
}

#[test]
fn short_stock_is_unfilled_at_the_penalty_or_rejects_the_order() {
    let (catalog, inventory) = network();
    let partial = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &partial, config: &config };
    let mugs = order(&catalog, "O-1", &[("MUG", 3)]);
    let plan = router.plan(&mugs, &mut Workspace::default()).unwrap();
    assert_eq!(plan.status, PlanStatus::Routed);
    assert_eq!(plan.unfilled_units(), 2);
    assert_eq!(plan.cost.unfilled_penalty, 100.0);

    let strict = Strict(policy());
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &strict, config: &config };
    let routed = router.route_and_reserve(&mugs, &mut Workspace::default()).unwrap();
    assert!(matches!(&routed.plan.status, PlanStatus::Rejected { reason } if reason.contains("2 unit(s) cannot ship")));
    assert!(routed.plan.shipments.is_empty() && routed.reservation.is_none());
    assert_eq!(inventory.totals().1, 0, "a rejected order reserves nothing");
}

/// The reference policy with `ShortStock::Reject`.
struct Strict(ReferencePolicy);

impl Policy for Strict {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::new(PolicyInfo { name: "strict".into(), version: "1".into() })
    }
    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.0.evaluate(request, out)?;
        out.short_stock = ShortStock::Reject;
        Ok(())
    }
}

#[test]
fn invalid_orders_name_the_field_and_reserve_nothing() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig { max_lines: 3, ..RouterConfig::default() };
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let good = order(&catalog, "O-1", &[("TEE", 1), ("MUG", 1)]);
    type Breakage = Box<dyn Fn(&mut Order)>;
    let cases: Vec<(Breakage, &str)> = vec![
        (Box::new(|o| o.lines[1].qty = 0), "lines[1].qty: must be at least 1"),
        (Box::new(|o| o.lines[1].id = "1".into()), "lines[1].id: line id `1` appears twice"),
        (Box::new(|o| o.lines.clear()), "lines: an order needs at least one line"),
        (Box::new(|o| o.lines[0].sku = SkuId(99)), "lines[0].sku: unknown sku"),
        (Box::new(|o| o.id.clear()), "id: must not be empty"),
        (Box::new(|o| o.ship_to.position.lat = f64::NAN), "ship_to: lat/lon must be finite degrees in range"),
        (Box::new(|o| o.lines = vec![o.lines[0].clone(); 4]), "lines: 4 lines is more than the limit of 3"),
    ];
    for (break_it, expected) in cases {
        let mut bad = good.clone();
        break_it(&mut bad);
        let error = router.route_and_reserve(&bad, &mut Workspace::default()).unwrap_err();
        assert!(matches!(error, RoutingError::InvalidOrder(_)));
        assert!(error.to_string().starts_with(&format!("invalid order: {expected}")), "{error}");
    }
    assert_eq!(inventory.totals().1, 0);
}

/// A policy that fails or answers nonsense is an error naming it, never a panic or a plan.
#[test]
fn a_failing_or_lying_policy_is_an_error_naming_it() {
    struct Failing;
    impl Policy for Failing {
        fn info(&self) -> Arc<PolicyInfo> {
            Arc::new(PolicyInfo { name: "broken".into(), version: "7".into() })
        }
        fn evaluate(&self, _: &PolicyRequest<'_>, _: &mut Evaluation) -> Result<(), PolicyError> {
            Err(PolicyError { policy: "broken@7".into(), message: "trapped: unreachable".into() })
        }
    }
    struct Negative;
    impl Policy for Negative {
        fn info(&self) -> Arc<PolicyInfo> {
            Arc::new(PolicyInfo { name: "negative".into(), version: "1".into() })
        }
        fn evaluate(&self, _: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
            out.shipment.iter_mut().for_each(|v| *v = Verdict::Cost(-1.0));
            Ok(())
        }
    }
    let (catalog, inventory) = network();
    let config = RouterConfig::default();
    let tee = order(&catalog, "O-1", &[("TEE", 1)]);
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &Failing, config: &config };
    let error = router.route_and_reserve(&tee, &mut Workspace::default()).unwrap_err();
    assert_eq!(error.to_string(), "policy `broken@7` failed: trapped: unreachable");
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &Negative, config: &config };
    let error = router.route_and_reserve(&tee, &mut Workspace::default()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("policy `negative@1` gave an invalid answer: the shipment cost at `")
            && message.ends_with("` is -1: a cost is a finite number from 0 to 1000000000"),
        "{message}"
    );
    assert_eq!(inventory.totals().1, 0);
}

/// Finite but huge costs would add up to infinity (and a plan with no cost): a cost over
/// `MAX_COST` is refused as an invalid answer naming what and where, so every total the
/// optimizer forms stays finite.
#[test]
fn costs_past_the_limit_are_an_invalid_answer_not_an_infinite_plan() {
    struct Huge;
    impl Policy for Huge {
        fn info(&self) -> Arc<PolicyInfo> {
            Arc::new(PolicyInfo { name: "huge".into(), version: "1".into() })
        }
        fn evaluate(&self, _: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
            out.shipment.iter_mut().for_each(|v| *v = Verdict::Cost(1.0));
            out.units.iter_mut().for_each(|v| *v = Verdict::Cost(1e300));
            Ok(())
        }
    }
    let (catalog, inventory) = network();
    let config = RouterConfig::default();
    let tee = order(&catalog, "O-1", &[("TEE", 1)]);
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &Huge, config: &config };
    let error = router.route_and_reserve(&tee, &mut Workspace::default()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("the unit cost of line 1 at `") && message.contains("is 1e300"), "{message}");
    assert!(switchyard_engine::is_cost(switchyard_engine::MAX_COST) && !switchyard_engine::is_cost(f64::INFINITY));
    assert_eq!(inventory.totals().1, 0);
}

/// Many threads order the last units of a SKU through the router at once: exactly the
/// stock is sold, and each thread's plans are what it reserved.
#[test]
fn concurrent_orders_through_the_router_never_oversell() {
    let (catalog, inventory) = network();
    let catalog = Arc::new(catalog);
    let inventory = Arc::new(inventory);
    let policy = Arc::new(policy());
    let threads: Vec<_> = (0..6)
        .map(|thread| {
            let (catalog, inventory, policy) = (Arc::clone(&catalog), Arc::clone(&inventory), Arc::clone(&policy));
            thread::spawn(move || {
                let config = RouterConfig::default();
                let router =
                    Router { catalog: &catalog, inventory: &inventory, policy: policy.as_ref(), config: &config };
                let mut workspace = Workspace::default();
                let mut shipped = 0u64;
                for n in 0..40 {
                    let order = order(&catalog, &format!("O-{thread}-{n}"), &[("SOLVENT", 1 + n % 2), ("TEE", 1)]);
                    let routed = router.route_and_reserve(&order, &mut workspace).unwrap();
                    shipped += routed.plan.shipped_units();
                }
                shipped
            })
        })
        .collect();
    let shipped: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let (_, reserved) = inventory.totals();
    assert_eq!(reserved, shipped);
    let solvent = catalog.sku_id("SOLVENT").unwrap();
    let chicago = catalog.location_id("DC-CHI").unwrap();
    let position = inventory.position(solvent, chicago).unwrap();
    assert_eq!(position.reserved, 10, "all hazmat stock at the only hazmat DC is sold, and no more");
    assert_eq!(inventory.position(solvent, catalog.location_id("DC-NJ").unwrap()).unwrap().reserved, 0);
}

/// A failing policy's orders are decided by the fallback, and the plan says so.
#[test]
fn a_fallback_decides_when_the_policy_fails() {
    struct Failing;
    impl Policy for Failing {
        fn info(&self) -> Arc<PolicyInfo> {
            Arc::new(PolicyInfo { name: "plugin".into(), version: "abc".into() })
        }
        fn evaluate(&self, _: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
            out.shipment.iter_mut().for_each(|v| *v = Verdict::Cost(1.0));
            Err(PolicyError { policy: "plugin@abc".into(), message: "ran out of fuel".into() })
        }
    }
    let (catalog, inventory) = network();
    let config = RouterConfig::default();
    let fallback = switchyard_engine::FallbackPolicy::new(Arc::new(Failing), Arc::new(policy()));
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &fallback, config: &config };
    let plan = router.plan(&order(&catalog, "O-1", &[("TEE", 1)]), &mut Workspace::default()).unwrap();
    assert_eq!(plan.status, PlanStatus::Routed);
    assert_eq!(plan.policy.name, "reference", "the fallback decided");
    // Both failing: one error with both reasons.
    let both = switchyard_engine::FallbackPolicy::new(Arc::new(Failing), Arc::new(Failing));
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &both, config: &config };
    let error = router.plan(&order(&catalog, "O-2", &[("TEE", 1)]), &mut Workspace::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "policy `plugin@abc` failed: policy `plugin@abc` failed: ran out of fuel; fallback: ran out of fuel"
    );
}

/// The reference policy, with split rules changed and a plan of its own: (line, location,
/// units) entries.
struct OwnPlan {
    plan: Vec<(usize, &'static str, u32)>,
    rules: fn(&mut Evaluation),
}

impl Policy for OwnPlan {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::new(PolicyInfo { name: "own-plan".into(), version: "1".into() })
    }
    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        policy().evaluate(request, out)?;
        (self.rules)(out);
        let candidates = request.candidates;
        let plan = self.plan.iter().map(|&(line, location, qty)| {
            let entry = candidates
                .line_range(line)
                .find(|&entry| {
                    let slot = candidates.entries[entry].slot as usize;
                    request.catalog.location(candidates.locations[slot].location).id == location
                })
                .unwrap_or_else(|| panic!("no candidate of line {line} at {location}"));
            PlannedUnits { candidate: entry as u32, qty }
        });
        out.plan = Some(plan.collect());
        Ok(())
    }
}

#[test]
fn a_policys_own_plan_is_reserved_as_chosen_or_refused_with_the_rule_it_breaks() {
    let (catalog, inventory) = network();
    let config = RouterConfig::default();
    let route = |policy: &OwnPlan, lines: &[(&str, u32)]| {
        let router = Router { catalog: &catalog, inventory: &inventory, policy, config: &config };
        router.route_and_reserve(&order(&catalog, "O-1", lines), &mut Workspace::default())
    };
    let keep = |_: &mut Evaluation| {};

    // Two tees from Chicago, where the optimizer would ship from New Jersey: reserved there.
    let routed = route(&OwnPlan { plan: vec![(0, "DC-CHI", 2)], rules: keep }, &[("TEE", 2)]).unwrap();
    assert_eq!(routed.plan.status, PlanStatus::Routed);
    assert_eq!(routed.plan.shipments.len(), 1);
    assert_eq!(catalog.location(routed.plan.shipments[0].location).id, "DC-CHI");
    assert!(!routed.plan.optimal);
    let tee_at_chicago = inventory.position(catalog.sku_id("TEE").unwrap(), catalog.location_id("DC-CHI").unwrap());
    assert_eq!(tee_at_chicago.map(|p| p.atp()), Some(8));

    let refused = |policy: OwnPlan, lines: &[(&str, u32)]| match route(&policy, lines) {
        Err(RoutingError::InvalidPlan { policy, message }) => {
            assert_eq!(policy, "own-plan@1");
            message
        }
        other => panic!("expected the plan to be refused, got {other:?}"),
    };
    // Solvent needs a hazmat site; New Jersey is not one (the reference policy excludes it).
    assert_eq!(
        refused(OwnPlan { plan: vec![(0, "DC-NJ", 1)], rules: keep }, &[("SOLVENT", 1)]),
        "`plan[0]` uses candidate 0 (line 0), which is excluded, blocked, without stock, or dearer per unit than \
         leaving the unit unfilled"
    );
    // The Manhattan store is down at noon.
    assert!(
        refused(OwnPlan { plan: vec![(0, "ST-MAN", 1)], rules: keep }, &[("TEE", 1)])
            .contains("which is excluded, blocked, without stock")
    );
    let no_split = |out: &mut Evaluation| out.split.line_may_split[0] = false;
    assert_eq!(
        refused(OwnPlan { plan: vec![(0, "DC-NJ", 1), (0, "DC-CHI", 1)], rules: no_split }, &[("TEE", 2)]),
        "the plan splits line 0, which may not split"
    );
    let together = |out: &mut Evaluation| out.split.ship_together = vec![1, 1];
    assert_eq!(
        refused(OwnPlan { plan: vec![(0, "DC-NJ", 1), (1, "DC-CHI", 1)], rules: together }, &[("TEE", 1), ("MUG", 1)]),
        "the plan ships line 0 apart from lines it must ship together with"
    );
    let one_shipment = |out: &mut Evaluation| out.split.max_shipments = 1;
    assert_eq!(
        refused(
            OwnPlan { plan: vec![(0, "DC-NJ", 1), (1, "DC-CHI", 1)], rules: one_shipment },
            &[("TEE", 1), ("MUG", 1)]
        ),
        "the plan ships from 2 locations, more than the 1 shipments the policy allows"
    );
    // Chicago has one mug to promise; two lines of mugs share it.
    assert!(
        refused(OwnPlan { plan: vec![(0, "DC-CHI", 1), (1, "DC-CHI", 1)], rules: keep }, &[("MUG", 1), ("MUG", 1)])
            .starts_with("the plan takes 2 units of line 0's SKU at candidate location")
    );
    // Nothing was reserved by the refused plans: Chicago still has 8 tees and its mug.
    assert_eq!(
        inventory.position(catalog.sku_id("MUG").unwrap(), catalog.location_id("DC-CHI").unwrap()).map(|p| p.atp()),
        Some(1)
    );
}

#[test]
fn a_plan_that_splits_a_kit_or_uses_a_rejected_location_gives_way_to_the_optimizer() {
    let (catalog, inventory) = network();
    let config = RouterConfig::default();
    let keep = |_: &mut Evaluation| {};
    let plan_of = |policy: &dyn Policy, lines: &[(&str, u32)]| {
        let router = Router { catalog: &catalog, inventory: &inventory, policy, config: &config };
        router.plan(&order(&catalog, "O-1", lines), &mut Workspace::default()).unwrap()
    };
    let from = |plan: &switchyard_engine::Plan| -> Vec<String> {
        plan.shipments.iter().map(|s| catalog.location(s.location).id.clone()).collect()
    };
    // A kit of a tee and a mug: the policy's plan sends them from two places; the kit keeps
    // them together, so the optimizer chooses: Chicago, the one place with both.
    let apart: Arc<dyn Policy> = Arc::new(OwnPlan { plan: vec![(0, "DC-NJ", 1), (1, "DC-CHI", 1)], rules: keep });
    let mut with_kit = catalog.clone();
    let kit = with_kit
        .add_product(switchyard_engine::Product {
            sku: "KIT".into(),
            group: "general".into(),
            weight_kg: 0.8,
            tags: vec![],
        })
        .unwrap();
    let part = |sku: &str| switchyard_engine::KitComponent { sku: catalog.sku_id(sku).unwrap(), qty: 1 };
    with_kit
        .set_kit(kit, Some(switchyard_engine::Kit { components: vec![part("TEE"), part("MUG")], may_split: false }))
        .unwrap();
    let kit_order = switchyard_engine::expand_kits(&with_kit, &order(&with_kit, "O-1", &[("KIT", 1)])).unwrap();
    let router = Router { catalog: &with_kit, inventory: &inventory, policy: apart.as_ref(), config: &config };
    let plan = router.plan(&kit_order, &mut Workspace::default()).unwrap();
    assert_eq!(from(&plan), vec!["DC-CHI".to_owned()]);
    assert!(plan.optimal, "the optimizer chose");
    // Without the kit the policy's plan stands.
    assert_eq!(plan_of(apart.as_ref(), &[("TEE", 1), ("MUG", 1)]).shipments.len(), 2);

    // Chicago rejected the shipment: the re-route drops the plan that used it.
    let chicago: Arc<dyn Policy> = Arc::new(OwnPlan { plan: vec![(0, "DC-CHI", 1)], rules: keep });
    let rerouted = ExcludingPolicy::new(
        Arc::clone(&chicago),
        vec![catalog.location_id("DC-CHI").unwrap()],
        "rejected by the location",
    );
    let plan = plan_of(&rerouted, &[("TEE", 1)]);
    assert_eq!(from(&plan), vec!["DC-NJ".to_owned()]);
    assert_eq!(from(&plan_of(chicago.as_ref(), &[("TEE", 1)])), vec!["DC-CHI".to_owned()]);

    // A plan that takes more than Chicago has: a bound fallback decides instead.
    let greedy: Arc<dyn Policy> = Arc::new(OwnPlan { plan: vec![(0, "DC-CHI", 50)], rules: keep });
    let with_fallback = FallbackPolicy::new(greedy, Arc::new(policy()));
    let plan = plan_of(&with_fallback, &[("TEE", 50)]);
    assert_eq!(plan.policy.name, "reference", "the fallback decided");
    assert!(plan.optimal);
}
