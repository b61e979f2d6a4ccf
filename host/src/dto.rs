//! Wire types of the API (serde) and their conversion to and from engine types. Engine types
//! never see JSON; these never reach the engine.

use serde::{Deserialize, Serialize};
use switchyard_engine::{
    Address, Catalog, Downtime, GeoPoint, Location, LocationKind, Order, OrderLine, Plan, PlanStatus, Product,
    Timestamp,
};

use crate::error::ApiError;

/// A location as the API reads and writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationDto {
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
    /// Shipments per day; absent is unlimited.
    #[serde(default)]
    pub capacity_shipments_per_day: Option<u32>,
    /// What it can ship (`hazmat`, `cold_chain`, ...).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Planned downtime windows.
    #[serde(default)]
    pub downtime: Vec<DowntimeDto>,
    /// Tie-break priority (higher first).
    #[serde(default)]
    pub priority: i32,
    /// IANA time zone (`America/Chicago`): daily capacity resets at local midnight. Absent:
    /// UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A location's time zone, read from its IANA name.
pub fn time_zone(name: &str) -> Result<chrono_tz::Tz, ApiError> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| ApiError::invalid("invalid_field", format!("`{name}` is not an IANA time zone")).at("time_zone"))
}

/// Minutes east of UTC in `zone` at `at`.
pub fn utc_offset_minutes(zone: chrono_tz::Tz, at: Timestamp) -> i32 {
    use chrono::{Offset, TimeZone};
    match chrono::DateTime::from_timestamp(at.0, 0) {
        Some(utc) => zone.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc() / 60,
        None => 0,
    }
}

/// A downtime window, RFC 3339 times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DowntimeDto {
    /// Start.
    pub from: String,
    /// End (after the start).
    pub to: String,
}

/// A product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDto {
    /// Its SKU.
    pub sku: String,
    /// Its product group (bindings are per group).
    pub group: String,
    /// Weight of one unit, kg.
    pub weight_kg: f64,
    /// Tags (`hazmat`, `cold_chain`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Set for a kit (bundle): the components one kit is made of. A kit holds no stock of its
    /// own; ordering one reserves its components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentDto>,
    /// Whether a kit's components may ship from different locations (default: no, they ship
    /// together).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kit_may_split: bool,
    /// When the product is released (RFC 3339). Before, orders for it are preorders: they
    /// wait for announced inbound stock whatever the policy's horizon, nothing ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    pub sku: String,
    /// Units per kit (at least 1).
    pub qty: u32,
}

/// Bulk stock levels: absolute on hand (and safety stock) per SKU and location.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
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
    pub sku: String,
    /// The location.
    pub location: String,
    /// Units on hand.
    pub on_hand: u32,
    /// Units never promised.
    #[serde(default)]
    pub safety_stock: u32,
}

/// Bulk relative changes (receipts, counts, shrinkage).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustments {
    /// The changes.
    pub adjustments: Vec<StockAdjustment>,
}

/// One relative change of on hand.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustment {
    /// The SKU.
    pub sku: String,
    /// The location.
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

/// An order as a client submits it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// The order's id (idempotency: the same id twice is the same order).
    pub id: String,
    /// When it was placed (RFC 3339); absent is now.
    #[serde(default)]
    pub placed_at: Option<String>,
    /// Sales channel.
    #[serde(default = "default_channel")]
    pub channel: String,
    /// Do not route before this time (RFC 3339): a grace period in which the customer may
    /// still change the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_until: Option<String>,
    /// The day the customer wants it delivered (RFC 3339); the order is routed the
    /// configured lead time before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_delivery: Option<String>,
    /// Where it goes.
    pub ship_to: ShipToDto,
    /// What it orders.
    pub lines: Vec<LineDto>,
}

fn default_channel() -> String {
    "web".to_owned()
}

/// A ship-to address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipToDto {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Postal code.
    #[serde(default)]
    pub postal_code: String,
    /// Country code.
    #[serde(default)]
    pub country: String,
}

/// An order line as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDto {
    /// Line id, unique in the order.
    pub id: String,
    /// SKU.
    pub sku: String,
    /// Units (at least 1).
    pub qty: u32,
}

