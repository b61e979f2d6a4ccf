//! Webhooks: subscribers register a URL for order events; every event is queued in the same
//! commit as the change that caused it (so an acknowledged change always has its deliveries),
//! delivered with an HMAC-SHA256 signature, retried with exponential backoff, and kept
//! visible (attempts, last status, last error). Deliveries survive restarts.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between attempts.
const MAX_BACKOFF_SECS: i64 = 3600;
const TIMEOUT: Duration = Duration::from_secs(5);

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

impl Subscription {
    /// Whether it wants `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event)
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The subscriber answered 2xx.
    Delivered,
    /// Given up after `MAX_ATTEMPTS`.
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

/// The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Seconds to wait after `attempts` failed attempts: 1, 2, 4, ... up to an hour.
pub fn backoff(attempts: u32) -> i64 {
    1i64.checked_shl(attempts.saturating_sub(1).min(20)).unwrap_or(MAX_BACKOFF_SECS).min(MAX_BACKOFF_SECS)
}

/// POSTs one delivery (blocking); `Ok(status)` for any HTTP answer, `Err` when none came.
pub fn attempt(url: &str, secret: &str, delivery: &Delivery, now: i64) -> Result<u16, String> {
    let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).redirects(0).build();
    let result = agent
        .post(url)
        .set("Content-Type", "application/json")
        .set("X-Switchyard-Event", &delivery.event)
        .set("X-Switchyard-Delivery", &delivery.id.to_string())
        .set("X-Switchyard-Signature", &signature(secret, now, &delivery.body))
        .send_string(&delivery.body);
    match result {
        Ok(response) => Ok(response.status()),
        Err(ureq::Error::Status(status, _)) => Ok(status),
        Err(error) => Err(error.to_string()),
    }
}
