// Unit tests of the JS guest SDK in plain Node (no component): `node --test sdk-guest/js/test/`.
// Each test file runs in its own process, so the module-level registry belongs to this file.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  Denied,
  InvalidArguments,
  NotFound,
  classify,
  contents,
  decodeUtf8,
  dispatch,
  embeddedResource,
  encodeUtf8,
  fs,
  image,
  plugin,
  prompt,
  resource,
  resourceList,
  resourceTemplate,
  text,
  tool,
  toolError,
  user,
  assistant,
  UriTemplate,
} from "../src/index.js";
import { bind, exportsFor } from "../src/component.js";
import { parseArgs } from "../src/build.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "..", "..", "..");

plugin({ name: "demo", version: "1.2.3", filesystem: [{ path: "/data", access: "read-only", reason: "tests" }] });

tool(
  {
    name: "add",
    description: "Add",
    inputSchema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] },
    outputSchema: { type: "object", properties: { sum: { type: "number" } }, required: ["sum"] },
  },
  ({ a, b }) => ({ sum: a + b }),
);
tool({ name: "greet", description: "Greet", inputSchema: { type: "object", properties: { name: { type: "string" } } } }, ({ name }) => `Hello, ${name}!`);
tool({ name: "nothing", description: "Nothing" }, () => undefined);
tool({ name: "picture", description: "Blocks" }, () => [text("a picture"), image(new Uint8Array([137, 80]), "image/png")]);
tool({ name: "soft", description: "isError result" }, () => toolError("read this"));
tool({ name: "later", description: "async" }, async () => ({ done: true }));
tool({ name: "typed", description: "typed errors", inputSchema: { type: "object", properties: { kind: { type: "string" } } } }, ({ kind }) => {
  if (kind === "invalid") throw new InvalidArguments("bad kind");
  if (kind === "missing") throw new NotFound("no such thing");
  if (kind === "denied") throw new Denied("not granted");
  return null.boom;
});
tool({ name: "number", description: "a number", outputSchema: { type: "object" } }, () => 42);
tool({ name: "big", description: "a resource link with a size" }, () => ({ content: [] }));

resource({ uri: "demo://about", name: "about", mimeType: "text/plain" }, () => "hello");
resource({ uri: "demo://config", name: "config" }, () => ({ debug: false }));
resource({ uri: "demo://bytes", name: "bytes" }, () => new Uint8Array([1, 2, 3]));
resourceTemplate({ uriTemplate: "demo://{name}/raw", name: "raw", mimeType: "text/plain" }, ({ name }, uri) => [contents({ uri, text: `raw ${name}` })]);
resourceList(() => [{ uri: "demo://listed", name: "listed", size: 12 }]);

prompt(
  { name: "brainstorm", description: "Ideas", arguments: [{ name: "topic", required: true }, { name: "count" }] },
  ({ topic, count }) => `Give me ${count ?? 5} ideas about ${topic}.`,
);
prompt({ name: "chat", description: "Chat" }, () => [user("hi"), assistant("hello"), user(embeddedResource({ uri: "demo://about", text: "x" }))]);

test("tools dispatch to handlers and shape their results", async () => {
  const sum = dispatch.callTool("add", '{"a": 1, "b": 2}');
  assert.deepEqual(sum.structuredContent, { sum: 3 });
  assert.equal(sum.content[0].text, '{"sum":3}');
  assert.equal(dispatch.callTool("greet", { name: "Ada" }).content[0].text, "Hello, Ada!");
  assert.deepEqual(dispatch.callTool("nothing", "").content, []);
  assert.deepEqual(dispatch.callTool("picture").content.map((b) => b.type), ["text", "image"]);
  const soft = dispatch.callTool("soft");
  assert.equal(soft.isError, true);
  assert.equal(soft.content[0].text, "read this");
  const later = dispatch.callTool("later");
  assert.ok(later instanceof Promise, "an async handler's result stays a promise in Node");
  assert.deepEqual((await later).structuredContent, { done: true });
});

