//! `switchyard serve` as a process: killed hard in the middle of a stream of orders and
//! restarted, every acknowledged reservation is there and nothing is half-applied.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard::scenario::Scenario;

const CONFIG: &str = r#"
reservation_ttl_secs = 3600
[[tokens]]
name = "test-writer"
token = "demo-writer"
role = "writer"
[[tokens]]
name = "test-reader"
token = "demo-reader"
role = "reader"
"#;

/// Starts the server and returns it with its base URL (read from its first line).
fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the switchyard binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("the server prints its address").unwrap();
    let base = first
        .strip_prefix("switchyard listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    // Keep draining its output so it never blocks on a full pipe.
    thread::spawn(move || for _ in lines {});
    (child, base)
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let request = agent.request(method, url).set("Authorization", &format!("Bearer {token}"));
    let result = match body {
        Some(body) => request.set("Content-Type", "application/json").send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => return Err(error.to_string()),
    };
    let status = response.status();
    let text = response.into_string().map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

/// The PostgreSQL database of the run (scripts/with-postgres makes it), and a schema of
/// `dir`'s own in it, as `serve` arguments.
fn postgres_args(dir: &std::path::Path) -> Vec<String> {
    let url = std::env::var("SWITCHYARD_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "SWITCHYARD_TEST_DATABASE_URL is not set: run the tests through scripts/with-postgres (scripts/test does)"
        )
    });
    let name =
        dir.file_name().unwrap().to_string_lossy().to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "");
    vec!["--store".into(), url, "--store-schema".into(), format!("serve_{name}_{}", std::process::id())]
}

// `serve` on a store in `dir` (SQLite in `dir/data`, plus whatever `store` says) with the
// test's tokens, listening on a free port.
fn serve_args(dir: &std::path::Path, store: fn(&std::path::Path) -> Vec<String>) -> Vec<String> {
    std::fs::write(dir.join("switchyard.toml"), CONFIG).unwrap();
    args_in(dir, "data", store(dir))
}

// `serve` with the config file in `dir`, its data in `dir/<data>`, listening on a free port.
fn args_in(dir: &std::path::Path, data: &str, store: Vec<String>) -> Vec<String> {
    let (data, config) = (dir.join(data), dir.join("switchyard.toml"));
    let mut args: Vec<String> =
        ["serve", "--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()].into_iter().map(String::from).collect();
    args.extend(["--config".to_owned(), config.to_str().unwrap().to_owned()]);
    args.extend(store);
    args
}

// An acknowledged order (a `201` answer to `POST /v1/orders?explain=true`) is what is served
// after a crash or a takeover (`stored`), and why it was routed as it was (the answer's
// `explanation`) was kept with it.
fn assert_acknowledged_as_kept(agent: &ureq::Agent, base: &str, acknowledged: &Value, stored: &Value, across: &str) {
    let id = acknowledged["id"].as_str().unwrap();
    let mut order = acknowledged.clone();
    let explanation = order.as_object_mut().unwrap().remove("explanation");
    assert_eq!(stored, &order, "order {id} changed across {across}");
    let explanation = explanation.unwrap_or_else(|| panic!("order {id} was acknowledged without its explanation"));
    let (status, kept) =
        send(agent, "GET", &format!("{base}/v1/orders/{id}/explanation"), "demo-reader", None).unwrap();
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["routings"][0]["lines"], explanation, "order {id}'s explanation was lost across {across}");
}

#[test]
fn a_hard_kill_loses_no_acknowledged_reservation() {
    hard_kill(|_| Vec::new());
}

#[test]
fn a_hard_kill_loses_no_acknowledged_reservation_on_postgres() {
    hard_kill(postgres_args);
}

