//! A small network, a service on a temporary store, and helpers to call it.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use switchyard_host::records::Kind;
use switchyard_host::records::{LocationRecord as LocationDto, ProductRecord as ProductDto};
use switchyard_host::service::StockLevel;
use switchyard_host::{Config, Role, Service, Token};
use tower::ServiceExt;

pub const ADMIN: &str = "admin-secret";
pub const WRITER: &str = "writer-secret";
pub const READER: &str = "reader-secret";

pub const REFERENCE: &str = include_str!("../../../examples/policies/reference.policy");

/// The reference policy as its v2 (a different split penalty): another version, whose plans
/// say `reference@2`.
pub fn reference_v2() -> String {
    let v2 = REFERENCE.replace("param split_penalty = $2.00", "param split_penalty = $2.50");
    assert_ne!(v2, REFERENCE);
    v2.replace("policy reference v1", "policy reference v2")
}

/// The configuration of a test's service. Its store: SQLite in `dir`, or with
/// `SWITCHYARD_TEST_STORE=postgres` a schema of its own (named after `dir`, so a restart finds
/// it) in the database at `SWITCHYARD_TEST_DATABASE_URL` (`scripts/with-postgres` makes one):
/// scripts/test runs this suite on both.
pub fn config(dir: &Path, ttl: u64) -> Config {
    let (store, store_schema) = match std::env::var("SWITCHYARD_TEST_STORE").as_deref() {
        Ok("postgres") => (Some(database_url()), Some(schema_for(dir))),
        Ok("sqlite") | Err(_) => (None, None),
        Ok(other) => panic!("SWITCHYARD_TEST_STORE is `sqlite` or `postgres`, not `{other}`"),
    };
    Config {
        data: dir.to_path_buf(),
        store,
        store_schema,
        reservation_ttl_secs: ttl,
        max_body_bytes: 64 << 10,
        // The tests' webhook receivers listen on loopback.
        allow_private_webhooks: true,
        tokens: vec![
            Token { name: "ops".into(), token: ADMIN.into(), role: Role::Admin },
            Token { name: "shop".into(), token: WRITER.into(), role: Role::Writer },
            Token { name: "dashboard".into(), token: READER.into(), role: Role::Reader },
        ],
        ..Config::default()
    }
}

/// The database the PostgreSQL tests use.
pub fn database_url() -> String {
    std::env::var("SWITCHYARD_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "SWITCHYARD_TEST_DATABASE_URL is not set: run the tests through scripts/with-postgres \
             (scripts/test does), e.g. `scripts/with-postgres cargo test -p switchyard-host`"
        )
    })
}

/// Rewrites the stored body of order `id` behind the service's back (the store of
/// `config(dir, ..)`, SQLite or PostgreSQL), as a damaged or hand-edited record would be.
pub async fn edit_stored_order(dir: &Path, id: &str, edit: impl FnOnce(&str) -> String) {
    let settings = config(dir, 900);
    match &settings.store {
        None => {
            let db = rusqlite::Connection::open(dir.join("switchyard.db")).unwrap();
            let body: String = db.query_row("SELECT body FROM orders WHERE id = ?1", [id], |row| row.get(0)).unwrap();
            db.execute("UPDATE orders SET body = ?1 WHERE id = ?2", [&edit(&body), id]).unwrap();
        }
        Some(url) => {
            use sqlx::Connection;
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            let schema = settings.store_schema.unwrap();
            let select = format!("SELECT body FROM {schema}.orders WHERE id = $1");
            let body: String =
                sqlx::query_scalar(sqlx::AssertSqlSafe(select)).bind(id).fetch_one(&mut db).await.unwrap();
            let update = format!("UPDATE {schema}.orders SET body = $1 WHERE id = $2");
            sqlx::query(sqlx::AssertSqlSafe(update)).bind(edit(&body)).bind(id).execute(&mut db).await.unwrap();
        }
    }
}

