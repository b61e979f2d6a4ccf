//! Re-optimising the unreleased pool: a hand-worked exchange that saves a split, and
//! properties on random streams (the pool's cost never rises, nothing is oversold, orders
//! outside the pool keep what they hold, plans stay whole).
//!
//! The hand-worked example. DC-NJ (Newark) holds 1 TEE and 1 CAP; DC-PA (Harrisburg) 10 TEE
//! and no CAP. A parcel costs $5 plus 1 cent a km; units are free. O1 to Philadelphia wants a
//! TEE: Newark $6.20 beats Harrisburg $6.50, so O1 takes Newark's TEE. O2 to New York wants a
//! TEE and a CAP: the CAP is only in Newark and Newark's TEE is gone, so O2 splits: the CAP from
//! Newark ($5.15) and the TEE from Harrisburg ($7.45). $18.80 in all.
//!
//! Re-routing either order alone changes nothing (O1 still prefers Newark; O2 cannot have the
//! TEE O1 holds). Exchanging their stock does: O2 first takes both units from Newark in one
//! parcel ($5.15), then O1 ships from Harrisburg ($6.50): $11.65, one parcel fewer.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use switchyard_engine::{
    Address, Catalog, Evaluation, GeoPoint, Inventory, Order, OrderLine, Plan, PlanStatus, Policy, PolicyError,
    PolicyInfo, PolicyRequest, PoolOrder, Product, ReoptimizeSettings, Reservation, Router, RouterConfig, Timestamp,
    Workspace, reoptimize_pool,
};

use crate::lookahead::{Distance, dc};

const NOON: Timestamp = Timestamp(1_795_694_400);

// The look-ahead example's cost model ($5 a parcel plus 1 cent a km), with splits allowed.
struct Parcels;

impl Policy for Parcels {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::new(PolicyInfo { name: "parcels".into(), version: "1".into() })
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        Distance.evaluate(request, out)?;
        out.split.max_shipments = 10;
        Ok(())
    }
}

fn product(sku: &str) -> Product {
    Product { sku: sku.into(), group: "apparel".into(), weight_kg: 0.3, tags: vec![] }
}

fn order(id: &str, lat: f64, lon: f64, lines: &[(switchyard_engine::SkuId, u32)]) -> Order {
    Order {
        id: id.into(),
        placed_at: NOON,
        channel: "web".into(),
        ship_to: Address { position: GeoPoint { lat, lon }, postal_code: String::new(), country: "US".into() },
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, &(sku, qty))| OrderLine { id: format!("{}", i + 1), sku, qty, kit: None })
            .collect(),
    }
}

// Routes `orders` one at a time, reserving: each order's plan and what it holds.
fn route_all(
    catalog: &Catalog,
    inventory: &Inventory,
    policy: &dyn Policy,
    orders: &[Order],
) -> Vec<(Plan, Reservation)> {
    route_each(catalog, inventory, &vec![policy; orders.len()], orders)
}

// The same, each order under its own policy (`policies[k]` for `orders[k]`).
fn route_each(
    catalog: &Catalog,
    inventory: &Inventory,
    policies: &[&dyn Policy],
    orders: &[Order],
) -> Vec<(Plan, Reservation)> {
    let config = RouterConfig::default();
    let mut workspace = Workspace::default();
    orders
        .iter()
        .zip(policies)
        .map(|(order, &policy)| {
            let router = Router { catalog, inventory, policy, config: &config };
            let routed = router.route_and_reserve(order, &mut workspace).unwrap();
            (routed.plan, routed.reservation.unwrap_or_default())
        })
        .collect()
}

fn pool<'a>(orders: &'a [Order], routed: &[(Plan, Reservation)], policy: &'a dyn Policy) -> Vec<PoolOrder<'a>> {
    pool_of(orders, routed, &vec![policy; orders.len()])
}