// Streams orders from four clients, kills the server with SIGKILL, restarts it on the same
// store (SQLite in the directory, plus whatever `store` says) and checks every acknowledged
// order and every reserved unit.
fn hard_kill(store: fn(&std::path::Path) -> Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let owned = serve_args(dir.path(), store);
    let common: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (mut server, base) = start(&[&common[..], &["--demo"]].concat());

    let scenario = Scenario::from_json(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/us-50-small.json")).unwrap(),
    )
    .unwrap();
    let orders: Vec<Value> = scenario
        .orders
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "channel": o.channel,
                "ship_to": {"lat": o.ship_to.position.lat, "lon": o.ship_to.position.lon},
                "lines": o.lines.iter().map(|l| json!({"id": l.id, "sku": scenario.catalog.product(l.sku).sku, "qty": l.qty})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let orders = Arc::new(orders);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged_so_far = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Four clients stream orders; each records what was acknowledged and what was in flight.
    let clients: Vec<_> = (0..4)
        .map(|client| {
            // Answers with their explanations: the test checks they were kept with the orders.
            let (orders, stop, url, counter) = (
                Arc::clone(&orders),
                Arc::clone(&stop),
                format!("{base}/v1/orders?explain=true"),
                Arc::clone(&acknowledged_so_far),
            );
            thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
                let (mut acknowledged, mut unknown) = (Vec::new(), Vec::new());
                let mut n = client;
                while !stop.load(Ordering::Relaxed) && n < orders.len() {
                    let order = &orders[n];
                    match send(&agent, "POST", &url, "demo-writer", Some(order)) {
                        Ok((201, body)) => {
                            acknowledged.push(body);
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok((status, body)) => assert!(status < 500, "{status}: {body}"),
                        Err(_) => {
                            unknown.push(order["id"].as_str().unwrap().to_owned());
                            break;
                        }
                    }
                    n += 4;
                }
                (acknowledged, unknown)
            })
        })
        .collect();
    // Kill mid-stream: once 40 orders are acknowledged (however long a busy machine takes to
    // get there) and a moment more, so requests are in flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while acknowledged_so_far.load(Ordering::Relaxed) < 40 && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(100));
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    let mut unknown = Vec::new();
    for client in clients {
        let (a, u) = client.join().unwrap();
        acknowledged.extend(a);
        unknown.extend(u);
    }
    assert!(acknowledged.len() >= 20, "the stream ran before the kill ({} orders)", acknowledged.len());
    eprintln!("killed after {} acknowledged orders, {} in flight", acknowledged.len(), unknown.len());

    let (mut server, base) = start(&common);
    let agent = ureq::agent();
    // Every acknowledged order is there, as it was acknowledged.
    let mut holding: Vec<Value> = Vec::new();
    for order in &acknowledged {
        let id = order["id"].as_str().unwrap();
        let (status, stored) = send(&agent, "GET", &format!("{base}/v1/orders/{id}"), "demo-reader", None).unwrap();
        assert_eq!(status, 200, "acknowledged order {id} is lost");
        assert_acknowledged_as_kept(&agent, &base, order, &stored, "the crash");
        holding.push(stored);
    }
    // Orders in flight at the kill are either wholly there or wholly absent.
    for id in &unknown {
        let (status, stored) = send(&agent, "GET", &format!("{base}/v1/orders/{id}"), "demo-reader", None).unwrap();
        assert!(status == 200 || status == 404, "{status}");
        if status == 200 {
            holding.push(stored);
        }
    }
    // Reserved units per SKU are exactly what the surviving orders hold.
    let mut held: BTreeMap<String, u64> = BTreeMap::new();
    for order in holding.iter().filter(|o| o["status"] == "reserved") {
        for units in order["held_units"].as_array().unwrap() {
            *held.entry(units["sku"].as_str().unwrap().to_owned()).or_default() += units["qty"].as_u64().unwrap();
        }
    }
    let skus: BTreeSet<String> = orders
        .iter()
        .flat_map(|o| o["lines"].as_array().unwrap().iter().map(|l| l["sku"].as_str().unwrap().to_owned()))
        .collect();
    for sku in skus {
        let (_, atp) = send(&agent, "GET", &format!("{base}/v1/inventory/{sku}"), "demo-reader", None).unwrap();
        let reserved: u64 = atp["locations"].as_array().unwrap().iter().map(|p| p["reserved"].as_u64().unwrap()).sum();
        assert_eq!(reserved, held.get(&sku).copied().unwrap_or(0), "reserved units of {sku} after the restart");
    }
    // One process serves a store: a second `serve` on it stops at start, saying why.
    let second = Command::new(env!("CARGO_BIN_EXE_switchyard")).args(&common).output().unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("is serving"), "{said}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_standby_takes_over_when_the_serving_process_is_killed() {
    failover(|_| Vec::new());
}

