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
from typing import Any, Literal

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context as ToolContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    UnexpectedResourceError,
)
from mcp.server.mcpserver.tools import Tool
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    EmptyResult,
    GetPromptRequestParams,
    GetPromptResult,
    InputRequiredResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    SetLevelRequestParams,
    TextContent,
)
from mcp_types import Tool as MCPTool
from pydantic import AnyHttpUrl

from capabilities.core.model import Capability
from capabilities.errors import ContractError, PacketFlowError
from capabilities.interfaces.mcp.access import (
    AccessConfig,
    Principal,
    TokenTable,
    principal_from_data,
)
from capabilities.interfaces.mcp.errors import log, tool_error
from capabilities.interfaces.mcp.host import Extras
from capabilities.interfaces.mcp.offload import WorkerPool
from capabilities.interfaces.mcp.prompts import add_prompts
from capabilities.interfaces.mcp.protocol import ProtocolGuard
from capabilities.interfaces.mcp.resources import add_resources, read_result
from capabilities.interfaces.mcp.schema import NotJSON, coerce_arguments, jsonable, tool_of
from capabilities.interfaces.mcp.tools import add_builtin_tools, run_capability
from capabilities.runtime.engine import Engine
from capabilities.runtime.registry import Registry

BUILTIN_TOOLS = ("discover", "send", "plan", "run_workflow")


