//! Sending webhooks: the HMAC-SHA256 signature, the backoff between attempts, and one
//! attempt over HTTP. The service queues deliveries in the same commit as the change that
//! caused them (`service::webhook_delivery`), so an acknowledged change always has them.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::records::Delivery;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between attempts.
const MAX_BACKOFF_SECS: i64 = 3600;
const TIMEOUT: Duration = Duration::from_secs(5);

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
