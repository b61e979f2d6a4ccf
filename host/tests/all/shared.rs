//! Several instances serving one PostgreSQL store together (`Config::shared`), against a
//! real server: three services in this process, each with its own memory, routing orders on
//! scarce stock at once; the store never reserves more than there is, every instance's
//! picture converges on the store's, a binding changed on one routes the next order on the
//! others, and an order id or key taken on one is refused on another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;
use switchyard_host::records::{BandRecord, CarrierServiceRecord, DeliveryStatus, Kind};
use switchyard_host::service::{StockAdjustment, StockLevel};
use switchyard_host::{Config, Service};

use crate::support::*;

fn shared_config(dir: &std::path::Path, schema: &str, instance: usize) -> Config {
    let data = dir.join(format!("instance-{instance}"));
    std::fs::create_dir_all(&data).unwrap();
    Config {
        store: Some(database_url()),
        store_schema: Some(schema.to_owned()),
        shared: true,
        store_connections: 8,
        ..config(&data, 900)
    }
}

// Three instances on one fresh schema, each following the feed, the first seeded.
async fn three_instances() -> (tempfile::TempDir, String, Vec<Arc<Service>>) {
    let (dir, schema, instances) = seeded_instances(3, 900).await;
    for instance in &instances {
        let following = Arc::clone(instance);
        tokio::spawn(async move { following.follow_changes().await });
    }
    (dir, schema, instances)
}

// `count` instances on one fresh schema (reservations lapsing after `ttl` seconds), the first
// seeded; none follows the feed (the test calls `catch_up` when it wants them to).
async fn seeded_instances(count: usize, ttl: u64) -> (tempfile::TempDir, String, Vec<Arc<Service>>) {
    let dir = tempfile::tempdir().unwrap();
    let schema = schema_for(dir.path());
    let config = |n| Config { reservation_ttl_secs: ttl, ..shared_config(dir.path(), &schema, n) };
    let first = Service::open_shared(config(0)).await.unwrap();
    seed(&first).await;
    let mut instances = vec![first];
    for n in 1..count {
        instances.push(Service::open_shared(config(n)).await.unwrap());
    }
    (dir, schema, instances)
}

