//! Locations, products, stock levels and adjustments, ATP, inbound stock.

use serde::{Deserialize, Serialize};

use super::wire;
use crate::records;
use crate::service;

/// A location as the API reads and writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationDto {
    /// Merchant id.
    #[schema(value_type = wire::Id)]
    pub id: String,
    /// `dc`, `store`, `dropship` or another name.
    #[schema(value_type = wire::Name)]
    pub kind: String,
    /// Latitude, degrees.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Longitude, degrees.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    /// Handling cost per shipment (0 to 1000000).
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1_000_000.0)]
    pub handling_per_shipment: f64,
    /// Handling cost per unit (0 to 1000000).
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1_000_000.0)]
    pub handling_per_unit: f64,
    /// Shipments per day; absent is unlimited.
    #[serde(default)]
    pub capacity_shipments_per_day: Option<u32>,
    /// What it can ship (`hazmat`, `cold_chain`, `returns`, ...); at most 100.
    #[serde(default)]
    #[schema(value_type = Vec<wire::Name>, max_items = 100)]
    pub capabilities: Vec<String>,
    /// Planned downtime windows; at most 100.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub downtime: Vec<DowntimeDto>,
    /// Tie-break priority (higher first).
    #[serde(default)]
    pub priority: i32,
    /// IANA time zone (`America/Chicago`): daily capacity resets at local midnight. Absent:
    /// UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::TimeZone>)]
    pub time_zone: Option<String>,
    /// Its order cut-off, processing days and business calendar, for delivery promises.
    /// Absent: it works every day, without cut-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<super::FulfilmentDto>,
    /// Release windows by waves: the local times (`HH:MM`, in its `time_zone`; at most 48) it
    /// releases orders to picking. An order it ships may be re-optimised until its next wave
    /// (docs/SERVICE.md, "Release windows and re-optimisation"). Absent: the service's
    /// `release_after_secs` cool-down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 48, example = json!(["09:00", "13:00", "17:00"]))]
    pub release_waves: Vec<String>,
}

/// A downtime window, RFC 3339 times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DowntimeDto {
    /// Start.
    #[schema(value_type = wire::Timestamp)]
    pub from: String,
    /// End (after the start).
    #[schema(value_type = wire::Timestamp)]
    pub to: String,
}

/// A product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDto {
    /// Its SKU.
    #[schema(value_type = wire::Id)]
    pub sku: String,
    /// Its product group (bindings are per group).
    #[schema(value_type = wire::Id)]
    pub group: String,
    /// Weight of one unit, kg (0 to 100000).
    #[schema(minimum = 0.0, maximum = 100_000.0)]
    pub weight_kg: f64,
    /// Tags (`hazmat`, `cold_chain`, ...); at most 100.
    #[serde(default)]
    #[schema(value_type = Vec<wire::Name>, max_items = 100)]
    pub tags: Vec<String>,
    /// Set for a kit (bundle): the components one kit is made of (at most 100). A kit holds no
    /// stock of its own; ordering one reserves its components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 100)]
    pub components: Vec<ComponentDto>,
    /// Whether a kit's components may ship from different locations (default: no, they ship
    /// together).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kit_may_split: bool,
    /// When the product is released (RFC 3339). Before, orders for it are preorders: they
    /// wait for announced inbound stock whatever the policy's horizon, nothing ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Timestamp>)]
    pub release_at: Option<String>,
    /// Most units accepted as preorders before the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preorder_cap: Option<u32>,
}

/// One component of a kit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentDto {
    /// The component's SKU (a product that is not itself a kit).
    #[schema(value_type = wire::Id)]
    pub sku: String,
    /// Units per kit (at least 1).
    #[schema(minimum = 1)]
    pub qty: u32,
}

/// A batch of locations.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Locations {
    /// The locations.
    pub locations: Vec<LocationDto>,
}

/// A batch of products.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Products {
    /// The products.
    pub products: Vec<ProductDto>,
}

/// Bulk stock levels: absolute on hand (and safety stock) per SKU and location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockLevels {
    /// The positions to set.
    pub levels: Vec<StockLevel>,
}

/// One position's stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockLevel {
    /// The SKU.
    #[schema(value_type = wire::Id)]
    pub sku: String,
    /// The location.
    #[schema(value_type = wire::Id)]
    pub location: String,
    /// Units on hand.
    pub on_hand: u32,
    /// Units never promised.
    #[serde(default)]
    pub safety_stock: u32,
}

