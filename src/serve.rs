//! `switchyard serve`: runs the HTTP service; `--demo` seeds it with the us-50-small network,
//! its stock, and the example policies (bound as the default), then prints how to try it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use switchyard_host::records::{
    CarrierServiceRecord, Kind, LocationRecord, ProductRecord, ShipTo, SubmittedLine, SubmittedOrder,
};
use switchyard_host::registry::DEFAULT_GROUP;
use switchyard_host::service::StockLevel;
use switchyard_host::{Config, Role, Service, Token};

use crate::scenario::Scenario;

const DEMO_SCENARIO: &str = include_str!("../examples/scenarios/us-50-small.json");
const DEMO_POLICIES: [(&str, &str); 2] = [
    ("reference", include_str!("../examples/policies/reference.policy")),
    ("store-first", include_str!("../examples/policies/store-first.policy")),
];

/// Arguments of `switchyard serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:7878, or the config file's).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Directory of the embedded store (default `switchyard-data`; with `--demo`, a fresh
    /// temporary directory).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The record on PostgreSQL (`postgres://user:password@host:5432/database`) instead of
    /// the embedded store; overrides the config file's `store`. SWITCHYARD_STORE says the same
    /// without putting a password on the command line.
    #[arg(long, value_name = "URL", env = "SWITCHYARD_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// With `--store`: the schema of its tables (created if missing); overrides `store_schema`.
    #[arg(long, value_name = "NAME")]
    pub store_schema: Option<String>,
    /// Configuration file (TOML): tokens, limits, reservation TTL.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A hot standby: while another process serves the store, wait (checking every second)
    /// and take it over when that process stops or dies. Without it, a store served
    /// elsewhere is an error.
    #[arg(long, conflicts_with = "shared")]
    pub standby: bool,
    /// With `--store`: serve the PostgreSQL store together with other instances started with
    /// `--shared` (behind one load balancer); each learns the others' changes from the
    /// store's change feed. Overrides the config file's `shared`.
    #[arg(long)]
    pub shared: bool,
    /// Seed a sample network, stock and policies, add demo tokens, print curl lines.
    #[arg(long)]
    pub demo: bool,
    /// Log JSON lines instead of text.
    #[arg(long)]
    pub json_logs: bool,
}

const DEMO_TOKENS: [(&str, Role); 3] =
    [("demo-admin", Role::Admin), ("demo-writer", Role::Writer), ("demo-reader", Role::Reader)];

