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
from matplotlib.figure import Figure

from ..model import IN_SERVICE, QUEUED

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


LABELS = {
    "routing_accuracy": "routing accuracy (share to the right zone)",
    "capability_accuracy": "capability accuracy",
    "wait_p95": "p95 wait (ms)",
    "wait_p50": "median wait (ms)",
    "wait_mean": "mean wait (ms)",
    "wait_p99": "p99 wait (ms)",
    "latency_p50": "median latency (ms)",
    "latency_p95": "p95 latency (ms)",
    "latency_p99": "p99 latency (ms)",
    "latency_mean": "mean latency (ms)",
    "ttft_p99": "p99 time to first token (ms)",
    "ttft_p50": "median time to first token (ms)",
    "cache_hit_rate": "prefix-cache hit rate",
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
    """``[lo, hi]`` widened by ``share`` of its span on each side, and by ``least`` at least."""
    pad = max((hi - lo) * share, least)
    return lo - pad, hi + pad


def drop_free_front(data: pd.DataFrame, x: str, y: str) -> np.ndarray:
    """The Pareto front (indices of ``data``) among the runs that dropped nothing: a run that
    lost requests is never optimal, however short its wait (dropping is how it got short).
    Empty when every run dropped some."""
    ok = (
        np.ones(len(data), dtype=bool)
        if "dropped" not in data
        else (data["dropped"].fillna(0).to_numpy() == 0)
    )
    idx = np.flatnonzero(ok)
    if not idx.size:
        return np.array([], dtype=np.intp)
    return idx[pareto_front(data.loc[idx, [x, y]].to_numpy(dtype=float))]


REQUESTS_THAT_MATTER = 4  # an accuracy axis spans at least this many requests of a run


def least_span(data: pd.DataFrame, y: str) -> float:
    """The smallest span the ``y`` axis may show: ``REQUESTS_THAT_MATTER`` requests of a typical
    run for an accuracy (``scored_intents`` known), so runs a request or two apart sit on one
    level instead of looking like a front; 0.004 otherwise."""
    if "accuracy" in y and "scored_intents" in data and (data["scored_intents"] > 0).any():
        return REQUESTS_THAT_MATTER / float(
            data.loc[data["scored_intents"] > 0, "scored_intents"].median()
        )
    return 0.004


def _sizes(data: pd.DataFrame) -> np.ndarray:
    """Marker areas: 40, plus up to 400 in proportion to the run's dropped intents."""
    if "dropped" not in data:
        return np.full(len(data), 40.0)
    d = data["dropped"].fillna(0).to_numpy(dtype=float)
    return 40.0 + (400.0 * d / d.max() if d.max() > 0 else np.zeros_like(d))


def _pareto_axes(ax: Axes, data: pd.DataFrame, x: str, y: str, by: str, front: np.ndarray) -> None:
    markers = "osD^v<>PX*"
    sizes = _sizes(data)
    for i, (name, g) in enumerate(data.groupby(by, sort=False)):
        ax.scatter(
            g[x],
            g[y],
            label=str(name),
            marker=markers[i % len(markers)],
            s=sizes[g.index.to_numpy()],
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
            label="Pareto front (no drops)",
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

    Drops are drawn: a marker's area grows with the run's dropped intents, and a run that
    dropped any is never on the front (short waits bought by dropping are not optimal). The
    accuracy axis spans at least a few requests' worth of accuracy (:func:`least_span`), so runs
    a request apart do not pass for a front.

    When the best routers sit far above the rest (physics and argmax at ~0.96, the naive
    baselines at ~0.1), one axis would squash every difference that matters into a line: the
    figure then has two panels, every run on the left (the band marked) and the band zoomed
    on the right. The legend sits outside the data, to the right."""
    data = df.dropna(subset=[x, y]).reset_index(drop=True)
    front = drop_free_front(data, x, y) if len(data) else np.array([], dtype=np.intp)
    band = zoom_band(data[y].to_numpy()) if len(data) else None
    least = least_span(data, y) if len(data) else 0.004
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
    if band is None and len(data):
        overview.set_ylim(*_padded(float(data[y].min()), float(data[y].max()), least=least / 2))
    if band is not None:
        zoom = axes[1]
        inside = data[(data[y] >= band[0]) & (data[y] <= band[1])]
        y0, y1 = _padded(*band, least=least / 2)
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
    notes = []
    if "dropped" in data and (data["dropped"] > 0).any():
        notes.append(f"marker area: dropped intents (largest {int(data['dropped'].max())})")
        if not len(front):
            notes.append("every run dropped intents: none is optimal")
    fig.suptitle(
        (title or "Accuracy vs waiting: up and to the left is better")
        + (f"\n{'; '.join(notes)}" if notes else "")
    )
    return fig
