//! Regression tests of defects an outside tester found: every write refused whole when it
//! cannot be applied whole (memory and store the same picture after each), bounded inputs,
//! client mistakes answered with a 4xx.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

// Creates order `id` of `qty` SKU-A, ships it, and requests a return of `returned` units.
async fn shipped_and_returned(app: &axum::Router, id: &str, qty: u32, returned: u32) -> String {
    // Returns need a location that takes them.
    let mut west = get(app, "/v1/locations/DC-WEST", READER).await.body;
    west["capabilities"] = json!(["returns"]);
    assert_eq!(post(app, "/v1/locations", WRITER, &json!({"locations": [west]})).await.status, StatusCode::NO_CONTENT);
    assert_eq!(post(app, "/v1/orders", WRITER, &order(id, "SKU-A", qty)).await.status, StatusCode::CREATED);
    assert_eq!(post(app, &format!("/v1/orders/{id}/ship"), WRITER, &json!({})).await.status, StatusCode::OK);
    let requested =
        post(app, &format!("/v1/orders/{id}/returns"), WRITER, &json!({"lines": [{"line_id": "1", "qty": returned}]}))
            .await;
    assert_eq!(requested.status, StatusCode::OK, "{}", requested.body);
    requested.body["returns"][0]["id"].as_str().unwrap().to_owned()
}

