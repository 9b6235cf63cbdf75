// The WIT exports of a built component: the registry's answers converted to the shapes the
// engines' bindings expect (jco conventions: records with camelCase fields, variants as
// `{ tag, val }`, `undefined` for none, u64 as BigInt for StarlingMonkey and number for QuickJS).
// Every export catches what a handler throws and throws the matching WIT error instead, so a
// plugin bug is an error result, never a trap.
//
// Imported only by the entry module that `capsule-js build` generates.

import { __capsule } from "./index.js";
import { Internal, classify } from "./errors.js";
import { asBytes } from "./interaction.js";

const { registry, dispatch, runtime, isThenable, isInputRequired, Resumption } = __capsule;

/** Bind the host imports and WASI preopens (before any request), see runtime.js. */
export function bind(options) {
  runtime.bind(options);
  if (options.defaultName) registry.defaultName = options.defaultName;
}

function witError(error) {
  const [kind, message] = classify(error);
  if (!(error instanceof Error) || kind === "internal") {
    // The client sees the message; the stack goes to the host log.
    const stack = error instanceof Error && error.stack ? `\n${error.stack}` : "";
    try {
      runtime.log("error", `${message}${stack}`);
    } catch {
      // logging must never turn an error into a trap
    }
  }
  return { tag: kind, val: message };
}

/** Run `produce`, convert its (possibly promised) value, turn every failure into a WIT error. */
function guarded(produce, convert) {
  let value;
  try {
    value = produce();
  } catch (e) {
    throw witError(e);
  }
  if (isThenable(value)) {
    return value.then(
      (v) => {
        try {
          return convert(v);
        } catch (e) {
          throw witError(e);
        }
      },
      (e) => {
        throw witError(e);
      },
    );
  }
  try {
    return convert(value);
  } catch (e) {
    throw witError(e);
  }
}

const opt = (v) => (v === null || v === undefined ? undefined : v);
const optString = (v, what) => {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== "string") throw new Internal(`${what} must be a string`);
  return v;
};
const optU64 = (v) => (v === null || v === undefined ? undefined : runtime.u64(v));
const optJson = (v) => (v === null || v === undefined ? undefined : JSON.stringify(v));

function str(v, what) {
  if (typeof v !== "string") throw new Internal(`${what} must be a string, not ${v === null ? "null" : typeof v}`);
  return v;
}

function bytes(v, what) {
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return Uint8Array.from(v);
  throw new Internal(`${what} must be a Uint8Array`);
}

function annotations(a) {
  if (!a) return undefined;
  return { audience: opt(a.audience), priority: opt(a.priority), lastModified: opt(a.lastModified) };
}

function resourceContents(c) {
  const uri = str(c.uri, "resource contents uri");
  const body = c.text !== undefined ? { tag: "text", val: str(c.text, `text of ${uri}`) } : { tag: "blob", val: bytes(c.blob, `blob of ${uri}`) };
  return { uri, mimeType: optString(c.mimeType, "mimeType"), body, meta: optJson(c.meta) };
}

function block(b) {
  if (!b || typeof b !== "object") throw new Internal(`not a content block: ${JSON.stringify(b)}`);
  switch (b.type) {
    case "text":
      return { tag: "text", val: { text: str(b.text, "text content"), annotations: annotations(b.annotations) } };
    case "image":
    case "audio":
      return { tag: b.type, val: { data: bytes(b.data, `${b.type} data`), mimeType: str(b.mimeType, "mimeType"), annotations: annotations(b.annotations) } };
    case "resource_link":
      return {
        tag: "resource-link",
        val: {
          uri: str(b.uri, "resource link uri"),
          name: str(b.name, "resource link name"),
          title: opt(b.title),
          description: opt(b.description),
          mimeType: opt(b.mimeType),
          size: optU64(b.size),
          annotations: annotations(b.annotations),
        },
      };
    case "resource":
      return { tag: "embedded-resource", val: resourceContents(b.resource) };
    default:
      throw new Internal(`not a content block: ${JSON.stringify(b)}`);
  }
}

/** An `inputRequired(...)` value as the WIT `input-required` record. */
function inputRequiredRecord(r) {
  return {
    requests: r.requests.map((q) => [
      q.key,
      q.kind === "list-roots" ? { tag: "list-roots" } : { tag: q.kind, val: JSON.stringify(q.params) },
    ]),
    state: r.state,
  };
}

