// What the SDK gets from the component it runs in: the host imports, the WASI preopens and the
// engine's conventions. The entry module `capsule-js build` generates binds them before any
// request; in plain Node (unit tests) nothing is bound and the fallbacks apply.

/**
 * What the host functions see and do outside a component (unit tests in Node): set `capabilities`
 * to what the client declares; `updated` collects the URIs passed to `resourceUpdated`.
 */
export const nativeHost = { capabilities: {}, updated: [] };

const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

export const runtime = {
  /** "quickjs", "starlingmonkey", or "node" when not in a component. */
  engine: "node",
  host: undefined,
  getDirectories: undefined,

  bind({ engine, host, getDirectories }) {
    this.engine = engine;
    this.host = host;
    this.getDirectories = getDirectories;
    if (typeof globalThis.console === "undefined") {
      // QuickJS has no console: send it to the host log.
      const to = (level) => (...args) => this.log(level, args.map(show).join(" "));
      globalThis.console = { log: to("info"), info: to("info"), debug: to("debug"), warn: to("warning"), error: to("error") };
    }
  },

  log(level, message) {
    if (!LEVELS.includes(level)) throw new TypeError(`unknown log level ${JSON.stringify(level)}; use one of ${LEVELS.join(", ")}`);
    if (this.host) this.host.log(level, message);
    else console.error(`[${level}] ${message}`);
  },

  progress(value, total, message) {
    if (this.host) this.host.progress(Number(value), total == null ? undefined : Number(total), message == null ? undefined : String(message));
  },

  cancelled() {
    return this.host ? Boolean(this.host.cancelled()) : false;
  },

  /** The client's capabilities as JSON text (`nativeHost.capabilities` outside a component). */
  clientCapabilities() {
    return this.host ? this.host.clientCapabilities() : JSON.stringify(nativeHost.capabilities ?? {});
  },

  resourceUpdated(uri) {
    if (this.host) this.host.resourceUpdated(uri);
    else nativeHost.updated.push(uri);
  },

  /** A WIT u64 argument the way the engine wants it (StarlingMonkey: BigInt, QuickJS: number). */
  u64(n) {
    return this.engine === "starlingmonkey" ? BigInt(n) : Number(n);
  },
};

function show(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
