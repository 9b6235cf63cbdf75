// The build behind `capsule-js` (Node only): bundle a plugin with esbuild, read what it declares by
// importing it in Node, pick its WIT world, generate the entry module and componentize it with
// QuickJS (componentize-qjs --sync) or StarlingMonkey (componentize-js).

import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const SDK = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const INDEX = join(SDK, "src", "index.js");
const COMPONENT = join(SDK, "src", "component.js");
const WASI_VERSION = "0.2.12";
/** The version of capsule:plugin in the SDK's `wit/plugin.wit`. */
export const WIT_VERSION = "0.2.0";
const ENGINES = ["quickjs", "starlingmonkey"];
const WORLDS = [
  "plugin-base",
  "tools-plugin",
  "resources-plugin",
  "prompts-plugin",
  "tools-resources-plugin",
  "tools-prompts-plugin",
  "resources-prompts-plugin",
  "full-plugin",
];

export class BuildError extends Error {}

/** The directory of installed package `name` (its package.json need not be exported). */
function packageDir(name) {
  let dir = dirname(require.resolve(name));
  while (dir !== dirname(dir)) {
    try {
      if (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name === name) return dir;
    } catch {
      // not a package root
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot locate the package directory of ${name}`);
}

export function usage() {
  return `usage:
  capsule-js build ENTRY -o OUT.wasm [--engine quickjs|starlingmonkey] [--world WORLD] [--wit DIR] [--minify]
  capsule-js inspect ENTRY

engines:
  quickjs         (default) QuickJS via componentize-qjs --sync: ~1.6 MB components that compile in
                  about a second; handlers must be synchronous; no TextEncoder/URL/fetch.
  starlingmonkey  SpiderMonkey via componentize-js: ~12 MB, slower to build and to load, but async
                  handlers (returned Promises are awaited) and the web APIs (TextEncoder, URL, crypto).`;
}

export function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = { command, engine: "quickjs", minify: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      if (i + 1 >= rest.length) throw new BuildError(`${a} needs a value`);
      return rest[++i];
    };
    if (a === "-o" || a === "--output") opts.output = value();
    else if (a === "--engine") opts.engine = value();
    else if (a === "-w" || a === "--world") opts.world = value();
    else if (a === "--wit") opts.wit = value();
    else if (a === "--minify") opts.minify = true;
    else if (a === "-h" || a === "--help") opts.command = "help";
    else if (a.startsWith("-")) throw new BuildError(`unknown option ${a}`);
    else if (!opts.entry) opts.entry = a;
    else throw new BuildError(`unexpected argument ${a}`);
  }
  if (!ENGINES.includes(opts.engine)) throw new BuildError(`--engine is one of ${ENGINES.join(", ")}`);
  if (opts.world && !WORLDS.includes(opts.world)) throw new BuildError(`--world is one of ${WORLDS.join(", ")}`);
  return opts;
}

async function esbuild() {
  try {
    return await import("esbuild");
  } catch {
    throw new BuildError(`esbuild is not installed: run \`npm ci\` in ${SDK}`);
  }
}

