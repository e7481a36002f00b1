"""Is a value plain JSON data? The check the engine runs on outputs it (or anything) will store.

An audit trail, an actor log or an MCP client can only keep what JSON can say: strings, finite
numbers, booleans, ``None``, lists (tuples become lists) and objects with string keys. NaN and
infinity are not JSON (``json.dumps`` writes a bare ``NaN`` that no strict parser reads back),
an ``object()`` has no JSON form at all, and a non-string key comes back as a different key. So
the check answers with *where* the first such value sits (``scores[2]``, ``meta['k']``) and
what it is, or ``None`` when the value round-trips.

It is one recursive pass with exact-type fast paths (the common outputs — a string, an int, a
small dict — cost a few type comparisons), bounded in depth so a self-containing list is a
finding, not a ``RecursionError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 100

__all__ = ["MAX_DEPTH", "json_problem"]


def json_problem(value: Any, path: str) -> str | None:
    """``None`` if ``value`` is plain JSON data, else a short description naming ``path``."""
    return _problem(value, path, 0)


def _problem(value: Any, path: str, depth: int) -> str | None:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return None
    if isinstance(value, float):  # float subclasses too (numpy's float64 is one)
        if math.isfinite(value):
            return None
        return f"{path} is {value!r}; NaN and infinity are not JSON numbers"
    if depth >= MAX_DEPTH:
        return f"{path} is nested deeper than {MAX_DEPTH} levels (or contains itself)"
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _problem(item, f"{path}[{i}]", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                return f"{path} has key {key!r} ({type(key).__name__}); JSON keys are strings"
            found = _problem(item, f"{path}[{key!r}]", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, str | int):  # str / int subclasses (IntEnum, ...) serialise as such
        return None
    hint = "; convert it with .tolist() or int()/float()" if hasattr(value, "tolist") else ""
    return f"{path} is a {t.__name__} ({value!r:.40}), which JSON cannot store{hint}"
