// switchyard console: plain JavaScript over the HTTP API, no framework and no build step.
// The bearer token stays in this tab's sessionStorage and is sent in the Authorization
// header only (never in a URL). Everything shown comes from the API; nothing is rendered as
// HTML from data (text nodes and attributes only).
"use strict";

const ROLES = { reader: 0, writer: 1, admin: 2 };
const SAMPLE_DESTINATIONS = [
  { name: "New York, NY", lat: 40.7506, lon: -73.9972, postal: "10001" },
  { name: "Philadelphia, PA", lat: 39.95, lon: -75.17, postal: "19103" },
  { name: "Chicago, IL", lat: 41.8853, lon: -87.6216, postal: "60601" },
  { name: "Dallas, TX", lat: 32.7876, lon: -96.7994, postal: "75201" },
  { name: "Denver, CO", lat: 39.7392, lon: -104.9903, postal: "80202" },
  { name: "Los Angeles, CA", lat: 34.0614, lon: -118.2385, postal: "90012" },
  { name: "Seattle, WA", lat: 47.6101, lon: -122.3344, postal: "98101" },
];
const KEYWORDS = new Set(("policy applies to all groups group param bands table let exclude when and or not " +
  "shipment unit cost split short stock partial at tie break backorder within else prefer penalty up beyond " +
  "if then reject max_shipments priority distance true false in late delivery ship look ahead weight horizon history").split(" "));

const state = { role: null, name: null, locations: [], products: [], versions: [], savedVersion: null, checkTimer: null, checkSeq: 0 };

// --- Small helpers -------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

function say(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

function money(amount) {
  return typeof amount === "number" ? amount.toFixed(2) : "";
}

function may(role) {
  return state.role !== null && ROLES[state.role] >= ROLES[role];
}

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.field = error.field;
    this.diagnostics = error.diagnostics;
  }
}

