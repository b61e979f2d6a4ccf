//! Orders: what a client submits, the plan and the order it gets back, fulfilment events,
//! returns, recurring orders.

use serde::{Deserialize, Serialize};

use super::wire;
use crate::api::ApiError;
use crate::records;
use crate::records::to_the_cent;
use crate::service;

/// An order as a client submits it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "demo-1",
    "channel": "web",
    "ship_to": {"lat": 38.966, "lon": -93.4247, "postal_code": "65351", "country": "US"},
    "lines": [{"id": "1", "sku": "SKU-00204", "qty": 1}]
}))]
pub struct OrderRequest {
    /// The order's id (idempotency: the same id twice is the same order).
    #[schema(value_type = wire::Id)]
    pub id: String,
    /// When it was placed (RFC 3339); absent is now.
    #[serde(default)]
    #[schema(value_type = Option<wire::Timestamp>)]
    pub placed_at: Option<String>,
    /// Sales channel.
    #[serde(default = "default_channel")]
    #[schema(value_type = wire::Name)]
    pub channel: String,
    /// Do not route before this time (RFC 3339): a grace period in which the customer may
    /// still change the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Timestamp>)]
    pub hold_until: Option<String>,
    /// The day the customer wants it delivered (RFC 3339); the order is routed the
    /// configured lead time before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Timestamp>)]
    pub requested_delivery: Option<String>,
    /// Where it goes.
    pub ship_to: ShipToDto,
    /// What it orders: 1 to 200 lines, each line id once.
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<LineDto>,
    /// The carrier service it ships by (a delivery option of `POST /v1/promise`): routing
    /// uses only locations the service can ship from, and every shipment carries its ship and
    /// delivery dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Id>)]
    pub service: Option<String>,
    /// The day promised to the customer (`YYYY-MM-DD`; needs `service`): locations that would
    /// deliver later are left out; when none can make it, the policy decides (`late delivery`):
    /// ship late with the earliest date, saying so, or reject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_by: Option<String>,
}

fn default_channel() -> String {
    "web".to_owned()
}

/// A ship-to address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipToDto {
    /// Latitude, degrees. With `lon`, where the parcel goes; without both, the centroid of
    /// `postal_code` is used (US ZIP codes).
    #[serde(default)]
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    /// Longitude, degrees.
    #[serde(default)]
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    /// Postal code: with no `lat` and `lon`, a US ZIP code (`19103` or `19103-1234`) the
    /// service knows, whose centroid is used.
    #[serde(default)]
    #[schema(value_type = wire::Name)]
    pub postal_code: String,
    /// Country code.
    #[serde(default)]
    #[schema(value_type = wire::Name)]
    pub country: String,
}

/// An order line as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDto {
    /// Line id, unique in the order.
    #[schema(value_type = wire::Id)]
    pub id: String,
    /// SKU.
    #[schema(value_type = wire::Id)]
    pub sku: String,
    /// Units (at least 1).
    #[schema(minimum = 1)]
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
    /// The currency of every amount (ISO 4217); amounts are rounded to the cent and the cost
    /// terms add up to the total exactly.
    pub currency: String,
    /// For an order with a carrier service: the service, the day promised, the day the last
    /// parcel is expected, and whether that is late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<PlanDeliveryDto>,
}

/// How a plan delivers by its order's carrier service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanDeliveryDto {
    /// The carrier service.
    pub service: String,
    /// The day promised (`YYYY-MM-DD`), when the order named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_by: Option<String>,
    /// The day the last parcel is expected (`YYYY-MM-DD`); absent when nothing ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<String>,
    /// Whether it arrives after `deliver_by` (no location could make the day; the policy ships
    /// late rather than reject).
    #[serde(default)]
    pub late: bool,
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
    /// The day it leaves (`YYYY-MM-DD`), for an order with a carrier service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<String>,
    /// The day it is expected to arrive (`YYYY-MM-DD`), for an order with a carrier service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<String>,
}

/// A shipment's fulfilment state, in the order the location reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being routed (never shown).
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

