// The official MCP tasks requester (@modelcontextprotocol/ext-tasks) over a TypeScript SDK v2 client
// in its 2025-11-25 generation ("v1": the experimental tasks of MCP 2025-11-25), for Capsule's e2e
// tests of those tasks.
//
// Usage: node tasks_client_2025.mjs URL TOOL ARGUMENTS_JSON [ANSWER_JSON]
//   Connects in legacy mode (2025-11-25 `initialize` + `Mcp-Session-Id` session), calls TOOL as a
//   task (`tools/call` with `params.task: {ttl}`) when the tool's `execution.taskSupport` allows
//   it, lets the library poll it (`tasks/get`) to its end and fetch its result (`tasks/result`),
//   and prints one JSON object: {"kind": "task"|"immediate", "taskId", "statuses": [status seen,
//   in order], "outcome": "completed"|"failed"|"cancelled", "result": the tool result (or null),
//   "asked": [messages], "protocolVersion": the negotiated version}.
//   ANSWER_JSON is the elicitation answer's content for any question the task asks (accept).
// Every request goes through the SDK client's own session (the library's built-in SDK-client
// adapter picks the v1 generation from the server's `capabilities.tasks` on a non-modern
// connection, and needs no rawDispatch for it). The server's `elicitation/create` requests
// (tagged `_meta["io.modelcontextprotocol/related-task"]`) reach the library through the adapter's
// fallback request handler on the Client, which routes them to `onInputRequest` by task id; so no
// elicitation handler is registered on the Client itself (it would shadow that route), only the
// `elicitation` capability is declared. The library's v1 driver calls `tasks/result` only once the
// task has ended (it only polls meanwhile), so the server must put a task's questions on the
// session's own stream for it. With FETCH_INPUT=1 in the environment this script also does what
// 2025-11-25 says a requester that sees `input_required` SHOULD do, call `tasks/result` at once
// (where the server then puts its questions), once per `input_required` spell, leaving the result
// to the library.
// Any failure exits non-zero with the error on stderr.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTaskSessionFromClient } from "@modelcontextprotocol/ext-tasks/client";
import { settleAndReport } from "./tasks_report.mjs";

const [url, tool, argumentsJson, answerJson] = process.argv.slice(2);
if (!url || !tool || !argumentsJson) {
  console.error("usage: node tasks_client_2025.mjs URL TOOL ARGUMENTS_JSON [ANSWER_JSON]");
  process.exit(2);
}
/** How long the server is asked to keep the task (`params.task.ttl`, milliseconds). */
const TTL_MS = 60_000;
/** The longest wait for one request (a `tasks/result` waits for the task's end). */
const REQUEST_TIMEOUT_MS = 300_000;

const clientInfo = { name: "capsule-e2e-ext-tasks-2025", version: "1.0.0" };
const client = new Client(clientInfo, {
  versionNegotiation: { mode: "legacy" },
  capabilities: { elicitation: {} },
});
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);

const asked = [];
const backgroundErrors = [];
const session = createTaskSessionFromClient(client, {
  endpointId: "capsule-e2e-2025",
  onInputRequest: async (request) => {
    asked.push(request.params?.message ?? request.kind);
    return { action: "accept", content: JSON.parse(answerJson ?? "{}") };
  },
  onError: (error) => backgroundErrors.push(error),
});

/** Any JSON result, as the library's adapter validates its own requests. */
const anyJson = {
  "~standard": { version: 1, vendor: "capsule-e2e", validate: (value) => ({ value }) },
};
/** The `tasks/result` this script has in flight for an `input_required` task, if any. */
let pendingResult;
/** Call `tasks/result` through the SDK client while the task waits for input: the server's
 * questions arrive meanwhile and are answered by the library; the answer itself is left to the
 * library (which asks again once the task has ended), and its errors to the task's outcome. */
function fetchInput(taskId) {
  if (pendingResult !== undefined) return;
  pendingResult = client
    .request({ method: "tasks/result", params: { taskId } }, anyJson, { timeout: REQUEST_TIMEOUT_MS })
    .catch(() => {})
    .finally(() => {
      pendingResult = undefined;
    });
}

try {
  const execution = await session.callTool(tool, JSON.parse(argumentsJson), {
    task: { preference: "prefer", retentionMs: TTL_MS },
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  const protocolVersion = client.getNegotiatedProtocolVersion?.() ?? transport.protocolVersion ?? null;
  const outcome = await settleAndReport(execution, asked, { protocolVersion }, (task) => {
    if (task.status === "input_required" && process.env.FETCH_INPUT === "1") fetchInput(task.taskId);
  });
  if (outcome.status === "failed") console.error(`the task failed: ${outcome.error?.message}`);
  for (const error of backgroundErrors) console.error(`ext-tasks: ${error?.message ?? error}`);
} finally {
  await session.close();
  await client.close();
}
