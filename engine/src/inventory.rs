//! In-memory inventory: on hand, reserved and safety stock per SKU and location, and the
//! shipments each location has committed per day.
//!
//! Positions are sharded by SKU behind mutexes. Reserving a plan locks every shard the plan
//! touches (in ascending shard order, so two reservations can never deadlock), checks every
//! position, and only then applies all of them: a plan is reserved whole or not at all, and
//! no interleaving of threads can sell a unit twice.

use parking_lot::{Mutex, MutexGuard};
use rustc_hash::FxHashMap;

use crate::domain::{LocationId, SkuId};

const SHARDS: usize = 64;

/// Stock of one SKU at one location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Where the stock is.
    pub location: LocationId,
    /// Units physically there.
    pub on_hand: u32,
    /// Units promised to orders that have not shipped yet.
    pub reserved: u32,
    /// Units the merchant keeps back (display stock, shrinkage buffer); never promised.
    pub safety_stock: u32,
}

impl Position {
    /// Available to promise: on hand less reserved and safety stock, never below zero.
    pub fn atp(&self) -> u32 {
        self.on_hand.saturating_sub(self.reserved.saturating_add(self.safety_stock))
    }
}

/// Units of one SKU taken from one location by a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReservedUnits {
    /// What.
    pub sku: SkuId,
    /// From where.
    pub location: LocationId,
    /// How many.
    pub qty: u32,
}

/// One shipment counted against a location's capacity on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReservedShipment {
    /// Which location ships.
    pub location: LocationId,
    /// The day it counts against, in days since the epoch.
    pub day: i64,
    /// The location's capacity that day; `None` is unlimited.
    pub capacity: Option<u32>,
}

/// Everything one order holds: units per position and shipments per location and day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reservation {
    /// Units held, at most one entry per SKU and location.
    pub units: Vec<ReservedUnits>,
    /// Shipments counted against capacity.
    pub shipments: Vec<ReservedShipment>,
}

/// Why a reservation or an inventory change was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// Another order took the stock between routing and reserving.
    #[error("only {available} of sku #{} available at location #{}, {requested} requested", sku.0, location.0)]
    InsufficientStock {
        /// The SKU.
        sku: SkuId,
        /// The location.
        location: LocationId,
        /// What was asked for.
        requested: u32,
        /// What was there.
        available: u32,
    },
    /// The location has no shipments left that day.
    #[error("location #{} has no shipment capacity left on day {day}", location.0)]
    CapacityReached {
        /// The location.
        location: LocationId,
        /// The day.
        day: i64,
    },
    /// No stock record exists for this SKU at this location.
    #[error("no stock of sku #{} is held at location #{}", sku.0, location.0)]
    UnknownPosition {
        /// The SKU.
        sku: SkuId,
        /// The location.
        location: LocationId,
    },
    /// A release names a shipment that was never counted.
    #[error("location #{} has no shipment counted on day {day} to give back", location.0)]
    ShipmentNotCounted {
        /// The location.
        location: LocationId,
        /// The day.
        day: i64,
    },
    /// A release or adjustment would drive a counter below zero or past its range.
    #[error("sku #{} at location #{}: {what}", sku.0, location.0)]
    OutOfRange {
        /// The SKU.
        sku: SkuId,
        /// The location.
        location: LocationId,
        /// Which counter and why.
        what: &'static str,
    },
}

#[derive(Default)]
struct Shard {
    // INVARIANT: each vector is sorted by location and holds a location at most once.
    stock: FxHashMap<SkuId, Vec<Position>>,
    // Positions changed since `take_changed` last ran (by SKU): their ATP may have moved.
    changed: FxHashMap<SkuId, Vec<LocationId>>,
}

impl Shard {
    fn mark(&mut self, sku: SkuId, location: LocationId) {
        let locations = self.changed.entry(sku).or_default();
        if !locations.contains(&location) {
            locations.push(location);
        }
    }
}

impl Shard {
    fn position_mut(&mut self, sku: SkuId, location: LocationId) -> Option<&mut Position> {
        let positions = self.stock.get_mut(&sku)?;
        let at = positions.binary_search_by_key(&location, |p| p.location).ok()?;
        Some(&mut positions[at])
    }
}