// The pool of `orders` as routed, each under its own policy, none settled.
fn pool_of<'a>(orders: &'a [Order], routed: &[(Plan, Reservation)], policies: &[&'a dyn Policy]) -> Vec<PoolOrder<'a>> {
    orders
        .iter()
        .zip(routed)
        .zip(policies)
        .map(|((order, (plan, reservation)), &policy)| PoolOrder {
            order,
            policy,
            plan: plan.clone(),
            reservation: reservation.clone(),
            admits: None,
            settled: false,
        })
        .collect()
}

fn two_orders() -> (Catalog, Inventory, Vec<Order>) {
    let mut catalog = Catalog::new();
    catalog.add_location(dc("DC-NJ", 40.73, -74.17)).unwrap();
    catalog.add_location(dc("DC-PA", 40.27, -76.88)).unwrap();
    catalog.add_product(product("TEE")).unwrap();
    catalog.add_product(product("CAP")).unwrap();
    let (tee, cap) = (catalog.sku_id("TEE").unwrap(), catalog.sku_id("CAP").unwrap());
    let (nj, pa) = (catalog.location_id("DC-NJ").unwrap(), catalog.location_id("DC-PA").unwrap());
    let inventory = Inventory::new();
    inventory.set_stock(tee, nj, 1, 0);
    inventory.set_stock(cap, nj, 1, 0);
    inventory.set_stock(tee, pa, 10, 0);
    let orders = vec![order("O1", 39.95, -75.17, &[(tee, 1)]), order("O2", 40.71, -74.0, &[(tee, 1), (cap, 1)])];
    (catalog, inventory, orders)
}

fn shipped_from(catalog: &Catalog, plan: &Plan) -> Vec<String> {
    plan.shipments.iter().map(|s| catalog.location(s.location).id.clone()).collect()
}

#[test]
fn exchanging_two_orders_stock_saves_a_split() {
    let (catalog, inventory, orders) = two_orders();
    let routed = route_all(&catalog, &inventory, &Parcels, &orders);
    assert_eq!(shipped_from(&catalog, &routed[0].0), ["DC-NJ"]);
    assert_eq!(shipped_from(&catalog, &routed[1].0), ["DC-NJ", "DC-PA"], "O2 splits");

    // Re-routing one order at a time cannot help.
    let mut alone = pool(&orders, &routed, &Parcels);
    let settings = ReoptimizeSettings { partners: 0, ..ReoptimizeSettings::default() };
    let outcome = reoptimize_pool(&catalog, &inventory, &RouterConfig::default(), &mut alone, &settings).unwrap();
    assert!(outcome.changed.is_empty(), "{outcome:?}");
    assert!((outcome.cost_before - 18.80).abs() < 0.1, "{}", outcome.cost_before);

    let mut entries = pool(&orders, &routed, &Parcels);
    let outcome =
        reoptimize_pool(&catalog, &inventory, &RouterConfig::default(), &mut entries, &ReoptimizeSettings::default())
            .unwrap();
    assert_eq!(shipped_from(&catalog, &entries[0].plan), ["DC-PA"]);
    assert_eq!(shipped_from(&catalog, &entries[1].plan), ["DC-NJ"], "O2 ships whole");
    assert!((outcome.cost_after - 11.65).abs() < 0.1, "{}", outcome.cost_after);
    assert_eq!(outcome.changed.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1]);
    assert!(outcome.changed.iter().all(|c| c.after != c.before));
    // The inventory holds exactly the new plans.
    let (tee, cap) = (catalog.sku_id("TEE").unwrap(), catalog.sku_id("CAP").unwrap());
    let (nj, pa) = (catalog.location_id("DC-NJ").unwrap(), catalog.location_id("DC-PA").unwrap());
    assert_eq!(inventory.position(tee, nj).unwrap().reserved, 1);
    assert_eq!(inventory.position(cap, nj).unwrap().reserved, 1);
    assert_eq!(inventory.position(tee, pa).unwrap().reserved, 1);
    let router =
        Router { catalog: &catalog, inventory: &inventory, policy: &Parcels, config: &RouterConfig::default() };
    for (entry, order) in entries.iter().zip(&orders) {
        assert_eq!(entry.reservation, router.reservation_for(order, &entry.plan));
    }
    assert_eq!(outcome.pending, Vec::<usize>::new(), "the list ran out: every order settled");
    // A second pass finds nothing more.
    let again =
        reoptimize_pool(&catalog, &inventory, &RouterConfig::default(), &mut entries, &ReoptimizeSettings::default())
            .unwrap();
    assert!(again.changed.is_empty());
}

