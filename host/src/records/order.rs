//! An order as the service keeps it: what was submitted, the plan, what it holds, and its
//! timeline.

use serde::{Deserialize, Serialize};

use super::inventory::Backorder;
use super::plan::PlanRecord;
use super::returns::ReturnRecord;

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being created (never stored, never shown).
    Pending,
    /// Accepted, to be routed at `due_at` (a hold or a requested delivery date).
    Scheduled,
    /// Routed and holding stock until `expires_at` unless confirmed.
    Reserved,
    /// Holding stock with no expiry.
    Confirmed,
    /// Nothing could ship now; units wait for inbound stock (see `backorders`).
    Backordered,
    /// Some shipments have shipped.
    PartiallyShipped,
    /// Every shipment has shipped.
    Shipped,
    /// Every shipment has been delivered.
    Delivered,
    /// Cancelled; its stock was released.
    Cancelled,
    /// Not confirmed in time; its stock was released.
    Expired,
    /// The policy rejected it (or nothing could ship); it holds nothing.
    Rejected,
}

impl OrderStatus {
    /// Its name, as the API and the store write it.
    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Scheduled => "scheduled",
            OrderStatus::Reserved => "reserved",
            OrderStatus::Backordered => "backordered",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Rejected => "rejected",
        }
    }

    /// Whether it still holds reserved units.
    pub fn holds_stock(self) -> bool {
        matches!(self, OrderStatus::Reserved | OrderStatus::Confirmed | OrderStatus::PartiallyShipped)
    }

    /// Whether the order is done with routing and stock: shipped, delivered, cancelled,
    /// expired or rejected. (Events may still follow: a delivery, a return.)
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            OrderStatus::Shipped
                | OrderStatus::Delivered
                | OrderStatus::Cancelled
                | OrderStatus::Expired
                | OrderStatus::Rejected
        )
    }
}

/// An order as the client submitted it, in merchant ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmittedOrder {
    /// The order's id.
    pub id: String,
    /// When it was placed (RFC 3339); `None` is when it was received.
    #[serde(default)]
    pub placed_at: Option<String>,
    /// Sales channel.
    pub channel: String,
    /// Not routed before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_until: Option<String>,
    /// The day the customer wants it delivered (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_delivery: Option<String>,
    /// Where it goes.
    pub ship_to: ShipTo,
    /// What it orders.
    pub lines: Vec<SubmittedLine>,
    /// The carrier service it ships by (delivery promises): routing uses only locations the
    /// service can ship from, and every shipment carries its ship and delivery dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The day it was promised for (`YYYY-MM-DD`, with `service`): routing leaves out the
    /// locations that would deliver later; when none can make it, the policy ships late or
    /// rejects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_by: Option<String>,
}

/// A ship-to address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipTo {
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedLine {
    /// Line id, unique in the order.
    pub id: String,
    /// SKU (a kit's SKU orders its components).
    pub sku: String,
    /// Units.
    pub qty: u32,
}

/// Units an order holds at one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldUnits {
    /// SKU.
    pub sku: String,
    /// Location.
    pub location: String,
    /// Units.
    pub qty: u32,
}

/// A shipment counted against a location's daily capacity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldShipment {
    /// Location.
    pub location: String,
    /// Day (days since 1970-01-01 in the location's time zone).
    pub day: i64,
    /// The location's capacity that day.
    pub capacity: Option<u32>,
}

/// What happened to an order (or a recurring order). An order's events are also webhook
/// event types: `order.<kind>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Accepted, to be routed later.
    Scheduled,
    /// A scheduled order's content changed.
    Changed,
    /// Routed; its units are held.
    Reserved,
    /// Refused: nothing could ship, or a location rejected its last shipment.
    Rejected,
    /// Its reservation no longer expires.
    Confirmed,
    /// Cancelled.
    Cancelled,
    /// Its reservation lapsed.
    Expired,
    /// Units wait for inbound stock.
    Backordered,
    /// Inbound stock arrived and was reserved for it.
    BackorderAllocated,
    /// Inbound stock arrived short.
    BackorderShort,
    /// A shipment was picked.
    Picked,
    /// A shipment was packed.
    Packed,
    /// A shipment left.
    Shipped,
    /// A shipment was delivered.
    Delivered,
    /// Its plan changed after it was routed: a rejected shipment's units routed again, or the
    /// unreleased orders re-optimised together.
    Rerouted,
    /// Released to its locations for picking: its plan no longer changes.
    Released,
    /// A return was requested.
    ReturnRequested,
    /// A return arrived.
    ReturnReceived,
    /// A recurring order was created.
    Created,
    /// A recurring order ran.
    Run,
    /// A recurring order was stopped.
    Stopped,
}

