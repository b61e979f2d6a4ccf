//! Delivery promises through the API: carrier services and location calendars as data, the
//! promise of a cart and of one product, and orders that carry a service and a promised day.
//!
//! The network of `support::seed`, shipping to Philadelphia (19103). New York (DC-EAST, 130 km)
//! has a 14:00 cut-off, Los Angeles (DC-WEST, 3,850 km) too, both work Monday to Friday. The
//! carts are placed Friday 2026-12-04 at 19:30 UTC: 14:30 in New York (past its cut-off:
//! processing starts Monday 12-07), 11:30 in Los Angeles (before it: it ships that Friday).
//! Ground takes 1 day within 250 km and 5 beyond 2,900 km; overnight 1 day anywhere; both
//! collect and deliver Monday to Friday.
//!
//! - ground from New York: ships Mon 12-07, arrives Tue 12-08; from Los Angeles: ships Fri
//!   12-04, 5 delivery days (Mon to Fri) later: Fri 12-11. The ground promise is Tue 12-08.
//! - overnight from Los Angeles: ships Fri 12-04, arrives Mon 12-07 (no Saturday delivery);
//!   from New York Tue 12-08. The overnight promise is Mon 12-07, from Los Angeles.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    ADMIN, READER, REFERENCE, WRITER, assert_restart_matches, atp, call, config, get, post, seed, seeded,
};

const FRIDAY_EVENING: &str = "2026-12-04T19:30:00Z";
const PHILADELPHIA: &str = r#"{"lat": 39.95, "lon": -75.17, "postal_code": "19103", "country": "US"}"#;

fn services() -> Value {
    json!({"carrier_services": [
        {"id": "ground", "carrier": "UPS", "name": "Standard", "pickup_days": "mon-fri", "delivery_days": "mon-fri",
         "bands": [{"max_km": 250.0, "transit_days": 1, "per_shipment": 6.0, "per_kg": 0.5},
                   {"max_km": 2900.0, "transit_days": 3, "per_shipment": 8.0, "per_kg": 1.0},
                   {"transit_days": 5, "per_shipment": 10.0, "per_kg": 1.5}]},
        {"id": "overnight", "carrier": "UPS", "name": "Next day", "max_weight_kg": 2.5,
         "bands": [{"transit_days": 1, "per_shipment": 25.0, "per_kg": 4.0}]}
    ]})
}

// The seeded network with calendars, cut-offs and time zones, and the two services.
async fn network() -> (tempfile::TempDir, std::sync::Arc<switchyard_host::Service>, axum::Router) {
    network_releasing_after(0).await
}

/// [`network`] with release windows of `release_after` seconds.
pub(crate) async fn network_releasing_after(
    release_after: u64,
) -> (tempfile::TempDir, std::sync::Arc<switchyard_host::Service>, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = config(dir.path(), 900);
    settings.release_after_secs = release_after;
    settings.reoptimize_every_secs = 0;
    let service = switchyard_host::Service::open(settings).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(std::sync::Arc::clone(&service));
    for (id, zone) in
        [("DC-EAST", "America/New_York"), ("DC-WEST", "America/Los_Angeles"), ("ST-CHI", "America/Chicago")]
    {
        let mut location = get(&app, &format!("/v1/locations/{id}"), READER).await.body;
        location["time_zone"] = json!(zone);
        location["fulfilment"] =
            json!({"cutoff": "14:00", "processing_days": 0, "open_days": "mon-fri", "holidays": ["2026-12-25"]});
        let put = call(&app, Method::PUT, &format!("/v1/locations/{id}"), Some(WRITER), location.to_string()).await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
    }
    let stored = post(&app, "/v1/carrier-services", WRITER, &services()).await;
    assert_eq!(stored.status, StatusCode::NO_CONTENT, "{}", stored.body);
    (dir, service, app)
}