CALLER: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "packetflow_mcp_caller", default=None
)
RequestContext = Any  # the SDK's ServerRequestContext (its type parameters are provisional)


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
class CapabilityServer(Server[Any]):
    """The SDK's low-level :class:`Server` whose tools are a registry's capabilities, filtered
    per principal.

    Why the low-level server: the listing and the calls must depend on who asks, and the
    high-level ``MCPServer`` has no public hook for that. So every request method is one of our
    handlers, given to the low-level server's constructor (its public API). Built-in tools,
    resources and prompts are still declared with the SDK's own tools (``Tool.from_function``,
    the ``resource``/``prompt`` decorators) on an ``MCPServer`` kept as a *catalogue*: it is
    never served, our handlers call its public ``list_*``/``call_tool``/``read_resource``/
    ``get_prompt``. Capability tools are served from their contracts (schemas computed once)
    and executed by the engine — async ones on the event loop, sync ones on ``workers``
    threads at most. ``tests/capabilities/interfaces/test_mcp_sdk_seam.py`` checks every SDK
    name this relies on.
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
        self.auth_settings: AuthSettings | None = None
        self.token_verifier: TokenTable | None = None
        if self.access.tokens:
            # A resource server with fixed bearer tokens: no authorization server exists, so no
            # OAuth protected-resource metadata is advertised (it would name one that 404s).
            self.auth_settings = AuthSettings(
                issuer_url=AnyHttpUrl(http_url), resource_server_url=None
            )
            self.token_verifier = TokenTable(self.access.tokens)
        clash = [n for n in BUILTIN_TOOLS if n in registry]
        if clash:
            raise PacketFlowError(
                f"capability {clash[0]!r} has the name of a built-in MCP tool; rename it "
                f"(reserved: {', '.join(BUILTIN_TOOLS)})"
            )
        super().__init__(
            name,
            version=package_version(),
            instructions=(
                "Capabilities of a PacketFlow registry. Call 'discover' with what you need in "
                "plain words to find the right tool; every tool's schema is its contract."
            ),
            get_tool_input_schema=self.tool_input_schema,
            on_list_tools=self.handle_list_tools,
            on_call_tool=self.handle_call_tool,
            on_list_resources=self.handle_list_resources,
            on_list_resource_templates=self.handle_list_resource_templates,
            on_read_resource=self.handle_read_resource,
            on_list_prompts=self.handle_list_prompts,
            on_get_prompt=self.handle_get_prompt,
        )
        self.middleware.append(ProtocolGuard())
        self.add_request_handler("logging/setLevel", SetLevelRequestParams, self.handle_set_level)
        self.capability_tool_cache: tuple[tuple[str, ...], dict[str, MCPTool]] = ((), {})
        extras = (extras or Extras()).with_resources(resources or {})
        self.builtin_tools: dict[str, Tool] = {}
        add_builtin_tools(self)
        for spec in extras.tools:
            self.tool(annotations=spec.annotations, description=spec.description)(spec.fn)
        self.catalog: MCPServer[Any] = MCPServer(
            name, tools=list(self.builtin_tools.values()), log_level="WARNING"
        )
        add_resources(self, extras)
        add_prompts(self, extras)

    # -- how the parts declare tools, resources and prompts (``host.ServerHost``) ----------------
    def tool(
        self, *, description: str, annotations: Any = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare a built-in tool (the SDK derives its schema from the function's signature)."""

        def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
            tool = Tool.from_function(fn, description=description, annotations=annotations)
            self.builtin_tools[tool.name] = tool
            return fn

        return declare

    def resource(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
        return self.catalog.resource(*args, **kwargs)

    def add_resource(self, resource: Any) -> None:
        self.catalog.add_resource(resource)

    def add_prompt(self, prompt: Any) -> None:
        self.catalog.add_prompt(prompt)

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
        if names != self.capability_tool_cache[0]:
            self.capability_tool_cache = (names, {c.name: tool_of(c) for c in self.registry})
        return self.capability_tool_cache[1]

    def builtin_visible(self, name: str) -> bool:
        return name in self.builtin_tools and (name != "send" or self.any_actor())

    def tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """For the SDK's header validation, before any middleware: not scoped to the caller."""
        tool = self.capability_tools().get(name)
        if tool is not None:
            return tool.input_schema
        builtin = self.builtin_tools.get(name)
        return builtin.parameters if builtin is not None else None

    async def handle_list_tools(
        self, ctx: RequestContext, params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        principal = self.caller(ctx)
        builtin = [t for t in await self.catalog.list_tools() if self.builtin_visible(t.name)]
        mine = [
            tool
            for name, tool in self.capability_tools().items()
            if self.permitted(self.registry.get(name), principal)
        ]
        return ListToolsResult(tools=builtin + mine)

    async def handle_call_tool(
        self, ctx: RequestContext, params: CallToolRequestParams
    ) -> CallToolResult | InputRequiredResult:
        principal = self.caller(ctx)
        name = params.name
        cap = self.registry.lookup(name)
        if cap is not None:
            if not self.permitted(cap, principal):
                raise unknown_tool(name)  # hidden: answer as if it did not exist
            return await self.call_capability(cap, params.arguments or {}, principal, ctx)
        if not self.builtin_visible(name):
            raise unknown_tool(name)
        token = CALLER.set(principal)
        context = ToolContext(request_context=ctx, mcp_server=self.catalog, input_params=params)
        try:
            return await self.catalog.call_tool(name, params.arguments or {}, context)
        except MCPError:
            raise
        except Exception as exc:
            return tool_error(exc, ctx.request_id, name)
        finally:
            CALLER.reset(token)

    async def call_capability(
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
    async def handle_list_resources(
        self, ctx: RequestContext, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return ListResourcesResult(resources=await self.catalog.list_resources())

    async def handle_list_resource_templates(
        self, ctx: RequestContext, params: PaginatedRequestParams | None
    ) -> ListResourceTemplatesResult:
        return ListResourceTemplatesResult(
            resource_templates=await self.catalog.list_resource_templates()
        )

    async def handle_read_resource(
        self, ctx: RequestContext, params: ReadResourceRequestParams
    ) -> ReadResourceResult | InputRequiredResult:
        """Read as the caller (readers check who asks); errors as the SDK answers them."""
        token = CALLER.set(self.caller(ctx))
        context = ToolContext(request_context=ctx, mcp_server=self.catalog, input_params=params)
        try:
            results = await self.catalog.read_resource(params.uri, context)
        except ResourceError as err:
            if isinstance(err, UnexpectedResourceError):
                log.warning("resource %r raised", str(params.uri), exc_info=err.__cause__)
            code = INVALID_PARAMS if isinstance(err, ResourceNotFoundError) else INTERNAL_ERROR
            raise MCPError(code=code, message=str(err), data={"uri": str(params.uri)}) from None
        finally:
            CALLER.reset(token)
        if isinstance(results, InputRequiredResult):
            return results
        return read_result(params.uri, results)

    async def handle_list_prompts(
        self, ctx: RequestContext, params: PaginatedRequestParams | None
    ) -> ListPromptsResult:
        return ListPromptsResult(prompts=await self.catalog.list_prompts())

    async def handle_get_prompt(
        self, ctx: RequestContext, params: GetPromptRequestParams
    ) -> GetPromptResult | InputRequiredResult:
        if params.name not in {p.name for p in await self.catalog.list_prompts()}:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {params.name}")
        token = CALLER.set(self.caller(ctx))
        context = ToolContext(request_context=ctx, mcp_server=self.catalog, input_params=params)
        try:
            return await self.catalog.get_prompt(params.name, params.arguments, context)
        except ValueError as exc:  # a missing or bad argument: the SDK's text names it
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
        finally:
            CALLER.reset(token)

    async def handle_set_level(
        self, ctx: RequestContext, params: SetLevelRequestParams
    ) -> EmptyResult:
        """``logging/setLevel``: the least severe level of log notifications sent to clients."""
        self.client_log_level = params.level
        return EmptyResult()

    # -- transports --------------------------------------------------------------------------
    def serve(
        self,
        transport: Literal["stdio", "streamable-http"] = "stdio",
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
    ) -> None:
        """Serve until the client goes (stdio) or the process is stopped (HTTP, with the bearer
        tokens of ``access``; the SDK adds its Origin/Host checks on loopback)."""
        if transport == "stdio":
            anyio.run(self.serve_stdio)
        else:
            anyio.run(self.serve_http, host, port)

    async def serve_stdio(self) -> None:
        async with stdio_server() as (read_stream, write_stream):
            await self.run(read_stream, write_stream, self.create_initialization_options())

    async def serve_http(self, host: str, port: int) -> None:
        import uvicorn

        app = self.streamable_http_app(
            host=host, auth=self.auth_settings, token_verifier=self.token_verifier
        )
        await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).serve()


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
