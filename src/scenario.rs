//! Reading `switchyard-scenario/1` files (see `docs/SCENARIOS.md`) into engine types, with
//! errors that name the JSON path (and line and column where the JSON itself is wrong).

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;
use switchyard_engine::calendar::{self, CarrierService, Fulfilment, ServiceBand};
use switchyard_engine::{
    Address, Catalog, Downtime, GeoPoint, Inventory, Kit, KitComponent, Location, LocationId, LocationKind, Order,
    OrderLine, Product, RateCard, ReferencePolicy, ReferenceSettings, SkuId, Timestamp, Zone, expand_kits,
};

/// The format tag this reader understands.
pub const SCENARIO_FORMAT: &str = "switchyard-scenario/1";

const KM_PER_MILE: f64 = 1.609_344;

/// A scenario that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ScenarioError {
    /// JSON path of the offending value (`orders[3].lines[0].qty`), empty for the document.
    pub path: String,
    /// Line and column in the file, where known.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.position {
            write!(f, "line {line}, column {column}: ")?;
        }
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.message)
        } else {
            write!(f, "at `{}`: {}", self.path, self.message)
        }
    }
}

fn error_at(path: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError { path: path.into(), position: None, message: message.into() }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioDocument {
    format: String,
    name: String,
    rate_card: RateCardDocument,
    settings: SettingsDocument,
    locations: Vec<LocationDocument>,
    products: Vec<ProductDocument>,
    inventory: Vec<StockDocument>,
    orders: Vec<OrderDocument>,
    #[serde(default)]
    carrier_services: Vec<CarrierServiceDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FulfilmentDocument {
    #[serde(default)]
    cutoff: Option<String>,
    #[serde(default)]
    processing_days: u8,
    #[serde(default)]
    open_days: Option<String>,
    #[serde(default)]
    holidays: Vec<String>,
}

/// A carrier service as the scenario format (and a policy test file) writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CarrierServiceDocument {
    id: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    name: String,
    #[serde(default = "workdays")]
    pickup_days: String,
    #[serde(default = "workdays")]
    delivery_days: String,
    #[serde(default)]
    holidays: Vec<String>,
    bands: Vec<BandDocument>,
    #[serde(default)]
    max_weight_kg: Option<f64>,
}

fn workdays() -> String {
    "mon-fri".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BandDocument {
    #[serde(default)]
    max_km: Option<f64>,
    transit_days: u8,
    #[serde(default)]
    per_shipment: f64,
    #[serde(default)]
    per_kg: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateCardDocument {
    distance_unit: String,
    zones: Vec<ZoneDocument>,
    per_shipment: BTreeMap<String, f64>,
    per_kg: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneDocument {
    zone: u32,
    max_distance: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsDocument {
    max_shipments: i64,
    split_penalty: f64,
    unfilled_penalty: f64,
    #[serde(default)]
    required_capabilities: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationDocument {
    id: String,
    kind: String,
    lat: f64,
    lon: f64,
    handling_per_shipment: f64,
    handling_per_unit: f64,
    capacity_shipments_per_day: Option<i64>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    downtime: Vec<DowntimeDocument>,
    #[serde(default)]
    priority: i32,
    // Minutes east of UTC: the local day of the cut-off and of daily capacity.
    #[serde(default)]
    utc_offset_minutes: i32,
    #[serde(default)]
    fulfilment: Option<FulfilmentDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DowntimeDocument {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductDocument {
    sku: String,
    group: String,
    weight_kg: f64,
    #[serde(default)]
    tags: Vec<String>,
    // Set for a kit: the products one kit is made of.
    #[serde(default)]
    components: Vec<ComponentDocument>,
    #[serde(default)]
    kit_may_split: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentDocument {
    sku: String,
    qty: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockDocument {
    location: String,
    sku: String,
    on_hand: i64,
    #[serde(default)]
    safety_stock: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderDocument {
    id: String,
    placed_at: String,
    channel: String,
    ship_to: ShipToDocument,
    lines: Vec<LineDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipToDocument {
    lat: f64,
    lon: f64,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineDocument {
    id: String,
    sku: String,
    qty: i64,
}

/// One stock record as the scenario states it, before any order is routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitialStock {
    /// The SKU.
    pub sku: SkuId,
    /// The location.
    pub location: LocationId,
    /// Units on hand.
    pub on_hand: u32,
    /// Units held back.
    pub safety_stock: u32,
}

/// A scenario, read and checked.
pub struct Scenario {
    /// Its name, copied into the plan file.
    pub name: String,
    /// Locations and products.
    pub catalog: Catalog,
    /// Stock at the start of the replay.
    pub stock: Vec<InitialStock>,
    /// The reference policy with the scenario's rate card and settings.
    pub policy: ReferencePolicy,
    /// The orders, in file order, with kit lines expanded into their components
    /// (`<line>/<component sku>`; see [`switchyard_engine::expand_kits`]).
    pub orders: Vec<Order>,
    /// Carrier services for delivery promises (none when the scenario names none).
    pub carrier_services: Vec<ScenarioService>,
}

/// A carrier service of a scenario: the engine's, with what a shopper is shown.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioService {
    /// The carrier (`UPS`).
    pub carrier: String,
    /// Its name for shoppers (`Standard`).
    pub name: String,
    /// Its days, bands and weight limit.
    pub service: CarrierService,
}

impl Scenario {
    /// Reads a scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let document: ScenarioDocument = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let position = (inner.line() > 0).then(|| (inner.line(), inner.column()));
            // serde_json appends "at line L column C"; the position is reported separately.
            let message = inner.to_string();
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_owned(),
                None => message,
            };
            ScenarioError { path, position, message }
        })?;
        Scenario::from_document(document)
    }

    /// A fresh inventory holding the scenario's starting stock.
    pub fn fresh_inventory(&self) -> Inventory {
        let inventory = Inventory::new();
        for stock in &self.stock {
            inventory.set_stock(stock.sku, stock.location, stock.on_hand, stock.safety_stock);
        }
        inventory
    }

    fn from_document(document: ScenarioDocument) -> Result<Scenario, ScenarioError> {
        if document.format != SCENARIO_FORMAT {
            return Err(error_at(
                "format",
                format!("`{}` is not a format this version reads; expected `{SCENARIO_FORMAT}`", document.format),
            ));
        }
        let rate_card = read_rate_card(&document.rate_card)?;
        let settings = read_settings(&document.settings)?;
        let mut catalog = Catalog::new();
        for (index, location) in document.locations.into_iter().enumerate() {
            let path = format!("locations[{index}]");
            let location = read_location(&path, location)?;
            catalog.add_location(location).map_err(|error| error_at(path, error.to_string()))?;
        }
        let mut kits = Vec::new();
        for (index, product) in document.products.into_iter().enumerate() {
            let path = format!("products[{index}]");
            if !product.components.is_empty() || product.kit_may_split {
                kits.push((path.clone(), product.sku.clone(), product.components, product.kit_may_split));
            }
            let product =
                Product { sku: product.sku, group: product.group, weight_kg: product.weight_kg, tags: product.tags };
            catalog.add_product(product).map_err(|error| error_at(path, error.to_string()))?;
        }
        // Kits once every product is known (a kit may come before its components).
        for (path, sku, components, may_split) in kits {
            let mut parts = Vec::with_capacity(components.len());
            for (index, component) in components.iter().enumerate() {
                let at = format!("{path}.components[{index}]");
                let component_sku = catalog
                    .sku_id(&component.sku)
                    .ok_or_else(|| error_at(format!("{at}.sku"), format!("unknown sku `{}`", component.sku)))?;
                parts.push(KitComponent { sku: component_sku, qty: count(&format!("{at}.qty"), component.qty, 1)? });
            }
            let kit_sku = catalog.sku_id(&sku).ok_or_else(|| error_at(&path, "the kit was not added"))?;
            catalog
                .set_kit(kit_sku, Some(Kit { components: parts, may_split }))
                .map_err(|error| error_at(format!("{path}.components"), error.to_string()))?;
        }
        let mut stock = Vec::with_capacity(document.inventory.len());
        let mut seen = HashSet::new();
        for (index, record) in document.inventory.iter().enumerate() {
            let path = format!("inventory[{index}]");
            let location = catalog.location_id(&record.location).ok_or_else(|| {
                error_at(format!("{path}.location"), format!("unknown location `{}`", record.location))
            })?;
            let sku = catalog
                .sku_id(&record.sku)
                .ok_or_else(|| error_at(format!("{path}.sku"), format!("unknown sku `{}`", record.sku)))?;
            if catalog.kit(sku).is_some() {
                return Err(error_at(
                    format!("{path}.sku"),
                    format!("`{}` is a kit: it holds no stock of its own (stock its components)", record.sku),
                ));
            }
            let on_hand = count(&format!("{path}.on_hand"), record.on_hand, 0)?;
            let safety_stock = count(&format!("{path}.safety_stock"), record.safety_stock, 0)?;
            if !seen.insert((sku, location)) {
                return Err(error_at(
                    path,
                    format!("sku `{}` at location `{}` is listed twice", record.sku, record.location),
                ));
            }
            stock.push(InitialStock { sku, location, on_hand, safety_stock });
        }
        let mut orders = Vec::with_capacity(document.orders.len());
        let mut order_ids = HashSet::new();
        for (index, order) in document.orders.into_iter().enumerate() {
            let path = format!("orders[{index}]");
            if !order_ids.insert(order.id.clone()) {
                return Err(error_at(format!("{path}.id"), format!("order id `{}` appears twice", order.id)));
            }
            let order = read_order(&path, &catalog, order)?;
            let order = if catalog.has_kits() {
                expand_kits(&catalog, &order)
                    .map_err(|error| error_at(format!("{path}.{}", error.field), error.message))?
            } else {
                order
            };
            orders.push(order);
        }
        let mut carrier_services: Vec<ScenarioService> = Vec::with_capacity(document.carrier_services.len());
        for (index, service) in document.carrier_services.into_iter().enumerate() {
            let path = format!("carrier_services[{index}]");
            if carrier_services.iter().any(|s| s.service.id == service.id) {
                return Err(error_at(format!("{path}.id"), format!("carrier service `{}` appears twice", service.id)));
            }
            carrier_services.push(read_service(&path, service)?);
        }
        Ok(Scenario {
            name: document.name,
            catalog,
            stock,
            policy: ReferencePolicy::new(rate_card, settings),
            orders,
            carrier_services,
        })
    }
}

fn count(path: &str, value: i64, minimum: i64) -> Result<u32, ScenarioError> {
    if value < minimum {
        return Err(error_at(path, format!("must be at least {minimum}, got {value}")));
    }
    u32::try_from(value).map_err(|_| error_at(path, format!("{value} is too large")))
}

fn read_rate_card(document: &RateCardDocument) -> Result<RateCard, ScenarioError> {
    let to_km = match document.distance_unit.as_str() {
        "km" => 1.0,
        "mi" => KM_PER_MILE,
        other => {
            return Err(error_at(
                "rate_card.distance_unit",
                format!("unknown distance unit `{other}`; expected `km` or `mi`"),
            ));
        }
    };
    let mut zones = Vec::with_capacity(document.zones.len());
    for (index, zone) in document.zones.iter().enumerate() {
        let key = zone.zone.to_string();
        let price = |table: &BTreeMap<String, f64>, name: &str| {
            table.get(&key).copied().ok_or_else(|| {
                error_at(format!("rate_card.{name}"), format!("no price for zone {} (zones[{index}])", zone.zone))
            })
        };
        zones.push(Zone {
            zone: zone.zone,
            max_distance_km: zone.max_distance.map(|d| d * to_km),
            per_shipment: price(&document.per_shipment, "per_shipment")?,
            per_kg: price(&document.per_kg, "per_kg")?,
        });
    }
    for (name, table) in [("per_shipment", &document.per_shipment), ("per_kg", &document.per_kg)] {
        if let Some(key) = table.keys().find(|key| !document.zones.iter().any(|zone| zone.zone.to_string() == **key)) {
            return Err(error_at(format!("rate_card.{name}.{key}"), format!("zone `{key}` is not in rate_card.zones")));
        }
    }
    RateCard::new(zones).map_err(|error| error_at("rate_card.zones", error.to_string()))
}

fn read_settings(document: &SettingsDocument) -> Result<ReferenceSettings, ScenarioError> {
    let max_shipments = count("settings.max_shipments", document.max_shipments, 1)?;
    for (name, value) in [("split_penalty", document.split_penalty), ("unfilled_penalty", document.unfilled_penalty)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(error_at(format!("settings.{name}"), "must be a non-negative number"));
        }
    }
    Ok(ReferenceSettings {
        max_shipments,
        split_penalty: document.split_penalty,
        unfilled_penalty: document.unfilled_penalty,
        required_capabilities: document.required_capabilities.clone(),
    })
}

fn timestamp(path: &str, text: &str) -> Result<Timestamp, ScenarioError> {
    Timestamp::parse_rfc3339(text).map_err(|error| error_at(path, error.to_string()))
}

fn read_location(path: &str, document: LocationDocument) -> Result<Location, ScenarioError> {
    let offset = document.utc_offset_minutes;
    if offset.abs() > 14 * 60 {
        return Err(error_at(format!("{path}.utc_offset_minutes"), "must be within 14 hours of UTC (-840 to 840)"));
    }
    let fulfilment = match &document.fulfilment {
        None => Fulfilment::default(),
        Some(terms) => calendar::fulfilment_from_text(
            terms.cutoff.as_deref(),
            terms.processing_days,
            terms.open_days.as_deref(),
            &terms.holidays,
        )
        .map_err(under(&format!("{path}.fulfilment")))?,
    };
    let capacity = match document.capacity_shipments_per_day {
        None => None,
        Some(value) => Some(count(&format!("{path}.capacity_shipments_per_day"), value, 0)?),
    };
    let mut downtime = Vec::with_capacity(document.downtime.len());
    for (index, window) in document.downtime.iter().enumerate() {
        let window_path = format!("{path}.downtime[{index}]");
        let from = timestamp(&format!("{window_path}.from"), &window.from)?;
        let to = timestamp(&format!("{window_path}.to"), &window.to)?;
        if to <= from {
            return Err(error_at(window_path, "the window must end after it starts"));
        }
        downtime.push(Downtime { from, to });
    }
    Ok(Location {
        id: document.id,
        kind: LocationKind::from_name(&document.kind),
        position: GeoPoint { lat: document.lat, lon: document.lon },
        handling_per_shipment: document.handling_per_shipment,
        handling_per_unit: document.handling_per_unit,
        capacity_shipments_per_day: capacity,
        downtime,
        capabilities: document.capabilities,
        priority: document.priority,
        utc_offset_minutes: offset,
        fulfilment,
    })
}

// A texts' error at `field` under `path`.
fn under(path: &str) -> impl Fn((String, String)) -> ScenarioError + '_ {
    move |(field, message)| error_at(format!("{path}.{field}"), message)
}

/// The engine's service of `document`; an error names the place under `path`.
pub(crate) fn read_service(path: &str, document: CarrierServiceDocument) -> Result<ScenarioService, ScenarioError> {
    let bands = document
        .bands
        .into_iter()
        .map(|b| ServiceBand {
            max_km: b.max_km,
            transit_days: b.transit_days,
            per_shipment: b.per_shipment,
            per_kg: b.per_kg,
        })
        .collect();
    let service = calendar::service_from_text(
        &document.id,
        &document.pickup_days,
        &document.delivery_days,
        &document.holidays,
        bands,
        document.max_weight_kg,
    )
    .map_err(under(path))?;
    Ok(ScenarioService { carrier: document.carrier, name: document.name, service })
}

fn read_order(path: &str, catalog: &Catalog, document: OrderDocument) -> Result<Order, ScenarioError> {
    let placed_at = timestamp(&format!("{path}.placed_at"), &document.placed_at)?;
    let position = GeoPoint { lat: document.ship_to.lat, lon: document.ship_to.lon };
    if !position.is_valid() {
        return Err(error_at(format!("{path}.ship_to"), "lat/lon must be finite degrees in range"));
    }
    if document.lines.is_empty() {
        return Err(error_at(format!("{path}.lines"), "an order needs at least one line"));
    }
    let mut lines = Vec::with_capacity(document.lines.len());
    let mut line_ids = HashSet::new();
    for (index, line) in document.lines.into_iter().enumerate() {
        let line_path = format!("{path}.lines[{index}]");
        let sku = catalog
            .sku_id(&line.sku)
            .ok_or_else(|| error_at(format!("{line_path}.sku"), format!("unknown sku `{}`", line.sku)))?;
        let qty = count(&format!("{line_path}.qty"), line.qty, 1)?;
        if !line_ids.insert(line.id.clone()) {
            return Err(error_at(
                format!("{line_path}.id"),
                format!("line id `{}` appears twice in the order", line.id),
            ));
        }
        lines.push(OrderLine { id: line.id, sku, qty, kit: None });
    }
    Ok(Order {
        id: document.id,
        placed_at,
        channel: document.channel,
        ship_to: Address { position, postal_code: document.ship_to.postal_code, country: document.ship_to.country },
        lines,
    })
}
