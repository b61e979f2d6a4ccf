//! The PostgreSQL store itself, against a real server (`SWITCHYARD_TEST_DATABASE_URL`, made by
//! scripts/with-postgres): migrations applied once and a newer schema refused, background work
//! claimed by one process and taken over when it goes, one serving process per store, clear
//! errors for a server that cannot be reached, and a database going away under a running
//! service (through a proxy the test cuts) and coming back. The rest of the suite runs on it too
//! (`SWITCHYARD_TEST_STORE=postgres`).

use std::time::{Duration, Instant};

use sqlx::Connection;
use switchyard_host::store::{PgSettings, PgStore, Store, Work, postgres_schema_version};

use crate::support::*;

fn settings(schema: &str) -> PgSettings {
    PgSettings { url: database_url(), schema: Some(schema.to_owned()), connections: 4, batch: 512, origin: None }
}

// A schema no other test uses.
fn fresh_schema() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let schema = schema_for(dir.path());
    (dir, schema)
}

async fn sql(statement: String) {
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut db).await.unwrap();
}

// Polls `check` until it holds, for at most ten seconds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: not within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_new_schema_is_migrated_once_and_a_newer_one_is_refused() {
    let (_dir, schema) = fresh_schema();
    drop(PgStore::open(&settings(&schema)).await.unwrap());
    // A second open finds it current and changes nothing.
    drop(PgStore::open(&settings(&schema)).await.unwrap());
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    let applied: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {schema}._sqlx_migrations ORDER BY version"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(applied, (1..=postgres_schema_version()).collect::<Vec<_>>());

    let newer = postgres_schema_version() + 1;
    sql(format!(
        "INSERT INTO {schema}._sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES ({newer}, 'from the future', true, '\\x00', 0)"
    ))
    .await;
    let error = PgStore::open(&settings(&schema)).await.err().expect("refused");
    assert!(
        error.to_string().contains(&format!("the store's schema is version {newer}, newer than this build")),
        "{error}"
    );
}

#[tokio::test]
async fn background_work_is_claimed_by_one_process_and_taken_over_when_it_goes() {
    let (_dir, schema) = fresh_schema();
    let first = PgStore::open(&settings(&schema)).await.unwrap();
    let second = PgStore::open(&settings(&schema)).await.unwrap();
    assert!(first.claim(Work::Expiry).await.unwrap());
    assert!(first.claim(Work::Expiry).await.unwrap(), "a claim held is held again");
    assert!(!second.claim(Work::Expiry).await.unwrap(), "one process expires reservations");
    assert!(second.claim(Work::Webhooks).await.unwrap(), "each kind of work is claimed on its own");
    assert!(!first.claim(Work::Webhooks).await.unwrap());

    // Another deployment in another schema of the same database claims its own work.
    let (_other_dir, other_schema) = fresh_schema();
    let elsewhere = PgStore::open(&settings(&other_schema)).await.unwrap();
    assert!(elsewhere.claim(Work::Expiry).await.unwrap());

    // The first process goes (its connection with it): the second takes its work over.
    drop(first);
    eventually("the second process takes reservation expiry over", async || second.claim(Work::Expiry).await.unwrap())
        .await;
}

#[tokio::test]
async fn one_process_serves_a_store_at_a_time() {
    let (_dir, schema) = fresh_schema();
    let first = PgStore::open(&settings(&schema)).await.unwrap();
    assert!(first.hold_exclusively().await.unwrap());
    assert!(first.hold_exclusively().await.unwrap(), "holding it again is a no-op");
    let second = PgStore::open(&settings(&schema)).await.unwrap();
    assert!(!second.hold_exclusively().await.unwrap(), "a second serving process is refused");
    let why = second.held_elsewhere();
    assert!(why.contains("another switchyard instance is serving this PostgreSQL store"), "{why}");
    drop(first);
    eventually("the store is free once its process is gone", async || second.hold_exclusively().await.unwrap()).await;
}

