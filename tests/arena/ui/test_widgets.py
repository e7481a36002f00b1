"""The physics panel: every parameter has a control, and a change re-runs and redraws (debounced)."""

from __future__ import annotations

import asyncio

import ipywidgets as widgets
import pytest
from arena_fixtures import scenario
from fakes import BagOfWordsEmbedder

from arena.physics import Physics, router_names
from arena.ui.widgets import PhysicsPanel


def panel(**kw) -> PhysicsPanel:
    return PhysicsPanel(scenario(), steps=20, embedder=BagOfWordsEmbedder(), **kw)


def test_one_control_per_physics_parameter_with_its_range_and_meaning():
    p = panel()
    described = Physics.describe()
    assert list(p.sliders) == list(described)
    for name, spec in described.items():
        w = p.sliders[name]
        assert w.value == getattr(p.scenario.physics, name)
        assert w.tooltip == spec["doc"]
        if isinstance(w, widgets.FloatLogSlider):  # ranges over decades
            assert 10**w.min == pytest.approx(spec["min"]) and 10**w.max == pytest.approx(
                spec["max"]
            )
        else:
            assert (w.min, w.max) == (spec["min"], spec["max"])
        assert isinstance(w, widgets.IntSlider | widgets.BoundedIntText) == spec["integer"]
    assert isinstance(p.sliders["temperature"], widgets.FloatLogSlider)
    assert list(p.router.options) == list(router_names())
    assert p.physics() == p.scenario.physics


def test_moving_a_slider_changes_the_models_physics_and_the_figures():
    p = panel()
    assert p.redraws == 1 and p.model is not None
    before_model = p.model
    before_png = (p.zone_load_image.value, p.snapshot_image.value)
    before_xy = p.figures["snapshot"].axes[0].collections[0].get_offsets().copy()
    old = p.sliders["attraction"].value
    new = 1.0 if old > 2.0 else 10.0  # a clearly different pull, whatever the default
    p.sliders["attraction"].value = new
    assert p.redraws == 2
    assert p.model is not before_model
    assert p.model.physics.attraction == new
    assert p.model.physics.replace(attraction=old) == before_model.physics
    # another pull: intents move differently, so the snapshot changed and so did its image
    after_xy = p.figures["snapshot"].axes[0].collections[0].get_offsets()
    assert after_xy.shape != before_xy.shape or (after_xy != before_xy).any()
    assert p.snapshot_image.value != before_png[1]
    assert p.zone_load_image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "routing accuracy" in p.status.value and "redraw" in p.status.value


def test_router_seed_and_rate_controls_reach_the_model():
    p = panel()
    p.router.value = "least_loaded"
    assert p.model.router.name == "least_loaded"
    assert "least_loaded router" in p.figures["zone_load"]._suptitle.get_text()
    arrived = p.model.arrived
    p.rate_scale.value = 2.5
    assert p.model.rate_scale == 2.5 and p.model.arrived > arrived
    p.seed.value = 99
    assert p.model.seed_value == 99


def test_the_zone_load_figure_is_the_models_load():
    p = panel()
    frame = p.model.zone_load_frame()
    ax = p.figures["zone_load"].axes[0]
    zone = ax.get_title()
    assert ax.get_lines()[0].get_ydata().tolist() == frame[frame.zone == zone].occupancy.tolist()


async def test_changes_are_debounced_into_one_redraw():
    p = panel(debounce=0.05)
    for value in (5.5, 6.5, 7.5, 8.5):
        p.sliders["attraction"].value = value
    assert p.redraws == 1  # nothing ran while the hand was moving
    await asyncio.sleep(0.3)
    assert p.redraws == 2
    assert p.model.physics.attraction == 8.5


def test_the_number_box_and_the_log_slider_reach_the_physics():
    p = panel()
    p.sliders["max_flight_steps"].value = 40  # a number box: its range spans 1..100000
    assert p.model.physics.max_flight_steps == 40
    p.sliders["temperature"].value = 0.5
    assert p.model.physics.temperature == pytest.approx(0.5)


def test_set_changes_several_controls_with_one_redraw():
    p = panel()
    p.set(temperature=0.2, repulsion=0.0, router="physics", seed=5, rate_scale=1.5)
    assert p.redraws == 2
    assert (p.model.physics.temperature, p.model.physics.repulsion) == (pytest.approx(0.2), 0.0)
    assert (p.model.seed_value, p.model.rate_scale) == (5, 1.5)
    with pytest.raises(ValueError, match="no control named \\['gravity'\\]"):
        p.set(gravity=1.0)