/// Units an order holds at one location, in merchant ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeldUnits {
    /// SKU.
    pub sku: String,
    /// Location.
    pub location: String,
    /// Units.
    pub qty: u32,
}

/// A shipment counted against a location's daily capacity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeldShipment {
    /// Location.
    pub location: String,
    /// Day (days since 1970-01-01 in the location's time zone).
    pub day: i64,
    /// The location's capacity that day.
    pub capacity: Option<u32>,
}

/// One entry of an order's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// When (RFC 3339).
    pub at: String,
    /// What happened (`reserved`, `confirmed`, `shipped`, ...).
    pub event: String,
    /// Details.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Units of a line waiting for inbound stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Backorder {
    /// The order line.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
    /// Where they will ship from.
    pub location: String,
    /// The inbound record they wait for.
    pub inbound: String,
    /// The date promised to the customer (the inbound's expected date).
    pub promise_date: String,
    /// `waiting`, `allocated` (reserved on receipt), `short` (the receipt fell short) or
    /// `cancelled`.
    pub status: String,
    /// A preorder: the SKU was not released when the order was placed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preorder: bool,
}

/// Units of one line coming back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    /// The order line (as the plan names it: `1`, or `1/SKU-A` for a kit component).
    pub line_id: String,
    /// Units.
    pub qty: u32,
}

/// A return of shipped units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReturnRecord {
    /// Its id (`<order>-R<n>`).
    pub id: String,
    /// What comes back.
    pub lines: Vec<ReturnLine>,
    /// The location the policy chose to take it.
    pub location: String,
    /// The return label: where to send it and the reference to quote.
    pub label: ReturnLabel,
    /// `requested` or `received`.
    pub status: String,
    /// Why the customer returns it.
    #[serde(default)]
    pub reason: String,
    /// Units put back into sellable stock when received.
    #[serde(default)]
    pub restocked: Vec<ReturnLine>,
    /// `refund` or `exchange`, once received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A return label record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReturnLabel {
    /// The return address: the location's id and position.
    pub location: String,
    /// Latitude of the return address.
    pub lat: f64,
    /// Longitude of the return address.
    pub lon: f64,
    /// The reference to quote on the parcel.
    pub reference: String,
}

/// An order as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderRecord {
    /// The order's id.
    pub id: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// The order as submitted.
    pub request: OrderRequest,
    /// The routing decision.
    pub plan: Option<PlanDto>,
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
    /// With release windows (`release_after_secs`): when the order is released to its
    /// locations for picking (RFC 3339). Until then re-optimisation may move its units to
    /// other locations (`order.rerouted`); a fulfilment event or `POST
    /// /v1/orders/{id}/release` releases it at once. Absent: released when routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_at: Option<String>,
    /// The `Idempotency-Key` it was created with.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The binding (product group) it was routed under.
    pub binding_group: String,
    /// The version that routed it (re-routing after a rejection uses it again).
    #[serde(default)]
    pub policy_version: String,
    /// The binding's fallback version when it was routed.
    #[serde(default)]
    pub fallback_version: Option<String>,
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
    /// In the answer to `POST /v1/orders?explain=true`: why it was routed as it was when
    /// placed, per line and per candidate location (as `GET /v1/orders/{id}/explanation`
    /// keeps it, with every later routing). Absent elsewhere, and when the service keeps no
    /// explanations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<ExplainedLineDto>>,
}

