// Portable input schemas (issue #21 item 4): what `tool()` publishes for a hand-written
// inputSchema, what it refuses, what it reports, and how nulls of optional properties are removed
// before the handler runs. `node --test sdk-guest/js/test/`.

import assert from "node:assert/strict";
import { test } from "node:test";

import { dispatch, portableInputSchema, tool } from "../src/index.js";
import { findings } from "./portable-profile.mjs";

const NULL = { type: "null" };
const portable = (schema) => portableInputSchema(schema).schema;

test("no inputSchema is a closed object without properties", () => {
  tool({ name: "ping", description: "ping" }, () => "pong");
  const t = dispatch.tools().find((x) => x.name === "ping");
  assert.deepEqual(t.inputSchema, { type: "object", properties: {}, required: [], additionalProperties: false });
  assert.deepEqual(portable({ type: "object" }), { type: "object", properties: {}, required: [], additionalProperties: false });
});

test("optional properties become nullable and required; defaults become text", () => {
  const out = portable({
    type: "object",
    properties: {
      text: { type: "string", description: "The input" },
      level: { type: "integer", minimum: 1, maximum: 6, default: 6, description: "How deep" },
      sep: { type: "string", default: ",", description: "The separator." },
      maybe: { type: ["string", "null"] },
    },
    required: ["text", "maybe"],
  });
  assert.deepEqual(out, {
    type: "object",
    properties: {
      text: { type: "string", description: "The input" },
      level: { anyOf: [{ type: "integer", minimum: 1, maximum: 6 }, NULL], description: "How deep. Default: 6." },
      sep: { anyOf: [{ type: "string" }, NULL], description: 'The separator. Default: ",".' },
      maybe: { anyOf: [{ type: "string" }, NULL] },
    },
    required: ["level", "maybe", "sep", "text"], // sorted by name, as the host publishes properties
    additionalProperties: false,
  });
  assert.deepEqual(Object.keys(out.properties), out.required);
  assert.deepEqual(findings(out), []);
});

test("nested objects and array items are closed too", () => {
  const out = portable({
    type: "object",
    properties: {
      filter: { type: "object", properties: { column: { type: "string" }, value: { type: "string" } }, required: ["column"] },
      rows: { type: "array", items: { type: "object", properties: { id: { type: "integer" } } } },
    },
    required: ["filter", "rows"],
  });
  assert.deepEqual(out.properties.filter, {
    type: "object",
    properties: { column: { type: "string" }, value: { anyOf: [{ type: "string" }, NULL] } },
    required: ["column", "value"],
    additionalProperties: false,
  });
  assert.deepEqual(out.properties.rows.items, {
    type: "object",
    properties: { id: { anyOf: [{ type: "integer" }, NULL] } },
    required: ["id"],
    additionalProperties: false,
  });
  assert.deepEqual(findings(out), []);
});

test("local $refs are inlined, their siblings kept, $defs dropped", () => {
  const out = portable({
    type: "object",
    $defs: { Point: { type: "object", properties: { x: { type: "number" }, y: { type: "number" } }, required: ["x", "y"] } },
    properties: {
      from: { $ref: "#/$defs/Point", description: "Start" },
      to: { $ref: "#/$defs/Point" },
      path: { type: "array", items: { $ref: "#/$defs/Point" } },
    },
    required: ["from", "to", "path"],
  });
  const point = { type: "object", properties: { x: { type: "number" }, y: { type: "number" } }, required: ["x", "y"], additionalProperties: false };
  assert.deepEqual(out.properties.from, { ...point, description: "Start" });
  assert.deepEqual(out.properties.to, point);
  assert.deepEqual(out.properties.path.items, point);
  assert.ok(!("$defs" in out) && !JSON.stringify(out).includes("$ref"));
  assert.deepEqual(findings(out), []);
});

test("type arrays become anyOf, each keyword on its branch", () => {
  assert.deepEqual(
    portable({ type: "object", properties: { v: { type: ["string", "integer", "null"], pattern: "^a", minimum: 0, enum: undefined } }, required: ["v"] })
      .properties.v,
    { anyOf: [{ type: "string", pattern: "^a" }, { type: "integer", minimum: 0 }, NULL] },
  );
  assert.deepEqual(
    portable({ type: "object", properties: { v: { type: ["string", "null"], enum: ["a", null], description: "V" } }, required: ["v"] }).properties.v,
    { anyOf: [{ type: "string", enum: ["a"] }, NULL], description: "V" },
  );
  assert.deepEqual(portable({ type: "object", properties: { c: { const: "x" } }, required: ["c"] }).properties.c, { enum: ["x"], type: "string" });
  assert.deepEqual(portable({ type: "object", properties: { e: { enum: ["a", "b"] } }, required: ["e"] }).properties.e, { enum: ["a", "b"], type: "string" });
});

