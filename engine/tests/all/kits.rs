//! Kits routed by the engine: expansion into component lines, components shipped together
//! unless the kit may split, whole or not at all (the penalty of a kit left out is in the
//! plan's cost), kit ATP, and the catalog's checks of kit definitions.

use switchyard_engine::{
    Address, Catalog, CatalogError, GeoPoint, Inventory, Kit, KitComponent, Location, LocationKind, Order, OrderLine,
    PlanStatus, Product, RateCard, ReferencePolicy, ReferenceSettings, Router, RouterConfig, RoutingError, Timestamp,
    Workspace, Zone, expand_kits, kit_atp,
};

const NOON: Timestamp = Timestamp(1_795_694_400); // 2026-11-26T12:00:00Z

fn location(id: &str, lat: f64, lon: f64) -> Location {
    Location {
        id: id.into(),
        kind: LocationKind::DistributionCentre,
        position: GeoPoint { lat, lon },
        handling_per_shipment: 1.0,
        handling_per_unit: 0.25,
        capacity_shipments_per_day: None,
        downtime: vec![],
        capabilities: vec![],
        priority: 0,
        utc_offset_minutes: 0,
        fulfilment: switchyard_engine::calendar::Fulfilment::default(),
    }
}

fn product(sku: &str) -> Product {
    Product { sku: sku.into(), group: "general".into(), weight_kg: 0.5, tags: vec![] }
}

/// New Jersey has tees and caps, Chicago tees and one mug. Kits: `DESK` (a tee and a mug,
/// together), `DUO` (a cap and a mug, together), `DUO-SPLIT` (the same, may split).
fn network() -> (Catalog, Inventory) {
    let mut catalog = Catalog::new();
    let nj = catalog.add_location(location("DC-NJ", 40.73, -74.17)).unwrap();
    let chi = catalog.add_location(location("DC-CHI", 41.88, -87.63)).unwrap();
    let tee = catalog.add_product(product("TEE")).unwrap();
    let mug = catalog.add_product(product("MUG")).unwrap();
    let cap = catalog.add_product(product("CAP")).unwrap();
    let component = |sku, qty| KitComponent { sku, qty };
    for (sku, components, may_split) in [
        ("DESK", vec![component(tee, 1), component(mug, 1)], false),
        ("DUO", vec![component(cap, 1), component(mug, 1)], false),
        ("DUO-SPLIT", vec![component(cap, 1), component(mug, 1)], true),
        ("TEE-PACK", vec![component(tee, 3)], false),
    ] {
        let kit = catalog.add_product(product(sku)).unwrap();
        catalog.set_kit(kit, Some(Kit { components, may_split })).unwrap();
    }
    let inventory = Inventory::new();
    inventory.set_stock(tee, nj, 10, 0);
    inventory.set_stock(tee, chi, 10, 0);
    inventory.set_stock(cap, nj, 5, 0);
    inventory.set_stock(mug, chi, 1, 0);
    (catalog, inventory)
}

fn policy() -> ReferencePolicy {
    let zone = |zone, max_distance_km, per_shipment, per_kg| switchyard_engine::Zone {
        zone,
        max_distance_km,
        per_shipment,
        per_kg,
    };
    let zones: Vec<Zone> = vec![zone(1, Some(100.0), 5.0, 0.5), zone(2, None, 12.0, 2.0)];
    ReferencePolicy::new(
        RateCard::new(zones).unwrap(),
        ReferenceSettings {
            max_shipments: 3,
            split_penalty: 2.0,
            unfilled_penalty: 50.0,
            required_capabilities: vec![],
        },
    )
}

fn order(catalog: &Catalog, lines: &[(&str, u32)]) -> Order {
    Order {
        id: "O-1".into(),
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

fn ids(catalog: &Catalog, order: &Order, lines: impl IntoIterator<Item = usize>) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| format!("{}:{}", order.lines[line].id, catalog.product(order.lines[line].sku).sku))
        .collect()
}

