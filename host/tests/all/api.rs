//! The API through `app()` and `oneshot`: auth, errors, orders, policies and bindings.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use switchyard_host::{Config, Service};

use crate::support::*;

#[tokio::test]
async fn health_readiness_and_metrics_need_no_token() {
    let (dir, service, app) = seeded(900).await;
    assert_eq!(call(&app, Method::GET, "/healthz", None, Body::empty()).await.status, StatusCode::OK);
    assert_eq!(call(&app, Method::GET, "/readyz", None, Body::empty()).await.status, StatusCode::OK);
    post(&app, "/v1/orders", WRITER, &order("m-1", "SKU-A", 1)).await;
    let metrics = call(&app, Method::GET, "/metrics", None, Body::empty()).await;
    let text = metrics.body.as_str().unwrap().to_owned();
    for expected in [
        "switchyard_http_requests_total{route=\"/v1/orders\",method=\"POST\",status=\"201\"} 1",
        "switchyard_orders_total{outcome=\"reserved\"} 1",
        "switchyard_routing_duration_seconds_count 1",
        "switchyard_units_reserved 1",
        "switchyard_store_commit_duration_seconds_count",
    ] {
        assert!(text.contains(expected), "metrics lack `{expected}`:\n{text}");
    }
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn tokens_and_roles_are_enforced() {
    let (dir, service, app) = seeded(900).await;
    let missing = call(&app, Method::GET, "/v1/locations", None, Body::empty()).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["error"]["code"], "unauthorized");
    let wrong = call(&app, Method::GET, "/v1/locations", Some("guess"), Body::empty()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // A reader may read but not order; a writer may order but not bind.
    assert_eq!(get(&app, "/v1/locations", READER).await.status, StatusCode::OK);
    let reader_orders = post(&app, "/v1/orders", READER, &order("r-1", "SKU-A", 1)).await;
    assert_eq!(reader_orders.status, StatusCode::FORBIDDEN);
    assert!(reader_orders.body["error"]["message"].as_str().unwrap().contains("writer role"));
    let writer_binds = call(&app, Method::PUT, "/v1/bindings/default", Some(WRITER), "{\"version\":\"x\"}").await;
    assert_eq!(writer_binds.status, StatusCode::FORBIDDEN);
    let writer_uploads = call(&app, Method::POST, "/v1/policies", Some(WRITER), REFERENCE).await;
    assert_eq!(writer_uploads.status, StatusCode::FORBIDDEN);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn bad_requests_are_client_errors_that_name_the_field() {
    let (dir, service, app) = seeded(900).await;
    let cases: Vec<(&str, String, StatusCode, &str, Option<&str>)> = vec![
        ("malformed", "{\"id\": ".into(), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("trailing", format!("{} x", order("t", "SKU-A", 1)), StatusCode::BAD_REQUEST, "malformed_json", None),
        (
            "unknown field",
            json!({"id": "u", "ship_to": {"lat": 1.0, "lon": 2.0, "zip": "x"}, "lines": []}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            Some("ship_to.zip"),
        ),
        (
            "wrong type",
            json!({"id": "w", "ship_to": {"lat": 1.0, "lon": 2.0}, "lines": [{"id": "1", "sku": "SKU-A", "qty": "two"}]})
                .to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            Some("lines[0].qty"),
        ),
        ("unknown sku", order("s", "SKU-NOPE", 1).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku", Some("lines[0].sku")),
        ("zero qty", order("z", "SKU-A", 0).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_order", Some("lines[0].qty")),
        (
            "bad time",
            json!({"id": "b", "placed_at": "yesterday", "ship_to": {"lat": 1.0, "lon": 2.0}, "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]})
                .to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
            Some("placed_at"),
        ),
        ("too large", format!("{{\"id\": \"{}\"}}", "x".repeat(70 << 10)), StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", None),
    ];
    for (name, body, status, code, field) in cases {
        let reply = call(&app, Method::POST, "/v1/orders", Some(WRITER), body).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], code, "{name}: {}", reply.body);
        if let Some(field) = field {
            assert_eq!(reply.body["error"]["field"], field, "{name}: {}", reply.body);
        }
    }
    let nowhere = get(&app, "/v1/nothing", READER).await;
    assert_eq!((nowhere.status, nowhere.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("no_route")));
    let wrong_method = call(&app, Method::DELETE, "/v1/orders", Some(WRITER), Body::empty()).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    let bad_stock =
        post(&app, "/v1/inventory", WRITER, &json!({"levels": [{"sku": "SKU-A", "location": "MOON", "on_hand": 1}]}))
            .await;
    assert_eq!(bad_stock.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_stock.body["error"]["field"], "levels[0].location");
    let below_zero = post(
        &app,
        "/v1/inventory/adjustments",
        WRITER,
        &json!({"adjustments": [{"sku": "SKU-A", "location": "DC-EAST", "delta": -6}]}),
    )
    .await;
    assert_eq!(below_zero.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(below_zero.body["error"]["code"], "stock_out_of_range");
    assert_eq!(atp(&app, "SKU-A").await, 10, "a refused adjustment changes nothing");
    // Every request carries a request id.
    assert!(below_zero.headers.get("x-request-id").is_some());
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn catalog_and_stock_round_trip() {
    let (dir, service, app) = seeded(900).await;
    let mut location = get(&app, "/v1/locations/ST-CHI", READER).await.body;
    assert_eq!(location["kind"], "store");
    location["capacity_shipments_per_day"] = json!(40);
    let put = call(&app, Method::PUT, "/v1/locations/ST-CHI", Some(WRITER), location.to_string()).await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
    assert_eq!(get(&app, "/v1/locations/ST-CHI", READER).await.body["capacity_shipments_per_day"], 40);
    let mismatch = call(&app, Method::PUT, "/v1/locations/ST-NYC", Some(WRITER), location.to_string()).await;
    assert_eq!(mismatch.body["error"]["code"], "id_mismatch");
    assert_eq!(get(&app, "/v1/products", READER).await.body["products"].as_array().unwrap().len(), 3);
    let adjusted = post(
        &app,
        "/v1/inventory/adjustments",
        WRITER,
        &json!({"adjustments": [{"sku": "SKU-B", "location": "ST-CHI", "delta": 4}]}),
    )
    .await;
    assert_eq!(adjusted.status, StatusCode::NO_CONTENT);
    let atp = get(&app, "/v1/inventory/SKU-B", READER).await.body;
    assert_eq!(atp["atp"], 7);
    assert_eq!(
        atp["locations"][0],
        json!({"location": "ST-CHI", "on_hand": 7, "reserved": 0, "safety_stock": 0, "atp": 7})
    );
    assert_eq!(get(&app, "/v1/inventory/SKU-NOPE", READER).await.status, StatusCode::NOT_FOUND);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn an_order_is_reserved_once_whatever_the_retries() {
    let (dir, service, app) = seeded(900).await;
    let dry = post(&app, "/v1/orders/route", READER, &order("o-1", "SKU-A", 2)).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert_eq!(dry.body["plan"]["shipments"][0]["location"], "DC-EAST");
    assert!(dry.body["explanation"].as_str().unwrap().contains("DC-WEST"));
    assert_eq!(atp(&app, "SKU-A").await, 10, "a dry run reserves nothing");

    let created = post(&app, "/v1/orders", WRITER, &order("o-1", "SKU-A", 2)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "reserved");
    assert_eq!(created.body["held_units"], json!([{"sku": "SKU-A", "location": "DC-EAST", "qty": 2}]));
    assert_eq!(atp(&app, "SKU-A").await, 8);
    // The same order again: the same answer, nothing reserved twice.
    let again = post(&app, "/v1/orders", WRITER, &order("o-1", "SKU-A", 2)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, created.body);
    assert_eq!(atp(&app, "SKU-A").await, 8);
    // The same id with other content is a conflict.
    let other = post(&app, "/v1/orders", WRITER, &order("o-1", "SKU-A", 3)).await;
    assert_eq!((other.status, other.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("order_exists")));
    // An Idempotency-Key names one order.
    let keyed = |id: &str| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/v1/orders")
            .header("authorization", format!("Bearer {WRITER}"))
            .header("idempotency-key", "cart-77")
            .body(Body::from(order(id, "SKU-B", 1).to_string()))
            .unwrap()
    };
    use tower::ServiceExt;
    assert_eq!(app.clone().oneshot(keyed("o-2")).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(app.clone().oneshot(keyed("o-2")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.clone().oneshot(keyed("o-3")).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fetched = get(&app, "/v1/orders/o-1", READER).await;
    assert_eq!(fetched.body["history"][0]["event"], "reserved");
    assert_eq!(get(&app, "/v1/orders/nope", READER).await.status, StatusCode::NOT_FOUND);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn cancelling_releases_and_shipping_consumes() {
    let (dir, service, app) = seeded(900).await;
    post(&app, "/v1/orders", WRITER, &order("c-1", "SKU-A", 3)).await;
    post(&app, "/v1/orders", WRITER, &order("s-1", "SKU-A", 2)).await;
    assert_eq!(atp(&app, "SKU-A").await, 5);
    let cancelled =
        post(&app, "/v1/orders/c-1/cancel", WRITER, &json!({"reason": "customer changed their mind"})).await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);
    assert_eq!(atp(&app, "SKU-A").await, 8);
    let again = post(&app, "/v1/orders/c-1/cancel", WRITER, &json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "cancelling twice is the same cancel");
    let (on_hand_before, _) = service.totals();
    let shipped = post(&app, "/v1/orders/s-1/ship", WRITER, &json!({"tracking": "1Z999"})).await;
    assert_eq!(shipped.body["status"], "shipped", "{}", shipped.body);
    assert!(shipped.body["history"][1]["detail"].as_str().unwrap().contains("1Z999"));
    let (on_hand_after, reserved_after) = service.totals();
    assert_eq!(on_hand_before - on_hand_after, 2, "shipping takes the units off hand");
    assert_eq!(reserved_after, 0);
    assert_eq!(atp(&app, "SKU-A").await, 8);
    let late_cancel = post(&app, "/v1/orders/s-1/cancel", WRITER, &json!({})).await;
    assert_eq!(
        (late_cancel.status, late_cancel.body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn unconfirmed_reservations_expire_and_confirmed_ones_stay() {
    let (dir, service, app) = seeded(0).await;
    post(&app, "/v1/orders", WRITER, &order("e-1", "SKU-A", 1)).await;
    post(&app, "/v1/orders", WRITER, &order("e-2", "SKU-A", 1)).await;
    let confirmed = post(&app, "/v1/orders/e-2/confirm", WRITER, &json!({})).await;
    assert_eq!(confirmed.body["status"], "confirmed");
    assert_eq!(service.expire_due().await, 1);
    assert_eq!(get(&app, "/v1/orders/e-1", READER).await.body["status"], "expired");
    assert_eq!(get(&app, "/v1/orders/e-2", READER).await.body["status"], "confirmed");
    assert_eq!(atp(&app, "SKU-A").await, 9);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_policy_with_errors_is_refused_with_every_diagnostic() {
    let (dir, service, app) = seeded(900).await;
    let broken = "policy p v1 applies to all groups {\n  shipment cost = distance_kn * $1\n  unit cost = item.wieght_kg * $1\n}\n";
    let reply = call(&app, Method::POST, "/v1/policies?name=broken", Some(ADMIN), broken).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "invalid_policy");
    let diagnostics = reply.body["diagnostics"].as_array().unwrap();
    let at: Vec<_> = diagnostics.iter().map(|d| (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap())).collect();
    assert_eq!(at, [(2, 19), (3, 20)], "{}", reply.body);
    assert!(diagnostics[0]["help"].as_str().unwrap().contains("distance_km"), "{}", reply.body);
    assert_eq!(get(&app, "/v1/policies", READER).await.body["versions"].as_array().unwrap().len(), 1, "nothing stored");
    // A good upload is a version; the same bytes again are the same version.
    let v2 = call(&app, Method::POST, "/v1/policies?name=reference", Some(ADMIN), reference_v2()).await;
    assert_eq!(v2.status, StatusCode::CREATED, "{}", v2.body);
    let again = call(&app, Method::POST, "/v1/policies?name=reference", Some(ADMIN), reference_v2()).await;
    assert_eq!((again.status, &again.body["version"]), (StatusCode::OK, &v2.body["version"]));
    let too_big = call(&app, Method::POST, "/v1/policies", Some(ADMIN), "#".repeat(300 << 10)).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn bindings_swap_roll_back_and_respect_applies_to() {
    let (dir, service, app) = seeded(900).await;
    let v1 = get(&app, "/v1/bindings", READER).await.body["bindings"][0]["version"].as_str().unwrap().to_owned();
    let v2 = call(&app, Method::POST, "/v1/policies?name=reference", Some(ADMIN), reference_v2()).await.body["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let bound = call(&app, Method::PUT, "/v1/bindings/default", Some(ADMIN), json!({"version": v2}).to_string()).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    let routed = post(&app, "/v1/orders", WRITER, &order("b-1", "SKU-A", 1)).await;
    assert_eq!(routed.body["plan"]["policy"], "reference@2");
    let live = get(&app, "/v1/bindings", READER).await.body;
    assert_eq!(live["bindings"][0]["version"], v2.as_str());
    let rolled = post(&app, "/v1/bindings/default/rollback", ADMIN, &json!({})).await;
    assert_eq!(rolled.body["version"], v1.as_str(), "{}", rolled.body);
    assert_eq!(get(&app, "/v1/bindings", READER).await.body["history"].as_array().unwrap().len(), 3);
    // A policy that applies to apparel and footwear cannot serve electronics.
    let store_first = include_str!("../../../examples/policies/store-first.policy");
    let sf = call(&app, Method::POST, "/v1/policies?name=store-first", Some(ADMIN), store_first).await.body["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong =
        call(&app, Method::PUT, "/v1/bindings/electronics", Some(ADMIN), json!({"version": sf}).to_string()).await;
    assert_eq!(
        (wrong.status, wrong.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("policy_not_for_group"))
    );
    let right = call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), json!({"version": sf}).to_string()).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    let apparel = post(&app, "/v1/orders", WRITER, &order("b-2", "SKU-A", 1)).await;
    assert_eq!(apparel.body["plan"]["policy"], "store_first@1");
    let electronics = post(&app, "/v1/orders", WRITER, &order("b-3", "SKU-C", 1)).await;
    assert_eq!(electronics.body["plan"]["policy"], "reference@1");
    let unknown =
        call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), json!({"version": "feed"}).to_string()).await;
    assert_eq!(unknown.body["error"]["field"], "version");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_failing_plugin_falls_back_or_refuses_the_order() {
    let (dir, service, app) = seeded(900).await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins/plugin_hostile.wasm");
    let bytes = std::fs::read(path).expect("run scripts/build-plugins first");
    let uploaded = call(&app, Method::POST, "/v1/plugins?name=hostile", Some(ADMIN), bytes).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let hostile = uploaded.body["version"].as_str().unwrap().to_owned();
    let reference = get(&app, "/v1/bindings", READER).await.body["bindings"][0]["version"].as_str().unwrap().to_owned();
    // The hostile plugin loops forever on channel `loop`.
    let looping = |id: &str| {
        let mut o = order(id, "SKU-A", 1);
        o["channel"] = json!("loop");
        o
    };
    call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), json!({"version": hostile}).to_string()).await;
    let refused = post(&app, "/v1/orders", WRITER, &looping("p-1")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "policy_failed");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("fuel"), "{}", refused.body);
    assert_eq!(atp(&app, "SKU-A").await, 10, "a failed order holds nothing");
    let with_fallback = json!({"version": hostile, "fallback": reference}).to_string();
    let bound = call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), with_fallback).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    let rescued = post(&app, "/v1/orders", WRITER, &looping("p-2")).await;
    assert_eq!(rescued.status, StatusCode::CREATED, "{}", rescued.body);
    assert_eq!(rescued.body["plan"]["policy"], "reference@1");
    // A normal order is the plugin's.
    let normal = post(&app, "/v1/orders", WRITER, &order("p-3", "SKU-A", 1)).await;
    assert!(normal.body["plan"]["policy"].as_str().unwrap().starts_with("hostile@"), "{}", normal.body);
    let metrics = call(&app, Method::GET, "/metrics", None, Body::empty()).await.body.as_str().unwrap().to_owned();
    assert!(metrics.contains("switchyard_plugin_fuel_total{plugin=\"hostile\""), "{metrics}");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_restart_rebuilds_everything_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (before_orders, before_bindings) = {
        let service = Service::open(config(dir.path(), 900)).await.unwrap();
        seed(&service).await;
        let app = switchyard_host::app(Arc::clone(&service));
        post(&app, "/v1/orders", WRITER, &order("r-1", "SKU-A", 4)).await;
        post(&app, "/v1/orders", WRITER, &order("r-2", "SKU-B", 1)).await;
        post(&app, "/v1/orders", WRITER, &order("r-3", "SKU-C", 1)).await;
        post(&app, "/v1/orders/r-2/cancel", WRITER, &json!({})).await;
        post(&app, "/v1/orders/r-3/ship", WRITER, &json!({})).await;
        let orders: Vec<_> = futures_orders(&app, &["r-1", "r-2", "r-3"]).await;
        (orders, get(&app, "/v1/bindings", READER).await.body)
    };
    let service = Service::open(config(dir.path(), 900)).await.unwrap();
    let app = switchyard_host::app(Arc::clone(&service));
    assert_eq!(futures_orders(&app, &["r-1", "r-2", "r-3"]).await, before_orders);
    assert_eq!(get(&app, "/v1/bindings", READER).await.body, before_bindings);
    assert_eq!(atp(&app, "SKU-A").await, 6);
    assert_eq!(atp(&app, "SKU-B").await, 3);
    assert_eq!(atp(&app, "SKU-C").await, 3, "the shipped unit left on hand");
    assert_eq!(service.totals(), (10 + 3 + 3, 4));
    // And it keeps routing with the recovered binding.
    let next = post(&app, "/v1/orders", WRITER, &order("r-4", "SKU-A", 1)).await;
    assert_eq!(next.status, StatusCode::CREATED, "{}", next.body);
}

async fn futures_orders(app: &axum::Router, ids: &[&str]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for id in ids {
        out.push(get(app, &format!("/v1/orders/{id}"), READER).await.body);
    }
    out
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let (dir, service, app) = seeded(900).await;
    let doc = call(&app, Method::GET, "/v1/openapi.json", None, Body::empty()).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc.body["openapi"]);
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/locations", "post"),
        ("/v1/locations/{id}", "put"),
        ("/v1/products/{sku}", "get"),
        ("/v1/inventory", "post"),
        ("/v1/inventory/adjustments", "post"),
        ("/v1/inventory/{sku}", "get"),
        ("/v1/orders", "post"),
        ("/v1/orders", "get"),
        ("/v1/orders/route", "post"),
        ("/v1/orders/{id}", "get"),
        ("/v1/orders/{id}/confirm", "post"),
        ("/v1/orders/{id}/cancel", "post"),
        ("/v1/orders/{id}/release", "post"),
        ("/v1/reoptimize", "post"),
        ("/v1/orders/{id}/ship", "post"),
        ("/v1/orders/{id}/events", "post"),
        ("/v1/orders/{id}/returns", "post"),
        ("/v1/orders/{id}/returns/{return_id}/receive", "post"),
        ("/v1/policies", "post"),
        ("/v1/policies/check", "post"),
        ("/v1/policies/{version}/source", "get"),
        ("/v1/session", "get"),
        ("/v1/policies/try", "post"),
        ("/v1/plugins", "post"),
        ("/v1/policies/{version}", "get"),
        ("/v1/bindings", "get"),
        ("/v1/bindings/{group}", "put"),
        ("/v1/bindings/{group}/rollback", "post"),
        ("/v1/shadows/{group}", "put"),
        ("/v1/shadows/{group}", "get"),
        ("/v1/shadows/{group}", "delete"),
        ("/v1/orders/{id}", "put"),
        ("/v1/recurring-orders", "post"),
        ("/v1/recurring-orders/{id}", "get"),
        ("/v1/recurring-orders/{id}", "delete"),
        ("/v1/webhooks", "post"),
        ("/v1/webhooks", "get"),
        ("/v1/webhooks/{id}", "delete"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is missing");
    }
    let schemas = doc.body["components"]["schemas"].as_object().unwrap();
    for schema in [
        "OrderRequest",
        "OrderRecord",
        "PlanDto",
        "LocationDto",
        "ErrorBody",
        "VersionMeta",
        "CandidateDto",
        "PolicyTrial",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} is missing");
    }
    assert_eq!(schemas["OrderRequest"]["properties"]["lines"]["type"], "array");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_dry_run_explains_every_candidate_as_data() {
    let (_dir, _service, app) = seeded(900).await;
    // SKU-C is hazmat: DC-EAST ships it, DC-WEST is excluded by the reference policy's rule.
    let dry = post(&app, "/v1/orders/route", READER, &order("x-1", "SKU-C", 1)).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let line = &dry.body["lines"][0];
    assert_eq!(
        (line["line_id"].as_str(), line["sku"].as_str(), line["qty"].as_u64()),
        (Some("1"), Some("SKU-C"), Some(1))
    );
    let candidates = line["candidates"].as_array().unwrap();
    let east = candidates.iter().find(|c| c["location"] == "DC-EAST").unwrap();
    assert_eq!(
        (east["status"].as_str(), east["qty"].as_u64(), east["atp"].as_u64()),
        (Some("chosen"), Some(1), Some(2))
    );
    let shipment = &dry.body["plan"]["shipments"][0];
    assert_eq!(east["shipment_cost"], shipment["shipment_cost"], "the same rounded amounts as the plan");
    assert!(east["distance_km"].as_f64().unwrap() > 100.0, "{east}");
    let west = candidates.iter().find(|c| c["location"] == "DC-WEST").unwrap();
    assert_eq!(
        (west["status"].as_str(), west["rule"].as_str()),
        (Some("excluded"), Some("requires capability `hazmat`")),
        "{west}"
    );
    assert!(west.get("unit_cost").is_none(), "{west}");
    // SKU-A from Philadelphia: DC-EAST ships, DC-WEST is beaten by it.
    let dry = post(&app, "/v1/orders/route", READER, &order("x-2", "SKU-A", 1)).await;
    let candidates = dry.body["lines"][0]["candidates"].as_array().unwrap().clone();
    let west = candidates.iter().find(|c| c["location"] == "DC-WEST").unwrap();
    assert_eq!((west["status"].as_str(), &west["beaten_by"]), (Some("beaten"), &json!(["DC-EAST"])), "{west}");
    assert!(west["unit_cost"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn a_policy_is_checked_and_tried_on_an_order_before_it_is_stored() {
    let (_dir, service, app) = seeded(900).await;
    let versions = get(&app, "/v1/policies", READER).await.body["versions"].as_array().unwrap().len();
    // A misspelt field: the check names its line, and nothing is stored.
    let broken = REFERENCE.replace("item.weight_kg", "item.wieght_kg");
    let line = REFERENCE.lines().position(|l| l.contains("item.weight_kg")).unwrap() as u64 + 1;
    let checked = call(&app, Method::POST, "/v1/policies/check", Some(READER), broken.clone()).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert_eq!(checked.body["valid"], false);
    let error = &checked.body["diagnostics"][0];
    assert_eq!((error["level"].as_str(), error["line"].as_u64()), (Some("error"), Some(line)), "{error}");
    assert!(error["column"].as_u64().unwrap() > 1);
    let store_first = include_str!("../../../examples/policies/store-first.policy");
    let empty = call(&app, Method::POST, "/v1/policies/check", Some(READER), "").await;
    assert_eq!(
        (empty.status, empty.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_policy"))
    );
    let fine = call(&app, Method::POST, "/v1/policies/check", Some(READER), store_first).await;
    assert_eq!(fine.body["valid"], true, "{}", fine.body);
    // Tried on an order: its plan beside the live binding's, nothing reserved or stored.
    let body = json!({"source": store_first, "order": order("t-1", "SKU-B", 1)});
    let tried = post(&app, "/v1/policies/try", READER, &body).await;
    assert_eq!(tried.status, StatusCode::OK, "{}", tried.body);
    assert!(tried.body["tried"]["plan"]["policy"].as_str().unwrap().starts_with("store_first@"), "{}", tried.body);
    assert!(tried.body["live"]["plan"]["policy"].as_str().unwrap().starts_with("reference@"), "{}", tried.body);
    assert!(!tried.body["tried"]["lines"][0]["candidates"].as_array().unwrap().is_empty());
    assert_eq!(atp(&app, "SKU-B").await, 3, "nothing reserved");
    assert_eq!(get(&app, "/v1/policies", READER).await.body["versions"].as_array().unwrap().len(), versions);
    assert_eq!(get(&app, "/v1/orders/t-1", READER).await.status, StatusCode::NOT_FOUND);
    // A policy with errors is refused as its upload would be; an order's mistake is named
    // under `order`.
    let refused =
        post(&app, "/v1/policies/try", READER, &json!({"source": broken, "order": order("t-2", "SKU-B", 1)})).await;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_policy"))
    );
    let wrong =
        post(&app, "/v1/policies/try", READER, &json!({"source": store_first, "order": order("t-3", "SKU-NOPE", 1)}))
            .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert_eq!(wrong.body["error"]["field"], "order.lines[0].sku");
    let unknown =
        post(&app, "/v1/policies/try", READER, &json!({"source": store_first, "order": {}, "extra": 1})).await;
    assert_eq!((unknown.status, unknown.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("extra")));
    drop(service);
}

#[tokio::test]
async fn orders_are_listed_by_status_and_time_newest_first_open_and_closed() {
    let (_dir, service, app) = seeded(900).await;
    for id in ["l-1", "l-2", "l-3"] {
        assert_eq!(post(&app, "/v1/orders", WRITER, &order(id, "SKU-A", 1)).await.status, StatusCode::CREATED);
    }
    post(&app, "/v1/orders/l-2/cancel", WRITER, &json!({})).await;
    // A closed order memory let go of is listed all the same: the store has it.
    service.evict_closed_orders();
    let ids = |body: &serde_json::Value| -> Vec<String> {
        body["orders"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
    };
    let all = get(&app, "/v1/orders", READER).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(ids(&all.body), ["l-3", "l-2", "l-1"], "newest first (ties by id)");
    assert!(all.body.get("next").is_none());
    let cancelled = get(&app, "/v1/orders?status=cancelled", READER).await.body;
    assert_eq!(ids(&cancelled), ["l-2"]);
    assert_eq!(cancelled["orders"][0]["status"], "cancelled");
    // Pages.
    let first = get(&app, "/v1/orders?limit=2", READER).await.body;
    assert_eq!(ids(&first), ["l-3", "l-2"]);
    let next = first["next"].as_str().unwrap().to_owned();
    let second = get(&app, &format!("/v1/orders?limit=2&after={next}"), READER).await.body;
    assert_eq!(ids(&second), ["l-1"]);
    assert!(second.get("next").is_none());
    // A window of time.
    let (hour_ago, in_an_hour) = (in_seconds(-3_600), in_seconds(3_600));
    let window = get(&app, &format!("/v1/orders?since={hour_ago}&until={in_an_hour}"), READER).await.body;
    assert_eq!(ids(&window).len(), 3);
    assert_eq!(ids(&get(&app, &format!("/v1/orders?since={in_an_hour}"), READER).await.body).len(), 0);
    assert_eq!(ids(&get(&app, &format!("/v1/orders?until={hour_ago}"), READER).await.body).len(), 0);
    // Mistakes name the parameter.
    for (query, field) in
        [("limit=0", "limit"), ("limit=201", "limit"), ("since=yesterday", "since"), ("after=nope", "after")]
    {
        let refused = get(&app, &format!("/v1/orders?{query}"), READER).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{query}: {}", refused.body);
        assert_eq!(refused.body["error"]["field"], field, "{query}: {}", refused.body);
    }
    let unknown = get(&app, "/v1/orders?status=lost", READER).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
}

#[tokio::test]
async fn a_page_of_orders_stops_at_its_byte_budget_and_the_next_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A budget smaller than one order: every page carries one.
    let service = Service::open(Config { max_list_bytes: 1, ..config(dir.path(), 900) }).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(Arc::clone(&service));
    for id in ["b-1", "b-2", "b-3"] {
        assert_eq!(post(&app, "/v1/orders", WRITER, &order(id, "SKU-A", 1)).await.status, StatusCode::CREATED);
    }
    let mut listed = Vec::new();
    let mut after = String::new();
    for _ in 0..10 {
        let page = get(&app, &format!("/v1/orders?limit=50{after}"), READER).await.body;
        let orders = page["orders"].as_array().unwrap();
        assert!(orders.len() <= 1, "{page}");
        listed.extend(orders.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(listed, ["b-3", "b-2", "b-1"]);
}

#[tokio::test]
async fn a_token_learns_its_role_and_a_policy_its_source_for_the_console() {
    let (_dir, _service, app) = seeded(900).await;
    for (token, role) in [(READER, "reader"), (WRITER, "writer"), (ADMIN, "admin")] {
        let session = get(&app, "/v1/session", token).await;
        assert_eq!((session.status, session.body["role"].as_str()), (StatusCode::OK, Some(role)), "{}", session.body);
        assert!(!session.body.to_string().contains(token), "the secret is never echoed");
    }
    assert_eq!(call(&app, Method::GET, "/v1/session", None, "").await.status, StatusCode::UNAUTHORIZED);
    let version = get(&app, "/v1/bindings", READER).await.body["bindings"][0]["version"].as_str().unwrap().to_owned();
    let source = call(&app, Method::GET, &format!("/v1/policies/{version}/source"), Some(READER), "").await;
    assert_eq!(source.status, StatusCode::OK);
    assert_eq!(source.body.as_str(), Some(REFERENCE));
    let unknown = call(&app, Method::GET, "/v1/policies/nope/source", Some(READER), "").await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_version"))
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins/plugin_hostile.wasm");
    let plugin = call(&app, Method::POST, "/v1/plugins?name=hostile", Some(ADMIN), std::fs::read(path).unwrap()).await;
    let plugin = plugin.body["version"].as_str().unwrap().to_owned();
    let none = call(&app, Method::GET, &format!("/v1/policies/{plugin}/source"), Some(READER), "").await;
    assert_eq!((none.status, none.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("no_source")));
    // The console itself: the page, its script and styles, under a policy that allows this
    // origin only; nothing else under /console.
    for (path, kind) in
        [("/console", "text/html"), ("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")]
    {
        let served = call(&app, Method::GET, path, None, "").await;
        assert_eq!(served.status, StatusCode::OK, "{path}");
        assert!(served.headers["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        assert!(served.headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"), "{path}");
    }
    assert_eq!(call(&app, Method::GET, "/console/secrets.txt", None, "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_shadow_run_compares_a_candidate_on_live_orders_without_reserving() {
    let (dir, service, app) = seeded(900).await;
    let reference = get(&app, "/v1/bindings", READER).await.body["bindings"][0]["version"].as_str().unwrap().to_owned();
    let store_first = include_str!("../../../examples/policies/store-first.policy");
    let candidate =
        call(&app, Method::POST, "/v1/policies?name=store-first", Some(ADMIN), store_first).await.body["version"]
            .as_str()
            .unwrap()
            .to_owned();
    let shadow = json!({"version": candidate}).to_string();
    // Only a group with its own binding can be shadowed, and only by a policy allowed there.
    let unbound = call(&app, Method::PUT, "/v1/shadows/apparel", Some(ADMIN), shadow.clone()).await;
    assert_eq!((unbound.status, unbound.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("no_binding")));
    let wrong_group = call(&app, Method::PUT, "/v1/shadows/default", Some(ADMIN), shadow.clone()).await;
    assert_eq!(wrong_group.body["error"]["code"], "policy_not_for_group");
    call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), json!({"version": reference}).to_string()).await;
    let started = call(&app, Method::PUT, "/v1/shadows/apparel", Some(ADMIN), shadow).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert_eq!(started.body["orders_compared"], 0);

    let mut live_cost = 0.0;
    for n in 0..4 {
        let created = post(&app, "/v1/orders", WRITER, &order(&format!("sh-{n}"), "SKU-A", 1)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["plan"]["policy"], "reference@1", "the live binding decides");
        live_cost += created.body["plan"]["cost"]["total"].as_f64().unwrap();
    }
    post(&app, "/v1/orders", WRITER, &order("sh-electronics", "SKU-C", 1)).await; // another group: not shadowed
    assert_eq!(atp(&app, "SKU-A").await, 6, "the shadow reserves nothing");

    let summary = get(&app, "/v1/shadows/apparel", READER).await.body;
    assert_eq!(summary["orders_compared"], 4, "{summary}");
    assert!((summary["live_cost"].as_f64().unwrap() - live_cost).abs() < 1e-6, "{summary}");
    // store-first adds a $4 DC surcharge: every plan from a DC costs more under it.
    assert_eq!(summary["orders_differing"], 4, "{summary}");
    assert!(summary["shadow_cost"].as_f64().unwrap() > summary["live_cost"].as_f64().unwrap(), "{summary}");
    assert!(summary["greedy_cost"].as_f64().unwrap() >= summary["live_cost"].as_f64().unwrap() - 1e-9, "{summary}");
    assert_eq!(summary["recent_differences"].as_array().unwrap().len(), 4);
    assert_eq!(summary["recent_differences"][0]["order_id"], "sh-0");

    let stopped = call(&app, Method::DELETE, "/v1/shadows/apparel", Some(ADMIN), Body::empty()).await;
    assert_eq!(stopped.body["orders_compared"], 4);
    assert_eq!(get(&app, "/v1/shadows/apparel", READER).await.status, StatusCode::NOT_FOUND);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_location_that_rejects_a_shipment_gets_it_routed_elsewhere() {
    let (dir, service, app) = seeded(900).await;
    let created = post(&app, "/v1/orders", WRITER, &order("f-1", "SKU-A", 2)).await;
    assert_eq!(created.body["plan"]["shipments"][0]["location"], "DC-EAST");
    let event = |body: serde_json::Value| {
        let app = app.clone();
        async move { post(&app, "/v1/orders/f-1/events", WRITER, &body).await }
    };
    assert_eq!(event(json!({"event": "picked", "location": "DC-EAST"})).await.status, StatusCode::OK);
    let packed = event(json!({"event": "packed"})).await;
    assert_eq!(packed.body["plan"]["shipments"][0]["state"], "packed", "{}", packed.body);
    let backwards = event(json!({"event": "picked", "location": "DC-EAST"})).await;
    assert_eq!(
        (backwards.status, backwards.body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_such_shipment"))
    );

    // DC-EAST cannot ship after all: the two units go to DC-WEST under the same policy.
    let rejected = event(json!({"event": "rejected", "location": "DC-EAST", "reason": "forklift down"})).await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let shipments = rejected.body["plan"]["shipments"].as_array().unwrap();
    assert_eq!(shipments.len(), 2);
    assert_eq!(
        (shipments[0]["location"].as_str(), shipments[0]["state"].as_str()),
        (Some("DC-EAST"), Some("rejected"))
    );
    assert_eq!((shipments[1]["location"].as_str(), shipments[1]["state"].as_str()), (Some("DC-WEST"), Some("open")));
    assert_eq!(rejected.body["held_units"], json!([{"sku": "SKU-A", "location": "DC-WEST", "qty": 2}]));
    assert_eq!(rejected.body["excluded_locations"], json!(["DC-EAST"]));
    let atp_now = get(&app, "/v1/inventory/SKU-A", READER).await.body;
    assert_eq!(atp_now["atp"], 8);
    assert_eq!(atp_now["locations"][0]["reserved"], 0, "DC-EAST holds nothing any more");
    let timeline: Vec<&str> =
        rejected.body["history"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["reserved", "picked", "packed", "rejected", "rerouted"]);
    assert!(rejected.body["history"][3]["detail"].as_str().unwrap().contains("forklift down"));

    let shipped = event(json!({"event": "shipped", "location": "DC-WEST", "carrier": "UPS", "tracking": "1Z42"})).await;
    assert_eq!(shipped.body["status"], "shipped", "{}", shipped.body);
    assert_eq!(shipped.body["plan"]["shipments"][1]["tracking"], "1Z42");
    let delivered = event(json!({"event": "delivered", "location": "DC-WEST"})).await;
    assert_eq!(delivered.body["status"], "delivered", "{}", delivered.body);
    assert_eq!(service.totals(), (17 - 2, 0), "shipped units left on hand; nothing stays reserved");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn every_routing_of_an_order_is_explained_and_kept_in_the_store() {
    let (dir, service, app) = seeded(900).await;
    let created = post(&app, "/v1/orders?explain=true", WRITER, &order("w-1", "SKU-A", 2)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    // The answer that placed it says why, as asked: DC-EAST (near Philadelphia) chosen with
    // the stock it had before this order took two units; DC-WEST priced and beaten by it.
    let line = &created.body["explanation"][0];
    assert_eq!((line["line_id"].as_str(), line["qty"].as_u64()), (Some("1"), Some(2)), "{}", created.body);
    let candidate = |line: &serde_json::Value, location: &str| {
        line["candidates"].as_array().unwrap().iter().find(|c| c["location"] == location).cloned().unwrap()
    };
    let east = candidate(line, "DC-EAST");
    assert_eq!(
        (east["status"].as_str(), east["qty"].as_u64(), east["atp"].as_u64()),
        (Some("chosen"), Some(2), Some(5))
    );
    let west = candidate(line, "DC-WEST");
    assert_eq!((west["status"].as_str(), &west["beaten_by"]), (Some("beaten"), &json!(["DC-EAST"])));
    assert!(west["distance_km"].as_f64().unwrap() > east["distance_km"].as_f64().unwrap());
    // The same, kept: a retry of the request gets the same answer (its explanation read from
    // the store), or without it when it does not ask; a read of the order does not carry it;
    // the explanation resource does.
    let replay = post(&app, "/v1/orders?explain=true", WRITER, &order("w-1", "SKU-A", 2)).await;
    assert_eq!((replay.status, &replay.body), (StatusCode::OK, &created.body));
    let plain = post(&app, "/v1/orders", WRITER, &order("w-1", "SKU-A", 2)).await;
    assert!(plain.body.get("explanation").is_none());
    assert_eq!(plain.body["id"], "w-1");
    let bad = post(&app, "/v1/orders?explain=maybe", WRITER, &order("w-1", "SKU-A", 2)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(get(&app, "/v1/orders/w-1", READER).await.body.get("explanation").is_none());
    let kept = get(&app, "/v1/orders/w-1/explanation", READER).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert_eq!(kept.body["order_id"], "w-1");
    let routings = kept.body["routings"].as_array().unwrap();
    assert_eq!(routings.len(), 1);
    assert_eq!((routings[0]["cause"].as_str(), routings[0]["revision"].as_u64()), (Some("placed"), Some(1)));
    assert_eq!(routings[0]["policy_version"], created.body["policy_version"]);
    assert_eq!(routings[0]["lines"], created.body["explanation"]);

    // DC-EAST rejects its shipment: the re-routing is explained too, DC-EAST excluded.
    let rejected =
        post(&app, "/v1/orders/w-1/events", WRITER, &json!({"event": "rejected", "location": "DC-EAST"})).await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let kept = get(&app, "/v1/orders/w-1/explanation", READER).await.body;
    let routings = kept["routings"].as_array().unwrap();
    assert_eq!(routings.len(), 2, "{kept}");
    assert_eq!((routings[1]["cause"].as_str(), routings[1]["revision"].as_u64()), (Some("rerouted"), Some(2)));
    let line = &routings[1]["lines"][0];
    let east = candidate(line, "DC-EAST");
    assert_eq!(east["status"], "excluded", "{line}");
    assert!(east["rule"].as_str().unwrap().contains("rejected"), "{east}");
    assert_eq!((candidate(line, "DC-WEST")["status"].as_str()), Some("chosen"));

    // A scheduled order has no routing yet; an unknown one is not found; a reader may look.
    let mut held = order("w-2", "SKU-A", 1);
    held["hold_until"] = json!(in_seconds(3600));
    assert_eq!(post(&app, "/v1/orders", WRITER, &held).await.body["status"], "scheduled");
    let none = get(&app, "/v1/orders/w-2/explanation", READER).await;
    assert_eq!((none.status, &none.body["routings"]), (StatusCode::OK, &json!([])));
    let unknown = get(&app, "/v1/orders/nope/explanation", READER).await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_order"))
    );
    let anonymous = call(&app, Method::GET, "/v1/orders/w-1/explanation", None, Body::empty()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // What the store keeps survives a restart.
    let before = get(&app, "/v1/orders/w-1/explanation", READER).await.body;
    assert_restart_matches(dir.path(), &service).await;
    drop((app, service));
    let service = Service::open(config(dir.path(), 900)).await.unwrap();
    let app = switchyard_host::app(Arc::clone(&service));
    assert_eq!(get(&app, "/v1/orders/w-1/explanation", READER).await.body, before);
}

#[tokio::test]
async fn a_ship_to_may_be_a_us_postal_code_instead_of_coordinates() {
    let (_dir, _service, app) = seeded(900).await;
    let place = get(&app, "/v1/postal-codes/US/19103-1234", READER).await;
    assert_eq!(place.status, StatusCode::OK, "{}", place.body);
    assert_eq!(
        (place.body["postal_code"].as_str(), place.body["city"].as_str()),
        (Some("19103"), Some("Philadelphia"))
    );
    assert_eq!(place.body["state"], "PA");
    for (uri, field) in [
        ("/v1/postal-codes/US/00000", "code"),
        ("/v1/postal-codes/US/1910", "code"),
        ("/v1/postal-codes/DE/10115", "country"),
    ] {
        let unknown = get(&app, uri, READER).await;
        assert_eq!(
            (unknown.status, unknown.body["error"]["code"].as_str(), unknown.body["error"]["field"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_postal_code"), Some(field)),
            "{uri}: {}",
            unknown.body
        );
    }
    let anonymous = call(&app, Method::GET, "/v1/postal-codes/US/19103", None, Body::empty()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // An order to a postal code: routed to its centroid, which the order keeps.
    let mut by_code = order("z-1", "SKU-A", 1);
    by_code["ship_to"] = json!({"postal_code": "19103", "country": "US"});
    let created = post(&app, "/v1/orders", WRITER, &by_code).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["plan"]["shipments"][0]["location"], "DC-EAST");
    let ship_to = &created.body["request"]["ship_to"];
    assert!((ship_to["lat"].as_f64().unwrap() - 39.95).abs() < 0.05, "{ship_to}");
    assert_eq!(ship_to["postal_code"], "19103");
    // The same request again is the same order.
    assert_eq!(post(&app, "/v1/orders", WRITER, &by_code).await.status, StatusCode::OK);
    // A dry run and a policy trial take one too.
    let dry = post(
        &app,
        "/v1/orders/route",
        READER,
        &json!({"id": "z-2", "ship_to": {"postal_code": "90012"}, "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]}),
    )
    .await;
    assert_eq!(dry.body["plan"]["shipments"][0]["location"], "DC-WEST", "{}", dry.body);

    // What cannot be placed is refused, naming the field; nothing is created.
    let refused = |ship_to: serde_json::Value, field: &'static str| {
        let app = app.clone();
        async move {
            let mut bad = order("z-bad", "SKU-A", 1);
            bad["ship_to"] = ship_to.clone();
            let reply = post(&app, "/v1/orders", WRITER, &bad).await;
            assert_eq!(
                (reply.status, reply.body["error"]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{ship_to}: {}",
                reply.body
            );
        }
    };
    refused(json!({"postal_code": "00000", "country": "US"}), "ship_to.postal_code").await;
    refused(json!({"postal_code": "not a zip"}), "ship_to.postal_code").await;
    refused(json!({"postal_code": "10115", "country": "DE"}), "ship_to.country").await;
    refused(json!({}), "ship_to.postal_code").await;
    refused(json!({"lat": 39.9}), "ship_to.lon").await;
    refused(json!({"lon": -75.1, "postal_code": "19103"}), "ship_to.lat").await;
    assert_eq!(get(&app, "/v1/orders/z-bad", READER).await.status, StatusCode::NOT_FOUND);
    let recurring = post(&app, "/v1/recurring-orders", WRITER, &json!({"id": "r", "every": "weekly", "order": {"ship_to": {"postal_code": "00000"}, "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]}})).await;
    assert_eq!(
        (recurring.status, recurring.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("order.ship_to.postal_code"))
    );
    let trial = post(&app, "/v1/policies/try", READER, &json!({"source": REFERENCE, "order": {"id": "t", "ship_to": {"postal_code": "0"}, "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]}})).await;
    assert_eq!(
        (trial.status, trial.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("order.ship_to.postal_code"))
    );
}

#[tokio::test]
async fn a_service_that_keeps_no_explanations_routes_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(Config { keep_explanations: false, ..config(dir.path(), 900) }).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(Arc::clone(&service));
    let created = post(&app, "/v1/orders?explain=true", WRITER, &order("n-1", "SKU-A", 2)).await;
    assert_eq!(created.body["status"], "reserved", "{}", created.body);
    assert!(created.body.get("explanation").is_none());
    let kept = get(&app, "/v1/orders/n-1/explanation", READER).await;
    assert_eq!((kept.status, &kept.body["routings"]), (StatusCode::OK, &json!([])));
    // A dry run still explains.
    let dry = post(&app, "/v1/orders/route", READER, &order("n-2", "SKU-A", 1)).await;
    assert_eq!(dry.body["lines"][0]["candidates"].as_array().map(Vec::len), Some(2), "{}", dry.body);
}

#[tokio::test]
async fn a_rejection_with_no_other_location_leaves_the_units_unfilled() {
    let (dir, service, app) = seeded(900).await;
    post(&app, "/v1/orders", WRITER, &order("f-2", "SKU-B", 1)).await;
    assert_eq!(atp(&app, "SKU-B").await, 2);
    let rejected =
        post(&app, "/v1/orders/f-2/events", WRITER, &json!({"event": "rejected", "reason": "damaged"})).await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["plan"]["unfilled"], json!([{"line_id": "1", "sku": "SKU-B", "qty": 1}]));
    assert_eq!(rejected.body["held_units"], json!([]));
    let last = rejected.body["history"].as_array().unwrap().last().unwrap().clone();
    assert!(last["detail"].as_str().unwrap().contains("no other location"), "{last}");
    assert_eq!(atp(&app, "SKU-B").await, 3, "the unit is back");
    let again = post(&app, "/v1/orders/f-2/events", WRITER, &json!({"event": "shipped"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let bad = post(&app, "/v1/orders/f-2/events", WRITER, &json!({"event": "teleported"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("event")));
    assert_restart_matches(dir.path(), &service).await;
}

/// A webhook receiver on a real socket: answers 500 to the first `failures` requests, then 200.
pub(crate) async fn receiver(
    failures: usize,
) -> (String, Arc<parking_lot::Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let seen: Arc<parking_lot::Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let log = Arc::clone(&log);
            async move {
                let mut log = log.lock();
                log.push((headers, body));
                if log.len() <= failures { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_visible() {
    let (dir, service, app) = seeded(900).await;
    let (url, seen) = receiver(1).await;
    let bad_url = post(&app, "/v1/webhooks", ADMIN, &json!({"url": "ftp://x", "events": ["*"]})).await;
    assert_eq!(
        (bad_url.status, bad_url.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("url"))
    );
    let bad_event = post(&app, "/v1/webhooks", ADMIN, &json!({"url": url, "events": ["invoice.paid"]})).await;
    assert_eq!(bad_event.body["error"]["field"], "events[0]");
    assert_eq!(
        post(&app, "/v1/webhooks", WRITER, &json!({"url": url, "events": ["*"]})).await.status,
        StatusCode::FORBIDDEN
    );
    let subscribed =
        post(&app, "/v1/webhooks", ADMIN, &json!({"url": url, "events": ["order.reserved", "order.shipped"]})).await;
    assert_eq!(subscribed.status, StatusCode::CREATED, "{}", subscribed.body);
    let secret = subscribed.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);

    post(&app, "/v1/orders", WRITER, &order("w-1", "SKU-A", 1)).await;
    post(&app, "/v1/orders/w-1/confirm", WRITER, &json!({})).await; // not subscribed
    assert_eq!(service.deliver_due().await, 1);
    let listed = get(&app, "/v1/webhooks", ADMIN).await.body;
    let delivery = &listed["webhooks"][0]["recent_deliveries"][0];
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_u64(), delivery["last_status"].as_u64()),
        (Some("pending"), Some(1), Some(500))
    );
    assert!(listed["webhooks"][0]["subscription"].get("secret").is_none(), "the secret is shown once");
    assert_eq!(service.deliver_due().await, 0, "not due before its backoff");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(service.deliver_due().await, 1);

    post(&app, "/v1/orders/w-1/ship", WRITER, &json!({"carrier": "UPS", "tracking": "1Z7"})).await;
    assert_eq!(service.deliver_due().await, 1);
    let requests = seen.lock().clone();
    assert_eq!(requests.len(), 3, "a failed attempt, its retry, and the shipment");
    for (headers, body) in &requests {
        let header = headers["x-switchyard-signature"].to_str().unwrap();
        let timestamp: i64 = header.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
        assert_eq!(header, switchyard_host::webhooks::signature(&secret, timestamp, body), "signed with the secret");
        assert_ne!(header, switchyard_host::webhooks::signature("another-secret-entirely", timestamp, body));
    }
    let events: Vec<&str> = requests.iter().map(|(h, _)| h["x-switchyard-event"].to_str().unwrap()).collect();
    assert_eq!(events, ["order.reserved", "order.reserved", "order.shipped"]);
    assert_eq!(
        requests[0].0["x-switchyard-delivery"], requests[1].0["x-switchyard-delivery"],
        "a retry is the same delivery"
    );
    let shipped: serde_json::Value = serde_json::from_str(&requests[2].1).unwrap();
    assert_eq!((shipped["order"]["id"].as_str(), shipped["order"]["status"].as_str()), (Some("w-1"), Some("shipped")));
    let listed = get(&app, "/v1/webhooks", ADMIN).await.body;
    let statuses: Vec<&str> = listed["webhooks"][0]["recent_deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["delivered", "delivered"]);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let service = Service::open(config(dir.path(), 900)).await.unwrap();
        seed(&service).await;
        let app = switchyard_host::app(Arc::clone(&service));
        // Nobody listens on the discard port: every attempt fails to connect.
        post(&app, "/v1/webhooks", ADMIN, &json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]})).await;
        post(&app, "/v1/orders", WRITER, &order("d-1", "SKU-A", 1)).await;
        assert_eq!(service.deliver_due().await, 1);
    }
    let service = Service::open(config(dir.path(), 900)).await.unwrap();
    let app = switchyard_host::app(Arc::clone(&service));
    let listed = get(&app, "/v1/webhooks", ADMIN).await.body;
    let delivery = &listed["webhooks"][0]["recent_deliveries"][0];
    assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_u64()), (Some("pending"), Some(1)), "{listed}");
    assert!(delivery["last_error"].as_str().unwrap().len() > 5);
    assert_eq!(delivery["event"], "order.reserved");
}

#[tokio::test]
async fn a_held_order_is_routed_when_due_and_may_change_until_then() {
    let (dir, service, app) = seeded(900).await;
    let mut held = order("h-1", "SKU-A", 1);
    held["hold_until"] = json!(in_seconds(2));
    let created = post(&app, "/v1/orders", WRITER, &held).await;
    assert_eq!(
        (created.status, created.body["status"].as_str()),
        (StatusCode::CREATED, Some("scheduled")),
        "{}",
        created.body
    );
    assert_eq!(atp(&app, "SKU-A").await, 10, "nothing is reserved before it is due");
    // The customer changes their mind during the grace period.
    held["lines"][0]["qty"] = json!(3);
    let changed = call(&app, Method::PUT, "/v1/orders/h-1", Some(WRITER), held.to_string()).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(service.route_due().await, 0, "not yet due");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(service.route_due().await, 1);
    let routed = get(&app, "/v1/orders/h-1", READER).await.body;
    assert_eq!(routed["status"], "reserved", "{routed}");
    assert_eq!(routed["held_units"][0]["qty"], 3);
    let timeline: Vec<&str> =
        routed["history"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["scheduled", "changed", "reserved"]);
    // Routed when due, and why is kept as for an order routed when placed.
    let why = get(&app, "/v1/orders/h-1/explanation", READER).await.body;
    assert_eq!(why["routings"].as_array().unwrap().len(), 1, "{why}");
    assert_eq!(why["routings"][0]["cause"], "due");
    assert_eq!(why["routings"][0]["lines"][0]["qty"], 3);
    assert_eq!(atp(&app, "SKU-A").await, 7);
    let too_late = call(&app, Method::PUT, "/v1/orders/h-1", Some(WRITER), held.to_string()).await;
    assert_eq!(
        (too_late.status, too_late.body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    // A requested delivery date far out: routed two days before it; cancelling it holds nothing.
    let mut later = order("h-2", "SKU-A", 1);
    later["requested_delivery"] = json!(in_seconds(30 * 86_400));
    let scheduled = post(&app, "/v1/orders", WRITER, &later).await;
    // (Both sides read the clock: a second may tick between them.)
    let due = switchyard_engine::Timestamp::parse_rfc3339(scheduled.body["due_at"].as_str().unwrap()).unwrap();
    let expected = switchyard_engine::Timestamp::parse_rfc3339(&in_seconds(28 * 86_400)).unwrap();
    assert!((expected.0 - due.0).abs() <= 1, "due {} vs {}", due.0, expected.0);
    assert_eq!(post(&app, "/v1/orders/h-2/cancel", WRITER, &json!({})).await.body["status"], "cancelled");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_scheduled_order_is_routed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let service = Service::open(config(dir.path(), 900)).await.unwrap();
        seed(&service).await;
        let app = switchyard_host::app(Arc::clone(&service));
        let mut held = order("hr-1", "SKU-B", 2);
        held["hold_until"] = json!(in_seconds(1));
        assert_eq!(post(&app, "/v1/orders", WRITER, &held).await.body["status"], "scheduled");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let service = Service::open(config(dir.path(), 900)).await.unwrap();
    assert_eq!(service.route_due().await, 1);
    let app = switchyard_host::app(Arc::clone(&service));
    assert_eq!(get(&app, "/v1/orders/hr-1", READER).await.body["status"], "reserved");
    assert_eq!(atp(&app, "SKU-B").await, 1);
}

#[tokio::test]
async fn a_subscription_creates_orders_on_schedule_until_its_sku_runs_out() {
    let (dir, service, app) = seeded(900).await;
    let body = json!({
        "id": "coffee",
        "every": "1s",
        "order": { "ship_to": { "lat": 39.95, "lon": -75.17 }, "lines": [ { "id": "1", "sku": "SKU-B", "qty": 2 } ] }
    });
    let bad =
        post(&app, "/v1/recurring-orders", WRITER, &json!({"id": "x", "every": "fortnightly", "order": body["order"]}))
            .await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("every")));
    let unknown = post(&app, "/v1/recurring-orders", WRITER, &json!({"id": "y", "every": "weekly", "order": {"ship_to": {"lat": 1.0, "lon": 1.0}, "lines": [{"id": "1", "sku": "NOPE", "qty": 1}]}})).await;
    assert_eq!(unknown.body["error"]["field"], "order.lines[0].sku");
    let created = post(&app, "/v1/recurring-orders", WRITER, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    // Due at once: the first order takes 2 of ST-CHI's 3 units.
    assert_eq!(service.run_recurring().await, 1);
    assert_eq!(get(&app, "/v1/orders/coffee-1", READER).await.body["status"], "reserved");
    assert_eq!(service.run_recurring().await, 0, "the next run is a second away");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The second gets the last unit; the one missing unit is recorded.
    assert_eq!(service.run_recurring().await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The third finds none left.
    assert_eq!(service.run_recurring().await, 1);
    let recurring = get(&app, "/v1/recurring-orders/coffee", READER).await.body;
    assert_eq!(recurring["orders"], json!(["coffee-1", "coffee-2", "coffee-3"]));
    let runs: Vec<&str> =
        recurring["history"].as_array().unwrap()[1..].iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(runs[0], "order coffee-1 reserved");
    assert!(runs[1].starts_with("order coffee-2 reserved; 1 unit(s) out of stock"), "{runs:?}");
    assert!(runs[2].starts_with("order coffee-3 rejected: nothing could ship"), "{runs:?}");
    assert_eq!(atp(&app, "SKU-B").await, 0);
    let stopped = call(&app, Method::DELETE, "/v1/recurring-orders/coffee", Some(WRITER), Body::empty()).await;
    assert_eq!(stopped.body["active"], false);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(service.run_recurring().await, 0, "a stopped subscription creates nothing");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn kits_reserve_their_components_from_one_location_unless_they_may_split() {
    let (dir, service, app) = seeded(900).await;
    let kit = |sku: &str, components: serde_json::Value, may_split: bool| json!({"sku": sku, "group": "apparel", "weight_kg": 3.0, "components": components, "kit_may_split": may_split});
    // A = SKU-A + SKU-C: both at DC-EAST (5, 2) and DC-WEST (5, 2).
    let a = kit("KIT-A", json!([{"sku": "SKU-A", "qty": 1}, {"sku": "SKU-C", "qty": 1}]), false);
    // B = SKU-A + SKU-B: no location holds both (SKU-B is only at ST-CHI).
    let b = kit("KIT-B", json!([{"sku": "SKU-A", "qty": 1}, {"sku": "SKU-B", "qty": 1}]), false);
    let b_split = kit("KIT-B2", json!([{"sku": "SKU-A", "qty": 1}, {"sku": "SKU-B", "qty": 1}]), true);
    let stored = post(&app, "/v1/products", WRITER, &json!({"products": [a, b, b_split]})).await;
    assert_eq!(stored.status, StatusCode::NO_CONTENT, "{}", stored.body);
    let nested = post(
        &app,
        "/v1/products",
        WRITER,
        &json!({"products": [kit("KIT-X", json!([{"sku": "KIT-A", "qty": 1}]), false)]}),
    )
    .await;
    assert_eq!(
        (nested.body["error"]["code"].as_str(), nested.body["error"]["field"].as_str()),
        (Some("invalid_kit"), Some("products[0].components[0]"))
    );
    let stock = post(
        &app,
        "/v1/inventory",
        WRITER,
        &json!({"levels": [{"sku": "KIT-A", "location": "DC-EAST", "on_hand": 9}]}),
    )
    .await;
    assert_eq!(stock.body["error"]["code"], "kit_stock");
    assert_eq!(get(&app, "/v1/products/KIT-A", READER).await.body["components"][1]["sku"], "SKU-C");

    // ATP of a kit: whole kits per location.
    let atp_a = get(&app, "/v1/inventory/KIT-A", READER).await.body;
    assert_eq!(atp_a["atp"], 4, "{atp_a}");
    assert_eq!(atp(&app, "KIT-B").await, 0, "no location can make a whole KIT-B");
    assert_eq!(atp(&app, "KIT-B2").await, 3, "split, the network makes three");

    let mut two = order("k-1", "KIT-A", 2);
    two["lines"][0]["id"] = json!("7");
    let created = post(&app, "/v1/orders", WRITER, &two).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let shipments = created.body["plan"]["shipments"].as_array().unwrap();
    assert_eq!(shipments.len(), 1, "the components ship together: {}", created.body);
    let lines: Vec<(&str, u64)> = shipments[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line_id"].as_str().unwrap(), l["qty"].as_u64().unwrap()))
        .collect();
    assert_eq!(lines, [("7/SKU-A", 2), ("7/SKU-C", 2)]);
    assert_eq!(atp(&app, "SKU-C").await, 2, "reservations are per component");
    assert_eq!(atp(&app, "KIT-A").await, 2);

    let together = post(&app, "/v1/orders", WRITER, &order("k-2", "KIT-B", 1)).await;
    assert_eq!(together.body["plan"]["shipments"], json!([]), "{}", together.body);
    assert_eq!(together.body["status"], "rejected");
    let split = post(&app, "/v1/orders", WRITER, &order("k-3", "KIT-B2", 1)).await;
    assert_eq!(split.body["plan"]["shipments"].as_array().unwrap().len(), 2, "{}", split.body);
    // Three kits from one location: only two SKU-C units are left anywhere, so the line ships
    // whole or not at all; no half kit leaves with SKU-A alone.
    let before = atp(&app, "SKU-A").await;
    let short = post(&app, "/v1/orders", WRITER, &order("k-4", "KIT-A", 3)).await;
    assert_eq!(short.body["status"], "rejected", "{}", short.body);
    assert_eq!(
        short.body["plan"]["unfilled"],
        json!([{"line_id": "1/SKU-A", "sku": "SKU-A", "qty": 3}, {"line_id": "1/SKU-C", "sku": "SKU-C", "qty": 3}])
    );
    assert_eq!(atp(&app, "SKU-A").await, before);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_kit_rerouted_after_a_rejection_stays_together() {
    let (dir, service, app) = seeded(900).await;
    // A heavy bench and the kit of a tee (SKU-A) and a bench.
    let bench = json!({"sku": "BENCH", "group": "apparel", "weight_kg": 30.0});
    let kit = json!({"sku": "KIT-AH", "group": "apparel", "weight_kg": 31.0,
        "components": [{"sku": "SKU-A", "qty": 1}, {"sku": "BENCH", "qty": 1}]});
    let stored = post(&app, "/v1/products", WRITER, &json!({"products": [bench, kit]})).await;
    assert_eq!(stored.status, StatusCode::NO_CONTENT, "{}", stored.body);
    // Tees are in New York and Los Angeles; benches there and in Chicago. Alone, a bench for
    // Philadelphia would come from Chicago, much nearer than Los Angeles.
    let level = |location: &str| json!({"sku": "BENCH", "location": location, "on_hand": 5});
    let levels = json!({"levels": [level("DC-EAST"), level("DC-WEST"), level("ST-CHI")]});
    assert_eq!(post(&app, "/v1/inventory", WRITER, &levels).await.status, StatusCode::NO_CONTENT);
    let created = post(&app, "/v1/orders", WRITER, &order("kr-1", "KIT-AH", 1)).await;
    assert_eq!(created.body["plan"]["shipments"][0]["location"], "DC-EAST", "{}", created.body);
    let rejected = post(
        &app,
        "/v1/orders/kr-1/events",
        WRITER,
        &json!({"event": "rejected", "location": "DC-EAST", "reason": "flooded"}),
    )
    .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let shipments = rejected.body["plan"]["shipments"].as_array().unwrap();
    let open: Vec<&str> =
        shipments.iter().filter(|s| s["state"] == "open").map(|s| s["location"].as_str().unwrap()).collect();
    assert_eq!(open, ["DC-WEST"], "the kit moves whole to the one location with both: {}", rejected.body);
    assert_eq!(shipments.last().unwrap()["lines"].as_array().unwrap().len(), 2);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_return_goes_where_the_policy_says_and_restocks_what_is_sellable() {
    let (dir, service, app) = seeded(900).await;
    // DC-WEST takes returns of everything, ST-CHI only of apparel; DC-EAST takes none.
    for (id, capabilities) in [("DC-WEST", json!(["returns"])), ("ST-CHI", json!(["returns:apparel"]))] {
        let mut location = get(&app, &format!("/v1/locations/{id}"), READER).await.body;
        location["capabilities"] = capabilities;
        call(&app, Method::PUT, &format!("/v1/locations/{id}"), Some(WRITER), location.to_string()).await;
    }
    post(&app, "/v1/orders", WRITER, &order("r-1", "SKU-A", 3)).await;
    let early = post(&app, "/v1/orders/r-1/returns", WRITER, &json!({"lines": [{"line_id": "1", "qty": 1}]})).await;
    assert_eq!(
        (early.status, early.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_return"))
    );
    post(&app, "/v1/orders/r-1/ship", WRITER, &json!({})).await;
    let too_many = post(&app, "/v1/orders/r-1/returns", WRITER, &json!({"lines": [{"line_id": "1", "qty": 4}]})).await;
    assert_eq!(too_many.body["error"]["field"], "lines[0]");

    // Philadelphia: Chicago (apparel returns) is nearer and cheaper than Los Angeles.
    let requested = post(
        &app,
        "/v1/orders/r-1/returns",
        WRITER,
        &json!({"lines": [{"line_id": "1", "qty": 2}], "reason": "too small"}),
    )
    .await;
    assert_eq!(requested.status, StatusCode::OK, "{}", requested.body);
    let entry = &requested.body["returns"][0];
    assert_eq!(
        (entry["id"].as_str(), entry["location"].as_str(), entry["status"].as_str()),
        (Some("r-1-R1"), Some("ST-CHI"), Some("requested"))
    );
    assert!(entry["label"]["reference"].as_str().unwrap().starts_with("RMA-"));

    // Chicago goes down for the afternoon: the next return goes to Los Angeles instead.
    let mut chicago = get(&app, "/v1/locations/ST-CHI", READER).await.body;
    chicago["downtime"] = json!([{"from": in_seconds(-3600), "to": in_seconds(3600)}]);
    call(&app, Method::PUT, "/v1/locations/ST-CHI", Some(WRITER), chicago.to_string()).await;
    let second = post(&app, "/v1/orders/r-1/returns", WRITER, &json!({"lines": [{"line_id": "1", "qty": 1}]})).await;
    assert_eq!(second.body["returns"][1]["location"], "DC-WEST", "{}", second.body);
    // Nothing else is left to return.
    let none_left = post(&app, "/v1/orders/r-1/returns", WRITER, &json!({"lines": [{"line_id": "1", "qty": 1}]})).await;
    assert_eq!(none_left.body["error"]["code"], "invalid_return");

    // The first arrives in Chicago: one unit is sellable, the customer is refunded.
    let received = post(
        &app,
        "/v1/orders/r-1/returns/r-1-R1/receive",
        WRITER,
        &json!({"sellable": [{"line_id": "1", "qty": 1}], "outcome": "refund"}),
    )
    .await;
    assert_eq!(received.status, StatusCode::OK, "{}", received.body);
    assert_eq!(
        (received.body["returns"][0]["status"].as_str(), received.body["returns"][0]["outcome"].as_str()),
        (Some("received"), Some("refund"))
    );
    let chicago_a = get(&app, "/v1/inventory/SKU-A", READER).await.body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["location"] == "ST-CHI")
        .cloned()
        .unwrap();
    assert_eq!(chicago_a["on_hand"], 1, "the sellable unit is back in stock where it was received");
    let twice = post(&app, "/v1/orders/r-1/returns/r-1-R1/receive", WRITER, &json!({"outcome": "refund"})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let timeline: Vec<&str> =
        received.body["history"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["reserved", "shipped", "return_requested", "return_requested", "return_received"]);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_return_with_every_return_location_down_is_refused() {
    let (dir, service, app) = seeded(900).await;
    let mut west = get(&app, "/v1/locations/DC-WEST", READER).await.body;
    west["capabilities"] = json!(["returns"]);
    west["downtime"] = json!([{"from": in_seconds(-60), "to": in_seconds(3600)}]);
    call(&app, Method::PUT, "/v1/locations/DC-WEST", Some(WRITER), west.to_string()).await;
    post(&app, "/v1/orders", WRITER, &order("r-2", "SKU-A", 1)).await;
    post(&app, "/v1/orders/r-2/ship", WRITER, &json!({})).await;
    let refused = post(&app, "/v1/orders/r-2/returns", WRITER, &json!({"lines": [{"line_id": "1", "qty": 1}]})).await;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("no_return_location"))
    );
    assert!(
        refused.body["error"]["message"].as_str().unwrap().contains("DC-WEST (location in planned downtime)"),
        "{}",
        refused.body
    );
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn daily_capacity_resets_at_the_locations_local_midnight() {
    let (dir, service, app) = seeded(900).await;
    // Chicago ships one parcel a day, in its own time zone; SKU-B is only there.
    let mut chicago = get(&app, "/v1/locations/ST-CHI", READER).await.body;
    chicago["capacity_shipments_per_day"] = json!(1);
    chicago["time_zone"] = json!("Mars/Olympus_Mons");
    let bad = call(&app, Method::PUT, "/v1/locations/ST-CHI", Some(WRITER), chicago.to_string()).await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("time_zone"))
    );
    chicago["time_zone"] = json!("America/Chicago");
    assert_eq!(
        call(&app, Method::PUT, "/v1/locations/ST-CHI", Some(WRITER), chicago.to_string()).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(&app, "/v1/locations/ST-CHI", READER).await.body["time_zone"], "America/Chicago");
    assert_eq!(service.refresh_time_zones().await, 0, "already current");
    let placed = |id: &str, at: &str| {
        let mut o = order(id, "SKU-B", 1);
        o["placed_at"] = json!(at);
        o
    };
    // 23:30 UTC and 03:00 UTC the next day are both the evening of 26 November in Chicago
    // (UTC-6 in November): one local day, one parcel.
    let first = post(&app, "/v1/orders", WRITER, &placed("tz-1", "2026-11-26T23:30:00Z")).await;
    assert_eq!(first.body["status"], "reserved", "{}", first.body);
    let same_day = post(&app, "/v1/orders", WRITER, &placed("tz-2", "2026-11-27T03:00:00Z")).await;
    assert_eq!(same_day.body["status"], "rejected", "the day's capacity is used: {}", same_day.body);
    // 07:00 UTC on the 27th is after Chicago's midnight: a new day.
    let next_day = post(&app, "/v1/orders", WRITER, &placed("tz-3", "2026-11-27T07:00:00Z")).await;
    assert_eq!(next_day.body["status"], "reserved", "{}", next_day.body);
    assert_eq!(next_day.body["held_shipments"][0]["day"], first.body["held_shipments"][0]["day"].as_i64().unwrap() + 1);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn short_units_wait_for_inbound_stock_and_are_served_in_order_of_placement() {
    let (dir, service, app) = seeded(900).await;
    // The merchant's policy lets short units wait two weeks for inbound stock.
    bind_backordering_policy(&app).await;
    // SKU-B: 3 on hand in Chicago; 4 due at DC-EAST in a week, 10 more in a month.
    let week = in_seconds(7 * 86_400);
    let inbound = post(
        &app,
        "/v1/inventory/inbound",
        WRITER,
        &json!({"entries": [
            {"sku": "SKU-B", "location": "DC-EAST", "qty": 4, "expected_at": week},
            {"sku": "SKU-B", "location": "DC-EAST", "qty": 10, "expected_at": in_seconds(30 * 86_400)}
        ]}),
    )
    .await;
    assert_eq!(inbound.status, StatusCode::CREATED, "{}", inbound.body);
    let first_inbound = inbound.body["inbound"][0]["id"].as_str().unwrap().to_owned();

    // 5 ordered: 3 ship now from Chicago, 2 wait for the week's delivery.
    let first = post(&app, "/v1/orders", WRITER, &order("b-1", "SKU-B", 5)).await;
    assert_eq!(first.body["status"], "reserved", "{}", first.body);
    assert_eq!(first.body["backorders"][0]["qty"], 2);
    assert_eq!(first.body["backorders"][0]["promise_date"], week.as_str());
    assert_eq!(first.body["plan"]["unfilled"], json!([]));
    // 3 more: nothing on hand; 2 of the week's 4 are left for it, the month's are too late.
    let second = post(&app, "/v1/orders", WRITER, &order("b-2", "SKU-B", 3)).await;
    assert_eq!(second.body["status"], "backordered", "{}", second.body);
    assert_eq!(second.body["backorders"][0]["qty"], 2);
    assert_eq!(second.body["plan"]["unfilled"][0]["qty"], 1, "{}", second.body);
    let listed = get(&app, "/v1/inventory/inbound", READER).await.body;
    assert_eq!(listed["inbound"][0]["allocated"], 4);

    // Only 3 of the 4 arrive: the first order is served whole, the second falls short.
    let received =
        post(&app, &format!("/v1/inventory/inbound/{first_inbound}/receive"), WRITER, &json!({"qty": 3})).await;
    assert_eq!(received.status, StatusCode::OK, "{}", received.body);
    let first = get(&app, "/v1/orders/b-1", READER).await.body;
    assert_eq!(
        (first["status"].as_str(), first["backorders"][0]["status"].as_str()),
        (Some("confirmed"), Some("allocated"))
    );
    let shipments = first["plan"]["shipments"].as_array().unwrap();
    assert_eq!(shipments.last().unwrap()["location"], "DC-EAST");
    let second = get(&app, "/v1/orders/b-2", READER).await.body;
    assert_eq!(second["backorders"][0]["status"], "short", "{second}");
    assert!(second["history"].as_array().unwrap().iter().any(|e| e["event"] == "backorder_short"));
    // DC-EAST: 3 received, 2 reserved for b-1; one unit free.
    let east = get(&app, "/v1/inventory/SKU-B", READER).await.body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["location"] == "DC-EAST")
        .cloned()
        .unwrap();
    assert_eq!((east["on_hand"].as_u64(), east["reserved"].as_u64()), (Some(3), Some(2)));
    let again = post(&app, &format!("/v1/inventory/inbound/{first_inbound}/receive"), WRITER, &json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let (on_hand, reserved) = service.totals();
    assert_eq!((on_hand, reserved), (17 + 3, 3 + 2));
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn cancelling_a_backordered_order_gives_its_inbound_units_back() {
    let (dir, service, app) = seeded(900).await;
    bind_backordering_policy(&app).await;
    // SKU-C is hazmat: the policy excludes DC-WEST (no hazmat capability), so inbound stock
    // there is never promised; DC-EAST's is.
    let entry = json!({"entries": [
        {"sku": "SKU-C", "location": "DC-WEST", "qty": 5, "expected_at": in_seconds(3_600)},
        {"sku": "SKU-C", "location": "DC-EAST", "qty": 5, "expected_at": in_seconds(86_400)}
    ]});
    let inbound =
        post(&app, "/v1/inventory/inbound", WRITER, &entry).await.body["inbound"][1]["id"].as_str().unwrap().to_owned();
    // SKU-C: 2 on hand at DC-EAST; 6 ordered, 4 wait for DC-EAST's inbound.
    let created = post(&app, "/v1/orders", WRITER, &order("bc-1", "SKU-C", 6)).await;
    assert_eq!(created.body["backorders"][0]["qty"], 4, "{}", created.body);
    assert_eq!(created.body["backorders"][0]["location"], "DC-EAST", "{}", created.body);
    assert_eq!(get(&app, "/v1/inventory/inbound", READER).await.body["inbound"][1]["allocated"], 4);
    assert_eq!(get(&app, "/v1/inventory/inbound", READER).await.body["inbound"][0]["allocated"], 0);
    let cancelled = post(&app, "/v1/orders/bc-1/cancel", WRITER, &json!({})).await;
    assert_eq!(cancelled.body["backorders"][0]["status"], "cancelled", "{}", cancelled.body);
    assert_eq!(get(&app, "/v1/inventory/inbound", READER).await.body["inbound"][1]["allocated"], 0);
    post(&app, &format!("/v1/inventory/inbound/{inbound}/receive"), WRITER, &json!({})).await;
    assert_eq!(
        get(&app, "/v1/orders/bc-1", READER).await.body["status"],
        "cancelled",
        "a cancelled order is not served"
    );
    assert_eq!(atp(&app, "SKU-C").await, 9);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn preorders_are_accepted_up_to_the_cap_and_ship_after_release() {
    let (dir, service, app) = seeded(900).await;
    let release = in_seconds(10 * 86_400);
    let product =
        json!({"sku": "SKU-N", "group": "apparel", "weight_kg": 1.0, "release_at": release, "preorder_cap": 3});
    assert_eq!(
        post(&app, "/v1/products", WRITER, &json!({"products": [product]})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(&app, "/v1/products/SKU-N", READER).await.body["preorder_cap"], 3);
    let entry =
        json!({"entries": [{"sku": "SKU-N", "location": "DC-EAST", "qty": 5, "expected_at": in_seconds(3 * 86_400)}]});
    let inbound =
        post(&app, "/v1/inventory/inbound", WRITER, &entry).await.body["inbound"][0]["id"].as_str().unwrap().to_owned();

    // The reference policy has no backorder rule; a preorder waits anyway, promised for the
    // release (later than the stock's arrival).
    let first = post(&app, "/v1/orders", WRITER, &order("p-1", "SKU-N", 2)).await;
    assert_eq!(first.body["status"], "backordered", "{}", first.body);
    let backorder = &first.body["backorders"][0];
    assert_eq!(
        (backorder["preorder"].as_bool(), backorder["promise_date"].as_str()),
        (Some(true), Some(release.as_str()))
    );
    let over = post(&app, "/v1/orders", WRITER, &order("p-2", "SKU-N", 2)).await;
    assert_eq!(
        (over.status, over.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("preorder_cap_reached"))
    );
    assert_eq!(over.body["error"]["field"], "lines[0].qty");
    assert_eq!(
        get(&app, "/v1/orders/p-2", READER).await.status,
        StatusCode::NOT_FOUND,
        "nothing of a refused order stays"
    );
    assert_eq!(post(&app, "/v1/orders", WRITER, &order("p-3", "SKU-N", 1)).await.body["status"], "backordered");
    // A cancelled preorder frees its place under the cap.
    post(&app, "/v1/orders/p-3/cancel", WRITER, &json!({})).await;
    assert_eq!(post(&app, "/v1/orders", WRITER, &order("p-4", "SKU-N", 1)).await.body["status"], "backordered");

    // The stock arrives before the release: reserved for the preorders, but nothing ships yet.
    post(&app, &format!("/v1/inventory/inbound/{inbound}/receive"), WRITER, &json!({})).await;
    let allocated = get(&app, "/v1/orders/p-1", READER).await.body;
    assert_eq!(allocated["status"], "confirmed", "{allocated}");
    let early = post(&app, "/v1/orders/p-1/ship", WRITER, &json!({})).await;
    assert_eq!((early.status, early.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_released")));
    assert_eq!(atp(&app, "SKU-N").await, 2, "5 received, 3 promised to preorders");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_plugin_may_ask_for_backorders_too() {
    let (dir, service, app) = seeded(900).await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins/plugin_hostile.wasm");
    let plugin = call(&app, Method::POST, "/v1/plugins?name=hostile", Some(ADMIN), std::fs::read(path).unwrap()).await;
    let version = plugin.body["version"].as_str().unwrap().to_owned();
    call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), json!({"version": version}).to_string()).await;
    let entry =
        json!({"entries": [{"sku": "SKU-B", "location": "DC-WEST", "qty": 5, "expected_at": in_seconds(86_400)}]});
    post(&app, "/v1/inventory/inbound", WRITER, &entry).await;
    let mut waiting = order("pb-1", "SKU-B", 5);
    waiting["channel"] = json!("backorder");
    let created = post(&app, "/v1/orders", WRITER, &waiting).await;
    assert_eq!(created.body["backorders"][0]["qty"], 2, "{}", created.body);
    let mut plain = order("pb-2", "SKU-B", 5);
    plain["channel"] = json!("web");
    let short = post(&app, "/v1/orders", WRITER, &plain).await;
    assert!(short.body.get("backorders").is_none(), "{}", short.body);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn backorders_and_preorder_counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let release = in_seconds(10 * 86_400);
    let inbound_id = {
        let service = Service::open(config(dir.path(), 900)).await.unwrap();
        seed(&service).await;
        let app = switchyard_host::app(Arc::clone(&service));
        let product =
            json!({"sku": "SKU-N", "group": "apparel", "weight_kg": 1.0, "release_at": release, "preorder_cap": 3});
        post(&app, "/v1/products", WRITER, &json!({"products": [product]})).await;
        let entry =
            json!({"entries": [{"sku": "SKU-N", "location": "DC-EAST", "qty": 5, "expected_at": in_seconds(86_400)}]});
        let id = post(&app, "/v1/inventory/inbound", WRITER, &entry).await.body["inbound"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(post(&app, "/v1/orders", WRITER, &order("rs-1", "SKU-N", 2)).await.body["status"], "backordered");
        id
    };
    let service = Service::open(config(dir.path(), 900)).await.unwrap();
    let app = switchyard_host::app(Arc::clone(&service));
    // The cap still counts the preorder placed before the restart.
    let over = post(&app, "/v1/orders", WRITER, &order("rs-2", "SKU-N", 2)).await;
    assert_eq!(over.body["error"]["code"], "preorder_cap_reached", "{}", over.body);
    assert_eq!(get(&app, "/v1/inventory/inbound", READER).await.body["inbound"][0]["allocated"], 2);
    // And the receipt still serves the order that waited across it.
    post(&app, &format!("/v1/inventory/inbound/{inbound_id}/receive"), WRITER, &json!({})).await;
    let served = get(&app, "/v1/orders/rs-1", READER).await.body;
    assert_eq!(
        (served["status"].as_str(), served["backorders"][0]["status"].as_str()),
        (Some("confirmed"), Some("allocated")),
        "{served}"
    );
}

#[tokio::test]
async fn a_plugin_that_chooses_its_own_plan_gets_it_reserved_or_refused() {
    let (dir, service, app) = seeded(900).await;
    let upload = |name: &'static str| {
        let app = app.clone();
        async move {
            let path = format!("{}/../target/plugins/plugin_{name}.wasm", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(&path).expect("run scripts/build-plugins first");
            let uploaded = call(&app, Method::POST, &format!("/v1/plugins?name={name}"), Some(ADMIN), bytes).await;
            assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
            uploaded.body["version"].as_str().unwrap().to_owned()
        }
    };
    let nearest = upload("nearest").await;
    let bind = json!({"version": nearest}).to_string();
    assert_eq!(call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), bind).await.status, StatusCode::OK);
    // Seven units for Philadelphia: the five at DC-EAST (nearest), then two from DC-WEST.
    let created = post(&app, "/v1/orders", WRITER, &order("np-1", "SKU-A", 7)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body["held_units"],
        json!([{"sku": "SKU-A", "location": "DC-EAST", "qty": 5}, {"sku": "SKU-A", "location": "DC-WEST", "qty": 2}]),
        "{}",
        created.body
    );
    assert_eq!(created.body["plan"]["optimal"], false);
    assert!(created.body["plan"]["policy"].as_str().unwrap().starts_with("nearest@"), "{}", created.body);
    assert_eq!(atp(&app, "SKU-A").await, 3);

    // A plan that takes more than there is: refused with the rule, nothing held.
    let hostile = upload("hostile").await;
    let bind = json!({"version": hostile}).to_string();
    assert_eq!(call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), bind).await.status, StatusCode::OK);
    let mut greedy = order("np-2", "SKU-B", 1);
    greedy["channel"] = json!("bad-plan-over-stock");
    let refused = post(&app, "/v1/orders", WRITER, &greedy).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "policy_failed");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("chose a plan it may not: the plan ships 1000000 units of line 0"), "{message}");
    assert_eq!(atp(&app, "SKU-B").await, 3, "a refused plan holds nothing");
    assert_restart_matches(dir.path(), &service).await;
}

// A binding's plugin parameters are stored with it (and the order routed under them keeps
// them): the plugin routes with them now and after a restart, on either store.
#[tokio::test]
async fn a_bindings_plugin_parameters_are_stored_and_route_after_a_restart() {
    let (dir, service, app) = seeded(900).await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins/plugin_reference.wasm");
    let bytes = std::fs::read(path).expect("run scripts/build-plugins first");
    let uploaded = call(&app, Method::POST, "/v1/plugins?name=reference", Some(ADMIN), bytes).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    assert_eq!(uploaded.body["parameters"].as_array().map(Vec::len), Some(4), "{}", uploaded.body);
    let version = uploaded.body["version"].as_str().unwrap().to_owned();
    // An unfilled unit at $1 is cheaper than any shipment: the plugin leaves it unfilled.
    let bind = json!({"version": version, "parameters": {"unfilled_penalty": 1}}).to_string();
    let bound = call(&app, Method::PUT, "/v1/bindings/apparel", Some(ADMIN), bind).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    let routed = post(&app, "/v1/orders/route", WRITER, &order("pp-1", "SKU-A", 1)).await;
    assert_eq!(routed.status, StatusCode::OK, "{}", routed.body);
    assert_eq!(routed.body["plan"]["shipments"], json!([]), "{}", routed.body);
    assert_eq!(routed.body["plan"]["cost"]["unfilled_penalty"], 1.0, "{}", routed.body);
    // Shadowed with other values (its defaults) before they are bound: the shadow ships the
    // unit the live binding leaves unfilled. Values the plugin does not take are refused.
    let shadow = json!({"version": version, "parameters": {"unfilled_penalty": "1"}}).to_string();
    let refused = call(&app, Method::PUT, "/v1/shadows/apparel", Some(ADMIN), shadow).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "invalid_parameter", "{}", refused.body);
    let shadow = json!({"version": version, "parameters": {"unfilled_penalty": 100}}).to_string();
    let started = call(&app, Method::PUT, "/v1/shadows/apparel", Some(ADMIN), shadow).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let created = post(&app, "/v1/orders", WRITER, &order("pp-2", "SKU-A", 1)).await;
    assert!(created.status.is_success(), "{}", created.body);
    let summary = get(&app, "/v1/shadows/apparel", READER).await.body;
    assert_eq!(
        (summary["live_shipments"].as_u64(), summary["shadow_shipments"].as_u64()),
        (Some(0), Some(1)),
        "{summary}"
    );
    assert_restart_matches(dir.path(), &service).await;
    let restarted = Service::open(config(dir.path(), 900)).await.unwrap();
    let app = switchyard_host::app(restarted);
    let routed = post(&app, "/v1/orders/route", WRITER, &order("pp-3", "SKU-A", 1)).await;
    assert_eq!(routed.body["plan"]["cost"]["unfilled_penalty"], 1.0, "{}", routed.body);
}