/// Runs `switchyard serve`.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read config `{}`", path.display()))?;
            Config::from_toml(&text).map_err(|e| anyhow::anyhow!("config `{}`: {e}", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    config.json_logs |= args.json_logs;
    if let Some(store) = &args.store {
        config.store = Some(store.clone());
    }
    if let Some(schema) = &args.store_schema {
        config.store_schema = Some(schema.clone());
    }
    config.shared |= args.shared;
    match (&args.data, args.demo) {
        (Some(data), _) => config.data = data.clone(),
        (None, true) => config.data = std::env::temp_dir().join(format!("switchyard-demo-{}", std::process::id())),
        (None, false) => {}
    }
    if args.demo && config.tokens.is_empty() {
        config.tokens = DEMO_TOKENS
            .iter()
            .map(|(token, role)| Token { name: (*token).to_owned(), token: (*token).to_owned(), role: *role })
            .collect();
    }
    if config.tokens.is_empty() {
        bail!("no bearer tokens are configured: give `--config FILE` with [[tokens]] entries (or use `--demo`)");
    }
    // Uploaded plugins compile in a child process of this very binary, under the compile
    // budget, unless the config names another command.
    if config.plugin_compile_worker.is_empty()
        && let Ok(program) = std::env::current_exe()
    {
        config.plugin_compile_worker =
            vec![program.to_string_lossy().into_owned(), "plugin".to_owned(), "compile-worker".to_owned()];
    }
    switchyard_host::init_logging(config.json_logs);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(async move {
        let listen = config.listen;
        let data = config.data.clone();
        let store = match &config.store {
            Some(_) => format!(
                "store in PostgreSQL, schema {}{}",
                config.store_schema.as_deref().unwrap_or("from the URL"),
                if config.shared { ", shared with other instances" } else { "" }
            ),
            None => format!("data in {}", data.display()),
        };
        // A second process on the same store stops (or, a standby, waits) here, before reading
        // the store back.
        let service = if config.shared {
            Service::open_shared(config).await
        } else if args.standby {
            let waiting = |why: &str| eprintln!("switchyard standby: waiting to take the store over ({why})");
            Service::open_standby(config, std::time::Duration::from_secs(1), waiting).await
        } else {
            Service::open_to_serve(config).await
        };
        let service = service.map_err(|e| anyhow::anyhow!("cannot open the store: {e}"))?;
        // The demo seeds an empty store only: a store with data (a restart on the same
        // `--data`) keeps its stock, which open reservations hold.
        let seeding = args.demo && service.catalog().locations().is_empty();
        let sample = match (args.demo, seeding) {
            (true, true) => Some(seed_demo(&service).await?),
            (true, false) => Some(sample_order()?),
            (false, _) => None,
        };
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr().context("no local address")?;
        println!("switchyard listening on http://{address} ({store})");
        if args.demo && !seeding {
            println!("The store has data already: the demo did not seed it again.");
        }
        if let Some(sample) = sample {
            print_demo_help(&address.to_string(), &sample);
        }
        switchyard_host::serve(Arc::clone(&service), listener).await.context("the server failed")
    })
}

/// Seeds the demo network (the locations, products and stock of
/// `examples/scenarios/us-50-small.json`, the `reference` policy bound as the default and
/// `store-first` beside it) through the same operations the API uses; returns a sample order
/// as JSON.
pub async fn seed_demo(service: &Service) -> anyhow::Result<String> {
    let scenario = Scenario::from_json(DEMO_SCENARIO).map_err(|e| anyhow::anyhow!("demo scenario: {e}"))?;
    let catalog = &scenario.catalog;
    let fail = |e: switchyard_host::ServiceError| anyhow::anyhow!("seeding the demo: {e}");
    // The scenario's UTC offsets as the US time zones they are in winter.
    let zone = |offset: i32| match offset {
        -300 => Some("America/New_York".to_owned()),
        -360 => Some("America/Chicago".to_owned()),
        -420 => Some("America/Denver".to_owned()),
        -480 => Some("America/Los_Angeles".to_owned()),
        _ => None,
    };
    let locations = catalog
        .locations()
        .iter()
        .map(|l| LocationRecord { time_zone: zone(l.utc_offset_minutes), ..LocationRecord::from_engine(l) })
        .collect();
    service.upsert_locations(locations).await.map_err(fail)?;
    let services = scenario
        .carrier_services
        .iter()
        .map(|s| CarrierServiceRecord::from_engine(&s.service, &s.carrier, &s.name))
        .collect();
    service.upsert_carrier_services(services).await.map_err(fail)?;
    service.upsert_products(catalog.products().iter().map(ProductRecord::from_engine).collect()).await.map_err(fail)?;
    let levels = scenario
        .stock
        .iter()
        .map(|s| StockLevel {
            sku: catalog.product(s.sku).sku.clone(),
            location: catalog.location(s.location).id.clone(),
            on_hand: s.on_hand,
            safety_stock: s.safety_stock,
        })
        .collect();
    service.set_stock(levels).await.map_err(fail)?;
    let mut default_version = None;
    for (name, source) in DEMO_POLICIES {
        let (meta, _) = service
            .upload(Kind::Dsl, name, source.as_bytes().to_vec())
            .await
            .map_err(|e| anyhow::anyhow!("demo policy `{name}`: {e}"))?;
        default_version.get_or_insert(meta.version);
    }
    if let Some(version) = default_version {
        service.bind(DEFAULT_GROUP, &version, None, Default::default()).await.map_err(fail)?;
    }
    sample_order()
}

// The demo's sample order (the scenario's first), for the curl lines.
fn sample_order() -> anyhow::Result<String> {
    let scenario = Scenario::from_json(DEMO_SCENARIO).map_err(|e| anyhow::anyhow!("demo scenario: {e}"))?;
    let catalog = &scenario.catalog;
    let order = scenario.orders.first().context("the demo scenario has no orders")?;
    let sample = SubmittedOrder {
        id: "demo-1".to_owned(),
        placed_at: None,
        channel: order.channel.clone(),
        hold_until: None,
        requested_delivery: None,
        ship_to: ShipTo {
            lat: order.ship_to.position.lat,
            lon: order.ship_to.position.lon,
            postal_code: order.ship_to.postal_code.clone(),
            country: order.ship_to.country.clone(),
        },
        lines: order
            .lines
            .iter()
            .map(|l| SubmittedLine { id: l.id.clone(), sku: catalog.product(l.sku).sku.clone(), qty: l.qty })
            .collect(),
        service: None,
        deliver_by: None,
    };
    Ok(serde_json::to_string(&sample)?)
}

fn print_demo_help(address: &str, sample: &str) {
    let base = format!("http://{address}");
    let promise =
        r#"{"ship_to":{"postal_code":"10001","country":"US"},"lines":[{"id":"1","sku":"SKU-00204","qty":1}]}"#;
    println!(
        "
Demo: the locations, products, stock and carrier services of examples/scenarios/us-50-small.json;
policies `reference` (bound as the default) and `store-first` from examples/policies/.
Tokens: demo-admin (policies, bindings), demo-writer (orders, stock), demo-reader (reads).

Console: {base}/console (sign in with one of the tokens)

  # route without reserving, with the explanation
  curl -s -H 'Authorization: Bearer demo-reader' -d '{sample}' {base}/v1/orders/route
  # create the order: route and reserve (the same id again returns the same order)
  curl -s -H 'Authorization: Bearer demo-writer' -d '{sample}' {base}/v1/orders
  curl -s -H 'Authorization: Bearer demo-reader' {base}/v1/orders/demo-1
  # why it ships from where it does (every routing, kept in the store)
  curl -s -H 'Authorization: Bearer demo-reader' {base}/v1/orders/demo-1/explanation
  curl -s -H 'Authorization: Bearer demo-writer' -X POST {base}/v1/orders/demo-1/ship
  # delivery options for a cart to New York (ground, two-day, overnight; nothing reserved)
  curl -s -H 'Authorization: Bearer demo-reader' -d '{promise}' {base}/v1/promise
  # policies, bindings, metrics
  curl -s -H 'Authorization: Bearer demo-reader' {base}/v1/policies
  curl -s -H 'Authorization: Bearer demo-reader' {base}/v1/bindings
  curl -s {base}/metrics

Ctrl-C stops the server."
    );
}
