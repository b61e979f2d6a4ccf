//! Catalog and stock: upserts of locations and products (kits, release dates), stock levels
//! and adjustments, ATP.

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_engine::{
    Catalog, Downtime, GeoPoint, Kit, KitComponent, Location, LocationKind, Product, Timestamp, kit_atp,
};

use super::commit::body_of;
use super::validate::timestamp;
use super::{Release, Service, ServiceError, limits, now, resolve};
use crate::records::{LocationRecord, ProductRecord};
use crate::store::Change;

/// Absolute stock of one position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockLevel {
    /// The SKU.
    pub sku: String,
    /// The location.
    pub location: String,
    /// Units on hand.
    pub on_hand: u32,
    /// Units never promised.
    pub safety_stock: u32,
}

/// A relative change of one position's on hand (receipts, counts, shrinkage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockAdjustment {
    /// The SKU.
    pub sku: String,
    /// The location.
    pub location: String,
    /// Units added (negative: removed).
    pub delta: i64,
}

/// ATP of one SKU at one location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionView {
    /// The location.
    pub location: String,
    /// On hand.
    pub on_hand: u32,
    /// Reserved for open orders.
    pub reserved: u32,
    /// Never promised.
    pub safety_stock: u32,
    /// Available to promise.
    pub atp: u32,
}

/// ATP of one SKU across the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atp {
    /// The SKU.
    pub sku: String,
    /// Sum over locations (for a kit: whole kits).
    pub atp: u64,
    /// Per location holding stock.
    pub locations: Vec<PositionView>,
}

/// A location's time zone, read from its IANA name; the error names `time_zone`.
pub(super) fn time_zone(name: &str) -> Result<chrono_tz::Tz, ServiceError> {
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        ServiceError::invalid("invalid_field", format!("`{name}` is not an IANA time zone")).at("time_zone")
    })
}

/// Minutes east of UTC in `zone` at `at`.
pub(super) fn utc_offset_minutes(zone: chrono_tz::Tz, at: Timestamp) -> i32 {
    use chrono::{Offset, TimeZone};
    match chrono::DateTime::from_timestamp(at.0, 0) {
        Some(utc) => zone.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc() / 60,
        None => 0,
    }
}

/// The engine's location, with its UTC offset as of `at`; errors name the field.
pub(super) fn engine_location(record: &LocationRecord, at: Timestamp) -> Result<Location, ServiceError> {
    limits::id("id", &record.id)?;
    limits::text("kind", &record.kind, limits::MAX_NAME)?;
    limits::names("capabilities", &record.capabilities)?;
    if record.downtime.len() > limits::MAX_LIST {
        return Err(
            ServiceError::invalid("too_many", format!("at most {} downtime windows", limits::MAX_LIST)).at("downtime")
        );
    }
    let utc_offset_minutes = match &record.time_zone {
        Some(name) => utc_offset_minutes(time_zone(name)?, at),
        None => 0,
    };
    let mut downtime = Vec::with_capacity(record.downtime.len());
    for (index, window) in record.downtime.iter().enumerate() {
        let from = timestamp(&format!("downtime[{index}].from"), &window.from)?;
        let to = timestamp(&format!("downtime[{index}].to"), &window.to)?;
        if to <= from {
            return Err(ServiceError::invalid("invalid_field", "the window must end after it starts")
                .at(format!("downtime[{index}]")));
        }
        downtime.push(Downtime { from, to });
    }
    Ok(Location {
        id: record.id.clone(),
        kind: LocationKind::from_name(&record.kind),
        position: GeoPoint { lat: record.lat, lon: record.lon },
        handling_per_shipment: record.handling_per_shipment,
        handling_per_unit: record.handling_per_unit,
        capacity_shipments_per_day: record.capacity_shipments_per_day,
        downtime,
        capabilities: record.capabilities.clone(),
        priority: record.priority,
        utc_offset_minutes,
        fulfilment: super::shipping::engine_fulfilment(record.fulfilment.as_ref())?,
    })
}

