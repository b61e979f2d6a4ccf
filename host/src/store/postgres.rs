//! The PostgreSQL store: the same record as the SQLite store, in a database the merchant
//! already operates. sqlx drives it (async, a connection pool); its migrator applies the
//! numbered migrations of `host/migrations/postgres/` at open, and a database migrated by a
//! newer build is refused. Commits are grouped as on SQLite: a few writer tasks each take
//! every commit waiting (up to `batch`) into one transaction, one round trip per change and
//! one WAL flush per batch, and acknowledge them once it has committed; a batch that fails is
//! tried again commit by commit, so one bad commit fails alone. Background work is
//! claimed with session advisory locks on a connection of its own: a process that dies
//! loses its connection, its locks with it, and another process takes the work over. The
//! serving instance holds one more lock, and a fencing token (`lease.epoch`) that each batch
//! of writes checks in its own transaction: an instance that lost the store to another can
//! write nothing more.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Postgres, Transaction};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{
    BodyOf, Change, FeedEntry, ListedOrder, OrderQuery, Snapshot, Store, StoreError, StoreFuture, StoredBinding,
    StoredOrder, StoredVersion, Work,
};

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(database) = &error
            && database.is_unique_violation()
        {
            // Only instances sharing the store race for a key: one serving alone claims ids
            // and keys in memory first.
            return StoreError::Duplicate(match database.constraint() {
                Some("orders_pkey") => "another instance created an order with this id at the same moment".to_owned(),
                Some("orders_idempotency_key_key") => {
                    "another instance created an order with this Idempotency-Key at the same moment".to_owned()
                }
                _ => database.message().to_owned(),
            });
        }
        StoreError::Failed(error.to_string())
    }
}

/// The migrations, embedded at build time from `host/migrations/postgres/`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The schema version this build writes: the number of its newest migration.
pub fn schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Where and how to reach the database. (No `Debug`: the URL may hold a password.)
#[derive(Clone)]
pub struct PgSettings {
    /// `postgres://user:password@host:port/database` (libpq's URL; `sslmode` and the rest
    /// as libpq reads them).
    pub url: String,
    /// The schema the tables live in (created if missing); `None`: the URL's search path.
    pub schema: Option<String>,
    /// Most connections in the pool.
    pub connections: u32,
    /// Most commits grouped in one transaction.
    pub batch: usize,
    /// Serving together with other instances (`serve --shared`): this instance's name in the
    /// change feed, which every transaction it writes is tagged with. `None`: one instance
    /// serves the store, and nothing is written to the feed.
    pub origin: Option<String>,
}

// A commit waiting for a writer, and who to tell.
type Job = (Vec<Change>, oneshot::Sender<Result<(), StoreError>>);

// Writer tasks: enough to keep a batch committing while the next one forms.
const WRITERS: usize = 4;

/// A PostgreSQL database as the record.
pub struct PgStore {
    pool: PgPool,
    jobs: mpsc::UnboundedSender<Job>,
    // The fencing token this instance took when it began serving the store; 0 before (a
    // store opened to read or compare is not fenced).
    epoch: Arc<AtomicI64>,
    // Set when this instance lost the store to another: it claims no work any more.
    fenced: AtomicBool,
    options: PgConnectOptions,
    // The first of the two keys of every advisory lock this store takes: one per schema, so
    // deployments sharing a database do not claim each other's work.
    lock_class: i32,
    claims: Mutex<Claims>,
    origin: Option<String>,
    // Wakes the feed's follower when another instance committed (LISTEN/NOTIFY).
    listener: Mutex<Option<sqlx::postgres::PgListener>>,
    // Cursors the feed was read at, to prune what every reader has long read.
    read_at: Mutex<std::collections::VecDeque<(std::time::Instant, String)>>,
}

// A row of the change feed as `follow` reads it (`snapshot`: the cursor after it).
#[derive(sqlx::FromRow)]
struct FeedRow {
    snapshot: String,
    kind: Option<String>,
    key: Option<String>,
    location: Option<String>,
    on_hand: Option<i64>,
    reserved: Option<i64>,
    safety_stock: Option<i64>,
    revision: Option<i64>,
    day: Option<i64>,
    shipments: Option<i64>,
    units: Option<i64>,
    received: Option<bool>,
}

// How long feed rows are kept after this instance read past them: a reader that falls this
// far behind has bigger problems than the feed.
const FEED_KEPT: Duration = Duration::from_secs(300);

// The connection that holds this process's advisory locks, and which it holds.
#[derive(Default)]
struct Claims {
    connection: Option<PgConnection>,
    held: HashSet<i32>,
}

// The second key of the advisory lock of each kind of work; 0 is the serving instance's.
const EXCLUSIVE: i32 = 0;

fn work_key(work: Work) -> i32 {
    match work {
        Work::Expiry => 1,
        Work::Scheduled => 2,
        Work::Recurring => 3,
        Work::Webhooks => 4,
        Work::AtpFeed => 5,
        Work::Reoptimize => 6,
    }
}

impl PgStore {
    /// Connects, creates the schema if asked for and missing, and brings it to this build's
    /// version (refusing one from a newer build).
    pub async fn open(settings: &PgSettings) -> Result<PgStore, StoreError> {
        let mut options = PgConnectOptions::from_str(&settings.url)
            .map_err(|e| StoreError::Failed(format!("the PostgreSQL URL cannot be read: {e}")))?
            .application_name("switchyard");
        // One connection first: a server that cannot be reached or refuses us says why at
        // once (the pool would retry until its timeout and say only that it timed out).
        let mut connection = PgConnection::connect_with(&options).await.map_err(unreachable)?;
        if let Some(schema) = &settings.schema {
            // Validated by `Config::check`: lowercase letters, digits and underscores.
            sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
                .execute(&mut connection)
                .await?;
            options = options.options([("search_path", schema.as_str())]);
        }
        connection.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(unreachable)?;
        migrate(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await?;
        let digest = Sha256::digest(format!("switchyard/{schema}").as_bytes());
        let lock_class = i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let (jobs, queue) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(queue));
        let epoch = Arc::new(AtomicI64::new(0));
        for _ in 0..WRITERS {
            tokio::spawn(writer(
                pool.clone(),
                Arc::clone(&queue),
                Arc::clone(&epoch),
                settings.batch.max(1),
                settings.origin.clone(),
            ));
        }
        let claims_options = options.clone().application_name("switchyard claims");
        Ok(PgStore {
            pool,
            jobs,
            epoch,
            fenced: AtomicBool::new(false),
            options: claims_options,
            lock_class,
            claims: Mutex::new(Claims::default()),
            origin: settings.origin.clone(),
            listener: Mutex::new(None),
            read_at: Mutex::new(std::collections::VecDeque::new()),
        })
    }

