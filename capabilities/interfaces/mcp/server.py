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

import contextlib
import contextvars
import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import FunctionResource
from mcp_types import INVALID_PARAMS, CallToolResult, ListToolsResult, TextContent
from mcp_types import Tool as MCPTool

from capabilities.core.context import Context
from capabilities.core.model import Capability, Field
from capabilities.core.security import validate_grants
from capabilities.core.typecheck import fields_of_return_type
from capabilities.errors import ContractError, PacketFlowError, PermissionDenied
from capabilities.runtime.actors import actor_spec, actors_of
from capabilities.runtime.engine import Engine
from capabilities.runtime.registry import Registry

BUILTIN_TOOLS = ("discover", "send", "plan", "run_workflow")
CATALOGUE_URI = "capabilities://catalogue"


# -- JSON Schema from contracts ----------------------------------------------------------------
def json_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of a type hint as contracts use them (the inverse of the runtime check).

    ``str/int/float/bool/None``, ``list[X]``, ``set[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``,
    ``dict[str, X]``, ``X | Y``, ``Literal[...]``, TypedDicts and dataclasses; anything else
    (``Any``, unknown classes) is the unconstrained schema ``{}``.
    """
    if hint is Any or hint is object:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if hint in simple:
        return {"type": simple[hint]}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return json_schema(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [json_schema(a) for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if hint in (list, tuple, set, frozenset) or origin in (
        list,
        set,
        frozenset,
        Sequence,
        typing.Sequence,
    ):
        out: dict[str, Any] = {"type": "array"}
        if args:
            out["items"] = json_schema(args[0])
        if hint in (set, frozenset) or origin in (set, frozenset):
            out["uniqueItems"] = True
        return out
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": json_schema(args[0])}
        return {
            "type": "array",
            "prefixItems": [json_schema(a) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if hint in (dict, Mapping) or origin in (dict, Mapping, typing.Mapping):
        out = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            out["additionalProperties"] = json_schema(args[1])
        return out
    record = fields_of_return_type(hint) if isinstance(hint, type) else None
    if record is not None:
        return {
            "type": "object",
            "properties": {k: json_schema(v) for k, v in record.items()},
            "required": list(record),
        }
    return {}


def fields_schema(fields: Sequence[Field], *, closed: bool = True) -> dict[str, Any]:
    """An object schema for a list of contract fields (required ones listed as required)."""
    props = {}
    for f in fields:
        schema = json_schema(f.type)
        if not f.required and f.default is not None and _is_jsonable(f.default):
            schema = {**schema, "default": f.default}
        props[f.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": props}
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    if closed:
        out["additionalProperties"] = False
    return out


def input_schema(cap: Capability) -> dict[str, Any]:
    """The tool input schema of a capability (an actor's ``message`` is described too)."""
    schema = fields_schema(cap.requires)
    if cap.kind == "actor":
        spec = actor_spec(cap)
        if spec.message_fields is not None:
            schema["properties"]["message"] = fields_schema(spec.message_fields)
    return schema


def output_schema(cap: Capability) -> dict[str, Any]:
    return fields_schema(cap.provides, closed=False)


# -- who is calling ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Principal:
    """A caller identity and the grants it holds (``["profile:read", "tickets:*"]``)."""

    name: str
    grants: frozenset[str] = frozenset()

    def context(self, label: str | None = None) -> Context:
        return Context(principal=self.name, grants=self.grants, label=label)


@dataclass(frozen=True, slots=True)
class AccessConfig:
    """Who a session is: ``principal`` for stdio (and HTTP when no tokens are configured);
    over HTTP with ``tokens``, each bearer token maps to its principal and others are refused."""

    principal: Principal = Principal("local")
    tokens: Mapping[str, Principal] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any, where: str = "mcp config") -> AccessConfig:
        """``{principal: NAME, grants: [...], tokens: {TOKEN: {principal: NAME, grants: [...]}}}``."""
        if not isinstance(data, Mapping):
            raise PacketFlowError(f"{where}: expected a mapping, got {type(data).__name__}")
        unknown = set(data) - {"principal", "grants", "tokens"}
        if unknown:
            raise PacketFlowError(
                f"{where}: unknown key(s) {sorted(unknown)}; expected principal, grants, tokens"
            )
        default = _principal(data, where, default_name="local")
        tokens_data = data.get("tokens", {}) or {}
        if not isinstance(tokens_data, Mapping):
            raise PacketFlowError(f"{where}.tokens: expected a mapping token -> principal")
        tokens = {}
        for token, entry in tokens_data.items():
            if not isinstance(token, str) or len(token) < 8:
                raise PacketFlowError(f"{where}.tokens: token {token!r} must be a string of >= 8")
            tokens[token] = _principal(entry, f"{where}.tokens[{token[:4]}…]", None)
        return cls(default, tokens)

    @classmethod
    def load(cls, path: str | Path) -> AccessConfig:
        """Read a YAML or JSON config file (see :meth:`from_data`)."""
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text())
        except OSError as exc:
            raise PacketFlowError(f"mcp config {str(p)!r}: cannot read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise PacketFlowError(f"mcp config {str(p)!r}: not valid YAML/JSON ({exc})") from None
        return cls.from_data(data or {}, where=f"mcp config {str(p)!r}")


def _principal(data: Any, where: str, default_name: str | None) -> Principal:
    if isinstance(data, str):
        data = {"principal": data}
    if not isinstance(data, Mapping):
        raise PacketFlowError(f"{where}: expected {{principal: NAME, grants: [...]}}")
    name = data.get("principal", default_name)
    if not isinstance(name, str) or not name:
        raise PacketFlowError(f"{where}.principal: a non-empty name is required")
    grants = data.get("grants", []) or []
    if isinstance(grants, str) or not isinstance(grants, Sequence):
        raise PacketFlowError(f"{where}.grants: expected a list of permissions")
    validate_grants(grants, where=f"{where}.grants")
    return Principal(name, frozenset(grants))


class _TokenTable:
    """``TokenVerifier`` for the SDK's bearer-auth middleware: a fixed token -> principal table."""

    def __init__(self, tokens: Mapping[str, Principal]):
        self._tokens = dict(tokens)

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self._tokens.get(token)
        if principal is None:
            return None
        return AccessToken(token=token, client_id=principal.name, scopes=sorted(principal.grants))


_CALLER: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
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
            verifier = _TokenTable(self.access.tokens)
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
        self._add_builtin_tools()
        self._add_resources(resources or {})

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
            self._tool_cache = (names, {c.name: _tool_of(c) for c in self.registry})
        return self._tool_cache[1]

    async def _handle_list_tools(self, ctx: Any, params: Any) -> ListToolsResult:
        principal = self.caller(ctx)
        builtin = [t for t in await self.list_tools() if t.name != "send" or self._any_actor()]
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
        token = _CALLER.set(principal)
        try:
            return await super()._handle_call_tool(ctx, params)
        finally:
            _CALLER.reset(token)

    async def _handle_read_resource(self, ctx: Any, params: Any) -> Any:
        token = _CALLER.set(self.caller(ctx))
        try:
            return await super()._handle_read_resource(ctx, params)
        finally:
            _CALLER.reset(token)

    async def _call_capability(
        self, cap: Capability, arguments: Mapping[str, Any], principal: Principal
    ) -> CallToolResult:
        if not self.permitted(cap, principal):
            missing = self.engine.hierarchy.missing(principal.grants, cap.permissions)
            return _tool_error(str(PermissionDenied(cap.name, missing[0], principal.name)))
        try:
            result = await self.engine.run_async(
                cap, _coerce_arguments(cap, arguments), principal.context(label="mcp")
            )
        except (ContractError, PermissionDenied) as exc:
            return _tool_error(str(exc))
        if not result.ok:
            err = result.error
            return _tool_error(f"capability {cap.name!r} failed: {type(err).__name__}: {err}")
        outputs = _jsonable(result.outputs)
        return CallToolResult(
            content=[TextContent(type="text", text=json.dumps(outputs))],
            structured_content=outputs,
        )

    def _any_actor(self) -> bool:
        return any(c.kind == "actor" for c in self.registry)

    def _principal_now(self) -> Principal:
        return _CALLER.get() or self.access.principal

    def _add_builtin_tools(self) -> None:
        server = self

        @self.tool(
            description=(
                "Find the capabilities that best match a need described in plain words; "
                "returns tool names with cosine similarity scores, best first."
            )
        )
        def discover(query: str, k: int = 5) -> list[dict[str, Any]]:
            if not query.strip():
                raise ToolError("field 'query': describe what you need in a few words")
            if not 1 <= k <= 50:
                raise ToolError(f"field 'k': must be between 1 and 50, got {k}")
            principal = server._principal_now()
            allowed = [c for c in server.registry if server.permitted(c, principal)]
            matches = server.registry.discover(query, k=len(server.registry) or 1)
            ok = {c.name for c in allowed}
            return [
                {
                    "name": m.capability.name,
                    "score": round(m.score, 4),
                    "intent": m.capability.intent,
                }
                for m in matches
                if m.capability.name in ok
            ][:k]

        @self.tool(
            description=(
                "Send a message to a durable actor (e.g. a conversation) identified by actor "
                "and actor_id; returns its reply. Reuse idempotency_key when resending."
            )
        )
        async def send(
            actor: str,
            actor_id: str,
            message: dict[str, Any],
            idempotency_key: str | None = None,
        ) -> dict[str, Any]:
            principal = server._principal_now()
            cap = server.registry.lookup(actor)
            if cap is None or cap.kind != "actor" or not server.permitted(cap, principal):
                visible = [
                    c.name for c in actors_of(server.registry) if server.permitted(c, principal)
                ]
                raise ToolError(f"field 'actor': no actor {actor!r} available; actors: {visible}")
            inputs = {"actor_id": actor_id, "message": message, "idempotency_key": idempotency_key}
            try:
                result = await server.engine.run_async(cap, inputs, principal.context(label="mcp"))
            except (ContractError, PermissionDenied) as exc:
                raise ToolError(str(exc)) from None
            if not result.ok:
                raise ToolError(f"actor {actor!r} failed: {result.error}")
            return _jsonable(result.outputs)

        self._add_workflow_tools()

    def _add_workflow_tools(self) -> None:
        """``plan`` / ``run_workflow`` when the planner module is installed (it is optional)."""
        try:
            from capabilities.composition.planner import SemanticPlanner
        except ImportError:
            return
        planner = SemanticPlanner()
        server = self

        def plan_for(request: str, have: Sequence[str]) -> Any:
            principal = server._principal_now()
            try:
                planned = planner.plan(request, server.registry, have=have)
            except PacketFlowError as exc:
                raise ToolError(str(exc)) from None
            hidden = [
                n
                for n in planned.workflow.step_names()
                if n in server.registry and not server.permitted(server.registry.get(n), principal)
            ]
            if hidden:
                raise ToolError(
                    f"the plan needs capabilities principal {principal.name!r} may not call: "
                    f"{hidden}"
                )
            return planned

        @self.tool(
            description=(
                "Turn a plain-language request into a workflow of registered capabilities "
                "(goals by meaning, missing inputs chained from other capabilities) and explain "
                "it; 'have' lists the inputs you can supply. Does not run anything."
            )
        )
        def plan(request: str, have: list[str] | None = None) -> dict[str, Any]:
            planned = plan_for(request, have or [])
            cap = planned.capability
            return {
                "goals": list(planned.goals),
                "steps": planned.workflow.step_names(),
                "outline": _jsonable(planned.outline()),
                "explanation": planned.explanation,
                "requires": [f.name for f in cap.requires if f.required],
                "provides": [f.name for f in cap.provides],
            }

        @self.tool(
            description=(
                "Plan a plain-language request (as 'plan' does, with the keys of 'inputs' as "
                "what you have) and run the workflow with those inputs; returns its outputs."
            )
        )
        async def run_workflow(request: str, inputs: dict[str, Any]) -> dict[str, Any]:
            planned = plan_for(request, list(inputs))
            principal = server._principal_now()
            try:
                result = await server.engine.run_async(
                    planned.capability, inputs, principal.context(label="mcp")
                )
            except (ContractError, PermissionDenied) as exc:
                raise ToolError(str(exc)) from None
            if not result.ok:
                raise ToolError(f"workflow failed: {type(result.error).__name__}: {result.error}")
            return {"steps": planned.workflow.step_names(), "outputs": _jsonable(result.outputs)}

    # -- resources -----------------------------------------------------------------------------
    def _add_resources(self, extra: Mapping[str, Callable[[], Any]]) -> None:
        server = self

        def catalogue() -> str:
            principal = server._principal_now()
            return json.dumps(
                [c.describe() for c in server.registry if server.permitted(c, principal)],
                indent=1,
            )

        self.add_resource(
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
                return value if isinstance(value, str) else json.dumps(_jsonable(value), indent=1)

            self.add_resource(
                FunctionResource.from_function(
                    read,
                    uri=uri,
                    name=uri.rsplit("/", 1)[-1] or uri,
                    description=(fn.__doc__ or uri).strip().splitlines()[0],
                    mime_type="application/json",
                )
            )


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
            _principal({"principal": principal, "grants": list(grants)}, "mcp", None)
        )
    return CapabilityServer(registry, engine, access=access, resources=resources, http_url=http_url)


# -- helpers -----------------------------------------------------------------------------------
def _tool_of(cap: Capability) -> MCPTool:
    return MCPTool(
        name=cap.name,
        description=cap.intent,
        input_schema=input_schema(cap),
        output_schema=output_schema(cap),
    )


def _tool_error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _coerce_arguments(cap: Capability, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """JSON has arrays, not tuples or sets: convert those arguments where the contract asks."""
    out = dict(arguments)
    for f in cap.requires:
        value = out.get(f.name)
        if isinstance(value, list):
            origin = typing.get_origin(f.type) or f.type
            if origin is tuple:
                out[f.name] = tuple(value)
            elif origin in (set, frozenset):
                with contextlib.suppress(TypeError):  # unhashable: the contract check says so
                    out[f.name] = origin(value)
    return out


def _is_jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _jsonable(value: Any) -> Any:
    """Outputs as JSON data: tuples/sets -> lists, dataclasses -> objects, numpy -> Python."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_jsonable(v) for v in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    return str(value)
