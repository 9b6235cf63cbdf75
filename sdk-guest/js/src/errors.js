// The typed errors of the contract (WIT `capsule:plugin/types.error`).

/** Base class: `kind` is the WIT case. Throw a subclass from a handler. */
export class CapsuleError extends Error {
  constructor(message, kind = "internal") {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
  }
}

/** The arguments do not fit what the operation expects (WIT `invalid-arguments`). */
export class InvalidArguments extends CapsuleError {
  constructor(message) {
    super(message, "invalid-arguments");
  }
}

/** The named thing (tool, prompt, resource URI, file) does not exist (WIT `not-found`). */
export class NotFound extends CapsuleError {
  constructor(message) {
    super(message, "not-found");
  }
}

/** The sandbox refused a capability the operation needed (WIT `denied`). */
export class Denied extends CapsuleError {
  constructor(message) {
    super(message, "denied");
  }
}

/** Anything else (WIT `internal`). */
export class Internal extends CapsuleError {
  constructor(message) {
    super(message, "internal");
  }
}

/**
 * `[kind, message]` for anything a handler threw: a CapsuleError keeps its case; any other
 * Error becomes `internal` with "Name: message"; a thrown non-Error is stringified.
 */
export function classify(error) {
  if (error instanceof CapsuleError) return [error.kind, error.message];
  if (error instanceof Error) {
    const name = error.name || "Error";
    return ["internal", error.message ? `${name}: ${error.message}` : name];
  }
  let text;
  try {
    text = typeof error === "string" ? error : JSON.stringify(error);
  } catch {
    text = String(error);
  }
  return ["internal", `thrown: ${text}`];
}
