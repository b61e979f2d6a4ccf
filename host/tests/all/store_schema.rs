//! The SQLite store's schema is versioned: a store written by an earlier release opens in this
//! one (migrated, nothing lost), and a store written by a newer build is refused, saying why.
//! One process serves a store directory at a time.

use std::path::Path;

use axum::http::StatusCode;
use switchyard_host::service::Service;
use switchyard_host::store::SQLITE_SCHEMA_VERSION;

use crate::support::*;

// These tests are about the SQLite file, whichever store the rest of the suite runs on.
fn sqlite_config(dir: &Path) -> switchyard_host::Config {
    switchyard_host::Config { store: None, store_schema: None, ..config(dir, 900) }
}

fn user_version(dir: &Path) -> i64 {
    let connection = rusqlite::Connection::open(dir.join("switchyard.db")).unwrap();
    connection.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap()
}

#[tokio::test]
async fn a_store_written_before_versioned_migrations_opens_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-before-versioning/switchyard.db");
    std::fs::copy(fixture, dir.path().join("switchyard.db")).unwrap();
    assert_eq!(user_version(dir.path()), 0);
    for round in 0..2 {
        // Migrated on the first open; the second finds it current.
        let service = Service::open(sqlite_config(dir.path())).await.unwrap();
        let app = switchyard_host::app(std::sync::Arc::clone(&service));
        let metrics = call(&app, axum::http::Method::GET, "/metrics", None, axum::body::Body::empty()).await;
        let in_memory = if round == 0 { 2 } else { 3 };
        assert!(
            metrics.body.as_str().unwrap().contains(&format!("switchyard_orders_in_memory {in_memory}\n")),
            "the cancelled order stays in the store (version 2): {}",
            metrics.body
        );
        for (id, status) in [("f-1", "reserved"), ("f-2", "cancelled"), ("f-3", "reserved")] {
            let order = get(&app, &format!("/v1/orders/{id}"), READER).await;
            assert_eq!(order.status, StatusCode::OK, "{}", order.body);
            assert_eq!(order.body["status"], status, "{}", order.body);
        }
        let sku_a = get(&app, "/v1/inventory/SKU-A", READER).await;
        // 10 on hand, 2 reserved by f-1 (and 1 by f-4, placed in the first round).
        assert_eq!(sku_a.body["atp"], 8 - round, "{}", sku_a.body);
        let sku_b = get(&app, "/v1/inventory/SKU-B", READER).await;
        assert_eq!(sku_b.body["atp"], 3, "f-2's unit was released when it was cancelled: {}", sku_b.body);
        // Listed by when they were placed (version 3 read it from their bodies), newest first.
        let listed = get(&app, "/v1/orders", READER).await.body;
        let ids: Vec<&str> = listed["orders"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        let expected: &[&str] = if round == 0 { &["f-3", "f-2", "f-1"] } else { &["f-4", "f-3", "f-2", "f-1"] };
        assert_eq!(ids, expected, "{listed}");
        if round == 0 {
            // The migrated store takes new writes.
            let placed = post(&app, "/v1/orders", WRITER, &order("f-4", "SKU-A", 1)).await;
            assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
        }
        drop(app);
        drop(service);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(user_version(dir.path()), SQLITE_SCHEMA_VERSION as i64);
    }
}

#[tokio::test]
async fn a_store_written_by_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Service::open(sqlite_config(dir.path())).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(user_version(dir.path()), SQLITE_SCHEMA_VERSION as i64, "a new store is created current");
    let connection = rusqlite::Connection::open(dir.path().join("switchyard.db")).unwrap();
    connection.pragma_update(None, "user_version", SQLITE_SCHEMA_VERSION as i64 + 1).unwrap();
    drop(connection);
    let error = Service::open(sqlite_config(dir.path())).await.err().expect("refused");
    assert!(
        error.contains(&format!("the store's schema is version {}, newer than this build", SQLITE_SCHEMA_VERSION + 1)),
        "{error}"
    );
}

#[tokio::test]
async fn one_process_serves_a_store_directory_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = Service::open(sqlite_config(dir.path())).await.unwrap();
    first.hold_store_exclusively().await.unwrap();
    first.hold_store_exclusively().await.expect("holding it again is a no-op");
    let second = Service::open(sqlite_config(dir.path())).await.unwrap();
    let refused = second.hold_store_exclusively().await.expect_err("a second serving process is refused");
    assert!(refused.contains("another switchyard process is serving the store in"), "{refused}");
    drop(first);
    second.hold_store_exclusively().await.expect("free once the first is gone");
}
