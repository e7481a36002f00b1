"""A plan as text, plain data, files and a figure; every file written atomically."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..output import check_out_dir, finite_json
from .advice import plan_advice
from .figures import Interval
from .overlay import capacity_overlay
from .plan import Plan

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure

    from ...scenario import Scenario


def _ci(i: Interval, digits: int = 3) -> str:
    if not math.isfinite(i.mean):
        return "n/a"
    return f"{i.mean:.{digits}g} [{i.low:.{digits}g}, {i.high:.{digits}g}]"


def _statistic(o) -> str:
    if o.quantile is not None:
        return f"share > {o.target:g}" + (" worst zone" if o.per_zone else "")
    return "mean" if o.kind == "wait_mean" else "rate"


def format_plan(plan: Plan) -> str:
    """The plan as a short report: objectives, the per-zone table, the verdicts, the saving."""
    q = next((o.quantile for o in plan.objectives if o.quantile is not None), 0.95)
    pct = f"{100 * q:g}"
    lines = [
        f"capacity plan for {plan.scenario} at {plan.load:g}x load: "
        + ", ".join(str(o) for o in plan.objectives)
        + f"  ({100 * plan.confidence:g}% intervals over held-out seeds "
        f"{plan.verify_seeds[0]}..{plan.verify_seeds[-1]})",
        f"{'zone':<20} {'today':>5} {'theory':>6} {'plan':>5} {'unif':>5} {'λ/s':>7} "
        f"{'svc':>5}  {'utilisation':<20} {'wait p' + pct:<18} {'drop rate':<24}",
    ]
    for z in plan.zones:
        lines.append(
            f"{z.name:<20} {z.today:>5} {z.analytic:>6} {z.planned:>5} "
            f"{'-' if z.uniform is None else z.uniform:>5} {z.arrival_rate:>7.2f} "
            f"{z.mean_service:>5.2f}  {_ci(z.utilisation):<20} {_ci(z.wait_quantile):<18} "
            f"{_ci(z.drop_rate, 2):<24}"
        )
    lines.append("held-out verdicts (mean [interval]):")
    for v in plan.verdicts.values():
        figures = "  ".join(
            f"{o.metric} {_ci(v.values[o.metric])} ({_statistic(o)} {_ci(v.intervals[o.metric])}"
            f" <= {o.share:g})"
            for o in plan.objectives
        )
        lines.append(
            f"  {v.name:<9} {v.total:>5} slots  {'meets' if v.meets else 'MISSES':<6}  {figures}"
        )
    if plan.saving is not None:
        lines.append(
            f"plan {plan.verdicts['plan'].total} slots vs uniform x{plan.uniform_factor:.3g} "
            f"{plan.verdicts['uniform'].total}: {100 * plan.saving:.1f}% fewer"
        )
    lines += [f"note: {n}" for n in plan.notes]
    lines.append(
        f"{plan.runs} runs in {plan.sweeps} sweeps on {plan.backend}, {plan.wall_s:.1f} s "
        f"({', '.join(f'{k} {v:g}' for k, v in plan.timings.items())}); "
        + ("objectives met on held-out seeds" if plan.met else "OBJECTIVES NOT MET")
    )
    lines += plan_advice(plan)
    return "\n".join(lines)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """Plain data (plan.json)."""

    def plain(v: Any) -> Any:
        if isinstance(v, Interval):
            return v.to_dict()
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return finite_json(
        plain(
            {
                "scenario": plan.scenario,
                "file": plan.file,
                "load": plan.load,
                "objectives": [str(o) for o in plan.objectives],
                "confidence": plan.confidence,
                "met": plan.met,
                "capacities": {z.name: z.planned for z in plan.zones},
                "saving_vs_uniform": plan.saving,
                "uniform_factor": plan.uniform_factor,
                "zones": [vars(z) for z in plan.zones],
                "verdicts": {k: {**vars(v), "total": v.total} for k, v in plan.verdicts.items()},
                "search_seeds": plan.search_seeds,
                "verify_seeds": plan.verify_seeds,
                "history": plan.history,
                "uniform_tried": plan.uniform_tried,
                "runs": plan.runs,
                "sweeps": plan.sweeps,
                "backend": plan.backend,
                "wall_s": round(plan.wall_s, 2),
                "timings": plan.timings,
                "notes": plan.notes,
                "advice": plan_advice(plan),
            }
        )
    )


def plan_figure(plan: Plan) -> Figure:
    """Capacities per zone (today, theory, plan, uniform) and the plan's per-zone waits and
    utilisation with their intervals."""
    import matplotlib.pyplot as plt
    import numpy as np

    names = [z.name for z in plan.zones]
    x = np.arange(len(names))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(7, 0.8 * len(names) + 3), 7), sharex=True)
    series = [("today", "today", "#bbbbbb"), ("theory", "analytic", "#7fa7d9")]
    series += [("plan", "planned", "#d9822b"), ("uniform", "uniform", "#5aa469")]
    width = 0.2
    for j, (label, attr, colour) in enumerate(series):
        values = [getattr(z, attr) or 0 for z in plan.zones]
        total = sum(values)
        ax1.bar(x + (j - 1.5) * width, values, width, label=f"{label} ({total})", color=colour)
    ax1.set_ylabel("slots")
    ax1.set_title(
        f"{plan.scenario} at {plan.load:g}x load — " + ", ".join(str(o) for o in plan.objectives)
    )
    ax1.legend(fontsize=8, ncols=4)
    wait = [z.wait_quantile for z in plan.zones]
    ax2.errorbar(
        x,
        [w.mean for w in wait],
        yerr=[[w.mean - w.low for w in wait], [w.high - w.mean for w in wait]],
        fmt="o",
        color="#d9822b",
        label="plan: zone wait quantile (held-out seeds)",
    )
    for o in plan.objectives:
        if o.kind == "wait":
            ax2.axhline(o.target, color="#aa3333", ls="--", lw=1, label=f"target {o}")
    ax2.set_ylabel("wait (s)")
    twin = ax2.twinx()
    twin.plot(x, [z.utilisation.mean for z in plan.zones], "s", color="#555555", ms=4)
    twin.set_ylabel("utilisation (squares)")
    twin.set_ylim(0, 1.05)
    ax2.legend(fontsize=8, loc="upper left")
    ax2.set_xticks(x, names, rotation=30, ha="right")
    fig.tight_layout()
    return fig


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # a crash mid-write never leaves a half-written file


def write_plan(
    plan: Plan, out: str | Path, scenario: Scenario | None = None, overlays: Sequence[str] = ()
) -> dict[str, Path]:
    """plan.json, zones.csv, overlay.yaml (when the scenario has a file) and plan.png.
    ``overlays``: those the plan's scenario was loaded with, named in overlay.yaml's run line
    before the plan's own (later overlays win)."""
    import matplotlib.pyplot as plt

    from ...scenario import load_scenario

    out_dir = check_out_dir(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["plan.json"] = out_dir / "plan.json"
    text = json.dumps(plan_to_dict(plan), indent=2, allow_nan=False) + "\n"
    _atomic(paths["plan.json"], text.encode())
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "zone",
            "today",
            "analytic",
            "planned",
            "uniform",
            "arrival_rate",
            "peak_rate",
            "mean_service",
            "util",
            "util_low",
            "util_high",
            "wait_q",
            "wait_q_low",
            "wait_q_high",
            "drop_rate",
            "drop_rate_low",
            "drop_rate_high",
        ]
    )
    for z in plan.zones:
        w.writerow(
            [
                z.name,
                z.today,
                z.analytic,
                z.planned,
                z.uniform,
                z.arrival_rate,
                z.peak_rate,
                z.mean_service,
                *(
                    v
                    for i in (z.utilisation, z.wait_quantile, z.drop_rate)
                    for v in (i.mean, i.low, i.high)
                ),
            ]
        )
    paths["zones.csv"] = out_dir / "zones.csv"
    _atomic(paths["zones.csv"], buf.getvalue().encode())
    if plan.file is not None:
        sc = scenario if scenario is not None else load_scenario(plan.file)
        doc = capacity_overlay(sc, plan.capacities)
        head = (
            f"# capacity plan for {plan.scenario} at {plan.load:g}x load "
            f"({', '.join(str(o) for o in plan.objectives)})\n"
            f"# run it: packetflow-arena run {plan.file} --rate-scale {plan.load:g} "
            + "".join(f"--overlay {o} " for o in overlays)
            + f"--overlay {out_dir / 'overlay.yaml'}\n"
        )
        paths["overlay.yaml"] = out_dir / "overlay.yaml"
        _atomic(paths["overlay.yaml"], (head + yaml.safe_dump(doc, sort_keys=False)).encode())
    fig = plan_figure(plan)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    paths["plan.png"] = out_dir / "plan.png"
    _atomic(paths["plan.png"], png.getvalue())
    return paths