/// Bulk relative changes (receipts, counts, shrinkage).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustments {
    /// The changes.
    pub adjustments: Vec<StockAdjustment>,
}

/// One relative change of on hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustment {
    /// The SKU.
    #[schema(value_type = wire::Id)]
    pub sku: String,
    /// The location.
    #[schema(value_type = wire::Id)]
    pub location: String,
    /// Units added (negative: removed).
    pub delta: i64,
}

/// ATP of one SKU at one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PositionDto {
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AtpDto {
    /// The SKU.
    pub sku: String,
    /// Sum over locations.
    pub atp: u64,
    /// Per location holding stock.
    pub locations: Vec<PositionDto>,
}

/// Stock expected at a location, as a client announces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundRequest {
    /// The SKU.
    #[schema(value_type = wire::Id)]
    pub sku: String,
    /// Where it arrives.
    #[schema(value_type = wire::Id)]
    pub location: String,
    /// Units expected (at least 1).
    #[schema(minimum = 1)]
    pub qty: u32,
    /// When (RFC 3339).
    #[schema(value_type = wire::Timestamp)]
    pub expected_at: String,
}

/// Stock on its way.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundBody {
    /// Stock on its way: at most 10000 records.
    #[schema(max_items = 10_000)]
    pub entries: Vec<InboundRequest>,
}

/// Stock on its way to a location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inbound {
    /// Its id (`IN-<n>`).
    pub id: String,
    /// The SKU.
    pub sku: String,
    /// Where it arrives.
    pub location: String,
    /// Units expected.
    pub qty: u32,
    /// When (RFC 3339): the promise date of orders waiting for it.
    pub expected_at: String,
    /// Units promised to backordered orders.
    pub allocated: u32,
    /// Units received, once it has arrived.
    #[serde(default)]
    pub received: Option<u32>,
}

/// Inbound records.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InboundList {
    /// Expected, promised to backorders, received.
    pub inbound: Vec<Inbound>,
}

/// The receipt of inbound stock.
#[derive(Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveInboundBody {
    /// Units actually received (default: as expected).
    #[serde(default)]
    pub qty: Option<u32>,
}

impl From<LocationDto> for records::LocationRecord {
    fn from(dto: LocationDto) -> records::LocationRecord {
        records::LocationRecord {
            id: dto.id,
            kind: dto.kind,
            lat: dto.lat,
            lon: dto.lon,
            handling_per_shipment: dto.handling_per_shipment,
            handling_per_unit: dto.handling_per_unit,
            capacity_shipments_per_day: dto.capacity_shipments_per_day,
            capabilities: dto.capabilities,
            downtime: dto.downtime.into_iter().map(|w| records::DowntimeRecord { from: w.from, to: w.to }).collect(),
            priority: dto.priority,
            time_zone: dto.time_zone,
            fulfilment: dto.fulfilment.map(Into::into),
            release_waves: dto.release_waves,
        }
    }
}

impl From<records::LocationRecord> for LocationDto {
    fn from(record: records::LocationRecord) -> LocationDto {
        LocationDto {
            id: record.id,
            kind: record.kind,
            lat: record.lat,
            lon: record.lon,
            handling_per_shipment: record.handling_per_shipment,
            handling_per_unit: record.handling_per_unit,
            capacity_shipments_per_day: record.capacity_shipments_per_day,
            capabilities: record.capabilities,
            downtime: record.downtime.into_iter().map(|w| DowntimeDto { from: w.from, to: w.to }).collect(),
            priority: record.priority,
            time_zone: record.time_zone,
            fulfilment: record.fulfilment.map(Into::into),
            release_waves: record.release_waves,
        }
    }
}

impl From<ProductDto> for records::ProductRecord {
    fn from(dto: ProductDto) -> records::ProductRecord {
        records::ProductRecord {
            sku: dto.sku,
            group: dto.group,
            weight_kg: dto.weight_kg,
            tags: dto.tags,
            components: dto
                .components
                .into_iter()
                .map(|c| records::ComponentRecord { sku: c.sku, qty: c.qty })
                .collect(),
            kit_may_split: dto.kit_may_split,
            release_at: dto.release_at,
            preorder_cap: dto.preorder_cap,
        }
    }
}