#[test]
fn a_kit_line_expands_into_its_components() {
    let (catalog, _) = network();
    let expanded = expand_kits(&catalog, &order(&catalog, &[("TEE", 1), ("TEE-PACK", 2), ("DESK", 1)])).unwrap();
    let lines: Vec<(String, String, u32, Option<u32>)> = expanded
        .lines
        .iter()
        .map(|l| (l.id.clone(), catalog.product(l.sku).sku.clone(), l.qty, l.kit.map(|k| k.kit)))
        .collect();
    let line = |id: &str, sku: &str, qty, kit| (id.to_owned(), sku.to_owned(), qty, kit);
    assert_eq!(
        lines,
        vec![
            line("1", "TEE", 1, None),
            line("2/TEE", "TEE", 6, Some(1)),
            line("3/TEE", "TEE", 1, Some(2)),
            line("3/MUG", "MUG", 1, Some(2)),
        ]
    );
    // Expanding again changes nothing (a remainder keeps its kit marks).
    assert_eq!(expand_kits(&catalog, &expanded).unwrap(), expanded);
    // Too many units: the error names the submitted line.
    let error = expand_kits(&catalog, &order(&catalog, &[("TEE", 1), ("TEE-PACK", u32::MAX)])).unwrap_err();
    assert_eq!(error.field, "lines[1].qty");
}

#[test]
fn the_router_refuses_a_kit_that_was_not_expanded() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let error = router.plan(&order(&catalog, &[("DESK", 1)]), &mut Workspace::default()).unwrap_err();
    match error {
        RoutingError::InvalidOrder(error) => {
            assert_eq!(error.field, "lines[0].sku");
            assert!(error.message.contains("expand"), "{}", error.message);
        }
        other => panic!("expected an invalid order, got {other:?}"),
    }
}

#[test]
fn a_kit_ships_together_from_the_one_location_that_has_every_component() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    // New Jersey is nearer for the tee, but only Chicago has the mug: the desk kit ships
    // whole from Chicago.
    let expanded = expand_kits(&catalog, &order(&catalog, &[("DESK", 1)])).unwrap();
    let routed = router.route_and_reserve(&expanded, &mut Workspace::default()).unwrap();
    assert_eq!(routed.plan.shipments.len(), 1);
    assert_eq!(catalog.location(routed.plan.shipments[0].location).id, "DC-CHI");
    assert!(routed.plan.unfilled.is_empty());
    assert_eq!(routed.reservation.unwrap().units.len(), 2);
    // A tee ordered on its own in the same order still comes from New Jersey.
    let expanded = expand_kits(&catalog, &order(&catalog, &[("TEE", 1), ("TEE-PACK", 1)])).unwrap();
    let plan = router.plan(&expanded, &mut Workspace::default()).unwrap();
    assert!(plan.shipments.iter().all(|s| catalog.location(s.location).id == "DC-NJ"), "{plan:?}");
}

#[test]
fn a_kit_that_cannot_ship_whole_is_left_out_whole_and_its_penalty_is_in_the_cost() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    // Two desks need two mugs; the network has one. Without the whole-kit rule the plan
    // would ship two tees and one mug.
    let expanded = expand_kits(&catalog, &order(&catalog, &[("DESK", 2), ("CAP", 1)])).unwrap();
    let routed = router.route_and_reserve(&expanded, &mut Workspace::default()).unwrap();
    let plan = &routed.plan;
    assert_eq!(plan.status, PlanStatus::Routed);
    let shipped: Vec<usize> = plan.shipments.iter().flat_map(|s| &s.lines).map(|l| l.line).collect();
    assert_eq!(ids(&catalog, &expanded, shipped), vec!["2:CAP"]);
    let unfilled: Vec<(usize, u32)> = plan.unfilled.iter().map(|u| (u.line, u.qty)).collect();
    assert_eq!(unfilled, vec![(0, 2), (1, 2)], "both components of both desks");
    assert_eq!(plan.cost.unfilled_penalty, 4.0 * 50.0);
    assert_eq!(plan.cost.total(), plan.cost.shipments + plan.cost.units + plan.cost.unfilled_penalty);
    // Only the cap is held; the mug and the tees stay available.
    let reservation = routed.reservation.unwrap();
    assert_eq!(reservation.units.len(), 1);
    assert_eq!(inventory.network_atp(catalog.sku_id("MUG").unwrap()), 1);

    // The explanation covers every line of the order, the desk's too, and so does the one
    // kept with a reserved decision (on the same stock: the cap's unit released again).
    inventory.release(&reservation).unwrap();
    let (_, explanation) = router.explain(&expanded, &mut Workspace::default()).unwrap();
    assert_eq!(explanation.lines.len(), 3);
    assert_eq!(explanation.lines[0].unfilled, 2);
    let (routed, kept) = router.route_reserve_and_explain(&expanded, &mut Workspace::default()).unwrap();
    assert_eq!(routed.plan, *plan);
    assert_eq!(kept.display(&catalog).to_string(), explanation.display(&catalog).to_string());
}

