"""capsule_plugin — write Capsule plugins in Python.

A Capsule plugin is a WebAssembly component implementing the WIT package ``capsule:plugin@0.2.0``.
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

A handler that needs the client's input (elicitation, sampling, roots) returns
``InputRequired(elicit(...), ...)`` and reads the answers from a ``Resumption`` parameter in the
next round; ``@completion`` suggests values for prompt arguments and template variables;
``client_capabilities()`` and ``resource_updated(uri)`` are the host functions of 0.2.0.
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
from ._host import LogHandler, cancelled, client_capabilities, log, native_host, progress, resource_updated
from ._interaction import (
    ClientCapabilities,
    Completion,
    InputRequest,
    InputRequired,
    Resumption,
    elicit,
    elicit_url,
    list_roots,
    sample,
)
from ._plugin import TASK_SUPPORT_KEY, FilesystemRequest, Metadata, Plugin, TaskSupport, ToolAnnotations

__version__ = "0.2.0"
WIT_PACKAGE = "capsule:plugin@0.2.0"

#: The plugin a built component exports; the module-level decorators below fill it.
plugin = Plugin()

metadata = plugin.metadata
tool = plugin.tool
resource = plugin.resource
resource_template = plugin.resource_template
resource_list = plugin.resource_list
prompt = plugin.prompt
completion = plugin.completion

__all__ = [
    "plugin",
    "Plugin",
    "metadata",
    "tool",
    "resource",
    "resource_template",
    "resource_list",
    "prompt",
    "completion",
    "Metadata",
    "FilesystemRequest",
    "ToolAnnotations",
    "TaskSupport",
    "TASK_SUPPORT_KEY",
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
    "client_capabilities",
    "resource_updated",
    "native_host",
    "LogHandler",
    "InputRequired",
    "InputRequest",
    "Resumption",
    "elicit",
    "elicit_url",
    "sample",
    "list_roots",
    "ClientCapabilities",
    "Completion",
]