impl From<records::ProductRecord> for ProductDto {
    fn from(record: records::ProductRecord) -> ProductDto {
        ProductDto {
            sku: record.sku,
            group: record.group,
            weight_kg: record.weight_kg,
            tags: record.tags,
            components: record.components.into_iter().map(|c| ComponentDto { sku: c.sku, qty: c.qty }).collect(),
            kit_may_split: record.kit_may_split,
            release_at: record.release_at,
            preorder_cap: record.preorder_cap,
        }
    }
}

impl From<StockLevel> for service::StockLevel {
    fn from(dto: StockLevel) -> service::StockLevel {
        service::StockLevel {
            sku: dto.sku,
            location: dto.location,
            on_hand: dto.on_hand,
            safety_stock: dto.safety_stock,
        }
    }
}

impl From<StockAdjustment> for service::StockAdjustment {
    fn from(dto: StockAdjustment) -> service::StockAdjustment {
        service::StockAdjustment { sku: dto.sku, location: dto.location, delta: dto.delta }
    }
}

impl From<service::Atp> for AtpDto {
    fn from(atp: service::Atp) -> AtpDto {
        AtpDto {
            sku: atp.sku,
            atp: atp.atp,
            locations: atp
                .locations
                .into_iter()
                .map(|p| PositionDto {
                    location: p.location,
                    on_hand: p.on_hand,
                    reserved: p.reserved,
                    safety_stock: p.safety_stock,
                    atp: p.atp,
                })
                .collect(),
        }
    }
}

impl From<InboundRequest> for service::InboundRequest {
    fn from(dto: InboundRequest) -> service::InboundRequest {
        service::InboundRequest { sku: dto.sku, location: dto.location, qty: dto.qty, expected_at: dto.expected_at }
    }
}

impl From<records::Inbound> for Inbound {
    fn from(record: records::Inbound) -> Inbound {
        Inbound {
            id: record.id,
            sku: record.sku,
            location: record.location,
            qty: record.qty,
            expected_at: record.expected_at,
            allocated: record.allocated,
            received: record.received,
        }
    }
}

/// A SKU's ATP at one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LocationAtpDto {
    /// The location.
    pub location: String,
    /// Available to promise there (for a kit: whole kits).
    pub atp: u32,
}

/// A SKU's ATP moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AtpChangeDto {
    /// Its place in the feed: increasing, never reused.
    pub seq: u64,
    /// When it was published (RFC 3339).
    pub at: String,
    /// The SKU (or kit).
    pub sku: String,
    /// Available to promise across the network now.
    pub atp: u64,
    /// The locations whose ATP changed, with their ATP now.
    pub locations: Vec<LocationAtpDto>,
}

/// A page of the ATP feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AtpChangesDto {
    /// Entries after `since`, oldest first.
    pub changes: Vec<AtpChangeDto>,
    /// Where to read from next time (`since=`).
    pub cursor: u64,
    /// Entries after `since` were pruned: read every SKU's ATP again, then follow from
    /// `cursor`.
    pub reset: bool,
}

/// Where to read the ATP feed from.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AtpChangesQuery {
    /// The cursor of the last page read (`0`: from the oldest entry kept).
    #[serde(default)]
    #[param(required = false, minimum = 0)]
    pub since: u64,
    /// Most entries (1-1000, default 100).
    #[serde(default)]
    #[param(required = false, minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl From<service::AtpChanges> for AtpChangesDto {
    fn from(page: service::AtpChanges) -> AtpChangesDto {
        AtpChangesDto {
            changes: page
                .changes
                .into_iter()
                .map(|c| AtpChangeDto {
                    seq: c.seq,
                    at: c.at,
                    sku: c.sku,
                    atp: c.atp,
                    locations: c
                        .locations
                        .into_iter()
                        .map(|l| LocationAtpDto { location: l.location, atp: l.atp })
                        .collect(),
                })
                .collect(),
            cursor: page.cursor,
            reset: page.reset,
        }
    }
}

/// Where a postal code is: the centroid of a US ZIP code, its city and state.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PostalPlace {
    /// `US`.
    pub country: String,
    /// The five-digit ZIP code.
    pub postal_code: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// City.
    pub city: String,
    /// State (two letters).
    pub state: String,
}
