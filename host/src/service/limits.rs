//! Bounds on what a client may send, each checked before any work that grows with it.
//! docs/SERVICE.md ("Limits") lists them with the body, time and count limits of the API.

use super::ServiceError;

/// The longest id: orders, lines, locations, SKUs, groups, inbound records, recurring orders.
pub const MAX_ID: usize = 128;
/// The longest short text: a location's kind, a channel, a tag, a capability, a carrier, a
/// tracking number, a postal code, a country.
pub const MAX_NAME: usize = 64;
/// The longest free text: a reason given for a cancel, an event, a return.
pub const MAX_REASON: usize = 1_000;
/// The most entries of a small list: tags, capabilities, downtime windows, kit components.
pub const MAX_LIST: usize = 100;
/// The most lines an order may have, before its kits are expanded.
pub const MAX_LINES: usize = 200;
/// The most lines of a return request, and of a return receipt's `sellable`.
pub const MAX_RETURN_LINES: usize = 1_000;
/// The most inbound records announced in one request.
pub const MAX_INBOUND_BATCH: usize = 10_000;
/// The longest webhook URL.
pub const MAX_URL: usize = 2_048;
/// The most event types one webhook subscription names.
pub const MAX_WEBHOOK_EVENTS: usize = 64;
/// The shortest and longest webhook secret (characters).
pub const WEBHOOK_SECRET: std::ops::RangeInclusive<usize> = 16..=256;
/// The longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// The longest id of a recurring order: its orders are `<id>-<n>`, and stay ids.
pub const MAX_RECURRING_ID: usize = 100;
/// The longest name of an uploaded policy or plugin.
pub const MAX_UPLOAD_NAME: usize = 128;
/// The heaviest unit a product may weigh, kg.
pub const MAX_WEIGHT_KG: f64 = switchyard_engine::MAX_WEIGHT_KG;
/// The largest handling cost a location may charge per shipment or per unit.
pub const MAX_HANDLING: f64 = switchyard_engine::MAX_HANDLING;

/// `value` at `field` is at most `max` characters (and an id is not empty).
pub(super) fn text(field: impl Into<String>, value: &str, max: usize) -> Result<(), ServiceError> {
    if value.chars().count() > max {
        return Err(ServiceError::invalid(
            "too_long",
            format!("at most {max} characters, not {}", value.chars().count()),
        )
        .at(field));
    }
    Ok(())
}

/// An id: 1 to [`MAX_ID`] characters, none of them a control character.
pub(super) fn id(field: impl Into<String>, value: &str) -> Result<(), ServiceError> {
    let field = field.into();
    if value.is_empty() {
        return Err(ServiceError::invalid("invalid_id", "must not be empty").at(field));
    }
    if value.chars().any(char::is_control) {
        return Err(ServiceError::invalid("invalid_id", "must not contain control characters").at(field));
    }
    text(field, value, MAX_ID)
}

/// A list of at most [`MAX_LIST`] names of at most [`MAX_NAME`] characters each.
pub(super) fn names(field: &str, values: &[String]) -> Result<(), ServiceError> {
    if values.len() > MAX_LIST {
        return Err(
            ServiceError::invalid("too_many", format!("at most {MAX_LIST} entries, not {}", values.len())).at(field)
        );
    }
    for (index, value) in values.iter().enumerate() {
        text(format!("{field}[{index}]"), value, MAX_NAME)?;
    }
    Ok(())
}
