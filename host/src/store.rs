//! The durable store: SQLite in WAL mode, in one directory. Writes go through one writer
//! thread that commits them in batches (group commit): every request waiting when a commit
//! starts shares its transaction and its fsync, and is acknowledged only after the commit
//! returns. Reads happen once, at start, to rebuild the in-memory state.
//!
//! `Store` is the extension point (a PostgreSQL store is planned); `SqliteStore` is the
//! embedded default.

use std::path::Path;
use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

/// One change to make durable. Fields are the columns of the table each variant writes.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Insert or replace a location (JSON body of `LocationDto`).
    Location { id: String, body: String },
    /// Insert or replace a product (JSON body of `ProductDto`).
    Product { sku: String, body: String },
    /// Set a position's on hand and safety stock.
    StockLevel { sku: String, location: String, on_hand: u32, safety_stock: u32 },
    /// Change a position's on hand by `delta` (receipts, shipments).
    StockDelta { sku: String, location: String, delta: i64 },
    /// Insert or replace an order (JSON body of the stored order).
    Order { id: String, idempotency_key: Option<String>, status: String, body: String },
    /// A new policy or plugin version.
    PolicyVersion { version: String, name: String, kind: String, source: Vec<u8>, meta: String },
    /// A binding change (appended: the history is the table).
    Binding { group: String, version: String, fallback: Option<String>, at: String },
    /// Insert or replace a webhook subscription (`body: None` deletes it).
    Webhook { id: String, body: Option<String> },
    /// Insert or replace a webhook delivery.
    Delivery { id: u64, body: String },
    /// Insert or replace a recurring order.
    Recurring { id: String, body: String },
    /// Insert or replace an inbound stock record.
    Inbound { id: String, body: String },
}

/// Everything the store holds, read back at start, in write order.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// `(id, body)` in first-insert order (which fixes the engine's dense indexes).
    pub locations: Vec<(String, String)>,
    /// `(sku, body)` in first-insert order.
    pub products: Vec<(String, String)>,
    /// `(sku, location, on_hand, safety_stock)`.
    pub stock: Vec<(String, String, i64, i64)>,
    /// `(id, idempotency_key, body)` in first-insert order.
    pub orders: Vec<(String, Option<String>, String)>,
    /// `(version, name, kind, source, meta)` in upload order.
    pub policy_versions: Vec<(String, String, String, Vec<u8>, String)>,
    /// `(group, version, fallback, at)` in binding order.
    pub bindings: Vec<(String, String, Option<String>, String)>,
    /// Webhook subscriptions (JSON bodies).
    pub webhooks: Vec<String>,
    /// Webhook deliveries (JSON bodies), oldest first.
    pub deliveries: Vec<String>,
    /// Recurring orders (JSON bodies).
    pub recurring: Vec<String>,
    /// Inbound stock (JSON bodies), in creation order.
    pub inbound: Vec<String>,
}

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError(error.to_string())
    }
}

type Job = (Vec<Write>, oneshot::Sender<Result<(), StoreError>>);

/// A durable store the service writes through.
pub trait Store: Send + Sync {
    /// Makes `writes` durable together (all or none); resolves when they are.
    fn commit(&self, writes: Vec<Write>) -> oneshot::Receiver<Result<(), StoreError>>;
}

/// SQLite in WAL mode with `synchronous = FULL`: a commit has reached the disk when it
/// returns.
pub struct SqliteStore {
    sender: mpsc::Sender<Job>,
}