async function api(method, path, body, { text = false } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem("switchyard-token") || ""}` };
  let payload;
  if (body !== undefined) {
    if (typeof body === "string") {
      headers["Content-Type"] = "text/plain";
      payload = body;
    } else {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
  }
  const response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
  const raw = await response.text();
  if (!response.ok) {
    let parsed = null;
    try { parsed = JSON.parse(raw); } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, parsed);
  }
  if (text) return raw;
  return raw ? JSON.parse(raw) : null;
}

function failed(error) {
  const where = error.field ? ` (${error.field})` : "";
  say(`${error.message}${where}`, true);
}

async function confirmed(question) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = question;
  return new Promise((resolve) => {
    const done = (answer) => {
      $("confirm-yes").removeEventListener("click", yes);
      $("confirm-no").removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    $("confirm-yes").addEventListener("click", yes);
    $("confirm-no").addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
    $("confirm-no").focus();
  });
}

// --- Signing in and screens ----------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem("switchyard-token", token);
  try {
    const session = await api("GET", "/v1/session");
    state.role = session.role;
    state.name = session.name;
  } catch (error) {
    sessionStorage.removeItem("switchyard-token");
    say(error.status === 401 ? "That token is not valid." : error.message, true);
    return false;
  }
  $("signed-in").textContent = `${state.name} (${state.role})`;
  $("sign-in-screen").hidden = true;
  $("nav").hidden = false;
  $("who").hidden = false;
  document.body.dataset.role = state.role;
  for (const node of document.querySelectorAll(".admin-only")) node.hidden = !may("admin");
  say(`Signed in as ${state.name}, ${state.role}.`);
  try {
    await loadReference();
  } catch (error) {
    failed(error);
  }
  $("destination").dispatchEvent(new Event("change"));
  show();
  return true;
}

function signOut() {
  sessionStorage.removeItem("switchyard-token");
  state.role = null;
  location.hash = "";
  location.reload();
}

function show() {
  const screens = ["playground", "bindings", "orders", "inventory"];
  let wanted = location.hash.replace("#", "") || "playground";
  if (!screens.includes(wanted)) wanted = "playground";
  for (const screen of screens) $(screen).hidden = screen !== wanted;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#${wanted}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (wanted === "bindings") loadBindings().catch(failed);
  if (wanted === "inventory") loadInbound().catch(failed);
}

async function loadReference() {
  const [locations, products, versions] = await Promise.all([
    api("GET", "/v1/locations"), api("GET", "/v1/products"), api("GET", "/v1/policies"),
  ]);
  state.locations = locations.locations;
  state.products = products.products;
  state.versions = versions.versions;
  const skus = $("skus");
  skus.replaceChildren(...state.products.map((p) => el("option", { value: p.sku })));
  fillVersionSelects();
  const start = $("start-from");
  const bindings = await api("GET", "/v1/bindings");
  start.replaceChildren(el("option", { value: "", text: "an empty policy" }),
    ...bindings.bindings.map((b) => el("option", { value: b.version, text: `${b.group}: ${versionName(b.version)}` })));
  if (bindings.bindings.length > 0 && !$("policy-source").value) {
    start.value = bindings.bindings[0].version;
    await loadSource();
  }
  if ($("lines").tBodies[0].rows.length === 0 && state.products.length > 0) addLine(state.products[0].sku, 1);
}

function versionName(version) {
  const found = state.versions.find((v) => v.version === version);
  return found ? `${found.name} (${version.slice(0, 8)})` : version.slice(0, 12);
}

function fillVersionSelects() {
  for (const id of ["bind-version", "shadow-version"]) {
    const select = $(id);
    select.replaceChildren(...state.versions.slice().reverse().map((v) =>
      el("option", { value: v.version, text: `${v.name} ${v.version.slice(0, 8)} (${v.kind})` })));
  }
}

// --- Playground: the editor ----------------------------------------------------------------

function escapeText(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// Colours one line of the policy language (comments, strings, money, numbers, keywords).
function highlightLine(line) {
  const pattern = /(#.*$)|("(?:[^"\\]|\\.)*"?)|(\$[0-9][0-9_]*(?:\.[0-9]+)?)|(\b[0-9]+(?:\.[0-9]+)?(?:d|h|m|s|km|kg)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;
  let out = "";
  let last = 0;
  for (const match of line.matchAll(pattern)) {
    out += escapeText(line.slice(last, match.index));
    const [text, comment, string, cash, number, word] = match;
    const kind = comment ? "comment" : string ? "string" : cash ? "money" : number ? "number"
      : word && KEYWORDS.has(word) ? "keyword" : null;
    out += kind ? `<span class="tok-${kind}">${escapeText(text)}</span>` : escapeText(text);
    last = match.index + text.length;
  }
  return out + escapeText(line.slice(last));
}

let diagnosticsByLine = new Map();

function renderEditor() {
  const source = $("policy-source").value;
  const lines = source.split("\n");
  // The highlighted copy is built from escaped text only.
  $("highlight").innerHTML = lines.map(highlightLine).join("\n") + "\n";
  const gutter = $("gutter");
  gutter.replaceChildren(...lines.map((_, index) => {
    const level = diagnosticsByLine.get(index + 1);
    return el("span", { class: level || null, "data-line": index + 1, text: `${index + 1}\n` });
  }));
  syncScroll();
}

function syncScroll() {
  const area = $("policy-source");
  $("highlight").scrollTop = area.scrollTop;
  $("highlight").scrollLeft = area.scrollLeft;
  $("gutter").scrollTop = area.scrollTop;
}

function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(() => check().catch(failed), 300);
}

async function check() {
  const seq = ++state.checkSeq;
  const source = $("policy-source").value;
  const status = $("check-status");
  if (!source.trim()) {
    showDiagnostics([]);
    status.textContent = "";
    return;
  }
  const result = await api("POST", "/v1/policies/check", source);
  if (seq !== state.checkSeq) return; // a newer check is on its way
  showDiagnostics(result.diagnostics);
  const errors = result.diagnostics.filter((d) => d.level === "error").length;
  const warnings = result.diagnostics.length - errors;
  status.className = `check ${result.valid ? "ok" : "bad"}`;
  status.textContent = result.valid
    ? `The policy compiles${warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}.`
    : `${errors} error${errors > 1 ? "s" : ""}: see the list below the editor.`;
  $("save").disabled = !result.valid;
}

function showDiagnostics(diagnostics) {
  diagnosticsByLine = new Map();
  for (const d of diagnostics) {
    if (d.level === "error" || !diagnosticsByLine.has(d.line)) diagnosticsByLine.set(d.line, d.level);
  }
  $("diagnostics").replaceChildren(...diagnostics.map((d) => el("li", { class: d.level, "data-line": d.line, "data-column": d.column },
    el("button", { type: "button", onclick: () => goTo(d.line, d.column) },
      el("strong", { text: `${d.level} at line ${d.line}, column ${d.column}` }), ": ", d.message,
      d.help ? el("span", { class: "hint" }, ` (${d.help})`) : null))));
  renderEditor();
}

// Puts the caret at a line and column of the editor.
function goTo(line, column) {
  const area = $("policy-source");
  const lines = area.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, column - 1);
  area.focus();
  area.setSelectionRange(offset, offset);
}

async function loadSource() {
  const version = $("start-from").value;
  const area = $("policy-source");
  if (!version) {
    area.value = "";
  } else {
    try {
      area.value = await api("GET", `/v1/policies/${encodeURIComponent(version)}/source`, undefined, { text: true });
    } catch (error) {
      failed(error);
      return;
    }
  }
  renderEditor();
  scheduleCheck();
}

async function save() {
  const name = $("save-name").value.trim() || "playground";
  try {
    const meta = await api("POST", `/v1/policies?name=${encodeURIComponent(name)}`, $("policy-source").value);
    state.savedVersion = meta.version;
    $("saved-version").textContent = `Saved as version ${meta.version} (${meta.name}).`;
    $("activate").disabled = false;
    state.versions = (await api("GET", "/v1/policies")).versions;
    fillVersionSelects();
    say(`Saved version ${meta.version}.`);
  } catch (error) {
    if (error.diagnostics) showDiagnostics(error.diagnostics);
    failed(error);
  }
}

async function activateSaved() {
  const group = $("activate-group").value.trim() || "default";
  if (!state.savedVersion) return;
  if (!(await confirmed(`Route every order of group ${group} with version ${state.savedVersion.slice(0, 12)} from now on?`))) return;
  try {
    const bound = await api("PUT", `/v1/bindings/${encodeURIComponent(group)}`, { version: state.savedVersion });
    say(`Group ${bound.group} now routes with ${bound.version}.`);
  } catch (error) {
    failed(error);
  }
}

// --- Playground: the sample order and its plans ---------------------------------------------

function addLine(sku = "", qty = 1) {
  const body = $("lines").tBodies[0];
  const index = body.rows.length + 1;
  const skuInput = el("input", { class: "line-sku", list: "skus", value: sku, "aria-label": `SKU of line ${index}`, required: true });
  const qtyInput = el("input", { class: "line-qty", type: "number", min: 1, value: qty, "aria-label": `Units of line ${index}`, required: true });
  const row = el("tr", {},
    el("td", {}, skuInput),
    el("td", {}, qtyInput),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": `Remove line ${index}`, onclick: () => row.remove(), text: "Remove" })));
  body.append(row);
}

// Places the customer at a US postal code's centroid (the server knows every ZIP code).
async function lookUpPostalCode() {
  const code = $("ship-postal").value.trim();
  if (!code) return;
  try {
    const place = await api("GET", `/v1/postal-codes/US/${encodeURIComponent(code)}`);
    $("ship-lat").value = place.lat;
    $("ship-lon").value = place.lon;
    $("ship-postal").value = place.postal_code;
    $("destination").value = "";
    $("ship-place").textContent = `${place.city}, ${place.state}`;
    drawMap($("map-pane"), { lat: place.lat, lon: place.lon, postal_code: place.postal_code }, null, "The network and the customer");
  } catch (error) {
    $("ship-place").textContent = error.message;
  }
}

function sampleOrder() {
  const lat = Number($("ship-lat").value);
  const lon = Number($("ship-lon").value);
  const lines = [...$("lines").tBodies[0].rows].map((row, index) => ({
    id: String(index + 1),
    sku: row.querySelector(".line-sku").value.trim(),
    qty: Number(row.querySelector(".line-qty").value),
  }));
  return {
    id: `playground-${Date.now()}`,
    ship_to: { lat, lon, postal_code: $("ship-postal").value.trim(), country: "US" },
    lines,
  };
}

async function routeSample(event) {
  event.preventDefault();
  const order = sampleOrder();
  try {
    const trial = await api("POST", "/v1/policies/try", { source: $("policy-source").value, order });
    renderResult($("tried-result"), trial.tried);
    if (trial.live) renderResult($("live-result"), trial.live);
    else $("live-result").replaceChildren(el("p", { class: "hint", text: "No binding applies to this order." }));
    drawMap($("map-pane"), order.ship_to, trial.tried, "Where this policy ships the sample order from");
    say(`Routed: ${trial.tried.plan.status}, cost ${money(trial.tried.plan.cost.total)} ${trial.tried.plan.currency}.`);
  } catch (error) {
    if (error.diagnostics) showDiagnostics(error.diagnostics);
    failed(error);
  }
}

function renderResult(container, dryRun) {
  const plan = dryRun.plan;
  const cost = plan.cost;
  const summary = el("dl", {},
    el("dt", { text: "Outcome" }), el("dd", { text: plan.reason ? `${plan.status}: ${plan.reason}` : plan.status }),
    el("dt", { text: "Policy" }), el("dd", { text: plan.policy }),
    el("dt", { text: "Shipments" }), el("dd", { text: plan.shipments.map((s) =>
      `${s.location}: ${s.lines.map((l) => `${l.sku} x${l.qty}`).join(", ")}`).join("; ") || "none" }),
    el("dt", { text: "Cost" }), el("dd", { class: "cost", text:
      `${money(cost.total)} ${plan.currency} = shipments ${money(cost.shipments)} + units ${money(cost.units)}` +
      ` + split penalty ${money(cost.split_penalty)} + unfilled penalty ${money(cost.unfilled_penalty)}` }),
    el("dt", { text: "Proved cheapest" }), el("dd", { text: plan.optimal ? "yes" : "no" }));
  container.replaceChildren(summary, ...explanationTables(dryRun.lines));
}

// Per line, every candidate location and what became of it (a dry run's or a kept routing's).
function explanationTables(lines, label = "") {
  return lines.map((line) => el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `Candidates for line ${line.line_id}${label}` },
    el("table", { class: "explanation" },
      el("caption", { text: `Line ${line.line_id}: ${line.sku} x${line.qty}${line.unfilled ? `, ${line.unfilled} unfilled` : ""}` }),
      el("thead", {}, el("tr", {},
        ...["Location", "Status", "Why", "Units", "Unit cost", "Shipment cost", "Distance km", "ATP"].map((h, i) =>
          el("th", { scope: "col", class: i >= 3 ? "num" : null, text: h })))),
      el("tbody", {}, ...line.candidates.map((c) => el("tr", { "data-status": c.status, "data-location": c.location },
        el("td", { text: c.location }),
        el("td", { class: "status-cell", text: c.status.replace("_", " ") }),
        el("td", { text: c.rule || c.reason || (c.beaten_by && c.beaten_by.length ? `beaten by ${c.beaten_by.join(", ")}` : "") }),
        el("td", { class: "num", text: c.qty ?? "" }),
        el("td", { class: "num", text: money(c.unit_cost) }),
        el("td", { class: "num", text: money(c.shipment_cost) }),
        el("td", { class: "num", text: c.distance_km }),
        el("td", { class: "num", text: c.atp })))))));
}

// --- Maps: inline SVG from the locations' coordinates ----------------------------------------

const MAP = { width: 800, height: 420, pad: 24 };

function projection(points) {
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  const minLat = Math.min(...lats) - 1, maxLat = Math.max(...lats) + 1;
  const minLon = Math.min(...lons) - 1, maxLon = Math.max(...lons) + 1;
  // Longitude shrinks with latitude: scale x by the cosine of the middle latitude.
  const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const spanX = (maxLon - minLon) * k, spanY = maxLat - minLat;
  const scale = Math.min((MAP.width - 2 * MAP.pad) / spanX, (MAP.height - 2 * MAP.pad) / spanY);
  const offsetX = (MAP.width - spanX * scale) / 2, offsetY = (MAP.height - spanY * scale) / 2;
  return {
    x: (lon) => offsetX + (lon - minLon) * k * scale,
    y: (lat) => offsetY + (maxLat - lat) * scale,
    lon: (x) => minLon + (x - offsetX) / (k * scale),
    lat: (y) => maxLat - (y - offsetY) / scale,
  };
}

function drawMap(container, customer, dryRun, title) {
  const statusOf = new Map();
  const reasonOf = new Map();
  const rank = { chosen: 4, beaten: 3, no_stock: 2, blocked: 1, excluded: 0 };
  for (const line of (dryRun ? dryRun.lines : [])) {
    for (const c of line.candidates) {
      const before = statusOf.get(c.location);
      if (before === undefined || rank[c.status] > rank[before]) {
        statusOf.set(c.location, c.status);
        reasonOf.set(c.location, c.rule || c.reason || (c.beaten_by && c.beaten_by.length ? `beaten by ${c.beaten_by.join(", ")}` : ""));
      }
    }
  }
  const points = state.locations.map((l) => ({ lat: l.lat, lon: l.lon }));
  if (customer && Number.isFinite(customer.lat) && Number.isFinite(customer.lon)) points.push(customer);
  if (points.length === 0) {
    container.replaceChildren();
    return;
  }
  const p = projection(points);
  const shapes = [];
  const chosen = dryRun ? dryRun.plan.shipments.map((s) => s.location) : [];
  const interactive = container.id === "map-pane";
  for (const location of state.locations.filter((l) => chosen.includes(l.id))) {
    if (customer) shapes.push(svg("line", { class: "route", x1: p.x(location.lon), y1: p.y(location.lat), x2: p.x(customer.lon), y2: p.y(customer.lat) }));
  }
  for (const location of state.locations) {
    const status = statusOf.get(location.id) || "other";
    const why = reasonOf.get(location.id);
    shapes.push(svg("circle", { class: `location ${status}`, cx: p.x(location.lon), cy: p.y(location.lat), r: status === "chosen" ? 7 : 4.5, "data-location": location.id },
      svg("title", { text: `${location.id} (${location.kind})${status !== "other" ? `: ${status.replace("_", " ")}` : ""}${why ? `: ${why}` : ""}` })));
  }
  if (customer && Number.isFinite(customer.lat)) {
    const x = p.x(customer.lon), y = p.y(customer.lat);
    shapes.push(svg("path", { class: "customer", d: `M ${x} ${y - 9} L ${x + 8} ${y} L ${x} ${y + 9} L ${x - 8} ${y} Z` },
      svg("title", { text: `Customer ${customer.postal_code || ""} (${customer.lat.toFixed(3)}, ${customer.lon.toFixed(3)})` })));
  }
  const picture = svg("svg", { viewBox: `0 0 ${MAP.width} ${MAP.height}`, role: "img", "aria-label": title },
    svg("title", { text: title }), ...shapes);
  picture.addEventListener("click", (event) => {
    if (!interactive) return;
    const box = picture.getBoundingClientRect();
    const x = (event.clientX - box.left) * MAP.width / box.width;
    const y = (event.clientY - box.top) * MAP.height / box.height;
    $("ship-lat").value = p.lat(y).toFixed(4);
    $("ship-lon").value = p.lon(x).toFixed(4);
    $("ship-postal").value = "";
    $("ship-place").textContent = "a point on the map";
    $("destination").value = "";
    drawMap(container, { lat: p.lat(y), lon: p.lon(x) }, dryRun, title);
  });
  const legend = el("p", { class: "legend" }, `Green: ships; blue: priced and beaten; grey: excluded or blocked; red diamond: the customer. Hover a location for why.${interactive ? " Click the map to move the customer." : ""}`);
  container.replaceChildren(picture, legend);
}

// --- Bindings ------------------------------------------------------------------------------

async function loadBindings() {
  const [list, versions] = await Promise.all([api("GET", "/v1/bindings"), api("GET", "/v1/policies")]);
  state.versions = versions.versions;
  fillVersionSelects();
  $("bindings-table").tBodies[0].replaceChildren(...list.bindings.map((b) => el("tr", { "data-group": b.group },
    el("th", { scope: "row", text: b.group }),
    el("td", { class: "binding-version", text: versionName(b.version) }),
    el("td", { text: b.fallback ? versionName(b.fallback) : "none" }),
    el("td", { text: b.bound_at }),
    el("td", {}, may("admin") ? el("button", { type: "button", class: "secondary", onclick: () => rollback(b.group), text: `Roll back ${b.group}` }) : null))));
  $("history-table").tBodies[0].replaceChildren(...list.history.slice().reverse().map((b) => el("tr", {},
    el("td", { text: b.bound_at }), el("td", { text: b.group }), el("td", { text: versionName(b.version) }),
    el("td", { text: b.fallback ? versionName(b.fallback) : "" }))));
}

async function bind(event) {
  event.preventDefault();
  const group = $("bind-group").value.trim();
  const version = $("bind-version").value;
  if (!(await confirmed(`Route every order of group ${group} with ${versionName(version)} from now on?`))) return;
  try {
    await api("PUT", `/v1/bindings/${encodeURIComponent(group)}`, { version });
    say(`Group ${group} now routes with ${versionName(version)}.`);
    await loadBindings();
  } catch (error) { failed(error); }
}

async function rollback(group) {
  if (!(await confirmed(`Roll group ${group} back to its previous version?`))) return;
  try {
    const bound = await api("POST", `/v1/bindings/${encodeURIComponent(group)}/rollback`);
    say(`Group ${group} rolled back to ${versionName(bound.version)}.`);
    await loadBindings();
  } catch (error) { failed(error); }
}

async function shadowStart(event) {
  event.preventDefault();
  const group = $("shadow-group").value.trim();
  try {
    const summary = await api("PUT", `/v1/shadows/${encodeURIComponent(group)}`, { version: $("shadow-version").value });
    renderShadow(summary);
    say(`Shadowing group ${group} from the next order on.`);
  } catch (error) { failed(error); }
}

async function shadowStop() {
  const group = $("shadow-group").value.trim();
  try {
    const summary = await api("DELETE", `/v1/shadows/${encodeURIComponent(group)}`);
    if (summary) renderShadow(summary);
    say(`The shadow run on ${group} stopped.`);
  } catch (error) { failed(error); }
}

async function shadowShow() {
  const group = $("shadow-group").value.trim();
  try { renderShadow(await api("GET", `/v1/shadows/${encodeURIComponent(group)}`)); } catch (error) { failed(error); }
}

function bars(title, rows) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const height = rows.length * 28 + 10;
  return svg("svg", { class: "bars", viewBox: `0 0 420 ${height}`, role: "img", "aria-label": `${title}: ${rows.map((r) => `${r.label} ${r.text}`).join(", ")}` },
    ...rows.flatMap((r, i) => [
      svg("text", { x: 0, y: i * 28 + 20, text: r.label }),
      svg("rect", { class: r.kind, x: 90, y: i * 28 + 6, width: Math.max(1, 240 * r.value / max), height: 18 }),
      svg("text", { x: 96 + 240 * r.value / max, y: i * 28 + 20, text: r.text }),
    ]));
}

function renderShadow(summary) {
  const cost = [
    { label: "live", kind: "live", value: summary.live_cost, text: money(summary.live_cost) },
    { label: "shadow", kind: "shadow", value: summary.shadow_cost, text: money(summary.shadow_cost) },
    { label: "greedy", kind: "greedy", value: summary.greedy_cost, text: money(summary.greedy_cost) },
  ];
  const splits = [
    { label: "live", kind: "live", value: summary.live_shipments, text: String(summary.live_shipments) },
    { label: "shadow", kind: "shadow", value: summary.shadow_shipments, text: String(summary.shadow_shipments) },
  ];
  const unfilled = [
    { label: "live", kind: "live", value: summary.live_unfilled_units, text: String(summary.live_unfilled_units) },
    { label: "shadow", kind: "shadow", value: summary.shadow_unfilled_units, text: String(summary.shadow_unfilled_units) },
  ];
  $("shadow-summary").replaceChildren(
    el("p", { text: `${summary.version.slice(0, 12)} on ${summary.group} since ${summary.started_at}: ${summary.orders_compared} orders compared, ${summary.orders_differing} planned differently, ${summary.shadow_failures} failures.` }),
    el("div", { class: "charts" },
      el("figure", {}, el("figcaption", { text: `Cost (${summary.currency})` }), bars("Cost", cost)),
      el("figure", {}, el("figcaption", { text: "Shipments" }), bars("Shipments", splits)),
      el("figure", {}, el("figcaption", { text: "Units unfilled" }), bars("Units unfilled", unfilled))),
    el("h4", { text: "Orders that differ" }),
    summary.recent_differences.length === 0
      ? el("p", { class: "hint", text: "None yet." })
      : el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": "Orders that differ" },
        el("table", { id: "shadow-differences" },
          el("caption", { text: "Latest orders the shadow plans differently (newest last)" }),
          el("thead", {}, el("tr", {}, ...["Order", "Live ships from", `Live cost`, "Shadow ships from", "Shadow cost", "Difference"]
            .map((h, i) => el("th", { scope: "col", class: [2, 4, 5].includes(i) ? "num" : null, text: h })))),
          el("tbody", {}, ...summary.recent_differences.map((d) => el("tr", {},
            el("td", {}, el("button", { type: "button", class: "link", onclick: () => openOrderById(d.order_id), text: d.order_id })),
            el("td", { text: d.live_locations.join(", ") || "nothing" }),
            el("td", { class: "num", text: money(d.live_cost) }),
            el("td", { text: d.shadow_locations.join(", ") || "nothing" }),
            el("td", { class: "num", text: money(d.shadow_cost) }),
            el("td", { class: "num", text: `${d.shadow_cost >= d.live_cost ? "+" : ""}${money(d.shadow_cost - d.live_cost)}` })))))));
}

// --- Orders ----------------------------------------------------------------------------------

async function openOrder(event) {
  if (event) event.preventDefault();
  const id = $("order-id").value.trim();
  if (!id) return;
  try {
    renderOrder(await api("GET", `/v1/orders/${encodeURIComponent(id)}`));
  } catch (error) {
    $("order-detail").replaceChildren();
    failed(error);
  }
}

// Opens order `id` on the Orders screen (from a shadow run's differences).
function openOrderById(id) {
  $("order-id").value = id;
  location.hash = "#orders";
  show();
  openOrder();
}

// Why the order ships from where it does: every routing kept for it, with the stock each
// candidate had then, and a map of the latest.
async function showWhy(order, container) {
  let kept;
  try {
    kept = await api("GET", `/v1/orders/${encodeURIComponent(order.id)}/explanation`);
  } catch (error) {
    container.replaceChildren(el("p", { class: "hint", text: `The explanation could not be read: ${error.message}` }));
    return;
  }
  if (kept.routings.length === 0) {
    container.replaceChildren(el("p", { class: "hint", text: order.status === "scheduled"
      ? "Not routed yet: it is routed when it comes due."
      : "No explanation was kept for this order (routed before explanations were kept, or with them turned off)." }));
    return;
  }
  const causes = { placed: "Routed when placed", due: "Routed when it came due", rerouted: "Routed again after a rejection" };
  const parts = [];
  kept.routings.forEach((routing, index) => {
    parts.push(el("h5", { text: `${causes[routing.cause] || routing.cause}, ${routing.at}, policy version ${routing.policy_version.slice(0, 12)}` }),
      ...explanationTables(routing.lines, ` (routing ${index + 1})`));
  });
  const latest = kept.routings[kept.routings.length - 1];
  const chosen = [...new Set(latest.lines.flatMap((l) => l.candidates.filter((c) => c.status === "chosen").map((c) => c.location)))];
  const map = el("div", { class: "map-pane" });
  container.replaceChildren(map, ...parts);
  drawMap(map, order.request.ship_to, { lines: latest.lines, plan: { shipments: chosen.map((location) => ({ location })) } },
    `Where order ${order.id} ships from (latest routing)`);
}

function orderAction(label, question, path, body) {
  return el("button", { type: "button", class: "secondary", onclick: async () => {
    if (!(await confirmed(question))) return;
    try {
      const updated = await api("POST", path, body);
      say(`${label}: done.`);
      renderOrder(updated);
      // A listed order changed: list again, so the row says what the order says.
      if (document.querySelector(`#order-list tr[data-order="${CSS.escape(updated.id)}"]`)) listOrders(null, false, true).catch(failed);
    } catch (error) { failed(error); }
  }, text: label });
}

