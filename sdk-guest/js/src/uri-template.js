// RFC 6570 URI templates (`notes://{name}`, `files://{+path}`), matched with the rules the host routes
// by (shared test vectors: tests/vectors/uri_templates.json):
// - literal text matches itself;
// - `{name}` matches one or more characters other than `/`, `?` and `#`;
// - `{+name}` matches one or more characters of any kind;
// - any other expression (`{?q}`, `{/p}`, lists, modifiers) never matches;
// - when several splits fit, earlier variables take as much as they can;
// - values are percent-decoded (`%XX`; a `%` without two hex digits stays), and a value that does not
//   decode to UTF-8 makes the URI not match. Validate values in the handler: `..%2F` decodes to `../`.
// Matching takes time proportional to the URI's length times the template's parts, whatever both hold.

import { decodeUtf8, encodeUtf8 } from "./utf8.js";

const SIMPLE = /^[A-Za-z0-9_.]+$/;
const EXCLUDED = new Set(["/", "?", "#"]);

export class UriTemplate {
  constructor(template) {
    this.template = template;
    this.variables = [];
    // { literal } | { name, reserved } | { unsupported }
    this.parts = [];
    let rest = template;
    let literal = "";
    for (;;) {
      const open = rest.indexOf("{");
      const close = open >= 0 ? rest.indexOf("}", open + 1) : -1;
      if (open < 0 || close < 0) {
        literal += rest;
        break;
      }
      literal += rest.slice(0, open);
      if (literal) this.parts.push({ literal });
      literal = "";
      const text = rest.slice(open + 1, close);
      const reserved = text.startsWith("+");
      const name = reserved ? text.slice(1) : text;
      if (SIMPLE.test(name)) {
        this.parts.push({ name, reserved });
        this.variables.push(name);
      } else {
        this.parts.push({ unsupported: text });
        this.variables.push(text);
      }
      rest = rest.slice(close + 1);
    }
    if (literal) this.parts.push({ literal });
  }

  /** The (percent-decoded) variables of `uri` if it matches, else `undefined`. */
  match(uri) {
    const parts = this.parts;
    if (parts.some((p) => p.unsupported !== undefined)) return undefined;
    const n = uri.length;
    // Between the two halves of a surrogate pair is no place to split.
    const boundary = (p) => p === 0 || p === n || !isLowSurrogate(uri.charCodeAt(p));
    const allowed = (p, reserved) => reserved || !EXCLUDED.has(uri[p]);
    // fits[i][p]: parts[i..] match uri[p..] (only at character boundaries)
    const fits = Array.from({ length: parts.length + 1 }, () => new Uint8Array(n + 1));
    fits[parts.length][n] = 1;
    for (let i = parts.length - 1; i >= 0; i--) {
      const here = fits[i];
      const next = fits[i + 1];
      const part = parts[i];
      if (part.literal !== undefined) {
        const len = part.literal.length;
        for (let p = 0; p + len <= n; p++) {
          if (next[p + len] && uri.startsWith(part.literal, p)) here[p] = 1;
        }
      } else {
        let reach = false;
        for (let p = n - 1; p >= 0; p--) {
          reach = allowed(p, part.reserved) && (next[p + 1] === 1 || reach);
          here[p] = reach && boundary(p) ? 1 : 0;
        }
      }
    }
    if (!fits[0][0]) return undefined;
    const vars = {};
    let p = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part.literal !== undefined) {
        p += part.literal.length;
        continue;
      }
      let end = -1;
      for (let q = p; q < n && allowed(q, part.reserved); ) {
        q += 1;
        if (fits[i + 1][q]) end = q;
      }
      if (end < 0) return undefined;
      const value = percentDecode(uri.slice(p, end));
      if (value === undefined) return undefined;
      vars[part.name] = value;
      p = end;
    }
    return vars;
  }
}

function isLowSurrogate(code) {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Decode `%XX` escapes (a `%` without two hex digits stays); `undefined` if not UTF-8. */
export function percentDecode(text) {
  if (!text.includes("%")) return text;
  const bytes = [];
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 3;
    } else if (c < 0x80) {
      bytes.push(c);
      i += 1;
    } else {
      const cp = text.codePointAt(i);
      const ch = String.fromCodePoint(cp);
      for (const b of encodeUtf8(ch)) bytes.push(b);
      i += ch.length;
    }
  }
  try {
    return decodeUtf8(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}
