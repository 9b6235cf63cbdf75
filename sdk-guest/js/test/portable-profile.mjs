// A checker of the portable input-schema profile (issue #21 item 4) for the tests: the findings of
// `schema`, an empty list when OpenAI strict mode, Gemini and Claude all accept it unchanged.

const ALLOWED = new Set([
  "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "description",
  "title", "pattern", "format", "minimum", "maximum", "minItems", "maxItems",
]);
const TYPES = new Set(["string", "number", "integer", "boolean", "null", "array", "object"]);
const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

export function findings(schema) {
  const out = [];
  if (!isObj(schema) || schema.type !== "object") return ['root: not {"type": "object"}'];
  for (const k of ["anyOf", "oneOf", "allOf", "enum", "const"]) if (k in schema) out.push(`root: ${k}`);
  const counts = { properties: 0, enum: 0 };
  walk(schema, "root", 1, out, counts);
  if (counts.properties > 5000) out.push("more than 5000 properties");
  if (counts.enum > 1000) out.push("more than 1000 enum values");
  return out;
}

function walk(s, at, depth, out, counts) {
  if (!isObj(s) || Object.keys(s).length === 0) {
    out.push(`${at}: untyped schema ${JSON.stringify(s)}`);
    return;
  }
  for (const k of Object.keys(s)) if (!ALLOWED.has(k)) out.push(`${at}: keyword ${k}`);
  const t = s.type;
  if ("anyOf" in s) {
    if (t !== undefined) out.push(`${at}: type beside anyOf`);
    s.anyOf.forEach((b, i) => {
      if (!isObj(b) || !("type" in b)) out.push(`${at}.anyOf[${i}]: branch without type`);
      walk(b, `${at}.anyOf[${i}]`, depth, out, counts);
    });
    return;
  }
  if (typeof t !== "string" || !TYPES.has(t)) {
    out.push(`${at}: type ${JSON.stringify(t)} is not one type name`);
    return;
  }
  if (t === "object") {
    if (depth > 10) out.push(`${at}: nested deeper than 10 objects`);
    const props = isObj(s.properties) ? s.properties : (out.push(`${at}: object without properties`), {});
    if (s.additionalProperties !== false) out.push(`${at}: additionalProperties is not false`);
    if (JSON.stringify(s.required) !== JSON.stringify(Object.keys(props))) out.push(`${at}: required is not every property in order`);
    counts.properties += Object.keys(props).length;
    for (const [name, p] of Object.entries(props)) walk(p, `${at}.${name}`, depth + 1, out, counts);
  } else if ("properties" in s || "required" in s || "additionalProperties" in s) {
    out.push(`${at}: object keywords on ${t}`);
  }
  if (t === "array") {
    if (!("items" in s)) out.push(`${at}: array without items`);
    else walk(s.items, `${at}[]`, depth, out, counts);
  } else if ("items" in s || "minItems" in s || "maxItems" in s) {
    out.push(`${at}: array keywords on ${t}`);
  }
  if ("enum" in s) {
    if (t !== "string" || !s.enum.every((v) => typeof v === "string")) out.push(`${at}: enum of non-strings or on ${t}`);
    counts.enum += s.enum.length;
  }
  if (("pattern" in s || "format" in s) && t !== "string") out.push(`${at}: string keywords on ${t}`);
  if ("format" in s && s.format !== "date-time") out.push(`${at}: format ${JSON.stringify(s.format)}`);
  if (("minimum" in s || "maximum" in s) && t !== "number" && t !== "integer") out.push(`${at}: number keywords on ${t}`);
}
