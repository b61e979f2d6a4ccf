//! The console (`/console`) in a real browser: Debian's Chromium, headless, driven over
//! WebDriver (Debian's chromedriver) by fantoccini, against the service on a real socket.
//! It signs in with the keyboard, types a policy with a mistake and sees the diagnostic at
//! its line, fixes it, routes a sample order and reads the chosen and the excluded location
//! from the explanation table and the map, saves and activates the version and sees the
//! binding change through the API, rejects a shipment of an order and reads why it ships from
//! where it does now, and looks at stock. On
//! every screen axe-core (npm, `host/tests/console/`) reports no serious violation; at 390 px
//! nothing scrolls sideways. Screenshots of each screen go to
//! `$CARGO_TARGET_TMPDIR/console-screenshots/`.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use switchyard_host::Service;

use crate::support::*;

// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

async fn start_driver() -> Driver {
    let chromedriver = on_path("chromedriver").expect(
        "chromedriver is not installed: scripts/test installs Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver)",
    );
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver
}

async fn browser(driver: &Driver) -> Client {
    let chromium = on_path("chromium").expect("Debian's chromium is not installed (scripts/test installs it)");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--lang=en-US"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut started = ClientBuilder::new(connector);
    started.capabilities(capabilities);
    started.connect(&driver.url).await.expect("a Chromium session")
}

