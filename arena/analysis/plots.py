"""Figures of a run and of sweeps: zone load over time, a utilisation heatmap, a snapshot of
the arena and sweep heatmaps; the Pareto plot of routers lives in :mod:`.pareto_plot` and is
re-exported here (``plots.pareto``). Each returns a Figure; the backend is chosen in
:mod:`.plot_style` (headless Agg unless a display or notebook backend is configured).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..model import IN_SERVICE, QUEUED
from . import plot_style  # noqa: F401  (chooses the backend before pyplot loads)
from .pareto_plot import pareto
from .plot_style import axis_label

__all__ = [
    "arena_snapshot",
    "intents_in_zones",
    "pareto",
    "sweep_heatmap",
    "utilisation_heatmap",
    "zone_load",
]

if TYPE_CHECKING:
    from ..model import ArenaModel


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
        ax.plot(g["time_s"], g["occupancy"], color="tab:blue", label="in service")
        ax.plot(g["time_s"], g["queue"], color="tab:orange", linestyle="--", label="queued")
        if capacities and zone in capacities:
            ax.axhline(capacities[zone], color="grey", linestyle=":", label="capacity")
        ax.set_title(zone, fontsize=10)
        ax.set_ylabel("intents")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(zones) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncols=3, fontsize=9)
    fig.suptitle(title or "Zone load over time", x=0.02, ha="left")
    # fixed margins (in inches) instead of tight_layout, which measured every tick label and
    # took most of a live widget redraw
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=0.75 / w, right=1 - 0.15 / w, bottom=0.5 / h, top=1 - 0.6 / h, hspace=0.4, wspace=0.3
    )
    return fig


def intents_in_zones(model: ArenaModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The intents queued or in service at the model's time, each placed inside its zone on a
    golden-angle spiral (in service nearer the centre): rows, ``(n, 2)`` positions, zones."""
    L = model.ledger
    rows = np.flatnonzero((L.state == IN_SERVICE) | (L.state == QUEUED))
    zone = L.zone[rows].astype(np.intp)
    order = np.lexsort((L.state[rows], zone))
    rows, zone = rows[order], zone[order]
    rank = np.arange(len(rows)) - np.searchsorted(zone, zone, side="left")
    count = np.bincount(zone, minlength=len(model.zones))[zone]
    radius = np.array([z.radius for z in model.zones])[zone] * np.sqrt((rank + 0.5) / count)
    angle = rank * 2.399963  # the golden angle: points spread evenly, no rings
    centre = model.zone_xy[zone]
    xy = centre + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return rows, xy, zone


def arena_snapshot(model: ArenaModel, title: str | None = None) -> Figure:
    """Zones sized by capacity and filled by load (dashed: capture radius); in-flight intents
    coloured by their preferred zone, each with a tail along its last move."""
    fig, ax = plt.subplots(figsize=(7, 7))
    cmap = plt.get_cmap("tab10" if len(model.zones) <= 10 else "tab20")
    load = model.view.zone_load()
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
                gid=f"zone:{z.name}",
            )
        )
        ax.add_patch(
            plt.Circle(
                z.position,
                z.radius,
                fill=False,
                linestyle="--",
                linewidth=0.8,
                edgecolor="black",
                alpha=0.6,
                gid=f"radius:{z.name}",
            )
        )  # the capture radius
        ax.annotate(
            f"{z.name}\n{z.occupancy}/{z.capacity} (+{z.queue_length})",
            z.position,
            ha="center",
            va="center",
            fontsize=8,
        )
    rows, xy, zone = intents_in_zones(model)
    if len(rows):
        colours = [cmap(int(z) % cmap.N) for z in zone]
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=14,
            c=colours,
            alpha=0.9,
            edgecolors="black",
            linewidths=0.3,
            label="intent queued or in service (colour: its zone)",
            gid="intents",
        )
    ax.plot(*model.entry, marker="*", color="black", markersize=12, label="entry")
    ax.set_xlim(0, model.scenario.width)
    ax.set_ylim(0, model.scenario.height)
    ax.set_aspect("equal")
    ax.set_xlabel("x (space units)")
    ax.set_ylabel("y (space units)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(
        title or f"{model.scenario.name}: t = {model.now:g} s, {len(rows)} intents in zones"
    )
    fig.tight_layout()
    return fig


def utilisation_heatmap(frame: pd.DataFrame, title: str | None = None) -> Figure:
    """Zones × time coloured by utilisation (in service / capacity): hot spells at a glance."""
    grid = frame.pivot_table(index="zone", columns="time_s", values="utilisation", sort=False)
    zones = list(dict.fromkeys(frame["zone"]))
    grid = grid.reindex(zones)
    times = grid.columns.to_numpy(dtype=float)
    half = (float(np.diff(times).min()) if len(times) > 1 else 1.0) / 2  # a row's interval
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(zones) + 1.6))
    image = ax.imshow(
        grid.to_numpy(dtype=float),
        aspect="auto",
        cmap="magma",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        extent=(times.min() - half, times.max() + half, len(zones) - 0.5, -0.5),
    )
    ax.set_yticks(range(len(zones)), zones, fontsize=8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("zone")
    fig.colorbar(image, ax=ax, label="utilisation (in service / capacity)", pad=0.01)
    ax.set_title(title or "Zone utilisation over time")
    fig.tight_layout()
    return fig


def sweep_heatmap(
    df: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    title: str | None = None,
    cmap: str = "viridis",
) -> Figure:
    """``value`` over a 2-D slice of a sweep, averaged over seeds (and any other swept column);
    each cell is annotated with its mean."""
    table = df.groupby([y, x])[value].mean().unstack(x).sort_index().sort_index(axis=1)
    data = table.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.1 * data.shape[1] + 3, 0.7 * data.shape[0] + 2))
    image = ax.imshow(data, cmap=cmap, aspect="auto", origin="lower")
    ax.set_xticks(range(data.shape[1]), [f"{v:g}" if _num(v) else v for v in table.columns])
    ax.set_yticks(range(data.shape[0]), [f"{v:g}" if _num(v) else v for v in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    finite = data[np.isfinite(data)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for (i, j), v in np.ndenumerate(data):
        if np.isfinite(v):
            ax.text(
                j,
                i,
                f"{v:.3g}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v < mid else "black",
            )
    fig.colorbar(image, ax=ax, label=axis_label(value))
    n_seeds = df["seed"].nunique() if "seed" in df else 1
    ax.set_title(title or f"{axis_label(value)}\nmean over {n_seeds} seed(s)", fontsize=10)
    fig.tight_layout()
    return fig


def _num(v: object) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool)