// A cyclic exchange no pair finds. A (lon -75.0) holds 1 TEE, 1 CAP and HATs; C (60 km east)
// 1 TEE; B (100 km east) 1 TEE and HATs. O1 (45 km east) wants a TEE and a HAT in one parcel
// (it may not split): A $5.45, B $5.55. O3 (110 km east) wants a TEE: B $5.10, C $5.50. O2 (at
// A, may split) wants a TEE and a CAP; the CAP is only at A and the TEEs of A and B are taken,
// so it splits: the CAP from A ($5.00) and C's TEE ($5.60). $21.15 in all.
//
// No pair helps: O2 can have A's TEE only if O1 moves to B, whose TEE O3 holds (O1 cannot take
// C's, which has no HAT), and O3 gains nothing from O2's. The chain does: O2 takes A's TEE and
// ships whole ($5.00), O1 takes B's ($5.55), O3 takes the TEE at C that O2 gave up ($5.50):
// $16.05.
#[test]
fn a_chain_of_three_exchanges_saves_a_split_no_pair_can() {
    let (catalog, inventory, orders, policies) = three_orders();
    let [tee, cap, hat] = ["TEE", "CAP", "HAT"].map(|sku| catalog.sku_id(sku).unwrap());
    let [a, c, b] = ["A", "C", "B"].map(|id| catalog.location_id(id).unwrap());
    let config = RouterConfig::default();
    let routed = route_each(&catalog, &inventory, &policies, &orders);
    let from = |plans: Vec<&Plan>| plans.into_iter().map(|plan| shipped_from(&catalog, plan)).collect::<Vec<_>>();
    assert_eq!(from(routed.iter().map(|r| &r.0).collect()), [vec!["A"], vec!["B"], vec!["A", "C"]]);
    let entries = || pool_of(&orders, &routed, &policies);

    let pairs = ReoptimizeSettings { chain: 2, ..ReoptimizeSettings::default() };
    let mut pool = entries();
    let outcome = reoptimize_pool(&catalog, &inventory, &config, &mut pool, &pairs).unwrap();
    assert!(outcome.changed.is_empty(), "no pair pays: {outcome:?}");
    assert!((outcome.cost_before - 21.15).abs() < 0.02, "{}", outcome.cost_before);

    let mut pool = entries();
    let outcome = reoptimize_pool(&catalog, &inventory, &config, &mut pool, &ReoptimizeSettings::default()).unwrap();
    assert_eq!(from(pool.iter().map(|e| &e.plan).collect()), [vec!["B"], vec!["C"], vec!["A"]], "{outcome:?}");
    assert!((outcome.cost_after - 16.05).abs() < 0.02, "{}", outcome.cost_after);
    assert_eq!(outcome.changed.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1, 2]);
    // The inventory holds exactly the new plans.
    for (entry, policy) in pool.iter().zip(policies) {
        let router = Router { catalog: &catalog, inventory: &inventory, policy, config: &config };
        assert_eq!(entry.reservation, router.reservation_for(entry.order, &entry.plan));
    }
    for (sku, location, reserved) in [(tee, a, 1), (cap, a, 1), (hat, a, 0), (tee, c, 1), (tee, b, 1), (hat, b, 1)] {
        assert_eq!(inventory.position(sku, location).unwrap().reserved, reserved);
    }
}