fn cart(lines: Value) -> Value {
    json!({"ship_to": serde_json::from_str::<Value>(PHILADELPHIA).unwrap(), "lines": lines, "at": FRIDAY_EVENING})
}

fn option<'a>(reply: &'a Value, service: &str) -> &'a Value {
    reply["options"].as_array().unwrap().iter().find(|o| o["service"] == service).unwrap()
}

#[tokio::test]
async fn carrier_services_and_calendars_are_checked_kept_and_read_back() {
    let (dir, service, app) = network().await;
    let listed = get(&app, "/v1/carrier-services", READER).await;
    assert_eq!(listed.status, StatusCode::OK);
    let ids: Vec<&str> =
        listed.body["carrier_services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ground", "overnight"]);
    let overnight = get(&app, "/v1/carrier-services/overnight", READER).await.body;
    assert_eq!(overnight["pickup_days"], "mon-fri", "the default days");
    assert_eq!(overnight["max_weight_kg"], 2.5);
    let east = get(&app, "/v1/locations/DC-EAST", READER).await.body;
    assert_eq!(
        east["fulfilment"],
        json!({"cutoff": "14:00", "processing_days": 0, "open_days": "mon-fri", "holidays": ["2026-12-25"]})
    );

    // Bad input names the field; nothing is half-applied.
    let mut bad = services();
    bad["carrier_services"][1]["pickup_days"] = json!("mon-fry");
    let refused = post(&app, "/v1/carrier-services", WRITER, &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "carrier_services[1].pickup_days", "{}", refused.body);
    let mut unsorted = services()["carrier_services"][0].clone();
    unsorted["bands"][1]["max_km"] = json!(100.0);
    let refused = call(&app, Method::PUT, "/v1/carrier-services/ground", Some(WRITER), unsorted.to_string()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "bands[1].max_km", "{}", refused.body);
    let mut holiday = services()["carrier_services"][0].clone();
    holiday["holidays"] = json!(["2026-12-25", "2026-13-01"]);
    let refused = call(&app, Method::PUT, "/v1/carrier-services/ground", Some(WRITER), holiday.to_string()).await;
    assert_eq!(refused.body["error"]["field"], "holidays[1]", "{}", refused.body);
    for (cutoff, field) in [("25:00", "fulfilment.cutoff"), ("2pm", "fulfilment.cutoff")] {
        let mut location = east.clone();
        location["fulfilment"]["cutoff"] = json!(cutoff);
        let refused = call(&app, Method::PUT, "/v1/locations/DC-EAST", Some(WRITER), location.to_string()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.body["error"]["field"], field, "{}", refused.body);
    }
    let mut closed = east.clone();
    closed["fulfilment"]["open_days"] = json!("");
    let refused = call(&app, Method::PUT, "/v1/locations/DC-EAST", Some(WRITER), closed.to_string()).await;
    assert_eq!(refused.body["error"]["field"], "fulfilment.open_days", "{}", refused.body);
    assert_eq!(get(&app, "/v1/carrier-services/ground", READER).await.body, services()["carrier_services"][0]);
    assert_eq!(get(&app, "/v1/locations/DC-EAST", READER).await.body, east);
    // A reader may look, not change.
    let forbidden = post(&app, "/v1/carrier-services", READER, &services()).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    let removed = call(&app, Method::DELETE, "/v1/carrier-services/overnight", Some(WRITER), "").await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, "/v1/carrier-services/overnight", READER).await.status, StatusCode::NOT_FOUND);
    let again = call(&app, Method::DELETE, "/v1/carrier-services/overnight", Some(WRITER), "").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_promise_gives_each_service_its_earliest_day_where_from_and_why() {
    let (_dir, _service, app) = network().await;
    let before = atp(&app, "SKU-A").await;
    let reply = post(&app, "/v1/promise", READER, &cart(json!([{"id": "1", "sku": "SKU-A", "qty": 2}]))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // Earliest first: overnight, then ground.
    let order: Vec<&str> =
        reply.body["options"].as_array().unwrap().iter().map(|o| o["service"].as_str().unwrap()).collect();
    assert_eq!(order, ["overnight", "ground"]);

    let ground = option(&reply.body, "ground");
    assert_eq!(ground["available"], true);
    assert_eq!(ground["delivery_date"], "2026-12-08");
    let parcel = &ground["parcels"][0];
    assert_eq!(parcel["location"], "DC-EAST");
    assert_eq!(parcel["ship_date"], "2026-12-07");
    assert_eq!(parcel["transit_days"], 1);
    // $6.00 + 2 kg x $0.50.
    assert_eq!(ground["shipping_price"], 7.0);
    let why = parcel["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect::<Vec<_>>().join("; ");
    assert!(why.contains("cut-off"), "{why}");
    assert!(why.contains("Sat") || why.contains("Mon"), "{why}");
    assert_eq!(ground["plan"]["shipments"][0]["location"], "DC-EAST");

    let overnight = option(&reply.body, "overnight");
    assert_eq!(overnight["delivery_date"], "2026-12-07", "{overnight}");
    assert_eq!(overnight["parcels"][0]["location"], "DC-WEST");
    assert_eq!(overnight["parcels"][0]["ship_date"], "2026-12-04");
    assert_eq!(atp(&app, "SKU-A").await, before, "a promise reserves nothing");

    // The product page: one SKU, per service.
    let product = json!({"sku": "SKU-A", "qty": 2, "ship_to": {"postal_code": "19103", "country": "US"},
                         "services": ["ground"], "at": FRIDAY_EVENING});
    let page = post(&app, "/v1/promise/product", READER, &product).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body["options"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["options"][0]["delivery_date"], "2026-12-08");

    // Over the overnight weight limit: 3 kg in one parcel.
    let heavy = post(&app, "/v1/promise", READER, &cart(json!([{"id": "1", "sku": "SKU-A", "qty": 3}]))).await;
    let overnight = option(&heavy.body, "overnight");
    assert_eq!(overnight["available"], false);
    assert_eq!(overnight["unavailable"], "too_heavy", "{overnight}");
    assert_eq!(option(&heavy.body, "ground")["available"], true);
    // More than the network holds.
    let many = post(&app, "/v1/promise", READER, &cart(json!([{"id": "1", "sku": "SKU-A", "qty": 50}]))).await;
    assert_eq!(option(&many.body, "ground")["unavailable"], "cannot_ship_whole");

    // Clients' mistakes name the field.
    let mut unknown = cart(json!([{"id": "1", "sku": "SKU-A", "qty": 1}]));
    unknown["services"] = json!(["ground", "drone"]);
    let refused = post(&app, "/v1/promise", READER, &unknown).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["error"]["field"], "services[1]", "{}", refused.body);
    let refused = post(&app, "/v1/promise", READER, &cart(json!([{"id": "1", "sku": "NOPE", "qty": 1}]))).await;
    assert_eq!(refused.body["error"]["field"], "lines[0].sku", "{}", refused.body);
    let mut nowhere = cart(json!([{"id": "1", "sku": "SKU-A", "qty": 1}]));
    nowhere["ship_to"] = json!({"postal_code": "00000", "country": "US"});
    let refused = post(&app, "/v1/promise", READER, &nowhere).await;
    assert_eq!(refused.body["error"]["field"], "ship_to.postal_code", "{}", refused.body);
    let mut zero = product.clone();
    zero["qty"] = json!(0);
    assert_eq!(post(&app, "/v1/promise/product", READER, &zero).await.body["error"]["field"], "qty");
}

#[tokio::test]
async fn without_carrier_services_there_is_nothing_to_promise() {
    let (_dir, _service, app) = seeded(900).await;
    let reply = post(&app, "/v1/promise", READER, &cart(json!([{"id": "1", "sku": "SKU-A", "qty": 1}]))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "no_carrier_services");
}

// The order a shopper places right after the promise, with the service and day they chose.
fn promised_order(id: &str, sku: &str, qty: u32, service: &str, deliver_by: &str) -> Value {
    json!({"id": id, "placed_at": FRIDAY_EVENING, "ship_to": serde_json::from_str::<Value>(PHILADELPHIA).unwrap(),
           "lines": [{"id": "1", "sku": sku, "qty": qty}], "service": service, "deliver_by": deliver_by})
}

#[tokio::test]
async fn an_order_placed_on_a_promise_gets_that_day_or_better() {
    let (dir, service, app) = network().await;
    let mut placed = 0;
    // Promise then order, again and again, as stock runs down: each order gets its day.
    for round in 0..4 {
        for (sku, qty) in [("SKU-A", 1), ("SKU-C", 1), ("SKU-B", 1)] {
            let reply = post(&app, "/v1/promise", READER, &cart(json!([{"id": "1", "sku": sku, "qty": qty}]))).await;
            // Each round takes another of the services that can deliver (one order per
            // promise: the next promise sees the stock it took).
            let available: Vec<&Value> =
                reply.body["options"].as_array().unwrap().iter().filter(|o| o["available"] == true).collect();
            let Some(option) = available.get(round % available.len().max(1)) else { continue };
            let day = option["delivery_date"].as_str().unwrap();
            let service_id = option["service"].as_str().unwrap();
            let id = format!("P-{round}-{sku}-{service_id}");
            let created = post(&app, "/v1/orders", WRITER, &promised_order(&id, sku, qty, service_id, day)).await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            let plan = &created.body["plan"];
            assert_eq!(created.body["status"], "reserved", "{}", created.body);
            assert_eq!(plan["delivery"]["service"], service_id);
            assert_eq!(plan["delivery"]["deliver_by"], day);
            assert!(plan["delivery"]["delivery_date"].as_str().unwrap() <= day, "{plan}");
            assert_eq!(plan["delivery"]["late"], false, "{plan}");
            for shipment in plan["shipments"].as_array().unwrap() {
                assert!(shipment["ship_date"].is_string(), "{shipment}");
                assert!(shipment["delivery_date"].as_str().unwrap() <= day, "{shipment}");
            }
            placed += 1;
        }
    }
    assert!(placed >= 8, "{placed} orders placed on promises");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn routing_leaves_out_late_locations_and_says_so_then_ships_late_or_rejects_as_the_policy_says() {
    let (_dir, _service, app) = network().await;
    // Overnight by Monday: New York would deliver Tuesday; the order ships from Los Angeles.
    let order = promised_order("ON-1", "SKU-A", 1, "overnight", "2026-12-07");
    let created = post(&app, "/v1/orders?explain=true", WRITER, &order).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["plan"]["shipments"][0]["location"], "DC-WEST", "{}", created.body);
    let explanation = get(&app, "/v1/orders/ON-1/explanation", READER).await.body.to_string();
    assert!(explanation.contains("would deliver Tue 2026-12-08, promised Mon 2026-12-07"), "{explanation}");

    // Ground cannot make Monday from anywhere: the reference policy ships late, and says so.
    let late = post(&app, "/v1/orders", WRITER, &promised_order("GR-1", "SKU-A", 1, "ground", "2026-12-07")).await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    assert_eq!(late.body["status"], "reserved");
    let delivery = &late.body["plan"]["delivery"];
    assert_eq!(delivery["late"], true, "{delivery}");
    assert_eq!(delivery["delivery_date"], "2026-12-08", "the earliest there is");
    let history = late.body["history"].to_string();
    assert!(history.contains("late: arrives 2026-12-08, promised 2026-12-07"), "{history}");

    // A policy that rejects late deliveries.
    let strict = REFERENCE.replace("policy reference v1", "policy reference v9").replace(
        "short stock: partial at unfilled_penalty",
        "short stock: partial at unfilled_penalty\n    late delivery: reject",
    );
    assert_ne!(strict, REFERENCE);
    let uploaded = call(&app, Method::POST, "/v1/policies?name=reference", Some(ADMIN), strict).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let version = uploaded.body["version"].as_str().unwrap().to_owned();
    let bound =
        call(&app, Method::PUT, "/v1/bindings/default", Some(ADMIN), json!({"version": version}).to_string()).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    let before = atp(&app, "SKU-A").await;
    let rejected = post(&app, "/v1/orders", WRITER, &promised_order("GR-2", "SKU-A", 1, "ground", "2026-12-07")).await;
    assert_eq!(rejected.status, StatusCode::CREATED, "{}", rejected.body);
    assert_eq!(rejected.body["status"], "rejected", "{}", rejected.body);
    let reason = rejected.body["plan"]["reason"].as_str().unwrap();
    assert!(reason.contains("no location can deliver by Mon 2026-12-07 with ground"), "{reason}");
    assert!(reason.contains("the earliest is Tue 2026-12-08"), "{reason}");
    assert_eq!(atp(&app, "SKU-A").await, before, "a rejected order holds nothing");
    // The day it can make is kept.
    let kept = post(&app, "/v1/orders", WRITER, &promised_order("GR-3", "SKU-A", 1, "ground", "2026-12-08")).await;
    assert_eq!(kept.body["status"], "reserved", "{}", kept.body);
    assert_eq!(kept.body["plan"]["delivery"]["late"], false);

    // An order's mistakes name the field.
    let mut unknown = promised_order("X-1", "SKU-A", 1, "drone", "2026-12-08");
    let refused = post(&app, "/v1/orders", WRITER, &unknown).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["error"]["field"], "service", "{}", refused.body);
    unknown["service"] = json!("ground");
    unknown["deliver_by"] = json!("next week");
    let refused = post(&app, "/v1/orders", WRITER, &unknown).await;
    assert_eq!(refused.body["error"]["field"], "deliver_by", "{}", refused.body);
    unknown.as_object_mut().unwrap().remove("service");
    unknown["deliver_by"] = json!("2026-12-08");
    let refused = post(&app, "/v1/orders", WRITER, &unknown).await;
    assert_eq!(refused.body["error"]["field"], "deliver_by", "{}", refused.body);
    assert_eq!(get(&app, "/v1/orders/X-1", READER).await.status, StatusCode::NOT_FOUND, "nothing was kept");
}