/// What one re-optimisation pass over the unreleased orders did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReoptimizeReport {
    /// Orders not yet released to their locations that the pass looked at.
    pub pool: usize,
    /// Of those, orders left as they are: their plan is one their policy no longer allows (or
    /// cannot price), or their terms no longer apply.
    pub unmovable: usize,
    /// Of those, orders whose moves the pass did not try again (a periodic pass: an earlier
    /// one found none that paid and they have not changed since; still partners of the rest).
    pub settled: usize,
    /// Orders whose plan changed (each with an `order.rerouted` event), by id.
    pub changed: Vec<ReoptimizedOrder>,
    /// Cost of the movable orders' plans before the pass, each under its own policy.
    pub cost_before: f64,
    /// The same after.
    pub cost_after: f64,
    /// `cost_before - cost_after`.
    pub saved: f64,
    /// Whether the changes were applied: `false` when orders or stock changed while the pass
    /// searched; nothing was applied then, and the next pass starts again.
    pub applied: bool,
    /// The pass stopped searching at its time limit (`reoptimize_time_limit_ms`,
    /// `reoptimize_full_time_limit_ms` for a full one); what it had
    /// found was applied.
    pub timed_out: bool,
    /// A full pass re-planned all the movable orders together under prices on contended stock
    /// (`reoptimize_replan_rounds`), and kept that because it cost less; `false`: exchanges only.
    pub replanned: bool,
    /// Milliseconds the pass took.
    pub took_ms: f64,
}

/// One order a re-optimisation pass re-planned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReoptimizedOrder {
    /// The order's id.
    pub id: String,
    /// Its plan's cost before, under its policy.
    pub before: f64,
    /// Its new plan's cost.
    pub after: f64,
}

impl From<service::ReoptimizeReport> for ReoptimizeReport {
    fn from(report: service::ReoptimizeReport) -> ReoptimizeReport {
        ReoptimizeReport {
            pool: report.pool,
            unmovable: report.unmovable,
            settled: report.settled,
            changed: report
                .changed
                .into_iter()
                .map(|c| ReoptimizedOrder { id: c.id, before: to_the_cent(c.before), after: to_the_cent(c.after) })
                .collect(),
            cost_before: to_the_cent(report.cost_before),
            cost_after: to_the_cent(report.cost_after),
            saved: to_the_cent(report.cost_before - report.cost_after),
            applied: report.applied,
            timed_out: report.timed_out,
            replanned: report.replanned,
            took_ms: (report.took_ms * 10.0).round() / 10.0,
        }
    }
}

/// Why an order was routed as it was, every time it was.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderExplanation {
    /// The order.
    pub order_id: String,
    /// Every routing, oldest first: when it was placed (or came due), and every re-routing
    /// after a location rejected a shipment. Empty: not routed yet (scheduled), or routed
    /// while the service kept no explanations.
    pub routings: Vec<RoutingDto>,
}

/// One routing of an order and why it came out as it did.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RoutingDto {
    /// The order's revision it wrote.
    pub revision: u64,
    /// When (RFC 3339).
    pub at: String,
    /// What routed it.
    pub cause: RoutingCause,
    /// The policy version bound then.
    pub policy_version: String,
    /// Per line routed (a re-routing: the rejected shipment's lines), every location holding
    /// its SKU and what became of it, with the stock it had then.
    pub lines: Vec<ExplainedLineDto>,
}

/// What routed an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoutingCause {
    /// It was placed.
    Placed,
    /// It was scheduled and came due.
    Due,
    /// A location rejected a shipment; its units were routed again.
    Rerouted,
    /// The unreleased orders were re-optimised together and this one's plan changed.
    Reoptimized,
}

/// An order's status, to list orders by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum OrderStatusName {
    Pending,
    Scheduled,
    Reserved,
    Backordered,
    Confirmed,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
    Expired,
    Rejected,
}

impl OrderStatusName {
    /// As stored.
    pub fn name(self) -> &'static str {
        match self {
            OrderStatusName::Pending => "pending",
            OrderStatusName::Scheduled => "scheduled",
            OrderStatusName::Reserved => "reserved",
            OrderStatusName::Backordered => "backordered",
            OrderStatusName::Confirmed => "confirmed",
            OrderStatusName::PartiallyShipped => "partially_shipped",
            OrderStatusName::Shipped => "shipped",
            OrderStatusName::Delivered => "delivered",
            OrderStatusName::Cancelled => "cancelled",
            OrderStatusName::Expired => "expired",
            OrderStatusName::Rejected => "rejected",
        }
    }
}

/// How to answer an order's creation.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CreateQuery {
    /// `true`: the answer carries `explanation`, why the order was routed as it was (per
    /// line, every candidate location). It is kept either way (`GET
    /// /v1/orders/{id}/explanation`); asking for it in the answer costs a larger response.
    #[serde(default)]
    #[param(required = false)]
    pub explain: Option<bool>,
}

