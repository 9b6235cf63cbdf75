#!/usr/bin/env node
// capsule-js — build a Capsule plugin component from a JavaScript or TypeScript module.
//
//   capsule-js build plugin.ts -o plugin.wasm [--engine quickjs|starlingmonkey] [--world W] [--minify]
//   capsule-js inspect plugin.ts          # what the plugin declares, as JSON, without building
//
// build: (1) bundles the module for Node and imports it, to read what it declares and catch
// mistakes early; (2) picks the WIT world that exports exactly that; (3) bundles it again with a
// generated entry module that binds the host imports and exports the WIT interfaces; (4) runs the
// engine's componentizer on that bundle.

import { BuildError, build, inspect, parseArgs, usage } from "../src/build.js";

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.command === "build") return build(opts);
  if (opts.command === "inspect") return inspect(opts);
  console.log(usage());
  if (opts.command !== "help" && opts.command !== undefined) process.exitCode = 2;
}

main().catch((e) => {
  console.error(`error: ${e instanceof BuildError ? e.message : (e.stack ?? e)}`);
  process.exitCode = 1;
});
