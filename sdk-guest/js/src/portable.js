// Portable tool input schemas (issue #21 item 4): the form OpenAI strict function calling, Gemini
// function declarations and Claude all accept unchanged. `tool()` turns the author's `inputSchema`
// into it, and `dispatch.callTool` undoes the one change handlers could notice (optional properties
// became nullable and required: a null for one of them is removed before the handler runs).
//
// Rewritten, meaning kept:
//   - objects with `properties` are closed (`additionalProperties: false`), their properties sorted
//     by name (as the host publishes them) and all listed in `required`; a property the author did
//     not require becomes nullable (`anyOf: [S, null]`);
//   - local `$ref`s (`#/$defs/X`, any `#/...` pointer) are inlined, `$defs`/`definitions` dropped;
//   - `type: [A, B]` becomes `anyOf: [{type: A, ...}, {type: B, ...}]`, each keyword on the branch it
//     applies to; description and title stay beside `anyOf`;
//   - `default` and `examples` become description text ("Default: 6."); `const: "x"` becomes
//     `enum: ["x"]`; a type-less `enum` of strings gets `type: "string"`;
//   - `$schema`, `$id`, `$comment`, `deprecated`, `readOnly`, `writeOnly` are dropped.
// Refused (TypeError when the tool is declared): keywords with no portable equivalent (minLength,
// oneOf, allOf, non-string enums, a format other than date-time, ...), recursive or non-local
// `$ref`s. Kept as written and reported (`notPortable`; the host reports such tools): free-form
// values — `{}`, `true`, objects without `properties`, `additionalProperties` other than false.

const ALLOWED = new Set([
  "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "description",
  "title", "pattern", "format", "minimum", "maximum", "minItems", "maxItems",
]);
const DROPPED = ["$schema", "$id", "$anchor", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"];
const KEYWORD_TYPES = {
  pattern: ["string"],
  format: ["string"],
  enum: ["string"],
  minimum: ["integer", "number"],
  maximum: ["integer", "number"],
  items: ["array"],
  minItems: ["array"],
  maxItems: ["array"],
  properties: ["object"],
  required: ["object"],
  additionalProperties: ["object"],
};
const TYPES = new Set(["string", "number", "integer", "boolean", "null", "array", "object"]);
const CHECK_IN_HANDLER = "say it in the description and check it in the handler";
const ADVICE = {
  minLength: `use a \`pattern\` (e.g. "^[\\\\s\\\\S]{1,64}$"), or ${CHECK_IN_HANDLER}`,
  maxLength: `use a \`pattern\` (e.g. "^[\\\\s\\\\S]{1,64}$"), or ${CHECK_IN_HANDLER}`,
  exclusiveMinimum: `use \`minimum\`, or ${CHECK_IN_HANDLER}`,
  exclusiveMaximum: `use \`maximum\`, or ${CHECK_IN_HANDLER}`,
  oneOf: "use `anyOf` (with branches that cannot both match, it means the same)",
  allOf: "merge the schemas into one",
  nullable: 'use `type: ["T", "null"]` or leave the property out of `required`',
  contentEncoding: 'say it in the description (e.g. "Base64-encoded.")',
  prefixItems: "use `items` with minItems/maxItems, or an object with named properties",
};
const GENERIC_ADVICE =
  "portable schemas use only type, properties, required, additionalProperties: false, items, anyOf, enum " +
  `(strings), description, title, pattern, format (date-time), minimum, maximum, minItems and maxItems; ${CHECK_IN_HANDLER}`;

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const NULL = Object.freeze({ type: "null" });
const isNull = (s) => isObj(s) && s.type === "null" && Object.keys(s).length === 1;

/**
 * The portable form of an input schema: `{ schema, plan, notPortable }`. `plan` says where a null
 * stands for "not given" (see `stripNulls`); `notPortable` lists what is kept although it is not
 * portable. Throws a TypeError naming the path for what cannot be made portable.
 */
export function portableInputSchema(schema, what = "inputSchema") {
  const ctx = { root: schema, refs: [], problems: [], what };
  const { schema: out, plan } = convert(schema, "", ctx, true);
  return { schema: out, plan, notPortable: [...new Set(ctx.problems)] };
}

/** `args` without the nulls `plan` says stand for "not given" (a copy; `args` is left as it is). */
export function stripNulls(value, plan) {
  if (!plan || value === null || typeof value !== "object") return value;
  if (plan.kind === "object") {
    if (Array.isArray(value)) return value;
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null && plan.optional.has(k)) continue;
      out[k] = plan.props[k] ? stripNulls(v, plan.props[k]) : v;
    }
    return out;
  }
  if (plan.kind === "array") return Array.isArray(value) ? value.map((v) => stripNulls(v, plan.items)) : value;
  // anyOf: the first object (array) branch the value fits decides
  for (const b of plan.branches) {
    if (b.type === "array" && Array.isArray(value)) return stripNulls(value, b.plan);
    if (b.type === "object" && !Array.isArray(value) && Object.keys(value).every((k) => b.names.has(k))) {
      return stripNulls(value, b.plan);
    }
  }
  return value;
}

