"""Plots: files are written, axes are labelled, and what is drawn is the data of the run."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from arena_fixtures import scenario
from fakes import BagOfWordsEmbedder
from hypothesis import given
from hypothesis import strategies as st

from arena.analysis import pareto_plot, plots
from arena.model import ArenaModel


@pytest.fixture(scope="module")
def model() -> ArenaModel:
    m = ArenaModel(scenario(), embedder=BagOfWordsEmbedder(), rate_scale=3.0)
    m.run(25)
    return m


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_zone_load_draws_each_zones_occupancy_queue_and_capacity(model, tmp_path):
    frame = model.zone_load_frame()
    caps = {z.name: z.capacity for z in model.zones}
    fig = plots.zone_load(frame, caps)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == model.zone_names
    for ax in axes:
        g = frame[frame["zone"] == ax.get_title()]
        served, queued, capacity = ax.get_lines()
        assert served.get_ydata().tolist() == g["occupancy"].tolist()
        assert queued.get_ydata().tolist() == g["queue"].tolist()
        assert capacity.get_ydata()[0] == caps[ax.get_title()]
        assert ax.get_ylabel() == "intents"
    assert frame["occupancy"].max() > 0  # the run did load the zones
    path = tmp_path / "zone_load.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000


def test_utilisation_heatmap_is_the_zone_by_time_utilisation(model, tmp_path):
    frame = model.zone_load_frame()
    fig = plots.utilisation_heatmap(frame)
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    expected = np.array(
        [frame[frame["zone"] == z]["utilisation"].to_numpy() for z in model.zone_names]
    )
    np.testing.assert_allclose(shown, expected)
    assert [t.get_text() for t in ax.get_yticklabels()] == model.zone_names
    assert ax.get_xlabel() == "time (s)" and "utilisation" in fig.axes[1].get_ylabel()
    fig.savefig(tmp_path / "heat.png")
    assert (tmp_path / "heat.png").stat().st_size > 5_000


def test_snapshot_shows_every_zone_and_the_intents_in_it(model, tmp_path):
    fig = plots.arena_snapshot(model)
    ax = fig.axes[0]
    gids = [p.get_gid() for p in ax.patches]
    assert gids == [g for z in model.zones for g in (f"zone:{z.name}", f"radius:{z.name}")]
    texts = " ".join(t.get_text() for t in ax.texts)
    for z in model.zones:
        assert f"{z.name}\n{z.occupancy}/{z.capacity}" in texts
    dots = ax.collections[0].get_offsets() if ax.collections else np.empty((0, 2))
    in_zones = sum(z.occupancy + z.queue_length for z in model.zones)
    assert in_zones > 0 and len(dots) == in_zones
    # each dot lies inside its zone's capture radius
    _, xy, zone = plots.intents_in_zones(model)
    dist = np.hypot(*(xy - model.zone_xy[zone]).T)
    assert (dist <= np.array([z.radius for z in model.zones])[zone] + 1e-6).all()
    assert ax.get_xlabel() == "x (space units)"
    fig.savefig(tmp_path / "snap.png")
    assert (tmp_path / "snap.png").stat().st_size > 5_000


def sweep_frame() -> pd.DataFrame:
    rows = []
    for a in (1.0, 2.0, 4.0):
        for r in (0.0, 3.0):
            for seed in (1, 2):
                rows.append(
                    {
                        "physics.attraction": a,
                        "physics.repulsion": r,
                        "seed": seed,
                        "router": "physics",
                        "routing_accuracy": a / 10 + r / 100 + seed / 1000,
                        "wait_p95": 10 - a + seed,
                    }
                )
    return pd.DataFrame(rows)


def test_sweep_heatmap_averages_over_seeds_and_annotates_cells(tmp_path):
    df = sweep_frame()
    fig = plots.sweep_heatmap(df, "physics.attraction", "physics.repulsion", "routing_accuracy")
    ax = fig.axes[0]
    data = np.asarray(ax.images[0].get_array())
    assert data.shape == (2, 3)  # repulsion rows x attraction columns
    expected = df.groupby(["physics.repulsion", "physics.attraction"])["routing_accuracy"].mean()
    assert data[1, 2] == pytest.approx(expected[(3.0, 4.0)])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    assert f"{expected[(3.0, 4.0)]:.3g}" in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel() == "physics.attraction" and ax.get_ylabel() == "physics.repulsion"
    assert "routing accuracy" in fig.axes[1].get_ylabel()
    assert "2 seed(s)" in ax.get_title()
    fig.savefig(tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 5_000


def test_pareto_plots_one_marker_per_run_per_router_and_the_front():
    df = pd.DataFrame(
        {
            "router": ["physics", "physics", "random", "semantic_argmax"],
            "wait_p95": [4.0, 6.0, 3.0, 5.0],
            "routing_accuracy": [0.9, 0.95, 0.1, 0.8],
        }
    )
    fig = plots.pareto(df)
    ax = fig.axes[0]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["physics", "random", "semantic_argmax", "Pareto front (no drops)"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 4
    front = ax.get_lines()[0]
    # semantic_argmax (5, 0.8) is beaten by physics (4, 0.9); the other three form the front
    assert front.get_xdata().tolist() == [3.0, 4.0, 6.0]
    assert front.get_ydata().tolist() == [0.1, 0.9, 0.95]
    assert ax.get_xlabel() == "p95 wait (ms)" and "routing accuracy" in ax.get_ylabel()


def _bbox(artist, fig):
    fig.canvas.draw()
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_pareto_zooms_on_the_band_where_the_routers_differ_legend_outside_the_data():
    df = pd.DataFrame(
        {
            "router": ["physics"] * 3 + ["semantic_argmax", "random", "round_robin"],
            "wait_p95": [2.0, 4.0, 7.0, 6.0, 0.0, 5.0],
            "routing_accuracy": [0.9664, 0.9677, 0.9636, 0.9654, 0.104, 0.0995],
        }
    )
    fig = plots.pareto(df)
    overview, zoom = fig.axes
    lo, hi = zoom.get_ylim()
    assert 0.96 < lo < 0.9636 and 0.9677 < hi < 0.972  # the top band fills the zoomed panel
    assert overview.get_ylim()[0] < 0.0995  # the naive baselines are still on the overview
    xs = zoom.get_xlim()
    assert xs[0] < 2.0 and 7.0 < xs[1] < 8.0
    assert sum(len(c.get_offsets()) for c in zoom.collections) == 6  # the same runs, zoomed
    assert any(isinstance(patch, plt.Rectangle) for patch in overview.patches)  # band marked
    legend = _bbox(fig.legends[0], fig)
    for ax in fig.axes:
        assert not legend.overlaps(_bbox(ax, fig))  # the legend covers no data


def test_pareto_without_a_separate_top_band_is_one_panel():
    df = pd.DataFrame(
        {
            "router": ["a", "b", "c"],
            "wait_p95": [1.0, 2.0, 3.0],
            "routing_accuracy": [0.5, 0.6, 0.7],
        }
    )
    fig = plots.pareto(df)
    assert len(fig.axes) == 1
    assert not _bbox(fig.legends[0], fig).overlaps(_bbox(fig.axes[0], fig))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_a_zoom_band_is_the_top_cluster_above_the_widest_gap(values):
    band = pareto_plot.zoom_band(np.array(values))
    if band is None:
        return
    lo, hi = band
    v = np.array(values)
    assert hi == v.max() and lo <= hi
    below = v[v < lo]
    spread = v.max() - v.min()
    assert below.size and lo - below.max() > pareto_plot.ZOOM_GAP * spread
    assert hi - lo <= pareto_plot.ZOOM_BAND * spread  # narrow enough to be worth a zoom


@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30, unique=True
    )
)
def test_pareto_front_is_exactly_the_undominated_points(pts):
    points = np.array(pts, dtype=float)
    front = set(pareto_plot.pareto_front(points).tolist())
    for i, (w, a) in enumerate(points):
        dominated = any(
            (w2 <= w and a2 >= a) and (w2 < w or a2 > a) for j, (w2, a2) in enumerate(points)
        )
        assert (i in front) == (not dominated)


def test_pareto_draws_drops_and_never_puts_a_run_that_dropped_on_the_front():
    """The study's plot: semantic_argmax waited least because it dropped 47 requests."""
    df = pd.DataFrame(
        {
            "router": ["physics", "physics", "semantic_argmax", "jsq_top_k"],
            "wait_p95": [4.0, 5.0, 1.0, 6.0],
            "routing_accuracy": [0.9820, 0.9822, 0.9821, 0.9818],
            "dropped": [0, 0, 47, 0],
            "scored_intents": [1200] * 4,
        }
    )
    fig = plots.pareto(df)
    ax = fig.axes[0]
    front = ax.get_lines()[0]
    assert 1.0 not in front.get_xdata().tolist()  # the run that dropped is not optimal
    assert front.get_xdata().tolist() == [4.0, 5.0]
    sizes = {c.get_label(): c.get_sizes().tolist() for c in ax.collections}
    assert sizes["semantic_argmax"][0] > 5 * max(sizes["physics"])  # drops drawn as area
    assert "dropped intents (largest 47)" in fig._suptitle.get_text()
    # the accuracy axis spans at least 4 requests of a 1,200-request run, not 0.9818-0.9822
    lo, hi = ax.get_ylim()
    assert hi - lo >= 4 / 1200
    every = plots.pareto(df.assign(dropped=[3, 1, 47, 2]))
    assert not every.axes[0].get_lines()  # all dropped: no front at all, and it says so
    assert "none is optimal" in every._suptitle.get_text()