/// Which orders to list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    /// Only orders of this status.
    #[serde(default)]
    #[param(required = false)]
    pub status: Option<OrderStatusName>,
    /// Placed at or after (RFC 3339).
    #[serde(default)]
    #[param(required = false, value_type = Option<wire::Timestamp>)]
    pub since: Option<String>,
    /// Placed before (RFC 3339).
    #[serde(default)]
    #[param(required = false, value_type = Option<wire::Timestamp>)]
    pub until: Option<String>,
    /// The `next` of the previous page.
    #[serde(default)]
    #[param(required = false, value_type = Option<wire::OrderCursor>)]
    pub after: Option<String>,
    /// Most orders (1-200, default 50).
    #[serde(default)]
    #[param(required = false, minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// A page of orders, newest placed first.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderList {
    /// The orders.
    pub orders: Vec<OrderRecord>,
    /// Give it as `after` for the next page; absent: this is the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The result of a dry run.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// The plan.
    pub plan: PlanDto,
    /// Per line and candidate, why it was chosen or not (text).
    pub explanation: String,
    /// The same as data: per line, every location holding its SKU and what became of it.
    pub lines: Vec<ExplainedLineDto>,
}

/// One line of a routed order, and what became of every location holding its SKU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExplainedLineDto {
    /// The line's id.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units ordered.
    pub qty: u32,
    /// Units left unfilled.
    pub unfilled: u32,
    /// Every location holding the SKU.
    pub candidates: Vec<CandidateDto>,
}

/// What became of one location for one line. Amounts are rounded to the cent (the plan's
/// currency), distances to 0.1 km.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CandidateDto {
    /// The location.
    pub location: String,
    /// Distance to the ship-to, km.
    pub distance_km: f64,
    /// Available to promise there when the order was routed.
    pub atp: u32,
    /// `chosen`; `beaten` (allowed and priced, the plan is cheaper without it); `excluded`
    /// by a policy rule (`rule`); `blocked` by the engine (`reason`: downtime, capacity);
    /// `no_stock`.
    pub status: String,
    /// Chosen: units shipped from here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qty: Option<u32>,
    /// Chosen or beaten: cost per unit from here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<f64>,
    /// Chosen or beaten: cost of a shipment from here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment_cost: Option<f64>,
    /// Excluded: the name of the policy rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Blocked: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Beaten: the locations that ship the line instead (empty: it is left unfilled).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub beaten_by: Vec<String>,
}

/// A location's report on a shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentEvent {
    /// What happened to the shipment.
    pub event: ReportedEvent,
    /// The location reporting; may be left out when only one shipment fits.
    #[serde(default)]
    #[schema(value_type = Option<wire::Id>)]
    pub location: Option<String>,
    /// The carrier (for `shipped`).
    #[serde(default)]
    #[schema(value_type = Option<wire::Name>)]
    pub carrier: Option<String>,
    /// The tracking number (for `shipped`).
    #[serde(default)]
    #[schema(value_type = Option<wire::Name>)]
    pub tracking: Option<String>,
    /// Why (kept in the timeline; for `rejected`, say why the location cannot ship).
    #[serde(default)]
    #[schema(value_type = wire::Reason)]
    pub reason: String,
}

/// What a location reports about a shipment, in the order it happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportedEvent {
    /// Picked at the location.
    Picked,
    /// Packed.
    Packed,
    /// Handed to the carrier: its units leave on hand.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// The location cannot ship it; its units are routed again.
    Rejected,
}

/// Why an order is cancelled.
#[derive(Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why (kept in the order's history).
    #[serde(default)]
    #[schema(value_type = wire::Reason)]
    pub reason: String,
}

/// What shipped.
#[derive(Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipBody {
    /// The location whose shipment shipped; absent: every open shipment.
    #[serde(default)]
    #[schema(value_type = Option<wire::Id>)]
    pub location: Option<String>,
    /// The carrier.
    #[serde(default)]
    #[schema(value_type = Option<wire::Name>)]
    pub carrier: Option<String>,
    /// Carrier tracking number (kept on the shipment and in the order's history).
    #[serde(default)]
    #[schema(value_type = Option<wire::Name>)]
    pub tracking: Option<String>,
}