#[test]
fn a_standby_takes_over_when_the_serving_instance_is_killed_on_postgres() {
    failover(postgres_args);
}

// An active server and a standby on one store: orders stream to the active one, which is
// killed with SIGKILL; the standby takes the store over and serves every acknowledged order,
// and new ones.
fn failover(store: fn(&std::path::Path) -> Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let owned = serve_args(dir.path(), store);
    let common: Vec<&str> = owned.iter().map(String::as_str).collect();
    let (mut active, base) = start(&[&common[..], &["--demo"]].concat());

    let mut standby = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args([&common[..], &["--standby"]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, said) = (standby.stdout.take().unwrap(), standby.stderr.take().unwrap());
    let (first_line, line) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for out in BufReader::new(lines).lines().map_while(Result::ok) {
            let _ = first_line.send(out);
        }
    });
    let (waiting_tx, waiting) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for out in BufReader::new(said).lines().map_while(Result::ok) {
            if out.contains("waiting to take the store over") {
                let _ = waiting_tx.send(out);
            }
        }
    });
    waiting.recv_timeout(Duration::from_secs(30)).expect("the standby says it waits");

    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
    let mut acknowledged = Vec::new();
    for n in 0..40 {
        let order = json!({"id": format!("F-{n}"), "channel": "web", "ship_to": {"lat": 40.7, "lon": -74.0},
            "lines": [{"id": "1", "sku": format!("SKU-{:05}", 1 + n % 5), "qty": 1}]});
        let (status, body) =
            send(&agent, "POST", &format!("{base}/v1/orders?explain=true"), "demo-writer", Some(&order)).unwrap();
        assert!(status == 201 || status == 422, "{status}: {body}");
        if status == 201 {
            acknowledged.push(body);
        }
    }
    assert!(acknowledged.len() >= 20, "{} orders placed", acknowledged.len());
    assert!(line.recv_timeout(Duration::from_millis(300)).is_err(), "the standby does not serve beside the active one");
    active.kill().unwrap(); // SIGKILL
    active.wait().unwrap();

    let first = line.recv_timeout(Duration::from_secs(30)).expect("the standby takes over within seconds");
    let standby_base = first
        .strip_prefix("switchyard listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    for order in &acknowledged {
        let id = order["id"].as_str().unwrap();
        let (status, stored) =
            send(&agent, "GET", &format!("{standby_base}/v1/orders/{id}"), "demo-reader", None).unwrap();
        assert_eq!(status, 200, "acknowledged order {id} is lost");
        assert_acknowledged_as_kept(&agent, &standby_base, order, &stored, "the takeover");
    }
    let next = json!({"id": "F-after", "channel": "web", "ship_to": {"lat": 40.7, "lon": -74.0},
        "lines": [{"id": "1", "sku": "SKU-00001", "qty": 1}]});
    let (status, body) =
        send(&agent, "POST", &format!("{standby_base}/v1/orders"), "demo-writer", Some(&next)).unwrap();
    assert_eq!(status, 201, "the standby serves new orders: {body}");
    standby.kill().ok();
    standby.wait().ok();
}