function fail(ctx, path, message) {
  return new TypeError(`${ctx.what}${path ? ` at ${path}` : ""}: ${message}`);
}

function convert(node, path, ctx, root = false) {
  if (node === true || (isObj(node) && Object.keys(node).length === 0)) {
    ctx.problems.push(`${path || "the root"}: any JSON value ({}) has no portable schema`);
    return { schema: {}, plan: null };
  }
  if (!isObj(node)) throw fail(ctx, path, `not a schema: ${JSON.stringify(node)}`);
  if ("$ref" in node) return inlineRef(node, path, ctx);

  const s = { ...node };
  for (const k of [...DROPPED, ...Object.keys(s).filter((k) => s[k] === undefined)]) delete s[k];
  const notes = [];
  if ("examples" in s) {
    const values = Array.isArray(s.examples) ? s.examples : [s.examples];
    notes.push(`Example${values.length > 1 ? "s" : ""}: ${values.map((v) => JSON.stringify(v)).join(", ")}.`);
    delete s.examples;
  }
  if ("default" in s) {
    if (s.default !== null && s.default !== undefined) notes.push(`Default: ${JSON.stringify(s.default)}.`);
    delete s.default;
  }
  if ("const" in s) {
    if (typeof s.const !== "string") throw fail(ctx, path, "`const` is portable only for a string (it becomes a one-value enum); use minimum = maximum for a number");
    s.enum = [s.const];
    delete s.const;
  }
  for (const k of Object.keys(s)) {
    if (!ALLOWED.has(k)) throw fail(ctx, path, `the schema keyword \`${k}\` is not portable (OpenAI strict mode, Gemini): ${ADVICE[k] ?? GENERIC_ADVICE}`);
  }
  if (notes.length) s.description = withText(s.description, notes.join(" "));

  if (s.type === undefined && s.anyOf === undefined) {
    if (s.properties !== undefined || s.additionalProperties !== undefined || s.required !== undefined) s.type = "object";
    else if (s.items !== undefined) s.type = "array";
    else if (Array.isArray(s.enum) && s.enum.length && s.enum.every((v) => typeof v === "string")) s.type = "string";
    else if (Array.isArray(s.enum)) throw fail(ctx, path, "a portable enum lists strings only (and has `type: \"string\"`)");
    else {
      ctx.problems.push(`${path || "the root"}: a schema without a type has no portable form`);
      return { schema: s, plan: null };
    }
  }
  if (Array.isArray(s.type)) return splitTypes(s, path, ctx);
  if (s.anyOf !== undefined) return anyOf(s, path, ctx);
  if (typeof s.type !== "string" || !TYPES.has(s.type)) throw fail(ctx, path, `unknown type ${JSON.stringify(s.type)}`);
  if (s.enum !== undefined && !(Array.isArray(s.enum) && s.enum.every((v) => typeof v === "string"))) {
    throw fail(ctx, path, "a portable enum lists strings only: for numbers use minimum/maximum and say the values in the description");
  }
  for (const k of Object.keys(s)) {
    if (KEYWORD_TYPES[k] && !KEYWORD_TYPES[k].includes(s.type)) {
      throw fail(ctx, path, `\`${k}\` applies to ${KEYWORD_TYPES[k].join(" or ")} values, not to ${s.type}`);
    }
  }
  if (s.format !== undefined && s.format !== "date-time") {
    throw fail(ctx, path, `format ${JSON.stringify(s.format)} is not portable (only "date-time" is): say it in the description, or use a pattern`);
  }
  if (s.type === "object") return object(s, path, ctx, root);
  if (s.type === "array") {
    if (s.items === undefined) {
      ctx.problems.push(`${path || "the root"}: an array without \`items\` has no portable schema`);
      return { schema: s, plan: null };
    }
    if (Array.isArray(s.items)) throw fail(ctx, path, "tuple `items` (an array of schemas) are not portable: use one `items` schema with minItems/maxItems");
    const items = convert(s.items, `${path}[]`, ctx);
    s.items = items.schema;
    return { schema: s, plan: items.plan && { kind: "array", items: items.plan } };
  }
  return { schema: s, plan: null };
}