/// A recurring order to create.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringBody {
    /// Its id; its orders are `<id>-1`, `<id>-2`, ...
    #[schema(value_type = wire::RecurringId)]
    pub id: String,
    /// `daily`, `weekly`, `monthly`, or a count and unit: `14d`, `2mo`, `12h`, `30m`, `45s`.
    #[schema(value_type = wire::Interval)]
    pub every: String,
    /// The first run (RFC 3339), within a year before now and ten years after; absent: now.
    #[serde(default)]
    #[schema(value_type = Option<wire::Timestamp>)]
    pub start_at: Option<String>,
    /// What each order ships where.
    pub order: RecurringTemplate,
}

/// What each order of a recurring order ships where.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringTemplate {
    /// Sales channel (default `web`).
    #[serde(default)]
    #[schema(value_type = Option<wire::Name>)]
    pub channel: Option<String>,
    /// Where it goes.
    pub ship_to: ShipToDto,
    /// What it orders: 1 to 200 lines, each line id once.
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<LineDto>,
    /// The carrier service each order ships by (`GET /v1/carrier-services`): only locations it
    /// ships from, each shipment dated. Absent: no service.
    #[serde(default)]
    #[schema(value_type = Option<wire::Name>)]
    pub service: Option<String>,
}

/// A recurring order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecurringOrder {
    /// Its id; the orders it creates are `<id>-1`, `<id>-2`, ...
    pub id: String,
    /// The schedule (`weekly`, `monthly`, `14d`, ...).
    pub every: String,
    /// What each order ships where (its `id` is replaced for each order).
    pub template: OrderRequest,
    /// When the next order is created (RFC 3339).
    pub next_at: String,
    /// Whether it still runs.
    pub active: bool,
    /// The orders it created, oldest first.
    pub orders: Vec<String>,
    /// Every run and change.
    pub history: Vec<Event>,
}

/// A return to request.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// Shipped units coming back: 1 to 1000 lines.
    #[schema(min_items = 1, max_items = 1000)]
    pub lines: Vec<ReturnedUnits>,
    /// Why.
    #[serde(default)]
    #[schema(value_type = wire::Reason)]
    pub reason: String,
}

/// Units of a shipped line coming back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnedUnits {
    /// The order line (as the plan names it: `1`, or `1/SKU-A` for a kit component).
    #[schema(min_length = 1)]
    pub line_id: String,
    /// Units (at least 1; at most what shipped and has not come back yet).
    #[schema(minimum = 1)]
    pub qty: u32,
}

/// A return that arrived.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// Units fit to sell again (absent: all of them; at most 1000 lines).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub sellable: Option<Vec<ReturnLine>>,
    /// What the customer gets.
    pub outcome: ReturnOutcome,
}

/// What a customer gets for a return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnOutcome {
    /// Their money back.
    Refund,
    /// Another item.
    Exchange,
}

impl OrderRequest {
    /// The order as the service takes it: the ship-to's coordinates as given, else where its
    /// postal code is. `at`: where the order is in the request (`""`, `order.`), for errors.
    pub fn into_submitted(self, at: &str) -> Result<records::SubmittedOrder, ApiError> {
        Ok(records::SubmittedOrder {
            id: self.id,
            placed_at: self.placed_at,
            channel: self.channel,
            hold_until: self.hold_until,
            requested_delivery: self.requested_delivery,
            ship_to: self.ship_to.resolve(at)?,
            lines: self.lines.into_iter().map(Into::into).collect(),
            service: self.service,
            deliver_by: self.deliver_by,
        })
    }
}