#[test]
fn sigterm_stops_the_server_within_seconds_and_a_demo_restart_keeps_the_stock() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap().to_owned();
    let args = ["serve", "--demo", "--listen", "127.0.0.1:0", "--data", &data];
    let (mut server, base) = start(&args);
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let atp_of =
        |base: &str| send(&agent, "GET", &format!("{base}/v1/inventory/SKU-00001"), "demo-reader", None).unwrap().1;
    let before = atp_of(&base);
    let location = before["locations"][0]["location"].as_str().unwrap().to_owned();
    // The demo seeds carrier services and calendars: a checkout asks for delivery dates.
    let cart = json!({"ship_to": {"postal_code": "10001", "country": "US"},
                      "lines": [{"id": "1", "sku": "SKU-00001", "qty": 1}], "at": "2026-12-02T15:00:00Z"});
    let (status, promised) = send(&agent, "POST", &format!("{base}/v1/promise"), "demo-reader", Some(&cart)).unwrap();
    assert_eq!(status, 200, "{promised}");
    let options = promised["options"].as_array().unwrap();
    assert_eq!(options.len(), 3, "{promised}");
    assert!(options.iter().all(|o| o["available"] == true), "{promised}");
    let days: Vec<&str> = options.iter().map(|o| o["delivery_date"].as_str().unwrap()).collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]) && days[0] > "2026-12-02", "{days:?}");
    // A count sets one position to 3 units.
    let level = json!({"levels": [{"sku": "SKU-00001", "location": location, "on_hand": 3}]});
    assert_eq!(send(&agent, "POST", &format!("{base}/v1/inventory"), "demo-writer", Some(&level)).unwrap().0, 204);

    // A client holds a connection open with half a request: SIGTERM still stops the server.
    let address = base.trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(&mut slow, b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        .unwrap();
    let terminated = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(terminated.success());
    let mut stopped = None;
    for _ in 0..300 {
        if let Some(status) = server.try_wait().unwrap() {
            stopped = Some(status);
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    if stopped.is_none() {
        server.kill().ok();
        panic!("the server did not stop within 30 s of SIGTERM");
    }

    // The demo again on the same store: nothing is seeded again.
    let (mut again, base) = start(&args);
    let after = atp_of(&base);
    let position = after["locations"].as_array().unwrap().iter().find(|p| p["location"] == location.as_str()).unwrap();
    assert_eq!(position["on_hand"], 3, "the counted level survived the demo's restart: {after}");
    again.kill().ok();
    again.wait().ok();
}

/// A core module of one function with 100,000 locals: valid WebAssembly, costly to compile.
fn compile_bomb() -> Vec<u8> {
    let leb = |mut n: u32| {
        let mut out = Vec::new();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                return out;
            }
        }
    };
    let body = [vec![1u8], leb(100_000), vec![0x7e, 0x0b]].concat(); // one group of i64 locals; end
    let code = [vec![1u8], leb(body.len() as u32), body].concat();
    let section = |id: u8, payload: Vec<u8>| [vec![id], leb(payload.len() as u32), payload].concat();
    [
        b"\0asm\x01\0\0\0".to_vec(),
        section(1, vec![1, 0x60, 0, 0]), // one type: () -> ()
        section(3, vec![1, 0]),          // one function of it
        section(10, code),
    ]
    .concat()
}

// `POST /v1/plugins?name=NAME` with the demo admin token: the status and the JSON body.
fn upload_plugin(agent: &ureq::Agent, base: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let result = agent
        .post(&format!("{base}/v1/plugins?name={name}"))
        .set("Authorization", "Bearer demo-admin")
        .set("Content-Type", "application/wasm")
        .send_bytes(bytes);
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{error}"),
    };
    (response.status(), serde_json::from_str(&response.into_string().unwrap()).unwrap())
}

#[test]
fn plugin_uploads_compile_in_a_worker_and_a_restart_loads_them_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap().to_owned();
    let (mut server, base) = start(&["serve", "--demo", "--listen", "127.0.0.1:0", "--data", &data]);
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
    let upload = |base: &str, name: &str, bytes: &[u8]| upload_plugin(&agent, base, name, bytes);
    // A compile bomb is refused before it is compiled, naming the cap.
    let (status, body) = upload(&base, "bomb", &compile_bomb());
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_plugin");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("100000 locals, more than the limit of 5000"),
        "{body}"
    );
    // A real plugin compiles in the worker; its artifact is kept.
    let reference = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/target/plugins/plugin_reference.wasm"))
        .expect("run scripts/build-plugins first");
    let (status, body) = upload(&base, "wasm-reference", &reference);
    assert_eq!(status, 201, "{body}");
    let version = body["version"].as_str().unwrap().to_owned();
    let artifacts = std::path::Path::new(&data).join("plugin-artifacts");
    assert_eq!(std::fs::read_dir(&artifacts).unwrap().count(), 1);
    server.kill().ok();
    server.wait().ok();

    // Restarted with a compile worker that cannot run: the plugin is loaded from its artifact.
    let config = dir.path().join("switchyard.toml");
    std::fs::write(&config, "plugin_compile_worker = [\"/nonexistent/compiler\"]\n").unwrap();
    let config = config.to_str().unwrap();
    let (mut again, base) = start(&["serve", "--demo", "--listen", "127.0.0.1:0", "--data", &data, "--config", config]);
    let bind = json!({"version": version});
    let (status, body) =
        send(&agent, "PUT", &format!("{base}/v1/bindings/default"), "demo-admin", Some(&bind)).unwrap();
    assert_eq!(status, 200, "{body}");
    let order = json!({"id": "W-1", "channel": "web", "ship_to": {"lat": 40.7, "lon": -74.0},
        "lines": [{"id": "1", "sku": "SKU-00001", "qty": 1}]});
    let (status, body) = send(&agent, "POST", &format!("{base}/v1/orders"), "demo-writer", Some(&order)).unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(body["plan"]["policy"].as_str().unwrap().starts_with("wasm-reference@"), "{body}");
    let metrics = agent.get(&format!("{base}/metrics")).set("Authorization", "Bearer demo-reader").call().unwrap();
    let metrics = metrics.into_string().unwrap();
    assert!(metrics.contains("switchyard_unreadable_records 0"), "{metrics}");
    // A new plugin must compile, and the worker cannot: a fault of the host, not the upload.
    let nearest = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/target/plugins/plugin_nearest.wasm")).unwrap();
    let (status, body) = upload(&base, "nearest", &nearest);
    assert_eq!(status, 500, "{body}");
    again.kill().ok();
    again.wait().ok();
}