/// The most release waves a location has in a day.
pub const MAX_RELEASE_WAVES: usize = 48;

/// A location's release waves as minutes after local midnight, ascending; the error names the
/// wave.
pub(super) fn release_waves(record: &LocationRecord) -> Result<Vec<u16>, ServiceError> {
    if record.release_waves.len() > MAX_RELEASE_WAVES {
        return Err(
            ServiceError::invalid("too_many", format!("at most {MAX_RELEASE_WAVES} waves a day")).at("release_waves")
        );
    }
    let mut waves = Vec::with_capacity(record.release_waves.len());
    for (index, text) in record.release_waves.iter().enumerate() {
        let minutes = text
            .split_once(':')
            .filter(|(h, m)| h.len() == 2 && m.len() == 2)
            .and_then(|(h, m)| Some((h.parse::<u16>().ok()?, m.parse::<u16>().ok()?)))
            .filter(|&(h, m)| h < 24 && m < 60 && text.is_ascii())
            .map(|(h, m)| h * 60 + m)
            .ok_or_else(|| {
                ServiceError::invalid("invalid_field", "a wave is a local time `HH:MM`, 00:00 to 23:59")
                    .at(format!("release_waves[{index}]"))
            })?;
        waves.push(minutes);
    }
    waves.sort_unstable();
    waves.dedup();
    Ok(waves)
}

// Sizes of a product's fields.
fn check_product(record: &ProductRecord) -> Result<(), ServiceError> {
    limits::id("sku", &record.sku)?;
    limits::id("group", &record.group)?;
    limits::names("tags", &record.tags)?;
    if record.components.len() > limits::MAX_LIST {
        return Err(ServiceError::invalid("too_many", format!("a kit has at most {} components", limits::MAX_LIST))
            .at("components"));
    }
    Ok(())
}

/// The engine's product.
pub(super) fn engine_product(record: &ProductRecord) -> Product {
    Product {
        sku: record.sku.clone(),
        group: record.group.clone(),
        weight_kg: record.weight_kg,
        tags: record.tags.clone(),
    }
}

/// A product's release, when it has one.
pub(super) fn release_of(record: &ProductRecord) -> Result<Option<Release>, ServiceError> {
    let Some(text) = &record.release_at else { return Ok(None) };
    let at = timestamp("release_at", text)?;
    Ok(Some(Release { at: at.0, at_text: text.clone(), cap: record.preorder_cap }))
}

/// Makes the kits of `records` (and only those) kits of `catalog`, checked against the catalog
/// as it will be; errors name `<batch>[index].components`.
pub(super) fn set_kits(catalog: &mut Catalog, records: &[ProductRecord], batch: &str) -> Result<(), ServiceError> {
    // Ordinary products first, so a batch may turn a kit into a component of another.
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&index| !records[index].components.is_empty());
    for index in order {
        let record = &records[index];
        let field = format!("{batch}[{index}].components");
        let sku = catalog.sku_id(&record.sku).ok_or_else(|| ServiceError::internal("a product was not added"))?;
        let kit = if record.components.is_empty() {
            None
        } else {
            let mut components = Vec::with_capacity(record.components.len());
            for (c, component) in record.components.iter().enumerate() {
                let component_sku = catalog.sku_id(&component.sku).ok_or_else(|| {
                    ServiceError::invalid("invalid_kit", format!("unknown sku `{}`", component.sku))
                        .at(format!("{field}[{c}]"))
                })?;
                if catalog.kit(component_sku).is_some() {
                    return Err(ServiceError::invalid(
                        "invalid_kit",
                        format!("`{}` is a kit; a kit's components are products, not kits", component.sku),
                    )
                    .at(format!("{field}[{c}]")));
                }
                if component.qty == 0 {
                    return Err(ServiceError::invalid("invalid_kit", "a component needs at least 1 unit")
                        .at(format!("{field}[{c}]")));
                }
                components.push(KitComponent { sku: component_sku, qty: component.qty });
            }
            Some(Kit { components, may_split: record.kit_may_split })
        };
        catalog.set_kit(sku, kit).map_err(|e| ServiceError::invalid("invalid_kit", e.to_string()).at(field))?;
    }
    Ok(())
}

