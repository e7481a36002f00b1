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


def _side_load(prelude: str) -> subprocess.CompletedProcess:
    code = (
        "import sys, threading\n" + prelude + "from arena.analysis import load_plots_meanwhile\n"
        "load_plots_meanwhile()\n"
        "[t.join() for t in threading.enumerate() if t.name == 'load-plots']\n"
        "print('arena.analysis.plots' in sys.modules)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_run_loads_its_plots_on_a_side_thread_and_a_failure_there_says_nothing():
    """`run` imports the plots beside the model's build (a first run's embedding leaves room
    for it); if that import fails, the side thread prints nothing: the run meets the error
    where it needs the plots and reports it in its own way."""
    loaded = _side_load("")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["True"] and loaded.stderr == ""
    broken = _side_load("sys.modules['matplotlib'] = None  # unimportable\n")
    assert broken.returncode == 0, broken.stderr
    assert broken.stdout.split() == ["False"] and broken.stderr == ""