#[tokio::test]
async fn the_service_runs_on_postgres_and_a_restart_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let settings = switchyard_host::Config {
        store: Some(database_url()),
        store_schema: Some(schema_for(dir.path())),
        ..config(dir.path(), 900)
    };
    let service = switchyard_host::Service::open(settings.clone()).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(std::sync::Arc::clone(&service));
    let placed = post(&app, "/v1/orders", WRITER, &order("pg-1", "SKU-A", 2)).await;
    assert_eq!(placed.status, axum::http::StatusCode::CREATED, "{}", placed.body);
    let memory = service.state_view().await;
    let restarted = switchyard_host::Service::open(settings).await.unwrap();
    assert_eq!(restarted.state_view().await, memory);
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    let stored: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT status FROM {}.orders WHERE id = 'pg-1'",
        schema_for(dir.path())
    )))
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(stored, "reserved", "the order is a row of the PostgreSQL store");
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_or_a_wrong_url_is_a_clear_error() {
    let nobody = PgSettings {
        url: "postgres://postgres:secret@127.0.0.1:1/x".into(),
        schema: None,
        connections: 1,
        batch: 1,
        origin: None,
    };
    let error = PgStore::open(&nobody).await.err().expect("nothing listens on port 1");
    assert!(error.to_string().contains("cannot connect to PostgreSQL"), "{error}");
    assert!(!error.to_string().contains("secret"), "the password is never repeated: {error}");
    let (server, _) = database_url().rsplit_once('/').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap();
    let missing = PgSettings {
        url: format!("{server}/switchyard_no_such_db"),
        schema: None,
        connections: 1,
        batch: 1,
        origin: None,
    };
    let error = PgStore::open(&missing).await.err().expect("no such database");
    assert!(error.to_string().contains("database \"switchyard_no_such_db\" does not exist"), "{error}");
    let garbled = PgSettings { url: "postgres://[::1".into(), schema: None, connections: 1, batch: 1, origin: None };
    let error = PgStore::open(&garbled).await.err().expect("not a URL");
    assert!(error.to_string().contains("the PostgreSQL URL cannot be read"), "{error}");

    let not_postgres = switchyard_host::Config::from_toml("store = \"mysql://root:secret@db/shop\"").unwrap_err();
    assert!(not_postgres.contains("store is not a PostgreSQL URL"), "{not_postgres}");
    assert!(!not_postgres.contains("secret"), "{not_postgres}");
    let bad_schema =
        switchyard_host::Config::from_toml("store = \"postgres://db/shop\"\nstore_schema = \"Shop; DROP\"")
            .unwrap_err();
    assert!(bad_schema.contains("store_schema `Shop; DROP` is not a schema name"), "{bad_schema}");
    let no_store = switchyard_host::Config::from_toml("store_schema = \"shop\"").unwrap_err();
    assert!(no_store.contains("no PostgreSQL `store`"), "{no_store}");
}

#[tokio::test]
async fn commits_grouped_in_one_transaction_fail_alone() {
    let (_dir, schema) = fresh_schema();
    let store = std::sync::Arc::new(PgStore::open(&settings(&schema)).await.unwrap());
    let order = |id: &str, key: Option<&str>| switchyard_host::store::Change::Order {
        id: id.into(),
        idempotency_key: key.map(Into::into),
        status: "reserved".into(),
        body: "{}".into(),
        keep_until: i64::MAX,
        revision: 1,
        due: None,
        placed: 0,
    };
    // Sent together, so the writers group them: two orders claim one Idempotency-Key.
    let commits: Vec<_> = [order("a-1", Some("cart-1")), order("b-1", Some("cart-1")), order("c-1", None)]
        .into_iter()
        .map(|change| store.commit(vec![change]))
        .collect();
    let mut outcomes = Vec::new();
    for commit in commits {
        outcomes.push(commit.await);
    }
    assert!(outcomes[2].is_ok(), "{outcomes:?}");
    assert_eq!(outcomes[..2].iter().filter(|o| o.is_ok()).count(), 1, "one of the two gets the key: {outcomes:?}");
    let stored: Vec<String> = store.all_orders().await.unwrap().into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.contains(&"c-1".to_owned()));
}

#[tokio::test]
async fn an_instance_that_lost_the_store_to_another_writes_nothing_more() {
    use sha2::Digest;
    let (_dir, schema) = fresh_schema();
    let order = |id: &str| switchyard_host::store::Change::Order {
        id: id.into(),
        idempotency_key: None,
        status: "reserved".into(),
        body: "{}".into(),
        keep_until: i64::MAX,
        revision: 1,
        due: None,
        placed: 0,
    };
    let first = PgStore::open(&settings(&schema)).await.unwrap();
    assert!(first.hold_exclusively().await.unwrap());
    first.commit(vec![order("first-1")]).await.unwrap();
    assert!(first.claim(Work::Expiry).await.unwrap());

    // The connection that holds its lock drops (a network cut, a proxy's idle timeout) while
    // the instance runs on; another instance takes the store over.
    let digest = sha2::Sha256::digest(format!("switchyard/{schema}").as_bytes());
    let class = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = {class} AND objid = 0"
    ))
    .await;
    let second = PgStore::open(&settings(&schema)).await.unwrap();
    eventually("the second instance takes the store over", async || second.hold_exclusively().await.unwrap()).await;

    // The first writes nothing more, and claims no work; the second writes.
    let refused = first.commit(vec![order("first-2")]).await.expect_err("fenced off");
    assert!(refused.to_string().contains("another switchyard instance serves this store now"), "{refused}");
    assert!(!first.claim(Work::Expiry).await.unwrap_or(false), "its work is the new instance's");
    second.commit(vec![order("second-1")]).await.unwrap();
    eventually("the second instance runs the expiry", async || second.claim(Work::Expiry).await.unwrap()).await;
    let stored: Vec<String> = second.all_orders().await.unwrap().into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(stored, ["first-1", "second-1"]);
}

