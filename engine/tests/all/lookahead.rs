//! Look-ahead pricing on a hand-worked network: the last unit near a city is kept for the city.
//!
//! One SKU. DC-NJ (Newark) holds 1 unit, DC-PA (Harrisburg) 10, DC-CHI (Chicago) 10. A parcel
//! costs $5 plus 1 cent a km; units are free; a unit left unfilled costs $100. Two orders come:
//! O1 to Philadelphia (about 120 km from Newark, 150 km from Harrisburg), then O2 to New York
//! (15 km from Newark, 245 km from Harrisburg).
//!
//! One order at a time, O1 takes Newark's unit ($6.20 against $6.50 from Harrisburg) and O2
//! must ship from Harrisburg ($7.45): $13.65 in all. Both orders are in Newark's region (the
//! nearest DC to each), so the transportation LP of those two units against the stock ships one
//! from Newark (to the region's centre, Newark itself: $5) and one from Harrisburg ($5 + 1 cent
//! per km of the 230 km between them); the dual value of Newark's one unit is the difference,
//! about $2.30: one more unit there would save that. With it added, Newark costs O1 $8.50, so
//! O1 ships from Harrisburg and O2 gets Newark's unit ($5.15): $11.65 in all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_engine::lookahead::{
    Demand, LookAheadPolicy, Regions, Reweighted, opportunity_costs, opportunity_costs_until, pass_weight,
};
use switchyard_engine::{
    Address, Catalog, Evaluation, GeoPoint, Inventory, Location, LocationKind, Order, OrderLine, Policy, PolicyError,
    PolicyInfo, PolicyRequest, Router, RouterConfig, ShortStock, Timestamp, Verdict, Workspace,
};

const NOON: Timestamp = Timestamp(1_795_694_400);

pub struct Distance;

impl Policy for Distance {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::new(PolicyInfo { name: "distance".into(), version: "1".into() })
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        for (slot, candidate) in request.candidates.locations.iter().enumerate() {
            out.shipment[slot] = Verdict::Cost(5.0 + 0.01 * candidate.distance_km);
        }
        for unit in &mut out.units {
            *unit = Verdict::Cost(0.0);
        }
        out.split.max_shipments = 1;
        out.short_stock = ShortStock::Partial { unfilled_penalty: 100.0 };
        Ok(())
    }
}

pub fn dc(id: &str, lat: f64, lon: f64) -> Location {
    Location {
        id: id.into(),
        kind: LocationKind::DistributionCentre,
        position: GeoPoint { lat, lon },
        handling_per_shipment: 0.0,
        handling_per_unit: 0.0,
        capacity_shipments_per_day: None,
        downtime: vec![],
        capabilities: vec![],
        priority: 0,
        utc_offset_minutes: 0,
        fulfilment: switchyard_engine::calendar::Fulfilment::default(),
    }
}

fn tee() -> switchyard_engine::Product {
    switchyard_engine::Product { sku: "TEE".into(), group: "apparel".into(), weight_kg: 0.3, tags: vec![] }
}

fn network() -> (Catalog, Inventory) {
    let mut catalog = Catalog::new();
    for (id, lat, lon) in [("DC-NJ", 40.73, -74.17), ("DC-PA", 40.27, -76.88), ("DC-CHI", 41.88, -87.63)] {
        catalog.add_location(dc(id, lat, lon)).unwrap();
    }
    catalog.add_product(tee()).unwrap();
    let inventory = Inventory::new();
    let sku = catalog.sku_id("TEE").unwrap();
    for (id, units) in [("DC-NJ", 1), ("DC-PA", 10), ("DC-CHI", 10)] {
        inventory.set_stock(sku, catalog.location_id(id).unwrap(), units, 0);
    }
    (catalog, inventory)
}

