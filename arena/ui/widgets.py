"""A notebook panel to tune the routing physics live: move a slider, see the zones react.

:class:`PhysicsPanel` builds one control per :class:`~arena.physics.Physics` parameter (from
``Physics.describe()``, so a new parameter gets its slider for free), plus the arrival-rate
scale, the router and the seed. A change re-runs a short simulation and redraws zone load and
the arena snapshot. Changes are debounced: dragging a slider fires many events, and only the
last one, once the hand rests for ``debounce`` seconds, runs a simulation.

The scenario, and so the registry and the embeddings of every text, are built once; a redraw
only builds a fresh model from them (the process-wide embedding cache makes that cheap), runs
``duration`` seconds of model time and renders two PNGs. :meth:`PhysicsPanel.redraw` is the callback, public so a
test or a script can drive the panel without a browser.

A browser's sliders are not exact: a log slider's right end arrives as ``5.000000000000001``
and its left end as ``9.999999999999999e-05``. :meth:`PhysicsPanel.physics` clamps every value
into ``Physics``' range (and rounds the integer ones), so the ends of a slider are valid
physics. And a redraw runs from a debounced timer, where an exception would vanish into the
event loop and leave the panel silently frozen; :meth:`PhysicsPanel.redraw` therefore shows
"running…" while it runs and any error in red in the panel, and the next change redraws again.
"""

from __future__ import annotations

import asyncio
import html
import io
import math
import time
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt

from capabilities import Embedder

from ..analysis import plots
from ..model import ArenaModel
from ..physics import Physics, router_names
from ..scenario import Scenario, load_scenario

LOG_RANGE = 1000.0  # a float parameter spanning more than this ratio gets a log slider
TEXT_RANGE = 1000  # an integer parameter spanning more than this gets a number box


def clamp_to_range(value: float, spec: dict[str, Any]) -> float | int:
    """``value`` inside ``spec``'s ``[min, max]`` (rounded when the parameter is an integer): a
    slider's end may overshoot its bound by a rounding error, which ``Physics`` would reject."""
    lo, hi = spec["min"], spec["max"]
    if spec["integer"]:
        return int(min(max(round(value), lo), hi))
    return float(min(max(value, lo), hi))


def physics_control(name: str, spec: dict[str, Any], value: float) -> widgets.ValueWidget:
    """The widget for one physics parameter, its range and meaning taken from ``describe()``."""
    lo, hi, doc = spec["min"], spec["max"], spec["doc"]
    common = {"description": name, "tooltip": doc, "style": {"description_width": "150px"}}
    layout = widgets.Layout(width="480px")
    if spec["integer"]:
        if hi - lo > TEXT_RANGE:
            return widgets.BoundedIntText(value=value, min=lo, max=hi, layout=layout, **common)
        return widgets.IntSlider(
            value=value, min=lo, max=hi, continuous_update=False, layout=layout, **common
        )
    if lo > 0 and hi / lo >= LOG_RANGE:
        return widgets.FloatLogSlider(
            value=value,
            base=10,
            min=math.log10(lo),
            max=math.log10(hi),
            step=0.01,
            readout_format=".4g",
            continuous_update=False,
            layout=layout,
            **common,
        )
    return widgets.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=(hi - lo) / 500,
        readout_format=".3g",
        continuous_update=False,
        layout=layout,
        **common,
    )


