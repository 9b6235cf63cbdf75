// Tests of what capsule:plugin@0.2.0 added to the JS SDK, in plain Node: input required (elicitation,
// sampling, roots) and the resumption, completions, client capabilities, resource updates, and the
// component glue's WIT shapes for them. `node --test sdk-guest/js/test/` (one process per file).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ClientCapabilities,
  Resumption,
  classify,
  clientCapabilities,
  completion,
  dispatch,
  elicit,
  elicitUrl,
  image,
  inputRequired,
  isInputRequired,
  listRoots,
  nativeHost,
  prompt,
  resourceTemplate,
  resourceUpdated,
  sample,
  assistant,
  tool,
  toolError,
  user,
} from "../src/index.js";
import { bind, exportsFor } from "../src/component.js";
import { entrySource } from "../src/build.js";

const who = { type: "object", properties: { name: { type: "string" }, seats: { type: "integer" } }, required: ["name"] };

tool(
  { name: "book", inputSchema: { type: "object", properties: { seats: { type: "integer" } }, required: ["seats"] }, outputSchema: { type: "object" } },
  ({ seats }, resume) => {
    if (!resume) return inputRequired(elicit("who", "Who are the seats for?", who), { seats });
    const answer = resume.elicited("who");
    if (!answer) return toolError(`not booked: ${resume.action("who") ?? "no answer"}`);
    return { who: answer.name, seats: resume.stateJson().seats };
  },
);
tool({ name: "survey" }, (_args, resume) => {
  if (!resume?.has("roots")) return inputRequired([listRoots("roots"), sample("title", "Name this project", { maxTokens: 20 })]);
  return `${resume.sampledText("title")}: ${resume.roots("roots").map((r) => r.name ?? r.uri).join(", ")}`;
});
tool({ name: "plain" }, (args) => `plain ${Object.keys(args).length}`);
tool({ name: "later" }, async (_args, resume) => (resume ? "done" : inputRequired(listRoots("r"), "step-1")));

prompt({ name: "review", arguments: [{ name: "topic", required: true }, { name: "depth" }] }, ({ topic, depth }, resume) => {
  if (!resume) return inputRequired(elicit("focus", `Focus of the ${depth ?? "quick"} review of ${topic}?`), new Uint8Array([0, 255]));
  return [user(`Review ${topic}, focusing on ${resume.elicited("focus")?.focus ?? "anything"}.`), assistant(`state ${[...resume.state]}`)];
});
resourceTemplate({ uriTemplate: "files://{name}", name: "files" }, ({ name }) => name);

completion({ prompt: "review", argument: "topic" }, (value, context) =>
  ["python", "pytest", "rust"].filter((t) => t.startsWith(value)).concat(`depth=${context.depth}`),
);
completion({ template: "files://{name}", argument: "name" }, (value) => Array.from({ length: 150 }, (_, i) => `${value}${i}`));

test("a first round asks, with state; the next reads the answers by key", () => {
  const asked = dispatch.callTool("book", { seats: 2 });
  assert.ok(isInputRequired(asked));
  assert.deepEqual(asked.requests, [{ key: "who", kind: "elicitation", params: { message: "Who are the seats for?", requestedSchema: who } }]);
  assert.equal(new TextDecoder().decode(asked.state), '{"seats":2}');
  const state = asked.state;
  const done = dispatch.callTool("book", '{"seats": 2}', { responses: { who: '{"action":"accept","content":{"name":"Ada"}}' }, state });
  assert.deepEqual(done.structuredContent, { who: "Ada", seats: 2 });
  const declined = dispatch.callTool("book", { seats: 2 }, new Resumption([["who", { action: "decline" }]], state));
  assert.equal(declined.isError, true);
  assert.equal(declined.content[0].text, "not booked: decline");
  assert.equal(dispatch.callTool("book", { seats: 2 }, { state }).content[0].text, "not booked: no answer");
});

test("roots and sampling; plain handlers ignore the resumption", async () => {
  const asked = dispatch.callTool("survey");
  assert.deepEqual(asked.requests.map((r) => [r.key, r.kind]), [["roots", "list-roots"], ["title", "sampling"]]);
  assert.equal(asked.requests[0].params, undefined);
  assert.deepEqual(asked.requests[1].params, { messages: [{ role: "user", content: { type: "text", text: "Name this project" } }], maxTokens: 20 });
  assert.equal(asked.state, undefined);
  const out = dispatch.callTool("survey", {}, {
    responses: {
      roots: '{"roots":[{"uri":"file:///src","name":"src"},{"uri":"file:///doc"}]}',
      title: '{"role":"assistant","content":{"type":"text","text":"Capsule"},"model":"m"}',
    },
  });
  assert.equal(out.content[0].text, "Capsule: src, file:///doc");
  assert.equal(dispatch.callTool("plain", { a: 1 }, { responses: {} }).content[0].text, "plain 1");
  const later = await dispatch.callTool("later");
  assert.equal(new TextDecoder().decode(later.state), "step-1");
});

