"""MCP: serve a registry's capabilities as tools to MCP clients.

``schema`` (contracts as JSON schemas) and ``access`` (principals, tokens) < ``host`` (what the
parts need of the server) < ``tools`` / ``resources`` < ``server`` (``CapabilityServer``,
``build_server``) < ``cli`` (``python -m`` / ``packetflow-arena mcp serve``).

The server names are loaded on first use, so ``import capabilities`` (which exposes ``cli`` as
``capabilities.mcp_cli``) does not import the MCP SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "AccessConfig": "access",
    "Principal": "access",
    "BUILTIN_TOOLS": "server",
    "CapabilityServer": "server",
    "build_server": "server",
    "CATALOGUE_URI": "host",
    "fields_schema": "schema",
    "input_schema": "schema",
    "json_schema": "schema",
    "output_schema": "schema",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
