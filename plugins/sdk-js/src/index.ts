// switchyard's plugin SDK for JavaScript and TypeScript: write a routing plugin as one
// function from a plain request to a plain answer.
//
//   import { answerFor, type Request } from "@switchyard/plugin-sdk";
//
//   export default function route(request: Request) {
//     const answer = answerFor(request);
//     request.locations.forEach((location, index) => {
//       answer.shipment[index] = 5 + location.handlingPerShipment;
//     });
//     return answer;
//   }
//
// A plugin that merchants configure without a rebuild also exports the parameters it takes;
// a binding sets their values and the request carries them:
//
//   export const parameters = {
//     max_shipments: { type: "integer", default: 3, description: "Most shipments per order" },
//   } satisfies Parameters;
//
//   export default function route(request: Request) { ... request.parameters.max_shipments ... }
//
// `node plugins/sdk-js/build.mjs route.ts route.wasm` type-checks it, bundles it with this
// SDK and builds a component of the `switchyard:routing` world (docs/PLUGINS.md).
//
// The wire format (plugins/wit/routing.wit) keeps every text in one string and sends the
// lines, locations and candidates as packed little-endian rows in one byte list; this module
// reads them into the plain objects below and turns the answer back into the wire format, so
// a plugin never sees rows, spans or reason indices. It mirrors the Rust SDK (plugins/sdk)
// field for field, with camelCase names.

import hostLog from "log";

/** The order being routed. */
export interface Order {
  id: string;
  channel: string;
  /** Seconds since the Unix epoch. */
  placedAt: number;
  shipToLat: number;
  shipToLon: number;
  postalCode: string;
  country: string;
}

/** What a line orders. */
export interface Item {
  sku: string;
  /** The product group. */
  group: string;
  /** Weight of one unit, kg. */
  weightKg: number;
  /** Product tags (`hazmat`, `cold_chain`, ...). */
  tags: string[];
}

/** One line of the order. */
export interface Line {
  id: string;
  qty: number;
  item: Item;
}

/** When a location would ship and deliver by the order's carrier service. */
export interface LocationDelivery {
  /** Carrier days in transit. */
  transitDays: number;
  /** The day it would leave (days since 1970-01-01). */
  shipDay: number;
  /** The day it would arrive (days since 1970-01-01). */
  deliveryDay: number;
}

/** A location that holds stock of at least one line. */
export interface Location {
  id: string;
  /** `dc`, `store` or `dropship`. */
  kind: string;
  lat: number;
  lon: number;
  handlingPerShipment: number;
  handlingPerUnit: number;
  /** Higher is preferred on ties. */
  priority: number;
  /** What it can handle (`hazmat`, `cold_chain`, ...). */
  capabilities: string[];
  /** Great-circle distance to the ship-to, km. */
  distanceKm: number;
  /** Shipments it may send per day; null: unlimited. */
  capacityPerDay: number | null;
  /** Shipments it may still send today (0 when it is down); null: unlimited. */
  shipmentsLeft: number | null;
  /** Its dates by the order's service; null when the order names no service or the service
   * cannot ship from here. */
  delivery: LocationDelivery | null;
}

/** A line's option to take stock from a location. Answers and plans refer to candidates by
 * their index in `request.candidates`. */
export interface Candidate {
  /** Index into `request.lines`. */
  line: number;
  /** Index into `request.locations`. */
  location: number;
  /** Available to promise of the line's SKU there. */
  atp: number;
}

/** The order's carrier service and promised day. */
export interface Delivery {
  service: string;
  /** The day the order must arrive by (days since 1970-01-01); null: no day was promised. */
  deliverBy: number | null;
}

/** Everything a plugin sees. */
export interface Request {
  /** The decision time, seconds since the Unix epoch (plugins have no clock). */
  now: number;
  order: Order;
  lines: Line[];
  locations: Location[];
  candidates: Candidate[];
  /** null: the order names no carrier service. */
  delivery: Delivery | null;
  /** The value of every parameter the plugin declares (`export const parameters`), by name:
   * the binding's, or the default. Whole numbers arrive as numbers (exact up to 2^53). */
  parameters: Record<string, ParameterValue>;
}