test("errors map to the WIT cases", () => {
  const kindOf = (fn) => {
    try {
      fn();
    } catch (e) {
      return classify(e);
    }
    return undefined;
  };
  assert.deepEqual(kindOf(() => dispatch.callTool("typed", { kind: "invalid" })), ["invalid-arguments", "bad kind"]);
  assert.deepEqual(kindOf(() => dispatch.callTool("typed", { kind: "missing" })), ["not-found", "no such thing"]);
  assert.deepEqual(kindOf(() => dispatch.callTool("typed", { kind: "denied" })), ["denied", "not granted"]);
  const [kind, message] = kindOf(() => dispatch.callTool("typed", { kind: "other" }));
  assert.equal(kind, "internal");
  assert.match(message, /^TypeError: /);
  assert.deepEqual(kindOf(() => dispatch.callTool("nope")), ["not-found", "unknown tool `nope`"]);
  assert.deepEqual(kindOf(() => dispatch.callTool("add", "{oops")).at(0), "invalid-arguments");
  assert.match(kindOf(() => dispatch.callTool("number"))[1], /declares an outputSchema/);
  assert.deepEqual(classify("plain string"), ["internal", "thrown: plain string"]);
});

test("declarations are checked", () => {
  for (const name of ["", "a__b", "_x", "has space", "x".repeat(65)]) {
    assert.throws(() => tool({ name }, () => 1), /invalid tool name/);
  }
  assert.throws(() => tool({ name: "add" }, () => 1), /declared twice/);
  assert.throws(() => tool({ name: "arr", inputSchema: { type: "array" } }, () => 1), /object schema/);
  assert.throws(() => plugin({ filesystem: [{ path: "data" }] }), /absolute/);
});

test("resources, templates and listed resources", () => {
  assert.deepEqual(dispatch.listResources().map((r) => r.uri), ["demo://about", "demo://config", "demo://bytes", "demo://listed"]);
  assert.deepEqual(dispatch.readResource("demo://about"), [{ uri: "demo://about", text: "hello", mimeType: "text/plain" }]);
  assert.deepEqual(dispatch.readResource("demo://config")[0], { uri: "demo://config", text: '{"debug":false}', mimeType: "application/json" });
  assert.deepEqual(dispatch.readResource("demo://bytes")[0].blob, new Uint8Array([1, 2, 3]));
  const raw = dispatch.readResource("demo://a%2Fb/raw")[0];
  assert.equal(raw.text, "raw a/b");
  assert.equal(raw.mimeType, "text/plain");
  assert.throws(() => dispatch.readResource("other://x"), NotFound);
});

test("prompts", () => {
  const out = dispatch.getPrompt("brainstorm", [["topic", "tea"]]);
  assert.equal(out.description, "Ideas");
  assert.equal(out.messages[0].role, "user");
  assert.equal(out.messages[0].content.text, "Give me 5 ideas about tea.");
  assert.deepEqual(dispatch.getPrompt("chat").messages.map((m) => m.role), ["user", "assistant", "user"]);
  assert.throws(() => dispatch.getPrompt("brainstorm", {}), /missing required argument `topic`/);
  assert.throws(() => dispatch.getPrompt("nope"), NotFound);
  assert.equal(dispatch.world(), "full-plugin");
});

test("URI templates follow the shared vectors (tests/vectors/uri_templates.json)", () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const vectors = JSON.parse(readFileSync(join(here, "../../../tests/vectors/uri_templates.json"), "utf8"));
  for (const c of vectors.cases) {
    const got = new UriTemplate(c.template).match(c.uri);
    assert.deepEqual(got, c.values === null ? undefined : c.values, `${c.template} against ${c.uri}`);
  }
  assert.equal(new UriTemplate("x://{a}-{b}-{c}").match(`x://${"-".repeat(20000)}/`), undefined);
});

