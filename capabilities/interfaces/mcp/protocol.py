"""Protocol hygiene every request passes through (an SDK server middleware).

Why a middleware: it wraps every inbound request before the SDK validates or dispatches it, so
the same rules hold for every method — not only for the ones whose handlers we write:

- a request before ``initialize`` is refused as *not initialized* (the SDK's gate answers a
  misleading ``-32602 Invalid request parameters``);
- a second request with the id of one still in flight on the same connection is refused
  (``-32600``) instead of running twice;
- an unexpected exception in any handler reaches the client as ``-32603`` with its class, a safe
  message and the request id (the SDK's boundary sends ``code 0`` and the exception's text);
  the full text is logged under the same id.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from capabilities.interfaces.mcp.errors import describe, error_text

NOT_INITIALIZED = "server not initialized: send 'initialize' first"


def connection_key(ctx: ServerRequestContext[Any, Any]) -> tuple[Any, ...]:
    """Which connection a request came on: the HTTP session id, else the handshake's params
    object (one per connection, alive as long as it is)."""
    request = ctx.request
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return (session_id, id(ctx.session.client_params))


class ProtocolGuard:
    """``ServerMiddleware``: initialisation gate wording, duplicate ids, safe internal errors."""

    def __init__(self) -> None:
        self.in_flight: set[tuple[Any, ...]] = set()

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.request_id is None:  # a notification: nothing to answer
            return await call_next(ctx)
        key = (*connection_key(ctx), ctx.request_id)
        if key in self.in_flight:
            raise MCPError(
                code=INVALID_REQUEST,
                message=f"request id {ctx.request_id!r} is already in flight on this connection",
            )
        self.in_flight.add(key)
        try:
            return await call_next(ctx)
        except MCPError as exc:
            if exc.error.code == INVALID_PARAMS and self.before_initialize(ctx):
                raise MCPError(code=INVALID_REQUEST, message=NOT_INITIALIZED) from None
            raise
        except ValidationError:
            raise  # malformed params: the SDK answers -32602 naming the field
        except Exception as exc:
            info = describe(exc, ctx.request_id, f"{ctx.method} handler")
            raise MCPError(code=INTERNAL_ERROR, message=error_text(info), data=info) from None
        finally:
            self.in_flight.discard(key)

    @staticmethod
    def before_initialize(ctx: ServerRequestContext[Any, Any]) -> bool:
        return (
            ctx.method != "initialize"
            and ctx.session.client_params is None
            and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS
        )
