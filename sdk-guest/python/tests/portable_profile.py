"""A checker of the portable input-schema profile (issue #21 item 4), for the SDK's tests: the
findings of `schema` (an empty list when OpenAI strict mode, Gemini and Claude all accept it)."""

from __future__ import annotations

from typing import Any

ALLOWED = {"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum",
           "description", "title", "pattern", "format", "minimum", "maximum", "minItems", "maxItems"}
TYPES = {"string", "number", "integer", "boolean", "null", "array", "object"}


def findings(schema: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return ["root: not {\"type\": \"object\"}"]
    for k in ("anyOf", "oneOf", "allOf", "enum", "const"):
        if k in schema:
            out.append(f"root: {k}")
    counts = {"properties": 0, "enum": 0}
    _walk(schema, "root", 1, out, counts)
    if counts["properties"] > 5000:
        out.append("more than 5000 properties")
    if counts["enum"] > 1000:
        out.append("more than 1000 enum values")
    return out


def _walk(s: Any, at: str, depth: int, out: list[str], counts: dict[str, int]) -> None:
    if not isinstance(s, dict) or not s:
        out.append(f"{at}: untyped schema {s!r}")
        return
    for k in s:
        if k not in ALLOWED:
            out.append(f"{at}: keyword {k}")
    t = s.get("type")
    if "anyOf" in s:
        if t is not None:
            out.append(f"{at}: type beside anyOf")
        for i, b in enumerate(s["anyOf"]):
            if not isinstance(b, dict) or "type" not in b:
                out.append(f"{at}.anyOf[{i}]: branch without type")
            if isinstance(b, dict) and ("description" in b or "title" in b) and b.get("type") == "null":
                out.append(f"{at}.anyOf[{i}]: description in the null branch")
            _walk(b, f"{at}.anyOf[{i}]", depth, out, counts)
        return
    if not isinstance(t, str) or t not in TYPES:
        out.append(f"{at}: type {t!r} is not one type name")
        return
    if t == "object":
        if depth > 10:
            out.append(f"{at}: nested deeper than 10 objects")
        props = s.get("properties")
        if not isinstance(props, dict):
            out.append(f"{at}: object without properties")
            props = {}
        if s.get("additionalProperties") is not False:
            out.append(f"{at}: additionalProperties is not false")
        if s.get("required") != list(props):
            out.append(f"{at}: required {s.get('required')!r} is not every property in order")
        counts["properties"] += len(props)
        for name, p in props.items():
            _walk(p, f"{at}.{name}", depth + 1, out, counts)
    elif "properties" in s or "required" in s or "additionalProperties" in s:
        out.append(f"{at}: object keywords on {t}")
    if t == "array":
        if "items" not in s:
            out.append(f"{at}: array without items")
        else:
            _walk(s["items"], f"{at}[]", depth, out, counts)
    elif "items" in s or "minItems" in s or "maxItems" in s:
        out.append(f"{at}: array keywords on {t}")
    if "enum" in s:
        if t != "string" or not all(isinstance(v, str) for v in s["enum"]):
            out.append(f"{at}: enum of non-strings or on {t}")
        counts["enum"] += len(s["enum"])
    if ("pattern" in s or "format" in s) and t != "string":
        out.append(f"{at}: string keywords on {t}")
    if "format" in s and s["format"] != "date-time":
        out.append(f"{at}: format {s['format']!r}")
    if ("minimum" in s or "maximum" in s) and t not in ("number", "integer"):
        out.append(f"{at}: number keywords on {t}")
