"""Capability-based permissions: implication hierarchies and resource scopes.

A permission is ``namespace:action`` with an optional resource, ``files:read:/reports/*``.
A grant covers a need when they share the namespace (or the grant's namespace is ``*``), the
granted action *implies* the needed one, and the granted resource pattern (a glob; none means
every resource) matches the needed resource. Actions imply each other along a hierarchy; the
default one is ``admin ⇒ write ⇒ read`` in every namespace, ``namespace:*`` grants every action
there, and per-namespace rules (declared in code or from data) add to the global ones.

Resource globs use :mod:`fnmatch`, so ``*`` also crosses ``/``: ``files:read:/reports/*``
covers the whole ``/reports`` subtree. Path-like needed resources are normalised first, so
``/reports/../secrets`` is judged as ``/secrets`` and cannot escape a scoped grant.
"""

from __future__ import annotations

import fnmatch
import posixpath
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from capabilities.errors import PacketFlowError

DEFAULT_IMPLICATIONS: Mapping[str, tuple[str, ...]] = {"admin": ("write",), "write": ("read",)}


@dataclass(frozen=True, slots=True)
class Permission:
    namespace: str
    action: str
    resource: str | None = None

    @classmethod
    def parse(cls, text: str | Permission) -> Permission:
        """``"files:read"`` or ``"files:read:/reports/*"`` -> :class:`Permission`.

        Parsing is cached: the engine checks the same few permission strings on every call.
        """
        if isinstance(text, Permission):
            return text
        if not isinstance(text, str):
            raise PacketFlowError(
                f"permission {text!r} must be a string like 'files:read', not {type(text).__name__}"
            )
        return _parse(text)

    def __str__(self) -> str:
        base = f"{self.namespace}:{self.action}"
        return base if self.resource is None else f"{base}:{self.resource}"


@lru_cache(maxsize=8192)
def _parse(text: str) -> Permission:
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise PacketFlowError(
            f"permission {text!r} must look like 'namespace:action' or "
            "'namespace:action:resource' (e.g. 'files:read:/reports/*')"
        )
    if any(c.isspace() for c in parts[0] + parts[1]):
        raise PacketFlowError(
            f"permission {text!r}: namespace and action may not contain whitespace"
        )
    return Permission(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)


def _normalise_resource(resource: str) -> str:
    if "/" in resource:
        normal = posixpath.normpath(resource)
        # normpath keeps a leading '//' and drops a trailing '/'; neither changes the scope
        return normal[1:] if normal.startswith("//") else normal
    return resource