// A TypeScript plugin over HTTP, as a merchant ships one: uploaded (12 MB, compiled in the
// worker within its budget, which the upload's longer time limit waits for), bound to the
// default group, and routing an order with the native plan; a restart loads it compiled.
#[test]
fn a_typescript_plugin_is_uploaded_bound_and_routes_orders_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap().to_owned();
    let (mut server, base) = start(&["serve", "--demo", "--listen", "127.0.0.1:0", "--data", &data]);
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(300)).build();
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/target/plugins/plugin_js_reference.wasm"))
        .expect("run scripts/build-plugins first");
    let (status, body) = upload_plugin(&agent, &base, "ts-reference", &bytes);
    assert_eq!(status, 201, "{body}");
    let version = body["version"].as_str().unwrap().to_owned();
    let order = |id: &str| {
        json!({"id": id, "channel": "web", "ship_to": {"lat": 40.7, "lon": -74.0},
            "lines": [{"id": "1", "sku": "SKU-00001", "qty": 1}]})
    };
    // The native reference policy's plan for the same order, before the plugin is bound.
    let (status, native) =
        send(&agent, "POST", &format!("{base}/v1/orders/route"), "demo-writer", Some(&order("N-1"))).unwrap();
    assert_eq!(status, 200, "{native}");
    let (status, body) =
        send(&agent, "PUT", &format!("{base}/v1/bindings/default"), "demo-admin", Some(&json!({"version": version})))
            .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        send(&agent, "POST", &format!("{base}/v1/orders"), "demo-writer", Some(&order("TS-1"))).unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(body["plan"]["policy"].as_str().unwrap().starts_with("ts-reference@"), "{body}");
    assert_eq!(body["plan"]["shipments"], native["plan"]["shipments"], "{body}\n{native}");
    server.kill().ok();
    server.wait().ok();

    // Restarted: the plugin is loaded from its compiled artifact and still routes.
    let (mut again, base) = start(&["serve", "--demo", "--listen", "127.0.0.1:0", "--data", &data]);
    let (status, body) =
        send(&agent, "POST", &format!("{base}/v1/orders"), "demo-writer", Some(&order("TS-2"))).unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(body["plan"]["policy"].as_str().unwrap().starts_with("ts-reference@"), "{body}");
    again.kill().ok();
    again.wait().ok();
}

