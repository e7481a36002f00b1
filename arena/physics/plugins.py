"""Routers from outside the package: ``router: package.module:ClassName`` or an entry point.

Why: the systems engineer's own policy is the strongest baseline there is, so a scenario can
name any class that follows the router protocol (``docs/routers.md``): built-in names first
(:data:`~arena.physics.routers.ROUTER_TYPES`), then a dotted path ``package.module:ClassName``,
then an entry point of the group :data:`ENTRY_POINT_GROUP` declared by an installed package::

    [project.entry-points."packetflow_arena.routers"]
    my_router = "my_package.routing:MyRouter"

The class is instantiated with the scenario's ``router_params`` for that router name
(``router_params: {power_of_d: {d: 3}}``); every problem — a module that does not import, a
name that is no class, a class without ``choose``, parameters its constructor refuses — is a
one-line :class:`~arena.errors.ScenarioError` naming the field.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from capabilities import PacketFlowError, import_dotted

from ..errors import ScenarioError
from .routers import ROUTER_TYPES, Router

ENTRY_POINT_GROUP = "packetflow_arena.routers"


def router_class(name: str, *, file: str | None = None, field: str = "router") -> type:
    """The router class ``name`` stands for, or a ScenarioError naming ``field``."""
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(file, field, f"expected a router name, got {name!r}")
    if name in ROUTER_TYPES:
        return ROUTER_TYPES[name]
    if ":" in name:
        try:
            cls = import_dotted(name, where="router")
        except PacketFlowError as exc:
            raise ScenarioError(file, field, str(exc)) from None
    else:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not found:
            raise ScenarioError(
                file,
                field,
                f"unknown router {name!r}; expected one of {', '.join(ROUTER_TYPES)}, a class "
                f"as 'package.module:ClassName', or an entry point of '{ENTRY_POINT_GROUP}'",
            )
        try:
            cls = found[0].load()
        except Exception as exc:  # a broken plug-in package: say which entry point
            raise ScenarioError(
                file, field, f"entry point {name!r} ({found[0].value}) fails to load: {exc}"
            ) from None
    if not inspect.isclass(cls):
        raise ScenarioError(file, field, f"{name!r} is not a class (got {type(cls).__name__})")
    if not callable(getattr(cls, "choose", None)):
        raise ScenarioError(
            file, field, f"{name!r} has no choose(view, sims) method; see docs/routers.md"
        )
    if getattr(cls, "uses_physics", False) and not issubclass(cls, ROUTER_TYPES["physics"]):
        raise ScenarioError(
            file, field, f"{name!r}: only the built-in physics router may set uses_physics"
        )
    return cls


def make_router(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    file: str | None = None,
    field: str = "router",
) -> Router:
    """An instance of router ``name`` built with ``params`` (its ``router_params`` entry)."""
    cls = router_class(name, file=file, field=field)
    params = dict(params or {})
    try:
        router = cls(**params)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(file, f"router_params.{name}", f"{cls.__name__}: {exc}") from None
    if not getattr(router, "name", None) or getattr(cls, "name", "router") == "router":
        # a plug-in without its own name is reported under the name it was selected by
        with contextlib.suppress(AttributeError):
            router.name = name
    if not hasattr(router, "uses_physics"):  # optional in the protocol: routers teleport
        with contextlib.suppress(AttributeError):
            router.uses_physics = False
    return router


def unknown_router_problem(name: str) -> str | None:
    """Why ``name`` is not a router (None when it is one): for validation messages."""
    try:
        router_class(name)
    except ScenarioError as exc:
        return exc.problem
    return None