// The chain example's stock, its three orders in the order they came, and their policies: O1
// and O3 ship whole (`Distance`), O2 may split.
fn three_orders() -> (Catalog, Inventory, [Order; 3], [&'static dyn Policy; 3]) {
    let mut catalog = Catalog::new();
    let east = |km: f64| -75.0 + km / 85.2;
    catalog.add_location(dc("A", 40.0, east(0.0))).unwrap();
    catalog.add_location(dc("C", 40.0, east(60.0))).unwrap();
    catalog.add_location(dc("B", 40.0, east(100.0))).unwrap();
    for sku in ["TEE", "CAP", "HAT"] {
        catalog.add_product(product(sku)).unwrap();
    }
    let [tee, cap, hat] = ["TEE", "CAP", "HAT"].map(|sku| catalog.sku_id(sku).unwrap());
    let [a, c, b] = ["A", "C", "B"].map(|id| catalog.location_id(id).unwrap());
    let inventory = Inventory::new();
    for (sku, location, units) in [(tee, a, 1), (cap, a, 1), (hat, a, 5), (tee, c, 1), (tee, b, 1), (hat, b, 5)] {
        inventory.set_stock(sku, location, units, 0);
    }
    let orders = [
        order("O1", 40.0, east(45.0), &[(tee, 1), (hat, 1)]),
        order("O3", 40.0, east(110.0), &[(tee, 1)]),
        order("O2", 40.0, east(0.0), &[(tee, 1), (cap, 1)]),
    ];
    (catalog, inventory, orders, [&Distance, &Distance, &Parcels])
}

// The same three orders, with exchanges of pairs only, and a re-plan of the whole pool under
// prices first: the search prices A's TEE (O1 and O2 both want it) and then B's (O1, pushed
// there, and O3 both want it) until routing the orders one by one in turn, each under its own
// policy with the prices added, gives O1 B's TEE, O3 C's and O2 A's: the chain's plans, found
// with no chain.
#[test]
fn a_replan_under_prices_finds_what_only_a_chain_of_exchanges_finds() {
    let (catalog, inventory, orders, policies) = three_orders();
    let config = RouterConfig::default();
    let routed = route_each(&catalog, &inventory, &policies, &orders);
    let from = |plans: Vec<&Plan>| plans.into_iter().map(|plan| shipped_from(&catalog, plan)).collect::<Vec<_>>();
    let mut pool = pool_of(&orders, &routed, &policies);
    let settings = ReoptimizeSettings { chain: 2, replan_rounds: 50, ..ReoptimizeSettings::default() };
    let outcome = reoptimize_pool(&catalog, &inventory, &config, &mut pool, &settings).unwrap();
    assert!(outcome.replanned, "{outcome:?}");
    assert_eq!(from(pool.iter().map(|e| &e.plan).collect()), [vec!["B"], vec!["C"], vec!["A"]], "{outcome:?}");
    assert!((outcome.cost_after - 16.05).abs() < 0.02, "{}", outcome.cost_after);
    assert_eq!(outcome.changed.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1, 2]);
    // Each plan's costs, shipment by shipment and unit by unit, are its own policy's, not the
    // prices'.
    for entry in &pool {
        let router = Router { catalog: &catalog, inventory: &inventory, policy: entry.policy, config: &config };
        let mut workspace = Workspace::default();
        let mut own = entry.plan.clone();
        let priced = router.reprice(entry.order, &mut own, &mut workspace).unwrap();
        assert!(priced.broken.is_empty(), "{priced:?}");
        assert_eq!(own, entry.plan);
        assert_eq!(entry.reservation, router.reservation_for(entry.order, &entry.plan));
    }
    let held: u32 = ["A", "B", "C"]
        .iter()
        .map(|id| {
            inventory.position(catalog.sku_id("TEE").unwrap(), catalog.location_id(id).unwrap()).unwrap().reserved
        })
        .sum();
    assert_eq!(held, 3);

    // With nothing to gain (O1 and O3 alone want different TEEs), a re-plan is not kept.
    let (catalog, inventory, orders, policies) = three_orders();
    let routed = route_each(&catalog, &inventory, &policies[..2], &orders[..2]);
    let mut pool = pool_of(&orders[..2], &routed, &policies[..2]);
    let outcome = reoptimize_pool(&catalog, &inventory, &config, &mut pool, &settings).unwrap();
    assert!(!outcome.replanned && outcome.changed.is_empty(), "{outcome:?}");
}

