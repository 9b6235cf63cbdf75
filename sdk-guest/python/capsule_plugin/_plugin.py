"""The registry of everything a plugin provides, and the decorators that fill it."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Optional, TypeVar, Union, overload

from . import _schema
from ._content import (
    CONTENT_TYPES,
    Annotations,
    Message,
    PromptResult,
    Resource,
    ResourceContents,
    Text,
    ToolResult,
)
from ._errors import InvalidArguments, NotFound, classify
from ._host import log
from ._interaction import (
    Completion,
    InputRequired,
    Resumption,
    is_resumption_hint,
    prefix_matches,
    without_input_required,
)
from ._uri_template import UriTemplate

__all__ = [
    "Plugin",
    "Metadata",
    "FilesystemRequest",
    "ToolAnnotations",
    "TaskSupport",
    "TASK_SUPPORT_KEY",
    "ToolDef",
    "ResourceDef",
    "TemplateDef",
    "PromptDef",
    "PromptArgument",
    "CompleterDef",
]

F = TypeVar("F", bound=Callable[..., Any])
Access = Literal["read-only", "read-write"]

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: Whether a tool may run as an MCP task (``@tool(task_support=...)``): ``"forbidden"`` (the default:
#: never), ``"optional"`` (for clients that declared the tasks extension) or ``"required"`` (only).
TaskSupport = Literal["forbidden", "optional", "required"]
_TASK_SUPPORT_VALUES: tuple[str, ...] = typing.get_args(TaskSupport)
#: The key of a tool's ``_meta`` that carries its task support to the host (which removes it from the
#: ``_meta`` it publishes).
TASK_SUPPORT_KEY = "capsule/taskSupport"


def _check_task_support(value: Any, what: str) -> Optional[str]:
    """``None`` (nothing declared) or one of the three names; anything else is a ``ValueError``."""
    if value is None or (isinstance(value, str) and value in _TASK_SUPPORT_VALUES):
        return value
    allowed = ", ".join(repr(v) for v in _TASK_SUPPORT_VALUES)
    raise ValueError(f"{what}: task_support must be one of {allowed}, not {value!r}")


def _tool_meta(meta: Optional[dict[str, Any]], task_support: Optional[str], what: str) -> Optional[dict[str, Any]]:
    """The ``_meta`` a tool hands the host: the author's ``meta`` (left unmodified) plus
    ``capsule/taskSupport`` when declared, which wins over the same key written by hand."""
    if task_support is None:
        return meta
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"{what}: meta must be a dict (a JSON object) to carry task_support, not {type(meta).__name__}")
    return {**(meta or {}), TASK_SUPPORT_KEY: task_support}


def check_name(kind: str, name: str) -> str:
    """Tool and prompt names are published as ``<file stem>_<name>``, which must match
    ``^[A-Za-z0-9_-]{1,64}$`` and must not contain ``__``."""
    if not NAME_RE.fullmatch(name) or "__" in name or name.startswith("_"):
        raise ValueError(
            f"invalid {kind} name {name!r}: use letters, digits, '_' and '-' (at most 64), "
            "no '__' and no leading '_' (the host publishes it as <plugin>_<name>)"
        )
    return name


@dataclass
class FilesystemRequest:
    """A guest path the plugin would like to see. Requests grant nothing: the operator does."""

    path: str
    access: Access = "read-only"
    reason: Optional[str] = None

    def __post_init__(self) -> None:
        if self.access not in ("read-only", "read-write"):
            raise ValueError(f"access must be 'read-only' or 'read-write', not {self.access!r}")
        if not self.path.startswith("/"):
            raise ValueError(f"filesystem paths are absolute guest paths like '/data', not {self.path!r}")


@dataclass
class Metadata:
    """What ``describe`` answers: name, version, description and capability requests."""

    name: str
    version: str = "0.1.0"
    description: Optional[str] = None
    filesystem: list[FilesystemRequest] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)


@dataclass
class ToolAnnotations:
    """Behaviour hints for clients (MCP ``ToolAnnotations``). Hints, not guarantees."""

    title: Optional[str] = None
    read_only_hint: Optional[bool] = None
    destructive_hint: Optional[bool] = None
    idempotent_hint: Optional[bool] = None
    open_world_hint: Optional[bool] = None


@dataclass
class ToolDef:
    name: str
    title: Optional[str]
    description: Optional[str]
    input_schema: dict[str, Any]
    output_schema: Optional[dict[str, Any]]
    annotations: Optional[ToolAnnotations]
    meta: Optional[dict[str, Any]]
    fn: Callable[..., Any]
    params: dict[str, Any]
    wrap: bool
    open_ended: bool
    resume_param: Optional[str] = None
    #: parameters with a default: a missing or null argument gives the function that default
    optional: tuple[str, ...] = ()
    #: what keeps the input schema from being portable (Any, free-form maps, **kwargs); the host
    #: reports such tools
    not_portable: tuple[str, ...] = ()
    #: what ``task_support=`` declared (``None``: nothing, the host's default ``"forbidden"``); ``meta``
    #: already carries it under ``capsule/taskSupport``
    task_support: Optional[TaskSupport] = None

    def call(self, arguments: Union[str, dict[str, Any], None],
             resume: Optional[Resumption] = None) -> Union[ToolResult, InputRequired]:
        """Run the tool on ``arguments`` (a dict or JSON text), exactly as ``call-tool`` does;
        ``resume`` goes to the parameter annotated ``Resumption``, if any."""
        args = _parse_arguments(arguments)
        kwargs: dict[str, Any] = {self.resume_param: resume} if self.resume_param else {}
        for name, hint in self.params.items():
            # The portable schema lists every parameter as required and optional ones as
            # nullable: null means "not given", so the function's default applies.
            if name in args and not (args[name] is None and name in self.optional):
                kwargs[name] = _schema.convert(args[name], hint, name, null_is_absent=True)
            elif name not in self.optional:
                raise InvalidArguments(f"invalid arguments: missing field `{name}`")
        if self.open_ended:
            kwargs.update({k: v for k, v in args.items() if k not in self.params and k != self.resume_param})
        return _tool_result(self.fn(**kwargs), self.output_schema is not None, self.wrap)


@dataclass
class ResourceDef:
    uri: str
    name: str
    title: Optional[str]
    description: Optional[str]
    mime_type: Optional[str]
    size: Optional[int]
    annotations: Optional[Annotations]
    fn: Callable[[], Any]


@dataclass
class TemplateDef:
    uri_template: str
    name: str
    title: Optional[str]
    description: Optional[str]
    mime_type: Optional[str]
    annotations: Optional[Annotations]
    fn: Callable[..., Any]
    parsed: UriTemplate
    wants_uri: bool


@dataclass
class PromptArgument:
    name: str
    title: Optional[str]
    description: Optional[str]
    required: bool


@dataclass
class PromptDef:
    name: str
    title: Optional[str]
    description: Optional[str]
    arguments: list[PromptArgument]
    fn: Callable[..., Any]
    hints: dict[str, Any]
    open_ended: bool
    resume_param: Optional[str] = None

    def render(self, arguments: Union[dict[str, str], Iterable[tuple[str, str]], None],
               resume: Optional[Resumption] = None) -> Union[PromptResult, InputRequired]:
        """Render the prompt with string ``arguments``, exactly as ``get-prompt`` does;
        ``resume`` goes to the parameter annotated ``Resumption``, if any."""
        given = dict(arguments or {})
        kwargs: dict[str, Any] = {self.resume_param: resume} if self.resume_param else {}
        for arg in self.arguments:
            if arg.name in given:
                kwargs[arg.name] = _from_string(given[arg.name], self.hints[arg.name], arg.name)
            elif arg.required:
                raise InvalidArguments(f"missing required argument `{arg.name}`")
        if self.open_ended:
            kwargs.update({k: v for k, v in given.items() if k not in self.hints and k != self.resume_param})
        out = _prompt_result(self.fn(**kwargs))
        if isinstance(out, InputRequired):
            return out
        if out.description is None:
            out.description = self.description
        return out


@dataclass
class CompleterDef:
    kind: Literal["prompt", "template"]
    target: str  # prompt name or URI template
    argument: str
    fn: Callable[..., Any]
    wants_context: bool


class Plugin:
    """Everything one plugin provides. The module-level decorators of ``capsule_plugin``
    (``tool``, ``resource``, ...) fill the default instance, ``capsule_plugin.plugin``, which is
    the one a built component exports.

    ``call_tool``, ``read_resource``, ``get_prompt`` and ``complete`` dispatch exactly like the
    component's exports, so plugins can be unit-tested with plain ``pytest`` on the host.
    """

    def __init__(self) -> None:
        self._metadata: Optional[Metadata] = None
        self.default_name = "plugin"
        self.tools: list[ToolDef] = []
        self.resources: list[ResourceDef] = []
        self.templates: list[TemplateDef] = []
        self.listers: list[Callable[[], Iterable[Resource]]] = []
        self.prompts: list[PromptDef] = []
        self.completers: list[CompleterDef] = []

    # ----------------------------------------------------------------------------- declarations

    def metadata(
        self,
        name: Optional[str] = None,
        version: str = "0.1.0",
        description: Optional[str] = None,
        *,
        filesystem: Iterable[Union[FilesystemRequest, tuple]] = (),
        network: Iterable[str] = (),
        env: Iterable[str] = (),
    ) -> Metadata:
        """Describe the plugin: display name (defaults to the file stem; the host namespaces by
        file stem anyway), version, description, and the capabilities it requests:
        ``filesystem=[FilesystemRequest("/data", "read-only", "why")]`` (or plain tuples),
        ``network=["https://api.example.com"]``, ``env=["NAME"]``."""
        requests = [f if isinstance(f, FilesystemRequest) else FilesystemRequest(*f) for f in filesystem]
        self._metadata = Metadata(name or self.default_name, version, description, requests, list(network), list(env))
        return self._metadata

    @overload
    def tool(self, fn: F) -> F: ...
    @overload
    def tool(
        self,
        fn: None = None,
        *,
        name: Optional[str] = None,
        title: Optional[str] = None,
        description: Optional[str] = None,
        read_only: Optional[bool] = None,
        destructive: Optional[bool] = None,
        idempotent: Optional[bool] = None,
        open_world: Optional[bool] = None,
        structured: Optional[bool] = None,
        meta: Optional[dict[str, Any]] = None,
        task_support: Optional[TaskSupport] = None,
    ) -> Callable[[F], F]: ...

    def tool(self, fn=None, *, name=None, title=None, description=None, read_only=None, destructive=None,
             idempotent=None, open_world=None, structured=None, meta=None, task_support=None):
        """Declare a tool: ``@tool`` or ``@tool(name=..., read_only=True, ...)``.

        The parameters' type hints give the input schema, the docstring the description (and,
        from an ``Args:`` section, the parameters' descriptions). The return hint decides the
        result: ``str`` → one text block; a dataclass, ``TypedDict`` or ``dict`` → structured
        content with an output schema (plus its JSON as text); other JSON types (``int``,
        ``list[...]``, ...) → structured content ``{"result": value}``; ``ToolResult`` or content
        blocks → used as they are. ``structured=False`` turns structured output off.

        A tool that needs the client's input returns :class:`InputRequired` (hint it as
        ``str | InputRequired``; the output schema leaves it out) and reads the answers in the
        next round from a parameter annotated ``Optional[Resumption]`` (not part of the schema).

        ``task_support="optional"`` (or ``"required"``, ``"forbidden"``) declares whether the tool may
        run as an MCP task; it is sent in the tool's ``_meta`` under ``capsule/taskSupport``, merged
        with ``meta``. Any other value is a ``ValueError``.
        """

        def register(fn: F) -> F:
            _refuse_async(fn, "tool")
            tool_name = check_name("tool", name or fn.__name__)
            declared = _check_task_support(task_support, f"tool {tool_name!r}")
            published_meta = _tool_meta(meta, declared, f"tool {tool_name!r}")
            if any(t.name == tool_name for t in self.tools):
                raise ValueError(f"tool {tool_name!r} is declared twice")
            resume_param = _resume_param(fn)
            problems: list[str] = []
            input_schema, params = _schema.function_schema(fn, skip=(resume_param,) if resume_param else (),
                                                           problems=problems)
            defaults = inspect.signature(fn).parameters
            doc, _ = _schema.parse_docstring(fn.__doc__)
            output_schema, wrap = (None, False) if structured is False else _output_spec(fn)
            hints = ToolAnnotations(title, read_only, destructive, idempotent, open_world)
            has_hints = any(v is not None for v in dataclasses.astuple(hints)[1:])
            self.tools.append(ToolDef(
                name=tool_name,
                title=title,
                description=description or doc,
                input_schema=input_schema,
                output_schema=output_schema,
                annotations=hints if has_hints else None,
                meta=published_meta,
                fn=fn,
                params=params,
                wrap=wrap,
                open_ended=_has_var_keyword(fn),
                resume_param=resume_param,
                optional=tuple(n for n in params if defaults[n].default is not inspect.Parameter.empty),
                not_portable=tuple(problems),
                task_support=declared,
            ))
            return fn

        return register(fn) if fn is not None else register

    def resource(self, uri: str, *, name: Optional[str] = None, title: Optional[str] = None,
                 description: Optional[str] = None, mime_type: Optional[str] = None, size: Optional[int] = None,
                 annotations: Optional[Annotations] = None) -> Callable[[F], F]:
        """Declare resource ``uri`` whose contents the decorated function (no parameters) returns:
        ``str`` (text), ``bytes`` (blob), a dataclass or dict (JSON text), a ``ResourceContents``
        or a list of them."""

        def register(fn: F) -> F:
            _refuse_async(fn, "resource")
            if any(r.uri == uri for r in self.resources):
                raise ValueError(f"resource {uri!r} is declared twice")
            doc, _ = _schema.parse_docstring(fn.__doc__)
            self.resources.append(ResourceDef(uri, name or fn.__name__, title, description or doc, mime_type, size,
                                              annotations, fn))
            return fn

        return register

    def resource_template(self, uri_template: str, *, name: Optional[str] = None, title: Optional[str] = None,
                          description: Optional[str] = None, mime_type: Optional[str] = None,
                          annotations: Optional[Annotations] = None) -> Callable[[F], F]:
        """Declare a family of resources addressed by an RFC 6570 template such as
        ``"tabular://{name}"``. The function takes the template's variables as keyword arguments
        (plus ``uri``, the URI being read, if it asks for it). ``{name}`` covers one or more
        characters other than ``/``, ``?`` and ``#``, ``{+name}`` one or more of any kind; values are
        ``%XX``-decoded (``..%2F`` arrives as ``../``): validate them."""
        parsed = UriTemplate(uri_template)

        def register(fn: F) -> F:
            _refuse_async(fn, "resource template")
            params = set(inspect.signature(fn).parameters) - {"uri"}
            variables = set(parsed.variables)
            if not _has_var_keyword(fn) and params != variables:
                raise TypeError(
                    f"{fn.__name__}: parameters {sorted(params)} must be the template's variables {sorted(variables)}"
                )
            doc, _ = _schema.parse_docstring(fn.__doc__)
            self.templates.append(TemplateDef(uri_template, name or fn.__name__, title, description or doc, mime_type,
                                              annotations, fn, parsed, "uri" in inspect.signature(fn).parameters))
            return fn

        return register

    def resource_list(self, fn: F) -> F:
        """Declare a function that lists resources (``Resource`` entries) when the host asks,
        once at load time: for resources that depend on data, e.g. one per file. Reads of their
        URIs are answered by the templates."""
        _refuse_async(fn, "resource list")
        self.listers.append(fn)
        return fn

    @overload
    def prompt(self, fn: F) -> F: ...
    @overload
    def prompt(self, fn: None = None, *, name: Optional[str] = None, title: Optional[str] = None,
               description: Optional[str] = None) -> Callable[[F], F]: ...

    def prompt(self, fn=None, *, name=None, title=None, description=None):
        """Declare a prompt: ``@prompt`` or ``@prompt(name=..., title=...)``. Parameters are the
        prompt's arguments (required unless they have a default; ``str``, or ``int``/``float``/
        ``bool``/``Literal`` parsed from the string the client sends). Return a ``str`` (one user
        message), a ``Message``, a list of them, or a ``PromptResult``; or ``InputRequired``,
        reading the answers from a parameter annotated ``Optional[Resumption]`` (like tools).
        Arguments hinted ``Literal``, ``Enum`` or ``bool`` complete by themselves."""

        def register(fn: F) -> F:
            _refuse_async(fn, "prompt")
            prompt_name = check_name("prompt", name or fn.__name__)
            if any(p.name == prompt_name for p in self.prompts):
                raise ValueError(f"prompt {prompt_name!r} is declared twice")
            doc, docs = _schema.parse_docstring(fn.__doc__)
            hints = _schema.type_hints(fn)
            resume_param = _resume_param(fn)
            arguments, arg_hints = [], {}
            for pname, p in inspect.signature(fn).parameters.items():
                if p.kind is p.VAR_KEYWORD or pname == resume_param:
                    continue
                if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
                    raise TypeError(f"{fn.__name__}: prompt arguments are passed by name; {pname} cannot be")
                hint = hints.get(pname, str)
                _check_prompt_hint(fn.__name__, pname, hint)
                arguments.append(PromptArgument(pname, None, docs.get(pname), p.default is p.empty))
                arg_hints[pname] = hint
            self.prompts.append(PromptDef(prompt_name, title, description or doc, arguments, fn, arg_hints,
                                          _has_var_keyword(fn), resume_param))
            return fn

        return register(fn) if fn is not None else register

    def completion(self, *, argument: str, prompt: Optional[str] = None,
                   template: Optional[str] = None) -> Callable[[F], F]:
        """Declare how to complete ``argument`` of prompt ``prompt`` (its name) or variable
        ``argument`` of the resource template ``template`` (its URI template):
        ``@completion(prompt="analyze", argument="name")``. The function takes the partial
        ``value`` (and, if it asks for it, ``context``: the arguments already filled in, a
        ``dict[str, str]``) and returns the suggestions, best first: a list of strings or a
        :class:`Completion`. Without a completer an argument completes to nothing (or to its
        choices, for a prompt argument hinted ``Literal``, ``Enum`` or ``bool``)."""
        if (prompt is None) == (template is None):
            raise TypeError("completion needs exactly one of prompt= or template=")
        kind: Literal["prompt", "template"] = "prompt" if prompt is not None else "template"
        target = typing.cast(str, prompt if prompt is not None else template)

        def register(fn: F) -> F:
            _refuse_async(fn, "completer")
            if any((c.kind, c.target, c.argument) == (kind, target, argument) for c in self.completers):
                raise ValueError(f"{kind} {target!r} argument {argument!r} has two completers")
            params = inspect.signature(fn).parameters
            self.completers.append(CompleterDef(kind, target, argument, fn,
                                                "context" in params or _has_var_keyword(fn)))
            return fn

        return register

    def check(self) -> None:
        """Refuse completers of prompts, templates or arguments that do not exist (the build
        calls it once everything is declared)."""
        for c in self.completers:
            if c.kind == "prompt":
                p = next((p for p in self.prompts if p.name == c.target), None)
                if p is None:
                    raise ValueError(f"completion for unknown prompt {c.target!r}")
                if not p.open_ended and all(a.name != c.argument for a in p.arguments):
                    raise ValueError(f"completion for unknown argument {c.argument!r} of prompt {c.target!r}")
            else:
                t = next((t for t in self.templates if t.uri_template == c.target), None)
                if t is None:
                    raise ValueError(f"completion for unknown resource template {c.target!r}")
                if c.argument not in t.parsed.variables:
                    raise ValueError(f"completion for unknown variable {c.argument!r} of template {c.target!r}")

    # ----------------------------------------------------------------------------- dispatch

    def describe(self) -> Metadata:
        return self._metadata or Metadata(self.default_name)

    def world(self) -> str:
        """The WIT world that exports what this plugin provides."""
        parts = [k for k, has in (("tools", self.tools),
                                  ("resources", self.resources or self.templates or self.listers),
                                  ("prompts", self.prompts)) if has]
        if len(parts) == 3:
            return "full-plugin"
        if not parts:
            return "plugin-base"
        return "-".join(parts) + "-plugin"

    def call_tool(self, name: str, arguments: Union[str, dict[str, Any], None] = None,
                  resume: Optional[Resumption] = None) -> Union[ToolResult, InputRequired]:
        """Run tool ``name`` (``resume``: the answers of a later round); unknown names raise
        ``NotFound``."""
        for t in self.tools:
            if t.name == name:
                return t.call(arguments, resume)
        raise NotFound(f"unknown tool `{name}`")

    def list_resources(self) -> list[Resource]:
        """The static resources, then those of each ``@resource_list`` function."""
        out = [Resource(r.uri, r.name, r.title, r.description, r.mime_type, r.size, r.annotations)
               for r in self.resources]
        for lister in self.listers:
            # A failing list function costs its own resources, not the plugin (this runs at load time).
            try:
                out.extend(lister())
            except Exception as e:  # noqa: BLE001
                _, message = classify(e)
                log("error", f"listing resources with {getattr(lister, '__name__', 'a function')} failed: {message}")
        return out

    def read_resource(self, uri: str) -> list[ResourceContents]:
        """Read ``uri``: a static resource, else the first template that matches; otherwise
        ``NotFound``."""
        for r in self.resources:
            if r.uri == uri:
                return _contents(r.fn(), uri, r.mime_type)
        for t in self.templates:
            variables = t.parsed.match(uri)
            if variables is not None:
                if t.wants_uri:
                    variables = {**variables, "uri": uri}
                return _contents(t.fn(**variables), uri, t.mime_type)
        raise NotFound(f"unknown resource `{uri}`")

    def get_prompt(self, name: str, arguments: Union[dict[str, str], Iterable[tuple[str, str]], None] = None,
                   resume: Optional[Resumption] = None) -> Union[PromptResult, InputRequired]:
        """Render prompt ``name`` (``resume``: the answers of a later round); unknown names raise
        ``NotFound``."""
        for p in self.prompts:
            if p.name == name:
                return p.render(arguments, resume)
        raise NotFound(f"unknown prompt `{name}`")

    def complete(self, argument: str, value: str = "", *, prompt: Optional[str] = None,
                 template: Optional[str] = None,
                 context: Union[dict[str, str], Iterable[tuple[str, str]], None] = None) -> Completion:
        """Suggestions for ``argument`` of ``prompt`` (a name) or ``template`` (a URI template)
        whose partial value is ``value``. Unknown prompts and templates raise ``NotFound``."""
        if (prompt is None) == (template is None):
            raise TypeError("complete needs exactly one of prompt= or template=")
        if prompt is not None:
            kind, target = "prompt", prompt
            p = next((p for p in self.prompts if p.name == prompt), None)
            if p is None:
                raise NotFound(f"unknown prompt `{prompt}`")
        else:
            kind, target = "template", typing.cast(str, template)
            p = None
            if all(t.uri_template != template for t in self.templates):
                raise NotFound(f"unknown resource template `{template}`")
        for c in self.completers:
            if (c.kind, c.target, c.argument) == (kind, target, argument):
                kwargs = {"context": dict(context or {})} if c.wants_context else {}
                return Completion.of(c.fn(value, **kwargs))
        if p is not None and argument in p.hints:
            return Completion.of(prefix_matches(_choices(p.hints[argument]), value))
        return Completion()


# --------------------------------------------------------------------------------------------------
# helpers


def _refuse_async(fn: Callable[..., Any], what: str) -> None:
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"{fn.__name__}: a {what} is a plain `def` (each call runs to completion in a fresh instance)")


def _has_var_keyword(fn: Callable[..., Any]) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())


def _resume_param(fn: Callable[..., Any]) -> Optional[str]:
    """The parameter annotated ``Resumption`` (or ``Optional[Resumption]``), if any."""
    hints = _schema.type_hints(fn)
    found = [name for name in inspect.signature(fn).parameters if is_resumption_hint(hints.get(name))]
    if len(found) > 1:
        raise TypeError(f"{fn.__name__}: only one parameter can take the Resumption, not {', '.join(found)}")
    return found[0] if found else None


def _choices(hint: Any) -> list[str]:
    """The values a prompt argument hinted ``Literal``, ``Enum`` or ``bool`` can take, as text."""
    base, _ = _schema._split_annotated(hint)
    members = typing.get_args(base) if typing.get_origin(base) in _schema._UNION_ORIGINS else (base,)
    out: list[str] = []
    for m in members:
        if typing.get_origin(m) is Literal:
            out.extend(str(a) for a in typing.get_args(m))
        elif m is bool:
            out.extend(("true", "false"))
        elif isinstance(m, type) and issubclass(m, enum.Enum):
            out.extend(str(e.value) for e in m)
    return list(dict.fromkeys(out))


def _parse_arguments(arguments: Union[str, dict[str, Any], None]) -> dict[str, Any]:
    if arguments is None:
        return {}
    if isinstance(arguments, str):
        text = arguments.strip()
        if not text or text == "null":
            return {}
        try:
            arguments = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidArguments(f"invalid arguments: not JSON: {e}") from None
    if not isinstance(arguments, dict):
        raise InvalidArguments("invalid arguments: expected a JSON object")
    return arguments


_UNSTRUCTURED = (str, ToolResult, *CONTENT_TYPES)


def _output_spec(fn: Callable[..., Any]) -> tuple[Optional[dict[str, Any]], bool]:
    """(output schema, wrap in {"result": ...}) from the return hint (``InputRequired`` left out)."""
    ret = without_input_required(_schema.type_hints(fn).get("return", inspect.Signature.empty))
    base, _ = _schema._split_annotated(ret)
    if base in (inspect.Signature.empty, None, type(None), typing.Any, object, list, tuple) or base in _UNSTRUCTURED:
        return None, False
    origin = typing.get_origin(base)
    args = typing.get_args(base)
    if origin in (list, tuple) and args and all(
            a in CONTENT_TYPES or typing.get_origin(a) in _schema._UNION_ORIGINS for a in args if a is not Ellipsis):
        return None, False  # content blocks
    if origin in _schema._UNION_ORIGINS and all(a in _UNSTRUCTURED or a is type(None) for a in args):
        return None, False
    try:
        schema = _schema.schema_of(ret)
    except TypeError as e:
        raise TypeError(f"{fn.__name__}: return type: {e}") from None
    is_object = (isinstance(base, type) and (dataclasses.is_dataclass(base) or typing.is_typeddict(base))) or \
        origin in (dict,) or base is dict
    if is_object:
        return schema, False
    return {"type": "object", "properties": {"result": schema}, "required": ["result"]}, True


def _tool_result(value: Any, has_schema: bool, wrap: bool) -> Union[ToolResult, InputRequired]:
    if isinstance(value, (ToolResult, InputRequired)):
        return value
    if wrap:
        return ToolResult.structured({"result": _schema.to_json(value)})
    if isinstance(value, str):
        return ToolResult.text(value)
    if isinstance(value, CONTENT_TYPES):
        return ToolResult(content=[value])
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, CONTENT_TYPES) for v in value):
        return ToolResult(content=list(value))
    if value is None and not has_schema:
        return ToolResult()
    data = _schema.to_json(value)
    if isinstance(data, dict):
        return ToolResult.structured(data)
    return ToolResult.text(json.dumps(data, ensure_ascii=False))


def _contents(value: Any, uri: str, mime_type: Optional[str]) -> list[ResourceContents]:
    items = value if isinstance(value, list) and all(isinstance(v, ResourceContents) for v in value) else [value]
    out = []
    for item in items:
        if isinstance(item, ResourceContents):
            c = item
        elif isinstance(item, str):
            c = ResourceContents(uri, text=item)
        elif isinstance(item, (bytes, bytearray)):
            c = ResourceContents(uri, blob=bytes(item))
        else:
            c = ResourceContents(uri, text=json.dumps(_schema.to_json(item), ensure_ascii=False),
                                 mime_type=mime_type or "application/json")
        if c.mime_type is None and mime_type is not None:
            c = dataclasses.replace(c, mime_type=mime_type)
        out.append(c)
    return out


def _prompt_result(value: Any) -> Union[PromptResult, InputRequired]:
    if isinstance(value, (PromptResult, InputRequired)):
        return value
    if isinstance(value, (str, Message)):
        value = [value]
    if isinstance(value, (list, tuple)):
        messages = []
        for v in value:
            if isinstance(v, str):
                messages.append(Message("user", v))
            elif isinstance(v, Message):
                messages.append(v)
            else:
                raise TypeError(f"a prompt returns str, Message or a list of them, not {type(v).__name__}")
        return PromptResult(messages)
    raise TypeError(f"a prompt returns str, Message, a list of them or PromptResult, not {type(value).__name__}")


_PROMPT_SCALARS = (str, int, float, bool)


def _check_prompt_hint(fn_name: str, pname: str, hint: Any) -> None:
    base, _ = _schema._split_annotated(hint)
    origin = typing.get_origin(base)
    members = typing.get_args(base) if origin in _schema._UNION_ORIGINS else (base,)
    for m in members:
        if m is type(None) or m in _PROMPT_SCALARS or typing.get_origin(m) is Literal:
            continue
        raise TypeError(f"{fn_name}: prompt argument {pname} must be str, int, float, bool or Literal (clients send text)")


def _from_string(text: str, hint: Any, name: str) -> Any:
    base, _ = _schema._split_annotated(hint)
    origin = typing.get_origin(base)
    members = [m for m in (typing.get_args(base) if origin in _schema._UNION_ORIGINS else (base,))
               if m is not type(None)]
    for m in members:
        if m is str:
            return text
        if typing.get_origin(m) is Literal:
            for allowed in typing.get_args(m):
                if str(allowed) == text:
                    return allowed
            continue
        try:
            if m is bool:
                low = text.strip().lower()
                if low in ("true", "yes", "1", "on"):
                    return True
                if low in ("false", "no", "0", "off"):
                    return False
                continue
            return m(text.strip())
        except ValueError:
            continue
    kinds = " or ".join(getattr(m, "__name__", None) or repr(m) for m in members)
    raise InvalidArguments(f"argument `{name}` must be {kinds}, not {text!r}")
