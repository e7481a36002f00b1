"""Running a scenario end to end: load, simulate with progress, summarise, write outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .model import ArenaModel
from .scenario import Scenario, load_scenario


def run_scenario(
    scenario: str | Path | Scenario,
    *,
    steps: int | None = None,
    router: str | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    rate_scale: float = 1.0,
    out: str | Path | None = None,
    progress: bool = False,
) -> tuple[ArenaModel, dict[str, Any]]:
    """Run a scenario; return the model and its summary (and write files to ``out`` if given).

    ``steps`` caps the number of steps (default: the scenario's steps, then drain).
    """
    sc = (
        scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides=overrides)
    )
    if isinstance(scenario, Scenario) and overrides:
        sc = sc.with_overrides(overrides)
    model = ArenaModel(sc, router=router, seed=seed, rate_scale=rate_scale)
    snapshot_at = max(1, (steps or sc.steps) // 2)
    snapshot = None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps or sc.steps, desc=f"{sc.name} [{model.router.name}]", unit="step")

    def on_step(t: int) -> None:
        nonlocal snapshot
        if bar is not None and t <= bar.total:
            bar.update(1)
        if out is not None and t == snapshot_at:
            from .plots import arena_snapshot

            snapshot = arena_snapshot(model)

    model.run(steps, progress=on_step)
    if bar is not None:
        bar.close()
    summary = model.summary()
    if out is not None:
        from .output import write_outputs

        write_outputs(model, out, summary, snapshot)
    return model, summary


def format_summary(s: dict[str, Any]) -> str:
    """A short human-readable table of a summary."""
    lines = [
        f"scenario {s['scenario']}  router {s['router']}  seed {s['seed']}  steps {s['steps']}",
        f"arrived {s['arrived']}  completed {s['completed']}  in flight {s['in_flight']}  "
        f"queued {s['queued']}  in service {s['in_service']}  dropped {s['dropped']} "
        f"{ {k: v for k, v in s['dropped_by_reason'].items() if v} }  lost {s['lost']}",
    ]
    if s.get("routing_accuracy") is not None:
        lines.append(
            f"routing accuracy {s['routing_accuracy']:.4f}  capability accuracy "
            f"{s['capability_accuracy']:.4f}  (over {s['scored_intents']} labelled intents)"
        )
    w = s["wait_steps"]
    if w["p50"] is not None:
        lines.append(f"wait steps p50 {w['p50']:g}  p95 {w['p95']:g}  max {w['max']}")
    if "out_of_scope" in s:
        o = s["out_of_scope"]
        lines.append(f"out of scope precision {o['precision']}  recall {o['recall']}")
    util = s["zone_utilisation"]
    lines.append(
        "zone utilisation (mean/max): "
        + ", ".join(
            f"{z} {u['mean']:.2f}/{u['max']:.2f}" for z, u in util.items() if u["mean"] is not None
        )
    )
    return "\n".join(lines)
