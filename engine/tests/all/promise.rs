//! Delivery promises: the earliest day a service can deliver a cart, and the plan that does,
//! on a two-DC network around New York (hand-worked dates in the comments).

use switchyard_engine::calendar::{Calendar, CarrierDays, CarrierService, Fulfilment, ServiceBand, Weekdays};
use switchyard_engine::promise::{NoPromise, promise};
use switchyard_engine::{
    Address, Catalog, GeoPoint, Inventory, Location, LocationKind, Order, OrderLine, Product, RateCard,
    ReferencePolicy, ReferenceSettings, Router, RouterConfig, Timestamp, Workspace, Zone,
};

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

// DC-NJ next to the customer in New York, DC-CHI 1,150 km away; tees at both, mugs in Chicago.
fn network() -> (Catalog, Inventory) {
    let mut catalog = Catalog::new();
    let [nj_terms, chi_terms] = fulfilment();
    catalog.add_location(Location { fulfilment: nj_terms, ..location("DC-NJ", 40.73, -74.17) }).unwrap();
    catalog.add_location(Location { fulfilment: chi_terms, ..location("DC-CHI", 41.88, -87.63) }).unwrap();
    for (sku, weight_kg) in [("TEE", 0.3), ("MUG", 0.5)] {
        catalog.add_product(Product { sku: sku.into(), group: "general".into(), weight_kg, tags: vec![] }).unwrap();
    }
    let inventory = Inventory::new();
    let (nj, chi) = (catalog.location_id("DC-NJ").unwrap(), catalog.location_id("DC-CHI").unwrap());
    let (tee, mug) = (catalog.sku_id("TEE").unwrap(), catalog.sku_id("MUG").unwrap());
    inventory.set_stock(tee, nj, 10, 0);
    inventory.set_stock(tee, chi, 10, 0);
    inventory.set_stock(mug, chi, 3, 0);
    (catalog, inventory)
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
            required_capabilities: vec![],
        },
    )
}

// Both DCs work Monday to Friday with same-day processing: New Jersey until 12:00, Chicago
// until 20:00 (UTC, for simple sums).
fn fulfilment() -> [Fulfilment; 2] {
    let weekdays = || Calendar::new(Weekdays::WORKDAYS, vec![]);
    [
        Fulfilment { cutoff_minutes: 12 * 60, processing_days: 0, calendar: weekdays() },
        Fulfilment { cutoff_minutes: 20 * 60, processing_days: 0, calendar: weekdays() },
    ]
}

// Ground: collects Monday to Friday, delivers Monday to Saturday; 1 day within 100 km, 2
// beyond; at most 2 kg a parcel.
fn ground() -> CarrierService {
    let band = |max_km, transit_days, per_shipment, per_kg| ServiceBand { max_km, transit_days, per_shipment, per_kg };
    CarrierService {
        id: "ground".into(),
        days: CarrierDays { pickup: Weekdays::WORKDAYS, delivery: Calendar::new(Weekdays::MONDAY_TO_SATURDAY, vec![]) },
        bands: vec![band(Some(100.0), 1, 5.0, 0.5), band(None, 2, 9.0, 0.8)],
        max_weight_kg: Some(2.0),
    }
}

