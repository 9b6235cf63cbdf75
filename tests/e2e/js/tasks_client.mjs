// The official MCP tasks requester (@modelcontextprotocol/ext-tasks) over a TypeScript SDK v2 client,
// pinned to 2026-07-28, for Capsule's e2e tests of the tasks extension.
//
// Usage: node tasks_client.mjs URL TOOL ARGUMENTS_JSON [ANSWER_JSON]
//   Calls TOOL through a task-enabled session, lets the library poll it to its end, and prints one
//   JSON object: {"kind": "task"|"immediate", "taskId", "statuses": [status seen, in order],
//   "outcome": "completed"|"failed"|"cancelled", "result": the tool result, "asked": [messages]}.
//   ANSWER_JSON is the elicitation answer's content for any question the task asks (accept).
// The SDK client speaks the protocol; the extension's task requests (tools/call, tasks/*) go
// through `rawDispatch`, a plain POST with the Streamable HTTP headers, as the library asks of its
// host for the 2026-07-28 wire shapes. Any failure exits non-zero with the error on stderr.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTaskSessionFromClient } from "@modelcontextprotocol/ext-tasks/client";
import { settleAndReport } from "./tasks_report.mjs";

const [url, tool, argumentsJson, answerJson] = process.argv.slice(2);
if (!url || !tool || !argumentsJson) {
  console.error("usage: node tasks_client.mjs URL TOOL ARGUMENTS_JSON [ANSWER_JSON]");
  process.exit(2);
}
const PROTOCOL = "2026-07-28";
const clientInfo = { name: "capsule-e2e-ext-tasks", version: "1.0.0" };
const client = new Client(clientInfo, { versionNegotiation: { mode: { pin: PROTOCOL } } });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));

let nextId = 1;
/** One JSON-RPC request as its own HTTP POST; the answer may come as JSON or as an SSE stream. */
async function rawDispatch(request, options) {
  const body = { jsonrpc: "2.0", id: `ext-tasks-${nextId++}`, ...request };
  const name = body.params?.taskId ?? body.params?.name;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": PROTOCOL,
      "mcp-method": body.method,
      ...(name === undefined ? {} : { "mcp-name": String(name) }),
    },
    body: JSON.stringify(body),
    signal: options?.signal,
  });
  const text = await response.text();
  let message;
  if ((response.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const data = text
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => JSON.parse(line.slice(5)));
    message = data.find((m) => m.id === body.id);
  } else {
    message = JSON.parse(text);
  }
  if (!message) throw new Error(`no answer to ${body.method} (HTTP ${response.status}): ${text}`);
  return "error" in message ? { kind: "error", error: message.error } : { kind: "result", result: message.result };
}

const asked = [];
const session = createTaskSessionFromClient(client, {
  endpointId: "capsule-e2e",
  rawDispatch,
  v2RequestFraming: { protocolVersion: PROTOCOL, clientInfo, clientCapabilities: { elicitation: {} } },
  onInputRequest: async (request) => {
    asked.push(request.params?.message ?? request.kind);
    return { action: "accept", content: JSON.parse(answerJson ?? "{}") };
  },
});
try {
  const execution = await session.callTool(tool, JSON.parse(argumentsJson));
  await settleAndReport(execution, asked);
} finally {
  await session.close();
  await client.close();
}
