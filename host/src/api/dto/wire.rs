//! Named schemas for the strings the API constrains (ids, names, free text, times, time
//! zones, webhook event types), built from the service's own limits so the OpenAPI document
//! says exactly what the server accepts. A field points at one with
//! `#[schema(value_type = wire::Id)]`; the Rust type stays `String`.

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::service::{ATP_CHANGED, limits};

/// No control characters (Unicode category Cc: what Rust's `char::is_control` finds).
const NO_CONTROL: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).description(Some(description))
}

macro_rules! named_schema {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

named_schema!(
    /// An id: an order, a line, a location, a SKU, a group, a recurring order.
    Id,
    string("An id: 1 to 128 characters, no control characters.")
        .min_length(Some(1))
        .max_length(Some(limits::MAX_ID))
        .pattern(Some(NO_CONTROL))
        .into()
);

named_schema!(
    /// Where a page of orders continues: the `next` of the page before.
    OrderCursor,
    string("The `next` of the previous page: when the last order was placed and its id.")
        .pattern(Some("^-?[0-9]{1,18}:[^\\u0000-\\u001f]{1,128}$"))
        .into()
);

named_schema!(
    /// A short name: a location's kind, a channel, a tag, a capability, a carrier, a tracking
    /// number, a postal code, a country.
    Name,
    string("A short name: at most 64 characters.").max_length(Some(limits::MAX_NAME)).into()
);

named_schema!(
    /// Free text kept in an order's history: why it was cancelled, rejected, returned.
    Reason,
    string("Free text: at most 1000 characters.").max_length(Some(limits::MAX_REASON)).into()
);

named_schema!(
    /// An instant, RFC 3339 (`2026-03-01T09:30:00Z`, `2026-03-01T10:30:00+01:00`).
    Timestamp,
    string("An instant, RFC 3339 with an offset or `Z`.")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .into()
);

named_schema!(
    /// An IANA time zone name (`America/Chicago`).
    TimeZone,
    string("An IANA time zone name, like `America/Chicago`.")
        .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())))
        .into()
);

named_schema!(
    /// A recurring order's schedule.
    Interval,
    string(
        "`daily`, `weekly`, `monthly`, or a count and a unit: `14d`, `12h`, `30m`, `45s` (at most 10 years), \
         `2mo` (1 to 120 months).",
    )
    .pattern(Some("^(daily|weekly|monthly|[0-9]{1,10}(d|h|m|s|mo))$"))
    .into()
);

named_schema!(
    /// A webhook event type, or `*` for all.
    WebhookEvent,
    string("An event type, or `*` for all.")
        .enum_values(Some(webhook_events()))
        .into()
);

named_schema!(
    /// The event types a subscription names.
    WebhookEvents,
    ArrayBuilder::new()
        .items(WebhookEvent::schema())
        .min_items(Some(1))
        .max_items(Some(limits::MAX_WEBHOOK_EVENTS))
        .into()
);

named_schema!(
    /// A webhook's URL.
    WebhookUrl,
    string("An `http` or `https` URL without credentials, at most 2048 characters.")
        .format(Some(SchemaFormat::Custom("uri".to_owned())))
        .pattern(Some("^[hH][tT][tT][pP][sS]?://[^/?#@]+([/?#].*)?$"))
        .max_length(Some(limits::MAX_URL))
        .into()
);

named_schema!(
    /// A webhook's HMAC key.
    WebhookSecret,
    string("An HMAC key: 16 to 256 characters.")
        .min_length(Some(*limits::WEBHOOK_SECRET.start()))
        .max_length(Some(*limits::WEBHOOK_SECRET.end()))
        .into()
);

named_schema!(
    /// The name of an uploaded policy or plugin.
    UploadName,
    string("1 to 128 characters, no quotes, backslashes or control characters.")
        .min_length(Some(1))
        .max_length(Some(limits::MAX_UPLOAD_NAME))
        .pattern(Some("^[^\"\\\\\\u0000-\\u001f\\u007f-\\u009f]*$"))
        .into()
);

named_schema!(
    /// An `Idempotency-Key` header.
    IdempotencyKey,
    string("1 to 255 printable ASCII characters, no space at either end.")
        .min_length(Some(1))
        .max_length(Some(limits::MAX_IDEMPOTENCY_KEY))
        .pattern(Some("^[!-~]([ -~]*[!-~])?$"))
        .into()
);

named_schema!(
    /// A recurring order's id: shorter than other ids, as its orders are `<id>-1`, `<id>-2`, ...
    RecurringId,
    string("1 to 100 characters, no control characters.")
        .min_length(Some(1))
        .max_length(Some(limits::MAX_RECURRING_ID))
        .pattern(Some(NO_CONTROL))
        .into()
);

/// Every event type a subscription may name.
pub fn webhook_events() -> Vec<String> {
    let orders = crate::records::EventKind::ORDER_EVENTS.iter().map(|kind| format!("order.{}", kind.name()));
    std::iter::once("*".to_owned()).chain(orders).chain(std::iter::once(ATP_CHANGED.to_owned())).collect()
}
