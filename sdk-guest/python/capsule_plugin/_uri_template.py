"""Matching URIs against RFC 6570 level-1 URI templates (``notes://{name}``), with the same
rules as the host and the Rust SDK: literal text around simple ``{var}`` expressions; a variable
covers any text (``/`` included, ``%XX`` decoded, so validate it in the handler); when several
splits fit, earlier variables take the shortest text. Operator expressions (``{+var}``) never match.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

__all__ = ["UriTemplate"]

_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_.%]+")


class UriTemplate:
    def __init__(self, template: str) -> None:
        self.template = template
        self.variables: list[str] = []
        pattern = []
        rest = template
        valid = True
        while True:
            open_ = rest.find("{")
            close = rest.find("}", open_ + 1) if open_ >= 0 else -1
            if open_ < 0 or close < 0:
                pattern.append(re.escape(rest))
                break
            pattern.append(re.escape(rest[:open_]))
            name = rest[open_ + 1 : close]
            if not _SIMPLE_NAME.fullmatch(name):
                valid = False
            self.variables.append(name)
            pattern.append("(.*?)")
            rest = rest[close + 1 :]
        self._regex = re.compile("".join(pattern), re.DOTALL) if valid else None

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables of ``uri`` if it matches, else ``None``."""
        if self._regex is None:
            return None
        m = self._regex.fullmatch(uri)
        if m is None:
            return None
        out = {}
        for name, raw in zip(self.variables, m.groups()):
            try:
                out[name] = unquote_to_bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                return None
        return out
