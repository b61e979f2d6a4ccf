//! Replays of the sample scenarios in process: the optimizer matches trying every set of
//! locations, never loses to greedy on the same stock, and is deterministic.

use std::collections::HashSet;

use switchyard::replay::replay;
use switchyard::scenario::Scenario;
use switchyard_engine::{Router, RouterConfig, SearchBudget, Strategy, Workspace};

use crate::cli::example;

fn load(name: &str) -> Scenario {
    Scenario::from_json(&std::fs::read_to_string(example(name)).unwrap()).unwrap()
}

/// Order by order on the same evolving stock: the branch and bound's cost equals the
/// exhaustive search's and is never above greedy's; then the optimal plan is reserved.
#[test]
fn every_order_matches_exhaustive_search_and_never_loses_to_greedy() {
    for (name, orders) in [("us-10-tiny.json", 200), ("us-50-small.json", 400)] {
        let scenario = load(name);
        let inventory = scenario.fresh_inventory();
        let optimal = RouterConfig::default();
        let greedy = RouterConfig { strategy: Strategy::Greedy, ..RouterConfig::default() };
        let exhaustive = RouterConfig {
            strategy: Strategy::Exhaustive,
            budget: SearchBudget { max_nodes: u64::MAX, max_time: None },
            ..RouterConfig::default()
        };
        let mut workspace = Workspace::default();
        let router =
            |config| Router { catalog: &scenario.catalog, inventory: &inventory, policy: &scenario.policy, config };
        for order in scenario.orders.iter().take(orders) {
            let by_search = router(&optimal).plan(order, &mut workspace).unwrap();
            let by_enumeration = router(&exhaustive).plan(order, &mut workspace).unwrap();
            let by_greedy = router(&greedy).plan(order, &mut workspace).unwrap();
            assert!(by_search.optimal, "{}", order.id);
            let (search, enumeration, greedy) =
                (by_search.cost.total(), by_enumeration.cost.total(), by_greedy.cost.total());
            assert!((search - enumeration).abs() < 1e-6, "{}: search {search} vs every set {enumeration}", order.id);
            assert!(search <= greedy + 1e-6, "{}: optimal {search} above greedy {greedy}", order.id);
            let routed = router(&optimal).route_and_reserve(order, &mut workspace).unwrap();
            assert_eq!(routed.plan, by_search, "{}: reserving routes the same plan as the dry run", order.id);
        }
    }
}

#[test]
fn replays_are_deterministic_and_conserve_stock() {
    let scenario = load("us-50-small.json");
    let first = replay(&scenario, &scenario.policy, &RouterConfig::default(), &HashSet::new());
    let second = replay(&scenario, &scenario.policy, &RouterConfig::default(), &HashSet::new());
    assert_eq!(first.plans, second.plans);
    let (on_hand, reserved) = first.inventory.totals();
    let stocked: u64 = scenario.stock.iter().map(|s| u64::from(s.on_hand)).sum();
    assert_eq!(on_hand, stocked, "routing reserves, it does not ship");
    let shipped: u64 = first.plans.iter().map(|p| p.shipped_units()).sum();
    assert_eq!(reserved, shipped, "every shipped unit is reserved exactly once");
}

// us-50-small carries delivery-promise data: every location's cut-off, processing days and
// calendar, and three carrier services. Promises on its network and stock keep the calendars:
// parcels leave on a day the location and the carrier work, and arrive on a delivery day.
#[test]
fn us_50_small_promises_keep_the_locations_and_carriers_calendars() {
    use switchyard_engine::calendar::weekday;
    use switchyard_engine::promise::promise;
    use switchyard_engine::{RouterConfig, Workspace};

    let scenario = load("us-50-small.json");
    let ids: Vec<&str> = scenario.carrier_services.iter().map(|s| s.service.id.as_str()).collect();
    assert_eq!(ids, ["ground", "two-day", "overnight"]);
    let dc = scenario.catalog.locations().iter().find(|l| l.id.starts_with("DC-")).unwrap();
    assert_eq!(dc.fulfilment.cutoff_minutes, 15 * 60);
    assert!(dc.utc_offset_minutes < 0);
    let inventory = scenario.fresh_inventory();
    let config = RouterConfig::default();
    let router = switchyard_engine::Router {
        catalog: &scenario.catalog,
        inventory: &inventory,
        policy: &scenario.policy,
        config: &config,
    };
    let mut promised = 0;
    for order in scenario.orders.iter().take(100) {
        for service in &scenario.carrier_services {
            let Ok(option) = promise(&router, &service.service, order, &mut Workspace::default()) else { continue };
            promised += 1;
            assert!(option.delivery_day > order.placed_at.utc_day() - 1, "{}", order.id);
            for parcel in &option.shipments {
                let location = scenario.catalog.location(parcel.location);
                let (ship, delivered) = (parcel.quote.dates.ship_day, parcel.quote.dates.delivery_day);
                assert!(location.fulfilment.calendar.is_open(ship), "{}: ships on a closed day", order.id);
                assert!(service.service.days.pickup.contains(ship), "{}: no pickup that day", order.id);
                assert!(service.service.days.delivery.is_open(delivered), "{}: no delivery that day", order.id);
                assert!(delivered > ship && delivered <= option.delivery_day);
                assert!(weekday(ship) < 5, "the services collect Monday to Friday");
            }
        }
    }
    assert!(promised >= 250, "{promised} of 300 promised");
}