function object(s, path, ctx, root) {
  const open = s.additionalProperties !== undefined && s.additionalProperties !== false;
  if (s.properties === undefined && !root) {
    ctx.problems.push(`${path}: an object without \`properties\` (a free-form map) has no portable schema`);
    if (isObj(s.additionalProperties)) s.additionalProperties = convert(s.additionalProperties, `${path}{}`, ctx).schema;
    return { schema: s, plan: null };
  }
  if (!isObj(s.properties ?? {})) throw fail(ctx, path, "`properties` must be an object");
  const required = new Set(s.required ?? []);
  const props = s.properties ?? {};
  for (const name of required) {
    if (!(name in props)) throw fail(ctx, path, `\`required\` names ${JSON.stringify(name)}, which is not in \`properties\``);
  }
  const out = {};
  const plans = {};
  const optional = new Set();
  // Sorted by name: the host publishes JSON objects with sorted keys, and strict mode wants
  // `required` in the order of `properties`; sorted here, both agree whatever the host does.
  for (const [name, p] of Object.entries(props).sort(([a], [b]) => byCodePoint(a, b))) {
    const r = convert(p, `${path}.${name}`, ctx);
    out[name] = r.schema;
    if (r.plan) plans[name] = r.plan;
    if (!required.has(name)) {
      optional.add(name);
      out[name] = nullable(r.schema);
    }
  }
  const schema = { ...s, properties: out, required: Object.keys(out) };
  if (open) {
    ctx.problems.push(`${path || "the root"}: \`additionalProperties\` other than false (extra properties) is not portable`);
    if (isObj(s.additionalProperties)) schema.additionalProperties = convert(s.additionalProperties, `${path}{}`, ctx).schema;
  } else {
    schema.additionalProperties = false;
  }
  const trivial = optional.size === 0 && Object.keys(plans).length === 0;
  return { schema, plan: trivial ? null : { kind: "object", optional, props: plans } };
}

/** `type: [A, B, ...]` as `anyOf`: each keyword goes to the branch whose type it applies to. */
function splitTypes(s, path, ctx) {
  const types = [...new Set(s.type)];
  if (types.length === 1) return convert({ ...s, type: types[0] }, path, ctx);
  const { type: _t, description, title, ...rest } = s;
  const branches = types.map((t) => {
    const b = { type: t };
    for (const [k, v] of Object.entries(rest)) {
      if (k === "enum") {
        const values = v.filter((x) => (t === "null" ? x === null : t === "string" ? typeof x === "string" : false));
        if (t === "string" && values.length) b.enum = values;
      } else if (KEYWORD_TYPES[k]?.includes(t)) {
        b[k] = v;
      }
    }
    return b;
  });
  if (Array.isArray(rest.enum) && rest.enum.some((x) => x !== null && typeof x !== "string")) {
    throw fail(ctx, path, "a portable enum lists strings only: for numbers use minimum/maximum and say the values in the description");
  }
  return anyOf({ anyOf: branches, ...(title !== undefined && { title }), ...(description !== undefined && { description }) }, path, ctx);
}