    // Takes advisory lock `key` (of this store's class) on the claims connection, which is
    // opened again if it was lost (with every lock it held); `Ok(false)` when another
    // process holds it.
    async fn try_lock(&self, key: i32) -> Result<bool, StoreError> {
        let mut claims = self.claims.lock().await;
        if self.fenced.load(Ordering::Acquire) {
            // Another instance serves the store: its work is its own.
            return Ok(false);
        }
        let Claims { connection, held } = &mut *claims;
        if connection.is_none() {
            let serving = held.contains(&EXCLUSIVE) || self.epoch.load(Ordering::Acquire) > 0;
            held.clear();
            let mut fresh = PgConnection::connect_with(&self.options).await.map_err(unreachable)?;
            // Serving, this instance takes its lock again; if another took it meanwhile, the
            // fencing token already stops this one's writes.
            if self.origin.is_some() {
                // Serving together with others: hold the store shared again, so no instance
                // starts serving it alone meanwhile.
                let again: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock_shared($1, $2)")
                    .bind(self.lock_class)
                    .bind(EXCLUSIVE)
                    .fetch_one(&mut fresh)
                    .await?;
                if !again {
                    tracing::error!("an instance serving this store alone took it meanwhile: stop it, or this one");
                }
            } else if serving && key != EXCLUSIVE {
                let again: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(self.lock_class)
                    .bind(EXCLUSIVE)
                    .fetch_one(&mut fresh)
                    .await?;
                if again {
                    held.insert(EXCLUSIVE);
                } else {
                    tracing::error!("another instance holds this store now: this one writes nothing more");
                    self.fenced.store(true, Ordering::Release);
                }
            }
            *connection = Some(fresh);
        }
        let Some(open) = connection.as_mut() else { return Err(StoreError::Failed("no claims connection".into())) };
        let answer = if held.contains(&key) {
            // Held already: the connection still being alive is what keeps it.
            sqlx::query_scalar::<_, bool>("SELECT true").fetch_one(&mut *open).await
        } else {
            sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1, $2)")
                .bind(self.lock_class)
                .bind(key)
                .fetch_one(&mut *open)
                .await
        };
        match answer {
            Ok(true) => {
                held.insert(key);
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(error) => {
                if held.contains(&EXCLUSIVE) {
                    tracing::error!(%error, "lost the connection that holds this instance's lock on the store");
                }
                *connection = None;
                held.clear();
                Err(error.into())
            }
        }
    }
}

// A connection that could not be made, said without the URL (it may hold a password): the
// server's own message when it answered (no password, no database, no such role).
fn unreachable(error: sqlx::Error) -> StoreError {
    let why = match &error {
        sqlx::Error::Database(database) => database.message().to_owned(),
        other => other.to_string(),
    };
    StoreError::Failed(format!("cannot connect to PostgreSQL: {why}"))
}

// Refuses a database a newer build migrated (its schema may mean what this build cannot
// read), then applies the migrations this one has not (sqlx takes a lock, so instances
// starting together migrate once).
async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let ours = schema_version();
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?;
    if exists {
        let theirs: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations").fetch_one(pool).await?;
        if theirs > ours {
            return Err(StoreError::Failed(format!(
                "the store's schema is version {theirs}, newer than this build of switchyard knows \
                 (up to {ours}): run the newer switchyard that wrote it, or restore a backup"
            )));
        }
    }
    MIGRATOR.run(pool).await.map_err(|e| StoreError::Failed(format!("cannot migrate the store's schema: {e}")))
}

