//! Makes a large store for the memory and start-time benchmark (docs/BENCHMARKS.md, "A large
//! store"; `scripts/bench-large-store` runs it): the demo network, then `--orders` orders of
//! which `--open` are open (each holding a unit, as a real reserved order does) and the rest
//! cancelled. Two orders are placed through the service; the others are copies of them with
//! their own ids, written straight through the store in batches (the service would take an
//! hour to route a million orders; what is measured is what a start reads back).
//!
//! ```sh
//! cargo run --release --example large_store -- --data DIR --orders 1000000 --open 10000
//! cargo run --release --example large_store -- --data DIR --store postgres://... --store-schema big
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use switchyard::host::records::{OrderRecord, SubmittedOrder};
use switchyard::host::service::{Created, StockLevel};
use switchyard::host::store::{Change, PgSettings, PgStore, SqliteStore, Store};
use switchyard::{Config, Service};

#[derive(Parser)]
struct Args {
    /// The store's directory (SQLite), and the plugin cache with `--store`.
    #[arg(long)]
    data: PathBuf,
    /// A PostgreSQL URL: the store there instead.
    #[arg(long)]
    store: Option<String>,
    /// With `--store`: the schema.
    #[arg(long)]
    store_schema: Option<String>,
    /// Orders in all.
    #[arg(long, default_value_t = 1_000_000)]
    orders: u64,
    /// Of which open (reserved).
    #[arg(long, default_value_t = 10_000)]
    open: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.open == 0 || args.open > args.orders {
        bail!("--open is between 1 and --orders");
    }
    let config = Config {
        data: args.data.clone(),
        store: args.store.clone(),
        store_schema: args.store_schema.clone(),
        // The open orders stay reserved through the benchmark.
        reservation_ttl_secs: 30 * 86_400,
        ..Config::default()
    };
    let started = Instant::now();
    let (open, closed) = {
        let service = Service::open(config.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if !service.catalog().locations().is_empty() {
            bail!("the store has data already: give an empty directory or schema");
        }
        let sample: SubmittedOrder = serde_json::from_str(&switchyard::serve::seed_demo(&service).await?)?;
        let place = |id: &str| SubmittedOrder { id: id.to_owned(), ..sample.clone() };
        let open = match service.create_order(place("template-open"), None).await? {
            Created::New(record, _) | Created::Replayed(record) => record,
        };
        // Enough stock where the template holds its units for every open copy.
        let levels = open
            .held_units
            .iter()
            .map(|held| StockLevel {
                sku: held.sku.clone(),
                location: held.location.clone(),
                on_hand: u32::try_from(u64::from(held.qty) * (args.open + 1)).unwrap_or(u32::MAX),
                safety_stock: 0,
            })
            .collect();
        service.set_stock(levels).await?;
        service.create_order(place("template-closed"), None).await?;
        let closed = service.cancel("template-closed", "a closed order for the benchmark").await?;
        (open, closed)
    };
    let store: Box<dyn Store> = match &args.store {
        Some(url) => Box::new(
            PgStore::open(&PgSettings {
                url: url.clone(),
                schema: args.store_schema.clone(),
                connections: 4,
                batch: 512,
                origin: None,
            })
            .await?,
        ),
        None => Box::new(SqliteStore::open(&args.data, 512)?),
    };
    let every = args.orders / args.open;
    let mut written = 0u64;
    while written < args.orders {
        let batch = (args.orders - written).min(5_000);
        let mut changes = Vec::with_capacity(batch as usize);
        for n in written..written + batch {
            let template = if n.is_multiple_of(every) && n / every < args.open { &open } else { &closed };
            let id = format!("LS-{n:07}");
            let record = OrderRecord {
                id: id.clone(),
                request: SubmittedOrder { id: id.clone(), ..template.request.clone() },
                ..template.clone()
            };
            changes.push(Change::Order {
                id,
                idempotency_key: None,
                status: record.status.name().to_owned(),
                body: serde_json::to_string(&record)?,
                keep_until: record.keep_until().unwrap_or(i64::MAX),
                revision: record.revision,
                due: None,
                placed: record.created_at_seconds().unwrap_or(0),
            });
        }
        store.commit(changes).await.context("writing orders")?;
        written += batch;
        if written.is_multiple_of(100_000) {
            eprintln!("{written} orders written ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    let body = serde_json::to_string(&closed)?.len();
    println!(
        "{} orders ({} open, the rest cancelled; about {body} bytes of JSON each) in {:.0} s",
        args.orders + 2,
        args.open + 1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
