//! Webhook subscriptions and their deliveries.

use serde::{Deserialize, Serialize};

/// A subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// Where deliveries are POSTed (`http` or `https`).
    pub url: String,
    /// Event types (`order.reserved`, `order.shipped`, ...; `*` for all).
    pub events: Vec<String>,
    /// The HMAC key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

impl Subscription {
    /// Whether it wants `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event)
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The subscriber answered 2xx.
    Delivered,
    /// Given up.
    Failed,
}

/// One event for one subscriber.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id (also sent as `X-Switchyard-Delivery`).
    pub id: u64,
    /// The subscription.
    pub subscription: String,
    /// The event type.
    pub event: String,
    /// The event it sends (its JSON body is stored once, for every subscriber).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u64>,
    /// The JSON body sent, in deliveries stored before events were stored once.
    #[serde(default, skip_serializing_if = "String::is_empty")]
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