/** A parameter's value: a number (`number` and `integer` parameters), `true`/`false`, or a
 * text. */
export type ParameterValue = number | boolean | string;

/** A setting the plugin declares, which a binding may change without a rebuild. Its name (the
 * key in `Parameters`) is lowercase letters, digits and `_`, starting with a letter. */
export type Parameter =
  | { type: "number"; default: number; description?: string }
  | { type: "integer"; default: number; description?: string }
  | { type: "boolean"; default: boolean; description?: string }
  | { type: "text"; default: string; description?: string };

/** The parameters a plugin declares, by name, in the order the host lists them. */
export type Parameters = Record<string, Parameter>;

/** Not allowed, and why (shown in explanations). */
export interface Exclusion {
  excluded: string;
}

/** A cost (per shipment or per unit), or an exclusion with its reason. */
export type Verdict = number | Exclusion;

/** What happens to units no location can ship: ship what can be shipped, each unfilled unit
 * costing `partial`, or reject the order unless every unit ships. */
export type ShortStock = { partial: number } | "reject";

/** Units a plugin's own plan takes through one candidate. */
export interface PlannedUnits {
  /** Index into `request.candidates`. */
  candidate: number;
  /** Units, at least one. */
  units: number;
}

/** A plugin's answer; lists are parallel to the request's. */
export interface Answer {
  /** Per location: cost of one shipment from it, or why it is excluded. */
  shipment: Verdict[];
  /** Per candidate: cost per unit, or why it is excluded. */
  units: Verdict[];
  /** Most shipments the order may split into. */
  maxShipments: number;
  /** Cost added per shipment beyond the first. */
  splitPenalty: number;
  /** Per line: may its units come from several locations? */
  lineMaySplit: boolean[];
  /** Per line: lines with the same non-zero key ship from one location. */
  shipTogether: number[];
  shortStock: ShortStock;
  /** Units no location can ship now may wait for inbound stock expected within this many
   * seconds; null: they are short. */
  backorderWithin: number | null;
  /** A complete plan the plugin chose itself, used instead of the optimizer's (a line's units
   * left out are unfilled); the host checks it and prices it with this answer's costs. null:
   * the optimizer chooses the cheapest plan at these costs. */
  plan: PlannedUnits[] | null;
}

/** A routing plugin: the request in, the answer out. Throwing refuses the order with the
 * error's message. */
export type Route = (request: Request) => Answer;

/** An exclusion with `reason`: `answer.units[i] = excluded("requires hazmat")`. */
export function excluded(reason: string): Exclusion {
  return { excluded: reason };
}

/** An answer sized for `request`: every cost 0, one shipment, lines may split, no
 * ship-together groups, short orders rejected. Change what the plugin decides. */
export function answerFor(request: Request): Answer {
  return {
    shipment: new Array<Verdict>(request.locations.length).fill(0),
    units: new Array<Verdict>(request.candidates.length).fill(0),
    maxShipments: 1,
    splitPenalty: 0,
    lineMaySplit: new Array<boolean>(request.lines.length).fill(true),
    shipTogether: new Array<number>(request.lines.length).fill(0),
    shortStock: "reject",
    backorderWithin: null,
    plan: null,
  };
}

// True while the plugin is warmed up at build time, when the host's functions do not exist.
let warming = false;

/** Writes a line to the host's log, tagged with the plugin's name and version. */
export function log(message: string): void {
  if (!warming) hostLog(String(message));
}

// ---- The wire format: what the component model hands the plugin and takes back. ----

/** A text in `request.text`: `len` UTF-8 bytes from byte `start`. */
interface WireName {
  start: number;
  len: number;
}