fn order(catalog: &Catalog, id: &str, lat: f64, lon: f64) -> Order {
    Order {
        id: id.into(),
        placed_at: NOON,
        channel: "web".into(),
        ship_to: Address { position: GeoPoint { lat, lon }, postal_code: String::new(), country: "US".into() },
        lines: vec![OrderLine { id: "1".into(), sku: catalog.sku_id("TEE").unwrap(), qty: 1, kit: None }],
    }
}

// Routes the two orders in turn: where each shipped from, and the cost of both.
fn route_both(catalog: &Catalog, inventory: &Inventory, policy: &dyn Policy) -> (Vec<String>, f64) {
    let config = RouterConfig::default();
    let router = Router { catalog, inventory, policy, config: &config };
    let mut workspace = Workspace::default();
    let mut from = Vec::new();
    let mut cost = 0.0;
    for (id, lat, lon) in [("O1", 39.95, -75.17), ("O2", 40.71, -74.0)] {
        let plan = router.route_and_reserve(&order(catalog, id, lat, lon), &mut workspace).unwrap().plan;
        from.push(catalog.location(plan.shipments[0].location).id.clone());
        cost += plan.shipments[0].shipment_cost;
    }
    (from, cost)
}

#[test]
fn the_last_unit_near_a_city_is_kept_for_the_city() {
    let (catalog, inventory) = network();
    let (from, cost) = route_both(&catalog, &inventory, &Distance);
    assert_eq!(from, ["DC-NJ", "DC-PA"], "one order at a time");
    assert!((cost - 13.65).abs() < 0.1, "{cost}");

    // Look-ahead, on fresh stock.
    let (catalog, inventory) = network();
    let regions = Regions::around_centres(&catalog);
    assert_eq!(regions.len(), 3);
    let expected = [order(&catalog, "O1", 39.95, -75.17), order(&catalog, "O2", 40.71, -74.0)];
    let demand = Demand::of_orders(&expected, &regions, 1.0);
    let (costs, report) = opportunity_costs(&catalog, &inventory, &Distance, &regions, &demand, NOON).unwrap();
    assert_eq!((report.solved, report.failed, report.skipped), (1, 0, 0));
    // With a deadline: solved alike before it; once it has passed, no LP is started.
    let later = Some(Instant::now() + Duration::from_secs(3_600));
    let (until, report) =
        opportunity_costs_until(&catalog, &inventory, &Distance, &regions, &demand, NOON, later).unwrap();
    assert_eq!((until.len(), report.solved, report.skipped), (costs.len(), 1, 0));
    let passed = Some(Instant::now());
    let (none, report) =
        opportunity_costs_until(&catalog, &inventory, &Distance, &regions, &demand, NOON, passed).unwrap();
    assert_eq!((none.len(), report.solved, report.skipped), (0, 0, 1));
    let sku = catalog.sku_id("TEE").unwrap();
    let id = |name: &str| catalog.location_id(name).unwrap();
    let between = catalog.location(id("DC-NJ")).position.distance_km(catalog.location(id("DC-PA")).position);
    let newark = costs.get(sku, id("DC-NJ"));
    assert!((newark - 0.01 * between).abs() < 0.01, "Newark's unit is worth {newark}, expected {}", 0.01 * between);
    assert_eq!(costs.get(sku, id("DC-PA")), 0.0, "Harrisburg has units to spare");

    // O1 with those prices; then, re-solved for what is still to come (O2) against the stock
    // left, Newark's unit is no longer scarce and O2 takes it.
    let looking = LookAheadPolicy::new(&Distance, 1.0);
    looking.set_costs(costs);
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &looking, config: &config };
    let mut workspace = Workspace::default();
    let first = router.route_and_reserve(&expected[0], &mut workspace).unwrap().plan;
    assert_eq!(first.shipments[0].location, id("DC-PA"), "O1 leaves Newark's unit to O2");
    let demand = Demand::of_orders(&expected[1..], &regions, 1.0);
    let (costs, _) = opportunity_costs(&catalog, &inventory, &Distance, &regions, &demand, NOON).unwrap();
    // Stock now equals demand: the LP's dual is not unique (anything from 0, what one more
    // unit would save, to $2.30, what one fewer would cost); the interior-point solver answers
    // from the middle of that range.
    let now = costs.get(sku, id("DC-NJ"));
    assert!(now < newark - 0.1, "{now} is not below {newark}");
    looking.set_costs(costs);
    let second = router.route_and_reserve(&expected[1], &mut workspace).unwrap().plan;
    assert_eq!(second.shipments[0].location, id("DC-NJ"));
    let cost = first.shipments[0].shipment_cost + second.shipments[0].shipment_cost;
    assert!((cost - 11.65).abs() < 0.1, "{cost}");
}

