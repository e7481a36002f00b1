"""Parameter sweeps: ``specs`` (one run as a picklable spec), ``backends`` (serial, processes,
Dask), ``results`` (CSV/parquet files, resumable), ``api`` (:func:`sweep`)."""

from .api import sweep
from .backends import (
    BACKEND_ALIASES,
    BACKENDS,
    SWEEP_WORKER_CONFIG,
    THREAD_LIMITS,
    backend_name,
    local_cluster,
    open_backend,
)
from .results import read_results, write_results
from .specs import (
    FIGURES,
    RunSpec,
    apply_overrides,
    build_scenario,
    flatten_summary,
    grid_specs,
    run_key,
    run_one,
)

__all__ = [
    "BACKENDS",
    "BACKEND_ALIASES",
    "FIGURES",
    "SWEEP_WORKER_CONFIG",
    "THREAD_LIMITS",
    "RunSpec",
    "apply_overrides",
    "backend_name",
    "build_scenario",
    "flatten_summary",
    "grid_specs",
    "local_cluster",
    "open_backend",
    "read_results",
    "run_key",
    "run_one",
    "sweep",
    "write_results",
]