/** The request as the component model lifts it (plugins/wit/routing.wit). */
export interface WireRequest {
  now: bigint;
  text: string;
  order: {
    id: WireName;
    channel: WireName;
    placedAt: bigint;
    shipToLat: number;
    shipToLon: number;
    postalCode: WireName;
    country: WireName;
  };
  lineCount: number;
  locationCount: number;
  tagCount: number;
  capabilityCount: number;
  candidateCount: number;
  delivery: { service: WireName; deliverBy: number | undefined } | undefined;
  rows: Uint8Array;
  parameters: WireValue[];
}

/** A parameter's value as the component model lifts it. */
export type WireValue =
  | { tag: "number"; val: number }
  | { tag: "integer"; val: bigint }
  | { tag: "boolean"; val: boolean }
  | { tag: "text"; val: string };

/** A parameter's declaration as the component model lowers it. */
export interface WireParameter {
  name: string;
  description: string;
  default: WireValue;
}

interface WireExclusion {
  index: number;
  reason: number;
}

/** The answer as the component model lowers it. */
export interface WireAnswer {
  reasons: string[];
  shipmentCost: Float64Array;
  unitCost: Float64Array;
  excludedLocations: WireExclusion[];
  excludedCandidates: WireExclusion[];
  maxShipments: number;
  splitPenalty: number;
  lineMaySplit: boolean[];
  shipTogether: Uint32Array;
  shortStock: { tag: "partial"; val: number } | { tag: "reject" };
  backorderWithin: bigint | undefined;
  plan: { candidate: number; units: number }[] | undefined;
}

/** What `evaluate` returns: the answer, or a refusal. */
export type WireResult = { tag: "ok"; val: WireAnswer } | { tag: "err"; val: string };

// Bytes per row in `rows`, per section (the layouts are in plugins/wit/routing.wit).
const LINE_ROW = 36;
const LOCATION_ROW = 68;
const LABEL_ROW = 12;
const CANDIDATE_ROW = 12;
const DELIVERY_ROW = 12;
const NONE = 0xffffffff;

// Reads the spans of `text`, which count UTF-8 bytes, as JavaScript strings (UTF-16).
function spans(text: string): (name: WireName) => string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  let at: Uint32Array | null = null;
  if (!ascii) {
    // Byte offset -> UTF-16 offset, at every code point's first byte and at the end.
    let bytes = 0;
    for (const char of text) {
      const code = char.codePointAt(0) ?? 0;
      bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    }
    at = new Uint32Array(bytes + 1).fill(NONE);
    let byte = 0;
    let unit = 0;
    for (const char of text) {
      const code = char.codePointAt(0) ?? 0;
      at[byte] = unit;
      byte += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      unit += char.length;
    }
    at[byte] = unit;
  }
  const length = at ? at.length - 1 : text.length;
  return (name) => {
    const end = name.start + name.len;
    if (end > length) {
      throw new Error(`the host sent a text span ${name.start}+${name.len} outside its text`);
    }
    if (!at) return text.slice(name.start, end);
    const from = at[name.start];
    const to = at[end];
    if (from === NONE || to === NONE) {
      throw new Error(`the host sent a text span ${name.start}+${name.len} that splits a character`);
    }
    return text.slice(from, to);
  };
}

/** Reads the wire request into plain objects; a malformed one is the host's bug, reported
 * as one. */