// A re-optimisation pass prices a look-ahead at the share of its horizon beyond the release
// window, sharing the prices as they are re-solved: at a weight under Newark's $0.30 edge
// for O1 ($2.30 × weight < $0.30) O1 takes Newark's unit again, as without look-ahead.
#[test]
fn a_pass_weighs_look_ahead_by_the_horizon_beyond_the_release_window() {
    let day = |window| pass_weight(0.5, 86_400, window);
    assert_eq!(day(0), 0.5);
    assert_eq!(day(43_200), 0.25);
    assert_eq!(day(86_400), 0.0, "the whole horizon inside the window");
    assert_eq!(day(200_000), 0.0);
    assert_eq!(day(-5), 0.5);
    assert_eq!(pass_weight(0.5, 0, 60), 0.0);

    let (catalog, inventory) = network();
    let regions = Regions::around_centres(&catalog);
    let expected = [order(&catalog, "O1", 39.95, -75.17), order(&catalog, "O2", 40.71, -74.0)];
    let demand = Demand::of_orders(&expected, &regions, 1.0);
    let looking = LookAheadPolicy::new(&Distance, 1.0);
    let (costs, _) = opportunity_costs(&catalog, &inventory, &Distance, &regions, &demand, NOON).unwrap();
    // Set after the views are made: they read the policy's prices, not a copy.
    let full = Reweighted::new(&looking, looking.weight());
    let light = Reweighted::new(&looking, 0.1);
    let none = Reweighted::new(&looking, 0.0);
    looking.set_costs(costs);
    let first_from = |policy: &dyn Policy| {
        let (catalog, inventory) = network();
        route_both(&catalog, &inventory, policy).0[0].clone()
    };
    assert_eq!(first_from(&looking), "DC-PA");
    assert_eq!(first_from(&full), "DC-PA", "at its own weight, the policy itself");
    assert_eq!(first_from(&light), "DC-NJ", "$0.23 does not outweigh Newark's $0.30 edge");
    assert_eq!(first_from(&none), "DC-NJ");
    assert_eq!(full.info().name, looking.info().name);
}

// The opportunity cost steers where a unit ships from, never whether: where every location
// with stock is scarce, the cheapest of them in opportunity cost gets none added, so a unit is
// never left unfilled for it.
#[test]
fn opportunity_costs_never_leave_a_unit_unfilled() {
    let (catalog, inventory) = network();
    let regions = Regions::around_centres(&catalog);
    // Far more demand than stock everywhere: every location's unit is worth about the penalty.
    let crowd: Vec<Order> = (0..100).map(|n| order(&catalog, &format!("C{n}"), 40.71, -74.0)).collect();
    let demand = Demand::of_orders(&crowd, &regions, 1.0);
    let (costs, _) = opportunity_costs(&catalog, &inventory, &Distance, &regions, &demand, NOON).unwrap();
    let sku = catalog.sku_id("TEE").unwrap();
    for id in ["DC-NJ", "DC-PA", "DC-CHI"] {
        assert!(costs.get(sku, catalog.location_id(id).unwrap()) > 50.0, "{id}");
    }
    let looking = LookAheadPolicy::new(&Distance, 1.0);
    looking.set_costs(costs);
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &looking, config: &config };
    for n in 0..21 {
        let plan = router
            .route_and_reserve(&order(&catalog, &format!("O{n}"), 40.71, -74.0), &mut Workspace::default())
            .unwrap();
        assert_eq!(plan.plan.unfilled_units(), 0, "order {n}: {:?}", plan.plan);
    }
}

