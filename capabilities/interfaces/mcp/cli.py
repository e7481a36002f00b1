"""``packetflow-arena mcp serve``: serve a registry over MCP (stdio or streamable HTTP).

Wired into ``arena/cli.py``'s ``COMMANDS`` as ``"mcp"``; everything it does lives here. The MCP
SDK is imported only when serving, so other subcommands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

from capabilities.core.security import validate_grants
from capabilities.errors import PacketFlowError
from capabilities.runtime.registry import Registry

DEFAULT_REGISTRY = "capabilities.examples.customer:build_registry"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="mcp_command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve capabilities as MCP tools",
        description="Expose every capability of a registry as an MCP tool, plus discover/send.",
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument(
        "--registry",
        default=None,
        metavar="MODULE",
        help="module (or module:attr) exposing `registry` or `build_registry()` "
        f"(default {DEFAULT_REGISTRY})",
    )
    source.add_argument("--scenario", metavar="FILE", help="serve the capabilities of a scenario")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="YAML/JSON: principal, grants and (HTTP) bearer tokens -> principals",
    )
    serve.add_argument("--principal", default=None, help="principal of stdio sessions")
    serve.add_argument(
        "--grant",
        action="append",
        default=[],
        metavar="PERMISSION",
        help="grant of that principal (repeatable), e.g. 'profile:read' or '*:*'",
    )
    serve.add_argument(
        "--store",
        default=":memory:",
        metavar="FILE",
        help="SQLite file for the audit log and actor state (default: in memory)",
    )


# a scenario file -> its registry and an ``Extras`` (or a plain URI -> reader mapping)
ScenarioLoader = Callable[[str], tuple[Registry, Any]]


def run(args: argparse.Namespace, scenario_loader: ScenarioLoader | None = None) -> int:
    """Serve until the client disconnects (stdio) or the process is interrupted (HTTP).

    ``scenario_loader`` turns ``--scenario FILE`` into a registry and MCP extras; the
    arena's CLI passes its own, so this package never imports the arena.
    """
    from capabilities.interfaces.mcp.host import Extras
    from capabilities.interfaces.mcp.server import AccessConfig, Principal, build_server
    from capabilities.runtime.engine import Engine

    if args.mcp_command != "serve":  # pragma: no cover - argparse enforces the choice
        raise PacketFlowError(f"unknown mcp command {args.mcp_command!r}")
    extras = Extras()
    if args.scenario:
        if scenario_loader is None:
            raise PacketFlowError(
                f"--scenario {args.scenario!r}: scenarios need the arena; run "
                "'packetflow-arena mcp serve --scenario FILE', or use --registry MODULE"
            )
        registry, loaded = scenario_loader(args.scenario)
        extras = loaded if isinstance(loaded, Extras) else Extras(resources=loaded)
    else:
        registry = load_registry(args.registry or DEFAULT_REGISTRY)
    access = AccessConfig.load(args.config) if args.config else AccessConfig()
    if args.principal or args.grant:
        validate_grants(args.grant, where="--grant")
        access = AccessConfig(
            Principal(args.principal or access.principal.name, frozenset(args.grant)),
            access.tokens,
        )
    if args.transport == "http":
        check_http_binding(args.host, bool(access.tokens))
    if args.transport == "stdio" and access.tokens:
        print("packetflow-arena mcp: bearer tokens only apply over HTTP", file=sys.stderr)
    if args.store == ":memory:" and any(c.kind == "actor" for c in registry):
        print(
            "packetflow-arena mcp: actor state is kept in memory; pass --store FILE to keep it",
            file=sys.stderr,
        )
    url = f"http://{args.host}:{args.port}"
    engine = Engine(registry, store=args.store)
    server = build_server(registry, engine, access=access, extras=extras, http_url=url)
    try:
        if args.transport == "stdio":
            server.serve("stdio")
        else:
            print(f"packetflow-arena mcp: serving on {url}/mcp", file=sys.stderr, flush=True)
            server.serve("streamable-http", host=args.host, port=args.port)
    finally:
        engine.close()
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_http_binding(host: str, authenticated: bool) -> None:
    """Without bearer tokens anyone who reaches the port can call every tool, so an
    unauthenticated server binds loopback only (and says so); elsewhere it is refused."""
    if authenticated:
        return
    if host not in LOOPBACK:
        raise PacketFlowError(
            f"--host {host!r}: serving HTTP beyond loopback needs authentication; pass "
            "--config FILE with bearer tokens (see docs/mcp.md), or bind 127.0.0.1"
        )
    print(
        f"packetflow-arena mcp: no access config: serving without authentication on {host} "
        "(loopback only); pass --config FILE with bearer tokens to require them",
        file=sys.stderr,
    )


def load_registry(spec: str) -> Registry:
    """``package.module`` or ``package.module:attr``: a Registry, or a function returning one.

    Without ``:attr`` the module's ``registry`` attribute is used, else its ``build_registry``.
    """
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PacketFlowError(
            f"--registry {spec!r}: cannot import {module_name!r} ({exc})"
        ) from None
    names = [attr] if attr else ["registry", "build_registry"]
    for name in names:
        obj = getattr(module, name, None)
        if obj is None:
            continue
        if callable(obj) and not isinstance(obj, Registry):
            obj = obj()
        if isinstance(obj, Registry):
            return obj
        raise PacketFlowError(
            f"--registry {spec!r}: {module_name}.{name} is a {type(obj).__name__}, not a Registry"
        )
    raise PacketFlowError(
        f"--registry {spec!r}: module {module_name!r} has no "
        + (repr(attr) if attr else "'registry' attribute or 'build_registry()' function")
    )