test("UTF-8 round trips and rejects invalid input", () => {
  const s = "héllo wörld € 😀";
  assert.deepEqual(encodeUtf8(s), new Uint8Array(Buffer.from(s, "utf8")));
  assert.equal(decodeUtf8(encodeUtf8(s)), s);
  assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), "A");
  assert.throws(() => decodeUtf8(new Uint8Array([0x4a, 0xe9, 0x41])), /invalid UTF-8: byte 0x41 at offset 2/);
  assert.throws(() => decodeUtf8(new Uint8Array([0xc3])), /truncated/);
  assert.throws(() => decodeUtf8(new Uint8Array([0xed, 0xa0, 0x80])), /invalid UTF-8/);
});

test("fs in Node reads below the test root", () => {
  assert.throws(() => fs.readText("/README.md"), Denied);
  fs.useHostRoot(join(REPO, "plugins", "markdown"));
  try {
    assert.match(fs.readText("/docs/guide.md"), /^# Writing plugins/);
    assert.ok(fs.list("/docs").some((e) => e.name === "guide.md" && e.type === "file"));
    assert.equal(fs.exists("/docs/nope.md"), false);
    assert.throws(() => fs.readText("/docs/nope.md"), NotFound);
    assert.throws(() => fs.readText("docs/guide.md"), InvalidArguments);
  } finally {
    fs.useHostRoot(undefined);
  }
});

test("component exports convert to the engines' WIT shapes", () => {
  bind({ engine: "starlingmonkey", host: undefined, getDirectories: () => [], defaultName: "demo" });
  const e = exportsFor();
  assert.equal(e.plugin.describe().requests.filesystem[0].access, "read-only");
  const listed = e.resources.listResources().find((r) => r.uri === "demo://listed");
  assert.equal(listed.size, 12n, "u64 is a BigInt for StarlingMonkey");
  assert.equal(e.tools.listTools().find((t) => t.name === "add").outputSchema, '{"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]}');
  const done = e.tools.callTool("add", '{"a":2,"b":3}');
  assert.deepEqual(done, { tag: "complete", val: { content: [{ tag: "text", val: { text: '{"sum":5}', annotations: undefined } }], structuredContent: '{"sum":5}', isError: false, meta: undefined } });
  assert.throws(() => e.tools.callTool("typed", '{"kind":"missing"}'), (err) => err.tag === "not-found" && err.val === "no such thing");
  assert.throws(() => e.tools.callTool("typed", '{"kind":"other"}'), (err) => err.tag === "internal" && /TypeError/.test(err.val));
  const rendered = e.prompts.getPrompt("chat", []);
  assert.equal(rendered.tag, "complete");
  const blocks = rendered.val.messages.map((m) => m.content.tag);
  assert.deepEqual(blocks, ["text", "text", "embedded-resource"]);
  assert.deepEqual(e.resources.readResource("demo://bytes")[0].body, { tag: "blob", val: new Uint8Array([1, 2, 3]) });

  bind({ engine: "quickjs", host: undefined, getDirectories: () => [] });
  assert.equal(exportsFor().resources.listResources().find((r) => r.uri === "demo://listed").size, 12, "u64 is a number for QuickJS");
  assert.throws(() => exportsFor().tools.callTool("later", "{}"), (err) => err.tag === "internal" && /QuickJS component cannot wait/.test(err.val));
  bind({ engine: "node", host: undefined, getDirectories: undefined });
});

test("the CLI's options and the packaged WIT", () => {
  assert.equal(parseArgs(["build", "a.ts", "-o", "a.wasm"]).engine, "quickjs");
  assert.throws(() => parseArgs(["build", "a.ts", "--engine", "v8"]), /--engine is one of/);
  const packaged = readFileSync(join(HERE, "..", "wit", "plugin.wit"), "utf8");
  assert.equal(packaged, readFileSync(join(REPO, "wit", "plugin.wit"), "utf8"), "sdk-guest/js/wit/plugin.wit is stale: `make guest-wit`");
});
