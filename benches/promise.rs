//! Delivery promises on the 200-location sample network: the earliest delivery of a 3-line
//! cart by one carrier service, and by three (ground, two-day, overnight), against the
//! scenario's starting stock, nothing reserved.
//!
//! `cargo bench --bench promise` prints p50/p99 over 2,000 carts (the figures in
//! docs/BENCHMARKS.md), then runs criterion. Every location works Monday to Friday with a
//! 14:00 cut-off (stores take a day to pick and pack); the services collect Monday to Friday
//! and deliver Monday to Saturday. us-200-medium is read from `../shared/scenarios/` (or
//! `SWITCHYARD_SCENARIOS`).

#![allow(clippy::expect_used, missing_docs)]

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use support::load;
use switchyard::scenario::Scenario;
use switchyard_engine::calendar::{Calendar, CarrierDays, CarrierService, Fulfilment, ServiceBand, Weekdays};
use switchyard_engine::promise::promise;
use switchyard_engine::{Location, LocationKind, Order, OrderLine, Router, RouterConfig, Workspace};

fn services() -> Vec<CarrierService> {
    let days =
        CarrierDays { pickup: Weekdays::WORKDAYS, delivery: Calendar::new(Weekdays::MONDAY_TO_SATURDAY, vec![]) };
    let band = |max_km, transit_days, per_shipment, per_kg| ServiceBand { max_km, transit_days, per_shipment, per_kg };
    let service =
        |id: &str, bands| CarrierService { id: id.into(), days: days.clone(), bands, max_weight_kg: Some(30.0) };
    vec![
        service(
            "ground",
            vec![
                band(Some(250.0), 1, 7.5, 0.7),
                band(Some(800.0), 2, 8.2, 1.0),
                band(Some(1600.0), 3, 9.8, 1.8),
                band(Some(2900.0), 4, 11.4, 2.5),
                band(None, 5, 12.3, 2.9),
            ],
        ),
        service("two-day", vec![band(Some(800.0), 1, 14.0, 1.5), band(None, 2, 19.0, 2.5)]),
        service("overnight", vec![band(None, 1, 29.0, 4.0)]),
    ]
}

// Three-line carts: the first lines of consecutive orders, three distinct SKUs.
fn carts(scenario: &Scenario) -> Vec<Order> {
    let mut carts = Vec::new();
    for (index, order) in scenario.orders.iter().enumerate() {
        let mut lines: Vec<OrderLine> = Vec::new();
        for other in scenario.orders[index..].iter().take(12) {
            let line = &other.lines[0];
            if lines.len() < 3 && lines.iter().all(|l| l.sku != line.sku) {
                lines.push(OrderLine { id: format!("{}", lines.len() + 1), sku: line.sku, qty: 1, kit: None });
            }
        }
        if lines.len() == 3 {
            carts.push(Order { lines, ..order.clone() });
        }
    }
    carts
}

fn promises(c: &mut Criterion) {
    let Some(scenario) = load("us-200-medium") else {
        println!("us-200-medium: scenario not found, skipped");
        return;
    };
    let inventory = scenario.fresh_inventory();
    let config = RouterConfig::default();
    let mut catalog = scenario.catalog.clone();
    for location in scenario.catalog.locations() {
        let fulfilment = Fulfilment {
            cutoff_minutes: 14 * 60,
            processing_days: u8::from(location.kind == LocationKind::Store),
            calendar: Calendar::new(Weekdays::WORKDAYS, vec![]),
        };
        catalog.upsert_location(Location { fulfilment, ..location.clone() }).expect("the same location");
    }
    let router = Router { catalog: &catalog, inventory: &inventory, policy: &scenario.policy, config: &config };
    let services = services();
    let carts = carts(&scenario);
    let mut workspace = Workspace::default();
    let mut measure = |label: &str, services: &[CarrierService]| {
        let mut times: Vec<Duration> = Vec::new();
        let mut promised = 0usize;
        for cart in carts.iter().cycle().take(2000) {
            let started = Instant::now();
            for service in services {
                promised += usize::from(promise(&router, service, cart, &mut workspace).is_ok());
            }
            times.push(started.elapsed());
        }
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        println!(
            "promise/us-200-medium/{label}: 3-line carts, p50 {:.1} µs, p99 {:.1} µs ({promised} of {} promised)",
            at(0.5),
            at(0.99),
            times.len() * services.len()
        );
    };
    measure("ground", &services[..1]);
    measure("three-services", &services);

    let mut group = c.benchmark_group("promise/us-200-medium");
    let mut next = 0;
    group.bench_function("ground", |b| {
        b.iter(|| {
            let cart = &carts[next % carts.len()];
            next += 1;
            black_box(promise(&router, &services[0], cart, &mut workspace).ok())
        })
    });
    group.bench_function("three-services", |b| {
        b.iter(|| {
            let cart = &carts[next % carts.len()];
            next += 1;
            for service in &services {
                black_box(promise(&router, service, cart, &mut workspace).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, promises);
criterion_main!(benches);
