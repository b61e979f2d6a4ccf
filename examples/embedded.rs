//! Embedding switchyard in a Rust program, both ways docs/EMBEDDING.md describes:
//!
//! 1. the engine in process: a catalog and stock of our own (with a kit), a policy in the
//!    policy language, a dry run with its explanation, then a plan reserved atomically;
//! 2. the service in process: the same policy uploaded and bound through `Service`'s own
//!    operations, an order created, and the HTTP API asked for it over a real socket.
//!
//! Run it from the repository root:
//!
//! ```sh
//! cargo run --example embedded
//! ```
//!
//! `cargo test` compiles it and runs its test, which does the same.

use std::sync::Arc;

use anyhow::Context;
use switchyard::host::records::{Kind, LocationRecord, ProductRecord, ShipTo, SubmittedLine, SubmittedOrder};
use switchyard::host::service::{Created, StockLevel};
use switchyard::{
    Address, Catalog, Config, GeoPoint, Inventory, Kit, KitComponent, Location, LocationKind, Order, OrderLine,
    Product, Role, Router, RouterConfig, Service, Timestamp, Token, Workspace, expand_kits, load_policy,
};

const POLICY: &str = r#"
policy embedded v1 applies to all groups {
  bands per_kg { up to 100: $0.80, up to 1000: $1.50, beyond: $2.40 }
  exclude "requires capability `hazmat`" when item.has_tag("hazmat") and not location.can("hazmat")
  unit cost     = per_kg[distance_km] * item.weight_kg + location.handling_per_unit
  shipment cost = $6.00 + location.handling_per_shipment
  split {
    max_shipments = 2
    penalty = $2.00
  }
  short stock: partial at $50.00
}
"#;

fn location(id: &str, lat: f64, lon: f64) -> Location {
    Location {
        id: id.to_owned(),
        kind: LocationKind::DistributionCentre,
        position: GeoPoint { lat, lon },
        handling_per_shipment: 1.0,
        handling_per_unit: 0.25,
        capacity_shipments_per_day: None,
        downtime: Vec::new(),
        capabilities: Vec::new(),
        priority: 0,
        utc_offset_minutes: 0,
        fulfilment: switchyard_engine::calendar::Fulfilment::default(),
    }
}

fn product(sku: &str, weight_kg: f64) -> Product {
    Product { sku: sku.to_owned(), group: "home".to_owned(), weight_kg, tags: Vec::new() }
}

/// A New Jersey and a Chicago DC; a lamp, a shade, and the lamp-and-shade kit.
fn network() -> anyhow::Result<(Catalog, Inventory)> {
    let mut catalog = Catalog::new();
    let nj = catalog.add_location(location("DC-NJ", 40.73, -74.17))?;
    let chi = catalog.add_location(location("DC-CHI", 41.88, -87.63))?;
    let lamp = catalog.add_product(product("LAMP", 2.0))?;
    let shade = catalog.add_product(product("SHADE", 0.5))?;
    let kit = catalog.add_product(product("LAMP-SET", 2.5))?;
    let components = vec![KitComponent { sku: lamp, qty: 1 }, KitComponent { sku: shade, qty: 1 }];
    catalog.set_kit(kit, Some(Kit { components, may_split: false }))?;
    let inventory = Inventory::new();
    inventory.set_stock(lamp, nj, 5, 0);
    inventory.set_stock(shade, chi, 5, 0);
    inventory.set_stock(lamp, chi, 5, 0);
    Ok((catalog, inventory))
}