class PermissionHierarchy:
    """Which actions imply which: ``imply("admin", "write")`` means admin grants write.

    Per-namespace rules (``imply("approve", "request", namespace="deploy")``) add to the
    global ones. Build one from data with :meth:`from_data`.
    """

    def __init__(self, implications: Mapping[str, Iterable[str]] | None = None):
        self._rules: dict[tuple[str | None, str], set[str]] = {}
        self._cache: dict[tuple[str, str], frozenset[str]] = {}
        self._lock = threading.Lock()
        for high, lows in (DEFAULT_IMPLICATIONS if implications is None else implications).items():
            for low in lows:
                self.imply(high, low)

    @classmethod
    def from_data(
        cls, data: Mapping[str, Any], *, where: str = "permissions"
    ) -> PermissionHierarchy:
        """Declare a hierarchy from plain data (a scenario file), e.g.::

            defaults: true                    # keep admin => write => read (the default)
            actions: {owner: [admin]}         # global: owner => admin (=> write => read)
            namespaces:
              deploy: {approve: [request]}    # only in 'deploy': approve => request

        Every error names the offending field (``permissions.namespaces.deploy.approve``).
        """
        if not isinstance(data, Mapping):
            raise PacketFlowError(f"{where}: expected a mapping, got {type(data).__name__}")
        known = {"defaults", "actions", "namespaces"}
        unknown = sorted(set(map(str, data)) - known)
        if unknown:
            raise PacketFlowError(
                f"{where}: unknown key(s) {unknown}; expected some of {sorted(known)}"
            )
        defaults = data.get("defaults", True)
        if not isinstance(defaults, bool):
            raise PacketFlowError(f"{where}.defaults: expected true or false, got {defaults!r}")
        hierarchy = cls(None if defaults else {})
        for high, lows in _rules_from_data(data.get("actions", {}), f"{where}.actions"):
            for low in lows:
                hierarchy.imply(high, low)
        spaces = data.get("namespaces", {})
        if not isinstance(spaces, Mapping):
            raise PacketFlowError(f"{where}.namespaces: expected a mapping namespace -> rules")
        for ns, rules in spaces.items():
            if not isinstance(ns, str) or not ns or ":" in ns or ns.strip() != ns:
                raise PacketFlowError(f"{where}.namespaces: {ns!r} is not a namespace name")
            for high, lows in _rules_from_data(rules, f"{where}.namespaces.{ns}"):
                for low in lows:
                    hierarchy.imply(high, low, namespace=ns)
        return hierarchy

    def imply(self, higher: str, lower: str, *, namespace: str | None = None) -> None:
        """Declare that holding ``higher`` grants ``lower`` (in ``namespace``, or everywhere)."""
        for what, action in (("higher", higher), ("lower", lower)):
            if not isinstance(action, str) or not action or ":" in action or action == "*":
                raise PacketFlowError(
                    f"imply: {what} action {action!r} must be a plain action name like 'write'"
                )
        with self._lock:
            self._rules.setdefault((namespace, higher), set()).add(lower)
            self._cache = {}

    def implied(self, namespace: str, action: str) -> frozenset[str]:
        """Every action that holding ``action`` in ``namespace`` grants (itself included)."""
        key = (namespace, action)
        found = self._cache.get(key)
        if found is not None:
            return found
        seen = {action}
        todo = [action]
        with self._lock:
            while todo:
                a = todo.pop()
                for rule in ((None, a), (namespace, a)):
                    for low in self._rules.get(rule, ()):
                        if low not in seen:
                            seen.add(low)
                            todo.append(low)
            found = self._cache[key] = frozenset(seen)
        return found

    def implies(self, granted: Permission | str, needed: Permission | str) -> bool:
        """Whether holding ``granted`` covers ``needed``."""
        g = Permission.parse(granted)
        n = Permission.parse(needed)
        if g.namespace not in (n.namespace, "*"):
            return False
        if g.action != "*" and n.action not in self.implied(n.namespace, g.action):
            return False
        if g.resource is None:
            return True
        if n.resource is None:
            return False  # a scoped grant never covers the unscoped (all-resources) need
        return fnmatch.fnmatchcase(_normalise_resource(n.resource), g.resource)

    def allows(self, grants: Iterable[str], needed: str) -> bool:
        return any(self.implies(g, needed) for g in grants)

    def covering(self, grants: Iterable[str], needed: str) -> str | None:
        """The first grant that covers ``needed`` (to explain a decision), or ``None``."""
        return next((g for g in grants if self.implies(g, needed)), None)

    def missing(self, grants: Iterable[str], needs: Iterable[str]) -> list[str]:
        """The needed permissions that no grant covers, in order."""
        grants = tuple(grants)
        return [n for n in needs if not self.allows(grants, n)]


def _rules_from_data(rules: Any, where: str) -> list[tuple[str, list[str]]]:
    if not isinstance(rules, Mapping):
        raise PacketFlowError(f"{where}: expected a mapping action -> [implied actions]")
    out = []
    for high, lows in rules.items():
        if isinstance(lows, str):
            lows = [lows]
        if not isinstance(lows, list | tuple) or not all(isinstance(x, str) for x in lows):
            raise PacketFlowError(f"{where}.{high}: expected a list of action names, got {lows!r}")
        for name in (high, *lows):
            if (
                not isinstance(name, str)
                or not name
                or ":" in name
                or name == "*"
                or name.strip() != name
            ):
                raise PacketFlowError(f"{where}.{high}: {name!r} is not an action name")
        out.append((high, list(lows)))
    return out


def validate_grants(grants: Iterable[str], *, where: str = "grants") -> None:
    """Raise a clear error for the first grant that is not a well-formed permission."""
    for g in grants:
        try:
            Permission.parse(g)
        except PacketFlowError as exc:
            raise PacketFlowError(f"{where}: {exc}") from None


DEFAULT_HIERARCHY = PermissionHierarchy()
