//! Look-ahead pricing through the API: a policy that declares `look ahead { ... }` routes
//! around stock the recent orders of its region will need, once the prices are solved.
//!
//! On the two DCs of the re-optimisation tests (Newark, Harrisburg; a parcel costs $5 plus 1
//! cent a km), five recent orders for a TEE went to New York and Philadelphia: Newark's region.
//! Newark has 1 TEE left, Harrisburg 10. The region's next day of demand (5 TEE) can take one
//! from Newark at $5.00 and the rest from Harrisburg at about $7.36, so Newark's last TEE is
//! worth about $2.36 more than Harrisburg's: the dual value of its stock. An order from
//! Philadelphia, $6.21 from Newark and $6.50 from Harrisburg, takes Newark's TEE without the
//! prices and Harrisburg's with them, leaving Newark's for the region's next customers.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::reoptimize::{PARCELS, network_with, order, ships_from};
use crate::support::{READER, WRITER, get, post};

fn philadelphia(id: &str) -> Value {
    order(id, 39.95, -75.17, &["TEE"])
}

async fn set_newark_tees(app: &axum::Router, units: u32) {
    let stock = json!({"levels": [{"sku": "TEE", "location": "DC-NJ", "on_hand": units}]});
    let put = post(app, "/v1/inventory", WRITER, &stock).await;
    assert!(put.status.is_success(), "{}", put.body);
}

// The parcels policy, looking a day ahead at full weight.
fn looking() -> String {
    PARCELS.replace(
        "  short stock",
        "  look ahead {\n    weight = 1\n    horizon = 1d\n    history = 1d\n  }\n  short stock",
    )
}

// The recent orders: four to New York (then cancelled, the stock put back as it was), and
// Newark down to its last TEE.
async fn recent_new_york_orders(app: &axum::Router) {
    set_newark_tees(app, 5).await;
    for id in ["H1", "H2", "H3", "H4"] {
        let placed = post(app, "/v1/orders", WRITER, &order(id, 40.71, -74.0, &["TEE"])).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
        assert_eq!(ships_from(&placed.body), ["DC-NJ"]);
        let cancelled = post(app, &format!("/v1/orders/{id}/cancel"), WRITER, &json!({})).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    }
    set_newark_tees(app, 1).await;
}

#[tokio::test]
async fn a_policy_that_looks_ahead_keeps_scarce_stock_for_the_region_that_needs_it() {
    let (_dir, _service, app) = network_with(&looking(), 0).await;
    let before = get(&app, "/v1/look-ahead", READER).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.body, json!({"versions": []}), "nothing solved yet");

    // The recent orders (the region's demand) ...
    recent_new_york_orders(&app).await;
    // ... and one to Philadelphia, routed before any prices: the cheapest, Newark.
    let unpriced = post(&app, "/v1/orders", WRITER, &philadelphia("P0")).await;
    assert_eq!(unpriced.status, StatusCode::CREATED, "{}", unpriced.body);
    assert_eq!(ships_from(&unpriced.body), ["DC-NJ"]);
    post(&app, "/v1/orders/P0/cancel", WRITER, &json!({})).await;

    assert_eq!(post(&app, "/v1/look-ahead", READER, &json!({})).await.status, StatusCode::FORBIDDEN);
    let solved = post(&app, "/v1/look-ahead", WRITER, &json!({})).await;
    assert_eq!(solved.status, StatusCode::OK, "{}", solved.body);
    let report = &solved.body;
    assert!(report["solved_at"].is_string(), "{report}");
    let version = &report["versions"][0];
    assert_eq!(
        (version["policy"].as_str(), version["orders"].as_u64(), version["solved"].as_u64()),
        (Some("parcels"), Some(5), Some(1)),
        "{report}"
    );
    assert_eq!((version["weight"].as_f64(), version["horizon_secs"].as_i64()), (Some(1.0), Some(86_400)));
    let prices = version["prices"].as_array().unwrap();
    assert_eq!(prices.len(), 1, "only Newark's TEE is scarce: {report}");
    assert_eq!((prices[0]["sku"].as_str(), prices[0]["location"].as_str()), (Some("TEE"), Some("DC-NJ")));
    let cost = prices[0]["cost"].as_f64().unwrap();
    assert!((cost - 2.36).abs() < 0.05, "Harrisburg's $7.36 less Newark's $5.00 to the region's centre: {cost}");
    assert_eq!(get(&app, "/v1/look-ahead", READER).await.body, solved.body, "the last solve, as solved");

    // With the prices, the same order takes Harrisburg's TEE and leaves Newark's.
    let priced = post(&app, "/v1/orders", WRITER, &philadelphia("P1")).await;
    assert_eq!(priced.status, StatusCode::CREATED, "{}", priced.body);
    assert_eq!(ships_from(&priced.body), ["DC-PA"]);
}

