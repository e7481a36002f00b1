"""The picture of a validation: predicted against measured latency, as CDFs and as points.

Left, the latency CDF of the whole run, simulated (dashed) over live (solid), with each zone's
pair faint behind it: where the curves part is where the model is wrong. Right, every zone's
p50/p95/p99 latency, predicted against measured, on the diagonal when the model is right, with
the goals' band (±10%) shaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .validation import Validation

MARKERS = {"p50": ("o", "tab:green"), "p95": ("s", "tab:purple"), "p99": ("^", "tab:red")}


def _latency_ms(rows: pd.DataFrame) -> np.ndarray:
    served = rows[rows["outcome"].isin(("completed", "failed"))]
    ms = (served["finished_s"] - served["sent_s"]).to_numpy(float) * 1000.0
    return np.sort(ms[np.isfinite(ms) & (ms > 0)])


def _cdf(ax: object, ms: np.ndarray, **style: object) -> None:
    if ms.size:
        ax.step(ms, np.arange(1, ms.size + 1) / ms.size, where="post", **style)  # type: ignore[attr-defined]


def validation_figure(
    sim: pd.DataFrame, live: pd.DataFrame, validation: Validation, title: str = ""
) -> Figure:
    """Latency CDFs (sim against live) and predicted-against-measured percentiles per zone."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    zones = [z for z in pd.unique(live["zone"]) if z]
    for zone in zones:
        _cdf(left, _latency_ms(sim[sim["zone"] == zone]), color="0.75", lw=0.8, ls="--")
        _cdf(left, _latency_ms(live[live["zone"] == zone]), color="0.75", lw=0.8)
    _cdf(left, _latency_ms(sim), color="tab:blue", lw=2, ls="--", label="simulated")
    _cdf(left, _latency_ms(live), color="tab:orange", lw=2, label="live")
    left.set_xscale("log")
    left.set_xlabel("latency (ms, log scale)")
    left.set_ylabel("share of requests served within")
    left.set_title("Latency CDF: whole run (bold), each zone (grey)")
    left.grid(alpha=0.3)
    left.legend(loc="lower right")

    frame = validation.frame()
    points = frame[frame["metric"].str.startswith("latency_ms.p")].dropna(subset=["sim", "live"])
    for name, (marker, colour) in MARKERS.items():
        sel = points[points["metric"] == f"latency_ms.{name}"]
        every = sel["zone"] == "all"
        right.scatter(
            sel["live"][~every],
            sel["sim"][~every],
            marker=marker,
            color=colour,
            alpha=0.5,
            label=f"{name} per zone",
        )
        right.scatter(
            sel["live"][every],
            sel["sim"][every],
            marker=marker,
            color=colour,
            s=130,
            edgecolor="k",
            label=f"{name} whole run",
        )
    if not points.empty:
        lo = max(min(points["sim"].min(), points["live"].min()) * 0.8, 1e-3)
        hi = max(points["sim"].max(), points["live"].max()) * 1.25
        xs = np.geomspace(lo, hi, 50)
        right.plot(xs, xs, color="k", lw=1)
        right.fill_between(xs, xs * 0.9, xs * 1.1, color="0.5", alpha=0.15, label="±10%")
        right.set_xscale("log")
        right.set_yscale("log")
    right.set_xlabel("measured live (ms)")
    right.set_ylabel("predicted by the simulation (ms)")
    agreement = validation.routing_agreement
    right.set_title(
        "Latency percentiles, predicted against measured"
        + (f"\n(same zone for {agreement:.0%} of requests)" if agreement is not None else "")
    )
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title)
    return fig