/// The live stock picture. Cheap to read concurrently; every write is atomic.
pub struct Inventory {
    shards: Box<[Mutex<Shard>]>,
    // Shipments committed per (location, day), sharded by location. Locked after the stock
    // shards, in ascending order too.
    shipments: Box<[Mutex<ShipmentCounts>]>,
}

impl Default for Inventory {
    fn default() -> Inventory {
        Inventory::new()
    }
}

fn shard_of(sku: SkuId) -> usize {
    sku.index() % SHARDS
}

fn shipment_shard_of(location: LocationId) -> usize {
    location.index() % SHARDS
}

// Shipments committed per (location, day) in one shard.
type ShipmentCounts = FxHashMap<(LocationId, i64), u32>;
type ShipmentGuards<'a> = Vec<(usize, MutexGuard<'a, ShipmentCounts>)>;

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Inventory {
        Inventory {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shipments: (0..SHARDS).map(|_| Mutex::new(FxHashMap::default())).collect(),
        }
    }

    /// Sets on hand and safety stock of a position, creating it if needed; reservations stay.
    pub fn set_stock(&self, sku: SkuId, location: LocationId, on_hand: u32, safety_stock: u32) {
        let mut shard = self.shards[shard_of(sku)].lock();
        shard.mark(sku, location);
        let positions = shard.stock.entry(sku).or_default();
        match positions.binary_search_by_key(&location, |p| p.location) {
            Ok(at) => {
                positions[at].on_hand = on_hand;
                positions[at].safety_stock = safety_stock;
            }
            Err(at) => positions.insert(at, Position { location, on_hand, reserved: 0, safety_stock }),
        }
    }

    /// Applies what another process sharing the record did to a position (deltas of on hand,
    /// reserved and safety stock, checked by the record it came from), creating the position
    /// if needed; each count stays within `0..=u32::MAX`.
    pub fn apply_delta(&self, sku: SkuId, location: LocationId, on_hand: i64, reserved: i64, safety_stock: i64) {
        let clamp = |count: u32, delta: i64| u32::try_from((i64::from(count) + delta).max(0)).unwrap_or(u32::MAX);
        let mut shard = self.shards[shard_of(sku)].lock();
        shard.mark(sku, location);
        let positions = shard.stock.entry(sku).or_default();
        let at = match positions.binary_search_by_key(&location, |p| p.location) {
            Ok(at) => at,
            Err(at) => {
                positions.insert(at, Position { location, on_hand: 0, reserved: 0, safety_stock: 0 });
                at
            }
        };
        let position = &mut positions[at];
        position.on_hand = clamp(position.on_hand, on_hand);
        position.reserved = clamp(position.reserved, reserved);
        position.safety_stock = clamp(position.safety_stock, safety_stock);
    }

    /// Applies what another process sharing the record did to the shipments counted against
    /// `location`'s capacity on `day` (checked by the record it came from); the count stays
    /// within `0..=u32::MAX`.
    pub fn apply_shipment_delta(&self, location: LocationId, day: i64, delta: i64) {
        let mut shipments = self.shipments[shipment_shard_of(location)].lock();
        let count = shipments.entry((location, day)).or_insert(0);
        *count = u32::try_from((i64::from(*count) + delta).max(0)).unwrap_or(u32::MAX);
    }

    /// The position of `sku` at `location`, if stock is recorded there.
    pub fn position(&self, sku: SkuId, location: LocationId) -> Option<Position> {
        let mut shard = self.shards[shard_of(sku)].lock();
        shard.position_mut(sku, location).copied()
    }

    /// Appends every position of `sku` to `out` (sorted by location), read under one lock.
    pub fn positions_into(&self, sku: SkuId, out: &mut Vec<Position>) {
        let shard = self.shards[shard_of(sku)].lock();
        if let Some(positions) = shard.stock.get(&sku) {
            out.extend_from_slice(positions);
        }
    }

    /// Total available to promise of `sku` across the network.
    pub fn network_atp(&self, sku: SkuId) -> u64 {
        let shard = self.shards[shard_of(sku)].lock();
        shard.stock.get(&sku).map_or(0, |positions| positions.iter().map(|p| u64::from(p.atp())).sum())
    }

    /// Shipments already committed by `location` on `day`.
    pub fn shipments_on(&self, location: LocationId, day: i64) -> u32 {
        self.shipments[shipment_shard_of(location)].lock().get(&(location, day)).copied().unwrap_or(0)
    }

    /// Reserves every unit and shipment of `reservation`, or nothing.
    pub fn reserve(&self, reservation: &Reservation) -> Result<(), InventoryError> {
        let merged = merged(&reservation.units);
        let mut guards = self.lock_shards_for(&merged);
        let mut shipments = self.lock_shipment_shards_for(&reservation.shipments);
        for units in &merged {
            let shard = guard_for(&mut guards, units.sku);
            let Some(position) = shard.position_mut(units.sku, units.location) else {
                return Err(InventoryError::UnknownPosition { sku: units.sku, location: units.location });
            };
            if position.atp() < units.qty {
                return Err(InventoryError::InsufficientStock {
                    sku: units.sku,
                    location: units.location,
                    requested: units.qty,
                    available: position.atp(),
                });
            }
        }
        for (index, shipment) in reservation.shipments.iter().enumerate() {
            // Shipments of this reservation on the same day at the same place count too.
            let before = reservation.shipments[..index]
                .iter()
                .filter(|s| (s.location, s.day) == (shipment.location, shipment.day))
                .count() as u32;
            let used = shipment_counts(&mut shipments, shipment.location)
                .get(&(shipment.location, shipment.day))
                .copied()
                .unwrap_or(0)
                .saturating_add(before);
            if shipment.capacity.is_some_and(|capacity| used >= capacity) {
                return Err(InventoryError::CapacityReached { location: shipment.location, day: shipment.day });
            }
        }
        // Every check passed with all locks held: apply.
        for units in &merged {
            let shard = guard_for(&mut guards, units.sku);
            shard.mark(units.sku, units.location);
            if let Some(position) = shard.position_mut(units.sku, units.location) {
                position.reserved += units.qty;
            }
        }
        for shipment in &reservation.shipments {
            *shipment_counts(&mut shipments, shipment.location)
                .entry((shipment.location, shipment.day))
                .or_insert(0) += 1;
        }
        Ok(())
    }

    /// Re-applies a reservation recorded before a restart, without checking ATP: stock levels
    /// may have been set below what open orders hold, and those orders still hold it.
    /// `count_units: false` restores only the shipments (an order that has shipped).
    pub fn restore(&self, reservation: &Reservation, count_units: bool) -> Result<(), InventoryError> {
        let merged = merged(&reservation.units);
        let mut guards = self.lock_shards_for(&merged);
        let mut shipments = self.lock_shipment_shards_for(&reservation.shipments);
        if count_units {
            for units in &merged {
                if guard_for(&mut guards, units.sku).position_mut(units.sku, units.location).is_none() {
                    return Err(InventoryError::UnknownPosition { sku: units.sku, location: units.location });
                }
            }
            for units in &merged {
                let shard = guard_for(&mut guards, units.sku);
                shard.mark(units.sku, units.location);
                if let Some(position) = shard.position_mut(units.sku, units.location) {
                    position.reserved = position.reserved.saturating_add(units.qty);
                }
            }
        }
        for shipment in &reservation.shipments {
            *shipment_counts(&mut shipments, shipment.location)
                .entry((shipment.location, shipment.day))
                .or_insert(0) += 1;
        }
        Ok(())
    }

    /// The on hand `adjust_stock(sku, location, delta)` would leave, or why it would refuse;
    /// changes nothing. A caller that holds off every other change of on hand between this
    /// check and the adjustment knows the adjustment will succeed.
    pub fn check_adjust(&self, sku: SkuId, location: LocationId, delta: i64) -> Result<u32, InventoryError> {
        let mut shard = self.shards[shard_of(sku)].lock();
        let on_hand = shard.position_mut(sku, location).map_or(0, |p| p.on_hand);
        u32::try_from(i64::from(on_hand).saturating_add(delta)).map_err(|_| InventoryError::OutOfRange {
            sku,
            location,
            what: "on hand would leave 0..=4294967295",
        })
    }

    /// Changes on hand of a position by `delta`, creating it if needed; refuses (changing
    /// nothing) a change that would take on hand below zero or past `u32::MAX`.
    pub fn adjust_stock(&self, sku: SkuId, location: LocationId, delta: i64) -> Result<u32, InventoryError> {
        let mut shard = self.shards[shard_of(sku)].lock();
        let positions = shard.stock.entry(sku).or_default();
        let at = match positions.binary_search_by_key(&location, |p| p.location) {
            Ok(at) => at,
            Err(at) => {
                positions.insert(at, Position { location, on_hand: 0, reserved: 0, safety_stock: 0 });
                at
            }
        };
        let next = i64::from(positions[at].on_hand).saturating_add(delta);
        match u32::try_from(next) {
            Ok(on_hand) => {
                positions[at].on_hand = on_hand;
                shard.mark(sku, location);
                Ok(on_hand)
            }
            Err(_) => Err(InventoryError::OutOfRange { sku, location, what: "on hand would leave 0..=4294967295" }),
        }
    }

    /// Gives back everything `reservation` holds (an order cancelled), or nothing if it does
    /// not hold it.
    pub fn release(&self, reservation: &Reservation) -> Result<(), InventoryError> {
        self.unreserve(reservation, false)
    }

    /// Ships a reservation: its units leave on hand and stop being reserved. The shipments
    /// stay counted against the day's capacity.
    pub fn consume(&self, reservation: &Reservation) -> Result<(), InventoryError> {
        self.unreserve(reservation, true)
    }

    /// Whether `consume(reservation)` would succeed now (its units are reserved and on hand);
    /// changes nothing. Only a change of on hand or a release of these very units can make it
    /// fail afterwards.
    pub fn check_consume(&self, reservation: &Reservation) -> Result<(), InventoryError> {
        let merged = merged(&reservation.units);
        let mut guards = self.lock_shards_for(&merged);
        check_unreserve(&mut guards, &merged, true)
    }

    fn unreserve(&self, reservation: &Reservation, shipped: bool) -> Result<(), InventoryError> {
        let merged = merged(&reservation.units);
        let mut guards = self.lock_shards_for(&merged);
        let mut shipments = self.lock_shipment_shards_for(&reservation.shipments);
        check_unreserve(&mut guards, &merged, shipped)?;
        if !shipped {
            for shipment in &reservation.shipments {
                let counts = shipment_counts(&mut shipments, shipment.location);
                if counts.get(&(shipment.location, shipment.day)).copied().unwrap_or(0) == 0 {
                    return Err(InventoryError::ShipmentNotCounted { location: shipment.location, day: shipment.day });
                }
            }
        }
        for units in &merged {
            let shard = guard_for(&mut guards, units.sku);
            shard.mark(units.sku, units.location);
            if let Some(position) = shard.position_mut(units.sku, units.location) {
                position.reserved -= units.qty;
                if shipped {
                    position.on_hand -= units.qty;
                }
            }
        }
        if !shipped {
            for shipment in &reservation.shipments {
                if let Some(used) =
                    shipment_counts(&mut shipments, shipment.location).get_mut(&(shipment.location, shipment.day))
                {
                    *used -= 1;
                }
            }
        }
        Ok(())
    }

    /// The positions changed since the last call (set, adjusted, reserved, released, shipped,
    /// restored), by SKU: what to look at to publish ATP changes. Empties the record.
    pub fn take_changed(&self) -> Vec<(SkuId, Vec<LocationId>)> {
        let mut changed = Vec::new();
        for shard in self.shards.iter() {
            changed.extend(std::mem::take(&mut shard.lock().changed));
        }
        changed.sort_unstable_by_key(|(sku, _)| *sku);
        changed
    }

    /// Every position of every SKU, by SKU then location (for consistency checks).
    pub fn all_positions(&self) -> Vec<(SkuId, Position)> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            for (sku, positions) in &shard.lock().stock {
                all.extend(positions.iter().map(|p| (*sku, *p)));
            }
        }
        all.sort_unstable_by_key(|(sku, p)| (*sku, p.location));
        all
    }

    /// Shipments counted per location and day, by location then day (for consistency checks).
    pub fn all_shipment_counts(&self) -> Vec<(LocationId, i64, u32)> {
        let mut all = Vec::new();
        for shard in self.shipments.iter() {
            all.extend(shard.lock().iter().filter(|(_, n)| **n > 0).map(|((l, d), n)| (*l, *d, *n)));
        }
        all.sort_unstable();
        all
    }

    /// Sums of on hand and reserved over every position, for conservation checks.
    pub fn totals(&self) -> (u64, u64) {
        let (mut on_hand, mut reserved) = (0u64, 0u64);
        for shard in self.shards.iter() {
            for position in shard.lock().stock.values().flatten() {
                on_hand += u64::from(position.on_hand);
                reserved += u64::from(position.reserved);
            }
        }
        (on_hand, reserved)
    }

    fn lock_shipment_shards_for(&self, shipments: &[ReservedShipment]) -> ShipmentGuards<'_> {
        let mut indices: Vec<usize> = shipments.iter().map(|s| shipment_shard_of(s.location)).collect();
        indices.sort_unstable();
        indices.dedup();
        // INVARIANT: ascending order, and always after the stock shards (see `lock_shards_for`).
        indices.into_iter().map(|index| (index, self.shipments[index].lock())).collect()
    }

    fn lock_shards_for(&self, units: &[ReservedUnits]) -> Vec<(usize, MutexGuard<'_, Shard>)> {
        let mut indices: Vec<usize> = units.iter().map(|u| shard_of(u.sku)).collect();
        indices.sort_unstable();
        indices.dedup();
        // INVARIANT: shards are always locked in ascending index order, so no two threads
        // can each hold a shard the other waits for.
        indices.into_iter().map(|index| (index, self.shards[index].lock())).collect()
    }
}

