//! The embedded store: SQLite in WAL mode (`synchronous = FULL`), in one directory. Writes go
//! through one writer thread that commits them in batches (group commit): every commit
//! waiting when a transaction starts shares it and its fsync, each in its own savepoint (one
//! that fails is rolled back alone), and is acknowledged only after the transaction commits.
//! Reads (the start, and closed orders when asked for) go through a second connection, which
//! WAL lets read beside the writer. One process owns the directory: it is the only one that
//! runs background work.

use std::path::Path;
use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use tokio::sync::oneshot;

use super::{Change, ListedOrder, OrderQuery, Snapshot, Store, StoreError, StoreFuture, StoredOrder, Work};

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Failed(error.to_string())
    }
}

type Job = (Vec<Change>, oneshot::Sender<Result<(), StoreError>>);

/// SQLite in WAL mode with `synchronous = FULL`: a commit has reached the disk when it
/// returns.
pub struct SqliteStore {
    sender: mpsc::Sender<Job>,
    // The reading connection. Reads are point lookups by key (and the start), short enough
    // to run on the caller's thread.
    reader: parking_lot::Mutex<Connection>,
    directory: std::path::PathBuf,
    // `switchyard.lock` in the directory, locked while this process serves the store.
    exclusive: parking_lot::Mutex<Option<std::fs::File>>,
}

/// The schema as numbered migrations, applied in order when a store is opened; SQLite's
/// `user_version` counts those applied (rusqlite_migration). A migration that has shipped is
/// never edited: a change of schema is a new one at the end.
const MIGRATIONS: &[&str] = &[SCHEMA_1, SCHEMA_2, SCHEMA_3, SCHEMA_4, SCHEMA_5, SCHEMA_6];

/// The schema version this build writes: the number of its migrations.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