// Plugins see the order's carrier service and each location's dates (WIT 0.5.0); one built
// against 0.4.0 still loads, with a warning saying what it does not see, and the host keeps its
// orders' promises all the same.
#[tokio::test]
async fn plugins_of_either_world_route_promised_orders() {
    let (_dir, _service, app) = network().await;
    let upload = |name: &'static str| {
        let app = app.clone();
        async move {
            let path = format!("{}/../target/plugins/plugin_{name}.wasm", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(&path).expect("run scripts/build-plugins first");
            let uploaded = call(&app, Method::POST, &format!("/v1/plugins?name={name}"), Some(ADMIN), bytes).await;
            assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
            let bind = json!({"version": uploaded.body["version"]}).to_string();
            assert_eq!(call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), bind).await.status, StatusCode::OK);
            uploaded.body
        }
    };

    let legacy = upload("legacy_v0_4").await;
    assert_eq!(legacy["diagnostics"][0]["code"], "plugin::older_world", "{legacy}");
    assert_eq!(legacy["diagnostics"][0]["level"], "warning", "{legacy}");
    assert!(legacy["diagnostics"][0]["message"].as_str().unwrap().contains("switchyard:routing@0.4.0"), "{legacy}");
    // Overnight by Monday: New York would deliver Tuesday, so the host leaves it out.
    let created =
        post(&app, "/v1/orders?explain=true", WRITER, &promised_order("L-1", "SKU-A", 1, "overnight", "2026-12-07"))
            .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body["plan"]["policy"].as_str().unwrap().starts_with("legacy_v0_4@"), "{}", created.body);
    let shipment = &created.body["plan"]["shipments"][0];
    assert_eq!(
        (shipment["location"].as_str(), shipment["delivery_date"].as_str()),
        (Some("DC-WEST"), Some("2026-12-07"))
    );
    let explanation = get(&app, "/v1/orders/L-1/explanation", READER).await.body.to_string();
    assert!(explanation.contains("would deliver Tue 2026-12-08, promised Mon 2026-12-07"), "{explanation}");
    // Blind to the service, it sends overnight from the Chicago store.
    let from_store =
        post(&app, "/v1/orders", WRITER, &promised_order("L-2", "SKU-B", 1, "overnight", "2026-12-07")).await;
    assert_eq!(from_store.body["plan"]["shipments"][0]["location"], "ST-CHI", "{}", from_store.body);

    let current = upload("promised_delivery").await;
    assert_eq!(current["diagnostics"], json!([]), "{current}");
    let created =
        post(&app, "/v1/orders?explain=true", WRITER, &promised_order("C-1", "SKU-A", 1, "overnight", "2026-12-07"))
            .await;
    assert_eq!(created.body["plan"]["shipments"][0]["location"], "DC-WEST", "{}", created.body);
    // It sees the service: never overnight from a store, so the store's units stay unshipped.
    let refused =
        post(&app, "/v1/orders?explain=true", WRITER, &promised_order("C-2", "SKU-B", 1, "overnight", "2026-12-07"))
            .await;
    assert_eq!(refused.status, StatusCode::CREATED, "{}", refused.body);
    assert_eq!(refused.body["plan"]["shipments"], json!([]), "{}", refused.body);
    let explanation = get(&app, "/v1/orders/C-2/explanation", READER).await.body.to_string();
    assert!(explanation.contains("never overnight from a store"), "{explanation}");
    // By ground the store may ship: 3 days from Chicago, Friday to Wednesday.
    let ground = post(&app, "/v1/orders", WRITER, &promised_order("C-3", "SKU-B", 1, "ground", "2026-12-09")).await;
    assert_eq!(ground.body["plan"]["shipments"][0]["location"], "ST-CHI", "{}", ground.body);
    assert_eq!(ground.body["plan"]["delivery"]["late"], false, "{}", ground.body);
}

