// Types of capsule-plugin, the JavaScript/TypeScript guest SDK for Capsule (capsule:plugin@0.2.0).

// ------------------------------------------------------------------------------------------------
// JSON Schema → TypeScript (the subset tool schemas use), so handlers get typed arguments

/** A JSON Schema (draft 2020-12) object, as tools declare their arguments and results. */
export interface JsonSchema {
  type?: JsonType | readonly JsonType[];
  properties?: { readonly [name: string]: JsonSchema };
  required?: readonly string[];
  items?: JsonSchema;
  enum?: readonly unknown[];
  const?: unknown;
  anyOf?: readonly JsonSchema[];
  oneOf?: readonly JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  description?: string;
  default?: unknown;
  [keyword: string]: unknown;
}
export type JsonType = "string" | "number" | "integer" | "boolean" | "null" | "array" | "object";

type Prettify<T> = { [K in keyof T]: T[K] } & {};
type ScalarOf<T> = T extends "string"
  ? string
  : T extends "number" | "integer"
    ? number
    : T extends "boolean"
      ? boolean
      : T extends "null"
        ? null
        : T extends "array"
          ? unknown[]
          : T extends "object"
            ? Record<string, unknown>
            : unknown;
type ObjectOf<P, R> = Prettify<
  { -readonly [K in keyof P as K extends R ? K : never]: FromSchema<P[K]> } & {
    -readonly [K in keyof P as K extends R ? never : K]?: FromSchema<P[K]>;
  }
>;
type Members<S> = S extends readonly (infer M)[] ? M : never;
type Distribute<M> = M extends unknown ? FromSchema<M> : never;

/** The TypeScript type of values that match JSON Schema `S` (declared inline or `as const`). */
export type FromSchema<S> = S extends { const: infer C }
  ? C
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { anyOf: infer A }
      ? Distribute<Members<A>>
      : S extends { oneOf: infer A }
        ? Distribute<Members<A>>
        : S extends { type: "array"; items: infer I }
          ? FromSchema<I>[]
          : S extends { type: "object"; properties: infer P }
            ? ObjectOf<P, S extends { required: readonly (infer R)[] } ? R : never>
            : S extends { type: infer T extends string }
              ? ScalarOf<T>
              : S extends { type: readonly (infer T)[] }
                ? ScalarOf<T>
                : unknown;

// ------------------------------------------------------------------------------------------------
// content

export type Role = "user" | "assistant";

export interface Annotations {
  audience?: Role[];
  priority?: number;
  lastModified?: string;
}

export interface TextContent {
  type: "text";
  text: string;
  annotations?: Annotations;
}
export interface MediaContent {
  type: "image" | "audio";
  data: Uint8Array;
  mimeType: string;
  annotations?: Annotations;
}
export interface ResourceLinkFields {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  size?: number;
  annotations?: Annotations;
}
export interface ResourceLinkContent extends ResourceLinkFields {
  type: "resource_link";
}
export interface ContentsFields {
  uri: string;
  text?: string;
  blob?: Uint8Array;
  mimeType?: string;
  meta?: Record<string, unknown>;
}
/** Resource contents, built with `contents()`. */
export interface ResourceContents extends ContentsFields {
  readonly __capsuleContents: true;
}
export interface EmbeddedResourceContent {
  type: "resource";
  resource: ResourceContents;
}
export type Content = (TextContent | MediaContent | ResourceLinkContent | EmbeddedResourceContent) & {
  readonly __capsuleContent: true;
};

export interface ToolResult {
  content: Content[];
  structuredContent?: Record<string, unknown>;
  isError: boolean;
  meta?: Record<string, unknown>;
  readonly __capsuleResult: true;
}

export interface Message {
  role: Role;
  content: Content;
  readonly __capsuleMessage: true;
}