test("keywords with no portable form are refused when the tool is declared", () => {
  const cases = [
    [{ type: "string", minLength: 1 }, /at \.x: the schema keyword `minLength` is not portable.*pattern/],
    [{ type: "integer", exclusiveMinimum: 0 }, /`exclusiveMinimum`.*use `minimum`/],
    [{ oneOf: [{ type: "string" }, { type: "integer" }] }, /`oneOf`.*use `anyOf`/],
    [{ type: "integer", enum: [1, 2] }, /enum lists strings only/],
    [{ type: "string", format: "email" }, /format "email" is not portable/],
    [{ type: "integer", pattern: "^1$" }, /`pattern` applies to string values, not to integer/],
    [{ type: "array", items: { type: "string" }, uniqueItems: true }, /`uniqueItems` is not portable/],
    [{ $ref: "https://example.com/s.json" }, /only local \$refs/],
    [{ $ref: "#/$defs/Nope" }, /points at nothing/],
  ];
  for (const [x, message] of cases) {
    assert.throws(() => tool({ name: "bad", inputSchema: { type: "object", properties: { x }, required: ["x"] } }, () => 1), message, JSON.stringify(x));
  }
  assert.throws(
    () =>
      tool(
        {
          name: "tree",
          inputSchema: {
            type: "object",
            $defs: { Node: { type: "object", properties: { kids: { type: "array", items: { $ref: "#/$defs/Node" } } } } },
            properties: { root: { $ref: "#/$defs/Node" } },
          },
        },
        () => 1,
      ),
    /tool tree: inputSchema at \.root\.kids\[\]: \$ref #\/\$defs\/Node refers to itself/,
  );
  assert.throws(() => portableInputSchema({ type: "object", properties: {}, required: ["ghost"] }), /not in `properties`/);
});

test("free-form values are kept as written and reported", () => {
  const { schema, notPortable } = portableInputSchema({
    type: "object",
    properties: { labels: { type: "object", additionalProperties: { type: "string" } }, any: {}, list: { type: "array" } },
    required: ["labels", "any", "list"],
  });
  assert.deepEqual(schema.properties.labels, { type: "object", additionalProperties: { type: "string" } });
  assert.deepEqual(schema.properties.any, {});
  assert.equal(notPortable.length, 3);
  assert.ok(findings(schema).length > 0); // the host reports it
  assert.deepEqual(portableInputSchema({ type: "object", properties: { a: { type: "string" } } }).notPortable, []);
});

// ------------------------------------------------------------------------------------------------ null = not given

tool(
  {
    name: "echo",
    description: "returns its arguments",
    inputSchema: {
      type: "object",
      $defs: { Opt: { type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, required: ["a"] } },
      properties: {
        text: { type: "string" },
        level: { type: "integer", default: 6 },
        maybe: { type: ["string", "null"] },
        opt: { $ref: "#/$defs/Opt" },
        many: { type: "array", items: { $ref: "#/$defs/Opt" } },
        either: { anyOf: [{ type: "object", properties: { n: { type: "number" }, unit: { type: "string" } }, required: ["n"] }, { type: "string" }] },
      },
      required: ["text", "maybe"],
    },
    outputSchema: { type: "object", properties: { args: { type: "object" } }, required: ["args"] },
  },
  (args) => ({ args }),
);

const echo = (args) => dispatch.callTool("echo", args).structuredContent.args;

test("a null for an optional property never reaches the handler", () => {
  const everything = { text: "t", level: null, maybe: null, opt: null, many: null, either: null };
  assert.deepEqual(echo(everything), { text: "t", maybe: null }); // `maybe` was required: its null stays
  assert.deepEqual(echo(JSON.stringify(everything)), { text: "t", maybe: null });
  assert.deepEqual(echo({ text: "t", maybe: "m", level: 2, opt: { a: "x", b: null } }), { text: "t", maybe: "m", level: 2, opt: { a: "x" } });
  assert.deepEqual(echo({ text: "t", maybe: null, many: [{ a: "1", b: null }, { a: "2", b: "b" }] }), {
    text: "t",
    maybe: null,
    many: [{ a: "1" }, { a: "2", b: "b" }],
  });
  assert.deepEqual(echo({ text: "t", maybe: null, either: { n: 1, unit: null } }), { text: "t", maybe: null, either: { n: 1 } });
  assert.deepEqual(echo({ text: "t", maybe: null, either: "s" }), { text: "t", maybe: null, either: "s" });
});

test("the published schemas are portable and outputSchema is left as written", () => {
  const t = dispatch.tools().find((x) => x.name === "echo");
  assert.deepEqual(findings(t.inputSchema), []);
  assert.deepEqual(t.outputSchema, { type: "object", properties: { args: { type: "object" } }, required: ["args"] });
  assert.deepEqual(t.notPortable, []);
  for (const x of dispatch.tools()) assert.deepEqual(findings(x.inputSchema), [], x.name);
});
