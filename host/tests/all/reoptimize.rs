//! Release windows and re-optimisation through the API: the engine's hand-worked exchange
//! (engine/tests/all/reoptimize.rs) as two real orders.
//!
//! DC-NJ (Newark) holds 1 TEE and 1 CAP, DC-PA (Harrisburg) 10 TEE. A parcel costs $5 plus 1
//! cent a km. O1 (Philadelphia, a TEE) takes Newark's TEE ($6.20); O2 (New York, a TEE and a
//! CAP) splits: the CAP from Newark, the TEE from Harrisburg. Both are held for an hour before
//! they are released to the locations; a pass re-plans them together: O1 from Harrisburg, O2
//! whole from Newark, one parcel fewer and about $7 less.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_host::Service;

use crate::api::receiver;
use crate::support::{ADMIN, READER, WRITER, assert_restart_matches, atp, call, config, get, post};

pub(crate) const PARCELS: &str = "policy parcels v1 applies to all groups {
  shipment cost = $5.00 + $0.01 * distance_km
  unit cost = $0.00
  split {
    max_shipments = 3
    penalty = $0.00
  }
  short stock: partial at $100.00
}";

// A service whose orders stay unreleased for `release_after` seconds, on the two DCs.
async fn network(release_after: u64) -> (tempfile::TempDir, Arc<Service>, axum::Router) {
    network_with(PARCELS, release_after).await
}

/// The two DCs and their stock, routed by `policy`, orders unreleased for `release_after`
/// seconds.
pub(crate) async fn network_with(policy: &str, release_after: u64) -> (tempfile::TempDir, Arc<Service>, axum::Router) {
    network_where(policy, |settings| settings.release_after_secs = release_after).await
}

