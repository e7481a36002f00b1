"""Figures of a run: zone load over time and a snapshot of the arena. Each returns a Figure.

Matplotlib is used with the non-interactive Agg backend when no display is configured, so
plots work headless (CI, batch runs) and in notebooks alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

if (
    not matplotlib.get_backend()
    .lower()
    .startswith(("module://", "qt", "tk", "gtk", "wx", "macosx"))
):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from .model import ArenaModel


def zone_load(
    frame: pd.DataFrame, capacities: dict[str, int] | None = None, title: str | None = None
) -> Figure:
    """Occupancy (solid) and queue (dashed) per zone over time, capacity dotted."""
    zones = list(dict.fromkeys(frame["zone"]))
    ncols = min(4, len(zones))
    nrows = int(np.ceil(len(zones) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols, 2.5 * nrows), sharex=True, squeeze=False
    )
    for ax, zone in zip(axes.flat, zones):
        g = frame[frame["zone"] == zone]
        ax.plot(g["step"], g["occupancy"], color="tab:blue", label="in service")
        ax.plot(g["step"], g["queue"], color="tab:orange", linestyle="--", label="queued")
        if capacities and zone in capacities:
            ax.axhline(capacities[zone], color="grey", linestyle=":", label="capacity")
        ax.set_title(zone, fontsize=10)
        ax.set_ylabel("intents")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(zones) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncols=3, fontsize=9)
    fig.suptitle(title or "Zone load over time", x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def arena_snapshot(model: ArenaModel, title: str | None = None) -> Figure:
    """Zones sized by capacity and filled by load; in-flight intents coloured by destination."""
    fig, ax = plt.subplots(figsize=(7, 7))
    cmap = plt.get_cmap("tab10" if len(model.zones) <= 10 else "tab20")
    load = model.zone_load()
    max_cap = max(z.capacity for z in model.zones)
    for z in model.zones:
        colour = cmap(z.index % cmap.N)
        size = z.radius * (0.6 + 0.8 * np.sqrt(z.capacity / max_cap))
        ax.add_patch(
            plt.Circle(
                z.position,
                size,
                facecolor=plt.cm.Reds(min(1.0, float(load[z.index])) * 0.85),
                edgecolor=colour,
                linewidth=2.5,
                alpha=0.9,
            )
        )
        ax.annotate(
            f"{z.name}\n{z.occupancy}/{z.capacity} (+{z.queue_length})",
            z.position,
            ha="center",
            va="center",
            fontsize=8,
        )
    sw = model.swarm
    if len(sw):
        dest = sw.cand[0]
        ax.scatter(
            sw.x, sw.y, s=6, c=[cmap(int(d) % cmap.N) for d in dest], alpha=0.7, linewidths=0
        )
    ax.plot(*model.entry, marker="*", color="black", markersize=12, label="entry")
    ax.set_xlim(0, model.scenario.width)
    ax.set_ylim(0, model.scenario.height)
    ax.set_aspect("equal")
    ax.set_xlabel("x (space units)")
    ax.set_ylabel("y (space units)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or f"{model.scenario.name}: step {model.steps}, {len(sw)} intents in flight")
    fig.tight_layout()
    return fig