#[tokio::test]
async fn the_database_never_reserves_more_than_is_available_whatever_memory_believed() {
    use switchyard_host::store::{Change, StoreError};
    let (_dir, schema) = fresh_schema();
    // Two stores on one database, as two processes whose memories each think the units free.
    let (one, other) =
        (PgStore::open(&settings(&schema)).await.unwrap(), PgStore::open(&settings(&schema)).await.unwrap());
    let level = |on_hand| Change::StockLevel {
        sku: "SKU-A".into(),
        location: "DC-1".into(),
        on_hand,
        safety_stock: 1,
        was: None,
    };
    let reserve = |delta| Change::Reserve { sku: "SKU-A".into(), location: "DC-1".into(), delta };
    let order = |id: &str, revision| Change::Order {
        id: id.into(),
        idempotency_key: None,
        status: "reserved".into(),
        body: "{}".into(),
        keep_until: i64::MAX,
        revision,
        due: None,
        placed: 0,
    };
    one.commit(vec![level(5)]).await.unwrap();
    one.commit(vec![order("o-1", 1), reserve(3)]).await.unwrap();
    // 5 on hand - 3 reserved - 1 safety stock: one unit left.
    let refused = other.commit(vec![order("o-2", 1), reserve(2)]).await.expect_err("only one unit is available");
    assert!(matches!(&refused, StoreError::Refused(why) if why.contains("2 more of `SKU-A` at `DC-1`")), "{refused}");
    assert!(other.all_orders().await.unwrap().iter().all(|(id, _, _)| id != "o-2"), "nothing of it was written");
    other.commit(vec![order("o-3", 1), reserve(1)]).await.unwrap();
    // Units received in the same commit count (a receipt serving backorders); a release gives
    // units back; a shipment takes them from on hand and reserved together.
    other
        .commit(vec![Change::StockDelta { sku: "SKU-A".into(), location: "DC-1".into(), delta: 2 }, reserve(2)])
        .await
        .unwrap();
    one.commit(vec![order("o-1", 2), reserve(-3)]).await.unwrap();
    // An order is written over the revision before its own only: a second writer of revision
    // 2 read revision 1 too, and lost; an id created twice is refused the second time.
    assert!(matches!(other.commit(vec![order("o-1", 2), reserve(-3)]).await, Err(StoreError::Stale(_))));
    assert!(matches!(other.commit(vec![order("o-3", 1)]).await, Err(StoreError::Duplicate(_))));
    one.commit(vec![Change::StockDelta { sku: "SKU-A".into(), location: "DC-1".into(), delta: -1 }, reserve(-1)])
        .await
        .unwrap();
    // A day's shipments at a location never pass its capacity either.
    let ship = |delta| Change::Shipments { location: "DC-1".into(), day: 20_000, delta, capacity: Some(2) };
    one.commit(vec![ship(1)]).await.unwrap();
    other.commit(vec![ship(1)]).await.unwrap();
    let full = one.commit(vec![ship(1)]).await.expect_err("two shipments a day");
    assert!(matches!(&full, StoreError::Refused(why) if why.contains("`DC-1` on day 20000")), "{full}");
    other.commit(vec![ship(-1)]).await.unwrap();
    one.commit(vec![ship(1)]).await.unwrap();
    // Nothing reserved where there is no position.
    let nowhere = Change::Reserve { sku: "SKU-A".into(), location: "DC-9".into(), delta: 1 };
    assert!(matches!(one.commit(vec![nowhere]).await, Err(StoreError::Refused(_))));
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    let counts: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT location, on_hand, reserved FROM {schema}.stock WHERE sku = 'SKU-A' ORDER BY location"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(counts, [("DC-1".to_owned(), 6, 2)], "5 + 2 - 1 on hand; 3 + 1 + 2 - 3 - 1 reserved");
}

