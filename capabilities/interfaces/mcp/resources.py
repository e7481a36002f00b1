"""The resources: the catalogue, one ``capability://{name}`` per capability, and what a layer
above adds (static resources and templates such as ``arena://runs/{run_id}/summary``).

Readers are sync functions; the SDK runs them on worker threads, so a slow first read (the arena
runs a scenario) does not hold up other requests.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import FunctionResource
from mcp_types import BlobResourceContents, ReadResourceResult, TextResourceContents

from capabilities.interfaces.mcp.host import CAPABILITY_TEMPLATE, CATALOGUE_URI, Extras, ServerHost
from capabilities.interfaces.mcp.schema import jsonable, tool_of


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(jsonable(value), indent=1)


def first_line(fn: Callable[..., Any], default: str) -> str:
    return (fn.__doc__ or default).strip().splitlines()[0]


def add_resources(server: ServerHost, extras: Extras) -> None:
    """The catalogue and ``capability://{name}``, plus the extra resources and templates."""

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

    @server.resource(
        CAPABILITY_TEMPLATE,
        name="capability",
        description="One capability you may call: its declaration and its tool (schemas, hints).",
        mime_type="application/json",
    )
    def capability(name: str) -> str:
        cap = server.registry.lookup(name)
        if cap is None or not server.permitted(cap, server.principal_now()):
            raise ResourceError(f"Unknown capability: {name}")  # hidden ones answer alike
        tool = tool_of(cap).model_dump(by_alias=True, mode="json", exclude_none=True)
        return json.dumps({**cap.describe(), "tool": tool}, indent=1)

    for uri, fn in extras.resources.items():

        def read(fn: Callable[[], Any] = fn) -> str:
            return as_text(fn())

        server.add_resource(
            FunctionResource.from_function(
                read,
                uri=uri,
                name=uri.rsplit("/", 1)[-1] or uri,
                description=first_line(fn, uri),
                mime_type="application/json",
            )
        )
    for template, fn in extras.templates.items():
        server.resource(
            template,
            name=fn.__name__,
            description=first_line(fn, template),
            mime_type="application/json",
        )(_text_reader(fn))


def _text_reader(fn: Callable[..., Any]) -> Callable[..., str]:
    """``fn`` returning text (JSON for data), with ``fn``'s signature for the SDK's template."""

    @functools.wraps(fn)
    def read(**params: Any) -> str:
        return as_text(fn(**params))

    return read


def read_result(uri: Any, results: Iterable[ReadResourceContents]) -> ReadResourceResult:
    """What ``MCPServer.read_resource`` returned, as the wire answer (text, or base64 blobs)."""
    contents: list[TextResourceContents | BlobResourceContents] = []
    for item in results:
        if isinstance(item.content, bytes):
            blob = base64.b64encode(item.content).decode()
            mime = item.mime_type or "application/octet-stream"
            contents.append(
                BlobResourceContents(uri=uri, blob=blob, mime_type=mime, _meta=item.meta)
            )
        else:
            mime = item.mime_type or "text/plain"
            contents.append(
                TextResourceContents(uri=uri, text=item.content, mime_type=mime, _meta=item.meta)
            )
    return ReadResourceResult(contents=contents)
