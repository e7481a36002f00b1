"""Expose a Registry to AI agents over the Model Context Protocol (official ``mcp`` SDK 2.x).

Every capability becomes a tool: its input JSON Schema comes from the contract (``requires``),
its output schema from ``provides``, its description from the intent. Built-in tools sit beside
them: ``discover`` (query -> ranked capabilities with scores), ``send`` (a message to an actor)
and, when the workflow/planner modules are installed, ``plan`` and ``run_workflow``. Resources
serve the capability catalogue and whatever a layer above adds (the arena's latest summary).

Authority is per session: every call runs with a :class:`~capabilities.Context` whose principal
and grants come from configuration (a bearer token maps to a principal over HTTP). A tool the
principal may not call is not listed for it; calling it anyway is a tool error and the
capability never runs: it answers exactly as an unknown tool does (JSON-RPC ``-32602``), so
hidden names cannot be probed. Bad arguments are tool errors naming the field; a failure carries
the error class, a safe message and the request id (``errors``), and the server keeps serving.
Sync capabilities run on a bounded worker pool (``offload``), never on the event loop; actor
state belongs to the calling principal (enforced by the actor runtime).
"""

from __future__ import annotations

import contextvars
import importlib.metadata
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context as ToolContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    EmptyResult,
    GetPromptResult,
    ListToolsResult,
    SetLevelRequestParams,
    TextContent,
)
from mcp_types import Tool as MCPTool

from capabilities.core.model import Capability
from capabilities.errors import ContractError, PacketFlowError
from capabilities.interfaces.mcp.access import (
    AccessConfig,
    Principal,
    TokenTable,
    principal_from_data,
)
from capabilities.interfaces.mcp.errors import tool_error
from capabilities.interfaces.mcp.host import Extras
from capabilities.interfaces.mcp.offload import WorkerPool
from capabilities.interfaces.mcp.prompts import add_prompts
from capabilities.interfaces.mcp.protocol import ProtocolGuard
from capabilities.interfaces.mcp.resources import add_resources
from capabilities.interfaces.mcp.schema import NotJSON, coerce_arguments, jsonable, tool_of
from capabilities.interfaces.mcp.tools import add_builtin_tools, run_capability
from capabilities.runtime.engine import Engine
from capabilities.runtime.registry import Registry

BUILTIN_TOOLS = ("discover", "send", "plan", "run_workflow")


CALLER: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "packetflow_mcp_caller", default=None
)


def package_version() -> str:
    """This package's version for ``serverInfo.version`` (``0+unknown`` from a bare checkout)."""
    try:
        return importlib.metadata.version("packetflow-arena")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def unknown_tool(name: str) -> MCPError:
    """The one answer to a tool that does not exist *or* that the caller may not see."""
    return MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")