function renderOrder(order) {
  const base = `/v1/orders/${encodeURIComponent(order.id)}`;
  const plan = order.plan;
  const actions = [];
  if (may("writer")) {
    if (order.status === "reserved") actions.push(orderAction("Confirm", `Confirm order ${order.id}?`, `${base}/confirm`, {}));
    if (!["shipped", "delivered", "cancelled", "expired", "rejected"].includes(order.status)) {
      actions.push(orderAction("Cancel", `Cancel order ${order.id} and release its stock?`, `${base}/cancel`, { reason: "cancelled in the console" }));
    }
  }
  const shipments = plan ? plan.shipments : [];
  const shipmentRows = shipments.map((s) => {
    const open = !["shipped", "delivered", "rejected"].includes(s.state);
    const buttons = [];
    if (may("writer") && open && ["confirmed", "partially_shipped"].includes(order.status)) {
      buttons.push(orderAction(`Ship from ${s.location}`, `Mark the shipment from ${s.location} as shipped?`, `${base}/ship`, { location: s.location }));
    }
    if (may("writer") && open && ["reserved", "confirmed", "partially_shipped"].includes(order.status)) {
      buttons.push(orderAction(`Reject at ${s.location}`, `${s.location} cannot ship it: route these units again elsewhere?`, `${base}/events`,
        { event: "rejected", location: s.location, reason: "rejected in the console" }));
    }
    return el("tr", { "data-location": s.location },
      el("td", { text: s.location }),
      el("td", { text: s.lines.map((l) => `${l.sku} x${l.qty}`).join(", ") }),
      el("td", { class: "shipment-state", text: s.state }),
      el("td", { text: [s.carrier, s.tracking].filter(Boolean).join(" ") }),
      el("td", {}, ...buttons));
  });
  const parts = [
    el("h3", { text: `Order ${order.id}` }),
    el("dl", { class: "result" },
      el("dt", { text: "Status" }), el("dd", { id: "order-status", text: order.status }),
      el("dt", { text: "Policy" }), el("dd", { text: plan ? plan.policy : "" }),
      el("dt", { text: "Cost" }), el("dd", { text: plan ? `${money(plan.cost.total)} ${plan.currency}` : "" })),
    el("div", { class: "row" }, ...actions),
    el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": "Shipments" },
      el("table", { id: "shipments-table" },
        el("caption", { text: "Shipments" }),
        el("thead", {}, el("tr", {}, ...["Location", "Units", "State", "Carrier", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...shipmentRows))),
  ];
  if (plan && plan.unfilled.length) parts.push(el("p", { text: `Unfilled: ${plan.unfilled.map((u) => `${u.sku} x${u.qty}`).join(", ")}` }));
  if (order.backorders && order.backorders.length) {
    parts.push(el("h4", { text: "Backorders" }), el("ul", {}, ...order.backorders.map((b) =>
      el("li", { text: `${b.sku} x${b.qty} at ${b.location} from ${b.inbound}, promised ${b.promise_date}: ${b.status}` }))));
  }
  if (order.returns && order.returns.length) {
    parts.push(el("h4", { text: "Returns" }), el("ul", {}, ...order.returns.map((r) =>
      el("li", { text: `${r.id}: ${r.status}, ${(r.lines || []).map((l) => `${l.sku} x${l.qty}`).join(", ")}` }))));
  }
  parts.push(el("h4", { text: "Timeline" }), el("ol", { class: "timeline" }, ...(order.history || []).map((e) =>
    el("li", { text: `${e.at} ${e.event}${e.detail ? `: ${e.detail}` : ""}` }))));
  const why = el("div", { id: "order-why" }, el("p", { class: "hint", text: "Reading why…" }));
  parts.push(el("h4", { text: "Why it ships from there" }), why);
  $("order-detail").replaceChildren(...parts);
  showWhy(order, why);
}

let listNext = null;

async function listOrders(event, more = false, quiet = false) {
  if (event) event.preventDefault();
  const params = new URLSearchParams();
  const status = $("list-status").value;
  if (status) params.set("status", status);
  for (const [field, id] of [["since", "list-since"], ["until", "list-until"]]) {
    const value = $(id).value;
    if (value) params.set(field, new Date(value).toISOString().replace(/\.\d{3}Z$/, "Z"));
  }
  params.set("limit", "50");
  if (more && listNext) params.set("after", listNext);
  try {
    const page = await api("GET", `/v1/orders?${params}`);
    const rows = page.orders.map((o) => el("tr", { "data-order": o.id },
      el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => { $("order-id").value = o.id; openOrder(); }, text: o.id })),
      el("td", { text: o.status }),
      el("td", { text: (o.history && o.history[0] && o.history[0].at) || "" }),
      el("td", { class: "num", text: o.request.lines.reduce((n, l) => n + l.qty, 0) }),
      el("td", { class: "num", text: o.plan ? `${money(o.plan.cost.total)} ${o.plan.currency}` : "" }),
      el("td", { text: o.plan ? o.plan.shipments.filter((s) => s.state !== "rejected").map((s) => s.location).join(", ") : "" })));
    const body = $("order-list").tBodies[0];
    if (more) body.append(...rows);
    else body.replaceChildren(...rows);
    listNext = page.next || null;
    $("list-more").hidden = !listNext;
    if (!quiet) say(`${body.rows.length} order${body.rows.length === 1 ? "" : "s"} listed${listNext ? "; more with More" : ""}.`);
  } catch (error) { failed(error); }
}

