"""Matching URIs against RFC 6570 URI templates (``notes://{name}``, ``files://{+path}``) with the rules
the host routes by (shared test vectors: ``tests/vectors/uri_templates.json``):

- literal text matches itself;
- ``{name}`` matches one or more characters other than ``/``, ``?`` and ``#``;
- ``{+name}`` matches one or more characters of any kind;
- any other expression (``{?q}``, ``{/p}``, lists, modifiers) never matches;
- when several splits fit, earlier variables take as much as they can;
- values are percent-decoded (``%XX``; a ``%`` without two hex digits stays), and a value that does not
  decode to UTF-8 makes the URI not match. Validate values in the handler: ``..%2F`` decodes to ``../``.

Matching takes time proportional to the URI's length times the template's parts, whatever both hold.
"""

from __future__ import annotations

import re

__all__ = ["UriTemplate"]

_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_.]+")
_EXCLUDED = frozenset("/?#")
_HEX = re.compile(r"%([0-9A-Fa-f]{2})")


class UriTemplate:
    def __init__(self, template: str) -> None:
        self.template = template
        self.variables: list[str] = []
        # ("lit", text) | ("var", name, reserved) | ("unsupported", text)
        self._parts: list[tuple] = []
        rest = template
        literal = ""
        while True:
            open_ = rest.find("{")
            close = rest.find("}", open_ + 1) if open_ >= 0 else -1
            if open_ < 0 or close < 0:
                literal += rest
                break
            literal += rest[:open_]
            if literal:
                self._parts.append(("lit", literal))
                literal = ""
            text = rest[open_ + 1 : close]
            reserved = text.startswith("+")
            name = text[1:] if reserved else text
            if _SIMPLE_NAME.fullmatch(name):
                self._parts.append(("var", name, reserved))
                self.variables.append(name)
            else:
                self._parts.append(("unsupported", text))
                self.variables.append(text)
            rest = rest[close + 1 :]
        if literal:
            self._parts.append(("lit", literal))

    def match(self, uri: str) -> dict[str, str] | None:
        """The (percent-decoded) variables of ``uri`` if it matches, else ``None``."""
        parts = self._parts
        if any(p[0] == "unsupported" for p in parts):
            return None
        n = len(uri)
        # fits[i][p]: parts[i:] match uri[p:]
        fits = [bytearray(n + 1) for _ in range(len(parts) + 1)]
        fits[len(parts)][n] = 1
        for i in range(len(parts) - 1, -1, -1):
            here, nxt, part = fits[i], fits[i + 1], parts[i]
            if part[0] == "lit":
                text = part[1]
                for p in range(0, n - len(text) + 1):
                    if nxt[p + len(text)] and uri.startswith(text, p):
                        here[p] = 1
            else:
                reserved = part[2]
                reach = False
                for p in range(n - 1, -1, -1):
                    reach = (reserved or uri[p] not in _EXCLUDED) and bool(nxt[p + 1] or reach)
                    here[p] = reach
        if not fits[0][0]:
            return None
        out: dict[str, str] = {}
        p = 0
        for i, part in enumerate(parts):
            if part[0] == "lit":
                p += len(part[1])
                continue
            _, name, reserved = part
            end = None
            q = p
            while q < n and (reserved or uri[q] not in _EXCLUDED):
                q += 1
                if fits[i + 1][q]:
                    end = q
            if end is None:
                return None
            value = _decode(uri[p:end])
            if value is None:
                return None
            out[name] = value
            p = end
        return out


def _decode(text: str) -> str | None:
    """Decode ``%XX`` escapes (a ``%`` without two hex digits stays); ``None`` if not UTF-8."""
    if "%" not in text:
        return text
    raw = bytearray()
    i = 0
    while i < len(text):
        m = _HEX.match(text, i) if text[i] == "%" else None
        if m:
            raw.append(int(m.group(1), 16))
            i += 3
        else:
            raw += text[i].encode("utf-8")
            i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
