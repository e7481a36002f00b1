"""A browser page for the arena with Mesa's ``SolaraViz``: play, pause, step, reset with new physics.

Where :class:`~arena.widgets.PhysicsPanel` re-runs a short simulation per change (for tuning in
a notebook), this page runs one model step by step and draws it as it goes: the arena snapshot
and zone load. ``SolaraViz`` re-creates the model from flat keyword parameters when the user
resets it, so :class:`ArenaVizModel` takes the physics as keywords, and :func:`model_params`
turns ``Physics.describe()`` into the page's sliders.

Serve it with ``packetflow-arena viz SCENARIO`` (``solara run`` under the hood). The page works\noffline: the 'viz' extra installs ``solara-assets``, solara's front end, which the server then\nserves itself instead of fetching it from a CDN.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import matplotlib.pyplot as plt
import solara
from mesa.visualization import SolaraViz

from capabilities import Embedder

from ..analysis import plots
from ..model import ArenaModel
from ..physics import Physics, router_names
from ..scenario import Scenario, load_scenario

SCENARIO_ENV = "PACKETFLOW_VIZ_SCENARIO"
SLIDER_STEPS = 200  # resolution of a float slider over its range
MAX_INT_SLIDER = 600  # integer ranges wider than this are capped on the page (max_flight_steps)


class ArenaVizModel(ArenaModel):
    """An :class:`ArenaModel` built from flat keywords (``temperature=0.05, ...``), as SolaraViz
    passes its sliders' values; physics fields not given keep the scenario's values."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        router: str = "physics",
        rate_scale: float = 1.0,
        seed: int | None = None,
        embedder: Embedder | None = None,
        **kwargs: Any,  # physics fields; Mesa's parameter check accepts only the name "kwargs"
    ):
        if scenario is None:
            scenario = scenario_from_env()
        unknown = sorted(set(kwargs) - set(Physics.describe()))
        if unknown:
            raise TypeError(f"ArenaVizModel: unknown physics parameters {unknown}")
        super().__init__(
            scenario,
            router=router,
            seed=seed,
            rate_scale=rate_scale,
            physics=scenario.physics.replace(**kwargs),
            embedder=embedder,
        )


def scenario_from_env() -> Scenario:
    path = os.environ.get(SCENARIO_ENV)
    if not path:
        raise RuntimeError(f"set {SCENARIO_ENV} to a scenario file (packetflow-arena viz does)")
    return load_scenario(path)


def model_params(scenario: Scenario, embedder: Embedder | None = None) -> dict[str, Any]:
    """SolaraViz parameters: the scenario (fixed), router, arrival-rate scale, seed, and one
    slider per physics parameter with its range from ``Physics.describe()``."""
    params: dict[str, Any] = {
        "scenario": scenario,
        "embedder": embedder,
        "router": {"type": "Select", "value": scenario.router, "values": list(router_names())},
        "rate_scale": {
            "type": "SliderFloat",
            "value": 1.0,
            "min": 0.1,
            "max": 3.0,
            "step": 0.05,
            "label": "arrival rate ×",
        },
    }
    for name, spec in Physics.describe().items():
        value = getattr(scenario.physics, name)
        if spec["integer"]:
            params[name] = {
                "type": "SliderInt",
                "value": value,
                "min": spec["min"],
                "max": max(value, min(spec["max"], MAX_INT_SLIDER)),
                "step": 1,
                "label": name,
            }
        else:
            params[name] = {
                "type": "SliderFloat",
                "value": value,
                "min": spec["min"],
                "max": spec["max"],
                "step": (spec["max"] - spec["min"]) / SLIDER_STEPS,
                "label": name,
            }
    return params


def snapshot_view(model: ArenaModel) -> Any:
    fig = plots.arena_snapshot(model)
    plt.close(fig)
    return solara.FigureMatplotlib(fig, format="png")


def zone_load_view(model: ArenaModel) -> Any:
    caps = {z.name: z.capacity for z in model.zones}
    fig = plots.zone_load(model.zone_load_frame(), caps)
    plt.close(fig)
    return solara.FigureMatplotlib(fig, format="png")


def build_page(scenario: Scenario, embedder: Embedder | None = None) -> Any:
    """The SolaraViz element for ``scenario`` (what the served page shows)."""
    model = ArenaVizModel(scenario, embedder=embedder)
    return SolaraViz(
        model,
        components=[(snapshot_view, 0), (zone_load_view, 0)],
        model_params=model_params(scenario, embedder),
        name=f"PacketFlow Arena — {scenario.name}",
        play_interval=300,
    )


@solara.component
def Page() -> Any:
    """Entry point for ``solara run arena.ui.viz`` (the scenario comes from the environment)."""
    scenario = solara.use_memo(scenario_from_env, [])
    return build_page(scenario)


# -- serving: packetflow-arena viz SCENARIO ------------------------------------------------------
def offline_assets_installed() -> bool:
    """Whether solara's front end (Vue, Vuetify, RequireJS...) is installed locally (the
    ``solara-assets`` package, in the 'viz' extra): without it a production page fetches it
    from a CDN and stays blank on a machine without internet."""
    import importlib.util

    return importlib.util.find_spec("solara_assets") is not None


def serve_command(scenario_file: str | Path, host: str, port: int) -> tuple[list[str], dict]:
    """The ``solara run`` command line and environment that serve the page for a scenario."""
    env = {
        **os.environ,
        SCENARIO_ENV: str(Path(scenario_file).resolve()),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # no calls home from a local tool
    }
    command = [sys.executable, "-m", "solara", "run", __name__, "--host", host]
    command += ["--port", str(port), "--production"]
    return command, env


def serve(scenario_file: str | Path, host: str = "127.0.0.1", port: int = 8765) -> NoReturn:
    """Serve the page for a scenario file with ``solara run`` until interrupted.

    The server replaces this process (``exec``) rather than running as its child, so whoever
    stops ``packetflow-arena viz`` (Ctrl-C, a signal, even ``kill -9``) stops the server: no
    orphan is left serving on the port."""
    scenario = load_scenario(scenario_file)  # a broken file is reported here, in one line
    command, env = serve_command(scenario_file, host, port)
    if not offline_assets_installed():
        print(
            "warning: solara-assets is not installed, so the page loads its front end from a "
            "CDN (pip install -e .[viz] bundles it for offline use)",
            file=sys.stderr,
        )
    print(f"serving {scenario.name} on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    sys.stderr.flush()
    os.execve(sys.executable, command, env)