impl ShipToDto {
    /// The ship-to as the service keeps it: `lat` and `lon` as given, else the centroid of its
    /// postal code. `at`: the path to the ship-to's parent in the request, for errors.
    pub fn resolve(self, at: &str) -> Result<records::ShipTo, ApiError> {
        let invalid = |field: &str, message: String| {
            ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_ship_to", message)
                .at(format!("{at}ship_to.{field}"))
        };
        let (lat, lon) = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => (lat, lon),
            (Some(_), None) => return Err(invalid("lon", "give `lon` with `lat`".to_owned())),
            (None, Some(_)) => return Err(invalid("lat", "give `lat` with `lon`".to_owned())),
            (None, None) if self.postal_code.trim().is_empty() => {
                return Err(invalid("postal_code", "give `lat` and `lon`, or a US `postal_code`".to_owned()));
            }
            (None, None) => {
                let place = crate::geo::locate(&self.country, &self.postal_code).map_err(|error| {
                    let field =
                        if matches!(error, crate::geo::GeoError::Country(_)) { "country" } else { "postal_code" };
                    invalid(field, error.to_string())
                })?;
                (place.lat, place.lon)
            }
        };
        Ok(records::ShipTo { lat, lon, postal_code: self.postal_code, country: self.country })
    }
}

impl From<records::SubmittedOrder> for OrderRequest {
    fn from(record: records::SubmittedOrder) -> OrderRequest {
        OrderRequest {
            id: record.id,
            placed_at: record.placed_at,
            channel: record.channel,
            hold_until: record.hold_until,
            requested_delivery: record.requested_delivery,
            ship_to: ShipToDto {
                lat: Some(record.ship_to.lat),
                lon: Some(record.ship_to.lon),
                postal_code: record.ship_to.postal_code,
                country: record.ship_to.country,
            },
            lines: record.lines.into_iter().map(|l| LineDto { id: l.id, sku: l.sku, qty: l.qty }).collect(),
            service: record.service,
            deliver_by: record.deliver_by,
        }
    }
}

impl From<LineDto> for records::SubmittedLine {
    fn from(dto: LineDto) -> records::SubmittedLine {
        records::SubmittedLine { id: dto.id, sku: dto.sku, qty: dto.qty }
    }
}

impl From<records::ShipmentState> for ShipmentState {
    fn from(state: records::ShipmentState) -> ShipmentState {
        match state {
            records::ShipmentState::Open => ShipmentState::Open,
            records::ShipmentState::Picked => ShipmentState::Picked,
            records::ShipmentState::Packed => ShipmentState::Packed,
            records::ShipmentState::Shipped => ShipmentState::Shipped,
            records::ShipmentState::Delivered => ShipmentState::Delivered,
            records::ShipmentState::Rejected => ShipmentState::Rejected,
        }
    }
}

impl From<ShipmentState> for records::ShipmentState {
    fn from(state: ShipmentState) -> records::ShipmentState {
        match state {
            ShipmentState::Open => records::ShipmentState::Open,
            ShipmentState::Picked => records::ShipmentState::Picked,
            ShipmentState::Packed => records::ShipmentState::Packed,
            ShipmentState::Shipped => records::ShipmentState::Shipped,
            ShipmentState::Delivered => records::ShipmentState::Delivered,
            ShipmentState::Rejected => records::ShipmentState::Rejected,
        }
    }
}

impl From<records::PlanRecord> for PlanDto {
    fn from(plan: records::PlanRecord) -> PlanDto {
        PlanDto {
            status: match plan.status {
                records::PlanOutcome::Routed => "routed".to_owned(),
                records::PlanOutcome::Rejected => "rejected".to_owned(),
            },
            reason: plan.reason,
            shipments: plan
                .shipments
                .into_iter()
                .map(|s| ShipmentDto {
                    location: s.location,
                    shipment_cost: s.shipment_cost,
                    lines: s
                        .lines
                        .into_iter()
                        .map(|l| ShipmentLineDto { line_id: l.line_id, sku: l.sku, qty: l.qty, unit_cost: l.unit_cost })
                        .collect(),
                    state: s.state.into(),
                    carrier: s.carrier,
                    tracking: s.tracking,
                    ship_date: s.ship_date,
                    delivery_date: s.delivery_date,
                })
                .collect(),
            unfilled: plan
                .unfilled
                .into_iter()
                .map(|u| UnfilledDto { line_id: u.line_id, sku: u.sku, qty: u.qty })
                .collect(),
            cost: CostDto {
                shipments: plan.cost.shipments,
                units: plan.cost.units,
                split_penalty: plan.cost.split_penalty,
                unfilled_penalty: plan.cost.unfilled_penalty,
                total: plan.cost.total,
            },
            optimal: plan.optimal,
            policy: plan.policy,
            currency: plan.currency,
            delivery: plan.delivery.map(|d| PlanDeliveryDto {
                service: d.service,
                deliver_by: d.deliver_by,
                delivery_date: d.delivery_date,
                late: d.late,
            }),
        }
    }
}