/// A schema name of a test's own, the same for the same directory.
pub fn schema_for(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    format!("t_{:016x}", hasher.finish())
}

fn location(id: &str, kind: &str, lat: f64, lon: f64, capabilities: &[&str]) -> LocationDto {
    LocationDto {
        id: id.into(),
        kind: kind.into(),
        lat,
        lon,
        handling_per_shipment: 1.0,
        handling_per_unit: 0.25,
        capacity_shipments_per_day: Some(1000),
        capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        downtime: Vec::new(),
        priority: 0,
        time_zone: None,
        fulfilment: None,
        release_waves: Vec::new(),
    }
}

fn product(sku: &str, group: &str, weight_kg: f64, tags: &[&str]) -> ProductDto {
    ProductDto {
        sku: sku.into(),
        group: group.into(),
        weight_kg,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        components: Vec::new(),
        kit_may_split: false,
        release_at: None,
        preorder_cap: None,
    }
}

/// Three locations (New York DC, Los Angeles DC, Chicago store), three products, stock.
pub async fn seed(service: &Service) {
    service
        .upsert_locations(vec![
            location("DC-EAST", "dc", 40.71, -74.0, &["hazmat"]),
            location("DC-WEST", "dc", 34.05, -118.24, &[]),
            location("ST-CHI", "store", 41.88, -87.63, &[]),
        ])
        .await
        .unwrap();
    service
        .upsert_products(vec![
            product("SKU-A", "apparel", 1.0, &[]),
            product("SKU-B", "apparel", 0.5, &[]),
            product("SKU-C", "electronics", 2.0, &["hazmat"]),
        ])
        .await
        .unwrap();
    let level = |sku: &str, location: &str, on_hand| StockLevel {
        sku: sku.into(),
        location: location.into(),
        on_hand,
        safety_stock: 0,
    };
    service
        .set_stock(vec![
            level("SKU-A", "DC-EAST", 5),
            level("SKU-A", "DC-WEST", 5),
            level("SKU-B", "ST-CHI", 3),
            level("SKU-C", "DC-EAST", 2),
            level("SKU-C", "DC-WEST", 2),
        ])
        .await
        .unwrap();
    let (meta, _) = service.upload(Kind::Dsl, "reference", REFERENCE.as_bytes().to_vec()).await.unwrap();
    service.bind("default", &meta.version, None, Default::default()).await.unwrap();
}

/// A seeded service on a fresh store, and its router.
pub async fn seeded(ttl: u64) -> (tempfile::TempDir, Arc<Service>, Router) {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(config(dir.path(), ttl)).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(Arc::clone(&service));
    (dir, service, app)
}

/// The time `seconds` from now (RFC 3339).
pub fn in_seconds(seconds: i64) -> String {
    switchyard_engine::Timestamp(switchyard_host::service::now().0 + seconds).to_string()
}

