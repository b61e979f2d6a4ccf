//! Sending webhooks: the HMAC-SHA256 signature, the backoff between attempts, which
//! addresses a subscriber may have, and one attempt over HTTP (async, `reqwest`). The service
//! queues deliveries in the same commit as the change that caused them
//! (`service::webhook_delivery`), so an acknowledged change always has them.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::Sha256;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between attempts.
const MAX_BACKOFF_SECS: i64 = 3600;
/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(5);

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

/// Whether an address is inside the host or its private network rather than on the internet:
/// loopback, private (RFC 1918, unique local), link-local, shared (CGNAT), unspecified,
/// multicast, broadcast, documentation, and IPv4 inside IPv6 of those.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// A subscriber's URL, checked: `http` or `https`, a host, no credentials.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the url must be an http or https URL".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the url has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the url may not carry credentials; sign with the secret instead".to_owned());
    }
    Ok(url)
}

/// The addresses `url`'s host resolves to, refused when any is internal (unless allowed):
/// checked when a subscription is made and again at every delivery, whose connection then
/// goes to these very addresses (a name that re-resolves elsewhere cannot slip through).
pub async fn resolve(url: &Url, allow_internal: bool) -> Result<Vec<SocketAddr>, String> {
    let host = url.host_str().ok_or("the url has no host")?;
    let port = url.port_or_known_default().ok_or("the url has no port")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("resolving `{host}` timed out"))?
            .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(format!("`{host}` resolves to no address"));
    }
    if !allow_internal && let Some(internal) = addresses.iter().find(|a| is_internal(a.ip())) {
        return Err(format!(
            "`{host}` is an internal address ({}); webhooks go to public addresses unless the \
             service allows private ones (`allow_private_webhooks`)",
            internal.ip()
        ));
    }
    Ok(addresses)
}

/// What one attempt needs: where, how it is signed, what it sends.
pub struct Attempt<'a> {
    /// The subscriber's URL.
    pub url: &'a Url,
    /// The addresses its host resolved to (checked).
    pub addresses: &'a [SocketAddr],
    /// The HMAC key.
    pub secret: &'a str,
    /// The event type.
    pub event: &'a str,
    /// The delivery's id.
    pub delivery: u64,
    /// The JSON body.
    pub body: &'a str,
    /// The signature's timestamp.
    pub now: i64,
}

/// POSTs one delivery; `Ok(status)` for any HTTP answer, `Err` when none came (no redirect is
/// followed, the whole attempt is bounded by [`TIMEOUT`]).
pub async fn attempt(attempt: &Attempt<'_>) -> Result<u16, String> {
    let mut client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(host) = attempt.url.host_str()
        && host.parse::<IpAddr>().is_err()
    {
        client = client.resolve_to_addrs(host, attempt.addresses);
    }
    let client = client.build().map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let response = client
        .post(attempt.url.clone())
        .header("Content-Type", "application/json")
        .header("X-Switchyard-Event", attempt.event)
        .header("X-Switchyard-Delivery", attempt.delivery.to_string())
        .header("X-Switchyard-Signature", signature(attempt.secret, attempt.now, attempt.body))
        .body(attempt.body.to_owned())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700::1111"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_with_credentials_or_other_schemes_are_refused() {
        assert!(parse_url("ftp://example.com/x").is_err());
        assert!(parse_url("https://user:pw@example.com/x").is_err());
        assert!(parse_url("not a url").is_err());
        assert!(parse_url("https://example.com/hook").is_ok());
    }
}