export function decodeRequest(wire: WireRequest, declared: WireParameter[] = []): Request {
  const name = spans(wire.text);
  const rows = wire.rows;
  const view = new DataView(rows.buffer, rows.byteOffset, rows.byteLength);
  let offset = 0;
  const section = (count: number, size: number, what: string): number => {
    const start = offset;
    offset += count * size;
    if (offset > rows.byteLength) {
      throw new Error(`the host sent ${count} ${what} but \`rows\` ends before them`);
    }
    return start;
  };
  const deliveryCount = wire.delivery ? wire.locationCount : 0;
  const lineAt = section(wire.lineCount, LINE_ROW, "lines");
  const locationAt = section(wire.locationCount, LOCATION_ROW, "locations");
  const tagAt = section(wire.tagCount, LABEL_ROW, "tags");
  const capabilityAt = section(wire.capabilityCount, LABEL_ROW, "capabilities");
  const candidateAt = section(wire.candidateCount, CANDIDATE_ROW, "candidates");
  const deliveryAt = section(deliveryCount, DELIVERY_ROW, "locations' delivery dates");
  if (offset !== rows.byteLength) {
    throw new Error(`the host sent ${rows.byteLength - offset} bytes of \`rows\` after its last section`);
  }
  const u32 = (at: number) => view.getUint32(at, true);
  const i32 = (at: number) => view.getInt32(at, true);
  const f64 = (at: number) => view.getFloat64(at, true);
  const span = (at: number) => name({ start: u32(at), len: u32(at + 4) });
  const count = (at: number) => {
    const value = u32(at);
    return value === NONE ? null : value;
  };

  const lines: Line[] = new Array(wire.lineCount);
  for (let i = 0, at = lineAt; i < wire.lineCount; i++, at += LINE_ROW) {
    lines[i] = {
      id: span(at),
      qty: u32(at + 8),
      item: { sku: span(at + 12), group: span(at + 20), weightKg: f64(at + 28), tags: [] },
    };
  }
  for (let i = 0, at = tagAt; i < wire.tagCount; i++, at += LABEL_ROW) {
    const line = lines[u32(at)];
    if (!line) throw new Error("the host sent a tag of no line");
    line.item.tags.push(span(at + 4));
  }
  const locations: Location[] = new Array(wire.locationCount);
  for (let i = 0, at = locationAt; i < wire.locationCount; i++, at += LOCATION_ROW) {
    locations[i] = {
      id: span(at),
      kind: span(at + 8),
      lat: f64(at + 16),
      lon: f64(at + 24),
      handlingPerShipment: f64(at + 32),
      handlingPerUnit: f64(at + 40),
      priority: i32(at + 48),
      capabilities: [],
      distanceKm: f64(at + 52),
      capacityPerDay: count(at + 60),
      shipmentsLeft: count(at + 64),
      delivery: null,
    };
  }
  for (let i = 0, at = deliveryAt; i < deliveryCount; i++, at += DELIVERY_ROW) {
    const transitDays = count(at);
    if (transitDays !== null) {
      locations[i].delivery = { transitDays, shipDay: i32(at + 4), deliveryDay: i32(at + 8) };
    }
  }
  for (let i = 0, at = capabilityAt; i < wire.capabilityCount; i++, at += LABEL_ROW) {
    const location = locations[u32(at)];
    if (!location) throw new Error("the host sent a capability of no location");
    location.capabilities.push(span(at + 4));
  }
  const candidates: Candidate[] = new Array(wire.candidateCount);
  for (let i = 0, at = candidateAt; i < wire.candidateCount; i++, at += CANDIDATE_ROW) {
    const candidate = { line: u32(at), location: u32(at + 4), atp: u32(at + 8) };
    if (candidate.line >= lines.length || candidate.location >= locations.length) {
      throw new Error(
        `the host sent a candidate of line ${candidate.line} at location ${candidate.location}, outside the request`,
      );
    }
    candidates[i] = candidate;
  }
  const values = wire.parameters ?? [];
  if (values.length !== declared.length) {
    throw new Error(`the host sent ${values.length} parameter values for ${declared.length} parameters`);
  }
  const parameters: Record<string, ParameterValue> = {};
  declared.forEach((parameter, i) => {
    const value = values[i];
    if (value.tag !== parameter.default.tag) {
      throw new Error(`the host sent a ${value.tag} for parameter \`${parameter.name}\``);
    }
    parameters[parameter.name] = typeof value.val === "bigint" ? Number(value.val) : value.val;
  });
  const order = wire.order;
  return {
    parameters,
    now: Number(wire.now),
    order: {
      id: name(order.id),
      channel: name(order.channel),
      placedAt: Number(order.placedAt),
      shipToLat: order.shipToLat,
      shipToLon: order.shipToLon,
      postalCode: name(order.postalCode),
      country: name(order.country),
    },
    lines,
    locations,
    candidates,
    delivery: wire.delivery
      ? { service: name(wire.delivery.service), deliverBy: wire.delivery.deliverBy ?? null }
      : null,
  };
}