// --- Inventory -------------------------------------------------------------------------------

async function showSku(event) {
  event.preventDefault();
  const sku = $("sku").value.trim();
  try {
    const atp = await api("GET", `/v1/inventory/${encodeURIComponent(sku)}`);
    $("atp-detail").replaceChildren(
      el("p", { text: `${atp.sku}: ${atp.atp} available to promise across the network.` }),
      el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": "Stock per location" },
        el("table", { id: "atp-table" },
          el("thead", {}, el("tr", {}, ...["Location", "On hand", "Reserved", "Safety stock", "ATP"].map((h, i) => el("th", { scope: "col", class: i ? "num" : null, text: h })))),
          el("tbody", {}, ...atp.locations.map((p) => el("tr", { "data-location": p.location },
            el("td", { text: p.location }), el("td", { class: "num", text: p.on_hand }), el("td", { class: "num", text: p.reserved }),
            el("td", { class: "num", text: p.safety_stock }), el("td", { class: "num", text: p.atp }))))))); 
    drawAtpMap(atp);
    await loadInbound(sku);
  } catch (error) { failed(error); }
}

function drawAtpMap(atp) {
  const container = $("atp-map");
  if (state.locations.length === 0) return;
  const p = projection(state.locations);
  const max = Math.max(1, ...atp.locations.map((l) => l.atp));
  const byId = new Map(state.locations.map((l) => [l.id, l]));
  const shapes = state.locations.map((l) => svg("circle", { class: "location", cx: p.x(l.lon), cy: p.y(l.lat), r: 3 }, svg("title", { text: l.id })));
  for (const position of atp.locations) {
    const l = byId.get(position.location);
    if (!l) continue;
    shapes.push(svg("circle", { class: "atp", cx: p.x(l.lon), cy: p.y(l.lat), r: 4 + 16 * Math.sqrt(position.atp / max) },
      svg("title", { text: `${position.location}: ${position.atp} available` })));
  }
  container.replaceChildren(svg("svg", { viewBox: `0 0 ${MAP.width} ${MAP.height}`, role: "img", "aria-label": `Where ${atp.sku} is available` },
    svg("title", { text: `Where ${atp.sku} is available` }), ...shapes));
}

