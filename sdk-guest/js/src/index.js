// capsule-plugin — write Capsule plugins in JavaScript or TypeScript.
//
// Declarations (`plugin`, `tool`, `resource`, `resourceTemplate`, `resourceList`, `prompt`,
// `completion`) fill one registry; `capsule-js build` bundles the module with a generated entry that
// exports the registry through the WIT interfaces of capsule:plugin@0.2.0. Nothing here imports a
// WIT module, so plugins can be unit-tested in plain Node with `dispatch`.

import { CapsuleError, Denied, Internal, InvalidArguments, NotFound, classify } from "./errors.js";
import { UriTemplate } from "./uri-template.js";
import { portableInputSchema, stripNulls } from "./portable.js";
import { nativeHost, runtime } from "./runtime.js";
import {
  ClientCapabilities,
  Resumption,
  completionOf,
  elicit,
  elicitUrl,
  inputRequired,
  isInputRequired,
  listRoots,
  sample,
} from "./interaction.js";

export { CapsuleError, Denied, Internal, InvalidArguments, NotFound, classify };
export { UriTemplate };
export { portableInputSchema };
export { decodeUtf8, encodeUtf8 } from "./utf8.js";
export { fs } from "./fs.js";
export { ClientCapabilities, Resumption, elicit, elicitUrl, inputRequired, isInputRequired, listRoots, nativeHost, sample };
import { fs } from "./fs.js";

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const KIND = Symbol.for("capsule-plugin.kind");

/** The registry a built component exports. One per bundle (and per Node process in tests). */
const registry = {
  metadata: undefined,
  defaultName: "plugin",
  tools: [],
  resources: [],
  templates: [],
  listers: [],
  prompts: [],
  completers: [],
};

function checkName(kind, name) {
  if (typeof name !== "string" || !NAME.test(name) || name.includes("__") || name.startsWith("_")) {
    throw new TypeError(
      `invalid ${kind} name ${JSON.stringify(name)}: use letters, digits, '_' and '-' (at most 64), ` +
        "no '__' and no leading '_' (the host publishes it as <plugin>_<name>)",
    );
  }
  return name;
}

/** Whether a tool may run as an MCP task (`tool({ taskSupport })`); "forbidden" is the host's default. */
export const TASK_SUPPORT = Object.freeze(["forbidden", "optional", "required"]);
/** The key of a tool's `_meta` that carries its task support to the host (which leaves it out of what it publishes). */
export const TASK_SUPPORT_KEY = "capsule/taskSupport";

/**
 * The `_meta` a tool hands the host: the author's `meta` (left unmodified) plus `capsule/taskSupport`
 * when `taskSupport` is declared, which wins over the same key written into `meta` by hand.
 */
function toolMeta(name, spec) {
  const { taskSupport, meta } = spec;
  if (taskSupport === undefined) return meta;
  if (!TASK_SUPPORT.includes(taskSupport)) {
    throw new TypeError(
      `tool ${name}: taskSupport must be one of ${TASK_SUPPORT.map((v) => JSON.stringify(v)).join(", ")}, ` +
        `not ${typeof taskSupport === "string" ? JSON.stringify(taskSupport) : String(taskSupport)}`,
    );
  }
  if (meta !== undefined && meta !== null && (typeof meta !== "object" || Array.isArray(meta))) {
    throw new TypeError(`tool ${name}: meta must be a plain object (a JSON object) to carry taskSupport`);
  }
  return { ...(meta ?? {}), [TASK_SUPPORT_KEY]: taskSupport };
}

function checkHandler(kind, name, fn) {
  if (typeof fn !== "function") throw new TypeError(`${kind} ${name}: the handler must be a function`);
  return fn;
}

// ------------------------------------------------------------------------------------------------
// declarations

/**
 * Describe the plugin: `{ name, version, description, filesystem: [{ path, access, reason }],
 * network: [origins], env: [names] }`. Requests grant nothing: the operator grants.
 */
export function plugin(metadata) {
  const m = { version: "0.1.0", filesystem: [], network: [], env: [], ...metadata };
  for (const f of m.filesystem) {
    if (!f.path || !f.path.startsWith("/")) throw new TypeError(`filesystem paths are absolute guest paths like "/data", not ${JSON.stringify(f.path)}`);
    if (f.access !== undefined && f.access !== "read-only" && f.access !== "read-write") {
      throw new TypeError(`filesystem access is "read-only" or "read-write", not ${JSON.stringify(f.access)}`);
    }
  }
  registry.metadata = m;
  return m;
}