// A plugin's mistake in its answer, named by field: the order is refused with this message.
class AnswerError extends Error {}

function wrong(field: string, expected: string, got: unknown): AnswerError {
  let shown: string;
  try {
    shown = typeof got === "string" ? JSON.stringify(got) : String(got);
  } catch {
    shown = typeof got;
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  return new AnswerError(`answer.${field} must be ${expected}, got ${shown}`);
}

function list<T>(value: unknown, field: string, length: number, what: string): T[] {
  if (!Array.isArray(value)) throw wrong(field, `an array of ${length} entries (one per ${what})`, value);
  if (value.length !== length) {
    throw new AnswerError(`answer.${field} has ${value.length} entries, the request had ${length} ${what}s`);
  }
  return value as T[];
}

function finite(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw wrong(field, "a finite number", value);
  return value;
}

function whole(value: unknown, field: string, max = NONE - 1): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw wrong(field, `a whole number from 0 to ${max}`, value);
  }
  return value;
}

/** Turns a plugin's answer into the wire answer, checking its shape against the request:
 * a wrong field is named (`answer.units[3] must be a finite number or excluded(reason)`). */
export function encodeAnswer(answer: Answer, request: Request): WireAnswer {
  if (typeof answer !== "object" || answer === null) {
    throw new AnswerError(
      `the plugin must return an answer object (answerFor(request), then changed), got ${answer === null ? "null" : typeof answer}`,
    );
  }
  const reasons: string[] = [];
  const reasonIndex = new Map<string, number>();
  const split = (field: string, verdicts: Verdict[]) => {
    const costs = new Float64Array(verdicts.length);
    const exclusions: WireExclusion[] = [];
    for (let i = 0; i < verdicts.length; i++) {
      const verdict = verdicts[i];
      if (typeof verdict === "number" && Number.isFinite(verdict)) {
        costs[i] = verdict;
      } else if (typeof verdict === "object" && verdict !== null && typeof verdict.excluded === "string") {
        let reason = reasonIndex.get(verdict.excluded);
        if (reason === undefined) {
          reason = reasons.length;
          reasons.push(verdict.excluded);
          reasonIndex.set(verdict.excluded, reason);
        }
        exclusions.push({ index: i, reason });
      } else {
        throw wrong(`${field}[${i}]`, "a finite number or excluded(reason)", verdict);
      }
    }
    return { costs, exclusions };
  };
  const shipment = split("shipment", list(answer.shipment, "shipment", request.locations.length, "location"));
  const units = split("units", list(answer.units, "units", request.candidates.length, "candidate"));
  const lineMaySplit = list<boolean>(answer.lineMaySplit, "lineMaySplit", request.lines.length, "line");
  lineMaySplit.forEach((value, i) => {
    if (typeof value !== "boolean") throw wrong(`lineMaySplit[${i}]`, "true or false", value);
  });
  const together = list<number>(answer.shipTogether, "shipTogether", request.lines.length, "line");
  const shipTogether = new Uint32Array(together.length);
  together.forEach((value, i) => {
    shipTogether[i] = whole(value, `shipTogether[${i}]`);
  });
  let shortStock: WireAnswer["shortStock"];
  const short = answer.shortStock as unknown;
  if (short === "reject") {
    shortStock = { tag: "reject" };
  } else if (typeof short === "object" && short !== null && "partial" in short) {
    shortStock = { tag: "partial", val: finite((short as { partial: unknown }).partial, "shortStock.partial") };
  } else {
    throw wrong("shortStock", `"reject" or { partial: cost per unfilled unit }`, short);
  }
  let backorderWithin: bigint | undefined;
  if (answer.backorderWithin !== null && answer.backorderWithin !== undefined) {
    backorderWithin = BigInt(whole(answer.backorderWithin, "backorderWithin", Number.MAX_SAFE_INTEGER));
  }
  let plan: WireAnswer["plan"];
  if (answer.plan !== null && answer.plan !== undefined) {
    if (!Array.isArray(answer.plan)) throw wrong("plan", "an array of { candidate, units } or null", answer.plan);
    plan = answer.plan.map((planned, i) => {
      if (typeof planned !== "object" || planned === null) throw wrong(`plan[${i}]`, "{ candidate, units }", planned);
      return {
        candidate: whole(planned.candidate, `plan[${i}].candidate`),
        units: whole(planned.units, `plan[${i}].units`),
      };
    });
  }
  return {
    reasons,
    shipmentCost: shipment.costs,
    unitCost: units.costs,
    excludedLocations: shipment.exclusions,
    excludedCandidates: units.exclusions,
    maxShipments: whole(answer.maxShipments, "maxShipments"),
    splitPenalty: finite(answer.splitPenalty, "splitPenalty"),
    lineMaySplit,
    shipTogether,
    shortStock,
    backorderWithin,
    plan,
  };
}