// A re-optimisation pass prices only the demand look-ahead forecasts beyond the order's
// release: before it, the region's next orders would join the pool and be planned together
// with the order. Held for an hour, the Philadelphia order is re-planned at 23/24 of the
// weight (Newark's TEE still $2.26 dearer: it stays at Harrisburg); held for a day, the horizon
// is all inside the window, the pass prices nothing and moves it to Newark, $0.29 cheaper. With
// a day's window but Harrisburg releasing in hourly waves, the order leaves at the next wave,
// within the hour: it is priced as one held for an hour and stays.
#[tokio::test]
async fn a_pass_prices_look_ahead_only_beyond_the_release_window() {
    for (release_after, waves, ships) in [(3_600, false, "DC-PA"), (86_400, false, "DC-NJ"), (86_400, true, "DC-PA")] {
        let (_dir, _service, app) = network_with(&looking(), release_after).await;
        if waves {
            let hourly: Vec<String> = (0..24).map(|hour| format!("{hour:02}:30")).collect();
            let harrisburg = json!({"locations": [
                {"id": "DC-PA", "kind": "dc", "lat": 40.27, "lon": -76.88, "release_waves": hourly}
            ]});
            let put = post(&app, "/v1/locations", WRITER, &harrisburg).await;
            assert!(put.status.is_success(), "{}", put.body);
        }
        recent_new_york_orders(&app).await;
        let solved = post(&app, "/v1/look-ahead", WRITER, &json!({})).await;
        assert_eq!(solved.status, StatusCode::OK, "{}", solved.body);
        let priced = post(&app, "/v1/orders", WRITER, &philadelphia("P1")).await;
        assert_eq!(priced.status, StatusCode::CREATED, "{}", priced.body);
        assert_eq!(ships_from(&priced.body), ["DC-PA"], "routed under the full prices");
        let within_the_hour = priced.body["release_at"].as_str() <= Some(crate::support::in_seconds(3_600).as_str());
        assert_eq!(within_the_hour, release_after == 3_600 || waves, "{}", priced.body);

        let pass = post(&app, "/v1/reoptimize", WRITER, &json!({})).await;
        assert_eq!(pass.status, StatusCode::OK, "{}", pass.body);
        let report = &pass.body;
        assert_eq!((report["pool"].as_u64(), report["applied"].as_bool()), (Some(1), Some(true)), "{report}");
        let after = get(&app, "/v1/orders/P1", READER).await.body;
        assert_eq!(ships_from(&after), [ships], "held for {release_after} s, waves {waves}: {report}");
        let moved = ships == "DC-NJ";
        assert_eq!(report["changed"].as_array().map(Vec::len), Some(usize::from(moved)), "{report}");
        if moved {
            let saved = report["saved"].as_f64().unwrap();
            assert!((saved - 0.29).abs() < 0.05, "Harrisburg's $6.50 less Newark's $6.21: {report}");
        }
    }
}

#[tokio::test]
async fn a_policy_without_look_ahead_is_never_priced() {
    let (_dir, _service, app) = network_with(PARCELS, 0).await;
    let placed = post(&app, "/v1/orders", WRITER, &order("H1", 40.71, -74.0, &["TEE"])).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    let solved = post(&app, "/v1/look-ahead", WRITER, &json!({})).await;
    assert_eq!(solved.status, StatusCode::OK, "{}", solved.body);
    assert_eq!(solved.body["versions"], json!([]), "{}", solved.body);
    let unpriced = post(&app, "/v1/orders", WRITER, &philadelphia("P1")).await;
    assert_eq!(ships_from(&unpriced.body), ["DC-PA"], "Newark's only TEE went to New York");
}
