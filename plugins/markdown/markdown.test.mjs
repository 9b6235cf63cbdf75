// Unit tests of the markdown plugin in Node (no component): `node --test plugins/markdown/`.
// loadPlugin bundles the TypeScript entry with the SDK and imports it.

import assert from "node:assert/strict";
import { dirname } from "node:path";
import { afterEach, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { loadPlugin } from "../../sdk-guest/js/src/build.js";
import { findings } from "../../sdk-guest/js/test/portable-profile.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
let plugin;

before(async () => {
  plugin = await loadPlugin(`${HERE}/markdown.ts`);
  plugin.fs.useHostRoot(HERE); // guest /docs → plugins/markdown/docs
});

const call = (name, args, resume) => plugin.dispatch.callTool(name, args, resume);
const kind = (fn) => {
  try {
    fn();
  } catch (e) {
    return plugin.classify(e);
  }
  return undefined;
};

test("outline skips code fences and numbers duplicate anchors", () => {
  const md = "# Title\n\n```\n# not a heading\n```\n\n## Part\n\n## Part\n\n### Deep *one*\n";
  assert.deepEqual(call("outline", { markdown: md }).structuredContent.headings, [
    { level: 1, text: "Title", line: 1, anchor: "title" },
    { level: 2, text: "Part", line: 7, anchor: "part" },
    { level: 2, text: "Part", line: 9, anchor: "part-1" },
    { level: 3, text: "Deep one", line: 11, anchor: "deep-one" },
  ]);
  assert.equal(call("outline", { markdown: md, max_level: 1 }).structuredContent.headings.length, 1);
});

test("the tools' input schemas are portable; a null max_level is the default", () => {
  for (const t of plugin.dispatch.tools()) {
    assert.deepEqual(findings(t.inputSchema), [], t.name);
    assert.deepEqual(t.notPortable, [], t.name);
  }
  const outline = plugin.dispatch.tools().find((t) => t.name === "outline").inputSchema;
  assert.deepEqual(outline.required, ["markdown", "max_level"]);
  assert.deepEqual(outline.properties.max_level, {
    anyOf: [{ type: "integer", minimum: 1, maximum: 6 }, { type: "null" }],
    description: "Deepest heading level to list. Default: 6.",
  });
  const md = "# A\n\n## B\n\n###### F\n";
  assert.equal(call("outline", { markdown: md, max_level: null }).structuredContent.headings.length, 3);
});

test("render", () => {
  const html = call("render", { markdown: "# Hi\n\nSome *em*, **strong**, `a<b`.\n\n1. one\n2. two\n\n> quoted\n\n```js\nx < 1\n```\n" }).content[0].text;
  assert.equal(
    html,
    '<h1 id="hi">Hi</h1>\n<p>Some <em>em</em>, <strong>strong</strong>, <code>a&lt;b</code>.</p>\n' +
      "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n<blockquote>\n<p>quoted</p>\n</blockquote>\n" +
      '<pre><code class="language-js">x &lt; 1\n</code></pre>',
  );
});

test("section, and an unknown heading is invalid-arguments", () => {
  const md = "# A\n\nintro\n\n## B\n\nbee\n\n## C\n\nsee\n";
  assert.equal(call("section", { markdown: md, heading: "b" }).content[0].text, "## B\n\nbee");
  const [k, message] = kind(() => call("section", { markdown: md, heading: "Z" }));
  assert.equal(k, "invalid-arguments");
  assert.match(message, /its headings are "A", "B", "C"/);
});

test("files, resources and the prompt", () => {
  assert.equal(call("outline_file", { path: "guide.md" }).structuredContent.headings[0].text, "Writing plugins");
  assert.equal(kind(() => call("outline_file", { path: "nope.md" }))[0], "not-found");
  assert.deepEqual(plugin.dispatch.listResources().map((r) => r.uri), ["markdown://changelog.md", "markdown://guide.md"]);
  assert.match(plugin.dispatch.readResource("markdown://guide.md")[0].text, /^# Writing plugins/);
  assert.equal(kind(() => plugin.dispatch.readResource("markdown://..%2Fsecret.md"))[0], "invalid-arguments");
  const review = plugin.dispatch.getPrompt("review", { name: "changelog.md", focus: "tone" });
  assert.equal(review.messages[0].content.type, "resource");
  assert.match(review.messages[1].content.text, /- Changelog \(line 1\)/);
  assert.match(review.messages[1].content.text, /Focus on tone/);
});

test("document names complete for the prompt and the template", () => {
  assert.deepEqual(plugin.dispatch.complete({ prompt: "review" }, "name", "").values, ["changelog.md", "guide.md"]);
  assert.deepEqual(plugin.dispatch.complete({ template: "markdown://{name}" }, "name", "G").values, ["guide.md"]);
  assert.deepEqual(plugin.dispatch.complete({ prompt: "review" }, "focus", "x").values, []);
  assert.deepEqual(plugin.dispatch.problems(), []);
});

const GUIDE_FACTS = "4 headings: Writing plugins, Choosing a language, Granting files, Read-only or read-write";
const text = (result) => {
  assert.ok(!plugin.isInputRequired(result) && !result.isError, JSON.stringify(result));
  return result.content.map((b) => b.text).join("\n");
};
const accepted = (focus) => ({ responses: { focus: { action: "accept", content: { focus } } } });

// The bundle has its own copy of the SDK: what `clientCapabilities()` answers in it is set on that
// copy's runtime (the SDK's `nativeHost` is the test's copy).
function clientDeclares(capabilities) {
  plugin.runtime.clientCapabilities = () => JSON.stringify(capabilities);
}
afterEach(() => clientDeclares({}));

test("describe asks the user, then answers with the focus and the document's headings", () => {
  clientDeclares({ elicitation: {} });
  const asked = call("describe", { path: "guide.md" });
  assert.ok(plugin.isInputRequired(asked));
  assert.equal(asked.state, undefined);
  const [question] = asked.requests;
  assert.equal(question.key, "focus");
  assert.equal(question.kind, "elicitation");
  assert.equal(question.params.message, "What should the description of guide.md focus on?");
  assert.equal(question.params.requestedSchema.properties.focus.type, "string");
  assert.deepEqual(question.params.requestedSchema.required, ["focus"]);

  assert.equal(text(call("describe", { path: "guide.md" }, accepted(" granting files "))), `guide.md (focus: granting files)\n${GUIDE_FACTS}`);
  assert.match(text(call("describe", { path: "guide.md" }, accepted(""))), /^guide\.md \(focus: everything\)\n/);
  assert.equal(text(call("describe", { path: "guide.md" }, { responses: { focus: { action: "decline" } } })), "Not described (decline).");
  // A retry without the answer asks again.
  assert.ok(plugin.isInputRequired(call("describe", { path: "guide.md" }, { responses: { other: {} } })));
});

test("describe has the model write when the client samples; the focus travels in the state", () => {
  clientDeclares({ elicitation: {}, sampling: {} });
  const asked = call("describe", { path: "changelog.md" }, accepted("versions"));
  assert.ok(plugin.isInputRequired(asked));
  assert.equal(new TextDecoder().decode(asked.state), "versions");
  const [question] = asked.requests;
  assert.equal(question.key, "description");
  assert.equal(question.kind, "sampling");
  assert.equal(question.params.maxTokens, 200);
  assert.match(question.params.messages[0].content.text, /changelog\.md.*versions.*3 headings: Changelog, 0\.2\.0, 0\.1\.0/s);
  const sampled = { role: "assistant", content: { type: "text", text: "Two releases." }, model: "m" };
  const done = call("describe", { path: "changelog.md" }, { responses: { description: sampled }, state: asked.state });
  assert.equal(text(done), "changelog.md (focus: versions)\n3 headings: Changelog, 0.2.0, 0.1.0\nTwo releases.");
});

test("describe checks the file before asking", () => {
  assert.equal(kind(() => call("describe", { path: "nope.md" }))[0], "not-found");
});