impl Service {
    /// Inserts or replaces locations (all or none).
    pub async fn upsert_locations(&self, locations: Vec<LocationRecord>) -> Result<(), ServiceError> {
        let _order = self.stock_lock.lock().await;
        self.put_locations(&locations, true).await
    }

    /// Checks `locations` against the catalog as it will be, commits them when `durable` (not
    /// when another instance already did) and applies them. The caller holds `stock_lock`.
    pub(super) async fn put_locations(&self, locations: &[LocationRecord], durable: bool) -> Result<(), ServiceError> {
        let mut catalog = (*self.catalog()).clone();
        let mut zones = (*self.location_zones.read()).as_ref().clone();
        let mut all_waves = (*self.location_waves.read()).as_ref().clone();
        let mut changes = Vec::with_capacity(locations.len());
        for (index, record) in locations.iter().enumerate() {
            let path = format!("locations[{index}]");
            let location = engine_location(record, now()).map_err(|e| e.under(&path))?;
            let waves = release_waves(record).map_err(|e| e.under(&path))?;
            if waves.is_empty() {
                all_waves.remove(&record.id);
            } else {
                all_waves.insert(record.id.clone(), waves);
            }
            match &record.time_zone {
                Some(zone) => zones.insert(record.id.clone(), zone.clone()),
                None => zones.remove(&record.id),
            };
            catalog
                .upsert_location(location)
                .map_err(|e| ServiceError::invalid("invalid_location", e.to_string()).at(path))?;
            changes.push(Change::Location { id: record.id.clone(), body: body_of(record)? });
        }
        if durable {
            self.commit(changes).await?;
        }
        *self.catalog.write() = Arc::new(catalog);
        *self.location_zones.write() = Arc::new(zones);
        *self.location_waves.write() = Arc::new(all_waves);
        Ok(())
    }

    /// A location as stored (with its time zone and release waves).
    pub fn location_record(&self, location: &Location) -> LocationRecord {
        let waves = self.location_waves.read().get(&location.id).cloned().unwrap_or_default();
        LocationRecord {
            time_zone: self.location_zones.read().get(&location.id).cloned(),
            release_waves: waves.iter().map(|m| format!("{:02}:{:02}", m / 60, m % 60)).collect(),
            ..LocationRecord::from_engine(location)
        }
    }

    /// Brings every location's UTC offset up to date (daylight saving starts and ends);
    /// returns how many changed.
    pub async fn refresh_time_zones(&self) -> usize {
        let zones = Arc::clone(&self.location_zones.read());
        if zones.is_empty() {
            return 0;
        }
        let _order = self.stock_lock.lock().await;
        let at = now();
        let mut catalog = (*self.catalog()).clone();
        let mut changed = 0;
        for (id, zone) in zones.iter() {
            let Ok(zone) = time_zone(zone) else { continue };
            let offset = utc_offset_minutes(zone, at);
            if let Some(location_id) = catalog.location_id(id)
                && catalog.location(location_id).utc_offset_minutes != offset
            {
                let mut location = catalog.location(location_id).clone();
                location.utc_offset_minutes = offset;
                if catalog.upsert_location(location).is_ok() {
                    changed += 1;
                }
            }
        }
        if changed > 0 {
            *self.catalog.write() = Arc::new(catalog);
        }
        changed
    }

    /// Inserts or replaces products (all or none); kits are checked against the catalog as
    /// it will be.
    pub async fn upsert_products(&self, products: Vec<ProductRecord>) -> Result<(), ServiceError> {
        let _order = self.stock_lock.lock().await;
        self.put_products(&products, true).await
    }

