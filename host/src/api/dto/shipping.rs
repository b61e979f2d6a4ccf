//! Delivery promises on the wire: a location's fulfilment terms, carrier services, and the
//! promise of a cart or of one product.

use serde::{Deserialize, Serialize};

use super::orders::{LineDto, PlanDto, ShipToDto};
use super::wire;
use crate::api::error::ApiError;
use crate::records;
use crate::service;

/// How a location turns orders into parcels (delivery promises). Absent: it works every day
/// and has no cut-off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"cutoff": "14:00", "processing_days": 0, "open_days": "mon-fri",
    "holidays": ["2026-12-25"]}))]
pub struct FulfilmentDto {
    /// Orders in before this local time (`HH:MM`, in the location's `time_zone`) are processed
    /// the same day, later ones from the next working day. Absent: no cut-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub cutoff: Option<String>,
    /// Working days to pick and pack before a parcel can be collected (0 to 60; 0: the day
    /// processing starts).
    #[serde(default)]
    #[schema(maximum = 60)]
    pub processing_days: u8,
    /// The weekdays it works: `mon-fri`, `mon,wed,fri`, `mon-sat`. Absent: every day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Name>)]
    pub open_days: Option<String>,
    /// Days it does not work, whatever the weekday (`YYYY-MM-DD`; at most 400).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 400)]
    pub holidays: Vec<String>,
}

/// One distance band of a carrier service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BandDto {
    /// The band reaches this far, km (beyond the band before). Absent only on the last band:
    /// everything farther.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0)]
    pub max_km: Option<f64>,
    /// Carrier days in transit (days it delivers on; 0 to 60).
    #[schema(maximum = 60)]
    pub transit_days: u8,
    /// Price of a parcel (0 to 1000000).
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1_000_000.0)]
    pub per_shipment: f64,
    /// Price per kg in the parcel (0 to 1000000).
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1_000_000.0)]
    pub per_kg: f64,
}

/// A carrier service (ground, two-day, overnight): the days it collects and delivers, its
/// transit days and prices by distance, the heaviest parcel it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "ground", "carrier": "UPS", "name": "Standard",
    "pickup_days": "mon-fri", "delivery_days": "mon-fri", "holidays": ["2026-12-25"],
    "bands": [{"max_km": 250.0, "transit_days": 1, "per_shipment": 7.5, "per_kg": 0.7},
              {"transit_days": 3, "per_shipment": 9.8, "per_kg": 1.8}],
    "max_weight_kg": 30.0}))]
pub struct CarrierServiceDto {
    /// The merchant's id for it.
    #[schema(value_type = wire::Id)]
    pub id: String,
    /// The carrier.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(value_type = wire::Name)]
    pub carrier: String,
    /// What a shopper is shown (`Standard`, `Express`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(value_type = wire::Name)]
    pub name: String,
    /// The weekdays it collects parcels (default `mon-fri`).
    #[serde(default = "workdays")]
    #[schema(value_type = wire::Name)]
    pub pickup_days: String,
    /// The weekdays it delivers; transit days are counted on them (default `mon-fri`).
    #[serde(default = "workdays")]
    #[schema(value_type = wire::Name)]
    pub delivery_days: String,
    /// Days it neither collects nor delivers (`YYYY-MM-DD`; at most 400).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 400)]
    pub holidays: Vec<String>,
    /// Transit days and prices by distance from the shipping location, nearest first (1 to
    /// 100).
    #[schema(min_items = 1, max_items = 100)]
    pub bands: Vec<BandDto>,
    /// The heaviest parcel it takes, kg. Absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0)]
    pub max_weight_kg: Option<f64>,
}

fn workdays() -> String {
    "mon-fri".to_owned()
}

/// A batch of carrier services.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierServices {
    /// The services.
    pub carrier_services: Vec<CarrierServiceDto>,
}

