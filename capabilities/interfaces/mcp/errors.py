"""What a client learns when something fails: the error class, a safe message, a request id.

Why: a capability's exception text is written for its author (``db connect failed:
postgres://admin:hunter2@...``), not for whoever happens to call the tool. The client gets the
class name and a message that cannot carry such text; the full text goes to the server log under
the same request id, so an operator can find it from what the client reports.

Messages of :class:`PacketFlowError` are the project's own one-line, caller-facing errors
(contract violations naming the field, permission refusals, timeouts): those are passed on.
:class:`StepFailed` wraps a step's own error, so only its step is named and its cause is
reduced by the same rule.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, TextContent

from capabilities.errors import PacketFlowError, StepFailed

log = logging.getLogger("packetflow.mcp")

ERROR_META = "packetflow/error"  # the ``_meta`` key of a tool error: class, message, request id


def unwrap(exc: BaseException) -> BaseException:
    """The exception a tool really raised (the SDK wraps it, sometimes twice)."""
    while isinstance(exc, UnexpectedToolError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def is_caller_facing(exc: BaseException) -> bool:
    """Written for the caller: the project's own errors, and a ``ToolError`` (our tools' own
    refusals, or the SDK's argument validation, which echoes only the caller's arguments)."""
    if isinstance(exc, StepFailed):
        return False
    return isinstance(exc, PacketFlowError) or (
        isinstance(exc, ToolError) and not isinstance(exc, UnexpectedToolError)
    )


def safe_message(exc: BaseException) -> str:
    """A message about ``exc`` that holds no text the exception's author wrote."""
    if isinstance(exc, StepFailed):
        cause = exc.cause
        inner = f"{type(cause).__name__}: {safe_message(cause)}" if cause is not None else "failed"
        return f"workflow {exc.workflow!r}: step {exc.step!r} failed: {inner}"
    if is_caller_facing(exc):
        return str(exc)
    return "failed; the server log has the details"


def describe(exc: BaseException, request_id: Any, where: str) -> dict[str, Any]:
    """Log ``exc`` in full under ``request_id`` and return what the client may see of it."""
    exc = unwrap(exc)
    if is_caller_facing(exc):
        log.info("request %s: %s: %s: %s", request_id, where, type(exc).__name__, exc)
    else:
        log.error(
            "request %s: %s raised %s: %s", request_id, where, type(exc).__name__, exc, exc_info=exc
        )
    return {"class": type(exc).__name__, "message": safe_message(exc), "request_id": request_id}


def error_text(info: dict[str, Any]) -> str:
    return f"{info['class']}: {info['message']} (request {info['request_id']})"


def tool_error(exc: BaseException, request_id: Any, where: str) -> CallToolResult:
    """A tool result with ``isError``: class, safe message and request id (also under ``_meta``)."""
    info = describe(exc, request_id, where)
    return CallToolResult.model_validate(
        {
            "content": [TextContent(type="text", text=error_text(info))],
            "isError": True,
            "_meta": {ERROR_META: info},
        }
    )