// A binding sets a plugin's parameters (declared by the plugin, shown on its version): the
// plugin routes with them, wrong values are refused naming the field, and they survive a
// restart. The Rust reference plugin with an unfilled unit priced at $1 leaves a unit unfilled
// rather than pay ~$10 to ship it.
#[test]
fn a_binding_sets_a_plugins_parameters_and_they_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap().to_owned();
    let (mut server, base) = start(&["serve", "--demo", "--listen", "127.0.0.1:0", "--data", &data]);
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/target/plugins/plugin_reference.wasm"))
        .expect("run scripts/build-plugins first");
    let (status, body) = upload_plugin(&agent, &base, "reference", &bytes);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["parameters"][0],
        json!({"name": "max_shipments", "description": "Most shipments an order may split into", "type": "integer", "default": 3}),
        "{body}"
    );
    let version = body["version"].as_str().unwrap().to_owned();
    let bind =
        |body: Value| send(&agent, "PUT", &format!("{base}/v1/bindings/default"), "demo-admin", Some(&body)).unwrap();
    for (parameters, needle) in [
        (json!({"unfilled": 1}), "`unfilled`: the plugin has no such parameter"),
        (json!({"unfilled_penalty": "1"}), "`unfilled_penalty`: expected a number, got a text"),
        (json!({"max_shipments": 1.5}), "`max_shipments`: expected a whole number, got the number 1.5"),
    ] {
        let (status, body) = bind(json!({"version": version, "parameters": parameters}));
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{body}");
        assert_eq!(body["error"]["field"], "parameters", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(needle), "{body}");
    }
    // Not a value at all: the body is malformed, and the field is named.
    let (status, body) = bind(json!({"version": version, "parameters": {"unfilled_penalty": [1]}}));
    assert_eq!((status, &body["error"]["field"]), (400, &json!("parameters.unfilled_penalty")), "{body}");
    // The demo's policy (the policy language) takes none here: its `param`s are in its source.
    let (_, bindings) = send(&agent, "GET", &format!("{base}/v1/bindings"), "demo-admin", None).unwrap();
    let policy = bindings["bindings"][0]["version"].clone();
    let (status, body) = bind(json!({"version": policy, "parameters": {"x": 1}}));
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("is a policy"), "{body}");
    let order = json!({"id": "P-1", "channel": "web", "ship_to": {"lat": 40.7, "lon": -74.0},
        "lines": [{"id": "1", "sku": "SKU-00001", "qty": 1}]});
    let route = || {
        let (status, body) =
            send(&agent, "POST", &format!("{base}/v1/orders/route"), "demo-writer", Some(&order)).unwrap();
        assert_eq!(status, 200, "{body}");
        body
    };
    let (status, body) = bind(json!({"version": version}));
    assert_eq!(status, 200, "{body}");
    let shipped = route();
    assert_eq!(shipped["plan"]["shipments"].as_array().unwrap().len(), 1, "{shipped}");
    let (status, body) = bind(json!({"version": version, "parameters": {"unfilled_penalty": 1}}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["parameters"], json!({"unfilled_penalty": 1}), "{body}");
    let unfilled = route();
    assert_eq!(unfilled["plan"]["shipments"], json!([]), "{unfilled}");
    assert_eq!(unfilled["plan"]["cost"]["unfilled_penalty"], 1.0, "{unfilled}");
    server.kill().ok();
    server.wait().ok();

    // Restarted: the binding and its values are read back from the store.
    let (mut again, base) = start(&["serve", "--demo", "--listen", "127.0.0.1:0", "--data", &data]);
    let (status, bindings) = send(&agent, "GET", &format!("{base}/v1/bindings"), "demo-admin", None).unwrap();
    assert_eq!(status, 200, "{bindings}");
    assert_eq!(bindings["bindings"][0]["parameters"], json!({"unfilled_penalty": 1}), "{bindings}");
    let (status, body) = send(&agent, "POST", &format!("{base}/v1/orders/route"), "demo-writer", Some(&order)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plan"]["shipments"], json!([]), "{body}");
    // A rollback returns to the same plugin with its defaults, the binding before.
    let (status, body) =
        send(&agent, "POST", &format!("{base}/v1/bindings/default/rollback"), "demo-admin", None).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], version.as_str(), "{body}");
    assert!(body.get("parameters").is_none(), "{body}");
    again.kill().ok();
    again.wait().ok();
}

