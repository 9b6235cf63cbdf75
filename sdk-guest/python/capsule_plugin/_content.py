"""Content blocks, resource contents, tool results and prompt messages (MCP shapes), independent
of the generated bindings so that plugins can be unit-tested natively."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

__all__ = [
    "Annotations",
    "Text",
    "Image",
    "Audio",
    "ResourceLink",
    "ResourceContents",
    "EmbeddedResource",
    "Content",
    "ToolResult",
    "Message",
    "PromptResult",
    "Resource",
    "user",
    "assistant",
]

Role = Literal["user", "assistant"]


@dataclass
class Annotations:
    """Hints about how a client should use a content block or resource (MCP ``Annotations``)."""

    audience: Optional[list[Role]] = None
    priority: Optional[float] = None
    last_modified: Optional[str] = None


@dataclass
class Text:
    """A text block (MCP ``TextContent``)."""

    text: str
    annotations: Optional[Annotations] = None


@dataclass
class Image:
    """An image block from the raw bytes of an image file; the host sends them base64-encoded."""

    data: bytes
    mime_type: str
    annotations: Optional[Annotations] = None


@dataclass
class Audio:
    """An audio block from the raw bytes of an audio file; the host sends them base64-encoded."""

    data: bytes
    mime_type: str
    annotations: Optional[Annotations] = None


@dataclass
class ResourceLink:
    """A pointer to a resource the client may read (MCP ``ResourceLink``)."""

    uri: str
    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    size: Optional[int] = None
    annotations: Optional[Annotations] = None


@dataclass
class ResourceContents:
    """One item of a resource read: ``text`` (UTF-8) or ``blob`` (bytes), exactly one of them."""

    uri: str
    text: Optional[str] = None
    blob: Optional[bytes] = None
    mime_type: Optional[str] = None
    meta: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.blob is None):
            raise ValueError("ResourceContents needs exactly one of text= or blob=")


@dataclass
class EmbeddedResource:
    """A resource embedded in a tool result or prompt message (MCP ``EmbeddedResource``)."""

    resource: ResourceContents


Content = Union[Text, Image, Audio, ResourceLink, EmbeddedResource]
CONTENT_TYPES = (Text, Image, Audio, ResourceLink, EmbeddedResource)


@dataclass
class ToolResult:
    """A finished tool call (MCP ``CallToolResult``), for tools that want full control.

    Returning a plain value is usually enough: ``str`` becomes one text block, a dataclass or dict
    becomes structured content. Use ``ToolResult.error(...)`` when the tool ran but failed in a
    way the model should read (``isError: true``) without it being an exception.
    """

    content: list[Content] = field(default_factory=list)
    structured_content: Optional[dict[str, Any]] = None
    is_error: bool = False
    meta: Optional[dict[str, Any]] = None

    @classmethod
    def text(cls, text: str) -> ToolResult:
        """One text block."""
        return cls(content=[Text(text)])

    @classmethod
    def error(cls, message: str) -> ToolResult:
        """One text block with ``isError: true``."""
        return cls(content=[Text(message)], is_error=True)

    @classmethod
    def structured(cls, value: dict[str, Any]) -> ToolResult:
        """Structured content plus a text block with the same JSON (as MCP recommends)."""
        if not isinstance(value, dict):
            raise TypeError("structured content must be a JSON object (a dict)")
        return cls(content=[Text(json.dumps(value, ensure_ascii=False))], structured_content=value)


@dataclass
class Message:
    """One message of a rendered prompt (MCP ``PromptMessage``). ``content`` may be a string."""

    role: Role
    content: Union[str, Content]

    def block(self) -> Content:
        return Text(self.content) if isinstance(self.content, str) else self.content


def user(content: Union[str, Content]) -> Message:
    """A message from the user."""
    return Message("user", content)


def assistant(content: Union[str, Content]) -> Message:
    """A message from the assistant."""
    return Message("assistant", content)


@dataclass
class PromptResult:
    """A rendered prompt (MCP ``GetPromptResult``); the description defaults to the prompt's."""

    messages: list[Message]
    description: Optional[str] = None


@dataclass
class Resource:
    """A resource to list (MCP ``Resource``), as returned by a ``@resource_list`` function.
    Reads of its URI are answered by the first ``@resource_template`` that matches it."""

    uri: str
    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    size: Optional[int] = None
    annotations: Optional[Annotations] = None
