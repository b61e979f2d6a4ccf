//! Memory keeps what routing needs: closed orders whose shipments' days are over are let go
//! of, read from the store when asked for (and changed there), and a start reads only the
//! others; their ids and idempotency keys stay taken.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use tower::ServiceExt;

use crate::support::*;

async fn orders_in_memory(app: &axum::Router) -> u64 {
    let metrics = call(app, Method::GET, "/metrics", None, Body::empty()).await.body;
    let text = metrics.as_str().unwrap().to_owned();
    let line = text.lines().find(|l| l.starts_with("switchyard_orders_in_memory ")).expect("the gauge is there");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn keyed(id: &str, key: &str) -> axum::http::Request<Body> {
    axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1/orders")
        .header("authorization", format!("Bearer {WRITER}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(order(id, "SKU-A", 1).to_string()))
        .unwrap()
}

#[tokio::test]
async fn closed_orders_leave_memory_and_are_read_from_the_store_when_asked_for() {
    let (dir, service, app) = seeded(900).await;
    // The orders are placed on 2026-11-26: their shipments' days are over.
    assert_eq!(app.clone().oneshot(keyed("cancelled-1", "cart-1")).await.unwrap().status(), StatusCode::CREATED);
    for (id, sku) in [("open-1", "SKU-A"), ("shipped-1", "SKU-B")] {
        assert_eq!(post(&app, "/v1/orders", WRITER, &order(id, sku, 1)).await.status, StatusCode::CREATED);
    }
    let cancelled = post(&app, "/v1/orders/cancelled-1/cancel", WRITER, &json!({})).await.body;
    let shipped = post(&app, "/v1/orders/shipped-1/ship", WRITER, &json!({"tracking": "1Z1"})).await.body;
    assert_eq!((cancelled["status"].as_str(), shipped["status"].as_str()), (Some("cancelled"), Some("shipped")));
    assert_eq!(orders_in_memory(&app).await, 3);

    assert_eq!(service.evict_closed_orders(), 2, "the cancelled and the shipped order go");
    assert_eq!(orders_in_memory(&app).await, 1);
    // Asked for, they are read from the store, unchanged.
    assert_eq!(get(&app, "/v1/orders/cancelled-1", READER).await.body, cancelled);
    assert_eq!(get(&app, "/v1/orders/shipped-1", READER).await.body, shipped);
    assert_eq!(service.evict_closed_orders(), 2, "read back, they go again at the next sweep");

    // Their ids and keys stay taken: the same order replays, other content conflicts, the key
    // names its order.
    assert_eq!(app.clone().oneshot(keyed("cancelled-1", "cart-1")).await.unwrap().status(), StatusCode::OK);
    let other = post(&app, "/v1/orders", WRITER, &order("shipped-1", "SKU-A", 2)).await;
    assert_eq!((other.status, other.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("order_exists")));
    assert_eq!(service.evict_closed_orders(), 2);
    let reused = app.clone().oneshot(keyed("new-1", "cart-1")).await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY, "the key names `cancelled-1`");

    // An event on an order memory let go of: read, changed and stored.
    let delivered = post(&app, "/v1/orders/shipped-1/events", WRITER, &json!({"event": "delivered"})).await;
    assert_eq!(delivered.body["status"], "delivered", "{}", delivered.body);
    assert_eq!(service.evict_closed_orders(), 1);
    assert_eq!(get(&app, "/v1/orders/shipped-1", READER).await.body["status"], "delivered");

    // A start reads the open order only; the rest are there when asked for.
    let restarted = switchyard_host::Service::open(config(dir.path(), 900)).await.unwrap();
    let again = switchyard_host::app(std::sync::Arc::clone(&restarted));
    assert_eq!(orders_in_memory(&again).await, 1);
    assert_eq!(get(&again, "/v1/orders/cancelled-1", READER).await.body, cancelled);
    assert_eq!(get(&again, "/v1/orders/open-1", READER).await.body["status"], "reserved");
    drop((again, restarted));
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_closed_order_whose_shipments_count_today_stays_in_memory() {
    let (dir, service, app) = seeded(900).await;
    let today = json!({
        "id": "today-1",
        "ship_to": { "lat": 39.95, "lon": -75.17, "postal_code": "19103", "country": "US" },
        "lines": [ { "id": "1", "sku": "SKU-A", "qty": 1 } ]
    });
    assert_eq!(post(&app, "/v1/orders", WRITER, &today).await.status, StatusCode::CREATED);
    let shipped = post(&app, "/v1/orders/today-1/ship", WRITER, &json!({})).await;
    assert_eq!(shipped.body["status"], "shipped", "{}", shipped.body);
    // Its shipment counts against today's capacity: kept, and read at a start.
    assert_eq!(service.evict_closed_orders(), 0);
    let restarted = switchyard_host::Service::open(config(dir.path(), 900)).await.unwrap();
    assert_eq!(orders_in_memory(&switchyard_host::app(restarted)).await, 1);
    assert_restart_matches(dir.path(), &service).await;
}
