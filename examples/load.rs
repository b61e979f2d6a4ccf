//! An open-loop load generator for `POST /v1/orders` (`scripts/bench-orders` runs it): orders
//! are sent at a fixed arrival rate whatever the server does, and each latency is measured
//! from when the order was due to be sent, so time spent queueing (in the server, or waiting
//! for a connection) shows in the tail instead of slowing the load down (no coordinated
//! omission, unlike a closed loop of N connections). Orders have one to three lines of one or
//! two units over `--skus`, ship-to anywhere in the continental US, unique ids. With several
//! `--url`s, orders go to them in turn (several instances).
//!
//! ```sh
//! cargo run --release --example load -- --url http://127.0.0.1:7878 --rate 2000 --seconds 20 \
//!     --skus SKU-00001,SKU-00002
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// Base URL of a server; repeat for several (orders go to them in turn).
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// Orders per second offered.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// A writer's bearer token.
    #[arg(long, default_value = "demo-writer")]
    token: String,
    /// SKUs the lines are drawn from, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    skus: Vec<String>,
    /// Most requests in flight; beyond, orders wait for a slot (and their latency shows it).
    #[arg(long, default_value_t = 512)]
    in_flight: usize,
}

// Each reply's latency (from when it was due), and replies by status.
type Results = Arc<Mutex<(Vec<Duration>, BTreeMap<String, u64>)>>;

// xorshift64*: reproducible, and enough to spread orders.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.in_flight).build()?;
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as u64;
    let mut random = Random(run | 1);
    let total = args.rate * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let slots = Arc::new(tokio::sync::Semaphore::new(args.in_flight));
    let results: Results = Arc::default();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let lines: Vec<serde_json::Value> = (0..1 + random.below(3))
            .map(|i| {
                serde_json::json!({
                    "id": (i + 1).to_string(),
                    "sku": args.skus[random.below(args.skus.len() as u64) as usize],
                    "qty": 1 + random.below(2),
                })
            })
            .collect();
        let order = serde_json::json!({
            "id": format!("load-{run:x}-{n}"),
            "ship_to": {"lat": 30.0 + random.unit() * 17.0, "lon": -120.0 + random.unit() * 45.0,
                        "postal_code": "00000", "country": "US"},
            "lines": lines,
        });
        let url = format!("{}/v1/orders", args.urls[n as usize % args.urls.len()]);
        let (client, token, slots, results) =
            (client.clone(), args.token.clone(), Arc::clone(&slots), Arc::clone(&results));
        tasks.spawn(async move {
            let outcome = match slots.acquire_owned().await {
                Ok(_slot) => match client
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(order.to_string())
                    .send()
                    .await
                {
                    Ok(response) => {
                        let status = response.status().as_u16().to_string();
                        let _ = response.bytes().await;
                        status
                    }
                    Err(error) => format!("error: {}", if error.is_connect() { "connect" } else { "other" }),
                },
                Err(_) => "error: closed".to_owned(),
            };
            let latency = due.elapsed();
            let mut results = results.lock().await;
            results.0.push(latency);
            *results.1.entry(outcome).or_insert(0) += 1;
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let (mut latencies, outcomes) = std::mem::take(&mut *results.lock().await);
    latencies.sort_unstable();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let created = outcomes.get("201").copied().unwrap_or(0);
    println!(
        "offered {} orders/s for {} s to {} server(s): {created} created in {elapsed:.1} s ({:.0}/s); \
         p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (from when each was due)",
        args.rate,
        args.seconds,
        args.urls.len(),
        created as f64 / elapsed,
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(latencies.last()),
    );
    println!("replies: {outcomes:?}");
    Ok(())
}
