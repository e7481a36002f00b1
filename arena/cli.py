"""``packetflow-arena``: the command line. Each subcommand lives in the module that owns it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from capabilities import PacketFlowError, mcp_cli


def _demo(args: argparse.Namespace) -> int:
    """A small tour of the capability engine (declare, discover, run, observe)."""
    from capabilities import Engine
    from capabilities.examples.customer import build_registry

    registry = build_registry()
    with Engine(registry) as engine:
        for query in ("my internet is down, I need help", "how much money is in my account"):
            best = registry.discover(query, k=1)[0]
            print(f"{query!r} -> {best.capability.name} (similarity {best.score:.2f})")
        result = engine.run("account_balance", {"account_id": "acc-42"})
        print(f"account_balance: {result.outputs} in {result.duration * 1e6:.0f} µs")
    return 0


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None, Callable]] = {
    "demo": ("tour of the capability engine", None, _demo),
    "mcp": ("serve capabilities to AI agents over MCP", mcp_cli.configure_parser, mcp_cli.run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="packetflow-arena",
        description="Capabilities and the Spatial Knowledge Arena: route intents to zones.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, handler) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if configure is not None:
            configure(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. A user's mistake (a PacketFlowError) prints one line, not a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except PacketFlowError as exc:
        print(f"packetflow-arena: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
