"""Expose a Registry to AI agents over the Model Context Protocol (official ``mcp`` SDK 2.x).

Every capability becomes a tool: its input JSON Schema comes from the contract (``requires``),
its output schema from ``provides``, its description from the intent. Built-in tools sit beside
them: ``discover`` (query -> ranked capabilities with scores), ``send`` (a message to an actor)
and, when the workflow/planner modules are installed, ``plan`` and ``run_workflow``. Resources
serve the capability catalogue and whatever a layer above adds (the arena's latest summary).

Authority is per session: every call runs with a :class:`~capabilities.Context` whose principal
and grants come from configuration (a bearer token maps to a principal over HTTP). A tool the
principal may not call is not listed for it; calling it anyway is a tool error and the
capability never runs. Bad arguments are tool errors naming the field; an unknown tool is a
protocol error (JSON-RPC ``-32602``), and the server keeps serving.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp_types import INVALID_PARAMS, CallToolResult, ListToolsResult, TextContent
from mcp_types import Tool as MCPTool

from capabilities.core.model import Capability
from capabilities.errors import ContractError, PacketFlowError, PermissionDenied
from capabilities.interfaces.mcp.access import (
    AccessConfig,
    Principal,
    TokenTable,
    principal_from_data,
)
from capabilities.interfaces.mcp.resources import add_resources
from capabilities.interfaces.mcp.schema import coerce_arguments, jsonable, tool_of
from capabilities.interfaces.mcp.tools import add_builtin_tools
from capabilities.runtime.engine import Engine
from capabilities.runtime.registry import Registry

BUILTIN_TOOLS = ("discover", "send", "plan", "run_workflow")


CALLER: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "packetflow_mcp_caller", default=None
)


# -- the server --------------------------------------------------------------------------------
class CapabilityServer(MCPServer):
    """An :class:`MCPServer` whose tools are a registry's capabilities, filtered per principal.

    Built-in tools and resources use the SDK's own decorators; capability tools are served from
    their contracts (schemas computed once) and executed with ``Engine.run_async``.
    """

    def __init__(
        self,
        registry: Registry,
        engine: Engine | None = None,
        *,
        access: AccessConfig | None = None,
        resources: Mapping[str, Callable[[], Any]] | None = None,
        name: str = "packetflow-arena",
        http_url: str = "http://127.0.0.1:8000",
    ):
        self.registry = registry
        self.engine = engine if engine is not None else Engine(registry)
        self.access = access if access is not None else AccessConfig()
        auth = None
        verifier = None
        if self.access.tokens:
            auth = AuthSettings(
                issuer_url=http_url,
                resource_server_url=http_url,
                validate_token_resource=False,
            )
            verifier = TokenTable(self.access.tokens)
        super().__init__(
            name,
            instructions=(
                "Capabilities of a PacketFlow registry. Call 'discover' with what you need in "
                "plain words to find the right tool; every tool's schema is its contract."
            ),
            token_verifier=verifier,
            auth=auth,
            log_level="WARNING",
        )
        clash = [n for n in BUILTIN_TOOLS if n in registry]
        if clash:
            raise PacketFlowError(
                f"capability {clash[0]!r} has the name of a built-in MCP tool; rename it "
                f"(reserved: {', '.join(BUILTIN_TOOLS)})"
            )
        self._tool_cache: tuple[tuple[str, ...], dict[str, MCPTool]] = ((), {})
        add_builtin_tools(self)
        add_resources(self, resources or {})

    # -- who is asking -----------------------------------------------------------------------
    def caller(self, ctx: Any = None) -> Principal:
        """The principal of the current request: from its bearer token, else the default."""
        token = get_access_token()
        if token is None and ctx is not None:
            user = getattr(getattr(ctx, "request", None), "scope", {}).get("user")
            token = getattr(user, "access_token", None)
        if token is not None:
            return Principal(token.client_id, frozenset(token.scopes))
        return self.access.principal

    def permitted(self, cap: Capability, principal: Principal) -> bool:
        return self.engine.permitted(cap, principal.context())

    # -- tools ---------------------------------------------------------------------------------
    def capability_tools(self) -> dict[str, MCPTool]:
        """One MCP tool per capability, rebuilt only when the registry changes."""
        names = tuple(self.registry.names())
        if names != self._tool_cache[0]:
            self._tool_cache = (names, {c.name: tool_of(c) for c in self.registry})
        return self._tool_cache[1]

    async def _handle_list_tools(self, ctx: Any, params: Any) -> ListToolsResult:
        principal = self.caller(ctx)
        builtin = [t for t in await self.list_tools() if t.name != "send" or self.any_actor()]
        mine = [
            tool
            for name, tool in self.capability_tools().items()
            if self.permitted(self.registry.get(name), principal)
        ]
        return ListToolsResult(tools=builtin + mine)

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        tool = self.capability_tools().get(name)
        return tool.input_schema if tool is not None else super()._tool_input_schema(name)

    async def _handle_call_tool(self, ctx: Any, params: Any) -> Any:
        principal = self.caller(ctx)
        name = params.name
        if name in self.registry:
            return await self._call_capability(
                self.registry.get(name), params.arguments or {}, principal
            )
        if self._tool_manager.get_tool(name) is None:
            from mcp.shared.exceptions import MCPError

            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
        token = CALLER.set(principal)
        try:
            return await super()._handle_call_tool(ctx, params)
        finally:
            CALLER.reset(token)

    async def _handle_read_resource(self, ctx: Any, params: Any) -> Any:
        token = CALLER.set(self.caller(ctx))
        try:
            return await super()._handle_read_resource(ctx, params)
        finally:
            CALLER.reset(token)

    async def _call_capability(
        self, cap: Capability, arguments: Mapping[str, Any], principal: Principal
    ) -> CallToolResult:
        if not self.permitted(cap, principal):
            missing = self.engine.hierarchy.missing(principal.grants, cap.permissions)
            return tool_error(str(PermissionDenied(cap.name, missing[0], principal.name)))
        try:
            result = await self.engine.run_async(
                cap, coerce_arguments(cap, arguments), principal.context(label="mcp")
            )
        except (ContractError, PermissionDenied) as exc:
            return tool_error(str(exc))
        if not result.ok:
            err = result.error
            return tool_error(f"capability {cap.name!r} failed: {type(err).__name__}: {err}")
        outputs = jsonable(result.outputs)
        return CallToolResult(
            content=[TextContent(type="text", text=json.dumps(outputs))],
            structured_content=outputs,
        )

    def any_actor(self) -> bool:
        return any(c.kind == "actor" for c in self.registry)

    def principal_now(self) -> Principal:
        return CALLER.get() or self.access.principal


def build_server(
    registry: Registry,
    engine: Engine | None = None,
    *,
    principal: str = "local",
    grants: Sequence[str] = (),
    access: AccessConfig | None = None,
    resources: Mapping[str, Callable[[], Any]] | None = None,
    http_url: str = "http://127.0.0.1:8000",
) -> CapabilityServer:
    """An MCP server for ``registry``: pass ``access`` (tokens for HTTP) or a single
    ``principal`` with ``grants``; ``resources`` maps extra URIs to functions returning text
    or JSON-ready data (e.g. ``{"arena://summary/latest": model.summary}``)."""
    if access is None:
        access = AccessConfig(
            principal_from_data({"principal": principal, "grants": list(grants)}, "mcp", None)
        )
    return CapabilityServer(registry, engine, access=access, resources=resources, http_url=http_url)


def tool_error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