/** The WIT `option<resumption>` as a `Resumption` (undefined in a first round). */
function resumption(resume) {
  if (resume === undefined || resume === null) return undefined;
  const state = resume.state ?? undefined;
  const bytes = state === undefined ? undefined : Array.isArray(state) ? Uint8Array.from(state) : asBytes(state);
  if (state !== undefined && bytes === undefined) {
    throw new Internal(`the resumption's state is not bytes but ${Object.prototype.toString.call(state)}`);
  }
  return new Resumption(resume.responses ?? [], bytes);
}

/** The export objects of `world` (names as in the WIT world, camelCased). */
export function exportsFor() {
  const plugin = {
    describe() {
      const m = dispatch.describe();
      return {
        name: m.name ?? registry.defaultName,
        version: m.version ?? "0.1.0",
        description: opt(m.description),
        requests: {
          filesystem: (m.filesystem ?? []).map((f) => ({ path: f.path, access: f.access ?? "read-only", reason: opt(f.reason) })),
          network: m.network ?? [],
          env: m.env ?? [],
        },
      };
    },
  };

  const tools = {
    listTools() {
      return dispatch.tools().map((t) => ({
        name: t.name,
        title: opt(t.title),
        description: opt(t.description),
        inputSchema: JSON.stringify(t.inputSchema),
        outputSchema: optJson(t.outputSchema),
        annotations: t.annotations
          ? {
              title: opt(t.annotations.title),
              readOnlyHint: opt(t.annotations.readOnlyHint),
              destructiveHint: opt(t.annotations.destructiveHint),
              idempotentHint: opt(t.annotations.idempotentHint),
              openWorldHint: opt(t.annotations.openWorldHint),
            }
          : undefined,
        meta: optJson(t.meta),
      }));
    },
    callTool(name, args, resume) {
      return guarded(
        () => dispatch.callTool(name, args, resumption(resume)),
        (r) => isInputRequired(r) ? { tag: "input-required", val: inputRequiredRecord(r) } : ({
          tag: "complete",
          val: {
            content: (r.content ?? []).map(block),
            structuredContent: optJson(r.structuredContent),
            isError: Boolean(r.isError),
            meta: optJson(r.meta),
          },
        }),
      );
    },
  };

  const resources = {
    listResources() {
      return dispatch.listResources().map((r) => ({
        uri: r.uri,
        name: r.name,
        title: opt(r.title),
        description: opt(r.description),
        mimeType: opt(r.mimeType),
        size: optU64(r.size),
        annotations: annotations(r.annotations),
      }));
    },
    listResourceTemplates() {
      return dispatch.templates().map((t) => ({
        uriTemplate: t.uriTemplate,
        name: t.name,
        title: opt(t.title),
        description: opt(t.description),
        mimeType: opt(t.mimeType),
        annotations: annotations(t.annotations),
      }));
    },
    readResource(uri) {
      return guarded(() => dispatch.readResource(uri), (list) => list.map(resourceContents));
    },
  };

  const prompts = {
    listPrompts() {
      return dispatch.prompts().map((p) => ({
        name: p.name,
        title: opt(p.title),
        description: opt(p.description),
        arguments: p.arguments.map((a) => ({ name: a.name, title: opt(a.title), description: opt(a.description), required: Boolean(a.required) })),
      }));
    },
    getPrompt(name, args, resume) {
      return guarded(
        () => dispatch.getPrompt(name, args, resumption(resume)),
        (out) => isInputRequired(out) ? { tag: "input-required", val: inputRequiredRecord(out) } : {
          tag: "complete",
          val: {
            description: opt(out.description),
            messages: out.messages.map((m) => ({ role: m.role === "assistant" ? "assistant" : "user", content: block(m.content) })),
          },
        },
      );
    },
  };

  const completions = {
    complete(reference, argument, value, context) {
      const ref = reference.tag === "prompt" ? { prompt: reference.val } : { template: reference.val };
      return guarded(
        () => dispatch.complete(ref, argument, value, context),
        (c) => ({ values: c.values, total: opt(c.total), hasMore: Boolean(c.hasMore) }),
      );
    },
  };

  return { plugin, tools, resources, prompts, completions };
}