/** A text block. */
export function text(text: string, annotations?: Annotations): Content;
/** An image block from the raw bytes of an image file. */
export function image(data: Uint8Array, mimeType: string, annotations?: Annotations): Content;
/** An audio block from the raw bytes of an audio file. */
export function audio(data: Uint8Array, mimeType: string, annotations?: Annotations): Content;
/** A link to a resource the client may read. */
export function resourceLink(link: ResourceLinkFields): Content;
/** Resource contents: exactly one of `text` and `blob`. */
export function contents(c: ContentsFields): ResourceContents;
/** A resource embedded in a tool result or prompt message. */
export function embeddedResource(c: ContentsFields): Content;
/** A tool result with full control. */
export function toolResult(r: {
  content?: Content[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  meta?: Record<string, unknown>;
}): ToolResult;
/** A result with `isError: true`: the tool ran but failed in a way the model should read. */
export function toolError(message: string): ToolResult;
/** A prompt message from the user. */
export function user(content: string | Content): Message;
/** A prompt message from the assistant. */
export function assistant(content: string | Content): Message;

// ------------------------------------------------------------------------------------------------
// declarations

export type Access = "read-only" | "read-write";

export interface Metadata {
  /** Display name (defaults to the file stem; the host namespaces by file stem anyway). */
  name?: string;
  version?: string;
  description?: string;
  /** Guest paths the plugin asks for. Requests grant nothing: the operator grants. */
  filesystem?: { path: string; access?: Access; reason?: string }[];
  /** Outgoing HTTP origins, e.g. `https://api.github.com`. */
  network?: string[];
  /** Names of environment variables the plugin reads. */
  env?: string[];
}

export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/**
 * Whether a tool may run as an MCP task: "forbidden" (the default: never, the call answers within
 * its request and `[limits] timeout`), "optional" (a task for clients that declared the tasks
 * extension, a plain call for the others) or "required" (only as a task; other clients get
 * `-32021`). The operator's policy (`[tools.NAME] task_support`) overrides it.
 */
export type TaskSupport = "forbidden" | "optional" | "required";
/** The three `TaskSupport` values. */
export const TASK_SUPPORT: readonly TaskSupport[];
/** The `_meta` key that carries a tool's task support to the host: `"capsule/taskSupport"`. */
export const TASK_SUPPORT_KEY: "capsule/taskSupport";

export interface ToolSpec<I extends JsonSchema, O extends JsonSchema | undefined> {
  /** Published as `<file stem>_<name>`: letters, digits, `_`, `-`; no `__`. */
  name: string;
  title?: string;
  description?: string;
  /**
   * An object schema, as you write it. It is published in its *portable* form (what OpenAI strict
   * mode, Gemini and Claude accept unchanged): objects closed, every property required, the ones
   * you left out of `required` nullable (`anyOf: [S, {type: "null"}]`), local `$ref`s inlined, type
   * arrays as `anyOf`, `default`/`examples` as description text. A null for a property you left
   * optional is removed before the handler runs, so `args` matches what you wrote. Keywords with no
   * portable form (`minLength`, `oneOf`, non-string `enum`, ...) throw a TypeError here. The host
   * validates every call against the published schema before the handler runs.
   */
  inputSchema?: I;
  /** An object schema of the structured result; the host checks results against it. */
  outputSchema?: O;
  annotations?: ToolAnnotations;
  meta?: Record<string, unknown>;
  /**
   * Whether the tool may run as an MCP task (see `TaskSupport`; without it, "forbidden"). Sent in the
   * tool's `_meta` under `capsule/taskSupport`, merged with `meta` (this setting wins over that key
   * written into `meta` by hand). Another value throws a TypeError.
   */
  taskSupport?: TaskSupport;
}

type Awaitable<T> = T | Promise<T>;
type ToolReturn<O> = O extends JsonSchema
  ? FromSchema<O> | ToolResult
  : string | Content | Content[] | ToolResult | Record<string, unknown> | unknown[] | number | boolean | null | undefined | void;

/** Describe the plugin. */
export function plugin(metadata: Metadata): Metadata;

/** What `portableInputSchema` answers. */
export interface PortableInputSchema {
  /** The schema `tool()` publishes. */
  schema: JsonSchema;
  /** Where a null stands for "not given" (internal to the SDK). */
  plan: unknown;
  /** What was kept although it is not portable (free-form objects, `{}`): the host reports such tools. */
  notPortable: string[];
}

/**
 * The portable form of a tool input schema, as `tool()` publishes it (see `ToolSpec.inputSchema`).
 * Throws a TypeError naming the path for what has no portable form.
 */
export function portableInputSchema(schema: JsonSchema, what?: string): PortableInputSchema;

/**
 * Declare a tool. `args` is typed from `inputSchema`. Return a string (one text block), an object
 * (structured content plus its JSON as text), content blocks, or `toolResult(...)`; throw
 * `InvalidArguments`, `NotFound` or `Denied` for a typed error (anything else is `internal`).
 * Handlers may be async only with `--engine starlingmonkey`. A tool that needs the client's input
 * returns `inputRequired(...)`; the next round gets the answers as `resume` (undefined at first).
 */
export function tool<const I extends JsonSchema = { type: "object" }, const O extends JsonSchema | undefined = undefined>(
  spec: ToolSpec<I, O>,
  handler: (args: FromSchema<I>, resume?: Resumption) => Awaitable<ToolReturn<O> | InputRequired>,
): typeof handler;

export interface ResourceSpec {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  size?: number;
  annotations?: Annotations;
}

type ResourceReturn = string | Uint8Array | ResourceContents | ResourceContents[] | Record<string, unknown>;

/** Declare resource `uri`. */
export function resource(spec: ResourceSpec, read: () => Awaitable<ResourceReturn>): typeof read;

export interface ResourceTemplateSpec {
  /** An RFC 6570 template, e.g. `docs://{name}` or `files://{+path}`. */
  uriTemplate: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  annotations?: Annotations;
}

/** Declare a family of resources; `vars` holds the template's (percent-decoded) variables. */
export function resourceTemplate(
  spec: ResourceTemplateSpec,
  read: (vars: Record<string, string>, uri: string) => Awaitable<ResourceReturn>,
): typeof read;

/** Declare a function that lists resources once at load time (e.g. one per file). */
export function resourceList(list: () => ResourceSpec[]): typeof list;

export interface PromptArgument {
  name: string;
  title?: string;
  description?: string;
  required?: boolean;
}

export interface PromptSpec<A extends readonly PromptArgument[]> {
  name: string;
  title?: string;
  description?: string;
  arguments?: A;
}

type PromptArgs<A extends readonly PromptArgument[]> = Prettify<
  { [P in A[number] as P extends { required: true } ? P["name"] : never]: string } & {
    [P in A[number] as P extends { required: true } ? never : P["name"]]?: string;
  }
>;

type PromptReturn = string | Message | (string | Message)[] | { messages: (string | Message)[]; description?: string };

/** Declare a prompt; arguments arrive as strings. It may return `inputRequired(...)`, like tools. */
export function prompt<const A extends readonly PromptArgument[] = []>(
  spec: PromptSpec<A>,
  render: (args: PromptArgs<A>, resume?: Resumption) => Awaitable<PromptReturn | InputRequired>,
): typeof render;

// ------------------------------------------------------------------------------------------------
// asking the client (input required) and completions

/** One question for the client, under a key of the plugin's choosing. */
export interface InputRequest {
  readonly key: string;
  readonly kind: "elicitation" | "sampling" | "list-roots";
  /** The MCP request's `params` (none for `roots/list`). */
  readonly params?: Record<string, unknown>;
}

/** What a handler returns when it needs answers from the client first; made by `inputRequired`. */
export interface InputRequired {
  readonly requests: InputRequest[];
  readonly state?: Uint8Array;
  readonly __capsuleInputRequired: true;
}

/** An elicitation schema: an object of flat, primitive properties. */
export interface ElicitationSchema extends JsonSchema {
  type: "object";
  properties: { readonly [name: string]: JsonSchema };
}

/** Ask the user (`elicitation/create`, form mode). Needs the client's `elicitation` capability. */
export function elicit(key: string, message: string, schema?: ElicitationSchema): InputRequest;
/** Send the user to `url` (`elicitation/create`, URL mode). Needs `elicitation.url`. */
export function elicitUrl(key: string, message: string, url: string, elicitationId: string): InputRequest;

export interface SamplingOptions {
  /** Default 1000. */
  maxTokens?: number;
  systemPrompt?: string;
  temperature?: number;
  /** Any other `CreateMessageRequestParams` field: `modelPreferences`, `stopSequences`, ... */
  [param: string]: unknown;
}
/**
 * Ask the client's model (`sampling/createMessage`): a string (one user message), messages
 * (`user(...)`, `assistant(...)` with text, image or audio), or the whole
 * `CreateMessageRequestParams` (`{ messages, maxTokens, ... }`). Needs the `sampling` capability.
 */
export function sample(
  key: string,
  messages: string | Message | (string | Message)[] | { messages: unknown[]; maxTokens: number; [param: string]: unknown },
  options?: SamplingOptions,
): InputRequest;
/** Ask for the client's roots (`roots/list`). Needs the `roots` capability. */
export function listRoots(key: string): InputRequest;

/**
 * The value a handler returns to ask the client: one request or several (unique keys), and the
 * state the next round needs (`resume.state`): bytes, a string or a JSON value; at most 16 KiB,
 * readable by the client.
 */
export function inputRequired(requests: InputRequest | InputRequest[], state?: Uint8Array | string | unknown): InputRequired;
/** Whether `value` was made by `inputRequired`. */
export function isInputRequired(value: unknown): value is InputRequired;

export interface Root {
  uri: string;
  name?: string;
}

/** The client's answers to the previous round and the state it carried. */
export class Resumption {
  constructor(responses?: Record<string, unknown> | [string, unknown][], state?: Uint8Array | string | unknown);
  /** Every answer by key, as parsed JSON (`ElicitResult`, `CreateMessageResult`, `ListRootsResult`). */
  readonly responses: Record<string, unknown>;
  /** The state returned with the previous round's `inputRequired`. */
  readonly state: Uint8Array | undefined;
  has(key: string): boolean;
  get(key: string): unknown;
  stateText(): string | undefined;
  stateJson<T = unknown>(): T | undefined;
  /** An elicitation's outcome, undefined without an answer. */
  action(key: string): "accept" | "decline" | "cancel" | undefined;
  /** What the user entered, when they accepted. */
  elicited<T = Record<string, unknown>>(key: string): T | undefined;
  /** A sampling answer (`CreateMessageResult`). */
  sampled(key: string): { role: Role; content: unknown; model?: string; stopReason?: string } | undefined;
  /** The text the model answered (text blocks joined). */
  sampledText(key: string): string | undefined;
  /** The client's roots. */
  roots(key: string): Root[] | undefined;
}

/** Suggestions for an argument (MCP `CompleteResult.completion`). */
export interface Completion {
  values: string[];
  total?: number;
  hasMore?: boolean;
}

export type CompletionRef = { prompt: string; argument: string } | { template: string; argument: string };

/**
 * Declare how to complete a prompt argument (`{ prompt, argument }`) or a resource-template
 * variable (`{ template, argument }`): `complete(value, context)` returns suggestions, best first
 * (an array of strings, of which the first 100 are kept, or a `Completion`). Without a completer
 * an argument completes to nothing.
 */
export function completion(
  ref: CompletionRef,
  complete: (value: string, context: Record<string, string>) => Awaitable<string[] | Completion>,
): typeof complete;

/** The capabilities the client declared, with helpers for what `inputRequired` may ask. */
export class ClientCapabilities {
  constructor(declared?: Record<string, unknown>);
  static parse(text: string | undefined): ClientCapabilities;
  /** The JSON object the client declared (MCP `ClientCapabilities`). */
  readonly declared: Record<string, unknown>;
  /** Form-mode elicitation (`elicit`). */
  readonly elicitation: boolean;
  /** URL-mode elicitation (`elicitUrl`). */
  readonly elicitationUrl: boolean;
  readonly sampling: boolean;
  readonly roots: boolean;
  supports(request: InputRequest): boolean;
}

// ------------------------------------------------------------------------------------------------
// errors

export type ErrorKind = "invalid-arguments" | "not-found" | "denied" | "internal";

export class CapsuleError extends Error {
  readonly kind: ErrorKind;
  constructor(message: string, kind?: ErrorKind);
}
/** WIT `invalid-arguments`: the arguments do not fit; say how to fix them. */
export class InvalidArguments extends CapsuleError {
  constructor(message: string);
}
/** WIT `not-found`: the named thing does not exist. */
export class NotFound extends CapsuleError {
  constructor(message: string);
}
/** WIT `denied`: the sandbox refused a capability; name it. */
export class Denied extends CapsuleError {
  constructor(message: string);
}
/** WIT `internal`: anything else. */
export class Internal extends CapsuleError {
  constructor(message: string);
}
/** `[kind, message]` as the host will see a thrown value. */
export function classify(error: unknown): [ErrorKind, string];

// ------------------------------------------------------------------------------------------------
// host functions, files, helpers

export type LogLevel = "debug" | "info" | "notice" | "warning" | "error" | "critical" | "alert" | "emergency";
/** Log to the host log; forwarded to the client when it asked for that level. */
export function log(level: LogLevel, message: string): void;
/** Report progress on the current request (`progress` must grow). */
export function progress(progress: number, total?: number, message?: string): void;
/** Whether the client cancelled the current request. */
export function cancelled(): boolean;
/** The capabilities the client declared (empty outside a request). Look before asking. */
export function clientCapabilities(): ClientCapabilities;
/** Tell clients subscribed to `uri` (a resource this plugin serves) that it changed. */
export function resourceUpdated(uri: string): void;
/** Unit tests in Node: what `clientCapabilities()` answers, and the URIs `resourceUpdated` got. */
export const nativeHost: { capabilities: Record<string, unknown>; updated: string[] };

/** Files in the folders the operator granted (absolute guest paths). */
export const fs: {
  readBytes(path: string): Uint8Array;
  /** UTF-8 text; invalid UTF-8 throws a TypeError naming the offset. */
  readText(path: string): string;
  list(path: string): { name: string; type: "file" | "directory" | "other" }[];
  stat(path: string): { type: "file" | "directory" | "other"; size: number };
  exists(path: string): boolean;
  /** Unit tests in Node: serve guest paths from host directory `dir`. */
  useHostRoot(dir: string | undefined): void;
};

export function encodeUtf8(text: string): Uint8Array;
export function decodeUtf8(bytes: Uint8Array): string;

export class UriTemplate {
  constructor(template: string);
  readonly template: string;
  readonly variables: string[];
  match(uri: string): Record<string, string> | undefined;
}

/** What the component's exports do, in SDK shapes: for unit tests in Node. */
export const dispatch: {
  describe(): Metadata;
  world(): string;
  callTool(name: string, args?: Record<string, unknown> | string, resume?: ResumeInput): Awaitable<ToolResult | InputRequired>;
  listResources(): ResourceSpec[];
  readResource(uri: string): Awaitable<ContentsFields[]>;
  getPrompt(
    name: string,
    args?: Record<string, string> | [string, string][],
    resume?: ResumeInput,
  ): Awaitable<{ description?: string; messages: Message[] } | InputRequired>;
  complete(
    ref: { prompt: string } | { template: string },
    argument: string,
    value?: string,
    context?: Record<string, string> | [string, string][],
  ): Awaitable<Completion>;
  /** Declaration errors the build reports (completers of unknown prompts, templates, arguments). */
  problems(): string[];
};

/** The next round's answers for `dispatch`: a `Resumption`, or `{ responses: { key: answer }, state }`. */
export type ResumeInput = Resumption | { responses?: Record<string, unknown> | [string, unknown][]; state?: Uint8Array | string };