impl From<records::OrderStatus> for OrderStatus {
    fn from(status: records::OrderStatus) -> OrderStatus {
        match status {
            records::OrderStatus::Pending => OrderStatus::Pending,
            records::OrderStatus::Scheduled => OrderStatus::Scheduled,
            records::OrderStatus::Reserved => OrderStatus::Reserved,
            records::OrderStatus::Confirmed => OrderStatus::Confirmed,
            records::OrderStatus::Backordered => OrderStatus::Backordered,
            records::OrderStatus::PartiallyShipped => OrderStatus::PartiallyShipped,
            records::OrderStatus::Shipped => OrderStatus::Shipped,
            records::OrderStatus::Delivered => OrderStatus::Delivered,
            records::OrderStatus::Cancelled => OrderStatus::Cancelled,
            records::OrderStatus::Expired => OrderStatus::Expired,
            records::OrderStatus::Rejected => OrderStatus::Rejected,
        }
    }
}

impl From<records::Event> for Event {
    fn from(event: records::Event) -> Event {
        Event { at: event.at, event: event.event.name().to_owned(), detail: event.detail }
    }
}

fn return_line(line: records::ReturnLine) -> ReturnLine {
    ReturnLine { line_id: line.line_id, qty: line.qty }
}

impl From<ReturnLine> for records::ReturnLine {
    fn from(line: ReturnLine) -> records::ReturnLine {
        records::ReturnLine { line_id: line.line_id, qty: line.qty }
    }
}

impl From<records::ReturnRecord> for ReturnRecord {
    fn from(record: records::ReturnRecord) -> ReturnRecord {
        ReturnRecord {
            id: record.id,
            lines: record.lines.into_iter().map(return_line).collect(),
            location: record.location,
            label: ReturnLabel {
                location: record.label.location,
                lat: record.label.lat,
                lon: record.label.lon,
                reference: record.label.reference,
            },
            status: match record.status {
                records::ReturnStatus::Requested => "requested".to_owned(),
                records::ReturnStatus::Received => "received".to_owned(),
            },
            reason: record.reason,
            restocked: record.restocked.into_iter().map(return_line).collect(),
            outcome: record.outcome.map(|o| o.name().to_owned()),
        }
    }
}

impl From<records::Backorder> for Backorder {
    fn from(record: records::Backorder) -> Backorder {
        Backorder {
            line_id: record.line_id,
            sku: record.sku,
            qty: record.qty,
            location: record.location,
            inbound: record.inbound,
            promise_date: record.promise_date,
            status: match record.status {
                records::BackorderStatus::Waiting => "waiting",
                records::BackorderStatus::Allocated => "allocated",
                records::BackorderStatus::Short => "short",
                records::BackorderStatus::Cancelled => "cancelled",
            }
            .to_owned(),
            preorder: record.preorder,
        }
    }
}

