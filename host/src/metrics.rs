//! Prometheus metrics, kept with atomics and rendered in the text exposition format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;

// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 14] =
    [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// A latency histogram.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(at) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[at].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(elapsed.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Every metric the service exports. Errors are `switchyard_http_requests_total` with a 4xx
/// or 5xx status.
#[derive(Default)]
pub struct Metrics {
    /// Requests by (route, method, status).
    requests: DashMap<(String, String, u16), u64>,
    /// Request latency by route.
    latency: DashMap<String, Histogram>,
    /// Time spent routing (policy + optimizer) per order.
    pub routing: Histogram,
    /// Time waiting for the store's commit per durable write.
    pub commit: Histogram,
    /// Orders by outcome (`reserved`, `rejected`, `failed`, `cancelled`, `shipped`, `expired`).
    orders: DashMap<&'static str, u64>,
}

impl Metrics {
    /// Counts a finished request.
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        *self.requests.entry((route.to_owned(), method.to_owned(), status)).or_insert(0) += 1;
        self.latency.entry(route.to_owned()).or_default().observe(elapsed);
    }

    /// Counts an order outcome.
    pub fn order(&self, outcome: &'static str) {
        *self.orders.entry(outcome).or_insert(0) += 1;
    }

    /// The exposition text; `gauges` and `fuel` are read by the caller from live state.
    pub fn render(&self, gauges: &[(&str, &str, f64)], fuel: &[(String, String, u64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP switchyard_http_requests_total Requests served.\n");
        out.push_str("# TYPE switchyard_http_requests_total counter\n");
        let mut requests: Vec<_> = self.requests.iter().map(|e| (e.key().clone(), *e.value())).collect();
        requests.sort();
        for ((route, method, status), count) in requests {
            let _ = writeln!(
                out,
                "switchyard_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP switchyard_http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE switchyard_http_request_duration_seconds histogram\n");
        let mut routes: Vec<String> = self.latency.iter().map(|e| e.key().clone()).collect();
        routes.sort();
        for route in routes {
            if let Some(histogram) = self.latency.get(&route) {
                histogram.render(&mut out, "switchyard_http_request_duration_seconds", &format!("route=\"{route}\""));
            }
        }
        out.push_str("# HELP switchyard_routing_duration_seconds Policy evaluation and optimization per order.\n");
        out.push_str("# TYPE switchyard_routing_duration_seconds histogram\n");
        self.routing.render(&mut out, "switchyard_routing_duration_seconds", "");
        out.push_str("# HELP switchyard_store_commit_duration_seconds Wait for a durable commit.\n");
        out.push_str("# TYPE switchyard_store_commit_duration_seconds histogram\n");
        self.commit.render(&mut out, "switchyard_store_commit_duration_seconds", "");
        out.push_str("# HELP switchyard_orders_total Orders by outcome.\n");
        out.push_str("# TYPE switchyard_orders_total counter\n");
        let mut orders: Vec<_> = self.orders.iter().map(|e| (*e.key(), *e.value())).collect();
        orders.sort();
        for (outcome, count) in orders {
            let _ = writeln!(out, "switchyard_orders_total{{outcome=\"{outcome}\"}} {count}");
        }
        out.push_str("# HELP switchyard_plugin_fuel_total Fuel (instructions) used by plugin evaluations.\n");
        out.push_str("# TYPE switchyard_plugin_fuel_total counter\n");
        for (name, version, fuel) in fuel {
            let _ = writeln!(out, "switchyard_plugin_fuel_total{{plugin=\"{name}\",version=\"{version}\"}} {fuel}");
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}