// Three instances serving one PostgreSQL store together (`--shared`); clients stream orders to
// all three and one is killed with SIGKILL in the middle: every order it acknowledged is
// served, unchanged, by the other two, its clients go on with them, and the background work
// it ran (it started first, so it claimed the expiry) is taken over: every reservation made
// on any instance lapses, and no unit stays reserved.
#[test]
fn three_shared_instances_survive_one_killed_and_take_its_work_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("switchyard.toml"), CONFIG.replace("3600", "4")).unwrap();
    let instance = |n: usize, demo: bool| {
        // A data directory of its own for each (the plugin cache).
        let mut args = args_in(dir.path(), &format!("data-{n}"), postgres_args(dir.path()));
        args.push("--shared".into());
        if demo {
            args.push("--demo".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        start(&args)
    };
    let (mut first, first_base) = instance(0, true);
    // It claims the background work at its first tick, before the others start.
    thread::sleep(Duration::from_millis(1500));
    let (second, second_base) = instance(1, false);
    let (third, third_base) = instance(2, false);
    let bases = Arc::new([first_base, second_base, third_base]);

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|client| {
            let (bases, stop) = (Arc::clone(&bases), Arc::clone(&stop));
            thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
                let mut target = client % 3;
                let (mut acknowledged, mut unknown) = (Vec::new(), Vec::new());
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) || n >= 400 {
                        break;
                    }
                    let order = json!({"id": format!("K-{client}-{n}"), "channel": "web", "ship_to": {"lat": 40.7, "lon": -74.0},
                        "lines": [{"id": "1", "sku": format!("SKU-{:05}", 1 + n % 5), "qty": 1}]});
                    match send(&agent, "POST", &format!("{}/v1/orders", bases[target]), "demo-writer", Some(&order)) {
                        Ok((201, body)) => acknowledged.push((target, body)),
                        Ok((status, body)) => assert!(status < 500, "{status}: {body}"),
                        // The instance is gone: the order may or may not be there; go on with
                        // another one.
                        Err(_) => {
                            unknown.push(order["id"].as_str().unwrap().to_owned());
                            target = 1 + client % 2;
                        }
                    }
                }
                (acknowledged, unknown)
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(1500));
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    let mut unknown = Vec::new();
    for client in clients {
        let (a, u) = client.join().unwrap();
        acknowledged.extend(a);
        unknown.extend(u);
    }
    let by_first = acknowledged.iter().filter(|(target, _)| *target == 0).count();
    assert!(by_first >= 10, "the killed instance acknowledged orders first ({by_first})");
    assert!(acknowledged.len() > by_first, "the others took orders too");
    eprintln!("{} acknowledged ({by_first} by the killed instance), {} in flight", acknowledged.len(), unknown.len());

    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
    // Every acknowledged order is served by the survivors as it was acknowledged (or as it
    // became since: its reservation lapsed).
    for (n, (_, order)) in acknowledged.iter().enumerate() {
        let id = order["id"].as_str().unwrap();
        let base = &bases[1 + n % 2];
        let (status, stored) = send(&agent, "GET", &format!("{base}/v1/orders/{id}"), "demo-reader", None).unwrap();
        assert_eq!(status, 200, "acknowledged order {id} is lost");
        assert_eq!(stored["plan"], order["plan"], "order {id}'s plan changed across the kill");
    }
    // The expiry the killed instance ran is taken over: every reservation lapses (4 s), and on
    // every instance's picture no unit stays reserved.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    for (n, (_, order)) in acknowledged.iter().enumerate() {
        let id = order["id"].as_str().unwrap();
        let base = &bases[1 + n % 2];
        loop {
            let (_, stored) = send(&agent, "GET", &format!("{base}/v1/orders/{id}"), "demo-reader", None).unwrap();
            if stored["status"] != "reserved" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "order {id} never expired: {stored}");
            thread::sleep(Duration::from_millis(200));
        }
    }
    for base in &bases[1..] {
        loop {
            let reserved: u64 = (1..=5)
                .map(|sku| {
                    let url = format!("{base}/v1/inventory/SKU-{sku:05}");
                    let (_, atp) = send(&agent, "GET", &url, "demo-reader", None).unwrap();
                    atp["locations"].as_array().unwrap().iter().map(|p| p["reserved"].as_u64().unwrap()).sum::<u64>()
                })
                .sum();
            if reserved == 0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{base} still counts {reserved} units reserved");
            thread::sleep(Duration::from_millis(200));
        }
    }
    for mut survivor in [second, third] {
        survivor.kill().ok();
        survivor.wait().ok();
    }
}
