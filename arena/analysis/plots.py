"""Figures of a run and of sweeps: zone load over time, a utilisation heatmap, a snapshot of
the arena, sweep heatmaps and a Pareto plot of routers. Each returns a Figure.

Matplotlib is used with the non-interactive Agg backend when no display or notebook backend is
configured, so plots work headless (CI, batch runs) and in notebooks alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

if (
    not matplotlib.get_backend()
    .lower()
    .startswith(
        # GUI toolkits, and notebook backends (matplotlib >= 3.9 names the inline one "inline")
        ("module://", "qt", "tk", "gtk", "wx", "macosx", "inline", "nbagg", "widget", "ipympl")
    )
):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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
    # fixed margins (in inches) instead of tight_layout, which measured every tick label and
    # took most of a live widget redraw
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=0.75 / w, right=1 - 0.15 / w, bottom=0.5 / h, top=1 - 0.6 / h, hspace=0.4, wspace=0.3
    )
    return fig


def arena_snapshot(model: ArenaModel, title: str | None = None) -> Figure:
    """Zones sized by capacity and filled by load (dashed: capture radius); in-flight intents
    coloured by their preferred zone, each with a tail along its last move."""
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
    sw = model.swarm
    if len(sw):
        colours = [cmap(int(d) % cmap.N) for d in sw.cand[0]]
        ax.scatter(
            sw.x,
            sw.y,
            s=18,
            c=colours,
            alpha=0.9,
            edgecolors="black",
            linewidths=0.3,
            label="intent in flight (colour: preferred zone)",
            gid="intents",
        )
        # each intent with a tail back along its last move, so the flow is visible in a still
        tails = np.stack(
            [np.column_stack([sw.x - sw.vx, sw.y - sw.vy]), np.column_stack([sw.x, sw.y])], axis=1
        )
        ax.add_collection(
            # matplotlib's stubs want a Sequence of segments; an (N, 2, 2) array is documented
            LineCollection(tails, colors=colours, linewidths=1.2, alpha=0.5, gid="tails")  # type: ignore[arg-type]
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


def utilisation_heatmap(frame: pd.DataFrame, title: str | None = None) -> Figure:
    """Zones × steps coloured by utilisation (in service / capacity): hot spells at a glance."""
    grid = frame.pivot_table(index="zone", columns="step", values="utilisation", sort=False)
    zones = list(dict.fromkeys(frame["zone"]))
    grid = grid.reindex(zones)
    steps = grid.columns.to_numpy()
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(zones) + 1.6))
    image = ax.imshow(
        grid.to_numpy(dtype=float),
        aspect="auto",
        cmap="magma",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        extent=(steps.min() - 0.5, steps.max() + 0.5, len(zones) - 0.5, -0.5),
    )
    ax.set_yticks(range(len(zones)), zones, fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel("zone")
    fig.colorbar(image, ax=ax, label="utilisation (in service / capacity)", pad=0.01)
    ax.set_title(title or "Zone utilisation over time")
    fig.tight_layout()
    return fig


LABELS = {
    "routing_accuracy": "routing accuracy (share to the right zone)",
    "capability_accuracy": "capability accuracy",
    "wait_p95": "p95 wait (steps)",
    "wait_p50": "median wait (steps)",
    "wait_mean": "mean wait (steps)",
    "dropped": "dropped intents",
    "utilisation_mean": "mean zone utilisation",
}


def _label(column: str) -> str:
    return LABELS.get(column, column)


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
    fig.colorbar(image, ax=ax, label=_label(value))
    n_seeds = df["seed"].nunique() if "seed" in df else 1
    ax.set_title(title or f"{_label(value)}\nmean over {n_seeds} seed(s)", fontsize=10)
    fig.tight_layout()
    return fig


def _num(v: object) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool)


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Indices of the points (x = wait to minimise, y = accuracy to maximise) that no other point
    beats on both, sorted by x."""
    order = np.lexsort((-points[:, 1], points[:, 0]))
    front, best = [], -np.inf
    for i in order:
        if points[i, 1] > best:
            front.append(i)
            best = points[i, 1]
    return np.array(front, dtype=np.intp)


ZOOM_GAP = 0.3  # a gap in accuracy wider than this share of its range sets the top band apart
ZOOM_BAND = 0.25  # ... and the band is worth a zoom when it spans at most this share of it