impl Store for PgStore {
    fn load(&self, now: i64) -> StoreFuture<'_, Snapshot> {
        Box::pin(async move {
            // One snapshot of the whole database, however many writers there are.
            let mut tx = self.pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
            let mut snapshot = read_snapshot(&mut tx, now).await?;
            // Where the feed continues: the transactions this snapshot does not see.
            snapshot.feed_cursor =
                Some(sqlx::query_scalar("SELECT pg_current_snapshot()::text").fetch_one(&mut *tx).await?);
            tx.commit().await?;
            Ok(snapshot)
        })
    }

    fn order(&self, id: &str) -> StoreFuture<'_, Option<StoredOrder>> {
        let id = id.to_owned();
        Box::pin(async move {
            Ok(sqlx::query_as("SELECT id, idempotency_key, body FROM orders WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn routings(&self, order_id: &str) -> StoreFuture<'_, Vec<String>> {
        let order_id = order_id.to_owned();
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT body FROM explanations WHERE order_id = $1 ORDER BY revision")
                .bind(order_id)
                .fetch_all(&self.pool)
                .await?)
        })
    }

    fn order_for_key(&self, key: &str) -> StoreFuture<'_, Option<String>> {
        let key = key.to_owned();
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT id FROM orders WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn list_orders(&self, query: OrderQuery) -> StoreFuture<'_, Vec<ListedOrder>> {
        Box::pin(async move {
            let (after_placed, after_id) = query.after.map_or((None, None), |(p, id)| (Some(p), Some(id)));
            Ok(sqlx::query_as(
                "SELECT placed, id, body FROM orders
                 WHERE ($1::TEXT IS NULL OR status = $1) AND ($2::BIGINT IS NULL OR placed >= $2)
                   AND ($3::BIGINT IS NULL OR placed < $3)
                   AND ($4::BIGINT IS NULL OR (placed, id) < ($4, $5::TEXT))
                 ORDER BY placed DESC, id DESC LIMIT $6",
            )
            .bind(query.status)
            .bind(query.since)
            .bind(query.until)
            .bind(after_placed)
            .bind(after_id)
            .bind(query.limit as i64)
            .fetch_all(&self.pool)
            .await?)
        })
    }

    fn all_orders(&self) -> StoreFuture<'_, Vec<StoredOrder>> {
        Box::pin(async move {
            Ok(sqlx::query_as("SELECT id, idempotency_key, body FROM orders ORDER BY seq")
                .fetch_all(&self.pool)
                .await?)
        })
    }

    fn commit(&self, changes: Vec<Change>) -> StoreFuture<'static, ()> {
        let (ack, done) = oneshot::channel();
        if let Err(mpsc::error::SendError((_, ack))) = self.jobs.send((changes, ack)) {
            let _ = ack.send(Err(StoreError::Failed("the store writers have stopped".into())));
        }
        Box::pin(
            async move { done.await.unwrap_or_else(|_| Err(StoreError::Failed("the store writer stopped".into()))) },
        )
    }

    fn claim(&self, work: Work) -> StoreFuture<'_, bool> {
        Box::pin(self.try_lock(work_key(work)))
    }

    fn hold_exclusively(&self) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            if self.try_lock(EXCLUSIVE).await? {
                if self.epoch.load(Ordering::Acquire) == 0 {
                    // Waits for the writes of an instance that held the store before (each
                    // batch holds the lease row shared), then fences them off.
                    let epoch: i64 = sqlx::query_scalar("UPDATE lease SET epoch = epoch + 1 RETURNING epoch")
                        .fetch_one(&self.pool)
                        .await?;
                    self.epoch.store(epoch, Ordering::Release);
                }
                Ok(true)
            } else {
                Ok(false)
            }
        })
    }

    fn held_elsewhere(&self) -> String {
        "another switchyard instance is serving this PostgreSQL store (same database and schema): \
         if it serves it alone, start this one with --standby to take over when it stops; if \
         instances serve it together, start this one with --shared as they were"
            .to_owned()
    }

    fn hold_shared(&self) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            if self.origin.is_none() {
                return Err(StoreError::Failed("this store was not opened to be shared".into()));
            }
            let mut claims = self.claims.lock().await;
            if claims.connection.is_none() {
                claims.connection = Some(PgConnection::connect_with(&self.options).await.map_err(unreachable)?);
            }
            let Some(connection) = claims.connection.as_mut() else { return Ok(false) };
            // Shared with the other instances serving together; refused while one serves alone
            // (and it refused while any of them does).
            Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock_shared($1, $2)")
                .bind(self.lock_class)
                .bind(EXCLUSIVE)
                .fetch_one(connection)
                .await?)
        })
    }

    fn follow(&self, cursor: String) -> StoreFuture<'_, (Vec<FeedEntry>, String)> {
        Box::pin(async move {
            let origin = self.origin.as_deref().unwrap_or("");
            // One statement: its snapshot is the new cursor, and the rows it sees are those of
            // the transactions visible in it and not in the last one.
            let rows: Vec<FeedRow> = sqlx::query_as(
                "WITH now AS (SELECT pg_current_snapshot() AS snapshot)
                 SELECT now.snapshot::text AS snapshot, feed.kind, feed.key, feed.location, feed.on_hand, feed.reserved,
                        feed.safety_stock, feed.revision, feed.day, feed.shipments, feed.units, feed.received
                 FROM now LEFT JOIN feed
                   ON feed.xid >= pg_snapshot_xmin($1::pg_snapshot)
                  AND NOT pg_visible_in_snapshot(feed.xid, $1::pg_snapshot)
                  AND feed.origin <> $2
                 ORDER BY feed.xid, feed.seq",
            )
            .bind(&cursor)
            .bind(origin)
            .fetch_all(&self.pool)
            .await?;
            let next = rows.first().map_or(cursor, |row| row.snapshot.clone());
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                let FeedRow {
                    kind,
                    key,
                    location,
                    on_hand,
                    reserved,
                    safety_stock,
                    revision,
                    day,
                    shipments,
                    units,
                    received,
                    ..
                } = row;
                let (Some(kind), Some(key)) = (kind, key) else { continue };
                entries.push(match kind.as_str() {
                    "stock" => FeedEntry::Stock {
                        sku: key,
                        location: location.unwrap_or_default(),
                        on_hand: on_hand.unwrap_or(0),
                        reserved: reserved.unwrap_or(0),
                        safety_stock: safety_stock.unwrap_or(0),
                    },
                    "shipments" => {
                        FeedEntry::Shipments { location: key, day: day.unwrap_or(0), delta: shipments.unwrap_or(0) }
                    }
                    "locations" => FeedEntry::Location(key),
                    "products" => FeedEntry::Product(key),
                    "policy_versions" => FeedEntry::PolicyVersion(key),
                    "bindings" => FeedEntry::Binding(key),
                    "webhooks" => FeedEntry::Webhook(key),
                    "carrier_services" => FeedEntry::CarrierService(key),
                    "webhook_events" => FeedEntry::WebhookEvent(key.parse().unwrap_or_default()),
                    "webhook_deliveries" => FeedEntry::Delivery(key.parse().unwrap_or_default()),
                    "recurring_orders" => FeedEntry::Recurring(key),
                    "orders" => FeedEntry::Order { id: key, revision: revision.unwrap_or(0) as u64 },
                    "atp_changes" => FeedEntry::AtpChange(key.parse().unwrap_or_default()),
                    "inbound" => FeedEntry::Inbound {
                        id: key,
                        promised: units.unwrap_or(0),
                        received: received.unwrap_or(false),
                    },
                    "preorders" => FeedEntry::Preorders { sku: key, delta: units.unwrap_or(0) },
                    other => return Err(StoreError::Failed(format!("the change feed has a row of kind `{other}`"))),
                });
            }
            self.prune_feed(&next).await;
            Ok((entries, next))
        })
    }

    fn changed_elsewhere(&self, at_most: Duration) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut listener = self.listener.lock().await;
            if listener.is_none() {
                let mut fresh = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                fresh.listen("switchyard_feed").await?;
                *listener = Some(fresh);
            }
            let Some(open) = listener.as_mut() else { return Ok(()) };
            match tokio::time::timeout(at_most, open.try_recv()).await {
                // A notification (of this schema or another's: either way, read), or a timeout.
                Ok(Ok(Some(_))) | Err(_) => Ok(()),
                // The connection went: listen again next time (what was missed is in the feed).
                Ok(Ok(None)) | Ok(Err(_)) => {
                    *listener = None;
                    Ok(())
                }
            }
        })
    }

    fn due_orders(&self, status: &str, at: i64) -> StoreFuture<'_, Vec<String>> {
        let status = status.to_owned();
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT id FROM orders WHERE status = $1 AND due <= $2 ORDER BY due LIMIT 10000")
                .bind(status)
                .bind(at)
                .fetch_all(&self.pool)
                .await?)
        })
    }

    fn waiting_for(&self, inbound: &str, now: i64) -> StoreFuture<'_, Vec<StoredOrder>> {
        // The service writes its bodies compactly: an order waiting for `IN-7` has the text
        // `"inbound":"IN-7"` in its body (the caller reads the candidates to be sure).
        let needle = format!("\"inbound\":{}", serde_json::Value::from(inbound));
        Box::pin(async move {
            Ok(sqlx::query_as(
                "SELECT id, idempotency_key, body FROM orders
                 WHERE keep_until > $1 AND status NOT IN ('shipped', 'delivered', 'cancelled', 'expired', 'rejected')
                   AND strpos(body, $2) > 0
                 ORDER BY seq",
            )
            .bind(now)
            .bind(needle)
            .fetch_all(&self.pool)
            .await?)
        })
    }

    fn instance_number(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let number: i64 = sqlx::query_scalar("SELECT nextval('instance_numbers')").fetch_one(&self.pool).await?;
            Ok(number as u64)
        })
    }

    fn body(&self, of: BodyOf, key: &str) -> StoreFuture<'_, Option<String>> {
        // Table and key column: this file's constants.
        let (table, column, numbered) = match of {
            BodyOf::Location => ("locations", "id", false),
            BodyOf::Product => ("products", "sku", false),
            BodyOf::Webhook => ("webhooks", "id", false),
            BodyOf::CarrierService => ("carrier_services", "id", false),
            BodyOf::WebhookEvent => ("webhook_events", "id", true),
            BodyOf::Delivery => ("webhook_deliveries", "id", true),
            BodyOf::Recurring => ("recurring_orders", "id", false),
            BodyOf::Inbound => ("inbound", "id", false),
            BodyOf::AtpChange => ("atp_changes", "seq", true),
        };
        let key = key.to_owned();
        Box::pin(async move {
            let sql = AssertSqlSafe(format!("SELECT body FROM {table} WHERE {column} = $1"));
            let query = sqlx::query_scalar(sql);
            let query = if numbered {
                let Ok(number) = key.parse::<i64>() else { return Ok(None) };
                query.bind(number)
            } else {
                query.bind(key)
            };
            Ok(query.fetch_optional(&self.pool).await?)
        })
    }

    fn policy_version(&self, version: &str) -> StoreFuture<'_, Option<StoredVersion>> {
        let version = version.to_owned();
        Box::pin(async move {
            Ok(sqlx::query_as("SELECT version, name, kind, source, meta FROM policy_versions WHERE version = $1")
                .bind(version)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn binding(&self, group: &str) -> StoreFuture<'_, Option<StoredBinding>> {
        let group = group.to_owned();
        Box::pin(async move {
            Ok(sqlx::query_as(
                "SELECT grp, version, fallback, at, parameters FROM bindings WHERE grp = $1 ORDER BY seq DESC LIMIT 1",
            )
            .bind(group)
            .fetch_optional(&self.pool)
            .await?)
        })
    }
}

impl PgStore {
    // Every minute or so, deletes the feed's rows of the transactions this instance read
    // past `FEED_KEPT` ago (every other instance has read them long since).
    async fn prune_feed(&self, cursor: &str) {
        let mut read_at = self.read_at.lock().await;
        let now = std::time::Instant::now();
        if read_at.back().is_none_or(|(at, _)| now.duration_since(*at) >= Duration::from_secs(60)) {
            read_at.push_back((now, cursor.to_owned()));
        }
        let Some((at, old)) = read_at.front().cloned() else { return };
        if now.duration_since(at) < FEED_KEPT {
            return;
        }
        read_at.pop_front();
        drop(read_at);
        let pruned = sqlx::query("DELETE FROM feed WHERE xid < pg_snapshot_xmin($1::pg_snapshot)")
            .bind(old)
            .execute(&self.pool)
            .await;
        if let Err(error) = pruned {
            tracing::warn!(%error, "could not prune the change feed");
        }
    }
}

// A writer: takes the first commit waiting and every other one already queued (up to
// `batch`), commits them in one transaction and acknowledges each; if that fails, commits
// them one by one, so each gets its own outcome. Ends when the store is dropped.
async fn writer(
    pool: PgPool,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    epoch: Arc<AtomicI64>,
    batch: usize,
    origin: Option<String>,
) {
    loop {
        let jobs = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            let mut jobs = vec![first];
            while jobs.len() < batch {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        let all: Vec<&Change> = jobs.iter().flat_map(|(changes, _)| changes.iter()).collect();
        let epoch = epoch.load(Ordering::Acquire);
        let together = commit_all(&pool, epoch, origin.as_deref(), &all).await;
        drop(all);
        match together {
            Ok(()) => {
                for (_, ack) in jobs {
                    let _ = ack.send(Ok(()));
                }
            }
            Err(_) if jobs.len() > 1 => {
                for (changes, ack) in jobs {
                    let one: Vec<&Change> = changes.iter().collect();
                    let _ = ack.send(commit_all(&pool, epoch, origin.as_deref(), &one).await);
                }
            }
            Err(error) => {
                for (_, ack) in jobs {
                    let _ = ack.send(Err(error.clone()));
                }
            }
        }
    }
}

// `changes` in one transaction: all or none; and none if another instance took the store over
// since this one began serving it (`epoch`, 0 when it does not serve it). Serving together
// with others, the transaction is tagged with this instance's `origin` for the feed.
async fn commit_all(pool: &PgPool, epoch: i64, origin: Option<&str>, changes: &[&Change]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if let Some(origin) = origin {
        sqlx::query("SELECT set_config('switchyard.origin', $1, true)").bind(origin).execute(&mut *tx).await?;
    }
    if epoch > 0 {
        let current: i64 =
            sqlx::query_scalar("SELECT epoch FROM lease WHERE id = 1 FOR SHARE").fetch_one(&mut *tx).await?;
        if current != epoch {
            tracing::error!(ours = epoch, current, "another instance serves this store now: a write refused");
            return Err(StoreError::Failed(
                "another switchyard instance serves this store now (this one lost its lock on it): \
                 nothing more is written from here"
                    .into(),
            ));
        }
    }
    // Stock deltas and reservations are summed per position and written together; a level
    // (absolute) writes what was summed before it first, so every position sees its changes
    // in order.
    let mut deltas = Deltas::new();
    let mut shipments = Shipments::new();
    let mut promises = Counts::new();
    let mut preorders = Counts::new();
    let mut explanations = Vec::new();
    for change in changes {
        match change {
            Change::Explanation { order_id, revision, body } => {
                explanations.push((order_id.as_str(), i64::try_from(*revision).unwrap_or(i64::MAX), body.as_str()));
            }
            Change::Promise { inbound, delta } => add_count(&mut promises, inbound, *delta, None),
            Change::Preorder { sku, delta, cap } => add_count(&mut preorders, sku, *delta, *cap),
            Change::Inbound { .. } => write_inbound(&mut tx, change).await?,
            Change::Recurring { .. } => write_recurring(&mut tx, change).await?,
            Change::Shipments { location, day, delta, capacity } => {
                let sum = shipments.entry((location.clone(), *day)).or_insert((0, *capacity));
                sum.0 = sum.0.saturating_add(*delta);
                sum.1 = sum.1.or(*capacity);
            }
            Change::StockDelta { sku, location, delta } => add_delta(&mut deltas, sku, location, *delta, 0),
            Change::Reserve { sku, location, delta } => add_delta(&mut deltas, sku, location, 0, *delta),
            Change::StockLevel { .. } => {
                write_deltas(&mut tx, std::mem::take(&mut deltas)).await?;
                apply(&mut tx, change).await?;
            }
            Change::Order { .. } => write_order(&mut tx, change).await?,
            other => apply(&mut tx, other).await?,
        }
    }
    write_deltas(&mut tx, deltas).await?;
    write_shipments(&mut tx, shipments).await?;
    write_promises(&mut tx, promises).await?;
    write_preorders(&mut tx, preorders).await?;
    write_explanations(&mut tx, &explanations).await?;
    tx.commit().await?;
    Ok(())
}

// Writes an order over the revision before its own, and no other: two instances that changed
// one order at once cannot both write it (the second is refused, `Stale`), and an id another
// instance created at the same moment is refused (`Duplicate`). An order stored before
// revisions were counted has revision 0, as has the copy memory read of it.
async fn write_order(tx: &mut Transaction<'static, Postgres>, change: &Change) -> Result<(), StoreError> {
    let Change::Order { id, idempotency_key, status, body, keep_until, revision, due, placed } = change else {
        return Ok(());
    };
    let written = sqlx::query(
        "INSERT INTO orders (id, idempotency_key, status, body, keep_until, revision, due, placed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body,
             keep_until = excluded.keep_until, revision = excluded.revision, due = excluded.due,
             placed = excluded.placed
         WHERE orders.revision = excluded.revision - 1",
    )
    .bind(id)
    .bind(idempotency_key)
    .bind(status)
    .bind(body)
    .bind(keep_until)
    .bind(*revision as i64)
    .bind(due)
    .bind(placed)
    .execute(&mut **tx)
    .await?;
    match (written.rows_affected(), revision) {
        (1, _) => Ok(()),
        (_, 0 | 1) => {
            Err(StoreError::Duplicate(format!("another instance created an order with id `{id}` at the same moment")))
        }
        _ => Err(StoreError::Stale(format!(
            "order `{id}` was changed by another instance at the same moment: read it again and retry"
        ))),
    }
}

// Writes a recurring order over the revision before its own, as `write_order` writes orders.
async fn write_recurring(tx: &mut Transaction<'static, Postgres>, change: &Change) -> Result<(), StoreError> {
    let Change::Recurring { id, body, revision } = change else { return Ok(()) };
    let written = sqlx::query(
        "INSERT INTO recurring_orders (id, body, revision) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, revision = excluded.revision
         WHERE recurring_orders.revision = excluded.revision - 1",
    )
    .bind(id)
    .bind(body)
    .bind(*revision as i64)
    .execute(&mut **tx)
    .await?;
    match (written.rows_affected(), revision) {
        (1, _) => Ok(()),
        (_, 0 | 1) => Err(StoreError::Duplicate(format!(
            "another instance created a recurring order with id `{id}` at the same moment"
        ))),
        _ => Err(StoreError::Stale(format!(
            "recurring order `{id}` was changed by another instance at the same moment: read it again and retry"
        ))),
    }
}

// Writes an inbound record, never over one received already: that receipt was another
// instance's (a second receipt is refused, `Stale`), and a promise of its units is too late
// (`Refused`: routing again finds it received). The units promised are the store's count
// (`promised`, which `write_promises` keeps), whatever the body says.
async fn write_inbound(tx: &mut Transaction<'static, Postgres>, change: &Change) -> Result<(), StoreError> {
    let Change::Inbound { id, body, qty, received } = change else { return Ok(()) };
    let written = sqlx::query(
        "INSERT INTO inbound (id, body, qty, received) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE
         SET body = jsonb_set(excluded.body::JSONB, '{allocated}', to_jsonb(inbound.promised))::TEXT,
             qty = excluded.qty, received = excluded.received
         WHERE NOT inbound.received",
    )
    .bind(id)
    .bind(body)
    .bind(i64::from(*qty))
    .bind(*received)
    .execute(&mut **tx)
    .await?;
    match (written.rows_affected(), received) {
        (1, _) => Ok(()),
        (_, true) => Err(StoreError::Stale(format!("inbound `{id}` was received by another instance"))),
        (_, false) => Err(StoreError::Refused(format!("inbound `{id}` has arrived: it takes no more promises"))),
    }
}

// Counts a commit changes by key (`promises`: by inbound record; `preorders`: by SKU, with
// its cap), in key order.
type Counts = BTreeMap<String, (i64, Option<u32>)>;

fn add_count(counts: &mut Counts, key: &str, delta: i64, cap: Option<u32>) {
    let sum = counts.entry(key.to_owned()).or_insert((0, cap));
    sum.0 = sum.0.saturating_add(delta);
    sum.1 = sum.1.or(cap);
}

// The units promised of inbound records, in id order (the rows' lock order): a promise past
// a record's units, or of one received already (or whose body a start cannot read), is
// refused. The stored body's `allocated` follows.
async fn write_promises(tx: &mut Transaction<'static, Postgres>, promises: Counts) -> Result<(), StoreError> {
    for (id, (delta, _)) in promises.into_iter().filter(|(_, (delta, _))| *delta != 0) {
        let written = sqlx::query(
            "UPDATE inbound SET promised = GREATEST(promised + $2, 0),
                 body = CASE WHEN qty IS NULL THEN body
                             ELSE jsonb_set(body::JSONB, '{allocated}', to_jsonb(GREATEST(promised + $2, 0)))::TEXT END
             WHERE id = $1 AND ($2 <= 0 OR (qty IS NOT NULL AND NOT received AND promised + $2 <= qty))",
        )
        .bind(&id)
        .bind(delta)
        .execute(&mut **tx)
        .await?;
        if written.rows_affected() == 0 && delta > 0 {
            return Err(StoreError::Refused(format!(
                "inbound `{id}` has no {delta} more units to promise (another instance promised them, or it arrived)"
            )));
        }
    }
    Ok(())
}

// Every routing explanation of a batch in one statement (a few kilobytes each: a round trip
// apiece would cost more than the orders they explain).
async fn write_explanations(
    tx: &mut Transaction<'static, Postgres>,
    explanations: &[(&str, i64, &str)],
) -> Result<(), StoreError> {
    if explanations.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = explanations.iter().map(|e| e.0).collect();
    let revisions: Vec<i64> = explanations.iter().map(|e| e.1).collect();
    let bodies: Vec<&str> = explanations.iter().map(|e| e.2).collect();
    sqlx::query(
        "INSERT INTO explanations (order_id, revision, body)
         SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::TEXT[])
         ON CONFLICT (order_id, revision) DO UPDATE SET body = excluded.body",
    )
    .bind(ids)
    .bind(revisions)
    .bind(bodies)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// The units ordered before their SKU's release, in SKU order: a count past the cap is refused.
async fn write_preorders(tx: &mut Transaction<'static, Postgres>, preorders: Counts) -> Result<(), StoreError> {
    for (sku, (delta, cap)) in preorders.into_iter().filter(|(_, (delta, _))| *delta != 0) {
        let cap = cap.map(i64::from);
        let written = sqlx::query(
            "INSERT INTO preorders (sku, units) SELECT $1, GREATEST($2, 0) WHERE $3::BIGINT IS NULL OR $2 <= $3
             ON CONFLICT (sku) DO UPDATE SET units = GREATEST(preorders.units + $2, 0)
             WHERE $2 <= 0 OR $3::BIGINT IS NULL OR preorders.units + $2 <= $3",
        )
        .bind(&sku)
        .bind(delta)
        .bind(cap)
        .execute(&mut **tx)
        .await?;
        if written.rows_affected() == 0 {
            return Err(StoreError::Refused(format!(
                "the preorder units of `{sku}` are taken (another instance took the last of them)"
            )));
        }
    }
    Ok(())
}

// What a commit does to shipment counts: (delta, capacity) per (location, day).
type Shipments = BTreeMap<(String, i64), (i64, Option<u32>)>;

// Writes `shipments` as `write_deltas` writes stock: rows locked in (location, day) order,
// then one conditional statement; a count that would pass its day's capacity is refused.
async fn write_shipments(tx: &mut Transaction<'static, Postgres>, shipments: Shipments) -> Result<(), StoreError> {
    if shipments.is_empty() {
        return Ok(());
    }
    let mut locations = Vec::with_capacity(shipments.len());
    let mut days = Vec::with_capacity(shipments.len());
    let mut deltas = Vec::with_capacity(shipments.len());
    let mut capacities: Vec<Option<i64>> = Vec::with_capacity(shipments.len());
    for ((location, day), (delta, capacity)) in &shipments {
        locations.push(location.as_str());
        days.push(*day);
        deltas.push(*delta);
        capacities.push(capacity.map(i64::from));
    }
    sqlx::query(
        "SELECT 1 FROM shipment_counts JOIN unnest($1::text[], $2::bigint[]) AS d(location, day) USING (location, day)
         ORDER BY shipment_counts.location, shipment_counts.day FOR UPDATE OF shipment_counts",
    )
    .bind(&locations)
    .bind(&days)
    .execute(&mut **tx)
    .await?;
    let written: Vec<(String, i64)> = sqlx::query_as(
        "WITH d AS (
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
                 AS d(location, day, delta, capacity)
         ),
         changed AS (
             UPDATE shipment_counts SET shipments = GREATEST(shipment_counts.shipments + d.delta, 0)
             FROM d
             WHERE shipment_counts.location = d.location AND shipment_counts.day = d.day
               AND (d.delta <= 0 OR d.capacity IS NULL OR shipment_counts.shipments + d.delta <= d.capacity)
             RETURNING shipment_counts.location, shipment_counts.day
         ),
         added AS (
             INSERT INTO shipment_counts (location, day, shipments)
             SELECT d.location, d.day, GREATEST(d.delta, 0) FROM d
             WHERE NOT EXISTS (
                     SELECT 1 FROM shipment_counts WHERE shipment_counts.location = d.location AND shipment_counts.day = d.day)
               AND (d.delta <= 0 OR d.capacity IS NULL OR d.delta <= d.capacity)
             ON CONFLICT (location, day) DO NOTHING
             RETURNING location, day
         )
         SELECT location, day FROM changed UNION ALL SELECT location, day FROM added",
    )
    .bind(&locations)
    .bind(&days)
    .bind(&deltas)
    .bind(&capacities)
    .fetch_all(&mut **tx)
    .await?;
    if written.len() == shipments.len() {
        return Ok(());
    }
    let written: HashSet<(String, i64)> = written.into_iter().collect();
    let full: Vec<String> = shipments
        .keys()
        .filter(|key| !written.contains(*key))
        .take(5)
        .map(|(location, day)| format!("`{location}` on day {day}"))
        .collect();
    Err(StoreError::Refused(format!(
        "no shipment capacity left at {} (another instance took it first)",
        full.join(", ")
    )))
}

// What a commit does to positions: (on hand, reserved) per (sku, location), in that order.
type Deltas = BTreeMap<(String, String), (i64, i64)>;

fn add_delta(deltas: &mut Deltas, sku: &str, location: &str, on_hand: i64, reserved: i64) {
    let sum = deltas.entry((sku.to_owned(), location.to_owned())).or_default();
    sum.0 = sum.0.saturating_add(on_hand);
    sum.1 = sum.1.saturating_add(reserved);
}

// Writes `deltas` with two statements whatever their number: the positions' rows locked in
// (sku, location) order (every transaction takes them in that order, so two instances never
// wait for each other in a circle), then every position changed at once. A position that
// takes more units than on hand - reserved - safety stock allows, counting what the same
// commit adds to on hand, is not changed, and the commit is refused naming it: nothing of it
// is written.
async fn write_deltas(tx: &mut Transaction<'static, Postgres>, deltas: Deltas) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut skus = Vec::with_capacity(deltas.len());
    let mut locations = Vec::with_capacity(deltas.len());
    let mut on_hand = Vec::with_capacity(deltas.len());
    let mut reserved = Vec::with_capacity(deltas.len());
    for ((sku, location), (units, held)) in &deltas {
        skus.push(sku.as_str());
        locations.push(location.as_str());
        on_hand.push(*units);
        reserved.push(*held);
    }
    sqlx::query(
        "SELECT 1 FROM stock JOIN unnest($1::text[], $2::text[]) AS d(sku, location) USING (sku, location)
         ORDER BY stock.sku, stock.location FOR UPDATE OF stock",
    )
    .bind(&skus)
    .bind(&locations)
    .execute(&mut **tx)
    .await?;
    let written: Vec<(String, String)> = sqlx::query_as(
        "WITH d AS (
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
                 AS d(sku, location, on_hand, reserved)
         ),
         changed AS (
             UPDATE stock SET on_hand = GREATEST(stock.on_hand + d.on_hand, 0),
                              reserved = GREATEST(stock.reserved + d.reserved, 0)
             FROM d
             WHERE stock.sku = d.sku AND stock.location = d.location
               AND (d.reserved <= 0
                    OR stock.on_hand + d.on_hand - stock.reserved - d.reserved - stock.safety_stock >= 0)
             RETURNING stock.sku, stock.location
         ),
         added AS (
             INSERT INTO stock (sku, location, on_hand, safety_stock, reserved)
             SELECT d.sku, d.location, GREATEST(d.on_hand, 0), 0, GREATEST(d.reserved, 0) FROM d
             WHERE NOT EXISTS (SELECT 1 FROM stock WHERE stock.sku = d.sku AND stock.location = d.location)
               AND (d.reserved <= 0 OR d.on_hand - d.reserved >= 0)
             ON CONFLICT (sku, location) DO NOTHING
             RETURNING sku, location
         )
         SELECT sku, location FROM changed UNION ALL SELECT sku, location FROM added",
    )
    .bind(&skus)
    .bind(&locations)
    .bind(&on_hand)
    .bind(&reserved)
    .fetch_all(&mut **tx)
    .await?;
    if written.len() == deltas.len() {
        return Ok(());
    }
    let written: HashSet<(String, String)> = written.into_iter().collect();
    let short: Vec<String> = deltas
        .iter()
        .filter(|(position, _)| !written.contains(*position))
        .take(5)
        .map(|((sku, location), (_, held))| format!("{held} more of `{sku}` at `{location}`"))
        .collect();
    Err(StoreError::Refused(format!(
        "not enough stock available to reserve {} (another instance took it first)",
        short.join(", ")
    )))
}