    /// [`Service::put_locations`] for products.
    pub(super) async fn put_products(&self, products: &[ProductRecord], durable: bool) -> Result<(), ServiceError> {
        let mut catalog = (*self.catalog()).clone();
        let mut changes = Vec::with_capacity(products.len());
        let mut releases = (*self.releases()).clone();
        for (index, record) in products.iter().enumerate() {
            let path = format!("products[{index}]");
            check_product(record).map_err(|e| e.under(&path))?;
            catalog
                .upsert_product(engine_product(record))
                .map_err(|e| ServiceError::invalid("invalid_product", e.to_string()).at(&path))?;
            match release_of(record).map_err(|e| e.under(&path))? {
                Some(release) => releases.insert(record.sku.clone(), release),
                None => releases.remove(&record.sku),
            };
            changes.push(Change::Product { sku: record.sku.clone(), body: body_of(record)? });
        }
        set_kits(&mut catalog, products, "products")?;
        for (index, record) in products.iter().enumerate() {
            if !record.components.is_empty() && self.has_stock(&catalog, &record.sku) {
                return Err(ServiceError::invalid(
                    "invalid_kit",
                    format!("`{}` has stock of its own; a kit cannot", record.sku),
                )
                .at(format!("products[{index}].components")));
            }
        }
        if durable {
            self.commit(changes).await?;
        }
        *self.catalog.write() = Arc::new(catalog);
        *self.releases.write() = Arc::new(releases);
        Ok(())
    }

    fn has_stock(&self, catalog: &Catalog, sku: &str) -> bool {
        let mut positions = Vec::new();
        if let Some(id) = catalog.sku_id(sku) {
            self.inventory.positions_into(id, &mut positions);
        }
        !positions.is_empty()
    }

    /// A product as stored (with its components when it is a kit, and its release).
    pub fn product_record(&self, product: &Product) -> ProductRecord {
        let release = self.releases().get(&product.sku).cloned();
        ProductRecord {
            release_at: release.as_ref().map(|r| r.at_text.clone()),
            preorder_cap: release.and_then(|r| r.cap),
            ..ProductRecord::from_catalog(&self.catalog(), product)
        }
    }

    /// Sets stock levels (all or none).
    pub async fn set_stock(&self, levels: Vec<StockLevel>) -> Result<(), ServiceError> {
        let _order = self.stock_lock.lock().await;
        let catalog = self.catalog();
        let mut resolved = Vec::with_capacity(levels.len());
        for (index, level) in levels.iter().enumerate() {
            let path = format!("levels[{index}]");
            let (sku, location) = resolve(&catalog, &level.sku, &level.location, &path)?;
            refuse_kit(&catalog, sku, &level.sku, &format!("{path}.sku"))?;
            resolved.push((sku, location, level.on_hand, level.safety_stock));
        }
        // Serving together with other instances, a level is the difference from what memory
        // has, in memory and in the store alike (see `Change::StockLevel`).
        let was = |sku, location| {
            self.config
                .shared
                .then(|| self.inventory.position(sku, location).map_or((0, 0), |p| (p.on_hand, p.safety_stock)))
        };
        let was: Vec<Option<(u32, u32)>> = resolved.iter().map(|(sku, location, _, _)| was(*sku, *location)).collect();
        let changes = levels
            .iter()
            .zip(&was)
            .map(|(l, was)| Change::StockLevel {
                sku: l.sku.clone(),
                location: l.location.clone(),
                on_hand: l.on_hand,
                safety_stock: l.safety_stock,
                was: *was,
            })
            .collect();
        self.commit(changes).await?;
        for ((sku, location, on_hand, safety_stock), was) in resolved.into_iter().zip(was) {
            match was {
                Some((on_hand_was, safety_was)) => self.inventory.apply_delta(
                    sku,
                    location,
                    i64::from(on_hand) - i64::from(on_hand_was),
                    0,
                    i64::from(safety_stock) - i64::from(safety_was),
                ),
                None => self.inventory.set_stock(sku, location, on_hand, safety_stock),
            }
        }
        Ok(())
    }

