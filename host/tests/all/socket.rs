//! Over real sockets: a plain client, many clients ordering scarce stock, a hot swap under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard_host::Service;

use crate::support::{ADMIN, READER, WRITER, config, order, reference_v2, seed};

struct Server {
    runtime: tokio::runtime::Runtime,
    base: String,
    service: Arc<Service>,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = runtime.block_on(async {
        let service = Service::open(config(dir.path(), 900)).await.unwrap();
        seed(&service).await;
        service
    });
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(switchyard_host::serve(Arc::clone(&service), listener));
    Server { runtime, base, service, _dir: dir }
}

/// One request over HTTP: status and JSON body.
fn send(agent: &ureq::Agent, method: &str, url: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let request = agent.request(method, url).set("Authorization", &format!("Bearer {token}"));
    let result = match body {
        Some(body) => request.set("Content-Type", "application/json").send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{method} {url}: {error}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[test]
fn a_client_orders_over_a_socket() {
    let server = start();
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let (status, created) =
        send(&agent, "POST", &format!("{}/v1/orders", server.base), WRITER, Some(&order("net-1", "SKU-A", 2)));
    assert_eq!(status, 201, "{created}");
    let response = agent
        .get(&format!("{}/v1/orders/net-1", server.base))
        .set("Authorization", &format!("Bearer {READER}"))
        .set("X-Request-Id", "trace-me")
        .call()
        .unwrap();
    assert_eq!(response.header("x-request-id"), Some("trace-me"));
    let fetched: Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!(fetched, created);
    let (status, _) = send(&agent, "GET", &format!("{}/readyz", server.base), READER, None);
    assert_eq!(status, 200);
    drop(server.runtime);
}

#[test]
fn many_clients_ordering_scarce_stock_never_oversell() {
    let server = start();
    let (on_hand_before, _) = server.service.totals();
    let clients = 32;
    let orders_per_client = 4;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let url = format!("{}/v1/orders", server.base);
            thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
                (0..orders_per_client)
                    .map(|n| {
                        send(&agent, "POST", &url, WRITER, Some(&order(&format!("scarce-{client}-{n}"), "SKU-A", 1)))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let replies: Vec<(u16, Value)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(replies.len(), clients * orders_per_client);
    assert!(replies.iter().all(|(status, _)| *status < 500), "no server errors");
    let reserved: u64 = replies
        .iter()
        .filter(|(status, body)| *status == 201 && body["status"] == "reserved")
        .map(|(_, body)| body["held_units"][0]["qty"].as_u64().unwrap())
        .sum();
    assert_eq!(reserved, 10, "exactly the 10 units in stock were sold");
    let (on_hand_after, reserved_after) = server.service.totals();
    assert_eq!(on_hand_after, on_hand_before, "stock is conserved");
    assert_eq!(reserved_after, 10);
    let agent = ureq::agent();
    let (_, atp) = send(&agent, "GET", &format!("{}/v1/inventory/SKU-A", server.base), READER, None);
    assert_eq!(atp["atp"], 0);
    for position in atp["locations"].as_array().unwrap() {
        assert!(position["reserved"].as_u64() <= position["on_hand"].as_u64(), "{position}");
    }
}

#[test]
fn a_binding_swaps_under_load_without_a_failed_request() {
    let server = start();
    let agent = ureq::agent();
    let base = server.base.clone();
    let (status, _) = send(
        &agent,
        "POST",
        &format!("{base}/v1/inventory"),
        WRITER,
        Some(&json!({"levels": [{"sku": "SKU-A", "location": "DC-EAST", "on_hand": 1_000_000}]})),
    );
    assert_eq!(status, 204);
    let upload = agent
        .post(&format!("{base}/v1/policies?name=reference"))
        .set("Authorization", &format!("Bearer {ADMIN}"))
        .send_string(&reference_v2())
        .unwrap();
    let v2: Value = serde_json::from_str(&upload.into_string().unwrap()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (base, stop) = (base.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
                let mut seen = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let (status, body) = send(
                        &agent,
                        "POST",
                        &format!("{base}/v1/orders"),
                        WRITER,
                        Some(&order(&format!("swap-{client}-{n}"), "SKU-A", 1)),
                    );
                    seen.push((
                        started,
                        Instant::now(),
                        status,
                        body["plan"]["policy"].as_str().unwrap_or("").to_owned(),
                    ));
                    n += 1;
                }
                seen
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    let bind = json!({"version": v2["version"]});
    let (status, body) = send(&agent, "PUT", &format!("{base}/v1/bindings/default"), ADMIN, Some(&bind));
    assert_eq!(status, 200, "{body}");
    let bound_at = Instant::now();
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<_> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert!(seen.iter().all(|(_, _, status, _)| *status == 201), "every order during the swap succeeded");
    let before = seen.iter().filter(|(_, done, _, _)| *done < bound_at).count();
    let after: Vec<_> = seen.iter().filter(|(started, _, _, _)| *started > bound_at).collect();
    assert!(before > 0 && !after.is_empty(), "orders flowed before and after the swap");
    assert!(
        after.iter().all(|(_, _, _, policy)| policy == "reference@2"),
        "every order started after the bind uses v2"
    );
    assert!(seen.iter().any(|(_, _, _, policy)| policy == "reference@1"));
}

#[test]
fn the_same_order_sent_by_many_clients_at_once_is_reserved_once() {
    let server = start();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let url = format!("{}/v1/orders", server.base);
            thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
                send(&agent, "POST", &url, WRITER, Some(&order("dup-1", "SKU-A", 2)))
            })
        })
        .collect();
    let replies: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created = replies.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{replies:?}");
    for (status, body) in &replies {
        assert!(
            *status == 201 || *status == 200 || (*status == 409 && body["error"]["code"] == "order_in_progress"),
            "{status}: {body}"
        );
    }
    assert_eq!(server.service.totals().1, 2, "reserved once");
}