// 1 (2026-11): the tables of every release before versioning. `IF NOT EXISTS`: a store those
// releases wrote (user_version 0, these tables) takes this step unchanged.
const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS locations (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (sku TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stock (
    sku TEXT NOT NULL, location TEXT NOT NULL, on_hand INTEGER NOT NULL, safety_stock INTEGER NOT NULL,
    PRIMARY KEY (sku, location));
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, idempotency_key TEXT UNIQUE, status TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policy_versions (
    version TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, source BLOB NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bindings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, version TEXT NOT NULL, fallback TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_deliveries (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_events (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS atp_changes (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recurring_orders (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inbound (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

// 2 (2026-11): memory keeps open orders only (`keep_until`, see `Change::Order`). Closed orders
// stored before are kept while their shipments count against a day's capacity
// (`OrderRecord::keep_until`), open ones for as long as they are open.
const SCHEMA_2: &str = "
ALTER TABLE orders ADD COLUMN keep_until INTEGER NOT NULL DEFAULT 9223372036854775807;
UPDATE orders SET keep_until = COALESCE(
    (SELECT (max(json_extract(value, '$.day')) + 2) * 86400 FROM json_each(orders.body, '$.held_shipments')), 0)
  WHERE status IN ('shipped', 'delivered', 'cancelled', 'expired', 'rejected');
CREATE INDEX orders_keep_until ON orders (keep_until);
";

// 3 (2026-12): orders are listed by when they were placed (their first event; 0 when a body
// does not say), newest first, by status or not.
const SCHEMA_3: &str = "
ALTER TABLE orders ADD COLUMN placed INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET placed = COALESCE(CAST(strftime('%s', json_extract(body, '$.history[0].at')) AS INTEGER), 0)
  WHERE json_valid(body) AND json_type(body, '$.history[0].at') = 'text';
CREATE INDEX orders_placed ON orders (placed, id);
CREATE INDEX orders_status_placed ON orders (status, placed, id);
";

// 4 (2026-12): why each order was routed as it was, one row per routing (`RoutingRecord`),
// read only when asked for.
const SCHEMA_4: &str = "
CREATE TABLE explanations (
    order_id TEXT NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (order_id, revision)
) WITHOUT ROWID;
";

// 5 (2026-12): carrier services, for delivery promises (`CarrierServiceRecord`).
const SCHEMA_5: &str = "
CREATE TABLE carrier_services (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

// 6 (2026-12): a binding's plugin parameter values (JSON; NULL: none).
const SCHEMA_6: &str = "
ALTER TABLE bindings ADD COLUMN parameters TEXT;
";

impl SqliteStore {
    /// Opens (or creates) the store in `directory`, brings its schema up to date, and starts
    /// the writer.
    pub fn open(directory: &Path, batch: usize) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(directory)
            .map_err(|e| StoreError::Failed(format!("cannot create `{}`: {e}", directory.display())))?;
        let path = directory.join("switchyard.db");
        let mut connection = Connection::open(&path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut connection)?;
        let reader = Connection::open(&path)?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let batch = batch.max(1);
        thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer(connection, receiver, batch))
            .map_err(|e| StoreError::Failed(format!("cannot start the store writer: {e}")))?;
        Ok(SqliteStore {
            sender,
            reader: parking_lot::Mutex::new(reader),
            directory: directory.to_path_buf(),
            exclusive: parking_lot::Mutex::new(None),
        })
    }
}

impl Store for SqliteStore {
    fn load(&self, now: i64) -> StoreFuture<'_, Snapshot> {
        let snapshot = read_snapshot(&mut self.reader.lock(), now);
        Box::pin(async move { snapshot })
    }

    fn order(&self, id: &str) -> StoreFuture<'_, Option<StoredOrder>> {
        let found = self
            .reader
            .lock()
            .prepare_cached("SELECT id, idempotency_key, body FROM orders WHERE id = ?1")
            .and_then(|mut statement| {
                statement.query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))).optional()
            })
            .map_err(StoreError::from);
        Box::pin(async move { found })
    }

    fn list_orders(&self, query: OrderQuery) -> StoreFuture<'_, Vec<ListedOrder>> {
        let (after_placed, after_id) = query.after.clone().map_or((None, None), |(p, id)| (Some(p), Some(id)));
        let listed = self
            .reader
            .lock()
            .prepare_cached(
                "SELECT placed, id, body FROM orders
                 WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR placed >= ?2) AND (?3 IS NULL OR placed < ?3)
                   AND (?4 IS NULL OR placed < ?4 OR (placed = ?4 AND id < ?5))
                 ORDER BY placed DESC, id DESC LIMIT ?6",
            )
            .and_then(|mut statement| {
                let rows = statement.query_map(
                    params![query.status, query.since, query.until, after_placed, after_id, query.limit as i64],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )?;
                rows.collect::<Result<Vec<ListedOrder>, _>>()
            })
            .map_err(StoreError::from);
        Box::pin(async move { listed })
    }

    fn routings(&self, order_id: &str) -> StoreFuture<'_, Vec<String>> {
        let found = self
            .reader
            .lock()
            .prepare_cached("SELECT body FROM explanations WHERE order_id = ?1 ORDER BY revision")
            .and_then(|mut statement| statement.query_map([order_id], |row| row.get(0))?.collect())
            .map_err(StoreError::from);
        Box::pin(async move { found })
    }

    fn order_for_key(&self, key: &str) -> StoreFuture<'_, Option<String>> {
        let found = self
            .reader
            .lock()
            .prepare_cached("SELECT id FROM orders WHERE idempotency_key = ?1")
            .and_then(|mut statement| statement.query_row([key], |row| row.get(0)).optional())
            .map_err(StoreError::from);
        Box::pin(async move { found })
    }

    fn all_orders(&self) -> StoreFuture<'_, Vec<StoredOrder>> {
        let orders = self
            .reader
            .lock()
            .prepare("SELECT id, idempotency_key, body FROM orders ORDER BY rowid")
            .and_then(|mut statement| {
                statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect()
            })
            .map_err(StoreError::from);
        Box::pin(async move { orders })
    }

    fn commit(&self, changes: Vec<Change>) -> StoreFuture<'static, ()> {
        let (ack, done) = oneshot::channel();
        if let Err(mpsc::SendError((_, ack))) = self.sender.send((changes, ack)) {
            let _ = ack.send(Err(StoreError::Failed("the store writer has stopped".into())));
        }
        Box::pin(
            async move { done.await.unwrap_or_else(|_| Err(StoreError::Failed("the store writer stopped".into()))) },
        )
    }

    fn claim(&self, _work: Work) -> StoreFuture<'_, bool> {
        // One process owns the directory.
        Box::pin(async { Ok(true) })
    }

    fn hold_exclusively(&self) -> StoreFuture<'_, bool> {
        let held = self.hold_lock_file();
        Box::pin(async move { held })
    }

    fn held_elsewhere(&self) -> String {
        format!(
            "another switchyard process is serving the store in `{}`; one process serves an embedded store",
            self.directory.display()
        )
    }
}

