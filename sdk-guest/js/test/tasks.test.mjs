// Declaring a tool's MCP task support (`tool({ taskSupport })`): the `capsule/taskSupport` key of the
// tool's `_meta`. Its own file, so its own registry: `node --test sdk-guest/js/test/`.

import assert from "node:assert/strict";
import { test } from "node:test";

import { TASK_SUPPORT, TASK_SUPPORT_KEY, dispatch, tool } from "../src/index.js";
import { bind, exportsFor } from "../src/component.js";

const own = { ui: { icon: "clock" }, n: 1 };

tool({ name: "plain" }, () => "x");
tool({ name: "mine", meta: own }, () => "x");
tool({ name: "crawl", taskSupport: "optional" }, () => "x");
tool({ name: "index", taskSupport: "required", meta: own }, () => "x");
tool({ name: "quick", taskSupport: "forbidden", meta: { "capsule/taskSupport": "required", x: true } }, () => "x");

const metaOf = (name) => dispatch.tools().find((t) => t.name === name).meta;

test("taskSupport goes into the tool's _meta", () => {
  assert.equal(TASK_SUPPORT_KEY, "capsule/taskSupport");
  assert.deepEqual([...TASK_SUPPORT], ["forbidden", "optional", "required"]);
  // Nothing declared: no key, and the author's meta goes out as it is.
  assert.equal(metaOf("plain"), undefined);
  assert.deepEqual(metaOf("mine"), { ui: { icon: "clock" }, n: 1 });
  // Declared alone, and merged with the author's meta (which is left unmodified).
  assert.deepEqual(metaOf("crawl"), { "capsule/taskSupport": "optional" });
  assert.deepEqual(metaOf("index"), { ui: { icon: "clock" }, n: 1, "capsule/taskSupport": "required" });
  assert.deepEqual(own, { ui: { icon: "clock" }, n: 1 });
  // The typed setting wins over the key written by hand; an explicit "forbidden" is sent.
  assert.deepEqual(metaOf("quick"), { "capsule/taskSupport": "forbidden", x: true });
  // A tool that may become a task still runs as a plain call.
  assert.equal(dispatch.callTool("crawl").content[0].text, "x");
});

test("the component lists the merged _meta as JSON text", () => {
  bind({ engine: "quickjs", host: undefined, getDirectories: () => [] });
  try {
    const listed = Object.fromEntries(exportsFor().tools.listTools().map((t) => [t.name, t.meta]));
    assert.equal(listed.plain, undefined);
    assert.equal(listed.mine, '{"ui":{"icon":"clock"},"n":1}');
    assert.equal(listed.crawl, '{"capsule/taskSupport":"optional"}');
    assert.deepEqual(JSON.parse(listed.index), { ui: { icon: "clock" }, n: 1, "capsule/taskSupport": "required" });
  } finally {
    bind({ engine: "node", host: undefined, getDirectories: undefined });
  }
});

test("a bad taskSupport is refused, naming the three values", () => {
  for (const bad of ["sometimes", "Optional", "", null, true, 1, ["optional"]]) {
    assert.throws(
      () => tool({ name: "bad", taskSupport: bad }, () => "x"),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith('tool bad: taskSupport must be one of "forbidden", "optional", "required", not '),
      `taskSupport ${JSON.stringify(bad)}`,
    );
  }
  assert.throws(() => tool({ name: "bad", taskSupport: "optional", meta: ["x"] }, () => "x"), /meta must be a plain object/);
  assert.throws(() => tool({ name: "bad", taskSupport: "optional", meta: "x" }, () => "x"), /meta must be a plain object/);
  // Nothing was registered by the refused declarations.
  assert.equal(dispatch.tools().some((t) => t.name === "bad"), false);
});
