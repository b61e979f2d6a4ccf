//! Every rule an order must meet, in one place: an order as submitted (merchant ids, RFC 3339
//! times) becomes the engine's order with its kit lines expanded into their components, or
//! an `Invalid` error naming the field. The rules the engine itself enforces are its own
//! (`switchyard_engine::validate_order`); this module adds what only the service knows (ids
//! to resolve, times to read, kits to expand) and maps the engine's errors to the wire's
//! field paths.

use switchyard_engine::{
    Address, Catalog, GeoPoint, Order, OrderError, OrderLine, RoutingError, Timestamp, expand_kits, validate_order,
};

use super::ServiceError;
use super::limits::{self, MAX_LINES};
use crate::records::SubmittedOrder;

fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("invalid_field", message).at(field)
}

/// Reads an RFC 3339 time; the error names `field`.
pub(super) fn timestamp(field: &str, text: &str) -> Result<Timestamp, ServiceError> {
    Timestamp::parse_rfc3339(text).map_err(|e| {
        ServiceError::invalid("invalid_time", format!("`{text}` is not an RFC 3339 time: {}", e.reason)).at(field)
    })
}

/// An engine error about an order, as the service reports it.
pub(super) fn order_error(error: OrderError) -> ServiceError {
    ServiceError::invalid("invalid_order", error.message).at(error.field)
}

/// The engine's order for `submitted` (placed `now` unless it says when), with every kit line
/// expanded into its components (`<line>/<component sku>`).
pub(super) fn engine_order(
    catalog: &Catalog,
    submitted: &SubmittedOrder,
    now: Timestamp,
) -> Result<Order, ServiceError> {
    // Sizes first, before any work that grows with them.
    limits::id("id", &submitted.id)?;
    if submitted.lines.len() > MAX_LINES {
        return Err(ServiceError::invalid(
            "invalid_order",
            format!("{} lines is more than the limit of {MAX_LINES}", submitted.lines.len()),
        )
        .at("lines"));
    }
    limits::text("channel", &submitted.channel, limits::MAX_NAME)?;
    limits::text("ship_to.postal_code", &submitted.ship_to.postal_code, limits::MAX_NAME)?;
    limits::text("ship_to.country", &submitted.ship_to.country, limits::MAX_NAME)?;
    for (index, line) in submitted.lines.iter().enumerate() {
        limits::id(format!("lines[{index}].id"), &line.id)?;
        limits::text(format!("lines[{index}].sku"), &line.sku, limits::MAX_ID)?;
    }
    let placed_at = match &submitted.placed_at {
        Some(text) => timestamp("placed_at", text)?,
        None => now,
    };
    let position = GeoPoint { lat: submitted.ship_to.lat, lon: submitted.ship_to.lon };
    if !position.is_valid() {
        return Err(invalid_field("ship_to", "lat/lon must be finite degrees in range"));
    }
    if submitted.lines.is_empty() {
        return Err(invalid_field("lines", "an order needs at least one line"));
    }
    let mut lines = Vec::with_capacity(submitted.lines.len());
    for (index, line) in submitted.lines.iter().enumerate() {
        let sku = catalog.sku_id(&line.sku).ok_or_else(|| {
            ServiceError::invalid("unknown_sku", format!("unknown sku `{}`", line.sku))
                .at(format!("lines[{index}].sku"))
        })?;
        if submitted.lines[..index].iter().any(|other| other.id == line.id) {
            return Err(invalid_field(
                format!("lines[{index}].id"),
                format!("line id `{}` appears twice in the order", line.id),
            ));
        }
        lines.push(OrderLine { id: line.id.clone(), sku, qty: line.qty, kit: None });
    }
    let order = Order {
        id: submitted.id.clone(),
        placed_at,
        channel: submitted.channel.clone(),
        ship_to: Address {
            position,
            postal_code: submitted.ship_to.postal_code.clone(),
            country: submitted.ship_to.country.clone(),
        },
        lines,
    };
    // The engine's rules on the order as submitted, so errors name the submitted lines.
    validate_order(catalog, &order, MAX_LINES).map_err(order_error)?;
    if !catalog.has_kits() {
        return Ok(order);
    }
    expand_kits(catalog, &order).map_err(|error| invalid_field(error.field, error.message))
}

/// When the order may be routed: the later of `hold_until` and `requested_delivery` less
/// `lead_secs`; `None` when it may be routed at once.
pub(super) fn due_at(submitted: &SubmittedOrder, lead_secs: i64) -> Result<Option<Timestamp>, ServiceError> {
    let hold = submitted.hold_until.as_deref().map(|t| timestamp("hold_until", t)).transpose()?;
    let delivery = submitted
        .requested_delivery
        .as_deref()
        .map(|t| timestamp("requested_delivery", t).map(|t| Timestamp(t.0 - lead_secs)))
        .transpose()?;
    Ok(hold.into_iter().chain(delivery).max())
}

/// A routing failure, as the service reports it.
pub(super) fn routing_error(error: RoutingError) -> ServiceError {
    match error {
        RoutingError::InvalidOrder(e) => order_error(e),
        RoutingError::Policy(e) => ServiceError::invalid("policy_failed", e.to_string()),
        RoutingError::InvalidAnswer { .. } | RoutingError::InvalidPlan { .. } => {
            ServiceError::invalid("policy_failed", error.to_string())
        }
        RoutingError::Contention { .. } => ServiceError::conflict("contention", error.to_string()),
    }
}
