"""What the command line loads before it knows the subcommand: not the MCP server stack, which
only `mcp` needs and which cost every `run` (a first run on a new data set above all) ~1 s of
start-up (issue #25)."""

from __future__ import annotations

import subprocess
import sys

SERVER_STACK = ("mcp", "mcp.server", "starlette", "uvicorn", "arena.ui.mcp")


def test_the_command_line_loads_the_mcp_server_only_for_mcp():
    code = (
        "import sys\n"
        "from arena.ui.cli import build_parser\n"
        "build_parser().parse_args(['run', 's.yaml'])\n"
        f"print(sorted(m for m in {SERVER_STACK!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[]"
    ]  # `mcp serve` itself: tests/integration/test_arena_mcp