// Waits for an element matching `css`, at most 15 s.
async fn element(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` within 15 s: {e}"))
}

// Waits until the JavaScript expression `condition` is true in the page, at most 15 s.
async fn until(client: &Client, what: &str, condition: &str) {
    let started = Instant::now();
    loop {
        let holds = client.execute(&format!("return Boolean({condition});"), Vec::new()).await.unwrap();
        if holds == Value::Bool(true) {
            return;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let status = client
                .execute("return document.getElementById('status').textContent;", Vec::new())
                .await
                .unwrap_or_default();
            panic!("{what}: not within 15 s (the console says {status})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

// axe-core's serious and critical violations on the page as it is.
async fn accessibility_violations(client: &Client) -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/console/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{path} is missing: run `npm ci --prefix host/tests/console` (scripts/test does)"));
    client.execute(&axe, Vec::new()).await.unwrap();
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then((results) => done(results.violations
                 .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                 .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.map((n) => n.target.join(' ')) }))));",
            Vec::new(),
        )
        .await
        .unwrap();
    found.as_array().cloned().unwrap_or_default()
}

async fn assert_accessible(client: &Client, screen: &str) {
    let violations = accessibility_violations(client).await;
    assert!(violations.is_empty(), "{screen}: serious accessibility violations: {:#}", Value::from(violations.clone()));
}

async fn text_of(client: &Client, css: &str) -> String {
    element(client, css).await.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_end_to_end_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(config(dir.path(), 900)).await.unwrap();
    seed(&service).await;
    let app = switchyard_host::app(Arc::clone(&service));
    let placed = post(&app, "/v1/orders", WRITER, &order("web-1", "SKU-A", 2)).await;
    assert_eq!(placed.body["held_units"][0]["location"], "DC-EAST", "{}", placed.body);
    // A candidate for the apparel group's shadow run (a $4 surcharge on DC shipments).
    let store_first = include_str!("../../../examples/policies/store-first.policy");
    let uploaded =
        call(&app, axum::http::Method::POST, "/v1/policies?name=store-first", Some(ADMIN), store_first).await;
    let candidate = uploaded.body["version"].as_str().unwrap().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(switchyard_host::serve(Arc::clone(&service), listener));

    // The page is served with a policy that allows this origin's scripts only.
    let page = reqwest::get(format!("{base}/console")).await.unwrap();
    let csp = page.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!page.text().await.unwrap().contains("<script>"), "no inline script");

    let driver = start_driver().await;
    let client = browser(&driver).await;
    client.goto(&format!("{base}/console")).await.unwrap();

    // Sign in with the keyboard alone: the token field has the focus, Enter submits.
    until(&client, "the token field has the focus", "document.activeElement.id === 'token'").await;
    element(&client, "#token").await.send_keys(&format!("{ADMIN}\n")).await.unwrap();
    element(&client, "#nav:not([hidden])").await;
    assert!(text_of(&client, "#signed-in").await.ends_with("(admin)"));
    let url = client.current_url().await.unwrap();
    assert!(!url.as_str().contains(ADMIN), "the token is never in a URL: {url}");
    until(
        &client,
        "the live policy is in the editor",
        "document.getElementById('policy-source').value.includes('policy reference')",
    )
    .await;
    assert_accessible(&client, "playground").await;
    screenshot(&client, "playground").await;

    // A policy with a misspelt field: the checker, as you type, names its line.
    let line = REFERENCE.lines().position(|l| l.contains("item.weight_kg")).unwrap() + 1;
    let edited = REFERENCE.replace("policy reference v1", "policy console v1").replace("$2.00", "$3.00");
    let broken = edited.replace("item.weight_kg", "item.wieght_kg");
    let editor = element(&client, "#policy-source").await;
    editor.clear().await.unwrap();
    editor.send_keys(&broken).await.unwrap();
    let diagnostic = element(&client, &format!("#diagnostics li.error[data-line='{line}']")).await;
    let message = diagnostic.text().await.unwrap();
    assert!(message.contains(&format!("line {line}")) && message.contains("wieght_kg"), "{message}");
    element(&client, &format!("#gutter span.error[data-line='{line}']")).await;
    assert!(text_of(&client, "#check-status").await.contains("error"));
    screenshot(&client, "playground-diagnostic").await;

    // Fixed, it compiles; a sample order of hazmat SKU-C routed with it.
    editor.clear().await.unwrap();
    editor.send_keys(&edited).await.unwrap();
    until(
        &client,
        "the fixed policy compiles",
        "document.getElementById('check-status').textContent.includes('compiles')",
    )
    .await;
    // The customer placed by postal code: Los Angeles, found by the server.
    let postal = element(&client, "#ship-postal").await;
    postal.clear().await.unwrap();
    postal.send_keys("90012").await.unwrap();
    element(&client, "#ship-find").await.click().await.unwrap();
    until(
        &client,
        "the postal code is found",
        "document.getElementById('ship-place').textContent === 'Los Angeles, CA'",
    )
    .await;
    let lat: f64 = element(&client, "#ship-lat").await.prop("value").await.unwrap().unwrap().parse().unwrap();
    assert!((lat - 34.06).abs() < 0.1, "{lat}");
    let sku = element(&client, ".line-sku").await;
    sku.clear().await.unwrap();
    sku.send_keys("SKU-C").await.unwrap();
    element(&client, "#route").await.click().await.unwrap();
    let chosen = element(&client, "#tried-result table.explanation tr[data-status='chosen']").await;
    assert_eq!(chosen.attr("data-location").await.unwrap().as_deref(), Some("DC-EAST"));
    let excluded = element(&client, "#tried-result tr[data-status='excluded']").await;
    assert_eq!(excluded.attr("data-location").await.unwrap().as_deref(), Some("DC-WEST"));
    assert!(excluded.text().await.unwrap().contains("hazmat"));
    element(&client, "#live-result table.explanation tr[data-status='chosen']").await;
    assert!(text_of(&client, "#tried-result").await.contains("console@"));
    element(&client, "#map-pane svg circle.location.chosen[data-location='DC-EAST']").await;
    let greyed = element(&client, "#map-pane svg circle.location.excluded[data-location='DC-WEST'] title").await;
    let why = greyed.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(why.contains("hazmat"), "{why}");
    assert_accessible(&client, "playground with a plan").await;
    client.execute("document.getElementById('map-pane').scrollIntoView();", Vec::new()).await.unwrap();
    screenshot(&client, "playground-map").await;
    client.execute("document.getElementById('tried').scrollIntoView();", Vec::new()).await.unwrap();
    screenshot(&client, "playground-routed").await;

    // Saved and activated: the API routes the default group with it.
    element(&client, "#save").await.click().await.unwrap();
    until(&client, "saved", "document.getElementById('saved-version').textContent.startsWith('Saved')").await;
    element(&client, "#activate:not([disabled])").await.click().await.unwrap();
    element(&client, "#confirm-dialog[open]").await;
    element(&client, "#confirm-yes").await.click().await.unwrap();
    until(&client, "activated", "document.getElementById('status').textContent.includes('now routes with')").await;
    let bindings = get(&app, "/v1/bindings", READER).await.body;
    let default = bindings["bindings"].as_array().unwrap().iter().find(|b| b["group"] == "default").unwrap().clone();
    let versions = get(&app, "/v1/policies", READER).await.body;
    let bound = versions["versions"].as_array().unwrap().iter().find(|v| v["version"] == default["version"]).unwrap();
    assert_eq!(bound["name"], "playground", "{bindings}");

    // Bindings: the new version live, with its history.
    element(&client, "a[href='#bindings']").await.click().await.unwrap();
    let row = element(&client, "#bindings-table tr[data-group='default'] .binding-version").await;
    assert!(row.text().await.unwrap().starts_with("playground"));
    until(
        &client,
        "the history lists both versions",
        "document.querySelectorAll('#history-table tbody tr').length >= 2",
    )
    .await;
    // A shadow run of the apparel group: started here, two orders placed, their differences
    // listed in a table whose rows open the order.
    let apparel = json!({"version": default["version"]}).to_string();
    let bound = call(&app, axum::http::Method::PUT, "/v1/bindings/apparel", Some(ADMIN), apparel).await;
    assert_eq!(bound.status, 200, "{}", bound.body);
    let group = element(&client, "#shadow-group").await;
    group.clear().await.unwrap();
    group.send_keys("apparel").await.unwrap();
    element(&client, "#shadow-version").await.select_by_value(&candidate).await.unwrap();
    element(&client, "#shadow-start").await.click().await.unwrap();
    until(
        &client,
        "the shadow run started",
        "document.getElementById('shadow-summary').textContent.includes('0 orders compared')",
    )
    .await;
    for id in ["shadowed-1", "shadowed-2"] {
        assert_eq!(post(&app, "/v1/orders", WRITER, &order(id, "SKU-A", 1)).await.status, 201);
    }
    element(&client, "#shadow-show").await.click().await.unwrap();
    until(&client, "both orders differ", "document.querySelectorAll('#shadow-differences tbody tr').length === 2")
        .await;
    element(&client, "#shadow-summary svg.bars").await;
    assert_accessible(&client, "bindings").await;
    screenshot(&client, "bindings").await;
    element(&client, "#shadow-differences tbody tr:first-child button").await.click().await.unwrap();
    until(
        &client,
        "the differing order opens",
        "document.querySelector('#order-detail h3')?.textContent === 'Order shadowed-1'",
    )
    .await;
    element(&client, "a[href='#bindings']").await.click().await.unwrap();
    element(&client, "#shadow-stop").await.click().await.unwrap();
    until(&client, "the shadow run stopped", "document.getElementById('status').textContent.includes('stopped')").await;

    // Orders: found by status, opened from the list; DC-EAST cannot ship web-1: rejected
    // here, its units are routed again.
    element(&client, "a[href='#orders']").await.click().await.unwrap();
    let status = element(&client, "#list-status").await;
    status.select_by_value("reserved").await.unwrap();
    element(&client, "#list-orders").await.click().await.unwrap();
    element(&client, "#order-list tr[data-order='web-1'] button").await.click().await.unwrap();
    until(&client, "web-1 opens", "document.querySelector('#order-detail h3')?.textContent === 'Order web-1'").await;
    let reject = element(&client, "#shipments-table tr[data-location='DC-EAST'] button:last-child").await;
    assert_eq!(reject.text().await.unwrap(), "Reject at DC-EAST");
    assert_accessible(&client, "an order").await;
    reject.click().await.unwrap();
    element(&client, "#confirm-dialog[open]").await;
    element(&client, "#confirm-yes").await.click().await.unwrap();
    until(&client, "rejected", "document.querySelector('#shipments-table tr[data-location=\"DC-WEST\"]') !== null")
        .await;
    until(
        &client,
        "the list follows the order",
        "document.querySelector('#order-list tr[data-order=\"web-1\"]').textContent.includes('DC-WEST')",
    )
    .await;
    let routed_again = get(&app, "/v1/orders/web-1", READER).await.body;
    assert_eq!(routed_again["held_units"][0]["location"], "DC-WEST", "{routed_again}");
    // Why it ships from there: both routings kept, the second with DC-EAST excluded for its
    // rejection, and DC-WEST chosen on the map.
    until(&client, "both routings are explained", "document.querySelectorAll('#order-why h5').length === 2").await;
    let second = "#order-why [aria-label='Candidates for line 1 (routing 2)']";
    let excluded = element(&client, &format!("{second} tr[data-location='DC-EAST'][data-status='excluded']")).await;
    assert!(excluded.text().await.unwrap().contains("rejected"));
    element(&client, &format!("{second} tr[data-location='DC-WEST'][data-status='chosen']")).await;
    element(&client, "#order-why svg circle.location.chosen[data-location='DC-WEST']").await;
    assert_accessible(&client, "an order and why").await;
    screenshot(&client, "order").await;
    client.execute("document.getElementById('order-why').scrollIntoView();", Vec::new()).await.unwrap();
    screenshot(&client, "order-why").await;

    // Inventory: SKU-A per location, and on the map.
    element(&client, "a[href='#inventory']").await.click().await.unwrap();
    element(&client, "#sku").await.send_keys("SKU-A\n").await.unwrap();
    let west = element(&client, "#atp-table tr[data-location='DC-WEST']").await;
    assert!(west.text().await.unwrap().contains('2'), "DC-WEST holds 2 of SKU-A for web-1 now");
    element(&client, "#atp-map svg circle.atp").await;
    assert_accessible(&client, "inventory").await;
    screenshot(&client, "inventory").await;

    // On a phone: the playground stacks its columns and nothing scrolls sideways.
    client.set_window_size(390, 844).await.unwrap();
    element(&client, "a[href='#playground']").await.click().await.unwrap();
    until(&client, "no sideways scrolling at 390 px", "document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    screenshot(&client, "phone").await;

    // A reader is not offered what it may not do.
    element(&client, "#sign-out").await.click().await.unwrap();
    element(&client, "#token").await.send_keys(&format!("{READER}\n")).await.unwrap();
    element(&client, "#nav:not([hidden])").await;
    let offered = client
        .execute("return [...document.querySelectorAll('.admin-only')].some((e) => !e.hidden);", Vec::new())
        .await
        .unwrap();
    assert_eq!(offered, Value::Bool(false), "a reader is offered no admin action");
    client.close().await.unwrap();
}