// A network without locations has no regions and nothing to price; nothing panics.
#[test]
fn a_network_without_locations_prices_nothing() {
    let (full, _) = network();
    let mut catalog = Catalog::new();
    catalog.add_product(tee()).unwrap();
    let regions = Regions::around_centres(&catalog);
    assert!(regions.is_empty());
    let orders = [order(&full, "O1", 39.95, -75.17)];
    for demand in [Demand::of_orders(&orders, &regions, 1.0), Demand::of_orders_by_region_share(&orders, &regions, 1.0)]
    {
        assert_eq!(demand.skus().count(), 0);
        let (costs, report) =
            opportunity_costs(&catalog, &Inventory::new(), &Distance, &regions, &demand, NOON).unwrap();
        assert!(costs.is_empty());
        assert_eq!(report.solved, 0);
    }
}

// The clairvoyant bound (engine/src/bound.rs) of no orders is 0, without asking the solver;
// of the two orders above it is what look-ahead achieved, $11.65 (O1 from Harrisburg, O2 from
// Newark), against $13.65 one order at a time.
#[test]
fn the_clairvoyant_bound_of_the_two_orders_is_what_look_ahead_achieved() {
    let (catalog, inventory) = network();
    let bound = switchyard_engine::bound::stream_bound(&catalog, &inventory, &Distance, &[]).unwrap();
    assert_eq!(
        (bound.cost, bound.method),
        (0.0, switchyard_engine::bound::BoundMethod::Lp { variables: 0, constraints: 0 })
    );
    let orders = [order(&catalog, "O1", 39.95, -75.17), order(&catalog, "O2", 40.71, -74.0)];
    let bound = switchyard_engine::bound::stream_bound(&catalog, &inventory, &Distance, &orders).unwrap();
    assert!((bound.cost - 11.65).abs() < 0.1, "{bound:?}");
}

// The Lagrangian bound of the same two orders: prices on the contested stock make each
// order's own cheapest plan the joint optimum, so it reaches $11.65 and never passes it.
#[test]
fn the_lagrangian_bound_of_the_two_orders_reaches_the_joint_optimum() {
    use switchyard_engine::bound::{BoundMethod, LagrangianSettings, lagrangian_bound};
    let (catalog, inventory) = network();
    let orders = [order(&catalog, "O1", 39.95, -75.17), order(&catalog, "O2", 40.71, -74.0)];
    let settings = LagrangianSettings { iterations: 200, upper: 13.65, threads: 2, warm_start: true };
    let bound = lagrangian_bound(&catalog, &inventory, &Distance, &orders, settings).unwrap();
    assert!(bound.cost <= 11.65 + 1e-6 && bound.cost > 11.6, "{bound:?}");
    assert!(matches!(bound.method, BoundMethod::Lagrangian { iterations, .. } if iterations <= 200));
    // Without prices (one round, no step) it is each order alone on the full stock, both taking
    // Newark's unit: $11.35, below the optimum but still a bound.
    let settings = LagrangianSettings { iterations: 1, upper: 13.65, threads: 1, warm_start: false };
    let first = lagrangian_bound(&catalog, &inventory, &Distance, &orders, settings).unwrap();
    assert!((first.cost - 11.35).abs() < 0.05 && first.cost < bound.cost, "{first:?}");
    let none = lagrangian_bound(&catalog, &inventory, &Distance, &[], settings).unwrap();
    assert_eq!(none.cost, 0.0);
}