async fn on_hand(app: &axum::Router, sku: &str, location: &str) -> u64 {
    let atp = get(app, &format!("/v1/inventory/{sku}"), READER).await.body;
    atp["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["location"] == location)
        .map_or(0, |p| p["on_hand"].as_u64().unwrap())
}

#[tokio::test]
async fn a_return_receipt_cannot_restock_a_line_more_than_came_back() {
    let (dir, service, app) = seeded(900).await;
    let return_id = shipped_and_returned(&app, "rr-1", 1, 1).await;
    let before = on_hand(&app, "SKU-A", "DC-WEST").await;
    // The same line fifty times: fifty units for a one-unit return.
    let repeated: Vec<_> = (0..50).map(|_| json!({"line_id": "1", "qty": 1})).collect();
    let uri = format!("/v1/orders/rr-1/returns/{return_id}/receive");
    let refused = post(&app, &uri, WRITER, &json!({"sellable": repeated, "outcome": "refund"})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "invalid_return");
    assert_eq!(refused.body["error"]["field"], "sellable[1]");
    // A line the return does not have.
    let stranger =
        post(&app, &uri, WRITER, &json!({"sellable": [{"line_id": "9", "qty": 0}], "outcome": "refund"})).await;
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", stranger.body);
    assert_eq!(on_hand(&app, "SKU-A", "DC-WEST").await, before, "nothing was restocked");
    let received = post(&app, &uri, WRITER, &json!({"outcome": "refund"})).await;
    assert_eq!(received.status, StatusCode::OK, "{}", received.body);
    assert_eq!(on_hand(&app, "SKU-A", "DC-WEST").await, before + 1);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn return_quantities_do_not_wrap() {
    let (dir, service, app) = seeded(900).await;
    shipped_and_returned(&app, "rw-1", 1, 1).await;
    let huge =
        post(&app, "/v1/orders/rw-1/returns", WRITER, &json!({"lines": [{"line_id": "1", "qty": u32::MAX}]})).await;
    assert_eq!(huge.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", huge.body);
    assert_eq!(huge.body["error"]["code"], "invalid_return");
    let twice = json!({"lines": [{"line_id": "1", "qty": u32::MAX}, {"line_id": "1", "qty": 2}]});
    let wrapped = post(&app, "/v1/orders/rw-1/returns", WRITER, &twice).await;
    assert_eq!(wrapped.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrapped.body);
    assert_eq!(get(&app, "/v1/orders/rw-1", READER).await.body["returns"].as_array().unwrap().len(), 1);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn an_inbound_receipt_past_the_largest_on_hand_is_refused_whole() {
    let (dir, service, app) = seeded(900).await;
    let near_max = json!({"levels": [{"sku": "SKU-A", "location": "DC-EAST", "on_hand": u32::MAX - 5}]});
    assert_eq!(post(&app, "/v1/inventory", WRITER, &near_max).await.status, StatusCode::NO_CONTENT);
    let entry =
        json!({"entries": [{"sku": "SKU-A", "location": "DC-EAST", "qty": 10, "expected_at": in_seconds(3600)}]});
    let inbound =
        post(&app, "/v1/inventory/inbound", WRITER, &entry).await.body["inbound"][0]["id"].as_str().unwrap().to_owned();
    let receipt = post(&app, &format!("/v1/inventory/inbound/{inbound}/receive"), WRITER, &json!({})).await;
    assert_eq!(receipt.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", receipt.body);
    assert_eq!(receipt.body["error"]["code"], "stock_out_of_range");
    assert_eq!(on_hand(&app, "SKU-A", "DC-EAST").await, u64::from(u32::MAX - 5));
    let listed = get(&app, "/v1/inventory/inbound", READER).await.body;
    assert_eq!(listed["inbound"][0]["received"], serde_json::Value::Null, "not received");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn shipping_units_that_are_no_longer_on_hand_is_refused() {
    let (dir, service, app) = seeded(900).await;
    let created = post(&app, "/v1/orders", WRITER, &order("sh-1", "SKU-A", 2)).await;
    assert_eq!(created.body["held_units"][0]["location"], "DC-EAST", "{}", created.body);
    // A count finds one unit where the order holds two.
    let counted = json!({"levels": [{"sku": "SKU-A", "location": "DC-EAST", "on_hand": 1}]});
    assert_eq!(post(&app, "/v1/inventory", WRITER, &counted).await.status, StatusCode::NO_CONTENT);
    let shipped = post(&app, "/v1/orders/sh-1/ship", WRITER, &json!({})).await;
    assert_eq!(shipped.status, StatusCode::CONFLICT, "{}", shipped.body);
    assert_eq!(shipped.body["error"]["code"], "stock_mismatch");
    assert_eq!(get(&app, "/v1/orders/sh-1", READER).await.body["status"], "reserved");
    assert_restart_matches(dir.path(), &service).await;
    // Once the count is corrected, it ships.
    let corrected = json!({"levels": [{"sku": "SKU-A", "location": "DC-EAST", "on_hand": 2}]});
    assert_eq!(post(&app, "/v1/inventory", WRITER, &corrected).await.status, StatusCode::NO_CONTENT);
    assert_eq!(post(&app, "/v1/orders/sh-1/ship", WRITER, &json!({})).await.body["status"], "shipped");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_recurring_order_from_the_distant_past_is_refused() {
    let (dir, service, app) = seeded(900).await;
    let template = json!({"ship_to": {"lat": 39.95, "lon": -75.17}, "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]});
    let ancient = json!({"id": "sub-0", "every": "1s", "start_at": "0000-01-01T00:00:00Z", "order": template.clone()});
    let refused = post(&app, "/v1/recurring-orders", WRITER, &ancient).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "start_at");
    let far = json!({"id": "sub-1", "every": "1s", "start_at": "9999-01-01T00:00:00Z", "order": template});
    assert_eq!(post(&app, "/v1/recurring-orders", WRITER, &far).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_restart_matches(dir.path(), &service).await;
}

#[test]
fn the_next_run_of_a_schedule_is_computed_not_counted_to() {
    use switchyard_engine::Timestamp;
    use switchyard_host::service::Interval;
    let at = |text: &str| Timestamp::parse_rfc3339(text).unwrap();
    // Every second from the year 1, seen in 2026: 63.9 billion runs missed. Counting them one
    // by one would stall the sweeper for hours.
    let (next, missed) = Interval::Seconds(1).next_after(at("0001-01-01T00:00:00Z"), at("2026-11-30T12:00:00Z"));
    assert_eq!(next, at("2026-11-30T12:00:01Z"));
    assert_eq!(missed, 63_931_636_800);
    // Monthly from the 31st: the next run clamps to the month's end.
    let (next, missed) = Interval::Months(1).next_after(at("2026-01-31T08:00:00Z"), at("2026-04-15T00:00:00Z"));
    assert_eq!((next, missed), (at("2026-04-30T08:00:00Z"), 2));
    let (next, missed) = Interval::Months(1).next_after(at("0001-01-01T00:00:00Z"), at("2026-11-30T12:00:00Z"));
    assert_eq!((next, missed), (at("2026-12-01T00:00:00Z"), 24_310));
    // Due exactly now: the run after.
    let (next, missed) = Interval::Seconds(60).next_after(at("2026-11-30T12:00:00Z"), at("2026-11-30T12:00:00Z"));
    assert_eq!((next, missed), (at("2026-11-30T12:01:00Z"), 0));
}

#[tokio::test]
async fn orders_sharing_an_idempotency_key_get_a_client_error_not_a_503() {
    let (dir, service, app) = seeded(900).await;
    let mut handles = Vec::new();
    for n in 0..16 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            let request = axum::http::Request::builder()
                .method(Method::POST)
                .uri("/v1/orders")
                .header("authorization", format!("Bearer {WRITER}"))
                .header("content-type", "application/json")
                .header("idempotency-key", "one-key")
                .body(Body::from(order(&format!("ik-{n}"), "SKU-A", 1).to_string()))
                .unwrap();
            let response = tower::ServiceExt::oneshot(app, request).await.unwrap();
            response.status()
        }));
    }
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s != StatusCode::CREATED).all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let (_dir, _service, app) = seeded(900).await;
    let junk = |from: usize, to: usize| {
        let app = app.clone();
        async move {
            for n in from..to {
                let method = Method::from_bytes(format!("JUNK{n}").as_bytes()).unwrap();
                call(&app, method, &format!("/nowhere/{n}"), None, Body::empty()).await;
            }
            call(&app, Method::GET, "/metrics", None, Body::empty()).await.body.as_str().unwrap().to_owned()
        }
    };
    call(&app, Method::GET, "/metrics", None, Body::empty()).await;
    let after_ten = junk(0, 10).await;
    let after_many = junk(10, 510).await;
    assert!(!after_many.contains("JUNK"), "a made-up method became a label");
    assert!(!after_many.contains("/nowhere"), "a made-up path became a label");
    // The same series; only their counts moved.
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(s, _)| s.to_owned())
            .collect()
    };
    assert_eq!(series(&after_ten), series(&after_many));
}

#[tokio::test]
async fn a_json_array_is_not_an_object() {
    let (dir, service, app) = seeded(900).await;
    post(&app, "/v1/orders", WRITER, &order("ja-1", "SKU-A", 1)).await;
    let cancel = call(&app, Method::POST, "/v1/orders/ja-1/cancel", Some(WRITER), "[]").await;
    assert_eq!(cancel.status, StatusCode::BAD_REQUEST, "{}", cancel.body);
    assert_eq!(get(&app, "/v1/orders/ja-1", READER).await.body["status"], "reserved");
    let positional = json!(["ja-2", null, "web", null, null, [39.95, -75.17, "19103", "US"], [["1", "SKU-A", 1]]]);
    let created = post(&app, "/v1/orders", WRITER, &positional).await;
    assert_eq!(created.status, StatusCode::BAD_REQUEST, "{}", created.body);
    assert_eq!(created.body["error"]["code"], "invalid_body");
    let nested = json!({"id": "ja-3", "ship_to": [39.95, -75.17], "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]});
    let refused = post(&app, "/v1/orders", WRITER, &nested).await;
    assert_eq!((refused.status, refused.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("ship_to")));
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_scheduled_preorder_keeps_to_the_cap_and_is_backordered_when_due() {
    let (dir, service, app) = seeded(900).await;
    let release = in_seconds(10 * 86_400);
    let product =
        json!({"sku": "SKU-N", "group": "apparel", "weight_kg": 1.0, "release_at": release, "preorder_cap": 3});
    assert_eq!(
        post(&app, "/v1/products", WRITER, &json!({"products": [product]})).await.status,
        StatusCode::NO_CONTENT
    );
    let entry =
        json!({"entries": [{"sku": "SKU-N", "location": "DC-EAST", "qty": 5, "expected_at": in_seconds(3 * 86_400)}]});
    assert_eq!(post(&app, "/v1/inventory/inbound", WRITER, &entry).await.status, StatusCode::CREATED);
    // Held for a second, within the cap.
    let mut held = order("sp-1", "SKU-N", 2);
    held["hold_until"] = json!(in_seconds(1));
    assert_eq!(post(&app, "/v1/orders", WRITER, &held).await.body["status"], "scheduled");
    // Changing it to more than the cap allows is refused.
    let mut more = held.clone();
    more["lines"][0]["qty"] = json!(5);
    let changed = call(&app, Method::PUT, "/v1/orders/sp-1", Some(WRITER), more.to_string()).await;
    assert_eq!(changed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", changed.body);
    assert_eq!(changed.body["error"]["code"], "preorder_cap_reached");
    // When due, it is backordered, as the same order placed directly is.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(service.route_due().await, 1);
    let routed = get(&app, "/v1/orders/sp-1", READER).await.body;
    assert_eq!(routed["status"], "backordered", "{routed}");
    assert_eq!(routed["backorders"][0]["preorder"], true);
    let direct = post(&app, "/v1/orders", WRITER, &order("sp-2", "SKU-N", 1)).await;
    assert_eq!(direct.body["status"], "backordered", "{}", direct.body);
    // The cap counts the scheduled order's units: 2 + 1 = 3, the next is refused.
    let over = post(&app, "/v1/orders", WRITER, &order("sp-3", "SKU-N", 1)).await;
    assert_eq!(over.body["error"]["code"], "preorder_cap_reached", "{}", over.body);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_policy_of_doubling_lets_uploads_and_routes() {
    let (dir, service, app) = seeded(900).await;
    let mut source = String::from("policy doubling v1 applies to all groups {\n let a0 = item.weight_kg\n");
    for n in 1..=40 {
        source.push_str(&format!(" let a{n} = a{} + a{}\n", n - 1, n - 1));
    }
    source.push_str(" unit cost = $0.01 * a40 / a39\n shipment cost = $5\n short stock: partial at $100\n}\n");
    let uploaded = call(&app, Method::POST, "/v1/policies?name=doubling", Some(ADMIN), source).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let version = uploaded.body["version"].as_str().unwrap();
    let bound =
        call(&app, Method::PUT, "/v1/bindings/default", Some(ADMIN), json!({"version": version}).to_string()).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    let routed = post(&app, "/v1/orders/route", READER, &order("db-1", "SKU-A", 1)).await;
    assert_eq!(routed.status, StatusCode::OK, "{}", routed.body);
    // 2^40 / 2^39 = 2: every unit costs two cents.
    assert_eq!(routed.body["plan"]["shipments"][0]["lines"][0]["unit_cost"], 0.02);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn oversized_ids_and_orders_are_refused_before_any_work() {
    let (dir, service, app) = seeded(900).await;
    let long = "x".repeat(200);
    let refused = post(&app, "/v1/orders", WRITER, &order(&long, "SKU-A", 1)).await;
    assert_eq!(
        (refused.status, refused.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("id"))
    );
    let mut many = order("big-1", "SKU-A", 1);
    many["lines"] = (0..201).map(|n| json!({"id": n.to_string(), "sku": "NOPE", "qty": 1})).collect();
    let refused = post(&app, "/v1/orders", WRITER, &many).await;
    // The line count is refused, not the first unknown SKU: no per-line work was done.
    assert_eq!(
        (refused.status, refused.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("lines"))
    );
    let mut location = get(&app, "/v1/locations/DC-EAST", READER).await.body;
    location["id"] = json!(long);
    let refused = post(&app, "/v1/locations", WRITER, &json!({"locations": [location]})).await;
    assert_eq!(refused.body["error"]["field"], "locations[0].id", "{}", refused.body);
    let reason = "why ".repeat(500);
    post(&app, "/v1/orders", WRITER, &order("big-2", "SKU-A", 1)).await;
    let refused = post(&app, "/v1/orders/big-2/cancel", WRITER, &json!({"reason": reason})).await;
    assert_eq!(refused.body["error"]["field"], "reason", "{}", refused.body);
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let settings = switchyard_host::Config { allow_private_webhooks: false, ..config(dir.path(), 900) };
    let service = switchyard_host::Service::open(settings).await.unwrap();
    let app = switchyard_host::app(std::sync::Arc::clone(&service));
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://10.0.0.7/x",
        "http://localhost/x",
    ] {
        let refused = post(&app, "/v1/webhooks", ADMIN, &json!({"url": url, "events": ["*"]})).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", refused.body);
        assert_eq!(refused.body["error"]["field"], "url");
    }
    let credentials =
        post(&app, "/v1/webhooks", ADMIN, &json!({"url": "https://a:b@example.com/x", "events": ["*"]})).await;
    assert_eq!(credentials.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", credentials.body);
}

// A subscriber that accepts connections and never answers.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    url
}

// A subscriber that answers 200 and counts what it got.
async fn counting_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&count);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = std::sync::Arc::clone(&seen);
            async move {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_subscriber_delays_only_itself() {
    let (dir, service, app) = seeded(900).await;
    let dead = black_hole().await;
    let (alive, received) = counting_receiver().await;
    for url in [&dead, &alive] {
        let subscribed = post(&app, "/v1/webhooks", ADMIN, &json!({"url": url, "events": ["order.reserved"]})).await;
        assert_eq!(subscribed.status, StatusCode::CREATED, "{}", subscribed.body);
    }
    for n in 0..3 {
        post(&app, "/v1/orders", WRITER, &order(&format!("dd-{n}"), "SKU-A", 1)).await;
    }
    let round = {
        let service = std::sync::Arc::clone(&service);
        tokio::spawn(async move { service.deliver_due().await })
    };
    // The live subscriber gets all three while the dead one's first attempt still hangs
    // (it gives up after 5 s).
    for _ in 0..100 {
        if received.load(std::sync::atomic::Ordering::SeqCst) == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(!round.is_finished(), "the dead subscriber's lane is still waiting");
    round.await.unwrap();
    let listed = get(&app, "/v1/webhooks", ADMIN).await.body;
    let dead_lane =
        listed["webhooks"].as_array().unwrap().iter().find(|w| w["subscription"]["url"] == dead.as_str()).unwrap();
    let attempts: Vec<u64> =
        dead_lane["recent_deliveries"].as_array().unwrap().iter().map(|d| d["attempts"].as_u64().unwrap()).collect();
    assert_eq!(attempts.iter().sum::<u64>(), 1, "one failed attempt, then the lane backs off: {attempts:?}");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn finished_deliveries_are_pruned_and_a_full_queue_drops_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let settings =
        switchyard_host::Config { delivery_retention: 3, max_pending_deliveries: 2, ..config(dir.path(), 900) };
    let service = switchyard_host::Service::open(settings).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(std::sync::Arc::clone(&service));
    let (alive, received) = counting_receiver().await;
    post(&app, "/v1/webhooks", ADMIN, &json!({"url": alive, "events": ["order.reserved"]})).await;
    for n in 0..8 {
        post(&app, "/v1/orders", WRITER, &order(&format!("pr-{n}"), "SKU-A", 1)).await;
        service.deliver_due().await;
    }
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 8);
    let listed = get(&app, "/v1/webhooks", ADMIN).await.body;
    assert_eq!(listed["webhooks"][0]["recent_deliveries"].as_array().unwrap().len(), 3, "kept: the latest three");
    assert_restart_matches(dir.path(), &service).await;

    // A subscriber that refuses every connection: two wait, the rest are dropped, visibly.
    post(&app, "/v1/webhooks", ADMIN, &json!({"url": "http://127.0.0.1:9/hook", "events": ["order.confirmed"]})).await;
    for n in 0..5 {
        post(&app, &format!("/v1/orders/pr-{n}/confirm"), WRITER, &json!({})).await;
    }
    let listed = get(&app, "/v1/webhooks", ADMIN).await.body;
    let refusing = listed["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["subscription"]["url"] == "http://127.0.0.1:9/hook")
        .unwrap();
    let statuses: Vec<&str> =
        refusing["recent_deliveries"].as_array().unwrap().iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "pending").count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "failed").count(), 3, "{statuses:?}");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn amounts_are_rounded_to_the_cent_and_add_up() {
    let (dir, service, app) = seeded(900).await;
    let mut two_lines = order("mo-1", "SKU-A", 3);
    two_lines["lines"].as_array_mut().unwrap().push(json!({"id": "2", "sku": "SKU-B", "qty": 2}));
    let created = post(&app, "/v1/orders", WRITER, &two_lines).await;
    let plan = &created.body["plan"];
    assert_eq!(plan["currency"], "USD");
    let cents = |value: &serde_json::Value| {
        let amount = value.as_f64().unwrap();
        let cents = (amount * 100.0).round();
        assert!((amount * 100.0 - cents).abs() < 1e-6, "{amount} is not in cents");
        cents as i64
    };
    let cost = &plan["cost"];
    let terms = ["shipments", "units", "split_penalty", "unfilled_penalty"].map(|term| cents(&cost[term]));
    assert_eq!(terms.iter().sum::<i64>(), cents(&cost["total"]), "{cost}");
    let shipments: i64 = plan["shipments"].as_array().unwrap().iter().map(|s| cents(&s["shipment_cost"])).sum();
    assert_eq!(shipments, terms[0]);
    let units: i64 = plan["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["lines"].as_array().unwrap())
        .map(|l| l["qty"].as_i64().unwrap() * cents(&l["unit_cost"]))
        .sum();
    assert_eq!(units, terms[1]);
    let detail = created.body["history"][0]["detail"].as_str().unwrap();
    assert!(detail.contains(" USD by "), "{detail}");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn atp_changes_reach_channels_once_per_sku_per_interval() {
    let (dir, service, app) = seeded(900).await;
    let (url, received) = counting_receiver().await;
    post(&app, "/v1/webhooks", ADMIN, &json!({"url": url, "events": ["inventory.atp_changed"]})).await;
    let kit = json!({"sku": "KIT-AC", "group": "apparel", "weight_kg": 3.0,
        "components": [{"sku": "SKU-A", "qty": 1}, {"sku": "SKU-C", "qty": 1}]});
    post(&app, "/v1/products", WRITER, &json!({"products": [kit]})).await;
    // The seeding's stock is published first (every seeded SKU moved from nothing).
    assert_eq!(service.publish_atp_changes().await.unwrap(), 4, "SKU-A, SKU-B, SKU-C and the kit");
    service.deliver_due().await;
    received.store(0, std::sync::atomic::Ordering::SeqCst);
    let start = get(&app, "/v1/inventory/changes", READER).await.body;
    assert_eq!(start["reset"], false, "{start}");
    let cursor = start["cursor"].as_u64().unwrap();
    assert_eq!(cursor, 4);
    // A burst of five orders on SKU-A.
    for n in 0..5 {
        post(&app, "/v1/orders", WRITER, &order(&format!("ac-{n}"), "SKU-A", 1)).await;
    }
    assert_eq!(service.publish_atp_changes().await.unwrap(), 2, "SKU-A and the kit it is part of");
    let page = get(&app, &format!("/v1/inventory/changes?since={cursor}"), READER).await.body;
    let changes = page["changes"].as_array().unwrap();
    let skus: Vec<&str> = changes.iter().map(|c| c["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["SKU-A", "KIT-AC"], "{page}");
    assert_eq!(changes[0]["atp"], 5, "10 on hand, 5 reserved");
    assert_eq!(changes[0]["locations"], json!([{"location": "DC-EAST", "atp": 0}]));
    assert_eq!(changes[1]["atp"], 2, "two whole kits left, at DC-WEST: {page}");
    // Nothing new: an empty page, the same cursor.
    let again = get(&app, &format!("/v1/inventory/changes?since={}", page["cursor"]), READER).await.body;
    assert_eq!((again["changes"].as_array().unwrap().len(), &again["cursor"]), (0, &page["cursor"]));
    assert_eq!(service.publish_atp_changes().await.unwrap(), 0);
    // One event per SKU for the burst.
    service.deliver_due().await;
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 2);
    // A cursor from before what the feed keeps asks for a resync.
    let bad = call(&app, Method::GET, "/v1/inventory/changes?since=nope", Some(READER), Body::empty()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(bad.body["error"]["code"], "bad_request");
    assert_restart_matches(dir.path(), &service).await;
}

#[tokio::test]
async fn a_cursor_older_than_the_feed_asks_for_a_resync() {
    let dir = tempfile::tempdir().unwrap();
    let settings = switchyard_host::Config { atp_feed_retention: 2, ..config(dir.path(), 900) };
    let service = switchyard_host::Service::open(settings).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(std::sync::Arc::clone(&service));
    for (n, sku) in ["SKU-A", "SKU-B", "SKU-C"].iter().enumerate() {
        post(&app, "/v1/orders", WRITER, &order(&format!("rs-{n}"), sku, 1)).await;
        service.publish_atp_changes().await.unwrap();
    }
    let page = get(&app, "/v1/inventory/changes?since=0", READER).await.body;
    assert_eq!(page["reset"], true, "{page}");
    assert_eq!(page["changes"].as_array().unwrap().len(), 2, "the two kept");
    assert_restart_matches(dir.path(), &service).await;
}

// What schemathesis found when the document was first checked against the server: each
// request the document allows is accepted, each it forbids is refused, as the document says.
#[tokio::test]
async fn the_api_accepts_what_its_document_allows_and_refuses_what_it_forbids() {
    let (dir, service, app) = seeded(900).await;
    let doc = get(&app, "/v1/openapi.json", READER).await.body;
    let schemas = &doc["components"]["schemas"];
    // Named string schemas carry the service's own limits.
    use switchyard_host::service::limits;
    assert_eq!(schemas["Id"]["maxLength"], limits::MAX_ID, "{}", schemas["Id"]);
    assert_eq!(schemas["Name"]["maxLength"], limits::MAX_NAME);
    assert_eq!(schemas["Reason"]["maxLength"], limits::MAX_REASON);
    assert_eq!(schemas["RecurringId"]["maxLength"], limits::MAX_RECURRING_ID);
    assert!(schemas["TimeZone"]["enum"].as_array().unwrap().iter().any(|z| z == "America/Chicago"));
    // Unsigned integers say their range; the ATP feed's parameters are query parameters.
    assert_eq!(schemas["LineDto"]["properties"]["qty"]["maximum"], u64::from(u32::MAX));
    assert_eq!(schemas["LineDto"]["properties"]["qty"]["minimum"], 1);
    let feed = &doc["paths"]["/v1/inventory/changes"]["get"]["parameters"];
    assert!(feed.as_array().unwrap().iter().all(|p| p["in"] == "query" && p["required"] != true), "{feed}");
    // Every write declares 503, every body 422.
    assert!(doc["paths"]["/v1/orders/{id}/cancel"]["post"]["responses"]["422"].is_object());
    assert!(doc["paths"]["/v1/orders"]["post"]["responses"]["503"].is_object());

    // JSON has one number type: 1.0 is the integer 1; 1.5 is not a count.
    let mut whole = order("float-1", "SKU-A", 1);
    whole["lines"][0]["qty"] = json!(1.0);
    let created = post(&app, "/v1/orders", WRITER, &whole).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let mut fraction = order("float-2", "SKU-A", 1);
    fraction["lines"][0]["qty"] = json!(1.5);
    let refused = post(&app, "/v1/orders", WRITER, &fraction).await;
    assert_eq!((refused.status, &refused.body["error"]["field"]), (StatusCode::BAD_REQUEST, &json!("lines[0].qty")));
    // An optional body may be `null`.
    let cancelled = call(&app, Method::POST, "/v1/orders/float-1/cancel", Some(WRITER), "null").await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    // A dry run reads its times like an order does.
    let mut dated = order("dry-1", "SKU-A", 1);
    dated["requested_delivery"] = json!("");
    let dry = post(&app, "/v1/orders/route", READER, &dated).await;
    assert_eq!((dry.status, &dry.body["error"]["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_time")));
    // A page size out of range is refused, not silently clamped.
    let page = get(&app, "/v1/inventory/changes?limit=0", READER).await;
    assert_eq!((page.status, &page.body["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("invalid_query")));
    // An Idempotency-Key with a space at its end is not one.
    let request = axum::http::Request::post("/v1/orders")
        .header("authorization", format!("Bearer {WRITER}"))
        .header("idempotency-key", "key ")
        .body(Body::from(order("idem-1", "SKU-A", 1).to_string()))
        .unwrap();
    let reply = tower::ServiceExt::oneshot(app.clone(), request).await.unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    // A recurring order's id leaves room for its orders' `-<n>`.
    let recurring = json!({"id": "r".repeat(101), "every": "weekly",
        "order": {"ship_to": {"lat": 39.95, "lon": -75.17}, "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}]}});
    let refused = post(&app, "/v1/recurring-orders", WRITER, &recurring).await;
    assert_eq!(
        (refused.status, &refused.body["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("too_long"))
    );
    // A unit heavier than any network ships is a typo, not a product.
    let heavy = json!({"products": [{"sku": "SKU-HEAVY", "group": "g", "weight_kg": 1e9}]});
    let refused = post(&app, "/v1/products", WRITER, &heavy).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_restart_matches(dir.path(), &service).await;
}

// One record that cannot be read back (here: an order whose plan lost its cost, as an older
// version wrote non-finite totals) is skipped and reported; the service starts with the rest.
#[tokio::test]
async fn one_unreadable_record_does_not_stop_the_service_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    {
        let service = switchyard_host::Service::open(config(dir.path(), 900)).await.unwrap();
        seed(&service).await;
        let app = switchyard_host::app(std::sync::Arc::clone(&service));
        for id in ["bad-1", "good-1"] {
            assert_eq!(post(&app, "/v1/orders", WRITER, &order(id, "SKU-A", 1)).await.status, StatusCode::CREATED);
        }
    }
    edit_stored_order(dir.path(), "bad-1", |body| {
        let broken = body.replacen("\"total\":", "\"total\":null,\"was\":", 1);
        assert_ne!(broken, body);
        broken
    })
    .await;

    let service = switchyard_host::Service::open(config(dir.path(), 900)).await.expect("starts");
    let skipped = service.unreadable_records();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].contains("order `bad-1`"), "{skipped:?}");
    let app = switchyard_host::app(std::sync::Arc::clone(&service));
    assert_eq!(get(&app, "/v1/orders/good-1", READER).await.status, StatusCode::OK);
    // Asked for, the damaged record is the service's fault, said as such (not "no such order",
    // which would invite a client to place it again); the log names the record.
    let damaged = get(&app, "/v1/orders/bad-1", READER).await;
    assert_eq!(damaged.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", damaged.body);
    let metrics = call(&app, Method::GET, "/metrics", None, Body::empty()).await.body;
    assert!(metrics.as_str().unwrap().contains("switchyard_unreadable_records 1"), "{metrics}");
}