/// A cart to promise.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "ship_to": {"postal_code": "10001", "country": "US"},
    "lines": [{"id": "1", "sku": "SKU-00204", "qty": 1}]
}))]
pub struct PromiseRequestDto {
    /// Where it would go.
    pub ship_to: ShipToDto,
    /// What it holds: 1 to 200 lines, each line id once.
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<LineDto>,
    /// The services to answer for, in this order. Absent or empty: every carrier service.
    #[serde(default)]
    #[schema(value_type = Vec<wire::Id>, max_items = 100)]
    pub services: Vec<String>,
    /// Sales channel (the policy may look at it; default `web`).
    #[serde(default = "web")]
    #[schema(value_type = wire::Name)]
    pub channel: String,
    /// When the order would be placed (RFC 3339); absent: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Timestamp>)]
    pub at: Option<String>,
}

fn web() -> String {
    "web".to_owned()
}

/// One product to promise (a product page).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "sku": "SKU-00204",
    "ship_to": {"postal_code": "10001", "country": "US"}
}))]
pub struct ProductPromiseRequestDto {
    /// The product.
    #[schema(value_type = wire::Id)]
    pub sku: String,
    /// Units (default 1).
    #[serde(default = "one")]
    #[schema(minimum = 1)]
    pub qty: u32,
    /// Where it would go.
    pub ship_to: ShipToDto,
    /// The services to answer for; absent or empty: every one.
    #[serde(default)]
    #[schema(value_type = Vec<wire::Id>, max_items = 100)]
    pub services: Vec<String>,
    /// Sales channel (default `web`).
    #[serde(default = "web")]
    #[schema(value_type = wire::Name)]
    pub channel: String,
    /// When the order would be placed (RFC 3339); absent: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Timestamp>)]
    pub at: Option<String>,
}

fn one() -> u32 {
    1
}

/// One parcel of a promise.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct PromisedParcelDto {
    /// Where it leaves from.
    #[schema(value_type = wire::Id)]
    pub location: String,
    /// The day it leaves (`YYYY-MM-DD`).
    pub ship_date: String,
    /// The day it arrives (`YYYY-MM-DD`).
    pub delivery_date: String,
    /// Carrier days in transit.
    pub transit_days: u8,
    /// Its weight, kg.
    pub weight_kg: f64,
    /// The carrier's price for it.
    pub price: f64,
    /// Why those dates, step by step (`ordered 15:00 local, after the 14:00 cut-off: processing
    /// starts Mon 2026-12-07`, `no pickup on Sat`, `2 transit day(s)...`).
    pub reasons: Vec<String>,
}

/// What one service can promise.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryOptionDto {
    /// The carrier service.
    #[schema(value_type = wire::Id)]
    pub service: String,
    /// Its carrier.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub carrier: String,
    /// What a shopper is shown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Whether the service can deliver the whole cart.
    pub available: bool,
    /// The day the whole cart arrives (`YYYY-MM-DD`), when available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<String>,
    /// The carrier's price for every parcel, when available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_price: Option<f64>,
    /// The parcels: where each leaves from, when, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parcels: Vec<PromisedParcelDto>,
    /// The plan that makes the promise (the policy's costs and rules), when available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanDto>,
    /// Why the service promises nothing: `cannot_ship_whole`, `too_heavy`, `routing_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The same in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The delivery options of a cart, one per service asked for, earliest delivery first (then
/// cheapest); the services that cannot deliver it last.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct PromiseResponse {
    /// The options.
    pub options: Vec<DeliveryOptionDto>,
}

impl PromiseRequestDto {
    /// The service's request.
    pub fn into_request(self) -> Result<service::PromiseRequest, ApiError> {
        let cart = records::SubmittedOrder {
            id: "promise".to_owned(),
            placed_at: self.at,
            channel: self.channel,
            hold_until: None,
            requested_delivery: None,
            ship_to: self.ship_to.resolve("")?,
            service: None,
            deliver_by: None,
            lines: self.lines.into_iter().map(Into::into).collect(),
        };
        Ok(service::PromiseRequest { cart, services: self.services })
    }
}

impl ProductPromiseRequestDto {
    /// The service's request: a cart of one line.
    pub fn into_request(self) -> Result<service::PromiseRequest, ApiError> {
        if self.qty == 0 {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "at least 1 unit".to_owned(),
            )
            .at("qty"));
        }
        let cart = PromiseRequestDto {
            ship_to: self.ship_to,
            lines: vec![LineDto { id: "1".to_owned(), sku: self.sku, qty: self.qty }],
            services: self.services,
            channel: self.channel,
            at: self.at,
        };
        cart.into_request()
    }
}