/// The engine in process: returns where the kit ships from.
fn route_in_process() -> anyhow::Result<String> {
    let (catalog, inventory) = network()?;
    let (policy, warnings) = load_policy("embedded.policy", POLICY).map_err(|d| anyhow::anyhow!(d.render()))?;
    anyhow::ensure!(warnings.items.is_empty(), "{}", warnings.render());
    let config = RouterConfig::default();
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &policy, config: &config };
    let order = Order {
        id: "E-1".to_owned(),
        placed_at: Timestamp::parse_rfc3339("2026-11-30T09:00:00Z")?,
        channel: "web".to_owned(),
        ship_to: Address {
            position: GeoPoint { lat: 40.71, lon: -74.0 },
            postal_code: "10007".into(),
            country: "US".into(),
        },
        lines: vec![OrderLine {
            id: "1".to_owned(),
            sku: catalog.sku_id("LAMP-SET").context("no kit")?,
            qty: 1,
            kit: None,
        }],
    };
    // A kit line becomes one line per component: `1/LAMP`, `1/SHADE`.
    let order = expand_kits(&catalog, &order)?;
    let mut workspace = Workspace::default();
    let (_, explanation) = router.explain(&order, &mut workspace)?;
    println!("{}", explanation.display(&catalog));
    let routed = router.route_and_reserve(&order, &mut workspace)?;
    let shipment = routed.plan.shipments.first().context("the kit did not ship")?;
    let from = catalog.location(shipment.location).id.clone();
    println!("reserved: the kit ships whole from {from} for {:.2}", routed.plan.cost.total());
    Ok(from)
}

/// The service in process: returns the order's status as the HTTP API reports it.
async fn serve_in_process() -> anyhow::Result<String> {
    let data = tempfile::tempdir()?;
    let config = Config {
        data: data.path().to_path_buf(),
        tokens: vec![Token { name: "embedder".into(), token: "embedded-secret".into(), role: Role::Admin }],
        ..Config::default()
    };
    let service = Service::open(config).await.map_err(|e| anyhow::anyhow!(e))?;
    let (catalog, inventory) = network()?;
    service.upsert_locations(catalog.locations().iter().map(LocationRecord::from_engine).collect()).await?;
    let products = catalog.products().iter().map(|p| ProductRecord::from_catalog(&catalog, p)).collect();
    service.upsert_products(products).await?;
    let mut levels = Vec::new();
    for sku in catalog.products() {
        let mut positions = Vec::new();
        inventory.positions_into(catalog.sku_id(&sku.sku).context("sku")?, &mut positions);
        for position in positions {
            levels.push(StockLevel {
                sku: sku.sku.clone(),
                location: catalog.location(position.location).id.clone(),
                on_hand: position.on_hand,
                safety_stock: position.safety_stock,
            });
        }
    }
    service.set_stock(levels).await?;
    let (version, _) = service.upload(Kind::Dsl, "embedded", POLICY.as_bytes().to_vec()).await?;
    service.bind("default", &version.version, None, Default::default()).await?;
    let order = SubmittedOrder {
        id: "E-2".to_owned(),
        placed_at: None,
        channel: "web".to_owned(),
        hold_until: None,
        requested_delivery: None,
        ship_to: ShipTo { lat: 41.5, lon: -87.0, postal_code: "60601".into(), country: "US".into() },
        lines: vec![SubmittedLine { id: "1".to_owned(), sku: "LAMP-SET".to_owned(), qty: 2 }],
        service: None,
        deliver_by: None,
    };
    let Created::New(record, _why) = service.create_order(order, None).await? else { anyhow::bail!("a new order") };
    println!("created {}: {}", record.id, record.status.name());

    // The same service over HTTP, on a port of the system's choosing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(switchyard::serve_on(Arc::clone(&service), listener));
    let url = format!("http://{address}/v1/orders/E-2");
    let body = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        Ok(ureq::get(&url).set("Authorization", "Bearer embedded-secret").call()?.into_string()?)
    })
    .await??;
    let order: serde_json::Value = serde_json::from_str(&body)?;
    println!("GET /v1/orders/E-2: {} from {}", order["status"], order["plan"]["shipments"][0]["location"]);
    Ok(order["status"].as_str().unwrap_or_default().to_owned())
}

fn run() -> anyhow::Result<(String, String)> {
    let from = route_in_process()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let status = runtime.block_on(serve_in_process())?;
    Ok((from, status))
}

fn main() -> anyhow::Result<()> {
    run().map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_routes_a_kit_and_serves_an_order() {
        let (from, status) = super::run().expect("the example runs");
        // Only Chicago has both the lamp and the shade: the kit ships whole from there.
        assert_eq!(from, "DC-CHI");
        assert_eq!(status, "reserved");
    }
}
