"""The WIT exports: classes componentize-py binds to ``capsule:plugin/*``, converting between the
SDK's types and the generated bindings. Importable only inside a component; the entry module
that ``python -m capsule_plugin build`` generates imports the classes its world needs.

Every export catches what a handler raises and answers the matching WIT ``error`` case, so a
plugin bug becomes an error result, never a trap.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import wit_world
from componentize_py_types import Err
from wit_world.exports import plugin as _wp
from wit_world.imports import types as _wt

from . import _content as c
from ._errors import classify
from ._interaction import InputRequired, Resumption
from ._plugin import Plugin as _Registry

def _plugin() -> _Registry:
    import capsule_plugin

    return capsule_plugin.plugin


_ERRORS = {
    "invalid-arguments": _wt.Error_InvalidArguments,
    "not-found": _wt.Error_NotFound,
    "denied": _wt.Error_Denied,
    "internal": _wt.Error_Internal,
}


def _err(exc: BaseException) -> Err:
    kind, message = classify(exc)
    if isinstance(exc, ModuleNotFoundError):
        message += (" (a component only has the modules imported when it was built: import it at the top of "
                    "the plugin, or build with --preload MODULE)")
    return Err(_ERRORS[kind](message))


def _json(value: Optional[dict[str, Any]]) -> Optional[str]:
    return None if value is None else json.dumps(value, ensure_ascii=False, allow_nan=False)


def _role(role: str) -> _wt.Role:
    if role == "user":
        return _wt.Role.USER
    if role == "assistant":
        return _wt.Role.ASSISTANT
    raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")


def _annotations(a: Optional[c.Annotations]) -> Optional[_wt.Annotations]:
    if a is None:
        return None
    audience = None if a.audience is None else [_role(r) for r in a.audience]
    return _wt.Annotations(audience, None if a.priority is None else float(a.priority), a.last_modified)


def _resource_contents(rc: c.ResourceContents) -> _wt.ResourceContents:
    body = _wt.ResourceBody_Text(rc.text) if rc.text is not None else _wt.ResourceBody_Blob(bytes(rc.blob or b""))
    return _wt.ResourceContents(rc.uri, rc.mime_type, body, _json(rc.meta))


def _block(b: c.Content) -> _wt.ContentBlock:
    if isinstance(b, c.Text):
        return _wt.ContentBlock_Text(_wt.TextContent(b.text, _annotations(b.annotations)))
    if isinstance(b, c.Image):
        return _wt.ContentBlock_Image(_wt.MediaContent(bytes(b.data), b.mime_type, _annotations(b.annotations)))
    if isinstance(b, c.Audio):
        return _wt.ContentBlock_Audio(_wt.MediaContent(bytes(b.data), b.mime_type, _annotations(b.annotations)))
    if isinstance(b, c.ResourceLink):
        return _wt.ContentBlock_ResourceLink(_wt.ResourceLink(
            b.uri, b.name, b.title, b.description, b.mime_type, b.size, _annotations(b.annotations)))
    if isinstance(b, c.EmbeddedResource):
        return _wt.ContentBlock_EmbeddedResource(_resource_contents(b.resource))
    raise TypeError(f"not a content block: {type(b).__name__}")


def _input_required(r: InputRequired) -> _wt.InputRequired:
    requests = []
    for q in r.requests:
        if q.kind == "elicitation":
            request = _wt.InputRequest_Elicitation(_json(q.params))
        elif q.kind == "sampling":
            request = _wt.InputRequest_Sampling(_json(q.params))
        else:
            request = _wt.InputRequest_ListRoots()
        requests.append((q.key, request))
    return _wt.InputRequired(requests, r.state)


def _resumption(resume: Optional[_wt.Resumption]) -> Optional[Resumption]:
    return None if resume is None else Resumption(resume.responses, resume.state)


class Plugin(wit_world.exports.Plugin):
    def describe(self) -> _wp.Metadata:
        m = _plugin().describe()
        access = {"read-only": _wp.Access.READ_ONLY, "read-write": _wp.Access.READ_WRITE}
        return _wp.Metadata(
            name=m.name,
            version=m.version,
            description=m.description,
            requests=_wp.CapabilityRequests(
                filesystem=[_wp.FilesystemRequest(f.path, access[f.access], f.reason) for f in m.filesystem],
                network=list(m.network),
                env=list(m.env),
            ),
        )


if hasattr(wit_world.exports, "Tools"):
    from wit_world.exports import tools as _wtools

    class Tools(wit_world.exports.Tools):
        def list_tools(self) -> list[_wtools.Tool]:
            out = []
            for t in _plugin().tools:
                a = t.annotations
                out.append(_wtools.Tool(
                    name=t.name,
                    title=t.title,
                    description=t.description,
                    input_schema=json.dumps(t.input_schema),
                    output_schema=_json(t.output_schema),
                    annotations=None if a is None else _wtools.ToolAnnotations(
                        a.title, a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint),
                    meta=_json(t.meta),
                ))
            return out

        def call_tool(self, name: str, arguments: str, resume: Optional[_wt.Resumption]) -> _wtools.CallOutcome:
            try:
                r = _plugin().call_tool(name, arguments, _resumption(resume))
                if isinstance(r, InputRequired):
                    return _wtools.CallOutcome_InputRequired(_input_required(r))
                result = _wtools.CallToolResult(
                    content=[_block(b) for b in r.content],
                    structured_content=_json(r.structured_content),
                    is_error=bool(r.is_error),
                    meta=_json(r.meta),
                )
            except Exception as e:  # noqa: BLE001 - every failure becomes a typed error
                raise _err(e) from None
            return _wtools.CallOutcome_Complete(result)


if hasattr(wit_world.exports, "Resources"):
    from wit_world.exports import resources as _wres

    class Resources(wit_world.exports.Resources):
        def list_resources(self) -> list[_wres.Resource]:
            return [
                _wres.Resource(r.uri, r.name, r.title, r.description, r.mime_type, r.size, _annotations(r.annotations))
                for r in _plugin().list_resources()
            ]

        def list_resource_templates(self) -> list[_wres.ResourceTemplate]:
            return [
                _wres.ResourceTemplate(t.uri_template, t.name, t.title, t.description, t.mime_type,
                                       _annotations(t.annotations))
                for t in _plugin().templates
            ]

        def read_resource(self, uri: str) -> list[_wt.ResourceContents]:
            try:
                return [_resource_contents(rc) for rc in _plugin().read_resource(uri)]
            except Exception as e:  # noqa: BLE001
                raise _err(e) from None


if hasattr(wit_world.exports, "Prompts"):
    from wit_world.exports import prompts as _wprompts

    class Prompts(wit_world.exports.Prompts):
        def list_prompts(self) -> list[_wprompts.Prompt]:
            return [
                _wprompts.Prompt(p.name, p.title, p.description, [
                    _wprompts.PromptArgument(a.name, a.title, a.description, a.required) for a in p.arguments
                ])
                for p in _plugin().prompts
            ]

        def get_prompt(self, name: str, arguments: list[tuple[str, str]],
                       resume: Optional[_wt.Resumption]) -> _wprompts.PromptOutcome:
            try:
                out = _plugin().get_prompt(name, arguments, _resumption(resume))
                if isinstance(out, InputRequired):
                    return _wprompts.PromptOutcome_InputRequired(_input_required(out))
                return _wprompts.PromptOutcome_Complete(_wprompts.GetPromptResult(out.description, [
                    _wprompts.PromptMessage(_role(m.role), _block(m.block())) for m in out.messages
                ]))
            except Exception as e:  # noqa: BLE001
                raise _err(e) from None


if hasattr(wit_world.exports, "Completions"):
    from wit_world.exports import completions as _wcomp

    class Completions(wit_world.exports.Completions):
        def complete(self, reference: _wcomp.CompletionReference, argument: str, value: str,
                     context: list[tuple[str, str]]) -> _wcomp.Completion:
            try:
                if isinstance(reference, _wcomp.CompletionReference_Prompt):
                    out = _plugin().complete(argument, value, prompt=reference.value, context=context)
                else:
                    out = _plugin().complete(argument, value, template=reference.value, context=context)
                return _wcomp.Completion(list(out.values), out.total, bool(out.has_more))
            except Exception as e:  # noqa: BLE001
                raise _err(e) from None
