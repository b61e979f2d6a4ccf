//! The schema policies are checked against: the records (order, line, item, location), their
//! fields, the built-in functions, and the names a policy cannot redefine.

use super::checked::{Needs, Typed};
use super::types::Type;

/// Which line a line or item expression refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRef {
    /// The line being priced.
    Current,
    /// The line bound by the enclosing aggregate.
    Bound,
}

/// A field of the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    /// `order.id`.
    Id,
    /// `order.channel`.
    Channel,
    /// `order.placed_at`.
    PlacedAt,
    /// `order.postal_code`.
    PostalCode,
    /// `order.country`.
    Country,
    /// `order.line_count`.
    LineCount,
    /// `order.total_units`.
    TotalUnits,
    /// `order.lat`: latitude of the ship-to.
    Lat,
    /// `order.lon`: longitude of the ship-to.
    Lon,
    /// `order.service`: the carrier service it ships by (empty: none).
    Service,
    /// `order.deliver_by`: the day promised (midnight UTC; far in the future when none).
    DeliverBy,
}

/// A field of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineField {
    /// `line.id`.
    Id,
    /// `line.qty`.
    Qty,
}

/// A field of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemField {
    /// `item.sku`.
    Sku,
    /// `item.group`.
    Group,
    /// `item.weight_kg`.
    WeightKg,
    /// `item.tags`.
    Tags,
}

/// A field of the candidate location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationField {
    /// `location.id`.
    Id,
    /// `location.kind`.
    Kind,
    /// `location.handling_per_shipment`.
    HandlingPerShipment,
    /// `location.handling_per_unit`.
    HandlingPerUnit,
    /// `location.priority`.
    Priority,
    /// `location.lat`.
    Lat,
    /// `location.lon`.
    Lon,
    /// `location.capabilities`.
    Capabilities,
    /// `location.shipments_left` (shipments it may still send that day; very large if unlimited).
    ShipmentsLeft,
    /// `location.transit_days`: carrier days in transit from it by the order's service.
    TransitDays,
    /// `location.ship_date`: the day a parcel would leave it by the order's service.
    ShipDate,
    /// `location.delivery_date`: the day that parcel would arrive.
    DeliveryDate,
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `min(a, b)`.
    Min,
    /// `max(a, b)`.
    Max,
    /// `floor(x)`.
    Floor,
    /// `ceil(x)`.
    Ceil,
    /// `hours(d)`: a duration in hours.
    Hours,
    /// `days(d)`: a duration in days.
    Days,
}
pub(super) const SETTINGS: [&str; 4] = ["max_shipments", "penalty", "line_may_split", "ship_together"];
pub(super) const LOOK_AHEAD_SETTINGS: [&str; 3] = ["weight", "horizon", "history"];
pub(super) const TIE_BREAK_KEYS: [&str; 2] = ["priority", "distance"];
pub(super) const GLOBALS: [&str; 7] = ["order", "line", "item", "location", "now", "distance_km", "atp"];

