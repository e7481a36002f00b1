"""Capability-based permissions: implication hierarchies and resource scopes.

A permission is ``namespace:action`` with an optional resource, ``files:read:/reports/*``.
A grant covers a need when they share the namespace, the granted action *implies* the needed
one, and the granted resource pattern (a glob; none means every resource) matches the needed
resource. Actions imply each other along a hierarchy; the default one is
``admin ⇒ write ⇒ read`` in every namespace, and ``namespace:*`` grants every action there.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from .errors import PacketFlowError

DEFAULT_IMPLICATIONS: Mapping[str, tuple[str, ...]] = {"admin": ("write",), "write": ("read",)}


@dataclass(frozen=True, slots=True)
class Permission:
    namespace: str
    action: str
    resource: str | None = None

    @classmethod
    def parse(cls, text: str) -> Permission:
        parts = str(text).split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise PacketFlowError(
                f"permission {text!r} must look like 'namespace:action' or "
                "'namespace:action:resource' (e.g. 'files:read:/reports/*')"
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)

    def __str__(self) -> str:
        base = f"{self.namespace}:{self.action}"
        return base if self.resource is None else f"{base}:{self.resource}"


class PermissionHierarchy:
    """Which actions imply which: ``imply("admin", "write")`` means admin grants write.

    Per-namespace rules (``imply("deploy", "approve", namespace="prod")``) add to the global ones.
    """

    def __init__(self, implications: Mapping[str, Iterable[str]] | None = None):
        self._rules: dict[tuple[str | None, str], set[str]] = {}
        for high, lows in (DEFAULT_IMPLICATIONS if implications is None else implications).items():
            for low in lows:
                self.imply(high, low)

    def imply(self, higher: str, lower: str, *, namespace: str | None = None) -> None:
        self._rules.setdefault((namespace, higher), set()).add(lower)
        self._closure.cache_clear()

    @lru_cache(maxsize=4096)  # noqa: B019 - hierarchies are few and long-lived
    def _closure(self, namespace: str, action: str) -> frozenset[str]:
        seen = {action}
        todo = [action]
        while todo:
            a = todo.pop()
            for key in ((None, a), (namespace, a)):
                for low in self._rules.get(key, ()):
                    if low not in seen:
                        seen.add(low)
                        todo.append(low)
        return frozenset(seen)

    def implies(self, granted: Permission | str, needed: Permission | str) -> bool:
        g = granted if isinstance(granted, Permission) else Permission.parse(granted)
        n = needed if isinstance(needed, Permission) else Permission.parse(needed)
        if g.namespace not in (n.namespace, "*"):
            return False
        if g.action != "*" and n.action not in self._closure(n.namespace, g.action):
            return False
        if g.resource is None:
            return True
        if n.resource is None:
            return False  # a scoped grant never covers the unscoped (all-resources) need
        return fnmatch.fnmatchcase(n.resource, g.resource)

    def allows(self, grants: Iterable[str], needed: str) -> bool:
        return any(self.implies(g, needed) for g in grants)

    def missing(self, grants: Iterable[str], needs: Iterable[str]) -> list[str]:
        """The needed permissions that no grant covers, in order."""
        grants = tuple(grants)
        return [n for n in needs if not self.allows(grants, n)]


DEFAULT_HIERARCHY = PermissionHierarchy()