fn order(catalog: &Catalog, placed_at: &str, lines: &[(&str, u32)]) -> Order {
    Order {
        id: "cart".into(),
        placed_at: Timestamp::parse_rfc3339(placed_at).unwrap(),
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

fn day(text: &str) -> i64 {
    Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z")).unwrap().utc_day()
}

// Friday 2026-12-04 at 15:00: past New Jersey's noon cut-off, so it ships Monday 12-07 and
// delivers Tuesday 12-08; Chicago ships the same Friday and its 2 transit days are Saturday
// and Monday: Monday 12-07. The promise is Monday, from Chicago, though New Jersey is cheaper
// (and is what routing without a date would choose).
#[test]
fn the_promise_is_the_earliest_day_even_from_a_dearer_location() {
    let (catalog, inventory) = network();
    let (policy, config) = (policy(), RouterConfig::default());
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let cart = order(&catalog, "2026-12-04T15:00:00Z", &[("TEE", 2)]);
    let option = promise(&router, &ground(), &cart, &mut Workspace::default()).unwrap();
    assert_eq!(option.delivery_day, day("2026-12-07"));
    let chicago = catalog.location_id("DC-CHI").unwrap();
    assert_eq!(option.shipments.len(), 1);
    assert_eq!(option.shipments[0].location, chicago);
    assert_eq!(option.shipments[0].quote.dates.ship_day, day("2026-12-04"));
    // 9.00 + 0.80 x 0.6 kg.
    assert!((option.price - 9.48).abs() < 1e-9, "{}", option.price);
    let cheapest = router.plan(&cart, &mut Workspace::default()).unwrap();
    assert_eq!(cheapest.shipments[0].location, catalog.location_id("DC-NJ").unwrap());
    assert!(option.plan.cost.total() > cheapest.cost.total());
    assert_eq!(inventory.network_atp(catalog.sku_id("TEE").unwrap()), 20, "a promise reserves nothing");

    // Thursday 12-03 at 10:00: New Jersey ships that day and delivers Friday; Chicago would
    // deliver Saturday. The promise is Friday, from New Jersey.
    let early = order(&catalog, "2026-12-03T10:00:00Z", &[("TEE", 2)]);
    let option = promise(&router, &ground(), &early, &mut Workspace::default()).unwrap();
    assert_eq!(option.delivery_day, day("2026-12-04"));
    assert_eq!(option.shipments[0].location, catalog.location_id("DC-NJ").unwrap());
}

// Mugs are only in Chicago: the cart arrives when Chicago's parcel does, and on that day New
// Jersey (Tuesday) is too late, so the tees come from Chicago too, in the same parcel.
#[test]
fn a_cart_arrives_with_its_last_parcel() {
    let (catalog, inventory) = network();
    let (policy, config) = (policy(), RouterConfig::default());
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let cart = order(&catalog, "2026-12-04T15:00:00Z", &[("TEE", 1), ("MUG", 1)]);
    let option = promise(&router, &ground(), &cart, &mut Workspace::default()).unwrap();
    assert_eq!(option.delivery_day, day("2026-12-07"));
    assert_eq!(option.plan.shipments.len(), 1, "{:?}", option.plan);
    // Before the noon cut-off on Friday New Jersey would deliver a tee on Saturday, but the
    // mug only comes on Monday: the cart arrives Monday, whichever way the plan takes the tee.
    let morning = order(&catalog, "2026-12-04T09:00:00Z", &[("TEE", 1), ("MUG", 1)]);
    let option = promise(&router, &ground(), &morning, &mut Workspace::default()).unwrap();
    assert_eq!(option.delivery_day, day("2026-12-07"));
}

#[test]
fn what_cannot_ship_whole_or_is_too_heavy_is_no_promise() {
    let (catalog, inventory) = network();
    let (policy, config) = (policy(), RouterConfig::default());
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let too_many = order(&catalog, "2026-12-04T15:00:00Z", &[("MUG", 4)]);
    assert_eq!(promise(&router, &ground(), &too_many, &mut Workspace::default()), Err(NoPromise::CannotShipWhole));
    // Three mugs weigh 1.5 kg, within the limit; seven tees from one DC weigh 2.1 kg.
    let mugs = order(&catalog, "2026-12-04T15:00:00Z", &[("MUG", 3)]);
    assert!(promise(&router, &ground(), &mugs, &mut Workspace::default()).is_ok());
    let tees = order(&catalog, "2026-12-03T10:00:00Z", &[("TEE", 7)]);
    assert!(matches!(
        promise(&router, &ground(), &tees, &mut Workspace::default()),
        Err(NoPromise::TooHeavy { max_kg, .. }) if max_kg == 2.0
    ));
    // A service that reaches no location holding the stock promises nothing.
    let mut local = ground();
    local.bands.truncate(1);
    let far = order(&catalog, "2026-12-04T15:00:00Z", &[("MUG", 1)]);
    assert_eq!(promise(&router, &local, &far, &mut Workspace::default()), Err(NoPromise::CannotShipWhole));
}

// --- Random networks: the promise is the earliest day that ships whole, and routing with
// that day as the deadline meets it ------------------------------------------------------------

mod random {
    use std::sync::Arc;

    use proptest::prelude::*;
    use switchyard_engine::calendar::{Calendar, CarrierDays, CarrierService, Fulfilment, ServiceBand, Weekdays};
    use switchyard_engine::promise::{DeadlinePolicy, NoPromise, promise};
    use switchyard_engine::{Location, Order, Plan, PlanStatus, Policy, Router, RouterConfig, Workspace};

    use crate::fixtures::{Instance, instances};

    fn fulfilments() -> impl Strategy<Value = Vec<Fulfilment>> {
        prop::collection::vec(
            (0u16..=1440, 0u8..3, 1u8..128, prop::collection::vec(0i64..30, 0..4)).prop_map(
                |(cutoff_minutes, processing_days, open, holidays)| Fulfilment {
                    cutoff_minutes,
                    processing_days,
                    // Holidays in the days after the instances' placement (2026-11-26).
                    calendar: Calendar::new(Weekdays(open), holidays.into_iter().map(|d| 20_418 + d).collect()),
                },
            ),
            4,
        )
    }

    fn services() -> impl Strategy<Value = CarrierService> {
        (1u8..128, 1u8..128, 0u8..3, 0u8..4, 0u8..6).prop_map(|(pickup, delivery, near, middle, far)| {
            let band = |max_km, transit_days| ServiceBand { max_km, transit_days, per_shipment: 5.0, per_kg: 0.5 };
            CarrierService {
                id: "svc".into(),
                days: CarrierDays { pickup: Weekdays(pickup), delivery: Calendar::new(Weekdays(delivery), vec![]) },
                // The instances' locations are 111 km apart going north.
                bands: vec![band(Some(150.0), near), band(Some(300.0), middle), band(None, far)],
                max_weight_kg: None,
            }
        })
    }

    // Each location's delivery day by the service (`None`: it cannot ship by it).
    fn delivery_days(instance: &Instance, fulfilment: &[Fulfilment], service: &CarrierService) -> Vec<Option<i64>> {
        instance
            .catalog
            .locations()
            .iter()
            .enumerate()
            .map(|(index, location)| {
                let distance = location.position.distance_km(instance.order.ship_to.position);
                service
                    .quote(&fulfilment[index], distance, 0.0, instance.order.placed_at.0, location.utc_offset_minutes)
                    .ok()
                    .map(|quote| quote.dates.delivery_day)
            })
            .collect()
    }

    fn with_deadline<'a>(policy: &'a dyn Policy, days: &[Option<i64>], deadline: i64) -> DeadlinePolicy<'a> {
        let late =
            days.iter().map(|day| day.filter(|d| *d <= deadline).map_or(Some(Arc::from("late")), |_| None)).collect();
        DeadlinePolicy::new(policy, late)
    }

    fn ships_whole(plan: &Plan) -> bool {
        plan.status == PlanStatus::Routed && plan.unfilled.is_empty() && !plan.shipments.is_empty()
    }

    fn plan_by(instance: &Instance, policy: &dyn Policy, order: &Order) -> Plan {
        let (inventory, config) = (instance.inventory(), RouterConfig::default());
        let router = Router { catalog: &instance.catalog, inventory: &inventory, policy, config: &config };
        router.plan(order, &mut Workspace::default()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn the_promise_is_the_earliest_day_that_ships_whole_and_routing_keeps_it(
            instance in instances(),
            fulfilment in fulfilments(),
            service in services(),
        ) {
            let mut instance = instance;
            let locations = instance.catalog.locations().to_vec();
            for (location, terms) in locations.into_iter().zip(&fulfilment) {
                instance.catalog.upsert_location(Location { fulfilment: terms.clone(), ..location }).unwrap();
            }
            let (inventory, config) = (instance.inventory(), RouterConfig::default());
            let router = Router { catalog: &instance.catalog, inventory: &inventory, policy: &instance.policy, config: &config };
            let days = delivery_days(&instance, &fulfilment, &service);
            let mut candidates: Vec<i64> = days.iter().flatten().copied().collect();
            candidates.sort_unstable();
            candidates.dedup();
            match promise(&router, &service, &instance.order, &mut Workspace::default()) {
                Ok(option) => {
                    prop_assert!(ships_whole(&option.plan));
                    for shipment in &option.plan.shipments {
                        let day = days[shipment.location.index()];
                        prop_assert!(day.is_some_and(|d| d <= option.delivery_day), "{:?} > {}", day, option.delivery_day);
                    }
                    // No earlier day ships whole.
                    for &earlier in candidates.iter().filter(|d| **d < option.delivery_day) {
                        let policy = with_deadline(&instance.policy, &days, earlier);
                        prop_assert!(!ships_whole(&plan_by(&instance, &policy, &instance.order)), "day {earlier}");
                    }
                    // Routed right after with the promised day as its deadline, the order ships
                    // whole, every parcel by that day, and reserves it.
                    let policy = with_deadline(&instance.policy, &days, option.delivery_day);
                    let reserving = Router { policy: &policy, ..router };
                    let routed = reserving.route_and_reserve(&instance.order, &mut Workspace::default()).unwrap();
                    prop_assert!(ships_whole(&routed.plan));
                    prop_assert!(routed.reservation.is_some());
                    for shipment in &routed.plan.shipments {
                        prop_assert!(days[shipment.location.index()].is_some_and(|d| d <= option.delivery_day));
                    }
                }
                Err(NoPromise::CannotShipWhole) => {
                    // Not even with every day allowed.
                    let last = candidates.last().copied().unwrap_or(i64::MIN);
                    let policy = with_deadline(&instance.policy, &days, last);
                    prop_assert!(!ships_whole(&plan_by(&instance, &policy, &instance.order)));
                }
                Err(NoPromise::Routing(_)) => {
                    // An order the router refuses (the fixtures make valid ones, but a policy
                    // may reject): planning it fails too.
                    prop_assert!(router.plan(&instance.order, &mut Workspace::default()).is_err());
                }
                Err(other) => prop_assert!(false, "{other}"),
            }
        }
    }
}
