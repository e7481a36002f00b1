"""The physics panel: every parameter has a control, and a change re-runs and redraws (debounced)."""

from __future__ import annotations

import asyncio

import ipywidgets as widgets
import pytest
from arena_fixtures import scenario
from fakes import BagOfWordsEmbedder
from hypothesis import given
from hypothesis import strategies as st

from arena.physics import Physics, router_names
from arena.ui.widgets import PhysicsPanel, clamp_to_range
from capabilities import PacketFlowError


def panel(**kw) -> PhysicsPanel:
    return PhysicsPanel(scenario(), duration=20, embedder=BagOfWordsEmbedder(), **kw)


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
    old = p.sliders["temperature"].value
    new = 2.0 if old < 1.0 else 0.01  # a clearly different choice, whatever the default
    p.sliders["temperature"].value = new
    assert p.redraws == 2
    assert p.model is not before_model
    assert p.model.physics.temperature == pytest.approx(new)
    assert p.model.physics.replace(temperature=old) == before_model.physics
    # another temperature: intents choose other zones, so the snapshot and its image changed
    assert (p.model.ledger.zone != before_model.ledger.zone).any()
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


# -- the ends of every control, and errors ---------------------------------------------------------
def test_every_control_at_either_end_redraws_within_physics_ranges():
    """A slider's ends as a browser sends them (a log slider's 5.000000000000001 and
    9.999999999999999e-05) are clamped into Physics' range: each end redraws, no error."""
    p = panel()
    controls = {**p.sliders, "rate_scale": p.rate_scale}
    described = Physics.describe()
    for name, w in controls.items():
        if isinstance(w, widgets.FloatLogSlider):  # what the browser computes: base ** end
            ends = [w.base**w.max, w.base**w.min]
        else:
            ends = [w.max, w.min]
        for end in ends:
            if w.value == end:  # already there: step off first, so the end is a change
                w.value = (w.max + w.min) / 2 if isinstance(w.value, float) else w.min + 1
            before = p.redraws
            w.value = end
            assert p.last_error is None, f"{name}={end!r}: {p.last_error}"
            assert p.redraws == before + 1, f"{name}={end!r} did not redraw"
            assert p.error.value == ""
            if name in described:
                spec = described[name]
                assert spec["min"] <= getattr(p.model.physics, name) <= spec["max"]
            else:
                assert p.model.rate_scale == end


def test_the_log_sliders_rounded_ends_are_exactly_the_physics_bounds():
    p = panel()
    p.sliders["temperature"].value = 5.000000000000001
    assert p.model.physics.temperature == 5.0
    p.sliders["temperature"].value = 9.999999999999999e-05
    assert p.model.physics.temperature == 1e-4
    assert p.last_error is None


def test_a_failing_run_is_shown_in_red_and_the_next_change_redraws():
    p = panel()
    good = (p.model, p.snapshot_image.value, p.redraws)
    p.seed.value = -1  # the run refuses a negative seed: a real failure inside the redraw
    assert isinstance(p.last_error, PacketFlowError)
    assert "color:#c62828" in p.error.value and "redraw failed" in p.error.value
    assert "seed" in p.error.value
    assert (p.model, p.snapshot_image.value, p.redraws) == good  # the last good run stays
    assert p.running.value == ""
    p.seed.value = 7  # the panel is not frozen: the next change redraws and clears the error
    assert p.redraws == good[2] + 1 and p.model.seed_value == 7
    assert p.last_error is None and p.error.value == ""


def test_an_error_in_a_debounced_redraw_is_shown_not_lost_in_the_event_loop(monkeypatch):
    p = panel(debounce=0.01)

    def fail() -> None:
        raise RuntimeError("the simulation broke")

    monkeypatch.setattr(p, "simulate", fail)

    async def change_and_wait() -> None:
        p.sliders["attraction"].value = 7.0
        await asyncio.sleep(0.2)

    asyncio.run(change_and_wait())
    assert "RuntimeError: the simulation broke" in p.error.value
    monkeypatch.undo()
    p.sliders["attraction"].value = 8.0  # no running loop now: redraws at once
    assert p.last_error is None and p.model.physics.attraction == 8.0


def test_set_raises_the_error_it_shows():
    p = panel()
    with pytest.raises(PacketFlowError, match="seed"):
        p.set(seed=-5)
    assert "redraw failed" in p.error.value


def test_running_is_shown_while_a_redraw_runs_and_cleared_after():
    p = panel()
    seen = []
    real = p.simulate

    def spy():
        seen.append(p.running.value)
        return real()

    p.simulate = spy
    p.redraw()
    assert seen == ["<i>running…</i>"] and p.running.value == ""
    assert f"redraw #{p.redraws}" in p.status.value


@given(
    st.sampled_from(sorted(Physics.describe())),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
def test_any_control_value_clamps_into_a_valid_physics(name, value):
    spec = Physics.describe()[name]
    got = clamp_to_range(value, spec)
    assert spec["min"] <= got <= spec["max"]
    assert isinstance(got, int) == spec["integer"]
    Physics(**{name: got})  # accepted
    if spec["min"] <= value <= spec["max"] and not spec["integer"]:
        assert got == value  # a value in range is kept as it is
