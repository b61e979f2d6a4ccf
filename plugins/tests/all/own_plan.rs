//! Plugins that choose the whole plan themselves (`answer.plan`): the nearest-first example
//! is followed even where the optimizer would choose otherwise, respects stock shared by
//! lines of one SKU and locations that are down, and plans that break the stock or the
//! request are refused with the rule they break.

use switchyard_engine::{
    Address, Catalog, Downtime, GeoPoint, Inventory, Location, LocationKind, Order, OrderLine, Plan, PlanStatus,
    Product, Router, RouterConfig, RoutingError, Timestamp, Workspace,
};
use switchyard_plugins::{Limits, PluginHost, WasmPolicy};

use crate::limits::plugin_bytes;

const PLACED_AT: Timestamp = Timestamp(1_795_687_200);

// Three locations north of the ship-to at about 11, 56 and 222 km; `down` puts the nearest
// one in a downtime window around the order.
fn network(down: bool) -> (Catalog, Inventory) {
    let mut catalog = Catalog::new();
    for (id, lat) in [("NEAR", 40.85), ("MID", 41.25), ("FAR", 42.75)] {
        catalog
            .add_location(Location {
                id: id.into(),
                kind: LocationKind::Store,
                position: GeoPoint { lat, lon: -74.0 },
                handling_per_shipment: 1.0,
                handling_per_unit: 0.2,
                capacity_shipments_per_day: None,
                downtime: if down && id == "NEAR" {
                    vec![Downtime { from: Timestamp(PLACED_AT.0 - 3_600), to: Timestamp(PLACED_AT.0 + 3_600) }]
                } else {
                    vec![]
                },
                capabilities: vec![],
                priority: 0,
                utc_offset_minutes: 0,
                fulfilment: switchyard_engine::calendar::Fulfilment::default(),
            })
            .unwrap();
    }
    catalog.add_product(Product { sku: "MUG".into(), group: "home".into(), weight_kg: 0.4, tags: vec![] }).unwrap();
    let inventory = Inventory::new();
    for (id, stock) in [("NEAR", 1), ("MID", 5), ("FAR", 5)] {
        inventory.set_stock(catalog.sku_id("MUG").unwrap(), catalog.location_id(id).unwrap(), stock, 0);
    }
    (catalog, inventory)
}

fn order(catalog: &Catalog, channel: &str, quantities: &[u32]) -> Order {
    Order {
        id: format!("O-{channel}"),
        placed_at: PLACED_AT,
        channel: channel.into(),
        ship_to: Address {
            position: GeoPoint { lat: 40.75, lon: -74.0 },
            postal_code: "10001".into(),
            country: "US".into(),
        },
        lines: quantities
            .iter()
            .enumerate()
            .map(|(i, &qty)| OrderLine {
                id: format!("{}", i + 1),
                sku: catalog.sku_id("MUG").unwrap(),
                qty,
                kit: None,
            })
            .collect(),
    }
}

fn load(name: &str) -> WasmPolicy {
    PluginHost::new(Limits::default()).unwrap().load(name, &plugin_bytes(name)).unwrap()
}

fn route(policy: &WasmPolicy, down: bool, channel: &str, quantities: &[u32]) -> Result<Plan, RoutingError> {
    let (catalog, inventory) = network(down);
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy, config: &config };
    router.plan(&order(&catalog, channel, quantities), &mut Workspace::default())
}

// (location, units) per shipment line, by location id.
fn shipped(plan: &Plan, down: bool) -> Vec<(String, u32)> {
    let (catalog, _) = network(down);
    let catalog = &catalog;
    let mut lines: Vec<(String, u32)> = plan
        .shipments
        .iter()
        .flat_map(|s| s.lines.iter().map(move |l| (catalog.location(s.location).id.clone(), l.qty)))
        .collect();
    lines.sort();
    lines
}

#[test]
fn the_plugins_own_plan_is_followed_even_where_the_optimizer_would_choose_otherwise() {
    let nearest = load("nearest");
    // Three mugs: the one at NEAR, then two from MID. At the plugin's own prices one shipment
    // from MID would be cheaper (the optimizer's choice), but the plugin chose nearest first.
    let plan = route(&nearest, false, "web", &[3]).unwrap();
    assert_eq!(plan.status, PlanStatus::Routed);
    assert_eq!(shipped(&plan, false), vec![("MID".to_owned(), 2), ("NEAR".to_owned(), 1)]);
    assert!(!plan.optimal, "a policy's own plan is not called optimal");
    assert_eq!(plan.nodes, 0, "no search ran");
    assert_eq!(plan.policy.name, "nearest");
    // Priced with the plugin's costs: 6 + 0.004 km + 1 per shipment, 0.5 kg-rate + 0.2 per unit.
    let expected_units = 3.0 * (0.5 * 0.4 + 0.2);
    assert!((plan.cost.units - expected_units).abs() < 1e-9, "{:?}", plan.cost);
    assert_eq!(plan.cost.shipments.round(), 14.0, "{:?}", plan.cost);
}

#[test]
fn lines_of_one_sku_share_stock_and_a_location_that_is_down_is_skipped() {
    let nearest = load("nearest");
    // Two lines of the same SKU: the single mug at NEAR serves the first only.
    let plan = route(&nearest, false, "web", &[1, 1]).unwrap();
    assert_eq!(shipped(&plan, false), vec![("MID".to_owned(), 1), ("NEAR".to_owned(), 1)]);
    // NEAR is down: everything comes from MID.
    let plan = route(&nearest, true, "web", &[3]).unwrap();
    assert_eq!(shipped(&plan, true), vec![("MID".to_owned(), 3)]);
    // More than MID and FAR hold together: what is left is unfilled, not invented.
    let plan = route(&nearest, true, "web", &[12]).unwrap();
    assert_eq!(shipped(&plan, true), vec![("FAR".to_owned(), 5), ("MID".to_owned(), 5)]);
    assert_eq!(plan.unfilled.iter().map(|u| u.qty).sum::<u32>(), 2);
}

#[test]
fn a_plan_that_breaks_the_stock_or_the_request_is_refused() {
    let hostile = load("hostile");
    let refused = |channel: &str| match route(&hostile, false, channel, &[1]) {
        Err(error @ (RoutingError::InvalidPlan { .. } | RoutingError::InvalidAnswer { .. })) => error.to_string(),
        other => panic!("{channel}: expected the plan to be refused, got {other:?}"),
    };
    let version = hostile.plugin().version.clone();
    assert_eq!(
        refused("bad-plan-over-stock"),
        format!(
            "policy `hostile@{version}` chose a plan it may not: the plan ships 1000000 units of line 0, which orders 1"
        )
    );
    assert_eq!(
        refused("bad-plan-unknown-candidate"),
        format!(
            "policy `hostile@{version}` gave an invalid answer: the plan uses a candidate the request does not have"
        )
    );
    assert_eq!(
        refused("bad-plan-zero"),
        format!("policy `hostile@{version}` gave an invalid answer: the plan has an entry of zero units")
    );
    // And the host keeps routing.
    assert_eq!(route(&hostile, false, "web", &[1]).unwrap().status, PlanStatus::Routed);
}