async function bundle({ entry, outfile, platform, minify }) {
  const { build } = await esbuild();
  try {
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format: "esm",
      platform,
      target: "es2022",
      minify,
      charset: "utf8",
      logLevel: "silent",
      external: ["wasi:*", "capsule:*"],
      alias: { "capsule-plugin": INDEX },
      define: { "process.env.NODE_ENV": '"production"' },
    });
  } catch (e) {
    const messages = (e.errors ?? []).map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ""}${m.text}`);
    throw new BuildError(`bundling ${entry} failed:\n  ${messages.join("\n  ") || e.message}`);
  }
}

/** Import the plugin in Node and return what it declared. */
export async function load(entry, work) {
  const out = join(work, "native.mjs");
  await bundle({ entry, outfile: out, platform: "node", minify: false });
  let module;
  try {
    module = await import(pathToFileURL(out).href);
  } catch (e) {
    const hint = /wasi:|capsule:/.test(String(e.message))
      ? "\n  (the module imports WIT interfaces directly: pass --world to skip loading it in Node)"
      : "";
    throw new BuildError(`loading ${entry} in Node failed: ${e.stack ?? e}${hint}`);
  }
  const capsule = globalThis[Symbol.for("capsule-plugin")];
  if (!capsule) throw new BuildError(`${entry} does not use capsule-plugin (import { tool } from "capsule-plugin")`);
  return { ...capsule, module };
}

/**
 * For a plugin's unit tests in Node: bundle and import `entry` (TypeScript is fine) and return
 * `{ dispatch, fs, module }` of that bundle: `dispatch.callTool(...)` runs a tool exactly as the
 * component does, `fs.useHostRoot(dir)` serves guest paths from a host folder, `module` holds
 * the entry's own exports.
 */
export async function loadPlugin(entry) {
  const work = mkdtempSync(join(tmpdir(), "capsule-js-"));
  try {
    return await load(resolve(entry), work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function asyncHandlers(registry) {
  const all = [
    ...registry.tools.map((t) => [`tool ${t.name}`, t.handler]),
    ...registry.resources.map((r) => [`resource ${r.uri}`, r.read]),
    ...registry.templates.map((t) => [`resource template ${t.uriTemplate}`, t.read]),
    ...registry.listers.map((l, i) => [`resource list #${i + 1}`, l]),
    ...registry.prompts.map((p) => [`prompt ${p.name}`, p.render]),
    ...registry.completers.map((c) => [`completion of ${c.target} ${c.argument}`, c.complete]),
  ];
  return all.filter(([, fn]) => fn && fn.constructor && fn.constructor.name.startsWith("Async")).map(([what]) => what);
}

function witDir(work, customWit, world) {
  const dir = join(work, "wit");
  const deps = join(dir, "deps");
  mkdirSync(join(deps, "capsule-plugin"), { recursive: true });
  cpSync(customWit ? resolve(customWit) : join(SDK, "wit", "plugin.wit"), join(deps, "capsule-plugin", "plugin.wit"));
  let builtin;
  try {
    builtin = join(packageDir("@bytecodealliance/jco"), "lib", "wit", "builtin", WASI_VERSION);
  } catch {
    throw new BuildError(`@bytecodealliance/jco (for the WASI WIT files) is not installed: run \`npm ci\` in ${SDK}`);
  }
  for (const pkg of ["io", "clocks", "filesystem"]) {
    mkdirSync(join(deps, `wasi-${pkg}`), { recursive: true });
    cpSync(join(builtin, `wasi-${pkg}`, "package.wit"), join(deps, `wasi-${pkg}`, "package.wit"));
  }
  // The plugin's world: the capsule world it exports, plus the WASI filesystem the `fs` helper uses.
  writeFileSync(
    join(dir, "world.wit"),
    `package capsule:js-guest;\n\nworld plugin {\n  include capsule:plugin/${world}@${WIT_VERSION};\n  import wasi:filesystem/preopens@${WASI_VERSION};\n}\n`,
  );
  return dir;
}

export function entrySource(userEntry, engine, world, defaultName) {
  const exported = ["plugin"];
  if (world === "full-plugin" || world.includes("tools")) exported.push("tools");
  if (world === "full-plugin" || world.includes("resources")) exported.push("resources");
  if (world === "full-plugin" || world.includes("prompts")) exported.push("prompts");
  // Every world with resources or prompts exports completions (capsule:plugin@0.2.0).
  if (exported.includes("resources") || exported.includes("prompts")) exported.push("completions");
  return [
    "// Generated by capsule-js build: binds the host imports, loads the plugin, exports the world.",
    `import * as host from "capsule:plugin/host@${WIT_VERSION}";`,
    `import { getDirectories } from "wasi:filesystem/preopens@${WASI_VERSION}";`,
    `import { bind, exportsFor } from ${JSON.stringify(COMPONENT)};`,
    `import ${JSON.stringify(userEntry)};`,
    "",
    `bind({ engine: ${JSON.stringify(engine)}, host, getDirectories, defaultName: ${JSON.stringify(defaultName)} });`,
    "const exported = exportsFor();",
    ...exported.map((name) => `export const ${name} = exported.${name};`),
    "",
  ].join("\n");
}

