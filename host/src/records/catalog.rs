//! Locations and products as stored: what the merchant gave, with the fields the engine's
//! types do not carry (a location's IANA time zone, a kit's components, a release date).

use serde::{Deserialize, Serialize};
use switchyard_engine::{Catalog, Location, Product};

use super::shipping::FulfilmentRecord;

/// A location as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationRecord {
    /// Merchant id.
    pub id: String,
    /// `dc`, `store`, `dropship` or another name.
    pub kind: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Handling cost per shipment.
    #[serde(default)]
    pub handling_per_shipment: f64,
    /// Handling cost per unit.
    #[serde(default)]
    pub handling_per_unit: f64,
    /// Shipments per day; `None` is unlimited.
    #[serde(default)]
    pub capacity_shipments_per_day: Option<u32>,
    /// What it can ship (`hazmat`, `cold_chain`, `returns`, ...).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Planned downtime windows.
    #[serde(default)]
    pub downtime: Vec<DowntimeRecord>,
    /// Tie-break priority (higher first).
    #[serde(default)]
    pub priority: i32,
    /// IANA time zone: daily capacity resets at local midnight. `None`: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Its order cut-off, processing days and business calendar (delivery promises); `None`:
    /// every day, no cut-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<FulfilmentRecord>,
    /// Local times (`HH:MM`) it releases orders to picking in waves (release windows): an
    /// order it ships is held for re-optimisation until its next wave. Empty: the service's
    /// `release_after_secs` cool-down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub release_waves: Vec<String>,
}

/// A downtime window (RFC 3339 times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DowntimeRecord {
    /// Start.
    pub from: String,
    /// End.
    pub to: String,
}

/// A product as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    /// Its SKU.
    pub sku: String,
    /// Its product group (bindings are per group).
    pub group: String,
    /// Weight of one unit, kg.
    pub weight_kg: f64,
    /// Tags (`hazmat`, `cold_chain`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Set for a kit: what one kit is made of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentRecord>,
    /// Whether a kit's components may ship from different locations.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kit_may_split: bool,
    /// When the product is released (RFC 3339); orders before are preorders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_at: Option<String>,
    /// Most units accepted as preorders before the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preorder_cap: Option<u32>,
}

/// One component of a kit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRecord {
    /// The component's SKU.
    pub sku: String,
    /// Units per kit.
    pub qty: u32,
}

impl LocationRecord {
    /// The record of an engine location, in UTC (no time zone).
    pub fn from_engine(location: &Location) -> LocationRecord {
        LocationRecord {
            id: location.id.clone(),
            kind: location.kind.name().to_owned(),
            lat: location.position.lat,
            lon: location.position.lon,
            handling_per_shipment: location.handling_per_shipment,
            handling_per_unit: location.handling_per_unit,
            capacity_shipments_per_day: location.capacity_shipments_per_day,
            capabilities: location.capabilities.clone(),
            downtime: location
                .downtime
                .iter()
                .map(|w| DowntimeRecord { from: w.from.to_string(), to: w.to.to_string() })
                .collect(),
            priority: location.priority,
            time_zone: None,
            fulfilment: FulfilmentRecord::from_engine(&location.fulfilment),
            release_waves: Vec::new(),
        }
    }
}

impl ProductRecord {
    /// The record of a catalog's product, with its components when it is a kit (no release
    /// date: the engine does not know them).
    pub fn from_catalog(catalog: &Catalog, product: &Product) -> ProductRecord {
        let kit = catalog.sku_id(&product.sku).and_then(|id| catalog.kit(id));
        ProductRecord {
            components: kit
                .map(|kit| {
                    kit.components
                        .iter()
                        .map(|c| ComponentRecord { sku: catalog.product(c.sku).sku.clone(), qty: c.qty })
                        .collect()
                })
                .unwrap_or_default(),
            kit_may_split: kit.is_some_and(|kit| kit.may_split),
            ..ProductRecord::from_engine(product)
        }
    }

    /// The record of an engine product (not a kit, no release date).
    pub fn from_engine(product: &Product) -> ProductRecord {
        ProductRecord {
            sku: product.sku.clone(),
            group: product.group.clone(),
            weight_kg: product.weight_kg,
            tags: product.tags.clone(),
            components: Vec::new(),
            kit_may_split: false,
            release_at: None,
            preorder_cap: None,
        }
    }
}