impl From<Vec<service::DeliveryOption>> for PromiseResponse {
    fn from(options: Vec<service::DeliveryOption>) -> PromiseResponse {
        let mut options: Vec<DeliveryOptionDto> = options.into_iter().map(Into::into).collect();
        options.sort_by(|a, b| {
            (!a.available, &a.delivery_date)
                .cmp(&(!b.available, &b.delivery_date))
                .then(a.shipping_price.unwrap_or(0.0).total_cmp(&b.shipping_price.unwrap_or(0.0)))
        });
        PromiseResponse { options }
    }
}

impl From<service::DeliveryOption> for DeliveryOptionDto {
    fn from(option: service::DeliveryOption) -> DeliveryOptionDto {
        let mut dto = DeliveryOptionDto {
            service: option.service,
            carrier: option.carrier,
            name: option.name,
            available: option.outcome.is_ok(),
            delivery_date: None,
            shipping_price: None,
            parcels: Vec::new(),
            plan: None,
            unavailable: None,
            message: None,
        };
        match option.outcome {
            Ok(promised) => {
                dto.delivery_date = Some(promised.delivery_date);
                dto.shipping_price = Some(promised.shipping_price);
                dto.parcels = promised.parcels.into_iter().map(Into::into).collect();
                dto.plan = Some(promised.plan.into());
            }
            Err(none) => {
                dto.unavailable = Some(none.code.to_owned());
                dto.message = Some(none.message);
            }
        }
        dto
    }
}

impl From<service::PromisedParcel> for PromisedParcelDto {
    fn from(parcel: service::PromisedParcel) -> PromisedParcelDto {
        PromisedParcelDto {
            location: parcel.location,
            ship_date: parcel.ship_date,
            delivery_date: parcel.delivery_date,
            transit_days: parcel.transit_days,
            weight_kg: parcel.weight_kg,
            price: parcel.price,
            reasons: parcel.reasons,
        }
    }
}

impl From<FulfilmentDto> for records::FulfilmentRecord {
    fn from(dto: FulfilmentDto) -> records::FulfilmentRecord {
        records::FulfilmentRecord {
            cutoff: dto.cutoff,
            processing_days: dto.processing_days,
            open_days: dto.open_days,
            holidays: dto.holidays,
        }
    }
}

impl From<records::FulfilmentRecord> for FulfilmentDto {
    fn from(record: records::FulfilmentRecord) -> FulfilmentDto {
        FulfilmentDto {
            cutoff: record.cutoff,
            processing_days: record.processing_days,
            open_days: record.open_days,
            holidays: record.holidays,
        }
    }
}

impl From<CarrierServiceDto> for records::CarrierServiceRecord {
    fn from(dto: CarrierServiceDto) -> records::CarrierServiceRecord {
        records::CarrierServiceRecord {
            id: dto.id,
            carrier: dto.carrier,
            name: dto.name,
            pickup_days: dto.pickup_days,
            delivery_days: dto.delivery_days,
            holidays: dto.holidays,
            bands: dto
                .bands
                .into_iter()
                .map(|b| records::BandRecord {
                    max_km: b.max_km,
                    transit_days: b.transit_days,
                    per_shipment: b.per_shipment,
                    per_kg: b.per_kg,
                })
                .collect(),
            max_weight_kg: dto.max_weight_kg,
        }
    }
}

impl From<records::CarrierServiceRecord> for CarrierServiceDto {
    fn from(record: records::CarrierServiceRecord) -> CarrierServiceDto {
        CarrierServiceDto {
            id: record.id,
            carrier: record.carrier,
            name: record.name,
            pickup_days: record.pickup_days,
            delivery_days: record.delivery_days,
            holidays: record.holidays,
            bands: record
                .bands
                .into_iter()
                .map(|b| BandDto {
                    max_km: b.max_km,
                    transit_days: b.transit_days,
                    per_shipment: b.per_shipment,
                    per_kg: b.per_kg,
                })
                .collect(),
            max_weight_kg: record.max_weight_kg,
        }
    }
}