async fn read_snapshot(tx: &mut Transaction<'static, Postgres>, now: i64) -> Result<Snapshot, StoreError> {
    let events: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, body FROM webhook_events ORDER BY id").fetch_all(&mut **tx).await?;
    Ok(Snapshot {
        locations: sqlx::query_as("SELECT id, body FROM locations ORDER BY seq").fetch_all(&mut **tx).await?,
        products: sqlx::query_as("SELECT sku, body FROM products ORDER BY seq").fetch_all(&mut **tx).await?,
        stock: sqlx::query_as("SELECT sku, location, on_hand, safety_stock FROM stock ORDER BY seq")
            .fetch_all(&mut **tx)
            .await?,
        orders: sqlx::query_as("SELECT id, idempotency_key, body FROM orders WHERE keep_until > $1 ORDER BY seq")
            .bind(now)
            .fetch_all(&mut **tx)
            .await?,
        policy_versions: sqlx::query_as("SELECT version, name, kind, source, meta FROM policy_versions ORDER BY seq")
            .fetch_all(&mut **tx)
            .await?,
        bindings: sqlx::query_as("SELECT grp, version, fallback, at, parameters FROM bindings ORDER BY seq")
            .fetch_all(&mut **tx)
            .await?,
        webhooks: sqlx::query_scalar("SELECT body FROM webhooks ORDER BY seq").fetch_all(&mut **tx).await?,
        carrier_services: sqlx::query_scalar("SELECT body FROM carrier_services ORDER BY seq")
            .fetch_all(&mut **tx)
            .await?,
        deliveries: sqlx::query_scalar("SELECT body FROM webhook_deliveries ORDER BY id").fetch_all(&mut **tx).await?,
        webhook_events: events.into_iter().map(|(id, body)| (id as u64, body)).collect(),
        atp_changes: sqlx::query_scalar("SELECT body FROM atp_changes ORDER BY seq").fetch_all(&mut **tx).await?,
        recurring: sqlx::query_scalar("SELECT body FROM recurring_orders ORDER BY seq").fetch_all(&mut **tx).await?,
        inbound: sqlx::query_scalar("SELECT body FROM inbound ORDER BY seq").fetch_all(&mut **tx).await?,
        feed_cursor: None,
    })
}