/// The field `name` of `record` (of the line `line` refers to, for lines and items): its
/// tree, type and what it needs.
pub(super) fn field(record: Type, line: LineRef, name: &str) -> Option<(Typed, Type, Needs)> {
    let line_needs = Needs { line: line == LineRef::Current, location: false };
    let location_needs = Needs { line: false, location: true };
    match (record, name) {
        (Type::Order, "id") => Some((Typed::Order(OrderField::Id), Type::String, Needs::default())),
        (Type::Order, "channel") => Some((Typed::Order(OrderField::Channel), Type::String, Needs::default())),
        (Type::Order, "placed_at") => Some((Typed::Order(OrderField::PlacedAt), Type::Time, Needs::default())),
        (Type::Order, "postal_code") => Some((Typed::Order(OrderField::PostalCode), Type::String, Needs::default())),
        (Type::Order, "country") => Some((Typed::Order(OrderField::Country), Type::String, Needs::default())),
        (Type::Order, "line_count") => Some((Typed::Order(OrderField::LineCount), Type::Number, Needs::default())),
        (Type::Order, "total_units") => Some((Typed::Order(OrderField::TotalUnits), Type::Number, Needs::default())),
        (Type::Order, "lat") => Some((Typed::Order(OrderField::Lat), Type::Number, Needs::default())),
        (Type::Order, "lon") => Some((Typed::Order(OrderField::Lon), Type::Number, Needs::default())),
        (Type::Order, "service") => Some((Typed::Order(OrderField::Service), Type::String, Needs::default())),
        (Type::Order, "deliver_by") => Some((Typed::Order(OrderField::DeliverBy), Type::Time, Needs::default())),
        (Type::Line, "id") => Some((Typed::Line(line, LineField::Id), Type::String, line_needs)),
        (Type::Line, "qty") => Some((Typed::Line(line, LineField::Qty), Type::Number, line_needs)),
        (Type::Line, "sku") => Some((Typed::Item(line, ItemField::Sku), Type::String, line_needs)),
        (Type::Item, "sku") => Some((Typed::Item(line, ItemField::Sku), Type::String, line_needs)),
        (Type::Item, "group") => Some((Typed::Item(line, ItemField::Group), Type::String, line_needs)),
        (Type::Item, "weight_kg") => Some((Typed::Item(line, ItemField::WeightKg), Type::Number, line_needs)),
        (Type::Item, "tags") => Some((Typed::Item(line, ItemField::Tags), Type::StringList, line_needs)),
        (Type::Location, "id") => Some((Typed::Location(LocationField::Id), Type::String, location_needs)),
        (Type::Location, "kind") => Some((Typed::Location(LocationField::Kind), Type::String, location_needs)),
        (Type::Location, "handling_per_shipment") => {
            Some((Typed::Location(LocationField::HandlingPerShipment), Type::Money, location_needs))
        }
        (Type::Location, "handling_per_unit") => {
            Some((Typed::Location(LocationField::HandlingPerUnit), Type::Money, location_needs))
        }
        (Type::Location, "priority") => Some((Typed::Location(LocationField::Priority), Type::Number, location_needs)),
        (Type::Location, "lat") => Some((Typed::Location(LocationField::Lat), Type::Number, location_needs)),
        (Type::Location, "lon") => Some((Typed::Location(LocationField::Lon), Type::Number, location_needs)),
        (Type::Location, "capabilities") => {
            Some((Typed::Location(LocationField::Capabilities), Type::StringList, location_needs))
        }
        (Type::Location, "shipments_left") => {
            Some((Typed::Location(LocationField::ShipmentsLeft), Type::Number, location_needs))
        }
        (Type::Location, "transit_days") => {
            Some((Typed::Location(LocationField::TransitDays), Type::Number, location_needs))
        }
        (Type::Location, "ship_date") => Some((Typed::Location(LocationField::ShipDate), Type::Time, location_needs)),
        (Type::Location, "delivery_date") => {
            Some((Typed::Location(LocationField::DeliveryDate), Type::Time, location_needs))
        }
        _ => None,
    }
}

/// The fields of `record`, for "did you mean" and help lines.
pub(super) fn field_names(record: Type) -> &'static [&'static str] {
    match record {
        Type::Order => &[
            "id",
            "channel",
            "placed_at",
            "postal_code",
            "country",
            "line_count",
            "total_units",
            "lat",
            "lon",
            "service",
            "deliver_by",
        ],
        Type::Line => &["id", "qty", "sku", "item"],
        Type::Item => &["sku", "group", "weight_kg", "tags"],
        _ => &[
            "id",
            "kind",
            "handling_per_shipment",
            "handling_per_unit",
            "priority",
            "lat",
            "lon",
            "capabilities",
            "shipments_left",
            "transit_days",
            "ship_date",
            "delivery_date",
        ],
    }
}
