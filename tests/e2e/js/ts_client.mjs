// A real TypeScript SDK v2 client (@modelcontextprotocol/client) for Capsule's e2e tests.
//
// Usage: node ts_client.mjs URL ERA
//   URL  the server's Streamable HTTP endpoint (http://127.0.0.1:PORT/mcp)
//   ERA  "legacy" (2025-11-25 initialize + session) or "2026-07-28" (pinned modern era)
// Connects, lists tools, calls hello_greet and textkit_reverse, and prints one JSON object:
// {"protocolVersion", "tools": [names], "greet": structuredContent, "reverse": structuredContent}.
// Any failure exits non-zero with the error on stderr.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, era] = process.argv.slice(2);
if (!url || !era) {
  console.error("usage: node ts_client.mjs URL legacy|2026-07-28");
  process.exit(2);
}
const mode = era === "legacy" ? "legacy" : { pin: era };
const client = new Client(
  { name: "capsule-e2e-ts", version: "1.0.0" },
  { versionNegotiation: { mode } },
);
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);
try {
  const tools = await client.listTools();
  const greet = await client.callTool({ name: "hello_greet", arguments: { name: "TypeScript" } });
  const reverse = await client.callTool({ name: "textkit_reverse", arguments: { text: "abc✓" } });
  console.log(
    JSON.stringify({
      protocolVersion: client.getNegotiatedProtocolVersion?.() ?? transport.protocolVersion ?? null,
      tools: tools.tools.map((t) => t.name).sort(),
      greet: greet.structuredContent,
      reverse: reverse.structuredContent,
    }),
  );
} finally {
  await client.close();
}