#[test]
fn an_order_whose_kits_all_fail_is_rejected_with_their_penalty() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let expanded = expand_kits(&catalog, &order(&catalog, &[("DESK", 2)])).unwrap();
    let routed = router.route_and_reserve(&expanded, &mut Workspace::default()).unwrap();
    assert_eq!(routed.plan.status, PlanStatus::Rejected { reason: switchyard_engine::router::NO_WHOLE_KIT.into() });
    assert!(routed.reservation.is_none());
    assert!(routed.plan.shipments.is_empty());
    assert_eq!(routed.plan.unfilled_units(), 4);
    assert_eq!(routed.plan.cost.total(), 200.0);
}

#[test]
fn components_ship_apart_only_when_the_kit_may_split() {
    let (catalog, inventory) = network();
    let policy = policy();
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    // Caps are only in New Jersey, the mug only in Chicago.
    let together = expand_kits(&catalog, &order(&catalog, &[("DUO", 1)])).unwrap();
    let plan = router.plan(&together, &mut Workspace::default()).unwrap();
    assert!(plan.shipments.is_empty(), "no location has both: {plan:?}");
    let apart = expand_kits(&catalog, &order(&catalog, &[("DUO-SPLIT", 1)])).unwrap();
    let plan = router.plan(&apart, &mut Workspace::default()).unwrap();
    assert_eq!(plan.shipments.len(), 2);
    assert!(plan.unfilled.is_empty());
}

#[test]
fn kit_atp_counts_whole_kits() {
    let (catalog, inventory) = network();
    let atp = |sku: &str| kit_atp(&catalog, &inventory, catalog.sku_id(sku).unwrap()).unwrap();
    // Desk: Chicago makes one (one mug); New Jersey none.
    assert_eq!(atp("DESK").network, 1);
    assert_eq!(atp("DESK").locations, vec![(catalog.location_id("DC-CHI").unwrap(), 1)]);
    // Duo: no location makes one alone; split, the network makes one.
    assert_eq!(atp("DUO").network, 0);
    assert!(atp("DUO").locations.is_empty());
    assert_eq!(atp("DUO-SPLIT").network, 1);
    // Three tees a pack: 10 / 3 = 3 at each DC.
    assert_eq!(atp("TEE-PACK").network, 6);
    assert!(kit_atp(&catalog, &inventory, catalog.sku_id("TEE").unwrap()).is_none());
}

#[test]
fn the_catalog_refuses_kits_it_cannot_route() {
    let (mut catalog, _) = network();
    let sku = |catalog: &Catalog, name: &str| catalog.sku_id(name).unwrap();
    let desk = sku(&catalog, "DESK");
    let tee = sku(&catalog, "TEE");
    let refuse = |catalog: &mut Catalog, kit_sku, components: Vec<KitComponent>| match catalog
        .set_kit(kit_sku, Some(Kit { components, may_split: false }))
    {
        Err(CatalogError::InvalidKit { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let bundle = catalog.add_product(product("BUNDLE")).unwrap();
    assert!(refuse(&mut catalog, bundle, vec![KitComponent { sku: desk, qty: 1 }]).contains("is a kit"));
    assert!(refuse(&mut catalog, bundle, vec![KitComponent { sku: tee, qty: 0 }]).contains("at least 1 unit"));
    assert!(refuse(&mut catalog, bundle, vec![]).contains("at least one component"));
    // A component of a kit cannot become a kit.
    assert!(refuse(&mut catalog, tee, vec![KitComponent { sku: bundle, qty: 1 }]).contains("component of another kit"));
    // `None` makes a kit an ordinary product again.
    catalog.set_kit(desk, None).unwrap();
    assert!(catalog.kit(desk).is_none());
}