/// A plan as the API shows it, in merchant ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanDto {
    /// `routed` or `rejected`.
    pub status: String,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Shipments.
    pub shipments: Vec<ShipmentDto>,
    /// Units nobody can ship.
    pub unfilled: Vec<UnfilledDto>,
    /// Cost terms and total.
    pub cost: CostDto,
    /// Proved cheapest under the policy.
    pub optimal: bool,
    /// `name@version` of the policy that decided.
    pub policy: String,
}

/// One shipment of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShipmentDto {
    /// The location that ships.
    pub location: String,
    /// Cost of the shipment itself.
    pub shipment_cost: f64,
    /// Units per line.
    pub lines: Vec<ShipmentLineDto>,
    /// Where it stands in fulfilment.
    #[serde(default)]
    pub state: ShipmentState,
    /// The carrier, once shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// The tracking number, once shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
}

/// A shipment's fulfilment state, in the order the location reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentState {
    /// Planned and reserved; the location has not reported on it.
    #[default]
    Open,
    /// Picked at the location.
    Picked,
    /// Packed.
    Packed,
    /// Handed to the carrier: its units left on hand.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// The location rejected it; its units were routed again.
    Rejected,
}

impl ShipmentState {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ShipmentState::Open => "open",
            ShipmentState::Picked => "picked",
            ShipmentState::Packed => "packed",
            ShipmentState::Shipped => "shipped",
            ShipmentState::Delivered => "delivered",
            ShipmentState::Rejected => "rejected",
        }
    }

    /// Whether its units have left the location.
    pub fn has_left(self) -> bool {
        matches!(self, ShipmentState::Shipped | ShipmentState::Delivered)
    }
}

/// Units of one line in a shipment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShipmentLineDto {
    /// The line's id.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
    /// Cost per unit.
    pub unit_cost: f64,
}

/// Units of a line left unfilled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnfilledDto {
    /// The line's id.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
}

/// Cost terms of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CostDto {
    /// Sum of shipment costs.
    pub shipments: f64,
    /// Sum of unit costs.
    pub units: f64,
    /// Split penalty.
    pub split_penalty: f64,
    /// Unfilled penalty.
    pub unfilled_penalty: f64,
    /// Total.
    pub total: f64,
}

/// Why a conversion failed: the field and what is wrong.
fn field_error(field: String, message: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_field", message).at(field)
}

fn timestamp(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(text)
        .map_err(|e| field_error(field.to_owned(), format!("`{text}` is not an RFC 3339 time: {}", e.reason)))
}

impl LocationDto {
    /// The engine's location, with its UTC offset as of `at`; errors name the field.
    pub fn to_engine(&self, at: Timestamp) -> Result<Location, ApiError> {
        let utc_offset_minutes = match &self.time_zone {
            Some(name) => utc_offset_minutes(time_zone(name)?, at),
            None => 0,
        };
        let mut downtime = Vec::with_capacity(self.downtime.len());
        for (index, window) in self.downtime.iter().enumerate() {
            let from = timestamp(&format!("downtime[{index}].from"), &window.from)?;
            let to = timestamp(&format!("downtime[{index}].to"), &window.to)?;
            if to <= from {
                return Err(field_error(format!("downtime[{index}]"), "the window must end after it starts"));
            }
            downtime.push(Downtime { from, to });
        }
        Ok(Location {
            id: self.id.clone(),
            kind: LocationKind::from_name(&self.kind),
            position: GeoPoint { lat: self.lat, lon: self.lon },
            handling_per_shipment: self.handling_per_shipment,
            handling_per_unit: self.handling_per_unit,
            capacity_shipments_per_day: self.capacity_shipments_per_day,
            downtime,
            capabilities: self.capabilities.clone(),
            priority: self.priority,
            utc_offset_minutes,
        })
    }

    /// The wire form of an engine location.
    pub fn from_engine(location: &Location) -> LocationDto {
        LocationDto {
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
                .map(|w| DowntimeDto { from: w.from.to_string(), to: w.to.to_string() })
                .collect(),
            priority: location.priority,
            time_zone: None,
        }
    }
}

impl ProductDto {
    /// The engine's product.
    pub fn to_engine(&self) -> Product {
        Product { sku: self.sku.clone(), group: self.group.clone(), weight_kg: self.weight_kg, tags: self.tags.clone() }
    }