// Polls `check` until it holds, for at most `within`.
async fn within(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// `(sku, location, on_hand, reserved, safety_stock)` of every position, as the store has them.
async fn stored_positions(schema: &str) -> Vec<(String, String, u32, u32, u32)> {
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT sku, location, on_hand, reserved, safety_stock FROM {schema}.stock ORDER BY sku, location"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    rows.into_iter().map(|(s, l, h, r, k)| (s, l, h as u32, r as u32, k as u32)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_route_concurrent_orders_on_scarce_stock_without_overselling() {
    let (_dir, schema, instances) = three_instances().await;
    // Scarce: 8,000 units of three SKUs for 20,000 orders of one or two units.
    let level = |sku: &str, location: &str, on_hand| StockLevel {
        sku: sku.into(),
        location: location.into(),
        on_hand,
        safety_stock: 5,
    };
    instances[1]
        .set_stock(vec![
            level("SKU-A", "DC-EAST", 2_000),
            level("SKU-A", "DC-WEST", 2_000),
            level("SKU-B", "ST-CHI", 2_000),
            level("SKU-C", "DC-EAST", 1_000),
            level("SKU-C", "DC-WEST", 1_000),
        ])
        .await
        .unwrap();
    let apps: Vec<_> = instances.iter().map(|s| switchyard_host::app(Arc::clone(s))).collect();
    let orders = 20_000usize;
    let clients = 24;
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let apps = apps.clone();
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            for n in (client..orders).step_by(clients) {
                let app = &apps[n % 3];
                let sku = ["SKU-A", "SKU-B", "SKU-C"][n % 3];
                let id = format!("S-{n:05}");
                let created = post(app, "/v1/orders", WRITER, &order(&id, sku, 1 + (n % 2) as u32)).await;
                assert!(
                    created.status == StatusCode::CREATED || created.status == StatusCode::CONFLICT,
                    "{id}: {} {}",
                    created.status,
                    created.body
                );
                // Every seventh order is cancelled on another instance than created it.
                if created.status == StatusCode::CREATED && created.body["status"] == "reserved" && n % 7 == 0 {
                    let other = &apps[(n + 1) % 3];
                    let cancelled =
                        call(other, Method::POST, &format!("/v1/orders/{id}/cancel"), Some(WRITER), "{}").await;
                    assert_eq!(cancelled.status, StatusCode::OK, "{id}: {}", cancelled.body);
                }
                outcomes.push((id, created.status, created.body["status"].as_str().unwrap_or("").to_owned()));
            }
            outcomes
        });
    }
    let mut reserved_orders = 0;
    while let Some(outcomes) = tasks.join_next().await {
        reserved_orders += outcomes.unwrap().iter().filter(|(_, _, status)| status == "reserved").count();
    }
    assert!(reserved_orders > 0);

    // The store: never more reserved than on hand less safety stock, and exactly the units
    // the orders that hold stock hold.
    let positions = stored_positions(&schema).await;
    for (sku, location, on_hand, reserved, safety) in &positions {
        assert!(reserved + safety <= *on_hand, "{sku} at {location}: {reserved} reserved + {safety} > {on_hand}");
    }
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    let held: Vec<(String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT u ->> 'sku', u ->> 'location', SUM((u ->> 'qty')::bigint)::bigint
         FROM {schema}.orders, jsonb_array_elements(body::jsonb -> 'held_units') AS u
         WHERE status IN ('reserved', 'confirmed', 'partially_shipped') GROUP BY 1, 2 ORDER BY 1, 2"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    let counted: Vec<(String, String, i64)> = positions
        .iter()
        .filter(|p| p.3 > 0)
        .map(|(sku, location, _, reserved, _)| (sku.clone(), location.clone(), i64::from(*reserved)))
        .collect();
    assert_eq!(counted, held, "the store's reserved counts are the units its open orders hold");
    let sold: u32 = positions.iter().map(|p| p.3).sum();
    let stock: u32 = positions.iter().map(|p| p.2 - p.4).sum();
    assert!(sold <= stock && sold > 0, "{sold} units reserved of {stock}");

    // Every location ships at most 1,000 parcels a day (`seed`): the store never counts more,
    // and counts exactly the shipments its orders hold.
    let counted: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT location, day, shipments FROM {schema}.shipment_counts WHERE shipments > 0 ORDER BY 1, 2"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    let held: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT s ->> 'location', (s ->> 'day')::bigint, COUNT(*)
         FROM {schema}.orders, jsonb_array_elements(body::jsonb -> 'held_shipments') AS s GROUP BY 1, 2 ORDER BY 1, 2"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(counted, held, "the store's shipment counts are the shipments its orders hold");
    assert!(counted.iter().all(|(_, _, n)| *n <= 1_000), "{counted:?}");
    assert!(counted.iter().any(|(_, _, n)| *n == 1_000), "a location's capacity was reached: {counted:?}");
    let counted: Vec<(String, i64, u32)> = counted.into_iter().map(|(l, d, n)| (l, d, n as u32)).collect();

    // Every instance's picture converges on the store's.
    for (n, instance) in instances.iter().enumerate() {
        let started = Instant::now();
        loop {
            let view = instance.state_view().await;
            let mut memory = view.positions;
            memory.sort();
            let mut shipments: Vec<(String, i64, u32)> = view.shipments.into_iter().filter(|s| s.2 > 0).collect();
            shipments.sort();
            if memory == positions && shipments == counted {
                break;
            }
            if started.elapsed() > Duration::from_secs(5) {
                assert_eq!(memory, positions, "instance {n}'s stock (left) vs the store's (right)");
                assert_eq!(shipments, counted, "instance {n}'s shipment counts (left) vs the store's (right)");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_binding_changed_on_one_instance_routes_the_next_order_on_the_others() {
    let (_dir, _schema, instances) = three_instances().await;
    let (meta, _) = instances[2].upload(Kind::Dsl, "reference", reference_v2().into_bytes()).await.unwrap();
    instances[2].bind("default", &meta.version, None, Default::default()).await.unwrap();
    for instance in &instances[..2] {
        let seen = within("the new binding", Duration::from_secs(1), async || {
            instance.bindings().0.iter().any(|b| b.group == "default" && b.version == meta.version)
        })
        .await;
        assert!(seen < Duration::from_secs(1));
        let app = switchyard_host::app(Arc::clone(instance));
        let id = format!("B-{}", seen.as_nanos());
        let created = post(&app, "/v1/orders", WRITER, &order(&id, "SKU-A", 1)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let stored = instance.order(&id).await.unwrap();
        assert_eq!(stored.policy_version, meta.version, "routed with the version bound on another instance");
    }
}

// A plugin bound with parameter values on one instance routes with those values on the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plugin_bound_with_parameters_on_one_instance_routes_with_them_on_the_others() {
    let (_dir, _schema, instances) = three_instances().await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins/plugin_reference.wasm");
    let bytes = std::fs::read(path).expect("run scripts/build-plugins first");
    let (meta, _) = instances[0].upload(Kind::Wasm, "reference", bytes).await.unwrap();
    let values = std::collections::BTreeMap::from([(
        "unfilled_penalty".to_owned(),
        switchyard_plugins::ParamValue::Number(1.0),
    )]);
    instances[0].bind("default", &meta.version, None, values.clone()).await.unwrap();
    for instance in &instances[1..] {
        within("the new binding", Duration::from_secs(1), async || {
            instance.bindings().0.iter().any(|b| b.version == meta.version && b.parameters == values)
        })
        .await;
        let app = switchyard_host::app(Arc::clone(instance));
        let routed = post(&app, "/v1/orders/route", WRITER, &order("BP-1", "SKU-A", 1)).await;
        assert_eq!(routed.status, StatusCode::OK, "{}", routed.body);
        assert_eq!(routed.body["plan"]["cost"]["unfilled_penalty"], 1.0, "{}", routed.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_carrier_service_set_or_removed_on_one_instance_is_promised_with_on_the_others() {
    let (_dir, _schema, instances) = three_instances().await;
    let ground = CarrierServiceRecord {
        id: "ground".into(),
        carrier: "UPS".into(),
        name: "Standard".into(),
        pickup_days: "mon-fri".into(),
        delivery_days: "mon-fri".into(),
        holidays: vec!["2026-12-25".into()],
        bands: vec![BandRecord { max_km: None, transit_days: 2, per_shipment: 6.0, per_kg: 0.5 }],
        max_weight_kg: None,
    };
    instances[1].upsert_carrier_services(vec![ground.clone()]).await.unwrap();
    let cart = json!({"ship_to": {"postal_code": "19103", "country": "US"},
                      "lines": [{"id": "1", "sku": "SKU-A", "qty": 1}], "at": "2026-12-04T10:00:00Z"});
    for instance in [&instances[0], &instances[2]] {
        within("the new carrier service", Duration::from_secs(1), async || {
            instance.carrier_services() == vec![ground.clone()]
        })
        .await;
        let app = switchyard_host::app(Arc::clone(instance));
        let promised = post(&app, "/v1/promise", READER, &cart).await;
        assert_eq!(promised.status, StatusCode::OK, "{}", promised.body);
        // Friday, 2 delivery days (Mon to Fri): Tuesday.
        assert_eq!(promised.body["options"][0]["delivery_date"], "2026-12-08", "{}", promised.body);
    }
    instances[2].remove_carrier_service("ground").await.unwrap();
    for instance in &instances[..2] {
        within("the removal", Duration::from_secs(1), async || instance.carrier_services().is_empty()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_id_or_key_taken_on_one_instance_is_refused_or_replayed_on_another() {
    let (_dir, _schema, instances) = three_instances().await;
    let apps: Vec<_> = instances.iter().map(|s| switchyard_host::app(Arc::clone(s))).collect();
    // The same id on two instances at once: one 201, the other 409 or the same order.
    let body = order("SAME-1", "SKU-A", 1);
    let (one, other) =
        tokio::join!(post(&apps[0], "/v1/orders", WRITER, &body), post(&apps[1], "/v1/orders", WRITER, &body));
    let mut statuses = [one.status, other.status];
    statuses.sort();
    assert!(
        statuses == [StatusCode::OK, StatusCode::CREATED] || statuses == [StatusCode::CREATED, StatusCode::CONFLICT],
        "{statuses:?}: {} / {}",
        one.body,
        other.body
    );
    // Later, on the third: the same order.
    let again = post(&apps[2], "/v1/orders", WRITER, &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], "SAME-1");

    // An Idempotency-Key used on one instance names that order on another.
    let first = call_with_key(&apps[0], "key-1", &order("KEYED-1", "SKU-A", 1)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let replayed = call_with_key(&apps[1], "key-1", &order("KEYED-1", "SKU-A", 1)).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(replayed.body["id"], "KEYED-1");
    let reused = call_with_key(&apps[2], "key-1", &order("KEYED-2", "SKU-A", 1)).await;
    assert!(reused.status.is_client_error(), "{}: {}", reused.status, reused.body);
}

async fn call_with_key(app: &axum::Router, key: &str, body: &serde_json::Value) -> Reply {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1/orders")
        .header("authorization", format!("Bearer {WRITER}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null), headers }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_subscribed_on_one_instance_get_the_events_of_all_delivered_by_one() {
    let (_dir, _schema, instances) = three_instances().await;
    let apps: Vec<_> = instances.iter().map(|s| switchyard_host::app(Arc::clone(s))).collect();
    let seen: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let log = Arc::clone(&log);
            async move {
                log.lock().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await });
    let subscribed =
        post(&apps[0], "/v1/webhooks", ADMIN, &serde_json::json!({"url": url, "events": ["order.reserved"]})).await;
    assert_eq!(subscribed.status, StatusCode::CREATED, "{}", subscribed.body);
    // The others learn of the subscription, and queue deliveries for their own orders.
    for instance in &instances[1..] {
        within("the subscription", Duration::from_secs(1), async || !instance.webhooks(0).is_empty()).await;
    }
    for (n, app) in apps.iter().enumerate() {
        let created = post(app, "/v1/orders", WRITER, &order(&format!("W-{n}"), "SKU-A", 1)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    // One instance delivers them all (here the first, as if it held the claim): it learns of
    // the deliveries the others queued from the feed.
    within("three deliveries", Duration::from_secs(5), async || {
        instances[0].deliver_due().await;
        seen.lock().len() >= 3
    })
    .await;
    let mut orders: Vec<String> = seen
        .lock()
        .iter()
        .map(|body| {
            serde_json::from_str::<serde_json::Value>(body).unwrap()["order"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    orders.sort();
    assert_eq!(orders, ["W-0", "W-1", "W-2"]);
    // What it did reaches the others: nothing is pending there either.
    for instance in &instances[1..] {
        within("the deliveries done", Duration::from_secs(2), async || {
            let listed = instance.webhooks(10);
            let deliveries = &listed[0].1;
            deliveries.len() == 3 && deliveries.iter().all(|d| d.status == DeliveryStatus::Delivered)
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stock_level_set_before_another_instances_change_arrived_leaves_both_pictures_the_stores() {
    let (_dir, schema, instances) = seeded_instances(2, 900).await;
    let (counting, receiving) = (&instances[0], &instances[1]);
    async fn position(service: &Service) -> (u32, u32) {
        let view = service.state_view().await;
        let p = view.positions.iter().find(|p| p.0 == "SKU-B" && p.1 == "ST-CHI").unwrap();
        (p.2, p.4)
    }
    // A receipt of 4 units lands on one instance; the other counts the shelf (20 units, 2 kept
    // back) before that receipt has reached it through the feed.
    receiving
        .adjust_stock(vec![StockAdjustment { sku: "SKU-B".into(), location: "ST-CHI".into(), delta: 4 }])
        .await
        .unwrap();
    assert_eq!(position(counting).await, (3, 0), "the receipt has not reached the counting instance");
    counting
        .set_stock(vec![StockLevel { sku: "SKU-B".into(), location: "ST-CHI".into(), on_hand: 20, safety_stock: 2 }])
        .await
        .unwrap();
    counting.catch_up().await.unwrap();
    receiving.catch_up().await.unwrap();
    // The count applies as what it changed from what the counting instance saw (+17 on hand,
    // +2 kept back), the receipt stays: the store and both instances agree.
    let stored: Vec<_> = stored_positions(&schema).await.into_iter().filter(|p| p.0 == "SKU-B").collect();
    assert_eq!(stored, [("SKU-B".to_owned(), "ST-CHI".to_owned(), 24, 0, 2)]);
    assert_eq!(position(counting).await, (24, 2));
    assert_eq!(position(receiving).await, (24, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_read_back_under_the_stock_lock_leaves_catalog_changes_to_the_follower() {
    let (_dir, schema, instances) = seeded_instances(2, 900).await;
    let (first, second) = (&instances[0], &instances[1]);
    let (app_first, app_second) = (switchyard_host::app(Arc::clone(first)), switchyard_host::app(Arc::clone(second)));
    let created = post(&app_first, "/v1/orders", WRITER, &order("R-1", "SKU-A", 1)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    // A catalog change on the first instance the second has not read yet.
    let catalog = first.catalog();
    let mut chicago = first.location_record(catalog.location(catalog.location_id("ST-CHI").unwrap()));
    chicago.priority = 7;
    first.upsert_locations(vec![chicago]).await.unwrap();
    // The second ships the order: it reads it back holding its stock lock, catches up with the
    // stock the order holds, and leaves the catalog change to its follower (applying it there
    // would wait for the lock it holds).
    let shipping = call(&app_second, Method::POST, "/v1/orders/R-1/ship", Some(WRITER), r#"{"carrier": "UPS"}"#);
    let shipped = tokio::time::timeout(Duration::from_secs(10), shipping).await.expect("the shipment does not hang");
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.body);
    second.catch_up().await.unwrap();
    let catalog = second.catalog();
    assert_eq!(catalog.location(catalog.location_id("ST-CHI").unwrap()).priority, 7);
    first.catch_up().await.unwrap();
    let stored = stored_positions(&schema).await;
    for instance in [first, second] {
        let mut memory = instance.state_view().await.positions;
        memory.sort();
        assert_eq!(memory, stored);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_serving_together_and_one_serving_alone_are_never_mixed_on_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let schema = schema_for(dir.path());
    let alone = Config { shared: false, ..shared_config(dir.path(), &schema, 0) };
    let serving = Service::open_to_serve(alone.clone()).await.unwrap();
    let refused = Service::open_shared(shared_config(dir.path(), &schema, 1)).await.err().expect("refused");
    assert!(refused.contains("another switchyard instance is serving this PostgreSQL store"), "{refused}");
    drop(serving);
    // Its lock went with its connection: instances may now serve together, and one alone may
    // not start beside them.
    let mut together = None;
    for _ in 0..100 {
        if let Ok(service) = Service::open_shared(shared_config(dir.path(), &schema, 1)).await {
            together = Some(service);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _together = together.expect("serving together once the one alone stopped");
    let refused = Service::open_to_serve(alone).await.err().expect("refused");
    assert!(refused.contains("start this one with --shared"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn due_work_placed_on_one_instance_is_run_by_another_from_the_store() {
    // Reservations lapse after 1 s here.
    let (_dir, _schema, instances) = seeded_instances(2, 1).await;
    let (running, placing) = (&instances[0], &instances[1]);
    let app = switchyard_host::app(Arc::clone(placing));
    let mut held = order("D-held", "SKU-A", 1);
    held["hold_until"] = serde_json::json!(in_seconds(1));
    assert_eq!(post(&app, "/v1/orders", WRITER, &held).await.body["status"], "scheduled");
    assert_eq!(post(&app, "/v1/orders", WRITER, &order("D-lapsing", "SKU-A", 1)).await.body["status"], "reserved");
    // The placing instance forgets them once due (it does not run that work)...
    tokio::time::sleep(Duration::from_millis(2100)).await;
    placing.forget_passed_due_times();
    // ...and the one that runs it, which never had them in memory, finds them in the store.
    assert_eq!(running.route_due().await, 1);
    let routed = running.order("D-held").await.unwrap();
    assert_eq!(routed.status.name(), "reserved");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(running.expire_due().await >= 1);
    assert_eq!(running.order("D-lapsing").await.unwrap().status.name(), "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inbound_units_are_promised_once_and_received_once_across_instances() {
    let (_dir, schema, instances) = seeded_instances(2, 900).await;
    let (first, second) = (&instances[0], &instances[1]);
    let (app_first, app_second) = (switchyard_host::app(Arc::clone(first)), switchyard_host::app(Arc::clone(second)));
    bind_backordering_policy(&app_first).await;
    // SKU-B: none on hand, 4 due at DC-EAST in a week.
    let chicago = StockLevel { sku: "SKU-B".into(), location: "ST-CHI".into(), on_hand: 0, safety_stock: 0 };
    first.set_stock(vec![chicago]).await.unwrap();
    let entry =
        json!({"entries": [{"sku": "SKU-B", "location": "DC-EAST", "qty": 4, "expected_at": in_seconds(7 * 86_400)}]});
    let announced = post(&app_first, "/v1/inventory/inbound", WRITER, &entry).await;
    assert_eq!(announced.status, StatusCode::CREATED, "{}", announced.body);
    let inbound = announced.body["inbound"][0]["id"].as_str().unwrap().to_owned();
    second.catch_up().await.unwrap();
    assert_eq!(get(&app_second, "/v1/inventory/inbound", READER).await.body["inbound"][0]["allocated"], 0);

    // The first instance promises all 4 inbound units; the second, which has not heard of it,
    // believes 2 of them free: the store refuses its promise, and it routes again against
    // what the first did (nothing left to promise).
    let first_order = post(&app_first, "/v1/orders", WRITER, &order("ib-1", "SKU-B", 4)).await;
    assert_eq!(first_order.body["status"], "backordered", "{}", first_order.body);
    assert_eq!(first_order.body["backorders"][0]["qty"], 4, "{}", first_order.body);
    let second_order = post(&app_second, "/v1/orders", WRITER, &order("ib-2", "SKU-B", 2)).await;
    assert_eq!(second_order.status, StatusCode::CREATED, "{}", second_order.body);
    assert_eq!(second_order.body["status"], "rejected", "{}", second_order.body);
    assert!(second_order.body.get("backorders").is_none(), "{}", second_order.body);
    let promised = |schema: String| async move {
        let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
        let query = format!("SELECT promised FROM {schema}.inbound");
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query)).fetch_one(&mut db).await.unwrap()
    };
    assert_eq!(promised(schema.clone()).await, 4);
    assert_eq!(get(&app_second, "/v1/inventory/inbound", READER).await.body["inbound"][0]["allocated"], 4);

    // The stock arrives at the second instance, which never had the waiting order in memory:
    // it serves it all the same.
    let received = post(&app_second, &format!("/v1/inventory/inbound/{inbound}/receive"), WRITER, &json!({})).await;
    assert_eq!(received.status, StatusCode::OK, "{}", received.body);
    let served = get(&app_second, "/v1/orders/ib-1", READER).await.body;
    assert_eq!(
        (served["status"].as_str(), served["backorders"][0]["status"].as_str()),
        (Some("confirmed"), Some("allocated")),
        "{served}"
    );
    // The first, not told yet, receives it again: refused by the store, nothing doubled.
    let again = post(&app_first, &format!("/v1/inventory/inbound/{inbound}/receive"), WRITER, &json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    first.catch_up().await.unwrap();
    second.catch_up().await.unwrap();
    let mine = get(&app_first, "/v1/orders/ib-1", READER).await.body;
    assert_eq!(mine["status"], "confirmed", "the placing instance reads the receipt back: {mine}");
    let mut stored = stored_positions(&schema).await;
    stored.retain(|(_, _, on_hand, reserved, safety)| *on_hand > 0 || *reserved > 0 || *safety > 0);
    assert!(stored.contains(&("SKU-B".to_owned(), "DC-EAST".to_owned(), 4, 4, 0)), "{stored:?}");
    for instance in [first, second] {
        let mut memory = instance.state_view().await.positions;
        memory.sort();
        assert_eq!(memory, stored);
        let view = instance.state_view().await;
        assert_eq!((view.inbound[0].allocated, view.inbound[0].received), (4, Some(4)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_preorder_cap_holds_across_instances() {
    let (_dir, schema, instances) = seeded_instances(2, 900).await;
    let (first, second) = (&instances[0], &instances[1]);
    let (app_first, app_second) = (switchyard_host::app(Arc::clone(first)), switchyard_host::app(Arc::clone(second)));
    let product = json!({"sku": "SKU-N", "group": "apparel", "weight_kg": 1.0,
                         "release_at": in_seconds(10 * 86_400), "preorder_cap": 3});
    post(&app_first, "/v1/products", WRITER, &json!({"products": [product]})).await;
    let entry =
        json!({"entries": [{"sku": "SKU-N", "location": "DC-EAST", "qty": 5, "expected_at": in_seconds(86_400)}]});
    post(&app_first, "/v1/inventory/inbound", WRITER, &entry).await;
    second.catch_up().await.unwrap();
    assert_eq!(post(&app_first, "/v1/orders", WRITER, &order("pc-1", "SKU-N", 2)).await.body["status"], "backordered");
    // The second has not heard of those 2: its own count lets 2 more through, the store's
    // does not, and once it has caught up it says why.
    let over = post(&app_second, "/v1/orders", WRITER, &order("pc-2", "SKU-N", 2)).await;
    assert_eq!(
        (over.status, over.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("preorder_cap_reached")),
        "{}",
        over.body
    );
    assert_eq!(get(&app_second, "/v1/orders/pc-2", READER).await.status, StatusCode::NOT_FOUND);
    assert_eq!(post(&app_second, "/v1/orders", WRITER, &order("pc-3", "SKU-N", 1)).await.body["status"], "backordered");
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    let query = format!("SELECT units FROM {schema}.preorders WHERE sku = 'SKU-N'");
    let units: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(&mut db).await.unwrap();
    assert_eq!(units, 3);
    first.catch_up().await.unwrap();
    for instance in [first, second] {
        assert_eq!(instance.state_view().await.preordered, [("SKU-N".to_owned(), 3)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_instance_serves_the_whole_atp_feed_and_a_takeover_numbers_on() {
    let (_dir, _schema, instances) = seeded_instances(2, 900).await;
    let (first, second) = (&instances[0], &instances[1]);
    let (app_first, app_second) = (switchyard_host::app(Arc::clone(first)), switchyard_host::app(Arc::clone(second)));
    // The first publishes (it holds the claim): an order placed on the second moves SKU-A.
    first.publish_atp_changes().await.unwrap();
    assert_eq!(post(&app_second, "/v1/orders", WRITER, &order("atp-1", "SKU-A", 2)).await.status, StatusCode::CREATED);
    first.catch_up().await.unwrap();
    assert!(first.publish_atp_changes().await.unwrap() >= 1);
    let published = first.atp_changes(0, 1_000).changes;
    assert!(published.iter().any(|c| c.sku == "SKU-A" && c.atp == 8), "{published:?}");
    // The second serves the same feed.
    second.catch_up().await.unwrap();
    assert_eq!(second.atp_changes(0, 1_000).changes, published);
    // The first goes; the second takes the publishing over and numbers on from the last entry,
    // comparing with what the first published (SKU-A is not published again unmoved).
    assert_eq!(second.publish_atp_changes().await.unwrap(), 0);
    assert_eq!(post(&app_first, "/v1/orders", WRITER, &order("atp-2", "SKU-A", 1)).await.status, StatusCode::CREATED);
    second.catch_up().await.unwrap();
    assert_eq!(second.publish_atp_changes().await.unwrap(), 1);
    let after = second.atp_changes(0, 1_000).changes;
    let last = after.last().unwrap();
    assert_eq!((last.sku.as_str(), last.atp), ("SKU-A", 7));
    assert_eq!(last.seq, published.last().unwrap().seq + 1, "{after:?}");
    first.catch_up().await.unwrap();
    assert_eq!(first.atp_changes(0, 1_000).changes, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recurring_order_stopped_on_one_instance_is_not_run_on_by_another() {
    let (_dir, _schema, instances) = seeded_instances(2, 900).await;
    let (first, second) = (&instances[0], &instances[1]);
    let (app_first, app_second) = (switchyard_host::app(Arc::clone(first)), switchyard_host::app(Arc::clone(second)));
    let body = json!({
        "id": "coffee",
        "every": "weekly",
        "order": { "ship_to": { "lat": 39.95, "lon": -75.17 }, "lines": [ { "id": "1", "sku": "SKU-A", "qty": 1 } ] }
    });
    assert_eq!(post(&app_first, "/v1/recurring-orders", WRITER, &body).await.status, StatusCode::CREATED);
    // The same id on the other instance, which has not heard of it: refused by the store.
    let twice = post(&app_second, "/v1/recurring-orders", WRITER, &body).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    second.catch_up().await.unwrap();
    // Stopped on the first while the second (running recurring orders, not told yet) runs it:
    // the run's write is refused, the stop stays.
    let stopped = call(&app_first, Method::DELETE, "/v1/recurring-orders/coffee", Some(WRITER), "").await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    second.run_recurring().await;
    first.catch_up().await.unwrap();
    second.catch_up().await.unwrap();
    for app in [&app_first, &app_second] {
        let stored = get(app, "/v1/recurring-orders/coffee", READER).await.body;
        assert_eq!(stored["active"], false, "{stored}");
    }
    assert_eq!(second.run_recurring().await, 0, "a stopped recurring order creates nothing more");
}