def zoom_band(values: np.ndarray, gap: float = ZOOM_GAP) -> tuple[float, float] | None:
    """The band of the top cluster of ``values`` when a gap wider than ``gap`` times their range
    sets it apart from the rest and the band is narrow (at most ``ZOOM_BAND`` of the range):
    naive routers at ~0.1 under routers at ~0.96. Else None: one axis shows it all."""
    v = np.unique(np.asarray(values, dtype=float)[np.isfinite(values)])
    if v.size < 2:
        return None
    steps = np.diff(v)
    cut = int(np.argmax(steps))
    spread = v[-1] - v[0]
    if steps[cut] <= gap * spread or v[-1] - v[cut + 1] > ZOOM_BAND * spread:
        return None
    return float(v[cut + 1]), float(v[-1])


def _padded(lo: float, hi: float, share: float = 0.08, least: float = 0.002) -> tuple[float, float]:
    pad = max((hi - lo) * share, least)
    return lo - pad, hi + pad


def _pareto_axes(ax: Axes, data: pd.DataFrame, x: str, y: str, by: str, front: np.ndarray) -> None:
    markers = "osD^v<>PX*"
    for i, (name, g) in enumerate(data.groupby(by, sort=False)):
        ax.scatter(
            g[x],
            g[y],
            label=str(name),
            marker=markers[i % len(markers)],
            s=40,
            alpha=0.75,
            edgecolors="none",
            color=f"C{i}",
        )
    if len(front):
        ax.plot(
            data.loc[front, x],
            data.loc[front, y],
            color="black",
            linewidth=1.2,
            linestyle="--",
            marker="o",
            markerfacecolor="none",
            markersize=11,
            label="Pareto front",
        )
    ax.set_xlabel(_label(x))
    ax.grid(alpha=0.3)


def pareto(
    df: pd.DataFrame,
    x: str = "wait_p95",
    y: str = "routing_accuracy",
    by: str = "router",
    title: str | None = None,
) -> Figure:
    """Routing accuracy against p95 wait, one marker per run, coloured by router; the runs no
    other run beats on both (higher accuracy *and* shorter wait) are joined as the Pareto front.

    When the best routers sit far above the rest (physics and argmax at ~0.96, the naive
    baselines at ~0.1), one axis would squash every difference that matters into a line: the
    figure then has two panels, every run on the left (the band marked) and the band zoomed
    on the right. The legend sits outside the data, to the right."""
    data = df.dropna(subset=[x, y]).reset_index(drop=True)
    front = pareto_front(data[[x, y]].to_numpy(dtype=float)) if len(data) else np.array([])
    band = zoom_band(data[y].to_numpy()) if len(data) else None
    if band is None:
        fig, overview = plt.subplots(figsize=(8.5, 5), layout="constrained")
        axes = [overview]
    else:
        fig, axes = plt.subplots(
            1, 2, figsize=(13, 5), layout="constrained", gridspec_kw={"width_ratios": [1, 1.7]}
        )
        overview = axes[0]
    for ax in axes:
        _pareto_axes(ax, data, x, y, by, front)
    overview.set_ylabel(_label(y))
    if band is not None:
        zoom = axes[1]
        inside = data[(data[y] >= band[0]) & (data[y] <= band[1])]
        y0, y1 = _padded(*band)
        x0, x1 = _padded(float(inside[x].min()), float(inside[x].max()), least=0.5)
        zoom.set_xlim(x0, x1)
        zoom.set_ylim(y0, y1)
        zoom.set_ylabel(_label(y))
        zoom.set_title(f"zoomed: {_label(y)} {band[0]:.3g}–{band[1]:.3g}", fontsize=10)
        overview.add_patch(
            plt.Rectangle(
                (x0, y0), x1 - x0, y1 - y0, fill=False, linestyle=":", linewidth=1.2, zorder=5
            )
        )
        overview.set_title("every run (dotted: the zoomed band)", fontsize=10)
    handles, labels = overview.get_legend_handles_labels()
    fig.legend(handles, labels, title=by, fontsize=8, loc="outside right upper")
    fig.suptitle(title or "Accuracy vs waiting: up and to the left is better")
    return fig
