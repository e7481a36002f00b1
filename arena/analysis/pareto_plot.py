"""The Pareto plot of routers (accuracy against wait or latency, drops as marker area) and the
pieces it is made of: the front, the zoom band of a crowded top, the span accuracy needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import plot_style  # noqa: F401  (chooses the backend before pyplot loads)
from .plot_style import axis_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
    ax.set_xlabel(axis_label(x))
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
    overview.set_ylabel(axis_label(y))
    if band is None and len(data):
        overview.set_ylim(*_padded(float(data[y].min()), float(data[y].max()), least=least / 2))
    if band is not None:
        zoom = axes[1]
        inside = data[(data[y] >= band[0]) & (data[y] <= band[1])]
        y0, y1 = _padded(*band, least=least / 2)
        x0, x1 = _padded(float(inside[x].min()), float(inside[x].max()), least=0.5)
        zoom.set_xlim(x0, x1)
        zoom.set_ylim(y0, y1)
        zoom.set_ylabel(axis_label(y))
        zoom.set_title(f"zoomed: {axis_label(y)} {band[0]:.3g}–{band[1]:.3g}", fontsize=10)
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
