// UTF-8 without TextEncoder/TextDecoder: the QuickJS engine has neither.

/** Encode a string as UTF-8 bytes (lone surrogates become U+FFFD, as TextEncoder does). */
export function encodeUtf8(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      c = 0xfffd;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/**
 * Decode UTF-8 bytes strictly: invalid input throws a TypeError naming the byte offset (like
 * `new TextDecoder("utf-8", { fatal: true })`). A leading byte-order mark is dropped.
 */
export function decodeUtf8(bytes) {
  let s = "";
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const chunk = [];
  const flush = () => {
    s += String.fromCharCode.apply(null, chunk);
    chunk.length = 0;
  };
  while (i < bytes.length) {
    const b = bytes[i];
    let cp;
    let need;
    let min;
    if (b < 0x80) {
      cp = b;
      need = 0;
      min = 0;
    } else if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1f;
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0f;
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07;
      need = 3;
      min = 0x10000;
    } else {
      throw new TypeError(`invalid UTF-8: byte 0x${b.toString(16)} at offset ${i}`);
    }
    for (let k = 1; k <= need; k++) {
      if (i + k >= bytes.length) throw new TypeError(`invalid UTF-8: truncated sequence at offset ${i}`);
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) throw new TypeError(`invalid UTF-8: byte 0x${c.toString(16)} at offset ${i + k}`);
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw new TypeError(`invalid UTF-8: bad sequence at offset ${i}`);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      chunk.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      chunk.push(cp);
    }
    if (chunk.length >= 8192) flush();
    i += need + 1;
  }
  flush();
  return s;
}
