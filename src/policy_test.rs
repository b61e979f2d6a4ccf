//! Policy test files (`*.test.toml`): a small network, stock, and cases (an order and what the
//! policy must make of it: shipments, unfilled units, cost, exclusions by rule name). `switchyard
//! test` runs them; each case is routed on fresh stock, as a dry run with an explanation.
//!
//! ```toml
//! policy = "store-first.policy"          # relative to this file
//! params = { store_surcharge = "$1.50" } # optional overrides
//!
//! [[location]]
//! id = "ST-MAN"  kind = "store"  lat = 40.75  lon = -73.99
//! handling_per_shipment = 2.0  handling_per_unit = 0.5  capacity = 40  capabilities = []
//!
//! [[product]]
//! sku = "TEE"  group = "apparel"  weight_kg = 0.3  tags = []
//!
//! [[stock]]
//! location = "ST-MAN"  sku = "TEE"  on_hand = 5  safety_stock = 1
//!
//! [[case]]
//! name = "a tee ships from the store"
//! ship_to = { lat = 40.71, lon = -74.0 }
//! lines = [{ id = "1", sku = "TEE", qty = 1 }]
//! expect = { shipments = [{ location = "ST-MAN", lines = [{ line = "1", qty = 1 }] }], cost = 10.75 }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::scenario::{CarrierServiceDocument, read_service};
use anyhow::{Context, bail};
use serde::Deserialize;
use switchyard_engine::calendar::{self, CarrierService};
use switchyard_engine::promise::{DeadlinePolicy, delivery_days, delivery_view, late_locations, quote_plan};
use switchyard_engine::{
    Address, CandidateStatus, Catalog, Downtime, GeoPoint, Inventory, Location, LocationKind, Order, OrderLine,
    PlanStatus, Policy, Product, Router, RouterConfig, Timestamp, Workspace,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    policy: PathBuf,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    location: Vec<LocationSpec>,
    #[serde(default)]
    product: Vec<ProductSpec>,
    #[serde(default)]
    stock: Vec<StockSpec>,
    #[serde(default)]
    case: Vec<CaseSpec>,
    // Carrier services, as in the scenario format.
    #[serde(default)]
    carrier_service: Vec<CarrierServiceDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationSpec {
    id: String,
    kind: String,
    lat: f64,
    lon: f64,
    #[serde(default)]
    handling_per_shipment: f64,
    #[serde(default)]
    handling_per_unit: f64,
    capacity: Option<u32>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    downtime: Vec<[String; 2]>,
    // Delivery promises: the local cut-off `HH:MM`, processing days, open weekdays, holidays,
    // and the offset of local time from UTC.
    #[serde(default)]
    cutoff: Option<String>,
    #[serde(default)]
    processing_days: u8,
    #[serde(default)]
    open_days: Option<String>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    utc_offset_minutes: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductSpec {
    sku: String,
    group: String,
    weight_kg: f64,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockSpec {
    location: String,
    sku: String,
    on_hand: u32,
    #[serde(default)]
    safety_stock: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    name: String,
    #[serde(default = "default_placed_at")]
    placed_at: String,
    #[serde(default = "default_channel")]
    channel: String,
    ship_to: ShipToSpec,
    lines: Vec<LineSpec>,
    expect: Expectation,
    // The carrier service it ships by, and the day promised (`YYYY-MM-DD`).
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    deliver_by: Option<String>,
}

fn default_placed_at() -> String {
    "2026-11-26T10:00:00Z".to_owned()
}

fn default_channel() -> String {
    "web".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipToSpec {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineSpec {
    id: String,
    sku: String,
    qty: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    shipments: Option<Vec<ShipmentSpec>>,
    #[serde(default)]
    unfilled: Option<Vec<LineQty>>,
    #[serde(default)]
    cost: Option<f64>,
    #[serde(default)]
    excluded: Vec<ExclusionSpec>,
    // The day the last parcel arrives by the case's service (`YYYY-MM-DD`).
    #[serde(default)]
    delivery_date: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
#[serde(deny_unknown_fields)]
struct ShipmentSpec {
    location: String,
    lines: Vec<LineQty>,
}

#[derive(Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
#[serde(deny_unknown_fields)]
struct LineQty {
    line: String,
    qty: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExclusionSpec {
    line: String,
    location: String,
    rule: String,
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// `None` if it passed, else what differed.
    pub failure: Option<String>,
}

/// Runs every case of a test file against its policy, or against `plugin` (a Wasm routing
/// plugin, in place of the file's policy and its `params`) when one is given.
pub fn run_file(path: &Path, plugin: Option<&Path>) -> anyhow::Result<Vec<CaseResult>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let file: TestFile = toml::from_str(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
    let policy: Box<dyn Policy> = match plugin {
        Some(plugin) => Box::new(crate::cli::load_plugin(plugin)?),
        None => {
            let policy_path = path.parent().unwrap_or(Path::new(".")).join(&file.policy);
            let params: Vec<String> = file.params.iter().map(|(name, value)| format!("{name}={value}")).collect();
            Box::new(crate::cli::load_policy(&policy_path, &params)?)
        }
    };

    let mut catalog = Catalog::new();
    for spec in &file.location {
        let mut downtime = Vec::new();
        for [from, to] in &spec.downtime {
            downtime.push(Downtime { from: Timestamp::parse_rfc3339(from)?, to: Timestamp::parse_rfc3339(to)? });
        }
        catalog.add_location(Location {
            id: spec.id.clone(),
            kind: LocationKind::from_name(&spec.kind),
            position: GeoPoint { lat: spec.lat, lon: spec.lon },
            handling_per_shipment: spec.handling_per_shipment,
            handling_per_unit: spec.handling_per_unit,
            capacity_shipments_per_day: spec.capacity,
            downtime,
            capabilities: spec.capabilities.clone(),
            priority: spec.priority,
            utc_offset_minutes: spec.utc_offset_minutes,
            fulfilment: calendar::fulfilment_from_text(
                spec.cutoff.as_deref(),
                spec.processing_days,
                spec.open_days.as_deref(),
                &spec.holidays,
            )
            .map_err(|(field, message)| anyhow::anyhow!("location `{}`: {field}: {message}", spec.id))?,
        })?;
    }
    let mut services = Vec::new();
    for (index, document) in file.carrier_service.into_iter().enumerate() {
        let read = read_service(&format!("carrier_service[{index}]"), document)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        services.push(read.service);
    }
    for spec in &file.product {
        catalog.add_product(Product {
            sku: spec.sku.clone(),
            group: spec.group.clone(),
            weight_kg: spec.weight_kg,
            tags: spec.tags.clone(),
        })?;
    }
    let mut stock = Vec::new();
    for spec in &file.stock {
        let location = catalog
            .location_id(&spec.location)
            .with_context(|| format!("stock: unknown location `{}`", spec.location))?;
        let sku = catalog.sku_id(&spec.sku).with_context(|| format!("stock: unknown sku `{}`", spec.sku))?;
        stock.push((sku, location, spec.on_hand, spec.safety_stock));
    }
    if file.case.is_empty() {
        bail!("{}: no `[[case]]` to run", path.display());
    }
    let config = RouterConfig::default();
    let mut results = Vec::new();
    for case in &file.case {
        let inventory = Inventory::new();
        for &(sku, location, on_hand, safety) in &stock {
            inventory.set_stock(sku, location, on_hand, safety);
        }
        let failure =
            run_case(&catalog, &inventory, policy.as_ref(), &config, &services, case).err().map(|e| format!("{e:#}"));
        results.push(CaseResult { name: case.name.clone(), failure });
    }
    Ok(results)
}

fn run_case(
    catalog: &Catalog,
    inventory: &Inventory,
    policy: &dyn Policy,
    config: &RouterConfig,
    services: &[CarrierService],
    case: &CaseSpec,
) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for line in &case.lines {
        let sku = catalog.sku_id(&line.sku).with_context(|| format!("unknown sku `{}`", line.sku))?;
        lines.push(OrderLine { id: line.id.clone(), sku, qty: line.qty, kit: None });
    }
    let order = Order {
        id: case.name.clone(),
        placed_at: Timestamp::parse_rfc3339(&case.placed_at)?,
        channel: case.channel.clone(),
        ship_to: Address {
            position: GeoPoint { lat: case.ship_to.lat, lon: case.ship_to.lon },
            postal_code: String::new(),
            country: "US".to_owned(),
        },
        lines,
    };
    let router = Router { catalog, inventory, policy, config };
    // By a carrier service: the locations it cannot ship from, and with a promised day those
    // that would deliver later, are left out (as the service routes an order that names them;
    // its fallback when no location makes the day is not run here).
    let service = match &case.service {
        Some(id) => Some(services.iter().find(|s| s.id == *id).with_context(|| format!("unknown service `{id}`"))?),
        None if case.deliver_by.is_some() => bail!("`deliver_by` needs a `service`"),
        None => None,
    };
    let deliver_by = case.deliver_by.as_deref().map(calendar::parse_date).transpose().map_err(anyhow::Error::msg)?;
    let days = service.map(|service| delivery_days(catalog, service, &order)).unwrap_or_default();
    let view = service.map(|service| delivery_view(service, deliver_by, &days));
    let deadline;
    let routed_by = match &view {
        Some(view) => {
            deadline = DeadlinePolicy::new(policy, late_locations(&days, deliver_by.unwrap_or(i64::MAX))).showing(view);
            Router { policy: &deadline, ..router }
        }
        None => router,
    };
    let (plan, explanation) = routed_by.explain(&order, &mut Workspace::default())?;
    let line_id = |index: usize| order.lines[index].id.clone();
    let mut problems = Vec::new();
    let status = match &plan.status {
        PlanStatus::Routed => "routed",
        PlanStatus::Rejected { .. } => "rejected",
    };
    if let Some(expected) = &case.expect.status
        && expected != status
    {
        problems.push(format!("status: expected {expected}, got {status}"));
    }
    if let Some(expected) = &case.expect.shipments {
        let mut actual: Vec<ShipmentSpec> = plan
            .shipments
            .iter()
            .map(|s| {
                let mut lines: Vec<LineQty> =
                    s.lines.iter().map(|l| LineQty { line: line_id(l.line), qty: l.qty }).collect();
                lines.sort();
                ShipmentSpec { location: catalog.location(s.location).id.clone(), lines }
            })
            .collect();
        actual.sort();
        let mut expected = expected.clone();
        for shipment in &mut expected {
            shipment.lines.sort();
        }
        expected.sort();
        if actual != expected {
            problems.push(format!("shipments: expected {}, got {}", describe(&expected), describe(&actual)));
        }
    }
    if let Some(expected) = &case.expect.unfilled {
        let mut actual: Vec<LineQty> =
            plan.unfilled.iter().map(|u| LineQty { line: line_id(u.line), qty: u.qty }).collect();
        actual.sort();
        let mut expected = expected.clone();
        expected.sort();
        if actual != expected {
            problems.push(format!("unfilled: expected {expected:?}, got {actual:?}"));
        }
    }
    if let Some(expected) = &case.expect.delivery_date {
        let service = service.context("`delivery_date` is expected of a case with a `service`")?;
        let actual = quote_plan(catalog, service, &order, &plan)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .iter()
            .map(|parcel| parcel.quote.dates.delivery_day)
            .max()
            .map(calendar::date_text);
        if actual.as_deref() != Some(expected.as_str()) {
            problems.push(format!("delivery date: expected {expected}, got {actual:?}"));
        }
    }
    if let Some(expected) = case.expect.cost
        && (plan.cost.total() - expected).abs() > 0.005
    {
        problems.push(format!("cost: expected {expected:.2}, got {:.4}", plan.cost.total()));
    }
    let line_index: HashMap<&str, usize> = order.lines.iter().enumerate().map(|(i, l)| (l.id.as_str(), i)).collect();
    for exclusion in &case.expect.excluded {
        let Some(&line) = line_index.get(exclusion.line.as_str()) else {
            problems.push(format!("excluded: the case has no line `{}`", exclusion.line));
            continue;
        };
        let status = explanation.lines[line]
            .candidates
            .iter()
            .find(|c| catalog.location(c.location).id == exclusion.location)
            .map(|c| &c.status);
        match status {
            Some(CandidateStatus::Excluded { rule }) if **rule == *exclusion.rule => {}
            Some(other) => problems.push(format!(
                "line {} at {}: expected excluded by \"{}\", got {other:?}",
                exclusion.line, exclusion.location, exclusion.rule
            )),
            None => problems.push(format!("line {} at {}: not a candidate", exclusion.line, exclusion.location)),
        }
    }
    if problems.is_empty() { Ok(()) } else { bail!("{}", problems.join("; ")) }
}

fn describe(shipments: &[ShipmentSpec]) -> String {
    let parts: Vec<String> = shipments
        .iter()
        .map(|s| {
            let lines: Vec<String> = s.lines.iter().map(|l| format!("{}x{}", l.line, l.qty)).collect();
            format!("{}[{}]", s.location, lines.join(","))
        })
        .collect();
    if parts.is_empty() { "no shipments".to_owned() } else { parts.join(" + ") }
}
