//! Inventory: reservations are atomic, conserve stock, and never oversell under contention.

use std::sync::Arc;
use std::thread;

use proptest::prelude::*;
use switchyard_engine::{Inventory, InventoryError, LocationId, Reservation, ReservedShipment, ReservedUnits, SkuId};

fn units(sku: u32, location: u32, qty: u32) -> ReservedUnits {
    ReservedUnits { sku: SkuId(sku), location: LocationId(location), qty }
}

#[test]
fn atp_is_on_hand_less_reserved_and_safety_stock() {
    let inventory = Inventory::new();
    inventory.set_stock(SkuId(1), LocationId(0), 10, 2);
    inventory.reserve(&Reservation { units: vec![units(1, 0, 5)], shipments: vec![] }).unwrap();
    let position = inventory.position(SkuId(1), LocationId(0)).unwrap();
    assert_eq!((position.on_hand, position.reserved, position.safety_stock, position.atp()), (10, 5, 2, 3));
    // Counting stock down below what is promised leaves ATP at zero, not negative.
    inventory.set_stock(SkuId(1), LocationId(0), 4, 2);
    assert_eq!(inventory.position(SkuId(1), LocationId(0)).unwrap().atp(), 0);
}

#[test]
fn adjustments_refuse_to_go_below_zero_and_restores_skip_the_atp_check() {
    let inventory = Inventory::new();
    inventory.set_stock(SkuId(1), LocationId(0), 3, 0);
    assert_eq!(inventory.adjust_stock(SkuId(1), LocationId(0), 4), Ok(7));
    assert!(matches!(inventory.adjust_stock(SkuId(1), LocationId(0), -8), Err(InventoryError::OutOfRange { .. })));
    assert_eq!(inventory.position(SkuId(1), LocationId(0)).unwrap().on_hand, 7, "a refused adjustment changes nothing");
    // After a restart an order holds what it held, even where stock was since set lower.
    inventory.set_stock(SkuId(1), LocationId(0), 2, 0);
    let held = Reservation {
        units: vec![units(1, 0, 5)],
        shipments: vec![ReservedShipment { location: LocationId(0), day: 3, capacity: Some(1) }],
    };
    inventory.restore(&held, true).unwrap();
    let position = inventory.position(SkuId(1), LocationId(0)).unwrap();
    assert_eq!((position.reserved, position.atp()), (5, 0));
    assert_eq!(inventory.shipments_on(LocationId(0), 3), 1);
    // A shipped order's shipments still count against capacity; its units do not.
    inventory.restore(&held, false).unwrap();
    assert_eq!(
        (inventory.position(SkuId(1), LocationId(0)).unwrap().reserved, inventory.shipments_on(LocationId(0), 3)),
        (5, 2)
    );
    let unknown = Reservation { units: vec![units(9, 0, 1)], shipments: vec![] };
    assert!(matches!(inventory.restore(&unknown, true), Err(InventoryError::UnknownPosition { .. })));
}

#[test]
fn a_reservation_that_fails_anywhere_changes_nothing() {
    let inventory = Inventory::new();
    inventory.set_stock(SkuId(1), LocationId(0), 5, 0);
    inventory.set_stock(SkuId(2), LocationId(1), 1, 0);
    let too_much = Reservation { units: vec![units(1, 0, 3), units(2, 1, 2)], shipments: vec![] };
    assert_eq!(
        inventory.reserve(&too_much),
        Err(InventoryError::InsufficientStock { sku: SkuId(2), location: LocationId(1), requested: 2, available: 1 })
    );
    assert_eq!(inventory.totals(), (6, 0));

    // Two lines of one SKU at one location are checked together.
    let split = Reservation { units: vec![units(1, 0, 3), units(1, 0, 3)], shipments: vec![] };
    assert!(matches!(inventory.reserve(&split), Err(InventoryError::InsufficientStock { requested: 6, .. })));

    let over_capacity = Reservation {
        units: vec![units(1, 0, 1)],
        shipments: vec![ReservedShipment { location: LocationId(0), day: 7, capacity: Some(0) }],
    };
    assert!(matches!(inventory.reserve(&over_capacity), Err(InventoryError::CapacityReached { .. })));
    assert_eq!(inventory.totals(), (6, 0));
    assert_eq!(inventory.shipments_on(LocationId(0), 7), 0);

    let unknown = Reservation { units: vec![units(9, 0, 1)], shipments: vec![] };
    assert!(matches!(inventory.reserve(&unknown), Err(InventoryError::UnknownPosition { .. })));
}