# -- the server --------------------------------------------------------------------------------
class CapabilityServer(MCPServer):
    """An :class:`MCPServer` whose tools are a registry's capabilities, filtered per principal.

    Built-in tools and resources use the SDK's own decorators; capability tools are served from
    their contracts (schemas computed once) and executed by the engine — async ones on the event
    loop, sync ones on ``workers`` threads at most.
    """

    def __init__(
        self,
        registry: Registry,
        engine: Engine | None = None,
        *,
        access: AccessConfig | None = None,
        resources: Mapping[str, Callable[[], Any]] | None = None,
        extras: Extras | None = None,
        name: str = "packetflow-arena",
        http_url: str = "http://127.0.0.1:8000",
        workers: int = 8,
    ):
        self.registry = registry
        self.engine = engine if engine is not None else Engine(registry)
        self.access = access if access is not None else AccessConfig()
        self.pool = WorkerPool(workers)
        self.client_log_level = "info"
        auth = None
        verifier = None
        if self.access.tokens:
            # A resource server with fixed bearer tokens: no authorization server exists, so no
            # OAuth protected-resource metadata is advertised (it would name one that 404s).
            auth = AuthSettings(issuer_url=http_url, resource_server_url=None)
            verifier = TokenTable(self.access.tokens)
        super().__init__(
            name,
            version=package_version(),
            instructions=(
                "Capabilities of a PacketFlow registry. Call 'discover' with what you need in "
                "plain words to find the right tool; every tool's schema is its contract."
            ),
            token_verifier=verifier,
            auth=auth,
            log_level="WARNING",
        )
        self.middleware.append(ProtocolGuard())
        self._lowlevel_server.add_request_handler(
            "logging/setLevel", SetLevelRequestParams, self._handle_set_level
        )
        clash = [n for n in BUILTIN_TOOLS if n in registry]
        if clash:
            raise PacketFlowError(
                f"capability {clash[0]!r} has the name of a built-in MCP tool; rename it "
                f"(reserved: {', '.join(BUILTIN_TOOLS)})"
            )
        self._tool_cache: tuple[tuple[str, ...], dict[str, MCPTool]] = ((), {})
        extras = (extras or Extras()).with_resources(resources or {})
        add_builtin_tools(self)
        add_resources(self, extras)
        add_prompts(self, extras)
        for tool in extras.tools:
            self.tool(annotations=tool.annotations, description=tool.description)(tool.fn)

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

    def principal_now(self) -> Principal:
        return CALLER.get() or self.access.principal

    def any_actor(self) -> bool:
        return any(c.kind == "actor" for c in self.registry)

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
        cap = self.registry.lookup(name)
        if cap is not None:
            if not self.permitted(cap, principal):
                raise unknown_tool(name)  # hidden: answer as if it did not exist
            return await self._call_capability(cap, params.arguments or {}, principal, ctx)
        if self._tool_manager.get_tool(name) is None or (name == "send" and not self.any_actor()):
            raise unknown_tool(name)
        token = CALLER.set(principal)
        context = ToolContext(request_context=ctx, mcp_server=self, input_params=params)
        try:
            return await self.call_tool(name, params.arguments or {}, context)
        except MCPError:
            raise
        except Exception as exc:
            return tool_error(exc, ctx.request_id, name)
        finally:
            CALLER.reset(token)

    async def _call_capability(
        self, cap: Capability, arguments: Mapping[str, Any], principal: Principal, ctx: Any
    ) -> CallToolResult:
        inputs = coerce_arguments(cap, arguments)
        context = principal.context(label="mcp")
        try:
            result = await run_capability(self, cap, inputs, context)
        except PacketFlowError as exc:
            return tool_error(exc, ctx.request_id, cap.name)
        if not result.ok:
            return tool_error(result.error, ctx.request_id, cap.name)
        try:
            outputs = jsonable(result.outputs)
        except NotJSON as exc:
            return tool_error(
                ContractError(cap.name, None, f"output {exc}"), ctx.request_id, cap.name
            )
        return CallToolResult(
            content=[TextContent(type="text", text=json.dumps(outputs))],
            structured_content=outputs,
        )

    # -- resources, prompts, logging ---------------------------------------------------------
    async def _handle_read_resource(self, ctx: Any, params: Any) -> Any:
        token = CALLER.set(self.caller(ctx))
        try:
            return await super()._handle_read_resource(ctx, params)
        finally:
            CALLER.reset(token)

    async def _handle_get_prompt(self, ctx: Any, params: Any) -> GetPromptResult:
        if self._prompt_manager.get_prompt(params.name) is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {params.name}")
        token = CALLER.set(self.caller(ctx))
        try:
            return await super()._handle_get_prompt(ctx, params)
        except ValueError as exc:  # a missing or bad argument: the SDK's text names it
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
        finally:
            CALLER.reset(token)

    async def _handle_set_level(self, ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        """``logging/setLevel``: the least severe level of log notifications sent to clients."""
        self.client_log_level = params.level
        return EmptyResult()


def build_server(
    registry: Registry,
    engine: Engine | None = None,
    *,
    principal: str = "local",
    grants: Sequence[str] = (),
    access: AccessConfig | None = None,
    resources: Mapping[str, Callable[[], Any]] | None = None,
    extras: Extras | None = None,
    http_url: str = "http://127.0.0.1:8000",
    workers: int = 8,
) -> CapabilityServer:
    """An MCP server for ``registry``: pass ``access`` (tokens for HTTP) or a single
    ``principal`` with ``grants``; ``resources`` maps extra URIs to functions returning text
    or JSON-ready data (e.g. ``{"arena://summary": model.summary}``); ``extras`` adds resource
    templates, prompts and tools a layer above provides (the arena's runs)."""
    if access is None:
        access = AccessConfig(
            principal_from_data({"principal": principal, "grants": list(grants)}, "mcp", None)
        )
    return CapabilityServer(
        registry,
        engine,
        access=access,
        resources=resources,
        extras=extras,
        http_url=http_url,
        workers=workers,
    )
