//! Prometheus metrics, kept and rendered by `prometheus-client` (the OpenMetrics text format).
//! Every label has a fixed set of values: a request's method is one of the methods the API
//! serves (else `other`) and its route the matched route pattern (else `unmatched`), so no
//! client can add series.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 14] =
    [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
    version: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Every metric the service exports. Errors are `switchyard_http_requests_total` with a 4xx
/// or 5xx status.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    /// Time spent routing (policy + optimizer) per order.
    pub routing: Histogram,
    /// Time waiting for the store's commit per durable write.
    pub commit: Histogram,
    orders: Family<OutcomeLabels, Counter>,
    plugin_fuel: Family<PluginLabels, Counter>,
    units_on_hand: Gauge,
    units_reserved: Gauge,
    orders_holding_stock: Gauge,
    orders_in_memory: Gauge,
    unreadable_records: Gauge,
}

/// Read from live state when the metrics are rendered.
pub struct Gauges {
    /// Units on hand over all positions.
    pub units_on_hand: u64,
    /// Units reserved over all positions.
    pub units_reserved: u64,
    /// Orders holding reservations.
    pub orders_holding_stock: u64,
    /// Orders kept in memory (open ones, and closed ones not yet let go of).
    pub orders_in_memory: u64,
    /// Stored records the last start could not read back.
    pub unreadable_records: u64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("switchyard_http_requests", "Requests served", requests.clone());
        let latency: HistogramFamily<RouteLabels> = Family::new_with_constructor(histogram);
        registry.register("switchyard_http_request_duration_seconds", "Request latency", latency.clone());
        let routing = histogram();
        registry.register(
            "switchyard_routing_duration_seconds",
            "Policy evaluation and optimization per order",
            routing.clone(),
        );
        let commit = histogram();
        registry.register("switchyard_store_commit_duration_seconds", "Wait for a durable commit", commit.clone());
        let orders = Family::<OutcomeLabels, Counter>::default();
        registry.register("switchyard_orders", "Orders by outcome", orders.clone());
        let plugin_fuel = Family::<PluginLabels, Counter>::default();
        registry.register(
            "switchyard_plugin_fuel",
            "Fuel (instructions) used by plugin evaluations",
            plugin_fuel.clone(),
        );
        let units_on_hand = Gauge::default();
        registry.register("switchyard_units_on_hand", "Units on hand over all positions", units_on_hand.clone());
        let units_reserved = Gauge::default();
        registry.register("switchyard_units_reserved", "Units reserved over all positions", units_reserved.clone());
        let orders_holding_stock = Gauge::default();
        registry.register(
            "switchyard_orders_holding_stock",
            "Orders holding reservations",
            orders_holding_stock.clone(),
        );
        let orders_in_memory = Gauge::default();
        registry.register(
            "switchyard_orders_in_memory",
            "Orders kept in memory: open ones, and closed ones not yet let go of (the rest are read from the store)",
            orders_in_memory.clone(),
        );
        let unreadable_records = Gauge::default();
        registry.register(
            "switchyard_unreadable_records",
            "Stored records the last start could not read back and skipped (see the log)",
            unreadable_records.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            routing,
            commit,
            orders,
            plugin_fuel,
            units_on_hand,
            units_reserved,
            orders_holding_stock,
            orders_in_memory,
            unreadable_records,
        }
    }
}

// The methods the API serves; any other is counted as `other`.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => "other",
    }
}

impl Metrics {
    /// Counts a finished request. `route` is the matched route pattern, or `None`.
    pub fn request(&self, route: Option<&str>, method: &str, status: u16, elapsed: Duration) {
        let route = route.unwrap_or("unmatched").to_owned();
        let labels = RequestLabels { route: route.clone(), method: method_label(method), status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&RouteLabels { route }).observe(elapsed.as_secs_f64());
    }

    /// Counts an order outcome (`reserved`, `rejected`, `failed`, `cancelled`, `shipped`,
    /// `expired`, `scheduled`).
    pub fn order(&self, outcome: &'static str) {
        self.orders.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The exposition text; `gauges` and `fuel` (`(name, version, fuel used so far)` per
    /// plugin) are read by the caller from live state.
    pub fn render(&self, gauges: &Gauges, fuel: &[(String, String, u64)]) -> String {
        for (plugin, version, used) in fuel {
            let counter =
                self.plugin_fuel.get_or_create(&PluginLabels { plugin: plugin.clone(), version: version.clone() });
            counter.inc_by(used.saturating_sub(counter.get()));
        }
        self.units_on_hand.set(i64::try_from(gauges.units_on_hand).unwrap_or(i64::MAX));
        self.units_reserved.set(i64::try_from(gauges.units_reserved).unwrap_or(i64::MAX));
        self.orders_holding_stock.set(i64::try_from(gauges.orders_holding_stock).unwrap_or(i64::MAX));
        self.orders_in_memory.set(i64::try_from(gauges.orders_in_memory).unwrap_or(i64::MAX));
        self.unreadable_records.set(i64::try_from(gauges.unreadable_records).unwrap_or(i64::MAX));
        let mut out = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(%error, "cannot encode the metrics");
        }
        out
    }
}