function message(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  try {
    return String(error);
  } catch {
    return "the plugin threw a value that is not an error";
  }
}

// A small order (two lines, two locations, three candidates, tags, capabilities and delivery
// dates) in the wire format, for the warm-up.
function sampleRequest(): WireRequest {
  const text = "O-1webUS123451aSKU-1grocery2bSKU-2homeDC-1dcST-2storehazmatcold_chainground";
  const at = (part: string) => ({ start: text.indexOf(part), len: part.length });
  const rows = new Uint8Array(2 * LINE_ROW + 2 * LOCATION_ROW + 2 * LABEL_ROW + 3 * CANDIDATE_ROW + 2 * DELIVERY_ROW);
  const view = new DataView(rows.buffer);
  let offset = 0;
  const u32 = (value: number) => {
    view.setUint32(offset, value, true);
    offset += 4;
  };
  const f64 = (value: number) => {
    view.setFloat64(offset, value, true);
    offset += 8;
  };
  const span = (part: string) => {
    const name = at(part);
    u32(name.start);
    u32(name.len);
  };
  for (const [id, sku, group] of [["1a", "SKU-1", "grocery"], ["2b", "SKU-2", "home"]]) {
    span(id);
    u32(2);
    span(sku);
    span(group);
    f64(1.5);
  }
  for (const [id, kind] of [["DC-1", "dc"], ["ST-2", "store"]]) {
    span(id);
    span(kind);
    f64(40.7);
    f64(-74);
    f64(1);
    f64(0.2);
    u32(0);
    f64(120);
    u32(NONE);
    u32(50);
  }
  u32(1);
  span("hazmat");
  u32(0);
  span("cold_chain");
  for (const [line, location] of [[0, 0], [0, 1], [1, 0]]) {
    u32(line);
    u32(location);
    u32(5);
  }
  u32(2);
  u32(20000);
  u32(20002);
  u32(NONE);
  u32(0);
  u32(0);
  return {
    now: 1_700_000_000n,
    text,
    order: {
      id: at("O-1"),
      channel: at("web"),
      placedAt: 1_700_000_000n,
      shipToLat: 40.75,
      shipToLon: -73.9,
      postalCode: at("12345"),
      country: at("US"),
    },
    lineCount: 2,
    locationCount: 2,
    tagCount: 1,
    capabilityCount: 1,
    candidateCount: 3,
    delivery: { service: at("ground"), deliverBy: 20003 },
    rows,
    parameters: [],
  };
}

const MAX_PARAMETERS = 64;

