"""Workflow benchmark: what one workflow invocation costs us, against plain calls and LangGraph.

The graph is the issue's 3-step shape — a step, a parallel of two, a step — over trivial
functions, so what is timed is the orchestration, not the work:

    parse(x) -> y;  left(y) -> p  ||  right(y) -> q;  combine(p, q) -> z

Measured in the same run, best of several repeats on a shared machine:

- plain: the four functions called directly (the baseline every overhead is measured from);
- ours, sync: ``Engine.run`` on the workflow capability (contracts, context per step, spans,
  the parallel branches on the thread pool, an event loop per call);
- ours, async: ``await Engine.run_async`` from one event loop;
- LangGraph: the same ``StateGraph`` (``invoke`` and ``await ainvoke``).

Overhead = time per invocation minus the plain calls. Target: ours ≥ 10× lower than LangGraph's.
Run: ``python -m benchmarks.bench_workflow`` (seconds) or ``--full`` (the figures to report).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import Any, TypedDict

from benchmarks.timing import add_size_options, best_per_call, by_size
from capabilities import Engine, Registry, Workflow, parallel, step

TARGET_RATIO = 10.0


def parse(x: int) -> int:
    """Parse the input number."""
    return x + 1


def left(y: int) -> int:
    """Left branch: double."""
    return y * 2


def right(y: int) -> int:
    """Right branch: square."""
    return y * y


def combine(p: int, q: int) -> int:
    """Combine both branches."""
    return p + q


def plain(x: int) -> int:
    y = parse(x)
    return combine(left(y), right(y))


def build_engine() -> Engine:
    registry = Registry()  # discovery is never used here, so the embedder is never loaded
    registry.capability(parse, provides=["y"])
    registry.capability(left, provides=["p"])
    registry.capability(right, provides=["q"])
    registry.capability(combine, provides=["z"])
    flow = Workflow(
        "bench_flow",
        [step("parse"), parallel(step("left"), step("right")), step("combine")],
        requires={"x": "int"},
        provides={"z": "int"},
    )
    registry.register(flow.build(registry))
    return Engine(registry)


class State(TypedDict, total=False):
    x: int
    y: int
    p: int
    q: int
    z: int


def build_langgraph() -> Any:
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(State)
    graph.add_node("parse", lambda s: {"y": parse(s["x"])})
    graph.add_node("left", lambda s: {"p": left(s["y"])})
    graph.add_node("right", lambda s: {"q": right(s["y"])})
    graph.add_node("combine", lambda s: {"z": combine(s["p"], s["q"])})
    graph.add_edge(START, "parse")
    graph.add_edge("parse", "left")
    graph.add_edge("parse", "right")
    graph.add_edge("left", "combine")
    graph.add_edge("right", "combine")
    graph.add_edge("combine", END)
    return graph.compile()


def measure(calls: int, repeats: int) -> dict[str, float]:
    engine = build_engine()
    graph = build_langgraph()
    expected = plain(3)
    assert engine.run("bench_flow", {"x": 3}).outputs == {"z": expected}
    assert graph.invoke({"x": 3})["z"] == expected

    def run_plain(n: int) -> None:
        for i in range(n):
            plain(i)

    def run_ours_sync(n: int) -> None:
        for i in range(n):
            engine.run("bench_flow", {"x": i})

    def run_ours_async(n: int) -> None:
        async def go() -> None:
            for i in range(n):
                await engine.run_async("bench_flow", {"x": i})

        asyncio.run(go())

    def run_langgraph(n: int) -> None:
        for i in range(n):
            graph.invoke({"x": i})

    def run_langgraph_async(n: int) -> None:
        async def go() -> None:
            for i in range(n):
                await graph.ainvoke({"x": i})

        asyncio.run(go())

    for fn in (run_ours_sync, run_ours_async, run_langgraph, run_langgraph_async):
        fn(max(5, calls // 10))  # warm up: thread pools, imports, caches
    t_plain = best_per_call(run_plain, calls * 10, repeats)
    t = {
        "ours_sync": best_per_call(run_ours_sync, calls, repeats),
        "ours_async": best_per_call(run_ours_async, calls, repeats),
        "langgraph_sync": best_per_call(run_langgraph, calls, repeats),
        "langgraph_async": best_per_call(run_langgraph_async, calls, repeats),
    }
    engine.close()
    figures: dict[str, float] = {"plain_us": t_plain * 1e6}
    for name, seconds in t.items():
        figures[f"{name}_us"] = seconds * 1e6
        figures[f"{name}_overhead_us"] = (seconds - t_plain) * 1e6
    figures["ratio_sync"] = figures["langgraph_sync_overhead_us"] / figures["ours_sync_overhead_us"]
    figures["ratio_async"] = (
        figures["langgraph_async_overhead_us"] / figures["ours_async_overhead_us"]
    )
    figures["target_ratio"] = TARGET_RATIO
    figures["calls"] = calls
    return figures


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "the real sizes (under a minute)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    calls, repeats = by_size(args, (20, 1), (200, 3), (2000, 5))
    figures = measure(calls, repeats)
    print_table(figures)
    if args.json:
        print(json.dumps(figures, indent=2))
    return figures


def print_table(f: dict[str, float]) -> None:
    print(
        f"bench_workflow: step -> parallel(2) -> step, {int(f['calls']):,} invocations per "
        "timing, best of several runs"
    )
    print(f"  {'':<22}{'per call':>12}{'overhead':>12}")
    print(f"  {'plain calls':<22}{f['plain_us']:>9.1f} µs{'—':>12}")
    for key, label in (
        ("ours_sync", "ours, Engine.run"),
        ("ours_async", "ours, run_async"),
        ("langgraph_sync", "LangGraph invoke"),
        ("langgraph_async", "LangGraph ainvoke"),
    ):
        print(f"  {label:<22}{f[key + '_us']:>9.1f} µs{f[key + '_overhead_us']:>9.1f} µs")
    for mode in ("sync", "async"):
        ratio = f[f"ratio_{mode}"]
        verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
        print(
            f"  overhead ratio LangGraph/ours ({mode}): {ratio:.1f}x "
            f"({verdict} the ≥{TARGET_RATIO:.0f}x target)"
        )


if __name__ == "__main__":
    main()