class PhysicsPanel:
    """Sliders for the physics of ``scenario`` bound to a short re-run and its plots.

    ``duration`` (s) is the length of each re-run (short, so a redraw takes about a second on the
    CLINC150 scenario); ``embedder`` replaces the default MiniLM one (tests); ``debounce`` is
    the quiet time in seconds before a change re-runs (0: at once).
    """

    def __init__(
        self,
        scenario: str | Path | Scenario,
        *,
        duration: float = 60.0,
        router: str | None = None,
        seed: int | None = None,
        rate_scale: float = 1.0,
        embedder: Embedder | None = None,
        debounce: float = 0.3,
        dpi: int = 72,
        auto_redraw: bool = True,
    ):
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.duration = duration
        self.embedder = embedder
        self.debounce = debounce
        self.dpi = dpi
        self.model: ArenaModel | None = None
        self.figures: dict[str, Any] = {}
        self.redraws = 0
        self.last_redraw_seconds: float | None = None
        self.last_error: Exception | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._quiet = False

        described = Physics.describe()
        self.sliders: dict[str, widgets.ValueWidget] = {
            name: physics_control(name, spec, getattr(self.scenario.physics, name))
            for name, spec in described.items()
        }
        self.rate_scale = widgets.FloatSlider(
            value=rate_scale,
            min=0.1,
            max=3.0,
            step=0.05,
            description="arrival rate ×",
            tooltip="multiplies the scenario's arrival rate (1.0 = as written)",
            continuous_update=False,
            style={"description_width": "150px"},
            layout=widgets.Layout(width="480px"),
        )
        self.router = widgets.Dropdown(
            options=list(router_names()), value=router or self.scenario.router, description="router"
        )
        self.seed = widgets.IntText(
            value=self.scenario.seed if seed is None else seed, description="seed"
        )
        self.status = widgets.HTML()
        self.running = widgets.HTML()  # "running…" while a redraw runs
        self.error = widgets.HTML()  # the last redraw's error, in red; empty once one succeeds
        # the zone-load figure shrinks to the room beside the snapshot, never past the page
        self.zone_load_image = widgets.Image(
            format="png",
            layout=widgets.Layout(max_width="calc(100% - 530px)", height="auto"),
        )
        self.snapshot_image = widgets.Image(format="png", layout=widgets.Layout(width="520px"))
        for control in self.controls:
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox(
                    [
                        widgets.VBox(list(self.sliders.values())),
                        widgets.VBox(
                            [
                                self.rate_scale,
                                self.router,
                                self.seed,
                                self.running,
                                self.error,
                                self.status,
                            ]
                        ),
                    ]
                ),
                widgets.HBox([self.snapshot_image, self.zone_load_image]),
            ]
        )
        if auto_redraw:
            self.redraw()

    @property
    def controls(self) -> list[widgets.ValueWidget]:
        return [*self.sliders.values(), self.rate_scale, self.router, self.seed]

    def set(self, **values: Any) -> None:
        """Set several controls at once (physics fields, ``rate_scale``, ``router``, ``seed``)
        and redraw once: what a script or a notebook cell does instead of dragging sliders."""
        controls = {**self.sliders, "rate_scale": self.rate_scale, "router": self.router}
        controls["seed"] = self.seed
        unknown = sorted(set(values) - set(controls))
        if unknown:
            raise ValueError(
                f"PhysicsPanel.set: no control named {unknown}; known: {list(controls)}"
            )
        self._quiet = True
        try:
            for name, value in values.items():
                controls[name].value = value
        finally:
            self._quiet = False
        self.redraw()
        if self.last_error is not None:  # shown in the panel; a script needs to hear it too
            raise self.last_error

    def physics(self) -> Physics:
        """The physics the sliders currently describe, each value clamped into its range."""
        described = Physics.describe()
        return Physics(
            **{name: clamp_to_range(w.value, described[name]) for name, w in self.sliders.items()}
        )

    # -- the callback ------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Re-run ``duration`` seconds with the current controls and redraw both figures.

        Never raises: it runs from widget callbacks and timers, where an exception is lost. An
        error is kept in ``last_error`` and shown in red in the panel, the figures of the last
        good run stay, and the next change redraws again."""
        self._pending = None
        self.running.value = "<i>running…</i>"
        started = time.perf_counter()
        try:
            self._draw(self.simulate())
        except Exception as exc:  # shown, not swallowed: see the docstring
            self.last_error = exc
            message = html.escape(f"{type(exc).__name__}: {exc}")
            self.error.value = f'<span style="color:#c62828"><b>redraw failed:</b> {message}</span>'
        else:
            self.last_error = None
            self.error.value = ""
            self.redraws += 1
            self.last_redraw_seconds = time.perf_counter() - started
            self.status.value = self._status_html(self.model)
        finally:
            self.running.value = ""

    def simulate(self) -> ArenaModel:
        """A fresh model with the current controls, run for ``duration`` seconds."""
        model = ArenaModel(
            self.scenario,
            router=self.router.value,
            seed=self.seed.value,
            physics=self.physics(),
            rate_scale=self.rate_scale.value,
            embedder=self.embedder,
        )
        model.run(self.duration)
        return model

    def _draw(self, model: ArenaModel) -> None:
        caps = {z.name: z.capacity for z in model.zones}
        self.figures = {
            "zone_load": plots.zone_load(
                model.zone_load_frame(),
                caps,
                title=f"{self.scenario.name}: zone load, {model.router.name} router",
            ),
            "snapshot": plots.arena_snapshot(model),
        }
        self.zone_load_image.value = self._png(self.figures["zone_load"])
        self.snapshot_image.value = self._png(self.figures["snapshot"])
        self.model = model

    def _png(self, fig: Any) -> bytes:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi)
        plt.close(fig)  # the figure object stays readable (self.figures); pyplot forgets it
        return buf.getvalue()

    def _status_html(self, model: ArenaModel) -> str:
        s = model.summary()
        acc = s.routing_accuracy
        p95 = s.latency_ms.p95
        return (
            f"<b>after {model.now:g} s of model time</b><br>"
            f"arrived {s.arrived}, completed {s.completed}, in flight {s.in_flight}, "
            f"queued {s.queued}, dropped {s.dropped}<br>"
            f"routing accuracy {'n/a' if acc is None else f'{acc:.3f}'}, "
            f"p95 latency {'n/a' if p95 is None else f'{p95:.0f}'} ms<br>"
            f"<small>redraw #{self.redraws}, {self.last_redraw_seconds:.2f} s</small>"
        )

    def _on_change(self, change: dict[str, Any]) -> None:
        """Debounce: restart the quiet-time timer; without a running event loop, redraw now."""
        if self._quiet:
            return
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self.debounce <= 0:
            self.redraw()
        else:
            self._pending = loop.call_later(self.debounce, self.redraw)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