// Whether the units may leave their reservations (and, when shipped, on hand) under `guards`.
fn check_unreserve(
    guards: &mut [(usize, MutexGuard<'_, Shard>)],
    merged: &[ReservedUnits],
    shipped: bool,
) -> Result<(), InventoryError> {
    for units in merged {
        let shard = guard_for(guards, units.sku);
        let Some(position) = shard.position_mut(units.sku, units.location) else {
            return Err(InventoryError::UnknownPosition { sku: units.sku, location: units.location });
        };
        if position.reserved < units.qty {
            return Err(InventoryError::OutOfRange {
                sku: units.sku,
                location: units.location,
                what: "more units released than are reserved",
            });
        }
        if shipped && position.on_hand < units.qty {
            return Err(InventoryError::InsufficientStock {
                sku: units.sku,
                location: units.location,
                requested: units.qty,
                available: position.on_hand,
            });
        }
    }
    Ok(())
}

fn shipment_counts<'a>(guards: &'a mut ShipmentGuards<'_>, location: LocationId) -> &'a mut ShipmentCounts {
    let index = shipment_shard_of(location);
    let at = guards.iter().position(|(locked, _)| *locked == index);
    // INVARIANT: `lock_shipment_shards_for` locked the shard of every shipment's location.
    match at {
        Some(at) => &mut guards[at].1,
        None => unreachable!("shipment shard {index} was not locked"),
    }
}

fn guard_for<'a, 'g>(guards: &'a mut [(usize, MutexGuard<'g, Shard>)], sku: SkuId) -> &'a mut Shard {
    let index = shard_of(sku);
    let at = guards.iter().position(|(locked, _)| *locked == index);
    // INVARIANT: `lock_shards_for` locked the shard of every SKU in the reservation.
    match at {
        Some(at) => &mut guards[at].1,
        None => unreachable!("shard {index} was not locked"),
    }
}

// Units of one SKU at one location may appear on several lines; checks need their sum.
fn merged(units: &[ReservedUnits]) -> Vec<ReservedUnits> {
    let mut sorted = units.to_vec();
    sorted.sort_unstable_by_key(|u| (u.sku, u.location));
    let mut out: Vec<ReservedUnits> = Vec::with_capacity(sorted.len());
    for units in sorted {
        match out.last_mut() {
            Some(last) if last.sku == units.sku && last.location == units.location => {
                last.qty = last.qty.saturating_add(units.qty);
            }
            _ => out.push(units),
        }
    }
    out
}