// The same, with the service's settings as `tune` leaves them (no periodic passes).
async fn network_where(
    policy: &str,
    tune: impl FnOnce(&mut switchyard_host::Config),
) -> (tempfile::TempDir, Arc<Service>, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = config(dir.path(), 900);
    settings.reoptimize_every_secs = 0;
    tune(&mut settings);
    let service = Service::open(settings).await.unwrap();
    let app = switchyard_host::app(Arc::clone(&service));
    let locations = json!({"locations": [
        {"id": "DC-NJ", "kind": "dc", "lat": 40.73, "lon": -74.17},
        {"id": "DC-PA", "kind": "dc", "lat": 40.27, "lon": -76.88}
    ]});
    let put = post(&app, "/v1/locations", WRITER, &locations).await;
    assert!(put.status.is_success(), "{}", put.body);
    let products = json!({"products": [
        {"sku": "TEE", "group": "apparel", "weight_kg": 0.3},
        {"sku": "CAP", "group": "apparel", "weight_kg": 0.2}
    ]});
    let put = post(&app, "/v1/products", WRITER, &products).await;
    assert!(put.status.is_success(), "{}", put.body);
    let stock = json!({"levels": [
        {"sku": "TEE", "location": "DC-NJ", "on_hand": 1},
        {"sku": "CAP", "location": "DC-NJ", "on_hand": 1},
        {"sku": "TEE", "location": "DC-PA", "on_hand": 10}
    ]});
    let put = post(&app, "/v1/inventory", WRITER, &stock).await;
    assert!(put.status.is_success(), "{}", put.body);
    let uploaded = call(&app, Method::POST, "/v1/policies?name=parcels", Some(ADMIN), policy.to_owned()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let version = uploaded.body["version"].as_str().unwrap().to_owned();
    let bound =
        call(&app, Method::PUT, "/v1/bindings/default", Some(ADMIN), json!({"version": version}).to_string()).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    (dir, service, app)
}

pub(crate) fn order(id: &str, lat: f64, lon: f64, skus: &[&str]) -> Value {
    let lines: Vec<Value> =
        skus.iter().enumerate().map(|(i, sku)| json!({"id": format!("{}", i + 1), "sku": sku, "qty": 1})).collect();
    json!({"id": id, "ship_to": {"lat": lat, "lon": lon, "country": "US"}, "lines": lines})
}

pub(crate) fn ships_from(order: &Value) -> Vec<String> {
    order["plan"]["shipments"].as_array().unwrap().iter().map(|s| s["location"].as_str().unwrap().to_owned()).collect()
}

async fn place_both(app: &axum::Router) -> (Value, Value) {
    let o1 = post(app, "/v1/orders", WRITER, &order("O1", 39.95, -75.17, &["TEE"])).await;
    assert_eq!(o1.status, StatusCode::CREATED, "{}", o1.body);
    let o2 = post(app, "/v1/orders", WRITER, &order("O2", 40.71, -74.0, &["TEE", "CAP"])).await;
    assert_eq!(o2.status, StatusCode::CREATED, "{}", o2.body);
    assert_eq!(ships_from(&o1.body), ["DC-NJ"]);
    assert_eq!(ships_from(&o2.body), ["DC-NJ", "DC-PA"], "O2 splits");
    (o1.body, o2.body)
}

#[tokio::test]
async fn a_pass_re_plans_unreleased_orders_together_and_they_ship_from_the_new_locations() {
    let (dir, service, app) = network(3600).await;
    let (url, seen) = receiver(0).await;
    let subscribed = post(&app, "/v1/webhooks", ADMIN, &json!({"url": url, "events": ["order.rerouted"]})).await;
    assert_eq!(subscribed.status, StatusCode::CREATED, "{}", subscribed.body);
    let (o1, _) = place_both(&app).await;
    assert!(o1["release_at"].is_string(), "held for release: {o1}");

    let pass = post(&app, "/v1/reoptimize", WRITER, &json!({})).await;
    assert_eq!(pass.status, StatusCode::OK, "{}", pass.body);
    let report = pass.body;
    assert_eq!((report["pool"].as_u64(), report["applied"].as_bool()), (Some(2), Some(true)), "{report}");
    let changed: Vec<&str> = report["changed"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(changed, ["O1", "O2"]);
    let saved = report["saved"].as_f64().unwrap();
    assert!((saved - 7.15).abs() < 0.1, "{report}");
    // A full pass re-plans the pool under prices first: Newark's TEE, which both want, is
    // priced until O1 routes to Harrisburg.
    assert_eq!(report["replanned"], true, "{report}");

    let o1 = get(&app, "/v1/orders/O1", READER).await.body;
    let o2 = get(&app, "/v1/orders/O2", READER).await.body;
    assert_eq!(ships_from(&o1), ["DC-PA"]);
    assert_eq!(ships_from(&o2), ["DC-NJ"], "O2 ships whole");
    assert_eq!(
        o2["held_units"],
        json!([{"sku": "TEE", "location": "DC-NJ", "qty": 1}, {"sku": "CAP", "location": "DC-NJ", "qty": 1}])
    );
    // The timelines say what changed and what it saved.
    let last = |order: &Value| order["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last(&o2)["event"], "rerouted");
    let detail = last(&o2)["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("ships from DC-NJ (was DC-NJ, DC-PA)") && detail.contains("saves"), "{detail}");
    let detail = last(&o1)["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("ships from DC-PA (was DC-NJ)") && detail.contains("more"), "{detail}");
    // So does the explanation.
    let why = get(&app, "/v1/orders/O2/explanation", READER).await.body;
    let causes: Vec<&str> = why["routings"].as_array().unwrap().iter().map(|r| r["cause"].as_str().unwrap()).collect();
    assert_eq!(causes, ["placed", "reoptimized"]);
    // Nothing was created or lost: 11 TEE, 2 held; the CAP held.
    assert_eq!(atp(&app, "TEE").await, 9);
    assert_eq!(atp(&app, "CAP").await, 0);
    // The subscriber hears of both.
    assert_eq!(service.deliver_due().await, 2);
    let events: Vec<String> =
        seen.lock().iter().map(|(h, _)| h["x-switchyard-event"].to_str().unwrap().to_owned()).collect();
    assert_eq!(events, ["order.rerouted", "order.rerouted"]);

    // A second pass finds nothing more; a periodic one does not even try the settled orders.
    let again = post(&app, "/v1/reoptimize", WRITER, &json!({})).await.body;
    assert_eq!((again["changed"].clone(), again["settled"].as_u64()), (json!([]), Some(0)), "{again}");
    let periodic = service.reoptimize(false).await.unwrap();
    assert_eq!((periodic.pool, periodic.settled, periodic.changed.len()), (2, 2, 0), "{periodic:?}");

    // O2 ships from its new location, which releases it.
    let shipped = post(&app, "/v1/orders/O2/ship", WRITER, &json!({"location": "DC-NJ"})).await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.body);
    assert_eq!(shipped.body["status"], "shipped");
    let after = post(&app, "/v1/reoptimize", WRITER, &json!({})).await.body;
    assert_eq!(after["pool"], 1, "only O1 is still unreleased: {after}");
    assert_restart_matches(dir.path(), &service).await;
}

// With `reoptimize_replan_rounds = 0` a full pass only exchanges: the same saving, found by
// the exchange of the two orders' stock.
#[tokio::test]
async fn without_a_replan_the_exchange_finds_the_same_saving() {
    let (_dir, _service, app) = network_where(PARCELS, |settings| {
        settings.release_after_secs = 3600;
        settings.reoptimize_replan_rounds = 0;
    })
    .await;
    place_both(&app).await;
    let report = post(&app, "/v1/reoptimize", WRITER, &json!({})).await.body;
    assert_eq!(report["replanned"], false, "{report}");
    assert!((report["saved"].as_f64().unwrap() - 7.15).abs() < 0.1, "{report}");
    assert_eq!(ships_from(&get(&app, "/v1/orders/O2", READER).await.body), ["DC-NJ"]);
    // A re-plan's rounds are bounded.
    let error = switchyard_host::Config::from_toml("reoptimize_replan_rounds = 5000").unwrap_err();
    assert!(error.contains("reoptimize_replan_rounds 5000 is more than 1000"), "{error}");
    assert_eq!(
        switchyard_host::Config::from_toml("reoptimize_replan_rounds = 1000").unwrap().reoptimize_replan_rounds,
        1000
    );
    // A pass with no time would find nothing: refused, naming the setting.
    for field in ["reoptimize_time_limit_ms", "reoptimize_full_time_limit_ms"] {
        let error = switchyard_host::Config::from_toml(&format!("{field} = 0")).unwrap_err();
        assert!(error.contains(&format!("{field} must be at least 1")), "{error}");
    }
}

#[tokio::test]
async fn released_orders_are_never_re_planned() {
    let (dir, service, app) = network(3600).await;
    place_both(&app).await;
    let released = post(&app, "/v1/orders/O1/release", WRITER, &json!({})).await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.body);
    assert_eq!(released.body["history"].as_array().unwrap().last().unwrap()["event"], "released");
    let again = post(&app, "/v1/orders/O1/release", WRITER, &json!({})).await;
    assert_eq!(again.body, released.body, "releasing twice changes nothing");
    // O2 alone cannot do better while O1 keeps Newark's TEE.
    let pass = post(&app, "/v1/reoptimize", WRITER, &json!({})).await.body;
    assert_eq!((pass["pool"].as_u64(), pass["changed"].as_array().map(Vec::len)), (Some(1), Some(0)), "{pass}");
    assert_eq!(ships_from(&get(&app, "/v1/orders/O1", READER).await.body), ["DC-NJ"]);

    // A location reporting on an order releases it too.
    let picked = post(&app, "/v1/orders/O2/events", WRITER, &json!({"event": "picked", "location": "DC-PA"})).await;
    assert_eq!(picked.status, StatusCode::OK, "{}", picked.body);
    let pass = post(&app, "/v1/reoptimize", WRITER, &json!({})).await.body;
    assert_eq!(pass["pool"], 0, "{pass}");

    // Errors name what is wrong.
    let unknown = post(&app, "/v1/orders/nope/release", WRITER, &json!({})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    post(&app, "/v1/orders/O1/cancel", WRITER, &json!({})).await;
    let cancelled = post(&app, "/v1/orders/O1/release", WRITER, &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::CONFLICT, "{}", cancelled.body);
    assert_eq!(post(&app, "/v1/reoptimize", READER, &json!({})).await.status, StatusCode::FORBIDDEN);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn without_release_windows_orders_are_released_when_routed() {
    let (dir, service, app) = network(0).await;
    let (o1, _) = place_both(&app).await;
    assert!(o1.get("release_at").is_none(), "{o1}");
    let pass = post(&app, "/v1/reoptimize", WRITER, &json!({})).await.body;
    assert_eq!((pass["pool"].as_u64(), pass["applied"].as_bool()), (Some(0), Some(true)), "{pass}");
    assert_restart_matches(dir.path(), &service).await;
}

// A promised order is held no longer than the local start of the day its parcel must ship
// (the location picks that day what it has been released), whatever the window.
#[tokio::test]
async fn a_promised_order_is_released_by_the_start_of_its_ship_day() {
    let (_dir, _service, app) = crate::promises::network_releasing_after(30 * 86_400).await;
    let order = json!({"id": "P1", "ship_to": {"lat": 39.95, "lon": -75.17, "country": "US"},
                       "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}], "service": "ground"});
    let placed = post(&app, "/v1/orders", WRITER, &order).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    let shipment = &placed.body["plan"]["shipments"][0];
    let ship_date = shipment["ship_date"].as_str().unwrap();
    let release_at = placed.body["release_at"].as_str().unwrap();
    // DC-EAST is in New York: its day starts at 05:00 UTC in winter.
    let (location, day_starts) = (shipment["location"].as_str().unwrap(), "T05:00:00Z");
    assert_eq!(location, "DC-EAST", "{}", placed.body);
    let start = format!("{ship_date}{day_starts}");
    // When its ship day has begun already (today), it is released as it is routed.
    let routed_at = placed.body["history"].as_array().unwrap().last().unwrap()["at"].as_str().unwrap().to_owned();
    let latest = start.clone().max(routed_at);
    assert!(release_at <= latest.as_str(), "released at {release_at}, after its ship day began ({start})");
    assert!(release_at < crate::support::in_seconds(29 * 86_400).as_str(), "{release_at}");
    // Without a service the window applies whole.
    let unpromised = json!({"id": "U1", "ship_to": {"lat": 39.95, "lon": -75.17, "country": "US"},
                            "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]});
    let placed = post(&app, "/v1/orders", WRITER, &unpromised).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    assert!(placed.body["release_at"].as_str().unwrap() > crate::support::in_seconds(29 * 86_400).as_str());
}

// A location that releases in waves holds the orders it ships until its next wave, with no
// cool-down configured; one without waves releases at once.
#[tokio::test]
async fn orders_wait_for_their_locations_next_release_wave() {
    let (dir, service, app) = network(0).await;
    let waves: Vec<String> = (0..24).rev().map(|hour| format!("{hour:02}:30")).collect();
    let newark =
        json!({"locations": [{"id": "DC-NJ", "kind": "dc", "lat": 40.73, "lon": -74.17, "release_waves": waves}]});
    let put = post(&app, "/v1/locations", WRITER, &newark).await;
    assert!(put.status.is_success(), "{}", put.body);
    let stored = get(&app, "/v1/locations/DC-NJ", READER).await.body;
    assert_eq!(stored["release_waves"][0], "00:30", "kept in order: {stored}");
    assert_eq!(stored["release_waves"].as_array().unwrap().len(), 24);

    let (o1, o2) = place_both(&app).await;
    for order in [&o1, &o2] {
        let release_at = order["release_at"].as_str().unwrap_or_else(|| panic!("held for its wave: {order}"));
        let routed_at = order["history"].as_array().unwrap().last().unwrap()["at"].as_str().unwrap();
        assert!(release_at.ends_with(":30:00Z") && release_at > routed_at, "{release_at} after {routed_at}");
        assert!(release_at <= crate::support::in_seconds(3600).as_str(), "the next wave is within the hour");
    }
    // Harrisburg has no waves and there is no cool-down: its orders are released at once.
    let harrisburg = post(&app, "/v1/orders", WRITER, &order("O3", 40.27, -76.88, &["TEE"])).await;
    assert_eq!(ships_from(&harrisburg.body), ["DC-PA"]);
    assert!(harrisburg.body.get("release_at").is_none(), "{}", harrisburg.body);
    // The held orders are re-optimised as with a cool-down.
    let pass = post(&app, "/v1/reoptimize", WRITER, &json!({})).await.body;
    assert_eq!((pass["pool"].as_u64(), pass["changed"].as_array().map(Vec::len)), (Some(2), Some(2)), "{pass}");

    // A wave that is not a time of day is refused, naming it; nothing is changed.
    let bad =
        json!({"locations": [{"id": "DC-NJ", "kind": "dc", "lat": 40.73, "lon": -74.17, "release_waves": ["9:00"]}]});
    let refused = post(&app, "/v1/locations", WRITER, &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "locations[0].release_waves[0]", "{}", refused.body);
    assert_eq!(get(&app, "/v1/locations/DC-NJ", READER).await.body, stored);
    assert_restart_matches(dir.path(), &service).await;
}