// A pass tries the moves of the orders not settled, with every partner, settled or not.
#[test]
fn settled_orders_are_tried_only_as_partners() {
    let (catalog, inventory, orders) = two_orders();
    let routed = route_all(&catalog, &inventory, &Parcels, &orders);
    let settings = ReoptimizeSettings::default();
    let mut both = pool(&orders, &routed, &Parcels);
    for entry in &mut both {
        entry.settled = true;
    }
    let outcome = reoptimize_pool(&catalog, &inventory, &RouterConfig::default(), &mut both, &settings).unwrap();
    assert_eq!((outcome.tried, outcome.changed.len()), (0, 0), "nothing to try: {outcome:?}");

    // O2 arrives after a pass settled O1: its exchange with O1 still saves the split.
    let mut one = pool(&orders, &routed, &Parcels);
    one[0].settled = true;
    let outcome = reoptimize_pool(&catalog, &inventory, &RouterConfig::default(), &mut one, &settings).unwrap();
    assert_eq!(shipped_from(&catalog, &one[1].plan), ["DC-NJ"], "{outcome:?}");
    assert_eq!(outcome.changed.len(), 2);
}

// Where an order goes, and its lines (SKU index, units).
type StreamOrder = ((f64, f64), Vec<(usize, u32)>);

// A random stream: locations on the map, SKUs, stock, orders of one to three lines.
#[derive(Debug, Clone)]
struct Stream {
    locations: Vec<(f64, f64)>,
    stock: Vec<Vec<u32>>,
    orders: Vec<StreamOrder>,
    frozen: Vec<bool>,
    // Orders an earlier pass settled.
    settled: Vec<bool>,
    // Orders that may not split (`Distance`; the others `Parcels`).
    whole: Vec<bool>,
    // Longest chain of exchanges a pass tries.
    chain: usize,
    // Rounds of the price search of a re-plan of the whole pool (0: none).
    replan_rounds: usize,
    // A pass out of time as it starts (its warm start solves nothing, its price search stops
    // after a round, no exchange is started).
    out_of_time: bool,
}