impl SqliteStore {
    // Locks `switchyard.lock` for as long as this process lives (the operating system lets go
    // of it when the process ends, however it ends).
    fn hold_lock_file(&self) -> Result<bool, StoreError> {
        let mut exclusive = self.exclusive.lock();
        if exclusive.is_some() {
            return Ok(true);
        }
        let path = self.directory.join("switchyard.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Failed(format!("cannot open `{}`: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {
                *exclusive = Some(file);
                Ok(true)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StoreError::Failed(format!("cannot lock `{}`: {e}", path.display())))
            }
        }
    }
}

// Brings the store's schema to `SCHEMA_VERSION`, each migration in a transaction of its own;
// refuses a store written by a newer build (its schema may mean what this build cannot read).
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if usize::try_from(version).map_or(true, |version| version > SCHEMA_VERSION) {
        return Err(StoreError::Failed(format!(
            "the store's schema is version {version}, newer than this build of switchyard knows \
             (up to {SCHEMA_VERSION}): run the newer switchyard that wrote it, or restore a backup"
        )));
    }
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    migrations.to_latest(connection).map_err(|e| StoreError::Failed(format!("cannot migrate the store's schema: {e}")))
}

// Everything memory keeps, in one read transaction (one picture however the writer goes on).
fn read_snapshot(connection: &mut Connection, now: i64) -> Result<Snapshot, StoreError> {
    let connection = connection.transaction()?;
    let mut snapshot = Snapshot::default();
    let mut statement = connection.prepare("SELECT id, body FROM locations ORDER BY rowid")?;
    snapshot.locations = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT sku, body FROM products ORDER BY rowid")?;
    snapshot.products = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT sku, location, on_hand, safety_stock FROM stock ORDER BY rowid")?;
    snapshot.stock = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut statement = connection
        .prepare("SELECT id, idempotency_key, body FROM orders INDEXED BY orders_keep_until WHERE keep_until > ?1 ORDER BY rowid")?;
    snapshot.orders =
        statement.query_map([now], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<_, _>>()?;
    let mut statement =
        connection.prepare("SELECT version, name, kind, source, meta FROM policy_versions ORDER BY rowid")?;
    snapshot.policy_versions = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut statement =
        connection.prepare("SELECT grp, version, fallback, at, parameters FROM bindings ORDER BY seq")?;
    snapshot.bindings = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM webhooks ORDER BY rowid")?;
    snapshot.webhooks = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM carrier_services ORDER BY rowid")?;
    snapshot.carrier_services = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM webhook_deliveries ORDER BY id")?;
    snapshot.deliveries = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM atp_changes ORDER BY seq")?;
    snapshot.atp_changes = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT id, body FROM webhook_events ORDER BY id")?;
    snapshot.webhook_events =
        statement.query_map([], |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM recurring_orders ORDER BY rowid")?;
    snapshot.recurring = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM inbound ORDER BY rowid")?;
    snapshot.inbound = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    // Read only: the transaction ends (rolled back) when it goes out of scope.
    Ok(snapshot)
}

// The writer: waits for a job, takes every job already queued (up to `batch`), applies each
// in its own savepoint inside one transaction (a job that fails is rolled back alone), commits
// once, then acknowledges every job.
fn writer(mut connection: Connection, receiver: mpsc::Receiver<Job>, batch: usize) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < batch {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let outcome = commit_batch(&mut connection, &jobs);
        match outcome {
            Ok(results) => {
                for ((_, ack), result) in jobs.into_iter().zip(results) {
                    let _ = ack.send(result);
                }
            }
            Err(error) => {
                tracing::error!(%error, jobs = jobs.len(), "store commit failed");
                for (_, ack) in jobs {
                    let _ = ack.send(Err(error.clone()));
                }
            }
        }
    }
}

fn commit_batch(connection: &mut Connection, jobs: &[Job]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut transaction = connection.transaction()?;
    let mut results = Vec::with_capacity(jobs.len());
    for (changes, _) in jobs {
        let savepoint = transaction.savepoint()?;
        let applied = changes.iter().try_for_each(|change| apply(&savepoint, change));
        match applied {
            Ok(()) => {
                savepoint.commit()?;
                results.push(Ok(()));
            }
            Err(error) => {
                drop(savepoint); // rolls back this job only
                results.push(Err(StoreError::from(error)));
            }
        }
    }
    transaction.commit()?;
    Ok(results)
}

// Inserts or replaces the JSON body of one row of a `(key, body)` table.
fn upsert_body(
    connection: &Connection,
    table: &str,
    key: &str,
    id: &dyn rusqlite::ToSql,
    body: &str,
) -> Result<usize, rusqlite::Error> {
    connection.execute(
        &format!(
            "INSERT INTO {table} ({key}, body) VALUES (?1, ?2) ON CONFLICT({key}) DO UPDATE SET body = excluded.body"
        ),
        params![id, body],
    )
}

fn apply(connection: &Connection, change: &Change) -> Result<(), rusqlite::Error> {
    match change {
        Change::Location { id, body } => upsert_body(connection, "locations", "id", id, body),
        Change::Product { sku, body } => upsert_body(connection, "products", "sku", sku, body),
        Change::StockLevel { sku, location, on_hand, safety_stock, was: _ } => connection.execute(
            "INSERT INTO stock (sku, location, on_hand, safety_stock) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(sku, location) DO UPDATE SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock",
            params![sku, location, on_hand, safety_stock],
        ),
        Change::StockDelta { sku, location, delta } => connection.execute(
            "INSERT INTO stock (sku, location, on_hand, safety_stock) VALUES (?1, ?2, max(?3, 0), 0)
             ON CONFLICT(sku, location) DO UPDATE SET on_hand = max(on_hand + ?3, 0)",
            params![sku, location, delta],
        ),
        // One process serves a SQLite store: memory's count of reserved units is the truth,
        // rebuilt from the orders at start.
        Change::Reserve { .. } | Change::Shipments { .. } | Change::Promise { .. } | Change::Preorder { .. } => Ok(0),
        // One process serves a SQLite store: its memory orders every change of an order.
        Change::Order { id, idempotency_key, status, body, keep_until, revision: _, due: _, placed } => connection
            .execute(
            "INSERT INTO orders (id, idempotency_key, status, body, keep_until, placed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body,
                     keep_until = excluded.keep_until, placed = excluded.placed",
            params![id, idempotency_key, status, body, keep_until, placed],
        ),
        Change::Explanation { order_id, revision, body } => connection.execute(
            "INSERT INTO explanations (order_id, revision, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(order_id, revision) DO UPDATE SET body = excluded.body",
            params![order_id, *revision as i64, body],
        ),
        Change::PolicyVersion { version, name, kind, source, meta } => connection.execute(
            "INSERT OR IGNORE INTO policy_versions (version, name, kind, source, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![version, name, kind, source, meta],
        ),
        Change::Binding { group, version, fallback, at, parameters } => connection.execute(
            "INSERT INTO bindings (grp, version, fallback, at, parameters) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![group, version, fallback, at, parameters],
        ),
        Change::Webhook { id, body: Some(body) } => upsert_body(connection, "webhooks", "id", id, body),
        Change::Webhook { id, body: None } => connection.execute("DELETE FROM webhooks WHERE id = ?1", params![id]),
        Change::CarrierService { id, body: Some(body) } => upsert_body(connection, "carrier_services", "id", id, body),
        Change::CarrierService { id, body: None } => {
            connection.execute("DELETE FROM carrier_services WHERE id = ?1", params![id])
        }
        Change::Inbound { id, body, .. } => upsert_body(connection, "inbound", "id", id, body),
        Change::Recurring { id, body, revision: _ } => upsert_body(connection, "recurring_orders", "id", id, body),
        Change::Delivery { id, body: Some(body) } => {
            upsert_body(connection, "webhook_deliveries", "id", &(*id as i64), body)
        }
        Change::Delivery { id, body: None } => {
            connection.execute("DELETE FROM webhook_deliveries WHERE id = ?1", params![*id as i64])
        }
        Change::WebhookEvent { id, body: Some(body) } => {
            upsert_body(connection, "webhook_events", "id", &(*id as i64), body)
        }
        Change::WebhookEvent { id, body: None } => {
            connection.execute("DELETE FROM webhook_events WHERE id = ?1", params![*id as i64])
        }
        Change::AtpChange { seq, body: Some(body) } => {
            upsert_body(connection, "atp_changes", "seq", &(*seq as i64), body)
        }
        Change::AtpChange { seq, body: None } => {
            connection.execute("DELETE FROM atp_changes WHERE seq = ?1", params![*seq as i64])
        }
    }
    .map(|_| ())
}