async function loadInbound(sku) {
  const list = await api("GET", "/v1/inventory/inbound");
  const rows = list.inbound.filter((i) => !sku || i.sku === sku);
  $("inbound-table").tBodies[0].replaceChildren(...rows.map((i) => el("tr", {},
    el("td", { text: i.id }), el("td", { text: i.sku }), el("td", { text: i.location }), el("td", { text: i.qty }),
    el("td", { text: i.allocated }), el("td", { text: i.expected_at }), el("td", { text: i.received ?? "" }))));
}

// --- Start ---------------------------------------------------------------------------------

function start() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    $("token").value = "";
    if (token) signIn(token);
  });
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => { if (state.role) show(); });
  const area = $("policy-source");
  area.addEventListener("input", () => { renderEditor(); scheduleCheck(); });
  area.addEventListener("scroll", syncScroll);
  area.addEventListener("keydown", (event) => {
    // Tab indents; Escape then Tab leaves the editor (keyboard users are never trapped).
    if (event.key === "Tab" && !event.shiftKey && !area.dataset.leaving) {
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      renderEditor();
      scheduleCheck();
    }
    area.dataset.leaving = event.key === "Escape" ? "1" : "";
  });
  $("load-source").addEventListener("click", loadSource);
  $("save").addEventListener("click", save);
  $("activate").addEventListener("click", activateSaved);
  $("add-line").addEventListener("click", () => addLine());
  $("order-form").addEventListener("submit", routeSample);
  const destination = $("destination");
  destination.replaceChildren(el("option", { value: "", text: "a point on the map" }),
    ...SAMPLE_DESTINATIONS.map((d, i) => el("option", { value: i, text: `${d.name} ${d.postal}` })));
  destination.addEventListener("change", () => {
    const d = SAMPLE_DESTINATIONS[Number(destination.value)];
    if (!d || destination.value === "") return;
    $("ship-lat").value = d.lat;
    $("ship-lon").value = d.lon;
    $("ship-postal").value = d.postal;
    $("ship-place").textContent = d.name;
    drawMap($("map-pane"), { lat: d.lat, lon: d.lon, postal_code: d.postal }, null, "The network and the customer");
  });
  destination.value = "1";
  destination.dispatchEvent(new Event("change"));
  $("ship-postal").addEventListener("change", lookUpPostalCode);
  $("ship-find").addEventListener("click", lookUpPostalCode);
  $("bind-form").addEventListener("submit", bind);
  $("shadow-form").addEventListener("submit", shadowStart);
  $("shadow-stop").addEventListener("click", shadowStop);
  $("shadow-show").addEventListener("click", shadowShow);
  $("order-search").addEventListener("submit", openOrder);
  $("order-list-form").addEventListener("submit", listOrders);
  $("list-more").addEventListener("click", () => listOrders(null, true));
  $("sku-search").addEventListener("submit", showSku);
  renderEditor();
  const token = sessionStorage.getItem("switchyard-token");
  if (token) signIn(token);
  else $("token").focus();
}

document.addEventListener("DOMContentLoaded", start);