#[test]
fn releasing_what_was_never_reserved_is_refused() {
    let inventory = Inventory::new();
    inventory.set_stock(SkuId(1), LocationId(0), 5, 0);
    let reservation = Reservation { units: vec![units(1, 0, 2)], shipments: vec![] };
    assert!(matches!(inventory.release(&reservation), Err(InventoryError::OutOfRange { .. })));
    inventory.reserve(&reservation).unwrap();
    inventory.release(&reservation).unwrap();
    assert!(inventory.release(&reservation).is_err(), "a second release must not double the stock");
    assert_eq!(inventory.totals(), (5, 0));
}

#[test]
fn shipping_consumes_the_reservation_and_the_stock() {
    let inventory = Inventory::new();
    inventory.set_stock(SkuId(1), LocationId(0), 5, 0);
    let reservation = Reservation {
        units: vec![units(1, 0, 2)],
        shipments: vec![ReservedShipment { location: LocationId(0), day: 3, capacity: Some(10) }],
    };
    inventory.reserve(&reservation).unwrap();
    inventory.consume(&reservation).unwrap();
    assert_eq!(inventory.totals(), (3, 0));
    assert_eq!(inventory.shipments_on(LocationId(0), 3), 1, "a shipped parcel still used the day's capacity");
}

/// Eight threads race for scarce stock with multi-position reservations: never more than
/// the stock is promised, and what is promised is exactly what the winners asked for.
#[test]
fn concurrent_reservations_never_oversell() {
    let inventory = Arc::new(Inventory::new());
    for sku in 0..4 {
        for location in 0..3 {
            inventory.set_stock(SkuId(sku), LocationId(location), 25, 1);
        }
    }
    let capacity = 150;
    let threads: Vec<_> = (0..8u32)
        .map(|thread| {
            let inventory = Arc::clone(&inventory);
            thread::spawn(move || {
                let mut won = 0u64;
                let mut shipments = 0u32;
                for round in 0..500u32 {
                    let a = (thread + round) % 4;
                    let b = (thread * 3 + round) % 4;
                    let reservation = Reservation {
                        units: vec![units(a, round % 3, 1 + round % 2), units(b, (round + 1) % 3, 1)],
                        shipments: vec![ReservedShipment {
                            location: LocationId(round % 3),
                            day: 1,
                            capacity: Some(capacity),
                        }],
                    };
                    if inventory.reserve(&reservation).is_ok() {
                        won += reservation.units.iter().map(|u| u64::from(u.qty)).sum::<u64>();
                        shipments += 1;
                    }
                }
                (won, shipments)
            })
        })
        .collect();
    let (mut promised, mut shipments) = (0u64, 0u32);
    for thread in threads {
        let (won, counted) = thread.join().unwrap();
        promised += won;
        shipments += counted;
    }
    let (on_hand, reserved) = inventory.totals();
    assert_eq!(on_hand, 4 * 3 * 25);
    assert_eq!(reserved, promised);
    for sku in 0..4 {
        for location in 0..3 {
            let position = inventory.position(SkuId(sku), LocationId(location)).unwrap();
            assert!(position.reserved <= position.on_hand - position.safety_stock, "oversold {position:?}");
        }
    }
    let counted: u32 = (0..3).map(|location| inventory.shipments_on(LocationId(location), 1)).sum();
    assert_eq!(counted, shipments);
    assert!((0..3).all(|location| inventory.shipments_on(LocationId(location), 1) <= capacity));
    assert!(promised > 0 && reserved < on_hand, "the race should end with some stock left unsellable by safety stock");
}

proptest! {
    /// Any sequence of reserves and releases leaves on hand unchanged and reserved equal to
    /// what is still held; releasing everything returns to zero.
    #[test]
    fn reserve_and_release_conserve_stock(steps in prop::collection::vec((0u32..3, 0u32..3, 1u32..4, any::<bool>()), 1..60)) {
        let inventory = Inventory::new();
        for sku in 0..3 {
            for location in 0..3 {
                inventory.set_stock(SkuId(sku), LocationId(location), 6, 1);
            }
        }
        let mut held: Vec<Reservation> = Vec::new();
        for (sku, location, qty, release) in steps {
            if release && !held.is_empty() {
                let reservation = held.remove((sku as usize) % held.len());
                inventory.release(&reservation).unwrap();
            } else {
                let reservation = Reservation { units: vec![units(sku, location, qty)], shipments: vec![] };
                let before = inventory.position(SkuId(sku), LocationId(location)).unwrap().atp();
                match inventory.reserve(&reservation) {
                    Ok(()) => held.push(reservation),
                    Err(_) => prop_assert!(before < qty),
                }
            }
            let (on_hand, reserved) = inventory.totals();
            prop_assert_eq!(on_hand, 54);
            prop_assert_eq!(reserved, held.iter().flat_map(|r| &r.units).map(|u| u64::from(u.qty)).sum::<u64>());
        }
        for reservation in held {
            inventory.release(&reservation).unwrap();
        }
        prop_assert_eq!(inventory.totals(), (54, 0));
    }
}