// Table and column names below are this file's constants, never input.

// Inserts or replaces the JSON body of one row of a `(key, body)` table with a text key.
async fn upsert_body(
    tx: &mut Transaction<'static, Postgres>,
    table: &str,
    key: &str,
    id: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO {table} ({key}, body) VALUES ($1, $2) ON CONFLICT ({key}) DO UPDATE SET body = excluded.body"
    );
    sqlx::query(AssertSqlSafe(sql)).bind(id).bind(body).execute(&mut **tx).await.map(drop)
}

// The same for a table keyed by a number.
async fn upsert_numbered(
    tx: &mut Transaction<'static, Postgres>,
    table: &str,
    key: &str,
    id: u64,
    body: &str,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO {table} ({key}, body) VALUES ($1, $2) ON CONFLICT ({key}) DO UPDATE SET body = excluded.body"
    );
    sqlx::query(AssertSqlSafe(sql)).bind(id as i64).bind(body).execute(&mut **tx).await.map(drop)
}

async fn delete_numbered(
    tx: &mut Transaction<'static, Postgres>,
    table: &str,
    key: &str,
    id: u64,
) -> Result<(), sqlx::Error> {
    let sql = format!("DELETE FROM {table} WHERE {key} = $1");
    sqlx::query(AssertSqlSafe(sql)).bind(id as i64).execute(&mut **tx).await.map(drop)
}