    /// Adjusts on hand (all or none): a change that would go below zero refuses the batch.
    pub async fn adjust_stock(&self, adjustments: Vec<StockAdjustment>) -> Result<(), ServiceError> {
        let _order = self.stock_lock.lock().await;
        let catalog = self.catalog();
        let mut resolved = Vec::with_capacity(adjustments.len());
        let mut after: HashMap<(u32, u32), i64> = HashMap::new();
        for (index, adjustment) in adjustments.iter().enumerate() {
            let path = format!("adjustments[{index}]");
            let (sku, location) = resolve(&catalog, &adjustment.sku, &adjustment.location, &path)?;
            refuse_kit(&catalog, sku, &adjustment.sku, &format!("{path}.sku"))?;
            let current = self.inventory.position(sku, location).map_or(0, |p| i64::from(p.on_hand));
            let next = after.entry((sku.0, location.0)).or_insert(current);
            *next = next.saturating_add(adjustment.delta);
            if *next < 0 || *next > i64::from(u32::MAX) {
                return Err(ServiceError::invalid(
                    "stock_out_of_range",
                    format!("on hand of `{}` at `{}` would be {next}", adjustment.sku, adjustment.location),
                )
                .at(format!("{path}.delta")));
            }
            resolved.push((sku, location, adjustment.delta));
        }
        let changes = adjustments
            .iter()
            .map(|a| Change::StockDelta { sku: a.sku.clone(), location: a.location.clone(), delta: a.delta })
            .collect();
        self.commit(changes).await?;
        for (sku, location, delta) in resolved {
            if let Err(error) = self.inventory.adjust_stock(sku, location, delta) {
                tracing::error!(%error, "an adjustment checked before commit failed in memory");
            }
        }
        Ok(())
    }

    /// ATP of a SKU across the network and per location. A kit's ATP at a location is the
    /// number of whole kits its components there make; across the network it is the sum of
    /// those, or, when its components may ship apart, what the network's components make.
    pub fn atp(&self, sku: &str) -> Result<Atp, ServiceError> {
        let catalog = self.catalog();
        let sku_id = catalog
            .sku_id(sku)
            .ok_or_else(|| ServiceError::not_found("unknown_sku", format!("unknown sku `{sku}`")))?;
        if let Some(kit) = kit_atp(&catalog, &self.inventory, sku_id) {
            let mut locations: Vec<PositionView> = kit
                .locations
                .iter()
                .map(|(location, kits)| PositionView {
                    location: catalog.location(*location).id.clone(),
                    on_hand: *kits,
                    reserved: 0,
                    safety_stock: 0,
                    atp: *kits,
                })
                .collect();
            locations.sort_by(|a, b| a.location.cmp(&b.location));
            return Ok(Atp { sku: sku.to_owned(), atp: kit.network, locations });
        }
        let mut positions = Vec::new();
        self.inventory.positions_into(sku_id, &mut positions);
        Ok(Atp {
            sku: sku.to_owned(),
            atp: positions.iter().map(|p| u64::from(p.atp())).sum(),
            locations: positions
                .iter()
                .map(|p| PositionView {
                    location: catalog.location(p.location).id.clone(),
                    on_hand: p.on_hand,
                    reserved: p.reserved,
                    safety_stock: p.safety_stock,
                    atp: p.atp(),
                })
                .collect(),
        })
    }
}

fn refuse_kit(catalog: &Catalog, sku: switchyard_engine::SkuId, name: &str, field: &str) -> Result<(), ServiceError> {
    if catalog.kit(sku).is_some() {
        return Err(
            ServiceError::invalid("kit_stock", format!("`{name}` is a kit: its stock is its components'")).at(field)
        );
    }
    Ok(())
}
