"""The Spatial Knowledge Arena: a Mesa model that routes intents to specialised zones."""

from .errors import ScenarioError
from .physics import Physics
from .scenario import Scenario, load_scenario, parse_scenario
from .sweep import local_cluster, sweep

# heavier parts (Mesa, matplotlib, ipywidgets) load on first use, so `import arena` stays light
_LAZY = {
    "ArenaModel": ".model",
    "run_scenario": ".runner",
    "format_summary": ".runner",
    "PhysicsPanel": ".widgets",
    "DiscreteMMc": ".queueing",
    "DiscreteOverflow": ".queueing",
    "mmc": ".queueing",
}

__all__ = [
    "ArenaModel",
    "DiscreteMMc",
    "DiscreteOverflow",
    "Physics",
    "PhysicsPanel",
    "Scenario",
    "ScenarioError",
    "format_summary",
    "load_scenario",
    "local_cluster",
    "mmc",
    "parse_scenario",
    "run_scenario",
    "sweep",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