async fn apply(tx: &mut Transaction<'static, Postgres>, change: &Change) -> Result<(), sqlx::Error> {
    match change {
        Change::Location { id, body } => upsert_body(tx, "locations", "id", id, body).await,
        Change::Product { sku, body } => upsert_body(tx, "products", "sku", sku, body).await,
        Change::StockLevel { sku, location, on_hand, safety_stock, was: None } => sqlx::query(
            "INSERT INTO stock (sku, location, on_hand, safety_stock) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sku, location) DO UPDATE SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock",
        )
        .bind(sku)
        .bind(location)
        .bind(i64::from(*on_hand))
        .bind(i64::from(*safety_stock))
        .execute(&mut **tx)
        .await
        .map(drop),
        Change::StockLevel { sku, location, on_hand, safety_stock, was: Some((on_hand_was, safety_was)) } => {
            sqlx::query(
                "INSERT INTO stock (sku, location, on_hand, safety_stock) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sku, location) DO UPDATE
                 SET on_hand = GREATEST(stock.on_hand + $5, 0), safety_stock = GREATEST(stock.safety_stock + $6, 0)",
            )
            .bind(sku)
            .bind(location)
            .bind(i64::from(*on_hand))
            .bind(i64::from(*safety_stock))
            .bind(i64::from(*on_hand) - i64::from(*on_hand_was))
            .bind(i64::from(*safety_stock) - i64::from(*safety_was))
            .execute(&mut **tx)
            .await
            .map(drop)
        }
        // Summed and written by `write_deltas`.
        Change::StockDelta { .. } | Change::Reserve { .. } => Ok(()),
        // Summed and written by `write_shipments`.
        Change::Shipments { .. } => Ok(()),
        // Written by `write_order` and `write_recurring`.
        Change::Order { .. } | Change::Recurring { .. } => Ok(()),
        // Written together by `write_explanations`.
        Change::Explanation { .. } => Ok(()),
        Change::PolicyVersion { version, name, kind, source, meta } => sqlx::query(
            "INSERT INTO policy_versions (version, name, kind, source, meta) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(name)
        .bind(kind)
        .bind(source)
        .bind(meta)
        .execute(&mut **tx)
        .await
        .map(drop),
        Change::Binding { group, version, fallback, at, parameters } => {
            sqlx::query("INSERT INTO bindings (grp, version, fallback, at, parameters) VALUES ($1, $2, $3, $4, $5)")
                .bind(group)
                .bind(version)
                .bind(fallback)
                .bind(at)
                .bind(parameters)
                .execute(&mut **tx)
                .await
                .map(drop)
        }
        Change::Webhook { id, body: Some(body) } => upsert_body(tx, "webhooks", "id", id, body).await,
        Change::Webhook { id, body: None } => {
            sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(&mut **tx).await.map(drop)
        }
        Change::CarrierService { id, body: Some(body) } => upsert_body(tx, "carrier_services", "id", id, body).await,
        Change::CarrierService { id, body: None } => {
            sqlx::query("DELETE FROM carrier_services WHERE id = $1").bind(id).execute(&mut **tx).await.map(drop)
        }
        // Written by `write_inbound`; counted and written by `write_promises` and
        // `write_preorders`.
        Change::Inbound { .. } | Change::Promise { .. } | Change::Preorder { .. } => Ok(()),
        Change::Delivery { id, body: Some(body) } => upsert_numbered(tx, "webhook_deliveries", "id", *id, body).await,
        Change::Delivery { id, body: None } => delete_numbered(tx, "webhook_deliveries", "id", *id).await,
        Change::WebhookEvent { id, body: Some(body) } => upsert_numbered(tx, "webhook_events", "id", *id, body).await,
        Change::WebhookEvent { id, body: None } => delete_numbered(tx, "webhook_events", "id", *id).await,
        Change::AtpChange { seq, body: Some(body) } => upsert_numbered(tx, "atp_changes", "seq", *seq, body).await,
        Change::AtpChange { seq, body: None } => delete_numbered(tx, "atp_changes", "seq", *seq).await,
    }
}