/** Per tool: where a null argument stands for "not given" (see portable.js). */
const nullPlans = new WeakMap();

/**
 * Declare a tool: `tool({ name, description, inputSchema, outputSchema?, title?, annotations?,
 * meta?, taskSupport? }, (args) => result)`. `inputSchema` is published in its portable form (closed objects,
 * optional properties nullable and required, `$ref`s inlined, defaults in the description: see
 * portable.js); a null for a property that was optional is removed before the handler runs, so
 * handlers see the arguments `inputSchema` describes. The host validates arguments against the
 * published schema before the handler runs. Return a string (a text block), a plain object (structured content plus its JSON
 * as text), content blocks (`text()`, `image()`, ...), or `toolResult({...})`; throw a
 * `CapsuleError` subclass for a typed error, anything else becomes `internal`. A tool that needs
 * the client's input returns `inputRequired([...], state)` and gets the answers in the next round
 * as its second argument, a `Resumption` (undefined in the first round). `taskSupport: "optional"`
 * (or "required", "forbidden") declares whether the tool may run as an MCP task; it is sent in the
 * tool's `_meta` under `capsule/taskSupport`, merged with `meta`. Any other value is a TypeError.
 */
export function tool(spec, handler) {
  const name = checkName("tool", spec.name);
  if (registry.tools.some((t) => t.name === name)) throw new TypeError(`tool ${name} is declared twice`);
  const inputSchema = spec.inputSchema ?? { type: "object", additionalProperties: false };
  if (inputSchema.type !== "object") throw new TypeError(`tool ${name}: inputSchema must be an object schema ({ type: "object", ... })`);
  if (spec.outputSchema && spec.outputSchema.type !== "object") {
    throw new TypeError(`tool ${name}: outputSchema must be an object schema (structured content is a JSON object)`);
  }
  const portable = portableInputSchema(inputSchema, `tool ${name}: inputSchema`);
  const meta = toolMeta(name, spec);
  const entry = {
    ...spec,
    name,
    meta,
    inputSchema: portable.schema,
    notPortable: portable.notPortable,
    handler: checkHandler("tool", name, handler),
  };
  if (portable.plan) nullPlans.set(entry, portable.plan);
  registry.tools.push(entry);
  return handler;
}

/**
 * Declare resource `uri`: `resource({ uri, name, mimeType?, description?, title?, size?,
 * annotations? }, () => contents)`. Return a string (text), a Uint8Array (blob), an object
 * (JSON text), `{ uri, text | blob, mimeType }` contents built with `contents()`, or a list.
 */
export function resource(spec, read) {
  if (!spec.uri || !spec.name) throw new TypeError("a resource needs a uri and a name");
  if (registry.resources.some((r) => r.uri === spec.uri)) throw new TypeError(`resource ${spec.uri} is declared twice`);
  registry.resources.push({ ...spec, read: checkHandler("resource", spec.uri, read) });
  return read;
}

/**
 * Declare a family of resources addressed by an RFC 6570 template:
 * `resourceTemplate({ uriTemplate: "docs://{name}", name, mimeType? }, (vars, uri) => contents)`.
 * `{name}` covers one or more characters other than `/`, `?` and `#`, `{+name}` one or more of any
 * kind; values are `%XX`-decoded (`..%2F` arrives as `../`): validate them.
 */
export function resourceTemplate(spec, read) {
  if (!spec.uriTemplate || !spec.name) throw new TypeError("a resource template needs a uriTemplate and a name");
  registry.templates.push({ ...spec, parsed: new UriTemplate(spec.uriTemplate), read: checkHandler("resource template", spec.uriTemplate, read) });
  return read;
}

/**
 * Declare a function that lists resources (`[{ uri, name, ... }]`) when the host asks, once at
 * load time, e.g. one per file in a granted folder. Reads of those URIs go to the templates.
 */
export function resourceList(list) {
  registry.listers.push(checkHandler("resource list", "", list));
  return list;
}

