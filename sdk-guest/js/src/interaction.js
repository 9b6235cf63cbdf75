// Asking the client (MCP multi round-trip requests, SEP-2322), completions and the client's
// capabilities: the parts of capsule:plugin@0.2.0 that are plain data, independent of the engine.
//
// A tool or prompt that needs the client's input returns `inputRequired([elicit(...), ...], state)`;
// the host asks the client and calls the handler again with the same arguments and a `Resumption`
// as its second argument (undefined in the first round).

import { decodeUtf8, encodeUtf8 } from "./utf8.js";

/** The largest `state` the host carries between rounds, in bytes. */
export const MAX_STATE_BYTES = 16 * 1024;
/** The most suggestions one completion answers (MCP's limit; the rest is `hasMore`). */
export const MAX_COMPLETION_VALUES = 100;

const INPUT_REQUIRED = Symbol.for("capsule-plugin.input-required");
const REQUEST = Symbol.for("capsule-plugin.input-request");

function request(key, kind, params) {
  if (typeof key !== "string" || key === "") throw new TypeError("an input request needs a non-empty string key");
  const r = { key, kind };
  if (params !== undefined) r.params = params;
  Object.defineProperty(r, REQUEST, { value: true, enumerable: false });
  return r;
}

/**
 * Ask the user (`elicitation/create`, form mode): `message` and the fields to fill in, a JSON
 * Schema object with flat primitive properties (`{ type: "object", properties: { ok: { type:
 * "boolean" } }, required: ["ok"] }`); no schema asks for a plain accept/decline. Needs the
 * client's `elicitation` capability.
 */
export function elicit(key, message, schema) {
  const requestedSchema = schema ?? { type: "object", properties: {} };
  if (requestedSchema.type !== "object") throw new TypeError("an elicitation schema is an object schema ({ type: \"object\", properties })");
  return request(key, "elicitation", { message: String(message), requestedSchema });
}

/** Send the user to `url` (`elicitation/create`, URL mode). Needs `elicitation.url`. */
export function elicitUrl(key, message, url, elicitationId) {
  return request(key, "elicitation", { mode: "url", message: String(message), url: String(url), elicitationId: String(elicitationId) });
}

/**
 * Ask the client's model (`sampling/createMessage`). `messages` is a string (one user message), a
 * message (`user(...)`, `assistant(...)` with text, image or audio) or an array of them; `options`
 * adds MCP parameters (`{ maxTokens: 1000 (the default), systemPrompt, temperature,
 * modelPreferences, stopSequences, ... }`). An object with `messages` instead is taken as the whole
 * `CreateMessageRequestParams`. Needs the client's `sampling` capability.
 */
export function sample(key, messages, options = {}) {
  if (messages && typeof messages === "object" && !Array.isArray(messages) && Array.isArray(messages.messages)) {
    return request(key, "sampling", { ...messages });
  }
  const list = Array.isArray(messages) ? messages : [messages];
  return request(key, "sampling", { messages: list.map(samplingMessage), maxTokens: 1000, ...options });
}

/** Ask for the client's roots (`roots/list`). Needs the client's `roots` capability. */
export function listRoots(key) {
  return request(key, "list-roots");
}

function samplingMessage(m) {
  if (typeof m === "string") return { role: "user", content: { type: "text", text: m } };
  if (!m || typeof m !== "object" || !m.content) throw new TypeError("sampling messages are strings or user(...) / assistant(...) messages");
  const c = m.content;
  let content;
  if (c.type === "text") content = { type: "text", text: c.text };
  else if (c.type === "image" || c.type === "audio") content = { type: c.type, data: base64(c.data), mimeType: c.mimeType };
  else throw new TypeError(`a sampling message holds text, an image or audio, not ${c.type}`);
  return { role: m.role === "assistant" ? "assistant" : "user", content };
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Base64 without btoa (QuickJS has none). */
export function base64(bytes) {
  if (typeof bytes === "string") return bytes;
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? B64[n & 63] : "=";
  }
  return out;
}

/** Bytes from any typed array or ArrayBuffer (engines differ in what a WIT `list<u8>` lifts to). */
export function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return undefined;
}

function stateBytes(state) {
  if (state === undefined || state === null) return undefined;
  let bytes = asBytes(state);
  if (bytes) {
    // as given
  } else if (typeof state === "string") bytes = encodeUtf8(state);
  else bytes = encodeUtf8(JSON.stringify(state));
  if (bytes.length > MAX_STATE_BYTES) throw new RangeError(`input-required state is ${bytes.length} bytes, over the host's limit of ${MAX_STATE_BYTES}`);
  return bytes;
}

/**
 * What a tool or prompt returns when it needs answers from the client first:
 * `inputRequired([elicit(...), sample(...)], state)` (one request needs no array). `state` is what
 * the next round needs (`resume.state`): a Uint8Array, a string (UTF-8; back with
 * `resume.stateText()`) or a JSON value (back with `resume.stateJson()`); at most 16 KiB, and
 * readable by the client: keep secrets out.
 */
export function inputRequired(requests, state) {
  const list = Array.isArray(requests) ? requests : [requests];
  if (list.length === 0) throw new TypeError("inputRequired needs at least one request (elicit, sample or listRoots)");
  const seen = new Set();
  for (const r of list) {
    if (!r || r[REQUEST] !== true) throw new TypeError(`not an input request: ${JSON.stringify(r)} (use elicit, sample or listRoots)`);
    if (seen.has(r.key)) throw new TypeError(`input request key ${JSON.stringify(r.key)} is used twice`);
    seen.add(r.key);
  }
  const out = { requests: list, state: stateBytes(state) };
  Object.defineProperty(out, INPUT_REQUIRED, { value: true, enumerable: false });
  return out;
}

