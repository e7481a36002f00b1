"""The MCP SDK's surface the server is built on: public names only, each checked here.

The server subclasses the SDK's low-level ``Server`` and keeps an ``MCPServer`` as a catalogue
of built-in tools, resources and prompts. If an SDK release renames or reshapes any of what
follows, this file fails first, naming it — instead of the server breaking at a client.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from paths import REPO_ROOT

from capabilities import Registry
from capabilities.interfaces.mcp import CapabilityServer, build_server

MCP_DIR = REPO_ROOT / "capabilities" / "interfaces" / "mcp"


def parameters(fn) -> set[str]:
    return set(inspect.signature(fn).parameters)


def test_the_low_level_server_takes_every_handler_we_give_it():
    assert {
        "version",
        "instructions",
        "get_tool_input_schema",
        "on_list_tools",
        "on_call_tool",
        "on_list_resources",
        "on_list_resource_templates",
        "on_read_resource",
        "on_list_prompts",
        "on_get_prompt",
    } <= parameters(Server.__init__)
    assert {"method", "params_type", "handler"} <= parameters(Server.add_request_handler)
    for name in ("run", "streamable_http_app", "create_initialization_options"):
        assert callable(getattr(Server, name))
    assert {"auth", "token_verifier", "host"} <= parameters(Server.streamable_http_app)


def test_the_catalogue_methods_we_call_exist_with_their_arguments():
    assert {"tools", "log_level"} <= parameters(MCPServer.__init__)
    assert {"name", "arguments", "context"} <= parameters(MCPServer.call_tool)
    assert {"uri", "context"} <= parameters(MCPServer.read_resource)
    assert {"name", "arguments", "context"} <= parameters(MCPServer.get_prompt)
    for name in ("list_tools", "list_resources", "list_resource_templates", "list_prompts"):
        assert inspect.iscoroutinefunction(getattr(MCPServer, name))
    assert {"fn", "description", "annotations"} <= parameters(Tool.from_function)
    assert "parameters" in Tool.model_fields
    assert {"request_context", "mcp_server", "input_params"} <= parameters(Context.__init__)
    item = ReadResourceContents(content="x", mime_type="text/plain", meta=None)
    assert (item.content, item.mime_type, item.meta) == ("x", "text/plain", None)


OUR_ATTRIBUTES = {
    "registry",
    "engine",
    "access",
    "pool",
    "client_log_level",
    "auth_settings",
    "token_verifier",
    "capability_tool_cache",
    "builtin_tools",
    "catalog",
}


def test_no_name_of_ours_shadows_one_of_the_sdk_server():
    """A subclass attribute with the name of an SDK one would silently replace it (or be
    replaced): methods and instance attributes alike."""
    overridden = {
        n for n in vars(CapabilityServer) if not n.startswith("__") and hasattr(Server, n)
    }
    assert not overridden, f"CapabilityServer overrides the SDK's {sorted(overridden)}"
    server = build_server(Registry())
    assert set(vars(server)) - set(vars(Server("probe"))) == OUR_ATTRIBUTES


def test_every_request_method_is_served_by_our_handlers():
    server = build_server(Registry())
    for method in (
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
        "logging/setLevel",
    ):
        entry = server.get_request_handler(method)
        assert entry is not None, method
        assert getattr(entry.handler, "__self__", None) is server, method


@pytest.mark.parametrize("path", sorted(MCP_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_private_name_of_the_sdk_is_used(path: Path):
    """Private SDK names (``_lowlevel_server``, ``_tool_manager``, ``_handle_call_tool``...):
    none read, none overridden; our own private names live outside the SDK subclass."""
    text = path.read_text()
    for owner, name in re.findall(r"\b(super\(\)|self|server|mcp\w*)\.(_[a-z]\w*)", text):
        sdk_object = owner in ("super()", "server") or owner.startswith("mcp")
        assert not (sdk_object or (owner == "self" and path.name == "server.py")), (
            f"{path.name}: {owner}.{name}"
        )
    assert not re.search(r"from mcp\S* import [^\n]*\b_[a-z]", text)