/** The declarations as the wire carries them, checked as the host checks them (the rules are
 * in plugins/wit/routing.wit): a mistake fails the build, naming the parameter. */
export function declareParameters(parameters: Parameters | undefined): WireParameter[] {
  if (parameters === undefined) return [];
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) {
    throw new Error("`export const parameters` must be an object: { name: { type, default, description } }");
  }
  const entries = Object.entries(parameters);
  if (entries.length > MAX_PARAMETERS) {
    throw new Error(`the plugin declares ${entries.length} parameters, more than the limit of ${MAX_PARAMETERS}`);
  }
  return entries.map(([name, parameter]) => {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) {
      throw new Error(
        `parameter \`${name}\`: a name is lowercase letters, digits and \`_\`, starting with a letter, at most 64 bytes`,
      );
    }
    const description = parameter?.description ?? "";
    if (typeof description !== "string" || /[\u0000-\u001f\u007f]/.test(description) || description.length > 500) {
      throw new Error(`parameter \`${name}\`: its description must be one line of at most 500 characters`);
    }
    const value = parameter?.default as unknown;
    const wrongDefault = (expected: string) =>
      new Error(`parameter \`${name}\`: a ${parameter.type} parameter's default must be ${expected}`);
    let wireDefault: WireValue;
    switch (parameter?.type) {
      case "number":
        if (typeof value !== "number" || !Number.isFinite(value)) throw wrongDefault("a finite number");
        wireDefault = { tag: "number", val: value };
        break;
      case "integer":
        if (typeof value !== "number" || !Number.isSafeInteger(value)) throw wrongDefault("a whole number");
        wireDefault = { tag: "integer", val: BigInt(value) };
        break;
      case "boolean":
        if (typeof value !== "boolean") throw wrongDefault("true or false");
        wireDefault = { tag: "boolean", val: value };
        break;
      case "text":
        if (typeof value !== "string") throw wrongDefault("a string");
        wireDefault = { tag: "text", val: value };
        break;
      default:
        throw new Error(`parameter \`${name}\`: \`type\` must be "number", "integer", "boolean" or "text"`);
    }
    return { name, description, default: wireDefault };
  });
}

/** The component's exports for `route` and its parameters. `evaluate` reads the request,
 * calls `route`, checks and encodes its answer. A thrown error or a wrong answer refuses the
 * order with a message (the host shows it); nothing the plugin does escapes as a crash of the
 * host. `parameters` lists the declarations.
 *
 * It also runs the plugin once on a sample order while the component is built: the engine's
 * snapshot then holds the classes, shapes and functions a call uses already set up, where a
 * fresh instance per order would otherwise set them up on every order. The sample's answer is
 * discarded, and `log` does nothing during it. */
export function definePlugin(
  route: Route,
  parameters?: Parameters,
): { evaluate: (wire: WireRequest) => WireResult; parameters: () => WireParameter[] } {
  if (typeof route !== "function") {
    throw new Error("the plugin's module must export its route function as the default export");
  }
  const declared = declareParameters(parameters);
  const evaluate = (wire: WireRequest): WireResult => {
    let request: Request;
    try {
      request = decodeRequest(wire, declared);
    } catch (error) {
      return { tag: "err", val: `switchyard SDK: ${message(error)}` };
    }
    try {
      return { tag: "ok", val: encodeAnswer(route(request), request) };
    } catch (error) {
      return { tag: "err", val: message(error) };
    }
  };
  warming = true;
  try {
    const sample = { ...sampleRequest(), parameters: declared.map((parameter) => parameter.default) };
    for (let round = 0; round < 3; round++) evaluate(sample);
    void Promise.resolve(0).then((value) => value);
    void new Map<string, number>([["warm", 1]]).get("warm");
  } catch {
    // A plugin that fails on the sample still builds; the warm-up only saves time.
  } finally {
    warming = false;
  }
  return { evaluate, parameters: () => declared };
}