// A subscription ships by its carrier service: each order it creates is routed by it and dated;
// a service that does not exist is refused, naming the field.
#[tokio::test]
async fn a_recurring_order_ships_each_run_by_its_carrier_service() {
    let (dir, service, app) = network().await;
    let template = |service: &str| {
        json!({"ship_to": serde_json::from_str::<Value>(PHILADELPHIA).unwrap(),
               "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}], "service": service})
    };
    let refused = post(
        &app,
        "/v1/recurring-orders",
        WRITER,
        &json!({"id": "r-x", "every": "weekly", "order": template("drone")}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "order.service", "{}", refused.body);
    assert_eq!(get(&app, "/v1/recurring-orders/r-x", READER).await.status, StatusCode::NOT_FOUND);

    let created = post(
        &app,
        "/v1/recurring-orders",
        WRITER,
        &json!({"id": "r-1", "every": "weekly", "order": template("overnight")}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["template"]["service"], "overnight", "{}", created.body);
    assert_eq!(service.run_recurring().await, 1);
    let order = get(&app, "/v1/orders/r-1-1", READER).await.body;
    assert_eq!(order["status"], "reserved", "{order}");
    assert_eq!(order["plan"]["delivery"]["service"], "overnight", "{order}");
    let shipment = &order["plan"]["shipments"][0];
    assert!(shipment["ship_date"].is_string() && shipment["delivery_date"].is_string(), "{shipment}");
    assert_restart_matches(dir.path(), &service).await;
}
