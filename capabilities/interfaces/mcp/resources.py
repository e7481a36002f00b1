"""The resources: catalogue, health, whoami, and any extra ones a caller adds."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from mcp.server.mcpserver.resources import FunctionResource

from capabilities.interfaces.mcp.host import CATALOGUE_URI, ServerHost
from capabilities.interfaces.mcp.schema import jsonable


def add_resources(server: ServerHost, extra: Mapping[str, Callable[[], Any]]) -> None:
    """The catalogue, health and whoami resources, plus ``extra`` ones given by the caller."""

    def catalogue() -> str:
        principal = server.principal_now()
        return json.dumps(
            [c.describe() for c in server.registry if server.permitted(c, principal)],
            indent=1,
        )

    server.add_resource(
        FunctionResource.from_function(
            catalogue,
            uri=CATALOGUE_URI,
            name="capability catalogue",
            description="Every capability you may call: intent, contract, permissions.",
            mime_type="application/json",
        )
    )
    for uri, fn in extra.items():

        def read(fn: Callable[[], Any] = fn) -> str:
            value = fn()
            return value if isinstance(value, str) else json.dumps(jsonable(value), indent=1)

        server.add_resource(
            FunctionResource.from_function(
                read,
                uri=uri,
                name=uri.rsplit("/", 1)[-1] or uri,
                description=(fn.__doc__ or uri).strip().splitlines()[0],
                mime_type="application/json",
            )
        )
