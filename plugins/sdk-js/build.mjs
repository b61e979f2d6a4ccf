#!/usr/bin/env node
// Builds a JavaScript or TypeScript routing plugin into a component of the
// `switchyard:routing` world:
//
//   node plugins/sdk-js/build.mjs my-plugin.ts my-plugin.wasm
//
// 1. type-checks it (TypeScript, strict) against the SDK's types: errors name file, line and
//    column;
// 2. bundles it with the SDK (esbuild) behind the `evaluate` and `parameters` exports the
//    world wants: the plugin's module default-exports its route function and may export the
//    parameters it takes (`export const parameters = { ... } satisfies Parameters`);
// 3. builds the component with componentize-js (SpiderMonkey, snapshotted by Wizer), with
//    every WASI feature disabled: the component imports only the host's `log`, as a Rust
//    plugin does, and has no clock, randomness, console or network.
//
// Every tool comes from the npm registry (`npm ci` in plugins/sdk-js); nothing is
// downloaded from elsewhere (AOT compilation with weval, which would, stays off).

import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const sdk = path.dirname(fileURLToPath(import.meta.url));
const usage = "usage: node plugins/sdk-js/build.mjs PLUGIN.ts|PLUGIN.js OUT.wasm";

function fail(message) {
  console.error(`build.mjs: ${message}`);
  process.exit(1);
}

async function dependencies() {
  try {
    return {
      ts: (await import("typescript")).default,
      esbuild: await import("esbuild"),
      componentize: (await import("@bytecodealliance/componentize-js")).componentize,
    };
  } catch (error) {
    fail(`the SDK's tools are not installed (${error.message}); run \`npm ci --prefix ${path.relative(process.cwd(), sdk) || "."}\``);
  }
}

function typeCheck(ts, entry) {
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts"],
    types: [],
    strict: true,
    noEmit: true,
    allowJs: true,
    paths: { "@switchyard/plugin-sdk": [path.join(sdk, "src/index.ts")] },
  };
  const program = ts.createProgram([entry, path.join(sdk, "src/host.d.ts")], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length === 0) return;
  for (const diagnostic of diagnostics) {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (diagnostic.file && diagnostic.start !== undefined) {
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const file = path.relative(process.cwd(), diagnostic.file.fileName);
      console.error(`${file}:${line + 1}:${character + 1}: error TS${diagnostic.code}: ${text}`);
    } else {
      console.error(`error TS${diagnostic.code}: ${text}`);
    }
  }
  fail(`${path.relative(process.cwd(), entry)} does not type-check (${diagnostics.length} errors)`);
}

async function bundle(esbuild, entry, dir) {
  const bundled = path.join(dir, "plugin.js");
  let result;
  try {
    result = await esbuild.build({
      stdin: {
        contents: [
          `import * as plugin from ${JSON.stringify(entry)};`,
          `import { definePlugin } from "@switchyard/plugin-sdk";`,
          `const exported = definePlugin(plugin.default, plugin.parameters);`,
          `export const evaluate = exported.evaluate;`,
          `export const parameters = exported.parameters;`,
        ].join("\n"),
        resolveDir: path.dirname(entry),
        sourcefile: "switchyard-plugin-entry.js",
        loader: "js",
      },
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      alias: { "@switchyard/plugin-sdk": path.join(sdk, "src/index.ts") },
      external: ["log"],
      // Not written here: the bundle's path comments are relative to this fixed place.
      outfile: path.join(sdk, "plugin.js"),
      write: false,
      logLevel: "silent",
    });
  } catch (error) {
    for (const message of error.errors ?? []) {
      const where = message.location
        ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: `
        : "";
      console.error(`${where}error: ${message.text}`);
    }
    fail(`${path.relative(process.cwd(), entry)} does not bundle`);
  }
  await writeFile(bundled, result.outputFiles[0].contents);
  return bundled;
}

async function main() {
  const [input, output, ...rest] = process.argv.slice(2);
  if (!input || !output || rest.length > 0) fail(usage);
  const entry = path.resolve(input);
  try {
    if (!(await stat(entry)).isFile()) fail(`${input} is not a file`);
  } catch {
    fail(`${input} does not exist`);
  }
  const started = Date.now();
  const { ts, esbuild, componentize } = await dependencies();
  typeCheck(ts, entry);
  // Not byte-reproducible: the engine's snapshot differs from build to build (componentize-js
  // 0.23), so every build is a new plugin version. Upload the file you tested.
  const dir = await mkdtemp(path.join(tmpdir(), "switchyard-plugin-"));
  try {
    const bundled = await bundle(esbuild, entry, dir);
    const { component } = await componentize({
      sourcePath: bundled,
      witPath: path.join(sdk, "../wit"),
      worldName: "routing-plugin",
      disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
    }).catch((error) => fail(`componentize-js: ${error.message ?? error}`));
    await writeFile(output, component);
    const source = (await readFile(bundled)).length;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${output}: ${component.length} bytes (${source} bytes of JavaScript) in ${seconds} s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
