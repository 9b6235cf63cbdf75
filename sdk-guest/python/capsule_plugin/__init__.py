"""capsule_plugin — write Capsule plugins in Python.

A Capsule plugin is a WebAssembly component implementing the WIT package ``capsule:plugin@0.1.0``.
Decorate plain functions, then build the component with one command::

    from capsule_plugin import tool

    @tool
    def greet(name: str) -> str:
        \"\"\"Greet someone by name.\"\"\"
        return f"Hello, {name}!"

    # python -m capsule_plugin build hello.py -o hello.wasm

The decorators fill ``capsule_plugin.plugin`` (a :class:`Plugin`), which the component exports.
Type hints give the JSON Schemas, docstrings the descriptions, exceptions the typed errors of the
contract (``InvalidArguments``, ``NotFound``, ``Denied``; anything else is ``internal``).
"""

from __future__ import annotations

from ._content import (
    Annotations,
    Audio,
    Content,
    EmbeddedResource,
    Image,
    Message,
    PromptResult,
    Resource,
    ResourceContents,
    ResourceLink,
    Text,
    ToolResult,
    assistant,
    user,
)
from ._errors import CapsuleError, Denied, Internal, InvalidArguments, NotFound
from ._host import LogHandler, cancelled, log, progress
from ._plugin import FilesystemRequest, Metadata, Plugin, ToolAnnotations

__version__ = "0.1.0"
WIT_PACKAGE = "capsule:plugin@0.1.0"

#: The plugin a built component exports; the module-level decorators below fill it.
plugin = Plugin()

metadata = plugin.metadata
tool = plugin.tool
resource = plugin.resource
resource_template = plugin.resource_template
resource_list = plugin.resource_list
prompt = plugin.prompt

__all__ = [
    "plugin",
    "Plugin",
    "metadata",
    "tool",
    "resource",
    "resource_template",
    "resource_list",
    "prompt",
    "Metadata",
    "FilesystemRequest",
    "ToolAnnotations",
    "ToolResult",
    "Text",
    "Image",
    "Audio",
    "ResourceLink",
    "EmbeddedResource",
    "Content",
    "Annotations",
    "ResourceContents",
    "Resource",
    "Message",
    "PromptResult",
    "user",
    "assistant",
    "CapsuleError",
    "InvalidArguments",
    "NotFound",
    "Denied",
    "Internal",
    "log",
    "progress",
    "cancelled",
    "LogHandler",
]