impl From<records::OrderRecord> for OrderRecord {
    fn from(record: records::OrderRecord) -> OrderRecord {
        OrderRecord {
            id: record.id,
            status: record.status.into(),
            request: record.request.into(),
            plan: record.plan.map(Into::into),
            held_units: record
                .held_units
                .into_iter()
                .map(|u| HeldUnits { sku: u.sku, location: u.location, qty: u.qty })
                .collect(),
            held_shipments: record
                .held_shipments
                .into_iter()
                .map(|s| HeldShipment { location: s.location, day: s.day, capacity: s.capacity })
                .collect(),
            expires_at: record.expires_at,
            due_at: record.due_at,
            release_at: record.release_at,
            idempotency_key: record.idempotency_key,
            binding_group: record.binding_group,
            policy_version: record.policy_version,
            fallback_version: record.fallback_version,
            excluded_locations: record.excluded_locations,
            backorders: record.backorders.into_iter().map(Into::into).collect(),
            returns: record.returns.into_iter().map(Into::into).collect(),
            history: record.history.into_iter().map(Into::into).collect(),
            explanation: None,
        }
    }
}

impl From<records::RoutingRecord> for RoutingDto {
    fn from(routing: records::RoutingRecord) -> RoutingDto {
        RoutingDto {
            revision: routing.revision,
            at: routing.at,
            cause: match routing.cause {
                records::RoutingCause::Placed => RoutingCause::Placed,
                records::RoutingCause::Due => RoutingCause::Due,
                records::RoutingCause::Rerouted => RoutingCause::Rerouted,
                records::RoutingCause::Reoptimized => RoutingCause::Reoptimized,
            },
            policy_version: routing.policy_version,
            lines: routing.lines.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<service::DryRun> for DryRun {
    fn from(dry_run: service::DryRun) -> DryRun {
        DryRun {
            plan: dry_run.plan.into(),
            explanation: dry_run.explanation,
            lines: dry_run.lines.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<records::ExplainedLine> for ExplainedLineDto {
    fn from(line: records::ExplainedLine) -> ExplainedLineDto {
        ExplainedLineDto {
            line_id: line.line_id,
            sku: line.sku,
            qty: line.qty,
            unfilled: line.unfilled,
            candidates: line.candidates.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<records::ExplainedCandidate> for CandidateDto {
    fn from(candidate: records::ExplainedCandidate) -> CandidateDto {
        CandidateDto {
            location: candidate.location,
            distance_km: candidate.distance_km,
            atp: candidate.atp,
            status: candidate.status.name().to_owned(),
            qty: candidate.qty,
            unit_cost: candidate.unit_cost,
            shipment_cost: candidate.shipment_cost,
            rule: candidate.rule,
            reason: candidate.reason,
            beaten_by: candidate.beaten_by,
        }
    }
}

impl From<ReportedEvent> for records::ShipmentState {
    fn from(event: ReportedEvent) -> records::ShipmentState {
        match event {
            ReportedEvent::Picked => records::ShipmentState::Picked,
            ReportedEvent::Packed => records::ShipmentState::Packed,
            ReportedEvent::Shipped => records::ShipmentState::Shipped,
            ReportedEvent::Delivered => records::ShipmentState::Delivered,
            ReportedEvent::Rejected => records::ShipmentState::Rejected,
        }
    }
}

impl From<ReturnOutcome> for records::ReturnOutcome {
    fn from(outcome: ReturnOutcome) -> records::ReturnOutcome {
        match outcome {
            ReturnOutcome::Refund => records::ReturnOutcome::Refund,
            ReturnOutcome::Exchange => records::ReturnOutcome::Exchange,
        }
    }
}

impl From<ReturnedUnits> for records::ReturnLine {
    fn from(dto: ReturnedUnits) -> records::ReturnLine {
        records::ReturnLine { line_id: dto.line_id, qty: dto.qty }
    }
}

impl From<FulfilmentEvent> for service::FulfilmentEvent {
    fn from(dto: FulfilmentEvent) -> service::FulfilmentEvent {
        service::FulfilmentEvent {
            event: dto.event.into(),
            location: dto.location,
            carrier: dto.carrier,
            tracking: dto.tracking,
            reason: dto.reason,
        }
    }
}

impl From<records::RecurringOrder> for RecurringOrder {
    fn from(record: records::RecurringOrder) -> RecurringOrder {
        RecurringOrder {
            id: record.id,
            every: record.every,
            template: record.template.into(),
            next_at: record.next_at,
            active: record.active,
            orders: record.orders,
            history: record.history.into_iter().map(Into::into).collect(),
        }
    }
}