impl EventKind {
    /// Its name, as the timeline shows it.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Scheduled => "scheduled",
            EventKind::Changed => "changed",
            EventKind::Reserved => "reserved",
            EventKind::Rejected => "rejected",
            EventKind::Confirmed => "confirmed",
            EventKind::Cancelled => "cancelled",
            EventKind::Expired => "expired",
            EventKind::Backordered => "backordered",
            EventKind::BackorderAllocated => "backorder_allocated",
            EventKind::BackorderShort => "backorder_short",
            EventKind::Picked => "picked",
            EventKind::Packed => "packed",
            EventKind::Shipped => "shipped",
            EventKind::Delivered => "delivered",
            EventKind::Rerouted => "rerouted",
            EventKind::Released => "released",
            EventKind::ReturnRequested => "return_requested",
            EventKind::ReturnReceived => "return_received",
            EventKind::Created => "created",
            EventKind::Run => "run",
            EventKind::Stopped => "stopped",
        }
    }

    /// Every kind an order's timeline can hold (the webhook event types without `order.`).
    pub const ORDER_EVENTS: [EventKind; 18] = [
        EventKind::Scheduled,
        EventKind::Changed,
        EventKind::Reserved,
        EventKind::Rejected,
        EventKind::Confirmed,
        EventKind::Cancelled,
        EventKind::Expired,
        EventKind::Backordered,
        EventKind::BackorderAllocated,
        EventKind::BackorderShort,
        EventKind::Picked,
        EventKind::Packed,
        EventKind::Shipped,
        EventKind::Delivered,
        EventKind::Rerouted,
        EventKind::Released,
        EventKind::ReturnRequested,
        EventKind::ReturnReceived,
    ];
}

/// One entry of a timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When (RFC 3339).
    pub at: String,
    /// What happened.
    pub event: EventKind,
    /// Details.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// An order as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The order's id.
    pub id: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// The order as submitted.
    pub request: SubmittedOrder,
    /// The routing decision.
    pub plan: Option<PlanRecord>,
    /// Units held.
    pub held_units: Vec<HeldUnits>,
    /// Shipments counted against capacity.
    pub held_shipments: Vec<HeldShipment>,
    /// When an unconfirmed reservation lapses (RFC 3339).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// When a scheduled order is routed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// With release windows: when the order is released to its locations for picking (RFC
    /// 3339). Until then re-optimisation may change its plan; a fulfilment event or the
    /// merchant's release brings it forward. `None`: released when it was routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_at: Option<String>,
    /// The `Idempotency-Key` it was created with.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The binding (product group) it was routed under.
    pub binding_group: String,
    /// The version that routed it (re-routing after a rejection and returns use it again).
    #[serde(default)]
    pub policy_version: String,
    /// The binding's fallback version when it was routed.
    #[serde(default)]
    pub fallback_version: Option<String>,
    /// The values of the plugin parameters the binding set when it was routed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub policy_parameters: std::collections::BTreeMap<String, switchyard_plugins::ParamValue>,
    /// Locations that rejected a shipment of this order.
    #[serde(default)]
    pub excluded_locations: Vec<String>,
    /// Units waiting for inbound stock, with their promise dates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backorders: Vec<Backorder>,
    /// Returns requested for its shipped lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<ReturnRecord>,
    /// Every state change.
    pub history: Vec<Event>,
    /// How many times it was written: each write is of the revision after the one it read,
    /// so two instances changing one order at once cannot both succeed (0: stored before
    /// revisions were counted).
    #[serde(default)]
    pub revision: u64,
}

impl OrderRecord {
    /// Seconds since the epoch of `expires_at`.
    pub fn expires_at_seconds(&self) -> Option<i64> {
        seconds(self.expires_at.as_deref())
    }

    /// Seconds since the epoch of `release_at`.
    pub fn release_at_seconds(&self) -> Option<i64> {
        seconds(self.release_at.as_deref())
    }

    /// How long its release window is, in seconds: from when it was last routed (and joined
    /// the unreleased orders) to `release_at`. `None` when it has no release time or was
    /// never routed.
    pub fn release_window_secs(&self) -> Option<i64> {
        let release = self.release_at_seconds()?;
        let routed = self.history.iter().rev().find(|e| e.event == EventKind::Reserved)?;
        Some(release.saturating_sub(seconds(Some(&routed.at))?))
    }

    /// Seconds since the epoch of `due_at`.
    pub fn due_at_seconds(&self) -> Option<i64> {
        seconds(self.due_at.as_deref())
    }

    /// Until when (seconds since the epoch) the service keeps this order in memory; `None`:
    /// for as long as it is open. A closed order is kept while its shipments still count
    /// against a location's daily capacity (through the day after their day, whatever the
    /// location's time zone), then read from the store when asked for. The store keeps the
    /// same number beside the order, so a start reads only the orders memory needs.
    pub fn keep_until(&self) -> Option<i64> {
        if !self.status.is_closed() {
            return None;
        }
        Some(self.held_shipments.iter().map(|s| s.day.saturating_add(2).saturating_mul(86_400)).max().unwrap_or(0))
    }

    /// When the order was first recorded (its first event), seconds since the epoch.
    pub fn created_at_seconds(&self) -> Option<i64> {
        seconds(self.history.first().map(|e| e.at.as_str()))
    }
}

fn seconds(text: Option<&str>) -> Option<i64> {
    text.and_then(|t| switchyard_engine::Timestamp::parse_rfc3339(t).ok()).map(|t| t.0)
}