const SCHEMA: &str = "
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
CREATE TABLE IF NOT EXISTS recurring_orders (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inbound (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

impl SqliteStore {
    /// Opens (or creates) the store in `directory`, reads it back, and starts the writer.
    pub fn open(directory: &Path, batch: usize) -> Result<(SqliteStore, Snapshot), StoreError> {
        std::fs::create_dir_all(directory)
            .map_err(|e| StoreError(format!("cannot create `{}`: {e}", directory.display())))?;
        let path = directory.join("switchyard.db");
        let connection = Connection::open(&path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.execute_batch(SCHEMA)?;
        let snapshot = read_snapshot(&connection)?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let batch = batch.max(1);
        thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer(connection, receiver, batch))
            .map_err(|e| StoreError(format!("cannot start the store writer: {e}")))?;
        Ok((SqliteStore { sender }, snapshot))
    }
}

impl Store for SqliteStore {
    fn commit(&self, writes: Vec<Write>) -> oneshot::Receiver<Result<(), StoreError>> {
        let (ack, done) = oneshot::channel();
        if let Err(mpsc::SendError((_, ack))) = self.sender.send((writes, ack)) {
            let _ = ack.send(Err(StoreError("the store writer has stopped".into())));
        }
        done
    }
}

fn read_snapshot(connection: &Connection) -> Result<Snapshot, StoreError> {
    let mut snapshot = Snapshot::default();
    let mut statement = connection.prepare("SELECT id, body FROM locations ORDER BY rowid")?;
    snapshot.locations = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT sku, body FROM products ORDER BY rowid")?;
    snapshot.products = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT sku, location, on_hand, safety_stock FROM stock ORDER BY rowid")?;
    snapshot.stock = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT id, idempotency_key, body FROM orders ORDER BY rowid")?;
    snapshot.orders =
        statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<_, _>>()?;
    let mut statement =
        connection.prepare("SELECT version, name, kind, source, meta FROM policy_versions ORDER BY rowid")?;
    snapshot.policy_versions = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT grp, version, fallback, at FROM bindings ORDER BY seq")?;
    snapshot.bindings = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM webhooks ORDER BY rowid")?;
    snapshot.webhooks = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM webhook_deliveries ORDER BY id")?;
    snapshot.deliveries = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM recurring_orders ORDER BY rowid")?;
    snapshot.recurring = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut statement = connection.prepare("SELECT body FROM inbound ORDER BY rowid")?;
    snapshot.inbound = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
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
    for (writes, _) in jobs {
        let savepoint = transaction.savepoint()?;
        let applied = writes.iter().try_for_each(|write| apply(&savepoint, write));
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

fn apply(connection: &Connection, write: &Write) -> Result<(), rusqlite::Error> {
    match write {
        Write::Location { id, body } => upsert_body(connection, "locations", "id", id, body),
        Write::Product { sku, body } => upsert_body(connection, "products", "sku", sku, body),
        Write::StockLevel { sku, location, on_hand, safety_stock } => connection.execute(
            "INSERT INTO stock (sku, location, on_hand, safety_stock) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(sku, location) DO UPDATE SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock",
            params![sku, location, on_hand, safety_stock],
        ),
        Write::StockDelta { sku, location, delta } => connection.execute(
            "INSERT INTO stock (sku, location, on_hand, safety_stock) VALUES (?1, ?2, max(?3, 0), 0)
             ON CONFLICT(sku, location) DO UPDATE SET on_hand = max(on_hand + ?3, 0)",
            params![sku, location, delta],
        ),
        Write::Order { id, idempotency_key, status, body } => connection.execute(
            "INSERT INTO orders (id, idempotency_key, status, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
            params![id, idempotency_key, status, body],
        ),
        Write::PolicyVersion { version, name, kind, source, meta } => connection.execute(
            "INSERT OR IGNORE INTO policy_versions (version, name, kind, source, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![version, name, kind, source, meta],
        ),
        Write::Binding { group, version, fallback, at } => connection.execute(
            "INSERT INTO bindings (grp, version, fallback, at) VALUES (?1, ?2, ?3, ?4)",
            params![group, version, fallback, at],
        ),
        Write::Webhook { id, body: Some(body) } => upsert_body(connection, "webhooks", "id", id, body),
        Write::Webhook { id, body: None } => connection.execute("DELETE FROM webhooks WHERE id = ?1", params![id]),
        Write::Inbound { id, body } => upsert_body(connection, "inbound", "id", id, body),
        Write::Recurring { id, body } => upsert_body(connection, "recurring_orders", "id", id, body),
        Write::Delivery { id, body } => upsert_body(connection, "webhook_deliveries", "id", &(*id as i64), body),
    }
    .map(|_| ())
}