fn streams() -> impl Strategy<Value = Stream> {
    let place = (38.0..42.0f64, -80.0..-72.0f64);
    (2usize..5, 1usize..4).prop_flat_map(move |(locations, skus)| {
        (
            prop::collection::vec(place.clone(), locations),
            prop::collection::vec(prop::collection::vec(0u32..4, locations), skus),
            prop::collection::vec((place.clone(), prop::collection::vec((0..skus, 1u32..3), 1..4)), 2..13),
            prop::collection::vec(any::<bool>(), 13),
            prop::collection::vec(any::<bool>(), 13),
            prop::collection::vec(any::<bool>(), 13),
            2usize..6,
            prop_oneof![Just(0usize), 1usize..40],
            prop::bool::weighted(0.2),
        )
            .prop_map(
                |(locations, stock, orders, frozen, settled, whole, chain, replan_rounds, out_of_time)| Stream {
                    locations,
                    stock,
                    orders,
                    frozen,
                    settled,
                    whole,
                    chain,
                    replan_rounds,
                    out_of_time,
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn reoptimising_never_raises_cost_oversells_or_touches_orders_outside_the_pool(stream in streams()) {
        let (catalog, inventory, orders) = build(&stream);
        let mut on_hand = HashMap::new();
        for (sku, units) in stream.stock.iter().enumerate() {
            for (index, &units) in units.iter().enumerate() {
                let sku = catalog.sku_id(&format!("S{sku}")).unwrap();
                on_hand.insert((sku, catalog.location_id(&format!("L{index}")).unwrap()), units);
            }
        }
        let policies: Vec<&dyn Policy> =
            (0..orders.len()).map(|i| if stream.whole[i] { &Distance as &dyn Policy } else { &Parcels }).collect();
        let config = RouterConfig::default();
        let routed = route_each(&catalog, &inventory, &policies, &orders);
        // Frozen orders (released, or fulfilment began) stay out of the pool.
        let in_pool: Vec<usize> = (0..orders.len()).filter(|&i| !stream.frozen[i]).collect();
        let pool_orders: Vec<Order> = in_pool.iter().map(|&i| orders[i].clone()).collect();
        let pool_routed: Vec<(Plan, Reservation)> = in_pool.iter().map(|&i| routed[i].clone()).collect();
        let pool_policies: Vec<&dyn Policy> = in_pool.iter().map(|&i| policies[i]).collect();
        let mut entries = pool_of(&pool_orders, &pool_routed, &pool_policies);
        for (entry, &i) in entries.iter_mut().zip(&in_pool) {
            entry.settled = stream.settled[i];
        }
        let unfilled_before: u64 = entries.iter().map(|e| e.plan.unfilled_units()).sum();
        let settings = ReoptimizeSettings {
            chain: stream.chain,
            replan_rounds: stream.replan_rounds,
            time_limit: stream.out_of_time.then_some(std::time::Duration::ZERO),
            ..ReoptimizeSettings::default()
        };
        let outcome = reoptimize_pool(&catalog, &inventory, &config, &mut entries, &settings).unwrap();
        prop_assert!(!outcome.replanned || stream.replan_rounds > 0);

        // The pool's cost never rises, and its plans' costs add up to what the pass says.
        prop_assert!(outcome.cost_after <= outcome.cost_before + 1e-9, "{outcome:?}");
        let after: f64 = entries.iter().map(|e| e.plan.cost.total()).sum();
        prop_assert!((after - outcome.cost_after).abs() < 1e-6, "{after} vs {}", outcome.cost_after);
        let unfilled_after: u64 = entries.iter().map(|e| e.plan.unfilled_units()).sum();
        prop_assert!(unfilled_after <= unfilled_before);

        // Every plan is whole, within its policy's shipments, and holds exactly its reservation.
        for ((entry, order), &i) in entries.iter().zip(&pool_orders).zip(&in_pool) {
            let router = Router { catalog: &catalog, inventory: &inventory, policy: entry.policy, config: &config };
            prop_assert_eq!(entry.plan.status.clone(), PlanStatus::Routed);
            let most = if stream.whole[i] { 1 } else { 10 };
            prop_assert!(entry.plan.shipments.len() <= most, "{:?}", entry.plan);
            for (line, order_line) in order.lines.iter().enumerate() {
                let shipped: u32 = entry.plan.shipments.iter().flat_map(|s| &s.lines).filter(|l| l.line == line).map(|l| l.qty).sum();
                let short: u32 = entry.plan.unfilled.iter().filter(|u| u.line == line).map(|u| u.qty).sum();
                prop_assert_eq!(shipped + short, order_line.qty);
            }
            prop_assert_eq!(&entry.reservation, &router.reservation_for(order, &entry.plan));
            // Its costs are its own policy's, part by part (a re-plan routes under prices).
            let mut workspace = Workspace::default();
            let mut own = entry.plan.clone();
            router.reprice(order, &mut own, &mut workspace).unwrap();
            for (mine, theirs) in own.shipments.iter().zip(&entry.plan.shipments) {
                prop_assert!((mine.shipment_cost - theirs.shipment_cost).abs() < 1e-9, "{:?}", entry.plan);
                for (a, b) in mine.lines.iter().zip(&theirs.lines) {
                    prop_assert!((a.unit_cost - b.unit_cost).abs() < 1e-9, "{:?}", entry.plan);
                }
            }
            prop_assert!((own.cost.total() - entry.plan.cost.total()).abs() < 1e-9);
        }
        // Every order whose units moved is reported changed, and no other (costs aside: a
        // plan routed again the same way may differ in their rounding).
        let routing = |plan: &Plan| -> Vec<(switchyard_engine::LocationId, Vec<(usize, u32)>)> {
            plan.shipments.iter().map(|s| (s.location, s.lines.iter().map(|l| (l.line, l.qty)).collect())).collect()
        };
        for (index, entry) in entries.iter().enumerate() {
            let moved = entry.reservation != pool_routed[index].1
                || routing(&entry.plan) != routing(&pool_routed[index].0);
            let reported = outcome.changed.iter().any(|c| c.index == index);
            prop_assert_eq!(moved, reported, "order {}: {:?}", in_pool[index], outcome);
        }

        // What the inventory holds is exactly what the frozen orders held before and the pool
        // holds now, and never more than on hand.
        let mut held: HashMap<_, u32> = HashMap::new();
        let frozen = (0..orders.len()).filter(|&i| stream.frozen[i]).map(|i| &routed[i].1);
        for reservation in frozen.chain(entries.iter().map(|e| &e.reservation)) {
            for units in &reservation.units {
                *held.entry((units.sku, units.location)).or_default() += units.qty;
            }
        }
        for (&(sku, location), &units) in &on_hand {
            let position = inventory.position(sku, location).unwrap();
            prop_assert_eq!(position.reserved, held.get(&(sku, location)).copied().unwrap_or(0));
            prop_assert!(position.reserved <= units);
        }
    }
}

// The stream's catalog, a fresh stock and its orders (a SKU's lines merged into one).
fn build(stream: &Stream) -> (Catalog, Inventory, Vec<Order>) {
    let mut catalog = Catalog::new();
    for (index, (lat, lon)) in stream.locations.iter().enumerate() {
        catalog.add_location(dc(&format!("L{index}"), *lat, *lon)).unwrap();
    }
    for sku in 0..stream.stock.len() {
        catalog.add_product(product(&format!("S{sku}"))).unwrap();
    }
    let inventory = Inventory::new();
    let sku_id = |sku: usize| catalog.sku_id(&format!("S{sku}")).unwrap();
    for (sku, units) in stream.stock.iter().enumerate() {
        for (index, &units) in units.iter().enumerate() {
            inventory.set_stock(sku_id(sku), catalog.location_id(&format!("L{index}")).unwrap(), units, 0);
        }
    }
    let orders = stream
        .orders
        .iter()
        .enumerate()
        .map(|(i, ((lat, lon), lines))| {
            let mut merged: Vec<(switchyard_engine::SkuId, u32)> = Vec::new();
            for &(sku, qty) in lines {
                match merged.iter_mut().find(|(s, _)| *s == sku_id(sku)) {
                    Some(line) => line.1 += qty,
                    None => merged.push((sku_id(sku), qty)),
                }
            }
            order(&format!("O{i}"), *lat, *lon, &merged)
        })
        .collect();
    (catalog, inventory, orders)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    // Both clairvoyant bounds (engine/src/bound.rs) lie below every stream the router makes:
    // the orders routed one at a time in their order, in reverse, and the pool re-optimised.
    #[test]
    fn the_clairvoyant_bounds_lie_below_every_stream_the_router_makes(stream in streams()) {
        use switchyard_engine::bound::{LagrangianSettings, lagrangian_bound, stream_bound};
        let (catalog, inventory, orders) = build(&stream);
        let lp = stream_bound(&catalog, &inventory, &Parcels, &orders).unwrap();
        let mut costs = Vec::new();
        let forward = route_all(&catalog, &inventory, &Parcels, &orders);
        costs.push(forward.iter().map(|(plan, _)| plan.cost.total()).sum::<f64>());
        let mut entries = pool(&orders, &forward, &Parcels);
        reoptimize_pool(&catalog, &inventory, &RouterConfig::default(), &mut entries, &ReoptimizeSettings::default())
            .unwrap();
        costs.push(entries.iter().map(|entry| entry.plan.cost.total()).sum::<f64>());
        let (catalog, inventory, orders) = build(&stream);
        let reversed: Vec<Order> = orders.iter().rev().cloned().collect();
        let backward = route_all(&catalog, &inventory, &Parcels, &reversed);
        costs.push(backward.iter().map(|(plan, _)| plan.cost.total()).sum::<f64>());
        let (catalog, inventory, orders) = build(&stream);
        for warm_start in [false, true] {
            let settings = LagrangianSettings { iterations: 50, upper: costs[0], threads: 2, warm_start };
            let lagrangian = lagrangian_bound(&catalog, &inventory, &Parcels, &orders, settings).unwrap();
            for cost in &costs {
                prop_assert!(lagrangian.cost <= cost + 1e-6, "Lagrangian {lagrangian:?} above a stream of {cost}");
            }
        }
        for cost in &costs {
            prop_assert!(lp.cost <= cost + 1e-4 * cost.max(1.0), "LP {lp:?} above a stream of {cost}");
        }
    }
}