function anyOf(s, path, ctx) {
  const { anyOf: list, type, description, title, ...rest } = s;
  if (!Array.isArray(list) || list.length === 0) throw fail(ctx, path, "`anyOf` must be a non-empty array");
  if (Object.keys(rest).length) {
    throw fail(ctx, path, `keywords beside \`anyOf\` (${Object.keys(rest).join(", ")}) are not portable: move them into its branches`);
  }
  const branches = [];
  const plans = [];
  list.forEach((b, i) => {
    const withType = typeof type === "string" && isObj(b) && b.type === undefined && b.anyOf === undefined && b.$ref === undefined ? { type, ...b } : b;
    const r = convert(withType, `${path}.anyOf[${i}]`, ctx);
    const pure = isObj(r.schema) && Object.keys(r.schema).length === 1 && Array.isArray(r.schema.anyOf);
    if (pure) {
      branches.push(...r.schema.anyOf);
      plans.push(...(r.plan?.kind === "anyOf" ? r.plan.all : r.schema.anyOf.map(() => null)));
    } else {
      branches.push(r.schema);
      plans.push(r.plan);
    }
  });
  // duplicates dropped, null last
  const seen = new Map();
  branches.forEach((b, i) => {
    const key = JSON.stringify(b);
    if (!seen.has(key)) seen.set(key, i);
  });
  const order = [...seen.values()].sort((a, b) => isNull(branches[a]) - isNull(branches[b]));
  const schema = {};
  if (order.length === 1) {
    const only = { ...branches[order[0]], ...(title !== undefined && { title }), ...(description !== undefined && { description }) };
    return { schema: only, plan: plans[order[0]] };
  }
  schema.anyOf = order.map((i) => branches[i]);
  if (title !== undefined) schema.title = title;
  if (description !== undefined) schema.description = description;
  const all = order.map((i) => plans[i]);
  const matchers = order
    .map((i) => ({ b: branches[i], plan: plans[i] }))
    .filter(({ b }) => b.type === "object" || b.type === "array")
    .map(({ b, plan }) => ({ type: b.type, names: new Set(Object.keys(b.properties ?? {})), plan }));
  const plan = all.some(Boolean) ? { kind: "anyOf", branches: matchers, all } : null;
  return { schema, plan };
}

/** A `$ref` to a place in the same document, inlined (its siblings win over the target's keywords). */
function inlineRef(node, path, ctx) {
  const { $ref: ref, ...siblings } = node;
  if (typeof ref !== "string" || !ref.startsWith("#")) {
    throw fail(ctx, path, `only local $refs ("#/$defs/Name") can be inlined, not ${JSON.stringify(ref)}`);
  }
  if (ctx.refs.includes(ref)) {
    throw fail(ctx, path, `$ref ${ref} refers to itself: a recursive schema cannot be portable (write out a fixed depth)`);
  }
  let target = ctx.root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    target = isObj(target) || Array.isArray(target) ? target[key] : undefined;
  }
  if (!isObj(target) && target !== true) throw fail(ctx, path, `$ref ${ref} points at nothing`);
  ctx.refs.push(ref);
  try {
    return convert(target === true ? siblings : { ...target, ...siblings }, path, ctx);
  } finally {
    ctx.refs.pop();
  }
}

/** `anyOf: [S, null]`, with description and title beside it. */
function nullable(s) {
  if (!isObj(s) || Object.keys(s).length === 0 || s.type === "null") return s;
  if (Array.isArray(s.anyOf) && s.anyOf.some(isNull)) return s;
  const { description, title, ...inner } = s;
  const pure = Object.keys(inner).length === 1 && Array.isArray(inner.anyOf);
  return {
    anyOf: [...(pure ? inner.anyOf : [inner]), { ...NULL }],
    ...(title !== undefined && { title }),
    ...(description !== undefined && { description }),
  };
}

/** Compare strings as the host orders JSON keys (by Unicode code point, i.e. UTF-8 bytes). */
function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function withText(description, text) {
  const d = (description ?? "").trimEnd();
  if (!d) return text;
  return `${d}${/[.!?:]$/.test(d) ? " " : ". "}${text}`;
}