#[tokio::test]
async fn a_store_of_the_first_schema_with_open_and_damaged_orders_migrates_with_its_counts() {
    use std::str::FromStr;
    let (dir, schema) = fresh_schema();
    // A store as the first PostgreSQL release left it: migration 1 only, applied by sqlx's
    // migrator from the same file (so its checksum is the one this build knows).
    sql(format!("CREATE SCHEMA {schema}")).await;
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres/0001_initial.sql"),
        first.join("0001_initial.sql"),
    )
    .unwrap();
    let options = sqlx::postgres::PgConnectOptions::from_str(&database_url())
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(first.as_path()).await.unwrap().run(&pool).await.unwrap();
    let rows = [
        // Open, holding 2 + 1 units and a shipment at a location with a capacity; placed
        // before N's release, 2 of N preordered.
        (
            "open",
            "reserved",
            r#"{"expires_at": "2030-01-01T00:00:00Z", "held_units": [{"sku": "A", "location": "L", "qty": 2}, {"sku": "A", "location": "L", "qty": 1}],
                "held_shipments": [{"location": "L", "day": 20000, "capacity": 5}],
                "history": [{"at": "2029-06-01T00:00:00Z"}], "request": {"lines": [{"sku": "N", "qty": 2}, {"sku": "A", "qty": 3}]}}"#,
        ),
        // Scheduled, placed after N's release: no preorder.
        (
            "later",
            "scheduled",
            r#"{"due_at": "2030-01-02T00:00:00Z", "held_units": [],
                "history": [{"at": "2031-06-01T00:00:00Z"}], "request": {"lines": [{"sku": "N", "qty": 5}]}}"#,
        ),
        // Damaged by hand: not JSON, a field of the wrong type; each counts for nothing.
        ("broken", "reserved", "{not json"),
        ("odd", "confirmed", r#"{"held_units": {"sku": "A"}, "expires_at": 7, "held_shipments": [{"day": "x"}]}"#),
        // Closed: holds nothing, preorders nothing.
        (
            "done",
            "cancelled",
            r#"{"held_units": [{"sku": "A", "location": "L", "qty": 9}],
                "history": [{"at": "2029-06-01T00:00:00Z"}], "request": {"lines": [{"sku": "N", "qty": 9}]}}"#,
        ),
    ];
    for (sku, body) in [("N", r#"{"release_at": "2031-01-01T00:00:00Z"}"#), ("A", "{}")] {
        sqlx::query("INSERT INTO products (sku, body) VALUES ($1, $2)")
            .bind(sku)
            .bind(body)
            .execute(&pool)
            .await
            .unwrap();
    }
    // Inbound stock: expected with 2 of 5 promised, received, and damaged by hand.
    let inbound = [
        ("IN-1", r#"{"qty": 5, "allocated": 2, "received": null}"#),
        ("IN-2", r#"{"qty": 4, "allocated": 4, "received": 4}"#),
        ("IN-3", "not json"),
    ];
    for (id, body) in inbound {
        sqlx::query("INSERT INTO inbound (id, body) VALUES ($1, $2)").bind(id).bind(body).execute(&pool).await.unwrap();
    }
    for (id, status, body) in rows {
        sqlx::query("INSERT INTO orders (id, status, body, keep_until) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(status)
            .bind(body)
            .bind(i64::MAX)
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO stock (sku, location, on_hand, safety_stock) VALUES ('A', 'L', 10, 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    // This build opens it: migrations 2 to 4 count what the orders and inbound records hold.
    let store = PgStore::open(&settings(&schema)).await.unwrap();
    drop(store);
    let mut db = sqlx::PgConnection::connect(&database_url()).await.unwrap();
    let reserved: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT reserved FROM {schema}.stock")))
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(reserved, 3);
    let shipments: Vec<(String, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT location, day, shipments FROM {schema}.shipment_counts")))
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(shipments, [("L".to_owned(), 20000, 1)]);
    let due: Vec<(String, Option<i64>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id, due FROM {schema}.orders ORDER BY id")))
            .fetch_all(&mut db)
            .await
            .unwrap();
    let expected = [
        ("broken", None),
        ("done", None),
        ("later", Some(1_893_542_400)),
        ("odd", None),
        ("open", Some(1_893_456_000)),
    ];
    let expected: Vec<(String, Option<i64>)> = expected.iter().map(|(id, due)| ((*id).to_owned(), *due)).collect();
    assert_eq!(due, expected);
    let preorders: Vec<(String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT sku, units FROM {schema}.preorders")))
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(preorders, [("N".to_owned(), 2)]);
    let inbound: Vec<(String, Option<i64>, i64, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, qty, promised, received FROM {schema}.inbound ORDER BY id"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    let expected = [("IN-1", Some(5), 2, false), ("IN-2", Some(4), 4, true), ("IN-3", None, 0, false)];
    let expected: Vec<_> = expected.iter().map(|(id, qty, p, r)| ((*id).to_owned(), *qty, *p, *r)).collect();
    assert_eq!(inbound, expected);
    // Migration 5: when each was placed, from its first event (0 when the body does not say).
    let placed: Vec<(String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id, placed FROM {schema}.orders ORDER BY id")))
            .fetch_all(&mut db)
            .await
            .unwrap();
    let expected =
        [("broken", 0), ("done", 1_874_966_400), ("later", 1_938_038_400), ("odd", 0), ("open", 1_874_966_400)];
    let expected: Vec<(String, i64)> = expected.iter().map(|(id, at)| ((*id).to_owned(), *at)).collect();
    assert_eq!(placed, expected);
}

// A TCP proxy in front of the test's PostgreSQL server that the test can cut: every
// connection through it dropped and new ones refused, as when the database goes away.
struct Proxy {
    url: String,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start() -> Proxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let url = database_url();
        // postgres://user@host:port/database: the proxy takes host:port's place.
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, server) = authority.rsplit_once('@').map_or(("", authority), |(u, s)| (u, s));
        assert!(!server.is_empty(), "the test database must be reached over TCP: {url}");
        let upstream = if server.contains(':') { server.to_owned() } else { format!("{server}:5432") };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let at = if user.is_empty() { String::new() } else { format!("{user}@") };
        let proxy = Proxy {
            url: format!("{scheme}://{at}127.0.0.1:{port}/{path}"),
            open: Arc::new(AtomicBool::new(true)),
            connections: Arc::new(Mutex::new(Vec::new())),
        };
        let (open, connections) = (Arc::clone(&proxy.open), Arc::clone(&proxy.connections));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !open.load(Ordering::SeqCst) {
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().unwrap().push(task.abort_handle());
            }
        });
        proxy
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_database_goes_away_writes_fail_cleanly_and_resume_when_it_is_back() {
    use axum::http::StatusCode;
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start().await;
    let settings = switchyard_host::Config {
        store: Some(proxy.url.clone()),
        store_schema: Some(schema_for(dir.path())),
        ..config(dir.path(), 900)
    };
    let service = switchyard_host::Service::open(settings.clone()).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(std::sync::Arc::clone(&service));
    assert_eq!(post(&app, "/v1/orders", WRITER, &order("up-1", "SKU-A", 2)).await.status, StatusCode::CREATED);
    let before = service.state_view().await;

    proxy.cut();
    // A write: 503, nothing of it applied in memory.
    let refused = post(&app, "/v1/orders", WRITER, &order("down-1", "SKU-A", 3)).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "store_unavailable", "{}", refused.body);
    let adjusted = post(
        &app,
        "/v1/inventory/adjustments",
        WRITER,
        &serde_json::json!({"adjustments": [{"sku": "SKU-A", "location": "DC-EAST", "delta": 4}]}),
    )
    .await;
    assert_eq!(adjusted.status, StatusCode::SERVICE_UNAVAILABLE, "{}", adjusted.body);
    assert_eq!(service.state_view().await, before, "memory is as it was");
    // What memory holds is still answered.
    assert_eq!(get(&app, "/v1/orders/up-1", READER).await.status, StatusCode::OK);
    assert_eq!(atp(&app, "SKU-A").await, 8);

    proxy.restore();
    // Back: the pool opens new connections and the same order goes through.
    let mut placed = None;
    for _ in 0..50 {
        let reply = post(&app, "/v1/orders", WRITER, &order("down-1", "SKU-A", 3)).await;
        if reply.status != StatusCode::SERVICE_UNAVAILABLE {
            placed = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let placed = placed.expect("writes resume once the database is back");
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    assert_eq!(atp(&app, "SKU-A").await, 5);
    // The store has exactly what memory has.
    let memory = service.state_view().await;
    let direct = switchyard_host::Config { store: Some(database_url()), ..settings };
    assert_eq!(switchyard_host::Service::open(direct).await.unwrap().state_view().await, memory);
}
