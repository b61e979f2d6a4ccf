//! Webhook subscriptions and their deliveries.

use serde::{Deserialize, Serialize};

use super::wire;
use crate::records;

/// A subscription to create.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where to POST deliveries (`http` or `https`).
    #[schema(value_type = wire::WebhookUrl)]
    pub url: String,
    /// Event types: `order.reserved`, `order.rejected`, `order.confirmed`, `order.cancelled`,
    /// `order.expired`, `order.scheduled`, `order.changed`, `order.backordered`,
    /// `order.backorder_allocated`, `order.backorder_short`, `order.picked`, `order.packed`,
    /// `order.shipped`, `order.delivered`, `order.rerouted`, `order.return_requested`,
    /// `order.return_received`, `inventory.atp_changed`; `*` for all.
    #[schema(value_type = wire::WebhookEvents)]
    pub events: Vec<String>,
    /// The HMAC key (16 to 256 characters); absent: one is generated and returned once.
    #[serde(default)]
    #[schema(value_type = Option<wire::WebhookSecret>)]
    pub secret: Option<String>,
}

/// A subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// Where deliveries are POSTed (`http` or `https`).
    pub url: String,
    /// Event types (`order.reserved`, `order.shipped`, ...; `*` for all).
    pub events: Vec<String>,
    /// The HMAC key; shown once, when the subscription is created.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The subscriber answered 2xx.
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

/// One event for one subscriber.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Its id (also sent as `X-Switchyard-Delivery`).
    pub id: u64,
    /// The subscription.
    pub subscription: String,
    /// The event type.
    pub event: String,
    /// The JSON body sent.
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (seconds since the epoch).
    pub next_attempt_at: i64,
    /// HTTP status of the last attempt, if one was received.
    #[serde(default)]
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// A subscription and its latest deliveries.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// The subscription (without its secret).
    pub subscription: Subscription,
    /// Its latest deliveries, newest first.
    pub recent_deliveries: Vec<Delivery>,
}

/// Every subscription.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    /// Subscriptions, oldest first.
    pub webhooks: Vec<WebhookView>,
}

impl From<records::Subscription> for Subscription {
    fn from(record: records::Subscription) -> Subscription {
        Subscription {
            id: record.id,
            url: record.url,
            events: record.events,
            secret: record.secret,
            created_at: record.created_at,
        }
    }
}

impl From<records::Delivery> for Delivery {
    fn from(record: records::Delivery) -> Delivery {
        Delivery {
            id: record.id,
            subscription: record.subscription,
            event: record.event,
            body: record.body,
            status: match record.status {
                records::DeliveryStatus::Pending => DeliveryStatus::Pending,
                records::DeliveryStatus::Delivered => DeliveryStatus::Delivered,
                records::DeliveryStatus::Failed => DeliveryStatus::Failed,
            },
            attempts: record.attempts,
            next_attempt_at: record.next_attempt_at,
            last_status: record.last_status,
            last_error: record.last_error,
        }
    }
}