/// An order for `qty` of `sku` to Philadelphia.
pub fn order(id: &str, sku: &str, qty: u32) -> Value {
    json!({
        "id": id,
        "placed_at": "2026-11-26T10:00:00Z",
        "ship_to": { "lat": 39.95, "lon": -75.17, "postal_code": "19103", "country": "US" },
        "lines": [ { "id": "1", "sku": sku, "qty": qty } ]
    })
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

/// One request through the router (no socket).
pub async fn call(app: &Router, method: Method, uri: &str, token: Option<&str>, body: impl Into<Body>) -> Reply {
    let mut request = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.clone().oneshot(request.body(body.into()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply { status, body, headers }
}

pub async fn post(app: &Router, uri: &str, token: &str, body: &Value) -> Reply {
    call(app, Method::POST, uri, Some(token), body.to_string()).await
}

pub async fn get(app: &Router, uri: &str, token: &str) -> Reply {
    call(app, Method::GET, uri, Some(token), Body::empty()).await
}

/// ATP of a SKU across the network.
pub async fn atp(app: &Router, sku: &str) -> u64 {
    get(app, &format!("/v1/inventory/{sku}"), READER).await.body["atp"].as_u64().unwrap()
}

/// Uploads the reference policy with `backorder within 14d` (as v3) and binds it as the default.
pub async fn bind_backordering_policy(app: &Router) {
    let backordering = REFERENCE
        .replace(
            "short stock: partial at unfilled_penalty",
            "short stock: backorder within 14d else partial at unfilled_penalty",
        )
        .replace("policy reference v1", "policy reference v3");
    let uploaded = call(app, Method::POST, "/v1/policies?name=reference", Some(ADMIN), backordering).await;
    let version = uploaded.body["version"].as_str().unwrap().to_owned();
    let bound =
        call(app, Method::PUT, "/v1/bindings/default", Some(ADMIN), json!({"version": version}).to_string()).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
}

/// What a fresh start on the same store reads back equals what `service` holds in memory
/// (once it let go of the closed orders a start does not read): every write path must leave
/// the two the same picture. Call it when no write is in flight.
pub async fn assert_restart_matches(dir: &Path, service: &Service) {
    service.evict_closed_orders();
    let memory = service.state_view().await;
    let restarted = Service::open(config(dir, service.config().reservation_ttl_secs)).await.unwrap();
    let stored = restarted.state_view().await;
    assert_eq!(stored.positions, memory.positions, "stock: store (left) vs memory (right)");
    assert_eq!(stored.shipments, memory.shipments, "shipments counted against capacity");
    assert_eq!(stored.orders, memory.orders, "orders");
    assert_eq!(stored.inbound, memory.inbound, "inbound stock");
    assert_eq!(stored.recurring, memory.recurring, "recurring orders");
    assert_eq!(stored.idempotency, memory.idempotency, "idempotency keys");
    assert_eq!(stored.preordered, memory.preordered, "preorder counts");
    assert_eq!(stored.deliveries, memory.deliveries, "webhook deliveries");
    assert_eq!(stored, memory, "the rest of the state");
    assert_store_counts_match(dir, &memory).await;
}

/// On PostgreSQL, the store's own counts equal memory's: of every position (on hand, units
/// reserved by the orders holding stock, safety stock), of the units promised of each inbound
/// record, and of the units ordered before their SKU's release.
async fn assert_store_counts_match(dir: &Path, view: &switchyard_host::service::StateView) {
    let memory = &view.positions;
    let settings = config(dir, 900);
    let (Some(url), Some(schema)) = (&settings.store, &settings.store_schema) else { return };
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT sku, location, on_hand, reserved, safety_stock FROM {schema}.stock
         WHERE on_hand > 0 OR reserved > 0 OR safety_stock > 0"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut stored: Vec<(String, String, u32, u32, u32)> =
        rows.into_iter().map(|(s, l, h, r, k)| (s, l, h as u32, r as u32, k as u32)).collect();
    stored.sort();
    let mut memory: Vec<_> = memory.iter().filter(|(_, _, h, r, k)| *h > 0 || *r > 0 || *k > 0).cloned().collect();
    memory.sort();
    assert_eq!(stored, memory, "positions: the PostgreSQL store's count (left) vs memory (right)");
    let promised: Vec<(String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id, promised FROM {schema}.inbound ORDER BY id")))
            .fetch_all(&mut db)
            .await
            .unwrap();
    let mut allocated: Vec<(String, i64)> =
        view.inbound.iter().map(|i| (i.id.clone(), i64::from(i.allocated))).collect();
    allocated.sort();
    assert_eq!(promised, allocated, "inbound units promised: the PostgreSQL store's count (left) vs memory (right)");
    let preorders: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT sku, units FROM {schema}.preorders WHERE units > 0 ORDER BY sku"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    let counted: Vec<(String, i64)> = view.preordered.iter().map(|(sku, n)| (sku.clone(), i64::from(*n))).collect();
    assert_eq!(preorders, counted, "preorder units: the PostgreSQL store's count (left) vs memory (right)");
}