    /// The wire form of an engine product.
    pub fn from_engine(product: &Product) -> ProductDto {
        ProductDto {
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

impl OrderRequest {
    /// When the order may be routed: the later of `hold_until` and `requested_delivery`
    /// less `lead_secs`; `None` when it may be routed at once.
    pub fn due_at(&self, lead_secs: i64) -> Result<Option<Timestamp>, ApiError> {
        let hold = self.hold_until.as_deref().map(|t| timestamp("hold_until", t)).transpose()?;
        let delivery = self
            .requested_delivery
            .as_deref()
            .map(|t| timestamp("requested_delivery", t).map(|t| Timestamp(t.0 - lead_secs)))
            .transpose()?;
        Ok(hold.into_iter().chain(delivery).max())
    }

    /// The engine's order; unknown SKUs and bad fields are 422s naming the field.
    pub fn to_engine(&self, catalog: &Catalog, now: Timestamp) -> Result<Order, ApiError> {
        if self.id.is_empty() {
            return Err(field_error("id".into(), "must not be empty"));
        }
        let placed_at = match &self.placed_at {
            Some(text) => timestamp("placed_at", text)?,
            None => now,
        };
        let position = GeoPoint { lat: self.ship_to.lat, lon: self.ship_to.lon };
        if !position.is_valid() {
            return Err(field_error("ship_to".into(), "lat/lon must be finite degrees in range"));
        }
        if self.lines.is_empty() {
            return Err(field_error("lines".into(), "an order needs at least one line"));
        }
        let mut lines = Vec::with_capacity(self.lines.len());
        for (index, line) in self.lines.iter().enumerate() {
            let sku = catalog.sku_id(&line.sku).ok_or_else(|| {
                ApiError::invalid("unknown_sku", format!("unknown sku `{}`", line.sku))
                    .at(format!("lines[{index}].sku"))
            })?;
            if self.lines[..index].iter().any(|other| other.id == line.id) {
                return Err(field_error(
                    format!("lines[{index}].id"),
                    format!("line id `{}` appears twice in the order", line.id),
                ));
            }
            lines.push(OrderLine { id: line.id.clone(), sku, qty: line.qty });
        }
        Ok(Order {
            id: self.id.clone(),
            placed_at,
            channel: self.channel.clone(),
            ship_to: Address {
                position,
                postal_code: self.ship_to.postal_code.clone(),
                country: self.ship_to.country.clone(),
            },
            lines,
        })
    }
}

impl PlanDto {
    /// The wire form of a plan for `order`.
    pub fn from_engine(plan: &Plan, order: &Order, catalog: &Catalog) -> PlanDto {
        let line = |index: usize| &order.lines[index];
        let (status, reason) = match &plan.status {
            PlanStatus::Routed => ("routed".to_owned(), None),
            PlanStatus::Rejected { reason } => ("rejected".to_owned(), Some(reason.clone())),
        };
        PlanDto {
            status,
            reason,
            shipments: plan
                .shipments
                .iter()
                .map(|shipment| ShipmentDto {
                    location: catalog.location(shipment.location).id.clone(),
                    shipment_cost: shipment.shipment_cost,
                    lines: shipment
                        .lines
                        .iter()
                        .map(|l| ShipmentLineDto {
                            line_id: line(l.line).id.clone(),
                            sku: catalog.product(line(l.line).sku).sku.clone(),
                            qty: l.qty,
                            unit_cost: l.unit_cost,
                        })
                        .collect(),
                    state: ShipmentState::Open,
                    carrier: None,
                    tracking: None,
                })
                .collect(),
            unfilled: plan
                .unfilled
                .iter()
                .map(|u| UnfilledDto {
                    line_id: line(u.line).id.clone(),
                    sku: catalog.product(line(u.line).sku).sku.clone(),
                    qty: u.qty,
                })
                .collect(),
            cost: CostDto {
                shipments: plan.cost.shipments,
                units: plan.cost.units,
                split_penalty: plan.cost.split_penalty,
                unfilled_penalty: plan.cost.unfilled_penalty,
                total: plan.cost.total(),
            },
            optimal: plan.optimal,
            policy: format!("{}@{}", plan.policy.name, plan.policy.version),
        }
    }
}
