#!/usr/bin/env node
// Builds the same minimal routing plugin (no SDK: it reads the counts and answers flat costs)
// with both JavaScript engines the npm registry offers for components, for
// `cargo bench --bench js_plugins`'s engine floor: componentize-js (SpiderMonkey) and
// componentize-qjs (QuickJS). Their wire conventions differ (s64 as BigInt or number, a
// result as a tagged object or return/throw), hence two sources of the same plugin.
//
//   node benches/js-engines/build.mjs   (after npm ci --prefix plugins/sdk-js)

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "../..");
const sdk = createRequire(path.join(root, "plugins/sdk-js/package.json"));
const wit = path.join(root, "plugins/wit");
const out = path.join(root, "target/plugins");
await mkdir(out, { recursive: true });

const { componentize: spidermonkey } = await import(
  pathToFileURL(path.join(root, "plugins/sdk-js/node_modules/@bytecodealliance/componentize-js/src/componentize.js")).href
);
const { componentize: quickjs } = sdk("componentize-qjs");

let started = Date.now();
const sm = await spidermonkey({
  sourcePath: path.join(here, "floor.spidermonkey.js"),
  witPath: wit,
  worldName: "routing-plugin",
  disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
});
await writeFile(path.join(out, "plugin_floor_spidermonkey.wasm"), sm.component);
console.log(`plugin_floor_spidermonkey.wasm: ${sm.component.length} bytes in ${Date.now() - started} ms`);

started = Date.now();
const qjs = await quickjs({
  witPath: wit,
  jsSource: await readFile(path.join(here, "floor.quickjs.js"), "utf8"),
  world: "routing-plugin",
  stubWasi: true,
  sync: true,
});
await writeFile(path.join(out, "plugin_floor_quickjs.wasm"), qjs.component);
console.log(`plugin_floor_quickjs.wasm: ${qjs.component.length} bytes in ${Date.now() - started} ms`);