/**
 * Declare a prompt: `prompt({ name, description?, title?, arguments: [{ name, description?,
 * required? }] }, (args, resume) => messages)`. Arguments arrive as strings. Return a string (one
 * user message), `user(...)` / `assistant(...)` messages, a list, or `{ messages, description }`;
 * or `inputRequired(...)`, like tools.
 */
export function prompt(spec, render) {
  const name = checkName("prompt", spec.name);
  if (registry.prompts.some((p) => p.name === name)) throw new TypeError(`prompt ${name} is declared twice`);
  registry.prompts.push({ ...spec, name, arguments: spec.arguments ?? [], render: checkHandler("prompt", name, render) });
  return render;
}

/**
 * Declare how to complete an argument: `completion({ prompt: "name", argument: "arg" }, fn)` for a
 * prompt argument, `completion({ template: "docs://{name}", argument: "name" }, fn)` for a
 * resource-template variable. `fn(value, context)` gets the partial value and the arguments already
 * filled in (`{ name: value }`) and returns suggestions, best first: an array of strings (the first
 * 100 are kept) or `{ values, total?, hasMore? }`. Arguments without a completer complete to nothing.
 */
export function completion(ref, complete) {
  const { prompt: promptName, template, argument } = ref ?? {};
  if ((promptName === undefined) === (template === undefined)) throw new TypeError("completion needs exactly one of prompt or template");
  if (typeof argument !== "string" || !argument) throw new TypeError("completion needs the argument's name");
  const kind = promptName !== undefined ? "prompt" : "template";
  const target = promptName ?? template;
  if (registry.completers.some((c) => c.kind === kind && c.target === target && c.argument === argument)) {
    throw new TypeError(`${kind} ${target} argument ${argument} has two completers`);
  }
  registry.completers.push({ kind, target, argument, complete: checkHandler("completion", argument, complete) });
  return complete;
}

/** Host function: the capabilities the client declared, a `ClientCapabilities`
 * (`.elicitation`, `.elicitationUrl`, `.sampling`, `.roots`, `.supports(request)`, `.declared`). */
export function clientCapabilities() {
  return ClientCapabilities.parse(runtime.clientCapabilities());
}

/** Host function: tell clients subscribed to `uri` (a resource this plugin serves) that it changed. */
export function resourceUpdated(uri) {
  runtime.resourceUpdated(String(uri));
}

// ------------------------------------------------------------------------------------------------
// content

function brand(kind, value) {
  Object.defineProperty(value, KIND, { value: kind, enumerable: false });
  return value;
}

/** A text block. */
export const text = (text, annotations) => brand("content", { type: "text", text, annotations });
/** An image block from the raw bytes of an image file. */
export const image = (data, mimeType, annotations) => brand("content", { type: "image", data, mimeType, annotations });
/** An audio block from the raw bytes of an audio file. */
export const audio = (data, mimeType, annotations) => brand("content", { type: "audio", data, mimeType, annotations });
/** A link to a resource: `resourceLink({ uri, name, title?, description?, mimeType?, size? })`. */
export const resourceLink = (link) => brand("content", { type: "resource_link", ...link });
/** Resource contents: `contents({ uri, text | blob, mimeType?, meta? })`. */
export const contents = (c) => brand("contents", { ...c });
/** An embedded resource block: `embeddedResource({ uri, text | blob, mimeType? })`. */
export const embeddedResource = (c) => brand("content", { type: "resource", resource: contents(c) });
/** A tool result with full control: `toolResult({ content, structuredContent?, isError?, meta? })`. */
export const toolResult = (r) => brand("result", { content: [], isError: false, ...r });
/** A result with `isError: true`: the tool ran but failed in a way the model should read. */
export const toolError = (message) => toolResult({ content: [text(message)], isError: true });
/** A prompt message from the user (a string or a content block). */
export const user = (content) => brand("message", { role: "user", content: asBlock(content) });
/** A prompt message from the assistant. */
export const assistant = (content) => brand("message", { role: "assistant", content: asBlock(content) });

const isKind = (value, kind) => value !== null && typeof value === "object" && value[KIND] === kind;
const asBlock = (content) => (typeof content === "string" ? text(content) : content);
const isThenable = (v) => v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";

// ------------------------------------------------------------------------------------------------
// host functions

