"""A short tour of a running Capsule server, driven by the official MCP Python SDK.

Usage:
    python tests/demo.py -- ./target/release/capsule serve --plugins target/examples \\
        --fs notes:/notes=plugins/notes/data:ro

Everything after `--` is the server command line. The demo starts it over stdio (2025-11-25 session),
lists its tools, calls a few of them, reads a resource and gets a prompt. Exits non-zero on any failure.
"""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
from pathlib import Path

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

SAMPLE = "Capsule runs MCP tools in WebAssembly.\nEach plugin gets only what its policy grants."


class DemoError(Exception):
    pass


def heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def indent(text: str) -> str:
    return textwrap.indent(text.rstrip(), "   ")


def tool_payload(name: str, result: types.CallToolResult) -> object:
    texts = [b.text for b in result.content if isinstance(b, types.TextContent)]
    if result.is_error:
        raise DemoError(f"{name} failed: {' '.join(texts) or '(no message)'}")
    if result.structured_content is not None:
        return result.structured_content
    return "\n".join(texts)


async def call(client: Client, name: str, arguments: dict) -> object:
    payload = tool_payload(name, await client.call_tool(name, arguments))
    print(f"-> {name}({json.dumps(arguments, ensure_ascii=False)})")
    print(indent(json.dumps(payload, indent=2, ensure_ascii=False) if not isinstance(payload, str) else payload))
    return payload


async def tour(command: list[str], errlog) -> None:
    params = StdioServerParameters(command=command[0], args=command[1:])
    async with Client(stdio_client(params, errlog=errlog), mode="legacy", cache=None, read_timeout_seconds=30) as client:
        info = client.server_info
        who = " ".join(filter(None, [info.name, info.version])) if info else "(anonymous server)"
        print(f"Connected to {who} over stdio, protocol {client.protocol_version}")

        heading("Tools")
        tools = (await client.list_tools()).tools
        if not tools:
            raise DemoError("the server lists no tools")
        width = max(len(t.name) for t in tools)
        for tool in tools:
            description = (tool.description or "").strip().splitlines()
            print(f"  {tool.name:<{width}}  {description[0] if description else ''}")

        heading("Calling tools")
        greeting = await call(client, "hello_greet", {"name": "Capsule"})
        if not (isinstance(greeting, dict) and greeting.get("greeting") == "Hello, Capsule!"):
            raise DemoError(f"unexpected greeting: {greeting!r}")
        await call(client, "textkit_word_count", {"text": SAMPLE})
        await call(client, "textkit_sha256", {"text": SAMPLE})

        heading("Reading notes://welcome")
        resource = await client.read_resource("notes://welcome")
        for contents in resource.contents:
            kind = contents.mime_type or "unknown type"
            print(f"-> {contents.uri} ({kind})")
            if isinstance(contents, types.TextResourceContents):
                print(indent(contents.text))
            else:
                print(f"   <{len(contents.blob)} base64 characters>")

        heading("Prompt notes_summarize(name=welcome)")
        prompt = await client.get_prompt("notes_summarize", {"name": "welcome"})
        if prompt.description:
            print(f"   {prompt.description}")
        for message in prompt.messages:
            body = message.content.text if isinstance(message.content, types.TextContent) else f"<{message.content.type}>"
            print(f"-> [{message.role}]")
            print(indent(body))

    print("\nDone: every step succeeded.")


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        try:
            anyio.run(tour, argv, errlog)
            return 0
        except BaseException as exc:  # noqa: BLE001 - reported below, then a non-zero exit
            if isinstance(exc, KeyboardInterrupt):
                return 130
            leaves = [exc]
            while len(leaves) == 1 and isinstance(leaves[0], BaseExceptionGroup):
                leaves = list(leaves[0].exceptions)
            for leaf in leaves:
                print(f"\ndemo failed: {type(leaf).__name__}: {leaf}", file=sys.stderr)
            errlog.seek(0)
            log = errlog.read()
            if log.strip():
                print(f"--- server stderr ({Path(argv[0]).name}) ---\n{log[-4000:]}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
