// Files in the folders the operator granted (WASI preopens), for plugins: `fs.readText("/docs/a.md")`.
// Paths are absolute guest paths. Anything outside a granted folder is refused by the sandbox
// (`Denied`); a missing file is `NotFound`. In plain Node (unit tests) it reads the real filesystem
// under the root set with `fs.useHostRoot(dir)`.

import { Denied, Internal, InvalidArguments, NotFound } from "./errors.js";
import { runtime } from "./runtime.js";
import { decodeUtf8 } from "./utf8.js";

const CHUNK = 65536;
let hostRoot;

function checkPath(path) {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new InvalidArguments(`${JSON.stringify(path)} is not an absolute path (e.g. "/data/file.txt")`);
  }
}

function resolve(path) {
  checkPath(path);
  const dirs = runtime.getDirectories ? runtime.getDirectories() : [];
  let best;
  for (const [descriptor, guest] of dirs) {
    const base = guest === "/" ? "" : guest.replace(/\/+$/, "");
    if ((path === base || path.startsWith(`${base}/`)) && (!best || base.length > best.base.length)) {
      best = { descriptor, base, guest };
    }
  }
  if (!best) {
    const granted = dirs.map(([, g]) => g);
    throw new Denied(
      `${path} is outside what this plugin was granted (${granted.length ? granted.join(", ") : "no folder is granted"})`,
    );
  }
  const rest = path.slice(best.base.length).replace(/^\/+/, "") || ".";
  return { ...best, rest };
}

function fail(error, path) {
  const code = error && typeof error === "object" && "payload" in error ? error.payload : undefined;
  if (code === undefined) throw error;
  if (code === "no-entry") throw new NotFound(`${path}: no such file or directory`);
  if (code === "access" || code === "not-permitted" || code === "read-only") {
    throw new Denied(`${path} is outside what this plugin was granted`);
  }
  if (code === "is-directory") throw new InvalidArguments(`${path} is a directory`);
  if (code === "not-directory") throw new InvalidArguments(`${path}: a part of the path is not a directory`);
  throw new Internal(`${path}: ${typeof code === "string" ? code : JSON.stringify(code)}`);
}

function nodeFs(path) {
  checkPath(path);
  if (!hostRoot) throw new Denied("no folder is granted (in tests, call fs.useHostRoot(dir) first)");
  return globalThis.process?.getBuiltinModule?.("node:fs");
}

export const fs = {
  /** The bytes of file `path`. */
  readBytes(path) {
    if (!runtime.getDirectories && runtime.engine === "node") {
      const nfs = nodeFs(path);
      try {
        return new Uint8Array(nfs.readFileSync(hostRoot + path));
      } catch (e) {
        if (e.code === "ENOENT") throw new NotFound(`${path}: no such file or directory`);
        if (e.code === "EISDIR") throw new InvalidArguments(`${path} is a directory`);
        throw e;
      }
    }
    const { descriptor, rest } = resolve(path);
    let file;
    try {
      file = descriptor.openAt({ symlinkFollow: true }, rest, {}, { read: true });
    } catch (e) {
      fail(e, path);
    }
    try {
      const parts = [];
      let total = 0;
      for (;;) {
        const [chunk, eof] = file.read(runtime.u64(CHUNK), runtime.u64(total));
        parts.push(chunk);
        total += chunk.length;
        if (eof || chunk.length === 0) break;
      }
      const out = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    } catch (e) {
      fail(e, path);
    } finally {
      file[Symbol.dispose]?.();
    }
  },

  /** The text of file `path`, which must be UTF-8 (a TypeError says where it is not). */
  readText(path) {
    return decodeUtf8(this.readBytes(path));
  },

  /** The entries of directory `path`: `[{ name, type }]`, type "file", "directory" or "other". */
  list(path) {
    if (!runtime.getDirectories && runtime.engine === "node") {
      const nfs = nodeFs(path);
      try {
        return nfs.readdirSync(hostRoot + path, { withFileTypes: true }).map((d) => ({
          name: d.name,
          type: d.isFile() ? "file" : d.isDirectory() ? "directory" : "other",
        }));
      } catch (e) {
        if (e.code === "ENOENT") throw new NotFound(`${path}: no such file or directory`);
        throw e;
      }
    }
    const { descriptor, rest } = resolve(path);
    const out = [];
    try {
      const dir = rest === "." ? descriptor : descriptor.openAt({ symlinkFollow: true }, rest, { directory: true }, { read: true });
      const stream = dir.readDirectory();
      for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry()) {
        const type = entry.type === "regular-file" ? "file" : entry.type === "directory" ? "directory" : "other";
        out.push({ name: entry.name, type });
      }
    } catch (e) {
      fail(e, path);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },

  /** `{ type, size }` of `path` (type "file", "directory" or "other"). */
  stat(path) {
    if (!runtime.getDirectories && runtime.engine === "node") {
      const nfs = nodeFs(path);
      try {
        const s = nfs.statSync(hostRoot + path);
        return { type: s.isFile() ? "file" : s.isDirectory() ? "directory" : "other", size: s.size };
      } catch (e) {
        if (e.code === "ENOENT") throw new NotFound(`${path}: no such file or directory`);
        throw e;
      }
    }
    const { descriptor, rest } = resolve(path);
    try {
      const s = rest === "." ? descriptor.stat() : descriptor.statAt({ symlinkFollow: true }, rest);
      const type = s.type === "regular-file" ? "file" : s.type === "directory" ? "directory" : "other";
      return { type, size: Number(s.size) };
    } catch (e) {
      fail(e, path);
    }
  },

  /** Whether `path` exists and may be seen (false outside the grant, too). */
  exists(path) {
    try {
      this.stat(path);
      return true;
    } catch (e) {
      if (e instanceof NotFound || e instanceof Denied || e instanceof InvalidArguments) return false;
      throw e;
    }
  },

  /** Tests in Node: serve guest paths from host directory `dir` (guest `/x` → `dir/x`). */
  useHostRoot(dir) {
    hostRoot = dir ? dir.replace(/\/+$/, "") : undefined;
  },
};
