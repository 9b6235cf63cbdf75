"""Standard-library modules a component should carry even when the plugin does not import them.

componentize-py runs the plugin's imports once at build time and snapshots the interpreter; the
standard library is *not* available to the component afterwards (it runs without a filesystem).
A module imported for the first time during a call therefore fails with ``ModuleNotFoundError``.
The plugin's own imports are covered by importing at the top of the file; this list covers
modules that the standard library itself imports lazily on common paths (``Counter.most_common``
→ ``heapq``, ``datetime.strptime`` → ``_strptime``, ``bytes.decode("latin-1")`` → ``encodings``).
It adds about 0.3 MB. Add more with ``python -m capsule_plugin build --preload MODULE``.
"""

import bisect  # noqa: F401
import copy  # noqa: F401
import encodings.ascii  # noqa: F401
import encodings.cp437  # noqa: F401
import encodings.cp1252  # noqa: F401
import encodings.latin_1  # noqa: F401
import encodings.utf_8_sig  # noqa: F401
import encodings.utf_16  # noqa: F401
import encodings.utf_32  # noqa: F401
import heapq  # noqa: F401
import string  # noqa: F401
import unicodedata  # noqa: F401

try:
    import _strptime  # noqa: F401
except ImportError:  # pragma: no cover - present in CPython, not guaranteed elsewhere
    pass
