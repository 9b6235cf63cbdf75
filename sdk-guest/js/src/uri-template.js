// RFC 6570 level-1 URI templates (`notes://{name}`), matched with the host's and the other SDKs'
// rules: literal text around simple `{var}` expressions; a variable covers any text (`/` included,
// `%XX` decoded: validate it in the handler); earlier variables take the shortest text; operator
// expressions (`{+var}`) never match.

import { decodeUtf8, encodeUtf8 } from "./utf8.js";

const SIMPLE = /^[A-Za-z0-9_.%]+$/;

export class UriTemplate {
  constructor(template) {
    this.template = template;
    this.variables = [];
    let pattern = "";
    let rest = template;
    let valid = true;
    for (;;) {
      const open = rest.indexOf("{");
      const close = open >= 0 ? rest.indexOf("}", open + 1) : -1;
      if (open < 0 || close < 0) {
        pattern += escape(rest);
        break;
      }
      pattern += escape(rest.slice(0, open));
      const name = rest.slice(open + 1, close);
      if (!SIMPLE.test(name)) valid = false;
      this.variables.push(name);
      pattern += "([\\s\\S]*?)";
      rest = rest.slice(close + 1);
    }
    this.regex = valid ? new RegExp(`^${pattern}$`) : null;
  }

  /** The variables of `uri` if it matches, else `undefined`. */
  match(uri) {
    if (!this.regex) return undefined;
    const m = this.regex.exec(uri);
    if (!m) return undefined;
    const vars = {};
    for (let i = 0; i < this.variables.length; i++) {
      const value = percentDecode(m[i + 1]);
      if (value === undefined) return undefined;
      vars[this.variables[i]] = value;
    }
    return vars;
  }
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
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
