"""Running and analysing the model: ``runner`` (:func:`run_scenario`), ``output`` (result
files), ``plots`` (matplotlib figures), ``gate_calibration`` (the out-of-scope gate's calibration
for a scenario),
``out_of_scope_shift`` (:func:`leave_one_zone_out`: the gate on kinds of request it never
saw), ``queueing`` (the discrete-time queueing theory the
arena is checked against), ``sweep`` (parameter sweeps on processes or Dask), ``tuning`` (:func:`tune`: the physics
searched against a stated objective on a sweep backend), ``llm_study`` (:func:`run_study`: LLM
routers on the same arrivals, paired by seed, with intervals), ``llm_mixed``
(:func:`mixed_fleet_front`: a small and a large model pool, quality against latency and cost).

``sweep`` and ``queueing`` load eagerly; the rest (Mesa, matplotlib) on first use.
"""

from typing import Any

from .queueing import DiscreteMMc, DiscreteOverflow, mmc
from .sweep import local_cluster, sweep

_LAZY = {
    "run_scenario": ".runner",
    "load_plots_meanwhile": ".runner",
    "write_outputs": ".output",
    "check_out_dir": ".output",
    "OutputError": ".output",
    "plots": ".plots",
    "tune": ".tuning",
    "TuneResult": ".tuning",
    "Objective": ".tuning",
    "leave_one_zone_out": ".out_of_scope_shift",
    "ShiftData": ".out_of_scope_shift",
    "run_study": ".llm_study",
    "compare_routers": ".llm_study",
    "staleness_effect": ".llm_study",
    "summarise_routers": ".llm_study",
    "mixed_fleet_front": ".llm_mixed",
    "non_dominated": ".llm_mixed",
}

__all__ = [
    "DiscreteMMc",
    "DiscreteOverflow",
    "Objective",
    "OutputError",
    "ShiftData",
    "TuneResult",
    "check_out_dir",
    "compare_routers",
    "leave_one_zone_out",
    "load_plots_meanwhile",
    "local_cluster",
    "mixed_fleet_front",
    "mmc",
    "non_dominated",
    "plots",
    "run_scenario",
    "run_study",
    "staleness_effect",
    "summarise_routers",
    "sweep",
    "tune",
    "write_outputs",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        return module if name == "plots" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