/** Log `message` at `level` (debug, info, notice, warning, error, critical, alert, emergency). */
export function log(level, message) {
  runtime.log(level, String(message));
}

/** Report progress on the current request; `progress` must grow from call to call. */
export function progress(value, total, message) {
  runtime.progress(value, total, message);
}

/** Whether the client cancelled the current request: check it between steps of long work. */
export function cancelled() {
  return runtime.cancelled();
}

// ------------------------------------------------------------------------------------------------
// dispatch: what the exports do, in SDK shapes (also the native testing API)

/** Run `fn(value)` on a value that may be a promise, without making a sync path async. */
function then(value, fn) {
  if (!isThenable(value)) return fn(value);
  if (runtime.engine === "quickjs") {
    throw new Internal(
      "the handler returned a Promise, which a QuickJS component cannot wait for: make it a plain " +
        "(non-async) function, or build with --engine starlingmonkey",
    );
  }
  return value.then(fn);
}

function toolOutput(spec, value) {
  if (isKind(value, "result") || isInputRequired(value)) return value;
  if (value === undefined || value === null) return toolResult({});
  if (typeof value === "string") return toolResult({ content: [text(value)] });
  if (isKind(value, "content")) return toolResult({ content: [value] });
  if (Array.isArray(value) && value.length > 0 && value.every((v) => isKind(v, "content"))) {
    return toolResult({ content: value });
  }
  if (typeof value === "object" && !Array.isArray(value)) {
    return toolResult({ content: [text(JSON.stringify(value))], structuredContent: value });
  }
  if (spec.outputSchema) {
    throw new Internal(`tool ${spec.name} declares an outputSchema, so it must return an object, not ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  return toolResult({ content: [text(JSON.stringify(value))] });
}

function parseArguments(args) {
  if (args === undefined || args === null) return {};
  if (typeof args === "string") {
    const t = args.trim();
    if (t === "" || t === "null") return {};
    try {
      args = JSON.parse(t);
    } catch (e) {
      throw new InvalidArguments(`invalid arguments: not JSON: ${e.message}`);
    }
  }
  if (typeof args !== "object" || Array.isArray(args)) throw new InvalidArguments("invalid arguments: expected a JSON object");
  return args;
}

function resourceOutput(value, uri, mimeType) {
  const items = Array.isArray(value) && value.every((v) => isKind(v, "contents")) ? value : [value];
  return items.map((item) => {
    let c;
    if (isKind(item, "contents")) c = { ...item };
    else if (typeof item === "string") c = { uri, text: item };
    else if (item instanceof Uint8Array) c = { uri, blob: item };
    else c = { uri, text: JSON.stringify(item), mimeType: mimeType ?? "application/json" };
    if (c.mimeType === undefined && mimeType !== undefined) c.mimeType = mimeType;
    if ((c.text === undefined) === (c.blob === undefined)) throw new Internal(`resource contents for ${c.uri} need exactly one of text or blob`);
    return c;
  });
}

function promptOutput(spec, value) {
  if (isInputRequired(value)) return value;
  let out;
  if (typeof value === "string" || isKind(value, "message")) out = { messages: [value] };
  else if (Array.isArray(value)) out = { messages: value };
  else if (value && Array.isArray(value.messages)) out = { ...value };
  else throw new Internal(`prompt ${spec.name} must return a string, messages, or { messages }`);
  out.messages = out.messages.map((m) => (typeof m === "string" ? user(m) : m));
  if (out.description === undefined) out.description = spec.description;
  return out;
}

/**
 * What the component's exports do, in SDK shapes. Handy in unit tests:
 * `await dispatch.callTool("outline", { markdown: "# A" })`. Errors are thrown as they would
 * reach the host (use `classify(e)` to see the WIT case). `callTool` and `getPrompt` take the
 * next round's answers as a third argument (`{ responses: { key: answer }, state }` or a
 * `Resumption`) and may answer an `inputRequired(...)` value.
 */
export const dispatch = {
  describe() {
    return registry.metadata ?? { name: registry.defaultName, version: "0.1.0", filesystem: [], network: [], env: [] };
  },
  world() {
    const parts = [];
    if (registry.tools.length) parts.push("tools");
    if (registry.resources.length || registry.templates.length || registry.listers.length) parts.push("resources");
    if (registry.prompts.length) parts.push("prompts");
    if (parts.length === 3) return "full-plugin";
    if (parts.length === 0) return "plugin-base";
    return `${parts.join("-")}-plugin`;
  },
  tools: () => registry.tools,
  templates: () => registry.templates,
  prompts: () => registry.prompts,
  callTool(name, args, resume) {
    const spec = registry.tools.find((t) => t.name === name);
    if (!spec) throw new NotFound(`unknown tool \`${name}\``);
    const given = stripNulls(parseArguments(args), nullPlans.get(spec));
    return then(spec.handler(given, Resumption.from(resume)), (value) => toolOutput(spec, value));
  },
  listResources() {
    const out = registry.resources.map(({ read: _read, ...r }) => r);
    for (const list of registry.listers) {
      // A failing list function costs its own resources, not the plugin (this runs at load time).
      try {
        out.push(...list());
      } catch (e) {
        runtime.log("error", `listing resources failed: ${classify(e)[1]}`);
      }
    }
    return out;
  },
  readResource(uri) {
    const r = registry.resources.find((x) => x.uri === uri);
    if (r) return then(r.read(), (v) => resourceOutput(v, uri, r.mimeType));
    for (const t of registry.templates) {
      const vars = t.parsed.match(uri);
      if (vars) return then(t.read(vars, uri), (v) => resourceOutput(v, uri, t.mimeType));
    }
    throw new NotFound(`unknown resource \`${uri}\``);
  },
  getPrompt(name, args, resume) {
    const spec = registry.prompts.find((p) => p.name === name);
    if (!spec) throw new NotFound(`unknown prompt \`${name}\``);
    const given = Array.isArray(args) ? Object.fromEntries(args) : { ...(args ?? {}) };
    for (const a of spec.arguments) {
      if (a.required && !(a.name in given)) throw new InvalidArguments(`missing required argument \`${a.name}\``);
    }
    return then(spec.render(given, Resumption.from(resume)), (v) => promptOutput(spec, v));
  },
  /**
   * Suggestions for `argument` of `{ prompt: name }` or `{ template: uriTemplate }` whose partial
   * value is `value`: `{ values, total, hasMore }`. Unknown prompts and templates are `NotFound`.
   */
  complete(ref, argument, value = "", context = {}) {
    const kind = ref.prompt !== undefined ? "prompt" : "template";
    const target = ref.prompt ?? ref.template;
    if (kind === "prompt" && !registry.prompts.some((p) => p.name === target)) throw new NotFound(`unknown prompt \`${target}\``);
    if (kind === "template" && !registry.templates.some((t) => t.uriTemplate === target)) {
      throw new NotFound(`unknown resource template \`${target}\``);
    }
    const c = registry.completers.find((x) => x.kind === kind && x.target === target && x.argument === argument);
    if (!c) return completionOf(undefined);
    const ctx = Array.isArray(context) ? Object.fromEntries(context) : { ...(context ?? {}) };
    return then(c.complete(String(value), ctx), completionOf);
  },
  /** Errors in the declarations that only show once everything is declared (the build checks). */
  problems() {
    const out = [];
    for (const c of registry.completers) {
      if (c.kind === "prompt") {
        const p = registry.prompts.find((x) => x.name === c.target);
        if (!p) out.push(`completion for unknown prompt ${c.target}`);
        else if (!p.arguments.some((a) => a.name === c.argument)) out.push(`completion for unknown argument ${c.argument} of prompt ${c.target}`);
      } else {
        const t = registry.templates.find((x) => x.uriTemplate === c.target);
        if (!t) out.push(`completion for unknown resource template ${c.target}`);
        else if (!t.parsed.variables.includes(c.argument)) out.push(`completion for unknown variable ${c.argument} of template ${c.target}`);
      }
    }
    return out;
  },
};

/** Internal: used by the entry module `capsule-js build` generates. Not a stable API. */
export const __capsule = { registry, dispatch, runtime, fs, classify, KIND, isKind, isThenable, isInputRequired, Resumption };
// `capsule-js build` reads what a bundle declared, after importing it in Node, through this symbol.
globalThis[Symbol.for("capsule-plugin")] = __capsule;