/** Whether `value` was made by `inputRequired`. */
export const isInputRequired = (value) => value !== null && typeof value === "object" && value[INPUT_REQUIRED] === true;

/**
 * The client's answers to the previous round and the state it carried. `responses` maps each key to
 * the MCP result as parsed JSON (`ElicitResult`, `CreateMessageResult`, `ListRootsResult`); a client
 * may leave keys out, so check and ask again for what is missing.
 */
export class Resumption {
  /** `responses`: an object or `[key, value]` pairs, values as JSON text or already parsed. */
  constructor(responses = {}, state = undefined) {
    const pairs = Array.isArray(responses) ? responses : Object.entries(responses ?? {});
    this.responses = {};
    for (const [key, value] of pairs) {
      let v = value;
      if (typeof v === "string") {
        try {
          v = JSON.parse(v);
        } catch {
          // kept as text; the helpers treat it as no answer
        }
      }
      this.responses[key] = v;
    }
    this.state = stateBytes(state);
  }

  /** A resumption from what a caller passes (a Resumption, `{ responses, state }`, or nothing). */
  static from(value) {
    if (value === undefined || value === null || value instanceof Resumption) return value ?? undefined;
    return new Resumption(value.responses, value.state);
  }

  has(key) {
    return Object.prototype.hasOwnProperty.call(this.responses, key);
  }

  /** The answer under `key` as parsed JSON, or undefined. */
  get(key) {
    return this.has(key) ? this.responses[key] : undefined;
  }

  /** The state as UTF-8 text (undefined when there is none). */
  stateText() {
    return this.state === undefined ? undefined : decodeUtf8(this.state);
  }

  /** The state parsed as JSON (undefined when there is none). */
  stateJson() {
    return this.state === undefined ? undefined : JSON.parse(decodeUtf8(this.state));
  }

  /** An elicitation's outcome: "accept", "decline", "cancel", or undefined without an answer. */
  action(key) {
    const a = this.get(key);
    return a && typeof a === "object" && typeof a.action === "string" ? a.action : undefined;
  }

  /** What the user entered (the `content` object) when they accepted; undefined otherwise. */
  elicited(key) {
    return this.action(key) === "accept" ? (this.get(key).content ?? {}) : undefined;
  }

  /** A sampling answer (`{ role, content, model, stopReason }`), or undefined. */
  sampled(key) {
    const a = this.get(key);
    return a && typeof a === "object" && "content" in a ? a : undefined;
  }

  /** The text the client's model answered (text blocks joined), or undefined. */
  sampledText(key) {
    const a = this.sampled(key);
    if (!a) return undefined;
    const blocks = Array.isArray(a.content) ? a.content : [a.content];
    const texts = blocks.filter((b) => b && b.type === "text" && typeof b.text === "string").map((b) => b.text);
    return texts.length ? texts.join("") : undefined;
  }

  /** The client's roots (`[{ uri, name? }]`), or undefined. */
  roots(key) {
    const a = this.get(key);
    return a && Array.isArray(a.roots) ? a.roots.filter((r) => r && typeof r === "object") : undefined;
  }
}

/**
 * Suggestions from what a completer returned: an array of strings (the first 100 are kept,
 * `total` and `hasMore` set), `{ values, total?, hasMore? }`, or nothing.
 */
export function completionOf(value) {
  let out;
  if (value === undefined || value === null) out = { values: [], total: undefined, hasMore: false };
  else if (Array.isArray(value)) out = { values: value.map(String), total: value.length, hasMore: value.length > MAX_COMPLETION_VALUES };
  else if (typeof value === "object" && Array.isArray(value.values)) {
    out = { values: value.values.map(String), total: value.total ?? undefined, hasMore: Boolean(value.hasMore) };
  } else throw new TypeError("a completer returns an array of strings or { values, total?, hasMore? }");
  if (out.values.length > MAX_COMPLETION_VALUES) {
    out.values = out.values.slice(0, MAX_COMPLETION_VALUES);
    out.hasMore = true;
  }
  if (out.total !== undefined && out.total < out.values.length) out.total = out.values.length;
  return out;
}

/** The client's declared capabilities (MCP `ClientCapabilities`), with helpers. */
export class ClientCapabilities {
  constructor(declared = {}) {
    /** The JSON object the client declared. */
    this.declared = declared && typeof declared === "object" && !Array.isArray(declared) ? declared : {};
  }

  static parse(text) {
    try {
      return new ClientCapabilities(text ? JSON.parse(text) : {});
    } catch {
      return new ClientCapabilities({});
    }
  }

  #section(name) {
    const v = this.declared[name];
    return v && typeof v === "object" ? v : undefined;
  }

  /** Form-mode elicitation (`elicit`): `elicitation` declared, as `{}` or with `form`. */
  get elicitation() {
    const e = this.#section("elicitation");
    return e !== undefined && ("form" in e || !("url" in e));
  }

  /** URL-mode elicitation (`elicitUrl`): `elicitation.url` declared. */
  get elicitationUrl() {
    const e = this.#section("elicitation");
    return e !== undefined && "url" in e;
  }

  /** Sampling (`sample`). */
  get sampling() {
    return this.#section("sampling") !== undefined;
  }

  /** Roots (`listRoots`). */
  get roots() {
    return this.#section("roots") !== undefined;
  }

  /** Whether the client can answer `request`. */
  supports(request) {
    if (request.kind === "sampling") return this.sampling;
    if (request.kind === "list-roots") return this.roots;
    return request.params?.mode === "url" ? this.elicitationUrl : this.elicitation;
  }
}