test("prompts ask too", () => {
  const asked = dispatch.getPrompt("review", { topic: "tests" });
  assert.ok(isInputRequired(asked));
  assert.deepEqual(asked.requests[0].params, { message: "Focus of the quick review of tests?", requestedSchema: { type: "object", properties: {} } });
  const out = dispatch.getPrompt("review", [["topic", "tests"]], { responses: { focus: { action: "accept", content: { focus: "speed" } } }, state: asked.state });
  assert.deepEqual(out.messages.map((m) => m.content.text), ["Review tests, focusing on speed.", "state 0,255"]);
});

test("request builders and their checks", () => {
  assert.deepEqual(elicitUrl("login", "Sign in", "https://example.com/a", "e-1").params, { mode: "url", message: "Sign in", url: "https://example.com/a", elicitationId: "e-1" });
  const s = sample("s", [user("hi"), assistant("hello"), user(image(new Uint8Array([1, 2, 3, 4]), "image/png"))], { maxTokens: 5, systemPrompt: "Be brief." });
  assert.deepEqual(s.params.messages[1], { role: "assistant", content: { type: "text", text: "hello" } });
  assert.deepEqual(s.params.messages[2].content, { type: "image", data: "AQIDBA==", mimeType: "image/png" });
  assert.equal(s.params.systemPrompt, "Be brief.");
  const raw = { messages: [], maxTokens: 3, includeContext: "none" };
  assert.deepEqual(sample("r", raw).params, raw);
  assert.throws(() => elicit("x", "m", { type: "string" }), /object schema/);
  assert.throws(() => listRoots(""), /non-empty/);
  assert.throws(() => inputRequired([]), /at least one request/);
  assert.throws(() => inputRequired([listRoots("a"), elicit("a", "m")]), /"a" is used twice/);
  assert.throws(() => inputRequired({ key: "x", kind: "list-roots" }), /not an input request/);
  assert.throws(() => inputRequired(listRoots("a"), new Uint8Array(16385)), /over the host's limit of 16384/);
  assert.equal(inputRequired(listRoots("a"), new Uint8Array(16384)).state.length, 16384);
  assert.deepEqual([...inputRequired(listRoots("a"), "é").state], [0xc3, 0xa9]);
});

test("resumption helpers", () => {
  const r = new Resumption({ bad: "not json", e: '{"action":"cancel"}', s: { content: [{ type: "text", text: "a" }, { type: "image" }, { type: "text", text: "b" }] } }, "x");
  assert.equal(r.get("bad"), "not json");
  assert.equal(r.action("bad"), undefined);
  assert.equal(r.action("e"), "cancel");
  assert.equal(r.elicited("e"), undefined);
  assert.equal(r.sampledText("s"), "ab");
  assert.equal(r.roots("e"), undefined);
  assert.equal(r.stateText(), "x");
  assert.equal(new Resumption().stateJson(), undefined);
  assert.ok(r.has("e") && !r.has("nope"));
});

test("completions", () => {
  assert.deepEqual(dispatch.complete({ prompt: "review" }, "topic", "py", { depth: "deep" }), { values: ["python", "pytest", "depth=deep"], total: 3, hasMore: false });
  const many = dispatch.complete({ template: "files://{name}" }, "name", "f", [["x", "y"]]);
  assert.deepEqual([many.values.length, many.total, many.hasMore, many.values[0]], [100, 150, true, "f0"]);
  assert.deepEqual(dispatch.complete({ prompt: "review" }, "depth", ""), { values: [], total: undefined, hasMore: false });
  assert.deepEqual(classify(catchIt(() => dispatch.complete({ prompt: "nope" }, "a", ""))), ["not-found", "unknown prompt `nope`"]);
  assert.deepEqual(classify(catchIt(() => dispatch.complete({ template: "x://{y}" }, "y", ""))), ["not-found", "unknown resource template `x://{y}`"]);
  assert.deepEqual(dispatch.problems(), []);
  assert.throws(() => completion({ argument: "a" }, () => []), /exactly one of prompt or template/);
  assert.throws(() => completion({ prompt: "review", argument: "topic" }, () => []), /two completers/);
  completion({ prompt: "ghost", argument: "a" }, () => []);
  completion({ template: "files://{name}", argument: "nom" }, () => []);
  assert.deepEqual(dispatch.problems(), ["completion for unknown prompt ghost", "completion for unknown variable nom of template files://{name}"]);
});

test("client capabilities and resource updates (native stand-in)", () => {
  nativeHost.capabilities = { elicitation: {}, roots: { listChanged: true } };
  const caps = clientCapabilities();
  assert.deepEqual([caps.elicitation, caps.elicitationUrl, caps.sampling, caps.roots], [true, false, false, true]);
  assert.deepEqual(caps.declared.roots, { listChanged: true });
  assert.ok(caps.supports(listRoots("r")) && !caps.supports(sample("s", "x")));
  const urlOnly = new ClientCapabilities({ elicitation: { url: {} } });
  assert.ok(!urlOnly.elicitation && urlOnly.elicitationUrl && urlOnly.supports(elicitUrl("u", "m", "https://x", "1")));
  assert.ok(new ClientCapabilities({ elicitation: { form: {}, url: {} } }).elicitation);
  assert.deepEqual(ClientCapabilities.parse("[1]").declared, {});
  assert.deepEqual(ClientCapabilities.parse("{bad").declared, {});
  nativeHost.capabilities = {};
  resourceUpdated("files://a");
  assert.deepEqual(nativeHost.updated, ["files://a"]);
});

test("the component glue: WIT shapes of outcomes, resumptions, completions and host imports", () => {
  const calls = [];
  const host = {
    log: () => {},
    progress: () => {},
    cancelled: () => false,
    clientCapabilities: () => '{"sampling":{}}',
    resourceUpdated: (uri) => calls.push(uri),
  };
  bind({ engine: "quickjs", host, getDirectories: () => [], defaultName: "demo" });
  try {
    const e = exportsFor();
    const first = e.tools.callTool("book", '{"seats":3}', undefined);
    assert.equal(first.tag, "input-required");
    assert.equal(first.val.requests[0][0], "who");
    assert.equal(first.val.requests[0][1].tag, "elicitation");
    assert.deepEqual(JSON.parse(first.val.requests[0][1].val).requestedSchema, who);
    const again = e.tools.callTool("book", '{"seats":3}', { responses: [["who", '{"action":"accept","content":{"name":"Bo"}}']], state: first.val.state });
    assert.equal(again.tag, "complete");
    assert.equal(again.val.structuredContent, '{"who":"Bo","seats":3}');
    const survey = e.tools.callTool("survey", "{}", undefined).val.requests;
    assert.deepEqual(survey[0], ["roots", { tag: "list-roots" }]);
    assert.equal(survey[1][1].tag, "sampling");
    assert.equal(e.tools.callTool("plain", "{}", { responses: [], state: undefined }).tag, "complete");
    assert.throws(() => e.tools.callTool("nope", "{}", undefined), (err) => err.tag === "not-found");
    const asked = e.prompts.getPrompt("review", [["topic", "x"]], undefined);
    assert.equal(asked.tag, "input-required");
    assert.deepEqual([...asked.val.state], [0, 255]);
    const done = e.prompts.getPrompt("review", [["topic", "x"]], { responses: [], state: asked.val.state });
    assert.equal(done.tag, "complete");
    assert.equal(done.val.messages[1].content.val.text, "state 0,255");
    // Engines lift a WIT list<u8> differently (StarlingMonkey: not a Uint8Array of this realm).
    for (const state of [[0, 255], new Int8Array([0, -1]), new DataView(new Uint8Array([0, 255]).buffer), new Uint8Array([0, 255]).buffer]) {
      assert.equal(e.prompts.getPrompt("review", [["topic", "x"]], { responses: [], state }).val.messages[1].content.val.text, "state 0,255");
    }
    assert.deepEqual(e.completions.complete({ tag: "prompt", val: "review" }, "topic", "ru", [["depth", "quick"]]), { values: ["rust", "depth=quick"], total: 2, hasMore: false });
    assert.deepEqual(e.completions.complete({ tag: "resource-template", val: "files://{name}" }, "name", "", []).hasMore, true);
    assert.deepEqual(e.completions.complete({ tag: "prompt", val: "review" }, "depth", "", []), { values: [], total: undefined, hasMore: false });
    assert.throws(() => e.completions.complete({ tag: "prompt", val: "nope" }, "a", "", []), (err) => err.tag === "not-found");
    // Host functions go to the bound host.
    assert.ok(clientCapabilities().sampling);
    resourceUpdated("files://b");
    assert.deepEqual(calls, ["files://b"]);
  } finally {
    bind({ engine: "node", host: undefined, getDirectories: undefined });
  }
});

test("the generated entry imports host@0.2.0 and exports completions with resources or prompts", () => {
  assert.match(entrySource("/x.ts", "quickjs", "tools-plugin", "x"), /capsule:plugin\/host@0\.2\.0/);
  assert.doesNotMatch(entrySource("/x.ts", "quickjs", "tools-plugin", "x"), /completions/);
  assert.match(entrySource("/x.ts", "quickjs", "prompts-plugin", "x"), /export const completions = exported\.completions;/);
  assert.match(entrySource("/x.ts", "quickjs", "full-plugin", "x"), /export const completions/);
  assert.doesNotMatch(entrySource("/x.ts", "quickjs", "plugin-base", "x"), /completions/);
});

function catchIt(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}