async function componentize(engine, { bundlePath, wit }) {
  if (engine === "quickjs") {
    let qjs;
    try {
      qjs = await import("componentize-qjs");
    } catch {
      throw new BuildError(`componentize-qjs is not installed: run \`npm ci\` in ${SDK}`);
    }
    const componentizeQjs = qjs.componentize ?? qjs.default?.componentize;
    const { component } = await componentizeQjs({
      witPath: wit,
      jsSource: readFileSync(bundlePath, "utf8"),
      jsPath: bundlePath,
      world: "plugin",
      sync: true,
    });
    return component;
  }
  let sm;
  try {
    sm = await import("@bytecodealliance/componentize-js");
  } catch {
    throw new BuildError(`@bytecodealliance/componentize-js is not installed: run \`npm ci\` in ${SDK}`);
  }
  const { component } = await sm.componentize({
    sourcePath: bundlePath,
    witPath: wit,
    worldName: "plugin",
    // Capsule grants no network for now, and the fetch machinery imports wasi:http.
    disableFeatures: ["http", "fetch-event"],
  });
  return component;
}

export async function build(opts) {
  if (!opts.entry) throw new BuildError("build needs the plugin's entry module");
  const entry = resolve(opts.entry);
  statSync(entry);
  const stem = basename(entry, extname(entry));
  const output = resolve(opts.output ?? `${stem}.wasm`);
  const work = mkdtempSync(join(tmpdir(), "capsule-js-"));
  const started = Date.now();
  try {
    let world = opts.world;
    let summary = "";
    if (!world) {
      const { registry, dispatch } = await load(entry, work);
      world = dispatch.world();
      const problems = dispatch.problems();
      if (problems.length) throw new BuildError(`${entry}: ${problems.join("; ")}`);
      for (const t of registry.tools) {
        if (t.notPortable?.length) {
          console.error(
            `warning: tool ${t.name}: the input schema is not portable (OpenAI strict mode, Gemini): ` +
              `${t.notPortable.join("; ")}. The host reports it as non-portable.`,
          );
        }
      }
      if (opts.engine === "quickjs") {
        const asyncOnes = asyncHandlers(registry);
        if (asyncOnes.length) {
          throw new BuildError(
            `${asyncOnes.join(", ")}: async handlers need --engine starlingmonkey (a QuickJS component ` +
              "cannot wait for a Promise); or make them plain functions",
          );
        }
      }
      summary = `${registry.tools.length} tools, ${registry.resources.length} resources, ${registry.templates.length} templates, ${registry.prompts.length} prompts`;
    }
    const entryFile = join(work, "entry.js");
    writeFileSync(entryFile, entrySource(entry, opts.engine, world, stem));
    const bundlePath = join(work, "bundle.js");
    await bundle({ entry: entryFile, outfile: bundlePath, platform: "neutral", minify: opts.minify });
    const wit = witDir(work, opts.wit, world);
    const component = await componentize(opts.engine, { bundlePath, wit });
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, component);
    const mb = (component.length / 1e6).toFixed(1);
    console.error(`${output}: ${world} (${opts.engine})${summary ? `, ${summary}` : ""}; ${mb} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function inspect(opts) {
  if (!opts.entry) throw new BuildError("inspect needs the plugin's entry module");
  const work = mkdtempSync(join(tmpdir(), "capsule-js-"));
  try {
    const { registry, dispatch } = await load(resolve(opts.entry), work);
    registry.defaultName = basename(opts.entry, extname(opts.entry));
    const strip = ({ handler: _h, read: _r, render: _p, parsed: _t, ...rest }) => rest;
    const out = {
      world: dispatch.world(),
      metadata: dispatch.describe(),
      tools: registry.tools.map(strip),
      resources: dispatch.listResources(),
      resourceTemplates: registry.templates.map(strip),
      prompts: registry.prompts.map(strip),
      completions: registry.completers.map(({ kind, target, argument }) => ({ kind, target, argument })),
    };
    console.log(JSON.stringify(out, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
