"""The Spatial Knowledge Arena: a Mesa model that routes intents to specialised zones.

Layers, bottom to top (each imports only those below it): ``errors``, ``handlers`` ->
``physics`` -> ``scenario`` -> ``model`` -> ``analysis`` -> ``ui``.
"""

from typing import Any

from .errors import RouterError, ScenarioError, SpawnGuardError
from .physics import LoadInfo, Physics, Router, RouterView
from .scenario import Scenario, load_scenario, parse_scenario

# heavier parts (Mesa, matplotlib, ipywidgets, Dask glue) load on first use, so `import arena`
# stays light
_LAZY = {
    "ArenaModel": ".model",
    "RunSummary": ".model",
    "format_summary": ".model",
    "run_scenario": ".analysis.runner",
    "sweep": ".analysis.sweep",
    "local_cluster": ".analysis.sweep",
    "tune": ".analysis.tuning",
    "DiscreteMMc": ".analysis.queueing",
    "DiscreteOverflow": ".analysis.queueing",
    "mmc": ".analysis.queueing",
    "PhysicsPanel": ".ui.widgets",
}

__all__ = [
    "ArenaModel",
    "DiscreteMMc",
    "DiscreteOverflow",
    "LoadInfo",
    "Physics",
    "PhysicsPanel",
    "Router",
    "RouterError",
    "RouterView",
    "RunSummary",
    "Scenario",
    "ScenarioError",
    "SpawnGuardError",
    "format_summary",
    "load_scenario",
    "local_cluster",
    "mmc",
    "parse_scenario",
    "run_scenario",
    "sweep",
    "tune",
]


# `from arena import cli` (tests/test_engine.py) predates arena.ui; the module, loaded on use
_MODULES = {"cli": ".ui.cli"}


def __getattr__(name: str) -> Any:
    if name in _LAZY or name in _MODULES:
        import importlib

        if name in _MODULES:
            return importlib.import_module(_MODULES[name], __name__)
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
